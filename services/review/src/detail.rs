//! Everything an officer needs to decide one declaration, read in a few queries: its head and
//! review task, the three documents side by side (masked unless revealed), the rule findings,
//! the tax per line with the items' stock, the buyer's quota this year, the receipt timeline and
//! the declaration's audit trail.

use std::sync::LazyLock;

use bondgate_domain::config::RulesConfig;
use bondgate_domain::matching::{MatchOptions, match_bundle};
use bondgate_storage::crypto::PayloadCipher;
use bondgate_storage::outbox;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgPool, Row};
use utoipa::ToSchema;

use crate::audit::{self, Entry};
use crate::compare::{self, FieldRow};
use crate::documents::{self, Documents};
use crate::error::ReviewError;
use crate::queue::{VISIBLE_TO_VIEWER_2, restricted_to};
use crate::sessions::Session;

/// Audit entries shown with a declaration.
const AUDIT_ENTRIES_MAX: i64 = 50;

/// The declaration head (CEB621) as stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeclarationView {
    /// Row id.
    pub id: i64,
    /// Platform code.
    pub ebp_code: String,
    /// Platform name, when registered.
    pub ebp_name: Option<String>,
    /// Order number.
    pub order_no: String,
    /// Seller code.
    pub ebc_code: String,
    /// Seller name, when registered.
    pub ebc_name: Option<String>,
    /// Payment company.
    pub pay_code: String,
    /// Logistics company.
    pub logistics_code: String,
    /// Waybill number.
    pub logistics_no: String,
    /// Enterprise document number.
    pub cop_no: String,
    /// Pre-entry number.
    pub pre_no: String,
    /// Inventory number.
    pub invt_no: Option<String>,
    /// CEB status.
    pub status: i32,
    /// Optimistic-concurrency version: send it back with a decision.
    pub version: i32,
    /// Dutiable value, CNY.
    #[schema(value_type = String)]
    pub dutiable_value: Decimal,
    /// What counts toward the buyer's annual limit, CNY.
    #[schema(value_type = String)]
    pub quota_amount: Decimal,
    /// Tariff, CNY.
    #[schema(value_type = String)]
    pub tax_customs: Decimal,
    /// VAT, CNY.
    #[schema(value_type = String)]
    pub tax_vat: Decimal,
    /// Consumption tax, CNY.
    #[schema(value_type = String)]
    pub tax_consumption: Decimal,
    /// Tax total, CNY.
    #[schema(value_type = String)]
    pub tax_total: Decimal,
    /// Hold codes, or the rejection code.
    pub codes: Vec<String>,
    /// Hold reasons, or the rejection reason.
    pub reasons: Vec<String>,
    /// Declared at.
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// Released at.
    #[schema(value_type = Option<String>)]
    pub released_at: Option<DateTime<Utc>>,
    /// A cancellation was approved at.
    #[schema(value_type = Option<String>)]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Calendar year of the buyer's quota.
    pub quota_year: i16,
}

/// The review task of the declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// `open` or `decided`.
    pub state: String,
    /// Why it was held (the pipeline's words).
    pub reasons: Vec<String>,
    /// Assigned officer.
    pub assigned_to: Option<String>,
    /// Final decision (800 or 100).
    pub decision: Option<i32>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// When it was held.
    #[schema(value_type = String)]
    pub held_at: DateTime<Utc>,
}

/// A rule finding: why the declaration was held, or a mismatch found by re-matching the
/// documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingView {
    /// `hold` (a risk rule held it) or `match` (the documents disagree).
    pub kind: String,
    /// Stable code (`bg.risk.*`, `bg.match.*`, `13035`).
    pub code: Option<String>,
    /// CEB field path, for mismatches.
    pub field: Option<String>,
    /// Explanation.
    pub message: String,
}

