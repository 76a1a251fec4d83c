//! What merchants submit, from bytes to validated Kafka records.
//!
//! Both entry points — a JSON array (`POST /v1/documents`) and a CEB XML message
//! (`POST /v1/ceb`) — end in the same raw CEB model ([`RawDocument`]), so the same document sent
//! either way is validated the same and gets the same tracking id. Validation collects every
//! problem of every record before answering; a request with any problem publishes nothing.

use std::collections::HashSet;

use bondgate_ceb::model as raw;
use bondgate_ceb::{CebError, CebMessage};
use bondgate_domain::Problem;
use bondgate_domain::authorization::DocumentKind;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::documents::{Cancellation, LogisticsStatus, Order, Payment, Refund, Waybill};
use bondgate_domain::matching::{ACTURAL_PAID, GOODS_VALUE, LINE_TOTAL};
use bondgate_domain::types::CustomsCode;
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiProblem};

/// The kind of a document, as the JSON `type` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// CEB311.
    Order,
    /// CEB411.
    Payment,
    /// CEB511.
    Waybill,
    /// CEB623.
    Cancellation,
    /// CEB625.
    Refund,
    /// CEB513.
    LogisticsStatus,
}

impl Kind {
    /// The JSON `type` value and metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Payment => "payment",
            Self::Waybill => "waybill",
            Self::Cancellation => "cancellation",
            Self::Refund => "refund",
            Self::LogisticsStatus => "logistics_status",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::Order,
            Self::Payment,
            Self::Waybill,
            Self::Cancellation,
            Self::Refund,
            Self::LogisticsStatus,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
}

/// One submitted document in the raw CEB model, with the bondgate extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawDocument {
    /// CEB311, and whether the platform verified the buyer's identity (`buyerIdentityVerified`).
    Order(Box<raw::Order>, bool),
    /// CEB411.
    Payment(Box<raw::PaymentHead>),
    /// CEB511 and the `ebpCode` of its order, which the sender must name.
    Waybill(Box<raw::LogisticsHead>, Option<String>),
    /// CEB623.
    Cancellation(Box<raw::InvtCancel>),
    /// CEB625.
    Refund(Box<raw::InvtRefund>),
    /// CEB513: names no order; intake finds the order of its waybill ([`resolve_orders`]).
    LogisticsStatus(Box<raw::LogisticsStatus>),
}

/// The parts of a document that decide who may send it (ADR 0006).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// An order of platform `ebp_code`, sold by `ebc_code`.
    Order {
        /// `ebcCode`.
        ebc_code: String,
        /// The order carries `buyerIdentityVerified`.
        identity_vouched: bool,
    },
    /// A payment of `pay_code`.
    Payment {
        /// `payCode`.
        pay_code: String,
    },
    /// A waybill of `logistics_code`.
    Waybill {
        /// `logisticsCode`.
        logistics_code: String,
    },
    /// A cancellation or return of the inventory `invt_no` of the record's order.
    AfterSale {
        /// Cancellation or return.
        kind: DocumentKind,
        /// The inventory it names.
        invt_no: String,
    },
}

/// A validated document, ready to be produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its kind.
    pub kind: Kind,
    /// `ebpCode` of the order.
    pub ebp_code: String,
    /// `orderNo` of the order.
    pub order_no: String,
    /// The kind's business key (e.g. `payCode/payTransactionId`).
    pub business_key: String,
    /// What the document claims that decides who may send it (see [`crate::authorization`]).
    pub claim: Claim,
    /// The protobuf body.
    pub body: Body,
    /// Deterministic tracking id (see [`tracking_id`]).
    pub tracking_id: Uuid,
}

impl Record {
    /// The Kafka record key `ebpCode/orderNo`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.ebp_code, self.order_no)
    }

    /// The Kafka record value.
    pub fn to_document(&self, sender_code: &str, source_format: &str, at_ms: i64) -> v1::Document {
        v1::Document {
            document_id: self.tracking_id.to_string(),
            ebp_code: self.ebp_code.clone(),
            order_no: self.order_no.clone(),
            sender_code: sender_code.to_owned(),
            received_at_ms: at_ms,
            source_format: source_format.to_owned(),
            body: Some(self.body.clone()),
        }
    }
}

/// Namespace of tracking ids: UUIDv5 of `urn:bondgate:intake:document`.
fn tracking_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:bondgate:intake:document")
}

