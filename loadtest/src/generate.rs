//! A deterministic generator of realistic bonded-import (1210) traffic: per order a CEB311 order,
//! a CEB411 payment and a CEB511 waybill, as `cbec.documents.v1` records or as JSON for intake.
//!
//! The same [`GeneratorConfig`] (seed included) always gives the same bytes: every random choice
//! comes from ChaCha8 streams derived from the seed, and time comes from
//! [`GeneratorConfig::start_at_ms`], never from the clock. The traffic looks like a sale day:
//! Zipf-skewed SKUs ([`catalog`]), a pool of ordinary buyers, a few heavy buyers who run into
//! the annual limit, and a configurable share of orders built to be rejected (mismatched
//! documents, over the per-order limit). [`stream::RecordStream`] adds bad records and shuffles
//! the documents of each order within a window.
//!
//! Every order comes with an [`OrderMeta`] saying what clearance should decide, computed against
//! [`GeneratorConfig::rules`]. What the generator does not model: the warehouse's stock (seed
//! enough of it, `bondgate seed --stock`) and the trade mode (it assumes 1210).

pub mod catalog;
mod documents;
pub mod parties;
pub mod people;
pub mod stream;

use std::collections::HashMap;

use bondgate_ceb::model as raw;
use bondgate_domain::config::RulesConfig;
use bondgate_domain::limits::compared_amount;
use bondgate_domain::tax::{TaxLineInput, TaxRegime, assess};
use bondgate_proto::v1::{self, document::Body};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::catalog::{Catalog, CatalogError};
use self::people::Household;

pub use self::stream::{BadKind, Record, RecordKind, RecordStream};

/// 2025-11-11 00:00:00 Beijing time (Singles' Day), in milliseconds since the Unix epoch.
pub const SINGLES_DAY_2025_MS: i64 = 1_762_790_400_000;

/// ChaCha8 stream of the order generator; the record stream and buyers use others, so adding a
/// bad record or changing the window never changes the orders.
const ORDER_STREAM: u64 = 0;
/// ChaCha8 stream of [`stream::RecordStream`] (bad records, shuffling).
const RECORD_STREAM: u64 = 1;
/// First ChaCha8 stream of the buyers: buyer `i` uses `BUYER_STREAM_BASE + i`, so a buyer is the
/// same person whenever they come back.
const BUYER_STREAM_BASE: u64 = 1 << 32;

/// Beijing is UTC+8 all year; CEB timestamps are Beijing local time.
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
/// Freight of orders that do not ship free, fen.
const FREIGHTS_FEN: [i64; 4] = [600, 800, 1_000, 1_200];
/// Coupons (non-cash `discount`), fen.
const COUPONS_FEN: [i64; 4] = [500, 1_000, 2_000, 3_000];
/// A heavy buyer's order aims at goods of at least this much, fen.
const HEAVY_GOODS_MIN_FEN: i64 = 250_000;
/// Packaging of a parcel, grams.
const PACKAGING_G: i64 = 200;

