//! Databases for tests: each test gets its own freshly migrated database on the local stack, so
//! tests run in parallel without seeing each other's rows.

use crate::{DatabaseConfig, StorageError, connect, migrate_up};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The stack's database URL, from `BONDGATE__DATABASE__URL` or the stack's default.
pub fn stack_database_url() -> String {
    std::env::var("BONDGATE__DATABASE__URL").unwrap_or_else(|_| DatabaseConfig::default().url)
}

/// Replaces the database name (the last path segment) of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{name}")
}

/// A new, empty, migrated database named `bg_test_<label>_<random>`; returns its URL and a pool.
pub async fn fresh_database(label: &str) -> Result<(String, DatabaseConnection), StorageError> {
    let url = empty_database(label).await?;
    let config = DatabaseConfig {
        url: url.clone(),
        ..DatabaseConfig::default()
    };
    let db = connect(&config).await?;
    migrate_up(&db).await?;
    Ok((url, db))
}

/// A new database with no tables, for tests of the migrations themselves.
pub async fn empty_database(label: &str) -> Result<String, StorageError> {
    let stack = stack_database_url();
    let admin = connect(&DatabaseConfig {
        url: with_database(&stack, "postgres"),
        max_connections: 1,
        ..DatabaseConfig::default()
    })
    .await?;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("bg_test_{label}_{}", &suffix[..12]);
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    Ok(with_database(&stack, &name))
}
