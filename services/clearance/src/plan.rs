//! The batch planner: given the batch's documents and the stored state of their orders, decides
//! everything the batch changes, in memory, as rows to write. No I/O here, so every rule of the
//! pipeline (duplicates, changes, joins, allocation in record order, after-sales) is testable.

use crate::decode::{AppType, DeadLetter, Doc, Incoming};
use crate::state::{OrderKey, QuotaKey, StoredDeclaration, StoredDoc, StoredLine, StoredOrder};
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::allocation::{StockBalance, StockKey};
use bondgate_domain::authorization::{
    self, DeclarationParties, DocumentKind, OrderSenders, Refusal,
};
use bondgate_domain::codes::{self, ErrorCode};
use bondgate_domain::config::RulesConfig;
use bondgate_domain::documents::{Cancellation, OrderBundle, Refund};
use bondgate_domain::evaluate::{EvalContext, Evaluation, Outcome, evaluate};
use bondgate_domain::positive_list::PositiveList;
use chrono::{Datelike, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Receipt flows (`receipts.flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// CEB622: the inventory list.
    Inventory = 1,
    /// CEB624: a cancellation.
    Cancellation = 2,
    /// CEB626: a return.
    Refund = 3,
    /// CEB312/412/512-like: one document.
    Document = 4,
}

/// Kinds of stock movement (`stock_movements.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    /// Reserved for a held declaration.
    Reserve = 2,
    /// Reservation released (rejected or cancelled while held).
    Release = 3,
    /// Restored (cancellation of a released declaration, approved return).
    Restore = 5,
    /// Reserved and deducted at once (released in the same batch).
    ReserveAndDeduct = 6,
}

/// Reference data and settings the decisions use.
#[derive(Debug)]
pub struct Reference {
    /// The zone's account book (SKU to item).
    pub account_book: AccountBook,
    /// The positive list.
    pub positive_list: PositiveList,
    /// Limits, tax and risk rules.
    pub rules: RulesConfig,
    /// Key of the buyer ID-number hash.
    pub buyer_hash_key: Vec<u8>,
}

/// A document to store (insert or replace).
#[derive(Debug, Clone)]
pub struct DocRow {
    /// The order key.
    pub key: OrderKey,
    /// The payment's or waybill's own key.
    pub business_key: Option<(String, String)>,
    /// The document.
    pub incoming: Incoming,
}

/// A new declaration with its lines.
#[derive(Debug, Clone)]
pub struct NewDeclaration {
    /// Order key.
    pub key: OrderKey,
    /// Seller.
    pub ebc_code: String,
    /// Declaring agent (bondgate declares in the seller's name): with the platform and the
    /// seller, a party that may later cancel or return the inventory.
    pub agent_code: String,
    /// Payment company.
    pub pay_code: String,
    /// Logistics company.
    pub logistics_code: String,
    /// Waybill number.
    pub logistics_no: String,
    /// 800, 300 or 100.
    pub status: i32,
    /// Buyer hash.
    pub buyer_hash: Vec<u8>,
    /// Quota year.
    pub quota_year: i16,
    /// Evaluation (tax, lines, dutiable value, quota amount).
    pub evaluation: Evaluation,
    /// Codes of a rejection or hold.
    pub codes: Vec<String>,
    /// Reasons of a rejection or hold.
    pub reasons: Vec<String>,
    /// Lines: (gnum, ems_no, item_record_no, total_price) in evaluation order.
    pub line_items: Vec<(u32, String, String, Decimal)>,
    /// Receipts used, including this declaration's.
    pub receipt_seq: i32,
    /// Whether an invtNo is assigned (not for rejections).
    pub gets_invt_no: bool,
}

/// A change to an existing declaration (after-sales).
#[derive(Debug, Clone)]
pub struct DeclarationUpdate {
    /// Row id.
    pub id: i64,
    /// New quota amount.
    pub quota_amount: Decimal,
    /// A cancellation was approved.
    pub cancelled: bool,
    /// A return was approved.
    pub refunded: bool,
}

/// A stock movement; `declaration` names the order whose declaration it belongs to.
#[derive(Debug, Clone)]
pub struct Movement {
    /// The item.
    pub item: StockKey,
    /// What happened.
    pub kind: MovementKind,
    /// Change of `on_hand`.
    pub on_hand_delta: Decimal,
    /// Change of `reserved`.
    pub reserved_delta: Decimal,
    /// The order.
    pub declaration: OrderKey,
}

/// A receipt to write to the outbox.
#[derive(Debug, Clone)]
pub struct ReceiptRow {
    /// Order key.
    pub key: OrderKey,
    /// Flow.
    pub flow: Flow,
    /// Per-order sequence.
    pub sequence: i32,
    /// CEB returnStatus.
    pub status: i32,
    /// returnInfo.
    pub info: String,
    /// Customs codes.
    pub codes: Vec<String>,
}

/// A cancellation or return application to store, under the order it arrived for.
#[derive(Debug, Clone)]
pub struct AfterSaleRow {
    /// `Flow::Cancellation` or `Flow::Refund`.
    pub flow: Flow,
    /// The order it arrived for.
    pub key: OrderKey,
    /// The inventory number it names (not necessarily its order's: then it was refused).
    pub invt_no: String,
    /// 399 approved or 100 refused.
    pub status: i32,
    /// The document.
    pub incoming: Incoming,
}

/// Everything a batch writes.
#[derive(Debug, Default)]
pub struct Writes {
    /// Orders to store.
    pub orders: Vec<DocRow>,
    /// Payments to store.
    pub payments: Vec<DocRow>,
    /// Waybills to store.
    pub waybills: Vec<DocRow>,
    /// Order keys whose stored order document is deleted.
    pub deleted_orders: Vec<OrderKey>,
    /// Payment keys deleted.
    pub deleted_payments: Vec<(String, String)>,
    /// Waybill keys deleted.
    pub deleted_waybills: Vec<(String, String)>,
    /// Cancellations and returns to store, approved or refused.
    pub after_sales: Vec<AfterSaleRow>,
    /// New declarations.
    pub declarations: Vec<NewDeclaration>,
    /// Changed declarations.
    pub declaration_updates: Vec<DeclarationUpdate>,
    /// Stock movements (the item balances follow from them).
    pub movements: Vec<Movement>,
    /// Quota changes per buyer and year.
    pub quota_deltas: BTreeMap<QuotaKey, Decimal>,
    /// Receipts.
    pub receipts: Vec<ReceiptRow>,
    /// Held declarations for officers: order key and reasons.
    pub review_tasks: Vec<(OrderKey, Vec<String>)>,
    /// Review tasks closed by a cancellation: declaration id and decision.
    pub review_tasks_closed: Vec<i64>,
    /// Dead letters.
    pub dead_letters: Vec<DeadLetter>,
    /// Orders left waiting: key, partition, receipt sequence.
    pub pending: Vec<(OrderKey, i32, i32)>,
    /// Orders no longer waiting.
    pub pending_done: Vec<OrderKey>,
    /// Receipt sequence of orders without a declaration that got a document-level receipt.
    pub pending_seq: Vec<(OrderKey, i32)>,
}

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
}

