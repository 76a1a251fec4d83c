//! Consumer positions in PostgreSQL: the source of truth of where each partition resumes.
//!
//! On assignment an instance *claims* its partitions: the generation goes up by one and the
//! instance learns the stored next offset (where it seeks). Every batch then checks, under a row
//! lock in its own transaction, that the generation and next offset are still what it holds
//! (compare-and-set) before it writes anything, and moves the offset forward. A zombie that lost
//! its partitions fails that check and its batch rolls back whole.

use sqlx::{PgConnection, PgPool, Row};
use std::collections::BTreeMap;

/// What an instance holds for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Next offset to process.
    pub next_offset: i64,
    /// Claim generation this instance holds.
    pub generation: i64,
}

/// Identity of a consumer's positions.
#[derive(Debug, Clone)]
pub struct PositionsKey {
    /// Consumer group.
    pub group_id: String,
    /// Topic.
    pub topic: String,
    /// This instance (for the `owner` column, informational).
    pub instance_id: String,
}

/// Claims `partitions` for this instance; returns where each resumes.
pub async fn claim(
    pool: &PgPool,
    key: &PositionsKey,
    partitions: &[i32],
) -> sqlx::Result<BTreeMap<i32, Position>> {
    let rows = sqlx::query(
        "INSERT INTO consumer_positions (group_id, topic, partition, next_offset, generation, owner)
         SELECT $1, $2, p, 0, 1, $3 FROM UNNEST($4::int[]) AS p ORDER BY p
         ON CONFLICT (group_id, topic, partition) DO UPDATE
           SET generation = consumer_positions.generation + 1, owner = EXCLUDED.owner, updated_at = now()
         RETURNING partition, next_offset, generation",
    )
    .bind(&key.group_id)
    .bind(&key.topic)
    .bind(&key.instance_id)
    .bind(partitions)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let position = Position {
                next_offset: row.try_get("next_offset")?,
                generation: row.try_get("generation")?,
            };
            Ok((row.try_get("partition")?, position))
        })
        .collect()
}

/// How the stored positions compare with what this instance holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fencing {
    /// Partitions claimed by another instance since (or never claimed): this instance must not
    /// write for them.
    pub stale: Vec<i32>,
    /// Partitions still of our generation whose stored offset is ahead of ours: a commit of ours
    /// whose outcome we never learned (the connection died during COMMIT) did land.
    pub ahead: BTreeMap<i32, Position>,
}

impl Fencing {
    /// True when every held position matches the stored one.
    pub fn is_clear(&self) -> bool {
        self.stale.is_empty() && self.ahead.is_empty()
    }
}

/// Compares the stored positions with what this instance holds, locking the rows (`FOR UPDATE`)
/// for the rest of the transaction.
pub async fn fencing(
    conn: &mut PgConnection,
    key: &PositionsKey,
    held: &BTreeMap<i32, Position>,
) -> sqlx::Result<Fencing> {
    let partitions: Vec<i32> = held.keys().copied().collect();
    let rows = sqlx::query(
        "SELECT partition, next_offset, generation FROM consumer_positions
         WHERE group_id = $1 AND topic = $2 AND partition = ANY($3)
         ORDER BY partition FOR UPDATE",
    )
    .bind(&key.group_id)
    .bind(&key.topic)
    .bind(&partitions)
    .fetch_all(&mut *conn)
    .await?;
    let mut stored = BTreeMap::new();
    for row in rows {
        let position = Position {
            next_offset: row.try_get("next_offset")?,
            generation: row.try_get("generation")?,
        };
        stored.insert(row.try_get::<i32, _>("partition")?, position);
    }
    let mut fencing = Fencing::default();
    for (partition, mine) in held {
        match stored.get(partition) {
            Some(theirs) if theirs == mine => {}
            Some(theirs)
                if theirs.generation == mine.generation
                    && theirs.next_offset > mine.next_offset =>
            {
                fencing.ahead.insert(*partition, *theirs);
            }
            _ => fencing.stale.push(*partition),
        }
    }
    Ok(fencing)
}

