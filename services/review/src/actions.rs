//! What officers do to a declaration: decide it (release 800, reject 100, send to inspection
//! 500), assign it, reveal its personal data. Each action is one PostgreSQL transaction that also
//! appends its audit entry, and a decision also writes its receipt to the outbox (published by
//! clearance's relay) and moves the stock and quota exactly as the pipeline would have:
//!
//! | decision | status | stock (ledger kind) | buyer quota | review task |
//! |---|---|---|---|---|
//! | release | 300/500 → 800 | reserved and on hand −qty (4, deduct on release) | kept | decided |
//! | reject | 300/500 → 100 | reserved −qty (3, release reservation) | credited back | decided |
//! | inspection | 300 → 500 | still reserved | kept | stays open |
//!
//! Concurrency is optimistic: the caller sends the `version` it read; the declaration row is
//! locked and a different version is a 409, so of two officers deciding at once exactly one
//! wins. Rows are locked in the pipeline's order (stock, then quota, then the declaration), so a
//! decision and a batch of the pipeline never deadlock.

use std::sync::LazyLock;

use bondgate_domain::codes::{self, ErrorCode};
use bondgate_domain::receipts;
use bondgate_domain::status::{ReturnStatus, transition};
use bondgate_storage::outbox::{self, NewReceipt};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row};
use utoipa::ToSchema;

use crate::audit::{self, NewEntry};
use crate::detail::subject;
use crate::error::ReviewError;
use crate::queue::{VISIBLE_TO_VIEWER_2, restricted_to};
use crate::sessions::Session;

/// Longest reason accepted, in characters.
pub const REASON_CHARS_MAX: usize = 500;
/// Shortest reason accepted where one is required, in characters.
pub const REASON_CHARS_MIN: usize = 2;
/// `receipts.flow` of inventory receipts (CEB622).
const FLOW_INVENTORY: i16 = bondgate_domain::receipts::Flow::Inventory as i16;
/// `stock_movements.kind`: reservation released (rejection).
const MOVEMENT_RELEASE_RESERVATION: i16 = 3;
/// `stock_movements.kind`: reserved stock deducted on release (800).
const MOVEMENT_DEDUCT_ON_RELEASE: i16 = 4;

/// An officer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Release (800): the stock is deducted.
    Release,
    /// Reject (100) with a customs code and a reason: stock and quota are given back.
    Reject,
    /// Send to inspection (500): the declaration stays in the queue until released or rejected.
    Inspection,
}

impl DecisionKind {
    /// The status it moves the declaration to.
    pub fn status(self) -> i32 {
        match self {
            Self::Release => 800,
            Self::Reject => 100,
            Self::Inspection => 500,
        }
    }

    /// Its name in metrics, audit entries and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Reject => "reject",
            Self::Inspection => "inspection",
        }
    }

    /// The kind for an API or form name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "release" => Some(Self::Release),
            "reject" => Some(Self::Reject),
            "inspection" => Some(Self::Inspection),
            _ => None,
        }
    }

    fn is_final(self) -> bool {
        !matches!(self, Self::Inspection)
    }
}

/// `POST /v1/review/declarations/{id}/decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionRequest {
    /// `release`, `reject` or `inspection`.
    pub decision: DecisionKind,
    /// The declaration's version as read (optimistic concurrency).
    pub version: i32,
    /// Why: required to reject or inspect (2–500 characters), optional to release.
    #[serde(default)]
    pub reason: Option<String>,
    /// Customs code of a rejection, from `GET /v1/review/reject-codes`.
    #[serde(default)]
    pub code: Option<i32>,
}

/// A customs code an officer may reject with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectCode {
    /// The code.
    pub code: i32,
    /// Customs message (Chinese).
    pub label_zh: &'static str,
    /// English label.
    pub label_en: &'static str,
}

/// The codes of manual rejections: the generic one first, then the rules' own.
const REJECT_CODES: [(ErrorCode, &str); 9] = [
    (codes::MANUAL_REVIEW_REFUSED, "refused after manual review"),
    (
        codes::DOCUMENTS_MISMATCH,
        "order, payment and waybill disagree",
    ),
    (
        codes::PAYMENT_ENTERPRISE_MISMATCH,
        "payment company differs",
    ),
    (codes::ORDER_ARITHMETIC, "order amounts do not add up"),
    (codes::OVER_SINGLE_LIMIT, "over the single-purchase limit"),
    (codes::OVER_ANNUAL_LIMIT, "over the annual limit"),
    (codes::NOT_ON_POSITIVE_LIST, "not on the positive list"),
    (codes::NAME_RESTRICTED, "goods name restricted by the list"),
    (codes::OVER_WEIGHT_CAP, "over the yearly quantity cap"),
];