/// The tracking id of a document: UUIDv5 over its kind, business key and the SHA-256 of its
/// protobuf body (the digest the pipeline de-duplicates by), so a resubmission of the same
/// content gets the same id and a changed document a new one.
pub fn tracking_id(kind: Kind, business_key: &str, body: &Body) -> Uuid {
    let bytes = match body {
        Body::Order(order) => order.encode_to_vec(),
        Body::Payment(payment) => payment.encode_to_vec(),
        Body::Waybill(waybill) => waybill.encode_to_vec(),
        Body::Cancellation(cancellation) => cancellation.encode_to_vec(),
        Body::Refund(refund) => refund.encode_to_vec(),
        Body::LogisticsStatus(status) => status.encode_to_vec(),
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    let name = format!("{}\n{business_key}\n{digest}", kind.name());
    Uuid::new_v5(&tracking_namespace(), name.as_bytes())
}

/// Parses a JSON array of documents (`POST /v1/documents`).
pub fn parse_json(bytes: &[u8], records_max: usize) -> Result<Vec<RawDocument>, ApiError> {
    let value = parse_json_value(bytes)?;
    let Value::Array(elements) = value else {
        return Err(ApiError::unprocessable(
            "bg.request.not_an_array",
            "the body must be a JSON array of documents",
        ));
    };
    json_documents(elements, records_max)
}

/// A JSON body: 400 when it is not UTF-8 or not JSON.
pub fn parse_json_value(bytes: &[u8]) -> Result<Value, ApiError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request(
            "bg.request.invalid_encoding",
            "",
            format!("the body is not UTF-8 (byte {})", error.valid_up_to()),
        ));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        ApiError::bad_request(
            "bg.request.malformed_json",
            "",
            format!("malformed JSON: {error}"),
        )
    })
}

/// The documents of a JSON array, each `{"type": ..., <raw CEB fields>}`: the one JSON shape
/// of a document, whichever endpoint takes it (`/v1/documents`, `/v1/check`). Every element's
/// problem is reported with its index.
pub fn json_documents(
    elements: Vec<Value>,
    records_max: usize,
) -> Result<Vec<RawDocument>, ApiError> {
    check_count(elements.len(), records_max)?;
    let mut problems = Vec::new();
    let mut documents = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        match json_document(element) {
            Ok(document) => documents.push(document),
            Err(problem) => problems.push(ApiProblem {
                index: Some(index),
                ..*problem
            }),
        }
    }
    if problems.is_empty() {
        Ok(documents)
    } else {
        Err(invalid(problems))
    }
}

fn check_count(count: usize, records_max: usize) -> Result<(), ApiError> {
    if count == 0 {
        return Err(ApiError::unprocessable(
            "bg.request.no_records",
            "the request holds no document",
        ));
    }
    if count > records_max {
        return Err(ApiError::unprocessable(
            "bg.request.too_many_records",
            format!("{count} records; at most {records_max} per request"),
        ));
    }
    Ok(())
}

/// 422 `bg.request.invalid_documents` with every problem: how any refused document is answered.
pub fn invalid(problems: Vec<ApiProblem>) -> ApiError {
    ApiError::Unprocessable {
        code: "bg.request.invalid_documents".to_owned(),
        message: format!("{} problem(s) found; nothing was accepted", problems.len()),
        problems,
    }
}

type JsonResult<T> = Result<T, Box<ApiProblem>>;

fn schema_problem(path: impl Into<String>, message: impl Into<String>) -> Box<ApiProblem> {
    Box::new(ApiProblem::new("bg.request.schema", None, path, message))
}

/// One element of the array: `{"type": ..., <raw CEB fields>}`.
fn json_document(element: Value) -> JsonResult<RawDocument> {
    let Value::Object(mut fields) = element else {
        return Err(schema_problem("", "each document must be a JSON object"));
    };
    let kind = match fields.remove("type") {
        Some(Value::String(name)) => Kind::from_name(&name).ok_or_else(|| {
            Box::new(ApiProblem::new(
                "bg.request.unknown_type",
                None,
                "type",
                format!(
                    "unknown type {name:?}; expected order, payment, waybill, cancellation, refund or logistics_status"
                ),
            ))
        })?,
        Some(_) => return Err(schema_problem("type", "type must be a string")),
        None => return Err(schema_problem("type", "missing field `type`")),
    };
    Ok(match kind {
        Kind::Order => {
            let verified = match fields.remove("buyerIdentityVerified") {
                None => false,
                Some(Value::Bool(flag)) => flag,
                Some(_) => {
                    return Err(schema_problem(
                        "buyerIdentityVerified",
                        "buyerIdentityVerified must be a boolean",
                    ));
                }
            };
            RawDocument::Order(Box::new(typed(fields)?), verified)
        }
        Kind::Payment => RawDocument::Payment(Box::new(typed(fields)?)),
        Kind::Waybill => {
            let ebp_code = match fields.remove("ebpCode") {
                None => None,
                Some(Value::String(code)) => Some(code),
                Some(_) => return Err(schema_problem("ebpCode", "ebpCode must be a string")),
            };
            RawDocument::Waybill(Box::new(typed(fields)?), ebp_code)
        }
        Kind::Cancellation => RawDocument::Cancellation(Box::new(typed(fields)?)),
        Kind::Refund => RawDocument::Refund(Box::new(typed(fields)?)),
        Kind::LogisticsStatus => RawDocument::LogisticsStatus(Box::new(typed(fields)?)),
    })
}

