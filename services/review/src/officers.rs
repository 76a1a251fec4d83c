//! Customs officers' accounts: create, disable, list, and check a password.
//!
//! Passwords are stored as argon2id PHC strings (salted, memory-hard: a stolen table does not
//! give passwords back cheaply). A generated password has about 115 bits of entropy and is shown
//! once, by `bondgate officers create`. Checking a password for an unknown or disabled officer
//! costs the same as for a real one, so response times do not tell usernames apart.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

/// Shortest password accepted.
pub const PASSWORD_CHARS_MIN: usize = 12;
/// Longest password accepted (bounds the hashing work of one login).
pub const PASSWORD_BYTES_MAX: usize = 256;
/// Length of a generated password.
const GENERATED_CHARS: usize = 20;
/// Letters and digits of generated passwords, without look-alikes (0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// What an officer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reviews declarations: claims, decides, reveals personal data (audited).
    Officer,
    /// Everything an officer does, for every declaration; sees everyone's work, reassigns.
    Supervisor,
    /// Reads everything (personal data stays masked) and the audit log; changes nothing.
    Auditor,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::Auditor => "auditor",
        }
    }

    /// The role for a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "officer" => Some(Self::Officer),
            "supervisor" => Some(Self::Supervisor),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }

    /// Release, reject, send to inspection.
    pub fn may_decide(self) -> bool {
        matches!(self, Self::Officer | Self::Supervisor)
    }

    /// See unmasked personal data (every reveal is audited).
    pub fn may_reveal(self) -> bool {
        matches!(self, Self::Officer | Self::Supervisor)
    }

    /// Assign a declaration to anyone, decide declarations assigned to others.
    pub fn may_reassign(self) -> bool {
        matches!(self, Self::Supervisor)
    }

    /// See every officer's queue and decisions, not only one's own.
    pub fn sees_everyone(self) -> bool {
        matches!(self, Self::Supervisor | Self::Auditor)
    }

    /// Read the audit log.
    pub fn may_read_audit(self) -> bool {
        matches!(self, Self::Supervisor | Self::Auditor)
    }
}

/// Errors of account management.
#[derive(Debug, thiserror::Error)]
pub enum OfficerError {
    /// The username is not 2–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[error("username {0:?} must be 2-64 characters of a-z, 0-9, '.', '_', '-'")]
    BadUsername(String),
    /// The display name is empty or longer than 100 characters.
    #[error("display name must be 1-100 characters")]
    BadDisplayName,
    /// The password is too short or too long.
    #[error("password must be {PASSWORD_CHARS_MIN} to {PASSWORD_BYTES_MAX} bytes long")]
    BadPassword,
    /// The username is taken.
    #[error("officer {0} already exists")]
    Exists(String),
    /// No such officer.
    #[error("no officer {0}")]
    NotFound(String),
    /// Hashing failed (a defect).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The database failed.
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

/// An account just created; `password` is set when it was generated (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOfficer {
    /// Login name.
    pub username: String,
    /// Name shown in the UI and the audit log.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The generated password: store or hand it over now, it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// An account as listings show it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfficerInfo {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// When the account was disabled, RFC 3339.
    pub disabled_at: Option<String>,
}

/// True for a username of 2–64 `a-z 0-9 . _ -` starting with a letter or digit.
pub fn valid_username(username: &str) -> bool {
    let bytes = username.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
}

fn argon2() -> Argon2<'static> {
    // The crate's defaults are RFC 9106's second recommendation / OWASP's: m=19 MiB, t=2, p=1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The argon2id PHC string of `password` with a fresh random 16-byte salt (from the OS).
pub fn hash_password(password: &str) -> Result<String, OfficerError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| OfficerError::Hash(e.to_string()))
}

/// True when `password` matches the PHC string `phc` (its own parameters are used).
pub fn password_matches(password: &str, phc: &str) -> bool {
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

/// A hash nobody's password matches, checked when the username is unknown so that the answer
/// takes as long as for a real account.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let secret = hex::encode(rand::random::<[u8; 32]>());
        hash_password(&secret).expect("hashing an in-memory password cannot fail")
    })
}