/// What the traffic looks like. Fractions are of orders unless said otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Seed of every random choice; the same config gives the same bytes. Order numbers embed
    /// it, so runs with different seeds never share an order key.
    pub seed: u64,
    /// Prefix of order numbers (`{prefix}{seed:016X}{index:010}`).
    pub order_no_prefix: String,
    /// Submission time of the first order, ms since the Unix epoch; later orders follow 0 to 20
    /// ms apart (so a run stays within one calendar year, which the expectations assume).
    pub start_at_ms: i64,
    /// Ordinary buyers to draw from. One whose clean orders would pass the annual limit is
    /// replaced by a new buyer, so a clean order releases whatever order clearance sees them in.
    pub ordinary_buyers: u32,
    /// Heavy buyers: they place large orders (2,500 to 4,000 CNY) until they run into the
    /// annual limit.
    pub heavy_buyers: u32,
    /// Fraction of orders placed by heavy buyers ([`ExpectedOutcome::QuotaContested`]).
    pub heavy_order_fraction: f64,
    /// Fraction of orders whose documents disagree ([`ExpectedOutcome::Mismatch`]): amount paid
    /// ≠ `acturalPaid`, payer ≠ buyer, or the waybill's consignee differs.
    pub mismatch_fraction: f64,
    /// Fraction of multi-line orders above the per-order limit ([`ExpectedOutcome::OverLimit`]).
    pub over_limit_fraction: f64,
    /// Fraction of RECORDS that are bad (not a `Document`, truncated, empty body, wrong key).
    pub bad_record_fraction: f64,
    /// The documents of one order land at most this many positions apart in the record stream
    /// (at least 2 apart when the window is below 2, as they are then adjacent).
    pub window_records: u32,
    /// Skew of SKU popularity (Zipf exponent; 0 = uniform, 1.1 ≈ a third of lines on the top SKU).
    pub zipf_exponent: f64,
    /// Most lines per order (1 to 99; orders have 1 to this many, mostly few).
    pub lines_max: u32,
    /// The rules clearance applies; expectations and the withheld `taxTotal` follow them.
    pub rules: RulesConfig,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            order_no_prefix: "LT".to_owned(),
            start_at_ms: SINGLES_DAY_2025_MS,
            ordinary_buyers: 50_000,
            heavy_buyers: 8,
            heavy_order_fraction: 0.02,
            mismatch_fraction: 0.03,
            over_limit_fraction: 0.01,
            bad_record_fraction: 0.01,
            window_records: 64,
            zipf_exponent: 1.1,
            lines_max: 5,
            rules: RulesConfig::default(),
        }
    }
}

impl GeneratorConfig {
    /// Every problem of the config, or none.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let fractions = [
            ("heavy_order_fraction", self.heavy_order_fraction),
            ("mismatch_fraction", self.mismatch_fraction),
            ("over_limit_fraction", self.over_limit_fraction),
            ("bad_record_fraction", self.bad_record_fraction),
        ];
        for (name, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("{name} must be within 0..=1, got {value}"));
            }
        }
        if self.heavy_order_fraction + self.mismatch_fraction + self.over_limit_fraction > 1.0 {
            problems.push("the order fractions add up to more than 1".to_owned());
        }
        if self.bad_record_fraction >= 1.0 {
            problems.push("bad_record_fraction must be below 1".to_owned());
        }
        if self.ordinary_buyers == 0 {
            problems.push("ordinary_buyers must be at least 1".to_owned());
        }
        if self.heavy_buyers == 0 && self.heavy_order_fraction > 0.0 {
            problems.push("heavy_order_fraction > 0 needs heavy_buyers >= 1".to_owned());
        }
        if !(1..=99).contains(&self.lines_max) {
            problems.push(format!("lines_max must be 1..=99, got {}", self.lines_max));
        }
        if self.lines_max < 2 && self.over_limit_fraction > 0.0 {
            problems.push("over-limit orders have 2 lines or more: lines_max >= 2".to_owned());
        }
        if !(self.zipf_exponent >= 0.0 && self.zipf_exponent.is_finite()) {
            problems.push(format!(
                "zipf_exponent must be >= 0, got {}",
                self.zipf_exponent
            ));
        }
        let limits = Limits::of(&self.rules);
        let biggest_line = catalog::HOT_TO_COLD.iter().map(|i| i.1).max().unwrap_or(0);
        if limits.clean_ceiling_fen <= biggest_line + FREIGHTS_FEN[3] {
            problems.push("the rules leave no room for a clean one-line order".to_owned());
        }
        if limits.annual_max_fen < limits.clean_ceiling_fen {
            problems.push("the annual limit is below the per-order ceiling".to_owned());
        }
        problems
    }
}

/// Why a generator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The config is inconsistent; every problem is listed.
    #[error("invalid generator config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// The seed data does not fit.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// How the documents of a [`ExpectedOutcome::Mismatch`] order disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// The payment's `amountPaid` differs from the order's `acturalPaid`.
    AmountPaid,
    /// A relative paid: the payer's name and ID number differ from the buyer's.
    Payer,
    /// The waybill's consignee telephone or address differs from the order's.
    Consignee,
}

