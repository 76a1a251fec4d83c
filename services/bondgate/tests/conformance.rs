//! Conformance against the official GACC 202205 sample messages and XSD (feature
//! `conformance`): `cargo test -p bondgate --features conformance --test conformance`.
//!
//! The samples are reference data outside the repository (`BONDGATE_SAMPLES_DIR`, default
//! `<workspace>/../shared/domain/samples`); without them these tests FAIL rather than pass
//! vacuously, because a green conformance run must mean the samples were checked.

#[path = "cli/helpers.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::Command;

use helpers::{bondgate, check, codes, samples_dir};

fn samples() -> PathBuf {
    let dir = samples_dir();
    assert!(
        dir.join("ceb_import_202205.xsd").is_file(),
        "official samples not found in {} (set BONDGATE_SAMPLES_DIR)",
        dir.display()
    );
    dir
}

fn official(dir: &Path, code: &str) -> String {
    dir.join(format!("ceb{code}_official_202205.xml"))
        .display()
        .to_string()
}

#[test]
fn the_official_bundle_is_rejected_for_its_arithmetic_and_the_single_limit() {
    // Goal: the official 311/411/511 are format samples, not valid orders (samples/README.md):
    // line 2 is 200 × 10 ≠ 12000 and goods 14000 + freight 5000 exceed 5000. The samples also
    // disagree with each other (keys, payer, consignee) and their SKUs are not in our account
    // book, so we assert the codes that MUST be present and print the whole verdict.
    // Method: `bondgate check` on the three official files.
    let dir = samples();
    let run = bondgate(&[
        "check",
        "--sample-seed",
        "--order",
        &official(&dir, "311"),
        "--payment",
        &official(&dir, "411"),
        "--waybill",
        &official(&dir, "511"),
    ]);
    println!("{}", run.stdout);
    assert_eq!(run.code, 0, "{run:?}");
    let verdict = run.json();
    assert_eq!(verdict["status"], 100);
    let codes = codes(&verdict);
    assert!(codes.contains(&"-621005".to_owned()), "{codes:?}");
    assert!(codes.contains(&"-900102".to_owned()), "{codes:?}");
    let line_total = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "bg.match.line_total")
        .expect("the line arithmetic finding");
    assert_eq!(line_total["field"], "orderList[1].totalPrice");
    assert_eq!(line_total["expected"], "2000");
    assert_eq!(line_total["actual"], "12000");
    let reasons = verdict["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("超过单笔限额")),
        "{reasons:?}"
    );
    // The sample repeats its order six times; only the first is a bundle with the others.
    assert_eq!(verdict["notes"].as_array().unwrap().len(), 3);
}

#[test]
fn every_official_sample_parses() {
    // Goal: the codec reads all 16 official messages. Method: `bondgate ceb parse` on each,
    // checking the exit status and the message name against the file name.
    let dir = samples();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("ceb") && name.ends_with("_official_202205.xml")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 16, "{files:?}");
    for file in files {
        let run = bondgate(&["ceb".as_ref(), "parse".as_ref(), file.as_os_str()]);
        assert_eq!(run.code, 0, "{}: {run:?}", file.display());
        let name = file.file_name().unwrap().to_string_lossy().to_uppercase();
        let expected = format!("{}MESSAGE", &name[..6]);
        assert_eq!(
            run.json()["message"].as_str().unwrap().to_uppercase(),
            expected
        );
    }
}

#[test]
fn an_emitted_signed_inventory_validates_against_the_official_xsd() {
    // Goal: what merchants get from --emit-inventory is schema-valid, signature included.
    // Method: emit the clean fixture's CEB621 and run xmllint with ceb_import_202205.xsd.
    let dir = samples();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("inventory.xml");
    let (_, verdict) = check("clean", &["--emit-inventory", out.to_str().unwrap()]);
    assert_eq!(verdict["status"], 800, "{verdict:#}");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(dir.join("ceb_import_202205.xsd"))
        .arg(&out)
        .output()
        .expect("xmllint is installed (apt-get install libxml2-utils)");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(&out).unwrap()
    );
}
