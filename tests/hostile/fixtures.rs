//! Our own documents (not the official samples): a clean bundle of the seed enterprises' order,
//! payment and waybill as JSON, cancellations and returns, and the same documents as the
//! records intake would produce, for attacks that skip intake.

use bondgate_domain::config::RulesConfig;
use bondgate_intake::submission;
use bondgate_proto::v1;
use serde_json::{Value, json};

use crate::stack::{EBC, EBP, LOG, PAY};

/// A guid derived from the order number, so a resubmission is byte for byte the same.
fn guid(order_no: &str, kind: char) -> String {
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{kind}{order_no}").as_bytes(),
    );
    id.hyphenated().to_string().to_uppercase()
}

/// Beijing time now, as CEB `YYYYMMDDhhmmss`.
pub fn now_ceb() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// The parties of an order besides its number.
#[derive(Debug, Clone, Copy)]
pub struct Parties {
    /// Platform.
    pub ebp: &'static str,
    /// Seller.
    pub ebc: &'static str,
    /// Payment company.
    pub pay: &'static str,
}

/// The seed platform's order sold by the seed seller, paid with the seed payment company.
pub const USUAL: Parties = Parties {
    ebp: EBP,
    ebc: EBC,
    pay: PAY,
};

/// A clean order: one `WATER-500ML` line of 41.00 (released at once), buyer 张三, who pays.
pub fn order(order_no: &str, parties: Parties) -> Value {
    json!({
        "type": "order",
        "orderHead": {
            "guid": guid(order_no, 'O'), "appType": "1", "appTime": now_ceb(),
            "appStatus": "2", "orderType": "I", "orderNo": order_no, "ebpCode": parties.ebp,
            "ebpName": "示例平台", "ebcCode": parties.ebc, "ebcName": "示例卖家",
            "goodsValue": "41.00", "freight": "0", "discount": "0", "taxTotal": "0",
            "acturalPaid": "41.00", "currency": "142", "buyerRegNo": "buyer-hostile",
            "buyerName": "张三", "buyerTelephone": "13812345678", "buyerIdType": "1",
            "buyerIdNumber": "110101199003071234", "payCode": parties.pay,
            "payTransactionId": format!("TX-{order_no}"), "consignee": "张三",
            "consigneeTelephone": "13812345678", "consigneeAddress": "重庆市渝北区两路街道1号"
        },
        "orderList": [{
            "gnum": "1", "itemNo": "WATER-500ML", "itemName": "天然矿泉水",
            "gmodel": "天然矿泉水|500ml/瓶|未加糖", "unit": "142", "qty": "1",
            "price": "41.00", "totalPrice": "41.00", "currency": "142", "country": "305"
        }]
    })
}

/// The order's payment by `parties.pay` (payer 张三, as the buyer).
pub fn payment(order_no: &str, parties: Parties) -> Value {
    json!({
        "type": "payment", "guid": guid(order_no, 'P'), "appType": "1",
        "appTime": now_ceb(), "appStatus": "2", "payCode": parties.pay,
        "payName": "示例支付", "payTransactionId": format!("TX-{order_no}"),
        "orderNo": order_no, "ebpCode": parties.ebp, "ebpName": "示例平台",
        "payerIdType": "1", "payerIdNumber": "110101199003071234", "payerName": "张三",
        "amountPaid": "41.00", "currency": "142", "payTime": now_ceb()
    })
}

/// The order's waybill by the seed logistics company.
pub fn waybill(order_no: &str, parties: Parties) -> Value {
    json!({
        "type": "waybill", "ebpCode": parties.ebp, "guid": guid(order_no, 'W'), "appType": "1",
        "appTime": now_ceb(), "appStatus": "2", "logisticsCode": LOG,
        "logisticsName": "示例物流", "logisticsNo": format!("LN-{order_no}"),
        "orderNo": order_no, "freight": "0", "insuredFee": "0", "currency": "142",
        "weight": "0.6", "packNo": "1", "consignee": "张三",
        "consigneeAddress": "重庆市渝北区两路街道1号", "consigneeTelephone": "13812345678"
    })
}

/// A cancellation of `order_no`'s inventory `invt_no` that names `agent` as its agent.
pub fn cancellation(order_no: &str, ebp: &str, invt_no: &str, agent: &str) -> Value {
    json!({
        "type": "cancellation", "guid": guid(&format!("{order_no}{agent}{invt_no}"), 'C'),
        "appType": "1", "appTime": now_ceb(), "appStatus": "2", "customsCode": "8012",
        "orderNo": order_no, "ebpCode": ebp, "ebpName": "示例平台", "ebcCode": EBC,
        "ebcName": "示例卖家", "logisticsNo": format!("LN-{order_no}"), "logisticsCode": LOG,
        "logisticsName": "示例物流", "invtNo": invt_no, "buyerIdType": "1",
        "buyerIdNumber": "110101199003071234", "buyerName": "张三",
        "buyerTelephone": "13812345678", "agentCode": agent, "agentName": "申报企业",
        "reason": "消费者取消订单"
    })
}

/// A return of the whole of `order_no`'s inventory `invt_no` naming `agent` as its agent.
pub fn refund(order_no: &str, ebp: &str, invt_no: &str, agent: &str) -> Value {
    json!({
        "type": "refund",
        "invtRefundHead": {
            "guid": guid(&format!("{order_no}{agent}{invt_no}"), 'T'), "appType": "1",
            "appTime": now_ceb(), "appStatus": "2", "customsCode": "8012", "orderNo": order_no,
            "ebpCode": ebp, "ebpName": "示例平台", "ebcCode": EBC, "ebcName": "示例卖家",
            "logisticsNo": format!("LN-{order_no}"), "logisticsCode": LOG,
            "logisticsName": "示例物流", "invtNo": invt_no, "buyerIdType": "1",
            "buyerIdNumber": "110101199003071234", "buyerName": "张三",
            "buyerTelephone": "13812345678", "agentCode": agent, "agentName": "申报企业",
            "reason": "商品破损退货"
        },
        "invtRefundList": [{
            "gnum": "1", "gcode": "2201101000", "gname": "天然矿泉水", "qty": "1", "unit": "142"
        }]
    })
}

/// The three documents of a clean bundle, each as `(sender, JSON array)`.
pub fn bundle(order_no: &str, parties: Parties) -> [(&'static str, Value); 3] {
    [
        (parties.ebp, json!([order(order_no, parties)])),
        (parties.pay, json!([payment(order_no, parties)])),
        (LOG, json!([waybill(order_no, parties)])),
    ]
}

/// The record intake would produce for `document` sent by `sender` (validated as intake
/// validates it), to be altered and written to Kafka directly.
pub fn record(document: &Value, sender: &str) -> v1::Document {
    let bytes = serde_json::to_vec(&json!([document])).expect("JSON");
    let raw = submission::parse_json(&bytes, 100).expect("a well-formed document");
    let records = submission::validate(raw, &RulesConfig::default()).expect("a valid document");
    records[0].to_document(sender, "json", chrono::Utc::now().timestamp_millis())
}
