//! The per-order and annual limits (CBEC.md §3 rule 3): 5,000 CNY per order, 26,000 CNY per
//! buyer per calendar year, with the single-indivisible-item exception, and the quota credit of
//! cancellations and returns.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::codes::{self, ErrorCode};
use crate::config::{ComparedAmount, LimitsConfig};
use crate::tax::{LineTax, TaxRegime};

/// An order the limits let through: how it is taxed and what it adds to the buyer's year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitCheck {
    /// Within limits, or the single-item exception taxed in full.
    pub regime: TaxRegime,
    /// The amount that counts toward the buyer's annual total.
    pub quota_amount: Decimal,
}

/// An order the limits reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitViolation {
    /// Over the per-order limit (`-621005`).
    #[error("购买金额[{amount}]超过单笔限额[{limit}]")]
    OverSingle {
        /// The compared amount.
        amount: Decimal,
        /// The per-order limit.
        limit: Decimal,
    },
    /// Over the annual limit (`-621018`).
    #[error("购买人已用购买额度为[{used}]，本次购买将超过年度限额[{limit}]")]
    OverAnnual {
        /// Already used this year.
        used: Decimal,
        /// This order's amount.
        amount: Decimal,
        /// The annual limit.
        limit: Decimal,
    },
}

impl LimitViolation {
    /// The customs code of the rejection.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::OverSingle { .. } => codes::OVER_SINGLE_LIMIT,
            Self::OverAnnual { .. } => codes::OVER_ANNUAL_LIMIT,
        }
    }
}

/// The amount the limits compare, as configured.
pub fn compared_amount(
    config: &LimitsConfig,
    dutiable_value: Decimal,
    actural_paid: Decimal,
) -> Decimal {
    match config.compared_amount {
        ComparedAmount::DutiableValue => dutiable_value,
        ComparedAmount::ActuralPaid => actural_paid,
    }
}

/// True for an order of one line with quantity 1: a single indivisible item.
pub fn is_single_indivisible_item(line_qtys: &[Decimal]) -> bool {
    matches!(line_qtys, [qty] if *qty == Decimal::ONE)
}

/// Checks an order's compared amount against both limits, given what the buyer has used this
/// calendar year. A single indivisible item above the per-order limit passes (if configured)
/// but is taxed in full, and still counts toward the year.
pub fn check_limits(
    amount: Decimal,
    single_indivisible_item: bool,
    annual_used: Decimal,
    config: &LimitsConfig,
) -> Result<LimitCheck, LimitViolation> {
    let over_single = amount > config.per_order_max_cny;
    let exception = over_single && single_indivisible_item && config.single_item_exception;
    if over_single && !exception {
        return Err(LimitViolation::OverSingle {
            amount,
            limit: config.per_order_max_cny,
        });
    }
    if annual_used + amount > config.annual_max_cny {
        return Err(LimitViolation::OverAnnual {
            used: annual_used,
            amount,
            limit: config.annual_max_cny,
        });
    }
    let regime = if exception {
        TaxRegime::Full
    } else {
        TaxRegime::Cbec
    };
    Ok(LimitCheck {
        regime,
        quota_amount: amount,
    })
}

/// Quota credited back when a cancellation is approved (399 on CEB624): all of it.
pub fn quota_credit_for_cancellation(quota_amount: Decimal) -> Decimal {
    quota_amount
}

