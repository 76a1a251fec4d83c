//! The CBEC comprehensive tax (CBEC.md §3 rule 4, 财关税〔2016〕18号 + 〔2018〕49号).
//!
//! Per line: dutiable price (`taxPrice`) = line total + its share of freight and insurance.
//! Statutory: CT = (P + tariff) / (1 − r_ct) × r_ct; VAT = (P + tariff + CT) × r_vat.
//! Within the limits the tariff is 0 and 70 % of VAT and CT is payable, which makes the
//! composite rate (r_vat + r_ct) / (1 − r_ct) × 70 %. Above them (the single-item exception)
//! tariff, CT and VAT are charged in full. Intermediate values keep full precision; each
//! payable amount is rounded to 0.01 CNY once, at the end.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::account_book::{AccountBookItem, NetContentUnit};
use crate::config::TaxConfig;
use crate::positive_list::{ConsumptionTax, PositiveListEntry};
use crate::types::HsCode;

/// Which tax treatment applies to a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TaxRegime {
    /// Within the limits: tariff 0, 70 % of VAT and CT.
    Cbec,
    /// Above the limits (single-item exception): tariff, CT and VAT in full.
    Full,
}

/// The rates of one line, from the positive list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaxRates {
    /// VAT rate.
    pub vat: Decimal,
    /// Consumption tax.
    pub consumption: ConsumptionTax,
    /// MFN tariff rate.
    pub mfn: Decimal,
}

impl From<&PositiveListEntry> for TaxRates {
    fn from(entry: &PositiveListEntry) -> Self {
        Self {
            vat: entry.vat_rate,
            consumption: entry.consumption_tax,
            mfn: entry.mfn_rate,
        }
    }
}

/// What the tax engine needs to know about one order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLineInput {
    /// Line number (`gnum`).
    pub gnum: u32,
    /// Account-book item record number.
    pub item_record_no: String,
    /// HS code.
    pub gcode: HsCode,
    /// Quantity, greater than zero.
    pub qty: Decimal,
    /// The line's `totalPrice`.
    pub total_price: Decimal,
    /// Net content of one unit (for the high-end cosmetics test).
    pub net_content: Decimal,
    /// Unit of the net content.
    pub net_content_unit: NetContentUnit,
    /// Rates.
    pub rates: TaxRates,
}

impl TaxLineInput {
    /// Builds the input of an order line from its account-book item and positive-list entry.
    pub fn new(
        gnum: u32,
        qty: Decimal,
        total_price: Decimal,
        item: &AccountBookItem,
        entry: &PositiveListEntry,
    ) -> Self {
        Self {
            gnum,
            item_record_no: item.item_record_no.clone(),
            gcode: item.gcode.clone(),
            qty,
            total_price,
            net_content: item.net_content,
            net_content_unit: item.net_content_unit,
            rates: entry.into(),
        }
    }
}

/// The tax of one line (the CEB816 `TaxListRd` view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineTax {
    /// Line number.
    pub gnum: u32,
    /// Account-book item record number.
    pub item_record_no: String,
    /// HS code.
    pub gcode: HsCode,
    /// Quantity.
    pub qty: Decimal,
    /// Dutiable total price of the line (`taxPrice`).
    pub tax_price: Decimal,
    /// Tariff payable.
    pub customs: Decimal,
    /// VAT payable.
    pub vat: Decimal,
    /// Consumption tax payable.
    pub consumption: Decimal,
    /// Whether the line was judged high-end cosmetics.
    pub high_end: bool,
}

/// Tax totals of a declaration (the CEB816 `TaxHeadRd` view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TaxSummary {
    /// Tariff.
    pub customs: Decimal,
    /// VAT.
    pub vat: Decimal,
    /// Consumption tax.
    pub consumption: Decimal,
    /// Sum of the three.
    pub total: Decimal,
}

impl TaxSummary {
    /// Sums the lines' rounded amounts, so the head always equals the sum of its lines.
    pub fn of_lines(lines: &[LineTax]) -> Self {
        let mut summary = Self::default();
        for line in lines {
            summary.customs += line.customs;
            summary.vat += line.vat;
            summary.consumption += line.consumption;
        }
        summary.total = summary.customs + summary.vat + summary.consumption;
        summary
    }
}

