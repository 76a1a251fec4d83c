//! Attacks on the review service (issue 14): guessing passwords, open redirects, officers
//! reading declarations that are not theirs, tampering with the audit log. Each test makes the
//! attack, asserts the refusal (status and code), and that it changed nothing it may not.

use bondgate_review::ReviewConfig;
use bondgate_review::audit::{self, NewEntry};
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{AUDITOR, Api, OFFICER, OFFICER_2, Options, PASSWORD, SUPERVISOR, World};

/// An answer of `POST /v1/review/sessions`.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// One login through the API, with an `X-Forwarded-For` header when given.
async fn try_login(
    world: &World,
    username: &str,
    password: &str,
    forwarded: Option<&str>,
) -> Answer {
    let mut request = world
        .http
        .post(format!("{}/v1/review/sessions", world.base))
        .json(&json!({ "username": username, "password": password }));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok()?.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

async fn audit_entries(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(pool)
        .await
        .expect("a count")
}

/// Subjects of the audited lockouts, in order.
async fn lockouts(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT subject FROM audit_log WHERE action = 'login_locked' ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("the audit log")
}

/// Failures counted for a key, if any.
async fn failures(pool: &PgPool, scope: &str, key: &str) -> Option<i32> {
    sqlx::query_scalar("SELECT failures FROM login_throttle WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await
        .expect("the counts")
}

/// Ends a running lockout now, instead of waiting for it.
async fn end_lockout(pool: &PgPool, scope: &str, key: &str) {
    sqlx::query("UPDATE login_throttle SET locked_until = now() WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await
        .expect("the lockout ended");
}

fn username_lockouts(review: &mut ReviewConfig) {
    review.login_username_failures_max = 3;
    review.login_client_failures_max = 1_000;
    review.login_lockout_base_seconds = 30;
    review.login_lockout_max_seconds = 600;
}

#[tokio::test]
async fn guessing_a_password_locks_the_username_out_without_growing_the_audit_log() {
    // Goal: after 3 failed logins of one username, its next attempts (even with the right
    // password, through the API or the form) are refused 429 `bg.auth.throttled` with
    // Retry-After, before the password is checked and without being counted; a failure after a
    // lockout locks again for twice as long; only the start of each lockout is audited (no
    // entry per failed attempt); other usernames are unaffected; a login forgets the count;
    // X-Forwarded-For is ignored without trusted proxies.
    // Method: a service with a threshold of 3 and a 30 s base; a lockout's end is moved to now
    // in SQL instead of waiting; the audit log, the counts and /metrics are read.
    let options = Options {
        orders: 1,
        tune: username_lockouts,
        ..Options::default()
    };
    let world = World::start("review_lockout", options).await;
    let pool = &world.pool;
    let before = audit_entries(pool).await;
    for _ in 0..3 {
        let failed = try_login(&world, OFFICER, "not-the-password", Some("198.51.100.7")).await;
        assert_eq!(
            (failed.status, failed.code()),
            (401, "bg.auth.login_failed")
        );
    }
    let refused = try_login(&world, OFFICER, PASSWORD, None).await;
    assert_eq!((refused.status, refused.code()), (429, "bg.auth.throttled"));
    let wait = refused.retry_after.expect("Retry-After");
    assert!((25..=30).contains(&wait), "first lockout 30 s: {wait}");
    assert_eq!(refused.body["retryAfterSeconds"], wait);

    let mut browser = world.ui_login_client();
    let csrf = browser
        .get("/login")
        .await
        .csrf()
        .expect("a login CSRF field");
    let form = [
        ("csrf", csrf.as_str()),
        ("username", OFFICER),
        ("password", PASSWORD),
        ("next", "/queue"),
    ];
    let page = browser.post_form("/login", &form).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.headers.contains_key(RETRY_AFTER));
    assert!(page.body.contains("bg.auth.throttled"), "{}", page.body);
    assert!(!browser.cookies.contains_key("bg_review_session"));

    assert_eq!(
        failures(pool, "username", OFFICER).await,
        Some(3),
        "refusals not counted"
    );
    assert_eq!(
        failures(pool, "client", "127.0.0.1").await,
        Some(3),
        "the peer counts"
    );
    assert_eq!(
        failures(pool, "client", "198.51.100.7").await,
        None,
        "a forged header not"
    );
    assert_eq!(lockouts(pool).await, [format!("username:{OFFICER}")]);
    assert_eq!(
        audit_entries(pool).await,
        before + 1,
        "one entry for five attempts"
    );
    world.api_login(OFFICER_2).await;

    end_lockout(pool, "username", OFFICER).await;
    let failed = try_login(&world, OFFICER, "still-not-it", None).await;
    assert_eq!(failed.status, 401);
    let refused = try_login(&world, OFFICER, PASSWORD, None).await;
    assert_eq!((refused.status, refused.code()), (429, "bg.auth.throttled"));
    let wait = refused.retry_after.expect("Retry-After");
    assert!(
        (55..=60).contains(&wait),
        "the next lockout doubles: {wait}"
    );
    assert_eq!(lockouts(pool).await.len(), 2, "each lockout audited once");

    let metrics = world
        .http
        .get(format!("{}/metrics", world.base))
        .send()
        .await;
    let metrics = metrics.unwrap().text().await.unwrap();
    for line in [
        "bondgate_review_logins_total{outcome=\"throttled\"} 3",
        "bondgate_review_logins_total{outcome=\"failure\"} 4",
        "bondgate_review_login_lockouts_total{scope=\"username\"} 2",
        "bondgate_review_login_lockouts_total{scope=\"client\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    end_lockout(pool, "username", OFFICER).await;
    let ok = try_login(&world, OFFICER, PASSWORD, None).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    assert_eq!(
        failures(pool, "username", OFFICER).await,
        None,
        "a login forgets"
    );
    let failed_entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'login_failed'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        failed_entries, 0,
        "failed attempts are counted, not chained"
    );
    world.finish().await;
}

fn client_lockouts(review: &mut ReviewConfig) {
    review.login_username_failures_max = 1_000;
    review.login_client_failures_max = 4;
    review.login_lockout_base_seconds = 30;
    review.trusted_proxies = vec!["127.0.0.1".to_owned()];
}

#[tokio::test]
async fn a_client_guessing_many_usernames_is_locked_out() {
    // Goal: one client address trying many usernames (known or not) is locked out after 4
    // failures, for every username; behind a trusted proxy the client is the rightmost address
    // the proxy vouches for, so prepending a forged address does not escape; other clients are
    // unaffected; unknown usernames are counted exactly like known ones (a lockout does not tell
    // which accounts exist); the lockout is audited once.
    // Method: the test's own address is configured as the trusted proxy, and X-Forwarded-For
    // says which client each request comes from.
    let options = Options {
        orders: 1,
        tune: client_lockouts,
        ..Options::default()
    };
    let world = World::start("review_client_lockout", options).await;
    let pool = &world.pool;
    let before = audit_entries(pool).await;
    let guesser = Some("203.0.113.7");
    for username in ["nobody.1", "nobody.2", "Not A Username", OFFICER] {
        let failed = try_login(&world, username, "guess-123456", guesser).await;
        assert_eq!(
            (failed.status, failed.code()),
            (401, "bg.auth.login_failed")
        );
    }
    let refused = try_login(&world, OFFICER_2, PASSWORD, guesser).await;
    assert_eq!((refused.status, refused.code()), (429, "bg.auth.throttled"));
    assert!(refused.retry_after.is_some_and(|s| (25..=30).contains(&s)));
    let forged = try_login(&world, OFFICER_2, PASSWORD, Some("192.0.2.99, 203.0.113.7")).await;
    assert_eq!(forged.status, 429, "a prepended address does not escape");
    let other = try_login(&world, OFFICER_2, PASSWORD, Some("203.0.113.8")).await;
    assert_eq!(other.status, 201, "another client logs in");

    assert_eq!(lockouts(pool).await, ["client:203.0.113.7"]);
    let detail: Value =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'login_locked'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (detail["client"].clone(), detail["failures"].clone()),
        (json!("203.0.113.7"), json!(4))
    );
    assert_eq!(
        audit_entries(pool).await,
        before + 2,
        "the lockout and the one login"
    );
    assert_eq!(failures(pool, "username", "nobody.1").await, Some(1));
    assert_eq!(
        failures(pool, "username", OFFICER).await,
        Some(1),
        "known like unknown"
    );
    assert_eq!(
        failures(pool, "username", "(invalid username)").await,
        Some(1)
    );
    world.finish().await;
}

#[tokio::test]
async fn failed_login_counts_cannot_grow_without_limit() {
    // Goal: forgotten counts are purged, and beyond login_throttle_rows_max the counts that
    // would be forgotten soonest go first, running lockouts last.
    // Method: throttle::purge on a fresh database holding 200 forgotten counts, 30 idle ones
    // and 5 running lockouts, with a cap of 20.
    let (_, db) = bondgate_storage::testing::fresh_database("review_purge")
        .await
        .expect("the local stack's PostgreSQL is up");
    let pool = bondgate_storage::pool(&db);
    sqlx::query(
        "INSERT INTO login_throttle (scope, key, failures, last_failure_at, locked_until, forget_at)
         SELECT 'username', 'old.' || n, 2, now() - interval '2 hours', NULL::timestamptz,
                now() - interval '1 hour' FROM generate_series(1, 200) n
         UNION ALL
         SELECT 'client', '10.0.0.' || n, 2, now(), NULL, now() + n * interval '1 minute'
         FROM generate_series(1, 30) n
         UNION ALL
         SELECT 'username', 'locked.' || n, 9, now(), now() + interval '1 hour',
                now() + interval '2 hours' FROM generate_series(1, 5) n",
    )
    .execute(pool)
    .await
    .unwrap();
    let purged = bondgate_review::throttle::purge(pool, 20).await.unwrap();
    assert_eq!(purged, 200 + 15);
    let kept: Vec<String> = sqlx::query_scalar("SELECT key FROM login_throttle ORDER BY key")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(kept.len(), 20);
    let locked = kept.iter().filter(|k| k.starts_with("locked.")).count();
    assert_eq!(locked, 5, "running lockouts are kept: {kept:?}");
    assert!(!kept.iter().any(|k| k.starts_with("old.")), "{kept:?}");
    assert!(kept.contains(&"10.0.0.30".to_owned()) && !kept.contains(&"10.0.0.15".to_owned()));
}

/// Hostile `next` / `back` values: other sites in the forms browsers accept, and header
/// injection.
fn hostile_targets() -> Vec<String> {
    let mut targets: Vec<String> = [
        "//evil.com",
        "///evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "/%09/evil.com",
        "%2F%2Fevil.com",
        "/%2F%2Fevil.com",
        "https://evil.com",
        "https:evil.com",
        "HTTPS://evil.com/queue",
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "/queue\r\nSet-Cookie: bg_review_session=fixed",
        "/queue?x=1\r\nLocation: https://evil.com",
        "/queue#@evil.com",
        "/queue/../..//evil.com",
        "/v1/review/declarations/1/reveal",
    ]
    .map(str::to_owned)
    .to_vec();
    targets.push(format!("/queue?page={}", "9".repeat(4_000)));
    targets
}

fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).expect("a query")
}

