//! Database schema migrations of bondgate (sea-orm-migration).
//!
//! Each migration is plain SQL kept beside it in `src/sql/`, because the schema leans on
//! PostgreSQL features (CHECK constraints, partial indexes, identity columns, arrays) that read
//! best as SQL. Migrations run as a deploy step (`bondgate migrate`), never at service start.
//! Never edit a migration that has been applied anywhere: add a new one.

use sea_orm_migration::prelude::*;

/// All migrations of bondgate, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(SqlMigration {
                name: "m20261124_000001_create_reference_data",
                up: include_str!("sql/0001_reference_data.up.sql"),
                down: include_str!("sql/0001_reference_data.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261124_000002_create_clearance",
                up: include_str!("sql/0002_clearance.up.sql"),
                down: include_str!("sql/0002_clearance.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261124_000003_create_review",
                up: include_str!("sql/0003_review.up.sql"),
                down: include_str!("sql/0003_review.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261124_000004_create_review_indexes",
                up: include_str!("sql/0004_review_indexes.up.sql"),
                down: include_str!("sql/0004_review_indexes.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261124_000005_create_position_resets",
                up: include_str!("sql/0005_position_resets.up.sql"),
                down: include_str!("sql/0005_position_resets.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000006_create_authorization",
                up: include_str!("sql/0006_authorization.up.sql"),
                down: include_str!("sql/0006_authorization.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000007_create_login_throttle",
                up: include_str!("sql/0007_login_throttle.up.sql"),
                down: include_str!("sql/0007_login_throttle.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000008_create_audit_verification",
                up: include_str!("sql/0008_audit_verification.up.sql"),
                down: include_str!("sql/0008_audit_verification.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000009_create_customs_fidelity",
                up: include_str!("sql/0009_customs_fidelity.up.sql"),
                down: include_str!("sql/0009_customs_fidelity.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000010_create_batch_storage",
                up: include_str!("sql/0010_batch_storage.up.sql"),
                down: include_str!("sql/0010_batch_storage.down.sql"),
            }),
            Box::new(SqlMigration {
                name: "m20261202_000011_create_declaration_lines_in_row",
                up: include_str!("sql/0011_declaration_lines.up.sql"),
                down: include_str!("sql/0011_declaration_lines.down.sql"),
            }),
        ]
    }
}

/// A migration whose `up` and `down` are SQL scripts.
#[derive(Debug)]
struct SqlMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.up)
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await
            .map(|_| ())
    }
}
