//! Strong documents parsed from the raw CEB model: order (CEB311), payment (CEB411), waybill
//! (CEB511), cancellation (CEB623) and return (CEB625).
//!
//! Parsing checks formats and reports every problem with its field path (`orderHead.goodsValue`,
//! `orderList[0].price`; list indexes are 0-based positions in the document). Fixed values that
//! the spec pins (currency `142`, ID type `1`, order type `I`, pack count `1`) are kept as text
//! and judged by [`crate::matching`], so one report lists every business mismatch together.

use bondgate_ceb::model as raw;
use serde::Serialize;

use crate::problem::{Problem, Problems};
use crate::types::{
    Amount, CebDateTime, CustomsCode, CustomsOffice, FormatError, HsCode, InvtNo, OrderKey,
    OrderNo, PreNo, Quantity, key_text, text,
};

/// Most lines an order, inventory or return may have (XSD).
pub const LINES_MAX: usize = 99;

/// The orderer (订购人) as an order names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Buyer {
    /// Platform account (`buyerRegNo`); absent on cancellations and returns.
    pub reg_no: Option<String>,
    /// Real name.
    pub name: String,
    /// Telephone.
    pub telephone: String,
    /// ID type as sent (must be `1`, ID card).
    pub id_type: String,
    /// ID number.
    pub id_number: String,
}

/// Consignee of a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consignee {
    /// Name.
    pub name: String,
    /// Telephone.
    pub telephone: String,
    /// Address.
    pub address: String,
    /// GB/T 2260 district code (orders only).
    pub district: Option<String>,
}

/// One order line (`OrderList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    /// Line number, 1-based and consecutive.
    pub gnum: u32,
    /// SKU (`itemNo`), the account-book lookup key.
    pub item_no: Option<String>,
    /// Platform goods name.
    pub item_name: String,
    /// Declaration elements.
    pub gmodel: String,
    /// Bar code.
    pub bar_code: Option<String>,
    /// Transaction unit (JGS-20).
    pub unit: String,
    /// Quantity, greater than zero.
    pub qty: Quantity,
    /// Unit price (`0` for gifts).
    pub price: Amount,
    /// Line total, should be `price × qty`.
    pub total_price: Amount,
    /// Currency as sent.
    pub currency: String,
    /// Origin country (JGS-20).
    pub country: String,
    /// Note.
    pub note: Option<String>,
}

/// A CEB311 order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// `ebpCode` + `orderNo`.
    pub key: OrderKey,
    /// Document id.
    pub guid: String,
    /// `appType` (1 new, 2 change, 3 delete).
    pub app_type: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// Order type as sent (must be `I`).
    pub order_type: String,
    /// Platform name.
    pub ebp_name: String,
    /// E-commerce enterprise (seller).
    pub ebc_code: CustomsCode,
    /// Seller name.
    pub ebc_name: String,
    /// Goods value, including non-cash deductions.
    pub goods_value: Amount,
    /// Freight not included in the goods price.
    pub freight: Amount,
    /// Non-cash deductions.
    pub discount: Amount,
    /// Tax withheld in advance.
    pub tax_total: Amount,
    /// Amount actually paid.
    pub actural_paid: Amount,
    /// Currency as sent.
    pub currency: String,
    /// The orderer.
    pub buyer: Buyer,
    /// Payment enterprise, when given.
    pub pay_code: Option<CustomsCode>,
    /// Payment enterprise name.
    pub pay_name: Option<String>,
    /// Payment serial, when given.
    pub pay_transaction_id: Option<String>,
    /// Consignee.
    pub consignee: Consignee,
    /// Note.
    pub note: Option<String>,
    /// Lines, in document order.
    pub lines: Vec<OrderLine>,
}

/// A CEB411 payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Document id.
    pub guid: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// Payment enterprise.
    pub pay_code: CustomsCode,
    /// Payment enterprise name.
    pub pay_name: String,
    /// Payment serial.
    pub pay_transaction_id: String,
    /// The order paid for.
    pub key: OrderKey,
    /// Platform name.
    pub ebp_name: String,
    /// Payer ID type as sent.
    pub payer_id_type: String,
    /// Payer ID number.
    pub payer_id_number: String,
    /// Payer name.
    pub payer_name: String,
    /// Payer telephone.
    pub telephone: Option<String>,
    /// Amount paid.
    pub amount_paid: Amount,
    /// Currency as sent.
    pub currency: String,
    /// Payment time.
    pub pay_time: CebDateTime,
}

/// A CEB513 logistics status: what happened to a parcel, told by its logistics company. bondgate
/// takes any status of a released parcel as the parcel having left the zone (the spec limits
/// `logisticsStatus` to `S`, signed for; the official sample sends `R`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogisticsStatus {
    /// Document id.
    pub guid: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// Logistics enterprise.
    pub logistics_code: CustomsCode,
    /// Its name.
    pub logistics_name: String,
    /// Parcel waybill number.
    pub logistics_no: String,
    /// The status letter as sent (`S` signed for).
    pub logistics_status: String,
    /// When it happened, as the logistics company says.
    pub logistics_time: CebDateTime,
}