/// The codes an officer may reject with.
pub fn reject_codes() -> Vec<RejectCode> {
    REJECT_CODES
        .iter()
        .map(|(code, en)| RejectCode {
            code: code.code,
            label_zh: code.message,
            label_en: en,
        })
        .collect()
}

/// A checked request.
#[derive(Debug, Clone)]
struct Checked {
    kind: DecisionKind,
    version: i32,
    reason: String,
    code: Option<ErrorCode>,
}

/// The reason trimmed; required reasons must have [`REASON_CHARS_MIN`] characters.
pub fn checked_reason(reason: Option<&str>, required: bool) -> Result<String, ReviewError> {
    let reason = reason.unwrap_or_default().trim().to_owned();
    let chars = reason.chars().count();
    if chars > REASON_CHARS_MAX {
        return Err(ReviewError::invalid(
            "bg.review.reason_too_long",
            format!("the reason is longer than {REASON_CHARS_MAX} characters"),
        ));
    }
    if required && chars < REASON_CHARS_MIN {
        return Err(ReviewError::invalid(
            "bg.review.reason_required",
            "a reason is required",
        ));
    }
    Ok(reason)
}

impl DecisionRequest {
    fn checked(&self) -> Result<Checked, ReviewError> {
        let required = !matches!(self.decision, DecisionKind::Release);
        let reason = checked_reason(self.reason.as_deref(), required)?;
        let code = match (self.decision, self.code) {
            (DecisionKind::Reject, Some(code)) => Some(
                REJECT_CODES
                    .iter()
                    .map(|(c, _)| *c)
                    .find(|c| c.code == code)
                    .ok_or_else(|| {
                        ReviewError::invalid(
                            "bg.review.unknown_code",
                            format!("{code} is not a code of GET /v1/review/reject-codes"),
                        )
                    })?,
            ),
            (DecisionKind::Reject, None) => {
                return Err(ReviewError::invalid(
                    "bg.review.code_required",
                    "a rejection needs a customs code",
                ));
            }
            (_, _) => None,
        };
        Ok(Checked {
            kind: self.decision,
            version: self.version,
            reason,
            code,
        })
    }
}

/// A committed decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    /// Declaration id.
    pub id: i64,
    /// Order number.
    pub order_no: String,
    /// The decision.
    pub decision: DecisionKind,
    /// The new status.
    pub status: i32,
    /// The new version.
    pub version: i32,
    /// The receipt written to the outbox.
    pub receipt_id: uuid::Uuid,
    /// Its per-order sequence.
    pub receipt_sequence: i32,
    /// When the declaration was held (for time-to-decision).
    #[schema(value_type = String)]
    pub held_at: DateTime<Utc>,
}

/// The declaration and task as locked for a decision.
#[derive(Debug)]
struct Locked {
    status: i32,
    version: i32,
    ebp_code: String,
    order_no: String,
    quota_amount: Decimal,
    buyer_hash: Vec<u8>,
    quota_year: i16,
    /// What the declaration counts toward the buyer's yearly weight caps.
    weight_lines: Vec<String>,
    weight_kg: Vec<Decimal>,
    cancelled: bool,
    task_open: bool,
    assigned_to: Option<String>,
    held_at: DateTime<Utc>,
}

/// One declaration line's stock.
#[derive(Debug, sqlx::FromRow)]
struct LineStock {
    ems_no: String,
    item_record_no: String,
    qty: Decimal,
}

