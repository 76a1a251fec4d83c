//! From generated orders to HTTP requests: documents grouped per sender, at most
//! [`DOCUMENTS_PER_REQUEST_MAX`] per request, in generation order (a sender's request leaves as
//! soon as it is full, so the three documents of an order travel close together), plus one
//! deliberately invalid document, alone in its request, per [`VALID_PER_INVALID`] valid ones.

use std::collections::BTreeMap;

use bondgate_loadtest::generate::{ExpectedOutcome, GeneratedOrder, Generator, GeneratorConfig};
use rust_decimal::Decimal;
use serde_json::Value;

/// The intake's limit of documents per request.
pub const DOCUMENTS_PER_REQUEST_MAX: usize = 100;
/// Valid documents per deliberately invalid one (about 1 %).
pub const VALID_PER_INVALID: u64 = 100;

/// One generated order, as the summary needs it.
#[derive(Debug, Clone)]
pub struct PlannedOrder {
    /// Platform code.
    pub ebp_code: String,
    /// Order number.
    pub order_no: String,
    /// What the generator expects clearance to decide.
    pub expected: ExpectedOutcome,
    /// The amount the limits compare, CNY: clean orders at or above clearance's review
    /// threshold are expected to be held (see [`crate::demo::generator_config`]).
    pub limit_amount_cny: Decimal,
}

/// How a deliberately invalid document is wrong, and the answer it should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// A truncated JSON body: 400.
    Malformed,
    /// An order whose `goodsValue` is not a number: 422.
    BadField,
    /// A payment sent with the platform's key: 403.
    WrongSender,
}

/// One request to `POST /v1/documents`.
#[derive(Debug, Clone)]
pub struct Request {
    /// Customs code of the sender whose key signs the request.
    pub sender: String,
    /// The JSON array.
    pub body: Vec<u8>,
    /// For each valid document, the index of its order in [`Plan::orders`].
    pub orders: Vec<u32>,
    /// Set for a deliberately invalid request (one document, no order).
    pub invalid: Option<Invalid>,
}

/// Everything to send.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The orders, by index.
    pub orders: Vec<PlannedOrder>,
    /// The requests, in sending order.
    pub requests: Vec<Request>,
    /// Valid documents.
    pub documents: u64,
    /// Deliberately invalid documents.
    pub invalid_documents: u64,
}

/// Documents of one sender waiting to fill a request.
#[derive(Debug, Default)]
struct Pending {
    documents: Vec<Vec<u8>>,
    orders: Vec<u32>,
}

fn json_array(documents: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(documents.iter().map(|d| d.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(document);
    }
    body.push(b']');
    body
}

impl Request {
    /// Documents it carries: its valid ones, or the one invalid document.
    pub fn documents(&self) -> u64 {
        if self.invalid.is_some() {
            1
        } else {
            self.orders.len() as u64
        }
    }
}

impl Pending {
    fn take(&mut self, sender: &str) -> Request {
        let pending = std::mem::take(self);
        Request {
            sender: sender.to_owned(),
            body: json_array(&pending.documents),
            orders: pending.orders,
            invalid: None,
        }
    }
}

/// A deliberately invalid request made from `order`, the `n`-th of its kind.
fn invalid_request(order: &GeneratedOrder, json: &[Value; 3], n: u64) -> Request {
    let platform = order.envelopes[0].sender_code.clone();
    let (invalid, body) = match n % 3 {
        0 => (
            Invalid::Malformed,
            b"[{\"type\":\"order\",\"orderHead\":".to_vec(),
        ),
        1 => {
            let mut bad = json[0].clone();
            bad["orderHead"]["goodsValue"] = Value::from("abc");
            bad["orderHead"]["orderNo"] = Value::from(format!("INVALID{n:010}"));
            (
                Invalid::BadField,
                json_array(&[bad.to_string().into_bytes()]),
            )
        }
        _ => (
            Invalid::WrongSender,
            json_array(&[json[1].to_string().into_bytes()]),
        ),
    };
    Request {
        sender: platform,
        body,
        orders: Vec::new(),
        invalid: Some(invalid),
    }
}

/// Generates `orders` orders of `config` and plans their requests.
pub fn plan(config: GeneratorConfig, orders: u32) -> anyhow::Result<Plan> {
    let mut generator = Generator::new(config)?;
    let mut plan = Plan::default();
    let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
    for index in 0..orders {
        let order = generator.next_order();
        let json = order.to_json();
        for (envelope, document) in order.envelopes.iter().zip(&json) {
            let sender = &envelope.sender_code;
            let buffer = pending.entry(sender.clone()).or_default();
            buffer.documents.push(document.to_string().into_bytes());
            buffer.orders.push(index);
            if buffer.documents.len() == DOCUMENTS_PER_REQUEST_MAX {
                plan.requests.push(buffer.take(sender));
            }
            plan.documents += 1;
            if plan.documents.is_multiple_of(VALID_PER_INVALID) {
                let n = plan.invalid_documents;
                plan.requests.push(invalid_request(&order, &json, n));
                plan.invalid_documents += 1;
            }
        }
        plan.orders.push(PlannedOrder {
            ebp_code: order.ebp_code().to_owned(),
            order_no: order.order.head.order_no.clone(),
            expected: order.meta.expected,
            limit_amount_cny: order.meta.limit_amount_cny,
        });
    }
    for (sender, buffer) in &mut pending {
        if !buffer.documents.is_empty() {
            plan.requests.push(buffer.take(sender));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_hold_one_sender_and_at_most_100_documents() {
        let plan = plan(crate::demo::generator_config(7), 500).unwrap();
        assert_eq!(plan.orders.len(), 500);
        assert_eq!(plan.documents, 1_500);
        assert_eq!(plan.invalid_documents, 15);
        let mut per_order = vec![0u32; 500];
        for request in &plan.requests {
            let documents: Vec<Value> = match request.invalid {
                Some(Invalid::Malformed) => continue,
                _ => serde_json::from_slice(&request.body).unwrap(),
            };
            assert!(documents.len() <= DOCUMENTS_PER_REQUEST_MAX);
            if request.invalid.is_some() {
                assert_eq!(documents.len(), 1);
                continue;
            }
            assert_eq!(documents.len(), request.orders.len());
            for (document, &order) in documents.iter().zip(&request.orders) {
                per_order[order as usize] += 1;
                let sender = match document["type"].as_str().unwrap() {
                    "order" => &document["orderHead"]["ebpCode"],
                    "payment" => &document["payCode"],
                    _ => &document["logisticsCode"],
                };
                assert_eq!(sender.as_str().unwrap(), request.sender);
            }
        }
        assert!(per_order.iter().all(|&n| n == 3));
    }
}
