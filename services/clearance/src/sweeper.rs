//! Closes orders whose documents did not all arrive within the configured window: each gets a
//! final receipt, status -900104, naming what is missing, and stays closed (late documents do not reopen it).
//! Runs on the consumer's thread between batches, only for partitions this instance holds, under
//! the same position fencing as a batch.

use crate::positions::{self, Position, PositionsKey};
use bondgate_domain::codes;
use bondgate_domain::receipts::{self, Flow};
use bondgate_storage::outbox::{self, NewReceipt};
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;

/// At most this many orders are closed per sweep, to keep its transaction short.
const SWEEP_ORDERS_MAX: i64 = 10_000;

/// Orders of the held partitions still waiting for a document (the `pending_orders_sweep`
/// partial index answers it).
pub async fn pending_count(pool: &PgPool, held: &BTreeMap<i32, Position>) -> sqlx::Result<i64> {
    if held.is_empty() {
        return Ok(0);
    }
    sqlx::query_scalar(
        "SELECT count(*) FROM pending_orders WHERE partition = ANY($1) AND state = 'waiting'",
    )
    .bind(held.keys().copied().collect::<Vec<i32>>())
    .fetch_one(pool)
    .await
}

/// Closes expired pending orders of the held partitions; returns how many.
pub async fn sweep(
    pool: &PgPool,
    key: &PositionsKey,
    held: &BTreeMap<i32, Position>,
    window_ms: u64,
) -> sqlx::Result<usize> {
    if held.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    if !positions::fencing(&mut tx, key, held).await?.is_clear() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "WITH due AS (
           SELECT ebp_code, order_no FROM pending_orders
           WHERE partition = ANY($1) AND state = 'waiting'
             AND first_seen_at < now() - make_interval(secs => $2::double precision / 1000)
           ORDER BY first_seen_at LIMIT $3 FOR UPDATE),
         swept AS (
           UPDATE pending_orders p SET state = 'closed', receipt_seq = p.receipt_seq + 1
           FROM due WHERE p.ebp_code = due.ebp_code AND p.order_no = due.order_no
           RETURNING p.ebp_code, p.order_no, p.receipt_seq)
         SELECT s.ebp_code, s.order_no, s.receipt_seq,
           EXISTS (SELECT 1 FROM order_documents o WHERE o.ebp_code = s.ebp_code AND o.order_no = s.order_no) AS has_order,
           EXISTS (SELECT 1 FROM payment_documents p WHERE p.ebp_code = s.ebp_code AND p.order_no = s.order_no) AS has_payment,
           EXISTS (SELECT 1 FROM waybill_documents w WHERE w.ebp_code = s.ebp_code AND w.order_no = s.order_no) AS has_waybill
         FROM swept s",
    )
    .bind(held.keys().copied().collect::<Vec<i32>>())
    .bind(i64::try_from(window_ms).unwrap_or(i64::MAX))
    .bind(SWEEP_ORDERS_MAX)
    .fetch_all(&mut *tx)
    .await?;
    let mut closed = Vec::with_capacity(rows.len());
    for row in &rows {
        let missing = missing_documents(
            row.try_get("has_order")?,
            row.try_get("has_payment")?,
            row.try_get("has_waybill")?,
        );
        let detail = format!("三单不齐：超时未收到[{missing}]");
        let receipt = receipts::refusal(Flow::Inventory, codes::DOCUMENTS_INCOMPLETE, &detail);
        closed.push(NewReceipt {
            ebp_code: row.try_get("ebp_code")?,
            order_no: row.try_get("order_no")?,
            flow: Flow::Inventory.code(),
            sequence: row.try_get("receipt_seq")?,
            status: receipt.status.code(),
            info: receipt.info,
            codes: vec![codes::DOCUMENTS_INCOMPLETE.code.to_string()],
            declaration_id: None,
        });
    }
    outbox::append(&mut tx, &closed).await?;
    tx.commit().await?;
    Ok(rows.len())
}

fn missing_documents(order: bool, payment: bool, waybill: bool) -> String {
    let mut missing = Vec::new();
    if !order {
        missing.push("订单 CEB311");
    }
    if !payment {
        missing.push("支付单 CEB411");
    }
    if !waybill {
        missing.push("运单 CEB511");
    }
    missing.join("、")
}

#[cfg(test)]
mod tests {
    use super::missing_documents;

    #[test]
    fn names_each_missing_document() {
        assert_eq!(
            missing_documents(true, false, false),
            "支付单 CEB411、运单 CEB511"
        );
        assert_eq!(missing_documents(false, true, true), "订单 CEB311");
    }
}
