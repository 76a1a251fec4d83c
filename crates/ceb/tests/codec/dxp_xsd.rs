//! Goal: the envelopes we write are valid against the official DXP XSD, the business messages in
//! them against the official import XSD, and the official envelope template unwraps.
//! Method: wrap our own signed CEB311 and CEB621 (with `AddInfo` in the template's shape) and run
//! `xmllint --schema dxp_terminal_202205.xsd` on the envelope and `ceb_import_202205.xsd` on the
//! unwrapped payload; fill the ZJ template's placeholders, check the filled copy against the DXP
//! XSD (so the filling is right), unwrap it and compare every field.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bondgate_ceb::dxp::{self, AddInfo, BizKey, DxpCode, DxpHeader};
use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_ceb::{Limits, to_xml};

use super::helpers::{GUID, ceb311, ceb621, ceb622};
use super::xsd::{assert_schema_valid, samples_dir};

const DXP_XSD: &str = "dxp_terminal_202205.xsd";
const CEB_XSD: &str = "ceb_import_202205.xsd";
const TEMPLATE: &str = "dxp_envelope_template_zhengjin.xml";

/// The `AddInfo` the template carries, with `FileName` as it builds it: type, then id.
fn template_add_info(file_name: String) -> AddInfo {
    let key = |name: &str| BizKey {
        name: Some(name.to_owned()),
        value: "1".to_owned(),
    };
    AddInfo {
        file_name: Some(file_name),
        ic_card: Some("1".to_owned()),
        biz_keys: vec![key("DealFlag"), key("RetType")],
    }
}

#[test]
fn our_envelopes_and_their_payloads_are_schema_valid() {
    let key = SigningKey::generate().expect("key");
    for (label, message) in [("ceb311", ceb311("2", 2, 3)), ("ceb621", ceb621("2", 2, 3))] {
        let signed = sign(&to_xml(&message).expect("emit"), &key, "0001").expect("sign");
        let receivers = ["DXPEDCCEB0000001".to_owned(), "DXPEDCCEB0000002".to_owned()];
        let mut header = DxpHeader::for_message(
            signed.as_bytes(),
            "DXPENT0000000001",
            &receivers,
            "2024-03-01T12:00:00",
        )
        .expect("header");
        header.add_info = Some(template_add_info(dxp::file_name(&header)));
        let envelope = dxp::wrap(signed.as_bytes(), &header).expect("wrap");
        assert_schema_valid(DXP_XSD, envelope.as_bytes(), &format!("dxp_{label}"));
        let bare = DxpHeader {
            add_info: None,
            ..header
        };
        let envelope = dxp::wrap(signed.as_bytes(), &bare).expect("wrap");
        assert_schema_valid(DXP_XSD, envelope.as_bytes(), &format!("dxp_{label}_bare"));
        let (_, payload) = dxp::unwrap(envelope.as_bytes(), &Limits::default()).expect("unwrap");
        assert_schema_valid(CEB_XSD, &payload, label);
    }
}

#[test]
fn the_official_template_unwraps_once_its_placeholders_are_filled() {
    let path = samples_dir().join(TEMPLATE);
    let template = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set BONDGATE_SAMPLES_DIR)", path.display()));
    // As shipped the template holds Kotlin placeholders, not values: `$time` is no dateTime and
    // the Data placeholder no Base64. It must be refused, as a schema (0002) problem.
    let raw = dxp::unwrap(template.as_bytes(), &Limits::default()).expect_err("placeholders");
    assert_eq!(raw.dxp_code(), DxpCode::Schema, "{raw}");

    let receipt = to_xml(&ceb622()).expect("emit");
    let filled = fill(&template, &receipt);
    assert_schema_valid(DXP_XSD, filled.as_bytes(), "template_filled");
    let (header, payload) = dxp::unwrap(filled.as_bytes(), &Limits::default()).expect("unwrap");
    assert_eq!(payload, receipt.as_bytes());
    assert_schema_valid(CEB_XSD, &payload, "template_payload");
    let expected = DxpHeader {
        cop_msg_id: GUID.to_owned(),
        sender_id: "DXPEDCCEB0000002".to_owned(),
        receiver_ids: vec!["DXPENT0000000001".to_owned()],
        creat_time: "2024-03-01T12:00:01".to_owned(),
        msg_type: "CEB622Message".to_owned(),
        add_info: Some(template_add_info(format!("CEB622Message{GUID}"))),
        signed: false,
    };
    assert_eq!(header, expected);
    assert_eq!(dxp::file_name(&header), format!("CEB622Message{GUID}.xml"));
}

/// The template with its placeholders replaced as its Kotlin source fills them, in an order
/// that replaces `${...}` before the `$name` forms inside them could match.
fn fill(template: &str, message: &str) -> String {
    let filled = template
        .replace(
            "${Base64.getEncoder().encodeToString(content.toByteArray())}",
            &BASE64.encode(message),
        )
        .replace("${uuid.uppercase()}", GUID)
        .replace("$senderId", "DXPEDCCEB0000002")
        .replace("$receiverId", "DXPENT0000000001")
        .replace("$time", "2024-03-01T12:00:01")
        .replace("$type", "CEB622Message");
    // The template's leading comment mentions `${...}`; only the envelope must be filled.
    let envelope = &filled[filled.find("<DxpMsg").expect("the envelope")..];
    assert!(
        !envelope.contains('$'),
        "a placeholder is left:\n{envelope}"
    );
    filled
}
