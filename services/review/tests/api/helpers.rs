//! Harness of the review tests: a fresh seeded database and fresh topics; generated orders that
//! the real clearance pipeline (in-process, relay included) declares and holds for review; the
//! review service on port 0 with officers of every role; HTTP clients for the JSON API and for
//! the UI (cookies and forms by hand, so their attributes can be checked); and the end-of-test
//! invariant checks.

use std::collections::HashMap;
use std::time::Duration;

use bondgate_kafka::KafkaConfig;
use bondgate_loadtest::generate::{GeneratedOrder, Generator, GeneratorConfig};
use bondgate_proto::Message as _;
use bondgate_proto::v1::Receipt;
use bondgate_proto::v1::document::Body;
use bondgate_review::{Application, Config};
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::oneshot;

/// Password of every test officer.
pub const PASSWORD: &str = "correct-horse-battery-7";
/// An officer.
pub const OFFICER: &str = "li.wei";
/// Another officer.
pub const OFFICER_2: &str = "wang.fang";
/// A supervisor.
pub const SUPERVISOR: &str = "zhao.min";
/// An auditor.
pub const AUDITOR: &str = "qian.li";

/// Per-test settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Orders generated and held for review.
    pub orders: u64,
    /// The review service's session lifetime.
    pub session_ttl_seconds: u64,
    /// Rows per queue page.
    pub page_size: u32,
    /// A relative pays each order and the platform vouches for the buyer's identity, so the
    /// documents differ in the payer's name, ID number and phone yet the order is not rejected.
    pub relative_payers: bool,
    /// Adjusts the review service's settings (lockout thresholds, trusted proxies).
    pub tune: fn(&mut bondgate_review::ReviewConfig),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            orders: 6,
            session_ttl_seconds: 3_600,
            page_size: 25,
            relative_payers: false,
            tune: |_| {},
        }
    }
}

/// One test's world: the stack pieces, the held orders and the review service.
pub struct World {
    /// Database URL.
    pub url: String,
    /// Pool on it.
    pub pool: PgPool,
    /// Kafka settings (fresh topics).
    pub kafka: KafkaConfig,
    /// The generated orders, by order number (their plaintext personal data included).
    pub orders: HashMap<String, GeneratedOrder>,
    /// `http://127.0.0.1:<port>` of the review service.
    pub base: String,
    /// HTTP client that does not follow redirects.
    pub http: reqwest::Client,
    stop_clearance: Option<oneshot::Sender<()>>,
    clearance: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for World {
    /// A test that fails midway still stops its pipeline (which then exits on its own thread).
    fn drop(&mut self) {
        if let Some(stop) = self.stop_clearance.take() {
            let _ = stop.send(());
        }
    }
}

/// The clearance rules of the tests: every order is held (dutiable value ≥ 0), cosmetics
/// (chapter 33) and lines of 3 or more units add their own reasons.
fn holding_rules() -> bondgate_domain::config::RulesConfig {
    let mut rules = bondgate_domain::config::RulesConfig::default();
    rules.risk.hold_dutiable_value_min_cny = Some(Decimal::ZERO);
    rules.risk.hold_line_qty_min = Some(Decimal::from(3));
    rules.risk.watch_chapters = vec![33];
    rules
}

/// Clean generated orders (within limits); with `relative_payers`, paid by a relative.
fn generate(orders: u64, relative_payers: bool) -> Vec<GeneratedOrder> {
    let config = GeneratorConfig {
        seed: rand::random::<u32>().into(),
        order_no_prefix: "RV".to_owned(),
        heavy_order_fraction: 0.0,
        mismatch_fraction: 0.0,
        over_limit_fraction: 0.0,
        bad_record_fraction: 0.0,
        lines_max: 3,
        ..GeneratorConfig::default()
    };
    let mut generator = Generator::new(config).expect("a valid generator config");
    (0..orders)
        .map(|_| {
            let mut order = generator.next_order();
            if relative_payers {
                let relative = generator.household(order.meta.buyer).relative;
                order.payment.payer_name = relative.name;
                order.payment.payer_id_number = relative.id_number;
                order.payment.telephone = Some(relative.telephone);
            }
            order
        })
        .collect()
}

/// The order's three documents as records of the documents topic.
fn records(order: &GeneratedOrder, identity_verified: bool) -> Vec<(String, Vec<u8>)> {
    let mut documents = order.documents();
    if let Some(Body::Order(head)) = &mut documents[0].body {
        head.buyer_identity_verified = identity_verified;
    }
    documents
        .iter()
        .map(|document| (order.key().to_owned(), document.encode_to_vec()))
        .collect()
}

impl World {
    /// Seeds a database, produces `options.orders` orders, runs clearance until all are held,
    /// creates the officers and starts the review service.
    pub async fn start(label: &str, options: Options) -> World {
        if std::env::var_os("TEST_LOG").is_some() {
            bondgate_telemetry::init_logging();
        }
        let (url, _db) = bondgate_tests::seeded_database(label, Decimal::from(1_000))
            .await
            .expect("a seeded database");
        let pool = PgPool::connect(&url).await.expect("a pool");
        let kafka = bondgate_tests::fresh_kafka(label, 2)
            .await
            .expect("fresh topics");
        let orders = generate(options.orders, options.relative_payers);
        let records: Vec<(String, Vec<u8>)> = orders
            .iter()
            .flat_map(|order| records(order, options.relative_payers))
            .collect();
        bondgate_tests::produce(&kafka, &kafka.topics.documents, &records)
            .await
            .expect("documents produced");
        let (stop_clearance, clearance) = start_clearance(&url, &kafka);
        let mut world = World {
            url,
            pool,
            kafka,
            orders: orders
                .into_iter()
                .map(|o| (o.order.head.order_no.clone(), o))
                .collect(),
            base: String::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            stop_clearance: Some(stop_clearance),
            clearance: Some(clearance),
        };
        world.wait_held(options.orders).await;
        world.create_officers().await;
        world.base = world.start_review(&options).await;
        world
    }

