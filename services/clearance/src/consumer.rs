//! The consumer side of the pipeline: a dedicated thread polls Kafka, batches records on size or
//! linger, and runs each batch through the [`Pipeline`] to completion before polling on. The
//! positions live in PostgreSQL: on assignment, the rebalance hook claims the partitions there
//! and starts each at its stored offset; the broker's committed offsets are never used.

use crate::decode::InRecord;
use crate::pipeline::{BatchError, Pipeline};
use crate::positions::{self, Position, Rebase};
use crate::sweeper;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};
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
    /// A group-less consumer that reads a partition's last applied record again on assignment.
    checker: BaseConsumer,
    held: Mutex<BTreeMap<i32, Position>>,
    /// Partitions whose broker log was found replaced on assignment: the next batch of each
    /// moves its position onto the new log.
    replaced: Mutex<BTreeMap<i32, Rebase>>,
    rebalanced: AtomicBool,
    failed: AtomicBool,
}

impl ClearanceContext {
    /// A context for `pipeline`, running database work on `handle`; `checker` is a consumer
    /// outside any group (see [`verify_log`]).
    pub fn new(handle: Handle, pipeline: Arc<Pipeline>, checker: BaseConsumer) -> Self {
        Self {
            handle,
            pipeline,
            checker,
            held: Mutex::new(BTreeMap::new()),
            replaced: Mutex::new(BTreeMap::new()),
            rebalanced: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<i32, Position>> {
        lock(&self.held)
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
        let replaced = self.replaced_logs(&claimed);
        for (partition, position) in &claimed {
            let start = replaced
                .get(partition)
                .map_or(position.next_offset, |r| r.to_offset);
            if let Err(error) =
                assignment.set_partition_offset(&topic, *partition, Offset::Offset(start))
            {
                tracing::error!(%error, partition, "cannot set start offset");
            }
        }
        tracing::info!(partitions = ?claimed.keys().collect::<Vec<_>>(), "partitions assigned");
        self.held().extend(claimed);
        lock(&self.replaced).extend(replaced);
    }

    /// The claimed partitions whose broker log is no longer the one their position belongs to.
    fn replaced_logs(&self, claimed: &BTreeMap<i32, Position>) -> BTreeMap<i32, Rebase> {
        let pipeline = &self.pipeline;
        let partitions: Vec<i32> = claimed.keys().copied().collect();
        let digests = match self.handle.block_on(positions::last_digests(
            &pipeline.pool,
            &pipeline.positions,
            &partitions,
        )) {
            Ok(digests) => digests,
            Err(error) => {
                tracing::warn!(%error, "cannot read the last record fingerprints");
                return BTreeMap::new();
            }
        };
        let mut replaced = BTreeMap::new();
        for (partition, digest) in digests {
            let position = claimed[&partition];
            if position.next_offset == 0 {
                continue;
            }
            let topic = &pipeline.positions.topic;
            if let Some(rebase) = verify_log(&self.checker, topic, partition, position, &digest) {
                pipeline.metrics.broker_log_resets.inc();
                tracing::error!(
                    partition,
                    held = position.next_offset,
                    broker_end = rebase.broker_end_offset,
                    continuing_at = rebase.to_offset,
                    "the broker's log is not the one our position belongs to (its record before \
                     the position differs): the broker lost its data; records it lost are not \
                     recoverable from it (see consumer_position_resets)"
                );
                replaced.insert(partition, rebase);
            }
        }
        replaced
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a panic on the consumer thread, which ends the process anyway.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads the record just before `position` again and compares its fingerprint with the one
/// stored when it was applied. `Some` (continue at the log's start) when the broker now holds a
/// different record there, hands out an earlier offset, or has nothing there and its log ends
/// before the position; `None` when it is the same log, or when it cannot tell (the checks on
/// each batch still apply).
fn verify_log(
    checker: &BaseConsumer,
    topic: &str,
    partition: i32,
    position: Position,
    digest: &[u8],
) -> Option<Rebase> {
    let wanted = position.next_offset - 1;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(wanted))
        .ok()?;
    checker.assign(&list).ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = None;
    while Instant::now() < deadline {
        match checker.poll(Duration::from_millis(200)) {
            Some(Ok(message)) if message.partition() == partition => {
                found = Some((
                    message.offset(),
                    positions::record_digest(message.key(), message.payload().unwrap_or_default()),
                ));
                break;
            }
            _ => {}
        }
    }
    let _ = checker.unassign();
    let (low, end) = checker
        .fetch_watermarks(topic, partition, Duration::from_secs(5))
        .ok()?;
    match found {
        // The same record, or the log now starts after it (retention): not a replaced log.
        Some((offset, seen)) if offset > wanted || (offset == wanted && seen[..] == *digest) => {
            return None;
        }
        Some(_) => {}
        // Nothing there: a log that now ends before the position (some brokers answer such a
        // fetch with nothing instead of "offset out of range") was replaced.
        None if end < position.next_offset => {}
        None => return None,
    }
    Some(Rebase {
        to_offset: low.min(wanted),
        broker_end_offset: end,
    })
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
                // A partition paused when this instance was fenced off stays paused in
                // librdkafka across assignments: one handed back to us must be fetched again.
                if let Err(error) = consumer.resume(tpl) {
                    tracing::error!(%error, "resume after assignment failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                // The loop runs batches to completion between polls, so nothing is in flight
                // here: batches being collected for these partitions are dropped by the loop.
                self.held().clear();
                lock(&self.replaced).clear();
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
        if let Some(first) = collect(consumer, &mut batch, settings) {
            context.pipeline.metrics.stage("collect", first.elapsed());
        }
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
        let mut rebases = lock(&context.replaced).clone();
        rebases.retain(|p, _| batch.iter().any(|r| r.partition == *p));
        for (partition, rebase) in broker_log_resets(consumer, context, &batch, &held) {
            rebases.entry(partition).or_insert(rebase);
        }
        match context
            .handle
            .block_on(context.pipeline.process(&batch, &held, &rebases))
        {
            Ok(report) => {
                advance_held(context, &held, &report.next, &report.rebased);
                lock(&context.replaced).retain(|p, _| !report.rebased.contains(p));
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
            Err(BatchError::Ahead(stored)) => {
                tracing::warn!(
                    ?stored,
                    "a commit whose outcome was unknown had landed; continuing after it"
                );
                context
                    .pipeline
                    .metrics
                    .batch_retries
                    .with_label_values(&["ahead"])
                    .inc();
                catch_up(consumer, context, &stored);
                batch.clear();
            }
            Err(error @ (BatchError::Database(_) | BatchError::Declare(_))) => {
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
/// an empty batch) a short idle timeout so the loop can look at its other duties. Returns when
/// the first record of this call arrived.
fn collect(
    consumer: &BaseConsumer<ClearanceContext>,
    batch: &mut Vec<InRecord>,
    settings: &LoopSettings,
) -> Option<Instant> {
    let mut first: Option<Instant> = None;
    while batch.len() < settings.batch_size_max {
        let timeout = match first {
            None => Duration::from_millis(100),
            Some(at) => (at + settings.batch_linger).saturating_duration_since(Instant::now()),
        };
        if first.is_some() && timeout.is_zero() {
            return first;
        }
        match consumer.poll(timeout) {
            None => return first,
            Some(Ok(message)) => {
                batch.push(InRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
                });
                first.get_or_insert_with(Instant::now);
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "consumer error");
                return first;
            }
        }
    }
    first
}

/// After a commit: the held positions follow the batch (unless a rebalance changed them).
fn advance_held(
    context: &ClearanceContext,
    before: &BTreeMap<i32, Position>,
    next: &BTreeMap<i32, i64>,
    rebased: &BTreeSet<i32>,
) {
    let mut held = context.held();
    for (partition, offset) in next {
        if let (Some(now), Some(then)) = (held.get_mut(partition), before.get(partition))
            && now == then
        {
            assert!(
                *offset >= now.next_offset || rebased.contains(partition),
                "offsets only move forward, except onto a broker's new log"
            );
            now.next_offset = *offset;
        }
    }
}

/// Partitions of `batch` whose broker log restarted below the held position.
///
/// We always fetch from the stored position, so the broker hands out a lower offset only when
/// it no longer has that position and the consumer's `auto.offset.reset` moved it to the log's
/// start. When the broker's end offset is below our position too, its log was reset (a broker
/// that lost its data): the partition continues from the new log and the loss is reported
/// loudly (metric, error log, a `consumer_position_resets` row). Should a re-delivery ever come
/// from a log that was not reset, the end-offset check leaves it to be skipped as applied; a
/// wrong rebase would only replay records, and replays change nothing.
fn broker_log_resets(
    consumer: &BaseConsumer<ClearanceContext>,
    context: &ClearanceContext,
    batch: &[InRecord],
    held: &BTreeMap<i32, Position>,
) -> BTreeMap<i32, Rebase> {
    let known = lock(&context.replaced).clone();
    let mut lowest: BTreeMap<i32, i64> = BTreeMap::new();
    for record in batch {
        if known.contains_key(&record.partition) {
            continue;
        }
        if let Some(position) = held.get(&record.partition)
            && record.offset < position.next_offset
        {
            let low = lowest.entry(record.partition).or_insert(record.offset);
            *low = (*low).min(record.offset);
        }
    }
    let topic = context.pipeline.positions.topic.clone();
    let mut rebases = BTreeMap::new();
    for (partition, to_offset) in lowest {
        let position = held[&partition];
        let Ok((_, end)) = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(5))
        else {
            continue;
        };
        if end >= position.next_offset {
            tracing::warn!(
                partition,
                to_offset,
                held = position.next_offset,
                "re-delivery below the position: skipped"
            );
            continue;
        }
        context.pipeline.metrics.broker_log_resets.inc();
        tracing::error!(
            partition,
            held = position.next_offset,
            broker_end = end,
            continuing_at = to_offset,
            "the broker's log restarted below our position: the broker lost its data; records it \
             lost are not recoverable from it (see consumer_position_resets)"
        );
        rebases.insert(
            partition,
            Rebase {
                to_offset,
                broker_end_offset: end,
            },
        );
    }
    rebases
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

/// Moves the held positions of our own generation forward to what the database stores (a
/// commit of ours landed although its acknowledgement was lost), then fetches from there the
/// way a failed batch does (pause, seek, drop what was prefetched, resume).
fn catch_up(
    consumer: &BaseConsumer<ClearanceContext>,
    context: &ClearanceContext,
    stored: &BTreeMap<i32, Position>,
) {
    {
        let mut held = context.held();
        for (partition, position) in stored {
            if let Some(mine) = held.get_mut(partition)
                && mine.generation == position.generation
            {
                *mine = *position;
            }
        }
    }
    rewind_and_wait(consumer, context, Duration::from_millis(50));
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