/// Splits `extra` (freight + insurance) over lines in proportion to `values`. Shares are cut to
/// 0.01 toward zero and the last line takes the remainder, so the shares sum to `extra` exactly
/// and none is negative (rounding half-up could overshoot and leave the last share negative).
/// With no value at all, the last line takes everything.
pub fn apportion(extra: Decimal, values: &[Decimal]) -> Vec<Decimal> {
    let Some(last) = values.len().checked_sub(1) else {
        return Vec::new();
    };
    let total: Decimal = values.iter().sum();
    let mut shares = Vec::with_capacity(values.len());
    let mut given = Decimal::ZERO;
    for value in &values[..last] {
        let share = if total.is_zero() {
            Decimal::ZERO
        } else {
            (extra * *value / total).round_dp_with_strategy(2, RoundingStrategy::ToZero)
        };
        given += share;
        shares.push(share);
    }
    shares.push(extra - given);
    shares
}

/// The composite within-limits rate `(r_vat + r_ct) / (1 − r_ct) × factor`.
pub fn composite_rate(vat: Decimal, consumption: Decimal, factor: Decimal) -> Decimal {
    (vat + consumption) / (Decimal::ONE - consumption) * factor
}

/// High-end cosmetics test: dutiable price per ml or g of net content at or above the ml/g
/// threshold, or per piece at or above the piece threshold.
pub fn is_high_end(line: &TaxLineInput, tax_price: Decimal, config: &TaxConfig) -> bool {
    if line.qty.is_zero() || line.net_content.is_zero() {
        return false;
    }
    let per_content = tax_price / line.qty / line.net_content;
    let threshold = match line.net_content_unit {
        NetContentUnit::Ml | NetContentUnit::G => config.high_end_per_ml_or_g_min_cny,
        NetContentUnit::Piece => config.high_end_per_piece_min_cny,
    };
    per_content >= threshold
}

/// The consumption-tax rate that applies to a line at its dutiable price.
fn consumption_rate(line: &TaxLineInput, tax_price: Decimal, config: &TaxConfig) -> Decimal {
    match line.rates.consumption {
        ConsumptionTax::None => Decimal::ZERO,
        ConsumptionTax::AdValorem(rate) => rate,
        ConsumptionTax::HighEndCosmetics(rate) => {
            if is_high_end(line, tax_price, config) {
                rate
            } else {
                Decimal::ZERO
            }
        }
    }
}

/// Taxes one line at a known dutiable price.
pub fn tax_line(
    line: &TaxLineInput,
    tax_price: Decimal,
    regime: TaxRegime,
    config: &TaxConfig,
) -> LineTax {
    let ct_rate = consumption_rate(line, tax_price, config);
    let (tariff, factor) = match regime {
        TaxRegime::Cbec => (Decimal::ZERO, config.cbec_factor),
        TaxRegime::Full => (tax_price * line.rates.mfn, Decimal::ONE),
    };
    let base = tax_price + tariff;
    let consumption = base / (Decimal::ONE - ct_rate) * ct_rate;
    let vat = (base + consumption) * line.rates.vat;
    let round = |amount: Decimal| config.rounding.round_cny(amount);
    LineTax {
        gnum: line.gnum,
        item_record_no: line.item_record_no.clone(),
        gcode: line.gcode.clone(),
        qty: line.qty,
        tax_price,
        customs: round(tariff),
        vat: round(vat * factor),
        consumption: round(consumption * factor),
        high_end: matches!(line.rates.consumption, ConsumptionTax::HighEndCosmetics(_))
            && !ct_rate.is_zero(),
    }
}

/// Dutiable prices of the lines: totals plus apportioned freight and insurance.
pub fn tax_prices(lines: &[TaxLineInput], freight: Decimal, insurance: Decimal) -> Vec<Decimal> {
    let totals: Vec<Decimal> = lines.iter().map(|line| line.total_price).collect();
    let shares = apportion(freight + insurance, &totals);
    totals
        .iter()
        .zip(shares)
        .map(|(total, share)| total + share)
        .collect()
}