/// One declaration line with its tax and its item's stock.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    /// Line number.
    pub gnum: i16,
    /// SKU.
    pub item_no: String,
    /// Goods name (the order's, or the account book's).
    pub item_name: String,
    /// Account book.
    pub ems_no: String,
    /// Account-book item.
    pub item_record_no: String,
    /// HS code.
    pub gcode: String,
    /// Quantity.
    #[schema(value_type = String)]
    pub qty: Decimal,
    /// Unit (JGS-20).
    pub unit: String,
    /// Line total, CNY.
    #[schema(value_type = String)]
    pub total_price: Decimal,
    /// Dutiable price of the line, CNY.
    #[schema(value_type = String)]
    pub tax_price: Decimal,
    /// Tariff, CNY.
    #[schema(value_type = String)]
    pub tax_customs: Decimal,
    /// VAT, CNY.
    #[schema(value_type = String)]
    pub tax_vat: Decimal,
    /// Consumption tax, CNY.
    #[schema(value_type = String)]
    pub tax_consumption: Decimal,
    /// The item's units in the zone.
    #[schema(value_type = String)]
    pub stock_on_hand: Decimal,
    /// The item's units reserved by held declarations (this one included while held).
    #[schema(value_type = String)]
    pub stock_reserved: Decimal,
}

/// The buyer's annual quota.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    /// Calendar year.
    pub year: i16,
    /// Used so far, this declaration included while it counts, CNY.
    #[schema(value_type = String)]
    pub used: Decimal,
    /// The annual limit, CNY.
    #[schema(value_type = String)]
    pub limit: Decimal,
    /// This declaration's share, CNY.
    #[schema(value_type = String)]
    pub this_declaration: Decimal,
}

/// One receipt of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    /// Stable receipt id.
    pub id: uuid::Uuid,
    /// 1, 2, 3... per order.
    pub sequence: i32,
    /// 1 inventory, 2 cancellation, 3 return, 4 single document.
    pub flow: i16,
    /// CEB `returnStatus`.
    pub return_status: i32,
    /// CEB `returnInfo`.
    pub return_info: String,
    /// Customs codes.
    pub codes: Vec<String>,
    /// Written to the outbox at.
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// Published on `cbec.receipts.v1` (clearance's relay has moved its mark past it).
    pub published: bool,
}

/// `GET /v1/review/declarations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// The declaration.
    pub declaration: DeclarationView,
    /// Its review task.
    pub task: TaskView,
    /// The platform vouched for the buyer's identity (the payer may differ).
    pub identity_verified: bool,
    /// Order, payment and waybill side by side; personal data masked unless `revealed`.
    pub documents: Vec<FieldRow>,
    /// Why the documents cannot be shown, when they cannot.
    pub documents_problem: Option<String>,
    /// Hold reasons and document mismatches.
    pub findings: Vec<FindingView>,
    /// Lines with tax and stock.
    pub lines: Vec<LineView>,
    /// The buyer's quota this year.
    pub quota: Option<QuotaView>,
    /// Receipts in status order.
    pub receipts: Vec<ReceiptView>,
    /// The declaration's audit trail, newest first.
    pub audit: Vec<Entry>,
    /// Personal data is shown unmasked (an audited reveal).
    pub revealed: bool,
}

/// The head and task of declaration `$1`, if the viewer `$2` may see it.
static HEAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "
SELECT d.id, d.ebp_code, ep.name AS ebp_name, d.order_no, d.ebc_code, ec.name AS ebc_name,
       d.pay_code, d.logistics_code, d.logistics_no, d.cop_no, d.pre_no, d.invt_no, d.status,
       d.version, d.dutiable_value, d.quota_amount, d.tax_customs, d.tax_vat, d.tax_consumption,
       d.tax_total, d.codes, d.reasons, d.created_at, d.released_at, d.cancelled_at,
       d.quota_year, d.buyer_hash,
       t.state, t.reasons AS task_reasons, t.assigned_to, t.decision, t.decided_by,
       t.decided_at, t.created_at AS held_at
FROM declarations d
JOIN review_tasks t ON t.declaration_id = d.id
LEFT JOIN enterprises ep ON ep.code = d.ebp_code
LEFT JOIN enterprises ec ON ec.code = d.ebc_code
WHERE d.id = $1 AND {VISIBLE_TO_VIEWER_2}"
    )
});

fn trimmed(row: &sqlx::postgres::PgRow, column: &str) -> sqlx::Result<String> {
    Ok(row.try_get::<String, _>(column)?.trim().to_owned())
}

