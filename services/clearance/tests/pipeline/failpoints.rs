//! Failures injected at the critical points of the batch cycle (the `failpoints` feature), so
//! the crash windows are hit every time, not only when a random `kill -9` happens to land there.

use crate::helpers::{Harness, clean_traffic, require_failpoints};
use bondgate_clearance::failpoint;
use bondgate_proto::Message;
use bondgate_proto::v1;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// Rows a batch writes, and the positions it moves: unchanged while every batch fails (the
/// seed's opening stock movements are there from the start).
const EFFECTS: &str = "SELECT concat_ws(' ',
    'declarations', (SELECT count(*) FROM declarations), 'receipts', (SELECT count(*) FROM receipts),
    'movements', (SELECT count(*) FROM stock_movements), 'orders', (SELECT count(*) FROM order_documents),
    'payments', (SELECT count(*) FROM payment_documents), 'waybills', (SELECT count(*) FROM waybill_documents),
    'dead', (SELECT count(*) FROM dead_letters), 'pending', (SELECT count(*) FROM pending_orders),
    'positions', (SELECT COALESCE(sum(next_offset), 0) FROM consumer_positions))";
/// Goal: a batch that fails after writing everything, just before COMMIT, leaves nothing behind
/// and is retried whole (guarantee 6).
/// Method: every batch fails at `before-commit` for 8 s while 300 orders wait; meanwhile no row
/// of any kind and no position may appear. Then the failpoint is lifted: every order clears
/// exactly once and the invariants hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_failing_before_commit_leaves_nothing_and_is_retried_whole() -> anyhow::Result<()> {
    require_failpoints();
    let harness = Harness::new("fp-commit", 3, 100_000).await?;
    let traffic = harness
        .produce(clean_traffic(61), crate::helpers::scaled(300))
        .await?;
    fail::cfg(failpoint::BEFORE_COMMIT, "return").map_err(anyhow::Error::msg)?;
    let before: String = sqlx::query_scalar(EFFECTS).fetch_one(&harness.pool).await?;
    let service = harness.start(harness.config("fp-commit-1"));
    let mut observed = 0;
    let until = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < until {
        let effects: String = sqlx::query_scalar(EFFECTS).fetch_one(&harness.pool).await?;
        assert_eq!(effects, before, "a failed batch left rows behind");
        observed += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(observed > 10);
    fail::remove(failpoint::BEFORE_COMMIT);
    let expected = i64::try_from(traffic.orders.len())?;
    harness
        .wait_for_declarations(expected, Duration::from_secs(120))
        .await?;
    service.stop().await?;
    assert_eq!(
        harness.count("SELECT count(*) FROM declarations").await?,
        expected
    );
    harness.assert_invariants().await
}

/// Goal: when COMMIT succeeds but its acknowledgement is lost (the service sees an error), the
/// instance neither applies the batch twice nor stalls the partition (guarantees 1 and 7).
/// Method: the second and third batches report a failure right after their commit; the service
/// must notice that its own commit landed and continue after it: all 300 orders clear once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_commit_acknowledgement_neither_doubles_nor_stalls() -> anyhow::Result<()> {
    require_failpoints();
    let harness = Harness::new("fp-ack", 2, 100_000).await?;
    let traffic = harness
        .produce(clean_traffic(62), crate::helpers::scaled(300))
        .await?;
    fail::cfg(failpoint::AFTER_COMMIT, "1*off->2*return->off").map_err(anyhow::Error::msg)?;
    let service = harness.start(harness.config("fp-ack-1"));
    let expected = i64::try_from(traffic.orders.len())?;
    harness
        .wait_for_declarations(expected, Duration::from_secs(120))
        .await?;
    service.stop().await?;
    assert_eq!(
        harness.count("SELECT count(*) FROM declarations").await?,
        expected
    );
    harness.assert_invariants().await
}

