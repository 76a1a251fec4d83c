//! Writes the seed corpus of the fuzz targets, `corpus/<target>/`: valid documents (the load
//! generator's orders, payments and waybills, and our own fixtures of every CEB message type)
//! and near-valid variants that each stop at one check. Never copies of the official samples.
//!
//! Run from `fuzz/`: `cargo run --example seeds`. It overwrites the files it writes and prints
//! what each document seed decodes to, so a seed named `valid_*` is known to be valid.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use bondgate_ceb::model::{
    BaseTransfer, Delivery, DeliveryReturn, Inventory, InventoryReturn, InvtCancel,
    InvtCancelReturn, InvtRefund, InvtRefundReturn, LogisticsReturn, LogisticsStatus,
    LogisticsStatusReturn, MessageReturn, OrderReturn, PaymentReturn, Record, Tax, TaxHeadStatus,
};
use bondgate_ceb::{CebMessage, Declaration, Limits, Receipt, parse_message, to_xml};
use bondgate_clearance::decode::{InRecord, decode};
use bondgate_intake::submission::{parse_json, validate};
use bondgate_loadtest::generate::{GeneratedOrder, Generator, GeneratorConfig};
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const DOCUMENT_ID: &str = "01930000-0000-7000-8000-000000000001";
const RECEIVED_AT_MS: i64 = 1_762_824_600_000;
const SIGNATURE: &str = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
    <ds:SignedInfo></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>";

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut generator = Generator::new(GeneratorConfig {
        seed: 9,
        order_no_prefix: "FZ".to_owned(),
        ordinary_buyers: 10,
        lines_max: 3,
        ..GeneratorConfig::default()
    })?;
    let order = generator.next_order();
    ceb_seeds(&root.join("ceb_parse"), &order)?;
    document_seeds(&root.join("document_decode"), &order)?;
    json_seeds(&root.join("intake_json"), &order)?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
    fs::create_dir_all(dir)?;
    let bytes = bytes.as_ref();
    assert!(
        bytes.len() <= 8 * 1024,
        "seed {name} is {} bytes",
        bytes.len()
    );
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

/// A plausible value for a CEB field, by element name.
fn sample(name: &str) -> &'static str {
    match name {
        "guid" => "6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",
        "appTime" | "payTime" | "logisticsTime" => "20251111093000",
        "appStatus" => "2",
        "customsCode" | "portCode" | "iePort" => "8012",
        "invtNo" | "taxNo" => "80122025I000000001",
        "preNo" => "B20251111000000001",
        "buyerIdNumber" | "payerIdNumber" => "500101199001011234",
        "buyerTelephone" | "consigneeTelephone" | "telephone" => "13800000000",
        "returnStatus" => "800",
        "returnTime" => "20251111093001123",
        "returnInfo" => "[Code:2600;Desc:放行]",
        "gcode" => "3304990099",
        "currency" | "country" | "unit" => "142",
        "dxpMode" => "DXP",
        "dxpId" => "DXPENT0000000001",
        "reason" => "买家取消订单",
        "gname" | "itemName" => "面霜",
        name if name.ends_with("Code") => "5001660001",
        name if name.ends_with("Name") => "重庆测试企业",
        name if name.ends_with("No") => "FZ0000000001",
        _ => "1",
    }
}

/// A record with every field set: `overrides` first, else [`sample`].
fn filled<R: Record>(overrides: &[(&str, &str)]) -> R {
    let mut record = R::default();
    for spec in R::FIELDS {
        let value = overrides
            .iter()
            .find(|(name, _)| *name == spec.name)
            .map_or_else(|| sample(spec.name), |(_, value)| *value);
        record.set_field(spec.name, value.to_owned());
    }
    record
}

fn declaration<T>(record: T) -> Declaration<T> {
    Declaration {
        guid: sample("guid").to_owned(),
        version: "1.0".to_owned(),
        records: vec![record],
        base_transfer: filled::<BaseTransfer>(&[]),
        base_subscribes: Vec::new(),
        signed: false,
    }
}

fn receipt<T>(record: T) -> Receipt<T> {
    Receipt {
        guid: sample("guid").to_owned(),
        version: "1.0".to_owned(),
        records: vec![record],
        signed: false,
    }
}

/// The cancellation (CEB623) and return (CEB625) of the generated order.
fn order_fields(order: &GeneratedOrder) -> Vec<(&'static str, String)> {
    let head = &order.order.head;
    vec![
        ("orderNo", head.order_no.clone()),
        ("ebpCode", head.ebp_code.clone()),
        ("ebcCode", head.ebc_code.clone()),
        ("logisticsNo", order.waybill.logistics_no.clone()),
        ("logisticsCode", order.waybill.logistics_code.clone()),
    ]
}