impl LogisticsStatus {
    /// Parses a raw CEB513 record, reporting every problem.
    pub fn parse(s: &raw::LogisticsStatus) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let mut n = Node::new(&mut problems, "logisticsStatus");
        let guid = n.req("guid", &s.guid, guid);
        // An exit is recorded once and never taken back or staged: only a new (1), declared (2)
        // status counts.
        n.one_of("appType", &s.app_type, &["1"]);
        let app_time = n.req("appTime", &s.app_time, CebDateTime::parse);
        n.one_of("appStatus", &s.app_status, &["2"]);
        let logistics_code = n.req("logisticsCode", &s.logistics_code, CustomsCode::parse);
        let logistics_name = n.text("logisticsName", &s.logistics_name, 100);
        let logistics_no = n.key("logisticsNo", &s.logistics_no, 60);
        // SPEC2022 CEB513: logisticsStatus "限定S" (signed for); the 202205 sample's `R` is a
        // format sample, not a status customs accepts.
        let status = n.one_of("logisticsStatus", &s.logistics_status, &["S"]);
        let logistics_time = n.req("logisticsTime", &s.logistics_time, CebDateTime::parse);
        n.opt_text("note", &s.note, 1000);
        finish(problems, || {
            Some(LogisticsStatus {
                guid: guid?,
                app_time: app_time?,
                logistics_code: logistics_code?,
                logistics_name: logistics_name?,
                logistics_no: logistics_no?,
                logistics_status: status?,
                logistics_time: logistics_time?,
            })
        })
    }
}

/// A CEB511 waybill. It names the order by `orderNo` only; the platform comes from the
/// document's routing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waybill {
    /// Document id.
    pub guid: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// Logistics enterprise.
    pub logistics_code: CustomsCode,
    /// Logistics enterprise name.
    pub logistics_name: String,
    /// Parcel waybill number.
    pub logistics_no: String,
    /// Master bill (direct purchase only).
    pub bill_no: Option<String>,
    /// The order shipped.
    pub order_no: OrderNo,
    /// Freight (`0` when absent).
    pub freight: Amount,
    /// Insurance (`0` when absent).
    pub insured_fee: Amount,
    /// Currency as sent.
    pub currency: String,
    /// Gross weight, kg.
    pub weight: Amount,
    /// Pack count as sent (must be `1`).
    pub pack_no: String,
    /// Goods description.
    pub goods_info: Option<String>,
    /// Consignee.
    pub consignee: Consignee,
}

/// The head shared by cancellations and returns: which inventory, and who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryReference {
    /// Document id.
    pub guid: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// Customs office accepting the request.
    pub customs_code: CustomsOffice,
    /// The order.
    pub key: OrderKey,
    /// Seller.
    pub ebc_code: CustomsCode,
    /// Logistics enterprise.
    pub logistics_code: CustomsCode,
    /// Waybill number.
    pub logistics_no: String,
    /// Enterprise document number.
    pub cop_no: Option<String>,
    /// Pre-entry number of this request.
    pub pre_no: Option<PreNo>,
    /// The original inventory.
    pub invt_no: InvtNo,
    /// The orderer (no platform account on these documents).
    pub buyer: Buyer,
    /// Declaring agent.
    pub agent_code: CustomsCode,
    /// Agent name.
    pub agent_name: String,
    /// Reason, required.
    pub reason: String,
}

/// A CEB623 cancellation (撤销申请单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cancellation {
    /// Head.
    pub head: InventoryReference,
}

/// One CEB625 return line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundLine {
    /// Line number of the original inventory.
    pub gnum: u32,
    /// HS code.
    pub gcode: HsCode,
    /// Goods name (= inventory).
    pub gname: String,
    /// Returned quantity, greater than zero and at most the original.
    pub qty: Quantity,
    /// Unit.
    pub unit: String,
}

/// A CEB625 return (退货申请单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    /// Head.
    pub head: InventoryReference,
    /// Returned lines.
    pub lines: Vec<RefundLine>,
}

/// The three documents of one order, joined by order key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderBundle {
    /// CEB311.
    pub order: Order,
    /// CEB411.
    pub payment: Payment,
    /// CEB511.
    pub waybill: Waybill,
}

/// Reads the fields of one node, recording problems under `node.field` paths.
struct Node<'p> {
    problems: &'p mut Problems,
    node: String,
}

impl<'p> Node<'p> {
    fn new(problems: &'p mut Problems, node: impl Into<String>) -> Self {
        Self {
            problems,
            node: node.into(),
        }
    }

    fn path(&self, field: &str) -> String {
        format!("{}.{field}", self.node)
    }

    fn req<T>(
        &mut self,
        field: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, FormatError>,
    ) -> Option<T> {
        let path = self.path(field);
        self.problems.field(path, raw, parse)
    }

    fn opt<T>(
        &mut self,
        field: &str,
        raw: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, FormatError>,
    ) -> Option<Option<T>> {
        let path = self.path(field);
        self.problems.optional(path, raw.as_deref(), parse)
    }

    fn text(&mut self, field: &str, raw: &str, max: usize) -> Option<String> {
        self.req(field, raw, |t| text(t, max))
    }

    /// A required business key (never trimmed, see [`key_text`]).
    fn key(&mut self, field: &str, raw: &str, max: usize) -> Option<String> {
        self.req(field, raw, |t| key_text(t, max))
    }

