//! Turns raw Kafka records into typed documents, or into dead letters with a reason.
//!
//! A record is usable when its value decodes as a protobuf `Document`, its key is the document's
//! order key `ebpCode/orderNo`, and its body parses into the domain's strong types. Anything else
//! becomes a dead letter: it never blocks its partition.

use bondgate_ceb::model as raw;
use bondgate_domain::documents::{Cancellation, LogisticsStatus, Order, Payment, Refund, Waybill};
use bondgate_domain::problem::Problem;
use bondgate_domain::types::{CustomsCode, FormatError, OrderNo};
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use bondgate_storage::crypto::digest;

/// A record as taken from the documents topic.
#[derive(Debug, Clone)]
pub struct InRecord {
    /// Partition it came from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// The record key (the order key, UTF-8).
    pub key: Option<Vec<u8>>,
    /// The record value (a protobuf `Document`).
    pub value: Vec<u8>,
    /// The record's timestamp (ms since the epoch; 0 when the broker gave none), for the
    /// record-to-commit latency.
    pub timestamp_ms: i64,
}

/// What a document asks for (CEB `appType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// 1: a new document.
    New,
    /// 2: a change of a document sent before.
    Change,
    /// 3: deletion of a document sent before.
    Delete,
}

/// The parsed body of a document.
#[derive(Debug, Clone)]
pub enum Doc {
    /// CEB311.
    Order(Box<Order>),
    /// CEB411.
    Payment(Box<Payment>),
    /// CEB511.
    Waybill(Box<Waybill>),
    /// CEB623.
    Cancellation(Box<Cancellation>),
    /// CEB625.
    Refund(Box<Refund>),
    /// CEB513.
    LogisticsStatus(Box<LogisticsStatus>),
}

/// A usable document with where it came from.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// `ebpCode` of the order.
    pub ebp_code: String,
    /// `orderNo` of the order.
    pub order_no: String,
    /// The sender's tracking id.
    pub document_id: uuid::Uuid,
    /// The enterprise that sent it, as intake authenticated it (the envelope's `sender_code`;
    /// empty when a record reached the topic without a sender). Authorization reads only this.
    pub sender_code: String,
    /// The record value, stored (encrypted) as the document.
    pub payload: Vec<u8>,
    /// SHA-256 of the document body: equal digests mean a duplicate.
    pub digest: [u8; 32],
    /// New, change or delete.
    pub app_type: AppType,
    /// An order whose platform vouched for the buyer's identity (buyer need not be payer).
    pub buyer_verified: bool,
    /// The parsed document.
    pub doc: Doc,
}

/// A record that cannot be used, with the reason.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Original key.
    pub key: Option<Vec<u8>>,
    /// Original value.
    pub value: Vec<u8>,
    /// `decode`, `unroutable`, `invalid`, or `rejected` (the database refused what it holds).
    pub class: &'static str,
    /// Stable machine code.
    pub code: String,
    /// Explanation for people.
    pub message: String,
}

impl DeadLetter {
    /// A record the database refused deterministically (a value it cannot hold, a constraint it
    /// breaks) although it decoded: isolated from its batch so the records behind it clear.
    pub fn rejected(record: InRecord, sqlstate: &str, reason: &str) -> Self {
        let message = format!("the database refused this record (SQLSTATE {sqlstate}): {reason}");
        Self::new(record, "rejected", format!("bg.store.{sqlstate}"), message)
    }

    fn new(
        record: InRecord,
        class: &'static str,
        code: impl Into<String>,
        message: String,
    ) -> Self {
        Self {
            partition: record.partition,
            offset: record.offset,
            key: record.key,
            value: record.value,
            class,
            code: code.into(),
            message,
        }
    }
}