impl MismatchKind {
    const ALL: [Self; 3] = [Self::AmountPaid, Self::Payer, Self::Consignee];
}

/// What clearance should decide for an order, given the generator's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ExpectedOutcome {
    /// Released (800): documents agree, within every limit, below every review threshold, and
    /// the buyer's clean orders of the whole run stay within the annual limit.
    Clean,
    /// A heavy buyer's order, otherwise clean: released, or rejected `-621018` when the buyer's
    /// orders cleared before it used up the annual limit. Per buyer, the released amounts never
    /// exceed the annual limit.
    QuotaContested,
    /// Rejected `-900101` (documents disagree).
    Mismatch {
        /// How they disagree.
        kind: MismatchKind,
    },
    /// Rejected `-621005`: a multi-line order above the per-order limit.
    OverLimit,
}

impl ExpectedOutcome {
    /// True when clearance must reject the order whatever else it has seen.
    pub fn is_rejected(self) -> bool {
        matches!(self, Self::Mismatch { .. } | Self::OverLimit)
    }
}

/// One generated order as test assertions and the manifest see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMeta {
    /// The Kafka key `ebpCode/orderNo`.
    pub key: String,
    /// What clearance should decide.
    #[serde(flatten)]
    pub expected: ExpectedOutcome,
    /// The buyer's number in the generator's pool (heavy buyers first), to group orders by
    /// buyer without handling ID numbers.
    pub buyer: u32,
    /// The amount the limits compare (dutiable value by default), CNY.
    pub limit_amount_cny: Decimal,
    /// Order lines.
    pub lines: u32,
}

/// One generated order: its three documents in the raw CEB model plus their envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedOrder {
    /// Expectations.
    pub meta: OrderMeta,
    /// CEB311.
    pub order: raw::Order,
    /// CEB411.
    pub payment: raw::PaymentHead,
    /// CEB511.
    pub waybill: raw::LogisticsHead,
    /// Envelopes of the order, payment and waybill, in that order.
    pub envelopes: [Envelope; 3],
}

/// The routing fields of one document (see `proto/bondgate/v1/document.proto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// UUIDv7 tracking id.
    pub document_id: String,
    /// Customs code of the sending enterprise.
    pub sender_code: String,
    /// When the document was (nominally) received, ms since the Unix epoch.
    pub received_at_ms: i64,
    /// `CEB311Message`, `CEB411Message` or `CEB511Message`.
    pub source_format: &'static str,
}

impl GeneratedOrder {
    /// The platform code of the order.
    pub fn ebp_code(&self) -> &str {
        &self.order.head.ebp_code
    }

    /// The Kafka key `ebpCode/orderNo`.
    pub fn key(&self) -> &str {
        &self.meta.key
    }

    /// The order, payment and waybill as `cbec.documents.v1` messages.
    pub fn documents(&self) -> [v1::Document; 3] {
        let bodies = [
            Body::Order(v1::Order::from(&self.order)),
            Body::Payment(v1::Payment::from(&self.payment)),
            Body::Waybill(v1::Waybill::from(&self.waybill)),
        ];
        let mut bodies = bodies.into_iter();
        self.envelopes.clone().map(|envelope| v1::Document {
            document_id: envelope.document_id,
            ebp_code: self.order.head.ebp_code.clone(),
            order_no: self.order.head.order_no.clone(),
            sender_code: envelope.sender_code,
            received_at_ms: envelope.received_at_ms,
            source_format: envelope.source_format.to_owned(),
            body: bodies.next(),
        })
    }

    /// The order, payment and waybill as JSON for the HTTP intake: the raw CEB model's fields
    /// (CEB element names) plus `"type"` (`order`, `payment`, `waybill`). An order is
    /// `{"type","orderHead":{..},"orderList":[..]}`; payment and waybill are flat. The waybill
    /// also carries `"ebpCode"`, since CEB511 has no platform field of its own.
    pub fn to_json(&self) -> [Value; 3] {
        [
            tagged_json("order", &self.order, None),
            tagged_json("payment", &self.payment, None),
            tagged_json("waybill", &self.waybill, Some(("ebpCode", self.ebp_code()))),
        ]
    }
}

