//! `api_keys`: merchants' API keys, stored as the SHA-256 of their secret part.

use sea_orm::entity::prelude::*;

/// One API key of an enterprise. The full key `bg_<prefix>_<secret>` is shown once at creation;
/// only the prefix (public) and the hash of the secret are kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Key id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The enterprise the key acts for (its customs code).
    pub enterprise_code: String,
    /// Public part of the key, unique; shown in listings and logs.
    #[sea_orm(unique)]
    pub prefix: String,
    /// SHA-256 of the secret part (32 bytes).
    pub secret_hash: Vec<u8>,
    /// Free text to tell keys apart.
    pub label: String,
    /// When the key was created.
    pub created_at: DateTimeWithTimeZone,
    /// When the key was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTimeWithTimeZone>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
