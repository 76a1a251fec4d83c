//! Goal: what we emit is valid against the official import XSD. Method: emit our fixtures, sign
//! the declarations, and run `xmllint --schema` on each.

use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_ceb::to_xml;

use super::helpers::{assert_xsd_valid, ceb621, ceb622, ceb624, ceb626, ceb816};

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
