//! What operations rely on, checked on the running services (intake, clearance and review in
//! this process, one fresh seeded database, fresh topics, HTTP on port 0): `/metrics` passes
//! `promtool check metrics` and carries every metric that `deploy/` (alert rules, their tests,
//! the Grafana dashboard) refers to; `/healthz` and `/readyz` answer; logs are JSON lines with
//! the request id and no personal data.
//!
//! A new service joins by being started in [`Stack::start`] and listed in
//! [`Stack::expositions`]; its configuration joins [`settings`].

mod capture;
mod security;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use bondgate_tests::promtool;
use futures::FutureExt as _;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Seed enterprises of `services/bondgate/seed/enterprises.csv`.
const EBP: &str = "5001980001";
const EBC: &str = "5001980002";
const PAY: &str = "5001980021";
const LOG: &str = "5001980003";

/// Personal data inside the test documents: none of it may reach a log line.
const PERSONAL: [&str; 6] = [
    "110101199003071234",
    "13812345678",
    "张三",
    "重庆市渝北区两路街道1号",
    "buyer-ops-1",
    "TX-OPS-1",
];

/// Intake and clearance on one database and one set of topics.
struct Stack {
    intake: String,
    /// Intake's ops listener (`/metrics`, `/healthz`, `/readyz`).
    intake_ops: String,
    clearance: String,
    review: String,
    http: reqwest::Client,
    keys: Vec<(&'static str, String)>,
    kafka: bondgate_kafka::KafkaConfig,
    stop_clearance: oneshot::Sender<()>,
    clearance_task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Stack {
    async fn start() -> anyhow::Result<Stack> {
        let (url, db) = bondgate_tests::seeded_database("ops", Decimal::from(100)).await?;
        let kafka = bondgate_tests::fresh_kafka("ops", 2).await?;
        let mut keys = Vec::new();
        for code in [EBP, PAY, LOG] {
            let created = bondgate_intake::keys::create(&db, code, "ops").await?;
            keys.push((code, created.key));
        }
        let mut clearance = bondgate_clearance::config::Config::default();
        clearance.database.url = url.clone();
        clearance.database.max_connections = 4;
        clearance.kafka = kafka.clone();
        clearance.clearance.group_id = format!("{}.group", kafka.topics.documents);
        clearance.clearance.instance_id = "ops".to_owned();
        clearance.clearance.batch_linger_ms = 20;
        // The lag gauge and the pending count are refreshed at each sweep.
        clearance.clearance.sweep_interval_ms = 200;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let clearance_address = listener.local_addr()?;
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
        config.database.url = url;
        config.database.max_connections = 4;
        config.kafka = kafka.clone();
        let pool = bondgate_storage::pool(&db).clone();
        let app = bondgate_intake::Application::build_with(config, db).await?;
        let intake_address = app.local_addr()?;
        let intake_ops_address = app.ops_local_addr()?;
        tokio::spawn(app.run_until(std::future::pending()));
        let mut config = bondgate_review::Config::default();
        config.review.listen_address = "127.0.0.1:0".to_owned();
        let review = bondgate_review::Application::build_with(config, pool).await?;
        let review_address = review.local_addr()?;
        tokio::spawn(review.run_until(std::future::pending()));
        Ok(Stack {
            intake: format!("http://{intake_address}"),
            intake_ops: format!("http://{intake_ops_address}"),
            clearance: format!("http://{clearance_address}"),
            review: format!("http://{review_address}"),
            http: reqwest::Client::new(),
            keys,
            kafka,
            stop_clearance,
            clearance_task,
        })
    }

    /// Stops clearance (its consumer thread would otherwise keep the test's runtime from
    /// shutting down) and reports how it ended.
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

    /// Posts JSON documents with the sender's key and a request id; expects 202.
    async fn submit(&self, documents: &Value, sender: &str, request_id: &str) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}/v1/documents", self.intake))
            .bearer_auth(self.key(sender))
            .header("x-request-id", request_id)
            .json(documents)
            .send()
            .await
            .expect("intake answers");
        assert_eq!(response.status(), 202, "POST /v1/documents ({request_id})");
        response
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.expect("an answer")
    }

