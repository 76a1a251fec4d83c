//! `bondgate-migration up|down|status|fresh`: the sea-orm migration CLI over [`Migrator`].
//! Reads the database URL from `DATABASE_URL` (or `-u`).

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(bondgate_migration::Migrator).await;
}
