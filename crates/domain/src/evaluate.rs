//! The decision for one complete order: match the documents, resolve the lines against the
//! account book and positive list, apply the limits, compute the tax and the risk rules, and say
//! release (800), hold (300) or reject (100 / negative code).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::account_book::{AccountBook, AccountBookItem};
use crate::codes::{self, ErrorCode};
use crate::config::{RiskRules, RulesConfig, TradeMode};
use crate::documents::{OrderBundle, OrderLine};
use crate::limits::{check_limits, compared_amount, is_single_indivisible_item};
use crate::matching::{Finding, MatchOptions, match_bundle};
use crate::positive_list::{PositiveList, PositiveListEntry};
use crate::status::ReturnStatus;
use crate::tax::{LineTax, TaxLineInput, TaxRegime, TaxSummary, assess};
use crate::types::{Amount, TariffLine};

/// Hold code: the dutiable value reached the review threshold.
pub const HOLD_DUTIABLE_VALUE: &str = "bg.risk.dutiable_value";
/// Hold code: a line's quantity reached the review threshold.
pub const HOLD_LINE_QTY: &str = "bg.risk.line_qty";
/// Hold code: a line's HS chapter is on the watch list.
pub const HOLD_WATCH_CHAPTER: &str = "bg.risk.watch_chapter";
/// Hold code: the withheld `taxTotal` deviates from the computed tax beyond the tolerance.
pub const HOLD_TAX_TOTAL: &str = "bg.risk.tax_total";
/// Hold code: a weight-capped line's weight cannot be determined (net content in pieces).
pub const HOLD_WEIGHT_UNKNOWN: &str = "bg.risk.weight_unknown";

/// What the evaluation needs besides the documents: reference data, config and buyer state.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The zone warehouse's account book.
    pub account_book: &'a AccountBook,
    /// The positive list.
    pub positive_list: &'a PositiveList,
    /// Rules configuration.
    pub config: &'a RulesConfig,
    /// What the buyer has used of the annual limit this calendar year, CNY.
    pub buyer_annual_used_cny: Decimal,
    /// Weight the buyer has bought this year per weight-capped tariff line, kg.
    pub weight_used_kg: &'a BTreeMap<TariffLine, Decimal>,
    /// The platform verified the buyer's identity, so the payer may differ.
    pub buyer_identity_verified: bool,
}

/// Why a declaration is held for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldReason {
    /// Stable code (`bg.risk.*`).
    pub code: &'static str,
    /// Explanation for the officer.
    pub message: String,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Release (800).
    Release,
    /// Hold for manual review (300).
    Hold {
        /// Why.
        reasons: Vec<HoldReason>,
    },
    /// Reject (100, or the negative customs code).
    Reject {
        /// Catalogue codes, unique, in the order found.
        codes: Vec<ErrorCode>,
        /// Explanations, one per problem, with their figures: the first problem of each code
        /// first, in the order of `codes` (`reasons[i]` fills the `[*]` of `codes[i]`), then the
        /// others.
        reasons: Vec<String>,
    },
}

/// An outcome as receipts and reports state it: the decision status and its codes and reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeSummary {
    /// 800 release, 300 hold for review, 100 reject.
    pub status: u16,
    /// Rejection codes (customs codes such as `-621005`) or hold codes (`bg.risk.*`).
    pub codes: Vec<String>,
    /// One explanation per code.
    pub reasons: Vec<String>,
}

impl Outcome {
    /// The decision status with its codes and reasons, as text (one mapping for every caller).
    pub fn summary(&self) -> OutcomeSummary {
        let (status, codes, reasons) = match self {
            Self::Release => (800, Vec::new(), Vec::new()),
            Self::Hold { reasons } => (
                300,
                reasons.iter().map(|r| r.code.to_owned()).collect(),
                reasons.iter().map(|r| r.message.clone()).collect(),
            ),
            Self::Reject { codes, reasons } => (
                100,
                codes.iter().map(|c| c.code.to_string()).collect(),
                reasons.clone(),
            ),
        };
        OutcomeSummary {
            status,
            codes,
            reasons,
        }
    }