/// Decides declaration `id` for `session`'s officer.
pub async fn decide(
    pool: &PgPool,
    session: &Session,
    id: i64,
    request: &DecisionRequest,
) -> Result<Decided, ReviewError> {
    if !session.role.may_decide() {
        return Err(ReviewError::role("decide declarations"));
    }
    let request = request.checked()?;
    let mut tx = pool.begin().await?;
    let lines: Vec<LineStock> = sqlx::query_as(
        "SELECT ems_no, item_record_no, qty FROM declaration_lines WHERE declaration_id = $1
         ORDER BY ems_no, item_record_no, gnum",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    if request.kind.is_final() {
        lock_stock(&mut tx, &lines).await?;
    }
    let buyer: Option<(Vec<u8>, i16)> =
        sqlx::query_as("SELECT buyer_hash, quota_year FROM declarations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (buyer_hash, year) = buyer.ok_or_else(|| ReviewError::no_declaration(id))?;
    if request.kind == DecisionKind::Reject {
        sqlx::query("SELECT 1 FROM buyer_quotas WHERE buyer_hash = $1 AND year = $2 FOR UPDATE")
            .bind(&buyer_hash)
            .bind(year)
            .execute(&mut *tx)
            .await?;
    }
    let locked = lock_declaration(&mut tx, id).await?;
    check(&locked, session, &request)?;
    let decided = write(&mut tx, session, id, &locked, &request, &lines).await?;
    tx.commit().await?;
    Ok(decided)
}

async fn lock_stock(conn: &mut PgConnection, lines: &[LineStock]) -> sqlx::Result<()> {
    let (ems, records): (Vec<&str>, Vec<&str>) = lines
        .iter()
        .map(|l| (l.ems_no.as_str(), l.item_record_no.as_str()))
        .unzip();
    sqlx::query(
        "SELECT 1 FROM account_book_items i
         JOIN (SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[])) AS k(ems, rec)
           ON i.ems_no = k.ems AND i.item_record_no = k.rec
         ORDER BY i.ems_no, i.item_record_no
         FOR UPDATE OF i",
    )
    .bind(&ems)
    .bind(&records)
    .execute(conn)
    .await?;
    Ok(())
}

