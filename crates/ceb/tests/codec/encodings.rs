//! Goal: every encoding and namespace style seen in real traffic parses. Method: hand-written
//! receipts in GBK, with a BOM, with a default namespace, with other prefixes.

use bondgate_ceb::{CebMessage, Limits, parse_message, to_xml};

use super::helpers::ceb621;

fn receipt(declaration: &str, info: &str) -> String {
    format!(
        "{declaration}<CEB622Message xmlns=\"http://www.chinaport.gov.cn/ceb\" \
         guid=\"4cde1cfd-eded-46b1-946c-b8022e42fc94\" version=\"v1.0\">\
         <InventoryReturn><guid>4cde1cfd-eded-46b1-946c-b8022e42fc94</guid><copNo>c</copNo>\
         <preNo>B20240301000000001</preNo><returnStatus>-621005</returnStatus>\
         <returnTime>20240301120001123</returnTime><returnInfo>{info}</returnInfo>\
         </InventoryReturn></CEB622Message>"
    )
}

fn return_info(message: CebMessage) -> String {
    let CebMessage::Ceb622(receipt) = message else {
        panic!("expected CEB622")
    };
    receipt.records[0].return_info.clone()
}

#[test]
fn gbk_encoded_receipt_parses() {
    for label in ["GBK", "gb2312", "GB18030"] {
        let xml = receipt(
            &format!("<?xml version=\"1.0\" encoding=\"{label}\"?>"),
            "购买金额超过单笔限额",
        );
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&xml);
        assert!(!unmappable);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "fixture must really be GBK"
        );
        let message = parse_message(&bytes, &Limits::default()).expect("GBK receipt");
        assert_eq!(return_info(message), "购买金额超过单笔限额");
    }
}

#[test]
fn default_namespace_receipt_with_lower_case_guid_and_v_version_parses() {
    let xml = receipt(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
        "暂存",
    );
    let message = parse_message(xml.as_bytes(), &Limits::default()).expect("receipt");
    let CebMessage::Ceb622(receipt) = message else {
        panic!("variant")
    };
    assert_eq!(receipt.guid, "4cde1cfd-eded-46b1-946c-b8022e42fc94");
    assert_eq!(receipt.version, "v1.0");
    assert_eq!(receipt.records[0].return_status, "-621005");
}

#[test]
fn utf8_bom_is_accepted() {
    let xml = format!(
        "\u{FEFF}{}",
        receipt("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "ok")
    );
    assert!(parse_message(xml.as_bytes(), &Limits::default()).is_ok());
}

#[test]
fn declaration_with_ceb_prefix_or_any_other_prefix_parses() {
    let xml = to_xml(&ceb621("2", 1, 2)).expect("emit");
    let expected = parse_message(xml.as_bytes(), &Limits::default()).expect("ceb: prefix");
    let renamed = xml.replace("ceb:", "x:").replace("xmlns:ceb=", "xmlns:x=");
    let parsed = parse_message(renamed.as_bytes(), &Limits::default()).expect("x: prefix");
    assert_eq!(parsed, expected);
}

#[test]
fn elements_in_a_foreign_namespace_are_unknown_in_declarations() {
    let xml = to_xml(&ceb621("1", 1, 1)).expect("emit");
    let xml = xml.replace(
        "<ceb:gname>",
        "<o:gname xmlns:o=\"urn:other\">x</o:gname><ceb:gname>",
    );
    let error = parse_message(xml.as_bytes(), &Limits::default()).expect_err("foreign");
    assert_eq!(error.code(), "ceb.unknown_element");
}
