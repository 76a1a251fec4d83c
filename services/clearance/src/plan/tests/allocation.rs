//! Orders of one batch competing for what the batch locked: the last units of an item and a
//! buyer's yearly weight of a capped tariff line, decided in record order.

use std::collections::BTreeMap;

use bondgate_domain::allocation::StockBalance;
use bondgate_domain::codes;
use bondgate_domain::types::TariffLine;
use bondgate_loadtest::generate::GeneratedOrder;
use rust_decimal::Decimal;

use super::fixture::{World, declared, documents, key_of, movements, quota_key, statuses};
use super::traffic::{clean_orders, same_buyer, set_basket};
use crate::decode::Incoming;
use crate::plan::{MovementKind, Writes};
use crate::state::WeightKey;

/// Tin of infant formula, 900 g (no weight cap).
const FORMULA: &str = "FORMULA-900G";
/// Bag of white sugar, 1 kg: tariff line 17019910, capped at 2 kg per person and year.
const SUGAR: &str = "SUGAR-1KG";
const SUGAR_LINE: &str = "17019910";

/// `count` clean orders of `seed`, each buying `qty` of `sku` at `price_fen`.
fn orders_of(
    world: &World,
    seed: u64,
    count: usize,
    (sku, qty, price_fen): (&str, u32, i64),
) -> Vec<GeneratedOrder> {
    let mut orders = clean_orders(seed, count);
    for order in &mut orders {
        set_basket(
            order,
            &world.reference.account_book,
            &[(sku, qty, price_fen)],
            (0, 0),
        );
    }
    orders
}

/// The status of each order's declaration in a batch.
fn decisions(writes: &Writes, orders: &[GeneratedOrder]) -> Vec<i32> {
    orders
        .iter()
        .map(|order| declared(writes, &key_of(order)).status)
        .collect()
}

/// The records of `orders`, order by order.
fn records(world: &mut World, orders: &[&GeneratedOrder]) -> Vec<Incoming> {
    let documents = orders.iter().flat_map(|order| documents(order)).collect();
    world.decode(documents)
}

// Goal: two orders of one batch asking for the last units of an item: the first in record order
// is declared, the second refused with the domain's -900301 (allocate_stock), whatever else is
// in the batch; the same batch always decides the same way.
// Method: 3 tins left, two orders of 2 tins; plan the batch twice, then with the orders' records
// swapped, then interleaved so that the first order's bundle completes last.
#[test]
fn the_first_order_in_record_order_gets_the_last_units() {
    let mut world = World::new();
    let item = world.item(FORMULA);
    let last = StockBalance {
        on_hand: Decimal::from(3),
        reserved: Decimal::ZERO,
    };
    world.stock.insert(item.clone(), last);
    let orders = orders_of(&world, 21, 2, (FORMULA, 2, 26_800));
    let (a, b) = (&orders[0], &orders[1]);

    let incoming = records(&mut world, &[a, b]);
    let writes = world.plan(incoming.clone());
    assert_eq!(
        decisions(&writes, &orders),
        [800, codes::INSUFFICIENT_STOCK.code]
    );
    assert_eq!(statuses(&writes, &key_of(b)), [2, -900301]);
    let refused = declared(&writes, &key_of(b));
    assert_eq!(refused.codes, ["-900301"]);
    assert!(
        refused.reasons[0].contains("库存不足"),
        "{:?}",
        refused.reasons
    );
    let expected = (item.clone(), MovementKind::ReserveAndDeduct);
    let taken = (-Decimal::from(2), Decimal::ZERO, key_of(a));
    assert_eq!(
        movements(&writes),
        [(expected.0, expected.1, taken.0, taken.1, taken.2)]
    );
    assert_eq!(
        writes.quota_deltas.keys().collect::<Vec<_>>(),
        [&quota_key(a)]
    );
    assert_eq!(decisions(&world.plan(incoming), &orders), [800, -900301]);

    let swapped = records(&mut world, &[b, a]);
    assert_eq!(decisions(&world.plan(swapped), &orders), [-900301, 800]);

    let [a_order, a_payment, a_waybill] = a.documents();
    let mut interleaved = vec![a_order];
    interleaved.extend(b.documents());
    interleaved.extend([a_payment, a_waybill]);
    let interleaved = world.decode(interleaved);
    let writes = world.plan(interleaved);
    assert_eq!(
        decisions(&writes, &orders),
        [800, -900301],
        "orders are decided in the order of their first record"
    );

    world.commit(&writes);
    assert_eq!(world.stock[&item].on_hand, Decimal::ONE);
}

fn weight_key(order: &GeneratedOrder) -> WeightKey {
    let (hash, year) = quota_key(order);
    (hash, year, TariffLine::parse(SUGAR_LINE).unwrap())
}

// Goal: a buyer's two orders in one batch whose sugar sums over the 2 kg yearly cap: the first is
// declared and counts its weight, the second is refused with -900204.
// Method: orders of 1 and 2 bags of sugar by the same buyer; check the decisions, the weight
// delta, and that the refused order moves no stock.
#[test]
fn a_buyers_second_order_over_the_yearly_weight_cap_is_refused() {
    let mut world = World::new();
    let mut orders = orders_of(&world, 22, 2, (SUGAR, 1, 1_990));
    set_basket(
        &mut orders[1],
        &world.reference.account_book,
        &[(SUGAR, 2, 1_990)],
        (0, 0),
    );
    let first = orders[0].clone();
    same_buyer(&first, &mut orders[1]);

    let writes = world.run(orders.iter().flat_map(documents).collect());
    assert_eq!(
        decisions(&writes, &orders),
        [800, codes::OVER_WEIGHT_CAP.code]
    );
    assert_eq!(statuses(&writes, &key_of(&orders[1])), [2, -900204]);
    let key = weight_key(&first);
    assert_eq!(
        writes.weight_deltas,
        BTreeMap::from([(key.clone(), Decimal::ONE)])
    );
    assert!(movements(&writes).iter().all(|m| m.4 == key_of(&first)));
    assert_eq!(world.weight(&key), Decimal::ONE);
}

// Goal: the weight a buyer already bought this year (the locked row) counts against the cap.
// Method: one buyer has 1.5 kg of sugar, another exactly 1 kg; each orders 1 kg: the first is
// refused (2.5 > 2), the second released (2 = the cap).
#[test]
fn the_weight_already_bought_this_year_counts() {
    let mut world = World::new();
    let orders = orders_of(&world, 23, 2, (SUGAR, 1, 1_990));
    world
        .weights
        .insert(weight_key(&orders[0]), Decimal::new(15, 1));
    world.weights.insert(weight_key(&orders[1]), Decimal::ONE);

    let writes = world.run(orders.iter().flat_map(documents).collect());
    assert_eq!(decisions(&writes, &orders), [-900204, 800]);
    let refused = declared(&writes, &key_of(&orders[0]));
    assert!(refused.reasons[0].contains("1.5"), "{:?}", refused.reasons);
    assert_eq!(
        writes.weight_deltas,
        BTreeMap::from([(weight_key(&orders[1]), Decimal::ONE)])
    );
    assert_eq!(world.weight(&weight_key(&orders[1])), Decimal::from(2));
}
