//! The review queue: declarations held for manual review (300) or sent to inspection (500),
//! oldest first, with filters, pagination and counts; and the list of decided reviews, newest
//! first. Officers see the unassigned declarations and their own; supervisors and auditors see
//! everyone's.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use utoipa::{IntoParams, ToSchema};

use crate::error::ReviewError;
use crate::sessions::Session;

/// Which reviews to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Waiting for a decision (status 300 or 500), oldest first.
    #[default]
    Open,
    /// Released or rejected by an officer, newest first.
    Decided,
}

/// Filters and page of `GET /v1/review/queue` (and of the queue page's form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", default)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct QueueQuery {
    /// `open` (default) or `decided`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    /// Platform or seller customs code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<String>,
    /// HS chapter of any line, two digits (e.g. `33`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chapter: Option<String>,
    /// Hold code (`bg.risk.*`) or rejection code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Only declarations held at least this many hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_age_hours: Option<u32>,
    /// Only declarations assigned to this officer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Page, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Rows per page (bounded by the service's `page_size_max`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueItem {
    /// Declaration id (the detail's path).
    pub id: i64,
    /// Platform code.
    pub ebp_code: String,
    /// Platform name, when registered.
    pub ebp_name: Option<String>,
    /// Seller code.
    pub ebc_code: String,
    /// Seller name, when registered.
    pub ebc_name: Option<String>,
    /// Order number.
    pub order_no: String,
    /// Inventory number.
    pub invt_no: Option<String>,
    /// Waybill number.
    pub logistics_no: String,
    /// CEB status: 300, 500, or the decision (800, 100).
    pub status: i32,
    /// Optimistic-concurrency version (send it back with a decision).
    pub version: i32,
    /// Hold codes (`bg.risk.*`), or the rejection code once rejected.
    pub codes: Vec<String>,
    /// Dutiable value, CNY.
    #[schema(value_type = String)]
    pub dutiable_value: Decimal,
    /// Tax, CNY.
    #[schema(value_type = String)]
    pub tax_total: Decimal,
    /// When the declaration was held.
    #[schema(value_type = String)]
    pub held_at: DateTime<Utc>,
    /// Seconds since it was held.
    pub age_seconds: i64,
    /// The officer it is assigned to.
    pub assigned_to: Option<String>,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When it was decided.
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// How many of something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Count {
    /// The status, code, enterprise or chapter.
    pub key: String,
    /// The enterprise's registered name, for enterprises.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How many declarations.
    pub count: i64,
}

/// Counts of the viewer's open queue, whatever the filters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueCounts {
    /// Declarations waiting.
    pub open: i64,
    /// Of them, by status (`300`, `500`).
    pub by_status: Vec<Count>,
    /// By hold code, most frequent first.
    pub by_reason: Vec<Count>,
    /// By platform or seller (the filter's choices).
    pub by_enterprise: Vec<Count>,
    /// By HS chapter of their lines.
    pub by_chapter: Vec<Count>,
    /// Assigned to the viewer.
    pub mine: i64,
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuePage {
    /// Which list.
    pub state: TaskState,
    /// Rows matching the filters.
    pub total: i64,
    /// This page, from 1.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Pages in all (at least 1).
    pub pages: u32,
    /// The rows.
    pub items: Vec<QueueItem>,
    /// Counts of the open queue.
    pub counts: QueueCounts,
}

/// Page bounds of the service.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Default rows per page.
    pub page_size: u32,
    /// Most rows per page.
    pub page_size_max: u32,
    /// Deepest page.
    pub page_max: u32,
}

/// The filters, checked and bound as SQL parameters.
#[derive(Debug, Clone, Default)]
struct Bound {
    visible_to: Option<String>,
    enterprise: Option<String>,
    chapter: Option<String>,
    reason: Option<String>,
    min_age_hours: Option<i32>,
    assignee: Option<String>,
}

fn non_empty(value: &Option<String>, max_chars: usize) -> Result<Option<String>, ReviewError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() <= max_chars => Ok(Some(text.to_owned())),
        Some(_) => Err(ReviewError::BadRequest {
            code: "bg.request.query",
            message: format!("a filter is longer than {max_chars} characters"),
        }),
    }
}

impl Bound {
    fn of(query: &QueueQuery, viewer: &Session) -> Result<Self, ReviewError> {
        let chapter = non_empty(&query.chapter, 2)?;
        if chapter
            .as_deref()
            .is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ReviewError::BadRequest {
                code: "bg.request.query",
                message: "chapter must be two digits".to_owned(),
            });
        }
        Ok(Self {
            visible_to: restricted_to(viewer).map(str::to_owned),
            enterprise: non_empty(&query.enterprise, 18)?,
            chapter,
            reason: non_empty(&query.reason, 64)?,
            min_age_hours: query
                .min_age_hours
                .map(|hours| i32::try_from(hours.min(24 * 366)).unwrap_or(i32::MAX)),
            assignee: non_empty(&query.assignee, 64)?,
        })
    }
}

