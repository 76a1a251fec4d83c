//! Goal: a full replay (positions reset to the beginning) and duplicate deliveries change
//! nothing in the database (guarantee 1, exactly-once effect).
//! Method: clear 150 orders, snapshot the effects, then (a) produce every record a second time
//! and (b) reset the stored positions to 0 and restart; the snapshot must not change.

use crate::helpers::{Harness, clean_traffic};
use std::time::Duration;

const SNAPSHOT: &str = "SELECT concat_ws('|',
    (SELECT count(*) FROM declarations), (SELECT count(*) FROM declaration_lines),
    (SELECT count(*) FROM receipts), (SELECT count(*) FROM stock_movements),
    (SELECT sum(on_hand) FROM account_book_items), (SELECT sum(used) FROM buyer_quotas),
    (SELECT count(*) FROM order_documents), (SELECT count(*) FROM payment_documents),
    (SELECT count(*) FROM waybill_documents), (SELECT count(*) FROM dead_letters))";

async fn snapshot(harness: &Harness) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(SNAPSHOT)
        .fetch_one(&harness.pool)
        .await?)
}

async fn end_offsets_reached(harness: &Harness, records: i64) -> anyhow::Result<bool> {
    Ok(harness
        .count("SELECT COALESCE(sum(next_offset), 0)::bigint FROM consumer_positions")
        .await?
        >= records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_and_a_full_replay_change_nothing() -> anyhow::Result<()> {
    let harness = Harness::new("replay", 2, 100_000).await?;
    let first = harness.produce(clean_traffic(31), 150).await?;
    let service = harness.start(harness.config("replay-1"));
    harness
        .wait_for_declarations(150, Duration::from_secs(120))
        .await?;
    let before = snapshot(&harness).await?;

    // (a) The same records again: duplicates by business key and digest.
    let again = harness.produce(clean_traffic(31), 150).await?;
    let total = i64::try_from(first.records + again.records)?;
    bondgate_tests::wait_until("the duplicates consumed", Duration::from_secs(120), || {
        end_offsets_reached(&harness, total)
    })
    .await?;
    service.stop().await?;
    assert_eq!(
        snapshot(&harness).await?,
        before,
        "duplicates changed the database"
    );

    // (b) Replay everything from offset 0.
    sqlx::query("UPDATE consumer_positions SET next_offset = 0")
        .execute(&harness.pool)
        .await?;
    let service = harness.start(harness.config("replay-2"));
    bondgate_tests::wait_until("the replay consumed", Duration::from_secs(120), || {
        end_offsets_reached(&harness, total)
    })
    .await?;
    service.stop().await?;
    assert_eq!(
        snapshot(&harness).await?,
        before,
        "the replay changed the database"
    );
    harness.assert_invariants().await
}
