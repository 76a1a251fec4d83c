//! Integration tests of the `bondgate` binary: `ceb parse`, `check` and `dxp` on our own
//! fixtures, `check`'s reference data, `migrate`, `seed`, `keys`, `officers` and `audit` against
//! a per-test database on the local stack.

mod audit;
mod dxp;
mod helpers;
mod officers;
mod reference;

use bondgate_ceb::sign::{SigningKey, VerifyingKey, verify};
use bondgate_storage::testing::{empty_database, fresh_database};
use helpers::{bondgate, bondgate_with_env, check, check_args, codes, fixture};
use rust_decimal::Decimal;

#[test]
fn a_clean_bundle_is_released_with_the_worked_example_tax() {
    // Goal: the CBEC.md worked example (mineral water 410.00) releases with VAT 37.31.
    // Method: check the clean fixture and compare the whole tax block and line.
    let (_, verdict) = check("clean", &[]);
    assert_eq!(verdict["status"], 800, "{verdict:#}");
    assert_eq!(verdict["reference"], "sample seed");
    assert_eq!(codes(&verdict), Vec::<String>::new());
    assert_eq!(
        verdict["tax"],
        serde_json::json!({"customs": "0.00", "vat": "37.31", "consumption": "0.00", "total": "37.31"})
    );
    let line = &verdict["lines"][0];
    assert_eq!(line["gnum"], 1);
    assert_eq!(line["taxPrice"], "410.00");
    assert_eq!(line["vat"], "37.31");
    assert_eq!(line["customs"], "0.00");
    assert_eq!(line["consumption"], "0.00");
    assert_eq!(verdict["notes"], serde_json::json!([]));
}

#[test]
fn a_multi_line_order_over_5000_is_rejected_621005() {
    // Goal: the single-transaction limit. Method: three lines totalling 5 200.00.
    let (_, verdict) = check("over_limit", &[]);
    assert_eq!(verdict["status"], 100, "{verdict:#}");
    assert_eq!(codes(&verdict), ["-621005"]);
    assert_eq!(verdict["returnStatus"], -621005);
    // A rejected declaration levies no tax and keeps no lines, as the pipeline stores it.
    assert_eq!(verdict["lines"], serde_json::json!([]));
    assert_eq!(verdict["tax"]["total"], "0.00");
}

#[test]
fn a_payment_amount_that_differs_from_the_order_is_rejected() {
    // Goal: acturalPaid must equal amountPaid. Method: payment of 400.00 for 410.00.
    let (_, verdict) = check("payment_mismatch", &[]);
    assert_eq!(verdict["status"], 100, "{verdict:#}");
    assert_eq!(codes(&verdict), ["-900101"]);
    let finding = &verdict["findings"][0];
    assert_eq!(finding["code"], "bg.match.amount_paid");
    assert_eq!(finding["field"], "paymentHead.amountPaid");
    assert_eq!(finding["expected"], "410.00");
    assert_eq!(finding["actual"], "400.00");
}

#[test]
fn a_payer_other_than_the_buyer_needs_a_verified_buyer() {
    // Goal: CBEC.md §3 rule 8. Method: the same bundle without and with --buyer-verified.
    let (_, verdict) = check("payer_differs", &[]);
    assert_eq!(verdict["status"], 100, "{verdict:#}");
    assert_eq!(codes(&verdict), ["-900101"]);
    let fields: Vec<&str> = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["paymentHead.payerName", "paymentHead.payerIdNumber"]
    );
    let (_, verdict) = check("payer_differs", &["--buyer-verified"]);
    assert_eq!(verdict["status"], 800, "{verdict:#}");
}

#[test]
fn an_sku_outside_the_account_book_is_rejected() {
    // Goal: bonded goods must be account-book items. Method: SKU NOT-IN-BOOK.
    let (_, verdict) = check("unknown_sku", &[]);
    assert_eq!(verdict["status"], 100, "{verdict:#}");
    assert_eq!(codes(&verdict), ["-900205"]);
    assert_eq!(verdict["lines"], serde_json::json!([]));
    assert_eq!(verdict["tax"]["total"], "0.00");
}