/// Held declarations and their review tasks.
const FROM: &str = "FROM review_tasks t JOIN declarations d ON d.id = t.declaration_id";

/// The assignment rule of reading, over `review_tasks t`, with the viewer's username in `$2`
/// (NULL for roles that see everyone's work): an officer sees the open declarations that are
/// unassigned or assigned to them, and the ones they decided. The queue, the detail page,
/// reveals and search all apply this one condition.
pub const VISIBLE_TO_VIEWER_2: &str = "($2::text IS NULL
       OR (t.state = 'open' AND (t.assigned_to IS NULL OR t.assigned_to = $2))
       OR (t.state = 'decided' AND t.decided_by = $2))";

/// The username the assignment rule restricts `viewer` to: `None` for roles that see
/// everyone's work (supervisors and auditors).
pub fn restricted_to(viewer: &Session) -> Option<&str> {
    (!viewer.role.sees_everyone()).then_some(viewer.username.as_str())
}

/// The rows a viewer may see, with every filter: `$1` state, `$2` viewer (NULL: everyone),
/// `$3` enterprise, `$4` chapter, `$5` code, `$6` minimum age in hours, `$7` assignee.
fn filters() -> String {
    format!(
        "
WHERE t.state = $1
  AND {VISIBLE_TO_VIEWER_2}
  AND ($3::text IS NULL OR d.ebp_code = $3 OR d.ebc_code = $3)
  AND ($4::text IS NULL OR EXISTS (
        SELECT 1 FROM declaration_lines l WHERE l.declaration_id = d.id AND left(l.gcode, 2) = $4))
  AND ($5::text IS NULL OR $5 = ANY (d.codes))
  AND ($6::int IS NULL OR t.created_at <= now() - make_interval(hours => $6))
  AND ($7::text IS NULL OR t.assigned_to = $7)"
    )
}

const COLUMNS: &str = "
SELECT d.id, d.ebp_code, ep.name AS ebp_name, d.ebc_code, ec.name AS ebc_name, d.order_no,
       d.invt_no, d.logistics_no, d.status, d.version, d.codes, d.dutiable_value, d.tax_total,
       t.created_at AS held_at, extract(epoch FROM now() - t.created_at)::bigint AS age_seconds,
       t.assigned_to, t.decided_by, t.decided_at";

const NAMES: &str = "
LEFT JOIN enterprises ep ON ep.code = d.ebp_code
LEFT JOIN enterprises ec ON ec.code = d.ebc_code";

fn state_text(state: TaskState) -> &'static str {
    match state {
        TaskState::Open => "open",
        TaskState::Decided => "decided",
    }
}

