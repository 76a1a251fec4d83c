//! `account_book_items`: the bonded account book (电子账册) items with their stock balance.
//!
//! `on_hand` and `reserved` are balances of the append-only `stock_movements` ledger: whoever
//! changes them writes the matching movement in the same transaction.

use sea_orm::entity::prelude::*;

/// One account-book item (料号), identified by account book and item record number.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_book_items")]
pub struct Model {
    /// Account book number (`emsNo`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub ems_no: String,
    /// Account-book item number (`itemRecordNo`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_record_no: String,
    /// The merchant's SKU as orders name it (`OrderList.itemNo`), unique.
    pub item_no: String,
    /// 10-digit HS code.
    #[sea_orm(column_type = "Char(Some(10))")]
    pub gcode: String,
    /// Registered goods name.
    pub gname: String,
    /// Declaration elements (申报要素).
    pub gmodel: String,
    /// JGS-20 transaction unit.
    #[sea_orm(column_type = "Char(Some(3))")]
    pub unit: String,
    /// JGS-20 legal unit.
    #[sea_orm(column_type = "Char(Some(3))")]
    pub unit1: String,
    /// Legal quantity per transaction unit.
    pub qty1_per_unit: Decimal,
    /// Content of one transaction unit, in `net_content_unit`.
    pub net_content: Decimal,
    /// `ml`, `g` or `piece`.
    pub net_content_unit: String,
    /// JGS-20 origin country.
    #[sea_orm(column_type = "Char(Some(3))")]
    pub country: String,
    /// Stock in transaction units.
    /// The zone warehouse enterprise that keeps the account book (CEB621 `areaCode`).
    pub owner_code: Option<String>,
    /// Its name (CEB621 `areaName`).
    pub owner_name: Option<String>,
    /// Second legal quantity per transaction unit.
    pub qty2_per_unit: Option<Decimal>,
    pub on_hand: Decimal,
    /// Stock held by declarations not yet released.
    pub reserved: Decimal,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
