//! The intake service's metrics, named in one place (`bondgate_<noun>_<unit>[_total]`).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// HTTP requests answered, by route template and status code.
pub const HTTP_REQUESTS_TOTAL: &str = "bondgate_http_requests_total";
/// HTTP request latency, by route template.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "bondgate_http_request_duration_seconds";
/// Documents acknowledged by the broker, by kind.
pub const DOCUMENTS_PRODUCED_TOTAL: &str = "bondgate_intake_documents_produced_total";

/// The metric handles, registered in the service's registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// See [`HTTP_REQUESTS_TOTAL`].
    pub http_requests: IntCounterVec,
    /// See [`HTTP_REQUEST_DURATION_SECONDS`].
    pub http_duration: HistogramVec,
    /// See [`DOCUMENTS_PRODUCED_TOTAL`].
    pub produced: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let http_requests = IntCounterVec::new(
            Opts::new(HTTP_REQUESTS_TOTAL, "HTTP requests answered."),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(HTTP_REQUEST_DURATION_SECONDS, "HTTP request latency.").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            &["route"],
        )?;
        let produced = IntCounterVec::new(
            Opts::new(
                DOCUMENTS_PRODUCED_TOTAL,
                "Documents acknowledged by the broker.",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(produced.clone()))?;
        Ok(Self {
            http_requests,
            http_duration,
            produced,
        })
    }
}
