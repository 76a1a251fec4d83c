//! Records written straight to the documents topic that the database cannot hold, and keys with
//! surrounding whitespace: each becomes one dead letter (or a 422 at intake), the records
//! behind it clear, and clearance never stalls or restarts.

use bondgate_proto::v1::document::Body;
use serde_json::json;

use crate::fixtures::{self, USUAL};
use crate::stack::{EBP, LOG, PAY, Stack};

/// The dead letters so far: `(class, code)` in id order.
async fn dead_letters(stack: &Stack) -> anyhow::Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT error_class, error_code FROM dead_letters ORDER BY id")
            .fetch_all(&stack.pool)
            .await?,
    )
}

/// A clean bundle of `order_no` written straight to the topic.
fn clean_records(order_no: &str) -> Vec<bondgate_proto::v1::Document> {
    vec![
        fixtures::record(&fixtures::order(order_no, USUAL), EBP),
        fixtures::record(&fixtures::payment(order_no, USUAL), PAY),
        fixtures::record(&fixtures::waybill(order_no, USUAL), LOG),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_the_tables_cannot_hold_become_one_dead_letter_each() -> anyhow::Result<()> {
    // Goal: guarantee 9 — a record with an over-long field, and a bundle whose amounts overflow
    // the declaration's columns (a deterministic database error the decoder does not foresee),
    // each become one dead letter; the records around them clear; clearance keeps running.
    // Method: one batch of: a clean bundle, a waybill whose envelope names a 19-character
    // ebpCode, a bundle of 90,000,000,000,000 CNY goods plus as much freight (its dutiable value
    // has 15 integer digits, more than numeric(19, 5) holds), and another clean bundle.
    let stack = Stack::start("hostile_poison").await?;
    let mut records = clean_records("HPR-1");
    let mut long_key = fixtures::record(&fixtures::waybill("HPR-2", USUAL), LOG);
    long_key.ebp_code = "5001980001500198000".to_owned();
    records.push(long_key);
    records.extend(overflowing_bundle("HPR-3"));
    records.extend(clean_records("HPR-4"));
    stack.produce(&records).await?;

    assert_eq!(stack.declared("HPR-1").await?.0, 800);
    assert_eq!(stack.declared("HPR-4").await?.0, 800);
    stack
        .wait("two dead letters", || async {
            Ok(dead_letters(&stack).await?.len() == 2)
        })
        .await?;
    let letters = dead_letters(&stack).await?;
    assert!(
        letters.contains(&("invalid".to_owned(), "bg.format.too_long".to_owned())),
        "{letters:?}"
    );
    assert!(
        letters.contains(&("rejected".to_owned(), "bg.store.22003".to_owned())),
        "{letters:?}"
    );
    assert_eq!(
        stack.declaration("HPR-3").await?,
        None,
        "nothing half-written"
    );
    stack.assert_invariants().await?;
    stack.stop().await
}

/// A bundle whose amounts parse (14 integer digits each) but whose dutiable value (goods plus
/// freight) has 15: the pipeline's INSERT of the declaration fails deterministically.
fn overflowing_bundle(order_no: &str) -> Vec<bondgate_proto::v1::Document> {
    const HUGE: &str = "90000000000000";
    let mut order = fixtures::order(order_no, USUAL);
    let head = &mut order["orderHead"];
    for field in ["goodsValue", "freight", "discount", "acturalPaid"] {
        head[field] = json!(HUGE);
    }
    order["orderList"][0]["price"] = json!(HUGE);
    order["orderList"][0]["totalPrice"] = json!(HUGE);
    let mut payment = fixtures::payment(order_no, USUAL);
    payment["amountPaid"] = json!(HUGE);
    let mut waybill = fixtures::waybill(order_no, USUAL);
    waybill["freight"] = json!(HUGE);
    vec![
        fixtures::record(&order, EBP),
        fixtures::record(&payment, PAY),
        fixtures::record(&waybill, LOG),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_with_surrounding_whitespace_are_refused_alike_everywhere() -> anyhow::Result<()> {
    // Goal: a padded orderNo is refused with a clear 422 at intake (issue 14, point 6) and, sent
    // straight to Kafka, is a dead letter with the same code — never a 202 followed by a dead
    // letter, never a second order under a near-identical key.
    // Method: the clean order with orderNo " HW-1" as JSON and padded as CEB311 XML through
    // intake; then the record written to the topic with only the body padded (the key no longer
    // names the body's order) and with key, envelope and body padded alike.
    let stack = Stack::start("hostile_whitespace").await?;
    let mut order = fixtures::order("HW-1", USUAL);
    order["orderHead"]["orderNo"] = json!(" HW-1");
    let (status, body) = stack.post_json(EBP, &json!([order.clone()])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["problems"][0]["code"], "bg.format.whitespace",
        "{body}"
    );
    assert_eq!(body["problems"][0]["path"], "orderHead.orderNo", "{body}");

    let xml = padded_order_xml();
    let (status, body) = stack
        .post("/v1/ceb", "application/xml", xml.into_bytes(), EBP)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["problems"][0]["code"], "bg.format.whitespace",
        "{body}"
    );

    let mut body_only = fixtures::record(&fixtures::order("HW-1", USUAL), EBP);
    if let Some(Body::Order(body)) = body_only.body.as_mut() {
        body.order_no = " HW-1".to_owned();
    }
    let mut everywhere = body_only.clone();
    everywhere.order_no = " HW-1".to_owned();
    stack.produce(&[body_only, everywhere]).await?;
    stack
        .wait("two dead letters", || async {
            Ok(dead_letters(&stack).await?.len() == 2)
        })
        .await?;
    let mut codes: Vec<String> = dead_letters(&stack)
        .await?
        .into_iter()
        .map(|l| l.1)
        .collect();
    // The two keys may lie in different partitions: compare without their order.
    codes.sort();
    assert_eq!(codes, ["bg.format.whitespace", "bg.route.key_mismatch"]);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM order_documents")
        .fetch_one(&stack.pool)
        .await?;
    assert_eq!(orders, 0);
    stack.assert_invariants().await?;
    stack.stop().await
}

/// The clean order as a CEB311 message whose orderNo is padded with spaces.
fn padded_order_xml() -> String {
    let order = fixtures::order("HW-2", USUAL);
    let head = order["orderHead"].as_object().expect("a head");
    let fields: String = [
        "guid",
        "appType",
        "appTime",
        "appStatus",
        "orderType",
        "orderNo",
        "ebpCode",
        "ebpName",
        "ebcCode",
        "ebcName",
        "goodsValue",
        "freight",
        "discount",
        "taxTotal",
        "acturalPaid",
        "currency",
        "buyerRegNo",
        "buyerName",
        "buyerTelephone",
        "buyerIdType",
        "buyerIdNumber",
        "payCode",
        "payTransactionId",
        "consignee",
        "consigneeTelephone",
        "consigneeAddress",
    ]
    .iter()
    .map(|name| {
        let value = head[*name].as_str().unwrap_or_default();
        let value = if *name == "orderNo" {
            format!("  {value}  ")
        } else {
            value.to_owned()
        };
        format!("<ceb:{name}>{value}</ceb:{name}>")
    })
    .collect();
    let line = &order["orderList"][0];
    let list: String = [
        "gnum",
        "itemNo",
        "itemName",
        "gmodel",
        "unit",
        "qty",
        "price",
        "totalPrice",
        "currency",
        "country",
    ]
    .iter()
    .map(|name| {
        format!(
            "<ceb:{name}>{}</ceb:{name}>",
            line[*name].as_str().unwrap_or_default()
        )
    })
    .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ceb:CEB311Message guid=\"{}\" version=\"1.0\" \
         xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"><ceb:Order><ceb:OrderHead>{fields}\
         </ceb:OrderHead><ceb:OrderList>{list}</ceb:OrderList></ceb:Order><ceb:BaseTransfer>\
         <ceb:copCode>{EBP}</ceb:copCode><ceb:copName>示例平台</ceb:copName>\
         <ceb:dxpMode>DXP</ceb:dxpMode><ceb:dxpId>DXPENT0000000099</ceb:dxpId>\
         </ceb:BaseTransfer></ceb:CEB311Message>",
        head["guid"].as_str().unwrap_or_default()
    )
}