#[tokio::test]
async fn redirects_go_only_to_the_ui_s_own_pages() {
    // Goal: after login (`next`) and the language switch (`back`) the browser goes only to a
    // page of this UI; every hostile value goes to the queue, no header is injected, and the
    // login form never carries a hostile `next` on; good values are kept.
    // Method: each hostile value on GET /lang (Location read), on GET /login (the hidden field
    // read) and, for a sample, on POST /login (Location and Set-Cookie read).
    let options = Options {
        orders: 1,
        ..Options::default()
    };
    let world = World::start("review_redirect", options).await;
    let (id, _, _) = world.held().await[0].clone();
    let mut anonymous = world.ui_login_client();
    for hostile in hostile_targets() {
        let page = anonymous
            .get(&format!("/lang/en?{}", query("back", &hostile)))
            .await;
        assert_eq!(
            (page.status, page.location()),
            (303, Some("/queue")),
            "{hostile:?}"
        );
        assert_eq!(
            page.set_cookies().len(),
            1,
            "only the language: {hostile:?}"
        );
        let form = anonymous
            .get(&format!("/login?{}", query("next", &hostile)))
            .await;
        assert_eq!(form.status, 200);
        assert!(
            form.body.contains("name=\"next\" value=\"/queue\""),
            "{hostile:?} kept in {}",
            form.body
        );
    }
    for hostile in [
        "//evil.com",
        "/%09/evil.com",
        "https://evil.com",
        "/queue\r\nSet-Cookie: bg_review_session=fixed",
    ] {
        let mut browser = world.ui_login_client();
        let csrf = browser.get("/login").await.csrf().expect("a CSRF field");
        let form = [
            ("csrf", csrf.as_str()),
            ("username", OFFICER),
            ("password", PASSWORD),
            ("next", hostile),
        ];
        let page = browser.post_form("/login", &form).await;
        assert_eq!(
            (page.status, page.location()),
            (303, Some("/queue")),
            "{hostile:?}"
        );
        let cookies = page.set_cookies();
        assert!(
            cookies.iter().all(|c| !c.contains("fixed")) && cookies.len() == 2,
            "{cookies:?}"
        );
    }
    let detail = format!("/declarations/{id}");
    let back = anonymous
        .get(&format!("/lang/zh-CN?{}", query("back", &detail)))
        .await;
    assert_eq!(back.location(), Some(detail.as_str()));
    let to_login = anonymous.get(&detail).await;
    let expected = format!("/login?{}", query("next", &detail));
    assert_eq!(to_login.location(), Some(expected.as_str()));
    let mut browser = world.ui_login_client();
    let csrf = browser.get(&expected).await.csrf().expect("a CSRF field");
    let form = [
        ("csrf", csrf.as_str()),
        ("username", OFFICER),
        ("password", PASSWORD),
        ("next", detail.as_str()),
    ];
    let page = browser.post_form("/login", &form).await;
    assert_eq!(
        page.location(),
        Some(detail.as_str()),
        "a real page is kept"
    );
    world.finish().await;
}