/// Quota credited back when a return is approved (399 on CEB626): the declaration's quota amount
/// scaled by the returned share of the dutiable value, where a line returns `qty_returned` of its
/// `qty`. Cut to 0.01 toward zero so a buyer is never credited more than was counted; a full
/// return credits exactly the quota amount. Lines not in `lines` are ignored and returned
/// quantities are capped at the line's quantity (the caller rejects such returns first).
pub fn quota_credit_for_refund(
    quota_amount: Decimal,
    lines: &[LineTax],
    returned: &[(u32, Decimal)],
) -> Decimal {
    let total: Decimal = lines.iter().map(|line| line.tax_price).sum();
    if total.is_zero() {
        return Decimal::ZERO;
    }
    let mut returned_value = Decimal::ZERO;
    for line in lines {
        let qty: Decimal = returned
            .iter()
            .filter(|r| r.0 == line.gnum)
            .map(|r| r.1)
            .sum();
        let qty = qty.min(line.qty);
        if !line.qty.is_zero() {
            returned_value += line.tax_price * qty / line.qty;
        }
    }
    if returned_value >= total {
        return quota_amount;
    }
    (quota_amount * returned_value / total).round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

/// The yearly weight to credit back for returned lines: per capped tariff line, the share of the
/// line quantities returned (`lines`: line number, its tariff line, quantity declared).
pub fn weight_credit_for_refund(
    weights: &std::collections::BTreeMap<crate::types::TariffLine, Decimal>,
    lines: &[(u32, crate::types::TariffLine, Decimal)],
    returned: &[(u32, Decimal)],
) -> std::collections::BTreeMap<crate::types::TariffLine, Decimal> {
    let mut credits = std::collections::BTreeMap::new();
    for (tariff, kg) in weights {
        let (declared, back) = lines
            .iter()
            .filter(|(_, line_tariff, _)| line_tariff == tariff)
            .fold(
                (Decimal::ZERO, Decimal::ZERO),
                |(declared, back), (gnum, _, qty)| {
                    let returned_qty: Decimal =
                        returned.iter().filter(|r| r.0 == *gnum).map(|r| r.1).sum();
                    (declared + qty, back + returned_qty.min(*qty))
                },
            );
        if !declared.is_zero() && !back.is_zero() {
            let credit = if back >= declared {
                *kg
            } else {
                (*kg * back / declared).round_dp_with_strategy(5, RoundingStrategy::ToZero)
            };
            credits.insert(tariff.clone(), credit);
        }
    }
    credits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::HsCode;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn config() -> LimitsConfig {
        LimitsConfig::default()
    }

    #[test]
    fn within_limits_is_cbec() {
        let check = check_limits(dec!(5000), false, dec!(21000), &config()).unwrap();
        assert_eq!(
            check,
            LimitCheck {
                regime: TaxRegime::Cbec,
                quota_amount: dec!(5000)
            }
        );
    }

    #[test]
    fn over_single_limit_is_rejected_with_621005() {
        let violation = check_limits(dec!(5000.01), false, dec!(0), &config()).unwrap_err();
        assert_eq!(violation.error_code().code, -621005);
    }

    #[test]
    fn single_indivisible_item_passes_with_full_tax() {
        let check = check_limits(dec!(8000), true, dec!(0), &config()).unwrap();
        assert_eq!(check.regime, TaxRegime::Full);
        assert_eq!(check.quota_amount, dec!(8000));
        let no_exception = LimitsConfig {
            single_item_exception: false,
            ..config()
        };
        assert!(check_limits(dec!(8000), true, dec!(0), &no_exception).is_err());
        assert!(is_single_indivisible_item(&[dec!(1)]));
        assert!(!is_single_indivisible_item(&[dec!(2)]));
        assert!(!is_single_indivisible_item(&[dec!(1), dec!(1)]));
    }

    #[test]
    fn over_annual_limit_is_rejected_with_621018_and_the_customs_message() {
        let violation = check_limits(dec!(100), false, dec!(25950.5), &config()).unwrap_err();
        assert_eq!(violation.error_code().code, -621018);
        assert_eq!(
            violation.to_string(),
            "购买人已用购买额度为[25950.5]，本次购买将超过年度限额[26000]"
        );
        let violation = check_limits(dec!(8000), true, dec!(20000), &config()).unwrap_err();
        assert_eq!(violation.error_code().code, -621018);
    }

    #[test]
    fn compared_amount_is_configurable() {
        let paid = LimitsConfig {
            compared_amount: ComparedAmount::ActuralPaid,
            ..config()
        };
        assert_eq!(compared_amount(&config(), dec!(1), dec!(2)), dec!(1));
        assert_eq!(compared_amount(&paid, dec!(1), dec!(2)), dec!(2));
    }

    fn line(gnum: u32, qty: Decimal, tax_price: Decimal) -> LineTax {
        LineTax {
            gnum,
            item_record_no: "1".into(),
            gcode: HsCode::parse("2201101000").unwrap(),
            qty,
            tax_price,
            customs: dec!(0),
            vat: dec!(0),
            consumption: dec!(0),
            high_end: false,
        }
    }

    #[test]
    fn refund_credit_is_proportional_and_full_returns_are_exact() {
        let lines = [line(1, dec!(2), dec!(200)), line(2, dec!(1), dec!(100.01))];
        assert_eq!(
            quota_credit_for_refund(dec!(300.01), &lines, &[(1, dec!(1))]),
            dec!(100)
        );
        let all = [(1, dec!(2)), (2, dec!(1))];
        assert_eq!(
            quota_credit_for_refund(dec!(300.01), &lines, &all),
            dec!(300.01)
        );
        assert_eq!(
            quota_credit_for_refund(dec!(300.01), &lines, &[(9, dec!(1))]),
            dec!(0)
        );
        assert_eq!(quota_credit_for_cancellation(dec!(12.5)), dec!(12.5));
    }

    proptest! {
        #[test]
        fn refund_credit_never_exceeds_the_quota_amount(
            prices in proptest::collection::vec(1i64..1_000_000, 1..5),
            returned in proptest::collection::vec(0i64..5, 1..5),
        ) {
            let lines: Vec<LineTax> = prices.iter().enumerate()
                .map(|(i, cents)| line(i as u32 + 1, dec!(3), Decimal::new(*cents, 2))).collect();
            let quota: Decimal = lines.iter().map(|l| l.tax_price).sum();
            let returned: Vec<(u32, Decimal)> = returned.iter().enumerate()
                .map(|(i, qty)| (i as u32 + 1, Decimal::from(*qty))).collect();
            let credit = quota_credit_for_refund(quota, &lines, &returned);
            prop_assert!(credit >= Decimal::ZERO && credit <= quota);
        }
    }

    #[test]
    fn returned_weight_is_credited_in_proportion_and_never_more() {
        let sugar = crate::types::TariffLine::parse("17019910").unwrap();
        let weights = std::collections::BTreeMap::from([(sugar.clone(), dec!(2))]);
        let lines = [(1, sugar.clone(), dec!(4))];
        let half = weight_credit_for_refund(&weights, &lines, &[(1, dec!(2))]);
        assert_eq!(half[&sugar], dec!(1));
        let all = weight_credit_for_refund(&weights, &lines, &[(1, dec!(9))]);
        assert_eq!(all[&sugar], dec!(2));
        assert!(weight_credit_for_refund(&weights, &lines, &[(2, dec!(1))]).is_empty());
    }
}
