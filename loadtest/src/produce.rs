//! Sends a [`RecordStream`] to a topic with bondgate's idempotent producer (`acks=all`), either
//! as fast as the broker takes it (prefill) or open-loop at a target rate of orders per second.
//!
//! In-flight records are bounded: each send is enqueued with `send_result` and its delivery
//! future kept in a queue; when the queue holds `in_flight_max` futures, or librdkafka's own
//! queue is full, the oldest chunk is awaited before anything new is sent. Open-loop means the
//! schedule never waits for acknowledgements (only the in-flight bound can slow it down, and
//! the summary shows when it did). Every run is bounded in orders (the stream) and in time.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use serde::Serialize;
use tokio::time::Instant;

use crate::generate::{RecordKind, RecordStream};

/// How fast to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// As fast as possible.
    Prefill,
    /// Open loop: order `i` is released at `i / orders_per_second` seconds after the start.
    Rate {
        /// Target orders per second (> 0).
        orders_per_second: f64,
    },
}

/// Options of one produce run.
#[derive(Debug, Clone)]
pub struct ProduceOptions {
    /// Target topic.
    pub topic: String,
    /// How fast.
    pub pacing: Pacing,
    /// Stop making new orders after this long (the orders already made are still sent).
    pub duration_max: Duration,
    /// Most records sent and not yet acknowledged.
    pub in_flight_max: usize,
    /// How often to report progress.
    pub progress_interval: Duration,
}

