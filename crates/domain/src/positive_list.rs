//! The positive list (跨境电子商务零售进口商品清单): tariff lines allowed through CBEC, with their
//! tax rates and remarks (CBEC.md §3 rule 5).
//!
//! CSV format (header required, extra columns allowed after it, `#` lines are comments):
//!
//! | column | meaning |
//! |---|---|
//! | `tariff_line` | 8-digit tariff line |
//! | `name` | goods name |
//! | `vat_rate` | import VAT rate as a fraction, e.g. `0.13` |
//! | `consumption_tax` | `0`, an ad-valorem rate such as `0.10`, or `high_end:0.15` (cosmetics: only when high-end) |
//! | `mfn_rate` | MFN tariff rate as a fraction |
//! | `only_1210` | `true` when the line may only come through bonded import (1210), else `false` |
//! | `name_keywords` | `\|`-separated keywords, one of which the goods name must contain; empty = no restriction |
//! | `weight_cap_kg_per_year` | yearly weight cap per person in kg; empty = none |
//! | `unit2` (optional, by name) | the tariff line's second legal unit (JGS-20), e.g. `035` kg; empty = none |

use std::collections::BTreeMap;
use std::io::Read;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::csv_table::{CsvError, Row, parse_positive_decimal, parse_rate, read_rows};
use crate::types::{HsCode, TariffLine};

/// The columns of the positive-list CSV, in order.
pub const POSITIVE_LIST_COLUMNS: [&str; 8] = [
    "tariff_line",
    "name",
    "vat_rate",
    "consumption_tax",
    "mfn_rate",
    "only_1210",
    "name_keywords",
    "weight_cap_kg_per_year",
];

/// How consumption tax applies to a tariff line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConsumptionTax {
    /// No consumption tax.
    None,
    /// Ad-valorem consumption tax at this rate.
    AdValorem(Decimal),
    /// Cosmetics: this rate only when the goods are high-end (see the tax engine's thresholds).
    HighEndCosmetics(Decimal),
}

impl ConsumptionTax {
    fn parse(text: &str) -> Result<Self, String> {
        if let Some(rate) = text.strip_prefix("high_end:") {
            return parse_rate(rate).map(Self::HighEndCosmetics);
        }
        let rate = parse_rate(text)?;
        Ok(if rate.is_zero() {
            Self::None
        } else {
            Self::AdValorem(rate)
        })
    }
}

/// One line of the positive list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositiveListEntry {
    /// The 8-digit tariff line.
    pub tariff_line: TariffLine,
    /// Goods name.
    pub name: String,
    /// Import VAT rate (fraction).
    pub vat_rate: Decimal,
    /// Consumption tax.
    pub consumption_tax: ConsumptionTax,
    /// MFN tariff rate (fraction), charged only above the limits.
    pub mfn_rate: Decimal,
    /// Mode control: only through bonded import (1210).
    pub only_1210: bool,
    /// Name control: the goods name must contain one of these; empty means no restriction.
    pub name_keywords: Vec<String>,
    /// Weight control: yearly cap per person in kg.
    pub weight_cap_kg_per_year: Option<Decimal>,
    /// The tariff line's second legal unit (JGS-20), when it has one: the CEB621 then carries
    /// `qty2`/`unit2`.
    pub unit2: Option<String>,
}

impl PositiveListEntry {
    /// True when `goods_name` satisfies the name restriction (always true without one).
    pub fn allows_name(&self, goods_name: &str) -> bool {
        self.name_keywords.is_empty()
            || self
                .name_keywords
                .iter()
                .any(|keyword| goods_name.contains(keyword.as_str()))
    }
}

/// The positive list, keyed by tariff line.
#[derive(Debug, Clone, Default)]
pub struct PositiveList {
    entries: BTreeMap<TariffLine, PositiveListEntry>,
}

impl PositiveList {
    /// Builds a list from entries; a later entry for the same line replaces an earlier one.
    pub fn from_entries(entries: impl IntoIterator<Item = PositiveListEntry>) -> Self {
        Self {
            entries: entries
                .into_iter()
                .map(|e| (e.tariff_line.clone(), e))
                .collect(),
        }
    }

