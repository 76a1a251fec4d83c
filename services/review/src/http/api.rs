//! Handlers of the JSON API `/v1/review/...`: the UI's actions for other customs systems, with
//! the same roles. Authentication: `POST /v1/review/sessions` gives a bearer token; the UI's
//! session cookie also works, with the CSRF token in `X-CSRF-Token` on unsafe methods.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::{self, AssignRequest, Decided, DecisionRequest, RejectCode};
use crate::audit::{self, Entry};
use crate::detail::{self, Detail, DetailContext};
use crate::error::{ErrorResponse, ReviewError};
use crate::http::AppState;
use crate::http::client::ClientAddress;
use crate::http::openapi::ApiDoc;
use crate::http::pages::{DeclarationId, limits, resolve_me};
use crate::http::session::{Attempt, Caller, JsonBody, log_in, log_out};
use crate::officers::Role;
use crate::queue::{self, QueueItem, QueuePage, QueueQuery};
use crate::search::{self, SearchRequest};

/// Most audit entries per request.
const AUDIT_ENTRIES_MAX: i64 = 200;

/// Counts a committed decision and its time since the hold.
pub fn record_decision(state: &AppState, decided: &Decided) {
    let label = decided.decision.as_str();
    state.metrics.decisions.with_label_values(&[label]).inc();
    let waited = (Utc::now() - decided.held_at).num_milliseconds().max(0);
    state
        .metrics
        .time_to_decision
        .with_label_values(&[label])
        .observe(waited as f64 / 1_000.0);
    tracing::info!(
        declaration = decided.id,
        decision = label,
        status = decided.status,
        receipt = %decided.receipt_id,
        "decided"
    );
}

/// `POST /v1/review/sessions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// An officer as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfficerView {
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// When the session ends.
    #[schema(value_type = String)]
    pub session_expires_at: DateTime<Utc>,
}

/// A new session.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    /// Bearer token for `Authorization: Bearer ...` (shown once; only its hash is stored).
    pub token: String,
    /// The session's CSRF token (needed only when calling with the UI's cookie instead).
    pub csrf_token: String,
    /// Who.
    pub officer: OfficerView,
}

/// Log in.
///
/// Checks the password (argon2id) and opens a session of `session_ttl_seconds` (audited).
/// Failed logins are counted per username and per client address; past
/// `login_username_failures_max` (or `login_client_failures_max`) the next attempts are refused
/// with 429 `bg.auth.throttled` and `Retry-After`, without checking the password, for a delay
/// that doubles with each further failure. The start of such a lockout is audited.
#[utoipa::path(
    post, path = "/v1/review/sessions", tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Session opened", body = SessionCreated),
        (status = 400, description = "Malformed body", body = ErrorResponse),
        (status = 401, description = "`bg.auth.login_failed`", body = ErrorResponse),
        (status = 429, description = "`bg.auth.throttled`: locked out after failed logins; \
            `Retry-After` and `retryAfterSeconds` say when to try again", body = ErrorResponse),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ReviewError> {
    let attempt = Attempt {
        username: request.username.trim(),
        password: &request.password,
        client: &client,
    };
    let (token, session) = log_in(&state, &attempt)
        .await?
        .ok_or(ReviewError::LoginFailed)?;
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            csrf_token: session.csrf_token.clone(),
            officer: officer_view(&session),
        }),
    ))
}

fn officer_view(session: &crate::sessions::Session) -> OfficerView {
    OfficerView {
        username: session.username.clone(),
        display_name: session.display_name.clone(),
        role: session.role,
        session_expires_at: session.expires_at,
    }
}

