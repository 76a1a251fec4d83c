//! Goal: the schema migrates up, down and up again on the real PostgreSQL, and sea-orm reads and
//! writes rows through bondgate's connection settings.
//! Method: a fresh database per test; run the migrator; insert and read an enterprise.

use bondgate_migration::Migrator;
use bondgate_storage::entities::enterprise;
use bondgate_storage::testing::{empty_database, fresh_database};
use bondgate_storage::{DatabaseConfig, connect};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, Statement};
use sea_orm_migration::MigratorTrait;

async fn table_count(db: &sea_orm::DatabaseConnection) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    Ok(row.try_get("", "n")?)
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() -> anyhow::Result<()> {
    let url = empty_database("migrate").await?;
    let db = connect(&DatabaseConfig {
        url,
        ..DatabaseConfig::default()
    })
    .await?;
    Migrator::up(&db, None).await?;
    let tables = table_count(&db).await?;
    assert!(
        tables >= 20,
        "expected the whole schema, found {tables} tables"
    );
    Migrator::down(&db, None).await?;
    assert_eq!(table_count(&db).await?, 0, "down must drop every table");
    Migrator::up(&db, None).await?;
    assert_eq!(table_count(&db).await?, tables);
    println!("smoke: migrations up/down/up on PostgreSQL: {tables} tables");
    Ok(())
}

#[tokio::test]
async fn sea_orm_inserts_and_reads_rows() -> anyhow::Result<()> {
    let (_, db) = fresh_database("seaorm").await?;
    enterprise::ActiveModel {
        code: Set("5001960ABC".into()),
        name: Set("两路寸滩测试平台".into()),
        roles: Set(vec!["platform".into()]),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    let found = enterprise::Entity::find_by_id("5001960ABC")
        .one(&db)
        .await?;
    let found = found.ok_or_else(|| anyhow::anyhow!("row not found"))?;
    assert_eq!(found.name, "两路寸滩测试平台");
    assert_eq!(found.roles, vec!["platform".to_owned()]);
    println!("smoke: sea-orm wrote and read an enterprise on PostgreSQL");
    Ok(())
}
