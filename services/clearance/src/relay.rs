//! The outbox relay: publishes committed receipts (and dead letters) to Kafka, then moves its
//! high-water mark (receipts) or marks them published (dead letters, rare). At least once, with
//! stable receipt ids, in status order per order; why the mark is safe with several writers is
//! in `bondgate_storage::outbox` and ADR 0008.
//!
//! One relay is active per database at a time (a PostgreSQL advisory lock held on a dedicated
//! connection elects it), so receipts of one order are never published by two relays out of
//! order. If the leader dies, its connection closes, the lock frees, and another instance takes
//! over from the unpublished rows.

use crate::failpoint;
use crate::metrics::Metrics;
use bondgate_proto::Message;
use bondgate_proto::v1;
use bondgate_storage::outbox::{self, Mark, RECEIPTS_STREAM};
use futures::future::join_all;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rust_decimal::Decimal;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Row};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Advisory lock key of the relay leadership ("bgrelay" in ASCII, truncated).
const RELAY_LOCK: i64 = 0x0062_6772_656c_6179;
/// How often every instance measures the outbox (size and age of the oldest receipt).
const MEASURE_INTERVAL: Duration = Duration::from_secs(5);

/// Settings of the relay.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Receipts topic.
    pub receipts_topic: String,
    /// Dead-letter topic.
    pub dead_letter_topic: String,
    /// Rows per round.
    pub batch_max: i64,
    /// Idle poll interval.
    pub interval: Duration,
}

/// The largest (sealed) source record a published dead letter carries. A record close to the
/// broker's message limit would no longer fit once wrapped with its reason, and one refused dead
/// letter would fail every round; a larger one is published without its value (it stays, sealed,
/// in the `dead_letters` table) and says so in its message.
pub const DEAD_LETTER_VALUE_MAX: usize = 512 * 1024;

