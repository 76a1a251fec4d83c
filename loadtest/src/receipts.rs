//! Reads `cbec.receipts.v1` the way a merchant would, and keeps, per order, the first receipt
//! that ends clearance's automatic work: released (800), rejected (100) or held for an officer
//! (300). The benchmarks count orders and measure latency from these.

use std::collections::HashMap;
use std::time::Duration;

use bondgate_kafka::KafkaConfig;
use bondgate_proto::Message;
use bondgate_proto::v1::{Flow, Receipt};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

/// Why reading receipts failed.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptsError {
    /// The broker refused or failed.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The topic does not exist (no partitions in the metadata).
    #[error("topic {0} has no partitions")]
    NoPartitions(String),
}

/// A final receipt as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Its `returnStatus`.
    pub status: i32,
    /// The producer's timestamp of the record (ms since the epoch), when the broker kept it.
    pub record_time_ms: Option<i64>,
}

/// A consumer assigned to every partition of the receipts topic, without a group join (a
/// group would cost the benchmark seconds of waiting for nothing).
pub fn assigned_consumer(
    kafka: &KafkaConfig,
    topic: &str,
    from_start: bool,
) -> Result<StreamConsumer, ReceiptsError> {
    let consumer: StreamConsumer =
        bondgate_kafka::consumer_config(kafka, "bondgate-load-receipts", "bondgate-load")
            .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReceiptsError::NoPartitions(topic.to_owned()));
    }
    let offset = if from_start {
        Offset::Beginning
    } else {
        Offset::End
    };
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(topic, partition, offset)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Decodes a receipts-topic record into `(order key, arrival)` when it is an order's final
/// inventory receipt; `None` for any other receipt.
pub fn final_receipt(payload: &[u8], record_time_ms: Option<i64>) -> Option<(String, Arrival)> {
    let receipt = Receipt::decode(payload).ok()?;
    // After a decision (release, hold, rejection or processing exception) an order needs nothing
    // more from the pipeline.
    let decided = bondgate_domain::receipts::is_decision(receipt.return_status);
    if receipt.flow != Flow::Inventory as i32 || !decided {
        return None;
    }
    Some((
        format!("{}/{}", receipt.ebp_code, receipt.order_no),
        Arrival {
            status: receipt.return_status,
            record_time_ms,
        },
    ))
}

/// What [`count_final`] saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalCount {
    /// Orders with a final receipt.
    pub orders: u64,
    /// Of those, by status.
    pub by_status: HashMap<i32, u64>,
    /// Final receipts seen more than once for one order (must be 0: the relay's ids are
    /// stable, but a re-publication would show here).
    pub repeated: u64,
    /// Receipt records read in all.
    pub records: u64,
    /// Producer timestamps of the first and last final receipt (ms since the epoch).
    pub first_ms: Option<i64>,
    /// See `first_ms`.
    pub last_ms: Option<i64>,
}

impl FinalCount {
    /// Orders per second between the first and the last final receipt.
    pub fn orders_per_second(&self) -> Option<f64> {
        let (first, last) = (self.first_ms?, self.last_ms?);
        (last > first).then(|| self.orders as f64 * 1_000.0 / (last - first) as f64)
    }
}

/// Reads the whole receipts topic from the start until `expect_orders` orders have a final
/// receipt, or nothing new arrived for `idle`.
pub async fn count_final(
    kafka: &KafkaConfig,
    topic: &str,
    expect_orders: u64,
    idle: Duration,
) -> Result<FinalCount, ReceiptsError> {
    let consumer = assigned_consumer(kafka, topic, true)?;
    let mut seen: HashMap<String, i32> = HashMap::new();
    let mut count = FinalCount {
        orders: 0,
        by_status: HashMap::new(),
        repeated: 0,
        records: 0,
        first_ms: None,
        last_ms: None,
    };
    while count.orders < expect_orders {
        let message = match tokio::time::timeout(idle, consumer.recv()).await {
            Err(_) => break,
            Ok(message) => message?,
        };
        count.records += 1;
        let time = message.timestamp().to_millis();
        let Some((key, arrival)) = message.payload().and_then(|p| final_receipt(p, time)) else {
            continue;
        };
        if seen.insert(key, arrival.status).is_some() {
            count.repeated += 1;
            continue;
        }
        count.orders += 1;
        *count.by_status.entry(arrival.status).or_default() += 1;
        if let Some(ms) = time {
            count.first_ms = Some(count.first_ms.map_or(ms, |f| f.min(ms)));
            count.last_ms = Some(count.last_ms.map_or(ms, |l| l.max(ms)));
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(flow: Flow, status: i32) -> Vec<u8> {
        Receipt {
            ebp_code: "5001980001".into(),
            order_no: "O1".into(),
            flow: flow as i32,
            return_status: status,
            ..Receipt::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn only_final_inventory_receipts_count() {
        let released = final_receipt(&encoded(Flow::Inventory, 800), Some(5));
        assert_eq!(
            released,
            Some((
                "5001980001/O1".to_owned(),
                Arrival {
                    status: 800,
                    record_time_ms: Some(5)
                }
            ))
        );
        assert!(final_receipt(&encoded(Flow::Inventory, 120), None).is_none());
        assert!(final_receipt(&encoded(Flow::Cancellation, 800), None).is_none());
        assert!(final_receipt(b"\xff\xff not a receipt", None).is_none());
    }

    #[test]
    fn rate_needs_two_distinct_times() {
        let mut count = FinalCount {
            orders: 10,
            by_status: HashMap::new(),
            repeated: 0,
            records: 10,
            first_ms: Some(1_000),
            last_ms: Some(1_000),
        };
        assert_eq!(count.orders_per_second(), None);
        count.last_ms = Some(3_000);
        assert_eq!(count.orders_per_second(), Some(5.0));
    }
}
