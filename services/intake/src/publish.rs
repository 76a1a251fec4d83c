//! Producing accepted documents to the documents topic, and waiting for the broker's
//! acknowledgement of every one of them within a bounded time.

use std::time::Duration;

use bondgate_kafka::KafkaConfig;
use futures::future::try_join_all;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// Why a batch was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The local queue is full or the client refused the record.
    #[error("the producer refused a record: {0}")]
    Enqueue(#[source] KafkaError),
    /// The broker failed a record (timed out, not reachable, ...).
    #[error("the broker did not acknowledge a record: {0}")]
    Delivery(#[source] KafkaError),
    /// The producer was dropped while a delivery was pending.
    #[error("the producer went away")]
    Cancelled,
    /// Not every acknowledgement arrived in time.
    #[error("no acknowledgement within {0:?}")]
    Timeout(Duration),
}

/// One record to produce.
#[derive(Debug, Clone)]
pub struct OutRecord {
    /// Key (`ebpCode/orderNo`).
    pub key: String,
    /// Value (protobuf `Document`).
    pub value: Vec<u8>,
}

/// The idempotent producer of the documents topic.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
    topic: String,
    ack_timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .field("ack_timeout", &self.ack_timeout)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// An idempotent `acks=all` producer whose records fail after `ack_timeout` (librdkafka's
    /// `message.timeout.ms`), so a broker outage answers quickly instead of hanging requests.
    pub fn new(config: &KafkaConfig, ack_timeout: Duration) -> Result<Self, KafkaError> {
        let timeout_ms = ack_timeout.as_millis().max(1).to_string();
        let producer = bondgate_kafka::producer_config(config, "bondgate-intake")
            .set("message.timeout.ms", &timeout_ms)
            .set("request.timeout.ms", &timeout_ms)
            .create()?;
        Ok(Self {
            producer,
            topic: config.topics.documents.clone(),
            ack_timeout,
        })
    }

    /// Produces every record and waits until the broker acknowledged all of them, or fails.
    /// Records are enqueued in order, so one order's documents keep their order in the partition.
    pub async fn publish(&self, records: &[OutRecord]) -> Result<(), PublishError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let future_record = FutureRecord::to(&self.topic)
                .key(record.key.as_bytes())
                .payload(record.value.as_slice());
            let delivery = self
                .producer
                .send_result(future_record)
                .map_err(|(error, _)| PublishError::Enqueue(error))?;
            deliveries.push(async move {
                match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(PublishError::Delivery(error)),
                    Err(_) => Err(PublishError::Cancelled),
                }
            });
        }
        // The client's own message timeout fails the records first; this guard only bounds the
        // wait should the client never call back.
        let guard = self.ack_timeout + Duration::from_secs(1);
        match tokio::time::timeout(guard, try_join_all(deliveries)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(PublishError::Timeout(guard)),
        }
    }

    /// Asks the broker for the topic's metadata (readiness), within `timeout`.
    pub async fn check_broker(&self, timeout: Duration) -> Result<(), String> {
        let producer = self.producer.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map(|_| ())
                .map_err(|error| format!("broker: {error}"))
        })
        .await
        .map_err(|error| format!("broker check failed: {error}"))?
    }
}