fn head_of(row: &sqlx::postgres::PgRow) -> sqlx::Result<(DeclarationView, TaskView)> {
    let declaration = DeclarationView {
        id: row.try_get("id")?,
        ebp_code: row.try_get("ebp_code")?,
        ebp_name: row.try_get("ebp_name")?,
        order_no: row.try_get("order_no")?,
        ebc_code: row.try_get("ebc_code")?,
        ebc_name: row.try_get("ebc_name")?,
        pay_code: row.try_get("pay_code")?,
        logistics_code: row.try_get("logistics_code")?,
        logistics_no: row.try_get("logistics_no")?,
        cop_no: row.try_get("cop_no")?,
        pre_no: trimmed(row, "pre_no")?,
        invt_no: row
            .try_get::<Option<String>, _>("invt_no")?
            .map(|no| no.trim().to_owned()),
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        dutiable_value: row.try_get("dutiable_value")?,
        quota_amount: row.try_get("quota_amount")?,
        tax_customs: row.try_get("tax_customs")?,
        tax_vat: row.try_get("tax_vat")?,
        tax_consumption: row.try_get("tax_consumption")?,
        tax_total: row.try_get("tax_total")?,
        codes: row.try_get("codes")?,
        reasons: row.try_get("reasons")?,
        created_at: row.try_get("created_at")?,
        released_at: row.try_get("released_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        quota_year: row.try_get("quota_year")?,
    };
    let task = TaskView {
        state: row.try_get("state")?,
        reasons: row.try_get("task_reasons")?,
        assigned_to: row.try_get("assigned_to")?,
        decision: row.try_get("decision")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        held_at: row.try_get("held_at")?,
    };
    Ok((declaration, task))
}

/// What [`load`] needs besides the pool.
#[derive(Debug, Clone, Copy)]
pub struct DetailContext<'a> {
    /// Opens stored documents.
    pub cipher: &'a PayloadCipher,
    /// The arithmetic tolerance of re-matching.
    pub rules: &'a RulesConfig,
}

/// The detail of declaration `id` (only declarations that were held for review have one);
/// personal data unmasked only when `reveal`. A declaration the assignment rule hides from
/// `viewer` is "not found", exactly like a missing one.
pub async fn load(
    pool: &PgPool,
    ctx: DetailContext<'_>,
    viewer: &Session,
    id: i64,
    reveal: bool,
) -> Result<Detail, ReviewError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(HEAD.as_str()))
        .bind(id)
        .bind(restricted_to(viewer))
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ReviewError::no_declaration(id))?;
    let (declaration, task) = head_of(&row)?;
    let buyer_hash: Vec<u8> = row.try_get("buyer_hash")?;
    let documents = documents::load(
        pool,
        ctx.cipher,
        &declaration.ebp_code,
        &declaration.order_no,
    )
    .await?;
    let mut findings = hold_findings(&declaration, &task);
    let (rows, problem, identity_verified, names) = match &documents {
        Documents::Bundle {
            bundle,
            identity_verified,
        } => {
            let options = MatchOptions {
                buyer_identity_verified: *identity_verified,
                arithmetic_tolerance_cny: ctx.rules.arithmetic_tolerance_cny,
            };
            findings.extend(
                match_bundle(bundle, &options)
                    .into_iter()
                    .map(|f| FindingView {
                        kind: "match".to_owned(),
                        code: Some(f.code.to_owned()),
                        field: Some(f.field),
                        message: f.message,
                    }),
            );
            let rows = compare::rows(bundle)
                .into_iter()
                .map(|row| if reveal { row } else { row.masked() })
                .collect();
            let names: Vec<(u32, String)> = bundle
                .order
                .lines
                .iter()
                .map(|l| (l.gnum, l.item_name.clone()))
                .collect();
            (rows, None, *identity_verified, names)
        }
        Documents::Unavailable(why) => (Vec::new(), Some((*why).to_owned()), false, Vec::new()),
    };
    let lines = lines(pool, id, &names).await?;
    let quota = quota(pool, &buyer_hash, &declaration).await?;
    let receipts = receipts(pool, &declaration.ebp_code, &declaration.order_no).await?;
    let audit = audit::of_subject(pool, &subject(id), AUDIT_ENTRIES_MAX).await?;
    Ok(Detail {
        declaration,
        task,
        identity_verified,
        documents: rows,
        documents_problem: problem,
        findings,
        lines,
        quota,
        receipts,
        audit,
        revealed: reveal,
    })
}

