//! The clearance service's metrics, emitted per batch (never per record).

use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};
use std::time::Duration;

/// Dead-letter classes (see `decode::DeadLetter::class`), exported at 0 from the start so that
/// `increase()` in alert rules sees the first dead letter after a restart.
const DEAD_LETTER_CLASSES: [&str; 4] = ["decode", "unroutable", "invalid", "rejected"];
/// Reasons of batch retries (see `consumer::run_loop`), exported at 0 from the start.
const RETRY_REASONS: [&str; 4] = ["database", "stale", "ahead", "isolate"];

/// The hops of a document through clearance, each a `stage` of
/// `bondgate_clearance_stage_seconds`: `collect` (first record polled to batch dispatched: the
/// linger), `decode`, `plan` (snapshot load and decisions), `write` (every statement of the
/// batch), `commit`, `record_to_commit` (the record's broker timestamp to its batch's commit,
/// per record), `relay_pickup` (a receipt's transaction start to the relay reading it, per
/// receipt) and `produce_ack` (a relay round's sends until the broker acknowledged them all).
pub const STAGES: [&str; 8] = [
    "collect",
    "decode",
    "plan",
    "write",
    "commit",
    "record_to_commit",
    "relay_pickup",
    "produce_ack",
];

/// All metrics of the pipeline, registered in one registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Records taken from `cbec.documents.v1`.
    pub records_consumed: IntCounter,
    /// Records per committed batch.
    pub batch_size: Histogram,
    /// Wall time of a batch, from decode to commit.
    pub batch_duration: Histogram,
    /// Time inside the database transaction.
    pub transaction_duration: Histogram,
    /// Decisions by final status (`800`, `300`, `100`) and code (`-621005`, ... or `none`).
    pub decisions: IntCounterVec,
    /// Records that became dead letters, by error class.
    pub dead_letters: IntCounterVec,
    /// Batches that failed and were retried, by reason class.
    pub batch_retries: IntCounterVec,
    /// Receipts written but not yet published.
    pub outbox_backlog: IntGauge,
    /// Age of the oldest unpublished receipt (0 when none), measured from the database.
    pub outbox_oldest_age: Gauge,
    /// Receipts published to `cbec.receipts.v1`.
    pub receipts_published: IntCounter,
    /// Records behind the end of each partition this instance owns.
    pub consumer_lag: IntGaugeVec,
    /// Orders of the held partitions waiting for a missing document, measured at each sweep.
    pub orders_pending: IntGauge,
    /// Orders closed by the sweeper as incomplete.
    pub orders_swept: IntCounter,
    /// Offsets that were expected but never seen (broker lost data).
    pub offset_gaps: IntCounter,
    /// Partitions whose broker log restarted below our position (broker lost its data).
    pub broker_log_resets: IntCounter,
    /// Time per hop ([`STAGES`]).
    pub stages: HistogramVec,
}

/// Finer at the low end than [`seconds_buckets`]: the latency floor is what this measures.
fn stage_buckets() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ]
}

