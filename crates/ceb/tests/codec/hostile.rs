//! Goal: hostile or broken input is refused with its specific error code, never expanded or
//! half-parsed. Method: hand-written attack documents and mutations of our own fixtures.

use bondgate_ceb::{CebError, CebMessage, Limits, parse_message, to_xml};

use super::helpers::{ceb621, ceb622};

const RECEIPT_OPEN: &str =
    r#"<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0">"#;

fn code_of(xml: &[u8]) -> &'static str {
    parse_message(xml, &Limits::default())
        .map(|_| ())
        .expect_err("must be refused")
        .code()
}

fn receipt_with_info(info: &str) -> String {
    format!(
        "{RECEIPT_OPEN}<InventoryReturn><guid>g</guid><copNo>c</copNo><preNo>p</preNo>\
         <returnStatus>2</returnStatus><returnTime>t</returnTime><returnInfo>{info}</returnInfo>\
         </InventoryReturn></CEB622Message>"
    )
}

#[test]
fn doctype_is_refused() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE CEB622Message>{}",
        receipt_with_info("x")
    );
    assert_eq!(code_of(xml.as_bytes()), "ceb.dtd_forbidden");
}

#[test]
fn external_entity_is_refused() {
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        receipt_with_info("&xxe;")
    );
    assert_eq!(code_of(xml.as_bytes()), "ceb.dtd_forbidden");
}

#[test]
fn undeclared_entity_reference_is_refused() {
    let error = parse_message(receipt_with_info("&xxe;").as_bytes(), &Limits::default())
        .expect_err("entity");
    assert_eq!(error.code(), "ceb.entity_forbidden");
    assert_eq!(
        error.path(),
        Some("/CEB622Message/InventoryReturn/returnInfo")
    );
}

#[test]
fn billion_laughs_is_refused() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
         <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
         <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>{}",
        receipt_with_info("&lol2;")
    );
    assert_eq!(code_of(xml.as_bytes()), "ceb.dtd_forbidden");
}

#[test]
fn predefined_and_character_references_are_resolved() {
    let xml = receipt_with_info("&lt;&amp;&gt;&quot;&apos;&#x4E2D;&#25991;");
    let message = parse_message(xml.as_bytes(), &Limits::default()).expect("parse");
    let CebMessage::Ceb622(receipt) = message else {
        panic!("variant")
    };
    assert_eq!(receipt.records[0].return_info, "<&>\"'中文");
}

#[test]
fn oversize_input_is_refused() {
    let xml = receipt_with_info(&"x".repeat(2000));
    let limits = Limits {
        message_bytes_max: 1024,
        ..Limits::default()
    };
    let error = parse_message(xml.as_bytes(), &limits).expect_err("too large");
    assert_eq!(error.code(), "ceb.too_large");
    let huge = vec![b' '; Limits::default().message_bytes_max + 1];
    assert_eq!(code_of(&huge), "ceb.too_large");
}

#[test]
fn one_hundred_records_pass_and_one_hundred_and_one_are_refused() {
    let limits = Limits::default();
    let hundred = to_xml(&ceb621("1", 100, 1)).expect("emit");
    assert_eq!(
        parse_message(hundred.as_bytes(), &limits).map(|m| m.record_count()),
        Ok(100)
    );
    let too_many = to_xml(&ceb621("1", 101, 1)).expect("emit");
    let error = parse_message(too_many.as_bytes(), &limits).expect_err("101 records");
    assert_eq!(error.code(), "ceb.too_many_records");
    assert_eq!(error.path(), Some("/CEB621Message/Inventory[101]"));
}

#[test]
fn one_hundred_lines_are_refused() {
    let ok = to_xml(&ceb621("1", 1, 99)).expect("emit");
    assert!(parse_message(ok.as_bytes(), &Limits::default()).is_ok());
    let too_many = to_xml(&ceb621("1", 1, 100)).expect("emit");
    let error = parse_message(too_many.as_bytes(), &Limits::default()).expect_err("100 lines");
    assert_eq!(error.code(), "ceb.too_many_lines");
    assert_eq!(
        error.path(),
        Some("/CEB621Message/Inventory/InventoryList[100]")
    );
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "<x>".repeat(40), "</x>".repeat(40));
    let xml =
        receipt_with_info("a").replace("</InventoryReturn>", &format!("{deep}</InventoryReturn>"));
    assert_eq!(code_of(xml.as_bytes()), "ceb.too_deep");
}