/// Runs until `stop` is notified, publishing whenever `wake` fires or the interval passes.
pub async fn run(
    pool: PgPool,
    producer: FutureProducer,
    settings: RelaySettings,
    metrics: Metrics,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
) {
    let mut leader: Option<Leader> = None;
    let mut measured_at: Option<Instant> = None;
    loop {
        // Every instance, leader or not, reads the outbox's real size and age now and then: the
        // gauges are also moved by each batch (up) and each relay round (down), and without this
        // the gauge of an instance that is not the leader would only ever go up.
        if measured_at.is_none_or(|at| at.elapsed() >= MEASURE_INTERVAL) {
            measured_at = Some(Instant::now());
            if let Err(error) = measure(&pool, &metrics).await {
                tracing::debug!(%error, "outbox measurement failed");
            }
        }
        if leader.is_none() {
            leader = try_lead(&pool).await;
        }
        if let Some(lead) = leader.as_mut()
            && let Err(error) = drain(&pool, lead, &producer, &settings, &metrics).await
        {
            tracing::warn!(%error, "relay round failed; retrying");
            // Give the lead up for real: the lock may have died with the connection, and if it
            // did not, a connection back in the pool would hold it and no one could lead.
            resign(leader.take());
        }
        tokio::select! {
            biased;
            () = stop.notified() => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
    // Publish what the last batch committed before stopping.
    if let Some(lead) = leader.as_mut()
        && let Err(error) = drain(&pool, lead, &producer, &settings, &metrics).await
    {
        tracing::warn!(%error, "final relay round failed");
    }
}

/// Sets the outbox gauges from the unpublished receipts (the range of `receipts_outbox` after
/// the mark).
async fn measure(pool: &PgPool, metrics: &Metrics) -> Result<(), sqlx::Error> {
    let (backlog, age): (i64, f64) = sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
         FROM receipts_unpublished",
    )
    .fetch_one(pool)
    .await?;
    metrics.outbox_backlog.set(backlog);
    metrics.outbox_oldest_age.set(age.max(0.0));
    Ok(())
}

/// The elected relay: the connection that holds the advisory lock, and where it stands.
struct Leader {
    /// Holds the lock for as long as it lives.
    conn: PoolConnection<Postgres>,
    /// The receipts published so far (read when elected, then kept).
    mark: Mark,
}

async fn try_lead(pool: &PgPool) -> Option<Leader> {
    let mut conn = pool.acquire().await.ok()?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(RELAY_LOCK)
        .fetch_one(&mut *conn)
        .await
        .ok()?;
    if !locked {
        return None;
    }
    // The mark is read only once elected: a previous leader may have moved it until it died.
    let mark = outbox::mark(&mut conn, RECEIPTS_STREAM).await.ok()?;
    Some(Leader { conn, mark })
}

/// Closes the leader's connection, which frees the advisory lock (and the mark is read again by
/// the next leader).
fn resign(leader: Option<Leader>) {
    if let Some(leader) = leader {
        drop(leader.conn.detach());
    }
}

/// Publishes until nothing is left.
async fn drain(
    pool: &PgPool,
    leader: &mut Leader,
    producer: &FutureProducer,
    settings: &RelaySettings,
    metrics: &Metrics,
) -> Result<(), RelayError> {
    loop {
        let receipts = publish_receipts(leader, producer, settings, metrics).await?;
        metrics.receipts_published.inc_by(receipts as u64);
        metrics.outbox_backlog.sub(receipts as i64);
        let dead = publish_dead_letters(pool, producer, settings).await?;
        if receipts == 0 && dead == 0 {
            let backlog: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts_unpublished")
                .fetch_one(pool)
                .await?;
            metrics.outbox_backlog.set(backlog);
            if backlog == 0 {
                metrics.outbox_oldest_age.set(0.0);
            }
            return Ok(());
        }
    }
}

/// Failures of a relay round.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or marking rows failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The broker did not acknowledge a record.
    #[error("publish failed: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// The final receipts after the mark, in publication order: below the oldest running
/// transaction nothing can still appear (ADR 0008).
const FINAL_AFTER_MARK: &str = "
SELECT r.id, r.chain_xid::text::bigint AS chain, r.ebp_code, r.order_no, r.flow, r.sequence,
       r.return_status, r.return_info, r.codes,
       (extract(epoch FROM r.created_at) * 1000)::bigint AS at_ms,
       extract(epoch FROM clock_timestamp() - r.created_at)::float8 AS age_s,
       d.cop_no, d.pre_no, d.invt_no, d.tax_customs, d.tax_vat, d.tax_consumption, d.tax_total
FROM receipts r LEFT JOIN declarations d ON d.id = r.declaration_id
WHERE (r.chain_xid, r.id) > ($1::text::xid8, $2)
  AND r.chain_xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY r.chain_xid, r.id
LIMIT $3";

async fn publish_receipts(
    leader: &mut Leader,
    producer: &FutureProducer,
    settings: &RelaySettings,
    metrics: &Metrics,
) -> Result<usize, RelayError> {
    let rows = sqlx::query(FINAL_AFTER_MARK)
        .bind(leader.mark.chain_xid.to_string())
        .bind(leader.mark.id)
        .bind(settings.batch_max)
        .fetch_all(&mut *leader.conn)
        .await?;
    let Some(last) = rows.last() else {
        return Ok(0);
    };
    let reached = Mark {
        chain_xid: last.try_get("chain")?,
        id: last.try_get("id")?,
    };
    let pickup = metrics.stages.with_label_values(&["relay_pickup"]);
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let receipt = receipt_from_row(row)?;
        pickup.observe(row.try_get::<f64, _>("age_s")?.max(0.0));
        records.push((
            format!("{}/{}", receipt.ebp_code, receipt.order_no),
            receipt.encode_to_vec(),
        ));
    }
    let sending = Instant::now();
    send_all(producer, &settings.receipts_topic, &records).await?;
    metrics.stage("produce_ack", sending.elapsed());
    if failpoint::hit(failpoint::RELAY_AFTER_SEND) {
        return Err(failpoint::injected(failpoint::RELAY_AFTER_SEND).into());
    }
    outbox::advance(&mut leader.conn, RECEIPTS_STREAM, reached).await?;
    leader.mark = reached;
    Ok(rows.len())
}

fn money(row: &sqlx::postgres::PgRow, column: &str) -> Result<String, sqlx::Error> {
    let value: Option<Decimal> = row.try_get(column)?;
    Ok(value.map(|v| v.round_dp(2).to_string()).unwrap_or_default())
}