impl ProduceOptions {
    /// Prefill of `topic` with defaults: 100,000 in flight, at most an hour, progress every
    /// second.
    pub fn prefill(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            pacing: Pacing::Prefill,
            duration_max: Duration::from_secs(3_600),
            in_flight_max: 100_000,
            progress_interval: Duration::from_secs(1),
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    /// Records handed to the producer.
    pub records_sent: u64,
    /// Records the broker acknowledged.
    pub records_acked: u64,
    /// Orders made so far.
    pub orders: u64,
    /// Key and value bytes sent.
    pub bytes_sent: u64,
    /// Time since the start.
    pub elapsed_seconds: f64,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every requested order was sent.
    Count,
    /// `duration_max` passed first.
    Time,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProduceSummary {
    /// Topic.
    pub topic: String,
    /// Records acknowledged.
    pub records: u64,
    /// Of those, bad records.
    pub bad_records: u64,
    /// Orders (each three records).
    pub orders: u64,
    /// Key and value bytes.
    pub bytes: u64,
    /// From the first send to the last acknowledgement.
    pub seconds: f64,
    /// Records per second.
    pub records_per_second: f64,
    /// Orders per second.
    pub orders_per_second: f64,
    /// Times a send waited for acknowledgements because too much was in flight.
    pub in_flight_waits: u64,
    /// Why the run ended.
    pub stopped_by: StopReason,
    /// Per partition, one past the highest acknowledged offset: the end offsets of a fresh
    /// topic. Exact even where the broker's `ListOffsets` is not (nisshi `memory://`).
    pub end_offsets: BTreeMap<i32, i64>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The producer refused a record for another reason than a full queue.
    #[error("enqueueing a record failed")]
    Enqueue(#[source] KafkaError),
    /// The broker did not take a record within the producer's message timeout (the idempotent
    /// producer has retried by then).
    #[error("a record was not delivered")]
    Delivery(#[source] KafkaError),
    /// The producer dropped a delivery future (it was shut down under us).
    #[error("the producer went away before acknowledging a record")]
    Cancelled,
    /// Writing the manifest failed.
    #[error("writing the manifest failed")]
    Manifest(#[source] std::io::Error),
    /// Flushing the producer at the end failed.
    #[error("flushing the producer failed")]
    Flush(#[source] KafkaError),
}

/// Sent records awaiting acknowledgement, oldest first.
struct InFlight {
    futures: VecDeque<(DeliveryFuture, bool)>,
    acked: u64,
    acked_bad: u64,
    end_offsets: BTreeMap<i32, i64>,
}

impl InFlight {
    /// Awaits the oldest `count` deliveries.
    async fn settle(&mut self, count: usize) -> Result<(), ProduceError> {
        for _ in 0..count.min(self.futures.len()) {
            let Some((future, bad)) = self.futures.pop_front() else {
                break;
            };
            self.record(future.await, bad)?;
        }
        Ok(())
    }

    /// Takes the deliveries already acknowledged at the front of the queue, without waiting,
    /// so progress reports count acknowledgements as they come.
    fn reap_ready(&mut self) -> Result<(), ProduceError> {
        let mut context = Context::from_waker(Waker::noop());
        while let Some((future, bad)) = self.futures.front_mut() {
            let Poll::Ready(result) = Pin::new(future).poll(&mut context) else {
                break;
            };
            let bad = *bad;
            self.futures.pop_front();
            self.record(result, bad)?;
        }
        Ok(())
    }

    fn record(
        &mut self,
        result: <DeliveryFuture as Future>::Output,
        bad: bool,
    ) -> Result<(), ProduceError> {
        let delivery = result
            .map_err(|_| ProduceError::Cancelled)?
            .map_err(|(error, _)| ProduceError::Delivery(error))?;
        let end = self.end_offsets.entry(delivery.partition).or_insert(0);
        *end = (*end).max(delivery.offset + 1);
        self.acked += 1;
        self.acked_bad += u64::from(bad);
        Ok(())
    }
}

/// Sends `stream` to `options.topic`; writes each order's meta as a JSON line to `manifest`
/// (when given) and calls `on_progress` every `progress_interval`.
pub async fn produce(
    producer: &FutureProducer,
    stream: &mut RecordStream,
    options: &ProduceOptions,
    manifest: Option<&mut (dyn Write + Send)>,
    on_progress: impl FnMut(&Progress),
) -> Result<ProduceSummary, ProduceError> {
    produce_observed(producer, stream, options, manifest, on_progress, |_| {}).await
}

/// [`produce`], calling `on_sent` right after each record is handed to the producer (the
/// latency benchmark notes when an order's last document left).
pub async fn produce_observed(
    producer: &FutureProducer,
    stream: &mut RecordStream,
    options: &ProduceOptions,
    mut manifest: Option<&mut (dyn Write + Send)>,
    mut on_progress: impl FnMut(&Progress),
    mut on_sent: impl FnMut(&crate::generate::Record),
) -> Result<ProduceSummary, ProduceError> {
    assert!(options.in_flight_max > 0, "in_flight_max must be positive");
    let chunk = (options.in_flight_max / 4).max(1);
    let start = Instant::now();
    let mut next_progress = start + options.progress_interval;
    let mut in_flight = InFlight {
        futures: VecDeque::with_capacity(options.in_flight_max),
        acked: 0,
        acked_bad: 0,
        end_offsets: BTreeMap::new(),
    };
    let (mut sent, mut bytes, mut waits) = (0_u64, 0_u64, 0_u64);
    let mut stopped_by = StopReason::Count;
    loop {
        if stopped_by == StopReason::Count && start.elapsed() >= options.duration_max {
            stream.stop();
            stopped_by = StopReason::Time;
        }
        pace(stream, options.pacing, start).await;
        let Some(record) = stream.next() else { break };
        if in_flight.futures.len() >= options.in_flight_max {
            waits += 1;
            in_flight.settle(chunk).await?;
        }
        let bad = matches!(record.kind, RecordKind::Bad(_));
        let future = send(producer, &options.topic, &record, &mut in_flight, chunk).await?;
        in_flight.futures.push_back((future, bad));
        on_sent(&record);
        sent += 1;
        bytes += (record.key.len() + record.value.len()) as u64;
        if Instant::now() >= next_progress {
            next_progress += options.progress_interval;
            in_flight.reap_ready()?;
            write_manifest(&mut manifest, stream)?;
            on_progress(&Progress {
                records_sent: sent,
                records_acked: in_flight.acked,
                orders: stream.orders_generated(),
                bytes_sent: bytes,
                elapsed_seconds: start.elapsed().as_secs_f64(),
            });
        }
    }
    let pending = in_flight.futures.len();
    in_flight.settle(pending).await?;
    producer
        .flush(Duration::from_secs(30))
        .map_err(ProduceError::Flush)?;
    write_manifest(&mut manifest, stream)?;
    if let Some(out) = manifest.as_mut() {
        out.flush().map_err(ProduceError::Manifest)?;
    }
    assert_eq!(in_flight.acked, sent, "every sent record is acknowledged");
    let seconds = start.elapsed().as_secs_f64().max(f64::EPSILON);
    let orders = stream.orders_generated();
    Ok(ProduceSummary {
        topic: options.topic.clone(),
        records: in_flight.acked,
        bad_records: in_flight.acked_bad,
        orders,
        bytes,
        seconds,
        records_per_second: in_flight.acked as f64 / seconds,
        orders_per_second: orders as f64 / seconds,
        in_flight_waits: waits,
        stopped_by,
        end_offsets: in_flight.end_offsets,
    })
}

/// Open loop: waits until the next order is due. Prefill never waits.
async fn pace(stream: &RecordStream, pacing: Pacing, start: Instant) {
    let Pacing::Rate { orders_per_second } = pacing else {
        return;
    };
    let due = Duration::from_secs_f64(stream.orders_generated() as f64 / orders_per_second);
    if start.elapsed() < due {
        tokio::time::sleep_until(start + due).await;
    }
}

/// Enqueues `record`, settling the oldest deliveries while librdkafka's queue is full.
async fn send(
    producer: &FutureProducer,
    topic: &str,
    record: &crate::generate::Record,
    in_flight: &mut InFlight,
    chunk: usize,
) -> Result<DeliveryFuture, ProduceError> {
    loop {
        let future_record = FutureRecord::to(topic)
            .key(&record.key)
            .payload(&record.value);
        match producer.send_result(future_record) {
            Ok(future) => return Ok(future),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                if in_flight.futures.is_empty() {
                    // Nothing of ours to wait for: give librdkafka a moment to drain.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                } else {
                    in_flight.settle(chunk).await?;
                }
            }
            Err((error, _)) => return Err(ProduceError::Enqueue(error)),
        }
    }
}

/// Writes the metas of the orders made since the last call as JSON lines.
fn write_manifest(
    manifest: &mut Option<&mut (dyn Write + Send)>,
    stream: &mut RecordStream,
) -> Result<(), ProduceError> {
    let metas = stream.drain_order_metas();
    let Some(out) = manifest.as_mut() else {
        return Ok(());
    };
    for meta in metas {
        serde_json::to_writer(&mut *out, &meta).map_err(|e| ProduceError::Manifest(e.into()))?;
        out.write_all(b"\n").map_err(ProduceError::Manifest)?;
    }
    Ok(())
}

/// True when every broker of a comma-separated `host:port` list is on the loopback interface:
/// the load generator refuses to flood anything else.
pub fn is_loopback_only(brokers: &str) -> bool {
    brokers.split(',').map(str::trim).all(|broker| {
        let host = broker
            .rsplit_once(':')
            .map_or(broker, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_brokers_pass() {
        assert!(is_loopback_only("127.0.0.1:19092"));
        assert!(is_loopback_only("localhost:9092, 127.0.0.2:9092"));
        assert!(is_loopback_only("[::1]:9092"));
        assert!(!is_loopback_only("10.0.0.5:9092"));
        assert!(!is_loopback_only("127.0.0.1:9092,kafka.example.com:9092"));
        assert!(!is_loopback_only("localhost.example.com:9092"));
    }
}
