//! Shared setup of the Kafka suite: the local stack's broker and fresh topics.

use bondgate_kafka::KafkaConfig;
use rand::RngExt;

/// Kafka settings pointing at the stack's broker (`BONDGATE__KAFKA__BROKERS` overrides).
pub fn stack_kafka() -> KafkaConfig {
    let mut config = KafkaConfig::default();
    if let Ok(brokers) = std::env::var("BONDGATE__KAFKA__BROKERS") {
        config.brokers = brokers;
    }
    config
}

/// Creates a topic no other test uses, with `partitions` partitions.
pub async fn fresh_topic(config: &KafkaConfig, label: &str, partitions: i32) -> String {
    let suffix: u64 = rand::rng().random();
    let topic = format!("test.{label}.{suffix:016x}");
    bondgate_kafka::admin::ensure_topics(config, &[(&topic, partitions)])
        .await
        .expect("the local broker creates topics (is `scripts/stack up` running?)");
    topic
}