fn cancellation(order: &GeneratedOrder) -> InvtCancel {
    let fields = order_fields(order);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    filled(&pairs)
}

fn refund(order: &GeneratedOrder) -> InvtRefund {
    let fields = order_fields(order);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    InvtRefund {
        head: filled(&pairs),
        lists: vec![filled(&[])],
    }
}

fn ceb_seeds(dir: &Path, order: &GeneratedOrder) -> Result<()> {
    let order311 = to_xml(&CebMessage::Ceb311(declaration(order.order.clone())))?;
    let messages = [
        ("valid_ceb311_order.xml", order311.clone()),
        (
            "valid_ceb411_payment.xml",
            to_xml(&CebMessage::Ceb411(declaration(order.payment.clone())))?,
        ),
        (
            "valid_ceb511_waybill.xml",
            to_xml(&CebMessage::Ceb511(declaration(order.waybill.clone())))?,
        ),
        (
            "valid_ceb513_logistics_status.xml",
            to_xml(&CebMessage::Ceb513(declaration(filled::<LogisticsStatus>(
                &[],
            ))))?,
        ),
        (
            "valid_ceb621_inventory.xml",
            to_xml(&CebMessage::Ceb621(declaration(Inventory {
                head: filled(&[]),
                lists: vec![filled(&[]), filled(&[("gnum", "2")])],
            })))?,
        ),
        (
            "valid_ceb623_cancellation.xml",
            to_xml(&CebMessage::Ceb623(declaration(cancellation(order))))?,
        ),
        (
            "valid_ceb625_refund.xml",
            to_xml(&CebMessage::Ceb625(declaration(refund(order))))?,
        ),
        (
            "valid_ceb711_delivery.xml",
            to_xml(&CebMessage::Ceb711(declaration(Delivery {
                head: filled(&[]),
                lists: vec![filled(&[])],
            })))?,
        ),
    ];
    for (name, xml) in &messages {
        write(dir, name, xml)?;
    }
    receipt_seeds(dir)?;
    variant_seeds(dir, &order311)?;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let outcome = match parse_message(&fs::read(&path)?, &Limits::default()) {
            Ok(message) => format!("ok, {}", message.code()),
            Err(error) => format!("error {}", error.code()),
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!("ceb_parse/{name}: {outcome}");
    }
    Ok(())
}

fn receipt_seeds(dir: &Path) -> Result<()> {
    let receipts = [
        CebMessage::Ceb312(receipt(filled::<OrderReturn>(&[]))),
        CebMessage::Ceb412(receipt(filled::<PaymentReturn>(&[]))),
        CebMessage::Ceb512(receipt(filled::<LogisticsReturn>(&[]))),
        CebMessage::Ceb514(receipt(filled::<LogisticsStatusReturn>(&[]))),
        CebMessage::Ceb622(receipt(filled::<InventoryReturn>(&[]))),
        CebMessage::Ceb624(receipt(filled::<InvtCancelReturn>(&[]))),
        CebMessage::Ceb626(receipt(filled::<InvtRefundReturn>(&[]))),
        CebMessage::Ceb712(receipt(filled::<DeliveryReturn>(&[]))),
        CebMessage::Ceb816(receipt(Tax {
            head: filled(&[]),
            lists: vec![filled(&[])],
        })),
        CebMessage::Ceb818(receipt(filled::<TaxHeadStatus>(&[]))),
        CebMessage::Ceb900(receipt(filled::<MessageReturn>(&[]))),
    ];
    for message in &receipts {
        let name = format!("valid_{}_receipt.xml", message.code().to_lowercase());
        write(dir, &name, to_xml(message)?)?;
    }
    Ok(())
}

