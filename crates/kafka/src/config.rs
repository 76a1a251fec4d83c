//! Kafka settings (`[kafka]`, env `BONDGATE__KAFKA__*`).

use serde::{Deserialize, Serialize};

/// How to reach the brokers, how to authenticate to them and how much to buffer.
#[derive(Clone, Serialize, Deserialize)]
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
    /// How the clients talk to the brokers: `plaintext` (the local stack), `ssl` (TLS, with a
    /// client certificate for mutual TLS), `sasl_plaintext` or `sasl_ssl` (SASL over TLS, the
    /// production choice).
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism of the `sasl_*` protocols: `SCRAM-SHA-512` (what Strimzi's KafkaUser
    /// provisions), `SCRAM-SHA-256` or `PLAIN`.
    pub sasl_mechanism: SaslMechanism,
    /// SASL user name (required by the `sasl_*` protocols).
    pub sasl_username: Option<String>,
    /// SASL password (required by the `sasl_*` protocols). A secret: never logged, and the
    /// configuration's `Debug` form shows `***` instead.
    pub sasl_password: Option<String>,
    /// PEM file of the CA that signed the brokers' certificates (TLS protocols; without it the
    /// system's trust store is used).
    pub ssl_ca_location: Option<String>,
    /// PEM file of this client's certificate, for mutual TLS (with `ssl_key_location`).
    pub ssl_certificate_location: Option<String>,
    /// PEM file of this client's private key, for mutual TLS (with `ssl_certificate_location`).
    pub ssl_key_location: Option<String>,
}

/// librdkafka's `security.protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    /// No TLS, no authentication: the local stack only.
    Plaintext,
    /// TLS; with a client certificate and key, mutual TLS authenticates the client.
    Ssl,
    /// SASL authentication without TLS (records travel in clear).
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

/// librdkafka's `sasl.mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaslMechanism {
    /// SCRAM with SHA-512 (Strimzi's `scram-sha-512` users).
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// SCRAM with SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// The password itself is sent: only ever over TLS.
    #[serde(rename = "PLAIN")]
    Plain,
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
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: SaslMechanism::ScramSha512,
            sasl_username: None,
            sasl_password: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
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

// The password must never be printed: `{:?}` of a service's configuration ends up in logs.
impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("topics", &self.topics)
            .field("producer_linger_ms", &self.producer_linger_ms)
            .field(
                "producer_queue_max_messages",
                &self.producer_queue_max_messages,
            )
            .field("producer_queue_max_kbytes", &self.producer_queue_max_kbytes)
            .field(
                "producer_message_timeout_ms",
                &self.producer_message_timeout_ms,
            )
            .field(
                "consumer_session_timeout_ms",
                &self.consumer_session_timeout_ms,
            )
            .field(
                "consumer_max_poll_interval_ms",
                &self.consumer_max_poll_interval_ms,
            )
            .field("consumer_queue_max_kbytes", &self.consumer_queue_max_kbytes)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("sasl_password", &self.sasl_password.as_ref().map(|_| "***"))
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("ssl_certificate_location", &self.ssl_certificate_location)
            .field("ssl_key_location", &self.ssl_key_location)
            .finish()
    }
}

impl SecurityProtocol {
    /// The value of librdkafka's `security.protocol`.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    /// True when the protocol authenticates with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    /// True when the connection is encrypted with TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

impl SaslMechanism {
    /// The value of librdkafka's `sasl.mechanism`.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::Plain => "PLAIN",
        }
    }
}