/// The ids an officer's queue shows, open and decided.
async fn queue_ids(api: &Api) -> Vec<i64> {
    let mut ids = Vec::new();
    for state in ["open", "decided"] {
        let (status, page) = api.get(&format!("/v1/review/queue?state={state}")).await;
        assert_eq!(status, 200);
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|item| item["id"].as_i64().expect("an id")),
        );
    }
    ids.sort_unstable();
    ids
}

/// The ids whose detail `api` may read among `candidates`, in order; every refusal is the 404
/// of a missing declaration.
async fn readable_ids(api: &Api, candidates: &[i64]) -> Vec<i64> {
    let mut readable = Vec::new();
    for id in candidates {
        let (status, body) = api.get(&format!("/v1/review/declarations/{id}")).await;
        match status {
            200 => readable.push(*id),
            404 => assert_eq!(
                body,
                json!({ "error": { "code": "bg.review.not_found",
                                   "message": format!("no declaration {id}") } })
            ),
            other => panic!("{other} for {id}: {body}"),
        }
    }
    readable.sort_unstable();
    readable
}

fn found_ids(results: &Value) -> Vec<i64> {
    results["items"]
        .as_array()
        .expect("search results")
        .iter()
        .map(|item| item["id"].as_i64().expect("an id"))
        .collect()
}

