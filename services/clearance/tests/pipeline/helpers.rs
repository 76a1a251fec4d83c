//! Shared set-up of the pipeline tests: a seeded database, fresh topics, the service run
//! in-process or as a child process, generated traffic, and the invariant checks.

use bondgate_clearance::config::Config;
use bondgate_kafka::KafkaConfig;
use bondgate_loadtest::generate::OrderMeta;
use bondgate_loadtest::generate::{GeneratorConfig, RecordStream};
use bondgate_proto::Message;
use bondgate_proto::v1;
use rust_decimal::Decimal;
use sqlx::PgPool;
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
    handle: JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// True while the service has not exited.
    pub fn is_running(&self) -> bool {
        !self.handle.is_finished()
    }

    /// Asks for a graceful shutdown and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(60), self.handle).await??
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
            handle,
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
                    .count("SELECT count(*) FROM receipts WHERE published_at IS NULL")
                    .await?;
                Ok(declared >= n && unpublished == 0)
            },
        )
        .await
    }

    /// Every database invariant holds, and the receipts topic matches the outbox.
    pub async fn assert_invariants(&self) -> anyhow::Result<()> {
        let mut anomalies = bondgate_tests::invariants::check_database(&self.pool).await?;
        let published = self
            .count("SELECT count(*) FROM receipts WHERE published_at IS NOT NULL")
            .await?;
        let ids: Vec<String> = bondgate_tests::consume_distinct(
            &self.kafka,
            &self.kafka.topics.receipts,
            usize::try_from(published)?,
            Duration::from_secs(60),
            |value| Ok(v1::Receipt::decode(value)?.receipt_id),
        )
        .await?
        .into_iter()
        .collect();
        anomalies.extend(bondgate_tests::invariants::check_receipts_topic(&self.pool, &ids).await?);
        assert!(
            anomalies.is_empty(),
            "invariants broken:\n{}",
            anomalies.join("\n")
        );
        Ok(())
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
