//! The receipts outbox: the one owner of the `receipts` row, its id and its publication order
//! (ADR 0008).
//!
//! The table is append-only. A receipt is never updated once written: the relay keeps a
//! high-water mark instead of marking rows published. The mark cannot be a plain sequence,
//! because sequences are taken when a row is inserted, not when its transaction commits, and a
//! relay that moved past a number still in flight would lose it forever. So every row carries
//! a *chain* transaction id: the greatest of its own transaction id and the chain of the same
//! order's previous receipt. A row is *final* once its chain is below the oldest running
//! transaction (`pg_snapshot_xmin`): nothing below that horizon can still appear. Publishing the
//! final rows in (chain, id) order loses none, and, because an order's chain never decreases
//! along its sequence, publishes each order's receipts in status order even when a writer that
//! started first (a lower transaction id) wrote the later status.

use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// Separator of codes packed into one text (never in a customs code).
const SEP: &str = "\u{1f}";

/// The outbox stream of receipts in `outbox_marks`.
pub const RECEIPTS_STREAM: &str = "receipts";

/// A receipt to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceipt {
    /// Platform code of the order.
    pub ebp_code: String,
    /// Order number.
    pub order_no: String,
    /// Flow: 1 inventory, 2 cancellation, 3 refund, 4 a single document, 5 a logistics status.
    pub flow: i16,
    /// Per order, 1, 2, 3...: the status order consumers see.
    pub sequence: i32,
    /// The status (`returnStatus`).
    pub status: i32,
    /// The text (`returnInfo`).
    pub info: String,
    /// The customs codes the text names.
    pub codes: Vec<String>,
    /// The declaration it answers, when there is one.
    pub declaration_id: Option<i64>,
}

/// The stable id of a receipt: a name-based UUID of its order key and sequence, so a receipt
/// published again (after a crash or a republication) carries the same id, and the id needs
/// neither a column nor an index.
pub fn receipt_id(ebp_code: &str, order_no: &str, sequence: i32) -> Uuid {
    let name = format!("{ebp_code}/{order_no}/{sequence}");
    Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())
}

/// Appends receipts in one statement. The caller holds what serializes the writers of each
/// order (its partition, or the declaration's row lock), so the previous receipt of the same
/// order is committed and visible to this statement; a concurrent writer of the same sequence
/// fails on the primary key instead.
pub async fn append(conn: &mut PgConnection, receipts: &[NewReceipt]) -> sqlx::Result<()> {
    if receipts.is_empty() {
        return Ok(());
    }
    let r = receipts;
    sqlx::query(
        "INSERT INTO receipts (chain_xid, ebp_code, order_no, flow, sequence, return_status,
                               return_info, codes, declaration_id)
         SELECT GREATEST(pg_current_xact_id(),
                         (SELECT max(p.chain_xid) FROM receipts p
                          WHERE p.ebp_code = t.e AND p.order_no = t.o)),
                e, o, flow, seq, status, info, string_to_array(codes, E'\\x1f'), decl
         FROM UNNEST($1::text[], $2::text[], $3::smallint[], $4::int[], $5::int[], $6::text[],
                     $7::text[], $8::bigint[])
           AS t(e, o, flow, seq, status, info, codes, decl)
         ORDER BY e, o, seq",
    )
    .bind(r.iter().map(|x| x.ebp_code.as_str()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.order_no.as_str()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.flow).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.sequence).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.status).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.info.as_str()).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.codes.join(SEP)).collect::<Vec<_>>())
    .bind(r.iter().map(|x| x.declaration_id).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Where a relay stands in a stream: every row at or below it was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    /// Chain transaction id of the last published row (`xid8`, as a number).
    pub chain_xid: i64,
    /// Its id.
    pub id: i64,
}

/// Reads the mark of `stream`.
pub async fn mark(conn: &mut PgConnection, stream: &str) -> sqlx::Result<Mark> {
    let row = sqlx::query(
        "SELECT chain_xid::text::bigint AS chain_xid, id FROM outbox_marks WHERE stream = $1",
    )
    .bind(stream)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Mark {
        chain_xid: row.try_get("chain_xid")?,
        id: row.try_get("id")?,
    })
}

/// Moves the mark of `stream` forward to `to` (never back: a relay that lost its leadership
/// and still finishes a round must not undo a newer leader's progress).
pub async fn advance(conn: &mut PgConnection, stream: &str, to: Mark) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox_marks SET chain_xid = $2::text::xid8, id = $3, moved_at = now()
         WHERE stream = $1 AND (chain_xid, id) < ($2::text::xid8, $3)",
    )
    .bind(stream)
    .bind(to.chain_xid.to_string())
    .bind(to.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_ids_are_name_based_on_order_and_sequence() {
        let id = receipt_id("5001980001", "A-1", 3);
        assert_eq!(id, Uuid::new_v5(&Uuid::NAMESPACE_URL, b"5001980001/A-1/3"));
        assert_eq!(id.get_version_num(), 5);
        assert_ne!(id, receipt_id("5001980001", "A-1", 4));
        assert_ne!(id, receipt_id("5001980001", "A-13", 3));
    }
}
