//! The SAMPLE seed data compiled into the crate (not the official lists): a positive list and
//! an account book for development, tests and the demo.

use crate::account_book::AccountBook;
use crate::csv_table::CsvError;
use crate::positive_list::PositiveList;

/// The sample positive list CSV (`seed/positive_list.csv`).
pub fn seed_positive_list() -> &'static str {
    include_str!("../seed/positive_list.csv")
}

/// The sample account book CSV (`seed/account_book.csv`).
pub fn seed_account_book() -> &'static str {
    include_str!("../seed/account_book.csv")
}

/// The sample positive list, parsed.
pub fn load_seed_positive_list() -> Result<PositiveList, Vec<CsvError>> {
    PositiveList::from_csv(seed_positive_list().as_bytes())
}

/// The sample account book, parsed.
pub fn load_seed_account_book() -> Result<AccountBook, Vec<CsvError>> {
    AccountBook::from_csv(seed_account_book().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::positive_list::ConsumptionTax;
    use crate::types::HsCode;
    use rust_decimal_macros::dec;

    #[test]
    fn seed_list_has_the_required_lines_and_rates() {
        let list = load_seed_positive_list().unwrap();
        let expect = [
            ("1901101000", dec!(0.13), ConsumptionTax::None, dec!(0.15)),
            ("2201101000", dec!(0.13), ConsumptionTax::None, dec!(0.05)),
            (
                "2204210000",
                dec!(0.13),
                ConsumptionTax::AdValorem(dec!(0.10)),
                dec!(0.14),
            ),
            (
                "3304990099",
                dec!(0.13),
                ConsumptionTax::HighEndCosmetics(dec!(0.15)),
                dec!(0.01),
            ),
            (
                "3303000010",
                dec!(0.13),
                ConsumptionTax::HighEndCosmetics(dec!(0.15)),
                dec!(0.03),
            ),
            ("9619001100", dec!(0.13), ConsumptionTax::None, dec!(0.02)),
            ("2106909090", dec!(0.13), ConsumptionTax::None, dec!(0.08)),
            ("8517130000", dec!(0.13), ConsumptionTax::None, dec!(0)),
            ("4901990000", dec!(0.09), ConsumptionTax::None, dec!(0)),
            ("0306170000", dec!(0.09), ConsumptionTax::None, dec!(0.05)),
            ("9504502000", dec!(0.13), ConsumptionTax::None, dec!(0)),
        ];
        for (hs, vat, ct, mfn) in expect {
            let entry = list.lookup(&HsCode::parse(hs).unwrap()).unwrap();
            assert_eq!(
                (entry.vat_rate, entry.consumption_tax, entry.mfn_rate),
                (vat, ct, mfn),
                "{hs}"
            );
        }
        assert!(
            list.lookup(&HsCode::parse("0306170000").unwrap())
                .unwrap()
                .only_1210
        );
        assert!(
            list.iter()
                .any(|e| e.weight_cap_kg_per_year == Some(dec!(2)))
        );
        assert!(list.iter().any(|e| !e.name_keywords.is_empty()));
    }

    #[test]
    fn every_seed_item_is_on_the_seed_list() {
        let list = load_seed_positive_list().unwrap();
        let book = load_seed_account_book().unwrap();
        assert!(book.len() >= 20);
        for item in book.items() {
            assert!(list.lookup(&item.gcode).is_some(), "{}", item.item_no);
            assert_eq!(item.ems_no, "T8001W000001");
        }
    }
}
