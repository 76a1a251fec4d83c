//! Verifying the audit chain without re-reading all of it on every view.
//!
//! Three checks, from cheap to complete:
//!
//! * **The rows on a page** ([`page`]): each shown entry's hash is recomputed from its content
//!   and its `prev_hash`, and each `prev_hash` is compared with the hash of the entry before it
//!   (one more row is read below the page). An entry an auditor looks at cannot have been
//!   changed without the page saying so.
//! * **What is new** ([`verify_new`], the audit page): the table `audit_verification` keeps a
//!   mark, the last entry known good and its hash. The mark's row is re-checked (its content
//!   against its hash, its hash against the mark: editing or deleting it, cutting the log back
//!   below it, or rewriting the chain from an earlier entry on is detected), then at most
//!   `audit_verify_rows_max` newer entries are verified and the mark moves forward. The cost of
//!   a view is bounded by what happened since the last view, not by the log's age.
//! * **Everything** ([`verify_full`]): the whole chain from its first entry, run by one replica
//!   every `audit_full_verify_interval_ms` (and at start when due), by `bondgate audit verify`
//!   and by `GET /v1/review/audit/verification`.
//!
//! So an edit of an older entry that nobody views is found by the next full verification, at
//! most `audit_full_verify_interval_ms` later. A break found by any check is recorded and shown
//! on every view of the audit page until a full verification that started after it was found
//! passes again (the row was put back).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use utoipa::ToSchema;

use super::{Entry, GENESIS, canonical_entry, entry_hash, entry_of};

/// Rows read per round trip while verifying.
const VERIFY_BATCH_ROWS: u64 = 1_000;

/// The chain holds: how many entries, and the hash of the last one (hex; zeros when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainHead {
    /// Entries verified.
    pub entries: u64,
    /// Hash of the last entry.
    pub head_hash: String,
}

/// Why the chain does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Entry `id` does not follow from the entries before it.
    #[error("audit chain broken at entry {id}: {why}")]
    Broken {
        /// The first entry that fails.
        id: i64,
        /// What fails.
        why: &'static str,
    },
    /// Reading the log failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A point of the chain known good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The entry's id (0 before the first entry).
    pub id: i64,
    /// Its hash ([`GENESIS`] before the first entry).
    pub hash: Vec<u8>,
    /// Entries up to it.
    pub entries: u64,
}

impl Mark {
    /// Before the first entry.
    pub fn genesis() -> Self {
        Self {
            id: 0,
            hash: GENESIS.to_vec(),
            entries: 0,
        }
    }

    fn head(&self) -> ChainHead {
        ChainHead {
            entries: self.entries,
            head_hash: hex::encode(&self.hash),
        }
    }
}

/// An entry as stored: what is shown, and the two hashes that chain it.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    entry: Entry,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

const STORED_COLUMNS: &str = "id, at, actor, action, subject, reason, detail, prev_hash, hash";

