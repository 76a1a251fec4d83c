//! Intake and clearance in one process on a fresh seeded database and fresh topics, with an API
//! key for every seed enterprise, and the reads the attacks need: what an order's declaration
//! and receipts are, what the stock and quotas hold, the invariants.

use std::time::Duration;

use bondgate_intake::{Application, Config};
use bondgate_kafka::KafkaConfig;
use bondgate_proto::Message as _;
use bondgate_proto::v1;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{PgPool, Row};
use tokio::sync::oneshot;

/// Seed enterprises (`services/bondgate/seed/enterprises.csv`).
pub const EBP: &str = "5001980001";
/// A second platform.
pub const EBP2: &str = "5001980011";
/// The seller of [`EBP`]'s orders (also their declaring agent).
pub const EBC: &str = "5001980002";
/// Another seller.
pub const EBC2: &str = "5001980012";
/// The payment company of the orders.
pub const PAY: &str = "5001980021";
/// Another payment company.
pub const PAY2: &str = "5001980022";
/// The logistics company of the orders.
pub const LOG: &str = "5001980003";

const ENTERPRISES: [&str; 7] = [EBP, EBP2, EBC, EBC2, PAY, PAY2, LOG];

/// A running intake and clearance.
pub struct Stack {
    base: String,
    http: reqwest::Client,
    /// The test's database.
    pub pool: PgPool,
    /// Its URL.
    pub url: String,
    /// Brokers and the test's topics.
    pub kafka: KafkaConfig,
    keys: Vec<(&'static str, String)>,
    stop: Option<oneshot::Sender<()>>,
    clearance: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack").field("base", &self.base).finish()
    }
}

impl Stack {
    /// Starts both services for one test.
    pub async fn start(label: &str) -> anyhow::Result<Stack> {
        if std::env::var_os("TEST_LOG").is_some() {
            bondgate_telemetry::init_logging();
        }
        let (url, db) = bondgate_tests::seeded_database(label, Decimal::from(100)).await?;
        let kafka = bondgate_tests::fresh_kafka(label, 2).await?;
        let mut keys = Vec::new();
        for code in ENTERPRISES {
            let created = bondgate_intake::keys::create(&db, code, "hostile").await?;
            keys.push((code, created.key));
        }
        let pool = bondgate_storage::pool(&db).clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let clearance = tokio::spawn(bondgate_clearance::run(
            clearance_config(&url, &kafka),
            async move {
                let _ = stopped.await;
            },
        ));
        let mut config = Config::default();
        config.intake.listen_address = "127.0.0.1:0".to_owned();
        config.intake.ops_listen_address = "127.0.0.1:0".to_owned();
        config.database.url = url.clone();
        config.database.max_connections = 4;
        config.kafka = kafka.clone();
        let app = Application::build_with(config, db).await?;
        let address = app.local_addr()?;
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(Stack {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            pool,
            url,
            kafka,
            keys,
            stop: Some(stop),
            clearance: Some(clearance),
        })
    }

    fn key(&self, code: &str) -> &str {
        &self.keys.iter().find(|(c, _)| *c == code).expect("a key").1
    }

    /// `POST /v1/documents` as `sender`: the status and the JSON answer.
    pub async fn post_json(&self, sender: &str, documents: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(documents).expect("JSON");
        self.post("/v1/documents", "application/json", body, sender)
            .await
    }

