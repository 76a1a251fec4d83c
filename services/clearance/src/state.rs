//! Reads, inside the batch transaction, what the batch needs to know about its orders, and locks
//! the stock and quota rows it will change (once per batch, in sorted key order, so instances
//! never deadlock on each other).

use bondgate_domain::allocation::{StockBalance, StockKey};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `(ebpCode, orderNo)`.
pub type OrderKey = (String, String);
/// `(buyer_hash, year)`.
pub type QuotaKey = (Vec<u8>, i16);

/// A stored document: its digest and its sealed payload.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// SHA-256 of the body.
    pub digest: Vec<u8>,
    /// The sealed `Document` bytes.
    pub payload: Vec<u8>,
    /// Its business key (payment and waybill only), e.g. `(payCode, payTransactionId)`.
    pub business_key: Option<(String, String)>,
    /// The enterprise that sent it: the only one that may change or delete it.
    pub sender_code: String,
}

/// The stored declaration of an order.
#[derive(Debug, Clone)]
pub struct StoredDeclaration {
    /// Row id.
    pub id: i64,
    /// Latest status.
    pub status: i32,
    /// Receipts used so far.
    pub receipt_seq: i32,
    /// Customs inventory number (absent when rejected).
    pub invt_no: Option<String>,
    /// Seller, as declared.
    pub ebc_code: String,
    /// Declaring agent, as declared.
    pub agent_code: String,
    /// Keyed hash of the buyer's ID number.
    pub buyer_hash: Vec<u8>,
    /// Calendar year of the quota.
    pub quota_year: i16,
    /// What still counts toward the buyer's annual limit.
    pub quota_amount: Decimal,
    /// When it was released (800).
    pub released_at: Option<DateTime<Utc>>,
    /// A cancellation or return was approved.
    pub closed: bool,
    /// Digest of the approved cancellation, if any (refused applications do not count).
    pub cancellation_digest: Option<Vec<u8>>,
    /// Digest of the approved return, if any.
    pub refund_digest: Option<Vec<u8>>,
}

/// Everything stored about one order key.
#[derive(Debug, Clone, Default)]
pub struct StoredOrder {
    /// CEB311.
    pub order: Option<StoredDoc>,
    /// CEB411.
    pub payment: Option<StoredDoc>,
    /// CEB511.
    pub waybill: Option<StoredDoc>,
    /// The declaration, once the three documents met.
    pub declaration: Option<StoredDeclaration>,
    /// `(state, receipt_seq)` of a pending row.
    pub pending: Option<(String, i32)>,
}

const LOAD_ORDERS: &str = "
SELECT k.ebp, k.ono,
       o.digest AS o_digest, o.payload AS o_payload, o.sender_code AS o_sender,
       p.pay_code, p.pay_transaction_id, p.digest AS p_digest, p.payload AS p_payload,
       p.sender_code AS p_sender,
       w.logistics_code, w.logistics_no, w.digest AS w_digest, w.payload AS w_payload,
       w.sender_code AS w_sender,
       d.id AS d_id, d.status, d.receipt_seq AS d_seq, d.invt_no, d.ebc_code, d.agent_code,
       d.buyer_hash, d.quota_year,
       d.quota_amount, d.released_at, (d.cancelled_at IS NOT NULL OR d.refunded_at IS NOT NULL) AS closed,
       c.digest AS c_digest, r.digest AS r_digest,
       po.state AS po_state, po.receipt_seq AS po_seq
FROM UNNEST($1::text[], $2::text[]) AS k(ebp, ono)
LEFT JOIN order_documents o ON o.ebp_code = k.ebp AND o.order_no = k.ono
LEFT JOIN payment_documents p ON p.ebp_code = k.ebp AND p.order_no = k.ono
LEFT JOIN waybill_documents w ON w.ebp_code = k.ebp AND w.order_no = k.ono
LEFT JOIN declarations d ON d.ebp_code = k.ebp AND d.order_no = k.ono
LEFT JOIN after_sales_documents c
       ON c.ebp_code = k.ebp AND c.order_no = k.ono AND c.flow = 2 AND c.status = 399
LEFT JOIN after_sales_documents r
       ON r.ebp_code = k.ebp AND r.order_no = k.ono AND r.flow = 3 AND r.status = 399
LEFT JOIN pending_orders po ON po.ebp_code = k.ebp AND po.order_no = k.ono";