/// Log out (end this session).
#[utoipa::path(
    delete, path = "/v1/review/sessions/current", tag = "sessions",
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Cookie without `X-CSRF-Token`", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ReviewError> {
    log_out(&state, &caller.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who is calling.
#[utoipa::path(
    get, path = "/v1/review/me", tag = "sessions",
    responses(
        (status = 200, description = "The caller", body = OfficerView),
        (status = 401, description = "No valid session", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn me(caller: Caller) -> Json<OfficerView> {
    Json(officer_view(&caller.session))
}

fn query_error(error: QueryRejection) -> ReviewError {
    ReviewError::BadRequest {
        code: "bg.request.query",
        message: error.body_text(),
    }
}

/// The review queue.
///
/// Open declarations (300, 500) oldest first, or decided ones newest first. Officers see the
/// unassigned ones and their own (`assignee=me` for only their own); supervisors and auditors
/// see everyone's.
#[utoipa::path(
    get, path = "/v1/review/queue", tag = "queue",
    params(QueueQuery),
    responses(
        (status = 200, description = "One page", body = QueuePage),
        (status = 400, description = "Bad filter", body = ErrorResponse),
        (status = 401, description = "No valid session", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<QueuePage>, ReviewError> {
    let Query(mut query) = query.map_err(query_error)?;
    resolve_me(&mut query, &caller.session.username);
    let page = queue::page(&state.pool, &caller.session, &query, limits(&state)).await?;
    Ok(Json(page))
}

fn context(state: &AppState) -> DetailContext<'_> {
    DetailContext {
        cipher: &state.cipher,
        rules: &state.rules,
    }
}

/// One declaration, personal data masked.
///
/// Officers see the declarations their queue shows (open ones unassigned or assigned to them,
/// and those they decided); any other is 404, exactly like a missing one.
#[utoipa::path(
    get, path = "/v1/review/declarations/{id}", tag = "declarations",
    params(("id" = i64, Path, description = "Declaration id")),
    responses(
        (status = 200, description = "The declaration", body = Detail),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 404, description = "`bg.review.not_found`", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    DeclarationId(id): DeclarationId,
) -> Result<Json<Detail>, ReviewError> {
    let ctx = context(&state);
    Ok(Json(
        detail::load(&state.pool, ctx, &caller.session, id, false).await?,
    ))
}

/// `POST /v1/review/declarations/{id}/reveal`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why the officer needs to see the personal data (2–500 characters; audited).
    pub reason: String,
}

/// One declaration with its personal data unmasked (officers and supervisors; audited first).
///
/// The same assignment rule as the detail: a declaration the officer may not see is 404 and
/// nothing is audited.
#[utoipa::path(
    post, path = "/v1/review/declarations/{id}/reveal", tag = "declarations",
    params(("id" = i64, Path, description = "Declaration id")),
    request_body = RevealRequest,
    responses(
        (status = 200, description = "The declaration, unmasked", body = Detail),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Auditor, or cookie without `X-CSRF-Token`", body = ErrorResponse),
        (status = 404, description = "`bg.review.not_found`", body = ErrorResponse),
        (status = 422, description = "`bg.review.reason_required`", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    DeclarationId(id): DeclarationId,
    JsonBody(request): JsonBody<RevealRequest>,
) -> Result<Json<Detail>, ReviewError> {
    actions::record_reveal(&state.pool, &caller.session, id, Some(&request.reason)).await?;
    state.metrics.reveals.inc();
    let ctx = context(&state);
    Ok(Json(
        detail::load(&state.pool, ctx, &caller.session, id, true).await?,
    ))
}

/// Decide a declaration.
///
/// `release` (800), `reject` (100; `code` from `/v1/review/reject-codes` and a `reason`) or
/// `inspection` (500; a `reason`). Send the `version` you read: if the declaration changed
/// since, the answer is 409 `bg.review.version_conflict` with the current version. The receipt
/// is written to the outbox in the same transaction, with the audit entry.
#[utoipa::path(
    post, path = "/v1/review/declarations/{id}/decisions", tag = "declarations",
    params(("id" = i64, Path, description = "Declaration id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided", body = Decided),
        (status = 400, description = "Malformed body", body = ErrorResponse),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Auditor, assigned elsewhere, or missing CSRF token", body = ErrorResponse),
        (status = 404, description = "`bg.review.not_found`", body = ErrorResponse),
        (status = 409, description = "`bg.review.version_conflict`, `bg.review.not_under_review` or `bg.review.illegal_transition`", body = ErrorResponse),
        (status = 422, description = "Reason or code missing or invalid", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    DeclarationId(id): DeclarationId,
    JsonBody(request): JsonBody<DecisionRequest>,
) -> Result<Json<Decided>, ReviewError> {
    let decided = actions::decide(&state.pool, &caller.session, id, &request).await?;
    record_decision(&state, &decided);
    Ok(Json(decided))
}

/// The assignee after an assignment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assigned {
    /// The officer, or `null` when unassigned.
    pub assignee: Option<String>,
}

/// Assign a declaration.
///
/// Supervisors assign to any active officer or supervisor (or `null`); officers may only claim
/// an unassigned declaration for themselves or give their own back.
#[utoipa::path(
    put, path = "/v1/review/declarations/{id}/assignment", tag = "declarations",
    params(("id" = i64, Path, description = "Declaration id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = Assigned),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Not allowed for this role", body = ErrorResponse),
        (status = 404, description = "`bg.review.not_found`", body = ErrorResponse),
        (status = 409, description = "`bg.review.not_under_review`", body = ErrorResponse),
        (status = 422, description = "`bg.review.unknown_officer`", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    DeclarationId(id): DeclarationId,
    JsonBody(request): JsonBody<AssignRequest>,
) -> Result<Json<Assigned>, ReviewError> {
    let assignee = actions::assign(
        &state.pool,
        &caller.session,
        id,
        request.assignee.as_deref(),
    )
    .await?;
    Ok(Json(Assigned { assignee }))
}

/// Search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// Matching declarations, newest hold first (at most 50).
    pub items: Vec<QueueItem>,
}

/// Search held declarations.
///
/// By `orderNo`, `invtNo`, `logisticsNo` or `buyerId` (the ID number is matched on its keyed
/// hash, never stored; the search is audited). Officers find only what their queue shows.
#[utoipa::path(
    post, path = "/v1/review/search", tag = "queue",
    request_body = SearchRequest,
    responses(
        (status = 200, description = "Results", body = SearchResults),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 422, description = "`bg.review.search_value`", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SearchRequest>,
) -> Result<Json<SearchResults>, ReviewError> {
    let items = search::search(
        &state.pool,
        &caller.session,
        &state.buyer_hash_key,
        &request,
    )
    .await?;
    Ok(Json(SearchResults { items }))
}

/// The customs codes a rejection may carry.
#[utoipa::path(
    get, path = "/v1/review/reject-codes", tag = "declarations",
    responses(
        (status = 200, description = "Codes", body = Vec<RejectCode>),
        (status = 401, description = "No valid session", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn reject_codes(_caller: Caller) -> Json<Vec<RejectCode>> {
    Json(actions::reject_codes())
}

/// Query of `GET /v1/review/audit`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries with an id below this (paging back).
    pub before: Option<i64>,
    /// At most this many (1–200, default 50).
    pub limit: Option<i64>,
}

/// Audit entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntries {
    /// Newest first.
    pub entries: Vec<Entry>,
}

fn require_audit_reader(caller: &Caller) -> Result<(), ReviewError> {
    if caller.session.role.may_read_audit() {
        Ok(())
    } else {
        Err(ReviewError::role("read the audit log"))
    }
}

/// The audit log, newest first (supervisors and auditors).
#[utoipa::path(
    get, path = "/v1/review/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries", body = AuditEntries),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Officers may not read it", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditEntries>, ReviewError> {
    require_audit_reader(&caller)?;
    let Query(query) = query.map_err(query_error)?;
    let limit = query.limit.unwrap_or(50).clamp(1, AUDIT_ENTRIES_MAX);
    let entries = audit::recent(&state.pool, query.before, limit).await?;
    Ok(Json(AuditEntries { entries }))
}

/// The result of verifying the audit chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// The whole chain verifies.
    pub ok: bool,
    /// Entries verified (up to the break).
    pub entries: Option<u64>,
    /// Hash of the last entry, hex.
    pub head_hash: Option<String>,
    /// The first entry that fails.
    pub broken_at: Option<i64>,
    /// Why it fails.
    pub why: Option<String>,
}

/// Verify the whole audit chain now (supervisors and auditors).
///
/// Recomputes every entry from the first (the audit page verifies only newer entries and the
/// rows it shows) and records the outcome: a break is shown on the audit page until a later
/// full verification passes.
#[utoipa::path(
    get, path = "/v1/review/audit/verification", tag = "audit",
    responses(
        (status = 200, description = "The verdict (`ok` false when broken)", body = AuditVerification),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "Officers may not read it", body = ErrorResponse),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AuditVerification>, ReviewError> {
    require_audit_reader(&caller)?;
    let verification = match audit::verify::verify_full(&state.pool).await {
        Ok(head) => AuditVerification {
            ok: true,
            entries: Some(head.entries),
            head_hash: Some(head.head_hash),
            broken_at: None,
            why: None,
        },
        Err(audit::VerifyError::Broken { id, why }) => AuditVerification {
            ok: false,
            entries: None,
            head_hash: None,
            broken_at: Some(id),
            why: Some(why.to_owned()),
        },
        Err(audit::VerifyError::Database(error)) => return Err(error.into()),
    };
    Ok(Json(verification))
}

/// The OpenAPI document of this API.
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