/// Encodings, namespaces and XML constructs a real sender may use, and one refusal each.
fn variant_seeds(dir: &Path, order311: &str) -> Result<()> {
    let gbk = order311.replacen("encoding=\"UTF-8\"", "encoding=\"GBK\"", 1);
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&gbk);
    assert!(!unmappable);
    write(dir, "valid_ceb311_gbk.xml", gbk)?;
    let receipt622 = "<CEB622Message xmlns=\"http://www.chinaport.gov.cn/ceb\" guid=\"g-1\" \
        version=\"1.0\"><!-- customs --><InventoryReturn><guid>g-1</guid>\
        <returnStatus>800</returnStatus><returnInfo><![CDATA[<放行> & ok]]>&#x4E2D;&amp;&#65;\
        </returnInfo><orderNo>extra element, skipped</orderNo></InventoryReturn>\
        <?pi data?></CEB622Message>";
    write(dir, "valid_ceb622_default_ns_cdata_refs.xml", receipt622)?;
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(receipt622.replacen("><!--", ">\r\n<!--", 1).as_bytes());
    write(dir, "valid_ceb622_bom_crlf.xml", bom)?;
    let close = order311
        .rfind("</ceb:CEB311Message>")
        .expect("root end tag");
    let signed = format!("{}{SIGNATURE}\n{}", &order311[..close], &order311[close..]);
    write(dir, "valid_ceb311_signed.xml", signed)?;

    let body = order311.split_once("?>\n").expect("declaration").1;
    let refusals = [
        (
            "refused_doctype.xml",
            format!("<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n{body}"),
        ),
        (
            "refused_entity.xml",
            order311.replacen("<ceb:currency>", "<ceb:currency>&a;", 1),
        ),
        (
            "refused_truncated.xml",
            order311[..order311.floor_char_boundary(order311.len() / 2)].to_owned(),
        ),
        (
            "refused_unknown_element.xml",
            order311.replacen("<ceb:OrderHead>", "<ceb:OrderHead><ceb:x>1</ceb:x>", 1),
        ),
        (
            "refused_no_base_transfer.xml",
            cut_between(order311, "<ceb:BaseTransfer>", "</ceb:BaseTransfer>"),
        ),
        (
            "refused_encoding_latin1.xml",
            order311.replacen("UTF-8", "ISO-8859-1", 1),
        ),
        (
            "refused_ceb999_root.xml",
            order311.replace("CEB311Message", "CEB999Message"),
        ),
    ];
    for (name, xml) in &refusals {
        write(dir, name, xml)?;
    }
    Ok(())
}

/// `text` without the part from `start` to the end of `end`.
fn cut_between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).expect("start");
    let to = text.find(end).expect("end") + end.len();
    format!("{}{}", &text[..from], &text[to..])
}

fn document(order: &GeneratedOrder, body: Body) -> v1::Document {
    let head = &order.order.head;
    v1::Document {
        document_id: DOCUMENT_ID.to_owned(),
        ebp_code: head.ebp_code.clone(),
        order_no: head.order_no.clone(),
        sender_code: head.ebp_code.clone(),
        received_at_ms: RECEIVED_AT_MS,
        source_format: "json".to_owned(),
        body: Some(body),
    }
}

/// The fuzz target's input layout: key length (`0xFF`: no key), key, value.
fn framed(key: Option<&str>, value: &[u8]) -> Vec<u8> {
    let mut bytes = match key {
        Some(key) => {
            let length = u8::try_from(key.len()).expect("short key");
            assert_ne!(length, 0xFF);
            [&[length], key.as_bytes()].concat()
        }
        None => vec![0xFF],
    };
    bytes.extend_from_slice(value);
    bytes
}

fn document_seeds(dir: &Path, order: &GeneratedOrder) -> Result<()> {
    let key = order.key().to_owned();
    let [order_doc, payment_doc, waybill_doc] = order.documents();
    let cancel_doc = document(order, Body::Cancellation((&cancellation(order)).into()));
    let refund_doc = document(order, Body::Refund((&refund(order)).into()));
    let mut change = order.order.clone();
    change.head.app_type = "2".to_owned();
    let mut bad_app_type = order.order.clone();
    bad_app_type.head.app_type = "4".to_owned();
    let mut bad_amount = order.order.clone();
    bad_amount.head.goods_value = "12.345678".to_owned();
    let mut other_order = order.payment.clone();
    other_order.order_no.push('X');
    let mut no_body = order_doc.clone();
    no_body.body = None;
    let order_bytes = order_doc.encode_to_vec();

    let seeds: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("valid_order.bin", Some(&key), order_bytes.clone()),
        ("valid_payment.bin", Some(&key), payment_doc.encode_to_vec()),
        ("valid_waybill.bin", Some(&key), waybill_doc.encode_to_vec()),
        (
            "valid_cancellation.bin",
            Some(&key),
            cancel_doc.encode_to_vec(),
        ),
        ("valid_refund.bin", Some(&key), refund_doc.encode_to_vec()),
        (
            "valid_order_change.bin",
            Some(&key),
            document(order, Body::Order((&change).into())).encode_to_vec(),
        ),
        ("dead_no_key.bin", None, order_bytes.clone()),
        (
            "dead_wrong_key.bin",
            Some("5001660001/OTHER"),
            order_bytes.clone(),
        ),
        ("dead_empty_body.bin", Some(&key), no_body.encode_to_vec()),
        (
            "dead_truncated.bin",
            Some(&key),
            order_bytes[..order_bytes.len() - 7].to_vec(),
        ),
        (
            "dead_not_protobuf.bin",
            Some(&key),
            b"<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"/>".to_vec(),
        ),
        (
            "dead_app_type_4.bin",
            Some(&key),
            document(order, Body::Order((&bad_app_type).into())).encode_to_vec(),
        ),
        (
            "dead_bad_amount.bin",
            Some(&key),
            document(order, Body::Order((&bad_amount).into())).encode_to_vec(),
        ),
        (
            "dead_body_names_other_order.bin",
            Some(&key),
            document(order, Body::Payment((&other_order).into())).encode_to_vec(),
        ),
    ];
    for (name, key, value) in seeds {
        let outcome = match decode(InRecord {
            partition: 0,
            offset: 0,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.clone(),
            timestamp_ms: 0,
        }) {
            Ok(_) => "ok".to_owned(),
            Err(dead) => format!("dead letter {} {}", dead.class, dead.code),
        };
        println!("document_decode/{name}: {outcome}");
        write(dir, name, framed(key, &value))?;
    }
    Ok(())
}

