//! Kafka glue shared by the services: one place that sets every librdkafka option that matters,
//! explicitly, so a producer is always idempotent with `acks=all` and a consumer never
//! auto-commits and never buffers without bound.

pub mod admin;
pub mod config;

pub use config::{KafkaConfig, TopicsConfig};

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

/// Client settings of an idempotent producer (`enable.idempotence`, `acks=all`) with bounded
/// local queues; `client_id` names the process in broker logs.
pub fn producer_config(config: &KafkaConfig, client_id: &str) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.brokers)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", config.producer_linger_ms.to_string())
        .set("batch.num.messages", "10000")
        .set(
            "queue.buffering.max.messages",
            config.producer_queue_max_messages.to_string(),
        )
        .set(
            "queue.buffering.max.kbytes",
            config.producer_queue_max_kbytes.to_string(),
        )
        .set(
            "message.timeout.ms",
            config.producer_message_timeout_ms.to_string(),
        )
        .set("socket.timeout.ms", "10000");
    client
}

/// An idempotent producer (see [`producer_config`]).
pub fn producer(config: &KafkaConfig, client_id: &str) -> Result<FutureProducer, KafkaError> {
    producer_config(config, client_id).create()
}

/// Client settings of a consumer in `group_id` that never commits on its own (positions live in
/// PostgreSQL) and keeps at most `consumer_queue_max_kbytes` of prefetched data per partition.
pub fn consumer_config(config: &KafkaConfig, group_id: &str, client_id: &str) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", group_id)
        .set("client.id", client_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_uncommitted")
        .set(
            "session.timeout.ms",
            config.consumer_session_timeout_ms.to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (config.consumer_session_timeout_ms / 5).to_string(),
        )
        .set(
            "max.poll.interval.ms",
            config.consumer_max_poll_interval_ms.to_string(),
        )
        .set(
            "queued.max.messages.kbytes",
            config.consumer_queue_max_kbytes.to_string(),
        )
        .set("queued.min.messages", "10000")
        .set("fetch.wait.max.ms", "10")
        .set("partition.assignment.strategy", "range");
    client
}
