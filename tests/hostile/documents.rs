//! Orders, payments and waybills from enterprises that may not send them, changes of other
//! senders' documents, and `buyerIdentityVerified` from a seller.

use serde_json::json;

use crate::fixtures::{self, Parties, USUAL};
use crate::stack::{EBC, EBC2, EBP, LOG, PAY, PAY2, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_platform_or_a_bound_seller_sends_orders() -> anyhow::Result<()> {
    // Goal: a seller cannot create orders for a platform that did not bind it; once bound it
    // can, and the order clears; a payment company cannot send an order at all.
    // Method: EBC2 sends an order of EBP naming itself as seller (403 bg.auth.seller_not_bound),
    // the same written to Kafka (-10102); PAY sends one (403 bg.auth.not_the_sender); then EBP
    // binds EBC2 (`bondgate enterprises bind`) and the same order is accepted and released.
    let stack = Stack::start("hostile_orders").await?;
    let seller_sent = Parties { ebc: EBC2, ..USUAL };
    let order = fixtures::order("HO-1", seller_sent);
    let (status, body) = stack.post_json(EBC2, &json!([order.clone()])).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["problems"][0]["code"], "bg.auth.seller_not_bound");
    let (status, body) = stack.post_json(PAY, &json!([order.clone()])).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["problems"][0]["code"], "bg.auth.not_the_sender");

    let before = stack.snapshot().await?;
    stack.produce(&[fixtures::record(&order, EBC2)]).await?;
    let refused = stack.receipt_of(EBP, "HO-1", 4).await?;
    assert_eq!(refused.status, -10102, "{refused:?}");
    assert_eq!(
        stack.snapshot().await?,
        before,
        "a refused order was stored"
    );

    stack.bind(EBP, EBC2).await?;
    let (status, body) = stack.post_json(EBC2, &json!([order])).await;
    assert_eq!(status, 202, "{body}");
    for (sender, documents) in fixtures::bundle("HO-1", seller_sent).into_iter().skip(1) {
        let (status, body) = stack.post_json(sender, &documents).await;
        assert_eq!(status, 202, "{sender}: {body}");
    }
    assert_eq!(stack.declared("HO-1").await?.0, 800);
    stack.assert_invariants().await?;
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_and_waybills_come_only_from_their_own_company() -> anyhow::Result<()> {
    // Goal: a document of one payment or logistics company sent under another's key is refused.
    // Method: PAY2 sends PAY's payment, the platform sends the waybill (intake: 403
    // bg.auth.not_the_sender); the same written to Kafka: -10102 receipts, nothing stored.
    let stack = Stack::start("hostile_companies").await?;
    let payment = fixtures::payment("HCO-1", USUAL);
    let waybill = fixtures::waybill("HCO-1", USUAL);
    for (sender, document) in [(PAY2, &payment), (EBP, &waybill)] {
        let (status, body) = stack.post_json(sender, &json!([document])).await;
        assert_eq!(status, 403, "{sender}: {body}");
        assert_eq!(body["problems"][0]["code"], "bg.auth.not_the_sender");
    }
    let before = stack.snapshot().await?;
    let forged = [
        fixtures::record(&payment, PAY2),
        fixtures::record(&waybill, EBP),
    ];
    stack.produce(&forged).await?;
    stack
        .wait("two refusals", || async {
            Ok(stack.receipts(EBP, "HCO-1").await?.len() == 2)
        })
        .await?;
    for receipt in stack.receipts(EBP, "HCO-1").await? {
        assert_eq!((receipt.flow, receipt.status), (4, -10102), "{receipt:?}");
    }
    assert_eq!(stack.snapshot().await?, before);
    stack.assert_invariants().await?;
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_original_sender_changes_or_deletes_a_document() -> anyhow::Result<()> {
    // Goal: appType 2/3 act only on the sender's own document (issue 14): a bound seller cannot
    // change or delete the platform's order; the answer (-301009) does not tell the order exists.
    // Method: the platform sends an order; EBP binds EBC; EBC sends a change (appType 2) and a
    // deletion (appType 3) of it — accepted by intake, which cannot know the stored sender,
    // refused by clearance from the stored state; the stored order is the platform's still.
    let stack = Stack::start("hostile_changes").await?;
    let order = fixtures::order("HCH-1", USUAL);
    let (status, body) = stack.post_json(EBP, &json!([order.clone()])).await;
    assert_eq!(status, 202, "{body}");
    stack
        .wait("the order stored", || async {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM order_documents")
                .fetch_one(&stack.pool)
                .await?;
            Ok(count == 1)
        })
        .await?;
    stack.bind(EBP, EBC).await?;
    let before = stack.snapshot().await?;

    let mut change = order.clone();
    change["orderHead"]["appType"] = json!("2");
    change["orderHead"]["consigneeAddress"] = json!("攻击者的地址");
    let mut delete = order;
    delete["orderHead"]["appType"] = json!("3");
    for document in [&change, &delete] {
        let (status, body) = stack.post_json(EBC, &json!([document])).await;
        assert_eq!(status, 202, "{body}");
    }
    stack
        .wait("two refusals", || async {
            Ok(stack.receipts(EBP, "HCH-1").await?.len() == 2)
        })
        .await?;
    for receipt in stack.receipts(EBP, "HCH-1").await? {
        assert_eq!((receipt.flow, receipt.status), (4, -301009), "{receipt:?}");
    }
    assert_eq!(
        stack.snapshot().await?,
        before,
        "another sender changed the order"
    );
    stack.assert_invariants().await?;
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_platform_vouches_for_the_buyers_identity() -> anyhow::Result<()> {
    // Goal: `buyerIdentityVerified` counts only from the order's platform (issue 14, point 3).
    // Method: a bound seller sends an order whose payer differs from the buyer with the flag:
    // intake refuses it (403 bg.auth.identity_not_platform); written to Kafka, clearance refuses
    // the order itself (-10102), so the buyer≠payer check is never skipped on a seller's word;
    // the platform's own flag still lets such an order through.
    let stack = Stack::start("hostile_identity").await?;
    stack.bind(EBP, EBC).await?;
    let mut order = fixtures::order("HI-1", USUAL);
    order["buyerIdentityVerified"] = json!(true);
    let (status, body) = stack.post_json(EBC, &json!([order.clone()])).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["problems"][0]["code"], "bg.auth.identity_not_platform");

    let mut vouched = fixtures::record(&order, EBC);
    vouched.sender_code = EBC.to_owned();
    stack.produce(&[vouched]).await?;
    assert_eq!(stack.receipt_of(EBP, "HI-1", 4).await?.status, -10102);

    let mut by_platform = fixtures::order("HI-2", USUAL);
    by_platform["buyerIdentityVerified"] = json!(true);
    let mut payment = fixtures::payment("HI-2", USUAL);
    payment["payerName"] = json!("李四");
    payment["payerIdNumber"] = json!("110101199104151238");
    let sends = [
        (EBP, json!([by_platform])),
        (PAY, json!([payment])),
        (LOG, json!([fixtures::waybill("HI-2", USUAL)])),
    ];
    for (sender, documents) in sends {
        let (status, body) = stack.post_json(sender, &documents).await;
        assert_eq!(status, 202, "{sender}: {body}");
    }
    assert_eq!(stack.declared("HI-2").await?.0, 800, "the platform vouched");
    stack.assert_invariants().await?;
    stack.stop().await
}
