//! The world the planner tests run in: the seed reference data, the default rules, a database
//! clock, and an in-memory store that keeps between batches what `persist::write` would leave in
//! the database (documents, declarations with their lines, stock, quotas, weights, pending rows,
//! receipt sequences). A batch is planned with the same steps, in the same order, as
//! `Pipeline::plan`; only the I/O (snapshot, locks, number sequence) is served from the store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bondgate_domain::allocation::{StockBalance, StockKey};
use bondgate_domain::config::RulesConfig;
use bondgate_domain::receipts::Receipt;
use bondgate_domain::seed::{load_seed_account_book, load_seed_positive_list};
use bondgate_domain::types::CustomsOffice;
use bondgate_loadtest::generate::GeneratedOrder;
use bondgate_proto::Message;
use bondgate_proto::v1;
use bondgate_storage::reference::ReferenceData;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::decode::{Doc, InRecord, Incoming, decode};
use crate::pipeline::group_by_order;
use crate::plan::declare::{self, Declarer};
use crate::plan::{Context, MovementKind, NewDeclaration, Planner, Writes, buyer_hash, decide};
use crate::state::{Locked, OrderKey, QuotaKey, StoredDeclaration, StoredOrder, ToLock, WeightKey};

/// Key of the buyer ID-number hash.
pub const HASH_KEY: &[u8] = b"plan-tests-buyer-hash-key";
/// Customs office of the declarations (first four digits of invtNo).
pub const CUSTOMS: &str = "8012";
/// Units of every account-book item at the start, unless a test says otherwise.
pub const STOCK_ON_HAND: i64 = 1_000;
/// The seed account book's keeper: the CEB621 `areaCode`/`areaName`.
pub const AREA_CODE: &str = "5001980005";
/// Its name.
pub const AREA_NAME: &str = "两路果园港保税仓储有限公司（示例）";

/// The in-memory database and clock of a test.
#[derive(Debug)]
pub struct World {
    pub reference: ReferenceData,
    pub rules: RulesConfig,
    /// The database clock of the next batch.
    pub now: DateTime<Utc>,
    pub orders: HashMap<OrderKey, StoredOrder>,
    pub payment_owners: HashMap<(String, String), OrderKey>,
    pub waybill_owners: HashMap<(String, String), OrderKey>,
    pub bindings: HashSet<(String, String)>,
    pub stock: BTreeMap<StockKey, StockBalance>,
    pub quotas: HashMap<QuotaKey, Decimal>,
    pub weights: HashMap<WeightKey, Decimal>,
    /// Receipts written so far, by order and sequence (the table's unique key).
    pub receipts: BTreeSet<(OrderKey, i32)>,
    pub(super) customs_code: CustomsOffice,
    pub(super) next_offset: i64,
    pub(super) next_id: i64,
    pub(super) next_number: i64,
}

impl World {
    /// The seed reference data, default rules, [`STOCK_ON_HAND`] of every item, 2025-11-11
    /// 10:00 in Beijing (the generator's Singles' Day).
    pub fn new() -> Self {
        let reference = ReferenceData {
            account_book: load_seed_account_book().expect("the seed account book parses"),
            positive_list: load_seed_positive_list().expect("the seed positive list parses"),
        };
        let stock = reference
            .account_book
            .items()
            .iter()
            .map(|item| {
                let balance = StockBalance {
                    on_hand: Decimal::from(STOCK_ON_HAND),
                    reserved: Decimal::ZERO,
                };
                (StockKey::new(&item.ems_no, &item.item_record_no), balance)
            })
            .collect();
        Self {
            reference,
            rules: RulesConfig::default(),
            now: Utc.with_ymd_and_hms(2025, 11, 11, 2, 0, 0).unwrap(),
            orders: HashMap::new(),
            payment_owners: HashMap::new(),
            waybill_owners: HashMap::new(),
            bindings: HashSet::new(),
            stock,
            quotas: HashMap::new(),
            weights: HashMap::new(),
            receipts: BTreeSet::new(),
            customs_code: CustomsOffice::parse(CUSTOMS).unwrap(),
            next_offset: 0,
            next_id: 1,
            next_number: 1,
        }
    }