/// The working state of one order during the batch.
#[derive(Debug)]
pub struct OrderWork {
    key: OrderKey,
    partition: i32,
    slots: [Slot; 3],
    stored_keys: [Option<(String, String)>; 3],
    declaration: Option<StoredDeclaration>,
    pending: Option<String>,
    receipt_seq: i32,
    after_sales: Vec<Incoming>,
}

const ORDER: usize = 0;
const PAYMENT: usize = 1;
const WAYBILL: usize = 2;

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

    /// The sealed payload of a stored slot (to decrypt for the join).
    pub fn stored_payloads(&self) -> [Option<&[u8]>; 3] {
        fn payload(slot: &Slot) -> Option<&[u8]> {
            match slot {
                Slot::Stored(doc) => Some(doc.payload.as_slice()),
                _ => None,
            }
        }
        [
            payload(&self.slots[0]),
            payload(&self.slots[1]),
            payload(&self.slots[2]),
        ]
    }

    /// The documents that arrived in this batch, by slot.
    pub fn new_docs(&self) -> [Option<&Incoming>; 3] {
        fn new(slot: &Slot) -> Option<&Incoming> {
            match slot {
                Slot::New(incoming) => Some(incoming.as_ref()),
                _ => None,
            }
        }
        [
            new(&self.slots[0]),
            new(&self.slots[1]),
            new(&self.slots[2]),
        ]
    }

    /// Who sent the document in `slot` (stored or arrived in this batch).
    fn slot_sender(&self, slot: usize) -> Option<&str> {
        match &self.slots[slot] {
            Slot::Empty => None,
            Slot::Stored(doc) => Some(&doc.sender_code),
            Slot::New(incoming) => Some(&incoming.sender_code),
        }
    }

    /// Whether the stored or new order in this work vouches for the buyer's identity, counted
    /// only when its sender is its platform (`buyer_verified` is the flag as sent).
    pub fn identity_vouched(&self, buyer_verified: bool) -> bool {
        let sender = self.slot_sender(ORDER).unwrap_or_default();
        authorization::identity_vouched(buyer_verified, sender, &self.key.0)
    }

    /// The parties of the declaration as stored at declaration time.
    fn declaration_parties(&self) -> Option<DeclarationParties> {
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

    /// Cancellations and returns of this batch, in record order.
    pub fn after_sales(&self) -> &[Incoming] {
        &self.after_sales
    }
}