/// Moves each partition's next offset forward (after [`fencing`] found every position clear)
/// and keeps the fingerprint of the last record it covers (see [`record_digest`]).
pub async fn advance(
    conn: &mut PgConnection,
    key: &PositionsKey,
    next: &BTreeMap<i32, i64>,
    digests: &BTreeMap<i32, [u8; 32]>,
) -> sqlx::Result<()> {
    let digests: Vec<Option<Vec<u8>>> = next
        .keys()
        .map(|p| digests.get(p).map(|d| d.to_vec()))
        .collect();
    let updated = sqlx::query(
        "UPDATE consumer_positions c SET next_offset = t.next, last_record_digest = t.digest,
                updated_at = now()
         FROM UNNEST($3::int[], $4::bigint[], $5::bytea[]) AS t(p, next, digest)
         WHERE c.group_id = $1 AND c.topic = $2 AND c.partition = t.p AND t.next >= c.next_offset",
    )
    .bind(&key.group_id)
    .bind(&key.topic)
    .bind(next.keys().copied().collect::<Vec<_>>())
    .bind(next.values().copied().collect::<Vec<_>>())
    .bind(digests)
    .execute(&mut *conn)
    .await?;
    // Offsets only move forward, and only on rows this batch locked: anything else is a bug.
    assert_eq!(
        updated.rows_affected(),
        next.len() as u64,
        "positions must advance together"
    );
    Ok(())
}

/// The fingerprint of a record: SHA-256 of its key's length, key and value.
pub fn record_digest(key: Option<&[u8]>, value: &[u8]) -> [u8; 32] {
    let key = key.unwrap_or_default();
    let mut bytes = Vec::with_capacity(8 + key.len() + value.len());
    bytes.extend_from_slice(&(key.len() as u64).to_be_bytes());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(value);
    bondgate_storage::crypto::digest(&bytes)
}

/// The stored fingerprints of the last record of each of `partitions` (where known).
pub async fn last_digests(
    pool: &PgPool,
    key: &PositionsKey,
    partitions: &[i32],
) -> sqlx::Result<BTreeMap<i32, Vec<u8>>> {
    let rows: Vec<(i32, Vec<u8>)> = sqlx::query_as(
        "SELECT partition, last_record_digest FROM consumer_positions
         WHERE group_id = $1 AND topic = $2 AND partition = ANY($3)
           AND last_record_digest IS NOT NULL",
    )
    .bind(&key.group_id)
    .bind(&key.topic)
    .bind(partitions)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A partition whose broker log restarted below our position (see [`rebase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebase {
    /// Where the partition continues: the first offset the broker now delivers.
    pub to_offset: i64,
    /// The broker's end offset when the reset was seen.
    pub broker_end_offset: i64,
}

/// Moves positions back to the broker's new log and records each move in
/// `consumer_position_resets`; only for rows of our generation (locked by [`fencing`] before).
pub async fn rebase(
    conn: &mut PgConnection,
    key: &PositionsKey,
    held: &BTreeMap<i32, Position>,
    rebases: &BTreeMap<i32, Rebase>,
) -> sqlx::Result<()> {
    for (partition, rebase) in rebases {
        let Some(position) = held.get(partition) else {
            continue;
        };
        sqlx::query(
            "WITH moved AS (
               UPDATE consumer_positions SET next_offset = $4, updated_at = now()
               WHERE group_id = $1 AND topic = $2 AND partition = $3 AND generation = $5
                 AND next_offset = $6
               RETURNING partition)
             INSERT INTO consumer_position_resets
               (group_id, topic, partition, from_offset, to_offset, broker_end_offset, generation, owner)
             SELECT $1, $2, partition, $6, $4, $7, $5, $8 FROM moved",
        )
        .bind(&key.group_id)
        .bind(&key.topic)
        .bind(partition)
        .bind(rebase.to_offset)
        .bind(position.generation)
        .bind(position.next_offset)
        .bind(rebase.broker_end_offset)
        .bind(&key.instance_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
