//! Harness of bondgate's end-to-end tests: settings of the local stack (started by
//! `scripts/stack up`), per-test resources (a fresh seeded database, topics with random names)
//! so tests run in parallel without seeing each other, and the invariant checker that every
//! pipeline and fault test runs at the end.

pub mod invariants;
pub mod private_broker;
pub mod private_postgres;
pub mod promtool;

use anyhow::Context as _;
use bondgate_kafka::KafkaConfig;
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use rust_decimal::Decimal;
use std::future::Future;
use std::time::{Duration, Instant};

/// Kafka settings pointing at the stack's broker (`BONDGATE__KAFKA__BROKERS`).
pub fn stack_kafka() -> KafkaConfig {
    let mut config = KafkaConfig::default();
    if let Ok(brokers) = std::env::var("BONDGATE__KAFKA__BROKERS") {
        config.brokers = brokers;
    }
    config
}

/// A name no other test uses: `test.<label>.<random>`.
pub fn unique_topic(label: &str) -> String {
    format!(
        "test.{label}.{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Creates a topic with a random name and `partitions` partitions on the stack's broker.
pub async fn fresh_topic(
    config: &KafkaConfig,
    label: &str,
    partitions: i32,
) -> anyhow::Result<String> {
    let topic = unique_topic(label);
    bondgate_kafka::admin::ensure_topics(config, &[(&topic, partitions)]).await?;
    Ok(topic)
}

/// Stack settings with the three topics of bondgate created fresh for one test.
pub async fn fresh_kafka(label: &str, partitions: i32) -> anyhow::Result<KafkaConfig> {
    let mut config = stack_kafka();
    config.topics.documents =
        fresh_topic(&config, &format!("{label}.documents"), partitions).await?;
    config.topics.receipts = fresh_topic(&config, &format!("{label}.receipts"), partitions).await?;
    config.topics.dead_letters = fresh_topic(&config, &format!("{label}.dlq"), partitions).await?;
    Ok(config)
}

/// A fresh, migrated database seeded like `bondgate seed` with `stock` per account-book item.
pub async fn seeded_database(
    label: &str,
    stock: Decimal,
) -> anyhow::Result<(String, sea_orm::DatabaseConnection)> {
    let (url, db) = bondgate_storage::testing::fresh_database(label).await?;
    bondgate::seed::seed_database(&url, stock)
        .await
        .context("seeding")?;
    Ok((url, db))
}

/// Produces `(key, value)` records and waits for every acknowledgement.
pub async fn produce(
    config: &KafkaConfig,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> anyhow::Result<()> {
    let producer = bondgate_kafka::producer(config, "test-producer")?;
    for chunk in records.chunks(5_000) {
        let sends = chunk.iter().map(|(key, value)| {
            producer.send(
                FutureRecord::to(topic).key(key).payload(value),
                Timeout::After(Duration::from_secs(30)),
            )
        });
        for result in futures::future::join_all(sends).await {
            result.map_err(|(error, _)| error)?;
        }
    }
    Ok(())
}

/// Reads a topic from the beginning until `count` records arrived or `timeout` passed.
pub async fn consume_all(
    config: &KafkaConfig,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let consumer: StreamConsumer = bondgate_kafka::consumer_config(
        config,
        &format!("{topic}.reader.{}", uuid::Uuid::new_v4()),
        "test-reader",
    )
    .create()?;
    consumer.subscribe(&[topic])?;
    let mut records = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut stream = consumer.stream();
    while records.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(message))) => records.push((
                message.key().unwrap_or_default().to_vec(),
                message.payload().unwrap_or_default().to_vec(),
            )),
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(records)
}

/// Reads `topic` from the start until `distinct` different identities (by `identity` of the
/// value) were seen or `timeout` passed; returns those identities. Publication is at least
/// once (a relay that dies between the broker's acknowledgement and marking the row published
/// sends it again), so counting records would stop short when a receipt was published twice.
pub async fn consume_distinct(
    config: &KafkaConfig,
    topic: &str,
    distinct: usize,
    timeout: Duration,
    identity: impl Fn(&[u8]) -> anyhow::Result<String>,
) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let consumer: StreamConsumer = bondgate_kafka::consumer_config(
        config,
        &format!("{topic}.reader.{}", uuid::Uuid::new_v4()),
        "test-reader",
    )
    .create()?;
    consumer.subscribe(&[topic])?;
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + timeout;
    let mut stream = consumer.stream();
    while seen.len() < distinct {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(message))) => {
                seen.insert(identity(message.payload().unwrap_or_default())?);
            }
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(seen)
}

/// Polls `check` until it returns true or `timeout` passes. Errors of `check` count as "not
/// yet" (a test may be waiting for a database that is restarting); the last one is reported
/// with the timeout.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = Some(error),
        }
        if Instant::now() >= deadline {
            let cause = last_error
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            anyhow::bail!("timed out after {timeout:?} waiting for {what}{cause}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A record read back from a topic, with where it was.
#[derive(Debug, Clone)]
pub struct TopicRecord {
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Key (empty when none).
    pub key: Vec<u8>,
    /// Value.
    pub value: Vec<u8>,
}

/// Reads every partition of `topic` from its start, without a consumer group, in offset order
/// per partition, until `enough` says so (given the records so far) and no record came for
/// 500 ms, or until `timeout`.
pub async fn read_topic(
    config: &KafkaConfig,
    topic: &str,
    timeout: Duration,
    enough: impl Fn(&[TopicRecord]) -> bool,
) -> anyhow::Result<Vec<TopicRecord>> {
    let consumer: StreamConsumer = bondgate_kafka::consumer_config(
        config,
        &format!("{topic}.reader.{}", uuid::Uuid::new_v4()),
        "test-reader",
    )
    .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
    {
        assignment.add_partition_offset(topic, partition, rdkafka::Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut records = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut stream = consumer.stream();
    loop {
        let quiet = if enough(&records) {
            Duration::from_millis(500)
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match tokio::time::timeout(quiet, stream.next()).await {
            Ok(Some(Ok(message))) => records.push(TopicRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().unwrap_or_default().to_vec(),
                value: message.payload().unwrap_or_default().to_vec(),
            }),
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(None) | Err(_) => break,
        }
        if Instant::now() > deadline {
            break;
        }
    }
    Ok(records)
}
