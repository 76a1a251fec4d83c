//! Building the CEB621 inventory (申报清单) of an evaluated order, and its CEB622 receipts.

use bondgate_ceb::model as raw;
use chrono::Duration;
use rust_decimal::Decimal;

use crate::account_book::AccountBook;
use crate::config::TradeMode;
use crate::documents::OrderBundle;
use crate::evaluate::{Evaluation, Outcome};
use crate::matching::CURRENCY_CNY;
use crate::positive_list::PositiveList;
use crate::status::ReturnStatus;
use crate::types::{
    CebDate, CebDateTime, CebDateTimeMillis, CustomsCode, CustomsOffice, InvtNo, PreNo,
};

/// Country code of China, required on bonded (1210) inventories.
pub const COUNTRY_CHINA: &str = "142";
/// Bar code text when a line has none.
pub const NO_BAR_CODE: &str = "无";

/// The identifiers and parties of a declaration that are not in the order's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationIds {
    /// Document id (36 characters, upper case).
    pub guid: String,
    /// Submission time.
    pub app_time: CebDateTime,
    /// `appStatus`: `1` stored, `2` declared (needs a signature).
    pub app_status: String,
    /// Declaration date (`declTime`).
    pub decl_date: CebDate,
    /// Enterprise document number.
    pub cop_no: String,
    /// Pre-entry number.
    pub pre_no: PreNo,
    /// Inventory number, once customs assigned it (120).
    pub invt_no: Option<InvtNo>,
    /// Customs office accepting the declaration.
    pub customs_code: CustomsOffice,
    /// Port customs (bonded: the zone customs).
    pub port_code: CustomsOffice,
    /// Declaring agent.
    pub agent_code: CustomsCode,
    /// Agent name.
    pub agent_name: String,
    /// Zone warehouse enterprise.
    pub area_code: CustomsCode,
    /// Zone warehouse enterprise name.
    pub area_name: String,
    /// Tax-guarantee enterprise (platform, seller or logistics company of this inventory).
    pub assure_code: CustomsCode,
    /// Transport mode of the second-line exit (JGS-20, e.g. `4` road).
    pub traf_mode: String,
    /// Supervised-site code, when the customs has several.
    pub loct_no: Option<String>,
}

/// Why an inventory cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Only released or held evaluations with taxed lines are declared.
    #[error("the evaluation rejected the order or has no taxed lines")]
    NotDeclarable,
    /// An order line's SKU is missing from the account book.
    #[error("order line {gnum}: SKU {sku:?} is not in the account book")]
    ItemNotRecorded {
        /// Line number.
        gnum: u32,
        /// The SKU.
        sku: String,
    },
}

fn decimal_text(value: Decimal) -> String {
    // N19,5 allows at most five fraction digits.
    value.round_dp(5).normalize().to_string()
}

/// The zone warehouse enterprise that keeps the account book of an order's first line (the
/// CEB621 `areaCode`/`areaName`), when the book names it.
pub fn area_of(bundle: &OrderBundle, book: &AccountBook) -> Option<(CustomsCode, String)> {
    let sku = bundle.order.lines.first()?.item_no.as_deref()?;
    let item = book.by_sku(sku)?;
    let code = CustomsCode::parse(item.owner_code.as_deref()?).ok()?;
    Some((code, item.owner_name.clone().unwrap_or_default()))
}

/// The second legal quantity and unit of `qty` units of `item`, when its tariff line has a second
/// legal unit and the account book gives the conversion (CBEC.md §2.4: unit2 empty ⇒ qty2 empty).
fn second_quantity(
    item: &crate::account_book::AccountBookItem,
    list: &PositiveList,
    qty: Decimal,
) -> (Option<String>, Option<String>) {
    let unit2 = list
        .get(&item.gcode.tariff_line())
        .and_then(|entry| entry.unit2.clone());
    match (unit2, item.qty2_per_unit) {
        (Some(unit2), Some(per_unit)) => (Some(decimal_text(qty * per_unit)), Some(unit2)),
        _ => (None, None),
    }
}

