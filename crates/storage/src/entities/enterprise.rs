//! `enterprises`: the companies that send documents (platforms, sellers, payment and logistics).

use sea_orm::entity::prelude::*;

/// One enterprise, identified by its customs registration code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enterprises")]
pub struct Model {
    /// Customs registration code (C..18).
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// Registered name.
    pub name: String,
    /// What it may send: `platform`, `ecommerce`, `payment`, `logistics`, `agent`.
    pub roles: Vec<String>,
    /// When it was registered with bondgate.
    pub created_at: DateTimeWithTimeZone,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