async fn lock_declaration(conn: &mut PgConnection, id: i64) -> Result<Locked, ReviewError> {
    let row = sqlx::query(
        "SELECT d.status, d.version, d.ebp_code, d.order_no, d.quota_amount, d.buyer_hash,
                d.quota_year, d.weight_lines, d.weight_kg, d.cancelled_at IS NOT NULL AS cancelled,
                t.state = 'open' AS task_open, t.assigned_to, t.created_at AS held_at
         FROM declarations d JOIN review_tasks t ON t.declaration_id = d.id
         WHERE d.id = $1
         FOR UPDATE OF d, t",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| ReviewError::no_declaration(id))?;
    Ok(Locked {
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        ebp_code: row.try_get("ebp_code")?,
        order_no: row.try_get("order_no")?,
        quota_amount: row.try_get("quota_amount")?,
        buyer_hash: row.try_get("buyer_hash")?,
        quota_year: row.try_get("quota_year")?,
        weight_lines: row.try_get("weight_lines")?,
        weight_kg: row.try_get("weight_kg")?,
        cancelled: row.try_get("cancelled")?,
        task_open: row.try_get("task_open")?,
        assigned_to: row.try_get("assigned_to")?,
        held_at: row.try_get("held_at")?,
    })
}

fn conflict(code: &'static str, message: String, locked: &Locked) -> ReviewError {
    ReviewError::Conflict {
        code,
        message,
        current_version: Some(locked.version),
        current_status: Some(locked.status),
    }
}

/// The version first (of two concurrent decisions the loser always gets 409), then the state,
/// the status machine and the assignment.
fn check(locked: &Locked, session: &Session, request: &Checked) -> Result<(), ReviewError> {
    if locked.version != request.version {
        return Err(conflict(
            "bg.review.version_conflict",
            format!(
                "the declaration changed (version {} now, {} sent): reload it",
                locked.version, request.version
            ),
            locked,
        ));
    }
    if !locked.task_open || locked.cancelled {
        return Err(conflict(
            "bg.review.not_under_review",
            "the declaration is no longer under review".to_owned(),
            locked,
        ));
    }
    let from = ReturnStatus::from_code(locked.status);
    let to = ReturnStatus::from_code(request.kind.status());
    let legal = matches!(locked.status, 300 | 500)
        && matches!((from, to), (Some(from), Some(to)) if transition(from, to).is_ok());
    if !legal {
        return Err(conflict(
            "bg.review.illegal_transition",
            format!(
                "status {} cannot move to {}",
                locked.status,
                request.kind.status()
            ),
            locked,
        ));
    }
    let elsewhere = locked
        .assigned_to
        .as_deref()
        .is_some_and(|officer| officer != session.username);
    if elsewhere && !session.role.may_reassign() {
        return Err(ReviewError::Forbidden {
            code: "bg.review.assigned_elsewhere",
            message: "the declaration is assigned to another officer".to_owned(),
        });
    }
    Ok(())
}

/// The receipt of the decision, as the domain writes it (`returnInfo` and codes, customs style).
fn receipt_text(request: &Checked) -> (String, Vec<String>) {
    let receipt = match (request.kind, request.code) {
        (DecisionKind::Reject, Some(code)) => receipts::officer_rejected(code, &request.reason),
        (DecisionKind::Inspection, _) => receipts::officer_inspection(),
        _ => receipts::officer_released(),
    };
    (receipt.info, receipt.codes)
}

async fn write(
    conn: &mut PgConnection,
    session: &Session,
    id: i64,
    locked: &Locked,
    request: &Checked,
    lines: &[LineStock],
) -> Result<Decided, ReviewError> {
    let status = request.kind.status();
    let (info, receipt_codes) = receipt_text(request);
    let reasons: Vec<&str> = vec![request.reason.as_str()];
    let (version, sequence): (i32, i32) = sqlx::query_as(
        "UPDATE declarations SET status = $2, version = version + 1, updated_at = now(),
             receipt_seq = receipt_seq + 1,
             released_at = CASE WHEN $2 = 800 THEN now() ELSE released_at END,
             quota_amount = CASE WHEN $2 = 100 THEN 0 ELSE quota_amount END,
             weight_lines = CASE WHEN $2 = 100 THEN '{}' ELSE weight_lines END,
             weight_kg = CASE WHEN $2 = 100 THEN '{}' ELSE weight_kg END,
             codes = CASE WHEN $2 = 100 THEN $3 ELSE codes END,
             reasons = CASE WHEN $2 = 100 THEN $4 ELSE reasons END
         WHERE id = $1 RETURNING version, receipt_seq",
    )
    .bind(id)
    .bind(status)
    .bind(&receipt_codes)
    .bind(&reasons)
    .fetch_one(&mut *conn)
    .await?;
    update_task(conn, session, id, request.kind).await?;
    match request.kind {
        DecisionKind::Release => move_stock(conn, id, lines, MOVEMENT_DEDUCT_ON_RELEASE).await?,
        DecisionKind::Reject => {
            move_stock(conn, id, lines, MOVEMENT_RELEASE_RESERVATION).await?;
            credit_quota(conn, locked).await?;
            credit_weights(conn, locked).await?;
        }
        DecisionKind::Inspection => {}
    }
    let receipt = outbox::receipt_id(&locked.ebp_code, &locked.order_no, sequence);
    let row = NewReceipt {
        ebp_code: locked.ebp_code.clone(),
        order_no: locked.order_no.clone(),
        flow: FLOW_INVENTORY,
        sequence,
        status,
        info,
        codes: receipt_codes,
        declaration_id: Some(id),
    };
    outbox::append(conn, std::slice::from_ref(&row)).await?;
    let mut detail = serde_json::json!({
        "from": locked.status, "to": status, "version": version,
        "receiptId": receipt.to_string(), "receiptSequence": sequence,
    });
    if let Some(code) = request.code {
        detail["code"] = serde_json::Value::from(code.code);
    }
    let entry = NewEntry {
        actor: session.username.clone(),
        action: request.kind.as_str(),
        subject: subject(id),
        reason: request.reason.clone(),
        detail,
    };
    audit::append(conn, &entry).await?;
    Ok(Decided {
        id,
        order_no: locked.order_no.clone(),
        decision: request.kind,
        status,
        version,
        receipt_id: receipt,
        receipt_sequence: sequence,
        held_at: locked.held_at,
    })
}

async fn update_task(
    conn: &mut PgConnection,
    session: &Session,
    id: i64,
    kind: DecisionKind,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE review_tasks SET assigned_to = COALESCE(assigned_to, $2),
             state = CASE WHEN $3 THEN 'decided' ELSE state END,
             decision = CASE WHEN $3 THEN $4 ELSE decision END,
             decided_by = CASE WHEN $3 THEN $2 ELSE decided_by END,
             decided_at = CASE WHEN $3 THEN now() ELSE decided_at END
         WHERE declaration_id = $1",
    )
    .bind(id)
    .bind(&session.username)
    .bind(kind.is_final())
    .bind(kind.status())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ledger rows for the lines, then the balances by the same amounts (stock conservation).
async fn move_stock(
    conn: &mut PgConnection,
    id: i64,
    lines: &[LineStock],
    kind: i16,
) -> sqlx::Result<()> {
    let on_hand: Vec<Decimal> = lines
        .iter()
        .map(|l| {
            if kind == MOVEMENT_DEDUCT_ON_RELEASE {
                -l.qty
            } else {
                Decimal::ZERO
            }
        })
        .collect();
    let reserved: Vec<Decimal> = lines.iter().map(|l| -l.qty).collect();
    let ems: Vec<&str> = lines.iter().map(|l| l.ems_no.as_str()).collect();
    let records: Vec<&str> = lines.iter().map(|l| l.item_record_no.as_str()).collect();
    sqlx::query(
        "INSERT INTO stock_movements (ems_no, item_record_no, kind, on_hand_delta, reserved_delta,
                                      declaration_id)
         SELECT ems, rec, $3, d_on, d_res, $4
         FROM UNNEST($1::text[], $2::text[], $5::numeric[], $6::numeric[]) AS t(ems, rec, d_on, d_res)",
    )
    .bind(&ems)
    .bind(&records)
    .bind(kind)
    .bind(id)
    .bind(&on_hand)
    .bind(&reserved)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE account_book_items i SET on_hand = i.on_hand + t.d_on, reserved = i.reserved + t.d_res
         FROM (SELECT ems, rec, sum(d_on) AS d_on, sum(d_res) AS d_res
               FROM UNNEST($1::text[], $2::text[], $3::numeric[], $4::numeric[]) AS u(ems, rec, d_on, d_res)
               GROUP BY ems, rec) t
         WHERE i.ems_no = t.ems AND i.item_record_no = t.rec",
    )
    .bind(&ems)
    .bind(&records)
    .bind(&on_hand)
    .bind(&reserved)
    .execute(conn)
    .await?;
    Ok(())
}

