//! Intake API tests against the real local stack (`scripts/stack up`): each test has its own
//! database, its own topic and its own service on port 0.

mod check;
mod helpers;
mod pipeline;
mod process;
mod schemathesis;

use std::time::{Duration, Instant};

use bondgate_proto::v1::document::Body;
use bondgate_storage::crypto::PayloadCipher;
use helpers::{
    EBC, EBP, LOG, OTHER, Options, PAY, expect_error, order, order_xml, payment, payment_xml,
    read_topic, spawn_app, tracking_ids, waybill, waybill_xml,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const READ_TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn an_accepted_json_bundle_is_on_the_topic() {
    // Goal: a valid order/payment/waybill bundle is answered 202 with one tracking id per record
    // and the three records are on the documents topic, keyed by order and decodable.
    // Method: each document is posted with its sender's key (platform, payment and logistics
    // company), then the topic is read back without a consumer group.
    let app = spawn_app(Options::default()).await;
    let ids_order = tracking_ids(app.post_json(&json!([order("A-1")]), app.key(EBP)).await).await;
    let ids_payment =
        tracking_ids(app.post_json(&json!([payment("A-1")]), app.key(PAY)).await).await;
    let ids_waybill =
        tracking_ids(app.post_json(&json!([waybill("A-1")]), app.key(LOG)).await).await;
    let records = read_topic(&app, 3, READ_TIMEOUT).await;
    assert_eq!(records.len(), 3, "{records:?}");
    for record in &records {
        assert_eq!(record.key, format!("{EBP}/A-1"));
        assert_eq!(record.document.ebp_code, EBP);
        assert_eq!(record.document.order_no, "A-1");
        assert_eq!(record.document.source_format, "json");
    }
    let id_of = |pick: fn(&Body) -> bool| {
        records
            .iter()
            .find(|r| r.document.body.as_ref().is_some_and(pick))
            .map(|r| {
                (
                    r.document.document_id.clone(),
                    r.document.sender_code.clone(),
                )
            })
            .expect("the record")
    };
    assert_eq!(
        id_of(|b| matches!(b, Body::Order(_))),
        (ids_order[0].clone(), EBP.to_owned())
    );
    assert_eq!(
        id_of(|b| matches!(b, Body::Payment(_))),
        (ids_payment[0].clone(), PAY.to_owned())
    );
    assert_eq!(
        id_of(|b| matches!(b, Body::Waybill(_))),
        (ids_waybill[0].clone(), LOG.to_owned())
    );
    let Some(Body::Order(body)) = &records
        .iter()
        .find(|r| matches!(r.document.body, Some(Body::Order(_))))
        .unwrap()
        .document
        .body
    else {
        unreachable!()
    };
    assert_eq!(body.actural_paid, "209");
    assert_eq!(body.lines[0].item_no.as_deref(), Some("WATER-500ML"));
}

#[tokio::test]
async fn a_bundle_as_ceb_xml_is_accepted_with_the_json_tracking_ids() {
    // Goal: the same documents sent as CEB311/411/511 XML are accepted, produced, and get the
    // same tracking ids as their JSON form (ids depend on content, not on the format).
    // Method: submit the JSON form and the XML form of one bundle to the same service and compare
    // the ids; read the topic back and check the XML records' source format.
    let app = spawn_app(Options::default()).await;
    let json_ids = [
        tracking_ids(app.post_json(&json!([order("X-1")]), app.key(EBC)).await).await,
        tracking_ids(app.post_json(&json!([payment("X-1")]), app.key(PAY)).await).await,
        tracking_ids(app.post_json(&json!([waybill("X-1")]), app.key(LOG)).await).await,
    ];
    let xml = [
        ("/v1/ceb", order_xml(&[order("X-1")]), EBC),
        ("/v1/ceb", payment_xml(&payment("X-1")), PAY),
        (
            &*format!("/v1/ceb?ebpCode={EBP}"),
            waybill_xml(&waybill("X-1")),
            LOG,
        ),
    ];
    for ((path, body, sender), json_id) in xml.into_iter().zip(&json_ids) {
        let response = app
            .post(path, "application/xml", body, Some(app.key(sender)))
            .await;
        assert_eq!(&tracking_ids(response).await, json_id);
    }
    let records = read_topic(&app, 6, READ_TIMEOUT).await;
    assert_eq!(records.len(), 6);
    let formats: Vec<&str> = records
        .iter()
        .map(|r| r.document.source_format.as_str())
        .collect();
    for format in ["CEB311Message", "CEB411Message", "CEB511Message"] {
        assert!(formats.contains(&format), "{formats:?}");
    }
}

#[tokio::test]
async fn a_resubmission_gets_the_same_tracking_ids_and_a_change_a_new_one() {
    // Goal: tracking ids are deterministic per business key and content.
    // Method: submit two orders twice, then one of them with a changed note; compare the ids.
    let app = spawn_app(Options::default()).await;
    let batch = json!([order("R-1"), order("R-2")]);
    let first = tracking_ids(app.post_json(&batch, app.key(EBP)).await).await;
    let second = tracking_ids(app.post_json(&batch, app.key(EBP)).await).await;
    assert_eq!(first, second);
    assert_ne!(first[0], first[1]);
    let mut changed = order("R-1");
    changed["orderHead"]["note"] = json!("please ring twice");
    let third = tracking_ids(app.post_json(&json!([changed]), app.key(EBP)).await).await;
    assert_ne!(third[0], first[0]);
}

/// One bad request of the corpus.
struct Case {
    name: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    /// A problem that must be listed.
    problem: Option<Listed>,
}

fn case(name: &'static str, body: impl Into<Vec<u8>>, status: u16, code: &'static str) -> Case {
    Case {
        name,
        path: "/v1/documents".to_owned(),
        content_type: "application/json",
        body: body.into(),
        status,
        code,
        problem: None,
    }
}

fn xml_case(name: &'static str, body: impl Into<Vec<u8>>, status: u16, code: &'static str) -> Case {
    Case {
        path: "/v1/ceb".to_owned(),
        content_type: "application/xml",
        ..case(name, body, status, code)
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn json_cases() -> Vec<Case> {
    let mut wrong_type = order("B-1");
    wrong_type["orderHead"]["goodsValue"] = json!(199);
    let mut unknown_field = order("B-1");
    unknown_field["orderHead"]["colour"] = json!("red");
    let mut missing = order("B-1");
    missing["orderHead"]
        .as_object_mut()
        .unwrap()
        .remove("orderNo");
    let mut bad_decimal = order("B-1");
    bad_decimal["orderList"][0]["price"] = json!("9x");
    let mut bad_total = order("B-1");
    bad_total["orderList"][0]["totalPrice"] = json!("150");
    let mut bad_paid = order("B-1");
    bad_paid["orderHead"]["acturalPaid"] = json!("300");
    let mut no_platform = waybill("B-1");
    no_platform.as_object_mut().unwrap().remove("ebpCode");
    let hundred_one: Vec<Value> = (0..101).map(|i| order(&format!("M-{i}"))).collect();
    let mut invalid_utf8 = json_bytes(&json!([order("B-1")]));
    let at = invalid_utf8.iter().position(|b| *b == b'I').unwrap();
    invalid_utf8[at] = 0xff;
    let mut cases = vec![
        case(
            "malformed JSON",
            "[{\"type\": \"order\",",
            400,
            "bg.request.malformed_json",
        ),
        case(
            "invalid UTF-8",
            invalid_utf8,
            400,
            "bg.request.invalid_encoding",
        ),
        case("not an array", "{}", 422, "bg.request.not_an_array"),
        case("empty array", "[]", 422, "bg.request.no_records"),
        case(
            "101 records",
            json_bytes(&json!(hundred_one)),
            422,
            "bg.request.too_many_records",
        ),
        case(
            "huge body",
            vec![b' '; 1024 * 1024 + 1],
            413,
            "bg.request.too_large",
        ),
        Case {
            content_type: "text/plain",
            ..case(
                "wrong content type",
                "[]",
                415,
                "bg.request.unsupported_media_type",
            )
        },
        Case {
            problem: Some(("bg.request.unknown_type", Some(0), "type")),
            ..case(
                "unknown type",
                "[{\"type\": \"invoice\"}]",
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.request.schema", Some(0), "orderHead.goodsValue")),
            ..case(
                "wrong type",
                json_bytes(&json!([wrong_type])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.request.schema", Some(0), "orderHead")),
            ..case(
                "unknown field",
                json_bytes(&json!([unknown_field])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.request.schema", Some(0), "orderHead")),
            ..case(
                "missing field",
                json_bytes(&json!([missing])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.format.decimal", Some(0), "orderList[0].price")),
            ..case(
                "bad decimal",
                json_bytes(&json!([bad_decimal])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.match.line_total", Some(1), "orderList[0].totalPrice")),
            ..case(
                "line total, second record",
                json_bytes(&json!([order("B-2"), bad_total])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.match.actural_paid", Some(0), "orderHead.acturalPaid")),
            ..case(
                "acturalPaid formula",
                json_bytes(&json!([bad_paid])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.request.ebp_code_required", Some(0), "ebpCode")),
            ..case(
                "waybill without ebpCode",
                json_bytes(&json!([no_platform])),
                422,
                "bg.request.invalid_documents",
            )
        },
        Case {
            problem: Some(("bg.request.duplicate_record", Some(1), "")),
            ..case(
                "the same order twice",
                json_bytes(&json!([order("B-3"), order("B-3")])),
                422,
                "bg.request.invalid_documents",
            )
        },
    ];
    cases.extend(nesting_cases());
    cases.extend(
        range_cases()
            .into_iter()
            .map(|(name, record, problem)| Case {
                problem: Some(problem),
                ..case(
                    name,
                    json_bytes(&json!([record])),
                    422,
                    "bg.request.invalid_documents",
                )
            }),
    );
    cases
}

/// `depth` arrays around `inner`, written out as text: deeper than any JSON library may
/// build a value for.
fn nested_arrays(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Nesting attacks: the parser must refuse them without exhausting the stack.
fn nesting_cases() -> Vec<Case> {
    let placeholder = "NESTED-VALUE";
    let mut holder = order("B-5");
    holder["orderHead"]["note"] = json!(placeholder);
    let holder = String::from_utf8(json_bytes(&json!([holder]))).unwrap();
    let deep_field = holder.replacen(
        &format!("\"{placeholder}\""),
        &nested_arrays(100_000, "1"),
        1,
    );
    let mut shallow = json!("x");
    for _ in 0..100 {
        shallow = json!([shallow]);
    }
    let mut nested_note = order("B-6");
    nested_note["orderHead"]["note"] = shallow;
    vec![
        case(
            "100,000 nested arrays",
            nested_arrays(100_000, ""),
            400,
            "bg.request.malformed_json",
        ),
        case(
            "a field nested 100,000 deep",
            deep_field,
            400,
            "bg.request.malformed_json",
        ),
        Case {
            problem: Some(("bg.request.schema", Some(0), "orderHead.note")),
            ..case(
                "a field nested 100 deep",
                json_bytes(&json!([nested_note])),
                422,
                "bg.request.invalid_documents",
            )
        },
    ]
}

/// A problem that must be listed: (code, index, path).
type Listed = (&'static str, Option<usize>, &'static str);

/// Values outside their CEB domain: N19,5 (at most 14 integer and 5 fraction digits), signs,
/// zero quantities and field lengths. Each is a record and the problem it must raise.
fn range_cases() -> Vec<(&'static str, Value, Listed)> {
    let with = |pointer: &str, value: Value| {
        let mut record = order("B-7");
        *record.pointer_mut(pointer).unwrap() = value;
        record
    };
    let price = "/orderList/0/price";
    let qty = "/orderList/0/qty";
    let mut negative_paid = payment("B-7");
    negative_paid["amountPaid"] = json!("-209");
    vec![
        (
            "price with 15 integer digits",
            with(price, json!("123456789012345.1")),
            ("bg.format.integer_digits", Some(0), "orderList[0].price"),
        ),
        (
            "price with 6 decimals",
            with(price, json!("1.123456")),
            ("bg.format.fraction_digits", Some(0), "orderList[0].price"),
        ),
        (
            "goodsValue with 20 integer digits",
            with("/orderHead/goodsValue", json!("99999999999999999999")),
            ("bg.format.integer_digits", Some(0), "orderHead.goodsValue"),
        ),
        (
            "negative quantity",
            with(qty, json!("-1")),
            ("bg.format.negative", Some(0), "orderList[0].qty"),
        ),
        (
            "zero quantity",
            with(qty, json!("0")),
            ("bg.format.not_positive", Some(0), "orderList[0].qty"),
        ),
        (
            "negative price",
            with(price, json!("-99.50")),
            ("bg.format.negative", Some(0), "orderList[0].price"),
        ),
        (
            "negative amountPaid",
            negative_paid,
            ("bg.format.negative", Some(0), "paymentHead.amountPaid"),
        ),
        (
            "itemName of 251 characters (C..250)",
            with("/orderList/0/itemName", json!("水".repeat(251))),
            ("bg.format.too_long", Some(0), "orderList[0].itemName"),
        ),
        (
            "consigneeAddress of 201 characters (C..200)",
            with("/orderHead/consigneeAddress", json!("街".repeat(201))),
            ("bg.format.too_long", Some(0), "orderHead.consigneeAddress"),
        ),
    ]
}

fn xml_cases() -> Vec<Case> {
    let good = order_xml(&[order("C-1")]);
    let hundred_one: Vec<Value> = (0..101).map(|i| order(&format!("N-{i}"))).collect();
    let body_start = good.find("<ceb:Order>").unwrap();
    let dtd = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        &good[good.find("<ceb:CEB311Message").unwrap()..]
    );
    let entity = good.replacen("<ceb:orderNo>C-1", "<ceb:orderNo>&xxe;C-1", 1);
    let mut bad_utf8 = good.clone().into_bytes();
    bad_utf8[body_start + 3] = 0xfe;
    let lol = "&lol;".repeat(10);
    let mut entities = String::from("<!ENTITY lol \"lol\">");
    for level in 1..=9 {
        let previous = if level == 1 {
            lol.clone()
        } else {
            format!("&lol{};", level - 1).repeat(10)
        };
        entities.push_str(&format!("<!ENTITY lol{level} \"{previous}\">"));
    }
    let billion_laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [{entities}]>{}",
        &good[good.find("<ceb:CEB311Message").unwrap()..]
    )
    .replacen("<ceb:orderNo>C-1", "<ceb:orderNo>&lol9;C-1", 1);
    let deep_xml = good.replacen(
        "<ceb:orderNo>",
        &format!("{}<ceb:orderNo>", "<ceb:x>".repeat(100_000)),
        1,
    );
    let mut cases = vec![
        xml_case(
            "truncated XML",
            &good[..good.len() / 2],
            400,
            "ceb.truncated",
        ),
        xml_case("not XML", "this is not xml <", 400, "ceb.malformed"),
        xml_case(
            "DTD with an external entity (XXE)",
            dtd,
            400,
            "ceb.dtd_forbidden",
        ),
        xml_case("undeclared entity", entity, 400, "ceb.entity_forbidden"),
        xml_case("invalid UTF-8", bad_utf8, 400, "ceb.invalid_encoding"),
        xml_case(
            "101 records",
            order_xml(&hundred_one),
            422,
            "bg.request.too_many_records",
        ),
        xml_case(
            "waybill without ?ebpCode",
            waybill_xml(&waybill("C-1")),
            422,
            "bg.request.ebp_code_required",
        ),
        xml_case(
            "missing element",
            good.replacen("<ceb:orderType>I</ceb:orderType>", "", 1),
            422,
            "ceb.missing_element",
        ),
        xml_case(
            "huge body",
            vec![b' '; 10 * 1024 * 1024 + 1],
            413,
            "bg.request.too_large",
        ),
        Case {
            content_type: "application/json",
            ..xml_case(
                "JSON to the XML route",
                "[]",
                415,
                "bg.request.unsupported_media_type",
            )
        },
        xml_case(
            "billion laughs (nested entity expansion)",
            billion_laughs,
            400,
            "ceb.dtd_forbidden",
        ),
        xml_case("100,000 nested elements", deep_xml, 422, "ceb.too_deep"),
        xml_case(
            "an element name of 65 bytes",
            good.replacen(
                "<ceb:orderNo>",
                &format!("<{}/><ceb:orderNo>", "n".repeat(65)),
                1,
            ),
            422,
            "ceb.name_too_long",
        ),
        xml_case(
            "17 attributes on one element",
            good.replacen(
                "<ceb:Order>",
                &format!("<ceb:Order{}>", many_attributes(17)),
                1,
            ),
            422,
            "ceb.too_many_attributes",
        ),
    ];
    cases.extend(
        range_cases()
            .into_iter()
            .filter(|(_, record, _)| record["type"] == "order")
            .map(|(name, record, problem)| Case {
                problem: Some(problem),
                ..xml_case(
                    name,
                    order_xml(&[record]),
                    422,
                    "bg.request.invalid_documents",
                )
            }),
    );
    cases
}

/// ` a0="v" a1="v" ...`: `count` attributes.
fn many_attributes(count: usize) -> String {
    (0..count).map(|i| format!(" a{i}=\"v\"")).collect()
}

#[tokio::test]
async fn bad_input_is_refused_with_specific_codes_and_nothing_is_published() {
    // Goal: every bad request of the corpus (syntax, encoding, sizes, nesting bombs, entity
    // expansion, N19,5 ranges, signs, lengths, arithmetic) gets its specific 4xx, code and
    // problem location, as JSON and as CEB XML, and nothing of it reaches the topic.
    // Method: send the corpus, then one valid sentinel order; reading the topic from the start,
    // the sentinel must be the first and only record.
    let app = spawn_app(Options::default()).await;
    let key = app.key(EBC).to_owned();
    for case in json_cases().into_iter().chain(xml_cases()) {
        let response = app
            .post(&case.path, case.content_type, case.body, Some(&key))
            .await;
        let actual = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let name = format!("{} {}", case.path, case.name);
        assert_eq!(actual, case.status, "{name}: {body}");
        assert_eq!(body["error"]["code"], case.code, "{name}: {body}");
        if let Some((code, index, path)) = case.problem {
            let listed = body["problems"].as_array().unwrap().iter().any(|p| {
                p["code"] == code
                    && p["index"].as_u64().map(|i| i as usize) == index
                    && p["path"].as_str().unwrap_or_default().starts_with(path)
            });
            assert!(listed, "{name}: ({code}, {index:?}, {path}) not in {body}");
        }
    }
    let sentinel = tracking_ids(app.post_json(&json!([order("SENTINEL")]), &key).await).await;
    let records = read_topic(&app, 2, Duration::from_secs(5)).await;
    assert_eq!(records.len(), 1, "only the sentinel: {records:?}");
    assert_eq!(records[0].document.document_id, sentinel[0]);
}

/// SQL, HTML and LIKE metacharacters: valid text that must travel untouched.
const SQL_TEXT: &str = "'; DROP TABLE declarations; --";
const HTML_TEXT: &str = "<script>alert(1)</script>";
const OTHER_TEXT: &str = "\"\\%_&";

/// An order whose every free-text field carries metacharacters, each within its CEB length.
fn metacharacter_order() -> Value {
    let all = format!("{SQL_TEXT}{HTML_TEXT}{OTHER_TEXT}");
    assert_eq!(all.chars().count(), 60, "fits the C..60 fields");
    let short = format!("{HTML_TEXT}{OTHER_TEXT}");
    let mut record = order(&all);
    let head = &mut record["orderHead"];
    for field in [
        "ebpName",
        "ebcName",
        "buyerRegNo",
        "buyerName",
        "buyerIdNumber",
        "payName",
        "payTransactionId",
        "batchNumbers",
        "consignee",
        "consigneeAddress",
        "note",
    ] {
        head[field] = json!(all);
    }
    head["buyerTelephone"] = json!(SQL_TEXT);
    head["consigneeTelephone"] = json!(short);
    let line = &mut record["orderList"][0];
    for field in ["itemName", "gmodel", "itemDescribe", "note"] {
        line[field] = json!(all);
    }
    line["itemNo"] = json!(SQL_TEXT);
    line["barCode"] = json!(short);
    record
}

/// Every byte but ASCII letters and digits as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn metacharacters_in_free_text_travel_byte_for_byte() {
    // Goal: SQL, HTML and LIKE metacharacters (`'; DROP TABLE ...; --`, `<script>`, `"`, `\`,
    // `%`, `_`, `&`) in every free-text field of an order are valid text: accepted, published
    // unchanged whether sent as JSON or as CEB XML, and usable in an order-number lookup without
    // an SQL error or a wildcard match.
    // Method: submit the order as JSON and as XML; both get the same tracking id (same protobuf
    // body) and the record read back from the topic converts to exactly the JSON sent; then look
    // up the order by its number and by `%`/`_` patterns of a stored order's number.
    let app = spawn_app(Options::default()).await;
    let sent = metacharacter_order();
    let order_no = sent["orderHead"]["orderNo"].as_str().unwrap().to_owned();
    let json_ids = tracking_ids(app.post_json(&json!([sent]), app.key(EBP)).await).await;
    let xml = order_xml(std::slice::from_ref(&sent));
    let xml_response = app
        .post("/v1/ceb", "application/xml", xml, Some(app.key(EBP)))
        .await;
    assert_eq!(tracking_ids(xml_response).await, json_ids, "XML = JSON");
    let records = read_topic(&app, 2, READ_TIMEOUT).await;
    assert_eq!(records.len(), 2, "{records:?}");
    let mut expected = sent.clone();
    expected.as_object_mut().unwrap().remove("type");
    for record in &records {
        assert_eq!(record.key, format!("{EBP}/{order_no}"));
        assert_eq!(record.document.order_no, order_no);
        let Some(Body::Order(body)) = &record.document.body else {
            panic!("an order: {record:?}");
        };
        let mut published = serde_json::to_value(bondgate_ceb::model::Order::from(body)).unwrap();
        drop_nulls(&mut published);
        assert_eq!(published, expected, "{}", record.document.source_format);
    }

    let path = format!("/v1/orders/{EBP}/{}", percent_encoded(&order_no));
    let unknown = app.get(&path, Some(app.key(EBP))).await;
    expect_error(unknown, 404, "bg.order.not_found").await;
    for stored in [order_no.as_str(), "W-1"] {
        sqlx::query(
            "INSERT INTO pending_orders (ebp_code, order_no, partition) VALUES ($1, $2, 0)",
        )
        .bind(EBP)
        .bind(stored)
        .execute(bondgate_storage::pool(&app.db))
        .await
        .unwrap();
    }
    let found = app.get(&path, Some(app.key(EBP))).await;
    assert_eq!(found.status(), 200);
    let status: Value = found.json().await.unwrap();
    assert_eq!(
        (status["orderNo"].as_str(), status["status"].as_str()),
        (Some(order_no.as_str()), Some("pending"))
    );
    for pattern in ["W-%", "W-_", "%", "W-1' OR '1'='1"] {
        let response = app
            .get(
                &format!("/v1/orders/{EBP}/{}", percent_encoded(pattern)),
                Some(app.key(EBP)),
            )
            .await;
        expect_error(response, 404, "bg.order.not_found").await;
    }
}

/// Removes null members everywhere (absent optional fields serialise as null).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, member| !member.is_null());
            object.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[tokio::test]
async fn every_problem_of_every_record_is_listed() {
    // Goal: a refused request lists all problems with their record index and field path.
    // Method: two broken records (a format error and an arithmetic error) in one request.
    let app = spawn_app(Options::default()).await;
    let mut first = order("P-1");
    first["orderHead"]["appTime"] = json!("yesterday");
    first["orderHead"]["buyerTelephone"] = json!("");
    let mut second = payment("P-2");
    second["payCode"] = json!("NOT A CODE!");
    let body = expect_error(
        app.post_json(&json!([first, second]), app.key(EBP)).await,
        422,
        "bg.request.invalid_documents",
    )
    .await;
    let problems: Vec<(String, u64, String)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_owned(),
                p["index"].as_u64().unwrap(),
                p["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (index, path) in [
        (0, "orderHead.appTime"),
        (0, "orderHead.buyerTelephone"),
        (1, "paymentHead.payCode"),
    ] {
        assert!(
            problems.iter().any(|(_, i, p)| *i == index && p == path),
            "({index}, {path}) not in {problems:?}"
        );
    }
}

#[tokio::test]
async fn keys_authenticate_and_scope_to_the_sender() {
    // Goal: 401 without a valid key (missing, malformed, wrong secret, revoked), both header
    // forms work, and 403 `bg.auth.forbidden` when the key's enterprise is not the sender, as
    // JSON or as CEB XML.
    // Method: submit one order with each kind of credential.
    let app = spawn_app(Options::default()).await;
    let body = serde_json::to_vec(&json!([order("K-1")])).unwrap();
    let send = |key: Option<String>| {
        let mut request = app
            .http
            .post(format!("{}/v1/documents", app.base))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        request.send()
    };
    expect_error(send(None).await.unwrap(), 401, "bg.auth.unauthorized").await;
    expect_error(
        send(Some("bg_nope".into())).await.unwrap(),
        401,
        "bg.auth.unauthorized",
    )
    .await;
    let key = app.key(EBP).to_owned();
    let wrong_secret = format!(
        "{}{}",
        &key[..key.len() - 1],
        if key.ends_with('0') { '1' } else { '0' }
    );
    expect_error(
        send(Some(wrong_secret)).await.unwrap(),
        401,
        "bg.auth.unauthorized",
    )
    .await;
    assert_eq!(
        send(Some(key.clone())).await.unwrap().status(),
        202,
        "X-Api-Key works"
    );
    let forbidden = expect_error(
        app.post_json(&json!([order("K-1")]), app.key(PAY)).await,
        403,
        "bg.auth.forbidden",
    )
    .await;
    assert_eq!(forbidden["problems"][0]["index"], 0);
    let as_xml = app
        .post(
            "/v1/ceb",
            "application/xml",
            order_xml(&[order("K-1")]),
            Some(app.key(OTHER)),
        )
        .await;
    expect_error(as_xml, 403, "bg.auth.forbidden").await;
    let prefix = key.split('_').nth(1).unwrap();
    bondgate_intake::keys::revoke(&app.db, prefix)
        .await
        .unwrap();
    expect_error(send(Some(key)).await.unwrap(), 401, "bg.auth.unauthorized").await;
    let listed = bondgate_intake::keys::list(&app.db, Some(EBP))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
}

#[tokio::test]
async fn order_status_is_read_by_involved_enterprises_only() {
    // Goal: GET status answers 404 for an unknown order, the timeline of a known one to the
    // enterprises involved, and the same 404 to the others (status and inventory: no existence
    // oracle); the inventory of an undeclared order is 409.
    // Method: store a pending order with its payment directly (as the pipeline would), then read.
    let app = spawn_app(Options::default()).await;
    let unknown = app
        .get(&format!("/v1/orders/{EBP}/NOPE"), Some(app.key(EBP)))
        .await;
    expect_error(unknown, 404, "bg.order.not_found").await;
    let cipher = PayloadCipher::from_hex(bondgate_storage::crypto::DEV_DATA_KEY_HEX).unwrap();
    let sealed = hex_literal(&cipher.seal(b"not read"));
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO pending_orders (ebp_code, order_no, partition) VALUES ('{EBP}', 'S-1', 0);
             INSERT INTO payment_documents (pay_code, pay_transaction_id, ebp_code, order_no,
               document_id, payload, digest, src_partition, src_offset, sender_code)
             VALUES ('{PAY}', 'TX-S-1', '{EBP}', 'S-1', gen_random_uuid(), {sealed},
               decode(repeat('00', 32), 'hex'), 0, 0, '{PAY}');"
        ))
        .await
        .unwrap();
    let path = format!("/v1/orders/{EBP}/S-1");
    for reader in [EBP, PAY] {
        let response = app.get(&path, Some(app.key(reader))).await;
        assert_eq!(response.status(), 200, "{reader}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        assert_eq!(body["documents"]["payment"], true);
        assert_eq!(body["documents"]["order"], false);
        assert_eq!(body["receipts"], json!([]));
    }
    expect_error(
        app.get(&path, Some(app.key(OTHER))).await,
        404,
        "bg.order.not_found",
    )
    .await;
    expect_error(app.get(&path, None).await, 401, "bg.auth.unauthorized").await;
    expect_error(
        app.get(&format!("{path}/inventory.xml"), Some(app.key(OTHER)))
            .await,
        404,
        "bg.order.not_found",
    )
    .await;
    let inventory = app
        .get(&format!("{path}/inventory.xml"), Some(app.key(EBP)))
        .await;
    expect_error(inventory, 409, "bg.order.not_declared").await;
}

fn hex_literal(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("decode('{hex}', 'hex')")
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    // Goal: a key that exceeds its token bucket gets 429 with Retry-After; other keys do not.
    // Method: burst 2 at 1 request/s, three quick requests by one key, one by another.
    let app = spawn_app(Options {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..Options::default()
    })
    .await;
    let path = format!("/v1/orders/{EBP}/NOPE");
    for _ in 0..2 {
        assert_eq!(app.get(&path, Some(app.key(EBP))).await.status(), 404);
    }
    let limited = app.get(&path, Some(app.key(EBP))).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after));
    expect_error(limited, 429, "bg.request.rate_limited").await;
    assert_eq!(app.get(&path, Some(app.key(PAY))).await.status(), 404);
}

#[tokio::test]
async fn an_unreachable_broker_answers_503_quickly() {
    // Goal: when the broker is down the request fails with 503 and Retry-After within a bounded
    // time, never hangs.
    // Method: point the service at a closed port with a 1 s acknowledgement timeout.
    let app = spawn_app(Options {
        brokers: Some("127.0.0.1:9".to_owned()),
        produce_timeout_ms: 1_000,
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let response = app.post_json(&json!([order("D-1")]), app.key(EBP)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(response.headers().contains_key("retry-after"));
    expect_error(response, 503, "bg.broker.unavailable").await;
    let ready = app.get_ops("/readyz").await;
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn openapi_health_and_metrics_are_served() {
    // Goal: /openapi.json documents the routes with examples; /healthz, /readyz and /metrics
    // answer, and requests are counted per route.
    // Method: GET each after one API request.
    let app = spawn_app(Options::default()).await;
    let _ = app
        .get(&format!("/v1/orders/{EBP}/NOPE"), Some(app.key(EBP)))
        .await;
    let openapi: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/v1/documents",
        "/v1/ceb",
        "/v1/check",
        "/v1/orders/{ebpCode}/{orderNo}",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} missing");
    }
    let example = &openapi["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"]
        ["example"];
    assert_eq!(example[0]["type"], "order", "{example}");
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    assert_eq!(app.get_ops("/healthz").await.status(), 200);
    assert_eq!(app.get_ops("/readyz").await.status(), 200);
    // Metrics and readiness details are not on the merchants' listener.
    assert_eq!(app.get("/readyz", None).await.status(), 404);
    assert_eq!(app.get("/metrics", None).await.status(), 404);
    let metrics = app.get_ops("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "bondgate_http_requests_total{route=\"/v1/orders/{ebp_code}/{order_no}\",status=\"404\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("bondgate_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn produced_documents_are_counted() {
    // Goal: the documents-produced counter follows the broker's acknowledgements.
    // Method: submit two orders and read /metrics.
    let app = spawn_app(Options::default()).await;
    tracking_ids(
        app.post_json(&json!([order("T-1"), order("T-2")]), app.key(EBP))
            .await,
    )
    .await;
    let metrics = app.get_ops("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("bondgate_intake_documents_produced_total{kind=\"order\"} 2"),
        "{metrics}"
    );
}