/// Builds a batch's writes.
#[derive(Debug, Default)]
pub struct Planner {
    /// The result.
    pub writes: Writes,
    claimed_payments: HashMap<(String, String), OrderKey>,
    claimed_waybills: HashMap<(String, String), OrderKey>,
    /// `(platform, seller)` bindings of the batch's seller-sent orders.
    bindings: HashSet<(String, String)>,
}

fn document_slot(doc: &Doc) -> Option<usize> {
    match doc {
        Doc::Order(_) => Some(ORDER),
        Doc::Payment(_) => Some(PAYMENT),
        Doc::Waybill(_) => Some(WAYBILL),
        Doc::Cancellation(_) | Doc::Refund(_) => None,
    }
}

fn business_key(doc: &Doc) -> Option<(String, String)> {
    match doc {
        Doc::Payment(p) => Some((p.pay_code.to_string(), p.pay_transaction_id.clone())),
        Doc::Waybill(w) => Some((w.logistics_code.to_string(), w.logistics_no.clone())),
        _ => None,
    }
}

/// The customs code of a refused duplicate or change, per slot.
fn duplicate_code(slot: usize) -> ErrorCode {
    match slot {
        ORDER => codes::ORDER_DUPLICATE,
        PAYMENT => codes::PAYMENT_DUPLICATE,
        _ => codes::WAYBILL_DUPLICATE,
    }
}

impl Planner {
    /// Records that `owners` already hold these payment and waybill keys, and which sellers
    /// their platforms bound.
    pub fn with_owners(
        payments: HashMap<(String, String), OrderKey>,
        waybills: HashMap<(String, String), OrderKey>,
        bindings: HashSet<(String, String)>,
    ) -> Self {
        Self {
            claimed_payments: payments,
            claimed_waybills: waybills,
            bindings,
            ..Self::default()
        }
    }

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
                self.refuse(work, Flow::Document, codes::ORDER_ALREADY_DECLARED, "");
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
            Doc::Cancellation(_) | Doc::Refund(_) => return Ok(()),
        };
        let replaces = matches!(incoming.app_type, AppType::Change | AppType::Delete);
        match work.slot_sender(slot) {
            Some(original) if replaces => authorization::authorize_change(kind, sender, original),
            _ => Ok(()),
        }
    }

    /// Answers a record its sender may not send, and changes nothing else.
    fn refuse_unauthorized(&mut self, work: &mut OrderWork, flow: Flow, refusal: &Refusal) {
        self.refuse(work, flow, refusal.error_code(), &refusal.to_string());
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

    /// Answers a refused record of `flow` with a processing-exception receipt: its
    /// `returnStatus` is the (negative) code itself, as the CEB receipts carry them (CBEC.md
    /// §2.5, §2.10), with the code's text or `detail` in `returnInfo`.
    fn refuse(&mut self, work: &mut OrderWork, flow: Flow, code: ErrorCode, detail: &str) {
        let info = code.return_info(detail);
        self.receipt(work, flow, code.code, info, vec![code.code.to_string()]);
    }

    fn receipt(
        &mut self,
        work: &mut OrderWork,
        flow: Flow,
        status: i32,
        info: String,
        codes: Vec<String>,
    ) {
        work.receipt_seq += 1;
        self.writes.receipts.push(ReceiptRow {
            key: work.key.clone(),
            flow,
            sequence: work.receipt_seq,
            status,
            info,
            codes,
        });
    }

    /// After all documents of the batch: store new documents, and mark the order waiting when it
    /// is still incomplete (or no longer waiting when it is complete).
    pub fn finish_documents(&mut self, work: &OrderWork) {
        for (slot, incoming) in work.new_docs().into_iter().enumerate() {
            let Some(incoming) = incoming else { continue };
            let row = DocRow {
                key: work.key.clone(),
                business_key: work.stored_keys[slot].clone(),
                incoming: incoming.clone(),
            };
            match slot {
                ORDER => self.writes.orders.push(row),
                PAYMENT => self.writes.payments.push(row),
                _ => self.writes.waybills.push(row),
            }
        }
        let waiting = work.pending.as_deref() == Some("waiting");
        if work.is_complete() {
            if waiting {
                self.writes.pending_done.push(work.key.clone());
            }
        } else if work.declaration.is_none() {
            if work.pending.is_none() {
                self.writes
                    .pending
                    .push((work.key.clone(), work.partition, work.receipt_seq));
            } else {
                self.writes
                    .pending_seq
                    .push((work.key.clone(), work.receipt_seq));
            }
        }
    }
}

