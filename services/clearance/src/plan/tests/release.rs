//! Complete, incomplete and over-limit bundles: what one order's documents make the planner
//! write.

use std::collections::BTreeMap;

use bondgate_domain::documents::{Order, OrderBundle, Payment, Waybill};
use bondgate_domain::evaluate::{EvalContext, Outcome, evaluate};
use bondgate_domain::receipts;
use bondgate_loadtest::generate::GeneratedOrder;
use rust_decimal::Decimal;

use super::fixture::{
    STOCK_ON_HAND, World, declared, documents, key_of, movements, numbered, quota_key, receipts_of,
    statuses,
};
use super::traffic::{clean_orders, over_limit_order};
use crate::plan::MovementKind;

/// The receipts the domain gives for `order`'s bundle evaluated on its own (no quota used, no
/// weights, identity not vouched).
fn domain_receipts(world: &World, order: &GeneratedOrder) -> Vec<receipts::Receipt> {
    let bundle = OrderBundle {
        order: Order::parse(&order.order).unwrap(),
        payment: Payment::parse(&order.payment).unwrap(),
        waybill: Waybill::parse(&order.waybill).unwrap(),
    };
    let weights = BTreeMap::new();
    let ctx = EvalContext {
        account_book: &world.reference.account_book,
        positive_list: &world.reference.positive_list,
        config: &world.rules,
        buyer_annual_used_cny: Decimal::ZERO,
        weight_used_kg: &weights,
        buyer_identity_verified: false,
    };
    let evaluation = evaluate(&bundle, &ctx);
    let head = &order.order.head;
    receipts::declaration(&head.ebc_code, &head.order_no, &evaluation.outcome)
}

// Goal: a complete bundle (order, payment, waybill) in one batch is declared and released.
// Method: one clean generated order; check its receipts (2, 120, 800, numbered 1 to 3, with the
// domain's texts), its one declaration, a movement per line taking the declared quantity out of
// the zone, the buyer's quota raised by the compared amount; then store the batch and read the
// balances back.
#[test]
fn a_complete_bundle_is_declared_released_and_takes_stock_and_quota() {
    let mut world = World::new();
    let order = clean_orders(11, 1).remove(0);
    let key = key_of(&order);
    let writes = world.run(documents(&order));

    let head = &order.order.head;
    let expected = receipts::declaration(&head.ebc_code, &head.order_no, &Outcome::Release);
    assert_eq!(receipts_of(&writes, &key), numbered(1, &expected));
    assert_eq!(statuses(&writes, &key), [2, 120, 800]);
    assert_eq!(writes.declarations.len(), 1);
    let declaration = declared(&writes, &key);
    assert_eq!(
        (
            declaration.status,
            declaration.accepted,
            declaration.receipt_seq
        ),
        (800, true, 3)
    );
    assert!(
        declaration.ceb621.is_some(),
        "a released declaration has its CEB621"
    );

    let expected: Vec<_> = order
        .order
        .lists
        .iter()
        .map(|line| {
            let item = world.item(line.item_no.as_deref().unwrap());
            let qty: Decimal = line.qty.parse().unwrap();
            (
                item,
                MovementKind::ReserveAndDeduct,
                -qty,
                Decimal::ZERO,
                key.clone(),
            )
        })
        .collect();
    assert_eq!(movements(&writes), expected);
    let quota = quota_key(&order);
    assert_eq!(
        writes.quota_deltas,
        BTreeMap::from([(quota.clone(), order.meta.limit_amount_cny)])
    );
    assert!(writes.weight_deltas.is_empty(), "no capped tariff line");
    assert!(writes.pending.is_empty() && writes.pending_done.is_empty());

    for (item, _, out, _, _) in &expected {
        let balance = world.stock[item];
        assert_eq!(balance.on_hand, Decimal::from(STOCK_ON_HAND) + out);
        assert_eq!(balance.reserved, Decimal::ZERO);
    }
    assert_eq!(world.used(&quota), order.meta.limit_amount_cny);
}

// Goal: an order without its payment and waybill is not declared; it waits, and is declared
// when they arrive.
// Method: the order alone in one batch (nothing declared, no receipt, a pending row), then its
// payment and waybill in the next (declared, no longer waiting).
#[test]
fn an_order_alone_waits_for_its_payment_and_waybill() {
    let mut world = World::new();
    let order = clean_orders(12, 1).remove(0);
    let key = key_of(&order);
    let [order_document, payment, waybill] = order.documents();

    let writes = world.run(vec![order_document]);
    assert!(writes.declarations.is_empty());
    assert!(writes.receipts.is_empty());
    assert!(writes.movements.is_empty() && writes.quota_deltas.is_empty());
    assert_eq!(writes.orders.len(), 1);
    assert_eq!(writes.pending, [(key.clone(), 0, 0)]);

    let writes = world.run(vec![payment, waybill]);
    assert_eq!(statuses(&writes, &key), [2, 120, 800]);
    assert_eq!(writes.pending_done, [key]);
}

// Goal: an order above the 5,000 CNY single limit is refused as customs refuses it: receipt 2,
// then the processing exception -621005 as returnStatus, nothing taken.
// Method: the generator's over-limit order; compare its receipts with what the domain gives for
// the evaluation of the same bundle, and check that it moves no stock and uses no quota.
#[test]
fn an_order_over_the_single_limit_is_rejected_as_the_domain_says() {
    let mut world = World::new();
    let order = over_limit_order(13);
    let key = key_of(&order);
    let writes = world.run(documents(&order));

    let expected = domain_receipts(&world, &order);
    assert_eq!(receipts_of(&writes, &key), numbered(1, &expected));
    assert_eq!(statuses(&writes, &key), [2, -621005]);
    let declaration = declared(&writes, &key);
    assert_eq!((declaration.status, declaration.accepted), (-621005, false));
    assert_eq!(
        declaration.codes.first().map(String::as_str),
        Some("-621005")
    );
    let numbers = declaration.numbers.as_ref().unwrap();
    assert!(numbers.invt_no.is_none() && declaration.ceb621.is_none());
    assert!(declaration.line_items.is_empty());
    assert!(writes.movements.is_empty(), "no stock movement");
    assert!(writes.quota_deltas.is_empty(), "no quota used");
    assert!(writes.weight_deltas.is_empty());
}
