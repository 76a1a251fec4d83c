//! `positive_list`: the tariff lines allowed through CBEC, with their tax rates and remarks.

use sea_orm::entity::prelude::*;

/// One tariff line of the positive list (跨境电子商务零售进口商品清单).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "positive_list")]
pub struct Model {
    /// 8-digit tariff line (税则号列).
    #[sea_orm(primary_key, auto_increment = false, column_type = "Char(Some(8))")]
    pub tariff_line: String,
    /// Goods name.
    pub name: String,
    /// Import VAT rate as a fraction (0.13 = 13 %).
    pub vat_rate: Decimal,
    /// Consumption tax rate as a fraction; 0 when none.
    pub consumption_rate: Decimal,
    /// The consumption tax applies only to high-end cosmetics.
    pub consumption_high_end_only: bool,
    /// MFN tariff rate, charged only above the CBEC limits.
    pub mfn_rate: Decimal,
    /// Mode control: only through bonded import (1210).
    pub only_1210: bool,
    /// The goods name must contain one of these words; empty = no restriction.
    pub name_keywords: Vec<String>,
    /// Yearly weight cap per person, kg.
    pub weight_cap_kg: Option<Decimal>,
    /// The tariff line's second legal unit (JGS-20).
    #[sea_orm(column_type = "Char(Some(3))")]
    pub unit2: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
