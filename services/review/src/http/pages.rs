//! Handlers of the UI. Every state change is a POST of a form that carries the session's CSRF
//! token ([`Posted`]) and answers with a redirect (post/redirect/get), except reveal and search,
//! whose answers are the page itself (never cached).

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::actions::{self, AssignRequest, DecisionKind, DecisionRequest};
use crate::audit;
use crate::detail::{self, DetailContext};
use crate::error::ReviewError;
use crate::http::AppState;
use crate::http::client::ClientAddress;
use crate::http::redirect::local_target;
use crate::http::session::{
    Attempt, LOGIN_CSRF_COOKIE, Posted, SESSION_COOKIE, Viewer, body_bytes, cookie, set_cookie,
};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::queue::{self, PageLimits, QueueQuery};
use crate::search::{self, SearchBy, SearchRequest};
use crate::sessions::random_token;
use crate::ui;

/// Audit entries per page of the audit log.
const AUDIT_PAGE_ENTRIES: usize = 50;
/// Lifetime of the login form's CSRF cookie.
const LOGIN_FORM_SECONDS: u64 = 3_600;

/// An error rendered as a page, with its status.
pub fn error_page(error: ReviewError, lang: Lang) -> Response {
    error.log();
    let status = error.status();
    let body = ui::error_body(lang, status.as_u16(), error.code(), &error.public_message());
    let frame = ui::Frame {
        lang,
        session: None,
        path: "/queue",
        tab: ui::Tab::None,
    };
    let mut response = (status, ui::page(frame, lang.t("出错了", "Error"), body)).into_response();
    error.decorate(&mut response);
    response
}

/// The declaration id of the path; a malformed one is a 404 page (or JSON under `/v1`).
#[derive(Debug, Clone, Copy)]
pub struct DeclarationId(pub i64);

impl FromRequestParts<AppState> for DeclarationId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            Err(_) => {
                let error = ReviewError::NotFound {
                    code: "bg.review.not_found",
                    message: "no such declaration".to_owned(),
                };
                Err(if super::is_api(parts.uri.path()) {
                    error.into_response()
                } else {
                    error_page(error, Lang::default())
                })
            }
        }
    }
}

/// `GET /`: the queue.
pub async fn home() -> Redirect {
    Redirect::to("/queue")
}

/// Query of the login page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    /// `logout` or `expired`.
    ended: Option<String>,
}

fn login_page(
    lang: Lang,
    next: &str,
    username: &str,
    problem: ui::login::Problem,
    ended: Option<&str>,
) -> Response {
    let token = random_token();
    let message = match ended {
        Some("logout") => Some(lang.t("您已退出。", "You are logged out.")),
        _ => None,
    };
    let view = ui::login::LoginView {
        lang,
        csrf: &token,
        next,
        username,
        problem,
        message,
    };
    let status = match problem {
        ui::login::Problem::None => StatusCode::OK,
        ui::login::Problem::Failed => StatusCode::UNAUTHORIZED,
        ui::login::Problem::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
    };
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &token, LOGIN_FORM_SECONDS, false);
    let mut response = (
        status,
        [(header::SET_COOKIE, cookie)],
        ui::login::render(&view),
    )
        .into_response();
    if let ui::login::Problem::Throttled {
        retry_after_seconds,
    } = problem
    {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry_after_seconds),
        );
    }
    response
}

