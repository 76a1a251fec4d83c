//! The record stream: the orders of a [`Generator`] encoded as `cbec.documents.v1` records,
//! with bad records mixed in and the documents of each order shuffled within a window.
//!
//! Shuffling: every record gets a nominal position `n` (its place in generation order) and a
//! sort key `n + u` with `u` uniform in `[0, window / 2)`; records leave in sort-key order. A
//! record then lands within `window / 2 - 1` positions of `n`, so the three documents of an order
//! (nominal `n..n + 3`) end at most `window` positions apart, any of them may come first, and a
//! consumer's batch boundary regularly falls between them. The stream holds only the records
//! that may still be overtaken: about `window / 2` of them.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::parties::{PAYMENT_COMPANIES, STOREFRONTS};
use super::{GenerateError, Generator, GeneratorConfig, OrderMeta, RECORD_STREAM, people};

/// Sort-key units per nominal position: the resolution of the shuffle.
const SCALE: u64 = 1 << 16;

/// How a bad record is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadKind {
    /// The value is not a protobuf `Document` (a CEB XML message produced straight to the topic).
    NotProtobuf,
    /// A `Document` cut short.
    Truncated,
    /// A `Document` without a body.
    EmptyBody,
    /// A valid `Document` under a key that names another order.
    KeyMismatch,
}

impl BadKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::NotProtobuf,
        Self::Truncated,
        Self::EmptyBody,
        Self::KeyMismatch,
    ];
}

/// What a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An order's CEB311.
    Order,
    /// An order's CEB411.
    Payment,
    /// An order's CEB511.
    Waybill,
    /// A bad record, belonging to no generated order.
    Bad(BadKind),
}

/// One Kafka record for `cbec.documents.v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The key, `ebpCode/orderNo` (except for [`BadKind::KeyMismatch`]).
    pub key: Vec<u8>,
    /// The value: an encoded `Document`, except for some bad records.
    pub value: Vec<u8>,
    /// The generated order the record belongs to; `None` for bad records.
    pub order_no: Option<String>,
    /// What it carries.
    pub kind: RecordKind,
}

/// A record waiting in the shuffle.
#[derive(Debug)]
struct Pending {
    sort_key: u64,
    nominal: u64,
    record: Record,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.sort_key, self.nominal).cmp(&(other.sort_key, other.nominal))
    }
}

/// Records of `orders_max` generated orders plus bad records, shuffled; an [`Iterator`].
///
/// The stream keeps each order's [`OrderMeta`] until [`RecordStream::drain_order_metas`] takes
/// it; call it regularly in long runs.
#[derive(Debug)]
pub struct RecordStream {
    generator: Generator,
    rng: ChaCha8Rng,
    orders_max: u64,
    /// Chance that a step makes a bad record instead of an order's three documents.
    bad_step_probability: f64,
    /// Sort-key jitter, exclusive upper bound (`window / 2` positions).
    jitter_max: u64,
    pending: BinaryHeap<Reverse<Pending>>,
    next_nominal: u64,
    bad_made: u64,
    stopped: bool,
    metas: Vec<OrderMeta>,
}

impl RecordStream {
    /// The stream of `orders_max` orders of `config`.
    pub fn new(config: GeneratorConfig, orders_max: u64) -> Result<Self, GenerateError> {
        Ok(Self::from_generator(Generator::new(config)?, orders_max))
    }

    /// The stream of the next `orders_max` orders of `generator`.
    pub fn from_generator(generator: Generator, orders_max: u64) -> Self {
        let bad = generator.config.bad_record_fraction;
        let window = u64::from(generator.config.window_records);
        Self {
            rng: generator.side_rng(RECORD_STREAM),
            orders_max: generator.orders_generated() + orders_max,
            // A step makes 1 bad record with chance p or 3 documents otherwise, so bad records
            // are p / (p + 3 (1 - p)) of all: solve for p.
            bad_step_probability: 3.0 * bad / (1.0 + 2.0 * bad),
            jitter_max: window / 2 * SCALE,
            pending: BinaryHeap::new(),
            next_nominal: 0,
            bad_made: 0,
            stopped: false,
            metas: Vec::new(),
            generator,
        }
    }

    /// Stops making orders; the stream still yields the records of orders already made, so
    /// every order it started is complete.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Takes the metas of the orders made since the last call, in generation order.
    pub fn drain_order_metas(&mut self) -> Vec<OrderMeta> {
        std::mem::take(&mut self.metas)
    }

    /// Orders made so far.
    pub fn orders_generated(&self) -> u64 {
        self.generator.orders_generated()
    }

    /// Bad records made so far.
    pub fn bad_records_generated(&self) -> u64 {
        self.bad_made
    }