/// Loads the stored state of every order key in one round trip.
pub async fn load_orders(
    conn: &mut PgConnection,
    keys: &[OrderKey],
) -> sqlx::Result<HashMap<OrderKey, StoredOrder>> {
    let (ebps, onos): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(e, o)| (e.as_str(), o.as_str())).unzip();
    let rows = sqlx::query(LOAD_ORDERS)
        .bind(&ebps)
        .bind(&onos)
        .fetch_all(&mut *conn)
        .await?;
    let mut orders = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: OrderKey = (row.try_get("ebp")?, row.try_get("ono")?);
        orders.insert(key, stored_order(&row)?);
    }
    Ok(orders)
}

fn stored_doc(
    row: &sqlx::postgres::PgRow,
    prefix: &str,
    key_columns: Option<(&str, &str)>,
) -> sqlx::Result<Option<StoredDoc>> {
    let digest: Option<Vec<u8>> = row.try_get(format!("{prefix}_digest").as_str())?;
    let Some(digest) = digest else {
        return Ok(None);
    };
    let business_key = match key_columns {
        Some((a, b)) => Some((row.try_get(a)?, row.try_get(b)?)),
        None => None,
    };
    Ok(Some(StoredDoc {
        digest,
        payload: row.try_get(format!("{prefix}_payload").as_str())?,
        business_key,
        sender_code: row.try_get(format!("{prefix}_sender").as_str())?,
    }))
}

fn stored_order(row: &sqlx::postgres::PgRow) -> sqlx::Result<StoredOrder> {
    let declaration = match row.try_get::<Option<i64>, _>("d_id")? {
        None => None,
        Some(id) => Some(StoredDeclaration {
            id,
            status: row.try_get("status")?,
            receipt_seq: row.try_get("d_seq")?,
            invt_no: row.try_get("invt_no")?,
            ebc_code: row.try_get("ebc_code")?,
            agent_code: row.try_get("agent_code")?,
            buyer_hash: row.try_get("buyer_hash")?,
            quota_year: row.try_get("quota_year")?,
            quota_amount: row.try_get("quota_amount")?,
            released_at: row.try_get("released_at")?,
            closed: row.try_get("closed")?,
            cancellation_digest: row.try_get("c_digest")?,
            refund_digest: row.try_get("r_digest")?,
        }),
    };
    let pending = match row.try_get::<Option<String>, _>("po_state")? {
        Some(state) => Some((state, row.try_get("po_seq")?)),
        None => None,
    };
    Ok(StoredOrder {
        order: stored_doc(row, "o", None)?,
        payment: stored_doc(row, "p", Some(("pay_code", "pay_transaction_id")))?,
        waybill: stored_doc(row, "w", Some(("logistics_code", "logistics_no")))?,
        declaration,
        pending,
    })
}

/// Which order holds each payment key `(payCode, payTransactionId)` already.
pub async fn payment_owners(
    conn: &mut PgConnection,
    keys: &[(String, String)],
) -> sqlx::Result<HashMap<(String, String), OrderKey>> {
    owners(
        conn,
        "SELECT p.pay_code AS a, p.pay_transaction_id AS b, p.ebp_code, p.order_no
         FROM UNNEST($1::text[], $2::text[]) AS k(a, b)
         JOIN payment_documents p ON p.pay_code = k.a AND p.pay_transaction_id = k.b",
        keys,
    )
    .await
}

/// Which order holds each waybill key `(logisticsCode, logisticsNo)` already.
pub async fn waybill_owners(
    conn: &mut PgConnection,
    keys: &[(String, String)],
) -> sqlx::Result<HashMap<(String, String), OrderKey>> {
    owners(
        conn,
        "SELECT w.logistics_code AS a, w.logistics_no AS b, w.ebp_code, w.order_no
         FROM UNNEST($1::text[], $2::text[]) AS k(a, b)
         JOIN waybill_documents w ON w.logistics_code = k.a AND w.logistics_no = k.b",
        keys,
    )
    .await
}

async fn owners(
    conn: &mut PgConnection,
    sql: &'static str,
    keys: &[(String, String)],
) -> sqlx::Result<HashMap<(String, String), OrderKey>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (a, b): (Vec<&str>, Vec<&str>) = keys.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
    let rows = sqlx::query(sql)
        .bind(&a)
        .bind(&b)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                (row.try_get("a")?, row.try_get("b")?),
                (row.try_get("ebp_code")?, row.try_get("order_no")?),
            ))
        })
        .collect()
}

