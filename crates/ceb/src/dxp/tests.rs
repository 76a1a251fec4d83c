//! Unit tests of the envelope: round trips, the field rules with their paths, hostile input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::*;

const RECEIPT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
    <ceb:CEB622Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" guid=\"g\" version=\"1.0\">\
    <ceb:InventoryReturn><ceb:guid>g</ceb:guid><ceb:returnStatus>800</ceb:returnStatus>\
    </ceb:InventoryReturn></ceb:CEB622Message>";
const TIME: &str = "2024-03-01T12:00:00";

fn receivers(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

fn header() -> DxpHeader {
    DxpHeader::for_message(
        RECEIPT.as_bytes(),
        "DXPEDCCEB0000002",
        &receivers(&["DXPENT0000000001"]),
        TIME,
    )
    .expect("a CEB message")
}

/// A hand-written envelope: `trans` is the content of `TransInfo`, `after` follows `Data`.
fn envelope(trans: &str, data: &str, after: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><DxpMsg xmlns=\"{DXP_NAMESPACE}\" ver=\"1.0\">\
         <TransInfo>{trans}</TransInfo><Data>{data}</Data>{after}</DxpMsg>"
    )
}

fn trans_info(msg_type: &str) -> String {
    format!(
        "<CopMsgId>C1</CopMsgId><SenderId>S1</SenderId><ReceiverIds><ReceiverId>R1</ReceiverId>\
         </ReceiverIds><CreatTime>{TIME}</CreatTime><MsgType>{msg_type}</MsgType>"
    )
}

fn receipt_data() -> String {
    BASE64.encode(RECEIPT)
}

fn refusal(envelope: &str) -> DxpError {
    unwrap(envelope.as_bytes(), &Limits::default()).expect_err("must be refused")
}

#[test]
fn wrap_then_unwrap_gives_back_the_bytes_and_the_header() {
    let mut header = header().with_file_name("CEB622Message-1.xml");
    header.receiver_ids = receivers(&["A1", "A2", "A3", "A4", "A5"]);
    let add_info = header.add_info.as_mut().expect("file name added it");
    add_info.ic_card = Some("1".to_owned());
    add_info.biz_keys = vec![
        BizKey {
            name: Some("DealFlag".to_owned()),
            value: "1 & <2>".to_owned(),
        },
        BizKey {
            name: None,
            value: "x".to_owned(),
        },
    ];
    let envelope = wrap(RECEIPT.as_bytes(), &header).expect("wraps");
    let (read, payload) = unwrap(envelope.as_bytes(), &Limits::default()).expect("unwraps");
    assert_eq!(payload, RECEIPT.as_bytes());
    assert_eq!(read, header);
}

#[test]
fn the_header_is_derived_from_the_message() {
    let header = header();
    assert_eq!(header.msg_type, "CEB622Message");
    assert_eq!(
        header.cop_msg_id,
        cop_msg_id(
            RECEIPT.as_bytes(),
            "DXPEDCCEB0000002",
            &receivers(&["DXPENT0000000001"])
        )
    );
    assert_eq!(header.with_cop_msg_id("mine").cop_msg_id, "mine");
}

#[test]
fn a_gbk_message_round_trips_byte_for_byte() {
    let text = RECEIPT
        .replace("UTF-8", "GBK")
        .replace("<ceb:guid>g", "<ceb:guid>放行");
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    let header = DxpHeader::for_message(&gbk, "S", &receivers(&["R"]), TIME).expect("GBK reads");
    let envelope = wrap(&gbk, &header).expect("wraps");
    let (_, payload) = unwrap(envelope.as_bytes(), &Limits::default()).expect("unwraps");
    assert_eq!(payload, gbk.as_ref());
}

#[test]
fn msg_type_must_name_the_business_root_both_ways() {
    let mut header = header();
    header.msg_type = "CEB621Message".to_owned();
    let error = wrap(RECEIPT.as_bytes(), &header).expect_err("mismatch");
    assert_eq!(error.code(), "dxp.msg_type_mismatch");
    assert_eq!(error.path(), Some("/DxpMsg/TransInfo/MsgType"));
    let error = refusal(&envelope(&trans_info("CEB621Message"), &receipt_data(), ""));
    assert_eq!(
        error,
        DxpError::MsgTypeMismatch {
            msg_type: "CEB621Message".to_owned(),
            root: "CEB622Message".to_owned(),
        }
    );
    assert_eq!(error.dxp_code(), DxpCode::FormatOther);
}