fn seconds_buckets() -> Vec<f64> {
    vec![
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

impl Metrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            records_consumed: IntCounter::new(
                "bondgate_clearance_records_consumed_total",
                "Records taken from the documents topic.",
            )?,
            batch_size: Histogram::with_opts(
                HistogramOpts::new(
                    "bondgate_clearance_batch_records",
                    "Records per committed batch.",
                )
                .buckets(vec![1.0, 8.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0, 8192.0]),
            )?,
            batch_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "bondgate_clearance_batch_duration_seconds",
                    "Batch wall time.",
                )
                .buckets(seconds_buckets()),
            )?,
            transaction_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "bondgate_clearance_db_transaction_duration_seconds",
                    "Time inside the batch's database transaction.",
                )
                .buckets(seconds_buckets()),
            )?,
            decisions: IntCounterVec::new(
                Opts::new(
                    "bondgate_clearance_decisions_total",
                    "Decisions by status (800 released, 300 held, 100 rejected) and code (the first customs code; negative for a processing exception, hold for a hold).",
                ),
                &["status", "code"],
            )?,
            dead_letters: IntCounterVec::new(
                Opts::new(
                    "bondgate_clearance_dead_letters_total",
                    "Records dead-lettered.",
                ),
                &["class"],
            )?,
            batch_retries: IntCounterVec::new(
                Opts::new(
                    "bondgate_clearance_batch_retries_total",
                    "Failed batches retried.",
                ),
                &["reason"],
            )?,
            outbox_backlog: IntGauge::new(
                "bondgate_clearance_outbox_backlog_receipts",
                "Receipts written but not yet published.",
            )?,
            outbox_oldest_age: Gauge::new(
                "bondgate_clearance_outbox_oldest_age_seconds",
                "Age of the oldest unpublished receipt; 0 when the outbox is empty.",
            )?,
            receipts_published: IntCounter::new(
                "bondgate_clearance_receipts_published_total",
                "Receipts published to the receipts topic.",
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "bondgate_clearance_consumer_lag_records",
                    "Records behind the end.",
                ),
                &["partition"],
            )?,
            orders_pending: IntGauge::new(
                "bondgate_clearance_pending_orders",
                "Orders of the held partitions waiting for a missing document.",
            )?,
            orders_swept: IntCounter::new(
                "bondgate_clearance_orders_swept_total",
                "Orders rejected as incomplete by the sweeper.",
            )?,
            offset_gaps: IntCounter::new(
                "bondgate_clearance_offset_gaps_total",
                "Expected offsets never seen: the broker lost records.",
            )?,
            broker_log_resets: IntCounter::new(
                "bondgate_clearance_broker_log_resets_total",
                "Partitions whose broker log restarted below the stored position: the broker lost its data.",
            )?,
            stages: HistogramVec::new(
                HistogramOpts::new(
                    "bondgate_clearance_stage_seconds",
                    "Time per hop of a document through clearance, by stage.",
                )
                .buckets(stage_buckets()),
                &["stage"],
            )?,
        };
        for class in DEAD_LETTER_CLASSES {
            metrics.dead_letters.with_label_values(&[class]);
        }
        for reason in RETRY_REASONS {
            metrics.batch_retries.with_label_values(&[reason]);
        }
        for stage in STAGES {
            metrics.stages.with_label_values(&[stage]);
        }
        metrics.register_all(registry)?;
        Ok(metrics)
    }

    fn register_all(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.records_consumed.clone()))?;
        registry.register(Box::new(self.batch_size.clone()))?;
        registry.register(Box::new(self.batch_duration.clone()))?;
        registry.register(Box::new(self.transaction_duration.clone()))?;
        registry.register(Box::new(self.decisions.clone()))?;
        registry.register(Box::new(self.dead_letters.clone()))?;
        registry.register(Box::new(self.batch_retries.clone()))?;
        registry.register(Box::new(self.outbox_backlog.clone()))?;
        registry.register(Box::new(self.outbox_oldest_age.clone()))?;
        registry.register(Box::new(self.receipts_published.clone()))?;
        registry.register(Box::new(self.consumer_lag.clone()))?;
        registry.register(Box::new(self.orders_pending.clone()))?;
        registry.register(Box::new(self.orders_swept.clone()))?;
        registry.register(Box::new(self.offset_gaps.clone()))?;
        registry.register(Box::new(self.broker_log_resets.clone()))?;
        registry.register(Box::new(self.stages.clone()))?;
        Ok(())
    }

    /// Records `took` for `stage` (one of [`STAGES`]).
    pub fn stage(&self, stage: &'static str, took: Duration) {
        debug_assert!(STAGES.contains(&stage), "unknown stage {stage}");
        self.stages
            .with_label_values(&[stage])
            .observe(took.as_secs_f64());
    }
}