/// Builds the 1210 CEB621 inventory: lines 1:1 with the order lines, `emsNo`/`itemRecordNo` from
/// the account book, legal quantity `qty1 = qty × qty1_per_unit` (and `qty2`/`unit2` for tariff
/// lines with a second legal unit), country `142`, pack count 1, no transport numbers. The net
/// weight is the lines' known weight, capped at the gross weight (and the gross weight when any
/// line's weight is unknown).
pub fn build_inventory(
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    book: &AccountBook,
    list: &PositiveList,
    ids: &DeclarationIds,
) -> Result<raw::Inventory, BuildError> {
    let declarable = !matches!(evaluation.outcome, Outcome::Reject { .. })
        && evaluation.lines.len() == bundle.order.lines.len();
    if !declarable {
        return Err(BuildError::NotDeclarable);
    }
    let mut lists = Vec::with_capacity(bundle.order.lines.len());
    let mut net_weight = Some(Decimal::ZERO);
    let mut ems_no = String::new();
    for line in &bundle.order.lines {
        let sku = line.item_no.clone().unwrap_or_default();
        let item = book
            .by_sku(&sku)
            .ok_or_else(|| BuildError::ItemNotRecorded {
                gnum: line.gnum,
                sku: sku.clone(),
            })?;
        ems_no.clone_from(&item.ems_no);
        let qty = line.qty.value();
        let (qty2, unit2) = second_quantity(item, list, qty);
        net_weight = net_weight
            .zip(item.weight_kg(qty))
            .map(|(sum, kg)| sum + kg);
        lists.push(raw::InventoryList {
            gnum: line.gnum.to_string(),
            item_record_no: Some(item.item_record_no.clone()),
            item_no: Some(sku),
            item_name: Some(line.item_name.clone()),
            gcode: item.gcode.to_string(),
            // The spec wants gname equal to the order's goods name.
            gname: line.item_name.clone(),
            gmodel: item.gmodel.clone(),
            bar_code: Some(
                line.bar_code
                    .clone()
                    .unwrap_or_else(|| NO_BAR_CODE.to_owned()),
            ),
            country: item.country.clone(),
            trade_country: None,
            currency: CURRENCY_CNY.to_owned(),
            qty: decimal_text(qty),
            unit: item.unit.clone(),
            qty1: decimal_text(qty * item.qty1_per_unit),
            unit1: item.unit1.clone(),
            qty2,
            unit2,
            price: line.price.to_string(),
            total_price: line.total_price.to_string(),
            note: None,
        });
    }
    let gross = bundle.waybill.weight.value();
    let net = net_weight.map_or(gross, |kg| kg.min(gross));
    let head = inventory_head(bundle, ids, ems_no, decimal_text(net));
    Ok(raw::Inventory { head, lists })
}

/// The whole CEB621 message around one inventory, sent by the declaring agent through the DXP
/// node `dxp_id`.
pub fn inventory_message(
    inventory: raw::Inventory,
    ids: &DeclarationIds,
    dxp_id: &str,
) -> bondgate_ceb::CebMessage {
    bondgate_ceb::CebMessage::Ceb621(bondgate_ceb::Declaration {
        guid: ids.guid.clone(),
        version: "1.0".to_owned(),
        records: vec![inventory],
        base_transfer: raw::BaseTransfer {
            cop_code: ids.agent_code.to_string(),
            cop_name: ids.agent_name.clone(),
            dxp_mode: "DXP".to_owned(),
            dxp_id: dxp_id.to_owned(),
            note: None,
        },
        base_subscribes: Vec::new(),
        signed: false,
    })
}