    /// The receipt status: 800, 300, the first negative code, or 100.
    pub fn status(&self) -> ReturnStatus {
        match self {
            Self::Release => ReturnStatus::Released,
            Self::Hold { .. } => ReturnStatus::ManualReview,
            Self::Reject { codes, .. } => codes
                .iter()
                .find(|code| code.code < 0)
                .map_or(ReturnStatus::Rejected, |code| {
                    ReturnStatus::Exception(code.code)
                }),
        }
    }
}

/// The result of evaluating one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The decision.
    pub outcome: Outcome,
    /// Tax totals (zero when the lines could not be resolved).
    pub tax: TaxSummary,
    /// Tax per line, 1:1 with the order lines (empty when they could not be resolved).
    pub lines: Vec<LineTax>,
    /// Tax treatment applied.
    pub regime: TaxRegime,
    /// Dutiable value: line totals + freight + insurance.
    pub dutiable_value: Decimal,
    /// What counts toward the buyer's annual total if accepted (0 when rejected).
    pub quota_amount: Decimal,
    /// Weight this order adds per weight-capped tariff line, kg.
    pub weight_kg: BTreeMap<TariffLine, Decimal>,
    /// Document mismatches.
    pub findings: Vec<Finding>,
}

impl Evaluation {
    /// The tax totals the declaration carries: the computed tax when it is accepted (released
    /// or held), nothing when it is rejected (a rejected declaration levies no tax). What the
    /// pipeline stores and what a pre-flight reports.
    pub fn levied_tax(&self) -> TaxSummary {
        match self.outcome {
            Outcome::Reject { .. } => TaxSummary::default(),
            Outcome::Release | Outcome::Hold { .. } => self.tax,
        }
    }

    /// The lines the declaration carries with their tax: none when it is rejected.
    pub fn levied_lines(&self) -> &[LineTax] {
        match self.outcome {
            Outcome::Reject { .. } => &[],
            Outcome::Release | Outcome::Hold { .. } => &self.lines,
        }
    }
}

/// Rejections and holds gathered while evaluating.
#[derive(Debug, Default)]
struct Verdict {
    codes: Vec<ErrorCode>,
    reasons: Vec<String>,
    holds: Vec<HoldReason>,
}

impl Verdict {
    /// Keeps the first reason of each code at the code's index (see [`Outcome::Reject`]).
    fn reject(&mut self, code: ErrorCode, reason: String) {
        if self.codes.contains(&code) {
            self.reasons.push(reason);
        } else {
            self.reasons.insert(self.codes.len(), reason);
            self.codes.push(code);
        }
    }

    fn hold(&mut self, code: &'static str, message: String) {
        self.holds.push(HoldReason { code, message });
    }

    fn outcome(self) -> Outcome {
        if !self.codes.is_empty() {
            Outcome::Reject {
                codes: self.codes,
                reasons: self.reasons,
            }
        } else if !self.holds.is_empty() {
            Outcome::Hold {
                reasons: self.holds,
            }
        } else {
            Outcome::Release
        }
    }
}

/// An order line with its account-book item and positive-list entry.
struct ResolvedLine<'a> {
    line: &'a OrderLine,
    item: &'a AccountBookItem,
    entry: &'a PositiveListEntry,
}

/// The freight of the dutiable value and of the CEB621: what the logistics company charges (the
/// waybill's, CBEC.md §2.4 "actually charged freight"), but never less than the order charged the
/// buyer, so a waybill that omits or understates its freight cannot lower the dutiable value.
pub fn declared_freight(bundle: &OrderBundle) -> Amount {
    bundle.waybill.freight.max(bundle.order.freight)
}