/// Goal: a crash after the database commit and before the receipts are published loses no
/// receipt: the outbox publishes them after the restart (guarantees 2 and 3).
/// Method: the service binary dies (abort, like `kill -9`) right after its third commit; the
/// database must then hold committed, unpublished receipts. A restarted instance publishes
/// them: every receipt is on the topic and the invariants hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_commit_and_publication_loses_no_receipt() -> anyhow::Result<()> {
    require_failpoints();
    let harness = Harness::new("fp-crash", 3, 100_000).await?;
    let traffic = harness
        .produce(clean_traffic(63), crate::helpers::scaled(2_000))
        .await?;
    let failpoints = format!("{}=2*off->return(abort)", failpoint::AFTER_COMMIT);
    let mut child = harness.spawn("fp-crash-1", &[("FAILPOINTS", &failpoints)])?;
    let status = wait_for_exit(&mut child, Duration::from_secs(60)).await?;
    assert_eq!(
        status.signal(),
        Some(6),
        "the failpoint must abort: {status}"
    );
    let committed = harness.count("SELECT count(*) FROM receipts").await?;
    let unpublished = harness
        .count("SELECT count(*) FROM receipts_unpublished")
        .await?;
    assert!(
        committed > 0 && unpublished > 0,
        "the crash must leave committed, unpublished receipts ({committed}, {unpublished})"
    );
    let mut child = harness.spawn("fp-crash-2", &[])?;
    let expected = i64::try_from(traffic.orders.len())?;
    let finished = harness
        .wait_for_declarations(expected, Duration::from_secs(180))
        .await;
    child.kill()?;
    child.wait()?;
    finished?;
    harness.assert_invariants().await
}

/// Goal: a crash after the broker acknowledged receipts and before they were marked published
/// republishes them with the same ids: at least once, de-duplicable (guarantee 3).
/// Method: the binary aborts after its first acknowledged relay round; a restarted instance
/// publishes that round again. The topic must then hold more records than distinct receipt
/// ids, and the distinct ids must be exactly the database's receipts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_after_the_broker_acknowledged_republishes_the_same_ids() -> anyhow::Result<()> {
    require_failpoints();
    let harness = Harness::new("fp-relay", 2, 100_000).await?;
    let traffic = harness
        .produce(clean_traffic(64), crate::helpers::scaled(300))
        .await?;
    let failpoints = format!("{}=return(abort)", failpoint::RELAY_AFTER_SEND);
    let mut child = harness.spawn("fp-relay-1", &[("FAILPOINTS", &failpoints)])?;
    let status = wait_for_exit(&mut child, Duration::from_secs(60)).await?;
    assert_eq!(
        status.signal(),
        Some(6),
        "the failpoint must abort: {status}"
    );
    let mut child = harness.spawn("fp-relay-2", &[])?;
    let expected = i64::try_from(traffic.orders.len())?;
    let finished = harness
        .wait_for_declarations(expected, Duration::from_secs(120))
        .await;
    child.kill()?;
    child.wait()?;
    finished?;
    let receipts = harness.count("SELECT count(*) FROM receipts").await?;
    // Everything there is: the reader stops at its timeout, after the group join (~5 s).
    let records = bondgate_tests::consume_all(
        &harness.kafka,
        &harness.kafka.topics.receipts,
        usize::MAX,
        Duration::from_secs(15),
    )
    .await?;
    let ids: std::collections::HashSet<String> = records
        .iter()
        .map(|(_, value)| v1::Receipt::decode(value.as_slice()).map(|r| r.receipt_id))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        ids.len(),
        usize::try_from(receipts)?,
        "distinct ids = receipts"
    );
    assert!(
        records.len() > ids.len(),
        "the first round must have been published twice ({} records, {} ids)",
        records.len(),
        ids.len()
    );
    harness.assert_invariants().await
}

async fn wait_for_exit(
    child: &mut std::process::Child,
    timeout: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let until = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if std::time::Instant::now() > until {
            child.kill()?;
            anyhow::bail!("the service did not reach its failpoint within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
