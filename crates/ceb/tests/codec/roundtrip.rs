//! Goal: `parse(emit(x)) == x` for every message type. Method: proptest over records whose fields
//! are drawn from an alphabet with XML metacharacters, whitespace, CR/LF and CJK.

use bondgate_ceb::model::{
    BaseSubscribe, BaseTransfer, Delivery, DeliveryHead, DeliveryList, Inventory, InventoryHead,
    InventoryList, InvtRefund, InvtRefundHead, InvtRefundList, Order, OrderHead, OrderList, Record,
    Tax, TaxHeadRd, TaxListRd,
};
use bondgate_ceb::{CebMessage, Declaration, Limits, Receipt, parse_message, to_xml};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&\"';=/\\t\\n\\r中文货物税单¥\u{3000}]{0,10}"
}

fn record<R: Record + std::fmt::Debug + 'static>() -> BoxedStrategy<R> {
    vec((text(), any::<bool>()), R::FIELDS.len())
        .prop_map(|values| {
            let mut record = R::default();
            for (spec, (value, present)) in R::FIELDS.iter().zip(values) {
                if spec.required || present {
                    record.set_field(spec.name, value);
                }
            }
            record
        })
        .boxed()
}

fn declaration<T: std::fmt::Debug + Clone + 'static>(
    records: BoxedStrategy<T>,
) -> BoxedStrategy<Declaration<T>> {
    (
        text(),
        text(),
        vec(records, 1..4),
        record::<BaseTransfer>(),
        vec(record::<BaseSubscribe>(), 0..3),
    )
        .prop_map(
            |(guid, version, records, base_transfer, base_subscribes)| Declaration {
                guid,
                version,
                records,
                base_transfer,
                base_subscribes,
                signed: false,
            },
        )
        .boxed()
}

fn receipt<T: std::fmt::Debug + Clone + 'static>(
    records: BoxedStrategy<T>,
) -> BoxedStrategy<Receipt<T>> {
    (text(), text(), vec(records, 1..4))
        .prop_map(|(guid, version, records)| Receipt {
            guid,
            version,
            records,
            signed: false,
        })
        .boxed()
}

macro_rules! composite {
    ($composite:ident, $head:ty, $line:ty) => {
        (record::<$head>(), vec(record::<$line>(), 1..4))
            .prop_map(|(head, lists)| $composite { head, lists })
            .boxed()
    };
}

/// Any message of any type, with fields from [`text`]; the DXP suite wraps these too.
pub fn message() -> impl Strategy<Value = CebMessage> {
    prop_oneof![
        declaration(composite!(Order, OrderHead, OrderList)).prop_map(CebMessage::Ceb311),
        receipt(record()).prop_map(CebMessage::Ceb312),
        declaration(record()).prop_map(CebMessage::Ceb411),
        receipt(record()).prop_map(CebMessage::Ceb412),
        declaration(record()).prop_map(CebMessage::Ceb511),
        receipt(record()).prop_map(CebMessage::Ceb512),
        declaration(record()).prop_map(CebMessage::Ceb513),
        receipt(record()).prop_map(CebMessage::Ceb514),
        declaration(composite!(Inventory, InventoryHead, InventoryList))
            .prop_map(CebMessage::Ceb621),
        receipt(record()).prop_map(CebMessage::Ceb622),
        declaration(record()).prop_map(CebMessage::Ceb623),
        receipt(record()).prop_map(CebMessage::Ceb624),
        declaration(composite!(InvtRefund, InvtRefundHead, InvtRefundList))
            .prop_map(CebMessage::Ceb625),
        receipt(record()).prop_map(CebMessage::Ceb626),
        declaration(composite!(Delivery, DeliveryHead, DeliveryList)).prop_map(CebMessage::Ceb711),
        receipt(record()).prop_map(CebMessage::Ceb712),
        receipt(composite!(Tax, TaxHeadRd, TaxListRd)).prop_map(CebMessage::Ceb816),
        receipt(record()).prop_map(CebMessage::Ceb818),
        receipt(record()).prop_map(CebMessage::Ceb900),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_emit_is_identity(message in message()) {
        let xml = to_xml(&message).expect("emit");
        let parsed = parse_message(xml.as_bytes(), &Limits::default());
        prop_assert_eq!(parsed, Ok(message), "{}", xml);
    }
}

#[test]
fn unencodable_characters_are_refused_with_their_path() {
    let mut message = super::helpers::ceb622();
    if let CebMessage::Ceb622(receipt) = &mut message {
        receipt.records[0].return_info = "bad\u{1}char".to_owned();
    }
    let error = to_xml(&message).expect_err("control char");
    assert_eq!(error.code(), "ceb.unencodable_char");
    assert_eq!(
        error.path(),
        Some("/CEB622Message/InventoryReturn/returnInfo")
    );
}

/// The receipts bondgate emits (CEB624, CEB626, CEB816) read back unchanged.
#[test]
fn emitted_receipts_read_back_unchanged() {
    for message in [
        super::helpers::ceb624(),
        super::helpers::ceb626(),
        super::helpers::ceb816(),
    ] {
        let xml = bondgate_ceb::to_xml(&message).expect("emits");
        let parsed = bondgate_ceb::parse_message(xml.as_bytes(), &bondgate_ceb::Limits::default())
            .expect("parses");
        assert_eq!(parsed, message, "{xml}");
    }
}
