//! The batch planner: pure over the batch's snapshot ([`crate::state::Snapshot`] and the locked
//! rows), it decides everything the batch changes and returns it as rows to write. No I/O here, so
//! every rule of the pipeline (duplicates, changes, joins, allocation in record order,
//! after-sales, numbering) is unit-tested (`tests.rs`).
//!
//! The rules themselves live in `bondgate-domain`; the planner keeps the batch's bookkeeping
//! (running stock, quotas and weights, receipt sequences) and calls the domain for decisions
//! ([`bondgate_domain::evaluate`]), authorization, allocation, after-sales verdicts, receipt
//! statuses and texts ([`bondgate_domain::receipts`]) and the CEB621.
//!
//! Read top to bottom: [`documents`] applies the batch's documents to their orders, [`decide`]
//! decides the orders that became complete, [`after_sales`] answers cancellations, returns and
//! logistics statuses, [`declare`] numbers the declarations and builds their CEB621.

pub mod after_sales;
pub mod decide;
pub mod declare;
pub mod documents;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};

use bondgate_domain::allocation::StockKey;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::documents::OrderBundle;
use bondgate_domain::evaluate::Evaluation;
use bondgate_domain::receipts::{Flow, Receipt};
use bondgate_domain::types::TariffLine;
use bondgate_storage::reference::ReferenceData;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use crate::decode::{DeadLetter, Incoming};
use crate::state::{Locked, OrderKey, QuotaKey, StoredOrder, WeightKey};

pub use documents::OrderWork;

/// What the decisions depend on besides the documents and the locked rows.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Account book and positive list.
    pub reference: &'a ReferenceData,
    /// Limits, tax, risk and after-sales rules.
    pub rules: &'a RulesConfig,
    /// Key of the buyer ID-number hash.
    pub buyer_hash_key: &'a [u8],
    /// The database clock when the batch began.
    pub now: DateTime<Utc>,
}

/// China Standard Time, the zone's and the customs' clock (CEB timestamps, calendar years).
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

impl Context<'_> {
    /// The batch's time in Beijing.
    pub fn local_now(&self) -> NaiveDateTime {
        self.now.with_timezone(&beijing()).naive_local()
    }

    /// The batch's date in Beijing.
    pub fn today(&self) -> NaiveDate {
        self.local_now().date()
    }

    /// The calendar year a declaration of this batch counts toward (the buyer's annual limit).
    pub fn quota_year(&self) -> i16 {
        i16::try_from(self.today().year()).unwrap_or(i16::MAX)
    }
}

/// A date of the database clock, in Beijing.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing()).date_naive()
}

/// Kinds of stock movement (`stock_movements.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    /// Reserved for a held declaration.
    Reserve = 2,
    /// Reservation released (rejected or cancelled while held).
    Release = 3,
    /// Restored (cancellation of a released declaration still in the zone).
    Restore = 5,
    /// Reserved and deducted at once (released in the same batch).
    ReserveAndDeduct = 6,
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

/// The numbers of a new declaration, from the `declaration_numbers` sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbers {
    /// Enterprise document number.
    pub cop_no: String,
    /// Pre-entry number (`B` + date + 9 digits).
    pub pre_no: String,
    /// Inventory number, for accepted declarations.
    pub invt_no: Option<String>,
}

/// A new declaration with its lines.
#[derive(Debug, Clone)]
pub struct NewDeclaration {
    /// Order key.
    pub key: OrderKey,
    /// The joined documents it declares.
    pub bundle: Box<OrderBundle>,
    /// Declaring agent (bondgate declares in the seller's name): with the platform and the
    /// seller, a party that may later cancel or return the inventory.
    pub agent_code: String,
    /// The latest receipt status: 800, 300, 100 or a negative exception code.
    pub status: i32,
    /// Buyer hash.
    pub buyer_hash: Vec<u8>,
    /// Quota year (the database clock's, at declaration).
    pub quota_year: i16,
    /// Evaluation (tax, lines, dutiable value, quota amount).
    pub evaluation: Evaluation,
    /// What it counts toward the buyer's yearly weight caps (accepted declarations only).
    pub weights: BTreeMap<TariffLine, Decimal>,
    /// Codes of a rejection or hold.
    pub codes: Vec<String>,
    /// Reasons of a rejection or hold.
    pub reasons: Vec<String>,
    /// Lines: (gnum, ems_no, item_record_no, total_price) in evaluation order.
    pub line_items: Vec<(u32, String, String, Decimal)>,
    /// Receipts used, including this declaration's.
    pub receipt_seq: i32,
    /// Whether an invtNo is assigned (not for rejections).
    pub accepted: bool,
    /// Numbers, assigned by [`declare::number`].
    pub numbers: Option<Numbers>,
    /// The CEB621 as declared (accepted declarations), built by [`declare::number`].
    pub ceb621: Option<String>,
}