    /// Loads the CSV format described in the module docs, reporting every bad line.
    pub fn from_csv(input: impl Read) -> Result<Self, Vec<CsvError>> {
        let rows = read_rows(input, &POSITIVE_LIST_COLUMNS)?;
        let mut errors = Vec::new();
        let mut entries = BTreeMap::new();
        for row in &rows {
            let Some(entry) = parse_entry(row, &mut errors) else {
                continue;
            };
            if entries.contains_key(&entry.tariff_line) {
                errors.push(CsvError::new(
                    row.line,
                    format!("duplicate tariff line {}", entry.tariff_line),
                ));
                continue;
            }
            entries.insert(entry.tariff_line.clone(), entry);
        }
        if errors.is_empty() {
            Ok(Self { entries })
        } else {
            Err(errors)
        }
    }

    /// The entry of a tariff line.
    pub fn get(&self, line: &TariffLine) -> Option<&PositiveListEntry> {
        self.entries.get(line)
    }

    /// The entry covering an HS code (by its 8-digit tariff line).
    pub fn lookup(&self, hs: &HsCode) -> Option<&PositiveListEntry> {
        self.get(&hs.tariff_line())
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the list has no lines.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in tariff-line order.
    pub fn iter(&self) -> impl Iterator<Item = &PositiveListEntry> {
        self.entries.values()
    }
}

fn parse_entry(row: &Row, errors: &mut Vec<CsvError>) -> Option<PositiveListEntry> {
    let cols = &POSITIVE_LIST_COLUMNS;
    let before = errors.len();
    let tariff_line = row.parse(errors, cols, 0, TariffLine::parse);
    let name = row.parse(errors, cols, 1, |t| crate::types::text(t, 250));
    let vat_rate = row.parse(errors, cols, 2, parse_rate);
    let consumption_tax = row.parse(errors, cols, 3, ConsumptionTax::parse);
    let mfn_rate = row.parse(errors, cols, 4, parse_rate);
    let only_1210 = row.parse(errors, cols, 5, parse_bool);
    let name_keywords = row
        .cell(6)
        .split('|')
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let name_keywords = name_keywords.map(str::to_owned).collect();
    let weight_cap_kg_per_year = row.parse(errors, cols, 7, |text: &str| {
        if text.is_empty() {
            Ok(None)
        } else {
            parse_positive_decimal(text).map(Some)
        }
    });
    let unit2 = row.parse_named(errors, "unit2", |text: &str| {
        if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(text.to_owned())
        } else {
            Err(format!("expected a 3-digit unit code, got {text:?}"))
        }
    });
    if errors.len() > before {
        return None;
    }
    Some(PositiveListEntry {
        tariff_line: tariff_line?,
        name: name?,
        vat_rate: vat_rate?,
        consumption_tax: consumption_tax?,
        mfn_rate: mfn_rate?,
        only_1210: only_1210?,
        name_keywords,
        weight_cap_kg_per_year: weight_cap_kg_per_year?,
        unit2: unit2?,
    })
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const HEADER: &str = "tariff_line,name,vat_rate,consumption_tax,mfn_rate,only_1210,\
                          name_keywords,weight_cap_kg_per_year,extra\n";

    #[test]
    fn loads_entries_with_remarks_and_skips_comments() {
        let csv = format!(
            "# sample\n{HEADER}33049900,护肤品,0.13,high_end:0.15,0.01,false,,,x\n\
             17019910,白砂糖,0.09,0,0.5,false,白砂糖|冰糖,2,\n"
        );
        let list = PositiveList::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(list.len(), 2);
        let hs = HsCode::parse("3304990099").unwrap();
        let cosmetics = list.lookup(&hs).unwrap();
        assert_eq!(
            cosmetics.consumption_tax,
            ConsumptionTax::HighEndCosmetics(dec!(0.15))
        );
        let sugar = list.get(&TariffLine::parse("17019910").unwrap()).unwrap();
        assert_eq!(sugar.weight_cap_kg_per_year, Some(dec!(2)));
        assert!(sugar.allows_name("进口冰糖 500g") && !sugar.allows_name("红糖"));
    }

    #[test]
    fn reports_every_bad_line_with_its_number() {
        let csv = format!(
            "{HEADER}3304990,x,0.13,0,0,false,,\n33049900,x,1.5,0,0,maybe,,\n\
             22011010,水,0.13,0,0.05,false,,\n22011010,水,0.13,0,0.05,false,,\n"
        );
        let errors = PositiveList::from_csv(csv.as_bytes()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 3, 5], "{errors:?}");
        assert!(errors[0].message.contains("tariff_line"));
    }

    #[test]
    fn rejects_a_wrong_header() {
        let errors = PositiveList::from_csv("hs,name\n".as_bytes()).unwrap_err();
        assert_eq!(errors[0].line, 1);
    }
}