/// The buyer hash (raw bytes of the keyed HMAC).
pub fn buyer_hash(key: &[u8], id_number: &str) -> Vec<u8> {
    let hex_digest = bondgate_domain::privacy::hash_id_number(key, id_number);
    hex::decode(hex_digest).expect("hash_id_number returns hex")
}

/// What the planner needs to decide a complete order.
#[derive(Debug)]
pub struct Decision<'a> {
    /// The order's working state.
    pub work: &'a mut OrderWork,
    /// The joined documents.
    pub bundle: OrderBundle,
    /// The platform vouched for the buyer's identity.
    pub buyer_verified: bool,
}

/// Stock rows the complete orders need: their SKUs' items.
pub fn items_needed(bundle: &OrderBundle, book: &AccountBook, into: &mut BTreeSet<StockKey>) {
    for line in &bundle.order.lines {
        let item = line.item_no.as_deref().and_then(|sku| book.by_sku(sku));
        if let Some(item) = item {
            into.insert(StockKey::new(
                item.ems_no.clone(),
                item.item_record_no.clone(),
            ));
        }
    }
}

/// The quota row of a bundle's buyer.
pub fn quota_key(bundle: &OrderBundle, reference: &Reference) -> QuotaKey {
    let hash = buyer_hash(&reference.buyer_hash_key, &bundle.order.buyer.id_number);
    let year = i16::try_from(bundle.order.app_time.value().year()).unwrap_or(i16::MAX);
    (hash, year)
}

impl Planner {
    /// Decides a complete order against the running stock and quota of the batch.
    pub fn decide(
        &mut self,
        decision: Decision<'_>,
        reference: &Reference,
        stock: &mut BTreeMap<StockKey, StockBalance>,
        quotas: &mut HashMap<QuotaKey, Decimal>,
    ) {
        let Decision {
            work,
            bundle,
            buyer_verified,
        } = decision;
        let quota = quota_key(&bundle, reference);
        let used = quotas.get(&quota).copied().unwrap_or_default();
        let weights = BTreeMap::new();
        let context = EvalContext {
            account_book: &reference.account_book,
            positive_list: &reference.positive_list,
            config: &reference.rules,
            buyer_annual_used_cny: used,
            weight_used_kg: &weights,
            buyer_identity_verified: buyer_verified,
        };
        let mut evaluation = evaluate(&bundle, &context);
        let line_items = line_items(&bundle, &evaluation, &reference.account_book);
        if !matches!(evaluation.outcome, Outcome::Reject { .. })
            && let Err(reason) = take_stock(stock, &line_items, &evaluation)
        {
            evaluation.outcome = Outcome::Reject {
                codes: vec![codes::INSUFFICIENT_STOCK],
                reasons: vec![reason],
            };
        }
        self.record_decision(work, bundle, evaluation, line_items, quota, quotas);
    }

