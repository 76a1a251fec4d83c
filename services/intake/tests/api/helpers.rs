//! Harness of the intake API tests: a service on port 0 with its own database and topic, API
//! keys of test enterprises, our own document fixtures, and a reader of the topic.

use std::time::Duration;

use bondgate_ceb::model::{BaseTransfer, LogisticsHead, Order, PaymentHead};
use bondgate_ceb::{CebMessage, Declaration, to_xml};
use bondgate_intake::{Application, Config};
use bondgate_kafka::KafkaConfig;
use bondgate_proto::Message as _;
use bondgate_proto::v1;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

/// Platform of the fixtures.
pub const EBP: &str = "EBPTEST0001";
/// Seller.
pub const EBC: &str = "EBCTEST0001";
/// Payment enterprise.
pub const PAY: &str = "PAYTEST0001";
/// Logistics enterprise.
pub const LOG: &str = "LOGTEST0001";
/// An enterprise involved in nothing.
pub const OTHER: &str = "OTHTEST0001";

/// Partitions of each test topic.
pub const PARTITIONS: i32 = 2;

/// A running intake service and what a test needs around it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The ops listener's `http://127.0.0.1:<port>` (`/metrics`, `/healthz`, `/readyz`).
    pub ops: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The test's own database.
    pub db: DatabaseConnection,
    /// Kafka settings (brokers and the test's documents topic).
    pub kafka: KafkaConfig,
    /// The documents topic.
    pub topic: String,
    /// Key of each test enterprise: [`EBP`], [`EBC`], [`PAY`], [`LOG`], [`OTHER`].
    pub keys: Vec<(String, String)>,
}

impl TestApp {
    /// `GET path` on the ops listener.
    pub async fn get_ops(&self, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.ops);
        self.http
            .get(url)
            .send()
            .await
            .expect("the ops listener answers")
    }

    /// The API key of `enterprise`.
    pub fn key(&self, enterprise: &str) -> &str {
        &self
            .keys
            .iter()
            .find(|(code, _)| code == enterprise)
            .expect("a test enterprise")
            .1
    }

    /// `POST path` with a body, content type and key.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the service answers")
    }

    /// `POST /v1/documents` with a JSON value as the platform's... or any key.
    pub async fn post_json(&self, body: &Value, key: &str) -> reqwest::Response {
        self.post(
            "/v1/documents",
            "application/json",
            serde_json::to_vec(body).unwrap(),
            Some(key),
        )
        .await
    }

    /// `GET path` with a key.
    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the service answers")
    }
}

/// Per-test settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Broker list (a closed port simulates an outage).
    pub brokers: Option<String>,
    /// Producer acknowledgement timeout.
    pub produce_timeout_ms: u64,
    /// Token bucket refill per second.
    pub rate_limit_per_second: u32,
    /// Token bucket size.
    pub rate_limit_burst: u32,
    /// Seed the database like `bondgate seed` (reference data and the sample enterprises).
    pub seeded: bool,
    /// How often the service reads the account book and positive list again.
    pub reference_refresh_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            brokers: None,
            produce_timeout_ms: 5_000,
            rate_limit_per_second: 1_000,
            rate_limit_burst: 1_000,
            seeded: false,
            reference_refresh_ms: 30_000,
        }
    }
}

/// What a test's service needs around it: a fresh database holding keys of the test
/// enterprises, and a fresh documents topic.
#[derive(Debug)]
pub struct Prepared {
    /// The database's URL.
    pub url: String,
    /// The test's own database.
    pub db: DatabaseConnection,
    /// Kafka settings, the documents topic being the test's own.
    pub kafka: KafkaConfig,
    /// The documents topic.
    pub topic: String,
    /// Key of each test enterprise.
    pub keys: Vec<(String, String)>,
}

