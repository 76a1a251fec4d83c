//! Goal: what we emit is valid against the official import XSD. Method: emit our fixtures, sign
//! the declarations, and run `xmllint --schema` on each.

use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_ceb::to_xml;

use super::helpers::{ceb621, ceb622, ceb624, ceb626, ceb816};
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn signed_ceb621_with_app_status_2_is_schema_valid() {
    let key = SigningKey::generate().expect("key");
    let xml = to_xml(&ceb621("2", 2, 3)).expect("emit");
    assert_xsd_valid(&sign(&xml, &key, "0001").expect("sign"), "ceb621");
}

#[test]
fn receipts_and_tax_bill_are_schema_valid() {
    assert_xsd_valid(&to_xml(&ceb622()).expect("emit"), "ceb622");
    assert_xsd_valid(&to_xml(&ceb624()).expect("emit"), "ceb624");
    assert_xsd_valid(&to_xml(&ceb626()).expect("emit"), "ceb626");
    assert_xsd_valid(&to_xml(&ceb816()).expect("emit"), "ceb816");
}

/// The official XSD folder: `BONDGATE_SAMPLES_DIR` or `../shared/domain/samples` beside the
/// workspace.
pub fn samples_dir() -> PathBuf {
    std::env::var_os("BONDGATE_SAMPLES_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/domain/samples"),
        PathBuf::from,
    )
}

/// Validates `xml` against the official import XSD with xmllint; panics with its output.
fn assert_xsd_valid(xml: &str, label: &str) {
    assert_schema_valid("ceb_import_202205.xsd", xml.as_bytes(), label);
}

/// Validates `xml` against the official XSD `schema` of the samples folder with xmllint;
/// panics with its output.
pub fn assert_schema_valid(schema: &str, xml: &[u8], label: &str) {
    let schema = samples_dir().join(schema);
    assert!(schema.exists(), "XSD not found at {}", schema.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("{label}.xml"));
    std::fs::write(&file, xml).expect("write xml");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "xmllint could not run ({e}): install it with `apt-get install -y libxml2-utils`"
            )
        });
    assert!(
        output.status.success(),
        "{label} fails the XSD:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(xml)
    );
}