#[test]
fn invalid_utf8_is_refused() {
    let mut xml = receipt_with_info("ok").into_bytes();
    let at = xml.len() / 2;
    xml[at] = 0xFF;
    let error = parse_message(&xml, &Limits::default()).expect_err("utf8");
    assert_eq!(error.code(), "ceb.invalid_encoding");
}

#[test]
fn unsupported_encoding_is_refused() {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
        receipt_with_info("a")
    );
    assert_eq!(code_of(xml.as_bytes()), "ceb.unsupported_encoding");
}

#[test]
fn every_truncation_of_a_message_is_refused_as_truncated() {
    let xml = to_xml(&ceb622()).expect("emit");
    let root_end = xml.rfind("</").expect("end tag");
    for cut in (0..root_end).filter(|at| xml.is_char_boundary(*at)) {
        let error = parse_message(&xml.as_bytes()[..cut], &Limits::default())
            .expect_err("truncated input must fail");
        assert_eq!(error.code(), "ceb.truncated", "cut at {cut}: {error}");
    }
}

#[test]
fn unknown_element_in_a_declaration_is_refused_with_its_path() {
    let xml = to_xml(&ceb621("1", 1, 1)).expect("emit");
    let xml = xml.replace("<ceb:gname>", "<ceb:bogus>1</ceb:bogus><ceb:gname>");
    let error = parse_message(xml.as_bytes(), &Limits::default()).expect_err("unknown");
    assert_eq!(error.code(), "ceb.unknown_element");
    assert_eq!(
        error.path(),
        Some("/CEB621Message/Inventory/InventoryList/bogus")
    );
    assert_eq!(
        error.to_string(),
        "ceb.unknown_element at /CEB621Message/Inventory/InventoryList/bogus: element is not allowed here"
    );
}

#[test]
fn missing_required_element_in_a_declaration_is_refused() {
    let xml = to_xml(&ceb621("1", 1, 1)).expect("emit");
    let xml = xml.replace("<ceb:gcode>3304990099</ceb:gcode>", "");
    let error = parse_message(xml.as_bytes(), &Limits::default()).expect_err("missing");
    assert_eq!(error.code(), "ceb.missing_element");
    assert_eq!(
        error.path(),
        Some("/CEB621Message/Inventory/InventoryList/gcode")
    );
}

#[test]
fn unknown_elements_in_receipts_are_skipped() {
    let xml = receipt_with_info("ok")
        .replace("<copNo>", "<orderNo>extra</orderNo><copNo>")
        .replace(
            "</CEB622Message>",
            "<Extra><x>1</x></Extra></CEB622Message>",
        );
    assert!(parse_message(xml.as_bytes(), &Limits::default()).is_ok());
}

#[test]
fn unsupported_root_is_refused() {
    let xml = r#"<CEB999Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0"/>"#;
    assert_eq!(code_of(xml.as_bytes()), "ceb.unsupported_message");
    let no_namespace = r#"<CEB622Message guid="g" version="1.0"/>"#;
    assert_eq!(code_of(no_namespace.as_bytes()), "ceb.unsupported_message");
}

#[test]
fn missing_root_attribute_is_refused() {
    let xml = receipt_with_info("a").replace(" guid=\"g\"", "");
    assert_eq!(code_of(xml.as_bytes()), "ceb.missing_attribute");
}

#[test]
fn errors_display_on_one_line() {
    let error: CebError = parse_message(b"<a><b></a>", &Limits::default()).expect_err("bad");
    assert_eq!(error.code(), "ceb.malformed");
    assert!(!error.to_string().contains('\n'), "{error}");
}