    fn record_decision(
        &mut self,
        work: &mut OrderWork,
        bundle: OrderBundle,
        evaluation: Evaluation,
        line_items: Vec<(u32, String, String, Decimal)>,
        quota: QuotaKey,
        quotas: &mut HashMap<QuotaKey, Decimal>,
    ) {
        let summary = evaluation.outcome.summary();
        let (status, codes, reasons) = (i32::from(summary.status), summary.codes, summary.reasons);
        let accepted = status != 100;
        if accepted {
            *quotas.entry(quota.clone()).or_default() += evaluation.quota_amount;
            *self.writes.quota_deltas.entry(quota.clone()).or_default() += evaluation.quota_amount;
            self.stock_movements(work, &line_items, &evaluation, status == 800);
        }
        self.decision_receipts(work, status, &codes, &reasons);
        if status == 300 {
            self.writes
                .review_tasks
                .push((work.key.clone(), reasons.clone()));
        }
        self.writes.declarations.push(NewDeclaration {
            key: work.key.clone(),
            ebc_code: bundle.order.ebc_code.to_string(),
            agent_code: bundle.order.ebc_code.to_string(),
            pay_code: bundle.payment.pay_code.to_string(),
            logistics_code: bundle.waybill.logistics_code.to_string(),
            logistics_no: bundle.waybill.logistics_no.clone(),
            status,
            buyer_hash: quota.0,
            quota_year: quota.1,
            evaluation,
            codes,
            reasons,
            line_items: if accepted { line_items } else { Vec::new() },
            receipt_seq: work.receipt_seq,
            gets_invt_no: accepted,
        });
    }

    fn stock_movements(
        &mut self,
        work: &OrderWork,
        line_items: &[(u32, String, String, Decimal)],
        evaluation: &Evaluation,
        released: bool,
    ) {
        for (line, (_, ems_no, item_record_no, _)) in evaluation.lines.iter().zip(line_items) {
            let (kind, on_hand_delta, reserved_delta) = if released {
                (MovementKind::ReserveAndDeduct, -line.qty, Decimal::ZERO)
            } else {
                (MovementKind::Reserve, Decimal::ZERO, line.qty)
            };
            self.writes.movements.push(Movement {
                item: StockKey::new(ems_no.clone(), item_record_no.clone()),
                kind,
                on_hand_delta,
                reserved_delta,
                declaration: work.key.clone(),
            });
        }
    }

    fn decision_receipts(
        &mut self,
        work: &mut OrderWork,
        status: i32,
        codes: &[String],
        reasons: &[String],
    ) {
        match status {
            800 | 300 => {
                self.receipt(
                    work,
                    Flow::Inventory,
                    120,
                    "[Code:1800;Desc:逻辑校验通过]".into(),
                    vec![],
                );
                let info = if status == 800 {
                    "[Code:2600;Desc:放行]".to_owned()
                } else {
                    format!("[Code:3000;Desc:人工审核] {}", reasons.join("; "))
                };
                self.receipt(work, Flow::Inventory, status, info, vec![]);
            }
            _ => {
                let info = format!("[code:{};Desc:{}]", codes.join(","), reasons.join("; "));
                self.receipt(work, Flow::Inventory, 100, info, codes.to_vec());
            }
        }
    }
}

/// For each evaluated line: gnum, ems_no, item_record_no and the order line's total price.
fn line_items(
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    book: &AccountBook,
) -> Vec<(u32, String, String, Decimal)> {
    evaluation
        .lines
        .iter()
        .filter_map(|line| {
            let order_line = bundle.order.lines.iter().find(|l| l.gnum == line.gnum)?;
            let item = order_line
                .item_no
                .as_deref()
                .and_then(|sku| book.by_sku(sku))?;
            Some((
                line.gnum,
                item.ems_no.clone(),
                line.item_record_no.clone(),
                order_line.total_price.value(),
            ))
        })
        .collect()
}

