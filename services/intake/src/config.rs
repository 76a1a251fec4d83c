//! Configuration of the intake service: `[intake]`, `[database]`, `[kafka]`, `[security]` and
//! `[rules]`, layered by `bondgate-config` (defaults, file, `BONDGATE__*` env vars).

use bondgate_ceb::Limits;
use bondgate_domain::config::RulesConfig;
use bondgate_kafka::KafkaConfig;
use bondgate_storage::DatabaseConfig;
use bondgate_storage::crypto::SecurityConfig;
use serde::{Deserialize, Serialize};

/// Everything the intake service reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The HTTP API's own settings.
    #[serde(default)]
    pub intake: IntakeConfig,
    /// PostgreSQL (API keys, order status).
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Kafka (the documents topic).
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Keys for personal data (stored documents are read back for the inventory and for
    /// authorisation of status queries).
    #[serde(default)]
    pub security: SecurityConfig,
    /// The customs rules, the same section clearance reads: `/v1/check` and the arithmetic
    /// check of submitted orders must decide as the pipeline will.
    #[serde(default)]
    pub rules: RulesConfig,
}

impl bondgate_config::Validate for Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.kafka.problems();
        if self.intake.reference_refresh_ms == 0 {
            problems.push("intake.reference_refresh_ms must be at least 1".to_owned());
        }
        problems
    }
}

/// Listen address and the limits of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Address the API listens on (it also answers `/healthz`, which says nothing but `ok`).
    pub listen_address: String,
    /// Address of the operations endpoints `/metrics`, `/healthz` and `/readyz` (with the
    /// database's and broker's state): keep it off the merchants' network.
    pub ops_listen_address: String,
    /// Largest accepted JSON body (`/v1/documents`, `/v1/check`), in bytes; larger is 413.
    pub json_body_bytes_max: usize,
    /// Largest accepted CEB XML body (`/v1/ceb`), in bytes; larger is 413.
    pub xml_body_bytes_max: usize,
    /// Most records per request (the CEB message limit is 100); more is 422.
    pub records_per_request_max: usize,
    /// Most elements in one CEB XML message, counted while it is read; more is 422
    /// `ceb.too_many_elements`. The largest legal message has 212,832.
    pub xml_elements_max: usize,
    /// Deepest element nesting of a CEB XML message (root = 1; CEB needs 6); deeper is 422
    /// `ceb.too_deep`.
    pub xml_depth_max: usize,
    /// Longest element, attribute or entity name in a CEB XML message, prefix included, in
    /// bytes (CEB's longest is 25); longer is 422 `ceb.name_too_long`.
    pub xml_name_bytes_max: usize,
    /// Most attributes on one element of a CEB XML message, namespace declarations included
    /// (CEB uses at most 7); more is 422 `ceb.too_many_attributes`.
    pub xml_attributes_max: usize,
    /// Most text in one CEB XML message (element text and attribute values, after decoding),
    /// in bytes; more is 422 `ceb.text_too_large`.
    pub xml_text_bytes_max: usize,
    /// CEB XML messages parsed at once, each on a blocking thread off the async workers; a parse
    /// holds up to about 40 MiB within the default caps.
    pub xml_parses_max: usize,
    /// A `/v1/ceb` request waits this long for a free parse, then gets 503 `bg.parser.busy`.
    pub xml_parse_wait_ms: u64,
    /// Requests per second each API key may make on average (token refill rate).
    pub rate_limit_per_second: u32,
    /// Requests an API key may make in a burst (token bucket size).
    pub rate_limit_burst: u32,
    /// A request still unanswered after this long gets 503 `bg.request.timeout`.
    pub request_timeout_ms: u64,
    /// Records not acknowledged by the broker within this long fail the request with 503
    /// (also the producer's `message.timeout.ms`). Keep it well below `request_timeout_ms`.
    pub produce_timeout_ms: u64,
    /// `Retry-After` sent with 503 answers, in seconds.
    pub retry_after_seconds: u32,
    /// How often the account book and positive list are read again from the database, so items
    /// `bondgate seed` adds reach `/v1/check` without a restart; the same value as
    /// `clearance.reference_refresh_ms`.
    pub reference_refresh_ms: u64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        // The codec's defaults are sized from the CEB schema (see `Limits`); intake keeps them.
        let xml = Limits::default();
        Self {
            listen_address: "127.0.0.1:8080".to_owned(),
            ops_listen_address: "127.0.0.1:8090".to_owned(),
            json_body_bytes_max: 1024 * 1024,
            xml_body_bytes_max: 10 * 1024 * 1024,
            records_per_request_max: 100,
            xml_elements_max: xml.elements_max,
            xml_depth_max: xml.depth_max,
            xml_name_bytes_max: xml.name_bytes_max,
            xml_attributes_max: xml.attributes_max,
            xml_text_bytes_max: xml.text_bytes_max,
            xml_parses_max: 2,
            xml_parse_wait_ms: 1_000,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            request_timeout_ms: 15_000,
            produce_timeout_ms: 5_000,
            retry_after_seconds: 5,
            reference_refresh_ms: 30_000,
        }
    }
}

impl IntakeConfig {
    /// The CEB reader's caps for `/v1/ceb`.
    pub fn ceb_limits(&self) -> Limits {
        Limits {
            message_bytes_max: self.xml_body_bytes_max,
            records_max: self.records_per_request_max,
            depth_max: self.xml_depth_max,
            elements_max: self.xml_elements_max,
            name_bytes_max: self.xml_name_bytes_max,
            attributes_max: self.xml_attributes_max,
            text_bytes_max: self.xml_text_bytes_max,
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    // figment's `Jail` closures must return its large `figment::Error`: not ours to shrink.
    #[allow(clippy::result_large_err)]
    #[test]
    fn kafka_security_is_checked_when_the_configuration_loads() {
        // Goal: a service refuses to start on inconsistent Kafka security settings, naming them.
        // Method: load the configuration as `main` does, from environment variables.
        figment::Jail::expect_with(|jail| {
            jail.set_env("BONDGATE__KAFKA__SECURITY_PROTOCOL", "sasl_ssl");
            let error = bondgate_config::load::<Config>(None).expect_err("no credentials");
            assert!(
                error
                    .to_string()
                    .contains("kafka.sasl_username is required"),
                "{error}"
            );

            jail.set_env("BONDGATE__KAFKA__SASL_USERNAME", "bondgate-intake");
            jail.set_env("BONDGATE__KAFKA__SASL_PASSWORD", "12345");
            let config: Config = bondgate_config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.kafka.sasl_password.as_deref(), Some("12345"));

            jail.set_env("BONDGATE__KAFKA__SECURITY_PROTOCOL", "tls");
            let error = bondgate_config::load::<Config>(None).expect_err("unknown protocol");
            // figment names the key as the variable spells it (upper case).
            let text = error.to_string().to_lowercase();
            assert!(
                text.contains("`tls`") && text.contains("kafka.security_protocol"),
                "{text}"
            );
            assert!(!text.contains("12345"), "{text}");
            Ok(())
        });
    }
}