async fn reveals(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'reveal'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn officers_read_reveal_and_find_only_what_their_queue_shows() {
    // Goal: detail, reveal and search apply the queue's assignment rule: an officer reads the
    // open declarations that are unassigned or theirs and the ones they decided, nothing else;
    // a refusal is the same 404 as for a missing declaration, audits nothing and shows no
    // personal data; supervisors and auditors read everything.
    // Method: one declaration claimed by the first officer, one decided by the second; for
    // each officer the declarations whose detail answers 200 must be exactly those their queue
    // lists (open and decided); then reveals and searches of the other officer's declaration
    // through the API and the UI, compared with a missing id.
    let world = World::start("review_assignment", Options::default()).await;
    let held = world.held().await;
    let mut all: Vec<i64> = held.iter().map(|(id, _, _)| *id).collect();
    all.sort_unstable();
    let (mine, mine_order, _) = held[0].clone();
    let (decided, _, decided_version) = held[1].clone();
    let officer = world.api_login(OFFICER).await;
    let officer_2 = world.api_login(OFFICER_2).await;
    let claim = json!({ "assignee": OFFICER });
    let path = format!("/v1/review/declarations/{mine}/assignment");
    assert_eq!(
        officer.send(reqwest::Method::PUT, &path, &claim).await.0,
        200
    );
    let release = json!({ "decision": "release" });
    assert_eq!(
        officer_2.decide(decided, decided_version, &release).await.0,
        200
    );

    for api in [&officer, &officer_2] {
        assert_eq!(readable_ids(api, &all).await, queue_ids(api).await);
    }
    assert!(!readable_ids(&officer_2, &all).await.contains(&mine));
    assert!(!readable_ids(&officer, &all).await.contains(&decided));
    for role in [SUPERVISOR, AUDITOR] {
        let api = world.api_login(role).await;
        assert_eq!(
            readable_ids(&api, &all).await,
            all,
            "{role} reads everything"
        );
    }

    let missing = all.iter().max().unwrap() + 1_000;
    let buyer_id = world.orders[&mine_order].order.head.buyer_id_number.clone();
    let reveals_before = reveals(&world.pool).await;
    let reason = json!({ "reason": "核实收货人" });
    for id in [mine, missing] {
        let (status, body) = officer_2
            .post(&format!("/v1/review/declarations/{id}/reveal"), &reason)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("bg.review.not_found"))
        );
        assert!(!body.to_string().contains(&buyer_id));
    }
    let mut browser = world.ui_login(OFFICER_2).await;
    let csrf = browser.csrf().await;
    let mut pages = Vec::new();
    for id in [mine, missing] {
        let detail = browser.get(&format!("/declarations/{id}")).await;
        let form = [("csrf", csrf.as_str()), ("reason", "核实收货人")];
        let revealed = browser
            .post_form(&format!("/declarations/{id}/reveal"), &form)
            .await;
        for page in [&detail, &revealed] {
            assert_eq!(page.status, 404, "{}", page.body);
            assert!(!page.body.contains(&buyer_id) && !page.body.contains(&mine_order));
        }
        let message = format!("no declaration {id}");
        pages.push([detail.body, revealed.body].map(|b| b.replace(&message, "no declaration …")));
    }
    assert_eq!(pages[0], pages[1], "not yours looks exactly like missing");
    assert_eq!(
        reveals(&world.pool).await,
        reveals_before,
        "no refused reveal audited"
    );

    for (by, value) in [
        ("orderNo", mine_order.as_str()),
        ("buyerId", buyer_id.as_str()),
    ] {
        let request = json!({ "by": by, "value": value });
        let (_, found) = officer_2.post("/v1/review/search", &request).await;
        assert!(
            !found_ids(&found).contains(&mine),
            "{by}: hidden from another officer"
        );
        let (_, found) = officer.post("/v1/review/search", &request).await;
        assert!(
            found_ids(&found).contains(&mine),
            "{by}: found by its officer"
        );
        let form = [("csrf", csrf.as_str()), ("by", by), ("value", value)];
        let page = browser.post_form("/search", &form).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains(&format!("/declarations/{mine}\"")),
            "{by} in the UI"
        );
    }
    let (status, _) = officer
        .post(&format!("/v1/review/declarations/{mine}/reveal"), &reason)
        .await;
    assert_eq!(status, 200, "its officer reveals it");
    assert_eq!(reveals(&world.pool).await, reveals_before + 1);
    world.finish().await;
}

