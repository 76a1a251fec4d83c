//! `bondgate seed`: loads the reference data (positive list, account book with initial stock,
//! enterprises) into the database, idempotently.
//!
//! Re-running is safe, with one rule per table:
//! * **positive list**: the table becomes the CSV — rows are upserted by tariff line and lines
//!   missing from the CSV are deleted, because the list is published whole and a line that left
//!   it must stop clearing;
//! * **account book**: items are upserted by (`emsNo`, `itemRecordNo`), but **stock is only set
//!   for items that are new**: a new item gets `on_hand = --stock` and one `stock_movements` row
//!   of kind 1 (stock in) with the same delta, so the ledger sums to the balance; an existing
//!   item keeps its balance and ledger (only its descriptive columns are refreshed). New items
//!   are found by `INSERT ... ON CONFLICT DO NOTHING RETURNING`, so two concurrent seeds cannot
//!   both stock the same item. Items missing from the CSV are kept (the ledger refers to them);
//! * **enterprises**: upserted by code (name and roles refreshed), never deleted (API keys
//!   refer to them).
//!
//! Everything runs in one transaction, with multi-row inserts of at most [`CHUNK_ROWS`] rows.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bondgate_domain::account_book::{AccountBookItem, NetContentUnit};
use bondgate_domain::positive_list::{ConsumptionTax, PositiveListEntry};
use bondgate_domain::types::CustomsCode;
use bondgate_storage::entities::{account_book_item, enterprise, positive_list, stock_movement};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde::Serialize;

use crate::database::DatabaseArgs;
use crate::error::{InputError, read_file};

/// Rows per multi-row `INSERT`: 1 000 rows of at most 17 columns stay far below PostgreSQL's
/// 65 535 bind parameters per statement.
pub const CHUNK_ROWS: usize = 1_000;

/// The SAMPLE enterprises compiled in (`seed/enterprises.csv`).
pub const SEED_ENTERPRISES: &str = include_str!("../seed/enterprises.csv");

/// The roles an enterprise may hold (the `enterprises.roles` column).
pub const ROLES: [&str; 6] = [
    "platform",
    "ecommerce",
    "payment",
    "logistics",
    "agent",
    "warehouse",
];

/// Flags of `bondgate seed`.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Positive list CSV; default: the SAMPLE seed list.
    #[arg(long, value_name = "CSV")]
    pub positive_list: Option<PathBuf>,
    /// Account book CSV; default: the SAMPLE seed account book.
    #[arg(long, value_name = "CSV")]
    pub account_book: Option<PathBuf>,
    /// Initial stock of each NEW account-book item, in transaction units.
    #[arg(long, value_name = "QTY_PER_ITEM", default_value = "100000")]
    pub stock: Decimal,
    /// Enterprises CSV (`code,name,roles`, roles `|`-separated); default: the SAMPLE seed.
    #[arg(long, value_name = "CSV")]
    pub enterprises: Option<PathBuf>,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// One enterprise of the enterprises CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseRow {
    /// Customs registration code.
    pub code: CustomsCode,
    /// Registered name.
    pub name: String,
    /// Roles, each one of [`ROLES`], without duplicates.
    pub roles: Vec<String>,
}

/// What `seed` did, printed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedSummary {
    /// Positive-list lines written.
    pub positive_list: usize,
    /// Positive-list lines deleted because the CSV no longer has them.
    pub positive_list_removed: u64,
    /// Account-book items written.
    pub account_book_items: usize,
    /// Of those, items that were new and received the initial stock.
    pub new_items_stocked: usize,
    /// The initial stock of each new item.
    pub stock_per_new_item: String,
    /// Enterprises written.
    pub enterprises: usize,
}

