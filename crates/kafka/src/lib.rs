//! Kafka glue shared by the services: one place that sets every librdkafka option that matters,
//! explicitly, so a producer is always idempotent with `acks=all`, a consumer never
//! auto-commits and never buffers without bound, and every client (producer, consumer, admin)
//! connects with the configured security (TLS, SASL credentials).

pub mod admin;
pub mod config;

pub use config::{KafkaConfig, SaslMechanism, SecurityProtocol, TopicsConfig};

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

/// The settings every client shares: where the brokers are and how to connect to them
/// (`security.protocol`, SASL credentials, TLS files; see [`KafkaConfig::security_settings`]).
pub fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers);
    for (key, value) in config.security_settings() {
        client.set(key, value);
    }
    client
}

/// Client settings of an idempotent producer (`enable.idempotence`, `acks=all`) with bounded
/// local queues; `client_id` names the process in broker logs. The idempotent producer asks
/// the brokers for a producer id: with ACLs, its user needs `IdempotentWrite` on the cluster
/// (or, from Kafka 3.0 on, `Write` on a topic).
pub fn producer_config(config: &KafkaConfig, client_id: &str) -> ClientConfig {
    let mut client = client_config(config);
    client
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
    let mut client = client_config(config);
    client
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

#[cfg(test)]
mod tests {
    use super::{KafkaConfig, SecurityProtocol, client_config, consumer_config, producer_config};
    use rdkafka::ClientConfig;
    use rdkafka::producer::BaseProducer;

    const PASSWORD: &str = "s3cret-Pa55word";

    fn scram_over_tls() -> KafkaConfig {
        KafkaConfig {
            // Nothing listens there: creating a client does not connect.
            brokers: "127.0.0.1:9".to_owned(),
            security_protocol: SecurityProtocol::SaslSsl,
            sasl_username: Some("bondgate-clearance".to_owned()),
            sasl_password: Some(PASSWORD.to_owned()),
            ..KafkaConfig::default()
        }
    }

    fn assert_secured(client: &ClientConfig) {
        assert_eq!(client.get("bootstrap.servers"), Some("127.0.0.1:9"));
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(client.get("sasl.username"), Some("bondgate-clearance"));
        assert_eq!(client.get("sasl.password"), Some(PASSWORD));
        assert_eq!(
            client.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
    }

    #[test]
    fn every_kind_of_client_connects_with_the_security_settings() {
        let config = scram_over_tls();
        assert_secured(&client_config(&config));
        let producer = producer_config(&config, "p");
        assert_secured(&producer);
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let consumer = consumer_config(&config, "g", "c");
        assert_secured(&consumer);
        assert_eq!(consumer.get("group.id"), Some("g"));
    }

    #[test]
    fn librdkafka_accepts_scram_over_tls() {
        // Without rdkafka's `ssl` feature librdkafka refuses `sasl_ssl` and the SCRAM
        // mechanisms ("OpenSSL not available at build time"): this fails if it is dropped.
        let created = producer_config(&scram_over_tls(), "tls-check").create::<BaseProducer>();
        assert!(created.is_ok(), "{:?}", created.err());
    }

    #[test]
    fn a_missing_ca_file_fails_at_creation_naming_the_setting() {
        let config = KafkaConfig {
            ssl_ca_location: Some("/nonexistent/ca.crt".to_owned()),
            ..scram_over_tls()
        };
        let error = producer_config(&config, "ca-check")
            .create::<BaseProducer>()
            .err()
            .expect("no CA file");
        let text = format!("{error} {error:?}");
        assert!(text.contains("ssl.ca.location"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }

    #[test]
    fn the_client_configuration_hides_the_password_when_printed() {
        // rdkafka redacts `sasl.password` in ClientConfig's Debug; a client built here could
        // reach a log line through it, so an rdkafka that stopped doing so must fail here.
        let client = producer_config(&scram_over_tls(), "p");
        let debug = format!("{client:?}");
        assert!(debug.contains("sasl.username"), "{debug}");
        assert!(!debug.contains(PASSWORD), "{debug}");
    }
}