    async fn wait_held(&self, orders: u64) {
        let pool = &self.pool;
        let expected = i64::try_from(orders).expect("few orders");
        bondgate_tests::wait_until(
            &format!("{orders} declarations held for review"),
            Duration::from_secs(90),
            || async move {
                let held: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM review_tasks t JOIN declarations d ON d.id = t.declaration_id
                     WHERE t.state = 'open' AND d.status = 300",
                )
                .fetch_one(pool)
                .await?;
                Ok(held == expected)
            },
        )
        .await
        .expect("the pipeline holds every order");
    }

    async fn create_officers(&self) {
        use bondgate_review::officers::{Role, create};
        for (username, name, role) in [
            (OFFICER, "李伟", Role::Officer),
            (OFFICER_2, "王芳", Role::Officer),
            (SUPERVISOR, "赵敏", Role::Supervisor),
            (AUDITOR, "钱立", Role::Auditor),
        ] {
            create(&self.pool, username, name, role, Some(PASSWORD))
                .await
                .expect("an officer");
        }
    }

    async fn start_review(&self, options: &Options) -> String {
        let mut config = Config::default();
        config.review.listen_address = "127.0.0.1:0".to_owned();
        config.review.session_ttl_seconds = options.session_ttl_seconds;
        config.review.page_size = options.page_size;
        config.review.queue_depth_refresh_ms = 200;
        (options.tune)(&mut config.review);
        config.database.url = self.url.clone();
        config.database.max_connections = 6;
        let app = Application::build_with(config, self.pool.clone())
            .await
            .expect("the review service starts");
        let address = app.local_addr().expect("a bound address");
        tokio::spawn(app.run_until(std::future::pending()));
        format!("http://{address}")
    }