    /// `(service, exposition)` of every running service.
    async fn expositions(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut all = Vec::new();
        let services = [
            ("intake", &self.intake_ops),
            ("clearance", &self.clearance),
            ("review", &self.review),
        ];
        for (service, base) in services {
            let response = self.get(&format!("{base}/metrics")).await;
            anyhow::ensure!(response.status() == 200, "{service} /metrics answered");
            all.push((service, response.text().await?));
        }
        Ok(all)
    }
}

#[tokio::test]
async fn metrics_pass_promtool_and_cover_what_deploy_refers_to() {
    // Goal: every service's /metrics is valid and lint-clean for Prometheus (promtool), and
    // every bondgate_* metric that the alert rules, their unit tests and the dashboard use is
    // really exposed; health endpoints answer.
    // Method: clear one order through intake and clearance, dead-letter one garbage record, make
    // a 401 and a 404, wait until clearance reports them, then lint both expositions and compare
    // their metric families with the names found in deploy/.
    capture::install();
    let stack = Stack::start().await.expect("the services start");
    let outcome = std::panic::AssertUnwindSafe(metrics_checks(&stack))
        .catch_unwind()
        .await;
    stack.stop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn metrics_checks(stack: &Stack) {
    traffic(stack).await;
    wait_for_clearance(stack).await;
    for base in [&stack.intake_ops, &stack.clearance, &stack.review] {
        assert_eq!(stack.get(&format!("{base}/healthz")).await.status(), 200);
        assert_eq!(stack.get(&format!("{base}/readyz")).await.status(), 200);
    }
    // The merchants' listener answers liveness only: no metrics, no readiness details.
    assert_eq!(
        stack
            .get(&format!("{}/healthz", stack.intake))
            .await
            .status(),
        200
    );
    for path in ["/metrics", "/readyz"] {
        let response = stack.get(&format!("{}{path}", stack.intake)).await;
        assert_eq!(response.status(), 404, "{path} on the API listener");
    }
    let expositions = stack.expositions().await.expect("the expositions");
    let mut exposed = BTreeSet::new();
    for (service, text) in &expositions {
        promtool::check_metrics(text)
            .await
            .unwrap_or_else(|error| panic!("{service}: {error:#}\n{text}"));
        let families = promtool::families(text);
        assert!(
            sample(text, "bondgate_build_info", &[("service", service)]) == Some(1.0),
            "{service} has no build info:\n{text}"
        );
        for family in &families {
            assert!(family.starts_with("bondgate_"), "{service}: {family}");
        }
        exposed.extend(families);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in FIRST_USE {
        let declared = ["intake", "clearance", "review"].iter().any(|service| {
            std::fs::read_to_string(root.join(format!("services/{service}/src/metrics.rs")))
                .is_ok_and(|source| source.contains(&format!("\"{name}\"")))
        });
        assert!(
            declared,
            "{name} is declared by no service's metrics module"
        );
    }
    let mut known = exposed.clone();
    known.extend(FIRST_USE.map(str::to_owned));
    let mut missing = Vec::new();
    for (file, text) in deploy_files() {
        for name in promtool::referenced(&text, &known) {
            if !exposed.contains(&name) && !FIRST_USE.contains(&name.as_str()) {
                missing.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "deploy/ refers to metrics no running service exposes:\n{}\nexposed: {exposed:?}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn logs_are_json_lines_with_request_ids_and_no_personal_data() {
    // Goal: off a terminal, logs are one JSON object per line; every log line inside an intake
    // request carries its request id, which the response echoes (a client's usable id is kept, a
    // missing or unusable one is replaced by a UUID); no personal data of the documents
    // (ID number, phone, name, address, account, transaction) appears in any line.
    // Method: the services' JSON logger writes into a buffer at debug level (more than
    // production's info) while an order with personal data is cleared end to end.
    capture::install();
    let stack = Stack::start().await.expect("the services start");
    let outcome = std::panic::AssertUnwindSafe(logs_checks(&stack))
        .catch_unwind()
        .await;
    stack.stop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn logs_checks(stack: &Stack) {
    traffic(stack).await;
    wait_for_clearance(stack).await;
    let kept = stack
        .submit(&json!([waybill("OPS-2")]), LOG, "ops-test.kept:1")
        .await;
    assert_eq!(header(&kept, "x-request-id"), "ops-test.kept:1");
    for unusable in ["has space", &"x".repeat(65), ""] {
        let response = stack
            .http
            .get(format!("{}/healthz", stack.intake))
            .header("x-request-id", unusable)
            .send()
            .await
            .expect("an answer");
        let id = header(&response, "x-request-id");
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{unusable:?} became {id:?}"
        );
    }
    let made_up = stack.get(&format!("{}/healthz", stack.intake)).await;
    assert!(uuid::Uuid::parse_str(&header(&made_up, "x-request-id")).is_ok());

    let lines = capture::lines();
    assert!(lines.len() > 10, "too few log lines: {lines:?}");
    let mut with_id = 0;
    for line in &lines {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        for field in ["timestamp", "level", "message"] {
            assert!(event.get(field).is_some(), "no {field}: {line}");
        }
        for personal in PERSONAL {
            assert!(
                !line.contains(personal),
                "personal data {personal:?} logged: {line}"
            );
        }
        if event["span"]["name"] == "request" {
            assert!(event["span"]["request_id"].is_string(), "{line}");
        }
        if event["span"]["request_id"] == "ops-test-order" && event["message"] == "accepted" {
            with_id += 1;
        }
    }
    assert_eq!(
        with_id, 1,
        "the order's \"accepted\" line with its request id"
    );
}

/// One clean order with personal data (cleared to 800), a garbage record straight onto the
/// documents topic (a dead letter), a request without a key (401) and one to no route (404).
async fn traffic(stack: &Stack) {
    let ids = stack
        .submit(&json!([order("OPS-1")]), EBP, "ops-test-order")
        .await;
    assert_eq!(header(&ids, "x-request-id"), "ops-test-order");
    stack
        .submit(&json!([payment("OPS-1")]), PAY, "ops-test-payment")
        .await;
    stack
        .submit(&json!([waybill("OPS-1")]), LOG, "ops-test-waybill")
        .await;
    bondgate_tests::produce(
        &stack.kafka,
        &stack.kafka.topics.documents,
        &[(
            format!("{EBP}/GARBAGE"),
            b"not a protobuf document".to_vec(),
        )],
    )
    .await
    .expect("the garbage record is produced");
    let unauthenticated = stack
        .http
        .post(format!("{}/v1/documents", stack.intake))
        .json(&json!([]))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(
        stack
            .get(&format!("{}/nowhere", stack.intake))
            .await
            .status(),
        404
    );
    assert_eq!(
        stack.get(&format!("{}/login", stack.review)).await.status(),
        200
    );
    let me = stack.get(&format!("{}/v1/review/me", stack.review)).await;
    assert_eq!(me.status(), 401);
}

/// Waits until clearance counted the release, the dead letter, the published receipt and
/// reported its lag.
async fn wait_for_clearance(stack: &Stack) {
    let url = format!("{}/metrics", stack.clearance);
    let last = std::sync::Mutex::new(String::new());
    let (url, last_ref) = (&url, &last);
    let done = bondgate_tests::wait_until(
        "clearance to report the order and the dead letter",
        Duration::from_secs(60),
        move || async move {
            let text = stack.get(url).await.text().await?;
            let released = sample(
                &text,
                "bondgate_clearance_decisions_total",
                &[("status", "800")],
            );
            let dead = sample(
                &text,
                "bondgate_clearance_dead_letters_total",
                &[("class", "decode")],
            );
            let published = sample(&text, "bondgate_clearance_receipts_published_total", &[]);
            let lag = sample(&text, "bondgate_clearance_consumer_lag_records", &[]);
            *last_ref.lock().expect("not poisoned") = text;
            Ok(released == Some(1.0)
                && dead == Some(1.0)
                && published.is_some_and(|n| n >= 1.0)
                && lag.is_some())
        },
    )
    .await;
    if let Err(error) = done {
        panic!(
            "{error:#}\nlast /metrics:\n{}",
            last.into_inner().unwrap_or_default()
        );
    }
}

/// The value of the first sample of `name` whose labels include all of `labels`.
fn sample(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labels
            .iter()
            .all(|(key, wanted)| label_text.contains(&format!("{key}=\"{wanted}\"")))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Labelled families that appear on first use only, which this test does not cause: the
/// officers' time to decision needs a logged-in officer deciding a held declaration (review's
/// own tests do that).
const FIRST_USE: [&str; 1] = ["bondgate_review_time_to_decision_seconds"];

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Alert rules, their unit tests, the scrape configuration and the dashboards under `deploy/`.
fn deploy_files() -> Vec<(String, String)> {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut files = Vec::new();
    for folder in [
        "prometheus",
        "prometheus/rules",
        "prometheus/tests",
        "grafana/dashboards",
    ] {
        let entries = std::fs::read_dir(deploy.join(folder))
            .with_context(|| format!("deploy/{folder}"))
            .expect("the deploy folder");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let is_config = path
                .extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml" || ext == "json");
            if is_config {
                let text = std::fs::read_to_string(&path).expect("readable");
                files.push((path.display().to_string(), text));
            }
        }
    }
    assert!(files.len() >= 4, "deploy/ files found: {}", files.len());
    files
}

fn guid(order_no: &str, kind: char) -> String {
    let name = format!("ops/{kind}/{order_no}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

/// A clean order of one `WATER-500ML` at 410.00 (released: 800), with a buyer's personal data.
fn order(order_no: &str) -> Value {
    json!({
        "type": "order",
        "orderHead": {
            "guid": guid(order_no, 'O'), "appType": "1", "appTime": "20250601120000",
            "appStatus": "2", "orderType": "I", "orderNo": order_no, "ebpCode": EBP,
            "ebpName": "渝购跨境电商平台（示例）", "ebcCode": EBC,
            "ebcName": "渝购国际贸易有限公司（示例）", "goodsValue": "410.00", "freight": "0",
            "discount": "0", "taxTotal": "0", "acturalPaid": "410.00", "currency": "142",
            "buyerRegNo": "buyer-ops-1", "buyerName": "张三", "buyerTelephone": "13812345678",
            "buyerIdType": "1", "buyerIdNumber": "110101199003071234", "payCode": PAY,
            "payTransactionId": "TX-OPS-1", "consignee": "张三",
            "consigneeTelephone": "13812345678", "consigneeAddress": "重庆市渝北区两路街道1号"
        },
        "orderList": [{
            "gnum": "1", "itemNo": "WATER-500ML", "itemName": "天然矿泉水",
            "gmodel": "天然矿泉水|500ml/瓶|未加糖", "unit": "142", "qty": "1",
            "price": "410.00", "totalPrice": "410.00", "currency": "142", "country": "305"
        }]
    })
}

fn payment(order_no: &str) -> Value {
    json!({
        "type": "payment", "guid": guid(order_no, 'P'), "appType": "1",
        "appTime": "20250601120001", "appStatus": "2", "payCode": PAY,
        "payName": "示例第三方支付有限公司", "payTransactionId": "TX-OPS-1",
        "orderNo": order_no, "ebpCode": EBP, "ebpName": "渝购跨境电商平台（示例）",
        "payerIdType": "1", "payerIdNumber": "110101199003071234", "payerName": "张三",
        "amountPaid": "410.00", "currency": "142", "payTime": "20250601115959"
    })
}

fn waybill(order_no: &str) -> Value {
    json!({
        "type": "waybill", "ebpCode": EBP, "guid": guid(order_no, 'W'), "appType": "1",
        "appTime": "20250601120002", "appStatus": "2", "logisticsCode": LOG,
        "logisticsName": "渝快国际物流有限公司（示例）", "logisticsNo": format!("LN-{order_no}"),
        "orderNo": order_no, "freight": "0", "insuredFee": "0", "currency": "142",
        "weight": "0.6", "packNo": "1", "consignee": "张三",
        "consigneeAddress": "重庆市渝北区两路街道1号", "consigneeTelephone": "13812345678"
    })
}

#[test]
fn every_setting_is_documented_and_every_deployed_variable_exists() {
    // Goal: the README's configuration table lists every setting of the services with
    // the default the code really has, and every BONDGATE__SECTION__KEY variable that deploy/
    // sets names a real setting (a misspelt one would be ignored by a section-less service or
    // fail a section's deny_unknown_fields at start, in production).
    // Method: serialise the services' default configurations, flatten them to `section.key`
    // paths, and compare with README.md and the variables found in deploy/.
    let settings = settings();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut undocumented = Vec::new();
    for (key, default) in &settings {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{key}` |")));
        let documented = row.is_some_and(|row| {
            row.contains(&format!("`{}`", env_var(key))) && row.contains(&format!("`{default}`"))
        });
        if !documented {
            undocumented.push(format!("| `{key}` | `{}` | `{default}` | |", env_var(key)));
        }
    }
    assert!(
        undocumented.is_empty(),
        "README.md's configuration table lacks (or has another default for):\n{}",
        undocumented.join("\n")
    );

    let known: BTreeSet<String> = settings.keys().map(|key| env_var(key)).collect();
    let mut unknown = Vec::new();
    for file in deploy_texts(&root.join("deploy")) {
        let text = std::fs::read_to_string(&file).expect("readable");
        for variable in variables(&text) {
            if !known.contains(&variable) {
                unknown.push(format!("{}: {variable}", file.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "unknown settings:\n{}",
        unknown.join("\n")
    );
}

/// `section.key` → default, for every setting of intake, clearance and review.
fn settings() -> std::collections::BTreeMap<String, String> {
    let mut settings = std::collections::BTreeMap::new();
    let intake = serde_json::to_value(bondgate_intake::Config::default()).expect("serialisable");
    let clearance =
        serde_json::to_value(bondgate_clearance::config::Config::default()).expect("serialisable");
    let review = serde_json::to_value(bondgate_review::Config::default()).expect("serialisable");
    flatten("", &intake, &mut settings);
    flatten("", &clearance, &mut settings);
    flatten("", &review, &mut settings);
    // Computed at start: the host's process id.
    settings.insert(
        "clearance.instance_id".to_owned(),
        "clearance-<pid>".to_owned(),
    );
    settings
}

fn flatten(prefix: &str, value: &Value, out: &mut std::collections::BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        Value::Null => {
            out.insert(prefix.to_owned(), "none".to_owned());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// `clearance.batch_size_max` → `BONDGATE__CLEARANCE__BATCH_SIZE_MAX`.
fn env_var(key: &str) -> String {
    format!("BONDGATE__{}", key.replace('.', "__").to_uppercase())
}

/// Every YAML file under deploy/ (compose, Kubernetes, Prometheus, Grafana provisioning).
fn deploy_texts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("deploy/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(deploy_texts(&path));
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    files
}

/// The `BONDGATE__...` names in a text.
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("BONDGATE__") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        found.insert(tail[..end].trim_end_matches('_').to_owned());
        rest = &tail[end..];
    }
    found
}
