//! The physical limits the pipeline is measured against, on the same bytes and rows:
//!
//! - **broker round trip**: the generated documents produced with bondgate's producer settings
//!   and consumed back with its consumer settings;
//! - **database ingest**: the very rows a pipeline run wrote, inserted again into empty copies
//!   of their tables (same columns, constraints and indexes), one transaction per batch and one
//!   `INSERT ... SELECT FROM UNNEST` per table, as the pipeline does, with no logic around it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bondgate_kafka::KafkaConfig;
use rdkafka::message::Message as _;
use serde::Serialize;
use sqlx::{PgPool, Row};

use crate::generate::{GeneratorConfig, RecordStream};
use crate::produce::{ProduceOptions, produce};
use crate::receipts;

/// Tables the pipeline writes, parents before children (a declaration's lines are in its row).
pub const PIPELINE_TABLES: [&str; 10] = [
    "order_documents",
    "payment_documents",
    "waybill_documents",
    "declarations",
    "stock_movements",
    "buyer_quotas",
    "receipts",
    "review_tasks",
    "pending_orders",
    "dead_letters",
];

/// Schema the ingest copies live in (dropped afterwards).
const SCRATCH: &str = "raw_ingest";

/// The broker round trip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawBroker {
    /// Records sent and read back.
    pub records: u64,
    /// Key and value bytes.
    pub bytes: u64,
    /// Produce time, first send to last acknowledgement.
    pub produce_seconds: f64,
    /// Consume time, first poll to last record.
    pub consume_seconds: f64,
    /// `records / (produce + consume)`: each record written once and read once.
    pub round_trip_msgs_per_s: f64,
}

/// Produces `orders` generated orders to `topic` (created with `partitions`) and reads every
/// record back.
pub async fn broker_round_trip(
    kafka: &KafkaConfig,
    topic: &str,
    partitions: i32,
    mix: GeneratorConfig,
    orders: u64,
) -> anyhow::Result<RawBroker> {
    bondgate_kafka::admin::ensure_topics(kafka, &[(topic, partitions)]).await?;
    let producer = bondgate_kafka::producer(kafka, "bondgate-load-raw")?;
    let mut stream = RecordStream::new(mix, orders)?;
    let summary = produce(
        &producer,
        &mut stream,
        &ProduceOptions::prefill(topic),
        None,
        |_| {},
    )
    .await?;
    let consumer = receipts::assigned_consumer(kafka, topic, true)?;
    let started = Instant::now();
    let mut read = 0_u64;
    while read < summary.records {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| {
                anyhow::anyhow!("no record for 30 s after {read} of {}", summary.records)
            })??;
        read += u64::from(message.payload().is_some() || message.key().is_some());
    }
    let consume_seconds = started.elapsed().as_secs_f64();
    Ok(RawBroker {
        records: summary.records,
        bytes: summary.bytes,
        produce_seconds: summary.seconds,
        consume_seconds,
        round_trip_msgs_per_s: summary.records as f64 / (summary.seconds + consume_seconds),
    })
}

/// The database ingest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawDb {
    /// Rows the pipeline wrote per table (whole run).
    pub rows_written: BTreeMap<String, u64>,
    /// Rows per decided order (whole run).
    pub rows_per_order: f64,
    /// Orders of the run the sample stands for.
    pub sample_orders: u64,
    /// Rows inserted again.
    pub rows: u64,
    /// Transactions (batches) used.
    pub batches: u64,
    /// Insert time.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_s: f64,
}

/// The rows of one table, column by column, as text.
#[derive(Debug)]
struct TableRows {
    table: &'static str,
    columns: Vec<(String, String)>,
    values: Vec<Vec<Option<String>>>,
    len: usize,
}

