//! Goal: the DXP envelope carries any message the emitter writes, unchanged, with its header.
//! Method: proptest over arbitrary messages of every type (the round-trip suite's strategy) and
//! arbitrary XSD-valid headers: wrap, unwrap, compare bytes and header, parse the payload back
//! to the message; and the same for our own signed CEB311 and CEB621 fixtures.

use bondgate_ceb::dxp::{self, AddInfo, BizKey, DxpHeader};
use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_ceb::{Limits, parse_message, to_xml};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::helpers::{ceb311, ceb621};
use super::roundtrip::message;

/// Values with XML metacharacters, spaces and CJK, within the XSD's lengths.
fn value(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9 <>&\"'=中文货]{{1,{max}}}"))
        .expect("a valid regex")
}

/// `yyyy-mm-ddThh:mm:ss` of a real second (days up to 28 exist in every month).
fn creat_time() -> impl Strategy<Value = String> {
    (
        1u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(year, month, day, hour, minute, second)| {
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
        })
}

fn add_info() -> impl Strategy<Value = AddInfo> {
    let key = (option::of(value(32)), value(64)).prop_map(|(name, value)| BizKey { name, value });
    (
        option::of(value(255)),
        option::of(value(13)),
        vec(key, 0..=dxp::BIZ_KEYS_MAX),
    )
        .prop_map(|(file_name, ic_card, biz_keys)| AddInfo {
            file_name,
            ic_card,
            biz_keys,
        })
}

/// Everything of a header but what the message decides (`MsgType`) or what is derived.
fn route() -> impl Strategy<Value = (String, Vec<String>, String, Option<AddInfo>)> {
    (
        value(16),
        vec(value(16), 1..=dxp::RECEIVER_IDS_MAX),
        creat_time(),
        option::of(add_info()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn unwrap_of_wrap_is_identity(message in message(), route in route()) {
        let (sender, receivers, time, add_info) = route;
        let xml = to_xml(&message).expect("emit");
        let mut header = DxpHeader::for_message(xml.as_bytes(), &sender, &receivers, &time)
            .expect("header");
        header.add_info = add_info;
        prop_assert_eq!(&header.msg_type, message.root_name());
        let envelope = dxp::wrap(xml.as_bytes(), &header).expect("wrap");
        let again = dxp::wrap(xml.as_bytes(), &header).expect("wrap again");
        prop_assert_eq!(&again, &envelope, "wrapping is deterministic");
        let (read, payload) = dxp::unwrap(envelope.as_bytes(), &Limits::default())
            .expect("unwrap");
        prop_assert_eq!(&read, &header);
        prop_assert_eq!(payload.as_slice(), xml.as_bytes());
        prop_assert_eq!(parse_message(&payload, &Limits::default()), Ok(message));
    }
}

#[test]
fn signed_declarations_travel_with_their_signature_intact() {
    // Goal: the envelope does not disturb what the CEB signature covers. Method: sign our 311
    // and 621, wrap, unwrap, verify the signature of the payload.
    let key = SigningKey::generate().expect("key");
    for message in [ceb311("2", 2, 3), ceb621("2", 2, 3)] {
        let signed = sign(&to_xml(&message).expect("emit"), &key, "0001").expect("sign");
        let receivers = ["DXPEDCCEB0000001".to_owned()];
        let header = DxpHeader::for_message(
            signed.as_bytes(),
            "DXPENT0000000001",
            &receivers,
            "2024-03-01T12:00:00",
        )
        .expect("header");
        let envelope = dxp::wrap(signed.as_bytes(), &header).expect("wrap");
        let (_, payload) = dxp::unwrap(envelope.as_bytes(), &Limits::default()).expect("unwrap");
        let payload = String::from_utf8(payload).expect("UTF-8");
        bondgate_ceb::sign::verify(&payload, &key.verifying_key()).expect("signature holds");
        assert_eq!(payload, signed);
    }
}
