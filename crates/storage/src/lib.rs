//! PostgreSQL storage of bondgate.
//!
//! sea-orm entities serve everything off the hot path (keys, officers, queries of the UI). The
//! clearance pipeline's batch writes use set-based SQL (`UNNEST` arrays) through the same pool,
//! because one statement per table per batch is what makes thousands of orders per second possible.

pub mod bindings;
pub mod config;
pub mod crypto;
pub mod entities;
pub mod outbox;
pub mod reference;
pub mod testing;

pub use config::DatabaseConfig;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Errors of connecting to and preparing the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database refused the connection or a statement.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// Opens a connection pool as the configuration says.
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, StorageError> {
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
        .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .sqlx_logging(false);
    Ok(Database::connect(options).await?)
}

/// Applies every pending migration (the `bondgate migrate` deploy step).
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), StorageError> {
    bondgate_migration::Migrator::up(db, None).await?;
    Ok(())
}

/// The sqlx pool under a sea-orm connection, for the hot-path SQL.
pub fn pool(db: &DatabaseConnection) -> &sqlx::PgPool {
    db.get_postgres_connection_pool()
}
