//! `bondgate dead-letters list|show`: the records clearance could not use. Their values hold
//! personal data, so they are sealed at rest and on `cbec.dlq.v1`; `show` opens the stored copy
//! with the data key (`BONDGATE__SECURITY__DATA_KEY_HEX`, as the services read it) for the
//! operator who must find the sender and the reason.

use anyhow::Context;
use bondgate_proto::Message;
use bondgate_proto::v1;
use sqlx::Row;

use crate::database::DatabaseArgs;
use crate::error::InputError;

/// Flags of `bondgate dead-letters`.
#[derive(Debug, clap::Args)]
pub struct DeadLettersArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DeadLettersAction,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The dead-letter commands.
#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersAction {
    /// The newest dead letters (no values), as JSON lines.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One dead letter with its record opened: the key, the reason and, when the value is a
    /// bondgate Document, its envelope and body as JSON.
    Show {
        /// The dead letter's id (`dead_letters.id`).
        id: i64,
    },
}

/// Runs `bondgate dead-letters`.
pub async fn run(args: DeadLettersArgs) -> anyhow::Result<()> {
    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let pool = bondgate_storage::pool(&db);
    let result = match args.action {
        DeadLettersAction::List { limit } => list(pool, limit).await,
        DeadLettersAction::Show { id } => show(pool, id).await,
    };
    db.close().await?;
    println!("{}", result?);
    Ok(())
}

async fn list(pool: &sqlx::PgPool, limit: i64) -> anyhow::Result<String> {
    let rows = sqlx::query(
        "SELECT id, topic, partition, \"offset\", error_class, error_code, error_message,
                created_at::text AS at
         FROM dead_letters ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, 10_000))
    .fetch_all(pool)
    .await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|row| -> anyhow::Result<String> {
            Ok(serde_json::json!({
                "id": row.try_get::<i64, _>("id")?,
                "topic": row.try_get::<String, _>("topic")?,
                "partition": row.try_get::<i32, _>("partition")?,
                "offset": row.try_get::<i64, _>("offset")?,
                "class": row.try_get::<String, _>("error_class")?,
                "code": row.try_get::<String, _>("error_code")?,
                "message": row.try_get::<String, _>("error_message")?,
                "at": row.try_get::<String, _>("at")?,
            })
            .to_string())
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(lines.join("\n"))
}

async fn show(pool: &sqlx::PgPool, id: i64) -> anyhow::Result<String> {
    let row = sqlx::query(
        "SELECT topic, partition, \"offset\", key, payload, error_class, error_code, error_message
         FROM dead_letters WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| InputError::Value {
        flag: "ID",
        detail: format!("no dead letter {id}"),
    })?;
    let cipher = crate::settings::data_cipher()?;
    let sealed: Vec<u8> = row.try_get("payload")?;
    let value = cipher
        .open(&sealed)
        .context("the record cannot be opened with this data key")?;
    let key: Option<Vec<u8>> = row.try_get("key")?;
    Ok(serde_json::json!({
        "id": id,
        "topic": row.try_get::<String, _>("topic")?,
        "partition": row.try_get::<i32, _>("partition")?,
        "offset": row.try_get::<i64, _>("offset")?,
        "key": key.map(|k| String::from_utf8_lossy(&k).into_owned()),
        "class": row.try_get::<String, _>("error_class")?,
        "code": row.try_get::<String, _>("error_code")?,
        "message": row.try_get::<String, _>("error_message")?,
        "value_bytes": value.len(),
        "document": document_json(&value),
    })
    .to_string())
}

/// The record as a bondgate Document, when it is one (a `decode` dead letter is not).
fn document_json(value: &[u8]) -> serde_json::Value {
    match v1::Document::decode(value) {
        Ok(document) => serde_json::json!({
            "documentId": document.document_id,
            "ebpCode": document.ebp_code,
            "orderNo": document.order_no,
            "senderCode": document.sender_code,
            "sourceFormat": document.source_format,
            "body": format!("{:?}", document.body),
        }),
        Err(_) => serde_json::Value::Null,
    }
}
