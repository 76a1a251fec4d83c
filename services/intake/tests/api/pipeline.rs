//! End to end: intake and the clearance pipeline in one process, on one fresh seeded database
//! and fresh topics. Merchants submit through HTTP; the pipeline declares; the order's status,
//! receipts and rebuilt CEB621 are read back through HTTP.

use std::time::Duration;

use bondgate_ceb::{CebMessage, Limits, parse_message};
use bondgate_intake::{Application, Config};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Seed enterprises of `services/bondgate/seed/enterprises.csv`.
const EBP: &str = "5001980001";
const EBC: &str = "5001980002";
const PAY: &str = "5001980021";
const LOG: &str = "5001980003";

/// Intake and clearance sharing one database and one set of topics.
struct Stack {
    base: String,
    http: reqwest::Client,
    url: String,
    keys: Vec<(&'static str, String)>,
    stop_clearance: oneshot::Sender<()>,
    clearance: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Stack {
    async fn start() -> Stack {
        if std::env::var_os("TEST_LOG").is_some() {
            bondgate_telemetry::init_logging();
        }
        let (url, db) = bondgate_tests::seeded_database("intake_e2e", Decimal::from(100))
            .await
            .expect("a seeded database");
        let kafka = bondgate_tests::fresh_kafka("intake_e2e", 2)
            .await
            .expect("fresh topics");
        let mut keys = Vec::new();
        for code in [EBP, PAY, LOG] {
            let created = bondgate_intake::keys::create(&db, code, "e2e")
                .await
                .expect("a key");
            keys.push((code, created.key));
        }
        let mut clearance = bondgate_clearance::config::Config::default();
        clearance.database.url = url.clone();
        clearance.kafka = kafka.clone();
        clearance.clearance.listen = "127.0.0.1:0".to_owned();
        clearance.clearance.group_id = format!("{}.group", kafka.topics.documents);
        clearance.clearance.instance_id = "e2e".to_owned();
        clearance.clearance.batch_linger_ms = 20;
        let (stop_clearance, stopped) = oneshot::channel::<()>();
        let clearance = tokio::spawn(bondgate_clearance::run(clearance, async move {
            let _ = stopped.await;
        }));
        let mut config = Config::default();
        config.intake.listen_address = "127.0.0.1:0".to_owned();
        config.intake.ops_listen_address = "127.0.0.1:0".to_owned();
        config.database.url = url.clone();
        config.database.max_connections = 4;
        config.kafka = kafka;
        let app = Application::build_with(config, db)
            .await
            .expect("intake starts");
        let address = app.local_addr().expect("a bound address");
        tokio::spawn(app.run_until(std::future::pending()));
        Stack {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            url,
            keys,
            stop_clearance,
            clearance,
        }
    }

    fn key(&self, code: &str) -> &str {
        &self.keys.iter().find(|(c, _)| *c == code).expect("a key").1
    }

    async fn post(&self, path: &str, content_type: &str, body: Vec<u8>, key: &str) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .bearer_auth(key)
            .body(body)
            .send()
            .await
            .expect("intake answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 202, "POST {path}: {text}");
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.key(EBP))
            .send()
            .await
            .expect("intake answers")
    }

    /// The order's status once its declaration is 800 and both receipts are listed.
    async fn wait_released(&self, order_no: &str) -> Value {
        let path = format!("/v1/orders/{EBP}/{order_no}");
        let last = std::sync::Mutex::new(Value::Null);
        let (last_ref, path_ref) = (&last, &path);
        let found = bondgate_tests::wait_until(
            &format!("order {order_no} released"),
            Duration::from_secs(60),
            move || async move {
                let response = self.get(path_ref).await;
                if response.status() != 200 {
                    return Ok(false);
                }
                let status: Value = response.json().await?;
                let released = status["declaration"]["status"] == 800
                    && return_statuses(&status).contains(&800);
                *last_ref.lock().unwrap() = status;
                Ok(released)
            },
        )
        .await;
        let last = last.into_inner().unwrap();
        found.unwrap_or_else(|error| panic!("{error:#}; last answer {last}"));
        last
    }
}

fn return_statuses(status: &Value) -> Vec<i64> {
    status["receipts"]
        .as_array()
        .map(|receipts| {
            receipts
                .iter()
                .filter_map(|r| r["returnStatus"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

/// A clean JSON bundle: one `WATER-500ML` line of 410.00, no freight.
fn json_bundle(order_no: &str) -> (Value, Value, Value) {
    let order = json!([{
        "type": "order",
        "orderHead": {
            "guid": guid(order_no, 'O'), "appType": "1", "appTime": "20250601120000",
            "appStatus": "2", "orderType": "I", "orderNo": order_no, "ebpCode": EBP,
            "ebpName": "渝购跨境电商平台（示例）", "ebcCode": EBC,
            "ebcName": "渝购国际贸易有限公司（示例）", "goodsValue": "410.00", "freight": "0",
            "discount": "0", "taxTotal": "0", "acturalPaid": "410.00", "currency": "142",
            "buyerRegNo": "buyer-e2e-1", "buyerName": "张三", "buyerTelephone": "13812345678",
            "buyerIdType": "1", "buyerIdNumber": "110101199003071234", "payCode": PAY,
            "payTransactionId": format!("TX-{order_no}"), "consignee": "张三",
            "consigneeTelephone": "13812345678", "consigneeAddress": "重庆市渝北区两路街道1号"
        },
        "orderList": [{
            "gnum": "1", "itemNo": "WATER-500ML", "itemName": "天然矿泉水",
            "gmodel": "天然矿泉水|500ml/瓶|未加糖", "unit": "142", "qty": "1",
            "price": "410.00", "totalPrice": "410.00", "currency": "142", "country": "305"
        }]
    }]);
    let payment = json!([{
        "type": "payment", "guid": guid(order_no, 'P'), "appType": "1",
        "appTime": "20250601120001", "appStatus": "2", "payCode": PAY,
        "payName": "示例第三方支付有限公司", "payTransactionId": format!("TX-{order_no}"),
        "orderNo": order_no, "ebpCode": EBP, "ebpName": "渝购跨境电商平台（示例）",
        "payerIdType": "1", "payerIdNumber": "110101199003071234", "payerName": "张三",
        "amountPaid": "410.00", "currency": "142", "payTime": "20250601115959"
    }]);
    let waybill = json!([{
        "type": "waybill", "ebpCode": EBP, "guid": guid(order_no, 'W'), "appType": "1",
        "appTime": "20250601120002", "appStatus": "2", "logisticsCode": LOG,
        "logisticsName": "渝快国际物流有限公司（示例）", "logisticsNo": format!("LN-{order_no}"),
        "orderNo": order_no, "freight": "0", "insuredFee": "0", "currency": "142",
        "weight": "0.6", "packNo": "1", "consignee": "张三",
        "consigneeAddress": "重庆市渝北区两路街道1号", "consigneeTelephone": "13812345678"
    }]);
    (order, payment, waybill)
}

/// A clean bundle as CEB311/411/511 XML: two `WATER-1L-6` cases of 150.00, 10.00 freight.
fn xml_bundle(order_no: &str) -> (String, String, String) {
    let transfer = |code: &str, name: &str| {
        format!(
            "<ceb:BaseTransfer><ceb:copCode>{code}</ceb:copCode><ceb:copName>{name}</ceb:copName>\
             <ceb:dxpMode>DXP</ceb:dxpMode><ceb:dxpId>DXPENT0000000099</ceb:dxpId>\
             </ceb:BaseTransfer>"
        )
    };
    let open = |root: &str, guid: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ceb:{root} guid=\"{guid}\" \
             version=\"1.0\" xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\">"
        )
    };
    let (o, p, w) = (
        guid(order_no, 'O'),
        guid(order_no, 'P'),
        guid(order_no, 'W'),
    );
    let order = format!(
        "{}<ceb:Order><ceb:OrderHead><ceb:guid>{o}</ceb:guid><ceb:appType>1</ceb:appType>\
         <ceb:appTime>20250601130000</ceb:appTime><ceb:appStatus>2</ceb:appStatus>\
         <ceb:orderType>I</ceb:orderType><ceb:orderNo>{order_no}</ceb:orderNo>\
         <ceb:ebpCode>{EBP}</ceb:ebpCode><ceb:ebpName>渝购跨境电商平台（示例）</ceb:ebpName>\
         <ceb:ebcCode>{EBC}</ceb:ebcCode><ceb:ebcName>渝购国际贸易有限公司（示例）</ceb:ebcName>\
         <ceb:goodsValue>300.00</ceb:goodsValue><ceb:freight>10.00</ceb:freight>\
         <ceb:discount>0</ceb:discount><ceb:taxTotal>0</ceb:taxTotal>\
         <ceb:acturalPaid>310.00</ceb:acturalPaid><ceb:currency>142</ceb:currency>\
         <ceb:buyerRegNo>buyer-e2e-2</ceb:buyerRegNo><ceb:buyerName>王五</ceb:buyerName>\
         <ceb:buyerTelephone>13812340002</ceb:buyerTelephone><ceb:buyerIdType>1</ceb:buyerIdType>\
         <ceb:buyerIdNumber>110101198805052345</ceb:buyerIdNumber><ceb:payCode>{PAY}</ceb:payCode>\
         <ceb:payName>示例第三方支付有限公司</ceb:payName>\
         <ceb:payTransactionId>TX-{order_no}</ceb:payTransactionId><ceb:consignee>王五</ceb:consignee>\
         <ceb:consigneeTelephone>13812340002</ceb:consigneeTelephone>\
         <ceb:consigneeAddress>重庆市江北区寸滩街道2号</ceb:consigneeAddress></ceb:OrderHead>\
         <ceb:OrderList><ceb:gnum>1</ceb:gnum><ceb:itemNo>WATER-1L-6</ceb:itemNo>\
         <ceb:itemName>天然矿泉水6瓶装</ceb:itemName><ceb:gmodel>天然矿泉水|1L*6瓶/箱|未加糖</ceb:gmodel>\
         <ceb:unit>120</ceb:unit><ceb:qty>2</ceb:qty><ceb:price>150.00</ceb:price>\
         <ceb:totalPrice>300.00</ceb:totalPrice><ceb:currency>142</ceb:currency>\
         <ceb:country>305</ceb:country></ceb:OrderList></ceb:Order>{}</ceb:CEB311Message>",
        open("CEB311Message", &o),
        transfer(EBP, "渝购跨境电商平台（示例）"),
    );
    let payment = format!(
        "{}<ceb:Payment><ceb:PaymentHead><ceb:guid>{p}</ceb:guid><ceb:appType>1</ceb:appType>\
         <ceb:appTime>20250601130001</ceb:appTime><ceb:appStatus>2</ceb:appStatus>\
         <ceb:payCode>{PAY}</ceb:payCode><ceb:payName>示例第三方支付有限公司</ceb:payName>\
         <ceb:payTransactionId>TX-{order_no}</ceb:payTransactionId>\
         <ceb:orderNo>{order_no}</ceb:orderNo><ceb:ebpCode>{EBP}</ceb:ebpCode>\
         <ceb:ebpName>渝购跨境电商平台（示例）</ceb:ebpName><ceb:payerIdType>1</ceb:payerIdType>\
         <ceb:payerIdNumber>110101198805052345</ceb:payerIdNumber><ceb:payerName>王五</ceb:payerName>\
         <ceb:amountPaid>310.00</ceb:amountPaid><ceb:currency>142</ceb:currency>\
         <ceb:payTime>20250601125959</ceb:payTime></ceb:PaymentHead></ceb:Payment>{}\
         </ceb:CEB411Message>",
        open("CEB411Message", &p),
        transfer(PAY, "示例第三方支付有限公司"),
    );
    let waybill = format!(
        "{}<ceb:Logistics><ceb:LogisticsHead><ceb:guid>{w}</ceb:guid><ceb:appType>1</ceb:appType>\
         <ceb:appTime>20250601130002</ceb:appTime><ceb:appStatus>2</ceb:appStatus>\
         <ceb:logisticsCode>{LOG}</ceb:logisticsCode>\
         <ceb:logisticsName>渝快国际物流有限公司（示例）</ceb:logisticsName>\
         <ceb:logisticsNo>LN-{order_no}</ceb:logisticsNo><ceb:orderNo>{order_no}</ceb:orderNo>\
         <ceb:freight>10.00</ceb:freight><ceb:insuredFee>0</ceb:insuredFee>\
         <ceb:currency>142</ceb:currency><ceb:weight>12.5</ceb:weight><ceb:packNo>1</ceb:packNo>\
         <ceb:consignee>王五</ceb:consignee>\
         <ceb:consigneeAddress>重庆市江北区寸滩街道2号</ceb:consigneeAddress>\
         <ceb:consigneeTelephone>13812340002</ceb:consigneeTelephone></ceb:LogisticsHead>\
         </ceb:Logistics>{}</ceb:CEB511Message>",
        open("CEB511Message", &w),
        transfer(LOG, "渝快国际物流有限公司（示例）"),
    );
    (order, payment, waybill)
}

/// A 36-character upper-case guid derived from the order number.
fn guid(order_no: &str, kind: char) -> String {
    let name = format!("e2e/{kind}/{order_no}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

#[tokio::test]
async fn json_and_xml_bundles_are_declared_and_read_back() {
    // Goal: what merchants submit through intake reaches the pipeline and is declared: a clean
    // JSON bundle and a clean CEB XML bundle both end with a declaration in status 800, the
    // order endpoint lists the 120 and 800 receipts, and the rebuilt CEB621 is served.
    // Method: intake and clearance run in-process on one fresh seeded database and fresh
    // topics; each document is posted with its sender's key; the order endpoint is polled; the
    // invariant checker runs at the end.
    let stack = Stack::start().await;
    let (order, payment, waybill) = json_bundle("E2E-JSON-1");
    for (body, sender) in [(order, EBP), (payment, PAY), (waybill, LOG)] {
        let bytes = serde_json::to_vec(&body).unwrap();
        let key = stack.key(sender);
        stack
            .post("/v1/documents", "application/json", bytes, key)
            .await;
    }
    let (order, payment, waybill) = xml_bundle("E2E-XML-1");
    let waybill_path = format!("/v1/ceb?ebpCode={EBP}");
    for (path, body, sender) in [
        ("/v1/ceb", order, EBP),
        ("/v1/ceb", payment, PAY),
        (waybill_path.as_str(), waybill, LOG),
    ] {
        let key = stack.key(sender);
        stack
            .post(path, "application/xml", body.into_bytes(), key)
            .await;
    }

    for order_no in ["E2E-JSON-1", "E2E-XML-1"] {
        let status = stack.wait_released(order_no).await;
        let returns = return_statuses(&status);
        assert!(
            returns.contains(&120),
            "{order_no}: no 120 receipt in {status}"
        );
        assert!(
            returns.contains(&800),
            "{order_no}: no 800 receipt in {status}"
        );
        assert_eq!(status["returnStatus"], 800, "{status}");
        assert_eq!(
            status["documents"],
            json!({"order": true, "payment": true, "waybill": true}),
            "{status}"
        );

        let response = stack
            .get(&format!("/v1/orders/{EBP}/{order_no}/inventory.xml"))
            .await;
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/xml"),
            "{content_type}"
        );
        let xml = response.bytes().await.unwrap();
        let message = parse_message(&xml, &Limits::default()).expect("a CEB621 that parses");
        let CebMessage::Ceb621(inventory) = message else {
            panic!("not a CEB621: {}", String::from_utf8_lossy(&xml));
        };
        assert_eq!(inventory.records.len(), 1);
        let text = String::from_utf8_lossy(&xml);
        assert!(
            text.contains(&format!("<ceb:orderNo>{order_no}</ceb:orderNo>")),
            "{text}"
        );
        assert!(
            text.contains(&format!("<ceb:ebpCode>{EBP}</ceb:ebpCode>")),
            "{text}"
        );
    }

    let _ = stack.stop_clearance.send(());
    tokio::time::timeout(Duration::from_secs(60), stack.clearance)
        .await
        .expect("clearance stops in time")
        .expect("clearance task")
        .expect("clearance exits cleanly");
    let pool = sqlx::PgPool::connect(&stack.url).await.expect("a pool");
    let anomalies = bondgate_tests::invariants::check_database(&pool)
        .await
        .expect("the checks run");
    assert!(
        anomalies.is_empty(),
        "invariants broken:\n{}",
        anomalies.join("\n")
    );
}