/// Takes the order's quantities from the running balances, all or nothing.
fn take_stock(
    stock: &mut BTreeMap<StockKey, StockBalance>,
    line_items: &[(u32, String, String, Decimal)],
    evaluation: &Evaluation,
) -> Result<(), String> {
    let mut needs: BTreeMap<StockKey, Decimal> = BTreeMap::new();
    for (line, (_, ems_no, item_record_no, _)) in evaluation.lines.iter().zip(line_items) {
        *needs
            .entry(StockKey::new(ems_no.clone(), item_record_no.clone()))
            .or_default() += line.qty;
    }
    for (key, qty) in &needs {
        let available = stock
            .get(key)
            .map_or(Decimal::ZERO, StockBalance::available);
        if *qty > available {
            return Err(format!(
                "账册[{}]料号[{}]库存不足：需要[{qty}]，可用[{available}]",
                key.ems_no, key.item_record_no
            ));
        }
    }
    for (key, qty) in needs {
        let balance = stock.entry(key).or_default();
        // Checked just above: a failure here is a bug.
        assert!(
            balance.reserve(qty).is_ok(),
            "availability checked before reserving"
        );
    }
    Ok(())
}

impl Planner {
    /// Applies a cancellation (CEB623) to an order's declaration.
    pub fn cancel(
        &mut self,
        work: &mut OrderWork,
        incoming: Incoming,
        cancellation: &Cancellation,
        lines: &[StoredLine],
        stock: &mut BTreeMap<StockKey, StockBalance>,
        quotas: &mut HashMap<QuotaKey, Decimal>,
    ) {
        let verdict = self.cancellation_verdict(work, &incoming, cancellation);
        let invt_no = cancellation.head.invt_no.to_string();
        match verdict {
            Verdict::Duplicate => {}
            Verdict::Unauthorized(refusal) => {
                self.refuse_unauthorized(work, Flow::Cancellation, &refusal);
                let status = refusal.error_code().code;
                self.store_application(work, Flow::Cancellation, invt_no, status, incoming);
            }
            Verdict::Refused(code, detail) => {
                self.refuse(work, Flow::Cancellation, code, &detail);
                self.store_application(work, Flow::Cancellation, invt_no, code.code, incoming);
            }
            Verdict::Approved(declaration) => {
                let released = declaration.status == 800;
                for line in lines {
                    let item = StockKey::new(line.ems_no.clone(), line.item_record_no.clone());
                    let balance = stock.entry(item.clone()).or_default();
                    let (kind, on_hand_delta, reserved_delta) = if released {
                        assert!(balance.restore(line.qty).is_ok(), "restoring cannot fail");
                        (MovementKind::Restore, line.qty, Decimal::ZERO)
                    } else {
                        assert!(
                            balance.unreserve(line.qty).is_ok(),
                            "reserved by this declaration"
                        );
                        (MovementKind::Release, Decimal::ZERO, -line.qty)
                    };
                    let declaration_key = work.key.clone();
                    self.writes.movements.push(Movement {
                        item,
                        kind,
                        on_hand_delta,
                        reserved_delta,
                        declaration: declaration_key,
                    });
                }
                self.credit_quota(&declaration, declaration.quota_amount, quotas);
                if declaration.status == 300 {
                    self.writes.review_tasks_closed.push(declaration.id);
                }
                self.writes.declaration_updates.push(DeclarationUpdate {
                    id: declaration.id,
                    quota_amount: Decimal::ZERO,
                    cancelled: true,
                    refunded: false,
                });
                let info = "[Code:2300;Desc:审核通过],撤单申请审核通过,清单已成功撤单".to_owned();
                self.receipt(work, Flow::Cancellation, 399, info, vec![]);
                self.store_application(work, Flow::Cancellation, invt_no, 399, incoming);
                if let Some(stored) = work.declaration.as_mut() {
                    stored.closed = true;
                    stored.quota_amount = Decimal::ZERO;
                }
            }
        }
    }

