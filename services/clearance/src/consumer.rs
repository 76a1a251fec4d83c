//! The consumer side of the pipeline: a dedicated thread polls Kafka, batches records on size or
//! linger, and runs each batch through the [`Pipeline`] to completion before polling on. The
//! positions live in PostgreSQL: on assignment, the rebalance hook claims the partitions there
//! and starts each at its stored offset; the broker's committed offsets are never used.

use crate::decode::InRecord;
use crate::pipeline::{BatchError, Pipeline};
use crate::positions::{self, Position};
use crate::sweeper;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::Notify;

/// How long one claim of partitions may keep retrying before the instance gives up (and exits).
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(60);

/// Shared between the rebalance hook and the loop.
pub struct ClearanceContext {
    handle: Handle,
    pipeline: Arc<Pipeline>,
    held: Mutex<BTreeMap<i32, Position>>,
    rebalanced: AtomicBool,
    failed: AtomicBool,
}

impl ClearanceContext {
    /// A context for `pipeline`, running database work on `handle`.
    pub fn new(handle: Handle, pipeline: Arc<Pipeline>) -> Self {
        Self {
            handle,
            pipeline,
            held: Mutex::new(BTreeMap::new()),
            rebalanced: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<i32, Position>> {
        // A poisoned lock means a panic on the consumer thread, which ends the process anyway.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Claims the partitions in PostgreSQL and sets each one's start offset in `assignment`.
    fn claim(&self, assignment: &mut TopicPartitionList) {
        let topic = self.pipeline.positions.topic.clone();
        let partitions: Vec<i32> = assignment
            .elements_for_topic(&topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        let claimed = loop {
            match self.handle.block_on(positions::claim(
                &self.pipeline.pool,
                &self.pipeline.positions,
                &partitions,
            )) {
                Ok(claimed) => break Some(claimed),
                Err(error) if started.elapsed() < CLAIM_RETRY_MAX => {
                    tracing::warn!(%error, "claiming partitions failed; retrying");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(error) => {
                    tracing::error!(%error, "cannot claim partitions: giving up");
                    break None;
                }
            }
        };
        let Some(claimed) = claimed else {
            self.failed.store(true, Ordering::SeqCst);
            return;
        };
        for (partition, position) in &claimed {
            if let Err(error) = assignment.set_partition_offset(
                &topic,
                *partition,
                Offset::Offset(position.next_offset),
            ) {
                tracing::error!(%error, partition, "cannot set start offset");
            }
        }
        tracing::info!(partitions = ?claimed.keys().collect::<Vec<_>>(), "partitions assigned");
        self.held().extend(claimed);
    }
}

impl std::fmt::Debug for ClearanceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClearanceContext")
            .field("held", &*self.held())
            .finish_non_exhaustive()
    }
}

impl ClientContext for ClearanceContext {}

impl ConsumerContext for ClearanceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.claim(tpl);
                if let Err(error) = consumer.assign(tpl) {
                    tracing::error!(%error, "assign failed");
                    self.failed.store(true, Ordering::SeqCst);
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                // The loop runs batches to completion between polls, so nothing is in flight
                // here: batches being collected for these partitions are dropped by the loop.
                self.held().clear();
                if let Err(error) = consumer.unassign() {
                    tracing::error!(%error, "unassign failed");
                }
                tracing::info!("partitions revoked");
            }
            other => tracing::error!(?other, "rebalance error"),
        }
        self.rebalanced.store(true, Ordering::SeqCst);
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {}
}

/// Loop settings.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Records per batch at most.
    pub batch_size_max: usize,
    /// Linger after the first record.
    pub batch_linger: Duration,
    /// Sweep period.
    pub sweep_interval: Duration,
    /// Pending window before an order is closed as incomplete.
    pub incomplete_window_ms: u64,
    /// Exit after the database is unreachable this long.
    pub outage_max: Duration,
    /// Longest retry pause.
    pub retry_backoff_max: Duration,
}

/// Runs the consumer loop until `stop` is set; returns an error to make the process exit
/// (so a supervisor restarts it) when the database stays unreachable too long.
pub fn run_loop(
    consumer: &BaseConsumer<ClearanceContext>,
    settings: &LoopSettings,
    stop: &AtomicBool,
    relay_wake: &Notify,
) -> anyhow::Result<()> {
    let context = consumer.context();
    let mut batch: Vec<InRecord> = Vec::with_capacity(settings.batch_size_max);
    let mut last_sweep = Instant::now();
    let mut outage: Option<Instant> = None;
    let mut backoff = Duration::from_millis(50);
    while !stop.load(Ordering::SeqCst) {
        if context.failed.load(Ordering::SeqCst) {
            anyhow::bail!("partition claim failed");
        }
        collect(consumer, &mut batch, settings);
        if context.rebalanced.swap(false, Ordering::SeqCst) {
            let held = context.held();
            batch.retain(|record| held.contains_key(&record.partition));
        }
        if last_sweep.elapsed() >= settings.sweep_interval {
            last_sweep = Instant::now();
            sweep(context, settings);
            record_lag(consumer, context);
        }
        if batch.is_empty() {
            continue;
        }
        let held = context.held().clone();
        match context
            .handle
            .block_on(context.pipeline.process(&batch, &held))
        {
            Ok(report) => {
                advance_held(context, &held, &report.next);
                batch.clear();
                outage = None;
                backoff = Duration::from_millis(50);
                relay_wake.notify_one();
            }
            Err(BatchError::Stale(partitions)) => {
                tracing::warn!(
                    ?partitions,
                    "fenced off: another instance owns these partitions"
                );
                context
                    .pipeline
                    .metrics
                    .batch_retries
                    .with_label_values(&["stale"])
                    .inc();
                fence(consumer, context, &partitions);
                batch.clear();
            }
            Err(BatchError::Database(error)) => {
                context
                    .pipeline
                    .metrics
                    .batch_retries
                    .with_label_values(&["database"])
                    .inc();
                let since = *outage.get_or_insert_with(Instant::now);
                if since.elapsed() >= settings.outage_max {
                    anyhow::bail!("database unavailable for {:?}: {error}", since.elapsed());
                }
                tracing::warn!(%error, "batch failed; rewinding and retrying");
                batch.clear();
                rewind_and_wait(consumer, context, backoff);
                backoff = (backoff * 2).min(settings.retry_backoff_max);
            }
        }
    }
    Ok(())
}

