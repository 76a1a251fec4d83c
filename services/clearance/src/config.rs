//! Configuration of the clearance service: `[clearance]`, `[database]`, `[kafka]`, `[security]`
//! and `[rules]`, layered by `bondgate-config` (defaults, file, `BONDGATE__*` env vars).

use bondgate_domain::config::RulesConfig;
use bondgate_kafka::KafkaConfig;
use bondgate_storage::DatabaseConfig;
use bondgate_storage::crypto::SecurityConfig;
use serde::{Deserialize, Serialize};

/// Everything the clearance service reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The pipeline's own settings.
    #[serde(default)]
    pub clearance: ClearanceConfig,
    /// PostgreSQL.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Kafka.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Keys for personal data.
    #[serde(default)]
    pub security: SecurityConfig,
    /// The customs rules (limits, tax rounding, risk rules).
    #[serde(default)]
    pub rules: RulesConfig,
}

impl bondgate_config::Validate for Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.kafka.problems();
        if self.clearance.reference_refresh_ms == 0 {
            problems.push("clearance.reference_refresh_ms must be at least 1".to_owned());
        }
        problems
    }
}

/// Batching, timing and identity of the pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClearanceConfig {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
    /// Kafka consumer group; its positions live in PostgreSQL under this name.
    pub group_id: String,
    /// Name of this instance in logs and in the positions table (default: host and pid).
    pub instance_id: String,
    /// A batch closes at this many records...
    pub batch_size_max: usize,
    /// ...or this long after its first record, whichever comes first.
    pub batch_linger_ms: u64,
    /// Orders still missing a document after this long are closed with a -900104 receipt (a processing exception).
    pub incomplete_window_ms: u64,
    /// How often the sweeper looks for such orders.
    pub sweep_interval_ms: u64,
    /// Give up (exit non-zero, let the supervisor restart) after the database has been
    /// unreachable for this long.
    pub outage_max_ms: u64,
    /// Longest pause between two retries of a failed batch.
    pub retry_backoff_max_ms: u64,
    /// The outbox relay publishes at most this many receipts per round.
    pub relay_batch_max: i64,
    /// The relay looks for unpublished receipts at least this often.
    pub relay_interval_ms: u64,
    /// Customs office that accepts the declarations (JGS/T 18, 4 digits; the first half of
    /// invtNo). `8012` is a placeholder: confirm the Lianglu-Cuntan code with customs.
    pub customs_code: String,
    /// How often the account book and the positive list are read again from the database, so
    /// that items `bondgate seed` adds are used without a restart.
    pub reference_refresh_ms: u64,
    /// PKCS#8 PEM file of the declaring agent's SM2 key: when set, every CEB621 is signed
    /// (enveloped XML-DSig, SM2/SM3) as it is declared and stored; unset, they are stored
    /// unsigned and `bondgate export --signing-key` signs them on the way out.
    pub signing_key_path: Option<String>,
    /// Name put in the signature's `KeyInfo`.
    pub signing_key_name: String,
}

impl Default for ClearanceConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9091".to_owned(),
            group_id: "bondgate-clearance".to_owned(),
            instance_id: format!("clearance-{}", std::process::id()),
            batch_size_max: 4_096,
            batch_linger_ms: 10,
            incomplete_window_ms: 600_000,
            sweep_interval_ms: 5_000,
            outage_max_ms: 120_000,
            retry_backoff_max_ms: 5_000,
            relay_batch_max: 5_000,
            relay_interval_ms: 100,
            customs_code: "8012".to_owned(),
            reference_refresh_ms: 30_000,
            signing_key_path: None,
            signing_key_name: "bondgate".to_owned(),
        }
    }
}
