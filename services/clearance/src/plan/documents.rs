//! The three-document join: each order, payment and waybill of the batch, in record order, fills,
//! replaces or empties its slot of its order — or is refused (who sent it, a duplicate, a change
//! after declaration) with a receipt and no other effect.

use bondgate_domain::authorization::{
    self, DeclarationParties, DocumentKind, OrderSenders, Refusal,
};
use bondgate_domain::codes::{self, ErrorCode};
use bondgate_domain::documents::OrderBundle;
use bondgate_domain::receipts::{self, Flow};

use super::{DocRow, Planner};
use crate::decode::{AppType, Doc, Incoming};
use crate::state::{OrderKey, StoredDeclaration, StoredDoc, StoredOrder};

/// One slot of the three-document join.
#[derive(Debug, Clone)]
enum Slot {
    Empty,
    Stored(StoredDoc),
    New(Box<Incoming>),
}

impl Slot {
    fn digest(&self) -> Option<&[u8]> {
        match self {
            Slot::Empty => None,
            Slot::Stored(doc) => Some(&doc.digest),
            Slot::New(incoming) => Some(&incoming.digest),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Slot::Empty)
    }

    /// The document and its buyer-verified flag (`None` when a stored one is unreadable).
    fn parsed(&self) -> Option<(&Doc, bool)> {
        match self {
            Slot::Empty => None,
            Slot::Stored(doc) => doc.parsed.as_ref().map(|(doc, flag)| (doc, *flag)),
            Slot::New(incoming) => Some((&incoming.doc, incoming.buyer_verified)),
        }
    }

    fn sender(&self) -> Option<&str> {
        match self {
            Slot::Empty => None,
            Slot::Stored(doc) => Some(&doc.sender_code),
            Slot::New(incoming) => Some(&incoming.sender_code),
        }
    }
}

const ORDER: usize = 0;
const PAYMENT: usize = 1;
const WAYBILL: usize = 2;

/// The working state of one order during the batch.
#[derive(Debug)]
pub struct OrderWork {
    pub(super) key: OrderKey,
    partition: i32,
    slots: [Slot; 3],
    stored_keys: [Option<(String, String)>; 3],
    pub(super) declaration: Option<StoredDeclaration>,
    pending: Option<String>,
    pub(super) receipt_seq: i32,
    pub(super) after_sales: Vec<Incoming>,
}

impl OrderWork {
    /// Working state from what is stored.
    pub fn new(key: OrderKey, partition: i32, stored: StoredOrder) -> Self {
        let slot = |doc: Option<StoredDoc>| doc.map_or(Slot::Empty, Slot::Stored);
        let stored_keys = [
            None,
            stored.payment.as_ref().and_then(|d| d.business_key.clone()),
            stored.waybill.as_ref().and_then(|d| d.business_key.clone()),
        ];
        let receipt_seq = match (&stored.declaration, &stored.pending) {
            (Some(declaration), _) => declaration.receipt_seq,
            (None, Some((_, seq))) => *seq,
            (None, None) => 0,
        };
        Self {
            key,
            partition,
            slots: [
                slot(stored.order),
                slot(stored.payment),
                slot(stored.waybill),
            ],
            stored_keys,
            declaration: stored.declaration,
            pending: stored.pending.map(|(state, _)| state),
            receipt_seq,
            after_sales: Vec::new(),
        }
    }

    /// True when the three documents are there and nothing was declared yet.
    pub fn is_complete(&self) -> bool {
        self.declaration.is_none()
            && self.pending.as_deref() != Some("closed")
            && self.slots.iter().all(|slot| !slot.is_empty())
    }

    /// The joined documents of a complete order, and whether its platform vouched for the
    /// buyer's identity (only the platform may: ADR 0006).
    pub fn bundle(&self) -> Option<(OrderBundle, bool)> {
        if !self.is_complete() {
            return None;
        }
        let parsed = [
            self.slots[ORDER].parsed(),
            self.slots[PAYMENT].parsed(),
            self.slots[WAYBILL].parsed(),
        ];
        let [
            Some((Doc::Order(order), verified)),
            Some((Doc::Payment(payment), _)),
            Some((Doc::Waybill(waybill), _)),
        ] = parsed
        else {
            tracing::error!(order = ?self.key, "a complete order has an unreadable document");
            return None;
        };
        let sender = self.slots[ORDER].sender().unwrap_or_default();
        let vouched = authorization::identity_vouched(verified, sender, &self.key.0);
        let bundle = OrderBundle {
            order: order.as_ref().clone(),
            payment: payment.as_ref().clone(),
            waybill: waybill.as_ref().clone(),
        };
        Some((bundle, vouched))
    }

