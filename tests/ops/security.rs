//! Security checks on the running services (intake, clearance and review in this process, one
//! fresh seeded database, fresh topics): personal data is encrypted at rest, no secret reaches a
//! log line or a startup error, and the credentials of one service open nothing at another.
//!
//! The services run with secrets of their own (a database password in the URL, data and
//! buyer-hash keys, an officer password) so that a leak is recognisable; the stack's database
//! trusts local connections, so the password is carried but never checked.

use std::time::Duration;

use bondgate_storage::crypto::{PayloadCipher, SecurityConfig};
use futures::FutureExt as _;
use futures::future::LocalBoxFuture;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::{EBP, LOG, PAY, capture, order, payment, waybill};

/// Password in the services' database URL.
const DB_PASSWORD: &str = "db-secret-Qx7vT2mK9p";
/// Key of stored documents (not the development key).
const DATA_KEY_HEX: &str = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1e2f3a4b5c";
/// Key of buyer hashes (not the development key).
const BUYER_HASH_KEY_HEX: &str = "0c1d2e3f4a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f";
/// The review officer and their password.
const OFFICER: &str = "sec.officer";
const OFFICER_PASSWORD: &str = "officer-secret-Hw4nR8cZ";
/// A wrong password tried at login: refused, and no more loggable than the right one.
const GUESSED_PASSWORD: &str = "guessed-secret-Lm3pV6sD";
/// The Kafka (SASL) password of the services' startup configurations.
const KAFKA_PASSWORD: &str = "kafka-secret-Tz5wQ1nB";

/// The buyer's ID number, phone, name and address in the fixture documents.
const BUYER: [&str; 4] = [
    "110101199003071234",
    "13812345678",
    "张三",
    "重庆市渝北区两路街道1号",
];

/// Intake, clearance and review on one database, with known secrets.
struct Secured {
    intake: String,
    review: String,
    http: reqwest::Client,
    pool: PgPool,
    keys: Vec<(&'static str, String)>,
    stop_clearance: oneshot::Sender<()>,
    clearance_task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// `postgres://user@host/db` with `password` added to its credentials.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, host) = rest.split_once('@').expect("a user in the URL");
    format!("{scheme}://{user}:{password}@{host}")
}

fn security() -> SecurityConfig {
    SecurityConfig {
        data_key_hex: DATA_KEY_HEX.to_owned(),
        buyer_hash_key_hex: BUYER_HASH_KEY_HEX.to_owned(),
    }
}

impl Secured {
    async fn start() -> anyhow::Result<Secured> {
        let (plain_url, db) =
            bondgate_tests::seeded_database("security", Decimal::from(100)).await?;
        let url = with_password(&plain_url, DB_PASSWORD);
        let kafka = bondgate_tests::fresh_kafka("security", 2).await?;
        let mut keys = Vec::new();
        for code in [EBP, PAY, LOG] {
            keys.push((
                code,
                bondgate_intake::keys::create(&db, code, "security")
                    .await?
                    .key,
            ));
        }
        let pool = PgPool::connect(&plain_url).await?;
        bondgate_review::officers::create(
            &pool,
            OFFICER,
            "安全检查员",
            bondgate_review::officers::Role::Officer,
            Some(OFFICER_PASSWORD),
        )
        .await?;
        let mut clearance = bondgate_clearance::config::Config::default();
        clearance.database.url = url.clone();
        clearance.database.max_connections = 4;
        clearance.kafka = kafka.clone();
        clearance.security = security();
        clearance.clearance.group_id = format!("{}.group", kafka.topics.documents);
        clearance.clearance.instance_id = "security".to_owned();
        clearance.clearance.batch_linger_ms = 20;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (stop_clearance, stopped) = oneshot::channel::<()>();
        let clearance_task = tokio::spawn(Box::pin(bondgate_clearance::run_with_listener(
            clearance,
            listener,
            async move {
                let _ = stopped.await;
            },
        )));
        let mut config = bondgate_intake::Config::default();
        config.intake.listen_address = "127.0.0.1:0".to_owned();
        config.intake.ops_listen_address = "127.0.0.1:0".to_owned();
        config.database.url = url.clone();
        config.database.max_connections = 4;
        config.kafka = kafka;
        config.security = security();
        let intake = bondgate_intake::Application::build(config).await?;
        let intake_address = intake.local_addr()?;
        tokio::spawn(intake.run_until(std::future::pending()));
        let mut config = bondgate_review::Config::default();
        config.review.listen_address = "127.0.0.1:0".to_owned();
        config.database.url = url;
        config.database.max_connections = 4;
        config.security = security();
        let review = bondgate_review::Application::build(config).await?;
        let review_address = review.local_addr()?;
        tokio::spawn(review.run_until(std::future::pending()));
        Ok(Secured {
            intake: format!("http://{intake_address}"),
            review: format!("http://{review_address}"),
            http: reqwest::Client::new(),
            pool,
            keys,
            stop_clearance,
            clearance_task,
        })
    }

