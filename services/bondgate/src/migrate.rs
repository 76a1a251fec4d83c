//! `bondgate migrate [up|down|status]`: the schema migrations as a deploy step (never at
//! service start, so a deploy decides when the schema changes).

use anyhow::Context;
use bondgate_migration::Migrator;
use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationStatus, MigratorTrait};

use crate::database::DatabaseArgs;

/// What `migrate` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MigrateAction {
    /// Apply every pending migration.
    #[default]
    Up,
    /// Roll back the most recent migration only: one step at a time, because a rollback drops
    /// tables and their data.
    Down,
    /// List the migrations and whether each is applied; changes nothing.
    Status,
}

/// Flags of `bondgate migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// `up` (default), `down` or `status`.
    #[arg(value_enum, default_value_t = MigrateAction::Up)]
    pub action: MigrateAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Runs `bondgate migrate`, then prints every migration with its status, one per line
/// (`applied <name>` or `pending <name>`).
pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    match args.action {
        MigrateAction::Up => Migrator::up(&db, None).await.context("migrating up")?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await.context("rolling back")?,
        MigrateAction::Status => {}
    }
    print_status(&db).await?;
    db.close().await?;
    Ok(())
}

async fn print_status(db: &DatabaseConnection) -> anyhow::Result<()> {
    // The read-only variant does not create the bookkeeping table, so `status` changes nothing.
    let migrations = Migrator::get_migration_with_status_read_only(db)
        .await
        .context("reading the migration status")?;
    for migration in migrations {
        let status = match migration.status() {
            MigrationStatus::Applied => "applied",
            MigrationStatus::Pending => "pending",
        };
        println!("{status} {}", migration.name());
    }
    Ok(())
}
