//! Cancellations and returns from enterprises that are not the declaration's parties.

use serde_json::json;

use crate::fixtures::{self, USUAL};
use crate::stack::{EBC, EBP, EBP2, PAY, Stack};

/// Submits a clean bundle through intake and waits for its release; returns the invtNo.
pub async fn released_order(stack: &Stack, order_no: &str) -> anyhow::Result<String> {
    for (sender, documents) in fixtures::bundle(order_no, USUAL) {
        let (status, body) = stack.post_json(sender, &documents).await;
        anyhow::ensure!(status == 202, "{sender}: {status} {body}");
    }
    let (status, invt_no) = stack.declared(order_no).await?;
    anyhow::ensure!(
        status == 800,
        "the fixture order must be released, got {status}"
    );
    Ok(invt_no.expect("a released declaration has an invtNo"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_company_cannot_cancel_a_platforms_order() -> anyhow::Result<()> {
    // Goal: the attack of issue 14 — a payment company's key cancels a platform's released order
    // by naming itself as agentCode — is refused at intake (403) and, written straight to
    // Kafka, by clearance (-623026); nothing changes; the declaration's own agent still cancels.
    // Method: release an order; send the forged CEB623 both ways; compare a snapshot of stock,
    // quotas, declarations and documents; then the seller (the declared agent) cancels: 399.
    let stack = Stack::start("hostile_cancel").await?;
    let invt_no = released_order(&stack, "HC-1").await?;
    let before = stack.snapshot().await?;

    let forged = fixtures::cancellation("HC-1", EBP, &invt_no, PAY);
    let (status, body) = stack.post_json(PAY, &json!([forged.clone()])).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "bg.auth.forbidden");
    assert_eq!(body["problems"][0]["code"], "bg.auth.not_a_party");

    stack.produce(&[fixtures::record(&forged, PAY)]).await?;
    let refused = stack.receipt_of(EBP, "HC-1", 2).await?;
    assert_eq!(refused.status, -623026, "{refused:?}");
    assert_eq!(refused.codes, vec!["-623026".to_owned()]);
    assert_eq!(
        stack.snapshot().await?,
        before,
        "a refused cancellation changed something"
    );

    let genuine = fixtures::cancellation("HC-1", EBP, &invt_no, EBC);
    let (status, body) = stack.post_json(EBC, &json!([genuine])).await;
    assert_eq!(status, 202, "{body}");
    stack
        .wait("the genuine cancellation approved", || async {
            let receipts = stack.receipts(EBP, "HC-1").await?;
            Ok(receipts.iter().any(|r| r.flow == 2 && r.status == 399))
        })
        .await?;
    assert_ne!(
        stack.snapshot().await?,
        before,
        "the genuine cancellation changed nothing"
    );
    stack.assert_invariants().await?;
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_application_never_blocks_the_legitimate_one() -> anyhow::Result<()> {
    // Goal: refused cancellations and returns never occupy an inventory number (issue 14, point
    // 2): another platform naming the victim's invtNo on its own order, and a stranger's
    // application on the victim's order, leave the victim's own cancellation free to pass.
    // Method: release the victim's order and the attacker's order; the attacker (platform EBP2)
    // sends a cancellation and a return of its own order naming the victim's invtNo, through
    // intake (403) and straight to Kafka (refused receipts on the attacker's order); the
    // attacker also targets the victim's order key directly (-623026, -625021); the victim's
    // platform then cancels: 399.
    let stack = Stack::start("hostile_preempt").await?;
    let victim = released_order(&stack, "HP-VICTIM").await?;
    let attacker_parties = fixtures::Parties { ebp: EBP2, ..USUAL };
    for (sender, documents) in fixtures::bundle("HP-ATTACKER", attacker_parties) {
        let (status, body) = stack.post_json(sender, &documents).await;
        assert_eq!(status, 202, "{sender}: {body}");
    }
    stack.declared("HP-ATTACKER").await?;
    let before = stack.snapshot().await?;

    let on_own_order = [
        fixtures::cancellation("HP-ATTACKER", EBP2, &victim, EBP2),
        fixtures::refund("HP-ATTACKER", EBP2, &victim, EBP2),
    ];
    for document in &on_own_order {
        let (status, body) = stack.post_json(EBP2, &json!([document])).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["problems"][0]["code"], "bg.auth.not_a_party");
    }
    let on_victims_order = [
        fixtures::cancellation("HP-VICTIM", EBP, &victim, EBP2),
        fixtures::refund("HP-VICTIM", EBP, &victim, EBP2),
    ];
    let direct: Vec<_> = on_own_order
        .iter()
        .chain(&on_victims_order)
        .map(|document| fixtures::record(document, EBP2))
        .collect();
    stack.produce(&direct).await?;
    let own = stack.receipt_of(EBP2, "HP-ATTACKER", 3).await?;
    assert!(
        own.status < 0,
        "a return naming another order's invtNo: {own:?}"
    );
    assert_eq!(stack.receipt_of(EBP, "HP-VICTIM", 2).await?.status, -623026);
    assert_eq!(stack.receipt_of(EBP, "HP-VICTIM", 3).await?.status, -625021);
    assert_eq!(stack.snapshot().await?, before);

    let genuine = fixtures::cancellation("HP-VICTIM", EBP, &victim, EBP);
    let (status, body) = stack.post_json(EBP, &json!([genuine])).await;
    assert_eq!(status, 202, "{body}");
    stack
        .wait("the victim's cancellation approved", || async {
            let receipts = stack.receipts(EBP, "HP-VICTIM").await?;
            Ok(receipts.iter().any(|r| r.flow == 2 && r.status == 399))
        })
        .await?;
    let approved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM after_sales_documents WHERE status = 399 AND invt_no = $1",
    )
    .bind(&victim)
    .fetch_one(&stack.pool)
    .await?;
    assert_eq!(
        approved, 1,
        "exactly the victim's own cancellation is approved"
    );
    stack.assert_invariants().await?;
    stack.stop().await
}
