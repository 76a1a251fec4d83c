//! The zone warehouse enterprise's customs account book (电子账册, `emsNo`): one item per
//! `itemRecordNo`, found from an order line by its SKU (`itemNo`).
//!
//! CSV format (header required, extra columns allowed after it, `#` lines are comments):
//! `ems_no,item_record_no,item_no,gcode,gname,gmodel,unit,unit1,qty1_per_unit,net_content,net_content_unit,country`
//! where `unit`/`unit1` are JGS-20 unit codes (transaction and legal unit), `qty1_per_unit` is the
//! legal quantity per transaction unit, `net_content` the content of one unit in
//! `net_content_unit` (`ml`, `g` or `piece`) and `country` the JGS-20 origin code. Optional
//! columns after these, read by name: `owner_code` and `owner_name`, the zone warehouse
//! enterprise that keeps the account book (the CEB621 `areaCode`/`areaName`), and
//! `qty2_per_unit`, the second legal quantity per transaction unit for tariff lines that have a
//! second legal unit (positive list `unit2`).

use std::collections::HashMap;
use std::io::Read;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::csv_table::{CsvError, Row, parse_positive_decimal, read_rows};
use crate::types::{HsCode, text};

/// The columns of the account-book CSV, in order.
pub const ACCOUNT_BOOK_COLUMNS: [&str; 12] = [
    "ems_no",
    "item_record_no",
    "item_no",
    "gcode",
    "gname",
    "gmodel",
    "unit",
    "unit1",
    "qty1_per_unit",
    "net_content",
    "net_content_unit",
    "country",
];

/// The JGS-20 code of the legal unit kilogram.
pub const UNIT_KG: &str = "035";

/// The unit of an item's net content, which decides the high-end cosmetics threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum NetContentUnit {
    /// Millilitres.
    Ml,
    /// Grams.
    G,
    /// Pieces (sheets).
    Piece,
}

impl NetContentUnit {
    /// Parses `ml`, `g` or `piece`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "ml" => Ok(Self::Ml),
            "g" => Ok(Self::G),
            "piece" => Ok(Self::Piece),
            other => Err(format!("expected ml, g or piece, got {other:?}")),
        }
    }
}

/// One account-book item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBookItem {
    /// Account book number (`emsNo`), e.g. `T8001W000001`.
    pub ems_no: String,
    /// Item record number (`itemRecordNo`, 料号).
    pub item_record_no: String,
    /// The platform SKU (`itemNo`) that order lines refer to.
    pub item_no: String,
    /// HS code.
    pub gcode: HsCode,
    /// Registered goods name.
    pub gname: String,
    /// Registered declaration elements (`gmodel`).
    pub gmodel: String,
    /// Transaction unit (JGS-20).
    pub unit: String,
    /// Legal unit (JGS-20).
    pub unit1: String,
    /// Legal quantity per transaction unit: `qty1 = qty × qty1_per_unit`.
    pub qty1_per_unit: Decimal,
    /// Net content of one transaction unit.
    pub net_content: Decimal,
    /// Unit of the net content.
    pub net_content_unit: NetContentUnit,
    /// Origin country (JGS-20).
    pub country: String,
    /// The zone warehouse enterprise that keeps the account book: the CEB621 `areaCode`.
    pub owner_code: Option<String>,
    /// Its name: the CEB621 `areaName`.
    pub owner_name: Option<String>,
    /// Second legal quantity per transaction unit (`qty2 = qty × qty2_per_unit`), for tariff
    /// lines with a second legal unit.
    pub qty2_per_unit: Option<Decimal>,
}

impl AccountBookItem {
    /// Weight in kg of `qty` units, for the positive list's weight caps: the legal quantity when
    /// the legal unit is kg, else the net content in g or ml (taken as water density) over 1000;
    /// `None` for pieces, whose weight is unknown.
    pub fn weight_kg(&self, qty: Decimal) -> Option<Decimal> {
        if self.unit1 == UNIT_KG {
            return Some(qty * self.qty1_per_unit);
        }
        match self.net_content_unit {
            NetContentUnit::G | NetContentUnit::Ml => {
                Some(qty * self.net_content / Decimal::ONE_THOUSAND)
            }
            NetContentUnit::Piece => None,
        }
    }
}

/// The account book, indexed by SKU and by `(ems_no, item_record_no)`.
#[derive(Debug, Clone, Default)]
pub struct AccountBook {
    items: Vec<AccountBookItem>,
    by_sku: HashMap<String, usize>,
}

impl AccountBook {
    /// Builds a book; SKUs must be unique (a later duplicate is ignored, use the CSV loader to
    /// have duplicates reported).
    pub fn from_items(items: impl IntoIterator<Item = AccountBookItem>) -> Self {
        let mut book = Self::default();
        for item in items {
            if !book.by_sku.contains_key(&item.item_no) {
                book.by_sku.insert(item.item_no.clone(), book.items.len());
                book.items.push(item);
            }
        }
        book
    }

    /// Loads the CSV format described in the module docs, reporting every bad line.
    pub fn from_csv(input: impl Read) -> Result<Self, Vec<CsvError>> {
        let rows = read_rows(input, &ACCOUNT_BOOK_COLUMNS)?;
        let mut errors = Vec::new();
        let mut book = Self::default();
        let mut records = HashMap::new();
        for row in &rows {
            let Some(item) = parse_item(row, &mut errors) else {
                continue;
            };
            let record = (item.ems_no.clone(), item.item_record_no.clone());
            if book.by_sku.contains_key(&item.item_no) || records.contains_key(&record) {
                errors.push(CsvError::new(
                    row.line,
                    format!(
                        "duplicate item_no {} or item_record_no {}",
                        item.item_no, record.1
                    ),
                ));
                continue;
            }
            records.insert(record, ());
            book.by_sku.insert(item.item_no.clone(), book.items.len());
            book.items.push(item);
        }
        if errors.is_empty() {
            Ok(book)
        } else {
            Err(errors)
        }
    }