    fn opt_text(
        &mut self,
        field: &str,
        raw: &Option<String>,
        max: usize,
    ) -> Option<Option<String>> {
        self.opt(field, raw, |t| text(t, max))
    }

    /// Required text restricted to a set of values (e.g. `appType`).
    fn one_of(
        &mut self,
        field: &str,
        raw: &str,
        allowed: &'static [&'static str],
    ) -> Option<String> {
        self.req(field, raw, |t| {
            let value = text(t, 10)?;
            if allowed.contains(&value.as_str()) {
                Ok(value)
            } else {
                Err(FormatError::Pattern {
                    what: "code",
                    detail: "not an allowed value",
                })
            }
        })
    }

    fn gnum(&mut self, raw: &str, expected: usize) -> Option<u32> {
        let gnum = self.req("gnum", raw, parse_gnum)?;
        if gnum as usize != expected {
            let path = self.path("gnum");
            self.problems.push(Problem::new(
                "bg.format.gnum",
                path,
                format!("line numbers must run 1, 2, 3…: expected {expected}, got {gnum}"),
            ));
            return None;
        }
        Some(gnum)
    }

    fn problem(&mut self, code: &'static str, field: &str, message: impl Into<String>) {
        let path = self.path(field);
        self.problems.push(Problem::new(code, path, message));
    }
}

fn parse_gnum(raw: &str) -> Result<u32, FormatError> {
    let value = text(raw, 4)?;
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or(FormatError::Pattern {
            what: "gnum",
            detail: "a positive integer of at most 4 digits",
        })
}

fn guid(raw: &str) -> Result<String, FormatError> {
    let value = text(raw, 36)?;
    let actual = value.chars().count();
    if actual != 36 {
        return Err(FormatError::WrongLength {
            expected: 36,
            actual,
        });
    }
    Ok(value)
}

fn app_type(node: &mut Node<'_>, raw: &str) -> Option<String> {
    node.one_of("appType", raw, &["1", "2", "3"])
}

fn app_status(node: &mut Node<'_>, raw: &str) -> Option<String> {
    node.one_of("appStatus", raw, &["1", "2"])
}

/// Absent or blank optional amount: zero (the spec says "`0` if none").
fn amount_or_zero(node: &mut Node<'_>, field: &str, raw: &Option<String>) -> Option<Amount> {
    node.opt(field, raw, Amount::parse)
        .map(|amount| amount.unwrap_or(Amount::ZERO))
}

fn check_line_count(problems: &mut Problems, path: &str, count: usize) {
    if count == 0 || count > LINES_MAX {
        problems.push(Problem::new(
            "bg.format.line_count",
            path,
            format!("1 to {LINES_MAX} lines required, got {count}"),
        ));
    }
}

fn finish<T>(problems: Problems, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<Problem>> {
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    // Every field parsed without a problem, so every `Option` is `Some`; the fallback problem
    // exists only so a future mistake surfaces as an error instead of a panic.
    build().ok_or_else(|| vec![Problem::new("bg.internal", "", "incomplete document")])
}

impl Order {
    /// Parses a raw CEB311 order, reporting every problem.
    pub fn parse(raw: &raw::Order) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let head = parse_order_head(&mut problems, &raw.head);
        check_line_count(&mut problems, "orderList", raw.lists.len());
        let lines: Vec<Option<OrderLine>> = raw
            .lists
            .iter()
            .enumerate()
            .map(|(index, line)| parse_order_line(&mut problems, index, line))
            .collect();
        finish(problems, || {
            let mut order = head?;
            order.lines = lines.into_iter().collect::<Option<Vec<_>>>()?;
            Some(order)
        })
    }
}

