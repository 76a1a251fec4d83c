//! Shared set-up of the pipeline tests: a seeded database, fresh topics, the service run
//! in-process or as a child process, generated traffic, and the invariant checks.

use bondgate_clearance::config::Config;
use bondgate_clearance::decode::{InRecord, decode};
use bondgate_kafka::KafkaConfig;
use bondgate_loadtest::generate::OrderMeta;
use bondgate_loadtest::generate::{GeneratorConfig, RecordStream};
use bondgate_proto::Message;
use bondgate_proto::v1;
use bondgate_tests::TopicRecord;
use bondgate_tests::invariants::{InputRecord, PublishedReceipt};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One test's world.
pub struct Harness {
    pub url: String,
    pub pool: PgPool,
    pub kafka: KafkaConfig,
    pub group: String,
}

/// A clearance instance running inside the test process.
pub struct InProcess {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl InProcess {
    /// True while the service has not exited.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Asks for a graceful shutdown and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let handle = self.handle.take().expect("stopped once");
        tokio::time::timeout(Duration::from_secs(60), handle).await??
    }
}

impl Drop for InProcess {
    /// A test that fails early still stops its service, so the runtime can shut down (the
    /// consumer's blocking thread would otherwise keep it, and the test, alive).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Traffic that went to the documents topic.
pub struct Traffic {
    pub orders: Vec<OrderMeta>,
    pub records: usize,
    pub bad_records: u64,
}

impl Harness {
    pub async fn new(label: &str, partitions: i32, stock: i64) -> anyhow::Result<Self> {
        let (url, _db) = bondgate_tests::seeded_database(label, Decimal::from(stock)).await?;
        let pool = PgPool::connect(&url).await?;
        let kafka = bondgate_tests::fresh_kafka(label, partitions).await?;
        let group = format!("{}.group", kafka.topics.documents);
        Ok(Self {
            url,
            pool,
            kafka,
            group,
        })
    }

    /// A harness on a database the caller prepared (e.g. a private cluster), seeded here.
    pub async fn with_database(
        url: &str,
        label: &str,
        partitions: i32,
        stock: i64,
    ) -> anyhow::Result<Self> {
        let db = bondgate_storage::connect(&bondgate_storage::DatabaseConfig {
            url: url.to_owned(),
            ..Default::default()
        })
        .await?;
        bondgate_storage::migrate_up(&db).await?;
        bondgate::seed::seed_database(url, Decimal::from(stock)).await?;
        let pool = PgPool::connect(url).await?;
        let kafka = bondgate_tests::fresh_kafka(label, partitions).await?;
        let group = format!("{}.group", kafka.topics.documents);
        Ok(Self {
            url: url.to_owned(),
            pool,
            kafka,
            group,
        })
    }

    /// A harness whose topics live on `broker` (a private broker the test may restart).
    pub async fn on_broker(
        broker: &bondgate_kafka::KafkaConfig,
        label: &str,
        partitions: i32,
        stock: i64,
    ) -> anyhow::Result<Self> {
        let (url, _db) = bondgate_tests::seeded_database(label, Decimal::from(stock)).await?;
        let pool = PgPool::connect(&url).await?;
        let mut kafka = broker.clone();
        for (topic, name) in [
            (&mut kafka.topics.documents, "documents"),
            (&mut kafka.topics.receipts, "receipts"),
            (&mut kafka.topics.dead_letters, "dlq"),
        ] {
            *topic =
                bondgate_tests::fresh_topic(broker, &format!("{label}.{name}"), partitions).await?;
        }
        let group = format!("{}.group", kafka.topics.documents);
        Ok(Self {
            url,
            pool,
            kafka,
            group,
        })
    }

    /// Starts the service binary as a child process for this test, with `env` added (e.g.
    /// `FAILPOINTS`); its log goes to `<tmp>/<group>.<instance>.log` ([`Harness::log_path`]).
    pub fn spawn(&self, instance: &str, env: &[(&str, &str)]) -> anyhow::Result<Child> {
        let kafka = &self.kafka;
        let log = std::fs::File::create(self.log_path(instance))?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_bondgate-clearance"));
        command
            .env("BONDGATE__DATABASE__URL", &self.url)
            .env("BONDGATE__KAFKA__BROKERS", &kafka.brokers)
            .env(
                "BONDGATE__KAFKA__TOPICS__DOCUMENTS",
                &kafka.topics.documents,
            )
            .env("BONDGATE__KAFKA__TOPICS__RECEIPTS", &kafka.topics.receipts)
            .env(
                "BONDGATE__KAFKA__TOPICS__DEAD_LETTERS",
                &kafka.topics.dead_letters,
            )
            .env("BONDGATE__KAFKA__CONSUMER_SESSION_TIMEOUT_MS", "6000")
            .env("BONDGATE__CLEARANCE__GROUP_ID", &self.group)
            .env("BONDGATE__CLEARANCE__INSTANCE_ID", instance)
            .env("BONDGATE__CLEARANCE__LISTEN", "127.0.0.1:0")
            .env("BONDGATE__CLEARANCE__BATCH_SIZE_MAX", "1024")
            .env("RUST_LOG", "info")
            .env("BONDGATE_LOG_FORMAT", "json");
        for (name, value) in env {
            command.env(name, value);
        }
        Ok(command
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?)
    }

    /// Where [`Harness::spawn`] writes the log of `instance`.
    pub fn log_path(&self, instance: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("{}.{instance}.log", self.group))
    }

