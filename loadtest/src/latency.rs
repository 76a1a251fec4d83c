//! End-to-end latency under an open-loop load: from the moment the last of an order's three
//! documents is handed to the producer to the moment its final receipt (800, 100 or 300) is
//! read back from the receipts topic. Producer and receipt reader live in one process, so both
//! instants come from one monotonic clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bondgate_kafka::KafkaConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message as _;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::generate::{GeneratorConfig, Record, RecordKind, RecordStream};
use crate::produce::{Pacing, ProduceOptions, produce_observed};
use crate::receipts::{self, ReceiptsError};

/// One latency run.
#[derive(Debug, Clone)]
pub struct LatencyOptions {
    /// Documents topic the clearance under test reads.
    pub documents_topic: String,
    /// Receipts topic it publishes to.
    pub receipts_topic: String,
    /// Open-loop rate.
    pub orders_per_second: f64,
    /// How long to send.
    pub duration: Duration,
    /// How long to wait for the last receipts after sending stopped.
    pub settle: Duration,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// Nearest-rank percentiles of `samples` (sorted in place); `None` when empty.
pub fn percentiles(samples: &mut [f64]) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let index = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index]
    };
    Some(Percentiles {
        p50: rank(0.50),
        p99: rank(0.99),
        p999: rank(0.999),
        max: samples[samples.len() - 1],
    })
}

/// One second of the run: for the chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Second {
    /// Seconds since the start.
    pub t: u32,
    /// Orders that got their final receipt in this second.
    pub orders: u32,
    /// Their p99 latency (ms), if any.
    pub p99_ms: Option<f64>,
}

/// The result of a latency run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyReport {
    /// Target rate.
    pub target_orders_per_s: f64,
    /// Orders sent (all three documents).
    pub orders_sent: u64,
    /// Orders whose final receipt arrived.
    pub orders_answered: u64,
    /// Achieved rate of answered orders over the sending time.
    pub answered_orders_per_s: f64,
    /// Latency percentiles over every answered order.
    pub latency_ms: Option<Percentiles>,
    /// Per-second series.
    pub series: Vec<Second>,
}

#[derive(Debug, Default)]
struct Sent {
    /// Per order key: documents sent and when the last one left.
    orders: HashMap<String, (u8, Instant)>,
}

/// Runs the open-loop load and the receipt reader together.
pub async fn run(
    kafka: &KafkaConfig,
    mix: GeneratorConfig,
    options: &LatencyOptions,
) -> anyhow::Result<LatencyReport> {
    let consumer = receipts::assigned_consumer(kafka, &options.receipts_topic, false)?;
    let arrivals: Arrivals = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let reader = tokio::spawn(read_arrivals(consumer, Arc::clone(&arrivals), stop_rx));
    // Let the reader settle at the end of the topic before the first order leaves.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let producer = bondgate_kafka::producer(kafka, "bondgate-load-latency")?;
    let orders = (options.orders_per_second * options.duration.as_secs_f64()).ceil() as u64;
    let mut stream = RecordStream::new(mix, orders.max(1))?;
    let produce_options = ProduceOptions {
        topic: options.documents_topic.clone(),
        pacing: Pacing::Rate {
            orders_per_second: options.orders_per_second,
        },
        duration_max: options.duration,
        in_flight_max: 100_000,
        progress_interval: Duration::from_secs(1),
    };
    let sent = Arc::new(Mutex::new(Sent::default()));
    let start = Instant::now();
    let note = Arc::clone(&sent);
    let answered = Arc::clone(&arrivals);
    produce_observed(
        &producer,
        &mut stream,
        &produce_options,
        None,
        |p| {
            let answered = answered.lock().expect("arrivals").len();
            eprintln!(
                "  {:>5.1}s  {:>8} orders sent  {:>8} answered",
                p.elapsed_seconds, p.orders, answered
            );
        },
        move |record| note_sent(&note, record),
    )
    .await?;
    let sending = start.elapsed();
    let expected = complete_orders(&sent);
    let deadline = Instant::now() + options.settle;
    while (arrivals.lock().expect("arrivals").len() as u64) < expected && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_tx.send_replace(true);
    reader.await??;
    let sent = std::mem::take(&mut *sent.lock().expect("sent map"));
    let arrivals = std::mem::take(&mut *arrivals.lock().expect("arrivals"));
    Ok(summarize(options, start, sending, &sent, &arrivals))
}

fn note_sent(sent: &Mutex<Sent>, record: &Record) {
    if matches!(record.kind, RecordKind::Bad(_)) {
        return;
    }
    let key = String::from_utf8_lossy(&record.key).into_owned();
    let now = Instant::now();
    let mut sent = sent.lock().expect("sent map");
    let entry = sent.orders.entry(key).or_insert((0, now));
    entry.0 += 1;
    entry.1 = now;
}

fn complete_orders(sent: &Mutex<Sent>) -> u64 {
    let sent = sent.lock().expect("sent map");
    sent.orders.values().filter(|(n, _)| *n >= 3).count() as u64
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Notes the arrival instant of every order's first final receipt until told to stop.
async fn read_arrivals(
    consumer: StreamConsumer,
    arrivals: Arrivals,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ReceiptsError> {
    loop {
        let message = tokio::select! {
            message = consumer.recv() => message?,
            _ = stop.changed() => return Ok(()),
        };
        let now = Instant::now();
        if let Some((key, _)) = message
            .payload()
            .and_then(|p| receipts::final_receipt(p, None))
        {
            arrivals.lock().expect("arrivals").entry(key).or_insert(now);
        }
    }
}

fn summarize(
    options: &LatencyOptions,
    start: Instant,
    sending: Duration,
    sent: &Sent,
    arrivals: &HashMap<String, Instant>,
) -> LatencyReport {
    let mut all = Vec::new();
    let mut per_second: Vec<Vec<f64>> = Vec::new();
    for (key, (count, last_sent)) in &sent.orders {
        let Some(arrived) = arrivals.get(key).filter(|_| *count >= 3) else {
            continue;
        };
        let ms = arrived.saturating_duration_since(*last_sent).as_secs_f64() * 1_000.0;
        all.push(ms);
        let second = arrived.saturating_duration_since(start).as_secs() as usize;
        if per_second.len() <= second {
            per_second.resize_with(second + 1, Vec::new);
        }
        per_second[second].push(ms);
    }
    let series = per_second
        .iter_mut()
        .enumerate()
        .map(|(t, samples)| Second {
            t: t as u32,
            orders: samples.len() as u32,
            p99_ms: percentiles(samples).map(|p| p.p99),
        })
        .collect();
    let orders_sent = sent.orders.values().filter(|(n, _)| *n >= 3).count() as u64;
    LatencyReport {
        target_orders_per_s: options.orders_per_second,
        orders_sent,
        orders_answered: all.len() as u64,
        answered_orders_per_s: all.len() as f64 / sending.as_secs_f64().max(f64::EPSILON),
        latency_ms: percentiles(&mut all),
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        let p = percentiles(&mut samples).expect("samples");
        assert_eq!((p.p50, p.p99, p.p999, p.max), (500.0, 990.0, 999.0, 1000.0));
        assert_eq!(percentiles(&mut []), None);
        let mut one = [7.0];
        assert_eq!(percentiles(&mut one).map(|p| p.p999), Some(7.0));
    }
}