fn parse_order_head(problems: &mut Problems, h: &raw::OrderHead) -> Option<Order> {
    let mut n = Node::new(problems, "orderHead");
    let guid = n.req("guid", &h.guid, guid);
    let app_type = app_type(&mut n, &h.app_type);
    let app_time = n.req("appTime", &h.app_time, CebDateTime::parse);
    app_status(&mut n, &h.app_status);
    let order_type = n.text("orderType", &h.order_type, 1);
    let order_no = n.req("orderNo", &h.order_no, OrderNo::parse);
    let ebp_code = n.req("ebpCode", &h.ebp_code, CustomsCode::parse);
    let ebp_name = n.text("ebpName", &h.ebp_name, 100);
    let ebc_code = n.req("ebcCode", &h.ebc_code, CustomsCode::parse);
    let ebc_name = n.text("ebcName", &h.ebc_name, 100);
    let goods_value = n.req("goodsValue", &h.goods_value, Amount::parse);
    let freight = n.req("freight", &h.freight, Amount::parse);
    let discount = n.req("discount", &h.discount, Amount::parse);
    let tax_total = n.req("taxTotal", &h.tax_total, Amount::parse);
    let actural_paid = n.req("acturalPaid", &h.actural_paid, Amount::parse);
    let currency = n.text("currency", &h.currency, 3);
    let buyer_reg_no = n.text("buyerRegNo", &h.buyer_reg_no, 60);
    let buyer_name = n.text("buyerName", &h.buyer_name, 60);
    let buyer_telephone = n.text("buyerTelephone", &h.buyer_telephone, 30);
    let buyer_id_type = n.text("buyerIdType", &h.buyer_id_type, 1);
    let buyer_id_number = n.text("buyerIdNumber", &h.buyer_id_number, 60);
    let pay_code = n.opt("payCode", &h.pay_code, CustomsCode::parse);
    let pay_name = n.opt_text("payName", &h.pay_name, 100);
    let pay_transaction_id = n.opt_text("payTransactionId", &h.pay_transaction_id, 60);
    n.opt_text("batchNumbers", &h.batch_numbers, 100);
    let consignee = n.text("consignee", &h.consignee, 100);
    let consignee_telephone = n.text("consigneeTelephone", &h.consignee_telephone, 50);
    let consignee_address = n.text("consigneeAddress", &h.consignee_address, 200);
    let consignee_district = n.opt_text("consigneeDistrict", &h.consignee_district, 6);
    let note = n.opt_text("note", &h.note, 1000);
    Some(Order {
        key: OrderKey::new(ebp_code?, order_no?),
        guid: guid?,
        app_type: app_type?,
        app_time: app_time?,
        order_type: order_type?,
        ebp_name: ebp_name?,
        ebc_code: ebc_code?,
        ebc_name: ebc_name?,
        goods_value: goods_value?,
        freight: freight?,
        discount: discount?,
        tax_total: tax_total?,
        actural_paid: actural_paid?,
        currency: currency?,
        buyer: Buyer {
            reg_no: Some(buyer_reg_no?),
            name: buyer_name?,
            telephone: buyer_telephone?,
            id_type: buyer_id_type?,
            id_number: buyer_id_number?,
        },
        pay_code: pay_code?,
        pay_name: pay_name?,
        pay_transaction_id: pay_transaction_id?,
        consignee: Consignee {
            name: consignee?,
            telephone: consignee_telephone?,
            address: consignee_address?,
            district: consignee_district?,
        },
        note: note?,
        lines: Vec::new(),
    })
}

fn parse_order_line(
    problems: &mut Problems,
    index: usize,
    l: &raw::OrderList,
) -> Option<OrderLine> {
    let mut n = Node::new(problems, format!("orderList[{index}]"));
    let gnum = n.gnum(&l.gnum, index + 1);
    let item_no = n.opt_text("itemNo", &l.item_no, 30);
    let item_name = n.text("itemName", &l.item_name, 250);
    let gmodel = n.text("gmodel", &l.gmodel, 510);
    n.opt_text("itemDescribe", &l.item_describe, 1000);
    let bar_code = n.opt_text("barCode", &l.bar_code, 50);
    let unit = n.text("unit", &l.unit, 3);
    let qty = n.req("qty", &l.qty, Quantity::parse_positive);
    let price = n.req("price", &l.price, Amount::parse);
    let total_price = n.req("totalPrice", &l.total_price, Amount::parse);
    let currency = n.text("currency", &l.currency, 3);
    let country = n.text("country", &l.country, 3);
    let note = n.opt_text("note", &l.note, 1000);
    Some(OrderLine {
        gnum: gnum?,
        item_no: item_no?,
        item_name: item_name?,
        gmodel: gmodel?,
        bar_code: bar_code?,
        unit: unit?,
        qty: qty?,
        price: price?,
        total_price: total_price?,
        currency: currency?,
        country: country?,
        note: note?,
    })
}

impl Payment {
    /// Parses a raw CEB411 payment head, reporting every problem.
    pub fn parse(h: &raw::PaymentHead) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let mut n = Node::new(&mut problems, "paymentHead");
        let guid = n.req("guid", &h.guid, guid);
        app_type(&mut n, &h.app_type);
        let app_time = n.req("appTime", &h.app_time, CebDateTime::parse);
        app_status(&mut n, &h.app_status);
        let pay_code = n.req("payCode", &h.pay_code, CustomsCode::parse);
        let pay_name = n.text("payName", &h.pay_name, 100);
        let pay_transaction_id = n.key("payTransactionId", &h.pay_transaction_id, 60);
        let order_no = n.req("orderNo", &h.order_no, OrderNo::parse);
        let ebp_code = n.req("ebpCode", &h.ebp_code, CustomsCode::parse);
        let ebp_name = n.text("ebpName", &h.ebp_name, 100);
        let payer_id_type = n.text("payerIdType", &h.payer_id_type, 1);
        let payer_id_number = n.text("payerIdNumber", &h.payer_id_number, 60);
        let payer_name = n.text("payerName", &h.payer_name, 60);
        let telephone = n.opt_text("telephone", &h.telephone, 60);
        let amount_paid = n.req("amountPaid", &h.amount_paid, Amount::parse);
        let currency = n.text("currency", &h.currency, 3);
        let pay_time = n.req("payTime", &h.pay_time, CebDateTime::parse);
        n.opt_text("note", &h.note, 1000);
        finish(problems, || {
            Some(Payment {
                guid: guid?,
                app_time: app_time?,
                pay_code: pay_code?,
                pay_name: pay_name?,
                pay_transaction_id: pay_transaction_id?,
                key: OrderKey::new(ebp_code?, order_no?),
                ebp_name: ebp_name?,
                payer_id_type: payer_id_type?,
                payer_id_number: payer_id_number?,
                payer_name: payer_name?,
                telephone: telephone?,
                amount_paid: amount_paid?,
                currency: currency?,
                pay_time: pay_time?,
            })
        })
    }
}

