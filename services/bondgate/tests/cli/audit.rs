//! `bondgate audit verify` and `bondgate officers unlock` against a per-test database on the
//! local stack.

use bondgate_review::audit::{self, NewEntry};
use bondgate_storage::testing::fresh_database;
use serde_json::json;

use crate::helpers::bondgate_with_env;

#[tokio::test]
async fn audit_verify_records_a_break_until_the_chain_is_whole_again() {
    // Goal: `audit verify` recomputes the whole chain, prints the verdict as JSON, exits 1 when
    // it is broken, and records the verdict where the review service's audit page reads it: a
    // break stays recorded until a later full verification passes; a pass moves the mark to the
    // head.
    // Method: five entries appended as the service appends them; one edited in SQL, verified,
    // put back, verified again; the table audit_verification read after each run.
    let (url, db) = fresh_database("cli_audit")
        .await
        .expect("the local stack's PostgreSQL is up");
    let pool = bondgate_storage::pool(&db);
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let empty = bondgate_with_env(&["audit", "verify"], &env);
    assert_eq!(empty.code, 0, "{empty:?}");
    assert_eq!(empty.json()["entries"], 0);
    let mut tx = pool.begin().await.unwrap();
    for n in 0..5 {
        let entry = NewEntry {
            actor: "system".to_owned(),
            action: "probe",
            subject: format!("probe:{n}"),
            reason: String::new(),
            detail: json!({ "n": n }),
        };
        audit::append(&mut tx, &entry).await.unwrap();
    }
    tx.commit().await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let recorded = || async {
        sqlx::query_as::<_, (i64, Option<i64>)>(
            "SELECT entry_id, broken_at FROM audit_verification",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let whole = bondgate_with_env(&["audit", "verify"], &env);
    assert_eq!((whole.code, whole.json()["entries"].clone()), (0, json!(5)));
    assert_eq!(
        recorded().await,
        (ids[4], None),
        "the mark moved to the head"
    );

    let edit = "UPDATE audit_log SET reason = $2 WHERE id = $1";
    sqlx::query(edit)
        .bind(ids[1])
        .bind("forged")
        .execute(pool)
        .await
        .unwrap();
    let broken = bondgate_with_env(&["audit", "verify"], &env);
    assert_eq!(broken.code, 1, "{broken:?}");
    assert_eq!(broken.json()["brokenAt"], ids[1]);
    assert!(broken.stderr.contains("broken at entry"), "{broken:?}");
    assert_eq!(
        recorded().await,
        (ids[4], Some(ids[1])),
        "the break is recorded"
    );
    sqlx::query(edit)
        .bind(ids[1])
        .bind("")
        .execute(pool)
        .await
        .unwrap();
    let again = bondgate_with_env(&["audit", "verify"], &env);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(recorded().await, (ids[4], None), "a later pass clears it");
}

#[tokio::test]
async fn officers_unlock_ends_a_lockout() {
    // Goal: `officers unlock NAME` forgets the username's failed logins (ending its lockout)
    // and leaves other counts alone; unlocking twice is harmless.
    // Method: two counts written in SQL, the command run twice, the table read.
    let (url, db) = fresh_database("cli_unlock")
        .await
        .expect("the local stack's PostgreSQL is up");
    let pool = bondgate_storage::pool(&db);
    sqlx::query(
        "INSERT INTO login_throttle (scope, key, failures, last_failure_at, locked_until, forget_at)
         VALUES ('username', 'li.wei', 7, now(), now() + interval '1 hour', now() + interval '2 hours'),
                ('client', '203.0.113.7', 7, now(), now() + interval '1 hour', now() + interval '2 hours')",
    )
    .execute(pool)
    .await
    .unwrap();
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let unlocked = bondgate_with_env(&["officers", "unlock", "li.wei"], &env);
    assert_eq!(unlocked.code, 0, "{unlocked:?}");
    assert_eq!(unlocked.json()["hadFailures"], true);
    let left: Vec<String> = sqlx::query_scalar("SELECT key FROM login_throttle")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(left, ["203.0.113.7"]);
    let twice = bondgate_with_env(&["officers", "unlock", "li.wei"], &env);
    assert_eq!(
        (twice.code, twice.json()["hadFailures"].clone()),
        (0, json!(false))
    );
}