fn tagged(kind: &str, record: &impl serde::Serialize) -> Result<Value> {
    let mut value = serde_json::to_value(record)?;
    drop_nulls(&mut value);
    value["type"] = Value::from(kind);
    Ok(value)
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, member| !member.is_null());
            object.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn json_seeds(dir: &Path, order: &GeneratedOrder) -> Result<()> {
    let [order_json, payment, waybill] = order.to_json();
    let mut verified = order_json.clone();
    verified["buyerIdentityVerified"] = Value::from(true);
    let mut line_off = order_json.clone();
    line_off["orderList"][0]["totalPrice"] = Value::from("0.01");
    let mut unknown_field = payment.clone();
    unknown_field["tip"] = Value::from("1");
    let mut number = payment.clone();
    number["amountPaid"] = json!(209.0);
    let mut no_platform = waybill.clone();
    no_platform
        .as_object_mut()
        .expect("object")
        .remove("ebpCode");
    let mut not_bool = order_json.clone();
    not_bool["buyerIdentityVerified"] = Value::from("yes");
    let mut unknown_type = payment.clone();
    unknown_type["type"] = Value::from("invoice");
    let mut missing_type = payment.clone();
    missing_type.as_object_mut().expect("object").remove("type");

    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "valid_bundle.json",
            to_bytes(&json!([order_json, payment, waybill]))?,
        ),
        (
            "valid_order_verified_buyer.json",
            to_bytes(&json!([verified]))?,
        ),
        ("valid_payment.json", to_bytes(&json!([payment]))?),
        ("valid_waybill.json", to_bytes(&json!([waybill]))?),
        (
            "valid_cancellation.json",
            to_bytes(&json!([tagged("cancellation", &cancellation(order))?]))?,
        ),
        (
            "valid_refund.json",
            to_bytes(&json!([tagged("refund", &refund(order))?]))?,
        ),
        ("invalid_line_total.json", to_bytes(&json!([line_off]))?),
        (
            "invalid_duplicate.json",
            to_bytes(&json!([payment, payment]))?,
        ),
        (
            "invalid_waybill_no_platform.json",
            to_bytes(&json!([no_platform]))?,
        ),
        (
            "schema_unknown_field.json",
            to_bytes(&json!([unknown_field]))?,
        ),
        ("schema_number_not_string.json", to_bytes(&json!([number]))?),
        (
            "schema_verified_not_bool.json",
            to_bytes(&json!([not_bool]))?,
        ),
        (
            "schema_unknown_type.json",
            to_bytes(&json!([unknown_type]))?,
        ),
        (
            "schema_missing_type.json",
            to_bytes(&json!([missing_type]))?,
        ),
        (
            "schema_not_object.json",
            b"[1, \"order\", null, []]".to_vec(),
        ),
        ("request_not_array.json", to_bytes(&payment)?),
        ("request_empty_array.json", b"[]".to_vec()),
        (
            "request_too_many.json",
            to_bytes(&json!(vec![json!({}); 101]))?,
        ),
        (
            "request_malformed.json",
            b"[{\"type\": \"order\",]".to_vec(),
        ),
        ("request_not_utf8.json", b"[{\"type\": \"\xFF\"}]".to_vec()),
    ];
    let rules = bondgate_intake::Config::default().rules;
    for (name, bytes) in seeds {
        let outcome = match parse_json(&bytes, 100).and_then(|docs| validate(docs, &rules)) {
            Ok(records) => format!("ok, {} records", records.len()),
            Err(error) => format!("error {}", error.code()),
        };
        println!("intake_json/{name}: {outcome}");
        write(dir, name, bytes)?;
    }
    Ok(())
}

fn to_bytes(value: &Value) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec_pretty(value)?)
}