/// Taxes a declaration: every line and the totals.
pub fn assess(
    lines: &[TaxLineInput],
    freight: Decimal,
    insurance: Decimal,
    regime: TaxRegime,
    config: &TaxConfig,
) -> (Vec<LineTax>, TaxSummary) {
    let prices = tax_prices(lines, freight, insurance);
    let taxed: Vec<LineTax> = lines
        .iter()
        .zip(prices)
        .map(|(line, price)| tax_line(line, price, regime, config))
        .collect();
    let summary = TaxSummary::of_lines(&taxed);
    (taxed, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RoundingMode;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn input(gcode: &str, total: Decimal, qty: Decimal, rates: TaxRates) -> TaxLineInput {
        TaxLineInput {
            gnum: 1,
            item_record_no: "1".into(),
            gcode: HsCode::parse(gcode).unwrap(),
            qty,
            total_price: total,
            net_content: dec!(50),
            net_content_unit: NetContentUnit::Ml,
            rates,
        }
    }

    fn rates(vat: Decimal, consumption: ConsumptionTax, mfn: Decimal) -> TaxRates {
        TaxRates {
            vat,
            consumption,
            mfn,
        }
    }

    #[test]
    fn worked_example_mineral_water_410() {
        let water = input(
            "2201101000",
            dec!(410.00),
            dec!(1),
            rates(dec!(0.13), ConsumptionTax::None, dec!(0.05)),
        );
        let (lines, summary) = assess(
            &[water],
            Decimal::ZERO,
            Decimal::ZERO,
            TaxRegime::Cbec,
            &TaxConfig::default(),
        );
        assert_eq!(lines[0].tax_price, dec!(410.00));
        assert_eq!(
            (summary.customs, summary.vat, summary.consumption),
            (dec!(0), dec!(37.31), dec!(0))
        );
        assert_eq!(summary.total, dec!(37.31));
    }

    #[test]
    fn composite_rates_match_the_published_table() {
        let factor = dec!(0.7);
        assert_eq!(composite_rate(dec!(0.13), dec!(0), factor), dec!(0.091));
        assert_eq!(
            composite_rate(dec!(0.13), dec!(0.15), factor).round_dp(3),
            dec!(0.231)
        );
        assert_eq!(
            composite_rate(dec!(0.13), dec!(0.10), factor).round_dp(3),
            dec!(0.179)
        );
    }

    #[test]
    fn high_end_cosmetics_pay_consumption_tax_cheap_ones_do_not() {
        let cosmetics = rates(
            dec!(0.13),
            ConsumptionTax::HighEndCosmetics(dec!(0.15)),
            dec!(0.01),
        );
        let config = TaxConfig::default();
        // 50 ml at 500: 10 CNY/ml, exactly the threshold.
        let serum = input("3304990099", dec!(500), dec!(1), cosmetics);
        let taxed = tax_line(&serum, dec!(500), TaxRegime::Cbec, &config);
        assert!(taxed.high_end);
        assert_eq!(taxed.consumption, dec!(61.76)); // 500/0.85×0.15×0.7 = 61.7647
        assert_eq!(taxed.vat, dec!(53.53)); // (500+88.235)×0.13×0.7 = 53.529
        let lotion = input("3304990099", dec!(499.99), dec!(1), cosmetics);
        let taxed = tax_line(&lotion, dec!(499.99), TaxRegime::Cbec, &config);
        assert!(!taxed.high_end);
        assert_eq!(taxed.consumption, dec!(0));
    }

    #[test]
    fn full_regime_charges_tariff_and_full_rates() {
        let wine = input(
            "2204210000",
            dec!(6000),
            dec!(1),
            rates(
                dec!(0.13),
                ConsumptionTax::AdValorem(dec!(0.10)),
                dec!(0.14),
            ),
        );
        let taxed = tax_line(&wine, dec!(6000), TaxRegime::Full, &TaxConfig::default());
        assert_eq!(taxed.customs, dec!(840.00));
        // CT = 6840/0.9×0.1 = 760; VAT = (6840+760)×0.13 = 988.
        assert_eq!((taxed.consumption, taxed.vat), (dec!(760.00), dec!(988.00)));
    }

    #[test]
    fn apportion_is_exact_and_proportional() {
        assert_eq!(
            apportion(dec!(10), &[dec!(100), dec!(200), dec!(100)]),
            vec![dec!(2.5), dec!(5), dec!(2.5)]
        );
        assert_eq!(
            apportion(dec!(0.01), &[dec!(1), dec!(1), dec!(0)]),
            vec![dec!(0), dec!(0), dec!(0.01)]
        );
        assert_eq!(
            apportion(dec!(5), &[dec!(0), dec!(0)]),
            vec![dec!(0), dec!(5)]
        );
        assert!(apportion(dec!(5), &[]).is_empty());
    }

    #[test]
    fn rounding_mode_is_configurable() {
        // 0.7 × 0.13 × 0.55 = 0.05005 → 0.05 either way; 0.7 × 0.13 × 5.55 = 0.505050.
        let line = input(
            "2201101000",
            dec!(5.55),
            dec!(1),
            rates(dec!(0.13), ConsumptionTax::None, dec!(0)),
        );
        let down = TaxConfig {
            rounding: RoundingMode::Down,
            ..TaxConfig::default()
        };
        assert_eq!(
            tax_line(&line, dec!(5.55), TaxRegime::Cbec, &TaxConfig::default()).vat,
            dec!(0.51)
        );
        assert_eq!(
            tax_line(&line, dec!(5.55), TaxRegime::Cbec, &down).vat,
            dec!(0.50)
        );
    }

    fn money() -> impl Strategy<Value = Decimal> {
        (0i64..100_000_000).prop_map(|cents| Decimal::new(cents, 2))
    }

    fn consumption() -> impl Strategy<Value = ConsumptionTax> {
        prop_oneof![
            Just(ConsumptionTax::None),
            (1i64..60).prop_map(|pct| ConsumptionTax::AdValorem(Decimal::new(pct, 2))),
            (1i64..60).prop_map(|pct| ConsumptionTax::HighEndCosmetics(Decimal::new(pct, 2))),
        ]
    }

    proptest! {
        #[test]
        fn tax_is_never_negative(
            price in money(), freight in money(), qty in 1i64..50, vat in 0i64..30,
            ct in consumption(), mfn in 0i64..80, full in any::<bool>(),
        ) {
            let line = input("3304990099", price, Decimal::from(qty), rates(Decimal::new(vat, 2), ct, Decimal::new(mfn, 2)));
            let regime = if full { TaxRegime::Full } else { TaxRegime::Cbec };
            let (lines, summary) = assess(&[line.clone(), line], freight, Decimal::ZERO, regime, &TaxConfig::default());
            for taxed in &lines {
                prop_assert!(taxed.customs >= Decimal::ZERO && taxed.vat >= Decimal::ZERO);
                prop_assert!(taxed.consumption >= Decimal::ZERO && taxed.tax_price >= Decimal::ZERO);
            }
            prop_assert!(summary.total >= Decimal::ZERO);
            prop_assert_eq!(lines.iter().map(|l| l.tax_price).sum::<Decimal>(), price * dec!(2) + freight);
        }

        #[test]
        fn within_limits_tax_is_the_composite_rate(
            price in money(), vat in 0i64..30, ct in 0i64..60,
        ) {
            let (vat, ct) = (Decimal::new(vat, 2), Decimal::new(ct, 2));
            let consumption = if ct.is_zero() { ConsumptionTax::None } else { ConsumptionTax::AdValorem(ct) };
            let line = input("2204210000", price, Decimal::ONE, rates(vat, consumption, dec!(0.2)));
            let config = TaxConfig::default();
            let taxed = tax_line(&line, price, TaxRegime::Cbec, &config);
            let expected = composite_rate(vat, ct, config.cbec_factor) * price;
            let actual = taxed.customs + taxed.vat + taxed.consumption;
            prop_assert!(taxed.customs.is_zero());
            // Two amounts, each rounded by at most 0.005, plus the last-digit error of the
            // repeating decimal in the expected value.
            let bound = dec!(0.01) + dec!(0.000_000_001);
            prop_assert!((actual - expected).abs() <= bound, "{} vs {}", actual, expected);
        }

        #[test]
        fn apportioned_shares_sum_exactly(extra in money(), values in proptest::collection::vec(money(), 1..20)) {
            let shares = apportion(extra, &values);
            prop_assert_eq!(shares.iter().sum::<Decimal>(), extra);
            prop_assert!(shares.iter().all(|share| *share >= Decimal::ZERO));
        }
    }
}
