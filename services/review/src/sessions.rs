//! Officers' sessions: a random 256-bit token (the cookie, or the API's bearer token) of which
//! only the SHA-256 is stored, a CSRF token per session, and a fixed lifetime. A disabled
//! officer's sessions stop working at once (they are deleted, and lookups join the account).

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use subtle::ConstantTimeEq;

use crate::officers::{Role, Verified};

/// Bytes of randomness of session and CSRF tokens.
const TOKEN_BYTES: usize = 32;

/// A logged-in officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The token every form and unsafe cookie-authenticated API call must carry.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// SHA-256 of the session token (what the table stores).
    pub token_hash: Vec<u8>,
}

impl Session {
    /// True when `presented` is this session's CSRF token (constant-time comparison).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.csrf_token.as_bytes()))
    }
}

/// A fresh random token, hex.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; TOKEN_BYTES]>())
}

/// SHA-256 of a token: tokens are random, so a fast hash is enough (nothing to guess).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Opens a session for a verified officer inside `conn`'s transaction; returns the token (shown
/// to the client once) and the session. Sessions beyond `per_officer_max` end, oldest first.
pub async fn open(
    conn: &mut PgConnection,
    officer: &Verified,
    ttl: Duration,
    per_officer_max: u32,
) -> sqlx::Result<(String, Session)> {
    let token = random_token();
    let session = Session {
        username: officer.username.clone(),
        display_name: officer.display_name.clone(),
        role: officer.role,
        csrf_token: random_token(),
        expires_at: Utc::now() + ttl,
        token_hash: token_hash(&token),
    };
    sqlx::query(
        "INSERT INTO officer_sessions (token_hash, username, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&session.token_hash)
    .bind(&session.username)
    .bind(&session.csrf_token)
    .bind(session.expires_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM officer_sessions WHERE username = $1 AND token_hash NOT IN (
             SELECT token_hash FROM officer_sessions WHERE username = $1
             ORDER BY created_at DESC, expires_at DESC LIMIT $2)",
    )
    .bind(&session.username)
    .bind(i64::from(per_officer_max.max(1)))
    .execute(&mut *conn)
    .await?;
    Ok((token, session))
}

/// The live session of `token`: not expired, and its officer not disabled.
pub async fn find(pool: &PgPool, token: &str) -> sqlx::Result<Option<Session>> {
    if token.len() != TOKEN_BYTES * 2 {
        return Ok(None);
    }
    let hash = token_hash(token);
    let row: Option<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.username, o.display_name, o.role, s.csrf_token, s.expires_at
         FROM officer_sessions s JOIN officers o ON o.username = s.username
         WHERE s.token_hash = $1 AND s.expires_at > now() AND o.disabled_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.and_then(|(username, display_name, role, csrf_token, expires_at)| {
            Some(Session {
                role: Role::parse(&role)?,
                username,
                display_name,
                csrf_token,
                expires_at,
                token_hash: hash,
            })
        }),
    )
}

/// Ends a session (logout) inside `conn`'s transaction.
pub async fn close(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM officer_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes expired sessions; returns how many.
pub async fn purge_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM officer_sessions WHERE expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashed() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.as_bytes());
    }

    #[test]
    fn csrf_comparison_refuses_empty_and_wrong_tokens() {
        let session = Session {
            username: "u1".into(),
            display_name: "U".into(),
            role: Role::Officer,
            csrf_token: "abc123".into(),
            expires_at: Utc::now(),
            token_hash: vec![],
        };
        assert!(session.csrf_matches("abc123"));
        assert!(!session.csrf_matches("abc124"));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches("abc1234"));
    }
}
