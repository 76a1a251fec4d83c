//! Conformance suite against the official 202205 sample messages (not copied into the repo).
//!
//! Goal: every official sample parses into the right variant with the right record count, and our
//! re-emission of 621/622/624/626 is schema-valid. Method: read the samples folder
//! (`BONDGATE_SAMPLES_DIR`, default `../shared/domain/samples` beside the workspace), parse each
//! file, re-emit, sign the 621, and run `xmllint --schema`. A missing folder is a failure.

use std::path::PathBuf;
use std::process::Command;

use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_ceb::{CebMessage, Limits, parse_message, to_xml};

/// (file code, expected message code, expected business records, signed in the sample).
const SAMPLES: &[(&str, &str, usize, bool)] = &[
    ("311", "CEB311", 6, true),
    ("312", "CEB312", 10, false),
    ("411", "CEB411", 10, true),
    ("412", "CEB412", 10, false),
    ("511", "CEB511", 6, true),
    ("512", "CEB512", 10, false),
    ("513", "CEB513", 10, true),
    ("514", "CEB514", 10, false),
    ("621", "CEB621", 10, true),
    ("622", "CEB622", 10, false),
    ("623", "CEB623", 10, true),
    ("624", "CEB624", 10, false),
    ("625", "CEB625", 10, true),
    ("626", "CEB626", 10, false),
    ("711", "CEB711", 1, true),
    ("712", "CEB712", 10, false),
];

fn samples_dir() -> PathBuf {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::env::var_os("BONDGATE_SAMPLES_DIR").map_or_else(
        || PathBuf::from(workspace).join("../shared/domain/samples"),
        PathBuf::from,
    )
}

fn parse_sample(code: &str) -> CebMessage {
    let dir = samples_dir();
    assert!(
        dir.is_dir(),
        "samples folder {} is absent (set BONDGATE_SAMPLES_DIR)",
        dir.display()
    );
    let path = dir.join(format!("ceb{code}_official_202205.xml"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_message(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signed_flag(message: &CebMessage) -> Option<bool> {
    match message {
        CebMessage::Ceb311(m) => Some(m.signed),
        CebMessage::Ceb411(m) => Some(m.signed),
        CebMessage::Ceb511(m) => Some(m.signed),
        CebMessage::Ceb513(m) => Some(m.signed),
        CebMessage::Ceb621(m) => Some(m.signed),
        CebMessage::Ceb623(m) => Some(m.signed),
        CebMessage::Ceb625(m) => Some(m.signed),
        CebMessage::Ceb711(m) => Some(m.signed),
        _ => None,
    }
}

fn assert_xsd_valid(xml: &str, label: &str) {
    let schema = samples_dir().join("ceb_import_202205.xsd");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("{label}.xml"));
    std::fs::write(&file, xml).expect("write");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint could not run ({e}): apt-get install -y libxml2-utils")
        });
    assert!(
        output.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_official_sample_parses_into_its_variant_with_its_record_count() {
    for (file, code, records, signed) in SAMPLES {
        let message = parse_sample(file);
        assert_eq!(message.code(), *code, "ceb{file}");
        assert_eq!(message.record_count(), *records, "ceb{file}");
        if let Some(flag) = signed_flag(&message) {
            assert_eq!(flag, *signed, "ceb{file} signed");
        }
    }
}

#[test]
fn official_311_has_six_orders_with_lines() {
    let CebMessage::Ceb311(order) = parse_sample("311") else {
        panic!("variant")
    };
    assert_eq!(order.records.len(), 6);
    assert!(order.records.iter().all(|o| !o.lists.is_empty()));
    assert!(!order.base_transfer.cop_code.is_empty());
}

#[test]
fn re_emitted_samples_are_schema_valid() {
    let key = SigningKey::generate().expect("key");
    let inventory = to_xml(&parse_sample("621")).expect("emit 621");
    assert_xsd_valid(&sign(&inventory, &key, "0001").expect("sign"), "ceb621");
    for file in ["622", "624", "626"] {
        assert_xsd_valid(
            &to_xml(&parse_sample(file)).expect("emit"),
            &format!("ceb{file}"),
        );
    }
}

/// The emitter does not carry signatures over, so compare models with the flag cleared.
fn unsigned(mut message: CebMessage) -> CebMessage {
    match &mut message {
        CebMessage::Ceb311(m) => m.signed = false,
        CebMessage::Ceb411(m) => m.signed = false,
        CebMessage::Ceb511(m) => m.signed = false,
        CebMessage::Ceb513(m) => m.signed = false,
        CebMessage::Ceb621(m) => m.signed = false,
        CebMessage::Ceb623(m) => m.signed = false,
        CebMessage::Ceb625(m) => m.signed = false,
        CebMessage::Ceb711(m) => m.signed = false,
        _ => {}
    }
    message
}

#[test]
fn re_emitted_samples_parse_back_to_the_same_model() {
    for (file, ..) in SAMPLES {
        let message = unsigned(parse_sample(file));
        let xml = to_xml(&message).expect("emit");
        let reparsed = parse_message(xml.as_bytes(), &Limits::default()).expect("reparse");
        assert_eq!(reparsed, message, "ceb{file}");
    }
}
