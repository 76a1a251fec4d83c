//! Cancellations (CEB623), returns (CEB625) and logistics statuses (CEB513) of declared orders:
//! who may send them, when, and what they give back.

use std::collections::BTreeMap;

use bondgate_domain::codes;
use bondgate_domain::receipts::{self, Flow};
use bondgate_domain::types::TariffLine;
use bondgate_loadtest::generate::GeneratedOrder;
use chrono::Duration;
use rust_decimal::Decimal;

use super::fixture::{
    STOCK_ON_HAND, World, declared_lines, documents, key_of, movements, numbered, quota_key,
    receipts_of, statuses,
};
use super::traffic::{cancellation, clean_orders, logistics_status, refund, set_basket};
use crate::plan::{MovementKind, Writes};
use crate::state::{OrderKey, WeightKey};

/// One bag of sugar (capped tariff line 17019910) and two tins of formula.
const BASKET: [(&str, u32, i64); 2] = [("SUGAR-1KG", 1, 1_990), ("FORMULA-900G", 2, 26_800)];

/// A clean order of [`BASKET`], declared and released in its own batch.
fn released(world: &mut World, seed: u64) -> GeneratedOrder {
    let mut order = clean_orders(seed, 1).remove(0);
    set_basket(&mut order, &world.reference.account_book, &BASKET, (0, 0));
    let writes = world.run(documents(&order));
    assert_eq!(statuses(&writes, &key_of(&order)), [2, 120, 800]);
    order
}

fn sugar(order: &GeneratedOrder) -> WeightKey {
    let (hash, year) = quota_key(order);
    (hash, year, TariffLine::parse("17019910").unwrap())
}

/// The seller: the declaring agent of bondgate's declarations.
fn seller(order: &GeneratedOrder) -> String {
    order.order.head.ebc_code.clone()
}

/// True when a batch changed no stock, quota, weight or declaration.
fn changes_nothing(writes: &Writes) -> bool {
    writes.movements.is_empty()
        && writes.quota_deltas.is_empty()
        && writes.weight_deltas.is_empty()
        && writes.declaration_updates.is_empty()
        && writes.declarations.is_empty()
}

/// The application stored by a batch: flow, status, preNo prefix.
fn application(writes: &Writes) -> (Flow, i32, char) {
    let [row] = writes.after_sales.as_slice() else {
        panic!("one application: {:?}", writes.after_sales);
    };
    (row.flow, row.status, row.pre_no.chars().next().unwrap())
}

fn stock_is_full(world: &World) -> bool {
    BASKET.iter().all(|(sku, _, _)| {
        let balance = world.stock[&world.item(sku)];
        balance.on_hand == Decimal::from(STOCK_ON_HAND) && balance.reserved.is_zero()
    })
}

// Goal: an approved cancellation of a released declaration answers 399 and gives everything
// back: the stock to the zone, the quota and the sugar's weight to the buyer.
// Method: release an order with a capped line, cancel it as its seller an hour later; check the
// receipt (sequence 4, the domain's text), the restoring movements, the credits, the update, the
// stored application's preNo, and the stored balances afterwards.
#[test]
fn a_cancelled_release_gives_back_stock_quota_and_weight() {
    let mut world = World::new();
    let order = released(&mut world, 31);
    let key = key_of(&order);
    let quota = quota_key(&order);
    let amount = world.declaration(&key).quota_amount;
    assert!(amount > Decimal::ZERO);
    world.advance(Duration::hours(1));

    let invt_no = world.invt_no(&key);
    let writes = world.run(vec![cancellation(
        &order,
        &invt_no,
        &seller(&order),
        world.now,
    )]);
    let approved = receipts::after_sale_approved(Flow::Cancellation);
    assert_eq!(receipts_of(&writes, &key), numbered(4, &[approved]));
    let expected: Vec<_> = BASKET
        .iter()
        .map(|(sku, qty, _)| {
            let qty = Decimal::from(*qty);
            (
                world.item(sku),
                MovementKind::Restore,
                qty,
                Decimal::ZERO,
                key.clone(),
            )
        })
        .collect();
    assert_eq!(movements(&writes), expected);
    assert_eq!(
        writes.quota_deltas,
        BTreeMap::from([(quota.clone(), -amount)])
    );
    assert_eq!(
        writes.weight_deltas,
        BTreeMap::from([(sugar(&order), -Decimal::ONE)])
    );
    let [update] = writes.declaration_updates.as_slice() else {
        panic!("one update");
    };
    assert!(update.cancelled && !update.refunded && update.quota_amount.is_zero());
    assert_eq!(application(&writes), (Flow::Cancellation, 399, 'C'));

    assert!(stock_is_full(&world));
    assert!(world.used(&quota).is_zero() && world.weight(&sugar(&order)).is_zero());
    assert!(world.declaration(&key).cancelled);
}