impl Waybill {
    /// Parses a raw CEB511 waybill head, reporting every problem.
    pub fn parse(h: &raw::LogisticsHead) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let mut n = Node::new(&mut problems, "logisticsHead");
        let guid = n.req("guid", &h.guid, guid);
        app_type(&mut n, &h.app_type);
        let app_time = n.req("appTime", &h.app_time, CebDateTime::parse);
        app_status(&mut n, &h.app_status);
        let logistics_code = n.req("logisticsCode", &h.logistics_code, CustomsCode::parse);
        let logistics_name = n.text("logisticsName", &h.logistics_name, 100);
        let logistics_no = n.key("logisticsNo", &h.logistics_no, 60);
        let bill_no = n.opt_text("billNo", &h.bill_no, 37);
        let order_no = n.req("orderNo", &h.order_no, OrderNo::parse);
        let freight = amount_or_zero(&mut n, "freight", &h.freight);
        let insured_fee = amount_or_zero(&mut n, "insuredFee", &h.insured_fee);
        let currency = n.text("currency", &h.currency, 3);
        let weight = n.req("weight", &h.weight, Amount::parse);
        let pack_no = n.text("packNo", &h.pack_no, 9);
        let goods_info = n.opt_text("goodsInfo", &h.goods_info, 200);
        let consignee = n.text("consignee", &h.consignee, 100);
        let address = n.text("consigneeAddress", &h.consignee_address, 200);
        let telephone = n.text("consigneeTelephone", &h.consignee_telephone, 50);
        n.opt_text("note", &h.note, 1000);
        finish(problems, || {
            Some(Waybill {
                guid: guid?,
                app_time: app_time?,
                logistics_code: logistics_code?,
                logistics_name: logistics_name?,
                logistics_no: logistics_no?,
                bill_no: bill_no?,
                order_no: order_no?,
                freight: freight?,
                insured_fee: insured_fee?,
                currency: currency?,
                weight: weight?,
                pack_no: pack_no?,
                goods_info: goods_info?,
                consignee: Consignee {
                    name: consignee?,
                    telephone: telephone?,
                    address: address?,
                    district: None,
                },
            })
        })
    }
}

/// The raw fields shared by `InvtCancel` and `InvtRefundHead`.
struct RawReference<'a> {
    guid: &'a str,
    app_type: &'a str,
    app_time: &'a str,
    app_status: &'a str,
    customs_code: &'a str,
    order_no: &'a str,
    ebp_code: &'a str,
    ebc_code: &'a str,
    logistics_no: &'a str,
    logistics_code: &'a str,
    cop_no: &'a Option<String>,
    pre_no: &'a Option<String>,
    invt_no: &'a str,
    buyer_id_type: &'a str,
    buyer_id_number: &'a str,
    buyer_name: &'a str,
    buyer_telephone: &'a str,
    agent_code: &'a str,
    agent_name: &'a str,
    reason: &'a str,
    reason_empty_code: &'static str,
}

fn parse_reference(n: &mut Node<'_>, r: &RawReference<'_>) -> Option<InventoryReference> {
    let guid = n.req("guid", r.guid, guid);
    app_type(n, r.app_type);
    let app_time = n.req("appTime", r.app_time, CebDateTime::parse);
    app_status(n, r.app_status);
    let customs_code = n.req("customsCode", r.customs_code, CustomsOffice::parse);
    let order_no = n.req("orderNo", r.order_no, OrderNo::parse);
    let ebp_code = n.req("ebpCode", r.ebp_code, CustomsCode::parse);
    let ebc_code = n.req("ebcCode", r.ebc_code, CustomsCode::parse);
    let logistics_no = n.key("logisticsNo", r.logistics_no, 60);
    let logistics_code = n.req("logisticsCode", r.logistics_code, CustomsCode::parse);
    let cop_no = n.opt_text("copNo", r.cop_no, 20);
    let pre_no = n.opt("preNo", r.pre_no, PreNo::parse);
    let invt_no = n.req("invtNo", r.invt_no, InvtNo::parse);
    let id_type = n.text("buyerIdType", r.buyer_id_type, 1);
    let id_number = n.text("buyerIdNumber", r.buyer_id_number, 60);
    let name = n.text("buyerName", r.buyer_name, 60);
    let telephone = n.text("buyerTelephone", r.buyer_telephone, 30);
    let agent_code = n.req("agentCode", r.agent_code, CustomsCode::parse);
    let agent_name = n.text("agentName", r.agent_name, 100);
    let reason = text(r.reason, 1000);
    if reason.is_err() {
        n.problem(
            r.reason_empty_code,
            "reason",
            "撤单原因为空 / reason is required (at most 1000 characters)",
        );
    }
    Some(InventoryReference {
        guid: guid?,
        app_time: app_time?,
        customs_code: customs_code?,
        key: OrderKey::new(ebp_code?, order_no?),
        ebc_code: ebc_code?,
        logistics_code: logistics_code?,
        logistics_no: logistics_no?,
        cop_no: cop_no?,
        pre_no: pre_no?,
        invt_no: invt_no?,
        buyer: Buyer {
            reg_no: None,
            name: name?,
            telephone: telephone?,
            id_type: id_type?,
            id_number: id_number?,
        },
        agent_code: agent_code?,
        agent_name: agent_name?,
        reason: reason.ok()?,
    })
}

