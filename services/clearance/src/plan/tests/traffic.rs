//! Traffic for the planner tests: the load generator's valid orders (clean, or over the per-order
//! limit), with a basket or a buyer a test chooses, and the after-sales documents of a declared
//! order as intake puts them on the topic.

use bondgate_ceb::model as raw;
use bondgate_domain::account_book::AccountBook;
use bondgate_loadtest::generate::{GeneratedOrder, Generator, GeneratorConfig};
use bondgate_proto::v1::{self, document::Body};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Generated orders of `seed`; `over_limit` makes every one a multi-line order above the
/// per-order limit, otherwise every one is clean (released whatever order it is decided in).
fn generate(seed: u64, count: usize, over_limit: bool) -> Vec<GeneratedOrder> {
    let config = GeneratorConfig {
        seed,
        heavy_order_fraction: 0.0,
        mismatch_fraction: 0.0,
        over_limit_fraction: if over_limit { 1.0 } else { 0.0 },
        bad_record_fraction: 0.0,
        ..GeneratorConfig::default()
    };
    let mut generator = Generator::new(config).expect("a valid generator config");
    (0..count).map(|_| generator.next_order()).collect()
}

/// `count` clean orders (documents that agree, within every limit and threshold).
pub fn clean_orders(seed: u64, count: usize) -> Vec<GeneratedOrder> {
    generate(seed, count, false)
}

/// One order whose dutiable value passes the 5,000 CNY per-order limit.
pub fn over_limit_order(seed: u64) -> GeneratedOrder {
    generate(seed, 1, true).remove(0)
}

