//! Property-based testing of the whole API from its own OpenAPI document with schemathesis
//! (`scripts/lib/schemathesis.sh` installs it and runs this test; it is ignored otherwise
//! because it needs the external tool).

use std::time::Duration;

use crate::helpers::{EBP, Options, spawn_app};

/// No 5xx, bodies match the published schema, every status is documented.
/// (`positive_data_acceptance` is not asked: request bodies are free-form CEB documents whose
/// business rules the schema does not describe, so most schema-valid bodies are rightly 422.)
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance";

/// Examples per operation: enough to find crashes and schema drift, small enough for `scripts/test`.
const EXAMPLES_MAX: &str = "20";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    // Goal: no request generated from /openapi.json makes the service answer 5xx, and every
    // answer conforms to the schema the service publishes.
    // Method: the service on port 0 with a fresh migrated and seeded database and a fresh topic;
    // schemathesis (`BONDGATE_SCHEMATHESIS`, default `schemathesis` on PATH) runs every
    // operation with the platform's API key and the checks below; its exit status decides.
    let app = spawn_app(Options {
        seeded: true,
        ..Options::default()
    })
    .await;
    // scripts/test installs it into .stack/venv (scripts/lib/schemathesis.sh) and exports the
    // path; without it the test fails below with the error of the missing program.
    let program = std::env::var("BONDGATE_SCHEMATHESIS").unwrap_or("schemathesis".to_owned());
    let run = tokio::process::Command::new(&program)
        .args(["run", &format!("{}/openapi.json", app.base)])
        .args(["--checks", CHECKS])
        .args(["--max-examples", EXAMPLES_MAX])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", app.key(EBP)),
        ])
        .args(["--workers", "2", "--seed", "7"])
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("schemathesis finishes within 4 minutes")
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        status.success(),
        "schemathesis found problems (see its report above)"
    );
}
