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

/// The partitions whose stored position no longer matches what this instance holds.
pub async fn stale_partitions(
    conn: &mut PgConnection,
    key: &PositionsKey,
    held: &BTreeMap<i32, Position>,
) -> sqlx::Result<Vec<i32>> {
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
    let mut stale: Vec<i32> = held.keys().copied().collect();
    for row in rows {
        let partition: i32 = row.try_get("partition")?;
        let stored = Position {
            next_offset: row.try_get("next_offset")?,
            generation: row.try_get("generation")?,
        };
        if held.get(&partition) == Some(&stored) {
            stale.retain(|p| *p != partition);
        }
    }
    Ok(stale)
}

/// Moves each partition's next offset forward (after [`stale_partitions`] found none stale).
pub async fn advance(
    conn: &mut PgConnection,
    key: &PositionsKey,
    next: &BTreeMap<i32, i64>,
) -> sqlx::Result<()> {
    let updated = sqlx::query(
        "UPDATE consumer_positions c SET next_offset = t.next, updated_at = now()
         FROM UNNEST($3::int[], $4::bigint[]) AS t(p, next)
         WHERE c.group_id = $1 AND c.topic = $2 AND c.partition = t.p AND t.next >= c.next_offset",
    )
    .bind(&key.group_id)
    .bind(&key.topic)
    .bind(next.keys().copied().collect::<Vec<_>>())
    .bind(next.values().copied().collect::<Vec<_>>())
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