/// `GET /login`.
pub async fn login_form(lang: Lang, RawQuery(query): RawQuery) -> Response {
    let query: LoginQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let next = local_target(query.next.as_deref());
    login_page(
        lang,
        &next,
        "",
        ui::login::Problem::None,
        query.ended.as_deref(),
    )
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `POST /login`: checks the double-submit token, the lockouts, the password (argon2id), opens a
/// session.
pub async fn login(
    State(state): State<AppState>,
    lang: Lang,
    client: ClientAddress,
    request: axum::extract::Request,
) -> Response {
    let expected = cookie(request.headers(), LOGIN_CSRF_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let bytes = match body_bytes(request, state.config.body_bytes_max).await {
        Ok(bytes) => bytes,
        Err(error) => return error_page(error, lang),
    };
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&bytes) else {
        return error_page(ReviewError::Csrf, lang);
    };
    let matches = !expected.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            form.csrf.as_bytes(),
        ));
    if !matches {
        return error_page(ReviewError::Csrf, lang);
    }
    let next = local_target(form.next.as_deref());
    let username = form.username.trim();
    let attempt = Attempt {
        username,
        password: &form.password,
        client: &client,
    };
    match super::session::log_in(&state, &attempt).await {
        Ok(Some((token, _))) => {
            let ttl = state.config.session_ttl_seconds;
            let secure = state.config.cookie_secure;
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, ttl, secure),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
            );
            response
        }
        Ok(None) => login_page(lang, &next, username, ui::login::Problem::Failed, None),
        Err(ReviewError::Throttled {
            retry_after_seconds,
        }) => {
            let problem = ui::login::Problem::Throttled {
                retry_after_seconds,
            };
            login_page(lang, &next, username, problem, None)
        }
        Err(error) => error_page(error, lang),
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, posted: Posted<Empty>) -> Response {
    let viewer = posted.viewer;
    if let Err(error) = super::session::log_out(&state, &viewer.session).await {
        return error_page(error, viewer.lang);
    }
    let mut response = Redirect::to("/login?ended=logout").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.config.cookie_secure),
    );
    response
}

/// What the queue page says after a decision.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: Option<String>,
    order: Option<String>,
}

fn done_notice(lang: Lang, done: &Done) -> Option<(&'static str, String)> {
    let order = done.order.as_deref()?;
    let text = match done.done.as_deref().and_then(DecisionKind::parse)? {
        DecisionKind::Release => lang.t("已放行", "Released"),
        DecisionKind::Reject => lang.t("已退单", "Rejected"),
        DecisionKind::Inspection => lang.t("已转查验", "Sent to inspection"),
    };
    Some(("ok", format!("{text}: {order}")))
}

/// The service's page bounds.
pub fn limits(state: &AppState) -> PageLimits {
    PageLimits {
        page_size: state.config.page_size,
        page_size_max: state.config.page_size_max,
        page_max: state.config.page_max,
    }
}

/// `assignee=me` names the viewer.
pub fn resolve_me(query: &mut QueueQuery, username: &str) {
    if query.assignee.as_deref() == Some("me") {
        query.assignee = Some(username.to_owned());
    }
}

/// `GET /queue`.
pub async fn queue(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let lang = viewer.lang;
    let raw = raw.unwrap_or_default();
    let mut query: QueueQuery = match serde_urlencoded::from_str(&raw) {
        Ok(query) => query,
        Err(error) => {
            let error = ReviewError::BadRequest {
                code: "bg.request.query",
                message: format!("the filters do not parse: {error}"),
            };
            return error_page(error, lang);
        }
    };
    resolve_me(&mut query, &viewer.session.username);
    let done: Done = serde_urlencoded::from_str(&raw).unwrap_or_default();
    match queue::page(&state.pool, &viewer.session, &query, limits(&state)).await {
        Ok(page) => {
            let path = if raw.is_empty() {
                "/queue".to_owned()
            } else {
                format!("/queue?{raw}")
            };
            let view = ui::queue::QueueView {
                lang,
                session: &viewer.session,
                path: &path,
                query: &query,
                page: &page,
                notice: done_notice(lang, &done),
            };
            ui::queue::render(&view).into_response()
        }
        Err(error) => error_page(error, lang),
    }
}

/// Renders the declaration page with `status` and an optional banner.
async fn detail_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    reveal: bool,
    status: StatusCode,
    banner: Option<(&'static str, String)>,
) -> Response {
    try_detail_page(state, viewer, id, reveal, status, banner)
        .await
        .unwrap_or_else(|error| error_page(error, viewer.lang))
}

