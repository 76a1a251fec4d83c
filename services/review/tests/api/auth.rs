//! Login, sessions, CSRF and roles.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{AUDITOR, OFFICER, OFFICER_2, Options, PASSWORD, SUPERVISOR, World};

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_logout_ends_it() {
    // Goal: pages need a session; login (argon2id) sets an HttpOnly SameSite=Strict cookie;
    // wrong passwords and disabled officers are refused; logout ends the session; logins and
    // logouts are in the audit log, failed attempts are counted (not logged: a lockout is).
    // Method: a browser-like client walks the login form; the cookie is replayed after logout
    // and after the officer is disabled with the same function `bondgate officers disable` uses.
    let world = World::start("review_login", Options::default()).await;
    let mut anonymous = world.ui_login_client();
    let page = anonymous.get("/queue").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login?next=%2Fqueue"));
    let form = anonymous.get("/login").await;
    let csrf = form.csrf().expect("a login CSRF field");
    let wrong = anonymous
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", OFFICER),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("用户名或密码错误"), "{}", wrong.body);
    assert!(!anonymous.cookies.contains_key("bg_review_session"));

    let mut browser = world.ui_login(OFFICER).await;
    let login_cookie = browser.last_session_cookie.clone();
    assert!(login_cookie.contains("HttpOnly"), "{login_cookie}");
    assert!(login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    assert!(login_cookie.contains("Path=/"), "{login_cookie}");
    let queue = browser.get("/queue").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("李伟"), "the officer's name is shown");
    assert_eq!(
        queue.headers["cache-control"], "no-store",
        "pages with personal data are never cached"
    );
    assert!(
        queue.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );

    let csrf = browser.csrf().await;
    let token = browser.cookies["bg_review_session"].clone();
    let out = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(
        !browser.cookies.contains_key("bg_review_session"),
        "the cookie is cleared"
    );
    browser.cookies.insert("bg_review_session".into(), token);
    assert_eq!(
        browser.get("/queue").await.status,
        303,
        "a logged-out token is dead"
    );

    let mut second = world.ui_login(OFFICER_2).await;
    bondgate_review::officers::disable(&world.pool, OFFICER_2)
        .await
        .unwrap();
    assert_eq!(
        second.get("/queue").await.status,
        303,
        "disabling ends sessions"
    );
    let form = anonymous.get("/login").await;
    let csrf = form.csrf().unwrap();
    let refused = anonymous
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", OFFICER_2),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, 401, "a disabled officer cannot log in");

    let actions: Vec<(String, String)> = world
        .audit()
        .await
        .into_iter()
        .map(|(actor, action, _, _)| (actor, action))
        .collect();
    for expected in [
        (OFFICER, "login"),
        (OFFICER, "logout"),
        (OFFICER_2, "login"),
    ] {
        assert!(
            actions.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {actions:?}"
        );
    }
    assert!(
        !actions.iter().any(|(_, action)| action == "login_failed"),
        "{actions:?}"
    );
    let counted: Vec<(String, i32)> = sqlx::query_as(
        "SELECT key, failures FROM login_throttle WHERE scope = 'username' ORDER BY key",
    )
    .fetch_all(&world.pool)
    .await
    .unwrap();
    // The officer's count was forgotten by the login that followed the failure.
    assert_eq!(counted, [(OFFICER_2.to_owned(), 1)]);
    world.finish().await;
}

#[tokio::test]
async fn sessions_expire() {
    // Goal: a session ends after session_ttl_seconds, for the UI and the API alike.
    // Method: a service with a 1-second lifetime; after 2 seconds the cookie leads to the login
    // page and the bearer token gets 401.
    let options = Options {
        session_ttl_seconds: 1,
        orders: 1,
        ..Options::default()
    };
    let world = World::start("review_expiry", options).await;
    let mut browser = world.ui_login(OFFICER).await;
    let api = world.api_login(OFFICER).await;
    assert_eq!(browser.get("/queue").await.status, 200);
    assert_eq!(api.get("/v1/review/me").await.0, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let page = browser.get("/queue").await;
    assert_eq!(page.status, 303);
    assert!(page.location().unwrap().starts_with("/login"));
    let (status, body) = api.get("/v1/review/me").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "bg.auth.unauthorized");
    world.finish().await;
}