/// Evaluates one complete order. The dutiable value is the line totals plus the declared freight
/// ([`declared_freight`]: the waybill's, at least the order's) plus the waybill's insurance.
/// Rejections win over holds; a rejected order still reports its tax when its lines resolve.
pub fn evaluate(bundle: &OrderBundle, ctx: &EvalContext<'_>) -> Evaluation {
    let mut verdict = Verdict::default();
    let options = MatchOptions {
        buyer_identity_verified: ctx.buyer_identity_verified,
        arithmetic_tolerance_cny: ctx.config.arithmetic_tolerance_cny,
    };
    let findings = match_bundle(bundle, &options);
    for finding in &findings {
        verdict.reject(
            finding.error_code(),
            format!("{}: {}", finding.field, finding.message),
        );
    }
    let resolved = resolve_lines(bundle, ctx, &mut verdict);
    let order = &bundle.order;
    let freight = declared_freight(bundle).value();
    let insurance = bundle.waybill.insured_fee.value();
    let goods: Decimal = order
        .lines
        .iter()
        .map(|line| line.total_price.value())
        .sum();
    let dutiable_value = goods + freight + insurance;
    let amount = compared_amount(
        &ctx.config.limits,
        dutiable_value,
        order.actural_paid.value(),
    );
    let qtys: Vec<Decimal> = order.lines.iter().map(|line| line.qty.value()).collect();
    let single = is_single_indivisible_item(&qtys);
    let regime = match check_limits(
        amount,
        single,
        ctx.buyer_annual_used_cny,
        &ctx.config.limits,
    ) {
        Ok(check) => check.regime,
        Err(violation) => {
            verdict.reject(violation.error_code(), violation.to_string());
            TaxRegime::Cbec
        }
    };
    let (lines, tax, weight_kg) = match &resolved {
        Some(resolved) => {
            let inputs: Vec<TaxLineInput> = resolved.iter().map(tax_input).collect();
            let (lines, tax) = assess(&inputs, freight, insurance, regime, &ctx.config.tax);
            let weight_kg = check_weight_caps(resolved, ctx, &mut verdict);
            check_tax_total(order.tax_total.value(), tax.total, ctx, &mut verdict);
            check_risk(&ctx.config.risk, dutiable_value, resolved, &mut verdict);
            (lines, tax, weight_kg)
        }
        None => (Vec::new(), TaxSummary::default(), BTreeMap::new()),
    };
    let outcome = verdict.outcome();
    let quota_amount = if matches!(outcome, Outcome::Reject { .. }) {
        Decimal::ZERO
    } else {
        amount
    };
    Evaluation {
        outcome,
        tax,
        lines,
        regime,
        dutiable_value,
        quota_amount,
        weight_kg,
        findings,
    }
}

fn tax_input(resolved: &ResolvedLine<'_>) -> TaxLineInput {
    let line = resolved.line;
    TaxLineInput::new(
        line.gnum,
        line.qty.value(),
        line.total_price.value(),
        resolved.item,
        resolved.entry,
    )
}

/// Finds every line's account-book item and positive-list entry and applies the list's mode and
/// name controls; `None` when any line cannot be resolved (the rejections say why).
fn resolve_lines<'a>(
    bundle: &'a OrderBundle,
    ctx: &EvalContext<'a>,
    verdict: &mut Verdict,
) -> Option<Vec<ResolvedLine<'a>>> {
    let mut resolved = Vec::with_capacity(bundle.order.lines.len());
    for line in &bundle.order.lines {
        let gnum = line.gnum;
        let Some(item) = line
            .item_no
            .as_deref()
            .and_then(|sku| ctx.account_book.by_sku(sku))
        else {
            let sku = line.item_no.as_deref().unwrap_or("");
            verdict.reject(
                codes::ITEM_NOT_RECORDED,
                format!("表体第[{gnum}]项商品[{sku}]未在账册备案"),
            );
            continue;
        };
        let Some(entry) = ctx.positive_list.lookup(&item.gcode) else {
            verdict.reject(
                codes::NOT_ON_POSITIVE_LIST,
                format!("表体第[{gnum}]项商品编码[{}]不在正面清单内", item.gcode),
            );
            continue;
        };
        if entry.only_1210 && ctx.config.trade_mode != TradeMode::Bonded1210 {
            verdict.reject(
                codes::TRADE_MODE_NOT_ALLOWED,
                format!(
                    "表体第[{gnum}]项商品[{}]仅限网购保税进口",
                    entry.tariff_line
                ),
            );
        }
        if !entry.allows_name(&line.item_name) {
            verdict.reject(
                codes::NAME_RESTRICTED,
                format!(
                    "表体第[{gnum}]项商品名称[{}]须包含[{}]之一",
                    line.item_name,
                    entry.name_keywords.join("|")
                ),
            );
        }
        resolved.push(ResolvedLine { line, item, entry });
    }
    (resolved.len() == bundle.order.lines.len()).then_some(resolved)
}