    /// Stops clearance (its relay publishes what is left) and checks every invariant of the
    /// database: stock conserved, quotas exact, receipts in order, decisions consistent.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop_clearance.take() {
            let _ = stop.send(());
        }
        if let Some(clearance) = self.clearance.take() {
            let joined = tokio::task::spawn_blocking(move || clearance.join());
            tokio::time::timeout(Duration::from_secs(60), joined)
                .await
                .expect("clearance stops in time")
                .expect("the joining task")
                .expect("the clearance thread")
                .expect("clearance exits cleanly");
        }
        let anomalies = bondgate_tests::invariants::check_database(&self.pool)
            .await
            .expect("the checks run");
        assert!(
            anomalies.is_empty(),
            "invariants broken:\n{}",
            anomalies.join("\n")
        );
    }

    /// Held declarations oldest first: `(id, order_no, version)`.
    pub async fn held(&self) -> Vec<(i64, String, i32)> {
        sqlx::query_as(
            "SELECT d.id, d.order_no, d.version FROM review_tasks t
             JOIN declarations d ON d.id = t.declaration_id
             WHERE t.state = 'open' ORDER BY t.created_at, d.id",
        )
        .fetch_all(&self.pool)
        .await
        .expect("held declarations")
    }

    /// `(status, version)` of a declaration.
    pub async fn status(&self, id: i64) -> (i32, i32) {
        sqlx::query_as("SELECT status, version FROM declarations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("a declaration")
    }

    /// Every receipt on the receipts topic, once clearance's relay published the whole outbox.
    pub async fn published_receipts(&self) -> Vec<Receipt> {
        let pool = &self.pool;
        bondgate_tests::wait_until(
            "the relay publishes",
            Duration::from_secs(30),
            || async move {
                let left: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts_unpublished")
                    .fetch_one(pool)
                    .await?;
                Ok(left == 0)
            },
        )
        .await
        .expect("the outbox drains");
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM receipts")
            .fetch_one(pool)
            .await
            .expect("a count");
        let records = bondgate_tests::consume_all(
            &self.kafka,
            &self.kafka.topics.receipts,
            usize::try_from(total).expect("a count"),
            Duration::from_secs(30),
        )
        .await
        .expect("the receipts topic reads");
        records
            .iter()
            .map(|(_, value)| Receipt::decode(value.as_slice()).expect("a Receipt"))
            .collect()
    }

    /// Audit entries `(actor, action, subject, reason)` in order.
    pub async fn audit(&self) -> Vec<(String, String, String, String)> {
        sqlx::query_as("SELECT actor, action, subject, reason FROM audit_log ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .expect("the audit log")
    }

    /// Logs in through the JSON API; returns the bearer token and the CSRF token.
    pub async fn api_login(&self, username: &str) -> Api {
        let response = self
            .http
            .post(format!("{}/v1/review/sessions", self.base))
            .json(&serde_json::json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .expect("the service answers");
        assert_eq!(response.status(), 201, "login of {username}");
        let body: Value = response.json().await.expect("JSON");
        Api {
            base: self.base.clone(),
            http: self.http.clone(),
            token: body["token"].as_str().expect("a token").to_owned(),
        }
    }

    /// A browser-like client without cookies.
    pub fn ui_login_client(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: self.http.clone(),
            cookies: HashMap::new(),
            last_session_cookie: String::new(),
        }
    }

    /// Logs in through the login form; returns a browser-like client holding the cookie.
    pub async fn ui_login(&self, username: &str) -> Browser {
        let mut browser = self.ui_login_client();
        let form = browser.get("/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf().expect("a CSRF field on the login form");
        let response = browser
            .post_form(
                "/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("username", username),
                    ("password", PASSWORD),
                    ("next", "/queue"),
                ],
            )
            .await;
        assert_eq!(
            response.status, 303,
            "login of {username}: {}",
            response.body
        );
        assert!(browser.cookies.contains_key("bg_review_session"));
        browser
    }
}

/// Runs clearance on its own thread and runtime, as its own process would: a failing test
/// then never waits on the pipeline's blocking consumer loop while its runtime shuts down.
fn start_clearance(
    url: &str,
    kafka: &KafkaConfig,
) -> (
    oneshot::Sender<()>,
    std::thread::JoinHandle<anyhow::Result<()>>,
) {
    let mut config = bondgate_clearance::config::Config::default();
    config.database.url = url.to_owned();
    config.database.max_connections = 4;
    config.kafka = kafka.clone();
    config.rules = holding_rules();
    config.clearance.listen = "127.0.0.1:0".to_owned();
    config.clearance.group_id = format!("{}.group", kafka.topics.documents);
    config.clearance.instance_id = "review-test".to_owned();
    config.clearance.batch_linger_ms = 20;
    config.clearance.relay_interval_ms = 100;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(bondgate_clearance::run(config, async move {
                let _ = stopped.await;
            }))
    });
    (stop, thread)
}

/// A JSON API client with a bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    /// The bearer token.
    pub token: String,
}

impl Api {
    /// `GET path`: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the service answers");
        json_of(response).await
    }

    /// `method path` with a JSON body: status and JSON body.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("the service answers");
        json_of(response).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// A decision on declaration `id` at `version`.
    pub async fn decide(&self, id: i64, version: i32, decision: &Value) -> (u16, Value) {
        let mut body = decision.clone();
        body["version"] = Value::from(version);
        self.post(&format!("/v1/review/declarations/{id}/decisions"), &body)
            .await
    }
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// An answer as a browser sees it.
#[derive(Debug, Clone)]
pub struct Page {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Page {
    /// The first hidden `csrf` field's value.
    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION)?.to_str().ok()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// A browser-like client: keeps cookies, posts forms, follows nothing by itself.
#[derive(Debug, Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    /// Cookies by name.
    pub cookies: HashMap<String, String>,
    /// The last `Set-Cookie` of the session cookie, attributes included.
    pub last_session_cookie: String,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let page = Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap_or_default(),
        };
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    if name == "bg_review_session" {
                        self.last_session_cookie = cookie.clone();
                    }
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        page
    }

    /// `GET path` with the cookies.
    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("the service answers");
        self.read(response).await
    }

    /// `POST path` of an urlencoded form with the cookies.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("the service answers");
        self.read(response).await
    }

    /// The session's CSRF token, read from the queue page.
    pub async fn csrf(&mut self) -> String {
        self.get("/queue").await.csrf().expect("a CSRF field")
    }
}
