//! Search among the declarations held for review (the review service's scope) by order number,
//! inventory number, waybill number or the buyer's ID number. An ID number is never stored or
//! sent anywhere: it is hashed with the buyer-hash key and matched exactly on the hash, and every
//! such search is audited (it is a lookup of a person). Results follow the queue's assignment
//! rule: an officer finds only declarations the queue would show them.

use bondgate_domain::privacy::{hash_id_number, mask_id_number};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::audit::{self, NewEntry};
use crate::error::ReviewError;
use crate::queue::{QueueItem, VISIBLE_TO_VIEWER_2, item_of, restricted_to};
use crate::sessions::Session;

/// Most results of one search.
pub const RESULTS_MAX: i64 = 50;

/// What is searched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SearchBy {
    /// Platform order number (`orderNo`).
    OrderNo,
    /// Customs inventory number (`invtNo`).
    InvtNo,
    /// Waybill number (`logisticsNo`).
    LogisticsNo,
    /// The buyer's ID number (exact match on its keyed hash; audited).
    BuyerId,
}

impl SearchBy {
    /// The kind for a form value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "orderNo" => Some(Self::OrderNo),
            "invtNo" => Some(Self::InvtNo),
            "logisticsNo" => Some(Self::LogisticsNo),
            "buyerId" => Some(Self::BuyerId),
            _ => None,
        }
    }
}

/// `POST /v1/review/search` (a POST, so an ID number never lands in a URL or an access log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    /// What `value` is.
    pub by: SearchBy,
    /// The number, 1–60 characters.
    pub value: String,
}

const SEARCH: &str = "
SELECT d.id, d.ebp_code, ep.name AS ebp_name, d.ebc_code, ec.name AS ebc_name, d.order_no,
       d.invt_no, d.logistics_no, d.status, d.version, d.codes, d.dutiable_value, d.tax_total,
       t.created_at AS held_at, extract(epoch FROM now() - t.created_at)::bigint AS age_seconds,
       t.assigned_to, t.decided_by, t.decided_at
FROM review_tasks t
JOIN declarations d ON d.id = t.declaration_id
LEFT JOIN enterprises ep ON ep.code = d.ebp_code
LEFT JOIN enterprises ec ON ec.code = d.ebc_code
WHERE";

/// Most recent holds first.
const ORDER: &str = "ORDER BY t.created_at DESC, d.id DESC LIMIT $4";

/// The declarations matching `request`, newest hold first.
pub async fn search(
    pool: &PgPool,
    session: &Session,
    buyer_hash_key: &[u8],
    request: &SearchRequest,
) -> Result<Vec<QueueItem>, ReviewError> {
    let value = request.value.trim();
    if value.is_empty() || value.chars().count() > 60 {
        return Err(ReviewError::invalid(
            "bg.review.search_value",
            "the number must be 1-60 characters",
        ));
    }
    // One static condition per kind, so each can use its index (invtNo, buyer hash).
    let condition = match request.by {
        SearchBy::OrderNo => "d.order_no = $1",
        SearchBy::InvtNo => "d.invt_no = $1",
        SearchBy::LogisticsNo => "d.logistics_no = $1",
        SearchBy::BuyerId => "d.buyer_hash = $3",
    };
    let hash = hex::decode(hash_id_number(buyer_hash_key, value))
        .map_err(|e| ReviewError::Internal(format!("buyer hash: {e}")))?;
    let mut tx = pool.begin().await?;
    if request.by == SearchBy::BuyerId {
        let entry = NewEntry {
            actor: session.username.clone(),
            action: "search_buyer",
            subject: "buyer".to_owned(),
            reason: String::new(),
            detail: serde_json::json!({ "buyerId": mask_id_number(value) }),
        };
        audit::append(&mut tx, &entry).await?;
    }
    // Both values are always named, so PostgreSQL knows their types whichever is used.
    let sql = format!(
        "{SEARCH} {condition} AND {VISIBLE_TO_VIEWER_2}
         AND $1::text IS NOT NULL AND $3::bytea IS NOT NULL {ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(restricted_to(session))
        .bind(&hash)
        .bind(RESULTS_MAX)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.iter().map(item_of).collect::<sqlx::Result<Vec<_>>>()?)
}
