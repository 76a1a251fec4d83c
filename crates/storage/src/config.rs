//! Database settings (`[database]`, env `BONDGATE__DATABASE__*`).

use serde::{Deserialize, Serialize};

/// How to reach PostgreSQL.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connection URL, e.g. `postgres://bondgate@127.0.0.1:55432/bondgate`.
    pub url: String,
    /// Upper bound of pooled connections per process.
    pub max_connections: u32,
    /// Give up connecting after this long.
    pub connect_timeout_ms: u64,
    /// Give up waiting for a free pooled connection after this long.
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "postgres://bondgate@127.0.0.1:55432/bondgate".to_owned(),
            max_connections: 16,
            connect_timeout_ms: 5_000,
            acquire_timeout_ms: 10_000,
        }
    }
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_password(&self.url))
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn password_is_redacted() {
        assert_eq!(
            redact_password("postgres://u:pw@h:1/d"),
            "postgres://u:***@h:1/d"
        );
        assert_eq!(redact_password("postgres://u@h/d"), "postgres://u@h/d");
    }
}
