//! Goal: hostile or broken input is refused with its specific error code, never expanded or
//! half-parsed. Method: hand-written attack documents and mutations of our own fixtures.

use std::cell::Cell;

use bondgate_ceb::model::{
    BaseSubscribe, BaseTransfer, Inventory, InventoryHead, InventoryList, Record,
};
use bondgate_ceb::{
    CebError, CebMessage, Declaration, Limits, parse_message, parse_message_cancellable, to_xml,
};

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

/// `Limits::default()` with one cap changed.
fn limits_with(change: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    change(&mut limits);
    limits
}

fn refusal(xml: &str, limits: &Limits) -> CebError {
    parse_message(xml.as_bytes(), limits).expect_err("must be refused")
}

/// A record with every field of the XSD present, so that it has as many elements as it can.
fn full<R: Record>() -> R {
    let mut record = R::default();
    for spec in R::FIELDS {
        record.set_field(spec.name, "1".to_owned());
    }
    record
}

/// The largest legal message: a CEB621 of 100 inventories of 99 lines with every optional field,
/// and five receipt subscriptions.
fn largest_legal_message() -> CebMessage {
    let inventory = Inventory {
        head: full::<InventoryHead>(),
        lists: vec![full::<InventoryList>(); 99],
    };
    CebMessage::Ceb621(Declaration {
        guid: "g".to_owned(),
        version: "1.0".to_owned(),
        records: vec![inventory; 100],
        base_transfer: full::<BaseTransfer>(),
        base_subscribes: vec![full::<BaseSubscribe>(); 5],
        signed: false,
    })
}

#[test]
fn the_largest_legal_message_parses_within_the_default_caps() {
    // Goal: the caps leave room for every message the XSD allows, and `elements_max`'s doc
    // comment counts right. Method: emit the largest legal CEB621 (100 x 99 lines, every field),
    // count its elements, parse it with the defaults and with one element fewer allowed.
    let xml = to_xml(&largest_legal_message()).expect("emit");
    // Every element is emitted with an end tag (no field is empty), so end tags count elements.
    let elements = xml.matches("</").count();
    assert_eq!(
        elements,
        212_800 + 1 + 6 + 5 * 5,
        "root, BaseTransfer, BaseSubscribe"
    );
    assert!(elements < Limits::default().elements_max);
    let message = parse_message(xml.as_bytes(), &Limits::default()).expect("parses");
    let CebMessage::Ceb621(declaration) = message else {
        panic!("a CEB621")
    };
    assert_eq!(declaration.records.len(), 100);
    assert!(declaration.records.iter().all(|r| r.lists.len() == 99));
    let error = refusal(&xml, &limits_with(|l| l.elements_max = elements - 1));
    assert_eq!(error.code(), "ceb.too_many_elements");
    assert_eq!(error.path(), Some("/CEB621Message/BaseSubscribe[5]/note"));
}

#[test]
fn the_element_count_is_capped_at_its_limit() {
    // Goal: `elements_max` admits exactly that many elements and names the first one over.
    // Method: a receipt of 8 elements under caps of 8 and 7.
    let xml = receipt_with_info("a");
    assert!(parse_message(xml.as_bytes(), &limits_with(|l| l.elements_max = 8)).is_ok());
    let error = refusal(&xml, &limits_with(|l| l.elements_max = 7));
    assert_eq!(error.code(), "ceb.too_many_elements");
    assert_eq!(
        error.path(),
        Some("/CEB622Message/InventoryReturn/returnInfo")
    );
    assert_eq!(
        error.to_string(),
        "ceb.too_many_elements at /CEB622Message/InventoryReturn/returnInfo: more than 7 elements"
    );
}