impl KafkaConfig {
    /// Every inconsistency of the security settings, one sentence each naming the settings
    /// involved (never their secret values). A setting the chosen protocol would silently
    /// ignore is a problem too: whoever set it believed it protects something.
    pub fn problems(&self) -> Vec<String> {
        let protocol = self.security_protocol.as_librdkafka();
        let mut problems = Vec::new();
        if self.security_protocol.uses_sasl() {
            for (key, value) in [
                ("kafka.sasl_username", &self.sasl_username),
                ("kafka.sasl_password", &self.sasl_password),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    problems.push(format!(
                        "{key} is required when kafka.security_protocol is {protocol}"
                    ));
                }
            }
            if self.security_protocol == SecurityProtocol::SaslPlaintext
                && self.sasl_mechanism == SaslMechanism::Plain
            {
                problems.push(
                    "kafka.sasl_mechanism PLAIN over sasl_plaintext would send the password in \
                     clear: use sasl_ssl or a SCRAM mechanism"
                        .to_owned(),
                );
            }
        } else {
            for (key, value) in [
                ("kafka.sasl_username", &self.sasl_username),
                ("kafka.sasl_password", &self.sasl_password),
            ] {
                if value.is_some() {
                    problems.push(format!(
                        "{key} is set but kafka.security_protocol {protocol} does not use SASL \
                         (use sasl_ssl)"
                    ));
                }
            }
        }
        if !self.security_protocol.uses_tls() {
            for (key, value) in self.tls_files() {
                if value.is_some() {
                    problems.push(format!(
                        "{key} is set but kafka.security_protocol {protocol} does not use TLS \
                         (use ssl or sasl_ssl)"
                    ));
                }
            }
        }
        if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
            problems.push(
                "kafka.ssl_certificate_location and kafka.ssl_key_location go together (mutual \
                 TLS needs both)"
                    .to_owned(),
            );
        }
        problems
    }

    /// The librdkafka settings of the connection's security, for every kind of client. The
    /// password is among them: the result is handed to librdkafka, never printed.
    pub fn security_settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![(
            "security.protocol",
            self.security_protocol.as_librdkafka().to_owned(),
        )];
        if self.security_protocol.uses_sasl() {
            settings.push((
                "sasl.mechanism",
                self.sasl_mechanism.as_librdkafka().to_owned(),
            ));
            settings.push((
                "sasl.username",
                self.sasl_username.clone().unwrap_or_default(),
            ));
            settings.push((
                "sasl.password",
                self.sasl_password.clone().unwrap_or_default(),
            ));
        }
        if self.security_protocol.uses_tls() {
            // Check that the broker's certificate names the host we dialled (librdkafka's
            // default since 2.0, said here so that no upgrade can turn it off unnoticed).
            settings.push(("ssl.endpoint.identification.algorithm", "https".to_owned()));
            let files = [
                ("ssl.ca.location", &self.ssl_ca_location),
                ("ssl.certificate.location", &self.ssl_certificate_location),
                ("ssl.key.location", &self.ssl_key_location),
            ];
            for (key, value) in files {
                if let Some(path) = value {
                    settings.push((key, path.clone()));
                }
            }
        }
        settings
    }

    fn tls_files(&self) -> [(&'static str, &Option<String>); 3] {
        [
            ("kafka.ssl_ca_location", &self.ssl_ca_location),
            (
                "kafka.ssl_certificate_location",
                &self.ssl_certificate_location,
            ),
            ("kafka.ssl_key_location", &self.ssl_key_location),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::{KafkaConfig, SaslMechanism, SecurityProtocol};

    const PASSWORD: &str = "s3cret-Pa55word";

    /// What deploy/k8s sets: SCRAM-SHA-512 over TLS with the cluster CA.
    fn scram_over_tls() -> KafkaConfig {
        KafkaConfig {
            security_protocol: SecurityProtocol::SaslSsl,
            sasl_username: Some("bondgate-intake".to_owned()),
            sasl_password: Some(PASSWORD.to_owned()),
            ssl_ca_location: Some("/etc/bondgate/kafka-ca/ca.crt".to_owned()),
            ..KafkaConfig::default()
        }
    }

    fn settings(config: &KafkaConfig) -> Vec<(&'static str, String)> {
        config.security_settings()
    }

    #[test]
    fn the_default_is_plaintext_without_credentials() {
        let config = KafkaConfig::default();
        assert!(config.problems().is_empty());
        assert_eq!(
            settings(&config),
            [("security.protocol", "plaintext".to_owned())]
        );
    }

    #[test]
    fn scram_over_tls_maps_to_librdkafka_keys() {
        let config = scram_over_tls();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let expected = [
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "bondgate-intake"),
            ("sasl.password", PASSWORD),
            ("ssl.endpoint.identification.algorithm", "https"),
            ("ssl.ca.location", "/etc/bondgate/kafka-ca/ca.crt"),
        ];
        let expected: Vec<(&str, String)> = expected
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        assert_eq!(settings(&config), expected);
    }

    #[test]
    fn mutual_tls_maps_the_client_certificate_and_key() {
        let config = KafkaConfig {
            security_protocol: SecurityProtocol::Ssl,
            ssl_ca_location: Some("/ca.crt".to_owned()),
            ssl_certificate_location: Some("/user.crt".to_owned()),
            ssl_key_location: Some("/user.key".to_owned()),
            ..KafkaConfig::default()
        };
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let mapped = settings(&config);
        assert!(mapped.contains(&("security.protocol", "ssl".to_owned())));
        assert!(mapped.contains(&("ssl.certificate.location", "/user.crt".to_owned())));
        assert!(mapped.contains(&("ssl.key.location", "/user.key".to_owned())));
        assert!(
            mapped.iter().all(|(key, _)| !key.starts_with("sasl.")),
            "no SASL settings without a SASL protocol: {mapped:?}"
        );
    }

    #[test]
    fn sasl_without_credentials_is_refused_naming_what_is_missing() {
        for protocol in [SecurityProtocol::SaslSsl, SecurityProtocol::SaslPlaintext] {
            let config = KafkaConfig {
                security_protocol: protocol,
                sasl_username: Some(" ".to_owned()),
                ..KafkaConfig::default()
            };
            let problems = config.problems().join("\n");
            assert!(
                problems.contains("kafka.sasl_username is required"),
                "{problems}"
            );
            assert!(
                problems.contains("kafka.sasl_password is required"),
                "{problems}"
            );
            assert!(problems.contains(protocol.as_librdkafka()), "{problems}");
        }
    }

    #[test]
    fn settings_the_protocol_would_ignore_are_refused() {
        let plaintext_with_credentials = KafkaConfig {
            security_protocol: SecurityProtocol::Plaintext,
            ..scram_over_tls()
        };
        let problems = plaintext_with_credentials.problems().join("\n");
        assert!(
            problems.contains("kafka.sasl_username is set"),
            "{problems}"
        );
        assert!(
            problems.contains("kafka.sasl_password is set"),
            "{problems}"
        );
        assert!(
            problems.contains("kafka.ssl_ca_location is set"),
            "{problems}"
        );

        let half_mutual_tls = KafkaConfig {
            security_protocol: SecurityProtocol::Ssl,
            ssl_certificate_location: Some("/user.crt".to_owned()),
            ..KafkaConfig::default()
        };
        let problems = half_mutual_tls.problems().join("\n");
        assert!(problems.contains("go together"), "{problems}");

        let plain_in_clear = KafkaConfig {
            security_protocol: SecurityProtocol::SaslPlaintext,
            sasl_mechanism: SaslMechanism::Plain,
            ..scram_over_tls()
        };
        let problems = plain_in_clear.problems().join("\n");
        assert!(problems.contains("in clear"), "{problems}");
    }

    #[test]
    fn names_are_read_as_documented() {
        // The README documents these spellings; an unknown protocol is a load error.
        #[derive(serde::Deserialize)]
        struct Both {
            security_protocol: SecurityProtocol,
            sasl_mechanism: SaslMechanism,
        }
        let read = |protocol: &str, mechanism: &str| {
            serde_json::from_value::<Both>(serde_json::json!({
                "security_protocol": protocol,
                "sasl_mechanism": mechanism,
            }))
        };
        for protocol in ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] {
            for mechanism in ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] {
                let both = read(protocol, mechanism).expect("a documented spelling");
                assert_eq!(both.security_protocol.as_librdkafka(), protocol);
                assert_eq!(both.sasl_mechanism.as_librdkafka(), mechanism);
            }
        }
        let error = read("tls", "SCRAM-SHA-512")
            .err()
            .expect("unknown protocol");
        assert!(
            error.to_string().contains("unknown variant `tls`"),
            "{error}"
        );
    }

    #[test]
    fn the_password_never_shows_in_debug_or_in_problems() {
        let config = scram_over_tls();
        let debug = format!("{config:?} {config:#?}");
        assert!(!debug.contains(PASSWORD), "{debug}");
        assert!(
            debug.contains("***"),
            "the password's presence is shown: {debug}"
        );
        assert!(
            debug.contains("bondgate-intake"),
            "the rest is shown: {debug}"
        );
        let misconfigured = KafkaConfig {
            security_protocol: SecurityProtocol::Plaintext,
            ..scram_over_tls()
        };
        let problems = misconfigured.problems().join("\n");
        assert!(!problems.is_empty());
        assert!(!problems.contains(PASSWORD), "{problems}");
    }
}
