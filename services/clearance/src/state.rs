//! The snapshot a batch is planned on, read inside the batch transaction: the stored state of the
//! batch's orders (their documents opened and parsed, their declaration), who holds the payment
//! and waybill numbers they use, the sellers their platforms bound, the database clock; then the
//! rows the decisions change, locked once per batch in sorted key order (so instances never
//! deadlock on each other): stock, quotas and yearly weights.

use bondgate_domain::allocation::{StockBalance, StockKey};
use bondgate_domain::types::{HsCode, TariffLine};
use bondgate_storage::crypto::PayloadCipher;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::decode::{Doc, reparse};

/// `(ebpCode, orderNo)`.
pub type OrderKey = (String, String);
/// `(buyer_hash, year)`.
pub type QuotaKey = (Vec<u8>, i16);
/// `(buyer_hash, year, tariff line)`: a buyer's yearly weight of one capped tariff line.
pub type WeightKey = (Vec<u8>, i16, TariffLine);

/// A stored document: its digest, its sealed payload, and what it says.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// SHA-256 of the body.
    pub digest: Vec<u8>,
    /// Its business key (payment and waybill only), e.g. `(payCode, payTransactionId)`.
    pub business_key: Option<(String, String)>,
    /// The enterprise that sent it: the only one that may change or delete it.
    pub sender_code: String,
    /// The document, opened and parsed, with its buyer-verified flag; `None` when it cannot be
    /// opened (a key change or corruption, logged when loaded).
    pub parsed: Option<(Doc, bool)>,
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
    /// Logistics company and waybill number, as declared.
    pub logistics: (String, String),
    /// Keyed hash of the buyer's ID number.
    pub buyer_hash: Vec<u8>,
    /// Calendar year of the quota.
    pub quota_year: i16,
    /// What still counts toward the buyer's annual limit.
    pub quota_amount: Decimal,
    /// What still counts toward the buyer's yearly weight caps, per tariff line.
    pub weights: BTreeMap<TariffLine, Decimal>,
    /// When it was released (800).
    pub released_at: Option<DateTime<Utc>>,
    /// When the parcel left the zone (a logistics status said so).
    pub exited_at: Option<DateTime<Utc>>,
    /// A cancellation was approved.
    pub cancelled: bool,
    /// A return was approved.
    pub refunded: bool,
    /// Digest of the approved cancellation, if any (refused applications do not count).
    pub cancellation_digest: Option<Vec<u8>>,
    /// Digest of the approved return, if any.
    pub refund_digest: Option<Vec<u8>>,
    /// Its lines (loaded only for orders with after-sales in the batch).
    pub lines: Vec<StoredLine>,
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

/// What a batch's plan starts from.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The stored state of every order key of the batch.
    pub orders: HashMap<OrderKey, StoredOrder>,
    /// Which order holds each payment key `(payCode, payTransactionId)` the batch names.
    pub payment_owners: HashMap<(String, String), OrderKey>,
    /// Which order holds each waybill key `(logisticsCode, logisticsNo)` the batch names.
    pub waybill_owners: HashMap<(String, String), OrderKey>,
    /// `(platform, seller)` bindings of the batch's seller-sent orders.
    pub bindings: HashSet<(String, String)>,
    /// The database clock when the batch began: declaration dates, quota years, windows.
    pub now: DateTime<Utc>,
}

const LOAD_ORDERS: &str = "
SELECT k.ebp, k.ono,
       o.digest AS o_digest, o.payload AS o_payload, o.sender_code AS o_sender,
       p.pay_code, p.pay_transaction_id, p.digest AS p_digest, p.payload AS p_payload,
       p.sender_code AS p_sender,
       w.logistics_code, w.logistics_no, w.digest AS w_digest, w.payload AS w_payload,
       w.sender_code AS w_sender,
       d.id AS d_id, d.status, d.receipt_seq AS d_seq, d.invt_no, d.ebc_code, d.agent_code,
       d.logistics_code AS d_lcode, d.logistics_no AS d_lno,
       d.buyer_hash, d.quota_year, d.quota_amount, d.weight_lines, d.weight_kg,
       d.released_at, d.exited_at, d.cancelled_at IS NOT NULL AS cancelled,
       d.refunded_at IS NOT NULL AS refunded,
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