/// Adds up this order's weight per capped tariff line and rejects lines over the yearly cap.
fn check_weight_caps(
    resolved: &[ResolvedLine<'_>],
    ctx: &EvalContext<'_>,
    verdict: &mut Verdict,
) -> BTreeMap<TariffLine, Decimal> {
    let mut weights: BTreeMap<TariffLine, Decimal> = BTreeMap::new();
    for line in resolved
        .iter()
        .filter(|l| l.entry.weight_cap_kg_per_year.is_some())
    {
        match line.item.weight_kg(line.line.qty.value()) {
            Some(kg) => *weights.entry(line.entry.tariff_line.clone()).or_default() += kg,
            None => verdict.hold(
                HOLD_WEIGHT_UNKNOWN,
                format!(
                    "表体第[{}]项商品重量无法确定，需人工核对限量",
                    line.line.gnum
                ),
            ),
        }
    }
    for (tariff_line, kg) in &weights {
        let cap = ctx
            .positive_list
            .get(tariff_line)
            .and_then(|e| e.weight_cap_kg_per_year);
        let used = ctx
            .weight_used_kg
            .get(tariff_line)
            .copied()
            .unwrap_or_default();
        if let Some(cap) = cap.filter(|cap| used + kg > *cap) {
            verdict.reject(
                codes::OVER_WEIGHT_CAP,
                format!(
                    "税号[{tariff_line}]已购[{used}]千克，本次[{kg}]千克将超过年度限量[{cap}]千克"
                ),
            );
        }
    }
    weights
}

/// Holds the order when the enterprise withheld a tax amount that deviates from ours beyond
/// the tolerance; a zero `taxTotal` means nothing was withheld and is not compared.
fn check_tax_total(
    withheld: Decimal,
    computed: Decimal,
    ctx: &EvalContext<'_>,
    verdict: &mut Verdict,
) {
    if withheld.is_zero() {
        return;
    }
    let allowed = computed * ctx.config.tax.tax_total_tolerance;
    if (withheld - computed).abs() > allowed {
        verdict.hold(
            HOLD_TAX_TOTAL,
            format!("代扣税款[{withheld}]与应征税款[{computed}]偏差超过容差"),
        );
    }
}

fn check_risk(
    rules: &RiskRules,
    dutiable_value: Decimal,
    resolved: &[ResolvedLine<'_>],
    verdict: &mut Verdict,
) {
    if let Some(threshold) = rules
        .hold_dutiable_value_min_cny
        .filter(|t| dutiable_value >= *t)
    {
        verdict.hold(
            HOLD_DUTIABLE_VALUE,
            format!("完税价格[{dutiable_value}]达到人工审核阈值[{threshold}]"),
        );
    }
    for line in resolved {
        let (gnum, qty) = (line.line.gnum, line.line.qty.value());
        if let Some(threshold) = rules.hold_line_qty_min.filter(|t| qty >= *t) {
            verdict.hold(
                HOLD_LINE_QTY,
                format!("表体第[{gnum}]项数量[{qty}]达到人工审核阈值[{threshold}]"),
            );
        }
        let chapter = line.item.gcode.chapter();
        if rules.watch_chapters.contains(&chapter) {
            verdict.hold(
                HOLD_WATCH_CHAPTER,
                format!("表体第[{gnum}]项商品属于重点关注章节[{chapter:02}]"),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::documents::tests::bundle;
    use crate::seed::{load_seed_account_book, load_seed_positive_list};
    use crate::types::{Amount, Quantity};
    use rust_decimal_macros::dec;

    pub(crate) struct Fixture {
        pub book: AccountBook,
        pub list: PositiveList,
        pub config: RulesConfig,
        pub weights: BTreeMap<TariffLine, Decimal>,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            Self {
                book: load_seed_account_book().unwrap(),
                list: load_seed_positive_list().unwrap(),
                config: RulesConfig::default(),
                weights: BTreeMap::new(),
            }
        }

        pub(crate) fn ctx(&self, used: Decimal) -> EvalContext<'_> {
            EvalContext {
                account_book: &self.book,
                positive_list: &self.list,
                config: &self.config,
                buyer_annual_used_cny: used,
                weight_used_kg: &self.weights,
                buyer_identity_verified: false,
            }
        }
    }

    /// Sets the single line to `sku` at `price` × `qty` and makes the amounts consistent.
    pub(crate) fn with_line(
        mut b: OrderBundle,
        sku: &str,
        name: &str,
        price: Decimal,
        qty: Decimal,
    ) -> OrderBundle {
        let line = &mut b.order.lines[0];
        line.item_no = Some(sku.into());
        line.item_name = name.into();
        line.price = Amount::new(price).unwrap();
        line.qty = Quantity::new(qty).unwrap();
        line.total_price = Amount::new(price * qty).unwrap();
        b.order.goods_value = line.total_price;
        b.order.tax_total = Amount::ZERO;
        b.order.actural_paid = Amount::new(price * qty + b.order.freight.value()).unwrap();
        b.payment.amount_paid = b.order.actural_paid;
        b
    }

    #[test]
    fn worked_example_is_released_with_37_31_vat() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410.00), dec!(1));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.outcome, Outcome::Release);
        assert_eq!(evaluation.tax.vat, dec!(37.31));
        assert_eq!(evaluation.tax.total, dec!(37.31));
        assert_eq!(evaluation.lines[0].item_record_no, "10003");
        assert_eq!(evaluation.quota_amount, dec!(410.00));
        assert_eq!(evaluation.outcome.status(), ReturnStatus::Released);
    }

    #[test]
    fn the_fixture_bundle_withholding_37_31_is_released() {
        let fixture = Fixture::new();
        let mut b = bundle();
        b.order.lines[0].item_no = Some("WATER-500ML".into());
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.outcome, Outcome::Release, "{evaluation:?}");
    }

    #[test]
    fn unknown_sku_is_rejected_as_not_recorded() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "NOPE", "x", dec!(10), dec!(1));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        let Outcome::Reject { codes, .. } = &evaluation.outcome else {
            panic!("{evaluation:?}")
        };
        assert_eq!(codes, &[codes::ITEM_NOT_RECORDED]);
        assert!(evaluation.lines.is_empty());
        assert_eq!(evaluation.quota_amount, dec!(0));
    }

    #[test]
    fn over_limits_are_rejected_with_customs_codes() {
        let fixture = Fixture::new();
        let b = with_line(
            bundle(),
            "FORMULA-900G",
            "婴儿配方奶粉",
            dec!(300),
            dec!(17),
        );
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(
            evaluation.outcome.status(),
            ReturnStatus::Exception(-621005)
        );
        let b = with_line(bundle(), "FORMULA-900G", "婴儿配方奶粉", dec!(300), dec!(2));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(25500)));
        let Outcome::Reject { codes, reasons } = &evaluation.outcome else {
            panic!()
        };
        assert_eq!(codes, &[codes::OVER_ANNUAL_LIMIT]);
        assert_eq!(
            reasons[0],
            "购买人已用购买额度为[25500]，本次购买将超过年度限额[26000]"
        );
    }

    #[test]
    fn a_rejected_declaration_levies_no_tax_and_keeps_no_lines() {
        // The tax is still computed (it explains the rejection); only what is levied is zero.
        let fixture = Fixture::new();
        let b = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410.00), dec!(1));
        let released = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(released.levied_tax(), released.tax);
        assert_eq!(released.levied_lines(), released.lines.as_slice());
        let rejected = evaluate(&b, &fixture.ctx(dec!(25800)));
        assert!(matches!(rejected.outcome, Outcome::Reject { .. }));
        assert_eq!(rejected.tax.vat, dec!(37.31));
        assert_eq!(rejected.levied_tax(), TaxSummary::default());
        assert!(rejected.levied_lines().is_empty());
    }

    #[test]
    fn single_expensive_item_is_taxed_in_full_and_held_for_its_value() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "PHONE-128G", "智能手机", dec!(8000), dec!(1));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.regime, TaxRegime::Full);
        assert_eq!(evaluation.tax.vat, dec!(1040.00));
        assert_eq!(evaluation.quota_amount, dec!(8000));
        let Outcome::Hold { reasons } = &evaluation.outcome else {
            panic!("{evaluation:?}")
        };
        assert_eq!(reasons[0].code, HOLD_DUTIABLE_VALUE);
    }

    #[test]
    fn high_end_serum_pays_consumption_tax_cheap_lotion_does_not() {
        let fixture = Fixture::new();
        let serum = with_line(bundle(), "SERUM-50ML", "修护精华液", dec!(600), dec!(1));
        let evaluation = evaluate(&serum, &fixture.ctx(dec!(0)));
        assert!(evaluation.lines[0].high_end);
        assert_eq!(evaluation.tax.consumption, dec!(74.12)); // 600/0.85×0.15×0.7
        let lotion = with_line(bundle(), "LOTION-200ML", "保湿身体乳", dec!(99), dec!(1));
        let evaluation = evaluate(&lotion, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.tax.consumption, dec!(0));
        assert_eq!(evaluation.tax.vat, dec!(9.01));
    }

    #[test]
    fn weight_caps_and_name_restrictions_apply() {
        let mut fixture = Fixture::new();
        let sugar = with_line(bundle(), "SUGAR-1KG", "白砂糖", dec!(20), dec!(2));
        let evaluation = evaluate(&sugar, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.outcome, Outcome::Release);
        let sugar_line = TariffLine::parse("17019910").unwrap();
        assert_eq!(evaluation.weight_kg[&sugar_line], dec!(2));
        fixture.weights.insert(sugar_line, dec!(0.5));
        let evaluation = evaluate(&sugar, &fixture.ctx(dec!(0)));
        assert_eq!(
            evaluation.outcome.status(),
            ReturnStatus::Exception(codes::OVER_WEIGHT_CAP.code)
        );
        let ink = with_line(bundle(), "INK-CART", "工业油墨", dec!(50), dec!(1));
        let evaluation = evaluate(&ink, &fixture.ctx(dec!(0)));
        assert_eq!(
            evaluation.outcome.status(),
            ReturnStatus::Exception(codes::NAME_RESTRICTED.code)
        );
    }

    #[test]
    fn risk_rules_hold_large_quantities_and_watched_chapters() {
        let mut fixture = Fixture::new();
        let water = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(5), dec!(12));
        let Outcome::Hold { reasons } = evaluate(&water, &fixture.ctx(dec!(0))).outcome else {
            panic!()
        };
        assert_eq!(reasons[0].code, HOLD_LINE_QTY);
        fixture.config.risk = RiskRules {
            hold_dutiable_value_min_cny: None,
            hold_line_qty_min: None,
            watch_chapters: vec![22],
        };
        let Outcome::Hold { reasons } = evaluate(&water, &fixture.ctx(dec!(0))).outcome else {
            panic!()
        };
        assert_eq!(reasons[0].code, HOLD_WATCH_CHAPTER);
    }

    #[test]
    fn withheld_tax_far_from_ours_is_held() {
        let fixture = Fixture::new();
        let mut b = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410), dec!(1));
        b.order.tax_total = Amount::new(dec!(30)).unwrap();
        b.order.actural_paid = Amount::new(dec!(440)).unwrap();
        b.payment.amount_paid = b.order.actural_paid;
        let Outcome::Hold { reasons } = evaluate(&b, &fixture.ctx(dec!(0))).outcome else {
            panic!()
        };
        assert_eq!(reasons[0].code, HOLD_TAX_TOTAL);
    }

    proptest::proptest! {
        #[test]
        fn any_seed_item_evaluates_to_non_negative_tax_within_the_limits(
            item in 0usize..21, cents in 0i64..800_000, qty in 1i64..4, used_cents in 0i64..2_600_000,
        ) {
            let fixture = Fixture::new();
            let sku = fixture.book.items()[item].item_no.clone();
            let name = fixture.book.items()[item].gname.clone();
            let b = with_line(bundle(), &sku, &name, Decimal::new(cents, 2), Decimal::from(qty));
            let used = Decimal::new(used_cents, 2);
            let evaluation = evaluate(&b, &fixture.ctx(used));
            proptest::prop_assert!(evaluation.tax.total >= Decimal::ZERO);
            proptest::prop_assert_eq!(evaluation.lines.len(), 1);
            if !matches!(evaluation.outcome, Outcome::Reject { .. }) {
                proptest::prop_assert!(used + evaluation.quota_amount <= dec!(26000));
                let single = qty == 1;
                proptest::prop_assert!(single || evaluation.quota_amount <= dec!(5000));
            }
        }
    }

    #[test]
    fn mismatched_documents_are_rejected_with_their_findings() {
        let fixture = Fixture::new();
        let mut b = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410), dec!(1));
        b.waybill.consignee.telephone = "13900000000".into();
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(evaluation.findings.len(), 1);
        assert_eq!(
            evaluation.outcome.status(),
            ReturnStatus::Exception(codes::DOCUMENTS_MISMATCH.code)
        );
    }
}
