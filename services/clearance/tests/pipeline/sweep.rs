//! Goal: an order whose documents never all arrive gets a final receipt whose status is
//! `-900104` (a processing exception) after the configured window, and a document arriving later does not reopen it; complete orders in
//! the same traffic clear normally.
//! Method: 20 orders, the waybill of 6 of them withheld; a 1.5 s window; then send the missing
//! waybills late and check nothing changes for those orders. A cancellation naming an order
//! nobody sent is refused, and its key is not swept: no -900104 for documents never announced.

use crate::after_sales::{after_sale_head, document};
use crate::helpers::{Harness, clean_traffic};
use bondgate_loadtest::generate::Generator;
use bondgate_proto::Message;
use bondgate_proto::v1::document::Body;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incomplete_orders_are_closed_after_the_window_and_stay_closed() -> anyhow::Result<()> {
    let harness = Harness::new("sweep", 2, 100_000).await?;
    let mut generator = Generator::new(clean_traffic(61))?;
    let orders: Vec<_> = (0..20).map(|_| generator.next_order()).collect();
    let phantom = generator.next_order();
    let cancel = after_sale_head(&phantom, "80122099I000000001");
    let mut records = vec![document(&phantom, Body::Cancellation(cancel))];
    let mut late = Vec::new();
    for (index, order) in orders.iter().enumerate() {
        let [o, p, w] = order.documents();
        let key = order.meta.key.clone();
        records.push((key.clone(), o.encode_to_vec()));
        records.push((key.clone(), p.encode_to_vec()));
        if index % 3 == 0 {
            late.push((key, w.encode_to_vec()));
        } else {
            records.push((key, w.encode_to_vec()));
        }
    }
    bondgate_tests::produce(&harness.kafka, &harness.kafka.topics.documents, &records).await?;
    let mut config = harness.config("sweep-1");
    config.clearance.incomplete_window_ms = 1_500;
    let service = harness.start(config);
    let incomplete = i64::try_from(late.len())?;
    bondgate_tests::wait_until("incomplete orders closed", Duration::from_secs(60), || async {
        Ok(harness.count("SELECT count(*) FROM receipts WHERE return_status = -900104 AND '-900104' = ANY(codes)").await?
            == incomplete)
    })
    .await?;
    assert_eq!(
        harness
            .count("SELECT count(*) FROM declarations WHERE status = 800")
            .await?,
        20 - incomplete
    );
    let info: String =
        sqlx::query_scalar("SELECT return_info FROM receipts WHERE '-900104' = ANY(codes) LIMIT 1")
            .fetch_one(&harness.pool)
            .await?;
    assert!(
        info.contains("CEB511"),
        "the receipt names the missing waybill: {info}"
    );

    // The missing waybills arrive too late: the orders stay closed, nothing is declared.
    bondgate_tests::produce(&harness.kafka, &harness.kafka.topics.documents, &late).await?;
    let total = i64::try_from(records.len() + late.len())?;
    bondgate_tests::wait_until(
        "late waybills consumed",
        Duration::from_secs(60),
        || async {
            Ok(harness
                .count("SELECT COALESCE(sum(next_offset), 0)::bigint FROM consumer_positions")
                .await?
                >= total)
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    service.stop().await?;
    assert_eq!(
        harness.count("SELECT count(*) FROM declarations").await?,
        20 - incomplete
    );
    assert_eq!(
        harness
            .count("SELECT count(*) FROM pending_orders WHERE state = 'closed'")
            .await?,
        incomplete
    );
    // The phantom key got its refusal and nothing else; its row only keeps that sequence.
    let phantom_receipts: Vec<i32> = sqlx::query_scalar(
        "SELECT return_status FROM receipts WHERE ebp_code = $1 AND order_no = $2 ORDER BY sequence",
    )
    .bind(&phantom.order.head.ebp_code)
    .bind(&phantom.order.head.order_no)
    .fetch_all(&harness.pool)
    .await?;
    assert_eq!(phantom_receipts, [-623026]);
    assert_eq!(
        harness
            .count("SELECT count(*) FROM pending_orders WHERE state = 'idle'")
            .await?,
        1
    );
    harness.assert_invariants().await
}
