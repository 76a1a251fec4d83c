//! Reference data from the database: the account book and the positive list (loaded by
//! `bondgate seed`), turned into the domain's lookup structures. The one source every service
//! decides on (issue 15): clearance, intake's pre-flight and reads, and the CLI load it here, and
//! keep it fresh with [`SharedReference`].

use bondgate_domain::account_book::{AccountBook, AccountBookItem, NetContentUnit};
use bondgate_domain::positive_list::{ConsumptionTax, PositiveList, PositiveListEntry};
use bondgate_domain::types::{HsCode, TariffLine};
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};
use std::sync::{Arc, RwLock};
use std::time::Duration;

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
                net_content, net_content_unit, country, owner_code, owner_name, qty2_per_unit
         FROM account_book_items ORDER BY item_no",
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
            owner_code: row.try_get("owner_code")?,
            owner_name: row.try_get("owner_name")?,
            qty2_per_unit: row.try_get("qty2_per_unit")?,
        });
    }
    Ok(AccountBook::from_items(items))
}

/// Loads the positive list.
pub async fn positive_list(pool: &PgPool) -> Result<PositiveList, ReferenceError> {
    let rows = sqlx::query(
        "SELECT tariff_line, name, vat_rate, consumption_rate, consumption_high_end_only, mfn_rate,
                only_1210, name_keywords, weight_cap_kg, unit2::text AS unit2
         FROM positive_list ORDER BY tariff_line",
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
            unit2: row.try_get("unit2")?,
            weight_cap_kg_per_year: row.try_get("weight_cap_kg")?,
        });
    }
    Ok(PositiveList::from_entries(entries))
}

/// The account book and the positive list, as one snapshot.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    /// The zone warehouse's account book.
    pub account_book: AccountBook,
    /// The positive list.
    pub positive_list: PositiveList,
}

impl ReferenceData {
    /// Loads both tables.
    pub async fn load(pool: &PgPool) -> Result<Self, ReferenceError> {
        Ok(Self {
            account_book: account_book(pool).await?,
            positive_list: positive_list(pool).await?,
        })
    }
}

/// The reference data, shared by a service's tasks and refreshed from the database now and
/// then, so that items `bondgate seed` adds are used without a restart. A snapshot taken with
/// [`SharedReference::current`] stays whole while the next one loads.
#[derive(Debug, Clone)]
pub struct SharedReference {
    current: Arc<RwLock<Arc<ReferenceData>>>,
}

impl SharedReference {
    /// Loads the data once.
    pub async fn load(pool: &PgPool) -> Result<Self, ReferenceError> {
        Ok(Self::fixed(ReferenceData::load(pool).await?))
    }

    /// Data that never changes (tests, the CLI on CSV files).
    pub fn fixed(data: ReferenceData) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(data))),
        }
    }

    /// The latest snapshot.
    pub fn current(&self) -> Arc<ReferenceData> {
        // A poisoned lock only means a panic while swapping an Arc: the value is still whole.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Loads the data again and makes it current; on failure the old snapshot stays.
    pub async fn refresh(&self, pool: &PgPool) -> Result<(), ReferenceError> {
        let fresh = Arc::new(ReferenceData::load(pool).await?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }

    /// Refreshes every `interval` until the returned task is dropped or aborted; a failed load is
    /// logged and retried at the next tick.
    pub fn spawn_refresh(&self, pool: PgPool, interval: Duration) -> tokio::task::JoinHandle<()> {
        let shared = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if let Err(error) = shared.refresh(&pool).await {
                    tracing::warn!(%error, "reference data refresh failed; keeping the last");
                }
            }
        })
    }
}
