//! Logging, Prometheus metrics and health endpoints shared by the services.
//!
//! Metric names follow `bondgate_<noun>_<unit>[_total]` with base units and no ids in labels;
//! each service defines its metrics as constants in one module and registers them in the
//! [`prometheus::Registry`] it passes to [`ops_router`].

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use std::io::IsTerminal;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

/// Starts logging: human-readable on a terminal, JSON lines otherwise (`BONDGATE_LOG_FORMAT`
/// `json` or `text` forces one). The filter comes from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("BONDGATE_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // A second initialisation (tests start several services in one process) is harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// A registry holding `bondgate_build_info{service, version}` = 1.
pub fn registry(service: &str) -> Registry {
    let registry = Registry::new();
    let info = IntGaugeVec::new(
        Opts::new(
            "bondgate_build_info",
            "Build of the running service; always 1.",
        ),
        &["service", "version"],
    )
    .expect("static metric definition is valid");
    info.with_label_values(&[service, env!("CARGO_PKG_VERSION")])
        .set(1);
    registry
        .register(Box::new(info))
        .expect("build info is registered once per registry");
    registry
}

/// Answers whether the service's dependencies (broker, database) are reachable.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
struct OpsState {
    registry: Registry,
    readiness: ReadinessCheck,
}

/// `/metrics` (Prometheus text format), `/healthz` (the process is alive) and `/readyz` (its
/// dependencies answer; 503 with the reason otherwise).
pub fn ops_router(registry: Registry, readiness: ReadinessCheck) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(OpsState {
            registry,
            readiness,
        })
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    match encoder.encode(&state.registry.gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn ready(State(state): State<OpsState>) -> impl IntoResponse {
    match (state.readiness)().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}