/// Deserialises the remaining fields strictly (the raw model denies unknown fields), reporting
/// the path of the first problem.
fn typed<T: DeserializeOwned>(fields: Map<String, Value>) -> JsonResult<T> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        schema_problem(path, error.into_inner().to_string())
    })
}

/// The records of a parsed CEB311/411/511/623/625 message (`POST /v1/ceb`); `ebp_code` is the
/// `?ebpCode=` of a CEB511. Parsing itself runs off the async runtime, in
/// [`crate::parse_pool`].
pub fn ceb_documents(
    message: CebMessage,
    ebp_code: Option<&str>,
) -> Result<(Vec<RawDocument>, &'static str), ApiError> {
    let root = message.root_name();
    let documents = match message {
        CebMessage::Ceb311(m) => m
            .records
            .into_iter()
            .map(|o| RawDocument::Order(Box::new(o), false))
            .collect(),
        CebMessage::Ceb411(m) => m
            .records
            .into_iter()
            .map(|p| RawDocument::Payment(Box::new(p)))
            .collect(),
        CebMessage::Ceb511(m) => {
            let Some(ebp_code) = ebp_code else {
                return Err(ApiError::unprocessable(
                    "bg.request.ebp_code_required",
                    "a CEB511 waybill names no platform: add ?ebpCode=<platform code>",
                ));
            };
            m.records
                .into_iter()
                .map(|w| RawDocument::Waybill(Box::new(w), Some(ebp_code.to_owned())))
                .collect()
        }
        CebMessage::Ceb623(m) => m
            .records
            .into_iter()
            .map(|c| RawDocument::Cancellation(Box::new(c)))
            .collect(),
        CebMessage::Ceb625(m) => m
            .records
            .into_iter()
            .map(|r| RawDocument::Refund(Box::new(r)))
            .collect(),
        CebMessage::Ceb513(m) => m
            .records
            .into_iter()
            .map(|s| RawDocument::LogisticsStatus(Box::new(s)))
            .collect(),
        other => {
            return Err(ApiError::unprocessable(
                "bg.request.unsupported_message",
                format!(
                    "{} is not accepted here; send CEB311, CEB411, CEB511, CEB513, CEB623 or CEB625",
                    other.root_name()
                ),
            ));
        }
    };
    Ok((documents, root))
}

/// Maps a codec error: syntax and attacks are 400; schema problems and the reader's caps 422,
/// with the cap's own code (`ceb.too_many_elements`, `ceb.too_deep`, `ceb.name_too_long`,
/// `ceb.too_many_attributes`, `ceb.text_too_large`) and its limit in the message; size 413.
pub fn ceb_error(error: CebError) -> ApiError {
    let path = error.path().unwrap_or("").to_owned();
    let message = error.to_string();
    match error {
        CebError::TooLarge { limit_bytes, .. } => ApiError::TooLarge { limit_bytes },
        CebError::TooManyRecords { .. } => {
            ApiError::unprocessable("bg.request.too_many_records", message)
        }
        // Only a request that is gone or past its deadline abandons its parse.
        CebError::Abandoned => ApiError::Unavailable {
            code: "bg.request.timeout",
            message,
            retry_after_seconds: 1,
        },
        CebError::TooDeep { .. }
        | CebError::TooManyElements { .. }
        | CebError::NameTooLong { .. }
        | CebError::TooManyAttributes { .. }
        | CebError::TextTooLarge { .. }
        | CebError::TooManyLines { .. }
        | CebError::UnknownElement { .. }
        | CebError::MissingElement { .. }
        | CebError::DuplicateElement { .. }
        | CebError::MissingAttribute { .. }
        | CebError::UnsupportedMessage { .. } => {
            let code = error.code();
            ApiError::Unprocessable {
                code: code.to_owned(),
                problems: vec![ApiProblem::new(code, None, path, message.clone())],
                message,
            }
        }
        _ => ApiError::bad_request(error.code(), &path, message),
    }
}