fn receipt_from_row(row: &sqlx::postgres::PgRow) -> Result<v1::Receipt, sqlx::Error> {
    let (ebp_code, order_no, sequence): (String, String, i32) = (
        row.try_get("ebp_code")?,
        row.try_get("order_no")?,
        row.try_get("sequence")?,
    );
    let text = |column: &str| -> Result<String, sqlx::Error> {
        Ok(row
            .try_get::<Option<String>, _>(column)?
            .unwrap_or_default()
            .trim()
            .to_owned())
    };
    let has_tax = row.try_get::<Option<Decimal>, _>("tax_total")?.is_some();
    Ok(v1::Receipt {
        receipt_id: outbox::receipt_id(&ebp_code, &order_no, sequence).to_string(),
        ebp_code,
        order_no,
        flow: i32::from(row.try_get::<i16, _>("flow")?),
        return_status: row.try_get("return_status")?,
        return_info: row.try_get("return_info")?,
        codes: row.try_get("codes")?,
        cop_no: text("cop_no")?,
        pre_no: text("pre_no")?,
        invt_no: text("invt_no")?,
        tax: has_tax
            .then(|| -> Result<v1::Tax, sqlx::Error> {
                Ok(v1::Tax {
                    customs: money(row, "tax_customs")?,
                    vat: money(row, "tax_vat")?,
                    consumption: money(row, "tax_consumption")?,
                    total: money(row, "tax_total")?,
                })
            })
            .transpose()?,
        return_time_ms: row.try_get("at_ms")?,
        sequence,
        document_ids: Vec::new(),
    })
}

async fn publish_dead_letters(
    pool: &PgPool,
    producer: &FutureProducer,
    settings: &RelaySettings,
) -> Result<usize, RelayError> {
    let rows = sqlx::query(
        "SELECT id, topic, partition, \"offset\", key, payload, error_class, error_code, error_message,
                (extract(epoch FROM created_at) * 1000)::bigint AS at_ms
         FROM dead_letters WHERE published_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(settings.batch_max)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut records = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        let key: Option<Vec<u8>> = row.try_get("key")?;
        let sealed: Vec<u8> = row.try_get("payload")?;
        let (value, note) = published_value(sealed);
        let message: String = row.try_get("error_message")?;
        let letter = v1::DeadLetter {
            source_topic: row.try_get("topic")?,
            source_partition: row.try_get("partition")?,
            source_offset: row.try_get("offset")?,
            key: key.clone().unwrap_or_default(),
            value_sealed: !value.is_empty(),
            value,
            error_class: row.try_get("error_class")?,
            error_code: row.try_get("error_code")?,
            error_message: format!("{message}{note}"),
            dead_at_ms: row.try_get("at_ms")?,
        };
        ids.push(row.try_get::<i64, _>("id")?);
        records.push((
            String::from_utf8_lossy(&key.unwrap_or_default()).into_owned(),
            letter.encode_to_vec(),
        ));
    }
    send_all(producer, &settings.dead_letter_topic, &records).await?;
    sqlx::query("UPDATE dead_letters SET published_at = now() WHERE id = ANY($1)")
        .bind(&ids)
        .execute(pool)
        .await?;
    Ok(ids.len())
}

/// The source record to publish with a dead letter, sealed as it is stored (it holds personal
/// data: ID numbers, phones, names), and a note for its message when it is left out (too large).
fn published_value(sealed: Vec<u8>) -> (Vec<u8>, String) {
    if sealed.len() <= DEAD_LETTER_VALUE_MAX {
        return (sealed, String::new());
    }
    let note = format!(
        " (the record's {} sealed bytes are left out: over {DEAD_LETTER_VALUE_MAX})",
        sealed.len()
    );
    (Vec::new(), note)
}

/// Sends every record and waits for all acknowledgements; fails if any is not acknowledged.
async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> Result<(), RelayError> {
    let deliveries = records.iter().map(|(key, value)| {
        producer.send(
            FutureRecord::to(topic).key(key).payload(value),
            Timeout::After(Duration::from_secs(30)),
        )
    });
    for delivery in join_all(deliveries).await {
        delivery.map_err(|(error, _)| error)?;
    }
    Ok(())
}