/// The audit subject of a declaration.
pub fn subject(id: i64) -> String {
    format!("declaration:{id}")
}

/// The hold reasons: the task's texts, with the declaration's codes while it is held.
fn hold_findings(declaration: &DeclarationView, task: &TaskView) -> Vec<FindingView> {
    let held = matches!(declaration.status, 300 | 500);
    task.reasons
        .iter()
        .enumerate()
        .map(|(index, message)| FindingView {
            kind: "hold".to_owned(),
            code: held
                .then(|| declaration.codes.get(index).cloned())
                .flatten(),
            field: None,
            message: message.clone(),
        })
        .collect()
}

async fn lines(
    pool: &PgPool,
    id: i64,
    names: &[(u32, String)],
) -> Result<Vec<LineView>, ReviewError> {
    let rows = sqlx::query(
        "SELECT l.gnum, l.ems_no, l.item_record_no, l.gcode, l.qty, l.total_price, l.tax_price,
                l.tax_customs, l.tax_vat, l.tax_consumption, i.item_no, i.gname, i.unit,
                i.on_hand, i.reserved
         FROM declaration_lines l
         JOIN account_book_items i ON i.ems_no = l.ems_no AND i.item_record_no = l.item_record_no
         WHERE l.declaration_id = $1 ORDER BY l.gnum",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let gnum: i16 = row.try_get("gnum")?;
        let item_name = names
            .iter()
            .find(|(n, _)| i64::from(*n) == i64::from(gnum))
            .map(|(_, name)| name.clone())
            .map_or_else(|| row.try_get("gname"), Ok)?;
        lines.push(LineView {
            gnum,
            item_no: row.try_get("item_no")?,
            item_name,
            ems_no: row.try_get("ems_no")?,
            item_record_no: row.try_get("item_record_no")?,
            gcode: trimmed(row, "gcode")?,
            qty: row.try_get("qty")?,
            unit: trimmed(row, "unit")?,
            total_price: row.try_get("total_price")?,
            tax_price: row.try_get("tax_price")?,
            tax_customs: row.try_get("tax_customs")?,
            tax_vat: row.try_get("tax_vat")?,
            tax_consumption: row.try_get("tax_consumption")?,
            stock_on_hand: row.try_get("on_hand")?,
            stock_reserved: row.try_get("reserved")?,
        });
    }
    Ok(lines)
}

async fn quota(
    pool: &PgPool,
    buyer_hash: &[u8],
    declaration: &DeclarationView,
) -> Result<Option<QuotaView>, ReviewError> {
    let row: Option<(Decimal, Decimal)> = sqlx::query_as(
        "SELECT used, limit_amount FROM buyer_quotas WHERE buyer_hash = $1 AND year = $2",
    )
    .bind(buyer_hash)
    .bind(declaration.quota_year)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(used, limit)| QuotaView {
        year: declaration.quota_year,
        used,
        limit,
        this_declaration: declaration.quota_amount,
    }))
}

async fn receipts(
    pool: &PgPool,
    ebp_code: &str,
    order_no: &str,
) -> Result<Vec<ReceiptView>, ReviewError> {
    let rows = sqlx::query(
        "SELECT sequence, flow, return_status, return_info, codes, created_at,
                (r.chain_xid, r.id) <= (SELECT m.chain_xid, m.id FROM outbox_marks m
                                        WHERE m.stream = 'receipts') AS published
         FROM receipts r WHERE ebp_code = $1 AND order_no = $2 ORDER BY sequence",
    )
    .bind(ebp_code)
    .bind(order_no)
    .fetch_all(pool)
    .await?;
    let mut receipts = Vec::with_capacity(rows.len());
    for row in &rows {
        let sequence = row.try_get("sequence")?;
        receipts.push(ReceiptView {
            id: outbox::receipt_id(ebp_code, order_no, sequence),
            sequence,
            flow: row.try_get("flow")?,
            return_status: row.try_get("return_status")?,
            return_info: row.try_get("return_info")?,
            codes: row.try_get("codes")?,
            created_at: row.try_get("created_at")?,
            published: row.try_get("published")?,
        });
    }
    Ok(receipts)
}