fn cny(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

/// One order line of `sku` from the account book.
fn order_line(
    book: &AccountBook,
    gnum: usize,
    (sku, qty, price_fen): (&str, u32, i64),
) -> raw::OrderList {
    let item = book.by_sku(sku).expect("a seed SKU");
    raw::OrderList {
        gnum: gnum.to_string(),
        item_no: Some(sku.to_owned()),
        item_name: item.gname.clone(),
        gmodel: item.gmodel.clone(),
        item_describe: None,
        bar_code: None,
        unit: item.unit.clone(),
        qty: qty.to_string(),
        price: cny(price_fen),
        total_price: cny(price_fen * i64::from(qty)),
        currency: "142".to_owned(),
        country: item.country.clone(),
        note: None,
    }
}

/// Replaces the basket of `order` with `lines` (SKU, quantity, unit price in fen) and its
/// freight with `order_freight_fen` on the order and `waybill_freight_fen` on the waybill,
/// keeping the documents consistent: no coupon, no withheld tax (a zero `taxTotal` is not
/// compared with the computed tax), the payment equal to `acturalPaid`.
pub fn set_basket(
    order: &mut GeneratedOrder,
    book: &AccountBook,
    lines: &[(&str, u32, i64)],
    (order_freight_fen, waybill_freight_fen): (i64, i64),
) {
    order.order.lists = lines
        .iter()
        .enumerate()
        .map(|(index, line)| order_line(book, index + 1, *line))
        .collect();
    let goods: i64 = lines
        .iter()
        .map(|(_, qty, price)| price * i64::from(*qty))
        .sum();
    let paid = cny(goods + order_freight_fen);
    let head = &mut order.order.head;
    head.goods_value = cny(goods);
    head.freight = cny(order_freight_fen);
    head.discount = "0".to_owned();
    head.tax_total = "0".to_owned();
    head.actural_paid.clone_from(&paid);
    order.payment.amount_paid = paid;
    order.waybill.freight = Some(cny(waybill_freight_fen));
}

/// Makes `to` an order of `from`'s buyer (who also pays for it).
pub fn same_buyer(from: &GeneratedOrder, to: &mut GeneratedOrder) {
    let buyer = &from.order.head;
    let head = &mut to.order.head;
    head.buyer_reg_no.clone_from(&buyer.buyer_reg_no);
    head.buyer_name.clone_from(&buyer.buyer_name);
    head.buyer_telephone.clone_from(&buyer.buyer_telephone);
    head.buyer_id_number.clone_from(&buyer.buyer_id_number);
    to.payment.payer_name.clone_from(&buyer.buyer_name);
    to.payment
        .payer_id_number
        .clone_from(&buyer.buyer_id_number);
    to.payment.telephone = Some(buyer.buyer_telephone.clone());
}

/// A CEB time (Beijing) of the database clock.
pub fn ceb_time(at: DateTime<Utc>) -> String {
    (at + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

fn guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

/// `body` for `order`, as sent by `sender`.
pub fn envelope(order: &GeneratedOrder, sender: &str, body: Body) -> v1::Document {
    let head = &order.order.head;
    v1::Document {
        document_id: guid(),
        ebp_code: head.ebp_code.clone(),
        order_no: head.order_no.clone(),
        sender_code: sender.to_owned(),
        body: Some(body),
        ..Default::default()
    }
}

fn cancellation_body(order: &GeneratedOrder, invt_no: &str, at: DateTime<Utc>) -> v1::Cancellation {
    let head = &order.order.head;
    let waybill = &order.waybill;
    v1::Cancellation {
        guid: guid(),
        app_type: "1".into(),
        app_time: ceb_time(at),
        app_status: "2".into(),
        customs_code: super::fixture::CUSTOMS.into(),
        order_no: head.order_no.clone(),
        ebp_code: head.ebp_code.clone(),
        ebp_name: head.ebp_name.clone(),
        ebc_code: head.ebc_code.clone(),
        ebc_name: head.ebc_name.clone(),
        logistics_no: waybill.logistics_no.clone(),
        logistics_code: waybill.logistics_code.clone(),
        logistics_name: waybill.logistics_name.clone(),
        cop_no: None,
        pre_no: None,
        invt_no: invt_no.into(),
        buyer_id_type: head.buyer_id_type.clone(),
        buyer_id_number: head.buyer_id_number.clone(),
        buyer_name: head.buyer_name.clone(),
        buyer_telephone: head.buyer_telephone.clone(),
        agent_code: head.ebc_code.clone(),
        agent_name: head.ebc_name.clone(),
        reason: "消费者取消订单".into(),
        note: None,
    }
}

/// A cancellation (CEB623) of `order`'s inventory `invt_no`, sent by `sender` at `at`.
pub fn cancellation(
    order: &GeneratedOrder,
    invt_no: &str,
    sender: &str,
    at: DateTime<Utc>,
) -> v1::Document {
    let body = Body::Cancellation(cancellation_body(order, invt_no, at));
    envelope(order, sender, body)
}

/// A return (CEB625) of `lines` (`gnum`, `gcode`, `qty`) of `order`'s inventory `invt_no`, sent
/// by `sender` at `at` for `reason`.
pub fn refund(
    order: &GeneratedOrder,
    invt_no: &str,
    lines: &[(i16, String, String)],
    (sender, reason): (&str, &str),
    at: DateTime<Utc>,
) -> v1::Document {
    let c = cancellation_body(order, invt_no, at);
    let lines = order
        .order
        .lists
        .iter()
        .zip(lines)
        .map(|(line, (gnum, gcode, qty))| v1::RefundLine {
            gnum: gnum.to_string(),
            gcode: gcode.clone(),
            gname: line.item_name.clone(),
            qty: qty.clone(),
            unit: line.unit.clone(),
            note: None,
        })
        .collect();
    let body = Body::Refund(v1::Refund {
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
        cop_no: None,
        pre_no: None,
        invt_no: c.invt_no,
        buyer_id_type: c.buyer_id_type,
        buyer_id_number: c.buyer_id_number,
        buyer_name: c.buyer_name,
        buyer_telephone: c.buyer_telephone,
        agent_code: c.agent_code,
        agent_name: c.agent_name,
        reason: reason.into(),
        note: None,
        lines,
    });
    envelope(order, sender, body)
}

/// A logistics status (CEB513) of `order`'s parcel, signed for, from its logistics company.
pub fn logistics_status(order: &GeneratedOrder, at: DateTime<Utc>) -> v1::Document {
    let waybill = &order.waybill;
    let body = Body::LogisticsStatus(v1::LogisticsStatus {
        guid: guid(),
        app_type: "1".into(),
        app_time: ceb_time(at),
        app_status: "2".into(),
        logistics_code: waybill.logistics_code.clone(),
        logistics_name: waybill.logistics_name.clone(),
        logistics_no: waybill.logistics_no.clone(),
        logistics_status: "S".into(),
        logistics_time: ceb_time(at),
        note: None,
    });
    envelope(order, &waybill.logistics_code, body)
}