/// Polls until the batch is full, or the linger since its first record has passed, or (with
/// an empty batch) a short idle timeout so the loop can look at its other duties.
fn collect(
    consumer: &BaseConsumer<ClearanceContext>,
    batch: &mut Vec<InRecord>,
    settings: &LoopSettings,
) {
    let mut deadline: Option<Instant> = None;
    while batch.len() < settings.batch_size_max {
        let timeout = match deadline {
            None => Duration::from_millis(100),
            Some(at) => at.saturating_duration_since(Instant::now()),
        };
        if deadline.is_some() && timeout.is_zero() {
            return;
        }
        match consumer.poll(timeout) {
            None => return,
            Some(Ok(message)) => {
                batch.push(InRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                });
                deadline.get_or_insert_with(|| Instant::now() + settings.batch_linger);
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "consumer error");
                return;
            }
        }
    }
}

/// After a commit: the held positions follow the batch (unless a rebalance changed them).
fn advance_held(
    context: &ClearanceContext,
    before: &BTreeMap<i32, Position>,
    next: &BTreeMap<i32, i64>,
) {
    let mut held = context.held();
    for (partition, offset) in next {
        if let (Some(now), Some(then)) = (held.get_mut(partition), before.get(partition))
            && now == then
        {
            assert!(*offset >= now.next_offset, "offsets only move forward");
            now.next_offset = *offset;
        }
    }
}

/// Stops consuming partitions another instance took over, until the group rebalances.
fn fence(
    consumer: &BaseConsumer<ClearanceContext>,
    context: &ClearanceContext,
    partitions: &[i32],
) {
    let topic = context.pipeline.positions.topic.clone();
    let mut list = TopicPartitionList::new();
    let mut held = context.held();
    for partition in partitions {
        held.remove(partition);
        list.add_partition(&topic, *partition);
    }
    if let Err(error) = consumer.pause(&list) {
        tracing::error!(%error, "pause failed");
    }
}

/// After a failed batch: seek every held partition back to its committed position, pause, wait
/// (polling, so the group keeps us), check the database, and resume.
fn rewind_and_wait(
    consumer: &BaseConsumer<ClearanceContext>,
    context: &ClearanceContext,
    pause: Duration,
) {
    let topic = context.pipeline.positions.topic.clone();
    let held = context.held().clone();
    let mut list = TopicPartitionList::new();
    for (partition, position) in &held {
        let _ = list.add_partition_offset(&topic, *partition, Offset::Offset(position.next_offset));
    }
    let _ = consumer.pause(&list);
    let _ = seek_all(consumer, &list);
    let until = Instant::now() + pause;
    while Instant::now() < until {
        // Anything still delivered is dropped: it is fetched again after the seek.
        let _ = consumer.poll(Duration::from_millis(50));
    }
    let ping = context
        .handle
        .block_on(sqlx::query("SELECT 1").execute(&context.pipeline.pool));
    if ping.is_ok() {
        let _ = seek_all(consumer, &list);
    }
    if let Err(error) = consumer.resume(&list) {
        tracing::error!(%error, "resume failed");
    }
}

fn seek_all(
    consumer: &BaseConsumer<ClearanceContext>,
    list: &TopicPartitionList,
) -> KafkaResult<()> {
    consumer
        .seek_partitions(list.clone(), Duration::from_secs(5))
        .map(|_| ())
}

/// Sets the lag gauge of every held partition: the broker's end offset minus the stored position.
/// (On the nisshi `memory://` engine the end offset reads one batch short, so the gauge can
/// undershoot there; see ADR 0001.)
fn record_lag(consumer: &BaseConsumer<ClearanceContext>, context: &ClearanceContext) {
    let topic = context.pipeline.positions.topic.clone();
    let held = context.held().clone();
    // Forget partitions handed to another instance: their lag is that instance's to report.
    context.pipeline.metrics.consumer_lag.reset();
    for (partition, position) in held {
        if let Ok((_, high)) =
            consumer.fetch_watermarks(&topic, partition, Duration::from_millis(500))
        {
            let lag = (high - position.next_offset).max(0);
            context
                .pipeline
                .metrics
                .consumer_lag
                .with_label_values(&[&partition.to_string()])
                .set(lag);
        }
    }
}

fn sweep(context: &ClearanceContext, settings: &LoopSettings) {
    let held = context.held().clone();
    let pipeline = &context.pipeline;
    match context.handle.block_on(sweeper::sweep(
        &pipeline.pool,
        &pipeline.positions,
        &held,
        settings.incomplete_window_ms,
    )) {
        Ok(0) => {}
        Ok(swept) => {
            pipeline.metrics.orders_swept.inc_by(swept as u64);
            tracing::info!(swept, "closed incomplete orders");
        }
        Err(error) => tracing::warn!(%error, "sweep failed"),
    }
    match context
        .handle
        .block_on(sweeper::pending_count(&pipeline.pool, &held))
    {
        Ok(pending) => pipeline.metrics.orders_pending.set(pending),
        Err(error) => tracing::debug!(%error, "counting pending orders failed"),
    }
}