/// The declaration page, or why it cannot be shown (not found: missing, or not the viewer's).
async fn try_detail_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    reveal: bool,
    status: StatusCode,
    banner: Option<(&'static str, String)>,
) -> Result<Response, ReviewError> {
    let ctx = DetailContext {
        cipher: &state.cipher,
        rules: &state.rules,
    };
    let detail = detail::load(&state.pool, ctx, &viewer.session, id, reveal).await?;
    let assignees = if viewer.session.role.may_reassign() {
        crate::officers::list(&state.pool)
            .await
            .map_err(|error| ReviewError::Internal(error.to_string()))?
            .into_iter()
            .filter(|o| o.disabled_at.is_none() && o.role.may_decide())
            .map(|o| o.username)
            .collect()
    } else {
        Vec::new()
    };
    let path = format!("/declarations/{id}");
    let codes = actions::reject_codes();
    let view = ui::detail::DetailView {
        lang: viewer.lang,
        session: &viewer.session,
        path: &path,
        detail: &detail,
        reject_codes: &codes,
        assignees: &assignees,
        notice: banner,
    };
    Ok((status, ui::detail::render(&view)).into_response())
}

/// `GET /declarations/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    DeclarationId(id): DeclarationId,
) -> Response {
    detail_page(&state, &viewer, id, false, StatusCode::OK, None).await
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    decision: String,
    version: i32,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Errors an officer can act on are shown on the declaration page; others (and any error on a
/// declaration the officer may not see) as an error page.
async fn refused(state: &AppState, viewer: &Viewer, id: i64, error: ReviewError) -> Response {
    match &error {
        ReviewError::Conflict { .. }
        | ReviewError::Invalid { .. }
        | ReviewError::Forbidden { .. } => {
            let banner = Some(("bad", error.public_message()));
            try_detail_page(state, viewer, id, false, error.status(), banner)
                .await
                .unwrap_or_else(|_| error_page(error, viewer.lang))
        }
        _ => error_page(error, viewer.lang),
    }
}

/// `POST /declarations/{id}/decision`: then back to the queue, which says what was done.
pub async fn decide(
    State(state): State<AppState>,
    DeclarationId(id): DeclarationId,
    posted: Posted<DecisionForm>,
) -> Response {
    let Posted { viewer, form } = posted;
    let Some(decision) = DecisionKind::parse(&form.decision) else {
        let error = ReviewError::invalid("bg.review.decision", "unknown decision");
        return refused(&state, &viewer, id, error).await;
    };
    let code = match form
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(text) => match text.parse::<i32>() {
            Ok(code) => Some(code),
            Err(_) => {
                let error = ReviewError::invalid("bg.review.unknown_code", "not a customs code");
                return refused(&state, &viewer, id, error).await;
            }
        },
        None => None,
    };
    let request = DecisionRequest {
        decision,
        version: form.version,
        reason: form.reason,
        code,
    };
    match actions::decide(&state.pool, &viewer.session, id, &request).await {
        Ok(decided) => {
            super::api::record_decision(&state, &decided);
            let query = serde_urlencoded::to_string([
                ("done", decided.decision.as_str()),
                ("order", decided.order_no.as_str()),
            ])
            .unwrap_or_default();
            Redirect::to(&format!("/queue?{query}")).into_response()
        }
        Err(error) => refused(&state, &viewer, id, error).await,
    }
}

/// The reveal form.
#[derive(Debug, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /declarations/{id}/reveal`: audits, then shows the page with personal data.
pub async fn reveal(
    State(state): State<AppState>,
    DeclarationId(id): DeclarationId,
    posted: Posted<RevealForm>,
) -> Response {
    let Posted { viewer, form } = posted;
    if let Err(error) =
        actions::record_reveal(&state.pool, &viewer.session, id, form.reason.as_deref()).await
    {
        return refused(&state, &viewer, id, error).await;
    }
    state.metrics.reveals.inc();
    let banner = viewer.lang.t(
        "个人信息仅在本页显示；本次查看已记入审计日志。",
        "Personal data is shown on this page only; this look is in the audit log.",
    );
    detail_page(
        &state,
        &viewer,
        id,
        true,
        StatusCode::OK,
        Some(("info", banner.to_owned())),
    )
    .await
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

/// `POST /declarations/{id}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    DeclarationId(id): DeclarationId,
    posted: Posted<AssignForm>,
) -> Response {
    let Posted { viewer, form } = posted;
    let request = AssignRequest {
        assignee: Some(form.assignee.trim().to_owned()).filter(|a| !a.is_empty()),
    };
    match actions::assign(
        &state.pool,
        &viewer.session,
        id,
        request.assignee.as_deref(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/declarations/{id}")).into_response(),
        Err(error) => refused(&state, &viewer, id, error).await,
    }
}

/// `GET /search`.
pub async fn search_form(viewer: Viewer) -> Response {
    let view = ui::queue::SearchView {
        lang: viewer.lang,
        session: &viewer.session,
        by: "orderNo",
        value: "",
        results: None,
        problem: None,
    };
    ui::queue::render_search(&view).into_response()
}

/// The search form.
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    by: String,
    #[serde(default)]
    value: String,
}

/// `POST /search` (a POST: an ID number must not end up in a URL).
pub async fn search(State(state): State<AppState>, posted: Posted<SearchForm>) -> Response {
    let Posted { viewer, form } = posted;
    let lang = viewer.lang;
    let Some(by) = SearchBy::parse(&form.by) else {
        return error_page(
            ReviewError::invalid("bg.review.search_by", "unknown search"),
            lang,
        );
    };
    let request = SearchRequest {
        by,
        value: form.value,
    };
    let found = search::search(
        &state.pool,
        &viewer.session,
        &state.buyer_hash_key,
        &request,
    )
    .await;
    let (results, problem) = match found {
        Ok(results) => (Some(results), None),
        Err(ReviewError::Invalid { message, .. }) => (None, Some(message)),
        Err(error) => return error_page(error, lang),
    };
    let view = ui::queue::SearchView {
        lang,
        session: &viewer.session,
        by: &form.by,
        value: &request.value,
        results: results.as_deref(),
        problem,
    };
    ui::queue::render_search(&view).into_response()
}

/// Query of the audit page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /audit` (supervisors and auditors).
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let lang = viewer.lang;
    if !viewer.session.role.may_read_audit() {
        return error_page(ReviewError::role("read the audit log"), lang);
    }
    let query: AuditQuery =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    // Only entries newer than the verified mark, and the rows shown: never the whole chain.
    let rows_max = state.config.audit_verify_rows_max;
    let chain = match audit::verify::verify_new(&state.pool, rows_max).await {
        Ok(chain) => chain,
        Err(error) => return error_page(error.into(), lang),
    };
    let page = match audit::verify::page(&state.pool, query.before, AUDIT_PAGE_ENTRIES).await {
        Ok(page) => page,
        Err(error) => return error_page(error.into(), lang),
    };
    let view = ui::audit::AuditView {
        lang,
        session: &viewer.session,
        chain: &chain,
        page: &page,
    };
    ui::audit::render(&view).into_response()
}

/// Query of the language switch.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BackQuery {
    back: Option<String>,
}

/// `GET /lang/{tag}?back=/path`: remembers the language in a cookie and goes back.
pub async fn switch_language(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: BackQuery =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_tag(&tag);
    let mut response = Redirect::to(&local_target(query.back.as_deref())).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            lang.tag(),
            365 * 86_400,
            state.config.cookie_secure,
        ),
    );
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "public, max-age=3600"),
    ];
    (headers, body).into_response()
}

/// `GET /assets/review.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", ui::STYLESHEET)
}

/// `GET /assets/review.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", ui::SCRIPT)
}

/// `GET /assets/favicon.svg` (and `/favicon.ico`, which browsers ask for on their own).
pub async fn favicon() -> Response {
    asset("image/svg+xml", ui::FAVICON)
}
