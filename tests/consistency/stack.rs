//! Intake and clearance in one process, on a fresh database seeded with the fixture account
//! book and positive list (`bondgate seed --account-book --positive-list`), fresh topics, and
//! the same non-default `[rules]` for both services.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bondgate_ceb::sign::SigningKey;
use bondgate_domain::config::RulesConfig;
use bondgate_intake::{Application, Config};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::oneshot;

/// The seed platform (`services/bondgate/seed/enterprises.csv`).
pub const EBP: &str = "5001980001";
/// The seed seller of its orders.
pub const EBC: &str = "5001980002";
/// The seed payment company.
pub const PAY: &str = "5001980021";
/// The seed logistics company.
pub const LOG: &str = "5001980003";

/// A running intake and clearance.
pub struct Stack {
    base: String,
    http: reqwest::Client,
    /// The test's database.
    pub pool: PgPool,
    /// Its URL (for the CLI).
    pub url: String,
    /// The declaring agent's key clearance signs every CEB621 with.
    pub signing_key: SigningKey,
    /// Holds the key's PEM file while clearance runs.
    _key_dir: tempfile::TempDir,
    keys: Vec<(&'static str, String)>,
    stop: Option<oneshot::Sender<()>>,
    clearance: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A fixture file of this suite.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("consistency")
        .join(name)
}

/// Rules that differ from the defaults where the bundles will notice, so that a service
/// deciding on `RulesConfig::default()` instead of its configuration disagrees.
pub fn rules() -> RulesConfig {
    let mut rules = RulesConfig::default();
    rules.risk.hold_dutiable_value_min_cny = Some(Decimal::from(3_000));
    rules.risk.hold_line_qty_min = Some(Decimal::from(6));
    rules.tax.cbec_factor = Decimal::new(6, 1);
    rules
}

impl Stack {
    /// Seeds a fresh database with the fixtures and starts both services on it.
    pub async fn start(label: &str) -> anyhow::Result<Stack> {
        if std::env::var_os("TEST_LOG").is_some() {
            bondgate_telemetry::init_logging();
        }
        let (url, db) = bondgate_storage::testing::fresh_database(label).await?;
        seed(&url).await?;
        let kafka = bondgate_tests::fresh_kafka(label, 2).await?;
        let mut keys = Vec::new();
        for code in [EBP, PAY, LOG] {
            keys.push((
                code,
                bondgate_intake::keys::create(&db, code, label).await?.key,
            ));
        }
        let signing_key = SigningKey::generate()?;
        let key_dir = tempfile::tempdir()?;
        let key_file = key_dir.path().join("agent.pem");
        std::fs::write(&key_file, signing_key.to_pkcs8_pem()?)?;
        let mut clearance = bondgate_clearance::config::Config::default();
        clearance.database.url = url.clone();
        clearance.clearance.signing_key_path = Some(key_file.display().to_string());
        clearance.clearance.signing_key_name = "consistency-agent".to_owned();
        clearance.kafka = kafka.clone();
        clearance.rules = rules();
        clearance.clearance.listen = "127.0.0.1:0".to_owned();
        clearance.clearance.group_id = format!("{}.group", kafka.topics.documents);
        clearance.clearance.instance_id = label.to_owned();
        clearance.clearance.batch_linger_ms = 20;
        let (stop, stopped) = oneshot::channel::<()>();
        let clearance = tokio::spawn(bondgate_clearance::run(clearance, async move {
            let _ = stopped.await;
        }));
        let mut config = Config::default();
        config.intake.listen_address = "127.0.0.1:0".to_owned();
        config.intake.ops_listen_address = "127.0.0.1:0".to_owned();
        // Every bundle is checked and submitted through one platform key.
        config.intake.rate_limit_per_second = 10_000;
        config.intake.rate_limit_burst = 10_000;
        config.database.url = url.clone();
        config.database.max_connections = 4;
        config.kafka = kafka;
        config.rules = rules();
        let pool = bondgate_storage::pool(&db).clone();
        let app = Application::build_with(config, db).await?;
        let base = format!("http://{}", app.local_addr()?);
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(Stack {
            base,
            http: reqwest::Client::new(),
            pool,
            url,
            signing_key,
            _key_dir: key_dir,
            keys,
            stop: Some(stop),
            clearance: Some(clearance),
        })
    }

    fn key(&self, sender: &str) -> &str {
        let (_, key) = self.keys.iter().find(|(c, _)| *c == sender).expect("a key");
        key
    }

    /// `GET path` as `sender`: the status and the body's bytes.
    pub async fn get(&self, path: &str, sender: &str) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.key(sender))
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("a body");
        (status, body.to_vec())
    }

    /// `GET path` as `sender`: the status and the JSON answer.
    pub async fn get_json(&self, path: &str, sender: &str) -> (u16, Value) {
        let (status, body) = self.get(path, sender).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body as `sender`: the status and the JSON answer.
    pub async fn post(&self, path: &str, body: &Value, sender: &str) -> (u16, Value) {
        let body = serde_json::to_vec(body).expect("JSON");
        self.post_bytes(path, "application/json", body, sender)
            .await
    }

    /// `POST path` with a body of `content_type` as `sender`: the status and the JSON answer.
    pub async fn post_bytes(
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

    /// Stops clearance and reports whether it ran without failing.
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

/// `bondgate seed --account-book account_book.csv --positive-list positive_list.csv`, run as
/// the CLI runs it (the SAMPLE enterprises, plenty of stock: stock is not what is compared).
async fn seed(url: &str) -> anyhow::Result<()> {
    use bondgate::seed::SeedArgs;
    let command = bondgate::Command::Seed(SeedArgs {
        positive_list: Some(fixture("positive_list.csv")),
        account_book: Some(fixture("account_book.csv")),
        stock: Decimal::from(1_000_000),
        enterprises: None,
        database: bondgate::database::DatabaseArgs {
            database_url: Some(url.to_owned()),
        },
    });
    bondgate::run(bondgate::Cli { command }).await
}