/// Inserts the rows of (up to) `sample_orders` of the run found in `pool`'s tables again, in
/// batches of `orders_per_batch` orders.
pub async fn database_ingest(
    pool: &PgPool,
    sample_orders: u64,
    orders_per_batch: f64,
) -> anyhow::Result<RawDb> {
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM declarations")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(orders > 0, "the run decided no orders: nothing to ingest");
    let sample_orders = sample_orders.min(orders as u64);
    let share = sample_orders as f64 / orders as f64;
    let mut rows_written = BTreeMap::new();
    let mut tables = Vec::new();
    for table in PIPELINE_TABLES {
        let rows = load_table(pool, table, share).await?;
        rows_written.insert(table.to_owned(), count_rows(pool, table).await?);
        tables.push(rows);
    }
    let batches = ((sample_orders as f64 / orders_per_batch.max(1.0)).ceil() as usize).max(1);
    create_scratch(pool).await?;
    let started = Instant::now();
    let result = insert_batches(pool, &tables, batches).await;
    let seconds = started.elapsed().as_secs_f64();
    drop_scratch(pool).await?;
    result?;
    let rows: usize = tables.iter().map(|t| t.len).sum();
    let total: u64 = rows_written.values().sum();
    Ok(RawDb {
        rows_per_order: total as f64 / orders as f64,
        rows_written,
        sample_orders,
        rows: rows as u64,
        batches: batches as u64,
        seconds,
        rows_per_s: rows as f64 / seconds.max(f64::EPSILON),
    })
}

async fn count_rows(pool: &PgPool, table: &'static str) -> sqlx::Result<u64> {
    let sql = format!("SELECT count(*) FROM public.{table}");
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await?;
    Ok(count as u64)
}

/// Columns the pipeline supplies (identity and generated columns fill themselves).
async fn columns(pool: &PgPool, table: &'static str) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
         FROM pg_attribute a
         WHERE a.attrelid = ('public.' || $1)::regclass AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attidentity = '' AND a.attgenerated = ''
         ORDER BY a.attnum",
    )
    .bind(table)
    .fetch_all(pool)
    .await
}

async fn load_table(pool: &PgPool, table: &'static str, share: f64) -> sqlx::Result<TableRows> {
    let columns = columns(pool, table).await?;
    let total = count_rows(pool, table).await?;
    let limit = (total as f64 * share).ceil() as i64;
    let select: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("\"{name}\"::text"))
        .collect();
    let sql = format!("SELECT {} FROM public.{table} LIMIT $1", select.join(", "));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    let mut values = vec![Vec::with_capacity(rows.len()); columns.len()];
    for row in &rows {
        for (index, column) in values.iter_mut().enumerate() {
            column.push(row.try_get::<Option<String>, _>(index)?);
        }
    }
    Ok(TableRows {
        table,
        columns,
        values,
        len: rows.len(),
    })
}

async fn create_scratch(pool: &PgPool) -> sqlx::Result<()> {
    drop_scratch(pool).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {SCRATCH}")))
        .execute(pool)
        .await?;
    for table in PIPELINE_TABLES {
        // LIKE copies columns, defaults, CHECKs, identity and every index (primary key and
        // unique business keys included), i.e. what each insert pays for; not foreign keys,
        // whose parents the sample may cut.
        let sql = format!("CREATE TABLE {SCRATCH}.{table} (LIKE public.{table} INCLUDING ALL)");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    }
    Ok(())
}

async fn drop_scratch(pool: &PgPool) -> sqlx::Result<()> {
    let sql = format!("DROP SCHEMA IF EXISTS {SCRATCH} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    Ok(())
}

fn insert_sql(table: &TableRows) -> String {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    let casts: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("u.c{i}::{ty}"))
        .collect();
    let arrays: Vec<String> = (1..=table.columns.len())
        .map(|i| format!("${i}::text[]"))
        .collect();
    let aliases: Vec<String> = (0..table.columns.len()).map(|i| format!("c{i}")).collect();
    format!(
        "INSERT INTO {SCRATCH}.{} ({}) SELECT {} FROM UNNEST({}) AS u({})",
        table.table,
        names.join(", "),
        casts.join(", "),
        arrays.join(", "),
        aliases.join(", ")
    )
}

async fn insert_batches(pool: &PgPool, tables: &[TableRows], batches: usize) -> sqlx::Result<()> {
    let statements: Vec<String> = tables.iter().map(insert_sql).collect();
    for batch in 0..batches {
        let mut tx = pool.begin().await?;
        for (table, sql) in tables.iter().zip(&statements) {
            let per_batch = table.len.div_ceil(batches);
            let from = (batch * per_batch).min(table.len);
            let to = ((batch + 1) * per_batch).min(table.len);
            if from == to {
                continue;
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for column in &table.values {
                query = query.bind(column[from..to].to_vec());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
