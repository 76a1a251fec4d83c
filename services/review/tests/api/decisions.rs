//! Decisions: concurrency, their effects on stock, quota and receipts, and their validation.

use std::collections::HashMap;

use bondgate_proto::v1::Receipt;
use rust_decimal::Decimal;
use serde_json::json;

use crate::helpers::{OFFICER, OFFICER_2, Options, SUPERVISOR, World};

/// `(on_hand, reserved)` per account-book item of declaration `id`'s lines, and the lines'
/// quantity per item.
async fn stock(world: &World, id: i64) -> HashMap<String, (Decimal, Decimal, Decimal)> {
    let rows: Vec<(String, Decimal, Decimal, Decimal)> = sqlx::query_as(
        "SELECT l.item_record_no, i.on_hand, i.reserved, sum(l.qty)
         FROM declaration_lines l
         JOIN account_book_items i ON i.ems_no = l.ems_no AND i.item_record_no = l.item_record_no
         WHERE l.declaration_id = $1 GROUP BY 1, 2, 3",
    )
    .bind(id)
    .fetch_all(&world.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(item, on_hand, reserved, qty)| (item, (on_hand, reserved, qty)))
        .collect()
}

/// `(used, declaration quota_amount)` of declaration `id`'s buyer.
async fn quota(world: &World, id: i64) -> (Decimal, Decimal) {
    sqlx::query_as(
        "SELECT q.used, d.quota_amount FROM declarations d
         JOIN buyer_quotas q ON q.buyer_hash = d.buyer_hash AND q.year = d.quota_year
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_one(&world.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_officers_deciding_at_once_exactly_one_wins() {
    // Goal: optimistic concurrency: of two decisions on the same version of one declaration,
    // exactly one commits and the other gets 409 with the current version; one final receipt,
    // one audit entry, and stock and quota moved once.
    // Method: for four declarations, two officers send a release and a rejection at the same
    // moment through the JSON API; the database is checked after each race, the invariants at
    // the end.
    let world = World::start("review_race", Options::default()).await;
    let first = world.api_login(OFFICER).await;
    let second = world.api_login(OFFICER_2).await;
    let release = json!({ "decision": "release" });
    let reject = json!({ "decision": "reject", "code": -900401, "reason": "疑似代购" });
    for (id, _, version) in world.held().await.into_iter().take(4) {
        let (a, b) = tokio::join!(
            first.decide(id, version, &release),
            second.decide(id, version, &reject)
        );
        let statuses = [a.0, b.0];
        assert!(
            statuses.contains(&200) && statuses.contains(&409),
            "exactly one wins: {a:?} {b:?}"
        );
        let (winner, loser) = if a.0 == 200 { (a.1, b.1) } else { (b.1, a.1) };
        assert_eq!(
            loser["error"]["code"], "bg.review.version_conflict",
            "{loser}"
        );
        assert_eq!(loser["currentVersion"], version + 1);
        assert_eq!(loser["currentStatus"], winner["status"]);
        assert_eq!(
            world.status(id).await,
            (winner["status"].as_i64().unwrap() as i32, version + 1)
        );
        let finals: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM receipts WHERE declaration_id = $1 AND return_status IN (800, 100)",
        )
        .bind(id)
        .fetch_one(&world.pool)
        .await
        .unwrap();
        assert_eq!(finals, 1, "one final receipt");
        let audited: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE subject = $1 AND action IN ('release', 'reject')",
        )
        .bind(format!("declaration:{id}"))
        .fetch_one(&world.pool)
        .await
        .unwrap();
        assert_eq!(audited, 1, "one audit entry");
    }
    world.finish().await;
}

#[tokio::test]
async fn decisions_move_stock_and_quota_and_publish_their_receipts() {
    // Goal: a release deducts the reserved stock, a rejection gives stock and quota back, an
    // inspection keeps the declaration in the queue until it is released; each writes its
    // receipt (next sequence, stable id) to the outbox, which clearance's relay publishes on
    // the receipts topic; invalid decisions change nothing.
    // Method: the supervisor decides three held declarations through the JSON API; balances
    // and receipts are read from the database before and after; the receipts topic is read
    // back; the invariant checker runs at the end.
    let world = World::start("review_effects", Options::default()).await;
    let api = world.api_login(SUPERVISOR).await;
    let held = world.held().await;
    let (released, _, v1) = held[0].clone();
    let (rejected, _, v2) = held[1].clone();
    let (inspected, _, v3) = held[2].clone();

    let before = stock(&world, released).await;
    let (status, body) = api
        .decide(released, v1, &json!({ "decision": "release" }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 800);
    for (item, (on_hand, reserved, qty)) in stock(&world, released).await {
        let (on_hand_0, reserved_0, _) = before[&item];
        assert_eq!(on_hand, on_hand_0 - qty, "{item}: deducted on release");
        assert_eq!(reserved, reserved_0 - qty, "{item}: no longer reserved");
    }

    let bad = [
        (
            json!({ "decision": "reject", "code": -900401 }),
            422,
            "bg.review.reason_required",
        ),
        (
            json!({ "decision": "reject", "code": 12345, "reason": "理由" }),
            422,
            "bg.review.unknown_code",
        ),
        (
            json!({ "decision": "reject", "reason": "理由" }),
            422,
            "bg.review.code_required",
        ),
    ];
    for (decision, status, code) in bad {
        let (got, body) = api.decide(rejected, v2, &decision).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let (got, body) = api
        .decide(rejected, v2 + 7, &json!({ "decision": "release" }))
        .await;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (409, Some("bg.review.version_conflict"))
    );
    assert_eq!(
        world.status(rejected).await,
        (300, v2),
        "refused decisions change nothing"
    );

    let (used_0, amount) = quota(&world, rejected).await;
    assert!(amount > Decimal::ZERO);
    let stock_0 = stock(&world, rejected).await;
    let reject = json!({ "decision": "reject", "code": -900401, "reason": "数量异常，疑似代购" });
    let (status, body) = api.decide(rejected, v2, &reject).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        quota(&world, rejected).await,
        (used_0 - amount, Decimal::ZERO)
    );
    for (item, (on_hand, reserved, qty)) in stock(&world, rejected).await {
        let (on_hand_0, reserved_0, _) = stock_0[&item];
        assert_eq!((on_hand, reserved), (on_hand_0, reserved_0 - qty), "{item}");
    }

    let inspection = json!({ "decision": "inspection", "reason": "申报要素需核实" });
    let (status, body) = api.decide(inspected, v3, &inspection).await;
    assert_eq!(
        (status, body["status"].as_i64()),
        (200, Some(500)),
        "{body}"
    );
    let (_, queue) = api.get("/v1/review/queue").await;
    let row = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == inspected)
        .cloned()
        .expect("an inspected declaration stays in the queue");
    assert_eq!(row["status"], 500);
    let (status, body) = api.decide(inspected, v3 + 1, &inspection).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("bg.review.illegal_transition"))
    );
    let (status, _) = api
        .decide(inspected, v3 + 1, &json!({ "decision": "release" }))
        .await;
    assert_eq!(status, 200, "released after inspection");

    let expected = receipts_written(&world, &[released, rejected, inspected]).await;
    assert_eq!(
        expected.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![800, 100, 500, 800],
        "{expected:?}"
    );
    let on_topic = published(&world, &expected).await;
    for (id, status, sequence) in &expected {
        let receipt = &on_topic[id];
        assert_eq!(
            (receipt.return_status, receipt.sequence),
            (*status, *sequence)
        );
        assert_eq!(receipt.flow, 1);
    }
    let rejection = on_topic.values().find(|r| r.return_status == 100).unwrap();
    assert_eq!(rejection.codes, vec!["-900401".to_owned()]);
    assert!(
        rejection.return_info.contains("疑似代购"),
        "{}",
        rejection.return_info
    );
    world.finish().await;
}