    /// The parties of the declaration as stored at declaration time.
    pub(super) fn declaration_parties(&self) -> Option<DeclarationParties> {
        self.declaration.as_ref().map(|d| DeclarationParties {
            ebp_code: self.key.0.clone(),
            ebc_code: d.ebc_code.clone(),
            agent_code: d.agent_code.clone(),
        })
    }

    /// The order key.
    pub fn key(&self) -> &OrderKey {
        &self.key
    }

    /// The declaration, when there is one.
    pub fn declaration(&self) -> Option<&StoredDeclaration> {
        self.declaration.as_ref()
    }

    /// Cancellations, returns and logistics statuses of this batch, in record order.
    pub fn after_sales(&self) -> &[Incoming] {
        &self.after_sales
    }
}

fn document_slot(doc: &Doc) -> Option<usize> {
    match doc {
        Doc::Order(_) => Some(ORDER),
        Doc::Payment(_) => Some(PAYMENT),
        Doc::Waybill(_) => Some(WAYBILL),
        Doc::Cancellation(_) | Doc::Refund(_) | Doc::LogisticsStatus(_) => None,
    }
}

fn business_key(doc: &Doc) -> Option<(String, String)> {
    match doc {
        Doc::Payment(p) => Some((p.pay_code.to_string(), p.pay_transaction_id.clone())),
        Doc::Waybill(w) => Some((w.logistics_code.to_string(), w.logistics_no.clone())),
        _ => None,
    }
}

/// The customs code of a refused duplicate, per slot.
fn duplicate_code(slot: usize) -> ErrorCode {
    match slot {
        ORDER => codes::ORDER_DUPLICATE,
        PAYMENT => codes::PAYMENT_DUPLICATE,
        _ => codes::WAYBILL_DUPLICATE,
    }
}

/// The customs code of a change refused because the order is declared, per slot (SPEC2022 §7:
/// -301011, -401008, -504016).
fn declared_code(slot: usize) -> ErrorCode {
    match slot {
        ORDER => codes::ORDER_ALREADY_DECLARED,
        PAYMENT => codes::PAYMENT_ALREADY_DECLARED,
        _ => codes::WAYBILL_ALREADY_DECLARED,
    }
}

impl Planner {
    /// Applies one document to its order, in record order.
    pub fn apply(&mut self, work: &mut OrderWork, incoming: Incoming) {
        let Some(slot) = document_slot(&incoming.doc) else {
            work.after_sales.push(incoming);
            return;
        };
        if let Err(refusal) = self.authorize(work, slot, &incoming) {
            self.refuse_unauthorized(work, Flow::Document, &refusal);
            return;
        }
        if let Some(code) = self.conflict(work, slot, &incoming) {
            self.refuse(work, Flow::Document, code, "");
            return;
        }
        let current = &work.slots[slot];
        let same = current.digest() == Some(&incoming.digest[..]);
        match (current.is_empty(), same, incoming.app_type) {
            // A duplicate (same business key, same content) changes nothing.
            (false, true, AppType::New | AppType::Change) => {}
            // Deleting what is not there is a no-op too: deletions are idempotent.
            (true, _, AppType::Delete) => {}
            (false, _, _) if work.declaration.is_some() => {
                self.refuse(work, Flow::Document, declared_code(slot), "");
            }
            (false, false, AppType::New) => {
                self.refuse(work, Flow::Document, duplicate_code(slot), "");
            }
            (false, _, AppType::Delete) => {
                self.delete_slot(work, slot);
            }
            (true, _, AppType::New | AppType::Change) | (false, false, AppType::Change) => {
                self.fill_slot(work, slot, incoming);
            }
        }
    }

    /// The sender may send this kind of document, and a change or deletion comes from the sender
    /// of the document it replaces (ADR 0006). Decided on the envelope's sender and the stored
    /// state only, never on the parties the document names.
    fn authorize(&self, work: &OrderWork, slot: usize, incoming: &Incoming) -> Result<(), Refusal> {
        let sender = incoming.sender_code.as_str();
        let kind = match &incoming.doc {
            Doc::Order(order) => {
                let senders = OrderSenders {
                    ebp_code: order.key.ebp_code.as_str(),
                    ebc_code: order.ebc_code.as_str(),
                    identity_vouched: incoming.buyer_verified,
                };
                authorization::authorize_order(sender, senders, &self.bindings)?;
                DocumentKind::Order
            }
            Doc::Payment(payment) => {
                authorization::authorize_payment(sender, payment.pay_code.as_str())?;
                DocumentKind::Payment
            }
            Doc::Waybill(waybill) => {
                authorization::authorize_waybill(sender, waybill.logistics_code.as_str())?;
                DocumentKind::Waybill
            }
            _ => return Ok(()),
        };
        let replaces = matches!(incoming.app_type, AppType::Change | AppType::Delete);
        match work.slots[slot].sender() {
            Some(original) if replaces => authorization::authorize_change(kind, sender, original),
            _ => Ok(()),
        }
    }