    /// The item registered for a SKU.
    pub fn by_sku(&self, item_no: &str) -> Option<&AccountBookItem> {
        self.by_sku
            .get(item_no.trim())
            .map(|&index| &self.items[index])
    }

    /// All items in load order.
    pub fn items(&self) -> &[AccountBookItem] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the book has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn parse_item(row: &Row, errors: &mut Vec<CsvError>) -> Option<AccountBookItem> {
    let cols = &ACCOUNT_BOOK_COLUMNS;
    let before = errors.len();
    let ems_no = row.parse(errors, cols, 0, |t| text(t, 30));
    let item_record_no = row.parse(errors, cols, 1, |t| text(t, 30));
    let item_no = row.parse(errors, cols, 2, |t| text(t, 20));
    let gcode = row.parse(errors, cols, 3, HsCode::parse);
    let gname = row.parse(errors, cols, 4, |t| text(t, 250));
    let gmodel = row.parse(errors, cols, 5, |t| text(t, 510));
    let unit = row.parse(errors, cols, 6, unit_code);
    let unit1 = row.parse(errors, cols, 7, unit_code);
    let qty1_per_unit = row.parse(errors, cols, 8, parse_positive_decimal);
    let net_content = row.parse(errors, cols, 9, parse_positive_decimal);
    let net_content_unit = row.parse(errors, cols, 10, NetContentUnit::parse);
    let country = row.parse(errors, cols, 11, unit_code);
    let owner_code = row.parse_named(errors, "owner_code", owner_code);
    let owner_name = row.parse_named(errors, "owner_name", |t| text(t, 100));
    let qty2_per_unit = row.parse_named(errors, "qty2_per_unit", parse_positive_decimal);
    if errors.len() > before {
        return None;
    }
    Some(AccountBookItem {
        ems_no: ems_no?,
        item_record_no: item_record_no?,
        item_no: item_no?,
        gcode: gcode?,
        gname: gname?,
        gmodel: gmodel?,
        unit: unit?,
        unit1: unit1?,
        qty1_per_unit: qty1_per_unit?,
        net_content: net_content?,
        net_content_unit: net_content_unit?,
        country: country?,
        owner_code: owner_code?,
        owner_name: owner_name?,
        qty2_per_unit: qty2_per_unit?,
    })
}

/// A customs registration code (C..18, letters and digits).
fn owner_code(text: &str) -> Result<String, String> {
    crate::types::CustomsCode::parse(text)
        .map(|code| code.to_string())
        .map_err(|error| error.to_string())
}

/// A 3-digit JGS-20 code (units and countries).
fn unit_code(text: &str) -> Result<String, String> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("expected a 3-digit code, got {text:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const HEADER: &str = "ems_no,item_record_no,item_no,gcode,gname,gmodel,unit,unit1,\
                          qty1_per_unit,net_content,net_content_unit,country,warehouse\n";

    #[test]
    fn loads_items_and_finds_them_by_sku() {
        let csv = format!(
            "# sample\n{HEADER}T8001W000001,1,SKU-1,2201101000,矿泉水,500ml/瓶,142,095,0.5,500,ml,301,A\n"
        );
        let book = AccountBook::from_csv(csv.as_bytes()).unwrap();
        let item = book.by_sku("SKU-1").unwrap();
        assert_eq!(
            (item.item_record_no.as_str(), item.net_content),
            ("1", dec!(500))
        );
        assert_eq!(item.weight_kg(dec!(4)), Some(dec!(2)));
        assert_eq!(item.owner_code, None);
        assert!(book.by_sku("SKU-2").is_none());
    }

    #[test]
    fn reads_the_owner_and_the_second_unit_by_name() {
        let csv = "ems_no,item_record_no,item_no,gcode,gname,gmodel,unit,unit1,qty1_per_unit,\
                   net_content,net_content_unit,country,qty2_per_unit,owner_code,owner_name\n\
                   T1,1,S1,2204210000,葡萄酒,750ml,142,095,0.75,750,ml,305,1.2,5001980005,保税仓\n\
                   T1,2,S2,2204210000,葡萄酒,750ml,142,095,0.75,750,ml,305,,5001980005,保税仓\n\
                   T1,3,S3,2204210000,葡萄酒,750ml,142,095,0.75,750,ml,305,-1,5001-980,仓\n";
        let errors = AccountBook::from_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.line == 4), "{errors:?}");
        let good: String = csv.lines().take(3).map(|l| format!("{l}\n")).collect();
        let book = AccountBook::from_csv(good.as_bytes()).unwrap();
        let item = book.by_sku("S1").unwrap();
        assert_eq!(item.qty2_per_unit, Some(dec!(1.2)));
        assert_eq!(item.owner_code.as_deref(), Some("5001980005"));
        assert_eq!(book.by_sku("S2").unwrap().qty2_per_unit, None);
    }

    #[test]
    fn reports_bad_lines_with_numbers() {
        let csv = format!(
            "{HEADER}T1,1,S1,22011010,水,m,142,095,1,500,ml,301\n\
             T1,2,S2,2201101000,水,m,142,095,0,500,litre,301\n\
             T1,3,S3,2201101000,水,m,142,095,1,500,ml,301\n\
             T1,3,S4,2201101000,水,m,142,095,1,500,ml,301\n"
        );
        let errors = AccountBook::from_csv(csv.as_bytes()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 3, 5], "{errors:?}");
    }
}
