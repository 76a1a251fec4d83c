//! The review service's metrics, named in one place (`bondgate_<noun>_<unit>[_total]`, base
//! units, no ids in labels). `bondgate_build_info` and the HTTP metrics
//! (`bondgate_http_requests_total`, `bondgate_http_request_duration_seconds`) come from
//! `bondgate-telemetry`.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

/// Declarations waiting for an officer, by status (`300` manual review, `500` inspection).
pub const QUEUE_DEPTH_DECLARATIONS: &str = "bondgate_review_queue_depth_declarations";
/// Officers' decisions, by decision (`release`, `reject`, `inspection`).
pub const DECISIONS_TOTAL: &str = "bondgate_review_decisions_total";
/// From hold (the declaration's review task) to an officer's decision, by decision.
pub const TIME_TO_DECISION_SECONDS: &str = "bondgate_review_time_to_decision_seconds";
/// Audited reveals of personal data.
pub const REVEALS_TOTAL: &str = "bondgate_review_reveals_total";
/// Login attempts, by outcome (`success`, `failure`, `throttled`: refused during a lockout
/// without checking the password).
pub const LOGINS_TOTAL: &str = "bondgate_review_logins_total";
/// Lockouts started by failed logins, by scope (`username`, `client`).
pub const LOGIN_LOCKOUTS_TOTAL: &str = "bondgate_review_login_lockouts_total";

/// The metric handles, registered in the service's registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// See [`QUEUE_DEPTH_DECLARATIONS`].
    pub queue_depth: IntGaugeVec,
    /// See [`DECISIONS_TOTAL`].
    pub decisions: IntCounterVec,
    /// See [`TIME_TO_DECISION_SECONDS`].
    pub time_to_decision: HistogramVec,
    /// See [`REVEALS_TOTAL`].
    pub reveals: IntCounter,
    /// See [`LOGINS_TOTAL`].
    pub logins: IntCounterVec,
    /// See [`LOGIN_LOCKOUTS_TOTAL`].
    pub login_lockouts: IntCounterVec,
    /// Requests and their latency by route.
    pub http: bondgate_telemetry::HttpMetrics,
}

/// Time-to-decision buckets: seconds to days (officers work in shifts; a hold may wait a night).
const DECISION_BUCKETS_SECONDS: [f64; 12] = [
    10.0, 30.0, 60.0, 300.0, 900.0, 1_800.0, 3_600.0, 7_200.0, 14_400.0, 28_800.0, 86_400.0,
    259_200.0,
];

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self {
            queue_depth: IntGaugeVec::new(
                Opts::new(
                    QUEUE_DEPTH_DECLARATIONS,
                    "Declarations waiting for an officer.",
                ),
                &["status"],
            )?,
            decisions: IntCounterVec::new(
                Opts::new(DECISIONS_TOTAL, "Officers' decisions."),
                &["decision"],
            )?,
            time_to_decision: HistogramVec::new(
                HistogramOpts::new(
                    TIME_TO_DECISION_SECONDS,
                    "Time from hold to an officer's decision.",
                )
                .buckets(DECISION_BUCKETS_SECONDS.to_vec()),
                &["decision"],
            )?,
            reveals: IntCounter::new(REVEALS_TOTAL, "Audited reveals of personal data.")?,
            logins: IntCounterVec::new(Opts::new(LOGINS_TOTAL, "Login attempts."), &["outcome"])?,
            login_lockouts: IntCounterVec::new(
                Opts::new(LOGIN_LOCKOUTS_TOTAL, "Lockouts started by failed logins."),
                &["scope"],
            )?,
            http: bondgate_telemetry::HttpMetrics::register(registry)?,
        };
        registry.register(Box::new(metrics.queue_depth.clone()))?;
        registry.register(Box::new(metrics.decisions.clone()))?;
        registry.register(Box::new(metrics.time_to_decision.clone()))?;
        registry.register(Box::new(metrics.reveals.clone()))?;
        registry.register(Box::new(metrics.logins.clone()))?;
        registry.register(Box::new(metrics.login_lockouts.clone()))?;
        // Zero series exist from the start, so dashboards see 0 rather than nothing.
        for status in ["300", "500"] {
            metrics.queue_depth.with_label_values(&[status]).set(0);
        }
        for decision in ["release", "reject", "inspection"] {
            metrics.decisions.with_label_values(&[decision]);
        }
        for scope in ["username", "client"] {
            metrics.login_lockouts.with_label_values(&[scope]);
        }
        Ok(metrics)
    }
}