#[test]
fn a_payload_that_is_not_ceb_is_refused() {
    let data = BASE64.encode("<Order xmlns=\"urn:other\"/>");
    let error = refusal(&envelope(&trans_info("Order"), &data, ""));
    assert_eq!(error.code(), "dxp.payload_not_ceb");
    let data = BASE64.encode("<!DOCTYPE x [<!ENTITY e \"e\">]><x/>");
    let error = refusal(&envelope(&trans_info("x"), &data, ""));
    assert_eq!(error.code(), "dxp.payload_malformed");
    assert!(error.to_string().contains("ceb.dtd_forbidden"), "{error}");
    let error = refusal(&envelope(&trans_info("x"), "", ""));
    assert_eq!(error.code(), "dxp.payload_malformed");
    assert_eq!(error.dxp_code(), DxpCode::Format);
}

#[test]
fn an_oversized_payload_or_envelope_is_refused() {
    let limits = Limits {
        message_bytes_max: RECEIPT.len() - 1,
        ..Limits::default()
    };
    let wrapped = wrap(RECEIPT.as_bytes(), &header()).expect("wraps");
    let error = unwrap(wrapped.as_bytes(), &limits).expect_err("payload too large");
    assert_eq!(
        error,
        DxpError::PayloadTooLarge {
            size_bytes: RECEIPT.len(),
            limit_bytes: RECEIPT.len() - 1,
        }
    );
    let padded = wrapped.replace("<Data>", &format!("<Data>{}", " ".repeat(70 * 1024)));
    let error = unwrap(padded.as_bytes(), &limits).expect_err("envelope too large");
    assert_eq!(error.code(), "dxp.too_large");
    assert_eq!(
        unwrap(wrapped.as_bytes(), &Limits::default()).map(|r| r.1.len()),
        Ok(RECEIPT.len())
    );
}

#[test]
fn bad_base64_is_refused() {
    for data in ["not base64!", "QUJD=", "QUJDRA", "${Base64.getEncoder()}"] {
        let error = refusal(&envelope(&trans_info("CEB622Message"), data, ""));
        assert_eq!(error.code(), "dxp.invalid_base64", "{data}: {error}");
        assert_eq!(error.dxp_code(), DxpCode::Schema);
    }
}

#[test]
fn missing_required_elements_are_refused_with_their_paths() {
    let full = trans_info("CEB622Message");
    for (field, path) in [
        ("CopMsgId", "/DxpMsg/TransInfo/CopMsgId"),
        ("SenderId", "/DxpMsg/TransInfo/SenderId"),
        ("CreatTime", "/DxpMsg/TransInfo/CreatTime"),
        ("MsgType", "/DxpMsg/TransInfo/MsgType"),
    ] {
        let start = full.find(&format!("<{field}>")).expect("field");
        let end = full.find(&format!("</{field}>")).expect("field") + field.len() + 3;
        let trans = format!("{}{}", &full[..start], &full[end..]);
        let error = refusal(&envelope(&trans, &receipt_data(), ""));
        assert_eq!(error.code(), "dxp.missing_element", "{field}");
        assert_eq!(error.path(), Some(path), "{field}");
    }
    let no_receiver = full.replace("<ReceiverId>R1</ReceiverId>", "");
    let error = refusal(&envelope(&no_receiver, &receipt_data(), ""));
    assert_eq!(
        error.path(),
        Some("/DxpMsg/TransInfo/ReceiverIds/ReceiverId")
    );
    let no_data = format!(
        "<DxpMsg xmlns=\"{DXP_NAMESPACE}\" ver=\"1.0\"><TransInfo>{full}</TransInfo></DxpMsg>"
    );
    assert_eq!(refusal(&no_data).path(), Some("/DxpMsg/Data"));
    let no_key = envelope(&full, &receipt_data(), "<AddInfo><BizKey/></AddInfo>");
    assert_eq!(refusal(&no_key).path(), Some("/DxpMsg/AddInfo/BizKey/Key"));
}