    /// The service's configuration for this test (small batches to exercise batch boundaries).
    pub fn config(&self, instance: &str) -> Config {
        let mut config = Config::default();
        config.database.url = self.url.clone();
        config.kafka = self.kafka.clone();
        config.clearance.listen = "127.0.0.1:0".to_owned();
        config.clearance.group_id = self.group.clone();
        config.clearance.instance_id = instance.to_owned();
        config.clearance.batch_size_max = 256;
        config.clearance.batch_linger_ms = 20;
        config.clearance.sweep_interval_ms = 500;
        config
    }

    pub fn start(&self, config: Config) -> InProcess {
        let _ = &self.url;
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(bondgate_clearance::run(config, async move {
            let _ = stopped.await;
        }));
        InProcess {
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// The generator's traffic for `orders` orders, produced to the documents topic.
    pub async fn produce(
        &self,
        generator: GeneratorConfig,
        orders: u64,
    ) -> anyhow::Result<Traffic> {
        let mut stream = RecordStream::new(generator, orders)?;
        let records: Vec<(String, Vec<u8>)> = stream
            .by_ref()
            .map(|r| (String::from_utf8_lossy(&r.key).into_owned(), r.value))
            .collect();
        let bad_records = stream.bad_records_generated();
        let orders = stream.drain_order_metas();
        bondgate_tests::produce(&self.kafka, &self.kafka.topics.documents, &records).await?;
        Ok(Traffic {
            orders,
            records: records.len(),
            bad_records,
        })
    }

    pub async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Waits until `n` declarations exist and every receipt is published.
    pub async fn wait_for_declarations(&self, n: i64, timeout: Duration) -> anyhow::Result<()> {
        bondgate_tests::wait_until(
            &format!("{n} declarations, all receipts published"),
            timeout,
            || async {
                let declared = self.count("SELECT count(*) FROM declarations").await?;
                let unpublished = self
                    .count("SELECT count(*) FROM receipts_unpublished")
                    .await?;
                Ok(declared >= n && unpublished == 0)
            },
        )
        .await
    }

    /// Every database invariant holds; the documents topic is accounted for (no lost write,
    /// every bad record one dead letter); the receipts topic matches the outbox, in status
    /// order per order.
    pub async fn assert_invariants(&self) -> anyhow::Result<()> {
        let mut anomalies = bondgate_tests::invariants::check_database(&self.pool).await?;
        anomalies.extend(self.check_input().await?);
        anomalies.extend(self.check_receipts().await?);
        assert!(
            anomalies.is_empty(),
            "invariants broken:\n{}",
            anomalies.join("\n")
        );
        Ok(())
    }

    /// Every record of `topic`, read until at least as many as `count_sql` says are there.
    async fn read_all(
        &self,
        topic: &str,
        count_sql: &'static str,
    ) -> anyhow::Result<Vec<TopicRecord>> {
        let expected = usize::try_from(self.count(count_sql).await?)?;
        bondgate_tests::read_topic(&self.kafka, topic, Duration::from_secs(120), |records| {
            records.len() >= expected
        })
        .await
    }

    async fn check_input(&self) -> anyhow::Result<Vec<String>> {
        let records = self
            .read_all(
                &self.kafka.topics.documents,
                "SELECT COALESCE(sum(next_offset), 0)::bigint FROM consumer_positions",
            )
            .await?;
        bondgate_tests::invariants::check_input_topic(&self.pool, &records, classify).await
    }

    async fn check_receipts(&self) -> anyhow::Result<Vec<String>> {
        let records = self
            .read_all(
                &self.kafka.topics.receipts,
                "SELECT (SELECT count(*) FROM receipts) - (SELECT count(*) FROM receipts_unpublished)",
            )
            .await?;
        let receipts: Vec<PublishedReceipt> = records
            .iter()
            .map(|r| {
                let receipt = v1::Receipt::decode(r.value.as_slice())?;
                Ok(PublishedReceipt {
                    order: format!("{}/{}", receipt.ebp_code, receipt.order_no),
                    id: receipt.receipt_id,
                    sequence: receipt.sequence,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let ids: Vec<String> = receipts.iter().map(|r| r.id.clone()).collect();
        let mut anomalies =
            bondgate_tests::invariants::check_receipts_topic(&self.pool, &ids).await?;
        anomalies.extend(bondgate_tests::invariants::check_receipt_order(&receipts));
        Ok(anomalies)
    }
}

/// What the pipeline's own decoder makes of a documents-topic record.
fn classify(record: &TopicRecord) -> InputRecord {
    let in_record = InRecord {
        partition: record.partition,
        offset: record.offset,
        key: (!record.key.is_empty()).then(|| record.key.clone()),
        value: record.value.clone(),
        timestamp_ms: 0,
    };
    match decode(in_record) {
        Ok(document) => InputRecord::Document {
            ebp_code: document.ebp_code,
            order_no: document.order_no,
        },
        Err(_) => InputRecord::Bad,
    }
}

/// Only clean orders, shuffled within a window of 64 records.
pub fn clean_traffic(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        heavy_order_fraction: 0.0,
        mismatch_fraction: 0.0,
        over_limit_fraction: 0.0,
        bad_record_fraction: 0.0,
        ..GeneratorConfig::default()
    }
}

/// Fails with a clear message when the failpoints are not compiled in (instead of passing
/// without having injected anything).
pub fn require_failpoints() {
    assert!(
        bondgate_clearance::failpoint::enabled(),
        "this test needs the failpoints: run it with --features bondgate-clearance/failpoints \
         (scripts/test does)"
    );
}

/// `orders` times `BONDGATE_FAULT_SCALE` (default 1; `scripts/soak` raises it).
pub fn scaled(orders: u64) -> u64 {
    let scale: u64 = std::env::var("BONDGATE_FAULT_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    orders * scale.max(1)
}