    async fn stop(self) {
        let _ = self.stop_clearance.send(());
        tokio::time::timeout(Duration::from_secs(60), self.clearance_task)
            .await
            .expect("clearance stops within 60 s")
            .expect("clearance task completes")
            .expect("clearance ran without error");
    }

    fn key(&self, code: &str) -> &str {
        &self.keys.iter().find(|(c, _)| *c == code).expect("a key").1
    }

    /// Posts JSON documents with a bearer key; returns the status.
    async fn submit(&self, documents: &Value, key: &str) -> u16 {
        self.http
            .post(format!("{}/v1/documents", self.intake))
            .bearer_auth(key)
            .json(documents)
            .send()
            .await
            .expect("intake answers")
            .status()
            .as_u16()
    }

    /// Submits the fixture order's three documents and waits until it is released.
    async fn clear_order(&self, order_no: &str) {
        for (document, sender) in [
            (order(order_no), EBP),
            (payment(order_no), PAY),
            (waybill(order_no), LOG),
        ] {
            assert_eq!(self.submit(&json!([document]), self.key(sender)).await, 202);
        }
        let pool = &self.pool;
        bondgate_tests::wait_until(
            "the order released and its receipts published",
            Duration::from_secs(60),
            || async move {
                let released: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM declarations WHERE order_no = $1 AND status = 800",
                )
                .bind(order_no)
                .fetch_one(pool)
                .await?;
                let unpublished: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM receipts_unpublished")
                        .fetch_one(pool)
                        .await?;
                Ok(released == 1 && unpublished == 0)
            },
        )
        .await
        .expect("the pipeline releases the order");
    }