async fn credit_quota(conn: &mut PgConnection, locked: &Locked) -> sqlx::Result<()> {
    if locked.quota_amount.is_zero() {
        return Ok(());
    }
    sqlx::query("UPDATE buyer_quotas SET used = used - $3 WHERE buyer_hash = $1 AND year = $2")
        .bind(&locked.buyer_hash)
        .bind(locked.quota_year)
        .bind(locked.quota_amount)
        .execute(conn)
        .await?;
    Ok(())
}

/// A rejected declaration's yearly weights go back to its buyer (rows locked in the pipeline's
/// order, by tariff line, before they change).
async fn credit_weights(conn: &mut PgConnection, locked: &Locked) -> sqlx::Result<()> {
    if locked.weight_lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT 1 FROM buyer_weights WHERE buyer_hash = $1 AND year = $2 AND tariff_line = ANY($3)
         ORDER BY tariff_line FOR UPDATE",
    )
    .bind(&locked.buyer_hash)
    .bind(locked.quota_year)
    .bind(&locked.weight_lines)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE buyer_weights w SET used_kg = w.used_kg - t.kg
         FROM UNNEST($3::text[], $4::numeric[]) AS t(l, kg)
         WHERE w.buyer_hash = $1 AND w.year = $2 AND w.tariff_line = t.l",
    )
    .bind(&locked.buyer_hash)
    .bind(locked.quota_year)
    .bind(&locked.weight_lines)
    .bind(&locked.weight_kg)
    .execute(conn)
    .await?;
    Ok(())
}

/// `POST /v1/review/declarations/{id}/assignment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRequest {
    /// The officer to assign to; `null` to unassign. Officers may only claim an unassigned
    /// declaration for themselves (or give back their own); supervisors assign anyone.
    pub assignee: Option<String>,
}

/// Assigns declaration `id`; returns the new assignee.
pub async fn assign(
    pool: &PgPool,
    session: &Session,
    id: i64,
    assignee: Option<&str>,
) -> Result<Option<String>, ReviewError> {
    if !session.role.may_decide() {
        return Err(ReviewError::role("assign declarations"));
    }
    let mut tx = pool.begin().await?;
    let task: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT state, assigned_to FROM review_tasks WHERE declaration_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (state, current) = task.ok_or_else(|| ReviewError::no_declaration(id))?;
    if state != "open" {
        return Err(ReviewError::Conflict {
            code: "bg.review.not_under_review",
            message: "the declaration is no longer under review".to_owned(),
            current_version: None,
            current_status: None,
        });
    }
    let me = session.username.as_str();
    let allowed = session.role.may_reassign()
        || match (current.as_deref(), assignee) {
            (None, Some(to)) => to == me,
            (Some(from), None) => from == me,
            _ => false,
        };
    if !allowed {
        return Err(ReviewError::Forbidden {
            code: "bg.review.assigned_elsewhere",
            message: "officers claim unassigned declarations for themselves only".to_owned(),
        });
    }
    if let Some(to) = assignee {
        let active: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM officers WHERE username = $1 AND disabled_at IS NULL
               AND role IN ('officer', 'supervisor')",
        )
        .bind(to)
        .fetch_optional(&mut *tx)
        .await?;
        if active.is_none() {
            return Err(ReviewError::invalid(
                "bg.review.unknown_officer",
                format!("{to} is not an active officer or supervisor"),
            ));
        }
    }
    sqlx::query("UPDATE review_tasks SET assigned_to = $2 WHERE declaration_id = $1")
        .bind(id)
        .bind(assignee)
        .execute(&mut *tx)
        .await?;
    let entry = NewEntry {
        actor: me.to_owned(),
        action: "assign",
        subject: subject(id),
        reason: String::new(),
        detail: serde_json::json!({ "from": current, "to": assignee }),
    };
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(assignee.map(str::to_owned))
}