    fn cancellation_verdict(
        &self,
        work: &OrderWork,
        incoming: &Incoming,
        cancellation: &Cancellation,
    ) -> Verdict {
        let kind = DocumentKind::Cancellation;
        let invt_no = cancellation.head.invt_no.as_str();
        if let Err(refusal) = authorize_after_sale(work, kind, incoming, invt_no) {
            return Verdict::Unauthorized(refusal);
        }
        let Some(declaration) = work.declaration.clone() else {
            return Verdict::Refused(codes::CANCEL_STATUS_INVALID, "订单尚未申报清单".into());
        };
        if let Some(digest) = &declaration.cancellation_digest {
            return if digest[..] == incoming.digest[..] {
                Verdict::Duplicate
            } else {
                Verdict::Refused(codes::CANCEL_DUPLICATE, String::new())
            };
        }
        if declaration.invt_no.as_deref() != Some(invt_no) {
            let detail = format!("系统中不存在清单编号为[{invt_no}]的清单");
            return Verdict::Refused(codes::CANCEL_INVENTORY_NOT_FOUND, detail);
        }
        if declaration.closed {
            return Verdict::Refused(codes::CANCEL_DUPLICATE, String::new());
        }
        let status = bondgate_domain::status::ReturnStatus::parse(&declaration.status.to_string());
        match status.map(|s| bondgate_domain::aftersales::check_cancellable(s, false)) {
            Ok(Ok(())) => Verdict::Approved(declaration),
            _ => Verdict::Refused(codes::CANCEL_STATUS_INVALID, String::new()),
        }
    }

    /// Keeps an application under the order it arrived for, whatever its fate.
    fn store_application(
        &mut self,
        work: &OrderWork,
        flow: Flow,
        invt_no: String,
        status: i32,
        incoming: Incoming,
    ) {
        self.writes.after_sales.push(AfterSaleRow {
            flow,
            key: work.key.clone(),
            invt_no,
            status,
            incoming,
        });
    }

    fn credit_quota(
        &mut self,
        declaration: &StoredDeclaration,
        credit: Decimal,
        quotas: &mut HashMap<QuotaKey, Decimal>,
    ) {
        let key = (declaration.buyer_hash.clone(), declaration.quota_year);
        *quotas.entry(key.clone()).or_default() -= credit;
        *self.writes.quota_deltas.entry(key).or_default() -= credit;
    }

    /// Applies a return (CEB625) to a released declaration.
    pub fn refund(
        &mut self,
        work: &mut OrderWork,
        incoming: Incoming,
        refund: &Refund,
        lines: &[StoredLine],
        stock: &mut BTreeMap<StockKey, StockBalance>,
        quotas: &mut HashMap<QuotaKey, Decimal>,
    ) {
        let invt_no = refund.head.invt_no.to_string();
        match self.refund_verdict(work, &incoming, refund, lines) {
            Verdict::Duplicate => {}
            Verdict::Unauthorized(refusal) => {
                self.refuse_unauthorized(work, Flow::Refund, &refusal);
                let status = refusal.error_code().code;
                self.store_application(work, Flow::Refund, invt_no, status, incoming);
            }
            Verdict::Refused(code, detail) => {
                self.refuse(work, Flow::Refund, code, &detail);
                self.store_application(work, Flow::Refund, invt_no, code.code, incoming);
            }
            Verdict::Approved(declaration) => {
                let returned: Vec<(u32, Decimal)> = refund
                    .lines
                    .iter()
                    .map(|line| (line.gnum, line.qty.value()))
                    .collect();
                for (gnum, qty) in &returned {
                    let Some(line) = lines
                        .iter()
                        .find(|l| u32::try_from(l.gnum).ok() == Some(*gnum))
                    else {
                        continue;
                    };
                    let item = StockKey::new(line.ems_no.clone(), line.item_record_no.clone());
                    assert!(
                        stock.entry(item.clone()).or_default().restore(*qty).is_ok(),
                        "restore"
                    );
                    self.writes.movements.push(Movement {
                        item,
                        kind: MovementKind::Restore,
                        on_hand_delta: *qty,
                        reserved_delta: Decimal::ZERO,
                        declaration: work.key.clone(),
                    });
                }
                let credit = refund_credit(&declaration, lines, &returned);
                self.credit_quota(&declaration, credit, quotas);
                self.writes.declaration_updates.push(DeclarationUpdate {
                    id: declaration.id,
                    quota_amount: declaration.quota_amount - credit,
                    cancelled: false,
                    refunded: true,
                });
                self.receipt(
                    work,
                    Flow::Refund,
                    399,
                    "[Code:2300;Desc:审核通过],退货申请审核通过".into(),
                    vec![],
                );
                self.store_application(work, Flow::Refund, invt_no, 399, incoming);
                if let Some(stored) = work.declaration.as_mut() {
                    stored.closed = true;
                }
            }
        }
    }

