//! Personal data: masked in every page, API answer and log line unless revealed; every reveal
//! and every lookup of a person audited.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::helpers::{AUDITOR, OFFICER, Options, SUPERVISOR, World};

/// Log lines written during the test, from this thread's tasks.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The plaintext personal data of the generated orders that must never show: ID numbers,
/// phones and addresses (names are too short to tell apart from other text reliably, and are
/// checked masked on the detail page instead).
fn secrets(world: &World) -> Vec<String> {
    let mut values = Vec::new();
    for order in world.orders.values() {
        let head = &order.order.head;
        values.extend([
            head.buyer_id_number.clone(),
            head.buyer_telephone.clone(),
            head.consignee_telephone.clone(),
            head.consignee_address.clone(),
            order.payment.payer_id_number.clone(),
        ]);
        values.extend(order.payment.telephone.clone());
    }
    values.sort();
    values.dedup();
    values
}

fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} shows personal data {secret:?}"
        );
    }
}

// One thread, so the thread-local log subscriber sees the service's and the pipeline's tasks.
#[tokio::test(flavor = "current_thread")]
async fn personal_data_is_masked_unless_revealed_and_every_reveal_is_audited() {
    // Goal: no page, API answer or log line shows an ID number, phone or address unmasked,
    // except the answer to an audited reveal; auditors cannot reveal; a search by ID number
    // finds the buyer's declarations and is audited without the number.
    // Method: every page and API answer of the held declarations is fetched as an officer, a
    // supervisor and an auditor and searched for the generated orders' plaintext values; logs
    // are captured at debug level for the whole test; then one reveal and one ID search.
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(logs.clone())
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let options = Options {
        relative_payers: true,
        ..Options::default()
    };
    let world = World::start("review_privacy", options).await;
    let secrets = secrets(&world);
    let held = world.held().await;
    let mut officer = world.ui_login(OFFICER).await;
    let mut supervisor = world.ui_login(SUPERVISOR).await;
    let api = world.api_login(AUDITOR).await;
    for path in ["/queue", "/queue?state=decided", "/search"] {
        assert_no_secret(path, &officer.get(path).await.body, &secrets);
    }
    assert_no_secret("/audit", &supervisor.get("/audit").await.body, &secrets);
    assert_no_secret(
        "queue API",
        &api.get("/v1/review/queue").await.1.to_string(),
        &secrets,
    );
    for (id, order_no, _) in &held {
        let page = officer.get(&format!("/declarations/{id}")).await;
        assert_eq!(page.status, 200);
        assert_no_secret(&format!("page of {order_no}"), &page.body, &secrets);
        let head = &world.orders[order_no].order.head;
        let masked = bondgate_domain::privacy::mask_id_number(&head.buyer_id_number);
        assert!(
            page.body.contains(&masked),
            "the masked ID {masked} is shown"
        );
        let phone = bondgate_domain::privacy::mask_phone(&head.buyer_telephone);
        assert!(
            page.body.contains(&phone),
            "the masked phone {phone} is shown"
        );
        assert!(
            !page.body.contains(&format!(">{}<", head.buyer_name)),
            "names are masked"
        );
        let (_, detail) = api.get(&format!("/v1/review/declarations/{id}")).await;
        assert_no_secret("detail API", &detail.to_string(), &secrets);
        assert_eq!(detail["revealed"], false);
    }

    let (id, order_no, _) = held[0].clone();
    let head = world.orders[&order_no].order.head.clone();
    let path = format!("/declarations/{id}/reveal");
    let csrf = officer.csrf().await;
    let no_reason = officer
        .post_form(&path, &[("csrf", &csrf), ("reason", "")])
        .await;
    assert_eq!(no_reason.status, 422, "a reveal needs a reason");
    assert_no_secret("refused reveal", &no_reason.body, &secrets);
    let revealed = officer
        .post_form(&path, &[("csrf", &csrf), ("reason", "联系收货人核实地址")])
        .await;
    assert_eq!(revealed.status, 200);
    assert!(revealed.body.contains(&head.buyer_id_number), "revealed");
    assert!(revealed.body.contains(&head.consignee_address));
    assert_eq!(revealed.headers["cache-control"], "no-store");
    let again = officer.get(&format!("/declarations/{id}")).await;
    assert_no_secret("page after the reveal", &again.body, &secrets);
    let mut auditor = world.ui_login(AUDITOR).await;
    let csrf = auditor.csrf().await;
    let refused = auditor
        .post_form(&path, &[("csrf", &csrf), ("reason", "抽查")])
        .await;
    assert_eq!(refused.status, 403, "auditors cannot reveal");
    assert_no_secret("auditor's refused reveal", &refused.body, &secrets);
    let (status, _) = api
        .post(
            &format!("/v1/review/declarations/{id}/reveal"),
            &json!({ "reason": "抽查" }),
        )
        .await;
    assert_eq!(status, 403);
    let reveals: Vec<(String, String)> = world
        .audit()
        .await
        .into_iter()
        .filter(|(_, action, _, _)| action == "reveal")
        .map(|(actor, _, subject, reason)| (format!("{actor} {subject}"), reason))
        .collect();
    assert_eq!(
        reveals,
        vec![(
            format!("{OFFICER} declaration:{id}"),
            "联系收货人核实地址".to_owned()
        )],
        "exactly the one reveal is audited"
    );

    let csrf = officer.csrf().await;
    let found = officer
        .post_form(
            "/search",
            &[
                ("csrf", &csrf),
                ("by", "buyerId"),
                ("value", &head.buyer_id_number),
            ],
        )
        .await;
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains(&order_no),
        "the buyer's declaration is found"
    );
    assert_no_secret("buyer search", &found.body, &secrets);
    let searches: Vec<String> = sqlx::query_scalar(
        "SELECT detail::text FROM audit_log WHERE action = 'search_buyer' AND actor = $1",
    )
    .bind(OFFICER)
    .fetch_all(&world.pool)
    .await
    .unwrap();
    assert_eq!(searches.len(), 1, "the search is audited");
    let whole_log: Vec<String> =
        sqlx::query_scalar("SELECT actor || subject || reason || detail::text FROM audit_log")
            .fetch_all(&world.pool)
            .await
            .unwrap();
    assert_no_secret("audit log", &whole_log.join("\n"), &secrets);

    let metrics = officer.get("/metrics").await.body;
    assert!(
        metrics.contains("bondgate_review_reveals_total 1"),
        "{metrics}"
    );
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("security keys are the public development keys"),
        "the review service's logs were captured"
    );
    assert_no_secret("the logs", &logged, &secrets);
    world.finish().await;
}