/// `record` as a JSON object without absent (null) fields, with `"type": kind` and an optional
/// extra member.
fn tagged_json<T: Serialize>(kind: &str, record: &T, extra: Option<(&str, &str)>) -> Value {
    let mut value = serde_json::to_value(record).expect("CEB records always serialise");
    drop_nulls(&mut value);
    if let Value::Object(object) = &mut value {
        object.insert("type".to_owned(), Value::from(kind));
        if let Some((name, member)) = extra {
            object.insert(name.to_owned(), Value::from(member));
        }
    }
    value
}

/// Removes null members everywhere in `value`: the raw model reads a missing optional field as
/// absent, and intake bodies are smaller without them.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, member| !member.is_null());
            object.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The limits and thresholds the generator keeps clean orders within, in fen.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// A clean order's compared amount stays below this (review threshold or per-order limit).
    clean_ceiling_fen: i64,
    /// The per-order limit.
    per_order_max_fen: i64,
    /// The annual limit.
    annual_max_fen: i64,
    /// A clean line's quantity stays at or below this.
    clean_qty_max: u32,
}

fn to_fen(cny: Decimal) -> i64 {
    (cny * Decimal::ONE_HUNDRED)
        .floor()
        .to_i64()
        .unwrap_or(i64::MAX)
}

fn cny(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

impl Limits {
    fn of(rules: &RulesConfig) -> Self {
        let per_order_max_fen = to_fen(rules.limits.per_order_max_cny);
        let hold_fen = rules
            .risk
            .hold_dutiable_value_min_cny
            .map_or(i64::MAX, to_fen);
        let clean_qty_max = rules
            .risk
            .hold_line_qty_min
            .and_then(|q| q.ceil().to_u32())
            .map_or(u32::MAX, |q| q.saturating_sub(1));
        Self {
            clean_ceiling_fen: hold_fen.min(per_order_max_fen.saturating_add(1)),
            per_order_max_fen,
            annual_max_fen: to_fen(rules.limits.annual_max_cny),
            clean_qty_max,
        }
    }
}

/// The kind of order being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Clean,
    Heavy,
    Mismatch(MismatchKind),
    OverLimit,
}

/// One order line before it becomes text.
#[derive(Debug, Clone, Copy)]
struct Line {
    item: usize,
    qty: u32,
    price_fen: i64,
    promotion: bool,
}

impl Line {
    fn total_fen(&self) -> i64 {
        self.price_fen * i64::from(self.qty)
    }
}

/// The amounts of an order head, fen.
#[derive(Debug, Clone, Copy)]
struct Amounts {
    goods: i64,
    freight: i64,
    discount: i64,
    tax: i64,
    actural_paid: i64,
    /// What the limits compare.
    limit_amount: i64,
}

/// Generates orders one after another; see the module docs.
#[derive(Debug, Clone)]
pub struct Generator {
    config: GeneratorConfig,
    limits: Limits,
    catalog: Catalog,
    rng: ChaCha8Rng,
    next_index: u64,
    clock_ms: i64,
    /// Limit amounts of the clean orders of each ordinary buyer so far, fen.
    quota_used_fen: HashMap<u32, i64>,
    /// Buyers added because an ordinary buyer was full.
    buyers_added: u32,
}

