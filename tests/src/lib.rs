//! Harness of bondgate's workspace end-to-end tests: settings of the local stack (started by
//! `scripts/stack up`) and per-test resources (a fresh database, topics with random names), so
//! tests run in parallel without seeing each other.

use bondgate_kafka::KafkaConfig;

/// Kafka settings pointing at the stack's broker (`BONDGATE__KAFKA__BROKERS`).
pub fn stack_kafka() -> KafkaConfig {
    let mut config = KafkaConfig::default();
    if let Ok(brokers) = std::env::var("BONDGATE__KAFKA__BROKERS") {
        config.brokers = brokers;
    }
    config
}

/// A topic name no other test uses: `<label>.<random>`.
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