    /// Logs an officer in through the JSON API: status and session token.
    async fn login(&self, password: &str) -> (u16, Option<String>) {
        let response = self
            .http
            .post(format!("{}/v1/review/sessions", self.review))
            .json(&json!({ "username": OFFICER, "password": password }))
            .send()
            .await
            .expect("review answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["token"].as_str().map(str::to_owned))
    }

    async fn get(&self, url: &str, bearer: &str) -> u16 {
        self.http
            .get(url)
            .bearer_auth(bearer)
            .send()
            .await
            .expect("an answer")
            .status()
            .as_u16()
    }
}

/// Runs `checks` on a started stack and stops it, re-raising a failure after the stop.
async fn with_stack(checks: impl for<'a> FnOnce(&'a Secured) -> LocalBoxFuture<'a, ()>) {
    let stack = Secured::start().await.expect("the services start");
    let outcome = std::panic::AssertUnwindSafe(checks(&stack))
        .catch_unwind()
        .await;
    stack.stop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Every row of every table of the schema, as PostgreSQL's text form of the row (`bytea`
/// columns appear as `\x` and lower-case hex).
async fn every_row(pool: &PgPool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("the tables");
    assert!(tables.len() > 10, "the schema's tables: {tables:?}");
    let mut rows = Vec::new();
    for table in tables {
        // The name comes from the catalogue, quoted as an identifier.
        let sql = format!("SELECT t::text FROM \"{}\" t", table.replace('"', "\"\""));
        let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .expect("the rows");
        rows.extend(texts.into_iter().map(|text| (table.clone(), text)));
    }
    rows
}

#[tokio::test]
async fn personal_data_is_encrypted_at_rest() {
    // Goal: after an order is cleared, the buyer's ID number, phone, name and address appear in
    // no column of any table, neither as text nor as the bytes of a bytea column; the stored
    // documents hold them encrypted under the configured data key.
    // Method: clear one order through intake and clearance, then read every row of every table
    // as text with plain SQL and search it for each value and for its UTF-8 bytes in hex; the
    // stored order is decrypted to show the values are really there, encrypted.
    with_stack(|stack| encryption_checks(stack).boxed_local()).await;
}

async fn encryption_checks(stack: &Secured) {
    stack.clear_order("SEC-1").await;
    let rows = every_row(&stack.pool).await;
    assert!(rows.iter().any(|(table, _)| table == "order_documents"));
    for personal in BUYER {
        let hex = hex_of(personal);
        for (table, row) in &rows {
            assert!(
                !row.contains(personal) && !row.contains(&hex),
                "{personal:?} stored in clear in {table}: {row}"
            );
        }
    }
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT payload FROM order_documents WHERE order_no = 'SEC-1'")
            .fetch_one(&stack.pool)
            .await
            .expect("the stored order");
    let cipher = PayloadCipher::from_hex(DATA_KEY_HEX).expect("the data key");
    let plain = cipher
        .open(&sealed)
        .expect("sealed under the configured key");
    for personal in BUYER {
        assert!(
            plain
                .windows(personal.len())
                .any(|window| window == personal.as_bytes()),
            "{personal:?} is inside the encrypted order"
        );
    }
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn secrets_never_reach_a_log_line_or_a_startup_error() {
    // Goal: the database password, the Kafka password, the data and buyer-hash keys, API keys
    // (valid or not), officer passwords (right or wrong) and session tokens appear in no log
    // line, in no configuration's Debug form, and in no startup error a `main` would print.
    // Method: the services' JSON logger writes into a buffer at debug level while they run with
    // known secrets: an order is cleared, keys are used right and wrong, an officer logs in with
    // the right and a wrong password and uses the session; each service is also built against
    // an unreachable database with the password in its URL and Kafka credentials in its
    // settings, and intake's producer is created with them and a missing CA file (librdkafka
    // refuses it). Then every line and message is searched for every secret.
    capture::install();
    with_stack(|stack| secrets_checks(stack).boxed_local()).await;
}

async fn secrets_checks(stack: &Secured) {
    stack.clear_order("SEC-2").await;
    let key = stack.key(EBP).to_owned();
    let key_secret = key
        .rsplit('_')
        .next()
        .expect("bg_<prefix>_<secret>")
        .to_owned();
    let forged = format!("{}0000", &key[..key.len() - 4]);
    let path = format!("{}/v1/orders/{EBP}/SEC-2", stack.intake);
    assert_eq!(stack.get(&path, &key).await, 200);
    assert_eq!(stack.get(&path, &forged).await, 401);
    assert_eq!(stack.submit(&json!([order("SEC-3")]), &forged).await, 401);
    let (status, _) = stack.login(GUESSED_PASSWORD).await;
    assert_eq!(status, 401);
    let (status, token) = stack.login(OFFICER_PASSWORD).await;
    assert_eq!(status, 201);
    let token = token.expect("a session token");
    assert_eq!(
        stack
            .get(&format!("{}/v1/review/me", stack.review), &token)
            .await,
        200
    );

    let mut secrets = vec![
        DB_PASSWORD.to_owned(),
        KAFKA_PASSWORD.to_owned(),
        DATA_KEY_HEX.to_owned(),
        BUYER_HASH_KEY_HEX.to_owned(),
        OFFICER_PASSWORD.to_owned(),
        GUESSED_PASSWORD.to_owned(),
        key,
        key_secret,
        forged,
        token,
    ];
    secrets.extend(stack.keys.iter().map(|(_, key)| key.clone()));
    let mut texts = startup_errors().await;
    texts.extend(capture::lines());
    assert!(texts.len() > 20, "too few log lines: {texts:?}");
    for text in &texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret:?} shown: {text}");
        }
    }
}

/// Kafka settings as deployed (SCRAM over TLS) with a known password, and a CA file that does
/// not exist, so that creating a client fails.
fn secured_kafka() -> bondgate_kafka::KafkaConfig {
    bondgate_kafka::KafkaConfig {
        security_protocol: bondgate_kafka::SecurityProtocol::SaslSsl,
        sasl_username: Some("bondgate-intake".to_owned()),
        sasl_password: Some(KAFKA_PASSWORD.to_owned()),
        ssl_ca_location: Some("/nonexistent/ca.crt".to_owned()),
        ..bondgate_kafka::KafkaConfig::default()
    }
}