/// Parses the enterprises CSV (`#` lines are comments), reporting every problem by line.
pub fn parse_enterprises(input: &[u8]) -> Result<Vec<EnterpriseRow>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(input);
    let header_ok = reader
        .headers()
        .map(|h| h.iter().take(3).eq(["code", "name", "roles"]))
        .unwrap_or(false);
    if !header_ok {
        return Err(vec![
            "header: expected the columns code,name,roles".to_owned(),
        ]);
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                match enterprise_row(&record) {
                    Ok(row) => rows.push(row),
                    Err(message) => problems.push(format!("line {line}: {message}")),
                }
            }
            Err(error) => problems.push(error.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

fn enterprise_row(record: &csv::StringRecord) -> Result<EnterpriseRow, String> {
    let field = |index: usize| record.get(index).unwrap_or("");
    let code = CustomsCode::parse(field(0)).map_err(|e| format!("code: {e}"))?;
    let name = field(1);
    if name.is_empty() || name.chars().count() > 100 {
        return Err("name: 1 to 100 characters required".to_owned());
    }
    let mut roles: Vec<String> = Vec::new();
    for role in field(2).split('|').map(str::trim).filter(|r| !r.is_empty()) {
        if !ROLES.contains(&role) {
            return Err(format!(
                "roles: unknown role {role:?} (known: {})",
                ROLES.join(", ")
            ));
        }
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    if roles.is_empty() {
        return Err("roles: at least one role required".to_owned());
    }
    Ok(EnterpriseRow {
        code,
        name: name.to_owned(),
        roles,
    })
}

fn load_enterprises(path: Option<&Path>) -> Result<Vec<EnterpriseRow>, InputError> {
    let (path, bytes) = match path {
        Some(path) => (path.to_owned(), read_file(path)?),
        None => (
            PathBuf::from("<seed enterprises>"),
            SEED_ENTERPRISES.as_bytes().to_vec(),
        ),
    };
    parse_enterprises(&bytes).map_err(|problems| InputError::Csv { path, problems })
}

/// The row of a positive-list entry.
pub fn positive_list_model(entry: &PositiveListEntry) -> positive_list::ActiveModel {
    let (consumption_rate, high_end_only) = match entry.consumption_tax {
        ConsumptionTax::None => (Decimal::ZERO, false),
        ConsumptionTax::AdValorem(rate) => (rate, false),
        ConsumptionTax::HighEndCosmetics(rate) => (rate, true),
    };
    positive_list::ActiveModel {
        tariff_line: Set(entry.tariff_line.to_string()),
        name: Set(entry.name.clone()),
        vat_rate: Set(entry.vat_rate),
        consumption_rate: Set(consumption_rate),
        consumption_high_end_only: Set(high_end_only),
        mfn_rate: Set(entry.mfn_rate),
        only_1210: Set(entry.only_1210),
        name_keywords: Set(entry.name_keywords.clone()),
        weight_cap_kg: Set(entry.weight_cap_kg_per_year),
        unit2: Set(entry.unit2.clone()),
    }
}

/// The row of an account-book item with `on_hand` stock (used only if the row is new).
pub fn account_book_model(
    item: &AccountBookItem,
    on_hand: Decimal,
) -> account_book_item::ActiveModel {
    let net_content_unit = match item.net_content_unit {
        NetContentUnit::Ml => "ml",
        NetContentUnit::G => "g",
        NetContentUnit::Piece => "piece",
    };
    account_book_item::ActiveModel {
        ems_no: Set(item.ems_no.clone()),
        item_record_no: Set(item.item_record_no.clone()),
        item_no: Set(item.item_no.clone()),
        gcode: Set(item.gcode.to_string()),
        gname: Set(item.gname.clone()),
        gmodel: Set(item.gmodel.clone()),
        unit: Set(item.unit.clone()),
        unit1: Set(item.unit1.clone()),
        qty1_per_unit: Set(item.qty1_per_unit),
        net_content: Set(item.net_content),
        net_content_unit: Set(net_content_unit.to_owned()),
        country: Set(item.country.clone()),
        owner_code: Set(item.owner_code.clone()),
        owner_name: Set(item.owner_name.clone()),
        qty2_per_unit: Set(item.qty2_per_unit),
        on_hand: Set(on_hand),
        reserved: Set(Decimal::ZERO),
    }
}

async fn write_positive_list(
    txn: &DatabaseTransaction,
    entries: &[&PositiveListEntry],
) -> Result<u64, DbErr> {
    use positive_list::Column as C;
    let lines: Vec<String> = entries.iter().map(|e| e.tariff_line.to_string()).collect();
    let removed = positive_list::Entity::delete_many()
        .filter(C::TariffLine.is_not_in(lines))
        .exec(txn)
        .await?
        .rows_affected;
    let upsert = OnConflict::column(C::TariffLine)
        .update_columns([
            C::Name,
            C::VatRate,
            C::ConsumptionRate,
            C::ConsumptionHighEndOnly,
            C::MfnRate,
            C::Only1210,
            C::NameKeywords,
            C::WeightCapKg,
            C::Unit2,
        ])
        .to_owned();
    for chunk in entries.chunks(CHUNK_ROWS) {
        positive_list::Entity::insert_many(chunk.iter().map(|e| positive_list_model(e)))
            .on_conflict(upsert.clone())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(removed)
}

/// Upserts the items and stocks the new ones; returns how many were new.
async fn write_account_book(
    txn: &DatabaseTransaction,
    items: &[AccountBookItem],
    stock: Decimal,
) -> Result<usize, DbErr> {
    use account_book_item::Column as C;
    let key = [C::EmsNo, C::ItemRecordNo];
    let refresh = OnConflict::columns(key)
        .update_columns([
            C::ItemNo,
            C::Gcode,
            C::Gname,
            C::Gmodel,
            C::Unit,
            C::Unit1,
            C::Qty1PerUnit,
            C::NetContent,
            C::NetContentUnit,
            C::Country,
            C::OwnerCode,
            C::OwnerName,
            C::Qty2PerUnit,
        ])
        .to_owned();
    let mut new_items = 0;
    for chunk in items.chunks(CHUNK_ROWS) {
        // First insert what is new: RETURNING yields exactly the rows this statement created.
        let created = account_book_item::Entity::insert_many(
            chunk.iter().map(|item| account_book_model(item, stock)),
        )
        .on_conflict(OnConflict::columns(key).do_nothing().to_owned())
        .exec_with_returning(txn)
        .await?;
        new_items += created.len();
        if !stock.is_zero() {
            let movements = created.iter().map(|row| stock_movement::ActiveModel {
                ems_no: Set(row.ems_no.clone()),
                item_record_no: Set(row.item_record_no.clone()),
                kind: Set(stock_movement::KIND_STOCK_IN),
                on_hand_delta: Set(row.on_hand),
                reserved_delta: Set(Decimal::ZERO),
                ..Default::default()
            });
            stock_movement::Entity::insert_many(movements)
                .exec_without_returning(txn)
                .await?;
        }
        // Then refresh the descriptions of all; `on_hand` and `reserved` are not touched.
        account_book_item::Entity::insert_many(
            chunk.iter().map(|item| account_book_model(item, stock)),
        )
        .on_conflict(refresh.clone())
        .exec_without_returning(txn)
        .await?;
    }
    Ok(new_items)
}

async fn write_enterprises(txn: &DatabaseTransaction, rows: &[EnterpriseRow]) -> Result<(), DbErr> {
    use enterprise::Column as C;
    let upsert = OnConflict::column(C::Code)
        .update_columns([C::Name, C::Roles])
        .to_owned();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let models = chunk.iter().map(|row| enterprise::ActiveModel {
            code: Set(row.code.to_string()),
            name: Set(row.name.clone()),
            roles: Set(row.roles.clone()),
            ..Default::default()
        });
        enterprise::Entity::insert_many(models)
            .on_conflict(upsert.clone())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Runs `bondgate seed` and prints a [`SeedSummary`].
pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let summary = seed(&args).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Seeds the database at `url` with the SAMPLE seed data, `stock` per new item (tests, demo).
pub async fn seed_database(url: &str, stock: Decimal) -> anyhow::Result<SeedSummary> {
    seed(&SeedArgs {
        positive_list: None,
        account_book: None,
        stock,
        enterprises: None,
        database: DatabaseArgs {
            database_url: Some(url.to_owned()),
        },
    })
    .await
}

/// Loads, validates and writes the seed in one transaction.
async fn seed(args: &SeedArgs) -> anyhow::Result<SeedSummary> {
    if args.stock.is_sign_negative() {
        return Err(InputError::Value {
            flag: "--stock",
            detail: format!("must not be negative, got {}", args.stock),
        }
        .into());
    }
    // Validate every input before touching the database.
    let reference = crate::reference::files_or_sample(
        args.account_book.as_deref(),
        args.positive_list.as_deref(),
    )?;
    let enterprises = load_enterprises(args.enterprises.as_deref())?;
    let entries: Vec<&PositiveListEntry> = reference.positive_list.iter().collect();
    let items = reference.account_book.items();

    let db = bondgate_storage::connect(&args.database.config())
        .await
        .with_context(|| format!("connecting to {}", args.database.display_url()))?;
    let txn = db.begin().await?;
    let removed = write_positive_list(&txn, &entries)
        .await
        .context("writing the positive list")?;
    let new_items = write_account_book(&txn, items, args.stock)
        .await
        .context("writing the account book")?;
    write_enterprises(&txn, &enterprises)
        .await
        .context("writing the enterprises")?;
    txn.commit().await.context("committing the seed")?;
    db.close().await?;

    let summary = SeedSummary {
        positive_list: entries.len(),
        positive_list_removed: removed,
        account_book_items: items.len(),
        new_items_stocked: new_items,
        stock_per_new_item: args.stock.normalize().to_string(),
        enterprises: enterprises.len(),
    };
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_enterprises_cover_every_party() {
        let rows = parse_enterprises(SEED_ENTERPRISES.as_bytes()).unwrap();
        assert_eq!(rows.len(), 9);
        let warehouses = rows
            .iter()
            .filter(|r| r.roles.iter().any(|x| x == "warehouse"));
        assert_eq!(
            warehouses.count(),
            1,
            "the keeper of the sample account book"
        );
        for role in ["platform", "ecommerce", "payment", "logistics"] {
            let count = rows
                .iter()
                .filter(|r| r.roles.iter().any(|x| x == role))
                .count();
            assert_eq!(count, 2, "{role}");
        }
    }

    #[test]
    fn bad_enterprise_rows_are_reported_by_line() {
        let csv = "code,name,roles\nA1,Name,platform\nbad code!,N,platform\nB2,N,pirate\n";
        let problems = parse_enterprises(csv.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 3: code"), "{problems:?}");
        assert!(problems[1].contains("pirate"), "{problems:?}");
    }
}