    /// `POST path` as `sender`: the status and the JSON answer.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        sender: &str,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .bearer_auth(self.key(sender))
            .body(body)
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` as `sender`: the status and the JSON answer.
    pub async fn get(&self, path: &str, sender: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.key(sender))
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Writes records straight to the documents topic, as a producer that skipped intake.
    pub async fn produce(&self, documents: &[v1::Document]) -> anyhow::Result<()> {
        let records: Vec<(String, Vec<u8>)> = documents
            .iter()
            .map(|d| (format!("{}/{}", d.ebp_code, d.order_no), d.encode_to_vec()))
            .collect();
        self.produce_raw(&records).await
    }

    /// Writes `(key, value)` records straight to the documents topic.
    pub async fn produce_raw(&self, records: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
        let topic = &self.kafka.topics.documents;
        bondgate_tests::produce(&self.kafka, topic, records).await
    }

    /// `bondgate enterprises bind --platform P --seller S`, run as the CLI runs it.
    pub async fn bind(&self, platform: &str, seller: &str) -> anyhow::Result<()> {
        use bondgate::enterprises::{EnterprisesAction, EnterprisesArgs};
        let command = bondgate::Command::Enterprises(EnterprisesArgs {
            action: EnterprisesAction::Bind {
                platform: platform.to_owned(),
                seller: seller.to_owned(),
            },
            database: bondgate::database::DatabaseArgs {
                database_url: Some(self.url.clone()),
            },
        });
        bondgate::run(bondgate::Cli { command }).await
    }

    /// Waits until the order has a declaration, then returns its status and invtNo.
    pub async fn declared(&self, order_no: &str) -> anyhow::Result<(i32, Option<String>)> {
        self.wait(&format!("order {order_no} declared"), || async {
            Ok(self.declaration(order_no).await?.is_some())
        })
        .await?;
        Ok(self.declaration(order_no).await?.expect("declared"))
    }

    /// The order's declaration status and invtNo, if declared.
    pub async fn declaration(
        &self,
        order_no: &str,
    ) -> anyhow::Result<Option<(i32, Option<String>)>> {
        let row = sqlx::query("SELECT status, invt_no FROM declarations WHERE order_no = $1")
            .bind(order_no)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("status")?, row.try_get("invt_no")?)),
            None => None,
        })
    }

    /// The receipts of an order key: `(flow, returnStatus, codes)` in sequence order.
    pub async fn receipts(&self, ebp: &str, order_no: &str) -> anyhow::Result<Vec<Receipt>> {
        let rows = sqlx::query(
            "SELECT flow, return_status, codes FROM receipts
             WHERE ebp_code = $1 AND order_no = $2 ORDER BY sequence",
        )
        .bind(ebp)
        .bind(order_no)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Receipt {
                    flow: row.try_get("flow")?,
                    status: row.try_get("return_status")?,
                    codes: row.try_get("codes")?,
                })
            })
            .collect()
    }

    /// Waits until the order key has a receipt of `flow` and returns it.
    pub async fn receipt_of(
        &self,
        ebp: &str,
        order_no: &str,
        flow: i16,
    ) -> anyhow::Result<Receipt> {
        let what = format!("a receipt of flow {flow} for {ebp}/{order_no}");
        self.wait(&what, || async {
            let receipts = self.receipts(ebp, order_no).await?;
            Ok(receipts.iter().any(|r| r.flow == flow))
        })
        .await?;
        let receipts = self.receipts(ebp, order_no).await?;
        Ok(receipts
            .into_iter()
            .rfind(|r| r.flow == flow)
            .expect("waited for it"))
    }

    /// Everything an attack must leave untouched: every item's stock, every buyer's quota,
    /// every declaration's status and closing times, the stored documents and their senders.
    pub async fn snapshot(&self) -> anyhow::Result<Vec<String>> {
        let sql = "SELECT 'stock ' || ems_no || '/' || item_record_no || ' ' || on_hand || ' '
                          || reserved FROM account_book_items
                   UNION ALL SELECT 'quota ' || encode(buyer_hash, 'hex') || ' ' || year || ' '
                          || used FROM buyer_quotas
                   UNION ALL SELECT 'declaration ' || ebp_code || '/' || order_no || ' ' || status
                          || ' ' || quota_amount || ' ' || coalesce(cancelled_at::text, '-') || ' '
                          || coalesce(refunded_at::text, '-') FROM declarations
                   UNION ALL SELECT 'order ' || ebp_code || '/' || order_no || ' ' || sender_code
                          || ' ' || encode(digest, 'hex') FROM order_documents
                   UNION ALL SELECT 'payment ' || pay_code || '/' || pay_transaction_id || ' '
                          || sender_code || ' ' || encode(digest, 'hex') FROM payment_documents
                   UNION ALL SELECT 'waybill ' || logistics_code || '/' || logistics_no || ' '
                          || sender_code || ' ' || encode(digest, 'hex') FROM waybill_documents
                   ORDER BY 1";
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?))
            .collect()
    }

    /// Every guarantee the invariant checker knows holds on the database.
    pub async fn assert_invariants(&self) -> anyhow::Result<()> {
        let anomalies = bondgate_tests::invariants::check_database(&self.pool).await?;
        anyhow::ensure!(
            anomalies.is_empty(),
            "invariants broken:\n{}",
            anomalies.join("\n")
        );
        Ok(())
    }

    /// Polls `check` for up to 60 s.
    pub async fn wait<F, Fut>(&self, what: &str, check: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        bondgate_tests::wait_until(what, Duration::from_secs(60), check).await
    }

    /// Stops clearance and reports whether it ran without failing (no exit, no restart loop).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(clearance) = self.clearance.take() {
            tokio::time::timeout(Duration::from_secs(30), clearance).await???;
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// 1 inventory, 2 cancellation, 3 return, 4 a single document.
    pub flow: i16,
    /// `returnStatus`.
    pub status: i32,
    /// Customs codes.
    pub codes: Vec<String>,
}

fn clearance_config(url: &str, kafka: &KafkaConfig) -> bondgate_clearance::config::Config {
    let mut config = bondgate_clearance::config::Config::default();
    config.database.url = url.to_owned();
    config.kafka = kafka.clone();
    config.clearance.listen = "127.0.0.1:0".to_owned();
    config.clearance.group_id = format!("{}.group", kafka.topics.documents);
    config.clearance.instance_id = "hostile".to_owned();
    config.clearance.batch_linger_ms = 20;
    config
}
