//! The demo's two review accounts, an officer and a supervisor, with fresh generated passwords
//! on every run: the passwords are printed once (only their argon2id hashes are stored), and a
//! second run must not leave the user locked out of accounts whose passwords scrolled away.
//!
//! New accounts are made by [`bondgate_review::officers::create`]; existing ones get a new hash
//! (made by the review crate's [`hash_password`]), are enabled again and lose their sessions. Only
//! these two `demo.*` usernames are ever touched, so real officers' accounts in the same
//! database are safe.

use anyhow::Context;
use bondgate_review::officers::{self, CreatedOfficer, OfficerError, Role, hash_password};
use sqlx::PgPool;

/// The demo accounts: username, display name, role.
pub const DEMO_OFFICERS: [(&str, &str, Role); 2] = [
    ("demo.officer", "李伟 (demo)", Role::Officer),
    ("demo.supervisor", "赵敏 (demo)", Role::Supervisor),
];

/// Gives an existing account `password`, enables it and ends its sessions.
async fn reset(pool: &PgPool, username: &str, role: Role, password: &str) -> anyhow::Result<()> {
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .context("hashing a password")??;
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE officers SET password_hash = $2, role = $3, disabled_at = NULL
         WHERE username = $1",
    )
    .bind(username)
    .bind(&hash)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    anyhow::ensure!(
        updated.rows_affected() == 1,
        "officer {username} vanished while the demo reset it"
    );
    sqlx::query("DELETE FROM officer_sessions WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates or resets the demo accounts; returns them with their new passwords.
pub async fn ensure(pool: &PgPool) -> anyhow::Result<Vec<CreatedOfficer>> {
    let mut accounts = Vec::with_capacity(DEMO_OFFICERS.len());
    for (username, display_name, role) in DEMO_OFFICERS {
        let password = officers::generate_password();
        match officers::create(pool, username, display_name, role, Some(&password)).await {
            Ok(_) => {}
            Err(OfficerError::Exists(_)) => reset(pool, username, role, &password).await?,
            Err(error) => {
                return Err(error).with_context(|| format!("creating officer {username}"));
            }
        }
        accounts.push(CreatedOfficer {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            password: Some(password),
        });
    }
    Ok(accounts)
}