// Goal: once the parcel left the zone (a logistics status set exited_at), a cancellation is
// refused with -623005 as a negative returnStatus, and nothing comes back.
// Method: release, record the parcel's exit, then cancel as the seller.
#[test]
fn a_cancellation_after_the_parcel_left_is_refused() {
    let mut world = World::new();
    let order = released(&mut world, 32);
    let key = key_of(&order);
    let writes = world.run(vec![logistics_status(&order, world.now)]);
    assert_eq!(statuses(&writes, &key), [399]);
    assert!(world.declaration(&key).exited_at.is_some());

    let invt_no = world.invt_no(&key);
    let writes = world.run(vec![cancellation(
        &order,
        &invt_no,
        &seller(&order),
        world.now,
    )]);
    assert_eq!(statuses(&writes, &key), [codes::CANCEL_STATUS_INVALID.code]);
    let [(5, receipt)] = receipts_of(&writes, &key)[..] else {
        panic!("one receipt, the fifth");
    };
    assert_eq!(receipt.flow, Flow::Cancellation);
    assert!(
        receipt.info.starts_with("[code:-623005;"),
        "{}",
        receipt.info
    );
    assert!(changes_nothing(&writes));
    assert_eq!(application(&writes), (Flow::Cancellation, -623005, 'C'));
    assert!(!world.declaration(&key).cancelled);
}

// Goal: only the declaration's agent, seller or platform may cancel it: a cancellation from its
// payment or logistics company is refused (-623026) and changes nothing, so the seller can still
// cancel afterwards.
// Method: release; cancellations from the payment company and the logistics company; then one
// from the seller.
#[test]
fn a_cancellation_from_outside_the_declaration_is_refused_and_changes_nothing() {
    let mut world = World::new();
    let order = released(&mut world, 33);
    let key = key_of(&order);
    let invt_no = world.invt_no(&key);
    let outsiders = [
        order.payment.pay_code.clone(),
        order.waybill.logistics_code.clone(),
    ];
    for outsider in &outsiders {
        let writes = world.run(vec![cancellation(&order, &invt_no, outsider, world.now)]);
        assert_eq!(statuses(&writes, &key), [codes::CANCEL_NOT_PERMITTED.code]);
        assert!(changes_nothing(&writes));
        assert_eq!(application(&writes), (Flow::Cancellation, -623026, 'C'));
    }
    assert!(!world.declaration(&key).cancelled);
    assert!(!stock_is_full(&world));

    let writes = world.run(vec![cancellation(
        &order,
        &invt_no,
        &seller(&order),
        world.now,
    )]);
    assert_eq!(statuses(&writes, &key), [399]);
    assert!(stock_is_full(&world));
}

/// A return of every declared line of `order`, sent by its seller for `reason`.
fn full_return(
    world: &World,
    order: &GeneratedOrder,
    reason: &str,
) -> bondgate_proto::v1::Document {
    let key = key_of(order);
    let lines = declared_lines(world.declaration(&key));
    let invt_no = world.invt_no(&key);
    refund(order, &invt_no, &lines, (&seller(order), reason), world.now)
}

// Goal: a return applied for within 30 days of release is approved (399): the quota and weight
// come back at once, the stock only when the goods are back in the zone (not in this batch).
// Method: release, apply for a full return on day 30; check receipt, credits, update, no
// movement, and the stored balances.
#[test]
fn a_return_within_thirty_days_is_approved_without_stock_yet() {
    let mut world = World::new();
    let order = released(&mut world, 34);
    let key = key_of(&order);
    let quota = quota_key(&order);
    let amount = world.declaration(&key).quota_amount;
    world.advance(Duration::days(30));

    let writes = world.run(vec![full_return(&world, &order, "商品破损退货")]);
    let approved = receipts::after_sale_approved(Flow::Refund);
    assert_eq!(receipts_of(&writes, &key), numbered(4, &[approved]));
    assert!(
        writes.movements.is_empty(),
        "stock comes back with the goods"
    );
    assert_eq!(
        writes.quota_deltas,
        BTreeMap::from([(quota.clone(), -amount)])
    );
    assert_eq!(
        writes.weight_deltas,
        BTreeMap::from([(sugar(&order), -Decimal::ONE)])
    );
    let [update] = writes.declaration_updates.as_slice() else {
        panic!("one update");
    };
    assert!(update.refunded && !update.cancelled && update.quota_amount.is_zero());
    assert_eq!(application(&writes), (Flow::Refund, 399, 'T'));
    assert!(world.used(&quota).is_zero());
    assert!(!stock_is_full(&world));
}