#[tokio::test]
async fn forms_and_cookie_calls_without_the_csrf_token_are_refused() {
    // Goal: every state change through a form or with the cookie needs the session's CSRF
    // token; a refused request changes nothing.
    // Method: decision and logout forms without and with a wrong token, the login form without
    // its cookie, and the JSON API with the cookie but without X-CSRF-Token; then the same with
    // the right token.
    let world = World::start("review_csrf", Options::default()).await;
    let (id, _, version) = world.held().await[0].clone();
    let mut browser = world.ui_login(OFFICER).await;
    let version_text = version.to_string();
    let path = format!("/declarations/{id}/decision");
    for csrf in [None, Some("0".repeat(64))] {
        let mut fields = vec![("decision", "release"), ("version", version_text.as_str())];
        if let Some(csrf) = &csrf {
            fields.push(("csrf", csrf.as_str()));
        }
        let page = browser.post_form(&path, &fields).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("bg.auth.csrf"));
    }
    assert_eq!(world.status(id).await, (300, version), "nothing changed");
    assert_eq!(browser.post_form("/logout", &[]).await.status, 403);
    assert_eq!(browser.get("/queue").await.status, 200, "still logged in");

    let mut anonymous = world.ui_login_client();
    let forged = anonymous
        .post_form(
            "/login",
            &[
                ("csrf", "forged"),
                ("username", OFFICER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "login needs its double-submit cookie");

    let cookie = format!("bg_review_session={}", browser.cookies["bg_review_session"]);
    let url = format!("{}/v1/review/declarations/{id}/decisions", world.base);
    let body = json!({ "decision": "release", "version": version });
    let bare = world.http.post(&url).header("cookie", &cookie).json(&body);
    let response = bare.send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(world.status(id).await, (300, version));
    let csrf = browser.csrf().await;
    let with_token = world
        .http
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .json(&body);
    assert_eq!(with_token.send().await.unwrap().status(), 200);
    assert_eq!(world.status(id).await.0, 800);

    let (id2, _, version2) = world.held().await[0].clone();
    let csrf = browser.csrf().await;
    let page = browser
        .post_form(
            &format!("/declarations/{id2}/decision"),
            &[
                ("csrf", &csrf),
                ("decision", "release"),
                ("version", &version2.to_string()),
            ],
        )
        .await;
    assert_eq!(
        page.status, 303,
        "the form with its token works: {}",
        page.body
    );
    assert_eq!(world.status(id2).await.0, 800);
    world.finish().await;
}

#[tokio::test]
async fn roles_and_assignments_limit_what_each_officer_may_do() {
    // Goal: auditors read but never decide or reveal; officers cannot read the audit log,
    // decide a declaration assigned to someone else, or assign others; supervisors reassign,
    // see everyone's work and decide anything.
    // Method: the same declarations through the JSON API with a session of each role.
    let world = World::start("review_roles", Options::default()).await;
    let held = world.held().await;
    let (a, _, va) = held[0].clone();
    let (b, _, vb) = held[1].clone();
    let officer = world.api_login(OFFICER).await;
    let officer_2 = world.api_login(OFFICER_2).await;
    let supervisor = world.api_login(SUPERVISOR).await;
    let auditor = world.api_login(AUDITOR).await;
    let release = json!({ "decision": "release" });

    let (status, body) = auditor.decide(a, va, &release).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("bg.auth.forbidden"))
    );
    let reveal = json!({ "reason": "核对身份" });
    let path_a = format!("/v1/review/declarations/{a}");
    assert_eq!(
        auditor.post(&format!("{path_a}/reveal"), &reveal).await.0,
        403
    );
    assert_eq!(auditor.get(&path_a).await.0, 200, "auditors read");
    assert_eq!(auditor.get("/v1/review/audit").await.0, 200);
    assert_eq!(officer.get("/v1/review/audit").await.0, 403);
    assert_eq!(officer.get("/v1/review/audit/verification").await.0, 403);

    let assign = |to: &str| json!({ "assignee": to });
    let put = reqwest::Method::PUT;
    let claim = officer
        .send(
            put.clone(),
            &format!("{path_a}/assignment"),
            &assign(OFFICER),
        )
        .await;
    assert_eq!(claim.0, 200, "{}", claim.1);
    let steal = officer_2
        .send(
            put.clone(),
            &format!("{path_a}/assignment"),
            &assign(OFFICER_2),
        )
        .await;
    assert_eq!(steal.0, 403, "officers cannot take others' declarations");
    let (status, body) = officer_2.decide(a, va, &release).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("bg.review.assigned_elsewhere"))
    );
    let (_, queue_2) = officer_2.get("/v1/review/queue").await;
    let ids_2: Vec<i64> = queue_2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(
        !ids_2.contains(&a),
        "another officer's declaration is not in my queue"
    );
    assert_eq!(ids_2.len(), held.len() - 1);
    let (_, queue_s) = supervisor.get("/v1/review/queue").await;
    assert_eq!(
        queue_s["total"],
        held.len(),
        "supervisors see everyone's work"
    );
    let (_, mine) = officer.get("/v1/review/queue?assignee=me").await;
    assert_eq!(mine["total"], 1);

    let handover = supervisor
        .send(
            put.clone(),
            &format!("/v1/review/declarations/{b}/assignment"),
            &assign(OFFICER_2),
        )
        .await;
    assert_eq!(handover.0, 200);
    let to_auditor = supervisor
        .send(
            put,
            &format!("/v1/review/declarations/{b}/assignment"),
            &assign(AUDITOR),
        )
        .await;
    assert_eq!(
        to_auditor.0, 422,
        "only officers and supervisors take declarations"
    );
    let (status, body) = supervisor.decide(a, va, &release).await;
    assert_eq!(status, 200, "supervisors decide anything: {body}");
    let (status, _) = officer_2.decide(b, vb, &release).await;
    assert_eq!(status, 200, "the assignee decides");
    let (_, decided) = officer.get("/v1/review/queue?state=decided").await;
    assert_eq!(decided["total"], 0, "officers see their own decisions only");
    let (_, decided) = supervisor.get("/v1/review/queue?state=decided").await;
    assert_eq!(decided["total"], 2);
    world.finish().await;
}