/// Loads the stored state of every order key in one round trip; the stored documents are opened
/// and parsed (`cipher`), so planning needs no I/O.
pub async fn load_orders(
    conn: &mut PgConnection,
    keys: &[OrderKey],
    cipher: &PayloadCipher,
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
        let order = stored_order(&row, cipher)?;
        orders.insert(key, order);
    }
    Ok(orders)
}

fn stored_doc(
    row: &sqlx::postgres::PgRow,
    prefix: &str,
    key_columns: Option<(&str, &str)>,
    cipher: &PayloadCipher,
) -> sqlx::Result<Option<StoredDoc>> {
    let digest: Option<Vec<u8>> = row.try_get(format!("{prefix}_digest").as_str())?;
    let Some(digest) = digest else {
        return Ok(None);
    };
    let business_key = match key_columns {
        Some((a, b)) => Some((row.try_get(a)?, row.try_get(b)?)),
        None => None,
    };
    let sealed: Vec<u8> = row.try_get(format!("{prefix}_payload").as_str())?;
    let parsed = cipher
        .open(&sealed)
        .map_err(|e| e.to_string())
        .and_then(|plain| reparse(&plain));
    let parsed = match parsed {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            // Stored documents were valid when stored: this is corruption or a key change.
            tracing::error!(%error, "a stored document is unreadable");
            None
        }
    };
    Ok(Some(StoredDoc {
        digest,
        business_key,
        sender_code: row.try_get(format!("{prefix}_sender").as_str())?,
        parsed,
    }))
}

fn stored_declaration(row: &sqlx::postgres::PgRow) -> sqlx::Result<Option<StoredDeclaration>> {
    let Some(id) = row.try_get::<Option<i64>, _>("d_id")? else {
        return Ok(None);
    };
    let lines: Vec<String> = row.try_get("weight_lines")?;
    let kgs: Vec<Decimal> = row.try_get("weight_kg")?;
    let weights = lines
        .iter()
        .zip(kgs)
        .filter_map(|(line, kg)| Some((TariffLine::parse(line).ok()?, kg)))
        .collect();
    Ok(Some(StoredDeclaration {
        id,
        status: row.try_get("status")?,
        receipt_seq: row.try_get("d_seq")?,
        invt_no: row.try_get("invt_no")?,
        ebc_code: row.try_get("ebc_code")?,
        agent_code: row.try_get("agent_code")?,
        logistics: (row.try_get("d_lcode")?, row.try_get("d_lno")?),
        buyer_hash: row.try_get("buyer_hash")?,
        quota_year: row.try_get("quota_year")?,
        quota_amount: row.try_get("quota_amount")?,
        weights,
        released_at: row.try_get("released_at")?,
        exited_at: row.try_get("exited_at")?,
        cancelled: row.try_get("cancelled")?,
        refunded: row.try_get("refunded")?,
        cancellation_digest: row.try_get("c_digest")?,
        refund_digest: row.try_get("r_digest")?,
        lines: Vec::new(),
    }))
}