#[test]
fn names_are_capped_at_their_length_limit() {
    // Goal: element, attribute and entity-reference names longer than `name_bytes_max` are
    // refused with the length and the limit, and the name itself is never copied into the error.
    // Method: names of exactly the limit pass (an unknown element in a lenient receipt), one byte
    // more is refused, for each kind of name.
    let limit = Limits::default().name_bytes_max;
    let element = |length: usize| {
        receipt_with_info("a").replace(
            "</InventoryReturn>",
            &format!("<{}/></InventoryReturn>", "n".repeat(length)),
        )
    };
    assert!(parse_message(element(limit).as_bytes(), &Limits::default()).is_ok());
    let error = refusal(&element(limit + 1), &Limits::default());
    assert_eq!(error.code(), "ceb.name_too_long");
    assert_eq!(error.path(), Some("/CEB622Message/InventoryReturn"));
    assert_eq!(
        error.to_string(),
        format!(
            "ceb.name_too_long at /CEB622Message/InventoryReturn: a name of {} bytes, limit is {limit}",
            limit + 1
        )
    );
    let attribute = receipt_with_info("a")
        .replace(" guid=", &format!(" {}=\"x\" guid=", "a".repeat(limit + 1)));
    let error = refusal(&attribute, &Limits::default());
    assert_eq!(
        (error.code(), error.path()),
        ("ceb.name_too_long", Some("/CEB622Message"))
    );
    let entity = receipt_with_info(&format!("&{};", "e".repeat(limit + 1)));
    let error = refusal(&entity, &Limits::default());
    assert_eq!(
        (error.code(), error.path()),
        (
            "ceb.name_too_long",
            Some("/CEB622Message/InventoryReturn/returnInfo")
        )
    );
}

#[test]
fn attributes_per_element_are_capped() {
    // Goal: `attributes_max` counts every attribute of one element, namespace declarations
    // included. Method: the receipt root has 3 (xmlns, guid, version); add up to the limit, then
    // one more.
    let limit = Limits::default().attributes_max;
    let root_with = |extra: usize| {
        let attributes: String = (0..extra).map(|i| format!(" a{i}=\"v\"")).collect();
        receipt_with_info("a").replacen(" guid=", &format!("{attributes} guid="), 1)
    };
    assert!(parse_message(root_with(limit - 3).as_bytes(), &Limits::default()).is_ok());
    let error = refusal(&root_with(limit - 2), &Limits::default());
    assert_eq!(error.code(), "ceb.too_many_attributes");
    assert_eq!(error.path(), Some("/CEB622Message"));
    assert!(
        error
            .to_string()
            .contains(&format!("more than {limit} attributes"))
    );
}

#[test]
fn text_is_capped_in_total_attribute_values_included() {
    // Goal: `text_bytes_max` counts element text and attribute values of the whole message.
    // Method: the receipt holds 5 one-byte fields, `returnInfo` and the root's `guid` (1 byte)
    // and `version` (3 bytes): with 100 bytes of `returnInfo` that is 109 bytes.
    let xml = receipt_with_info(&"x".repeat(100));
    assert!(parse_message(xml.as_bytes(), &limits_with(|l| l.text_bytes_max = 109)).is_ok());
    let error = refusal(&xml, &limits_with(|l| l.text_bytes_max = 108));
    assert_eq!(error.code(), "ceb.text_too_large");
    assert_eq!(
        error.path(),
        Some("/CEB622Message/InventoryReturn/returnInfo")
    );
    let error = refusal(&xml, &limits_with(|l| l.text_bytes_max = 3));
    assert_eq!(
        (error.code(), error.path()),
        ("ceb.text_too_large", Some("/CEB622Message"))
    );
}

#[test]
fn gb18030_text_that_outgrows_the_text_cap_is_refused() {
    // Goal: the default text cap binds where the byte cap cannot: GB18030 input of 7.2 MB
    // decodes to 10.8 MB of UTF-8. Method: 3.6 million two-byte characters in one field.
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"GB18030\"?>{}",
        receipt_with_info(&"中".repeat(3_600_000))
    );
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&xml);
    assert!(!unmappable);
    assert!(bytes.len() < Limits::default().message_bytes_max);
    assert_eq!(code_of(&bytes), "ceb.text_too_large");
}

