//! The CEB621 built for an accepted declaration: it parses back as the inventory customs would
//! receive, with the numbers the batch assigned.

use bondgate_ceb::model as raw;
use bondgate_ceb::{CebMessage, Limits, parse_message};
use rust_decimal::Decimal;

use super::fixture::{AREA_CODE, AREA_NAME, CUSTOMS, World, declared, documents, key_of};
use super::traffic::{clean_orders, set_basket};
use crate::plan::NewDeclaration;

/// The inventory of a declaration's CEB621, parsed back.
fn inventory(declaration: &NewDeclaration) -> raw::Inventory {
    let xml = declaration
        .ceb621
        .as_ref()
        .expect("an accepted declaration has its CEB621");
    match parse_message(xml.as_bytes(), &Limits::default()) {
        Ok(CebMessage::Ceb621(mut message)) => {
            assert_eq!(message.records.len(), 1);
            message.records.remove(0)
        }
        other => panic!("not a CEB621: {other:?}"),
    }
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

// Goal: the CEB621 of a released declaration is a CEB621 with the assigned invtNo, preNo and
// copNo, the account book's keeper as areaCode/areaName, the account-book items on its lines,
// and the declared freight: the waybill's when larger than the order's, else the order's.
// Method: two orders of formula and wine (a second legal unit), one whose waybill charges 25 CNY
// against the order's 10, one whose waybill charges 5; parse both CEB621s back.
#[test]
fn the_ceb621_parses_back_with_its_numbers_area_and_freight() {
    let mut world = World::new();
    let mut orders = clean_orders(51, 2);
    let basket = [("FORMULA-900G", 1, 26_800), ("WINE-750", 2, 19_800)];
    let book = world.reference.account_book.clone();
    set_basket(&mut orders[0], &book, &basket, (1_000, 2_500));
    set_basket(&mut orders[1], &book, &basket, (1_000, 500));
    let writes = world.run(orders.iter().flat_map(documents).collect());

    for (order, freight) in orders.iter().zip(["25", "10"]) {
        let declaration = declared(&writes, &key_of(order));
        assert_eq!(declaration.status, 800);
        let numbers = declaration.numbers.as_ref().unwrap();
        let invt_no = numbers.invt_no.as_deref().unwrap();
        assert!(invt_no.starts_with(&format!("{CUSTOMS}2025I")), "{invt_no}");
        assert!(
            numbers.pre_no.starts_with("B20251111"),
            "{}",
            numbers.pre_no
        );
        let inventory = inventory(declaration);
        let head = &inventory.head;
        assert_eq!(head.invt_no.as_deref(), Some(invt_no));
        assert_eq!(head.pre_no.as_deref(), Some(numbers.pre_no.as_str()));
        assert_eq!(head.cop_no.as_deref(), Some(numbers.cop_no.as_str()));
        assert_eq!(head.order_no, order.order.head.order_no);
        assert_eq!(head.logistics_no, order.waybill.logistics_no);
        assert_eq!(head.agent_code, order.order.head.ebc_code);
        assert_eq!(head.area_code.as_deref(), Some(AREA_CODE));
        assert_eq!(head.area_name.as_deref(), Some(AREA_NAME));
        assert_eq!(head.trade_mode, "1210");
        assert_eq!(
            decimal(&head.freight),
            decimal(freight),
            "{}",
            order.meta.key
        );

        let lines: Vec<_> = inventory
            .lists
            .iter()
            .map(|l| {
                (
                    l.gnum.as_str(),
                    l.item_record_no.as_deref(),
                    decimal(&l.qty),
                )
            })
            .collect();
        let expected = [
            ("1", Some("10001"), Decimal::ONE),
            ("2", Some("10005"), Decimal::from(2)),
        ];
        assert_eq!(lines, expected);
        let wine = &inventory.lists[1];
        assert_eq!(
            (wine.unit2.as_deref(), wine.qty2.as_deref().map(decimal)),
            (Some("035"), Some(Decimal::new(24, 1)))
        );
    }
}