    /// Answers a record its sender may not send, and changes nothing else.
    pub(super) fn refuse_unauthorized(
        &mut self,
        work: &mut OrderWork,
        flow: Flow,
        refusal: &Refusal,
    ) {
        self.refuse(work, flow, refusal.error_code(), &refusal.to_string());
    }

    /// Answers a refused record with the domain's refusal receipt.
    pub(super) fn refuse(
        &mut self,
        work: &mut OrderWork,
        flow: Flow,
        code: ErrorCode,
        detail: &str,
    ) {
        self.receipt(work, receipts::refusal(flow, code, detail));
    }

    /// A payment or waybill key already used by another order.
    fn conflict(&self, work: &OrderWork, slot: usize, incoming: &Incoming) -> Option<ErrorCode> {
        let key = business_key(&incoming.doc)?;
        let claimed = if slot == PAYMENT {
            &self.claimed_payments
        } else {
            &self.claimed_waybills
        };
        let owner = claimed.get(&key)?;
        (owner != &work.key).then_some(duplicate_code(slot))
    }

    fn fill_slot(&mut self, work: &mut OrderWork, slot: usize, incoming: Incoming) {
        if let Some(key) = business_key(&incoming.doc) {
            // A change to another payment/waybill number frees the old one.
            if let Some(old) = work.stored_keys[slot].take().filter(|old| *old != key) {
                self.forget_stored(slot, old);
            }
            let claimed = if slot == PAYMENT {
                &mut self.claimed_payments
            } else {
                &mut self.claimed_waybills
            };
            claimed.insert(key.clone(), work.key.clone());
            work.stored_keys[slot] = Some(key);
        }
        work.slots[slot] = Slot::New(Box::new(incoming));
    }

    fn delete_slot(&mut self, work: &mut OrderWork, slot: usize) {
        if let Slot::Stored(_) = work.slots[slot] {
            match (slot, work.stored_keys[slot].take()) {
                (ORDER, _) => self.writes.deleted_orders.push(work.key.clone()),
                (_, Some(old)) => self.forget_stored(slot, old),
                (_, None) => {}
            }
        }
        work.slots[slot] = Slot::Empty;
    }

    fn forget_stored(&mut self, slot: usize, old: (String, String)) {
        if slot == PAYMENT {
            self.claimed_payments.remove(&old);
            self.writes.deleted_payments.push(old);
        } else {
            self.claimed_waybills.remove(&old);
            self.writes.deleted_waybills.push(old);
        }
    }

    /// Keeps the receipts answered after the documents (a refused cancellation, return or
    /// logistics status of an order not declared) in the sequence its pending row holds, so the
    /// order's next receipt (its declaration's, or the sweeper's -900104) never reuses a number.
    pub(super) fn pending_sequence(&mut self, work: &OrderWork) {
        let seq = work.receipt_seq;
        for (key, _, pending) in &mut self.writes.pending {
            if *key == work.key {
                *pending = seq;
            }
        }
        for (key, pending) in &mut self.writes.pending_seq {
            if *key == work.key {
                *pending = seq;
            }
        }
    }

    /// After all documents of the batch: store new documents, and mark the order waiting when it
    /// is still incomplete (or no longer waiting when it is complete).
    pub fn finish_documents(&mut self, work: &OrderWork) {
        for (slot, current) in work.slots.iter().enumerate() {
            let Slot::New(incoming) = current else {
                continue;
            };
            let row = DocRow {
                key: work.key.clone(),
                business_key: work.stored_keys[slot].clone(),
                incoming: incoming.as_ref().clone(),
            };
            match slot {
                ORDER => self.writes.orders.push(row),
                PAYMENT => self.writes.payments.push(row),
                _ => self.writes.waybills.push(row),
            }
        }
        let has_documents = work.slots.iter().any(|slot| !slot.is_empty());
        if work.is_complete() {
            // Waiting or idle (a complete order is never closed).
            if work.pending.is_some() {
                self.writes.pending_done.push(work.key.clone());
            }
        } else if work.declaration.is_none() {
            let key = work.key.clone();
            match work.pending.as_deref() {
                None => {
                    if !has_documents {
                        self.writes.pending_idle.push(key.clone());
                    }
                    let row = (key, work.partition, work.receipt_seq);
                    self.writes.pending.push(row);
                }
                Some(state) => {
                    if state == "idle" && has_documents {
                        self.writes.pending_woken.push(key.clone());
                    }
                    self.writes.pending_seq.push((key, work.receipt_seq));
                }
            }
        }
    }
}
