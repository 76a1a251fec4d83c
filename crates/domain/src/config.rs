//! The knobs of the rules: limits, tax rounding, risk rules. Defaults follow CBEC.md §3; every
//! field can be overridden by the services' layered config (`deny_unknown_fields`).

use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

/// How tax amounts are rounded to 0.01 CNY. Customs' own convention is unpublished
/// (CBEC.md §3 rule 4 marks it unverified), so it is configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Half away from zero (四舍五入), the default.
    #[default]
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Toward zero (truncate).
    Down,
    /// Away from zero.
    Up,
}

impl RoundingMode {
    /// Rounds a CNY amount to 0.01.
    pub fn round_cny(self, value: Decimal) -> Decimal {
        let strategy = match self {
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::Down => RoundingStrategy::ToZero,
            Self::Up => RoundingStrategy::AwayFromZero,
        };
        value.round_dp_with_strategy(2, strategy)
    }
}

/// Which order amount the limits compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparedAmount {
    /// The dutiable value: goods + freight + insurance (official wording), the default.
    #[default]
    DutiableValue,
    /// The order's `acturalPaid` (industry summaries' "实际支付金额").
    ActuralPaid,
}

/// The per-order and annual limits (财关税〔2018〕49号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Single-transaction limit in CNY (default 5,000).
    pub per_order_max_cny: Decimal,
    /// Per-buyer calendar-year limit in CNY (default 26,000).
    pub annual_max_cny: Decimal,
    /// Which amount is compared with the limits.
    pub compared_amount: ComparedAmount,
    /// Allow a single indivisible item (one line, qty 1) above the per-order limit, taxed in full.
    pub single_item_exception: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_order_max_cny: dec!(5000),
            annual_max_cny: dec!(26000),
            compared_amount: ComparedAmount::DutiableValue,
            single_item_exception: true,
        }
    }
}

/// Tax-engine settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaxConfig {
    /// Rounding of each line's tax amounts to 0.01 CNY.
    pub rounding: RoundingMode,
    /// Share of statutory VAT and consumption tax payable within the limits (default 0.7).
    pub cbec_factor: Decimal,
    /// High-end cosmetics: dutiable price per ml or g of net content at or above this (CNY, 10).
    pub high_end_per_ml_or_g_min_cny: Decimal,
    /// High-end cosmetics: dutiable price per piece (sheet) at or above this (CNY, 15).
    pub high_end_per_piece_min_cny: Decimal,
    /// Tolerated relative deviation of the order's withheld `taxTotal` from the computed tax
    /// (default 0.05, the 5 % customs is said to accept); larger deviations hold the order.
    pub tax_total_tolerance: Decimal,
}

impl Default for TaxConfig {
    fn default() -> Self {
        Self {
            rounding: RoundingMode::HalfUp,
            cbec_factor: dec!(0.7),
            high_end_per_ml_or_g_min_cny: dec!(10),
            high_end_per_piece_min_cny: dec!(15),
            tax_total_tolerance: dec!(0.05),
        }
    }
}

/// Risk rules that hold a declaration for manual review (status 300). `None` disables a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskRules {
    /// Hold when the dutiable value is at or above this (default 4,000 CNY: close to the
    /// per-order limit, where splitting and under-declaring are most tempting).
    pub hold_dutiable_value_min_cny: Option<Decimal>,
    /// Hold when any line's quantity is at or above this (default 10: personal use is the
    /// premise of CBEC, many identical units suggest resale).
    pub hold_line_qty_min: Option<Decimal>,
    /// Hold when a line's HS chapter is on this watch list (default `[30]`, pharmaceuticals).
    pub watch_chapters: Vec<u8>,
}

impl Default for RiskRules {
    fn default() -> Self {
        Self {
            hold_dutiable_value_min_cny: Some(dec!(4000)),
            hold_line_qty_min: Some(dec!(10)),
            watch_chapters: vec![30],
        }
    }
}

/// Cancellations and returns (GACC 2020 No. 45; CBEC.md §3 rules 10 and 11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AfterSalesConfig {
    /// A return must be applied for within this many days of release (30).
    pub refund_apply_days_max: i64,
    /// Returned goods must be back in the zone within this many days of release (45).
    pub refund_goods_back_days_max: i64,
    /// Allow a cancellation after the parcel left the zone. Default false: once a logistics
    /// status (CEB513) says the parcel is out, it must be a return. CBEC.md §3 rule 10 marks the
    /// "cancel only before exit" practice [unverified], hence the switch.
    pub cancel_after_exit: bool,
}

impl Default for AfterSalesConfig {
    fn default() -> Self {
        Self {
            refund_apply_days_max: 30,
            refund_goods_back_days_max: 45,
            cancel_after_exit: false,
        }
    }
}

/// The trade mode of the declarations bondgate makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TradeMode {
    /// `1210` bonded import (网购保税进口), the default.
    #[default]
    #[serde(rename = "1210")]
    Bonded1210,
    /// `9610` direct purchase (直购进口).
    #[serde(rename = "9610")]
    Direct9610,
}

impl TradeMode {
    /// The CEB `tradeMode` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Bonded1210 => "1210",
            Self::Direct9610 => "9610",
        }
    }
}

/// Everything configurable about the rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Limits.
    pub limits: LimitsConfig,
    /// Tax engine.
    pub tax: TaxConfig,
    /// Risk rules.
    pub risk: RiskRules,
    /// Trade mode of the declarations (positive-list mode control).
    pub trade_mode: TradeMode,
    /// Tolerance of the order's internal arithmetic (line totals, goods value, actual paid), CNY.
    /// Default 0: the amounts must agree exactly.
    pub arithmetic_tolerance_cny: Decimal,
    /// Cancellations and returns.
    pub after_sales: AfterSalesConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_modes_differ_at_the_midpoint() {
        let value = dec!(1.005);
        assert_eq!(RoundingMode::HalfUp.round_cny(value), dec!(1.01));
        assert_eq!(RoundingMode::HalfEven.round_cny(value), dec!(1.00));
        assert_eq!(RoundingMode::Down.round_cny(dec!(1.019)), dec!(1.01));
        assert_eq!(RoundingMode::Up.round_cny(dec!(1.001)), dec!(1.01));
    }

    #[test]
    fn defaults_follow_the_rules() {
        let config = RulesConfig::default();
        assert_eq!(config.limits.per_order_max_cny, dec!(5000));
        assert_eq!(config.limits.annual_max_cny, dec!(26000));
        assert_eq!(config.tax.cbec_factor, dec!(0.7));
        assert_eq!(config.trade_mode.code(), "1210");
    }
}
