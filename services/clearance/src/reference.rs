//! Reference data from the database: the account book and the positive list (loaded by
//! `bondgate seed`), turned into the domain's lookup structures at start.

use bondgate_domain::account_book::{AccountBook, AccountBookItem, NetContentUnit};
use bondgate_domain::positive_list::{ConsumptionTax, PositiveList, PositiveListEntry};
use bondgate_domain::types::{HsCode, TariffLine};
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};

/// Problems reading reference data.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row does not parse (the CHECK constraints should prevent this).
    #[error("invalid reference row: {0}")]
    Invalid(String),
}

/// Loads the account book.
pub async fn account_book(pool: &PgPool) -> Result<AccountBook, ReferenceError> {
    let rows = sqlx::query(
        "SELECT ems_no, item_record_no, item_no, gcode, gname, gmodel, unit, unit1, qty1_per_unit,
                net_content, net_content_unit, country FROM account_book_items ORDER BY item_no",
    )
    .fetch_all(pool)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let text = |name: &str| -> Result<String, ReferenceError> {
            Ok(row.try_get::<String, _>(name)?.trim().to_owned())
        };
        items.push(AccountBookItem {
            ems_no: text("ems_no")?,
            item_record_no: text("item_record_no")?,
            item_no: text("item_no")?,
            gcode: HsCode::parse(&text("gcode")?)
                .map_err(|e| ReferenceError::Invalid(e.to_string()))?,
            gname: text("gname")?,
            gmodel: text("gmodel")?,
            unit: text("unit")?,
            unit1: text("unit1")?,
            qty1_per_unit: row.try_get("qty1_per_unit")?,
            net_content: row.try_get("net_content")?,
            net_content_unit: NetContentUnit::parse(&text("net_content_unit")?)
                .map_err(ReferenceError::Invalid)?,
            country: text("country")?,
        });
    }
    Ok(AccountBook::from_items(items))
}

/// Loads the positive list.
pub async fn positive_list(pool: &PgPool) -> Result<PositiveList, ReferenceError> {
    let rows = sqlx::query(
        "SELECT tariff_line, name, vat_rate, consumption_rate, consumption_high_end_only, mfn_rate,
                only_1210, name_keywords, weight_cap_kg FROM positive_list ORDER BY tariff_line",
    )
    .fetch_all(pool)
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let rate: Decimal = row.try_get("consumption_rate")?;
        let high_end_only: bool = row.try_get("consumption_high_end_only")?;
        let consumption_tax = match (high_end_only, rate.is_zero()) {
            (true, _) => ConsumptionTax::HighEndCosmetics(rate),
            (false, true) => ConsumptionTax::None,
            (false, false) => ConsumptionTax::AdValorem(rate),
        };
        let line: String = row.try_get("tariff_line")?;
        entries.push(PositiveListEntry {
            tariff_line: TariffLine::parse(line.trim())
                .map_err(|e| ReferenceError::Invalid(e.to_string()))?,
            name: row.try_get("name")?,
            vat_rate: row.try_get("vat_rate")?,
            consumption_tax,
            mfn_rate: row.try_get("mfn_rate")?,
            only_1210: row.try_get("only_1210")?,
            name_keywords: row.try_get("name_keywords")?,
            weight_cap_kg_per_year: row.try_get("weight_cap_kg")?,
        });
    }
    Ok(PositiveList::from_entries(entries))
}