fn inventory_head(
    bundle: &OrderBundle,
    ids: &DeclarationIds,
    ems_no: String,
    net_weight: String,
) -> raw::InventoryHead {
    let OrderBundle { order, waybill, .. } = bundle;
    raw::InventoryHead {
        guid: ids.guid.clone(),
        app_type: "1".to_owned(),
        app_time: ids.app_time.to_string(),
        app_status: ids.app_status.clone(),
        order_no: order.key.order_no.to_string(),
        ebp_code: order.key.ebp_code.to_string(),
        ebp_name: order.ebp_name.clone(),
        ebc_code: order.ebc_code.to_string(),
        ebc_name: order.ebc_name.clone(),
        logistics_no: waybill.logistics_no.clone(),
        logistics_code: waybill.logistics_code.to_string(),
        logistics_name: waybill.logistics_name.clone(),
        cop_no: Some(ids.cop_no.clone()),
        pre_no: Some(ids.pre_no.to_string()),
        assure_code: ids.assure_code.to_string(),
        ems_no: Some(ems_no),
        invt_no: ids.invt_no.as_ref().map(ToString::to_string),
        ie_flag: "I".to_owned(),
        decl_time: ids.decl_date.to_string(),
        customs_code: ids.customs_code.to_string(),
        port_code: ids.port_code.to_string(),
        ie_date: None,
        buyer_id_type: order.buyer.id_type.clone(),
        buyer_id_number: order.buyer.id_number.clone(),
        buyer_name: order.buyer.name.clone(),
        buyer_telephone: order.buyer.telephone.clone(),
        consignee_address: order.consignee.address.clone(),
        agent_code: ids.agent_code.to_string(),
        agent_name: ids.agent_name.clone(),
        area_code: Some(ids.area_code.to_string()),
        area_name: Some(ids.area_name.clone()),
        trade_mode: TradeMode::Bonded1210.code().to_owned(),
        traf_mode: ids.traf_mode.clone(),
        // Bonded inventories leave the transport numbers empty.
        traf_no: None,
        voyage_no: None,
        bill_no: None,
        loct_no: ids.loct_no.clone(),
        license_no: None,
        country: COUNTRY_CHINA.to_owned(),
        freight: crate::evaluate::declared_freight(bundle).to_string(),
        insured_fee: waybill.insured_fee.to_string(),
        currency: CURRENCY_CNY.to_owned(),
        wrap_type: None,
        pack_no: "1".to_owned(),
        gross_weight: waybill.weight.to_string(),
        net_weight,
        note: None,
    }
}

/// Builds one CEB622 receipt for a declaration.
pub fn inventory_return(
    guid: &str,
    bundle: &OrderBundle,
    ids: &DeclarationIds,
    status: ReturnStatus,
    info: &str,
    at: CebDateTimeMillis,
) -> raw::InventoryReturn {
    raw::InventoryReturn {
        guid: guid.to_owned(),
        customs_code: Some(ids.customs_code.to_string()),
        ebp_code: Some(bundle.order.key.ebp_code.to_string()),
        ebc_code: Some(bundle.order.ebc_code.to_string()),
        agent_code: Some(ids.agent_code.to_string()),
        cop_no: ids.cop_no.clone(),
        pre_no: ids.pre_no.to_string(),
        // The inventory number exists from 120 on; earlier receipts carry none.
        invt_no: ids
            .invt_no
            .as_ref()
            .filter(|_| status_has_invt_no(status))
            .map(ToString::to_string),
        return_status: status.code().to_string(),
        return_time: at.to_string(),
        return_info: info.to_owned(),
    }
}

fn status_has_invt_no(status: ReturnStatus) -> bool {
    !matches!(
        status,
        ReturnStatus::Stored
            | ReturnStatus::Declaring
            | ReturnStatus::SentToCustoms
            | ReturnStatus::SendFailed
            | ReturnStatus::Rejected
            | ReturnStatus::Exception(_)
    )
}

