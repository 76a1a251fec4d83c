//! How the database commands find PostgreSQL.

use bondgate_storage::DatabaseConfig;
use bondgate_storage::config::redact_password;

/// The database flags shared by `migrate` and `seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL; default: the local stack's (`postgres://bondgate@127.0.0.1:55432/bondgate`).
    #[arg(long, env = "BONDGATE__DATABASE__URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The connection settings: the URL from the flag or environment, the rest defaults. One
    /// connection is enough for a command that runs one transaction at a time.
    pub fn config(&self) -> DatabaseConfig {
        let defaults = DatabaseConfig::default();
        DatabaseConfig {
            url: self.database_url.clone().unwrap_or(defaults.url),
            max_connections: 1,
            ..defaults
        }
    }

    /// The URL without its password, for messages.
    pub fn display_url(&self) -> String {
        redact_password(&self.config().url)
    }
}
