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
use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Starts logging: human-readable on a terminal, JSON lines otherwise (`BONDGATE_LOG_FORMAT`
/// `json` or `text` forces one). The filter comes from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("BONDGATE_LOG_FORMAT").ok();
    let json = json_wanted(format.as_deref(), std::io::stdout().is_terminal());
    // A second initialisation (tests start several services in one process) is harmless.
    if json {
        let _ = json_subscriber(filter, std::io::stdout).try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .try_init();
    }
}

/// JSON lines unless `BONDGATE_LOG_FORMAT` says `text`, or says nothing usable and stdout is a
/// terminal (a person reading).
fn json_wanted(format: Option<&str>, stdout_is_terminal: bool) -> bool {
    match format {
        Some("json") => true,
        Some("text") => false,
        _ => !stdout_is_terminal,
    }
}

/// The JSON-lines logger of [`init_logging`], writing to `writer`: one object per event with
/// `timestamp`, `level`, `message`, the event's fields, and the fields of the spans it is in
/// (`span`, `spans`: e.g. intake's `request_id`). Tests pass a buffer to read the logs back.
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .finish()
}

/// Completes on Ctrl-C or SIGTERM, saying which: the shutdown trigger of a service's `main`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
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

/// HTTP requests answered, by route template and status code.
pub const HTTP_REQUESTS_TOTAL: &str = "bondgate_http_requests_total";
/// HTTP request latency, by route template.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "bondgate_http_request_duration_seconds";

/// The HTTP metrics every HTTP service exposes: requests by route template (never the path,
/// which may carry ids) and status, and their latency.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: prometheus::IntCounterVec,
    duration: prometheus::HistogramVec,
}

impl HttpMetrics {
    /// Creates the two metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = prometheus::IntCounterVec::new(
            Opts::new(HTTP_REQUESTS_TOTAL, "HTTP requests answered."),
            &["route", "status"],
        )?;
        let buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let duration = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(HTTP_REQUEST_DURATION_SECONDS, "HTTP request latency.")
                .buckets(buckets),
            &["route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { requests, duration })
    }

    /// Counts one answer of `route` (a template such as `/v1/items/{id}`, or `unmatched`).
    pub fn observe(&self, route: &str, status: StatusCode, elapsed: std::time::Duration) {
        self.requests
            .with_label_values(&[route, status.as_str()])
            .inc();
        self.duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }
}

async fn ready(State(state): State<OpsState>) -> impl IntoResponse {
    match (state.readiness)().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::json_wanted;

    #[test]
    fn logs_are_json_off_a_terminal_unless_told_otherwise() {
        assert!(json_wanted(None, false), "a pipe or a file gets JSON lines");
        assert!(!json_wanted(None, true), "a terminal gets text");
        assert!(json_wanted(Some("json"), true));
        assert!(!json_wanted(Some("text"), false));
        assert!(
            json_wanted(Some("yaml"), false),
            "an unknown value falls back"
        );
    }
}