/// The receipt sequence of an evaluated declaration, as customs would send it: `2` then `120`
/// and the decision (`800` or `300`), or `2` and the rejection (`100` or the negative code).
/// Receipts are 1 ms apart from `at` so they sort in status order. `guid_of(i)` names receipt i.
pub fn inventory_receipts(
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    ids: &DeclarationIds,
    at: CebDateTimeMillis,
    guid_of: impl Fn(usize) -> String,
) -> Vec<raw::InventoryReturn> {
    let order = &bundle.order;
    let steps = crate::receipts::declaration(
        order.ebc_code.as_str(),
        order.key.order_no.as_str(),
        &evaluation.outcome,
    );
    steps
        .into_iter()
        .enumerate()
        .map(|(index, receipt)| {
            let time = CebDateTimeMillis::new(at.value() + Duration::milliseconds(index as i64));
            inventory_return(
                &guid_of(index),
                bundle,
                ids,
                receipt.status,
                &receipt.info,
                time,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::tests::bundle;
    use crate::evaluate::evaluate;
    use crate::evaluate::tests::{Fixture, with_line};
    use crate::types::PreNoKind;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn ids() -> DeclarationIds {
        let date = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let customs = CustomsOffice::parse("8013").unwrap();
        DeclarationIds {
            guid: "CEB621-GUID-00000000000000000000001A".into(),
            app_time: CebDateTime::parse("20240601120005").unwrap(),
            app_status: "2".into(),
            decl_date: CebDate::new(date),
            cop_no: "COP20240601001".into(),
            pre_no: PreNo::new(PreNoKind::Inventory, date, 1).unwrap(),
            invt_no: Some(InvtNo::new(&customs, 2024, 1).unwrap()),
            customs_code: customs.clone(),
            port_code: customs,
            agent_code: CustomsCode::parse("5001980004").unwrap(),
            agent_name: "渝关报关".into(),
            area_code: CustomsCode::parse("5001980005").unwrap(),
            area_name: "两路果园港保税仓".into(),
            assure_code: CustomsCode::parse("5001980001").unwrap(),
            traf_mode: "4".into(),
            loct_no: None,
        }
    }

    #[test]
    fn builds_a_1210_inventory_from_the_book() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "WATER-1L-6", "天然矿泉水6瓶装", dec!(60), dec!(2));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        let inventory =
            build_inventory(&b, &evaluation, &fixture.book, &fixture.list, &ids()).unwrap();
        let head = &inventory.head;
        assert_eq!(
            (
                head.trade_mode.as_str(),
                head.country.as_str(),
                head.pack_no.as_str()
            ),
            ("1210", "142", "1")
        );
        assert_eq!(head.ems_no.as_deref(), Some("T8001W000001"));
        assert_eq!(head.pre_no.as_deref(), Some("B20240601000000001"));
        assert_eq!(head.invt_no.as_deref(), Some("80132024I000000001"));
        assert!(head.traf_no.is_none() && head.bill_no.is_none() && head.voyage_no.is_none());
        // 12 litres of water weigh more than the 0.6 kg the waybill says: capped at gross.
        assert_eq!(head.net_weight, "0.6");
        let line = &inventory.lists[0];
        assert_eq!(line.item_record_no.as_deref(), Some("10004"));
        assert_eq!(
            (line.qty.as_str(), line.qty1.as_str(), line.unit1.as_str()),
            ("2", "12", "095")
        );
        assert_eq!(
            (line.gname.as_str(), line.gcode.as_str()),
            ("天然矿泉水6瓶装", "2201101000")
        );
        assert_eq!(line.bar_code.as_deref(), Some(NO_BAR_CODE));
    }

    #[test]
    fn rejected_orders_are_not_declared() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "NOPE", "x", dec!(1), dec!(1));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        assert_eq!(
            build_inventory(&b, &evaluation, &fixture.book, &fixture.list, &ids()),
            Err(BuildError::NotDeclarable)
        );
    }

    #[test]
    fn receipts_follow_the_status_machine() {
        let fixture = Fixture::new();
        let at = CebDateTimeMillis::parse("20240601120006000").unwrap();
        let released = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410), dec!(1));
        let evaluation = evaluate(&released, &fixture.ctx(dec!(0)));
        let receipts = inventory_receipts(&released, &evaluation, &ids(), at, |i| format!("R{i}"));
        let statuses: Vec<&str> = receipts.iter().map(|r| r.return_status.as_str()).collect();
        assert_eq!(statuses, ["2", "120", "800"]);
        assert!(receipts[0].invt_no.is_none() && receipts[1].invt_no.is_some());
        assert_eq!(receipts[2].return_time, "20240601120006002");
        for pair in receipts.windows(2) {
            let from = ReturnStatus::parse(&pair[0].return_status).unwrap();
            let to = ReturnStatus::parse(&pair[1].return_status).unwrap();
            assert_eq!(crate::status::transition(from, to), Ok(()));
        }
        let over = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410), dec!(13));
        let evaluation = evaluate(&over, &fixture.ctx(dec!(0)));
        let receipts = inventory_receipts(&over, &evaluation, &ids(), at, |i| format!("R{i}"));
        assert_eq!(receipts[1].return_status, "-621005");
        assert!(
            receipts[1]
                .return_info
                .starts_with("[code:-621005;Desc:购买金额超过单笔限额]")
        );
    }
}

/// Status of a CEB816 e-tax bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxBillStatus {
    /// `1` 已生成: generated.
    Generated,
    /// `2` 已汇总: aggregated for payment.
    Aggregated,
    /// `3` 作废: void (cancelled or returned).
    Void,
}

