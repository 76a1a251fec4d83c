//! Kafka settings (`[kafka]`, env `BONDGATE__KAFKA__*`).

use serde::{Deserialize, Serialize};

/// How to reach the brokers and how much to buffer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma separated (`host:port`).
    pub brokers: String,
    /// Topic names.
    pub topics: TopicsConfig,
    /// Producer: wait this long to fill a batch.
    pub producer_linger_ms: u32,
    /// Producer: at most this many messages waiting locally.
    pub producer_queue_max_messages: u32,
    /// Producer: at most this many KiB waiting locally.
    pub producer_queue_max_kbytes: u32,
    /// Producer: a message not acknowledged within this long fails.
    pub producer_message_timeout_ms: u32,
    /// Consumer: the group drops a member silent for this long.
    pub consumer_session_timeout_ms: u32,
    /// Consumer: the group drops a member that does not poll for this long.
    pub consumer_max_poll_interval_ms: u32,
    /// Consumer: at most this many KiB prefetched per partition.
    pub consumer_queue_max_kbytes: u32,
}

/// The three topics of bondgate.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Input documents, keyed `ebpCode/orderNo`.
    pub documents: String,
    /// Receipts (CEB622 semantics), keyed `ebpCode/orderNo`.
    pub receipts: String,
    /// Dead letters: records the pipeline could not use.
    pub dead_letters: String,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".to_owned(),
            topics: TopicsConfig::default(),
            producer_linger_ms: 5,
            producer_queue_max_messages: 100_000,
            producer_queue_max_kbytes: 65_536,
            producer_message_timeout_ms: 30_000,
            consumer_session_timeout_ms: 10_000,
            consumer_max_poll_interval_ms: 300_000,
            consumer_queue_max_kbytes: 16_384,
        }
    }
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            documents: "cbec.documents.v1".to_owned(),
            receipts: "cbec.receipts.v1".to_owned(),
            dead_letters: "cbec.dlq.v1".to_owned(),
        }
    }
}
