//! Goal: cancellations (CEB623) and returns (CEB625) of declared orders give 399 receipts,
//! restore the stock and credit the buyer's annual quota; ineligible ones are refused with the
//! customs codes as the receipts' (negative) status; a repeated cancellation is a no-op.
//! Method: 12 clean orders released; cancel 4, return 4 in full, send a duplicate cancellation,
//! a cancellation of an unknown inventory and a return of a cancelled order; check receipts,
//! stock, quotas and the invariants.

use crate::helpers::{Harness, clean_traffic};
use bondgate_loadtest::generate::{GeneratedOrder, Generator};
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use std::time::Duration;

fn now_ceb() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// The common head of a cancellation or return of `order`'s inventory `invt_no`.
pub(crate) fn after_sale_head(order: &GeneratedOrder, invt_no: &str) -> v1::Cancellation {
    let head = &order.order.head;
    v1::Cancellation {
        guid: guid(),
        app_type: "1".into(),
        app_time: now_ceb(),
        app_status: "2".into(),
        customs_code: "8012".into(),
        order_no: head.order_no.clone(),
        ebp_code: head.ebp_code.clone(),
        ebp_name: head.ebp_name.clone(),
        ebc_code: head.ebc_code.clone(),
        ebc_name: head.ebc_name.clone(),
        logistics_no: order.waybill.logistics_no.clone(),
        logistics_code: order.waybill.logistics_code.clone(),
        logistics_name: order.waybill.logistics_name.clone(),
        cop_no: None,
        pre_no: None,
        invt_no: invt_no.into(),
        buyer_id_type: head.buyer_id_type.clone(),
        buyer_id_number: head.buyer_id_number.clone(),
        buyer_name: head.buyer_name.clone(),
        buyer_telephone: head.buyer_telephone.clone(),
        agent_code: head.ebc_code.clone(),
        agent_name: head.ebc_name.clone(),
        reason: "消费者取消订单".into(),
        note: None,
    }
}

pub(crate) fn document(order: &GeneratedOrder, body: Body) -> (String, Vec<u8>) {
    let head = &order.order.head;
    let document = v1::Document {
        document_id: uuid::Uuid::new_v4().to_string(),
        ebp_code: head.ebp_code.clone(),
        order_no: head.order_no.clone(),
        sender_code: head.ebc_code.clone(),
        body: Some(body),
        ..Default::default()
    };
    (order.meta.key.clone(), document.encode_to_vec())
}

fn refund(order: &GeneratedOrder, invt_no: &str, lines: &[(i16, String, String)]) -> Body {
    let c = after_sale_head(order, invt_no);
    let lines = order
        .order
        .lists
        .iter()
        .zip(lines)
        .map(|(line, (gnum, gcode, qty))| v1::RefundLine {
            gnum: gnum.to_string(),
            gcode: gcode.clone(),
            gname: line.item_name.clone(),
            qty: qty.clone(),
            unit: line.unit.clone(),
            note: None,
        })
        .collect();
    Body::Refund(v1::Refund {
        guid: c.guid,
        app_type: c.app_type,
        app_time: c.app_time,
        app_status: c.app_status,
        customs_code: c.customs_code,
        order_no: c.order_no,
        ebp_code: c.ebp_code,
        ebp_name: c.ebp_name,
        ebc_code: c.ebc_code,
        ebc_name: c.ebc_name,
        logistics_no: c.logistics_no,
        logistics_code: c.logistics_code,
        logistics_name: c.logistics_name,
        cop_no: None,
        pre_no: None,
        invt_no: c.invt_no,
        buyer_id_type: c.buyer_id_type,
        buyer_id_number: c.buyer_id_number,
        buyer_name: c.buyer_name,
        buyer_telephone: c.buyer_telephone,
        agent_code: c.agent_code,
        agent_name: c.agent_name,
        reason: "商品破损退货".into(),
        note: None,
        lines,
    })
}

