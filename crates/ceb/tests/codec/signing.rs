//! Goal: signatures we make verify, and any tampering is caught. Method: sign our own CEB621,
//! then flip single characters in the body and the SignatureValue.

use bondgate_ceb::sign::{SignError, SigningKey, VerifyingKey, sign, verify};
use bondgate_ceb::{CebMessage, Limits, parse_message, to_xml};

use super::helpers::ceb621;

fn signed_621() -> (String, SigningKey) {
    let key = SigningKey::generate().expect("key");
    let xml = to_xml(&ceb621("2", 2, 2)).expect("emit");
    (sign(&xml, &key, "0001").expect("sign"), key)
}

/// Replaces the first character after `marker` with another ASCII letter.
fn flip_after(xml: &str, marker: &str) -> String {
    let at = xml.find(marker).expect("marker") + marker.len();
    let old = &xml[at..at + 1];
    let new = if old == "A" { "B" } else { "A" };
    format!("{}{new}{}", &xml[..at], &xml[at + 1..])
}

#[test]
fn sign_then_verify_succeeds_and_parser_reports_signed() {
    let (signed, key) = signed_621();
    assert_eq!(verify(&signed, &key.verifying_key()), Ok(()));
    let message = parse_message(signed.as_bytes(), &Limits::default()).expect("parse signed");
    let CebMessage::Ceb621(declaration) = message else {
        panic!("variant")
    };
    assert!(declaration.signed);
}

#[test]
fn flipping_a_body_character_fails_with_digest_mismatch() {
    let (signed, key) = signed_621();
    let tampered = flip_after(&signed, "<ceb:orderNo>");
    assert_eq!(
        verify(&tampered, &key.verifying_key()),
        Err(SignError::DigestMismatch)
    );
}

#[test]
fn flipping_a_signature_value_character_fails() {
    let (signed, key) = signed_621();
    let tampered = flip_after(&signed, "<ds:SignatureValue>");
    assert_eq!(
        verify(&tampered, &key.verifying_key()),
        Err(SignError::BadSignature)
    );
}

#[test]
fn flipping_the_digest_value_fails() {
    let (signed, key) = signed_621();
    let tampered = flip_after(&signed, "<ds:DigestValue>");
    assert!(verify(&tampered, &key.verifying_key()).is_err());
}

#[test]
fn another_key_does_not_verify() {
    let (signed, _) = signed_621();
    let other = SigningKey::generate().expect("key");
    assert_eq!(
        verify(&signed, &other.verifying_key()),
        Err(SignError::BadSignature)
    );
}

#[test]
fn keys_round_trip_through_pem() {
    let (signed, key) = signed_621();
    let private = SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem().expect("pem")).expect("read");
    let public_pem = private
        .verifying_key()
        .to_public_key_pem()
        .expect("public pem");
    let public = VerifyingKey::from_public_key_pem(&public_pem).expect("read public");
    assert_eq!(verify(&signed, &public), Ok(()));
    assert!(
        format!("{key:?}").len() < 40,
        "Debug must not print the secret"
    );
}

#[test]
fn signing_twice_and_verifying_unsigned_are_refused() {
    let (signed, key) = signed_621();
    assert_eq!(sign(&signed, &key, "0001"), Err(SignError::AlreadySigned));
    let unsigned = to_xml(&ceb621("2", 1, 1)).expect("emit");
    assert_eq!(
        verify(&unsigned, &key.verifying_key()),
        Err(SignError::MissingSignature)
    );
    assert_eq!(
        SigningKey::from_pkcs8_pem("nope")
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("sign.key_invalid")
    );
}
