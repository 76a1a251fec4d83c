//! `POST /v1/check`: the documents in the shape `/v1/documents` takes, validated and refused
//! alike, evaluated against the database's reference data (refreshed) without sending anything.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{
    EBP, Options, TestApp, expect_error, order, payment, read_topic, spawn_app, waybill,
};

/// `POST /v1/check` with `body` as the platform.
async fn check(app: &TestApp, body: &Value) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    app.post("/v1/check", "application/json", bytes, Some(app.key(EBP)))
        .await
}

/// The verdict of a 200 answer.
async fn verdict(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body}");
    body
}

fn bundle(order_no: &str) -> Value {
    json!([order(order_no), payment(order_no), waybill(order_no)])
}

#[tokio::test]
async fn check_gives_a_verdict_without_sending_anything() {
    // Goal: the pre-flight takes the documents exactly as /v1/documents does (the waybill with
    // its `ebpCode`), answers like `bondgate check`, honours annualUsedCny and produces nothing.
    // Method: on a seeded database, check a valid bundle, the same with a payment that does not
    // match, and the same with most of the annual limit used; then read the topic for a moment.
    let app = spawn_app(Options {
        seeded: true,
        ..Options::default()
    })
    .await;
    let report = verdict(check(&app, &json!({"documents": bundle("Q-1")})).await).await;
    assert!(
        matches!(report["status"].as_u64(), Some(800 | 300)),
        "{report}"
    );
    assert_eq!(report["lines"][0]["gcode"], "2201101000", "{report}");
    assert!(report["tax"]["total"].is_string());

    let mut mismatched = bundle("Q-2");
    mismatched[1]["amountPaid"] = json!("1");
    let report = verdict(check(&app, &json!({"documents": mismatched})).await).await;
    assert_eq!(report["status"], 100, "{report}");
    assert_eq!(report["returnStatus"], -900101, "{report}");

    // 25 800 used + 209 (goods and freight) is over the 26 000 of a year.
    let used = json!({"documents": bundle("Q-3"), "annualUsedCny": "25800"});
    let report = verdict(check(&app, &used).await).await;
    assert_eq!(report["codes"], json!(["-621018"]), "{report}");
    assert!(read_topic(&app, 1, Duration::from_secs(2)).await.is_empty());
}

#[tokio::test]
async fn check_refuses_what_documents_refuses_in_the_same_words() {
    // Goal: one document, one shape, one validation: what /v1/documents refuses, /v1/check
    // refuses with the same code and problems; a body that is not one bundle is refused too.
    // Method: send the same invalid documents (a goods value that is not a number, a waybill
    // without ebpCode) to both and compare the answers; then the old body shape, two documents,
    // documents of two orders and a negative annualUsedCny.
    let app = spawn_app(Options::default()).await;
    let mut invalid = bundle("R-1");
    invalid[0]["orderHead"]["goodsValue"] = json!("abc");
    invalid[2].as_object_mut().unwrap().remove("ebpCode");
    let submitted = app.post_json(&invalid, app.key(EBP)).await;
    let submitted = expect_error(submitted, 422, "bg.request.invalid_documents").await;
    let checked = check(&app, &json!({"documents": invalid})).await;
    let checked = expect_error(checked, 422, "bg.request.invalid_documents").await;
    assert_eq!(checked["problems"], submitted["problems"]);
    assert_eq!(
        checked["problems"].as_array().unwrap().len(),
        2,
        "{checked}"
    );

    let old_shape = json!({"order": order("R-2"), "payment": payment("R-2")});
    let refused = expect_error(check(&app, &old_shape).await, 422, "bg.request.schema").await;
    assert_eq!(refused["problems"][0]["path"], "documents", "{refused}");

    let two = json!({"documents": [order("R-3"), payment("R-3")]});
    expect_error(check(&app, &two).await, 422, "bg.check.not_a_bundle").await;
    let two_orders = json!({"documents": [order("R-4"), payment("R-5"), waybill("R-4")]});
    expect_error(check(&app, &two_orders).await, 422, "bg.check.not_a_bundle").await;

    let negative = json!({"documents": bundle("R-6"), "annualUsedCny": "-1"});
    let refused = expect_error(check(&app, &negative).await, 422, "bg.request.schema").await;
    assert_eq!(refused["problems"][0]["path"], "annualUsedCny", "{refused}");
}

#[tokio::test]
async fn check_uses_the_databases_reference_data_and_sees_new_items() {
    // Goal: the pre-flight decides on the zone's account book and positive list in the
    // database, not on data compiled into the service, and picks up items added later without
    // a restart (`intake.reference_refresh_ms`).
    // Method: a database without reference data refuses the fixture's SKU (-900205); insert
    // its tariff line and item as `bondgate seed` would, then poll until the check releases it.
    let app = spawn_app(Options {
        reference_refresh_ms: 100,
        ..Options::default()
    })
    .await;
    let body = json!({"documents": bundle("S-1")});
    let report = verdict(check(&app, &body).await).await;
    assert_eq!(report["codes"], json!(["-900205"]), "{report}");

    app.db
        .execute_unprepared(
            "INSERT INTO positive_list (tariff_line, name, vat_rate, consumption_rate, mfn_rate)
             VALUES ('22011010', '矿泉水', 0.13, 0, 0.05);
             INSERT INTO account_book_items (ems_no, item_record_no, item_no, gcode, gname,
                 gmodel, unit, unit1, qty1_per_unit, net_content, net_content_unit, country)
             VALUES ('T9001W000001', '20001', 'WATER-500ML', '2201101000', '天然矿泉水',
                 '500ml/瓶', '142', '095', 0.5, 500, 'ml', '305')",
        )
        .await
        .expect("reference rows");
    let refreshed = bondgate_tests::wait_until(
        "the check to see the new item",
        Duration::from_secs(10),
        || async {
            let report = verdict(check(&app, &body).await).await;
            Ok(report["status"] != 100)
        },
    )
    .await;
    refreshed.expect("the refreshed reference data releases or holds the bundle");
}