#[test]
fn the_annual_limit_uses_the_amount_already_used() {
    // Goal: --annual-used feeds the annual limit. Method: 25 800 used + 410 > 26 000.
    let (_, verdict) = check("clean", &["--annual-used", "25800"]);
    assert_eq!(codes(&verdict), ["-621018"], "{verdict:#}");
    let run = helpers::bondgate(&check_args("clean", &["--annual-used", "-1"]));
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn fields_that_do_not_parse_are_a_verdict_with_their_paths() {
    // Goal: format problems are reasons of a 100, not a crash or exit 2.
    // Method: goodsValue "abc" and price "-1" in the order.
    let (_, verdict) = check("bad_field", &[]);
    assert_eq!(verdict["status"], 100, "{verdict:#}");
    let paths: Vec<&str> = verdict["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["orderHead.goodsValue", "orderList[0].price"]);
    assert!(
        codes(&verdict).iter().all(|c| c.starts_with("bg.format.")),
        "{verdict:#}"
    );
    assert!(
        verdict["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("orderHead.goodsValue: ")
    );
}

#[test]
fn only_the_first_record_is_checked_and_the_rest_is_noted() {
    // Goal: multi-record files are pre-flighted by their first record. Method: two orders.
    let (_, verdict) = check("two_orders", &[]);
    assert_eq!(verdict["status"], 800, "{verdict:#}");
    let notes = verdict["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].as_str().unwrap().contains("holds 2 records"),
        "{notes:?}"
    );
}

#[test]
fn unusable_input_exits_2_with_one_line() {
    // Goal: exit 2 and one stderr line for a wrong message type, a missing file, non-CEB bytes.
    // Method: swap the order and payment; point --waybill at nothing; give a CSV to --order.
    let mut args = check_args("clean", &[]);
    args.swap(2, 4);
    let run = bondgate(&args);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("bondgate: bg.input.wrong_message at /CEB411Message: --order"),
        "{run:?}"
    );

    let mut args = check_args("clean", &[]);
    args[6] = "/nonexistent/waybill.xml".to_owned();
    let run = bondgate(&args);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("bondgate: io.unreadable at /nonexistent"),
        "{run:?}"
    );

    let mut args = check_args("clean", &[]);
    args[2] = helpers::fixtures_dir()
        .join("README.md")
        .display()
        .to_string();
    let run = bondgate(&args);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with("bondgate: ceb.malformed at "),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
}

#[test]
fn ceb_parse_prints_the_raw_model_wrapped_in_its_message() {
    // Goal: `ceb parse` shows what the codec read. Method: parse the clean order.
    let run = bondgate(&[
        "ceb".as_ref(),
        "parse".as_ref(),
        fixture("clean", "order.xml").as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["message"], "CEB311Message");
    assert_eq!(json["guid"], "6F1C2A4E-7B3D-4C8A-9E51-0D2B3C4A5E61");
    assert_eq!(json["records"][0]["orderHead"]["acturalPaid"], "410.00");
    assert_eq!(json["records"][0]["orderList"][0]["itemNo"], "WATER-500ML");
    assert_eq!(json["baseTransfer"]["copCode"], "5001980001");
}

#[test]
fn ceb_parse_refuses_invalid_input_with_exit_2() {
    // Goal: one `code at path: detail` line and exit 2. Method: an order truncated mid-element.
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(fixture("clean", "order.xml")).unwrap();
    let truncated = dir.path().join("truncated.xml");
    std::fs::write(&truncated, &xml[..xml.len() / 2]).unwrap();
    let run = bondgate(&["ceb".as_ref(), "parse".as_ref(), truncated.as_os_str()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("bondgate: ceb.truncated at /CEB311Message"),
        "{run:?}"
    );
}

#[test]
fn emit_inventory_writes_a_signed_1210_inventory() {
    // Goal: the pre-flight CEB621 is declared (appStatus 2), bonded and signed by the given key.
    // Method: emit with a generated PEM key, verify the signature, read it back with `ceb parse`.
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let pem_path = dir.path().join("key.pem");
    std::fs::write(&pem_path, key.to_pkcs8_pem().unwrap()).unwrap();
    let out = dir.path().join("inventory.xml");
    let (run, verdict) = check(
        "clean",
        &[
            "--emit-inventory",
            out.to_str().unwrap(),
            "--signing-key",
            pem_path.to_str().unwrap(),
        ],
    );
    assert_eq!(run.stderr, "", "a given key needs no warning");
    assert_eq!(verdict["inventory"]["copNo"], "SO20240601001");
    assert_eq!(verdict["inventory"]["generatedKey"], false);
    let xml = std::fs::read_to_string(&out).unwrap();
    let public: VerifyingKey = key.verifying_key();
    verify(&xml, &public).expect("signed with the given key");

    let parsed = bondgate(&["ceb".as_ref(), "parse".as_ref(), out.as_os_str()]).json();
    assert_eq!(parsed["message"], "CEB621Message");
    assert_eq!(parsed["signed"], true);
    let head = &parsed["records"][0]["inventoryHead"];
    assert_eq!(head["appStatus"], "2");
    assert_eq!(head["tradeMode"], "1210");
    assert_eq!(head["emsNo"], "T8001W000001");
    assert_eq!(head["customsCode"], "8012");
    assert_eq!(head["agentCode"], "5001980002");
    assert_eq!(head["preNo"], verdict["inventory"]["preNo"]);
    assert_eq!(
        parsed["records"][0]["inventoryList"][0]["itemRecordNo"],
        "10003"
    );
}

#[test]
fn emit_inventory_without_a_key_says_so_and_a_rejection_writes_nothing() {
    // Goal: a generated key is announced on stderr; a rejected order gets no inventory.
    // Method: emit for the clean bundle without a key, then for the over-limit bundle.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inventory.xml");
    let (run, verdict) = check("clean", &["--emit-inventory", out.to_str().unwrap()]);
    assert!(run.stderr.contains("freshly generated"), "{run:?}");
    assert_eq!(verdict["inventory"]["generatedKey"], true);
    assert!(out.exists());

    let rejected = dir.path().join("rejected.xml");
    let (_, verdict) = check(
        "over_limit",
        &["--emit-inventory", rejected.to_str().unwrap()],
    );
    assert!(!rejected.exists());
    assert!(verdict.get("inventory").is_none());
    assert_eq!(
        verdict["notes"][0],
        "no inventory written: the order was rejected"
    );

    let bad_key = dir.path().join("bad.pem");
    std::fs::write(&bad_key, "not a key").unwrap();
    let run = bondgate(&check_args(
        "clean",
        &[
            "--emit-inventory",
            out.to_str().unwrap(),
            "--signing-key",
            bad_key.to_str().unwrap(),
        ],
    ));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with("bondgate: sign.key_invalid at "),
        "{run:?}"
    );
}

#[tokio::test]
async fn migrate_status_up_and_down() {
    // Goal: `migrate` drives the sea-orm Migrator. Method: on an empty database, status lists
    // all pending, up applies all, down rolls back exactly the last one.
    let url = empty_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let status = |run: &helpers::Run| -> Vec<String> {
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
            .lines()
            .map(|l| l.split(' ').next().unwrap().to_owned())
            .collect()
    };
    let before = status(&bondgate_with_env(&["migrate", "status"], &env));
    assert!(
        before.len() >= 3 && before.iter().all(|s| s == "pending"),
        "{before:?}"
    );
    let up = status(&bondgate_with_env(&["migrate"], &env));
    assert!(up.iter().all(|s| s == "applied"), "{up:?}");
    let down = status(&bondgate_with_env(&["migrate", "down"], &env));
    assert_eq!(
        down.iter().filter(|s| *s == "pending").count(),
        1,
        "{down:?}"
    );
    assert_eq!(down.last().unwrap(), "pending");
    let again = status(&bondgate_with_env(&["migrate", "up"], &env));
    assert!(again.iter().all(|s| s == "applied"), "{again:?}");
}

#[tokio::test]
async fn seeding_twice_does_not_double_the_stock() {
    // Goal: `seed` is idempotent and the stock ledger sums to the balance.
    // Method: seed a fresh database twice with --stock 50; compare balances, ledger sums and
    // row counts with the seed files.
    let (url, db) = fresh_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let first = bondgate_with_env(&["seed", "--stock", "50"], &env);
    assert_eq!(first.code, 0, "{first:?}");
    let summary = first.json();
    let book = bondgate_domain::seed::load_seed_account_book().unwrap();
    let list = bondgate_domain::seed::load_seed_positive_list().unwrap();
    assert_eq!(summary["newItemsStocked"], book.len());
    let second = bondgate_with_env(&["seed", "--stock", "50"], &env);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(second.json()["newItemsStocked"], 0);

    let pool = bondgate_storage::pool(&db);
    let rows: Vec<(String, Decimal, Option<Decimal>, i64)> = sqlx::query_as(
        "SELECT i.item_no, i.on_hand, sum(m.on_hand_delta), count(m.id) \
         FROM account_book_items i LEFT JOIN stock_movements m \
           ON m.ems_no = i.ems_no AND m.item_record_no = i.item_record_no \
         GROUP BY i.item_no, i.on_hand",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), book.len());
    for (item_no, on_hand, ledger, movements) in rows {
        assert_eq!(on_hand, Decimal::from(50), "{item_no}");
        assert_eq!(ledger, Some(on_hand), "{item_no}");
        assert_eq!(movements, 1, "{item_no}");
    }
    let (list_rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM positive_list")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(list_rows as usize, list.len());
    let (enterprises,): (i64,) = sqlx::query_as("SELECT count(*) FROM enterprises")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(enterprises, 9);
}

#[test]
fn seed_refuses_a_bad_enterprises_file_before_connecting() {
    // Goal: inputs are validated before the database is touched. Method: an unknown role and
    // an unreachable database URL: the CSV error (exit 2) must come first.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("enterprises.csv");
    std::fs::write(&csv, "code,name,roles\nA1,Name,pirate\n").unwrap();
    let run = bondgate_with_env(
        &["seed", "--enterprises", csv.to_str().unwrap()],
        &[(
            "BONDGATE__DATABASE__URL",
            "postgres://nobody@127.0.0.1:1/none",
        )],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with("bondgate: bg.input.csv at "),
        "{run:?}"
    );
    assert!(run.stderr.contains("pirate"), "{run:?}");
}

#[tokio::test]
async fn keys_are_created_once_listed_without_secrets_and_revoked() {
    // Goal: `keys create|list|revoke` drive the intake's key store; the secret is printed once.
    // Method: on a seeded database, create two keys, authenticate with one, list (all and per
    // enterprise) looking for the secret, revoke by prefix and authenticate again.
    let (url, db) = fresh_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    bondgate::seed::seed_database(&url, Decimal::ZERO)
        .await
        .unwrap();
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let args = [
        "keys",
        "create",
        "--enterprise",
        "5001980001",
        "--label",
        "shop",
    ];
    let created = bondgate_with_env(&args, &env);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created.stderr.contains("cannot be shown again"),
        "{created:?}"
    );
    let created = created.json();
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("bg_{prefix}_")), "{created:#}");
    let other = bondgate_with_env(&["keys", "create", "--enterprise", "5001980021"], &env);
    assert_eq!(other.code, 0, "{other:?}");

    let principal = bondgate_intake::keys::authenticate(&db, &key)
        .await
        .unwrap();
    assert_eq!(principal.unwrap().enterprise_code, "5001980001");

    let secret = key.rsplit('_').next().unwrap();
    let all = bondgate_with_env(&["keys", "list"], &env);
    assert_eq!(all.code, 0, "{all:?}");
    assert!(
        !all.stdout.contains(secret),
        "a listing must not show the secret"
    );
    assert_eq!(all.json().as_array().unwrap().len(), 2);
    let mine = bondgate_with_env(&["keys", "list", "--enterprise", "5001980001"], &env).json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["prefix"], prefix.as_str());
    assert_eq!(mine[0]["label"], "shop");
    assert!(mine[0]["revokedAt"].is_null());
    assert!(mine[0].get("key").is_none(), "{mine:#}");

    let revoked = bondgate_with_env(&["keys", "revoke", &prefix], &env);
    assert_eq!(revoked.code, 0, "{revoked:?}");
    assert!(
        bondgate_intake::keys::authenticate(&db, &key)
            .await
            .unwrap()
            .is_none()
    );
    let mine = bondgate_with_env(&["keys", "list", "--enterprise", "5001980001"], &env).json();
    assert!(mine[0]["revokedAt"].is_string(), "{mine:#}");
    let again = bondgate_with_env(&["keys", "revoke", mine[0]["id"].as_str().unwrap()], &env);
    assert_eq!(again.code, 0, "revoking twice is harmless: {again:?}");
}