/// Creates a fresh database (seeded when `seeded`), a fresh topic and keys for the test
/// enterprises.
pub async fn prepare(seeded: bool) -> Prepared {
    let (url, db) = if seeded {
        bondgate_tests::seeded_database("intake", 100.into()).await
    } else {
        bondgate_storage::testing::fresh_database("intake")
            .await
            .map_err(Into::into)
    }
    .expect("a fresh database");
    let mut kafka = bondgate_tests::stack_kafka();
    let topic = bondgate_tests::fresh_topic(&kafka, "intake", PARTITIONS)
        .await
        .expect("a fresh topic");
    kafka.topics.documents = topic.clone();
    let mut keys = Vec::new();
    for code in [EBP, EBC, PAY, LOG, OTHER] {
        db.execute_unprepared(&format!(
            "INSERT INTO enterprises (code, name) VALUES ('{code}', 'test {code}')"
        ))
        .await
        .expect("an enterprise");
        let created = bondgate_intake::keys::create(&db, code, "test")
            .await
            .expect("a key");
        keys.push((code.to_owned(), created.key));
    }
    // The platform lets its seller send its orders (ADR 0006): the fixtures come from either.
    db.execute_unprepared(&format!(
        "INSERT INTO enterprise_bindings (platform_code, seller_code) VALUES ('{EBP}', '{EBC}')"
    ))
    .await
    .expect("a binding");
    Prepared {
        url,
        db,
        kafka,
        topic,
        keys,
    }
}

/// Starts the service with a fresh database, a fresh topic and keys for the test enterprises.
pub async fn spawn_app(options: Options) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        bondgate_telemetry::init_logging();
    }
    let Prepared {
        url,
        db,
        kafka,
        topic,
        keys,
    } = prepare(options.seeded).await;
    let mut config = Config::default();
    config.intake.listen_address = "127.0.0.1:0".to_owned();
    config.intake.ops_listen_address = "127.0.0.1:0".to_owned();
    config.intake.produce_timeout_ms = options.produce_timeout_ms;
    config.intake.rate_limit_per_second = options.rate_limit_per_second;
    config.intake.rate_limit_burst = options.rate_limit_burst;
    config.intake.reference_refresh_ms = options.reference_refresh_ms;
    config.database.url = url;
    config.database.max_connections = 4;
    config.kafka = kafka.clone();
    if let Some(brokers) = options.brokers {
        config.kafka.brokers = brokers;
    }
    let app = Application::build_with(config, db.clone())
        .await
        .expect("the service starts");
    let address = app.local_addr().expect("a bound address");
    let ops_address = app.ops_local_addr().expect("a bound ops address");
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base: format!("http://{address}"),
        ops: format!("http://{ops_address}"),
        http: reqwest::Client::new(),
        db,
        kafka,
        topic,
        keys,
    }
}

/// A valid order (one line of a seed SKU, 2 × 99.50 + 10 freight = 209.00 paid).
pub fn order(order_no: &str) -> Value {
    json!({
        "type": "order",
        "orderHead": {
            "guid": guid(order_no, 'O'), "appType": "1", "appTime": "20250601093000",
            "appStatus": "2", "orderType": "I", "orderNo": order_no, "ebpCode": EBP,
            "ebpName": "测试平台", "ebcCode": EBC, "ebcName": "测试电商", "goodsValue": "199",
            "freight": "10", "discount": "0", "taxTotal": "0", "acturalPaid": "209",
            "currency": "142", "buyerRegNo": "buyer-7", "buyerName": "李四",
            "buyerTelephone": "13900000001", "buyerIdType": "1",
            "buyerIdNumber": "500101199201010011", "payCode": PAY,
            "payTransactionId": format!("TX-{order_no}"), "consignee": "李四",
            "consigneeTelephone": "13900000001", "consigneeAddress": "重庆市江北区测试街2号"
        },
        "orderList": [{
            "gnum": "1", "itemNo": "WATER-500ML", "itemName": "天然矿泉水",
            "gmodel": "500ml/瓶", "unit": "142", "qty": "2", "price": "99.50",
            "totalPrice": "199", "currency": "142", "country": "305"
        }]
    })
}

/// The order's payment.
pub fn payment(order_no: &str) -> Value {
    json!({
        "type": "payment", "guid": guid(order_no, 'P'), "appType": "1",
        "appTime": "20250601093100", "appStatus": "2", "payCode": PAY, "payName": "测试支付",
        "payTransactionId": format!("TX-{order_no}"), "orderNo": order_no, "ebpCode": EBP,
        "ebpName": "测试平台", "payerIdType": "1", "payerIdNumber": "500101199201010011",
        "payerName": "李四", "amountPaid": "209", "currency": "142",
        "payTime": "20250601093100"
    })
}