/// A random password of [`GENERATED_CHARS`] characters from [`ALPHABET`].
pub fn generate_password() -> String {
    (0..GENERATED_CHARS)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

/// Creates an account; with `password` `None` a password is generated and returned.
pub async fn create(
    pool: &PgPool,
    username: &str,
    display_name: &str,
    role: Role,
    password: Option<&str>,
) -> Result<CreatedOfficer, OfficerError> {
    if !valid_username(username) {
        return Err(OfficerError::BadUsername(username.to_owned()));
    }
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(OfficerError::BadDisplayName);
    }
    let generated = password.is_none().then(generate_password);
    let password = password.or(generated.as_deref()).unwrap_or_default();
    if password.chars().count() < PASSWORD_CHARS_MIN || password.len() > PASSWORD_BYTES_MAX {
        return Err(OfficerError::BadPassword);
    }
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .map_err(|e| OfficerError::Hash(e.to_string()))??;
    let inserted = sqlx::query(
        "INSERT INTO officers (username, display_name, role, password_hash)
         VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
    )
    .bind(username)
    .bind(display_name)
    .bind(role.as_str())
    .bind(&hash)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(OfficerError::Exists(username.to_owned()));
    }
    Ok(CreatedOfficer {
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        role,
        password: generated,
    })
}

/// Disables an account and ends its sessions at once; disabling twice is harmless.
pub async fn disable(pool: &PgPool, username: &str) -> Result<(), OfficerError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE officers SET disabled_at = COALESCE(disabled_at, now()) WHERE username = $1",
    )
    .bind(username)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(OfficerError::NotFound(username.to_owned()));
    }
    sqlx::query("DELETE FROM officer_sessions WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An `officers` row without its hash.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    username: String,
    display_name: String,
    role: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

/// Every account, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<OfficerInfo>, OfficerError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT username, display_name, role, created_at, disabled_at FROM officers
         ORDER BY created_at, username",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(OfficerInfo {
                role: Role::parse(&row.role)?,
                username: row.username,
                display_name: row.display_name,
                created_at: row.created_at.to_rfc3339(),
                disabled_at: row.disabled_at.map(|at| at.to_rfc3339()),
            })
        })
        .collect())
}

/// An active officer whose password was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
}

/// Checks a username and password; `None` for a wrong password, an unknown username or a
/// disabled account (indistinguishable, in answer and in time).
pub async fn verify(
    pool: &PgPool,
    username: &str,
    password: &str,
) -> Result<Option<Verified>, OfficerError> {
    let row: Option<(String, String, String, Option<DateTime<Utc>>)> = if valid_username(username) {
        sqlx::query_as(
            "SELECT display_name, role, password_hash, disabled_at FROM officers
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(pool)
        .await?
    } else {
        None
    };
    let (phc, account) = match row {
        Some((display_name, role, phc, None)) => {
            (phc, Role::parse(&role).map(|r| (display_name, r)))
        }
        Some((_, _, phc, Some(_))) => (phc, None),
        None => (decoy_hash().to_owned(), None),
    };
    let candidate = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        candidate.len() <= PASSWORD_BYTES_MAX && password_matches(&candidate, &phc)
    })
    .await
    .map_err(|e| OfficerError::Hash(e.to_string()))?;
    Ok(match (matches, account) {
        (true, Some((display_name, role))) => Some(Verified {
            username: username.to_owned(),
            display_name,
            role,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_salted_argon2id_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("correct horse batterz", &a));
        assert!(!password_matches("anything", "not a phc string"));
    }

    #[test]
    fn stored_hashes_of_other_implementations_and_parameters_verify() {
        // The reference implementation's test vector (argon2id, m=256, t=2, p=2, salt
        // "somesalt"): a PHC string made elsewhere, or by an older release of the crate with
        // other parameters, is checked with the parameters it carries.
        let reference =
            "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc";
        assert!(password_matches("password", reference));
        assert!(!password_matches("passwore", reference));
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate_password();
        assert_eq!(a.chars().count(), GENERATED_CHARS);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(a, generate_password());
    }

    #[test]
    fn usernames_are_restricted() {
        assert!(valid_username("li.wei"));
        assert!(valid_username("officer-07"));
        assert!(!valid_username("L"));
        assert!(!valid_username("Li.Wei"));
        assert!(!valid_username("-x"));
        assert!(!valid_username("a b"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn roles_grant_what_the_issue_says() {
        assert!(Role::Officer.may_decide() && !Role::Officer.may_reassign());
        assert!(Role::Supervisor.may_reassign() && Role::Supervisor.sees_everyone());
        assert!(!Role::Auditor.may_decide() && !Role::Auditor.may_reveal());
        assert!(Role::Auditor.may_read_audit() && !Role::Officer.may_read_audit());
        for role in [Role::Officer, Role::Supervisor, Role::Auditor] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