#[test]
fn empty_and_overlong_fields_are_refused_with_their_paths() {
    let full = trans_info("CEB622Message");
    let cases = [
        (
            full.replace("<SenderId>S1<", "<SenderId><"),
            "/DxpMsg/TransInfo/SenderId",
        ),
        (
            full.replace("S1", "S123456789ABCDEFG"),
            "/DxpMsg/TransInfo/SenderId",
        ),
        (
            full.replace(
                "<ReceiverId>R1</ReceiverId>",
                "<ReceiverId>R1</ReceiverId><ReceiverId></ReceiverId>",
            ),
            "/DxpMsg/TransInfo/ReceiverIds/ReceiverId[2]",
        ),
        (full.replace(TIME, "$time"), "/DxpMsg/TransInfo/CreatTime"),
    ];
    for (trans, path) in cases {
        let error = refusal(&envelope(&trans, &receipt_data(), ""));
        assert_eq!(error.code(), "dxp.invalid_field", "{path}: {error}");
        assert_eq!(error.path(), Some(path), "{error}");
        assert_eq!(error.dxp_code(), DxpCode::Schema);
    }
    let six = "<ReceiverId>R</ReceiverId>".repeat(6);
    let trans = full.replace("<ReceiverId>R1</ReceiverId>", &six);
    let error = refusal(&envelope(&trans, &receipt_data(), ""));
    assert_eq!(
        error.path(),
        Some("/DxpMsg/TransInfo/ReceiverIds/ReceiverId[6]")
    );
}

#[test]
fn wrap_refuses_a_header_the_xsd_would() {
    let mut six = header();
    six.receiver_ids = receivers(&["A", "B", "C", "D", "E", "F"]);
    let mut long_sender = header();
    long_sender.sender_id = "DXPENT00000000001".to_owned();
    let mut zoned = header();
    zoned.creat_time = "2024-03-01T12:00:00+08:00".to_owned();
    let mut control = header().with_file_name("a\u{1}b");
    let mut long_key = header();
    long_key.add_info = Some(AddInfo {
        biz_keys: vec![BizKey {
            name: Some("n".repeat(33)),
            value: "v".to_owned(),
        }],
        ..AddInfo::default()
    });
    for (header, path) in [
        (six, "/DxpMsg/TransInfo/ReceiverIds/ReceiverId[6]"),
        (long_sender, "/DxpMsg/TransInfo/SenderId"),
        (zoned, "/DxpMsg/TransInfo/CreatTime"),
        (control.clone(), "/DxpMsg/AddInfo/FileName"),
        (long_key, "/DxpMsg/AddInfo/BizKey/Key/@name"),
    ] {
        let error = wrap(RECEIPT.as_bytes(), &header).expect_err(path);
        assert_eq!(error.code(), "dxp.invalid_field", "{error}");
        assert_eq!(error.path(), Some(path), "{error}");
    }
    control.receiver_ids.clear();
    let error = wrap(RECEIPT.as_bytes(), &control).expect_err("no receiver");
    assert_eq!(error.code(), "dxp.missing_element");
}

#[test]
fn the_envelope_must_be_a_dxp_msg_of_version_1_0() {
    let body = format!("<TransInfo>{}</TransInfo>", trans_info("CEB622Message"));
    let error = refusal(&format!("<DxpMsg ver=\"1.0\">{body}</DxpMsg>"));
    assert_eq!(error.code(), "dxp.not_envelope");
    let error = refusal(&envelope("", "", "").replace(" ver=\"1.0\"", " ver=\"2.0\""));
    assert_eq!(
        error,
        DxpError::UnsupportedVersion {
            found: Some("2.0".to_owned())
        }
    );
    let error = refusal(&envelope("", "", "").replace(" ver=\"1.0\"", ""));
    assert_eq!(error.code(), "dxp.unsupported_version");
}

#[test]
fn unknown_duplicate_and_misplaced_content_is_refused_with_its_path() {
    let trans = trans_info("CEB622Message");
    let data = receipt_data();
    let cases = [
        (
            envelope(&trans, &data, "<Extra/>"),
            "dxp.unknown_element",
            "/DxpMsg/Extra",
        ),
        (
            envelope(&trans, &data, &format!("<Data>{data}</Data>")),
            "dxp.duplicate_element",
            "/DxpMsg/Data[2]",
        ),
        (
            envelope(&format!("{trans}<SenderId>S2</SenderId>"), &data, ""),
            "dxp.duplicate_element",
            "/DxpMsg/TransInfo/SenderId[2]",
        ),
        (
            envelope(&trans.replace("C1", "<b>C1</b>"), &data, ""),
            "dxp.malformed",
            "/DxpMsg/TransInfo/CopMsgId/b",
        ),
        (
            envelope(&format!("text{trans}"), &data, ""),
            "dxp.malformed",
            "/DxpMsg/TransInfo",
        ),
        (
            envelope(
                &trans,
                &data,
                "<AddInfo><FileName>a</FileName><Note/></AddInfo>",
            ),
            "dxp.unknown_element",
            "/DxpMsg/AddInfo/Note",
        ),
    ];
    for (xml, code, path) in cases {
        let error = refusal(&xml);
        assert_eq!((error.code(), error.path()), (code, Some(path)), "{error}");
    }
}

