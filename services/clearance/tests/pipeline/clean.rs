//! Goal: documents arriving in any order, spread over many batches, become exactly one
//! declaration and one 800 receipt per order, with stock and quota exact.
//! Method: 300 clean orders whose documents are shuffled within 64 records, batches of at most
//! 256 records over 4 partitions; then compare the database with the generator's expectations
//! and run the invariant checker (ledger = balances, quota = accepted amounts, receipts on the
//! topic = the outbox).

use crate::helpers::{Harness, clean_traffic};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shuffled_documents_clear_exactly_once_across_batches() -> anyhow::Result<()> {
    let harness = Harness::new("clean", 4, 100_000).await?;
    let traffic = harness.produce(clean_traffic(11), 300).await?;
    assert_eq!(traffic.orders.len(), 300);
    let service = harness.start(harness.config("clean-1"));
    harness
        .wait_for_declarations(300, Duration::from_secs(120))
        .await?;
    service.stop().await?;

    assert_eq!(
        harness
            .count("SELECT count(*) FROM declarations WHERE status = 800")
            .await?,
        300
    );
    // 120 then 800 for every order, in that order.
    let ordered = harness
        .count(
            "SELECT count(*) FROM receipts a JOIN receipts b
               ON a.ebp_code = b.ebp_code AND a.order_no = b.order_no
             WHERE a.return_status = 120 AND b.return_status = 800 AND a.sequence + 1 = b.sequence",
        )
        .await?;
    assert_eq!(ordered, 300);
    assert_eq!(
        harness.count("SELECT count(*) FROM pending_orders").await?,
        0
    );
    // Stock went down by exactly the quantities declared.
    let declared_qty = harness
        .count("SELECT COALESCE(sum(qty), 0)::bigint FROM declaration_lines")
        .await?;
    let deducted = harness
        .count("SELECT (count(*) * 100000 - sum(on_hand))::bigint FROM account_book_items")
        .await?;
    assert_eq!(declared_qty, deducted);
    export_is_signed_and_verifies(&harness).await?;
    harness.assert_invariants().await
}

/// `bondgate export` rebuilds a released order's CEB621 and signs it; the signature verifies
/// with the agent's public key and the message parses back as a signed CEB621.
async fn export_is_signed_and_verifies(harness: &Harness) -> anyhow::Result<()> {
    let (ebp_code, order_no): (String, String) =
        sqlx::query_as("SELECT ebp_code, order_no FROM declarations WHERE status = 800 LIMIT 1")
            .fetch_one(&harness.pool)
            .await?;
    let dir = tempfile::tempdir()?;
    let key = bondgate_ceb::sign::SigningKey::generate()?;
    let key_file = dir.path().join("agent.pem");
    std::fs::write(&key_file, key.to_pkcs8_pem()?)?;
    let out = dir.path().join("inventory.xml");
    bondgate::export::run(bondgate::export::ExportArgs {
        ebp_code,
        order_no: order_no.clone(),
        signing_key: Some(key_file),
        key_name: "test-agent".into(),
        out: Some(out.clone()),
        database: bondgate::database::DatabaseArgs {
            database_url: Some(harness.url.clone()),
        },
    })
    .await?;
    let xml = std::fs::read_to_string(&out)?;
    bondgate_ceb::sign::verify(&xml, &key.verifying_key())?;
    let parsed = bondgate_ceb::parse_message(xml.as_bytes(), &bondgate_ceb::Limits::default())?;
    assert_eq!(parsed.code(), "CEB621");
    assert!(
        xml.contains(&order_no),
        "the export is the order's inventory"
    );
    Ok(())
}
