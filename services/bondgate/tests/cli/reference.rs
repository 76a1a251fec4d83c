//! Where `bondgate check` takes its reference data and rules from: the database and the
//! services' configuration by default, CSV files or the SAMPLE seed when asked.

use std::path::PathBuf;

use bondgate_storage::testing::fresh_database;
use rust_decimal::Decimal;

use crate::helpers::{Run, bondgate_with_env, bundle_args};

/// The SAMPLE seed's CSV files (what `--sample-seed` has compiled in).
fn seed_csv(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/domain/seed");
    path.join(name).display().to_string()
}

/// `check` of the clean fixture with `extra` flags and environment.
fn check_clean(extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = bundle_args("clean");
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    bondgate_with_env(&args, env)
}

/// The verdict's VAT after asserting a verdict was printed from `reference`.
fn vat_from(run: &Run, reference: &str) -> String {
    assert_eq!(run.code, 0, "{run:?}");
    let verdict = run.json();
    assert_eq!(verdict["reference"], reference, "{verdict:#}");
    verdict["tax"]["vat"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn check_decides_on_the_databases_data_and_the_configured_rules() {
    // Goal: by default the pre-flight uses what the pipeline uses: the database's positive
    // list and the services' [rules]; files and the SAMPLE seed only when asked, and the report
    // says which source decided.
    // Method: seed a database with the SAMPLE data, then lower mineral water's VAT rate there
    // to 9 %. The clean bundle (dutiable 410.00) pays 9 % × 0.7 × 410 = 25.83 from the
    // database, 36.90 with BONDGATE__RULES__TAX__CBEC_FACTOR=1, and the seed's
    // 13 % × 0.7 × 410 = 37.31 from the seed's CSV files or --sample-seed.
    let (url, db) = fresh_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    bondgate::seed::seed_database(&url, Decimal::ZERO)
        .await
        .unwrap();
    sqlx::query("UPDATE positive_list SET vat_rate = 0.09 WHERE tariff_line = '22011010'")
        .execute(bondgate_storage::pool(&db))
        .await
        .unwrap();
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    assert_eq!(vat_from(&check_clean(&[], &env), "database"), "25.83");
    let full_rate = [env[0], ("BONDGATE__RULES__TAX__CBEC_FACTOR", "1")];
    assert_eq!(vat_from(&check_clean(&[], &full_rate), "database"), "36.90");

    let (book, list) = (seed_csv("account_book.csv"), seed_csv("positive_list.csv"));
    let files = ["--account-book", &book, "--positive-list", &list];
    assert_eq!(vat_from(&check_clean(&files, &env), "files"), "37.31");
    let sample = check_clean(&["--sample-seed"], &env);
    assert_eq!(vat_from(&sample, "sample seed"), "37.31");
}

#[tokio::test]
async fn check_without_usable_reference_data_says_so() {
    // Goal: the pre-flight never falls back silently to data that is not the zone's.
    // Method: an unreachable database fails (exit 1) naming the offline flags; an unseeded one
    // answers with a note that its account book is empty; one CSV file without the other is a
    // usage error (exit 2).
    let unreachable = [(
        "BONDGATE__DATABASE__URL",
        "postgres://nobody@127.0.0.1:1/none",
    )];
    let run = check_clean(&[], &unreachable);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--sample-seed"), "{run:?}");

    let (url, _db) = fresh_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    let run = check_clean(&[], &[("BONDGATE__DATABASE__URL", url.as_str())]);
    assert_eq!(run.code, 0, "{run:?}");
    let verdict = run.json();
    assert_eq!(
        verdict["codes"],
        serde_json::json!(["-900205"]),
        "{verdict:#}"
    );
    let notes = verdict["notes"].to_string();
    assert!(notes.contains("account book is empty"), "{verdict:#}");

    let book = seed_csv("account_book.csv");
    let run = check_clean(&["--account-book", &book], &unreachable);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--positive-list"), "{run:?}");
}