fn stored_of(row: &sqlx::postgres::PgRow) -> sqlx::Result<Stored> {
    Ok(Stored {
        entry: entry_of(row)?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// What is wrong with `stored` when the entry before it has hash `expected_prev`.
fn fault_of(stored: &Stored, expected_prev: &[u8]) -> Option<&'static str> {
    if stored.prev_hash != expected_prev {
        return Some("prev_hash is not the hash of the entry before");
    }
    let entry = &stored.entry;
    let canonical = canonical_entry(
        &entry.actor,
        &entry.action,
        &entry.subject,
        &entry.reason,
        &entry.detail,
        entry.at,
    );
    (stored.hash != entry_hash(&stored.prev_hash, &canonical))
        .then_some("hash does not match the entry's content")
}

/// How far a verification got.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Progress {
    /// The last entry verified.
    mark: Mark,
    /// No newer entry was left unverified.
    complete: bool,
}

/// Verifies the entries after `from` in id order, a batch at a time (bounded memory), at most
/// `rows_max` of them (all when `None`).
async fn verify_from(
    pool: &PgPool,
    from: Mark,
    rows_max: Option<u64>,
) -> Result<Progress, VerifyError> {
    let mut mark = from;
    let mut budget = rows_max.unwrap_or(u64::MAX);
    while budget > 0 {
        let limit = budget.min(VERIFY_BATCH_ROWS);
        let sql =
            format!("SELECT {STORED_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(mark.id)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?;
        for row in &rows {
            let stored = stored_of(row)?;
            if let Some(why) = fault_of(&stored, &mark.hash) {
                return Err(VerifyError::Broken {
                    id: stored.entry.id,
                    why,
                });
            }
            mark = Mark {
                id: stored.entry.id,
                hash: stored.hash,
                entries: mark.entries + 1,
            };
        }
        if (rows.len() as u64) < limit {
            return Ok(Progress {
                mark,
                complete: true,
            });
        }
        budget -= limit;
    }
    let newer: Option<i64> = sqlx::query_scalar("SELECT id FROM audit_log WHERE id > $1 LIMIT 1")
        .bind(mark.id)
        .fetch_optional(pool)
        .await?;
    Ok(Progress {
        complete: newer.is_none(),
        mark,
    })
}

/// Recomputes the whole chain from its first entry (records nothing).
pub async fn verify_chain(pool: &PgPool) -> Result<ChainHead, VerifyError> {
    Ok(verify_from(pool, Mark::genesis(), None).await?.mark.head())
}

/// A break recorded by a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The first entry that fails.
    pub id: i64,
    /// What fails.
    pub why: String,
}

/// The recorded state of verification (table `audit_verification`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    mark: Mark,
    full_verified_at: Option<DateTime<Utc>>,
    broken: Option<Break>,
}

async fn recorded(pool: &PgPool) -> sqlx::Result<Recorded> {
    let row = sqlx::query(
        "SELECT entry_id, entry_hash, entries, full_verified_at, broken_at, broken_why
         FROM audit_verification",
    )
    .fetch_optional(pool)
    .await?;
    // Without its row (deleted by hand) verification starts over from the first entry.
    let Some(row) = row else {
        return Ok(Recorded {
            mark: Mark::genesis(),
            full_verified_at: None,
            broken: None,
        });
    };
    let broken_at: Option<i64> = row.try_get("broken_at")?;
    let broken_why: Option<String> = row.try_get("broken_why")?;
    Ok(Recorded {
        mark: Mark {
            id: row.try_get("entry_id")?,
            hash: row.try_get("entry_hash")?,
            entries: u64::try_from(row.try_get::<i64, _>("entries")?).unwrap_or(0),
        },
        full_verified_at: row.try_get("full_verified_at")?,
        broken: broken_at.map(|id| Break {
            id,
            why: broken_why.unwrap_or_default(),
        }),
    })
}

/// Moves the mark forward (never back: replicas verify concurrently); with `full_since`, also
/// records a full verification that began then, clearing breaks found before it began.
async fn advance(
    pool: &PgPool,
    mark: &Mark,
    full_since: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_verification AS v (entry_id, entry_hash, entries, full_verified_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (singleton) DO UPDATE SET
             entry_id = greatest(v.entry_id, $1),
             entry_hash = CASE WHEN $1 >= v.entry_id THEN $2 ELSE v.entry_hash END,
             entries = CASE WHEN $1 >= v.entry_id THEN $3 ELSE v.entries END,
             verified_at = now(),
             full_verified_at = coalesce($4, v.full_verified_at),
             broken_at = CASE WHEN v.broken_found_at < $4 THEN NULL ELSE v.broken_at END,
             broken_why = CASE WHEN v.broken_found_at < $4 THEN NULL ELSE v.broken_why END,
             broken_found_at = CASE WHEN v.broken_found_at < $4 THEN NULL ELSE v.broken_found_at END",
    )
    .bind(mark.id)
    .bind(&mark.hash)
    .bind(i64::try_from(mark.entries).unwrap_or(i64::MAX))
    .bind(full_since)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a break: a full verification's (`replace`: it found the first break of the whole
/// chain), or a partial check's when it is earlier than the one recorded.
async fn record_break(pool: &PgPool, id: i64, why: &str, replace: bool) -> sqlx::Result<()> {
    tracing::error!(entry = id, why, "audit chain does NOT verify");
    sqlx::query(
        "INSERT INTO audit_verification AS v (entry_id, entry_hash, entries, broken_at,
                                              broken_why, broken_found_at)
         VALUES (0, decode(repeat('00', 32), 'hex'), 0, $1, $2, now())
         ON CONFLICT (singleton) DO UPDATE SET broken_at = $1, broken_why = $2,
             broken_found_at = now()
         WHERE $3 OR v.broken_at IS NULL OR v.broken_at > $1",
    )
    .bind(id)
    .bind(why)
    .bind(replace)
    .execute(pool)
    .await?;
    Ok(())
}