/// One page of the queue for `viewer`.
pub async fn page(
    pool: &PgPool,
    viewer: &Session,
    query: &QueueQuery,
    limits: PageLimits,
) -> Result<QueuePage, ReviewError> {
    let state = query.state.unwrap_or_default();
    let bound = Bound::of(query, viewer)?;
    let page_size = query
        .page_size
        .unwrap_or(limits.page_size)
        .clamp(1, limits.page_size_max);
    let page = query.page.unwrap_or(1).clamp(1, limits.page_max);
    let order = match state {
        TaskState::Open => "t.created_at, d.id",
        TaskState::Decided => "t.decided_at DESC, d.id DESC",
    };
    let filters = filters();
    let select = format!("{COLUMNS} {FROM} {NAMES} {filters} ORDER BY {order} LIMIT $8 OFFSET $9");
    let rows = bind(sqlx::query(sqlx::AssertSqlSafe(select)), state, &bound)
        .bind(i64::from(page_size))
        .bind(i64::from(page - 1) * i64::from(page_size))
        .fetch_all(pool)
        .await?;
    let items = rows.iter().map(item_of).collect::<sqlx::Result<Vec<_>>>()?;
    let count_sql = format!("SELECT count(*) {FROM} {filters}");
    let total: i64 = bind(sqlx::query(sqlx::AssertSqlSafe(count_sql)), state, &bound)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    let size = i64::from(page_size);
    let pages = u32::try_from((total.max(0) + size - 1) / size)
        .unwrap_or(u32::MAX)
        .max(1);
    Ok(QueuePage {
        state,
        total,
        page,
        page_size,
        pages,
        items,
        counts: counts(pool, viewer).await?,
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(query: Query<'q>, state: TaskState, bound: &Bound) -> Query<'q> {
    query
        .bind(state_text(state))
        .bind(bound.visible_to.clone())
        .bind(bound.enterprise.clone())
        .bind(bound.chapter.clone())
        .bind(bound.reason.clone())
        .bind(bound.min_age_hours)
        .bind(bound.assignee.clone())
}

/// Each code once, in first-seen order (a rule that holds two lines names its code twice).
fn distinct(codes: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(codes.len());
    for code in codes {
        if !seen.contains(&code) {
            seen.push(code);
        }
    }
    seen
}

/// A queue row from a row of [`COLUMNS`].
pub fn item_of(row: &sqlx::postgres::PgRow) -> sqlx::Result<QueueItem> {
    Ok(QueueItem {
        id: row.try_get("id")?,
        ebp_code: row.try_get("ebp_code")?,
        ebp_name: row.try_get("ebp_name")?,
        ebc_code: row.try_get("ebc_code")?,
        ebc_name: row.try_get("ebc_name")?,
        order_no: row.try_get("order_no")?,
        invt_no: row
            .try_get::<Option<String>, _>("invt_no")?
            .map(|no| no.trim().to_owned()),
        logistics_no: row.try_get("logistics_no")?,
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        codes: distinct(row.try_get("codes")?),
        dutiable_value: row.try_get("dutiable_value")?,
        tax_total: row.try_get("tax_total")?,
        held_at: row.try_get("held_at")?,
        age_seconds: row.try_get("age_seconds")?,
        assigned_to: row.try_get("assigned_to")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
    })
}

/// Facets of the viewer's open queue; `$1` is the viewer (NULL: everyone), `$2` the viewer's
/// username for "mine". Open tasks only, so [`VISIBLE_TO_VIEWER_2`] reduces to its open half.
const COUNTS: &str = "
WITH open AS (
  SELECT d.id, d.status, d.codes, d.ebp_code, d.ebc_code, t.assigned_to
  FROM review_tasks t JOIN declarations d ON d.id = t.declaration_id
  WHERE t.state = 'open' AND ($1::text IS NULL OR t.assigned_to IS NULL OR t.assigned_to = $1))
SELECT 'status' AS facet, status::text AS key, NULL AS label, count(*) AS n FROM open GROUP BY 2
UNION ALL
SELECT 'reason', code, NULL, count(DISTINCT open.id) FROM open, unnest(open.codes) AS c(code)
GROUP BY 2
UNION ALL
SELECT 'enterprise', e.code, min(en.name), count(*) FROM open
  CROSS JOIN LATERAL unnest(ARRAY[open.ebp_code, open.ebc_code]) AS e(code)
  LEFT JOIN enterprises en ON en.code = e.code
  GROUP BY 2
UNION ALL
SELECT 'chapter', left(l.gcode, 2), NULL, count(DISTINCT l.declaration_id)
FROM open JOIN declaration_lines l ON l.declaration_id = open.id GROUP BY 2
UNION ALL
SELECT 'mine', '', NULL, count(*) FROM open WHERE assigned_to = $2";

/// Most values listed per facet.
const FACET_VALUES_MAX: usize = 50;

async fn counts(pool: &PgPool, viewer: &Session) -> Result<QueueCounts, ReviewError> {
    let rows = sqlx::query(COUNTS)
        .bind(restricted_to(viewer))
        .bind(&viewer.username)
        .fetch_all(pool)
        .await?;
    let mut counts = QueueCounts::default();
    for row in rows {
        let facet: String = row.try_get("facet")?;
        let count = Count {
            key: row.try_get("key")?,
            label: row.try_get("label")?,
            count: row.try_get("n")?,
        };
        match facet.as_str() {
            "status" => {
                counts.open += count.count;
                counts.by_status.push(count);
            }
            "reason" => counts.by_reason.push(count),
            "enterprise" => counts.by_enterprise.push(count),
            "chapter" => counts.by_chapter.push(count),
            _ => counts.mine = count.count,
        }
    }
    counts.by_status.sort_by(|a, b| a.key.cmp(&b.key));
    for facet in [&mut counts.by_reason, &mut counts.by_enterprise] {
        facet.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        facet.truncate(FACET_VALUES_MAX);
    }
    counts.by_chapter.sort_by(|a, b| a.key.cmp(&b.key));
    counts.by_chapter.truncate(FACET_VALUES_MAX);
    Ok(counts)
}

/// Declarations waiting for an officer, by status, for the queue-depth gauge.
pub async fn depth(pool: &PgPool) -> sqlx::Result<Vec<(i32, i64)>> {
    sqlx::query_as(
        "SELECT d.status, count(*) FROM review_tasks t JOIN declarations d ON d.id = t.declaration_id
         WHERE t.state = 'open' GROUP BY 1",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_once_in_first_seen_order() {
        let codes = ["b", "a", "b", "c", "a"].map(str::to_owned).to_vec();
        assert_eq!(distinct(codes), ["b", "a", "c"]);
    }
}
