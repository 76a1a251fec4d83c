//! Reading an order back: its status and receipt timeline, who is involved in it, and its CEB621
//! inventory as it was declared.

use bondgate_domain::status::ReturnStatus;
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use bondgate_storage::crypto::PayloadCipher;
use bondgate_storage::outbox;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The declaration (CEB621 head) of an order, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DeclarationView {
    /// Enterprise document number.
    pub cop_no: String,
    /// Pre-entry number.
    pub pre_no: String,
    /// Inventory number, once assigned.
    pub invt_no: Option<String>,
    /// Latest CEB `returnStatus`.
    pub status: i32,
    /// Seller.
    pub ebc_code: String,
    /// Payment enterprise.
    pub pay_code: String,
    /// Logistics enterprise.
    pub logistics_code: String,
    /// Waybill number.
    pub logistics_no: String,
    /// Codes behind a hold or rejection.
    pub codes: Vec<String>,
    /// Reasons behind a hold or rejection.
    pub reasons: Vec<String>,
    /// Tax total, CNY.
    #[schema(value_type = String)]
    pub tax_total: Decimal,
    /// Dutiable value, CNY.
    #[schema(value_type = String)]
    pub dutiable_value: Decimal,
    /// When the declaration was made.
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
    /// Release time (800).
    #[schema(value_type = Option<String>)]
    pub released_at: Option<DateTime<Utc>>,
    /// Approved cancellation time.
    #[schema(value_type = Option<String>)]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Approved return time.
    #[schema(value_type = Option<String>)]
    pub refunded_at: Option<DateTime<Utc>>,
    /// When the logistics company's status (CEB513) said the parcel left the zone.
    #[schema(value_type = Option<String>)]
    pub exited_at: Option<DateTime<Utc>>,
    /// When the returned goods were recorded back in the zone.
    #[schema(value_type = Option<String>)]
    pub goods_back_at: Option<DateTime<Utc>>,
}

/// One receipt of the order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    /// Stable receipt id (derived from the order key and sequence, not stored).
    #[sqlx(skip)]
    pub id: uuid::Uuid,
    /// 1, 2, 3... in status order.
    pub sequence: i32,
    /// 1 inventory (CEB622), 2 cancellation (CEB624), 3 return (CEB626), 4 single document
    /// (CEB312/412/512), 5 logistics status (CEB514).
    pub flow: i16,
    /// CEB `returnStatus`.
    pub return_status: i32,
    /// CEB `returnInfo`.
    pub return_info: String,
    /// Codes.
    pub codes: Vec<String>,
    /// When it was issued.
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

/// Which of the three documents arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DocumentsView {
    /// The CEB311 order.
    pub order: bool,
    /// The CEB411 payment.
    pub payment: bool,
    /// The CEB511 waybill.
    pub waybill: bool,
}

/// `GET /v1/orders/{ebpCode}/{orderNo}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatus {
    /// Platform.
    pub ebp_code: String,
    /// Order number.
    pub order_no: String,
    /// `received` (documents stored, not all three yet), `pending` (waiting for documents),
    /// `closed` (incomplete past the window), `cancelled` or `returned` once a cancellation or
    /// return was approved, else the declaration's status in English (`released`,
    /// `manual review`, ...).
    pub status: String,
    /// The CEB `returnStatus` of the declaration, when declared.
    pub return_status: Option<i32>,
    /// Which documents arrived.
    pub documents: DocumentsView,
    /// The declaration, once the three documents met.
    pub declaration: Option<DeclarationView>,
    /// Receipts in status order.
    pub receipts: Vec<ReceiptView>,
}

/// Everything stored about one order, plus the enterprises involved in it.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// The answer.
    pub status: OrderStatus,
    /// Enterprises that may read it.
    pub involved: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct StoredDocuments {
    order: Option<Vec<u8>>,
    payment: Option<(String, Vec<u8>)>,
    waybill: Option<(String, Vec<u8>)>,
}

const DECLARATION_SQL: &str = "SELECT cop_no, pre_no, invt_no, status, ebc_code, pay_code, \
    logistics_code, logistics_no, codes, reasons, tax_total, dutiable_value, created_at, \
    updated_at, released_at, cancelled_at, refunded_at, exited_at, goods_back_at \
    FROM declarations WHERE ebp_code = $1 AND order_no = $2";
const RECEIPTS_SQL: &str = "SELECT sequence, flow, return_status, return_info, codes, \
    created_at FROM receipts WHERE ebp_code = $1 AND order_no = $2 ORDER BY sequence";

async fn stored_documents(
    pool: &PgPool,
    ebp_code: &str,
    order_no: &str,
) -> Result<StoredDocuments, sqlx::Error> {
    let order: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT payload FROM order_documents WHERE ebp_code = $1 AND order_no = $2")
            .bind(ebp_code)
            .bind(order_no)
            .fetch_optional(pool)
            .await?;
    let payment: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT pay_code, payload FROM payment_documents WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(ebp_code)
    .bind(order_no)
    .fetch_optional(pool)
    .await?;
    let waybill: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT logistics_code, payload FROM waybill_documents \
         WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(ebp_code)
    .bind(order_no)
    .fetch_optional(pool)
    .await?;
    Ok(StoredDocuments {
        order: order.map(|(payload,)| payload),
        payment,
        waybill,
    })
}