/// Validates every document (formats, lengths, the order's own arithmetic within the rules'
/// `arithmetic_tolerance_cny`, duplicates within the request) and builds the records; any
/// problem refuses the whole request.
pub fn validate(documents: Vec<RawDocument>, rules: &RulesConfig) -> Result<Vec<Record>, ApiError> {
    let tolerance = rules.arithmetic_tolerance_cny;
    let mut problems = Vec::new();
    let mut records = Vec::with_capacity(documents.len());
    let mut seen = HashSet::new();
    for (index, document) in documents.into_iter().enumerate() {
        match record_of(document, tolerance) {
            Ok(record) => {
                if !seen.insert((record.kind, record.business_key.clone())) {
                    problems.push(ApiProblem::new(
                        "bg.request.duplicate_record",
                        Some(index),
                        "",
                        format!(
                            "{} {} occurs more than once in this request",
                            record.kind.name(),
                            record.business_key
                        ),
                    ));
                }
                records.push(record);
            }
            Err(found) => problems.extend(found.into_iter().map(|p| ApiProblem {
                code: p.code.into_owned(),
                index: Some(index),
                path: p.path,
                message: p.message,
            })),
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(invalid(problems))
    }
}

fn record_of(document: RawDocument, tolerance: Decimal) -> Result<Record, Vec<Problem>> {
    let (kind, ebp_code, order_no, business_key, claim, body) = match document {
        RawDocument::Order(order, verified) => {
            let parsed = Order::parse(&order)?;
            check_arithmetic(&parsed, tolerance)?;
            let h = &order.head;
            let mut body = v1::Order::from(order.as_ref());
            body.buyer_identity_verified = verified;
            let key = format!("{}/{}", h.ebp_code, h.order_no);
            let claim = Claim::Order {
                ebc_code: h.ebc_code.clone(),
                identity_vouched: verified,
            };
            (
                Kind::Order,
                h.ebp_code.clone(),
                h.order_no.clone(),
                key,
                claim,
                Body::Order(body),
            )
        }
        RawDocument::Payment(p) => {
            Payment::parse(&p)?;
            let key = format!("{}/{}", p.pay_code, p.pay_transaction_id);
            let body = Body::Payment(v1::Payment::from(p.as_ref()));
            let claim = Claim::Payment {
                pay_code: p.pay_code.clone(),
            };
            (
                Kind::Payment,
                p.ebp_code.clone(),
                p.order_no.clone(),
                key,
                claim,
                body,
            )
        }
        RawDocument::Waybill(w, ebp_code) => {
            let parsed = Waybill::parse(&w);
            let ebp = waybill_platform(ebp_code.as_deref());
            let ebp_code = match (parsed, ebp) {
                (Ok(_), Ok(ebp)) => ebp,
                (parsed, ebp) => {
                    return Err([parsed.err(), ebp.err()]
                        .into_iter()
                        .flatten()
                        .flatten()
                        .collect());
                }
            };
            let key = format!("{}/{}", w.logistics_code, w.logistics_no);
            let body = Body::Waybill(v1::Waybill::from(w.as_ref()));
            let claim = Claim::Waybill {
                logistics_code: w.logistics_code.clone(),
            };
            (
                Kind::Waybill,
                ebp_code,
                w.order_no.clone(),
                key,
                claim,
                body,
            )
        }
        RawDocument::Cancellation(c) => {
            Cancellation::parse(&c)?;
            let claim = Claim::AfterSale {
                kind: DocumentKind::Cancellation,
                invt_no: c.invt_no.clone(),
            };
            let body = Body::Cancellation(v1::Cancellation::from(c.as_ref()));
            let key = c.invt_no.clone();
            (
                Kind::Cancellation,
                c.ebp_code.clone(),
                c.order_no.clone(),
                key,
                claim,
                body,
            )
        }
        RawDocument::Refund(r) => {
            Refund::parse(&r)?;
            let h = &r.head;
            let claim = Claim::AfterSale {
                kind: DocumentKind::Refund,
                invt_no: h.invt_no.clone(),
            };
            let key = h.invt_no.clone();
            let (ebp, order_no) = (h.ebp_code.clone(), h.order_no.clone());
            let body = Body::Refund(v1::Refund::from(r.as_ref()));
            (Kind::Refund, ebp, order_no, key, claim, body)
        }
        RawDocument::LogisticsStatus(status) => {
            LogisticsStatus::parse(&status)?;
            let key = format!(
                "{}/{}/{}",
                status.logistics_code, status.logistics_no, status.logistics_status
            );
            let claim = Claim::Waybill {
                logistics_code: status.logistics_code.clone(),
            };
            let body = Body::LogisticsStatus(v1::LogisticsStatus::from(status.as_ref()));
            // The order is found from the waybill before the record is produced.
            let kind = Kind::LogisticsStatus;
            (kind, String::new(), String::new(), key, claim, body)
        }
    };
    let tracking_id = tracking_id(kind, &business_key, &body);
    // The domain refused keys with surrounding whitespace above, so the envelope, the record key
    // and the body name the order byte for byte alike.
    Ok(Record {
        kind,
        ebp_code,
        order_no,
        business_key,
        claim,
        body,
        tracking_id,
    })
}

/// Fills in the order of every logistics status (CEB513 names only its waybill) from the stored
/// waybills; a status of a waybill bondgate does not know is refused (422), like a document that
/// names nothing.
pub async fn resolve_orders(pool: &sqlx::PgPool, records: &mut [Record]) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for (index, record) in records.iter_mut().enumerate() {
        let Body::LogisticsStatus(status) = &record.body else {
            continue;
        };
        let order: Option<(String, String)> = sqlx::query_as(
            "SELECT ebp_code, order_no FROM waybill_documents
             WHERE logistics_code = $1 AND logistics_no = $2",
        )
        .bind(&status.logistics_code)
        .bind(&status.logistics_no)
        .fetch_optional(pool)
        .await?;
        match order {
            Some((ebp_code, order_no)) => {
                record.ebp_code = ebp_code;
                record.order_no = order_no;
            }
            None => problems.push(ApiProblem::new(
                "bg.request.unknown_waybill",
                Some(index),
                "logisticsNo",
                format!(
                    "no waybill {}/{} is known: send the waybill (CEB511) first",
                    status.logistics_code, status.logistics_no
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(problems))
    }
}

/// The platform a waybill's sender names (JSON `ebpCode`, XML `?ebpCode=`).
fn waybill_platform(ebp_code: Option<&str>) -> Result<String, Vec<Problem>> {
    let Some(raw) = ebp_code else {
        return Err(vec![Problem::new(
            "bg.request.ebp_code_required",
            "ebpCode",
            "a waybill names no platform: give ebpCode (bondgate extension)",
        )]);
    };
    CustomsCode::parse(raw)
        .map(|code| code.to_string())
        .map_err(|error| vec![Problem::new(error.code(), "ebpCode", error.to_string())])
}

/// The order's own arithmetic: line totals, goods value, and the `acturalPaid` formula.
fn check_arithmetic(order: &Order, tolerance: Decimal) -> Result<(), Vec<Problem>> {
    let off = |expected: Decimal, actual: Decimal| (expected - actual).abs() > tolerance;
    let mut problems = Vec::new();
    let mut sum = Decimal::ZERO;
    for (index, line) in order.lines.iter().enumerate() {
        let expected = line.price.value() * line.qty.value();
        let actual = line.total_price.value();
        if off(expected, actual) {
            problems.push(Problem::new(
                LINE_TOTAL,
                format!("orderList[{index}].totalPrice"),
                format!(
                    "totalPrice {actual} is not price × qty = {}",
                    expected.normalize()
                ),
            ));
        }
        sum += actual;
    }
    let goods = order.goods_value.value();
    if off(sum, goods) {
        problems.push(Problem::new(
            GOODS_VALUE,
            "orderHead.goodsValue",
            format!(
                "goodsValue {goods} is not the sum of the line totals {}",
                sum.normalize()
            ),
        ));
    }
    let paid = goods + order.freight.value() + order.tax_total.value() - order.discount.value();
    let actual = order.actural_paid.value();
    if off(paid, actual) {
        problems.push(Problem::new(
            ACTURAL_PAID,
            "orderHead.acturalPaid",
            format!(
                "acturalPaid {actual} is not goodsValue + freight + taxTotal - discount = {}",
                paid.normalize()
            ),
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