impl Cancellation {
    /// Parses a raw CEB623 cancellation; an empty reason is `-623012`.
    pub fn parse(c: &raw::InvtCancel) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let mut n = Node::new(&mut problems, "invtCancel");
        let reference = RawReference {
            guid: &c.guid,
            app_type: &c.app_type,
            app_time: &c.app_time,
            app_status: &c.app_status,
            customs_code: &c.customs_code,
            order_no: &c.order_no,
            ebp_code: &c.ebp_code,
            ebc_code: &c.ebc_code,
            logistics_no: &c.logistics_no,
            logistics_code: &c.logistics_code,
            cop_no: &c.cop_no,
            pre_no: &c.pre_no,
            invt_no: &c.invt_no,
            buyer_id_type: &c.buyer_id_type,
            buyer_id_number: &c.buyer_id_number,
            buyer_name: &c.buyer_name,
            buyer_telephone: &c.buyer_telephone,
            agent_code: &c.agent_code,
            agent_name: &c.agent_name,
            reason: &c.reason,
            reason_empty_code: CANCEL_REASON_EMPTY,
        };
        // CEB623 allows only appType 1 (new).
        if c.app_type.trim() != "1" {
            n.problem(
                "bg.format.pattern",
                "appType",
                "a cancellation only allows appType 1",
            );
        }
        let head = parse_reference(&mut n, &reference);
        finish(problems, || Some(Cancellation { head: head? }))
    }
}

/// Problem code of an empty cancellation reason (the customs code `-623012`).
const CANCEL_REASON_EMPTY: &str = "-623012";
/// Problem code of an empty return reason (bondgate's; customs lists none for CEB625).
const REFUND_REASON_EMPTY: &str = "bg.format.reason";

impl Refund {
    /// Parses a raw CEB625 return, reporting every problem.
    pub fn parse(r: &raw::InvtRefund) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::new();
        let h = &r.head;
        let reference = RawReference {
            guid: &h.guid,
            app_type: &h.app_type,
            app_time: &h.app_time,
            app_status: &h.app_status,
            customs_code: &h.customs_code,
            order_no: &h.order_no,
            ebp_code: &h.ebp_code,
            ebc_code: &h.ebc_code,
            logistics_no: &h.logistics_no,
            logistics_code: &h.logistics_code,
            cop_no: &h.cop_no,
            pre_no: &h.pre_no,
            invt_no: &h.invt_no,
            buyer_id_type: &h.buyer_id_type,
            buyer_id_number: &h.buyer_id_number,
            buyer_name: &h.buyer_name,
            buyer_telephone: &h.buyer_telephone,
            agent_code: &h.agent_code,
            agent_name: &h.agent_name,
            reason: &h.reason,
            reason_empty_code: REFUND_REASON_EMPTY,
        };
        let head = parse_reference(&mut Node::new(&mut problems, "invtRefundHead"), &reference);
        check_line_count(&mut problems, "invtRefundList", r.lists.len());
        let lines: Vec<Option<RefundLine>> = r
            .lists
            .iter()
            .enumerate()
            .map(|(index, line)| parse_refund_line(&mut problems, index, line))
            .collect();
        finish(problems, || {
            Some(Refund {
                head: head?,
                lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
            })
        })
    }
}

fn parse_refund_line(
    problems: &mut Problems,
    index: usize,
    l: &raw::InvtRefundList,
) -> Option<RefundLine> {
    let mut n = Node::new(problems, format!("invtRefundList[{index}]"));
    // Return lines name original inventory lines, so they need not run 1, 2, 3….
    let gnum = n.req("gnum", &l.gnum, parse_gnum);
    let gcode = n.req("gcode", &l.gcode, HsCode::parse);
    let gname = n.text("gname", &l.gname, 250);
    let qty = n.req("qty", &l.qty, Quantity::parse_positive);
    let unit = n.text("unit", &l.unit, 3);
    n.opt_text("note", &l.note, 1000);
    Some(RefundLine {
        gnum: gnum?,
        gcode: gcode?,
        gname: gname?,
        qty: qty?,
        unit: unit?,
    })
}