/// Decodes, routes and parses one record.
pub fn decode(record: InRecord) -> Result<Incoming, Box<DeadLetter>> {
    let document = match v1::Document::decode(record.value.as_slice()) {
        Ok(document) => document,
        Err(error) => {
            let message = format!("value is not a bondgate.v1.Document: {error}");
            return Err(Box::new(DeadLetter::new(
                record,
                "decode",
                "bg.decode.protobuf",
                message,
            )));
        }
    };
    let Some(body) = document.body.as_ref() else {
        let message = "the Document has no body".to_owned();
        return Err(Box::new(DeadLetter::new(
            record,
            "decode",
            "bg.decode.empty_body",
            message,
        )));
    };
    if let Err(message) = check_routing(&record, &document, body) {
        return Err(Box::new(DeadLetter::new(
            record,
            "unroutable",
            "bg.route.key_mismatch",
            message,
        )));
    }
    if let Err(problem) = check_envelope(&document) {
        return Err(Box::new(DeadLetter::new(
            record,
            "invalid",
            problem.code.into_owned(),
            format!("{}: {}", problem.path, problem.message),
        )));
    }
    let (doc, app_type_text, body_bytes) = match parse_body(body) {
        Ok(parsed) => parsed,
        Err(problems) => {
            let (code, message) = summarize(&problems);
            return Err(Box::new(DeadLetter::new(record, "invalid", code, message)));
        }
    };
    let app_type = match app_type_text.as_str() {
        "1" => AppType::New,
        "2" => AppType::Change,
        "3" => AppType::Delete,
        other => {
            let message = format!("appType must be 1, 2 or 3, not {other:?}");
            return Err(Box::new(DeadLetter::new(
                record,
                "invalid",
                "bg.format.app_type",
                message,
            )));
        }
    };
    Ok(Incoming {
        partition: record.partition,
        offset: record.offset,
        ebp_code: document.ebp_code.clone(),
        order_no: document.order_no.clone(),
        document_id: tracking_id(&document.document_id),
        sender_code: document.sender_code.clone(),
        digest: digest(&body_bytes),
        payload: record.value,
        app_type,
        buyer_verified: buyer_verified(body),
        doc,
    })
}

fn buyer_verified(body: &Body) -> bool {
    matches!(body, Body::Order(order) if order.buyer_identity_verified)
}

/// Parses a stored `Document` value again (its body and the buyer-verified flag).
pub fn reparse(value: &[u8]) -> Result<(Doc, bool), String> {
    let document = v1::Document::decode(value).map_err(|e| e.to_string())?;
    let body = document
        .body
        .as_ref()
        .ok_or("stored document has no body")?;
    let (doc, _, _) = parse_body(body).map_err(|problems| summarize(&problems).1)?;
    Ok((doc, buyer_verified(body)))
}

/// Tracking ids are UUIDs from intake; a direct producer may send any text, which is mapped
/// to a name-based UUID so it is still stable.
fn tracking_id(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text)
        .unwrap_or_else(|_| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, text.as_bytes()))
}

/// The envelope's own fields, held to the schema's lengths and key rules like the body's: a
/// value the tables cannot hold must become a dead letter here, never a failed batch.
fn check_envelope(document: &v1::Document) -> Result<(), Problem> {
    let field = |path: &'static str, error: FormatError| {
        Problem::new(error.code(), path, error.to_string())
    };
    CustomsCode::parse(&document.ebp_code).map_err(|e| field("envelope.ebpCode", e))?;
    OrderNo::parse(&document.order_no).map_err(|e| field("envelope.orderNo", e))?;
    if !document.sender_code.is_empty() {
        CustomsCode::parse(&document.sender_code).map_err(|e| field("envelope.senderCode", e))?;
    }
    if document.document_id.chars().count() > DOCUMENT_ID_CHARS_MAX {
        let error = FormatError::TooLong {
            max: DOCUMENT_ID_CHARS_MAX,
            actual: document.document_id.chars().count(),
        };
        return Err(field("envelope.documentId", error));
    }
    Ok(())
}

/// Longest tracking id a direct producer may send (it is mapped to a UUID, never stored as text;
/// the cap only bounds the work).
const DOCUMENT_ID_CHARS_MAX: usize = 128;

/// The key must be `ebpCode/orderNo` of the envelope, and the body must name the same order.
fn check_routing(record: &InRecord, document: &v1::Document, body: &Body) -> Result<(), String> {
    let expected = format!("{}/{}", document.ebp_code, document.order_no);
    if document.ebp_code.is_empty() || document.order_no.is_empty() {
        return Err("the Document envelope has no ebpCode or orderNo".to_owned());
    }
    if record.key.as_deref() != Some(expected.as_bytes()) {
        let key = record
            .key
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        return Err(format!(
            "record key {key:?} is not the document's order key {expected:?}"
        ));
    }
    let (ebp_code, order_no) = match body {
        Body::Order(order) => (Some(&order.ebp_code), &order.order_no),
        Body::Payment(payment) => (Some(&payment.ebp_code), &payment.order_no),
        Body::Waybill(waybill) => (None, &waybill.order_no),
        Body::Cancellation(cancel) => (Some(&cancel.ebp_code), &cancel.order_no),
        Body::Refund(refund) => (Some(&refund.ebp_code), &refund.order_no),
        // CEB513 names no order: the envelope's (intake looked it up by the waybill) is checked
        // against the stored declaration's waybill by the planner.
        Body::LogisticsStatus(_) => (None, &document.order_no),
    };
    let same_platform = ebp_code.is_none_or(|code| *code == document.ebp_code);
    if !same_platform || *order_no != document.order_no {
        return Err(format!(
            "the body names another order than the envelope ({expected})"
        ));
    }
    Ok(())
}