    fn refund_verdict(
        &self,
        work: &OrderWork,
        incoming: &Incoming,
        refund: &Refund,
        lines: &[StoredLine],
    ) -> Verdict {
        let kind = DocumentKind::Refund;
        if let Err(refusal) = authorize_after_sale(work, kind, incoming, &invt_no_text(refund)) {
            return Verdict::Unauthorized(refusal);
        }
        let Some(declaration) = work.declaration.clone() else {
            return Verdict::Refused(codes::REFUND_LINE_NOT_FOUND, "订单尚未申报清单".into());
        };
        if let Some(digest) = &declaration.refund_digest {
            return if digest[..] == incoming.digest[..] {
                Verdict::Duplicate
            } else {
                Verdict::Refused(codes::CANCEL_DUPLICATE, "退货申请已经申报过".into())
            };
        }
        let invt_no = invt_no_text(refund);
        if declaration.invt_no.as_deref() != Some(invt_no.as_str()) {
            let detail = format!("清单[{invt_no}]查无此数据");
            return Verdict::Refused(codes::REFUND_INVENTORY_NOT_FOUND, detail);
        }
        if declaration.status != 800 || declaration.closed {
            return Verdict::Refused(
                codes::CANCEL_STATUS_INVALID,
                "清单状态不符合退货要求".into(),
            );
        }
        let applied_on = refund.head.app_time.value().date();
        let released_on = declaration.released_at.map(|at| at.date_naive());
        if let Err(error) =
            bondgate_domain::aftersales::check_refund_window(released_on, applied_on)
        {
            return Verdict::Refused(codes::CANCEL_STATUS_INVALID, error.to_string());
        }
        let original: Vec<_> = lines
            .iter()
            .filter_map(|l| {
                let gcode = bondgate_domain::types::HsCode::parse(&l.gcode).ok()?;
                Some((u32::try_from(l.gnum).ok()?, gcode, l.qty))
            })
            .collect();
        let problems = bondgate_domain::documents::check_refund_lines(refund, &original);
        if let Some(problem) = problems.first() {
            return Verdict::Refused(codes::REFUND_LINE_NOT_FOUND, problem.message.clone());
        }
        Verdict::Approved(declaration)
    }
}

fn invt_no_text(refund: &Refund) -> String {
    refund.head.invt_no.to_string()
}

/// The quota to credit back for returned lines, in proportion to their dutiable prices.
fn refund_credit(
    declaration: &StoredDeclaration,
    lines: &[StoredLine],
    returned: &[(u32, Decimal)],
) -> Decimal {
    let taxes: Vec<bondgate_domain::tax::LineTax> = lines
        .iter()
        .filter_map(|l| {
            Some(bondgate_domain::tax::LineTax {
                gnum: u32::try_from(l.gnum).ok()?,
                item_record_no: l.item_record_no.clone(),
                gcode: bondgate_domain::types::HsCode::parse(&l.gcode).ok()?,
                qty: l.qty,
                tax_price: l.tax_price,
                customs: l.customs,
                vat: l.vat,
                consumption: l.consumption,
                high_end: false,
            })
        })
        .collect();
    bondgate_domain::limits::quota_credit_for_refund(declaration.quota_amount, &taxes, returned)
        .min(declaration.quota_amount)
}

enum Verdict {
    Duplicate,
    /// The sender is not a party of the declaration (ADR 0006).
    Unauthorized(Refusal),
    Refused(ErrorCode, String),
    Approved(StoredDeclaration),
}

/// Only a party of the order's declaration, as stored when it was declared, may cancel or return
/// its inventory; the parties the application names count for nothing.
fn authorize_after_sale(
    work: &OrderWork,
    kind: DocumentKind,
    incoming: &Incoming,
    invt_no: &str,
) -> Result<(), Refusal> {
    let parties = work.declaration_parties();
    authorization::authorize_after_sale(kind, &incoming.sender_code, invt_no, parties.as_ref())
}

/// Today's date for numbers (preNo carries the declaration date).
pub fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}