/// The mark's own row still holds: present, its content matching its hash, its hash the mark's.
async fn check_mark(pool: &PgPool, mark: &Mark) -> sqlx::Result<Option<&'static str>> {
    if mark.id == 0 {
        return Ok(None);
    }
    let sql = format!("SELECT {STORED_COLUMNS} FROM audit_log WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(mark.id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Some("the last verified entry is gone"));
    };
    let stored = stored_of(&row)?;
    if stored.hash != mark.hash {
        return Ok(Some("the last verified entry's hash changed"));
    }
    Ok(fault_of(&stored, &stored.prev_hash))
}

/// What the audit page says about the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    /// Known good up to `mark`.
    Verified {
        /// The last entry verified.
        mark: Mark,
        /// Newer entries are left for the next view (more than `audit_verify_rows_max`).
        pending: bool,
        /// The last full verification.
        full_verified_at: Option<DateTime<Utc>>,
    },
    /// A check found the chain broken.
    Broken(Break),
}

/// Verifies the entries newer than the recorded mark (at most `rows_max`) and moves the mark.
pub async fn verify_new(pool: &PgPool, rows_max: u64) -> sqlx::Result<ChainStatus> {
    let recorded = recorded(pool).await?;
    if let Some(broken) = recorded.broken {
        return Ok(ChainStatus::Broken(broken));
    }
    if let Some(why) = check_mark(pool, &recorded.mark).await? {
        return broken(pool, recorded.mark.id, why).await;
    }
    let marked = recorded.mark.id;
    match verify_from(pool, recorded.mark, Some(rows_max.max(1))).await {
        Ok(progress) => {
            // A view with nothing new writes nothing.
            if progress.mark.id > marked {
                advance(pool, &progress.mark, None).await?;
            }
            Ok(ChainStatus::Verified {
                mark: progress.mark,
                pending: !progress.complete,
                full_verified_at: recorded.full_verified_at,
            })
        }
        Err(VerifyError::Broken { id, why }) => broken(pool, id, why).await,
        Err(VerifyError::Database(error)) => Err(error),
    }
}

async fn broken(pool: &PgPool, id: i64, why: &'static str) -> sqlx::Result<ChainStatus> {
    record_break(pool, id, why, false).await?;
    Ok(ChainStatus::Broken(Break {
        id,
        why: why.to_owned(),
    }))
}

/// Verifies the whole chain and records the outcome: the mark moves to the head and earlier
/// breaks are cleared when it passes; the break is recorded when it does not.
pub async fn verify_full(pool: &PgPool) -> Result<ChainHead, VerifyError> {
    let began: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
    match verify_from(pool, Mark::genesis(), None).await {
        Ok(progress) => {
            advance(pool, &progress.mark, Some(began)).await?;
            Ok(progress.mark.head())
        }
        Err(VerifyError::Broken { id, why }) => {
            record_break(pool, id, why, true).await?;
            Err(VerifyError::Broken { id, why })
        }
        Err(error) => Err(error),
    }
}

/// [`verify_full`] unless one ran (on any replica) within the last `interval_seconds`.
pub async fn verify_full_if_due(
    pool: &PgPool,
    interval_seconds: f64,
) -> Result<Option<ChainHead>, VerifyError> {
    let recent: Option<bool> = sqlx::query_scalar(
        "SELECT full_verified_at > now() - make_interval(secs => $1) FROM audit_verification",
    )
    .bind(interval_seconds)
    .fetch_optional(pool)
    .await?
    .flatten();
    if recent == Some(true) {
        return Ok(None);
    }
    verify_full(pool).await.map(Some)
}

/// An entry of a page that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The entry.
    pub id: i64,
    /// What fails.
    pub why: &'static str,
}