#[tokio::test]
async fn keys_for_unknown_enterprises_or_prefixes_exit_2() {
    // Goal: naming what does not exist is unusable input (exit 2, one line), not a crash.
    // Method: create for an unregistered code and revoke an unknown prefix on an empty schema.
    let (url, _db) = fresh_database("cli")
        .await
        .expect("the local stack's PostgreSQL is up");
    let env = [("BONDGATE__DATABASE__URL", url.as_str())];
    let run = bondgate_with_env(&["keys", "create", "--enterprise", "9999999999"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("bondgate: bg.input.value at --enterprise: enterprise 9999999999"),
        "{run:?}"
    );
    let run = bondgate_with_env(&["keys", "revoke", "0123456789ab"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no API key 0123456789ab"), "{run:?}");
    let run = bondgate_with_env(&["keys", "list"], &env);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), serde_json::json!([]));
}

#[test]
fn demo_refuses_out_of_range_flags_before_connecting() {
    // Goal: bad demo flags are unusable input. Method: --orders 0 and --concurrency 0 with an
    // unreachable database: exit 2 must come before any connection attempt.
    let env = [(
        "BONDGATE__DATABASE__URL",
        "postgres://nobody@127.0.0.1:1/none",
    )];
    let run = bondgate_with_env(&["demo", "--orders", "0"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("bondgate: bg.input.value at --orders"),
        "{run:?}"
    );
    let run = bondgate_with_env(&["demo", "--concurrency", "0"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--concurrency"), "{run:?}");
}