/// `count` empty `<x/>` children in an element called `name`, inside a CEB311 root: the shape
/// of issue 14's attack.
fn many_children(name: &str, count: usize) -> String {
    format!(
        "<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" guid=\"g\" \
         version=\"1.0\"><{name}>{}</{name}></ceb:CEB311Message>",
        "<x/>".repeat(count)
    )
}

#[test]
fn issue_14s_huge_name_over_two_million_children_is_refused_at_the_name() {
    // Goal: the attack of issue 14 (a 1 MiB element name holding two million empty children,
    // about 9 MB) is refused at its first tag, and the error does not quote the name.
    // Method: parse it and count the cancellation checks the reader made before it answered:
    // it asks every few hundred events, so one or two checks mean it stopped at once.
    let xml = many_children(&"N".repeat(1 << 20), 2_000_000);
    assert!(xml.len() > 9_000_000 && xml.len() < Limits::default().message_bytes_max);
    let checks = Cell::new(0usize);
    let counting = || {
        checks.set(checks.get() + 1);
        false
    };
    let error = parse_message_cancellable(xml.as_bytes(), &Limits::default(), &counting)
        .expect_err("refused");
    assert_eq!(error.code(), "ceb.name_too_long");
    assert_eq!(error.path(), Some("/CEB311Message"));
    assert!(error.to_string().len() < 200, "{error}");
    assert!(checks.get() <= 2, "{} checks", checks.get());
}

#[test]
fn two_million_tiny_children_stop_at_the_element_cap() {
    // Goal: millions of elements under an ordinary name are refused once the count passes
    // `elements_max`, naming the first element over. Method: root + element + 262,143 `x`
    // children fill the default cap of 262,144; the next `x` is refused.
    let xml = many_children("Order", 2_000_000);
    let error = refusal(&xml, &Limits::default());
    assert_eq!(error.code(), "ceb.too_many_elements");
    assert_eq!(error.path(), Some("/CEB311Message/Order/x[262143]"));
}

#[test]
fn half_a_million_attributes_on_one_tag_stop_at_the_attribute_cap() {
    // Goal: one tag with 500,000 attributes is refused at the cap, before quick-xml's
    // duplicate check (quadratic in the number of attributes) runs over all of them.
    // Method: parse it; a quadratic check would take hours, so answering at all is the test.
    let attributes: String = (0..500_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = format!("<r{attributes}/>");
    assert_eq!(code_of(xml.as_bytes()), "ceb.too_many_attributes");
}

#[test]
fn a_megabyte_end_tag_is_not_quoted_in_full() {
    // Goal: parser messages that quote input are clipped, so a hostile tag cannot blow up a log
    // line or an error body. Method: a mismatched end tag of 1 MiB.
    let xml = format!("{RECEIPT_OPEN}</{}>", "e".repeat(1 << 20));
    let error = refusal(&xml, &Limits::default());
    assert_eq!(error.code(), "ceb.malformed");
    assert!(
        error.to_string().len() < 1_000,
        "{} bytes",
        error.to_string().len()
    );
}

#[test]
fn a_parse_stops_when_its_caller_gives_up() {
    // Goal: `parse_message_cancellable` stops with `ceb.abandoned` once told to, mid-document.
    // Method: the largest legal message, with a check that turns true at its tenth call.
    let xml = to_xml(&largest_legal_message()).expect("emit");
    let checks = Cell::new(0usize);
    let tenth = || {
        checks.set(checks.get() + 1);
        checks.get() >= 10
    };
    let error = parse_message_cancellable(xml.as_bytes(), &Limits::default(), &tenth)
        .expect_err("abandoned");
    assert_eq!(error, CebError::Abandoned);
    assert_eq!(error.code(), "ceb.abandoned");
    assert_eq!(checks.get(), 10);
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