/// One page of the log, newest first, its rows verified against their neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Those that do not verify.
    pub faults: Vec<Fault>,
    /// The id to continue before, when there are older entries.
    pub older: Option<i64>,
}

/// The entries before `before` (newest first), at most `limit`, each checked: its content
/// against its hash and its `prev_hash` against the entry before it.
pub async fn page(pool: &PgPool, before: Option<i64>, limit: usize) -> sqlx::Result<Page> {
    let sql = format!(
        "SELECT {STORED_COLUMNS} FROM audit_log WHERE $1::bigint IS NULL OR id < $1
         ORDER BY id DESC LIMIT $2"
    );
    // One row more than shown: the predecessor of the oldest entry shown.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(before)
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    let mut stored = rows
        .iter()
        .map(stored_of)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let predecessor = (stored.len() > limit).then(|| stored.remove(limit));
    let faults = page_faults(&stored, predecessor.as_ref().map(|p| p.hash.as_slice()));
    let older = predecessor.and(stored.last().map(|s| s.entry.id));
    Ok(Page {
        entries: stored.into_iter().map(|s| s.entry).collect(),
        faults,
        older,
    })
}

/// The faults of entries listed newest first, the oldest preceded by an entry of hash
/// `predecessor` (none: the oldest is the first entry of the log).
fn page_faults(newest_first: &[Stored], predecessor: Option<&[u8]>) -> Vec<Fault> {
    let genesis = GENESIS.as_slice();
    newest_first
        .iter()
        .enumerate()
        .filter_map(|(index, stored)| {
            let expected = newest_first
                .get(index + 1)
                .map_or(predecessor.unwrap_or(genesis), |older| {
                    older.hash.as_slice()
                });
            fault_of(stored, expected).map(|why| Fault {
                id: stored.entry.id,
                why,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Value;

    /// Entry `id` of `reason` and `detail`, chained after `prev`.
    fn chained(id: i64, prev: &[u8], reason: &str, detail: Value) -> Stored {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let canonical = canonical_entry("li.wei", "release", "declaration:1", reason, &detail, at);
        let hash = entry_hash(prev, &canonical).to_vec();
        Stored {
            entry: Entry {
                id,
                at,
                actor: "li.wei".to_owned(),
                action: "release".to_owned(),
                subject: "declaration:1".to_owned(),
                reason: reason.to_owned(),
                detail,
                hash: hex::encode(&hash),
            },
            prev_hash: prev.to_vec(),
            hash,
        }
    }

    /// Entries 1..=n chained from genesis, newest first.
    fn log(n: i64) -> Vec<Stored> {
        let mut prev = GENESIS.to_vec();
        let mut entries = Vec::new();
        for id in 1..=n {
            let stored = chained(id, &prev, "ok", serde_json::json!({ "n": id }));
            prev = stored.hash.clone();
            entries.push(stored);
        }
        entries.reverse();
        entries
    }

    #[test]
    fn an_intact_page_has_no_faults() {
        let entries = log(5);
        assert!(page_faults(&entries, None).is_empty());
        // The newest three, preceded by entry 2.
        assert!(page_faults(&entries[..3], Some(&entries[3].hash)).is_empty());
    }

    #[test]
    fn an_edited_entry_is_found_where_it_is() {
        let mut entries = log(5);
        entries[2].entry.reason = "nothing to see".to_owned();
        assert_eq!(
            page_faults(&entries, None),
            [Fault {
                id: 3,
                why: "hash does not match the entry's content"
            }]
        );
    }

    #[test]
    fn a_deleted_entry_is_found_at_the_next_one() {
        let mut entries = log(5);
        entries.remove(2);
        assert_eq!(
            page_faults(&entries, None),
            [Fault {
                id: 4,
                why: "prev_hash is not the hash of the entry before"
            }]
        );
    }

    #[test]
    fn a_page_is_checked_against_the_entry_below_it() {
        let entries = log(5);
        let faults = page_faults(&entries[..3], Some(&entries[4].hash));
        assert_eq!(faults.iter().map(|f| f.id).collect::<Vec<_>>(), [3]);
        let oldest_alone = page_faults(&entries[4..], None);
        assert!(oldest_alone.is_empty(), "entry 1 follows genesis");
    }
}