    /// What the planner's decisions depend on, at the world's clock.
    pub fn ctx(&self) -> Context<'_> {
        Context {
            reference: &self.reference,
            rules: &self.rules,
            buyer_hash_key: HASH_KEY,
            now: self.now,
        }
    }

    /// Moves the database clock.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// The stock key of a SKU of the seed account book.
    pub fn item(&self, sku: &str) -> StockKey {
        let item = self.reference.account_book.by_sku(sku).expect("a seed SKU");
        StockKey::new(&item.ems_no, &item.item_record_no)
    }

    /// Records on the documents topic, decoded as the consumer decodes them.
    pub fn decode(&mut self, documents: Vec<v1::Document>) -> Vec<Incoming> {
        documents
            .into_iter()
            .map(|document| {
                let key = format!("{}/{}", document.ebp_code, document.order_no);
                self.next_offset += 1;
                let record = InRecord {
                    partition: 0,
                    offset: self.next_offset,
                    key: Some(key.into_bytes()),
                    value: document.encode_to_vec(),
                    timestamp_ms: 0,
                };
                decode(record).unwrap_or_else(|dead| panic!("a valid document: {dead:?}"))
            })
            .collect()
    }

    /// Decodes, plans and stores one batch; returns what it wrote.
    pub fn run(&mut self, documents: Vec<v1::Document>) -> Writes {
        let incoming = self.decode(documents);
        let writes = self.plan(incoming);
        self.commit(&writes);
        writes
    }

    /// Plans one batch as `Pipeline::plan` does, without storing anything.
    pub fn plan(&self, incoming: Vec<Incoming>) -> Writes {
        let ctx = self.ctx();
        let (order, groups) = group_by_order(incoming);
        let mut planner = Planner::new(
            self.payment_owners.clone(),
            self.waybill_owners.clone(),
            self.bindings.clone(),
        );
        let mut works =
            planner.apply_batch(&order, groups, |key, documents| self.load(key, documents));
        let complete = decide::complete_orders(&works);
        let to_lock = decide::rows_to_lock(&works, &complete, &ctx);
        let mut locked = self.lock(&to_lock);
        planner.settle(&mut works, complete, &ctx, &mut locked);
        let needed = declare::numbers_needed(&planner.writes);
        let numbers: Vec<i64> = (self.next_number..).take(needed).collect();
        let declarer = Declarer {
            customs_code: &self.customs_code,
            signer: None,
        };
        declare::number(&mut planner.writes, &numbers, &ctx, &declarer)
            .expect("every accepted declaration gets its CEB621");
        planner.writes
    }

    /// The stored state of an order as `state::load_orders` and `state::load_lines` read it: the
    /// declaration's lines only when the batch has after-sales for the order.
    fn load(&self, key: &OrderKey, documents: &[Incoming]) -> StoredOrder {
        let mut stored = self.orders.get(key).cloned().unwrap_or_default();
        let after_sales = documents.iter().any(|d| {
            matches!(
                d.doc,
                Doc::Cancellation(_) | Doc::Refund(_) | Doc::LogisticsStatus(_)
            )
        });
        if let Some(declaration) = stored.declaration.as_mut().filter(|_| !after_sales) {
            declaration.lines.clear();
        }
        stored
    }

    /// The rows `state::lock` returns: existing items only, quota and weight rows created at 0.
    fn lock(&self, rows: &ToLock) -> Locked {
        Locked {
            stock: rows
                .items
                .iter()
                .filter_map(|key| Some((key.clone(), *self.stock.get(key)?)))
                .collect(),
            quotas: rows
                .buyers
                .iter()
                .map(|key| (key.clone(), self.used(key)))
                .collect(),
            weights: rows
                .weights
                .iter()
                .map(|key| (key.clone(), self.weight(key)))
                .collect(),
        }
    }

    /// The buyer's stored annual amount.
    pub fn used(&self, key: &QuotaKey) -> Decimal {
        self.quotas.get(key).copied().unwrap_or_default()
    }

    /// The buyer's stored yearly weight of a capped tariff line.
    pub fn weight(&self, key: &WeightKey) -> Decimal {
        self.weights.get(key).copied().unwrap_or_default()
    }

    /// The stored declaration of an order.
    pub fn declaration(&self, key: &OrderKey) -> &StoredDeclaration {
        self.orders[key]
            .declaration
            .as_ref()
            .expect("the order is declared")
    }

    /// The inventory number of an order's declaration.
    pub fn invt_no(&self, key: &OrderKey) -> String {
        self.declaration(key).invt_no.clone().expect("accepted")
    }
}

/// The order key of a generated order.
pub fn key_of(order: &GeneratedOrder) -> OrderKey {
    let head = &order.order.head;
    (head.ebp_code.clone(), head.order_no.clone())
}

/// The declaration's lines as a return names them: `(gnum, gcode, qty)`.
pub fn declared_lines(declaration: &StoredDeclaration) -> Vec<(i16, String, String)> {
    declaration
        .lines
        .iter()
        .map(|line| (line.gnum, line.gcode.to_string(), line.qty.to_string()))
        .collect()
}

/// The order, payment and waybill of a generated order, in that order.
pub fn documents(order: &GeneratedOrder) -> Vec<v1::Document> {
    order.documents().to_vec()
}

/// The receipts of an order in a batch: sequence and receipt, in the order written.
pub fn receipts_of<'w>(writes: &'w Writes, key: &OrderKey) -> Vec<(i32, &'w Receipt)> {
    writes
        .receipts
        .iter()
        .filter(|row| row.key == *key)
        .map(|row| (row.sequence, &row.receipt))
        .collect()
}

/// The receipt statuses of an order in a batch, in the order written.
pub fn statuses(writes: &Writes, key: &OrderKey) -> Vec<i32> {
    receipts_of(writes, key)
        .into_iter()
        .map(|(_, receipt)| receipt.status.code())
        .collect()
}

/// `expected` as the receipts `first`, `first + 1`, ... of an order.
pub fn numbered(first: i32, expected: &[Receipt]) -> Vec<(i32, &Receipt)> {
    (first..).zip(expected).collect()
}

/// The new declaration of an order in a batch.
pub fn declared<'w>(writes: &'w Writes, key: &OrderKey) -> &'w NewDeclaration {
    writes
        .declarations
        .iter()
        .find(|d| d.key == *key)
        .expect("the order is declared in this batch")
}

/// A buyer's quota row in the world's year.
pub fn quota_key(order: &GeneratedOrder) -> QuotaKey {
    let hash = buyer_hash(HASH_KEY, &order.order.head.buyer_id_number);
    (hash, 2025)
}

/// The stock movements of a batch as `(item, kind, on_hand_delta, reserved_delta, order)`.
pub fn movements(writes: &Writes) -> Vec<(StockKey, MovementKind, Decimal, Decimal, OrderKey)> {
    writes
        .movements
        .iter()
        .map(|m| {
            let deltas = (m.on_hand_delta, m.reserved_delta);
            (
                m.item.clone(),
                m.kind,
                deltas.0,
                deltas.1,
                m.declaration.clone(),
            )
        })
        .collect()
}