async fn invt_no(harness: &Harness, order: &GeneratedOrder) -> anyhow::Result<String> {
    let head = &order.order.head;
    let invt: String = sqlx::query_scalar(
        "SELECT invt_no FROM declarations WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(&head.ebp_code)
    .bind(&head.order_no)
    .fetch_one(&harness.pool)
    .await?;
    Ok(invt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancellations_and_returns_restore_stock_and_quota() -> anyhow::Result<()> {
    let harness = Harness::new("aftersales", 2, 100_000).await?;
    let mut generator = Generator::new(clean_traffic(71))?;
    let orders: Vec<GeneratedOrder> = (0..12).map(|_| generator.next_order()).collect();
    let records: Vec<_> = orders
        .iter()
        .flat_map(|o| {
            o.documents()
                .map(|d| (o.meta.key.clone(), d.encode_to_vec()))
        })
        .collect();
    bondgate_tests::produce(&harness.kafka, &harness.kafka.topics.documents, &records).await?;
    let service = harness.start(harness.config("aftersales-1"));
    harness
        .wait_for_declarations(12, Duration::from_secs(60))
        .await?;
    let on_hand_released = harness
        .count("SELECT sum(on_hand)::bigint FROM account_book_items")
        .await?;
    let quota_released = harness
        .count("SELECT (sum(used) * 100)::bigint FROM buyer_quotas")
        .await?;

    let mut after = Vec::new();
    for order in &orders[0..4] {
        let invt = invt_no(&harness, order).await?;
        after.push(document(
            order,
            Body::Cancellation(after_sale_head(order, &invt)),
        ));
    }
    // The same cancellation again (same content): a no-op.
    after.push(after[0].clone());
    for order in &orders[4..8] {
        let invt = invt_no(&harness, order).await?;
        let lines: Vec<(i16, String, String)> = sqlx::query_as(
            "SELECT l.gnum, l.gcode::text, l.qty::text FROM declaration_lines l JOIN declarations d ON d.id = l.declaration_id
             WHERE d.invt_no = $1 ORDER BY l.gnum",
        )
        .bind(&invt)
        .fetch_all(&harness.pool)
        .await?;
        after.push(document(order, refund(order, &invt, &lines)));
    }
    // A cancellation naming an inventory that is not this order's: refused (-623003, no such
    // inventory for this order), a processing exception in the receipt's status.
    after.push(document(
        &orders[8],
        Body::Cancellation(after_sale_head(&orders[8], "80122099I999999999")),
    ));
    bondgate_tests::produce(&harness.kafka, &harness.kafka.topics.documents, &after).await?;
    bondgate_tests::wait_until("after-sales answered", Duration::from_secs(60), || async {
        Ok(harness
            .count(
                "SELECT count(*) FROM receipts r WHERE flow IN (2, 3) AND NOT EXISTS (SELECT 1 FROM receipts_unpublished u WHERE u.id = r.id)",
            )
            .await?
            >= 9)
    })
    .await?;
    service.stop().await?;

    assert_eq!(
        harness
            .count("SELECT count(*) FROM receipts WHERE flow = 2 AND return_status = 399")
            .await?,
        4
    );
    assert_eq!(
        harness
            .count("SELECT count(*) FROM receipts WHERE flow = 3 AND return_status = 399")
            .await?,
        4
    );
    assert_eq!(
        harness.count("SELECT count(*) FROM receipts WHERE flow = 2 AND return_status = -623003 AND '-623003' = ANY(codes)").await?,
        1
    );
    assert_eq!(
        harness
            .count("SELECT count(*) FROM declarations WHERE cancelled_at IS NOT NULL")
            .await?,
        4
    );
    // The cancelled orders' stock came back at once; the returned goods' stock only once they
    // are recorded back in the zone; the quota of all 8 was credited on approval.
    let qty_of = |condition: &'static str| {
        let sql = format!(
            "SELECT COALESCE(sum(l.qty), 0)::bigint FROM declaration_lines l
             JOIN declarations d ON d.id = l.declaration_id WHERE {condition}"
        );
        let pool = harness.pool.clone();
        async move {
            anyhow::Ok(
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await?,
            )
        }
    };
    let on_hand = || async {
        harness
            .count("SELECT sum(on_hand)::bigint FROM account_book_items")
            .await
    };
    let cancelled_qty = qty_of("d.cancelled_at IS NOT NULL").await?;
    assert_eq!(on_hand().await? - on_hand_released, cancelled_qty);
    let cipher = bondgate_storage::crypto::SecurityConfig::default().cipher()?;
    let rules = bondgate_domain::config::RulesConfig::default();
    for order in &orders[4..8] {
        let head = &order.order.head;
        let mut tx = harness.pool.begin().await?;
        let key = (head.ebp_code.as_str(), head.order_no.as_str());
        bondgate::returns::arrived(&mut tx, &cipher, key, &rules).await?;
        tx.commit().await?;
    }
    let returned_qty = qty_of("d.refunded_at IS NOT NULL").await?;
    assert_eq!(
        on_hand().await? - on_hand_released,
        cancelled_qty + returned_qty
    );
    // Twice is refused: the goods are back already.
    let head = &orders[4].order.head;
    let mut tx = harness.pool.begin().await?;
    let again = (head.ebp_code.as_str(), head.order_no.as_str());
    assert!(
        bondgate::returns::arrived(&mut tx, &cipher, again, &rules)
            .await
            .is_err()
    );
    drop(tx);
    let quota_after = harness
        .count("SELECT (sum(used) * 100)::bigint FROM buyer_quotas")
        .await?;
    assert!(
        quota_after < quota_released,
        "quota must be credited back ({quota_after} vs {quota_released})"
    );
    harness.assert_invariants().await
}