impl Generator {
    /// A generator of `config`'s traffic.
    pub fn new(config: GeneratorConfig) -> Result<Self, GenerateError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(GenerateError::Config(problems));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(ORDER_STREAM);
        Ok(Self {
            limits: Limits::of(&config.rules),
            catalog: Catalog::seed(config.zipf_exponent)?,
            rng,
            next_index: 0,
            clock_ms: config.start_at_ms,
            quota_used_fen: HashMap::new(),
            buyers_added: 0,
            config,
        })
    }

    /// The config.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The catalog the orders buy from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Orders generated so far.
    pub fn orders_generated(&self) -> u64 {
        self.next_index
    }

    /// The household of buyer number `buyer` (the same for the same seed).
    pub fn household(&self, buyer: u32) -> Household {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(BUYER_STREAM_BASE + u64::from(buyer));
        people::household(&mut rng)
    }

    /// A ChaCha8 generator on stream `stream` of the seed, for [`stream::RecordStream`].
    fn side_rng(&self, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(stream);
        rng
    }

    /// The next order.
    pub fn next_order(&mut self) -> GeneratedOrder {
        let index = self.next_index;
        self.next_index += 1;
        self.clock_ms += self.rng.random_range(0..=20);
        let shape = self.shape();
        let freight = if self.rng.random_bool(0.6) {
            0
        } else {
            FREIGHTS_FEN[self.rng.random_range(0..FREIGHTS_FEN.len())]
        };
        let lines = match shape {
            Shape::Clean | Shape::Mismatch(_) => self.basket(freight),
            Shape::Heavy => self.heavy_basket(freight),
            Shape::OverLimit => self.over_limit_basket(freight),
        };
        let amounts = self.amounts(&lines, freight);
        let buyer = self.buyer(shape, amounts.limit_amount);
        let expected = match shape {
            Shape::Clean => ExpectedOutcome::Clean,
            Shape::Heavy => ExpectedOutcome::QuotaContested,
            Shape::Mismatch(kind) => ExpectedOutcome::Mismatch { kind },
            Shape::OverLimit => ExpectedOutcome::OverLimit,
        };
        let mut order = self.build(index, buyer, &lines, amounts, expected);
        if let Shape::Mismatch(kind) = shape {
            self.mismatch(&mut order, kind, buyer);
        }
        order
    }

    fn shape(&mut self) -> Shape {
        let c = &self.config;
        let u: f64 = self.rng.random();
        if u < c.heavy_order_fraction {
            Shape::Heavy
        } else if u < c.heavy_order_fraction + c.over_limit_fraction {
            Shape::OverLimit
        } else if u < c.heavy_order_fraction + c.over_limit_fraction + c.mismatch_fraction {
            Shape::Mismatch(MismatchKind::ALL[self.rng.random_range(0..MismatchKind::ALL.len())])
        } else {
            Shape::Clean
        }
    }

    /// A line of `item`: mostly one unit, sometimes a few; now and then at a promotion price.
    fn line(&mut self, item: usize, qty_max: u32) -> Line {
        let catalog_item = &self.catalog.items()[item];
        let qty_max = catalog_item.qty_max.min(qty_max).max(1);
        let qty = if qty_max == 1 || self.rng.random_bool(0.65) {
            1
        } else {
            self.rng.random_range(2..=qty_max)
        };
        let promotion = self.rng.random_bool(0.15);
        let price_fen = if promotion {
            catalog_item.price_fen * 9 / 100 * 10
        } else {
            catalog_item.price_fen
        };
        Line {
            item,
            qty,
            price_fen,
            promotion,
        }
    }

    /// Adds `line` if the order stays below the clean ceiling (retrying with one unit).
    fn push_if_clean(&self, lines: &mut Vec<Line>, mut line: Line, freight: i64) -> bool {
        let goods: i64 = lines.iter().map(Line::total_fen).sum();
        let fits = |line: &Line| goods + line.total_fen() + freight < self.limits.clean_ceiling_fen;
        if !fits(&line) {
            line.qty = 1;
        }
        let ok = fits(&line) && lines.iter().all(|l| l.item != line.item);
        if ok {
            lines.push(line);
        }
        ok
    }

    /// An ordinary basket: 1 to `lines_max` lines of popular SKUs, below the clean ceiling.
    fn basket(&mut self, freight: i64) -> Vec<Line> {
        let mut wanted = 1;
        while wanted < self.config.lines_max && self.rng.random_bool(0.45) {
            wanted += 1;
        }
        let mut lines = Vec::with_capacity(wanted as usize);
        for _ in 0..wanted * 4 {
            if lines.len() == wanted as usize {
                break;
            }
            let item = self.catalog.hot(&mut self.rng);
            let line = self.line(item, self.limits.clean_qty_max);
            self.push_if_clean(&mut lines, line, freight);
        }
        assert!(
            !lines.is_empty(),
            "a one-unit line always fits (config check)"
        );
        lines
    }

    /// A heavy buyer's basket: expensive SKUs up to 2,500 CNY or more, below the clean ceiling.
    fn heavy_basket(&mut self, freight: i64) -> Vec<Line> {
        let mut lines = Vec::new();
        for _ in 0..16 {
            let goods: i64 = lines.iter().map(Line::total_fen).sum();
            if goods >= HEAVY_GOODS_MIN_FEN || lines.len() == self.config.lines_max as usize {
                break;
            }
            let item = self.catalog.expensive(&mut self.rng);
            let line = self.line(item, self.limits.clean_qty_max);
            self.push_if_clean(&mut lines, line, freight);
        }
        assert!(
            !lines.is_empty(),
            "a one-unit line always fits (config check)"
        );
        lines
    }

    /// 2 or more lines of expensive SKUs whose total passes the per-order limit.
    fn over_limit_basket(&mut self, freight: i64) -> Vec<Line> {
        let wanted = self.rng.random_range(2..=self.config.lines_max.min(4));
        let mut lines: Vec<Line> = Vec::new();
        while lines.len() < wanted as usize {
            let item = self.catalog.expensive(&mut self.rng);
            if lines.iter().all(|l| l.item != item) {
                let line = self.line(item, 1);
                lines.push(line);
            }
        }
        let goods: i64 = lines.iter().map(Line::total_fen).sum();
        let short = self.limits.per_order_max_fen + 1 - goods - freight;
        if short > 0 {
            let first = &mut lines[0];
            let extra = (short + first.price_fen - 1) / first.price_fen;
            first.qty += u32::try_from(extra).expect("a per-order limit in reach");
        }
        lines
    }

    fn amounts(&mut self, lines: &[Line], freight: i64) -> Amounts {
        let goods: i64 = lines.iter().map(Line::total_fen).sum();
        let discount = if self.rng.random_bool(0.3) {
            let coupon = COUPONS_FEN[self.rng.random_range(0..COUPONS_FEN.len())];
            if coupon * 2 <= goods { coupon } else { 0 }
        } else {
            0
        };
        let tax = self.tax_fen(lines, freight);
        let actural_paid = goods + freight + tax - discount;
        let limit_amount = to_fen(compared_amount(
            &self.config.rules.limits,
            cny(goods + freight),
            cny(actural_paid),
        ));
        Amounts {
            goods,
            freight,
            discount,
            tax,
            actural_paid,
            limit_amount,
        }
    }

    /// The CBEC tax the platform withholds, computed as clearance does.
    fn tax_fen(&self, lines: &[Line], freight: i64) -> i64 {
        let inputs: Vec<TaxLineInput> = lines
            .iter()
            .zip(1..)
            .map(|(line, gnum)| {
                let item = &self.catalog.items()[line.item];
                TaxLineInput::new(
                    gnum,
                    Decimal::from(line.qty),
                    cny(line.total_fen()),
                    &item.book,
                    &item.entry,
                )
            })
            .collect();
        let (_, summary) = assess(
            &inputs,
            cny(freight),
            Decimal::ZERO,
            TaxRegime::Cbec,
            &self.config.rules.tax,
        );
        to_fen(summary.total)
    }

    /// Picks the buyer. Clean orders of an ordinary buyer never add up beyond the annual limit:
    /// a full buyer is replaced by a new one.
    fn buyer(&mut self, shape: Shape, limit_amount: i64) -> u32 {
        let heavy = self.config.heavy_buyers;
        if shape == Shape::Heavy {
            return self.rng.random_range(0..heavy);
        }
        let mut buyer = heavy + self.rng.random_range(0..self.config.ordinary_buyers);
        if shape != Shape::Clean {
            return buyer;
        }
        let used = self.quota_used_fen.get(&buyer).copied().unwrap_or(0);
        if used + limit_amount > self.limits.annual_max_fen {
            buyer = heavy
                .saturating_add(self.config.ordinary_buyers)
                .saturating_add(self.buyers_added);
            self.buyers_added += 1;
        }
        *self.quota_used_fen.entry(buyer).or_default() += limit_amount;
        buyer
    }
}

#[cfg(test)]
mod tests;
