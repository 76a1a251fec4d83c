//! `stock_movements`: the append-only stock ledger of the account book.

use sea_orm::entity::prelude::*;

/// Kind 1: stock in (first-line entry, or the initial stock of `bondgate seed`).
pub const KIND_STOCK_IN: i16 = 1;

/// One change of an item's `on_hand` and `reserved`; per item the deltas sum to the balances.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    /// Identity column, assigned by the database (`GENERATED ALWAYS`): leave it unset on insert.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Account book number.
    pub ems_no: String,
    /// Account-book item number.
    pub item_record_no: String,
    /// 1 stock in, 2 reserve, 3 release reservation, 4 deduct on release, 5 restore,
    /// 6 reserve and deduct at once.
    pub kind: i16,
    /// Change of `on_hand`.
    pub on_hand_delta: Decimal,
    /// Change of `reserved`.
    pub reserved_delta: Decimal,
    /// The declaration that caused it, if any.
    pub declaration_id: Option<i64>,
    /// When it was written.
    pub created_at: DateTimeWithTimeZone,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