/// Declaration `$1`'s task if the viewer `$2` may see it (locked until the reveal is recorded,
/// so it cannot be reassigned in between).
static REVEALABLE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT t.declaration_id FROM review_tasks t
         WHERE t.declaration_id = $1 AND {VISIBLE_TO_VIEWER_2} FOR SHARE"
    )
});

/// Records, before any personal data of declaration `id` is shown, who looks and why. A
/// declaration the assignment rule hides from the officer is "not found", like a missing one,
/// and nothing is recorded.
pub async fn record_reveal(
    pool: &PgPool,
    session: &Session,
    id: i64,
    reason: Option<&str>,
) -> Result<(), ReviewError> {
    if !session.role.may_reveal() {
        return Err(ReviewError::role("see unmasked personal data"));
    }
    let reason = checked_reason(reason, true)?;
    let mut tx = pool.begin().await?;
    let visible: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(REVEALABLE.as_str()))
        .bind(id)
        .bind(restricted_to(session))
        .fetch_optional(&mut *tx)
        .await?;
    if visible.is_none() {
        return Err(ReviewError::no_declaration(id));
    }
    let entry = NewEntry {
        actor: session.username.clone(),
        action: "reveal",
        subject: subject(id),
        reason,
        detail: serde_json::json!({ "fields": "buyer, payer, consignee" }),
    };
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(decision: DecisionKind, reason: Option<&str>, code: Option<i32>) -> DecisionRequest {
        DecisionRequest {
            decision,
            version: 1,
            reason: reason.map(str::to_owned),
            code,
        }
    }

    #[test]
    fn rejections_need_a_listed_code_and_a_reason() {
        let ok = request(DecisionKind::Reject, Some("疑似代购"), Some(-900401));
        assert_eq!(
            ok.checked().unwrap().code,
            Some(codes::MANUAL_REVIEW_REFUSED)
        );
        let no_reason = request(DecisionKind::Reject, Some(" "), Some(-900401));
        assert_eq!(
            no_reason.checked().unwrap_err().code(),
            "bg.review.reason_required"
        );
        let no_code = request(DecisionKind::Reject, Some("理由"), None);
        assert_eq!(
            no_code.checked().unwrap_err().code(),
            "bg.review.code_required"
        );
        let unlisted = request(DecisionKind::Reject, Some("理由"), Some(-301010));
        assert_eq!(
            unlisted.checked().unwrap_err().code(),
            "bg.review.unknown_code"
        );
        let long = request(DecisionKind::Inspection, Some(&"长".repeat(501)), None);
        assert_eq!(
            long.checked().unwrap_err().code(),
            "bg.review.reason_too_long"
        );
    }

    #[test]
    fn releases_need_no_reason_and_inspections_do() {
        assert!(request(DecisionKind::Release, None, None).checked().is_ok());
        assert!(
            request(DecisionKind::Inspection, None, None)
                .checked()
                .is_err()
        );
    }

    #[test]
    fn receipts_read_like_customs_receipts() {
        let checked = request(DecisionKind::Reject, Some("疑似代购"), Some(-900401))
            .checked()
            .unwrap();
        assert_eq!(
            receipt_text(&checked),
            (
                "[code:-900401;Desc:疑似代购]".to_owned(),
                vec!["-900401".to_owned()]
            )
        );
        let release = request(DecisionKind::Release, None, None)
            .checked()
            .unwrap();
        assert_eq!(receipt_text(&release).0, "[Code:2600;Desc:放行]");
    }

    #[test]
    fn every_listed_code_is_in_the_catalogue() {
        for code in reject_codes() {
            assert!(ErrorCode::lookup(code.code).is_some(), "{}", code.code);
        }
    }
}
