//! The HTTP API: shared state, the router, and the middleware that times and bounds every
//! request.

pub mod auth;
pub mod openapi;
pub mod routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bondgate_domain::config::RulesConfig;
use bondgate_storage::crypto::PayloadCipher;
use bondgate_storage::reference::SharedReference;
use bondgate_telemetry::ReadinessCheck;
use prometheus::Registry;
use sea_orm::DatabaseConnection;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::config::IntakeConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::parse_pool::ParsePool;
use crate::publish::Publisher;
use crate::rate_limit::RateLimiter;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Limits and settings.
    pub config: Arc<IntakeConfig>,
    /// PostgreSQL (keys, order status).
    pub db: DatabaseConnection,
    /// The documents topic's producer.
    pub publisher: Publisher,
    /// Per-key rate limits.
    pub limiter: Arc<RateLimiter>,
    /// Opens stored documents.
    pub cipher: PayloadCipher,
    /// The database's account book and positive list, refreshed in the background: a handler
    /// takes one snapshot (`current()`) and decides on it alone.
    pub reference: SharedReference,
    /// The customs rules (`[rules]`), the pipeline's.
    pub rules: Arc<RulesConfig>,
    /// Metric handles.
    pub metrics: Metrics,
    /// Where CEB XML is parsed: off the async workers, bounded, abandoned with its request.
    pub parses: ParsePool,
}

/// The request id header: taken from the client when it sends a usable one, made up (a UUID)
/// otherwise, echoed in the response and recorded in every log line of the request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The whole API: `/v1/...`, `/openapi.json` and `/healthz`. `/metrics` and `/readyz` are on the
/// ops listener ([`ops_router`]), off the merchants' network.
///
/// Every request runs in a `request` span carrying `request_id`, `method` and the route
/// template (never the path itself, nor headers or bodies); server errors are logged there.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let api = Router::new()
        .route("/v1/documents", post(routes::submit_documents))
        .route("/v1/ceb", post(routes::submit_ceb))
        .route("/v1/check", post(routes::check))
        .route(
            "/v1/orders/{ebp_code}/{order_no}",
            get(routes::order_status),
        )
        .route(
            "/v1/orders/{ebp_code}/{order_no}/inventory.xml",
            get(routes::order_inventory),
        )
        .route("/openapi.json", get(routes::openapi_json))
        .with_state(state.clone());
    // Liveness only: the readiness details and the metrics are on the ops listener.
    api.route("/healthz", get(|| async { "ok" }))
        .fallback(|| async {
            ApiError::NotFound {
                code: "bg.request.no_route",
                message: "no such route".to_owned(),
            }
        })
        .layer(middleware::from_fn_with_state(state, observe))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::from_fn(drop_unusable_request_id))
}

/// The ops listener's routes: `/metrics`, `/healthz`, `/readyz` (which names what is down).
pub fn ops_router(registry: Registry, readiness: ReadinessCheck) -> Router {
    bondgate_telemetry::ops_router(registry, readiness)
}

/// Longest client-supplied request id kept; a longer or odd one is replaced by a UUID.
const REQUEST_ID_CHARS_MAX: usize = 64;

/// Removes a client's `x-request-id` unless it is 1 to 64 characters of `[A-Za-z0-9._:-]`, so
/// that nothing else (personal data, log forgery) reaches the logs through it.
async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|id| {
            (1..=REQUEST_ID_CHARS_MAX).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        });
    if !usable {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

fn request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str());
    tracing::info_span!("request", request_id, method = %request.method(), route)
}

/// Counts and times every request by route template, and answers 503 `bg.request.timeout`
/// when the handler takes longer than `request_timeout_ms`.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let started = Instant::now();
    let limit = Duration::from_millis(state.config.request_timeout_ms);
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable {
            code: "bg.request.timeout",
            message: format!("no answer within {} ms; retry later", limit.as_millis()),
            retry_after_seconds: state.config.retry_after_seconds,
        }
        .into_response(),
    };
    let metrics = &state.metrics;
    metrics
        .http_requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