/// Checks a return against the inventory lines it names: each `gnum` must exist with the same
/// HS code (`-625209`) and return at most the original quantity. `original` holds
/// `(gnum, gcode, qty)` of the declared inventory.
pub fn check_refund_lines(
    refund: &Refund,
    original: &[(u32, HsCode, rust_decimal::Decimal)],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, line) in refund.lines.iter().enumerate() {
        let path = format!("invtRefundList[{index}]");
        match original
            .iter()
            .find(|(gnum, gcode, _)| *gnum == line.gnum && *gcode == line.gcode)
        {
            None => problems.push(Problem::new(
                "-625209",
                format!("{path}.gnum"),
                format!(
                    "在关联的清单中未找到表体序号为[{}],商品编号为[{}]的数据",
                    line.gnum, line.gcode
                ),
            )),
            Some((_, _, qty)) if line.qty.value() > *qty => problems.push(Problem::new(
                "bg.refund.qty",
                format!("{path}.qty"),
                format!("returned quantity {} exceeds the declared {qty}", line.qty),
            )),
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const GUID: &str = "CEB311-GUID-0000000000000000000001AB";

    pub(crate) fn raw_order() -> raw::Order {
        let head = raw::OrderHead {
            guid: GUID.into(),
            app_type: "1".into(),
            app_time: "20240601120000".into(),
            app_status: "2".into(),
            order_type: "I".into(),
            order_no: "SO20240601001".into(),
            ebp_code: "5001980001".into(),
            ebp_name: "渝购平台".into(),
            ebc_code: "5001980002".into(),
            ebc_name: "渝购电商".into(),
            goods_value: "410.00".into(),
            freight: "0".into(),
            discount: "0".into(),
            tax_total: "37.31".into(),
            actural_paid: "447.31".into(),
            currency: "142".into(),
            buyer_reg_no: "buyer01".into(),
            buyer_name: "张三".into(),
            buyer_telephone: "13812345678".into(),
            buyer_id_type: "1".into(),
            buyer_id_number: "110101199003071234".into(),
            pay_code: Some("4403169D3W".into()),
            pay_name: Some("财付通".into()),
            pay_transaction_id: Some("PAY0001".into()),
            batch_numbers: None,
            consignee: "张三".into(),
            consignee_telephone: "13812345678".into(),
            consignee_address: "重庆市渝北区两路街道1号".into(),
            consignee_district: Some("500112".into()),
            note: None,
        };
        let line = raw::OrderList {
            gnum: "1".into(),
            item_no: Some("SKU-WATER-1".into()),
            item_name: "天然矿泉水".into(),
            gmodel: "天然矿泉水|500ml".into(),
            item_describe: None,
            bar_code: None,
            unit: "142".into(),
            qty: "1".into(),
            price: "410.00".into(),
            total_price: "410.00".into(),
            currency: "142".into(),
            country: "305".into(),
            note: None,
        };
        raw::Order {
            head,
            lists: vec![line],
        }
    }

    pub(crate) fn raw_payment() -> raw::PaymentHead {
        raw::PaymentHead {
            guid: GUID.into(),
            app_type: "1".into(),
            app_time: "20240601120001".into(),
            app_status: "2".into(),
            pay_code: "4403169D3W".into(),
            pay_name: "财付通".into(),
            pay_transaction_id: "PAY0001".into(),
            order_no: "SO20240601001".into(),
            ebp_code: "5001980001".into(),
            ebp_name: "渝购平台".into(),
            payer_id_type: "1".into(),
            payer_id_number: "110101199003071234".into(),
            payer_name: "张三".into(),
            telephone: Some("13812345678".into()),
            amount_paid: "447.31".into(),
            currency: "142".into(),
            pay_time: "20240601115959".into(),
            note: None,
        }
    }

    pub(crate) fn raw_waybill() -> raw::LogisticsHead {
        raw::LogisticsHead {
            guid: GUID.into(),
            app_type: "1".into(),
            app_time: "20240601120002".into(),
            app_status: "2".into(),
            logistics_code: "5001980003".into(),
            logistics_name: "渝快物流".into(),
            logistics_no: "YK000000001".into(),
            bill_no: None,
            order_no: "SO20240601001".into(),
            freight: Some("0".into()),
            insured_fee: None,
            currency: "142".into(),
            weight: "0.6".into(),
            pack_no: "1".into(),
            goods_info: None,
            consignee: "张三".into(),
            consignee_address: "重庆市渝北区两路街道1号".into(),
            consignee_telephone: "13812345678".into(),
            note: None,
        }
    }

    pub(crate) fn bundle() -> OrderBundle {
        OrderBundle {
            order: Order::parse(&raw_order()).unwrap(),
            payment: Payment::parse(&raw_payment()).unwrap(),
            waybill: Waybill::parse(&raw_waybill()).unwrap(),
        }
    }

    pub(crate) fn raw_cancel() -> raw::InvtCancel {
        raw::InvtCancel {
            guid: GUID.into(),
            app_type: "1".into(),
            app_time: "20240602120000".into(),
            app_status: "2".into(),
            customs_code: "8013".into(),
            order_no: "SO20240601001".into(),
            ebp_code: "5001980001".into(),
            ebp_name: "渝购平台".into(),
            ebc_code: "5001980002".into(),
            ebc_name: "渝购电商".into(),
            logistics_no: "YK000000001".into(),
            logistics_code: "5001980003".into(),
            logistics_name: "渝快物流".into(),
            cop_no: Some("COP1".into()),
            pre_no: Some("C20240602000000001".into()),
            invt_no: "80132024I000000001".into(),
            buyer_id_type: "1".into(),
            buyer_id_number: "110101199003071234".into(),
            buyer_name: "张三".into(),
            buyer_telephone: "13812345678".into(),
            agent_code: "5001980004".into(),
            agent_name: "渝关报关".into(),
            reason: "买家取消".into(),
            note: None,
        }
    }

    #[test]
    fn parses_a_valid_bundle() {
        let bundle = bundle();
        assert_eq!(bundle.order.key.to_string(), "5001980001/SO20240601001");
        assert_eq!(bundle.order.lines[0].gnum, 1);
        assert_eq!(bundle.waybill.insured_fee, Amount::ZERO);
    }

    #[test]
    fn collects_every_problem_with_its_path() {
        let mut order = raw_order();
        order.head.goods_value = "abc".into();
        order.head.ebp_code = String::new();
        order.lists[0].price = "-1".into();
        order.lists[0].gnum = "2".into();
        let problems = Order::parse(&order).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "orderHead.ebpCode",
                "orderHead.goodsValue",
                "orderList[0].gnum",
                "orderList[0].price"
            ]
        );
        assert_eq!(problems[3].code, "bg.format.negative");
    }

    /// Setters that break one field each, with the path the problem must name.
    type Breaker = (&'static str, fn(&mut raw::Order));
    const BREAKERS: &[Breaker] = &[
        ("orderHead.guid", |o| o.head.guid = "short".into()),
        ("orderHead.appTime", |o| {
            o.head.app_time = "2024-06-01".into()
        }),
        ("orderHead.ebcCode", |o| o.head.ebc_code = "bad code".into()),
        ("orderHead.goodsValue", |o| {
            o.head.goods_value = "1e3".into()
        }),
        ("orderHead.freight", |o| o.head.freight = "-1".into()),
        ("orderHead.acturalPaid", |o| {
            o.head.actural_paid = "1.123456".into()
        }),
        ("orderHead.buyerName", |o| o.head.buyer_name = " ".into()),
        ("orderHead.payCode", |o| {
            o.head.pay_code = Some("x y".into())
        }),
        ("orderHead.consigneeAddress", |o| {
            o.head.consignee_address = String::new()
        }),
        ("orderList[0].qty", |o| o.lists[0].qty = "0".into()),
        ("orderList[0].price", |o| o.lists[0].price = "abc".into()),
        ("orderList[0].itemName", |o| {
            o.lists[0].item_name = String::new()
        }),
    ];

    proptest::proptest! {
        #[test]
        fn every_broken_field_is_reported(picks in proptest::sample::subsequence(
            (0..BREAKERS.len()).collect::<Vec<_>>(), 1..=BREAKERS.len(),
        )) {
            let mut order = raw_order();
            for &index in &picks {
                (BREAKERS[index].1)(&mut order);
            }
            let problems = Order::parse(&order).unwrap_err();
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            proptest::prop_assert_eq!(paths.len(), picks.len());
            for &index in &picks {
                proptest::prop_assert!(paths.contains(&BREAKERS[index].0), "{:?}", paths);
            }
        }
    }

    #[test]
    fn an_order_needs_lines() {
        let mut order = raw_order();
        order.lists.clear();
        let problems = Order::parse(&order).unwrap_err();
        assert_eq!(problems[0].path, "orderList");
    }

    #[test]
    fn cancellation_needs_a_reason() {
        assert!(Cancellation::parse(&raw_cancel()).is_ok());
        let mut cancel = raw_cancel();
        cancel.reason = " ".into();
        let problems = Cancellation::parse(&cancel).unwrap_err();
        assert_eq!(
            (problems[0].code.as_ref(), problems[0].path.as_str()),
            ("-623012", "invtCancel.reason")
        );
    }

    /// A return of the whole line 1 (2 units of `2201101000`) of the fixture inventory.
    pub(crate) fn raw_refund() -> raw::InvtRefund {
        let c = raw_cancel();
        let head = raw::InvtRefundHead {
            guid: c.guid,
            app_type: c.app_type,
            app_time: c.app_time,
            app_status: c.app_status,
            customs_code: c.customs_code,
            order_no: c.order_no,
            ebp_code: c.ebp_code,
            ebp_name: c.ebp_name,
            ebc_code: c.ebc_code,
            ebc_name: c.ebc_name,
            logistics_no: c.logistics_no,
            logistics_code: c.logistics_code,
            logistics_name: c.logistics_name,
            cop_no: c.cop_no,
            pre_no: Some("T20240602000000001".into()),
            invt_no: c.invt_no,
            buyer_id_type: c.buyer_id_type,
            buyer_id_number: c.buyer_id_number,
            buyer_name: c.buyer_name,
            buyer_telephone: c.buyer_telephone,
            agent_code: c.agent_code,
            agent_name: c.agent_name,
            reason: c.reason,
            note: None,
        };
        let line = raw::InvtRefundList {
            gnum: "1".into(),
            gcode: "2201101000".into(),
            gname: "天然矿泉水".into(),
            qty: "2".into(),
            unit: "142".into(),
            note: None,
        };
        raw::InvtRefund {
            head,
            lists: vec![line],
        }
    }

    #[test]
    fn refund_lines_must_exist_on_the_inventory() {
        let refund = Refund::parse(&raw_refund()).unwrap();
        let hs = HsCode::parse("2201101000").unwrap();
        let ok = [(1, hs.clone(), rust_decimal::Decimal::TWO)];
        assert!(check_refund_lines(&refund, &ok).is_empty());
        let less = [(1, hs.clone(), rust_decimal::Decimal::ONE)];
        assert_eq!(check_refund_lines(&refund, &less)[0].code, "bg.refund.qty");
        let other = [(2, hs, rust_decimal::Decimal::TWO)];
        assert_eq!(check_refund_lines(&refund, &other)[0].code, "-625209");
    }
}