/// A change to an existing declaration (after-sales).
#[derive(Debug, Clone)]
pub struct DeclarationUpdate {
    /// Row id.
    pub id: i64,
    /// New quota amount.
    pub quota_amount: Decimal,
    /// New weights.
    pub weights: BTreeMap<TariffLine, Decimal>,
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
    /// Per-order sequence.
    pub sequence: i32,
    /// What the domain decided it says.
    pub receipt: Receipt,
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
    /// 399 approved, or the refusal's code.
    pub status: i32,
    /// The document.
    pub incoming: Incoming,
    /// Its preNo (`C`/`T` + date + 9 digits), assigned by [`declare::number`].
    pub pre_no: String,
}

/// A logistics status (CEB513) to store: the parcel left the zone.
#[derive(Debug, Clone)]
pub struct ExitRow {
    /// The order.
    pub key: OrderKey,
    /// `(logisticsCode, logisticsNo)`.
    pub waybill: (String, String),
    /// `logisticsStatus`.
    pub logistics_status: String,
    /// The declaration whose parcel left, when accepted.
    pub declaration_id: Option<i64>,
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
    /// Logistics statuses to store.
    pub exits: Vec<ExitRow>,
    /// New declarations.
    pub declarations: Vec<NewDeclaration>,
    /// Changed declarations.
    pub declaration_updates: Vec<DeclarationUpdate>,
    /// Stock movements (the item balances follow from them).
    pub movements: Vec<Movement>,
    /// Quota changes per buyer and year.
    pub quota_deltas: BTreeMap<QuotaKey, Decimal>,
    /// Weight changes per buyer, year and capped tariff line.
    pub weight_deltas: BTreeMap<WeightKey, Decimal>,
    /// Receipts.
    pub receipts: Vec<ReceiptRow>,
    /// Held declarations for officers: order key and reasons.
    pub review_tasks: Vec<(OrderKey, Vec<String>)>,
    /// Review tasks closed by a cancellation: declaration ids.
    pub review_tasks_closed: Vec<i64>,
    /// Dead letters.
    pub dead_letters: Vec<DeadLetter>,
    /// Orders left waiting: key, partition, receipt sequence.
    pub pending: Vec<(OrderKey, i32, i32)>,
    /// New pending rows (in `pending`) that only keep a receipt sequence: the key has no
    /// document yet, so it is not waiting for any ('idle', never swept).
    pub pending_idle: Vec<OrderKey>,
    /// Idle rows whose first document arrived: waiting from now on.
    pub pending_woken: Vec<OrderKey>,
    /// Orders no longer waiting.
    pub pending_done: Vec<OrderKey>,
    /// Receipt sequence of orders without a declaration that got a document-level receipt.
    pub pending_seq: Vec<(OrderKey, i32)>,
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

impl Planner {
    /// A planner that knows which orders hold the batch's payment and waybill keys and which
    /// sellers their platforms bound.
    pub fn new(
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

    /// The first phase of a batch, before any row is locked: each order's documents applied in
    /// record order to what is stored of it (`stored`), orders in first-record order.
    pub fn apply_batch(
        &mut self,
        order: &[OrderKey],
        groups: Vec<Vec<Incoming>>,
        mut stored: impl FnMut(&OrderKey, &[Incoming]) -> StoredOrder,
    ) -> Vec<OrderWork> {
        let mut works = Vec::with_capacity(order.len());
        for (key, documents) in order.iter().zip(groups) {
            let partition = documents.first().map_or(0, |d| d.partition);
            let mut work = OrderWork::new(key.clone(), partition, stored(key, &documents));
            for document in documents {
                self.apply(&mut work, document);
            }
            self.finish_documents(&work);
            works.push(work);
        }
        works
    }

    /// The second phase, on the locked rows: the complete orders decided, then the after-sales
    /// documents answered, each in record order.
    pub fn settle(
        &mut self,
        works: &mut [OrderWork],
        complete: Vec<Option<decide::Complete>>,
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        self.decide_all(works, complete, ctx, locked);
        self.after_sales_all(works, ctx, locked);
    }

    /// Adds the next receipt of `work`'s order.
    fn receipt(&mut self, work: &mut OrderWork, receipt: Receipt) {
        work.receipt_seq += 1;
        self.writes.receipts.push(ReceiptRow {
            key: work.key.clone(),
            sequence: work.receipt_seq,
            receipt,
        });
    }
}

/// The buyer hash (raw bytes of the keyed HMAC).
pub fn buyer_hash(key: &[u8], id_number: &str) -> Vec<u8> {
    let hex_digest = bondgate_domain::privacy::hash_id_number(key, id_number);
    hex::decode(hex_digest).expect("hash_id_number returns hex")
}
