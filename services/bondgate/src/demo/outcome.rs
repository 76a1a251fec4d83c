//! What clearance decided for the demo's orders, read from the database: an order is decided
//! when it has a receipt with a final status (800 released, 300 held for review, 100 rejected,
//! the last also for orders closed because a document never came).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::progress::Progress;

/// How often the database is polled while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// An accepted order and when its last document was sent (client clock, ms).
#[derive(Debug, Clone)]
pub struct OrderKey {
    /// Platform code.
    pub ebp_code: String,
    /// Order number.
    pub order_no: String,
    /// When the request with its last document was sent, ms since the epoch.
    pub submitted_ms: i64,
}

/// How the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Every order is decided.
    AllDecided,
    /// The timeout passed with `decided` orders decided.
    TimedOut {
        /// Orders decided by then.
        decided: usize,
    },
}

/// One decided order.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Current status: the declaration's, or the final receipt's when there is none.
    pub status: i32,
    /// Customs codes behind a hold or rejection.
    pub codes: Vec<String>,
    /// True when the order was closed without a declaration (a document never came).
    pub without_declaration: bool,
    /// First final receipt, ms since the epoch (database clock).
    pub decided_ms: i64,
    /// When its last document was sent, ms since the epoch (client clock).
    pub submitted_ms: i64,
}

/// The decisions and dead letters of the run.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// One per decided order.
    pub decided: Vec<Decision>,
    /// Dead letters written since the run started, by error code.
    pub dead_letters: BTreeMap<String, u64>,
}

fn key_arrays(orders: &[OrderKey]) -> (Vec<&str>, Vec<&str>) {
    orders
        .iter()
        .map(|o| (o.ebp_code.as_str(), o.order_no.as_str()))
        .unzip()
}

async fn count_decided(pool: &PgPool, orders: &[OrderKey]) -> sqlx::Result<usize> {
    let (ebps, onos) = key_arrays(orders);
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM unnest($1::text[], $2::text[]) AS k(e, o)
         WHERE EXISTS (SELECT 1 FROM receipts r WHERE r.ebp_code = k.e AND r.order_no = k.o
                         AND r.flow = 1
                         AND (r.return_status IN (800, 300, 100) OR r.return_status < 0))",
    )
    .bind(ebps)
    .bind(onos)
    .fetch_one(pool)
    .await?;
    Ok(usize::try_from(count).unwrap_or_default())
}

/// Polls until every order is decided or `timeout` passes, with progress on stderr.
pub async fn wait(pool: &PgPool, orders: &[OrderKey], timeout: Duration) -> sqlx::Result<Waited> {
    let started = Instant::now();
    let mut progress = Progress::new("deciding", orders.len() as u64);
    let detail = "orders decided";
    loop {
        let decided = count_decided(pool, orders).await?;
        if decided >= orders.len() {
            progress.finish(decided as u64, detail);
            return Ok(Waited::AllDecided);
        }
        if started.elapsed() >= timeout {
            progress.finish(decided as u64, detail);
            return Ok(Waited::TimedOut { decided });
        }
        progress.update(decided as u64, detail);
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

type DecisionRow = (Option<i32>, Option<Vec<String>>, i32, Vec<String>, i64, i64);

/// Reads the decisions of `orders` and the dead letters written since `since`.
pub async fn collect(
    pool: &PgPool,
    orders: &[OrderKey],
    since: DateTime<Utc>,
) -> sqlx::Result<Decisions> {
    let (ebps, onos) = key_arrays(orders);
    let submitted: Vec<i64> = orders.iter().map(|o| o.submitted_ms).collect();
    let rows: Vec<DecisionRow> = sqlx::query_as(
        "SELECT d.status, d.codes, f.return_status, f.codes, f.at_ms, k.submitted
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(e, o, submitted)
         JOIN LATERAL (
           SELECT r.return_status, r.codes,
                  (extract(epoch FROM r.created_at) * 1000)::bigint AS at_ms
           FROM receipts r
           WHERE r.ebp_code = k.e AND r.order_no = k.o AND r.flow = 1
             AND (r.return_status IN (800, 300, 100) OR r.return_status < 0)
           ORDER BY r.sequence LIMIT 1) f ON true
         LEFT JOIN declarations d ON d.ebp_code = k.e AND d.order_no = k.o",
    )
    .bind(ebps)
    .bind(onos)
    .bind(submitted)
    .fetch_all(pool)
    .await?;
    let decided = rows
        .into_iter()
        .map(
            |(status, codes, receipt_status, receipt_codes, decided_ms, submitted_ms)| Decision {
                without_declaration: status.is_none(),
                status: status.unwrap_or(receipt_status),
                codes: codes.unwrap_or(receipt_codes),
                decided_ms,
                submitted_ms,
            },
        )
        .collect();
    let dead: Vec<(String, i64)> = sqlx::query_as(
        "SELECT error_code, count(*) FROM dead_letters WHERE created_at >= $1 GROUP BY 1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let dead_letters = dead
        .into_iter()
        .map(|(code, n)| (code, u64::try_from(n).unwrap_or_default()))
        .collect();
    Ok(Decisions {
        decided,
        dead_letters,
    })
}