#[test]
fn dtds_and_entities_are_refused_in_the_envelope() {
    let trans = trans_info("CEB622Message");
    let doctype = format!(
        "<!DOCTYPE DxpMsg [<!ENTITY x \"y\">]>{}",
        envelope(&trans, &receipt_data(), "")
    );
    assert_eq!(refusal(&doctype).code(), "ceb.dtd_forbidden");
    let entity = envelope(&trans.replace("C1", "&x;"), &receipt_data(), "");
    let error = refusal(&entity);
    assert_eq!(error.code(), "ceb.entity_forbidden");
    assert_eq!(error.path(), Some("/DxpMsg/TransInfo/CopMsgId"));
    assert_eq!(error.dxp_code(), DxpCode::Format);
}

#[test]
fn prefixed_elements_wrapped_base64_a_zoned_time_and_a_signature_are_read() {
    let encoded = receipt_data();
    let (first, rest) = encoded.split_at(76);
    let xml = format!(
        "<dxp:DxpMsg xmlns:dxp=\"{DXP_NAMESPACE}\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" \
         ver=\"1.0\" Id=\"dxpEport\"><dxp:TransInfo><dxp:CopMsgId>C1</dxp:CopMsgId>\
         <dxp:SenderId>S1</dxp:SenderId><dxp:ReceiverIds><dxp:ReceiverId>R1</dxp:ReceiverId>\
         </dxp:ReceiverIds><dxp:CreatTime>2024-03-01T12:00:00.123+08:00</dxp:CreatTime>\
         <dxp:MsgType>CEB622Message</dxp:MsgType></dxp:TransInfo>\
         <dxp:Data>\r\n{first}\r\n{rest}\r\n</dxp:Data><dxp:AddInfo><dxp:IsText Encode=\"UTF-8\"/>\
         </dxp:AddInfo><ds:Signature><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>\
         </dxp:DxpMsg>"
    );
    let (header, payload) = unwrap(xml.as_bytes(), &Limits::default()).expect("reads");
    assert_eq!(payload, RECEIPT.as_bytes());
    assert_eq!(header.creat_time, "2024-03-01T12:00:00.123+08:00");
    assert_eq!(header.add_info, Some(AddInfo::default()));
    assert!(header.signed);
}

#[test]
fn the_written_envelope_has_the_template_shape() {
    let envelope = wrap(RECEIPT.as_bytes(), &header().with_file_name("f")).expect("wraps");
    let expected_start = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DxpMsg xmlns=\"{DXP_NAMESPACE}\" \
         ver=\"1.0\">\n  <TransInfo>\n    <CopMsgId>{}</CopMsgId>\n    \
         <SenderId>DXPEDCCEB0000002</SenderId>\n    <ReceiverIds>\n      \
         <ReceiverId>DXPENT0000000001</ReceiverId>\n    </ReceiverIds>\n    \
         <CreatTime>{TIME}</CreatTime>\n    <MsgType>CEB622Message</MsgType>\n  </TransInfo>\n  \
         <Data>{}</Data>\n  <AddInfo>\n    <FileName>f</FileName>\n  </AddInfo>\n</DxpMsg>",
        header().cop_msg_id,
        receipt_data()
    );
    assert_eq!(envelope, expected_start);
}

#[test]
fn file_names_follow_the_template_and_are_safe() {
    let header = header();
    assert_eq!(
        file_name(&header),
        format!("CEB622Message{}.xml", header.cop_msg_id)
    );
    let named = |name: &str| file_name(&header.clone().with_file_name(name));
    assert_eq!(named("out.XML"), "out.xml");
    assert_eq!(named("../../etc/passwd"), "_.._etc_passwd.xml");
    assert_eq!(named("..hidden"), "hidden.xml");
    assert_eq!(named("清单 1"), "___1.xml");
    assert_eq!(named(".xml"), "DxpMsg.xml");
    assert_eq!(named(&"a".repeat(300)).len(), 204);
}
