//! API keys of enterprises: create, revoke, list, and authenticate a presented key.
//!
//! A key reads `bg_<prefix>_<secret>`: the prefix (12 hex digits) is public and unique, the secret
//! is 256 random bits (64 hex digits). Only the SHA-256 of the secret is stored; the key is shown
//! once, at creation. A fast hash is enough because the secret is random (no dictionary to try),
//! and the comparison is constant-time.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use bondgate_storage::entities::{api_key, enterprise};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "bg_";
/// Random bytes of the public prefix (hex: twice as many digits).
const PREFIX_BYTES: usize = 6;
/// Random bytes of the secret.
const SECRET_BYTES: usize = 32;

/// Errors of key management.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No enterprise with this code is registered.
    #[error("enterprise {0} is not registered")]
    UnknownEnterprise(String),
    /// No key with this prefix (or id).
    #[error("no API key {0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error")]
    Db(#[from] DbErr),
}

/// A key just created: the only time the full key is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// Key id.
    pub id: Uuid,
    /// The enterprise it acts for.
    pub enterprise_code: String,
    /// Public prefix.
    pub prefix: String,
    /// The full key `bg_<prefix>_<secret>`; store it now, it cannot be shown again.
    pub key: String,
}

/// A key as listings show it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// Key id.
    pub id: Uuid,
    /// The enterprise it acts for.
    pub enterprise_code: String,
    /// Public prefix.
    pub prefix: String,
    /// Label.
    pub label: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Revocation time, RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

/// Who a valid key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Key id (the rate-limit bucket).
    pub key_id: Uuid,
    /// Public prefix (for logs).
    pub prefix: String,
    /// The enterprise's customs code.
    pub enterprise_code: String,
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Creates a key for a registered enterprise.
pub async fn create(
    db: &DatabaseConnection,
    enterprise_code: &str,
    label: &str,
) -> Result<CreatedKey, KeyError> {
    if enterprise::Entity::find_by_id(enterprise_code.to_owned())
        .one(db)
        .await?
        .is_none()
    {
        return Err(KeyError::UnknownEnterprise(enterprise_code.to_owned()));
    }
    let prefix = hex::encode(rand::random::<[u8; PREFIX_BYTES]>());
    let secret = hex::encode(rand::random::<[u8; SECRET_BYTES]>());
    let id = Uuid::now_v7();
    api_key::ActiveModel {
        id: Set(id),
        enterprise_code: Set(enterprise_code.to_owned()),
        prefix: Set(prefix.clone()),
        secret_hash: Set(hash_secret(&secret).to_vec()),
        label: Set(label.to_owned()),
        created_at: Set(Utc::now().into()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(CreatedKey {
        id,
        enterprise_code: enterprise_code.to_owned(),
        key: format!("{KEY_PREFIX}{prefix}_{secret}"),
        prefix,
    })
}

/// Revokes the key with this prefix (or id); revoking twice is harmless.
pub async fn revoke(db: &DatabaseConnection, prefix_or_id: &str) -> Result<(), KeyError> {
    let by = match Uuid::parse_str(prefix_or_id) {
        Ok(id) => api_key::Column::Id.eq(id),
        Err(_) => api_key::Column::Prefix.eq(prefix_or_id),
    };
    let result = api_key::Entity::update_many()
        .col_expr(
            api_key::Column::RevokedAt,
            Expr::cust("COALESCE(revoked_at, now())"),
        )
        .filter(by)
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(KeyError::NotFound(prefix_or_id.to_owned()));
    }
    Ok(())
}

/// Lists keys, of one enterprise or of all, oldest first.
pub async fn list(
    db: &DatabaseConnection,
    enterprise_code: Option<&str>,
) -> Result<Vec<KeyInfo>, KeyError> {
    let mut query = api_key::Entity::find().order_by_asc(api_key::Column::CreatedAt);
    if let Some(code) = enterprise_code {
        query = query.filter(api_key::Column::EnterpriseCode.eq(code));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|key| KeyInfo {
            id: key.id,
            enterprise_code: key.enterprise_code,
            prefix: key.prefix,
            label: key.label,
            created_at: key.created_at.to_rfc3339(),
            revoked_at: key.revoked_at.map(|at| at.to_rfc3339()),
        })
        .collect())
}

/// Splits `bg_<prefix>_<secret>`; `None` when the text is not shaped like a key.
pub fn split_key(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex_of = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(prefix, PREFIX_BYTES * 2) && hex_of(secret, SECRET_BYTES * 2))
        .then_some((prefix, secret))
}

/// The principal of a presented key, when it is valid and not revoked.
pub async fn authenticate(
    db: &DatabaseConnection,
    presented: &str,
) -> Result<Option<Principal>, DbErr> {
    let Some((prefix, secret)) = split_key(presented) else {
        return Ok(None);
    };
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let matches: bool = hash_secret(secret).ct_eq(key.secret_hash.as_slice()).into();
    if !matches || key.revoked_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Principal {
        key_id: key.id,
        prefix: key.prefix,
        enterprise_code: key.enterprise_code,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_only_when_well_shaped() {
        let key = format!("bg_{}_{}", "a1".repeat(6), "0f".repeat(32));
        let (prefix, secret) = split_key(&key).unwrap();
        assert_eq!(prefix.len(), 12);
        assert_eq!(secret.len(), 64);
        assert!(split_key("bg_short_secret").is_none());
        assert!(split_key(&key.replace("bg_", "xx_")).is_none());
        assert!(split_key(&format!("{key}0")).is_none());
    }
}
