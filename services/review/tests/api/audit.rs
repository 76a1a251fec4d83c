//! The hash-chained audit log.

use bondgate_review::audit::{VerifyError, verify_chain};
use serde_json::json;

use crate::helpers::{AUDITOR, OFFICER, Options, SUPERVISOR, World};

#[tokio::test]
async fn the_audit_chain_verifies_and_tampering_is_detected() {
    // Goal: every action lands in the hash-chained log (who, what, why), the chain verifies,
    // and changing or deleting any row is detected at that row.
    // Method: logins, a reveal and decisions through the API; verify_chain and the API's
    // verification agree; then a row's reason is edited in SQL (detected there), put back
    // (verifies again), and a row is deleted (detected at the next one).
    let world = World::start("review_audit", Options::default()).await;
    let officer = world.api_login(OFFICER).await;
    let supervisor = world.api_login(SUPERVISOR).await;
    let held = world.held().await;
    let (id, _, version) = held[0].clone();
    let path = format!("/v1/review/declarations/{id}");
    let reveal = json!({ "reason": "电话核实收货人" });
    assert_eq!(
        officer.post(&format!("{path}/reveal"), &reveal).await.0,
        200
    );
    let reject = json!({ "decision": "reject", "code": -900201, "reason": "商品编码不在清单" });
    assert_eq!(officer.decide(id, version, &reject).await.0, 200);
    let (id2, _, version2) = held[1].clone();
    assert_eq!(
        supervisor
            .decide(id2, version2, &json!({ "decision": "release" }))
            .await
            .0,
        200
    );

    let head = verify_chain(&world.pool).await.expect("the chain verifies");
    let entries = world.audit().await;
    assert_eq!(head.entries as usize, entries.len());
    let subject = format!("declaration:{id}");
    assert!(entries.contains(&(
        OFFICER.to_owned(),
        "reveal".to_owned(),
        subject.clone(),
        "电话核实收货人".to_owned()
    )));
    assert!(entries.contains(&(
        OFFICER.to_owned(),
        "reject".to_owned(),
        subject,
        "商品编码不在清单".to_owned()
    )));
    let auditor = world.api_login(AUDITOR).await;
    let (status, verdict) = auditor.get("/v1/review/audit/verification").await;
    assert_eq!(status, 200);
    assert_eq!(verdict["ok"], true, "{verdict}");
    // The auditor's own login came after verify_chain above.
    assert_eq!(verdict["entries"], head.entries + 1);
    let (_, listed) = auditor.get("/v1/review/audit?limit=3").await;
    assert_eq!(listed["entries"].as_array().unwrap().len(), 3);

    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
        .fetch_all(&world.pool)
        .await
        .unwrap();
    let victim = ids[ids.len() / 2];
    let reason: String = sqlx::query_scalar("SELECT reason FROM audit_log WHERE id = $1")
        .bind(victim)
        .fetch_one(&world.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET reason = 'nothing to see' WHERE id = $1")
        .bind(victim)
        .execute(&world.pool)
        .await
        .unwrap();
    match verify_chain(&world.pool).await {
        Err(VerifyError::Broken { id, .. }) => assert_eq!(id, victim),
        other => panic!("tampering not detected: {other:?}"),
    }
    let (_, verdict) = auditor.get("/v1/review/audit/verification").await;
    assert_eq!(
        (verdict["ok"].clone(), verdict["brokenAt"].clone()),
        (json!(false), json!(victim))
    );
    sqlx::query("UPDATE audit_log SET reason = $2 WHERE id = $1")
        .bind(victim)
        .bind(&reason)
        .execute(&world.pool)
        .await
        .unwrap();
    verify_chain(&world.pool)
        .await
        .expect("restored, it verifies again");

    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(victim)
        .execute(&world.pool)
        .await
        .unwrap();
    match verify_chain(&world.pool).await {
        Err(VerifyError::Broken { id, .. }) => assert!(id > victim, "detected after the gap"),
        other => panic!("deletion not detected: {other:?}"),
    }
    world.finish().await;
}
