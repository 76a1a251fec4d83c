//! Changes of stored documents (`appType` 2): only the enterprise that sent a document may
//! change it; anyone else is answered as if there were nothing to change, and nothing changes.

use bondgate_domain::codes;
use bondgate_domain::receipts::Flow;
use bondgate_loadtest::generate::GeneratedOrder;
use bondgate_proto::v1;

use super::fixture::{World, declared, key_of, receipts_of, statuses};
use super::traffic::clean_orders;

/// `order`'s order document changed (`appType` 2, a new note), as sent by `sender`.
fn changed_order(order: &GeneratedOrder, sender: &str) -> v1::Document {
    let mut changed = order.clone();
    changed.order.head.app_type = "2".to_owned();
    changed.order.head.note = Some("请周末送货".to_owned());
    let [mut document, _, _] = changed.documents();
    document.sender_code = sender.to_owned();
    document
}

// Goal: a change of an order by a sender that is not its original sender (here its seller, bound
// to the platform and so allowed to send orders) is refused with -301009 and changes nothing:
// the order declared afterwards is the original one.
// Method: the platform sends the order; the seller sends a change in the next batch together
// with the payment and waybill. A control world where the platform sends the same change
// declares the changed order.
#[test]
fn a_change_by_another_sender_is_refused_and_changes_nothing() {
    let order = clean_orders(41, 1).remove(0);
    let key = key_of(&order);
    let head = &order.order.head;
    let [original, payment, waybill] = order.documents();
    assert_eq!(original.sender_code, head.ebp_code, "the platform sends it");
    let mut world = World::new();
    world
        .bindings
        .insert((head.ebp_code.clone(), head.ebc_code.clone()));
    world.run(vec![original.clone()]);

    let change = changed_order(&order, &head.ebc_code);
    let writes = world.run(vec![change, payment.clone(), waybill.clone()]);
    let receipts = receipts_of(&writes, &key);
    let (sequence, refusal) = receipts[0];
    assert_eq!(sequence, 1);
    assert_eq!(refusal.flow, Flow::Document);
    assert_eq!(
        statuses(&writes, &key),
        [codes::ORDER_NOT_FOUND_FOR_CHANGE.code, 2, 120, 800]
    );
    assert!(writes.orders.is_empty() && writes.deleted_orders.is_empty());
    assert_eq!(declared(&writes, &key).bundle.order.note, None);

    let mut control = World::new();
    control.run(vec![original]);
    let change = changed_order(&order, &head.ebp_code);
    let writes = control.run(vec![change, payment, waybill]);
    assert_eq!(statuses(&writes, &key), [2, 120, 800]);
    let note = declared(&writes, &key).bundle.order.note.clone();
    assert_eq!(note.as_deref(), Some("请周末送货"));
}

// Goal: a payment company cannot change another company's payment of an order: -401006, the
// stored payment stays.
// Method: store the order and its payment; a change of the payment (same transaction number)
// sent by, and naming, the other payment company.
#[test]
fn a_payment_change_by_another_company_is_refused() {
    let order = clean_orders(42, 1).remove(0);
    let key = key_of(&order);
    let [original, payment, _] = order.documents();
    let mut world = World::new();
    world.run(vec![original, payment]);

    let other = if order.payment.pay_code == "5001980021" {
        "5001980022"
    } else {
        "5001980021"
    };
    let mut changed = order.clone();
    changed.payment.app_type = "2".to_owned();
    changed.payment.pay_code = other.to_owned();
    let [_, mut change, _] = changed.documents();
    change.sender_code = other.to_owned();
    let writes = world.run(vec![change]);
    assert_eq!(
        statuses(&writes, &key),
        [codes::PAYMENT_NOT_FOUND_FOR_CHANGE.code]
    );
    assert!(writes.payments.is_empty() && writes.deleted_payments.is_empty());
    let stored = world.orders[&key].payment.as_ref().unwrap();
    assert_eq!(stored.sender_code, order.payment.pay_code);
}
