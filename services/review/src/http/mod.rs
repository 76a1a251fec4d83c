//! The HTTP surface: the server-rendered UI ([`pages`]), the JSON API under `/v1/review`
//! ([`api`], documented in [`openapi`]), how callers are recognised ([`session`]), and the
//! middleware every answer passes through: metrics, a time limit, a body limit and security
//! headers (a strict Content-Security-Policy, no caching of pages that show personal data).

pub mod api;
pub mod client;
pub mod openapi;
pub mod pages;
pub mod redirect;
pub mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bondgate_domain::config::RulesConfig;
use bondgate_storage::crypto::PayloadCipher;
use bondgate_telemetry::ReadinessCheck;
use prometheus::Registry;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::config::ReviewConfig;
use crate::error::ReviewError;
use crate::metrics::Metrics;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// PostgreSQL.
    pub pool: PgPool,
    /// Limits and settings.
    pub config: Arc<ReviewConfig>,
    /// Rules (the comparison's arithmetic tolerance).
    pub rules: Arc<RulesConfig>,
    /// Opens stored documents.
    pub cipher: PayloadCipher,
    /// Key of buyer ID-number hashes (search).
    pub buyer_hash_key: Arc<Vec<u8>>,
    /// Metric handles.
    pub metrics: Metrics,
    /// Bounds the password checks running at once.
    pub login_gate: Arc<Semaphore>,
    /// Proxies whose `X-Forwarded-For` is believed (`review.trusted_proxies`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

/// The whole service: UI, `/v1/review`, `/openapi.json`, static assets, and `/metrics`,
/// `/healthz`, `/readyz`.
pub fn router(state: AppState, registry: Registry, readiness: ReadinessCheck) -> Router {
    let body_limit = state.config.body_bytes_max;
    let ui = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/queue", get(pages::queue))
        .route("/declarations/{id}", get(pages::detail))
        .route("/declarations/{id}/decision", post(pages::decide))
        .route("/declarations/{id}/reveal", post(pages::reveal))
        .route("/declarations/{id}/assign", post(pages::assign))
        .route("/search", get(pages::search_form).post(pages::search))
        .route("/audit", get(pages::audit))
        .route("/lang/{tag}", get(pages::switch_language))
        .route("/assets/review.css", get(pages::stylesheet))
        .route("/assets/review.js", get(pages::script))
        .route("/assets/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon));
    let api = Router::new()
        .route("/v1/review/sessions", post(api::login))
        .route(
            "/v1/review/sessions/current",
            axum::routing::delete(api::logout),
        )
        .route("/v1/review/me", get(api::me))
        .route("/v1/review/queue", get(api::queue))
        .route("/v1/review/declarations/{id}", get(api::detail))
        .route("/v1/review/declarations/{id}/reveal", post(api::reveal))
        .route("/v1/review/declarations/{id}/decisions", post(api::decide))
        .route("/v1/review/declarations/{id}/assignment", put(api::assign))
        .route("/v1/review/search", post(api::search))
        .route("/v1/review/reject-codes", get(api::reject_codes))
        .route("/v1/review/audit", get(api::audit))
        .route("/v1/review/audit/verification", get(api::verify_audit))
        .route("/openapi.json", get(api::openapi_json));
    ui.merge(api)
        .with_state(state.clone())
        .merge(bondgate_telemetry::ops_router(registry, readiness))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state, observe))
}

async fn fallback(request: Request) -> Response {
    let error = ReviewError::NotFound {
        code: "bg.request.no_route",
        message: "no such route".to_owned(),
    };
    if is_api(request.uri().path()) {
        error.into_response()
    } else {
        pages::error_page(error, crate::i18n::Lang::default())
    }
}

/// True for the JSON API (errors answer as JSON there, as pages elsewhere).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/v1/") || path == "/openapi.json"
}

/// Counts and times every request by route template, and answers 503 `bg.request.timeout` when
/// a handler takes longer than `request_timeout_ms`.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let api = is_api(request.uri().path());
    let started = Instant::now();
    let limit = Duration::from_millis(state.config.request_timeout_ms);
    let response = tokio::time::timeout(limit, next.run(request))
        .await
        .unwrap_or_else(|_| {
            let error = ReviewError::Unavailable {
                code: "bg.request.timeout",
                message: format!("no answer within {} ms; retry later", limit.as_millis()),
            };
            if api {
                error.into_response()
            } else {
                pages::error_page(error, crate::i18n::Lang::default())
            }
        });
    state
        .metrics
        .http
        .observe(&route, response.status(), started.elapsed());
    response
}

/// Content-Security-Policy of every answer: only our own scripts, styles and forms; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every answer; nothing but the static assets may be cached, since pages
/// and API answers carry personal data or a CSRF token.
async fn security_headers(request: Request, next: Next) -> Response {
    let asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