/// What each service's `main` would print when it cannot start (its error chain, Display and
/// Debug), and the Debug form of each configuration, all carrying the database password and
/// the Kafka password.
async fn startup_errors() -> Vec<String> {
    let unreachable = with_password("postgres://bondgate@127.0.0.1:9/nowhere", DB_PASSWORD);
    let mut texts = Vec::new();

    // Intake's producer refused by librdkafka (the CA file is missing): the error that
    // Application::build would return.
    let error = bondgate_intake::publish::Publisher::new(&secured_kafka(), Duration::from_secs(1))
        .map(|_| ())
        .expect_err("no CA file");
    let error = anyhow::Error::from(bondgate_intake::StartupError::from(error));
    texts.push(format!("{error:#} / {error:?}"));

    let mut intake = bondgate_intake::Config::default();
    intake.database.url = unreachable.clone();
    intake.database.connect_timeout_ms = 500;
    intake.database.acquire_timeout_ms = 500;
    intake.security = security();
    intake.kafka = secured_kafka();
    let serialised = serde_json::to_string(&intake).expect("serialisable");
    assert!(
        serialised.contains(DB_PASSWORD)
            && serialised.contains(DATA_KEY_HEX)
            && serialised.contains(KAFKA_PASSWORD),
        "the configuration really holds the secrets searched for"
    );
    texts.push(format!("{intake:?}"));
    let error = bondgate_intake::Application::build(intake)
        .await
        .expect_err("no database");
    texts.push(format!("{:#}", anyhow::Error::from(error)));

    let mut clearance = bondgate_clearance::config::Config::default();
    clearance.database.url = unreachable.clone();
    clearance.database.connect_timeout_ms = 500;
    clearance.database.acquire_timeout_ms = 500;
    clearance.clearance.listen = "127.0.0.1:0".to_owned();
    clearance.security = security();
    clearance.kafka = secured_kafka();
    texts.push(format!("{clearance:?}"));
    let error = bondgate_clearance::run(clearance, std::future::pending())
        .await
        .expect_err("no database");
    texts.push(format!("{error:#} / {error:?}"));

    let mut review = bondgate_review::Config::default();
    review.database.url = unreachable;
    review.database.connect_timeout_ms = 500;
    review.database.acquire_timeout_ms = 500;
    review.security = security();
    texts.push(format!("{review:?}"));
    let error = bondgate_review::Application::build(review)
        .await
        .expect_err("no database");
    texts.push(format!("{:#}", anyhow::Error::from(error)));
    texts
}

#[tokio::test]
async fn credentials_of_one_service_open_nothing_at_another() {
    // Goal: an enterprise's API key is no officer session, and an officer's session token is no
    // API key: each is refused (401) by the other service, for reads and for writes.
    // Method: a valid key of each kind, checked first where it belongs (200), then presented to
    // the other service's API.
    with_stack(|stack| credential_checks(stack).boxed_local()).await;
}

async fn credential_checks(stack: &Secured) {
    let (status, token) = stack.login(OFFICER_PASSWORD).await;
    assert_eq!(status, 201);
    let token = token.expect("a session token");
    let me = format!("{}/v1/review/me", stack.review);
    let status_path = format!("{}/v1/orders/{EBP}/NOPE", stack.intake);
    assert_eq!(stack.get(&me, &token).await, 200);
    assert_eq!(stack.get(&status_path, stack.key(EBP)).await, 404);
    for code in [EBP, PAY, LOG] {
        for path in ["/v1/review/me", "/v1/review/queue", "/v1/review/audit"] {
            let url = format!("{}{path}", stack.review);
            assert_eq!(stack.get(&url, stack.key(code)).await, 401, "{code} {path}");
        }
        let decision = stack
            .http
            .post(format!(
                "{}/v1/review/declarations/1/decisions",
                stack.review
            ))
            .bearer_auth(stack.key(code))
            .json(&json!({ "decision": "release", "version": 1 }))
            .send()
            .await
            .expect("review answers");
        assert_eq!(decision.status(), 401, "{code} decides");
    }
    assert_eq!(stack.get(&status_path, &token).await, 401);
    assert_eq!(stack.submit(&json!([order("SEC-4")]), &token).await, 401);
}
