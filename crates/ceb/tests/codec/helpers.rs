//! Our own small fixtures (never copies of the official samples) and shared test utilities.

use bondgate_ceb::model::{
    BaseTransfer, Inventory, InventoryHead, InventoryList, InventoryReturn, InvtCancelReturn,
    InvtRefundReturn, Order, OrderHead, OrderList, Record, Tax, TaxHeadRd, TaxListRd,
};
use bondgate_ceb::{CebMessage, Declaration, Receipt};

pub const GUID: &str = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D";

/// Builds a record from (element name, value) pairs; panics on a name the record lacks.
pub fn record<R: Record>(pairs: &[(&str, &str)]) -> R {
    let mut record = R::default();
    for (name, value) in pairs {
        assert!(
            record.set_field(name, (*value).to_owned()),
            "{} has no field {name}",
            R::TAG
        );
    }
    record
}

pub fn base_transfer() -> BaseTransfer {
    record(&[
        ("copCode", "500166A001"),
        ("copName", "重庆保税报关有限公司"),
        ("dxpMode", "DXP"),
        ("dxpId", "DXPENT0000000001"),
    ])
}

pub fn inventory_head(app_status: &str) -> InventoryHead {
    record(&[
        ("guid", GUID),
        ("appType", "1"),
        ("appTime", "20240301120000"),
        ("appStatus", app_status),
        ("orderNo", "ORD-2024-0001"),
        ("ebpCode", "5001660001"),
        ("ebpName", "两江跨境平台"),
        ("ebcCode", "5001660002"),
        ("ebcName", "寸滩电商 & 贸易 <有限> 公司"),
        ("logisticsNo", "YT0000000001"),
        ("logisticsCode", "5001660003"),
        ("logisticsName", "渝运物流"),
        ("copNo", "COP20240301000001"),
        ("assureCode", "5001660001"),
        ("emsNo", "T8012W000001"),
        ("ieFlag", "I"),
        ("declTime", "20240301"),
        ("customsCode", "8012"),
        ("portCode", "8012"),
        ("buyerIdType", "1"),
        ("buyerIdNumber", "500101199001011234"),
        ("buyerName", "张三"),
        ("buyerTelephone", "13800000000"),
        ("consigneeAddress", "重庆市渝北区 \"某\" 路 1 号"),
        ("agentCode", "500166A001"),
        ("agentName", "重庆保税报关有限公司"),
        ("areaCode", "500166B001"),
        ("areaName", "寸滩保税仓储"),
        ("tradeMode", "1210"),
        ("trafMode", "4"),
        ("country", "142"),
        ("freight", "0"),
        ("insuredFee", "0"),
        ("currency", "142"),
        ("packNo", "1"),
        ("grossWeight", "1.25"),
        ("netWeight", "1.0"),
    ])
}

pub fn inventory_line(gnum: usize) -> InventoryList {
    let gnum = gnum.to_string();
    record(&[
        ("gnum", &gnum),
        ("itemRecordNo", "1001"),
        ("itemNo", "SKU-1"),
        ("gcode", "3304990099"),
        ("gname", "面霜"),
        ("gmodel", "4|3|护肤|50ml/瓶|无中文名称/FACE CREAM"),
        ("barCode", "无"),
        ("country", "116"),
        ("currency", "142"),
        ("qty", "2"),
        ("unit", "142"),
        ("qty1", "0.1"),
        ("unit1", "035"),
        ("price", "99.5"),
        ("totalPrice", "199"),
    ])
}

pub fn ceb621(app_status: &str, records: usize, lines: usize) -> CebMessage {
    let inventory = Inventory {
        head: inventory_head(app_status),
        lists: (1..=lines).map(inventory_line).collect(),
    };
    CebMessage::Ceb621(Declaration {
        guid: GUID.to_owned(),
        version: "1.0".to_owned(),
        records: vec![inventory; records],
        base_transfer: base_transfer(),
        base_subscribes: Vec::new(),
        signed: false,
    })
}