type Parsed = (Doc, String, Vec<u8>);

fn parse_body(body: &Body) -> Result<Parsed, Vec<Problem>> {
    Ok(match body {
        Body::Order(order) => {
            let parsed = Order::parse(&raw::Order::from(order))?;
            (
                Doc::Order(Box::new(parsed)),
                order.app_type.clone(),
                order.encode_to_vec(),
            )
        }
        Body::Payment(payment) => {
            let parsed = Payment::parse(&raw::PaymentHead::from(payment))?;
            (
                Doc::Payment(Box::new(parsed)),
                payment.app_type.clone(),
                payment.encode_to_vec(),
            )
        }
        Body::Waybill(waybill) => {
            let parsed = Waybill::parse(&raw::LogisticsHead::from(waybill))?;
            (
                Doc::Waybill(Box::new(parsed)),
                waybill.app_type.clone(),
                waybill.encode_to_vec(),
            )
        }
        Body::Cancellation(cancel) => {
            let parsed = Cancellation::parse(&raw::InvtCancel::from(cancel))?;
            (
                Doc::Cancellation(Box::new(parsed)),
                cancel.app_type.clone(),
                cancel.encode_to_vec(),
            )
        }
        Body::Refund(refund) => {
            let parsed = Refund::parse(&raw::InvtRefund::from(refund))?;
            (
                Doc::Refund(Box::new(parsed)),
                refund.app_type.clone(),
                refund.encode_to_vec(),
            )
        }
        Body::LogisticsStatus(status) => {
            let parsed = LogisticsStatus::parse(&raw::LogisticsStatus::from(status))?;
            (
                Doc::LogisticsStatus(Box::new(parsed)),
                status.app_type.clone(),
                status.encode_to_vec(),
            )
        }
    })
}

/// The first problem's code, and every problem in one message (`path: message; ...`).
fn summarize(problems: &[Problem]) -> (String, String) {
    let code = problems
        .first()
        .map_or_else(|| "bg.invalid".to_owned(), |p| p.code.to_string());
    let message = problems
        .iter()
        .map(|problem| format!("{}: {}", problem.path, problem.message))
        .collect::<Vec<_>>()
        .join("; ");
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: Vec<u8>) -> InRecord {
        InRecord {
            partition: 0,
            offset: 7,
            key: Some(key.as_bytes().to_vec()),
            value,
            timestamp_ms: 0,
        }
    }

    #[test]
    fn garbage_is_a_decode_dead_letter() {
        let dead = decode(record("a/b", vec![0xff, 0x00, 0x13])).unwrap_err();
        assert_eq!(
            (dead.class, dead.code.as_str()),
            ("decode", "bg.decode.protobuf")
        );
        assert_eq!(dead.offset, 7);
    }

    #[test]
    fn empty_body_and_wrong_key_are_dead_letters() {
        let empty = v1::Document {
            ebp_code: "E".into(),
            order_no: "O".into(),
            ..Default::default()
        };
        let dead = decode(record("E/O", empty.encode_to_vec())).unwrap_err();
        assert_eq!(dead.code, "bg.decode.empty_body");

        let payment = v1::Document {
            ebp_code: "E".into(),
            order_no: "O".into(),
            body: Some(Body::Payment(v1::Payment {
                ebp_code: "E".into(),
                order_no: "O".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let dead = decode(record("E/OTHER", payment.encode_to_vec())).unwrap_err();
        assert_eq!(
            (dead.class, dead.code.as_str()),
            ("unroutable", "bg.route.key_mismatch")
        );
        let dead = decode(record("E/O", payment.encode_to_vec())).unwrap_err();
        assert_eq!(
            dead.class, "invalid",
            "an empty payment must not parse: {dead:?}"
        );
    }
}