/// A line of a stored declaration, for cancellations and returns.
#[derive(Debug, Clone)]
pub struct StoredLine {
    /// Line number.
    pub gnum: i16,
    /// Account book.
    pub ems_no: String,
    /// Account-book item.
    pub item_record_no: String,
    /// HS code.
    pub gcode: String,
    /// Quantity declared.
    pub qty: Decimal,
    /// Dutiable price of the line.
    pub tax_price: Decimal,
    /// Tariff.
    pub customs: Decimal,
    /// VAT.
    pub vat: Decimal,
    /// Consumption tax.
    pub consumption: Decimal,
}

/// The lines of the given declarations.
pub async fn load_lines(
    conn: &mut PgConnection,
    declaration_ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<StoredLine>>> {
    let mut lines: HashMap<i64, Vec<StoredLine>> = HashMap::new();
    if declaration_ids.is_empty() {
        return Ok(lines);
    }
    let rows = sqlx::query(
        "SELECT declaration_id, gnum, ems_no, item_record_no, gcode, qty, tax_price, tax_customs,
                tax_vat, tax_consumption
         FROM declaration_lines WHERE declaration_id = ANY($1) ORDER BY declaration_id, gnum",
    )
    .bind(declaration_ids)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        lines
            .entry(row.try_get("declaration_id")?)
            .or_default()
            .push(StoredLine {
                gnum: row.try_get("gnum")?,
                ems_no: row.try_get("ems_no")?,
                item_record_no: row.try_get("item_record_no")?,
                gcode: row.try_get::<String, _>("gcode")?.trim().to_owned(),
                qty: row.try_get("qty")?,
                tax_price: row.try_get("tax_price")?,
                customs: row.try_get("tax_customs")?,
                vat: row.try_get("tax_vat")?,
                consumption: row.try_get("tax_consumption")?,
            });
    }
    Ok(lines)
}

/// Locks and reads the stock rows of `items`, in sorted order.
pub async fn lock_stock(
    conn: &mut PgConnection,
    items: &BTreeSet<StockKey>,
) -> sqlx::Result<BTreeMap<StockKey, StockBalance>> {
    let mut stock = BTreeMap::new();
    if items.is_empty() {
        return Ok(stock);
    }
    let (ems, records): (Vec<&str>, Vec<&str>) = items
        .iter()
        .map(|k| (k.ems_no.as_str(), k.item_record_no.as_str()))
        .unzip();
    let rows = sqlx::query(
        "SELECT i.ems_no, i.item_record_no, i.on_hand, i.reserved
         FROM account_book_items i
         JOIN UNNEST($1::text[], $2::text[]) AS k(ems, rec)
           ON i.ems_no = k.ems AND i.item_record_no = k.rec
         ORDER BY i.ems_no, i.item_record_no
         FOR UPDATE OF i",
    )
    .bind(&ems)
    .bind(&records)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let key = StockKey::new(
            row.try_get::<String, _>("ems_no")?,
            row.try_get::<String, _>("item_record_no")?,
        );
        let balance = StockBalance {
            on_hand: row.try_get("on_hand")?,
            reserved: row.try_get("reserved")?,
        };
        stock.insert(key, balance);
    }
    Ok(stock)
}

/// Creates missing quota rows, then locks and reads all of `buyers`, in sorted order.
pub async fn lock_quotas(
    conn: &mut PgConnection,
    buyers: &BTreeSet<QuotaKey>,
    annual_limit: Decimal,
) -> sqlx::Result<HashMap<QuotaKey, Decimal>> {
    let mut quotas = HashMap::new();
    if buyers.is_empty() {
        return Ok(quotas);
    }
    let (hashes, years): (Vec<&[u8]>, Vec<i16>) = buyers
        .iter()
        .map(|(hash, year)| (hash.as_slice(), *year))
        .unzip();
    sqlx::query(
        "INSERT INTO buyer_quotas (buyer_hash, year, used, limit_amount)
         SELECT h, y, 0, $3 FROM UNNEST($1::bytea[], $2::smallint[]) AS k(h, y) ORDER BY h, y
         ON CONFLICT DO NOTHING",
    )
    .bind(&hashes)
    .bind(&years)
    .bind(annual_limit)
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query(
        "SELECT q.buyer_hash, q.year, q.used FROM buyer_quotas q
         JOIN UNNEST($1::bytea[], $2::smallint[]) AS k(h, y) ON q.buyer_hash = k.h AND q.year = k.y
         ORDER BY q.buyer_hash, q.year
         FOR UPDATE OF q",
    )
    .bind(&hashes)
    .bind(&years)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        quotas.insert(
            (row.try_get("buyer_hash")?, row.try_get("year")?),
            row.try_get("used")?,
        );
    }
    Ok(quotas)
}