/// The order's waybill (with the `ebpCode` extension).
pub fn waybill(order_no: &str) -> Value {
    json!({
        "type": "waybill", "ebpCode": EBP, "guid": guid(order_no, 'W'), "appType": "1",
        "appTime": "20250601093200", "appStatus": "2", "logisticsCode": LOG,
        "logisticsName": "测试物流", "logisticsNo": format!("LN-{order_no}"),
        "orderNo": order_no, "freight": "10", "insuredFee": "0", "currency": "142",
        "weight": "1.1", "packNo": "1", "consignee": "李四",
        "consigneeAddress": "重庆市江北区测试街2号", "consigneeTelephone": "13900000001"
    })
}

/// A 36-character upper-case guid derived from the order number.
fn guid(order_no: &str, kind: char) -> String {
    let name = format!("{kind}/{order_no}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

/// Removes the JSON-only fields and deserialises into the raw CEB model.
fn raw<T: serde::de::DeserializeOwned>(mut value: Value, extensions: &[&str]) -> T {
    let object = value.as_object_mut().unwrap();
    object.remove("type");
    for field in extensions {
        object.remove(*field);
    }
    serde_json::from_value(value).expect("the fixture fits the raw model")
}

fn declaration<T>(records: Vec<T>) -> Declaration<T> {
    Declaration {
        guid: guid("message", 'M'),
        version: "1.0".to_owned(),
        records,
        base_transfer: BaseTransfer {
            cop_code: EBC.to_owned(),
            cop_name: "测试电商".to_owned(),
            dxp_mode: "DXP".to_owned(),
            dxp_id: "DXPENTTEST000001".to_owned(),
            note: None,
        },
        base_subscribes: Vec::new(),
        signed: false,
    }
}

/// The fixture order(s) as a CEB311 message.
pub fn order_xml(orders: &[Value]) -> String {
    let records: Vec<Order> = orders.iter().map(|o| raw(o.clone(), &[])).collect();
    to_xml(&CebMessage::Ceb311(declaration(records))).unwrap()
}

/// The fixture payment as a CEB411 message.
pub fn payment_xml(payment: &Value) -> String {
    let record: PaymentHead = raw(payment.clone(), &[]);
    to_xml(&CebMessage::Ceb411(declaration(vec![record]))).unwrap()
}

/// The fixture waybill as a CEB511 message.
pub fn waybill_xml(waybill: &Value) -> String {
    let record: LogisticsHead = raw(waybill.clone(), &["ebpCode"]);
    to_xml(&CebMessage::Ceb511(declaration(vec![record]))).unwrap()
}

/// The tracking ids of a 202 answer.
pub async fn tracking_ids(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 202, "expected 202");
    let body: Value = response.json().await.unwrap();
    body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["trackingId"].as_str().unwrap().to_owned())
        .collect()
}

/// A Kafka record as read back.
#[derive(Debug, Clone)]
pub struct Consumed {
    /// Record key.
    pub key: String,
    /// Decoded value.
    pub document: v1::Document,
}

/// Reads the topic from the beginning (no consumer group: assigned partitions) until `count`
/// records arrived or `timeout` passed; returns what arrived.
pub async fn read_topic(app: &TestApp, count: usize, timeout: Duration) -> Vec<Consumed> {
    let kafka = app.kafka.clone();
    let topic = app.topic.clone();
    tokio::task::spawn_blocking(move || {
        // The same connection settings as the service's producer (brokers, security).
        let consumer: BaseConsumer = bondgate_kafka::client_config(&kafka)
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut assignment = TopicPartitionList::new();
        for partition in 0..PARTITIONS {
            assignment
                .add_partition_offset(&topic, partition, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&assignment).expect("assignment");
        let deadline = std::time::Instant::now() + timeout;
        let mut found = Vec::new();
        while found.len() < count && std::time::Instant::now() < deadline {
            let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let message = message.expect("a record");
            let key = String::from_utf8(message.key().unwrap_or_default().to_vec()).unwrap();
            let document =
                v1::Document::decode(message.payload().unwrap_or_default()).expect("a Document");
            found.push(Consumed { key, document });
        }
        found
    })
    .await
    .unwrap()
}

/// The JSON body of an error answer, after checking its status and code.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "status; body {body}");
    assert_eq!(body["error"]["code"], code, "code; body {body}");
    body
}