fn stored_order(row: &sqlx::postgres::PgRow, cipher: &PayloadCipher) -> sqlx::Result<StoredOrder> {
    let pending = match row.try_get::<Option<String>, _>("po_state")? {
        Some(state) => Some((state, row.try_get("po_seq")?)),
        None => None,
    };
    Ok(StoredOrder {
        order: stored_doc(row, "o", None, cipher)?,
        payment: stored_doc(row, "p", Some(("pay_code", "pay_transaction_id")), cipher)?,
        waybill: stored_doc(row, "w", Some(("logistics_code", "logistics_no")), cipher)?,
        declaration: stored_declaration(row)?,
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

/// The database clock (declaration dates, quota years and after-sales windows follow it, never
/// an instance's own clock nor a date a document claims).
pub async fn now(conn: &mut PgConnection) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *conn)
        .await
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
    pub gcode: HsCode,
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

/// Fills in the lines of the given orders' declarations.
pub async fn load_lines(
    conn: &mut PgConnection,
    orders: &mut HashMap<OrderKey, StoredOrder>,
    keys: &BTreeSet<OrderKey>,
) -> sqlx::Result<()> {
    let ids: Vec<i64> = keys
        .iter()
        .filter_map(|key| orders.get(key)?.declaration.as_ref().map(|d| d.id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT d.ebp_code, d.order_no, l.gnum, l.ems_no, l.item_record_no, l.gcode, l.qty,
                l.tax_price, l.tax_customs, l.tax_vat, l.tax_consumption
         FROM declaration_lines l JOIN declarations d ON d.id = l.declaration_id
         WHERE l.declaration_id = ANY($1) ORDER BY l.declaration_id, l.gnum",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let key: OrderKey = (row.try_get("ebp_code")?, row.try_get("order_no")?);
        let gcode: String = row.try_get("gcode")?;
        let Ok(gcode) = HsCode::parse(gcode.trim()) else {
            continue;
        };
        let line = StoredLine {
            gnum: row.try_get("gnum")?,
            ems_no: row.try_get("ems_no")?,
            item_record_no: row.try_get("item_record_no")?,
            gcode,
            qty: row.try_get("qty")?,
            tax_price: row.try_get("tax_price")?,
            customs: row.try_get("tax_customs")?,
            vat: row.try_get("tax_vat")?,
            consumption: row.try_get("tax_consumption")?,
        };
        if let Some(declaration) = orders.get_mut(&key).and_then(|o| o.declaration.as_mut()) {
            declaration.lines.push(line);
        }
    }
    Ok(())
}

/// The rows a batch's decisions change, locked.
#[derive(Debug, Default)]
pub struct Locked {
    /// Stock balances of the items.
    pub stock: BTreeMap<StockKey, StockBalance>,
    /// Annual amounts used per buyer and year.
    pub quotas: HashMap<QuotaKey, Decimal>,
    /// Yearly weights used per buyer, year and capped tariff line.
    pub weights: HashMap<WeightKey, Decimal>,
}

/// The rows to lock.
#[derive(Debug, Default)]
pub struct ToLock {
    /// Items.
    pub items: BTreeSet<StockKey>,
    /// Buyers and years.
    pub buyers: BTreeSet<QuotaKey>,
    /// Buyers, years and capped tariff lines.
    pub weights: BTreeSet<WeightKey>,
}

/// Locks stock, quota and weight rows, each kind in sorted key order.
pub async fn lock(
    conn: &mut PgConnection,
    rows: &ToLock,
    annual_limit: Decimal,
) -> sqlx::Result<Locked> {
    Ok(Locked {
        stock: lock_stock(conn, &rows.items).await?,
        quotas: lock_quotas(conn, &rows.buyers, annual_limit).await?,
        weights: lock_weights(conn, &rows.weights).await?,
    })
}

async fn lock_stock(
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

async fn lock_quotas(
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

/// Creates missing weight rows, then locks and reads them, in sorted order.
async fn lock_weights(
    conn: &mut PgConnection,
    keys: &BTreeSet<WeightKey>,
) -> sqlx::Result<HashMap<WeightKey, Decimal>> {
    let mut weights = HashMap::new();
    if keys.is_empty() {
        return Ok(weights);
    }
    let hashes: Vec<&[u8]> = keys.iter().map(|k| k.0.as_slice()).collect();
    let years: Vec<i16> = keys.iter().map(|k| k.1).collect();
    let lines: Vec<String> = keys.iter().map(|k| k.2.to_string()).collect();
    sqlx::query(
        "INSERT INTO buyer_weights (buyer_hash, year, tariff_line, used_kg)
         SELECT h, y, t, 0 FROM UNNEST($1::bytea[], $2::smallint[], $3::text[]) AS k(h, y, t)
         ORDER BY h, y, t
         ON CONFLICT DO NOTHING",
    )
    .bind(&hashes)
    .bind(&years)
    .bind(&lines)
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query(
        "SELECT w.buyer_hash, w.year, w.tariff_line, w.used_kg FROM buyer_weights w
         JOIN UNNEST($1::bytea[], $2::smallint[], $3::text[]) AS k(h, y, t)
           ON w.buyer_hash = k.h AND w.year = k.y AND w.tariff_line = k.t
         ORDER BY w.buyer_hash, w.year, w.tariff_line
         FOR UPDATE OF w",
    )
    .bind(&hashes)
    .bind(&years)
    .bind(&lines)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let line: String = row.try_get("tariff_line")?;
        let Ok(line) = TariffLine::parse(line.trim()) else {
            continue;
        };
        let key = (row.try_get("buyer_hash")?, row.try_get("year")?, line);
        weights.insert(key, row.try_get("used_kg")?);
    }
    Ok(weights)
}