// Goal: a return applied for more than 30 days after release is refused with -625001.
// Method: release, apply on day 31.
#[test]
fn a_return_after_thirty_days_is_refused() {
    let mut world = World::new();
    let order = released(&mut world, 35);
    let key = key_of(&order);
    world.advance(Duration::days(31));

    let writes = world.run(vec![full_return(&world, &order, "商品破损退货")]);
    assert_eq!(statuses(&writes, &key), [codes::REFUND_INVALID.code]);
    let [(_, receipt)] = receipts_of(&writes, &key)[..] else {
        panic!("one receipt");
    };
    assert!(receipt.info.contains("31"), "{}", receipt.info);
    assert!(changes_nothing(&writes));
    assert_eq!(application(&writes), (Flow::Refund, -625001, 'T'));
}

// Goal: an inventory is returned once: another return of it is refused (-625033), the same
// return again is a silent no-op (a redelivery).
// Method: release, return in full; then a second return with another reason, and the approved
// document once more.
#[test]
fn a_second_return_is_refused_and_the_same_one_is_a_no_op() {
    let mut world = World::new();
    let order = released(&mut world, 36);
    let key = key_of(&order);
    world.advance(Duration::days(3));
    let first = full_return(&world, &order, "商品破损退货");
    let writes = world.run(vec![first.clone()]);
    assert_eq!(statuses(&writes, &key), [399]);

    let writes = world.run(vec![full_return(&world, &order, "不想要了")]);
    assert_eq!(statuses(&writes, &key), [codes::REFUND_DUPLICATE.code]);
    assert!(changes_nothing(&writes));
    assert_eq!(application(&writes), (Flow::Refund, -625033, 'T'));

    let writes = world.run(vec![first]);
    assert!(writes.receipts.is_empty() && writes.after_sales.is_empty());
    assert!(changes_nothing(&writes));
}

// Goal: a receipt written for an after-sale of an order that is not declared yet counts in the
// order's receipt sequence, so the order's later receipts never reuse its number (the database
// refuses a second (order, sequence), and the sweeper's -900104 would collide the same way).
// Method: an order alone (waiting); a cancellation of it is refused (sequence 1); then its payment
// and waybill arrive: the declaration's receipts must be 2, 3 and 4.
#[test]
fn an_after_sale_receipt_of_a_waiting_order_counts_in_its_sequence() {
    let mut world = World::new();
    let order = clean_orders(37, 1).remove(0);
    let key: OrderKey = key_of(&order);
    let [order_document, payment, waybill] = order.documents();
    world.run(vec![order_document]);

    let cancel = cancellation(&order, "80122025I000000001", &seller(&order), world.now);
    let writes = world.run(vec![cancel]);
    assert_eq!(receipts_of(&writes, &key)[0].0, 1);
    assert_eq!(statuses(&writes, &key), [codes::CANCEL_NOT_PERMITTED.code]);
    assert_eq!(writes.pending_seq, [(key.clone(), 1)]);

    let writes = world.run(vec![payment, waybill]);
    let sequences: Vec<i32> = receipts_of(&writes, &key).iter().map(|r| r.0).collect();
    assert_eq!(sequences, [2, 3, 4]);
}

// Goal: the first receipt for an order key that has nothing but a refused after-sale is kept in
// the pending row that holds the key's sequence.
// Method: a logistics status for an order bondgate never saw, then its documents one batch
// after the other.
#[test]
fn an_after_sale_of_an_unknown_order_keeps_its_receipt_sequence() {
    let mut world = World::new();
    let order = clean_orders(38, 1).remove(0);
    let key = key_of(&order);
    let writes = world.run(vec![logistics_status(&order, world.now)]);
    assert_eq!(
        statuses(&writes, &key),
        [codes::LOGISTICS_STATUS_NOT_FOUND.code]
    );
    assert_eq!(writes.pending, [(key.clone(), 0, 1)]);
    // Idle, not waiting: no document came, so the sweeper must not close the key.
    assert_eq!(writes.pending_idle, std::slice::from_ref(&key));
    let [order_document, payment, waybill] = order.documents();
    let writes = world.run(vec![order_document]);
    assert_eq!(
        writes.pending_woken,
        std::slice::from_ref(&key),
        "waiting from its first document"
    );
    let writes = world.run(vec![payment, waybill]);
    assert_eq!(writes.pending_done, std::slice::from_ref(&key));
    let sequences: Vec<i32> = receipts_of(&writes, &key).iter().map(|r| r.0).collect();
    assert_eq!(sequences, [2, 3, 4]);
}
