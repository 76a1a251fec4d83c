//! Conformance of the intake API against the official GACC 202205 sample messages (feature
//! `conformance`): `cargo test -p bondgate-intake --features conformance --test conformance`.
//!
//! The samples are reference data outside the repository (`BONDGATE_SAMPLES_DIR`, default
//! `<workspace>/../shared/domain/samples`); without them these tests FAIL rather than pass
//! vacuously. They are FORMAT samples, not business-valid documents (samples/README.md): intake
//! must parse them and then refuse what its own checks catch, with the precise codes and paths.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::path::PathBuf;
use std::time::Duration;

use helpers::{Options, TestApp, read_topic, spawn_app};
use sea_orm::ConnectionTrait;
use serde_json::Value;

/// Senders named by the samples: the CEB311 platform (also its seller and payer), the CEB411
/// payment enterprise, the CEB511 logistics enterprise.
const SAMPLE_EBP: &str = "1105910159";
const SAMPLE_PAY: &str = "1101110323";
const SAMPLE_LOG: &str = "1101180326";

fn samples_dir() -> PathBuf {
    let dir = std::env::var_os("BONDGATE_SAMPLES_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/domain/samples"),
        PathBuf::from,
    );
    assert!(
        dir.join("ceb_import_202205.xsd").is_file(),
        "official samples not found in {} (set BONDGATE_SAMPLES_DIR)",
        dir.display()
    );
    dir
}

fn official(code: &str) -> Vec<u8> {
    let path = samples_dir().join(format!("ceb{code}_official_202205.xml"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The service with the samples' enterprises registered and a key for each.
async fn app_with_sample_senders() -> (TestApp, Vec<(&'static str, String)>) {
    let app = spawn_app(Options::default()).await;
    let mut keys = Vec::new();
    for code in [SAMPLE_EBP, SAMPLE_PAY, SAMPLE_LOG] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO enterprises (code, name) VALUES ('{code}', 'sample {code}')"
            ))
            .await
            .expect("an enterprise");
        let created = bondgate_intake::keys::create(&app.db, code, "conformance")
            .await
            .expect("a key");
        keys.push((code, created.key));
    }
    (app, keys)
}

fn key<'a>(keys: &'a [(&'static str, String)], code: &str) -> &'a str {
    &keys.iter().find(|(c, _)| *c == code).expect("a key").1
}

/// Posts a sample to `/v1/ceb`; returns the status and the JSON body (printed for the log).
async fn post_sample(app: &TestApp, path: &str, code: &str, key: &str) -> (u16, Value) {
    let response = app
        .post(path, "application/xml", official(code), Some(key))
        .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    println!(
        "CEB{code} -> {status}\n{}",
        serde_json::to_string_pretty(&body).unwrap()
    );
    (status, body)
}

/// `(index, code, path, message)` of every problem of a 422 body.
fn problems(body: &Value) -> Vec<(u64, String, String, String)> {
    let text = |p: &Value, field: &str| p[field].as_str().unwrap_or_default().to_owned();
    body["problems"]
        .as_array()
        .map(|problems| {
            problems
                .iter()
                .map(|p| {
                    let index = p["index"].as_u64().unwrap_or(u64::MAX);
                    (index, text(p, "code"), text(p, "path"), text(p, "message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a whole-request refusal: 422 `bg.request.invalid_documents`.
fn assert_refused(status: u16, body: &Value) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["code"], "bg.request.invalid_documents",
        "{body}"
    );
}

#[tokio::test]
async fn official_samples_are_refused_with_their_precise_problems_and_nothing_is_produced() {
    // Goal: the official CEB311/411/511 samples (format samples, not business-valid) parse, and
    // intake refuses each whole request with exactly the problems its own checks find; nothing
    // of a refused request reaches the topic.
    // Method: register the samples' senders, post each sample with its sender's key (the CEB511
    // with `?ebpCode=` of the CEB311's platform), assert status, codes, indexes, paths and
    // messages, then read the documents topic back.
    let (app, keys) = app_with_sample_senders().await;

    // CEB311: six copies of one order whose line 2 is 200 × 10 but says totalPrice 12000. The
    // line arithmetic fails in every copy; a copy that does not validate is not counted as a
    // duplicate, and the 5 000 CNY limit is the pipeline's rule (it needs the tax and quota
    // context), so the line total is the only problem.
    let (status, body) = post_sample(&app, "/v1/ceb", "311", key(&keys, SAMPLE_EBP)).await;
    assert_refused(status, &body);
    let found = problems(&body);
    assert_eq!(found.len(), 6, "{body}");
    for (index, problem) in found.iter().enumerate() {
        assert_eq!(problem.0, index as u64, "{body}");
        assert_eq!(problem.1, "bg.match.line_total", "{body}");
        assert_eq!(problem.2, "orderList[1].totalPrice", "{body}");
        assert_eq!(
            problem.3, "totalPrice 12000 is not price × qty = 2000",
            "{body}"
        );
    }

    // CEB411: ten records, two distinct payments alternating (same guid and content). Records
    // 2..9 repeat a business key already in the request (customs: -401007 duplicate payment).
    let (status, body) = post_sample(&app, "/v1/ceb", "411", key(&keys, SAMPLE_PAY)).await;
    assert_refused(status, &body);
    let found = problems(&body);
    assert_eq!(found.len(), 8, "{body}");
    for (offset, problem) in found.iter().enumerate() {
        let index = offset as u64 + 2;
        let transaction = if index.is_multiple_of(2) {
            "P0242250007"
        } else {
            "P0242250008"
        };
        assert_eq!(problem.0, index, "{body}");
        assert_eq!(problem.1, "bg.request.duplicate_record", "{body}");
        assert_eq!(
            problem.3,
            format!("payment {SAMPLE_PAY}/{transaction} occurs more than once in this request")
        );
    }

    // CEB511: six waybills sharing logisticsNo L201603081138007, which must be unique per
    // logistics company (customs: -504012/-504015 duplicate waybill). packNo 6000 breaks the
    // "packNo limited to 1" rule too, but that is a matching rule of the pipeline
    // (`bg.match.pack_no`), not a format or arithmetic check of intake.
    let path = format!("/v1/ceb?ebpCode={SAMPLE_EBP}");
    let (status, body) = post_sample(&app, &path, "511", key(&keys, SAMPLE_LOG)).await;
    assert_refused(status, &body);
    let found = problems(&body);
    assert_eq!(found.len(), 5, "{body}");
    for (offset, problem) in found.iter().enumerate() {
        assert_eq!(problem.0, offset as u64 + 1, "{body}");
        assert_eq!(problem.1, "bg.request.duplicate_record", "{body}");
        assert_eq!(
            problem.3,
            format!("waybill {SAMPLE_LOG}/L201603081138007 occurs more than once in this request")
        );
    }

    let records = read_topic(&app, 1, Duration::from_secs(5)).await;
    assert!(
        records.is_empty(),
        "refused documents reached the topic: {records:?}"
    );
}