impl TaxBillStatus {
    /// The CEB code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Generated => "1",
            Self::Aggregated => "2",
            Self::Void => "3",
        }
    }
}

/// The tax-bill number customs uses: the inventory number and a sequence (`…I439440284_0`).
pub fn tax_no(invt_no: &InvtNo, sequence: u32) -> String {
    format!("{invt_no}_{sequence}")
}

/// Builds the CEB816 e-tax bill of a released declaration from its evaluation: one `TaxListRd`
/// per line with its `taxPrice`, and head totals equal to the sum of the lines.
pub fn build_tax_bill(
    guid: &str,
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    ids: &DeclarationIds,
    invt_no: &InvtNo,
    status: TaxBillStatus,
    at: CebDateTimeMillis,
) -> raw::Tax {
    let money = |value: Decimal| format!("{:.2}", value.round_dp(2));
    let head = raw::TaxHeadRd {
        guid: guid.to_owned(),
        return_time: at.to_string(),
        invt_no: invt_no.to_string(),
        tax_no: tax_no(invt_no, 0),
        customs_tax: money(evaluation.tax.customs),
        value_added_tax: money(evaluation.tax.vat),
        consumption_tax: money(evaluation.tax.consumption),
        status: status.code().to_owned(),
        ent_duty_no: None,
        note: None,
        assure_code: Some(ids.assure_code.to_string()),
        ebc_code: Some(bundle.order.ebc_code.to_string()),
        logistics_code: Some(bundle.waybill.logistics_code.to_string()),
        agent_code: Some(ids.agent_code.to_string()),
        customs_code: Some(ids.customs_code.to_string()),
    };
    let lists = evaluation
        .lines
        .iter()
        .map(|line| raw::TaxListRd {
            gnum: line.gnum.to_string(),
            gcode: line.gcode.to_string(),
            tax_price: decimal_text(line.tax_price),
            customs_tax: money(line.customs),
            value_added_tax: money(line.vat),
            consumption_tax: money(line.consumption),
        })
        .collect();
    raw::Tax { head, lists }
}

#[cfg(test)]
mod tax_bill_tests {
    use super::*;
    use crate::documents::tests::bundle;
    use crate::evaluate::evaluate;
    use crate::evaluate::tests::{Fixture, with_line};
    use rust_decimal_macros::dec;

    #[test]
    fn tax_bill_of_the_worked_example() {
        let fixture = Fixture::new();
        let b = with_line(bundle(), "WATER-500ML", "天然矿泉水", dec!(410.00), dec!(1));
        let evaluation = evaluate(&b, &fixture.ctx(dec!(0)));
        let ids = tests_ids();
        let invt_no = InvtNo::parse("29242020I439440284").unwrap();
        let at = CebDateTimeMillis::parse("20240601120007000").unwrap();
        let bill = build_tax_bill(
            "G",
            &b,
            &evaluation,
            &ids,
            &invt_no,
            TaxBillStatus::Generated,
            at,
        );
        assert_eq!(bill.head.tax_no, "29242020I439440284_0");
        assert_eq!(
            (
                bill.head.customs_tax.as_str(),
                bill.head.value_added_tax.as_str()
            ),
            ("0.00", "37.31")
        );
        assert_eq!(
            (bill.lists[0].tax_price.as_str(), bill.head.status.as_str()),
            ("410", "1")
        );
    }

    fn tests_ids() -> DeclarationIds {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap_or_default();
        let customs = CustomsOffice::parse("8013").unwrap();
        DeclarationIds {
            guid: "G".into(),
            app_time: CebDateTime::parse("20240601120005").unwrap(),
            app_status: "2".into(),
            decl_date: CebDate::new(date),
            cop_no: "C".into(),
            pre_no: PreNo::new(crate::types::PreNoKind::Inventory, date, 1).unwrap(),
            invt_no: None,
            customs_code: customs.clone(),
            port_code: customs,
            agent_code: CustomsCode::parse("A1").unwrap(),
            agent_name: "a".into(),
            area_code: CustomsCode::parse("A2").unwrap(),
            area_name: "b".into(),
            assure_code: CustomsCode::parse("A3").unwrap(),
            traf_mode: "4".into(),
            loct_no: None,
        }
    }
}