/// Appends `count` entries directly, as the service would.
async fn append_entries(pool: &PgPool, count: usize) {
    let mut tx = pool.begin().await.unwrap();
    for n in 0..count {
        let entry = NewEntry {
            actor: "system".to_owned(),
            action: "probe",
            subject: format!("probe:{n}"),
            reason: format!("entry {n}"),
            detail: json!({ "n": n }),
        };
        audit::append(&mut tx, &entry).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn max_id(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM audit_log")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn set_reason(pool: &PgPool, id: i64, reason: &str) {
    sqlx::query("UPDATE audit_log SET reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(pool)
        .await
        .unwrap();
}

/// `(marked id, broken at)` as recorded in audit_verification.
async fn recorded(pool: &PgPool) -> (i64, Option<i64>) {
    sqlx::query_as("SELECT entry_id, broken_at FROM audit_verification")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_audit_page_verifies_only_new_entries_and_still_catches_tampering() {
    // Goal: a view of /audit verifies only entries newer than the recorded mark plus the rows it
    // shows (so a flood of entries does not slow every later view), and tampering is still
    // caught: on the page that shows the entry; by the full verification (scheduled, CLI, API),
    // after which every view says so until a full verification passes again; after the mark by
    // the next view; and at the mark itself (deleted or cut off).
    // Method: 80 entries appended the way the service appends them; rows edited and deleted in
    // SQL; /audit read as an auditor, the verification API called, the recorded mark read.
    let options = Options {
        orders: 1,
        ..Options::default()
    };
    let world = World::start("review_audit_incremental", options).await;
    let pool = &world.pool;
    let mut auditor = world.ui_login(AUDITOR).await;
    let api = world.api_login(AUDITOR).await;
    append_entries(pool, 80).await;
    let page = auditor.get("/audit").await;
    assert!(
        page.body.contains("data-testid=\"chain-ok\""),
        "{}",
        page.body
    );
    let head = max_id(pool).await;
    assert_eq!(
        recorded(pool).await,
        (head, None),
        "the mark is at the head"
    );

    let victim = head - 70;
    let reason: String = sqlx::query_scalar("SELECT reason FROM audit_log WHERE id = $1")
        .bind(victim)
        .fetch_one(pool)
        .await
        .unwrap();
    set_reason(pool, victim, "nothing to see").await;
    let first = auditor.get("/audit").await;
    assert!(
        first.body.contains("data-testid=\"chain-ok\""),
        "old rows are not re-read"
    );
    let older = auditor.get(&format!("/audit?before={}", victim + 3)).await;
    let flagged = format!("data-testid=\"entry-broken\" data-entry=\"{victim}\"");
    assert!(
        older.body.contains(&flagged),
        "the page showing it: {}",
        older.body
    );

    let (_, verdict) = api.get("/v1/review/audit/verification").await;
    assert_eq!(
        (verdict["ok"].clone(), verdict["brokenAt"].clone()),
        (json!(false), json!(victim))
    );
    let broken = format!("data-testid=\"chain-broken\" data-entry=\"{victim}\"");
    assert!(
        auditor.get("/audit").await.body.contains(&broken),
        "recorded for every view"
    );
    set_reason(pool, victim, &reason).await;
    assert!(
        auditor.get("/audit").await.body.contains(&broken),
        "until a full pass"
    );
    let (_, verdict) = api.get("/v1/review/audit/verification").await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert!(
        auditor
            .get("/audit")
            .await
            .body
            .contains("data-testid=\"chain-ok\"")
    );

    append_entries(pool, 3).await;
    let fresh = max_id(pool).await - 1;
    set_reason(pool, fresh, "rewritten").await;
    let page = auditor.get("/audit").await;
    let broken = format!("data-testid=\"chain-broken\" data-entry=\"{fresh}\"");
    assert!(
        page.body.contains(&broken),
        "a new entry is checked by the next view"
    );
    set_reason(pool, fresh, &format!("entry {}", 1)).await;
    let (_, verdict) = api.get("/v1/review/audit/verification").await;
    assert_eq!(verdict["ok"], true, "{verdict}");

    auditor.get("/audit").await;
    let (mark, _) = recorded(pool).await;
    sqlx::query("DELETE FROM audit_log WHERE id >= $1")
        .bind(mark - 1)
        .execute(pool)
        .await
        .unwrap();
    let cut = auditor.get("/audit").await;
    let broken = format!("data-testid=\"chain-broken\" data-entry=\"{mark}\"");
    assert!(
        cut.body.contains(&broken),
        "entries cut off below the mark: {}",
        cut.body
    );
    world.finish().await;
}
