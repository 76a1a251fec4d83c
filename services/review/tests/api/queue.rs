//! The queue, its filters, counts and pages; search; the two languages; metrics, health and the
//! OpenAPI document.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{OFFICER, Options, SUPERVISOR, World};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_queue_is_oldest_first_with_filters_counts_and_pages() {
    // Goal: held declarations are listed oldest first, in pages, with counts by status and
    // reason; the enterprise, chapter, reason and age filters keep exactly the matching ones;
    // search finds a declaration by each of its numbers; the page renders in both languages.
    // Method: 12 generated orders held by the pipeline; the API's answers are compared with
    // the database; the HTML queue is fetched in Chinese and English.
    let options = Options {
        orders: 12,
        page_size: 5,
        ..Options::default()
    };
    let world = World::start("review_queue", options).await;
    let api = world.api_login(SUPERVISOR).await;
    let held: Vec<i64> = world.held().await.iter().map(|h| h.0).collect();
    let mut listed = Vec::new();
    for page in 1..=3 {
        let (status, body) = api.get(&format!("/v1/review/queue?page={page}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["total"].as_i64(), body["pages"].as_i64()),
            (Some(12), Some(3))
        );
        listed.extend(ids(&body));
    }
    assert_eq!(listed, held, "oldest first, every declaration once");
    let (_, first) = api.get("/v1/review/queue").await;
    assert_eq!(first["counts"]["open"], 12);
    assert_eq!(
        first["counts"]["byStatus"],
        json!([{ "key": "300", "count": 12 }])
    );
    let reasons = first["counts"]["byReason"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r["key"] == "bg.risk.dutiable_value" && r["count"] == 12)
    );
    for reason in reasons {
        let declarations: i64 =
            sqlx::query_scalar("SELECT count(*) FROM declarations WHERE $1 = ANY (codes)")
                .bind(reason["key"].as_str().unwrap())
                .fetch_one(&world.pool)
                .await
                .unwrap();
        assert_eq!(
            reason["count"], declarations,
            "declarations held for {reason}"
        );
    }

    for (filter, sql) in [
        (
            "chapter=33",
            "SELECT DISTINCT declaration_id FROM declaration_lines WHERE left(gcode, 2) = '33'",
        ),
        (
            "reason=bg.risk.line_qty",
            "SELECT id FROM declarations WHERE 'bg.risk.line_qty' = ANY (codes)",
        ),
        (
            "enterprise=5001980011",
            "SELECT id FROM declarations WHERE ebp_code = '5001980011' OR ebc_code = '5001980011'",
        ),
    ] {
        let expected: HashSet<i64> = sqlx::query_scalar(sql)
            .fetch_all(&world.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let (_, body) = api
            .get(&format!("/v1/review/queue?{filter}&pageSize=100"))
            .await;
        let got: HashSet<i64> = ids(&body).into_iter().collect();
        assert_eq!(got, expected, "{filter}");
        assert_eq!(body["total"], expected.len());
    }
    let (_, old) = api.get("/v1/review/queue?minAgeHours=1").await;
    assert_eq!(old["total"], 0, "nothing was held an hour ago");
    let (status, _) = api.get("/v1/review/queue?chapter=abc").await;
    assert_eq!(status, 400);

    let (id, order_no, _) = world.held().await[3].clone();
    let (invt_no, logistics_no): (String, String) =
        sqlx::query_as("SELECT invt_no, logistics_no FROM declarations WHERE id = $1")
            .bind(id)
            .fetch_one(&world.pool)
            .await
            .unwrap();
    for (by, value) in [
        ("orderNo", order_no.as_str()),
        ("invtNo", &invt_no),
        ("logisticsNo", &logistics_no),
    ] {
        let (status, body) = api
            .post("/v1/review/search", &json!({ "by": by, "value": value }))
            .await;
        assert_eq!(status, 200);
        assert_eq!(ids(&body), vec![id], "search by {by}");
    }
    let (_, none) = api
        .post(
            "/v1/review/search",
            &json!({ "by": "orderNo", "value": "NOPE" }),
        )
        .await;
    assert_eq!(ids(&none), Vec::<i64>::new());

    let mut browser = world.ui_login(OFFICER).await;
    let zh = browser.get("/queue").await;
    assert!(zh.body.contains("待审队列") && zh.body.contains("lang=\"zh-CN\""));
    assert_eq!(zh.body.matches("data-testid=\"queue-row\"").count(), 5);
    let switched = browser.get("/lang/en?back=%2Fqueue%3Fpage%3D2").await;
    assert_eq!(
        (switched.status, switched.location()),
        (303, Some("/queue?page=2"))
    );
    let en = browser.get("/queue?page=2").await;
    assert!(en.body.contains("Review queue") && en.body.contains("lang=\"en\""));
    assert!(en.body.contains("Page 2 / 3"), "pagination");
    let evil = browser
        .get("/lang/zh-CN?back=https%3A%2F%2Fevil.example")
        .await;
    assert_eq!(evil.location(), Some("/queue"), "no open redirect");
    world.finish().await;
}

#[tokio::test]
async fn metrics_health_and_the_openapi_document() {
    // Goal: the service exposes its queue depth, decisions and time-to-decision in Prometheus
    // format (bondgate_<noun>_<unit>), build info, liveness and readiness, and an OpenAPI
    // document with every /v1/review route.
    // Method: two decisions, then /metrics is polled until the queue-depth gauge follows.
    let world = World::start("review_metrics", Options::default()).await;
    let api = world.api_login(OFFICER).await;
    let held = world.held().await;
    for (id, _, version) in held.iter().take(2) {
        let (status, _) = api
            .decide(*id, *version, &json!({ "decision": "release" }))
            .await;
        assert_eq!(status, 200);
    }
    let http = world.http.clone();
    let base = world.base.clone();
    let get = |path: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move { http.get(format!("{base}{path}")).send().await.unwrap() }
    };
    assert_eq!(get("/healthz").await.status(), 200);
    assert_eq!(get("/readyz").await.status(), 200);
    let expected_depth = format!(
        "bondgate_review_queue_depth_declarations{{status=\"300\"}} {}",
        held.len() - 2
    );
    let last = std::sync::Mutex::new(String::new());
    let found = bondgate_tests::wait_until("the queue depth", Duration::from_secs(10), || async {
        let text = get("/metrics").await.text().await?;
        let ok = text.contains(&expected_depth);
        *last.lock().unwrap() = text;
        Ok(ok)
    })
    .await;
    let metrics = last.into_inner().unwrap();
    found.unwrap_or_else(|e| panic!("{e}: {metrics}"));
    for line in [
        "bondgate_build_info{service=\"review\"",
        "bondgate_review_decisions_total{decision=\"release\"} 2",
        "bondgate_review_decisions_total{decision=\"reject\"} 0",
        "bondgate_review_time_to_decision_seconds_count{decision=\"release\"} 2",
        "bondgate_review_logins_total{outcome=\"success\"} 1",
        "bondgate_http_requests_total{route=\"/v1/review/declarations/{id}/decisions\",status=\"200\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    let document: Value = get("/openapi.json").await.json().await.unwrap();
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/review/sessions",
        "/v1/review/queue",
        "/v1/review/declarations/{id}",
        "/v1/review/declarations/{id}/decisions",
        "/v1/review/declarations/{id}/reveal",
        "/v1/review/declarations/{id}/assignment",
        "/v1/review/search",
        "/v1/review/audit/verification",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let (status, codes) = api.get("/v1/review/reject-codes").await;
    assert_eq!(status, 200);
    assert_eq!(codes[0]["code"], -900401);
    world.finish().await;
}
