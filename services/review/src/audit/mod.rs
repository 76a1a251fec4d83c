//! The hash-chained audit log: who did what, when and why.
//!
//! Each row's `hash` is SHA-256(`prev_hash` || canonical JSON of the entry), where the canonical
//! JSON is the object `{action, actor, at, detail, reason, subject}` with keys sorted at every
//! level, no whitespace, and `at` in RFC 3339 UTC with microseconds. The first row's `prev_hash`
//! is 32 zero bytes. Changing, deleting or reordering any row breaks the chain at that row or the
//! next, which [`verify_chain`] reports. (Cutting rows off the end leaves a shorter valid chain:
//! compare the head hash with one kept elsewhere, e.g. the `audit_head` logged by each full
//! verification; cutting below the verified mark is detected, see [`verify`].) How far the chain
//! is known good is remembered, so the audit page verifies only what is new ([`verify`]).
//!
//! Appends are serialised by a transaction-scoped advisory lock, so the chain never forks, and
//! they happen inside the transaction of the action they record: no action without its entry.

pub mod verify;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use utoipa::ToSchema;

pub use verify::{ChainHead, VerifyError, verify_chain};

/// Advisory lock key that serialises appends ("bgaudit" in ASCII).
const AUDIT_LOCK: i64 = 0x0062_6761_7564_6974;
/// `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// What happened, as the caller describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// The officer's username (or `system`).
    pub actor: String,
    /// What was done: `login`, `login_locked` (a lockout after failed logins began; the
    /// failures themselves are counted, not logged), `logout`, `reveal`, `release`, `reject`,
    /// `inspection`, `assign`, `search_buyer`.
    pub action: &'static str,
    /// What it was done to, e.g. `declaration:42`, `officer:li.wei`.
    pub subject: String,
    /// Why (the officer's words); empty when no reason is asked for.
    pub reason: String,
    /// Details (a JSON object of strings, integers and booleans: no floats, no personal data).
    pub detail: Value,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Position in the log.
    pub id: i64,
    /// When.
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: Value,
    /// This entry's hash, hex.
    pub hash: String,
}

/// Appends an entry inside the caller's transaction; returns its id.
pub async fn append(conn: &mut PgConnection, entry: &NewEntry) -> sqlx::Result<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await?;
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_vec());
    // PostgreSQL keeps microseconds: hash exactly what is stored.
    let at = Utc::now().trunc_subsecs(6);
    let hash = entry_hash(
        &prev,
        &canonical_entry(
            &entry.actor,
            entry.action,
            &entry.subject,
            &entry.reason,
            &entry.detail,
            at,
        ),
    );
    sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, subject, reason, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(at)
    .bind(&entry.actor)
    .bind(entry.action)
    .bind(&entry.subject)
    .bind(&entry.reason)
    .bind(&entry.detail)
    .bind(&prev)
    .bind(hash.as_slice())
    .fetch_one(conn)
    .await
}

/// SHA-256(`prev` || `canonical`).
pub fn entry_hash(prev: &[u8], canonical: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical.as_bytes());
    hasher.finalize().into()
}

/// The canonical JSON of an entry (module docs).
pub fn canonical_entry(
    actor: &str,
    action: &str,
    subject: &str,
    reason: &str,
    detail: &Value,
    at: DateTime<Utc>,
) -> String {
    let entry = serde_json::json!({
        "action": action,
        "actor": actor,
        "at": at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "detail": detail,
        "reason": reason,
        "subject": subject,
    });
    let mut out = String::new();
    write_canonical(&entry, &mut out);
    out
}

/// Writes `value` with object keys sorted at every level and no whitespace, whatever order the
/// map keeps its keys in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An entry from a row with the columns of [`Entry`].
pub(crate) fn entry_of(row: &sqlx::postgres::PgRow) -> sqlx::Result<Entry> {
    Ok(Entry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
        hash: hex::encode(row.try_get::<Vec<u8>, _>("hash")?),
    })
}

/// Entries newest first, before `before_id` when given, at most `limit`.
pub async fn recent(pool: &PgPool, before_id: Option<i64>, limit: i64) -> sqlx::Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, subject, reason, detail, hash FROM audit_log
         WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(before_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_of).collect()
}

/// Entries about one subject, newest first, at most `limit`.
pub async fn of_subject(pool: &PgPool, subject: &str, limit: i64) -> sqlx::Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, subject, reason, detail, hash FROM audit_log
         WHERE subject = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(subject)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let detail = serde_json::json!({"z": 1, "a": {"y": true, "b": "中"}});
        let text = canonical_entry("li.wei", "release", "declaration:7", "ok", &detail, at);
        assert_eq!(
            text,
            "{\"action\":\"release\",\"actor\":\"li.wei\",\"at\":\"2026-01-02T03:04:05.000000Z\",\
             \"detail\":{\"a\":{\"b\":\"中\",\"y\":true},\"z\":1},\"reason\":\"ok\",\
             \"subject\":\"declaration:7\"}"
        );
    }

    #[test]
    fn hashes_chain_over_the_previous_hash() {
        let a = entry_hash(&GENESIS, "{}");
        let b = entry_hash(&a, "{}");
        assert_ne!(a, b);
        assert_eq!(a, entry_hash(&GENESIS, "{}"));
        // SHA-256 of 32 zero bytes followed by "{}", computed independently.
        let mut hasher = Sha256::new();
        hasher.update([0_u8; 32]);
        hasher.update(b"{}");
        assert_eq!(a, <[u8; 32]>::from(hasher.finalize()));
    }
}