pub fn order_head(app_status: &str) -> OrderHead {
    record(&[
        ("guid", GUID),
        ("appType", "1"),
        ("appTime", "20240301120000"),
        ("appStatus", app_status),
        ("orderType", "I"),
        ("orderNo", "ORD-2024-0001"),
        ("ebpCode", "5001660001"),
        ("ebpName", "两江跨境平台"),
        ("ebcCode", "5001660002"),
        ("ebcName", "寸滩电商 & 贸易 <有限> 公司"),
        ("goodsValue", "199"),
        ("freight", "0"),
        ("discount", "0"),
        ("taxTotal", "0"),
        ("acturalPaid", "199"),
        ("currency", "142"),
        ("buyerRegNo", "buyer01"),
        ("buyerName", "张三"),
        ("buyerTelephone", "13800000000"),
        ("buyerIdType", "1"),
        ("buyerIdNumber", "500101199001011234"),
        ("payCode", "5001660004"),
        ("payName", "渝付支付"),
        ("payTransactionId", "PAY-2024-0001"),
        ("consignee", "张三"),
        ("consigneeTelephone", "13800000000"),
        ("consigneeAddress", "重庆市渝北区 \"某\" 路 1 号"),
    ])
}

pub fn order_line(gnum: usize) -> OrderList {
    let gnum = gnum.to_string();
    record(&[
        ("gnum", &gnum),
        ("itemNo", "SKU-1"),
        ("itemName", "面霜"),
        ("gmodel", "4|3|护肤|50ml/瓶|无中文名称/FACE CREAM"),
        ("unit", "142"),
        ("qty", "2"),
        ("price", "99.5"),
        ("totalPrice", "199"),
        ("currency", "142"),
        ("country", "116"),
    ])
}

pub fn ceb311(app_status: &str, records: usize, lines: usize) -> CebMessage {
    let order = Order {
        head: order_head(app_status),
        lists: (1..=lines).map(order_line).collect(),
    };
    CebMessage::Ceb311(Declaration {
        guid: GUID.to_owned(),
        version: "1.0".to_owned(),
        records: vec![order; records],
        base_transfer: base_transfer(),
        base_subscribes: Vec::new(),
        signed: false,
    })
}

fn return_pairs(status: &str) -> Vec<(&'static str, String)> {
    vec![
        ("guid", GUID.to_owned()),
        ("customsCode", "8012".to_owned()),
        ("ebpCode", "5001660001".to_owned()),
        ("ebcCode", "5001660002".to_owned()),
        ("agentCode", "500166A001".to_owned()),
        ("copNo", "COP20240301000001".to_owned()),
        ("preNo", "B20240301000000001".to_owned()),
        ("invtNo", "80122024I000000001".to_owned()),
        ("returnStatus", status.to_owned()),
        ("returnTime", "20240301120001123".to_owned()),
        ("returnInfo", "[Code:2600;Desc:放行]".to_owned()),
    ]
}

fn return_record<R: Record>(status: &str) -> R {
    let pairs = return_pairs(status);
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    record(&borrowed)
}

fn receipt<T>(records: Vec<T>) -> Receipt<T> {
    Receipt {
        guid: GUID.to_owned(),
        version: "1.0".to_owned(),
        records,
        signed: false,
    }
}

pub fn ceb622() -> CebMessage {
    let returns: Vec<InventoryReturn> = vec![return_record("120"), return_record("800")];
    CebMessage::Ceb622(receipt(returns))
}

pub fn ceb624() -> CebMessage {
    CebMessage::Ceb624(receipt(vec![return_record::<InvtCancelReturn>("399")]))
}

pub fn ceb626() -> CebMessage {
    CebMessage::Ceb626(receipt(vec![return_record::<InvtRefundReturn>("399")]))
}

pub fn ceb816() -> CebMessage {
    let head: TaxHeadRd = record(&[
        ("guid", GUID),
        ("returnTime", "20240301120002000"),
        ("invtNo", "80122024I000000001"),
        ("taxNo", "80122024I000000001_0"),
        ("customsTax", "0"),
        ("valueAddedTax", "37.31"),
        ("consumptionTax", "0"),
        ("status", "1"),
        ("agentCode", "500166A001"),
        ("customsCode", "8012"),
    ]);
    let line: TaxListRd = record(&[
        ("gnum", "1"),
        ("gcode", "2201101000"),
        ("taxPrice", "410.00"),
        ("customsTax", "0"),
        ("valueAddedTax", "37.31"),
        ("consumptionTax", "0"),
    ]);
    CebMessage::Ceb816(receipt(vec![Tax {
        head,
        lists: vec![line],
    }]))
}