/// The officers' receipts of these declarations `(id, status, sequence)` in creation order,
/// after checking their sequences follow the pipeline's 120 and 300.
async fn receipts_written(world: &World, ids: &[i64]) -> Vec<(String, i32, i32)> {
    let rows: Vec<(String, String, i32, i32)> = sqlx::query_as(
        "SELECT ebp_code, order_no, return_status, sequence FROM receipts
         WHERE declaration_id = ANY($1) AND sequence > 3 ORDER BY id",
    )
    .bind(ids)
    .fetch_all(&world.pool)
    .await
    .unwrap();
    for (_, _, status, sequence) in &rows {
        assert!(*sequence >= 4, "status {status} follows 2, 120 and 300");
    }
    rows.into_iter()
        .map(|(ebp, ono, status, sequence)| {
            let id = bondgate_storage::outbox::receipt_id(&ebp, &ono, sequence);
            (id.to_string(), status, sequence)
        })
        .collect()
}

/// The receipts topic's records with these ids, once the relay published them all.
async fn published(world: &World, expected: &[(String, i32, i32)]) -> HashMap<String, Receipt> {
    let ids: Vec<&str> = expected.iter().map(|(id, _, _)| id.as_str()).collect();
    let found: HashMap<String, Receipt> = world
        .published_receipts()
        .await
        .into_iter()
        .filter(|r| ids.contains(&r.receipt_id.as_str()))
        .map(|r| (r.receipt_id.clone(), r))
        .collect();
    assert_eq!(
        found.len(),
        expected.len(),
        "every officer's receipt is on the topic"
    );
    found
}
