//! Goal: the relay's high-water mark loses no receipt and keeps each order's status order when
//! writers commit out of the order of their transaction ids (the outbox trap of
//! `shared/design/STORAGE.md` §3; ADR 0008).
//! Method: with a clearance instance running (its relay active), transaction A appends order L's
//! receipt first (it takes the lower transaction id and the lower row id) and stays open;
//! transaction B appends order K's receipt 1 and commits. While A is open, neither may be
//! published: a mark moved past B's row would skip A's for ever. Then A appends K's receipt 2
//! (the later status, written by the earlier transaction) and commits. Every receipt must reach
//! the topic, K's 1 before its 2, and the topic must match the outbox.

use crate::helpers::Harness;
use bondgate_proto::Message;
use bondgate_proto::v1;
use bondgate_storage::outbox::{self, NewReceipt};
use sqlx::PgConnection;
use std::time::Duration;

const PLATFORM: &str = "5001980001";

async fn append(conn: &mut PgConnection, order_no: &str, sequence: i32) -> anyhow::Result<()> {
    let receipt = NewReceipt {
        ebp_code: PLATFORM.to_owned(),
        order_no: order_no.to_owned(),
        flow: 1,
        sequence,
        status: if sequence == 1 { 2 } else { 120 },
        info: format!("receipt {sequence} of {order_no}"),
        codes: Vec::new(),
        declaration_id: None,
    };
    outbox::append(conn, &[receipt]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receipts_committed_out_of_transaction_order_are_neither_lost_nor_reordered()
-> anyhow::Result<()> {
    let harness = Harness::new("outbox", 2, 1_000).await?;
    let mut config = harness.config("outbox-1");
    config.clearance.relay_interval_ms = 20;
    let service = harness.start(config);

    let mut a = harness.pool.begin().await?;
    append(&mut a, "OUTBOX-L", 1).await?;
    let mut b = harness.pool.begin().await?;
    append(&mut b, "OUTBOX-K", 1).await?;
    b.commit().await?;
    // Many relay rounds pass while A is open.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // B's receipt is committed (A's is not visible yet), and must still wait.
    assert_eq!(
        harness
            .count("SELECT count(*) FROM receipts_unpublished")
            .await?,
        1,
        "nothing passes the horizon of a transaction still running"
    );
    append(&mut a, "OUTBOX-K", 2).await?;
    a.commit().await?;

    bondgate_tests::wait_until(
        "every receipt published",
        Duration::from_secs(30),
        || async {
            Ok(harness
                .count("SELECT count(*) FROM receipts_unpublished")
                .await?
                == 0)
        },
    )
    .await?;
    let mut records = bondgate_tests::read_topic(
        &harness.kafka,
        &harness.kafka.topics.receipts,
        Duration::from_secs(30),
        |records| records.len() >= 3,
    )
    .await?;
    records.sort_by_key(|r| (r.partition, r.offset));
    let published: Vec<(String, i32)> = records
        .iter()
        .map(|r| {
            let receipt = v1::Receipt::decode(r.value.as_slice())?;
            Ok((receipt.order_no, receipt.sequence))
        })
        .collect::<anyhow::Result<_>>()?;
    let of_k: Vec<i32> = published
        .iter()
        .filter(|(order, _)| order == "OUTBOX-K")
        .map(|(_, sequence)| *sequence)
        .collect();
    assert_eq!(of_k, vec![1, 2], "K's statuses in order: {published:?}");
    assert!(
        published.contains(&("OUTBOX-L".to_owned(), 1)),
        "the receipt of the earlier transaction is not lost: {published:?}"
    );
    let ids: Vec<String> = records
        .iter()
        .map(|r| Ok(v1::Receipt::decode(r.value.as_slice())?.receipt_id))
        .collect::<anyhow::Result<_>>()?;
    let anomalies = bondgate_tests::invariants::check_receipts_topic(&harness.pool, &ids).await?;
    assert!(anomalies.is_empty(), "{}", anomalies.join("\n"));
    service.stop().await
}