    /// The generator behind the stream.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    fn exhausted(&self) -> bool {
        self.stopped || self.generator.orders_generated() >= self.orders_max
    }

    fn push(&mut self, record: Record) {
        let jitter = if self.jitter_max == 0 {
            0
        } else {
            self.rng.random_range(0..self.jitter_max)
        };
        let nominal = self.next_nominal;
        self.next_nominal += 1;
        self.pending.push(Reverse(Pending {
            sort_key: nominal * SCALE + jitter,
            nominal,
            record,
        }));
    }

    /// Makes either one bad record or the three documents of the next order.
    fn step(&mut self) {
        if self.rng.random_bool(self.bad_step_probability) {
            let record = self.bad_record();
            self.push(record);
            return;
        }
        let order = self.generator.next_order();
        let key = order.key().as_bytes().to_vec();
        let kinds = [RecordKind::Order, RecordKind::Payment, RecordKind::Waybill];
        for (document, kind) in order.documents().into_iter().zip(kinds) {
            self.push(Record {
                key: key.clone(),
                value: document.encode_to_vec(),
                order_no: Some(order.order.head.order_no.clone()),
                kind,
            });
        }
        self.metas.push(order.meta);
    }

    /// A bad record: a payment for an order that does not exist, spoilt as a random
    /// [`BadKind`] says.
    fn bad_record(&mut self) -> Record {
        let kind = BadKind::ALL[self.rng.random_range(0..BadKind::ALL.len())];
        let config = &self.generator.config;
        let order_no = format!(
            "{}BAD{:016X}{:010}",
            config.order_no_prefix, config.seed, self.bad_made
        );
        self.bad_made += 1;
        let front = STOREFRONTS[self.rng.random_range(0..STOREFRONTS.len())];
        let key = format!("{}/{order_no}", front.platform.code).into_bytes();
        let mut document = self.bad_payment(front.platform.code, &order_no);
        let value = match kind {
            BadKind::NotProtobuf => ceb_xml(&order_no).into_bytes(),
            BadKind::Truncated => truncated(&document),
            BadKind::EmptyBody => {
                document.body = None;
                document.encode_to_vec()
            }
            BadKind::KeyMismatch => document.encode_to_vec(),
        };
        let key = if kind == BadKind::KeyMismatch {
            let other = STOREFRONTS
                .iter()
                .find(|f| f.platform.code != front.platform.code)
                .map_or("0000000000", |f| f.platform.code);
            format!("{other}/{order_no}").into_bytes()
        } else {
            key
        };
        Record {
            key,
            value,
            order_no: None,
            kind: RecordKind::Bad(kind),
        }
    }

    fn bad_payment(&mut self, ebp_code: &str, order_no: &str) -> v1::Document {
        let payer = people::person(&mut self.rng);
        let company = PAYMENT_COMPANIES[0];
        let bytes: [u8; 16] = self.rng.random();
        let guid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        v1::Document {
            document_id: guid.to_string(),
            ebp_code: ebp_code.to_owned(),
            order_no: order_no.to_owned(),
            sender_code: company.code.to_owned(),
            received_at_ms: self.generator.clock_ms,
            source_format: "CEB411Message".to_owned(),
            body: Some(Body::Payment(v1::Payment {
                guid: guid.hyphenated().to_string().to_uppercase(),
                app_type: "1".to_owned(),
                app_status: "2".to_owned(),
                pay_code: company.code.to_owned(),
                pay_name: company.name.to_owned(),
                pay_transaction_id: format!("X{order_no}"),
                order_no: order_no.to_owned(),
                ebp_code: ebp_code.to_owned(),
                payer_id_type: "1".to_owned(),
                payer_id_number: payer.id_number,
                payer_name: payer.name,
                amount_paid: "268.00".to_owned(),
                currency: "142".to_owned(),
                ..v1::Payment::default()
            })),
        }
    }
}

/// A CEB411 message in XML, as a sender who skipped intake might produce it.
fn ceb_xml(order_no: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ceb:CEB411Message version=\"1.0\" \
         xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"><ceb:Payment><ceb:PaymentHead>\
         <ceb:orderNo>{order_no}</ceb:orderNo><ceb:amountPaid>268.00</ceb:amountPaid>\
         </ceb:PaymentHead></ceb:Payment></ceb:CEB411Message>"
    )
}

/// The encoded document cut at half its length or later, wherever decoding first fails. The
/// body is the last field, so cutting one byte short always fails.
fn truncated(document: &v1::Document) -> Vec<u8> {
    let mut bytes = document.encode_to_vec();
    let mut cut = bytes.len() / 2;
    while cut + 1 < bytes.len() && v1::Document::decode(&bytes[..cut]).is_ok() {
        cut += 1;
    }
    bytes.truncate(cut);
    bytes
}

impl Iterator for RecordStream {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            // Records not yet made have sort keys of at least `next_nominal * SCALE`, so one
            // below that can leave now.
            let ready = self.pending.peek().is_some_and(|Reverse(top)| {
                self.exhausted() || top.sort_key < self.next_nominal * SCALE
            });
            if ready {
                return self.pending.pop().map(|Reverse(pending)| pending.record);
            }
            if self.exhausted() {
                return None;
            }
            self.step();
        }
    }
}