/// Loads an order; `None` when nothing at all is stored under its key.
pub async fn load(
    pool: &PgPool,
    cipher: &PayloadCipher,
    ebp_code: &str,
    order_no: &str,
) -> Result<Option<OrderRecord>, ApiError> {
    let declaration: Option<DeclarationView> = sqlx::query_as(DECLARATION_SQL)
        .bind(ebp_code)
        .bind(order_no)
        .fetch_optional(pool)
        .await?;
    let mut receipts: Vec<ReceiptView> = sqlx::query_as(RECEIPTS_SQL)
        .bind(ebp_code)
        .bind(order_no)
        .fetch_all(pool)
        .await?;
    for receipt in &mut receipts {
        receipt.id = outbox::receipt_id(ebp_code, order_no, receipt.sequence);
    }
    let pending: Option<(String,)> =
        sqlx::query_as("SELECT state FROM pending_orders WHERE ebp_code = $1 AND order_no = $2")
            .bind(ebp_code)
            .bind(order_no)
            .fetch_optional(pool)
            .await?;
    let stored = stored_documents(pool, ebp_code, order_no).await?;
    let documents = DocumentsView {
        order: stored.order.is_some(),
        payment: stored.payment.is_some(),
        waybill: stored.waybill.is_some(),
    };
    let anything = declaration.is_some()
        || !receipts.is_empty()
        || pending.is_some()
        || documents.order
        || documents.payment
        || documents.waybill;
    if !anything {
        return Ok(None);
    }
    let involved = involved(ebp_code, declaration.as_ref(), &stored, cipher);
    let (status, return_status) = match (&declaration, &pending) {
        (Some(d), _) => (declaration_status_text(d), Some(d.status)),
        (None, Some((state,))) if state == "closed" => ("closed".to_owned(), None),
        // Only a receipt sequence is kept (an after-sale answered before any document).
        (None, Some((state,))) if state == "idle" => ("received".to_owned(), None),
        (None, Some(_)) => ("pending".to_owned(), None),
        (None, None) => ("received".to_owned(), None),
    };
    Ok(Some(OrderRecord {
        status: OrderStatus {
            ebp_code: ebp_code.to_owned(),
            order_no: order_no.to_owned(),
            status,
            return_status,
            documents,
            declaration,
            receipts,
        },
        involved,
    }))
}

/// An approved cancellation or return ends the order whatever the inventory's last status.
fn declaration_status_text(declaration: &DeclarationView) -> String {
    if declaration.cancelled_at.is_some() {
        "cancelled".to_owned()
    } else if declaration.refunded_at.is_some() {
        "returned".to_owned()
    } else {
        status_text(declaration.status)
    }
}

fn status_text(code: i32) -> String {
    match ReturnStatus::from_code(code) {
        Some(status) if !status.label_en().is_empty() => status.label_en().to_owned(),
        _ => format!("status {code}"),
    }
}

/// Platform, seller, payment and logistics enterprises named by the declaration or documents.
fn involved(
    ebp_code: &str,
    declaration: Option<&DeclarationView>,
    stored: &StoredDocuments,
    cipher: &PayloadCipher,
) -> Vec<String> {
    let mut codes = vec![ebp_code.to_owned()];
    if let Some(d) = declaration {
        codes.extend([
            d.ebc_code.clone(),
            d.pay_code.clone(),
            d.logistics_code.clone(),
        ]);
    }
    if let Some((pay_code, _)) = &stored.payment {
        codes.push(pay_code.clone());
    }
    if let Some((logistics_code, _)) = &stored.waybill {
        codes.push(logistics_code.clone());
    }
    // The seller is only inside the (encrypted) order until the declaration exists.
    if let Some(Body::Order(order)) = stored.order.as_deref().and_then(|p| open(cipher, p)) {
        codes.push(order.ebc_code);
    }
    codes
}

fn open(cipher: &PayloadCipher, sealed: &[u8]) -> Option<Body> {
    let plain = cipher.open(sealed).ok()?;
    v1::Document::decode(plain.as_slice()).ok()?.body
}

/// The order's CEB621 exactly as the pipeline declared it (stored sealed with the declaration;
/// signed when clearance has a signing key): never rebuilt, so reference data changed since
/// cannot change what a merchant or customs reads.
pub async fn inventory_xml(
    pool: &PgPool,
    cipher: &PayloadCipher,
    record: &OrderRecord,
) -> Result<String, ApiError> {
    let Some(declaration) = &record.status.declaration else {
        return Err(ApiError::Conflict {
            code: "bg.order.not_declared",
            message: "the order has no declaration yet".to_owned(),
        });
    };
    let status = ReturnStatus::from_code(declaration.status);
    let failed =
        status.is_none_or(|s| matches!(s, ReturnStatus::Rejected | ReturnStatus::Exception(_)));
    // An officer's rejection of a held declaration keeps its inventory (and its CEB621).
    if failed && declaration.invt_no.is_none() {
        return Err(ApiError::Conflict {
            code: "bg.order.not_declared",
            message: format!(
                "the declaration was rejected (status {})",
                declaration.status
            ),
        });
    }
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT ceb621 FROM declarations WHERE ebp_code = $1 AND order_no = $2")
            .bind(&record.status.ebp_code)
            .bind(&record.status.order_no)
            .fetch_one(pool)
            .await?;
    let unavailable = |why: &str| ApiError::Conflict {
        code: "bg.order.inventory_unavailable",
        message: format!("the inventory is not available: {why}"),
    };
    let sealed = sealed.ok_or_else(|| unavailable("declared before CEB621s were stored"))?;
    let xml = cipher.open(&sealed).map_err(|error| {
        tracing::error!(%error, "a stored CEB621 cannot be opened");
        unavailable("it cannot be opened with this service's data key")
    })?;
    String::from_utf8(xml).map_err(|_| unavailable("it is not UTF-8"))
}
