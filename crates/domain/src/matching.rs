//! Three-document matching (三单对碰) before an inventory is declared: every equality of
//! CBEC.md §3 rule 2 and §6 point 5, each mismatch reported as a [`Finding`].
//!
//! Finding codes (stable): `13035` (customs: payment enterprise differs) and bondgate's own
//! `bg.match.*` codes listed as constants below. [`Finding::error_code`] maps each to the
//! catalogue code a rejection carries.

use std::fmt::Display;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::codes::{self, ErrorCode};
use crate::documents::{Order, OrderBundle, Payment, Waybill};

/// Customs `13035`: the order's `payCode` differs from the payment's.
pub const PAYMENT_ENTERPRISE: &str = "13035";
/// The payment's or waybill's `orderNo` differs from the order's.
pub const ORDER_NO: &str = "bg.match.order_no";
/// The payment's `ebpCode` differs from the order's.
pub const EBP_CODE: &str = "bg.match.ebp_code";
/// The order's `payTransactionId` differs from the payment's.
pub const PAY_TRANSACTION_ID: &str = "bg.match.pay_transaction_id";
/// `acturalPaid` differs from the payment's `amountPaid`.
pub const AMOUNT_PAID: &str = "bg.match.amount_paid";
/// `acturalPaid` ≠ goodsValue + freight + taxTotal − discount.
pub const ACTURAL_PAID: &str = "bg.match.actural_paid";
/// A line's `totalPrice` ≠ price × qty.
pub const LINE_TOTAL: &str = "bg.match.line_total";
/// Σ line `totalPrice` ≠ `goodsValue`.
pub const GOODS_VALUE: &str = "bg.match.goods_value";
/// Buyer name ≠ payer name (identity not verified).
pub const PAYER_NAME: &str = "bg.match.payer_name";
/// Buyer ID number ≠ payer ID number (identity not verified).
pub const PAYER_ID_NUMBER: &str = "bg.match.payer_id_number";
/// Consignee name differs between order and waybill.
pub const CONSIGNEE: &str = "bg.match.consignee";
/// Consignee telephone differs between order and waybill.
pub const CONSIGNEE_TELEPHONE: &str = "bg.match.consignee_telephone";
/// Consignee address differs between order and waybill.
pub const CONSIGNEE_ADDRESS: &str = "bg.match.consignee_address";
/// A currency is not `142` (CNY).
pub const CURRENCY: &str = "bg.match.currency";
/// An ID type is not `1` (resident ID card).
pub const ID_TYPE: &str = "bg.match.id_type";
/// The order type is not `I` (import).
pub const ORDER_TYPE: &str = "bg.match.order_type";
/// The waybill's pack count is not `1`.
pub const PACK_NO: &str = "bg.match.pack_no";

/// The only currency CBEC allows: CNY.
pub const CURRENCY_CNY: &str = "142";
/// The only ID type CBEC allows: resident ID card.
pub const ID_TYPE_ID_CARD: &str = "1";
/// Order type of imports.
pub const ORDER_TYPE_IMPORT: &str = "I";

/// One mismatch between or within the documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code (module docs).
    pub code: &'static str,
    /// CEB field path of the offending value, e.g. `paymentHead.amountPaid`.
    pub field: String,
    /// What the value should be.
    pub expected: String,
    /// What it is.
    pub actual: String,
    /// Explanation.
    pub message: String,
}

impl Finding {
    fn new(
        code: &'static str,
        field: impl Into<String>,
        expected: impl Display,
        actual: impl Display,
        message: &str,
    ) -> Self {
        Self {
            code,
            field: field.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
            message: message.to_owned(),
        }
    }

    /// The catalogue code a rejection for this finding carries.
    pub fn error_code(&self) -> ErrorCode {
        match self.code {
            PAYMENT_ENTERPRISE => codes::PAYMENT_ENTERPRISE_MISMATCH,
            ACTURAL_PAID | LINE_TOTAL | GOODS_VALUE => codes::ORDER_ARITHMETIC,
            CURRENCY | ID_TYPE | ORDER_TYPE | PACK_NO => codes::FIXED_VALUE,
            _ => codes::DOCUMENTS_MISMATCH,
        }
    }
}

/// Options of the matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchOptions {
    /// The platform verified the buyer's identity separately (CBEC.md §3 rule 8), so the payer
    /// need not be the buyer.
    pub buyer_identity_verified: bool,
    /// Tolerance of the arithmetic checks in CNY (0: exact).
    pub arithmetic_tolerance_cny: Decimal,
}

/// Matches an order with its payment and waybill; an empty result means they agree.
pub fn match_bundle(bundle: &OrderBundle, options: &MatchOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let OrderBundle {
        order,
        payment,
        waybill,
    } = bundle;
    match_payment_keys(order, payment, &mut findings);
    match_payer(order, payment, options, &mut findings);
    match_waybill(order, waybill, &mut findings);
    check_arithmetic(order, options.arithmetic_tolerance_cny, &mut findings);
    check_fixed_values(bundle, &mut findings);
    findings
}

fn differ<T: PartialEq + Display>(
    findings: &mut Vec<Finding>,
    code: &'static str,
    field: &str,
    expected: &T,
    actual: &T,
    message: &str,
) {
    if expected != actual {
        findings.push(Finding::new(code, field, expected, actual, message));
    }
}

fn match_payment_keys(order: &Order, payment: &Payment, findings: &mut Vec<Finding>) {
    differ(
        findings,
        EBP_CODE,
        "paymentHead.ebpCode",
        &order.key.ebp_code,
        &payment.key.ebp_code,
        "支付单电商平台与订单不一致",
    );
    differ(
        findings,
        ORDER_NO,
        "paymentHead.orderNo",
        &order.key.order_no,
        &payment.key.order_no,
        "支付单订单编号与订单不一致",
    );
    if let Some(pay_code) = &order.pay_code {
        differ(
            findings,
            PAYMENT_ENTERPRISE,
            "paymentHead.payCode",
            pay_code,
            &payment.pay_code,
            "支付企业不一致",
        );
    }
    if let Some(transaction) = &order.pay_transaction_id {
        differ(
            findings,
            PAY_TRANSACTION_ID,
            "paymentHead.payTransactionId",
            transaction,
            &payment.pay_transaction_id,
            "支付流水号不一致",
        );
    }
    differ(
        findings,
        AMOUNT_PAID,
        "paymentHead.amountPaid",
        &order.actural_paid,
        &payment.amount_paid,
        "实际支付金额与支付单支付金额不一致",
    );
}

fn match_payer(
    order: &Order,
    payment: &Payment,
    options: &MatchOptions,
    findings: &mut Vec<Finding>,
) {
    if options.buyer_identity_verified {
        return;
    }
    differ(
        findings,
        PAYER_NAME,
        "paymentHead.payerName",
        &order.buyer.name,
        &payment.payer_name,
        "订购人与支付人姓名不一致",
    );
    // A resident ID number's check digit X is written in either case (`…123x`, `…123X`): the
    // same number, as the buyer's quota hash already treats it.
    differ(
        findings,
        PAYER_ID_NUMBER,
        "paymentHead.payerIdNumber",
        &id_number_key(&order.buyer.id_number),
        &id_number_key(&payment.payer_id_number),
        "订购人与支付人证件号码不一致",
    );
}

/// An ID number as compared: trimmed, upper-case (the check digit `X`).
fn id_number_key(id_number: &str) -> String {
    id_number.trim().to_uppercase()
}

fn match_waybill(order: &Order, waybill: &Waybill, findings: &mut Vec<Finding>) {
    let (ours, theirs) = (&order.consignee, &waybill.consignee);
    differ(
        findings,
        ORDER_NO,
        "logisticsHead.orderNo",
        &order.key.order_no,
        &waybill.order_no,
        "运单订单编号与订单不一致",
    );
    differ(
        findings,
        CONSIGNEE,
        "logisticsHead.consignee",
        &ours.name,
        &theirs.name,
        "收货人姓名与运单不一致",
    );
    differ(
        findings,
        CONSIGNEE_TELEPHONE,
        "logisticsHead.consigneeTelephone",
        &ours.telephone,
        &theirs.telephone,
        "收货人电话与运单不一致",
    );
    differ(
        findings,
        CONSIGNEE_ADDRESS,
        "logisticsHead.consigneeAddress",
        &ours.address,
        &theirs.address,
        "收货地址与运单不一致",
    );
}

fn check_arithmetic(order: &Order, tolerance: Decimal, findings: &mut Vec<Finding>) {
    let off = |expected: Decimal, actual: Decimal| (expected - actual).abs() > tolerance;
    let mut sum = Decimal::ZERO;
    for (index, line) in order.lines.iter().enumerate() {
        let expected = line.price.value() * line.qty.value();
        let actual = line.total_price.value();
        if off(expected, actual) {
            let field = format!("orderList[{index}].totalPrice");
            findings.push(Finding::new(
                LINE_TOTAL,
                field,
                expected.normalize(),
                actual,
                "商品总价不等于单价乘以数量",
            ));
        }
        sum += actual;
    }
    if off(sum, order.goods_value.value()) {
        findings.push(Finding::new(
            GOODS_VALUE,
            "orderHead.goodsValue",
            sum.normalize(),
            order.goods_value,
            "商品价格不等于表体商品总价之和",
        ));
    }
    let paid = order.goods_value.value() + order.freight.value() + order.tax_total.value()
        - order.discount.value();
    if off(paid, order.actural_paid.value()) {
        findings.push(Finding::new(
            ACTURAL_PAID,
            "orderHead.acturalPaid",
            paid.normalize(),
            order.actural_paid,
            "实际支付金额不等于商品价格+运杂费+代扣税款-非现金抵扣金额",
        ));
    }
}

fn check_fixed_values(bundle: &OrderBundle, findings: &mut Vec<Finding>) {
    let OrderBundle {
        order,
        payment,
        waybill,
    } = bundle;
    let mut fixed = |code, field: String, expected: &str, actual: &str, message| {
        if expected != actual {
            findings.push(Finding::new(code, field, expected, actual, message));
        }
    };
    fixed(
        ORDER_TYPE,
        "orderHead.orderType".into(),
        ORDER_TYPE_IMPORT,
        &order.order_type,
        "电子订单类型限定为I",
    );
    fixed(
        CURRENCY,
        "orderHead.currency".into(),
        CURRENCY_CNY,
        &order.currency,
        "币制限定为人民币142",
    );
    for (index, line) in order.lines.iter().enumerate() {
        fixed(
            CURRENCY,
            format!("orderList[{index}].currency"),
            CURRENCY_CNY,
            &line.currency,
            "币制限定为人民币142",
        );
    }
    fixed(
        CURRENCY,
        "paymentHead.currency".into(),
        CURRENCY_CNY,
        &payment.currency,
        "币制限定为人民币142",
    );
    fixed(
        CURRENCY,
        "logisticsHead.currency".into(),
        CURRENCY_CNY,
        &waybill.currency,
        "币制限定为人民币142",
    );
    fixed(
        ID_TYPE,
        "orderHead.buyerIdType".into(),
        ID_TYPE_ID_CARD,
        &order.buyer.id_type,
        "证件类型限定为身份证1",
    );
    fixed(
        ID_TYPE,
        "paymentHead.payerIdType".into(),
        ID_TYPE_ID_CARD,
        &payment.payer_id_type,
        "证件类型限定为身份证1",
    );
    fixed(
        PACK_NO,
        "logisticsHead.packNo".into(),
        "1",
        &waybill.pack_no,
        "包裹数限定为1",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::tests::bundle;
    use crate::types::{Amount, CustomsCode, OrderNo, Quantity};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn codes_of(bundle: &OrderBundle, options: &MatchOptions) -> Vec<&'static str> {
        match_bundle(bundle, options)
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn a_consistent_bundle_has_no_findings() {
        assert!(match_bundle(&bundle(), &MatchOptions::default()).is_empty());
    }

    #[test]
    fn payment_enterprise_mismatch_is_13035() {
        let mut b = bundle();
        b.payment.pay_code = CustomsCode::parse("1100000000").unwrap();
        let findings = match_bundle(&b, &MatchOptions::default());
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].error_code().return_info(""),
            "[code:13035;Desc:支付企业不一致]"
        );
        assert_eq!(
            (findings[0].expected.as_str(), findings[0].actual.as_str()),
            ("4403169D3W", "1100000000")
        );
    }

    #[test]
    fn verified_buyers_may_differ_from_the_payer() {
        let mut b = bundle();
        b.payment.payer_name = "李四".into();
        b.payment.payer_id_number = "110101199003070000".into();
        assert_eq!(
            codes_of(&b, &MatchOptions::default()),
            [PAYER_NAME, PAYER_ID_NUMBER]
        );
        let verified = MatchOptions {
            buyer_identity_verified: true,
            ..MatchOptions::default()
        };
        assert!(codes_of(&b, &verified).is_empty());
    }

    #[test]
    fn tolerance_relaxes_the_arithmetic() {
        let mut b = bundle();
        b.order.lines[0].total_price = Amount::parse("410.01").unwrap();
        assert_eq!(
            codes_of(&b, &MatchOptions::default()),
            [LINE_TOTAL, GOODS_VALUE]
        );
        let tolerant = MatchOptions {
            arithmetic_tolerance_cny: dec!(0.01),
            ..MatchOptions::default()
        };
        assert!(codes_of(&b, &tolerant).is_empty());
    }

    type Mutation = (&'static str, fn(&mut OrderBundle, Decimal));

    fn bump(amount: Amount, delta: Decimal) -> Amount {
        Amount::new(amount.value() + delta).unwrap()
    }

    /// Every single-field change the matching must catch, with the code it must raise.
    const MUTATIONS: &[Mutation] = &[
        (PAYMENT_ENTERPRISE, |b, _| {
            b.payment.pay_code = CustomsCode::parse("X1").unwrap()
        }),
        (PAY_TRANSACTION_ID, |b, _| {
            b.payment.pay_transaction_id.push('9')
        }),
        (EBP_CODE, |b, _| {
            b.payment.key.ebp_code = CustomsCode::parse("X2").unwrap()
        }),
        (ORDER_NO, |b, _| {
            b.payment.key.order_no = OrderNo::parse("other").unwrap()
        }),
        (ORDER_NO, |b, _| {
            b.waybill.order_no = OrderNo::parse("other").unwrap()
        }),
        (AMOUNT_PAID, |b, d| {
            b.payment.amount_paid = bump(b.payment.amount_paid, d)
        }),
        (ACTURAL_PAID, |b, d| {
            b.order.actural_paid = bump(b.order.actural_paid, d)
        }),
        (ACTURAL_PAID, |b, d| {
            b.order.freight = bump(b.order.freight, d)
        }),
        (ACTURAL_PAID, |b, d| {
            b.order.tax_total = bump(b.order.tax_total, d)
        }),
        (ACTURAL_PAID, |b, d| {
            b.order.discount = bump(b.order.discount, d)
        }),
        (GOODS_VALUE, |b, d| {
            b.order.goods_value = bump(b.order.goods_value, d)
        }),
        (LINE_TOTAL, |b, d| {
            b.order.lines[0].total_price = bump(b.order.lines[0].total_price, d)
        }),
        (LINE_TOTAL, |b, d| {
            b.order.lines[0].price = bump(b.order.lines[0].price, d)
        }),
        (LINE_TOTAL, |b, d| {
            b.order.lines[0].qty = Quantity::new(b.order.lines[0].qty.value() + d).unwrap()
        }),
        (PAYER_NAME, |b, _| b.payment.payer_name.push('x')),
        (PAYER_ID_NUMBER, |b, _| b.payment.payer_id_number.push('1')),
        (CONSIGNEE, |b, _| b.waybill.consignee.name.push('x')),
        (CONSIGNEE_TELEPHONE, |b, _| {
            b.waybill.consignee.telephone.push('1')
        }),
        (CONSIGNEE_ADDRESS, |b, _| {
            b.waybill.consignee.address.push('x')
        }),
        (CURRENCY, |b, _| b.order.currency = "502".into()),
        (CURRENCY, |b, _| b.order.lines[0].currency = "502".into()),
        (CURRENCY, |b, _| b.payment.currency = "502".into()),
        (CURRENCY, |b, _| b.waybill.currency = "502".into()),
        (ID_TYPE, |b, _| b.order.buyer.id_type = "2".into()),
        (ID_TYPE, |b, _| b.payment.payer_id_type = "2".into()),
        (ORDER_TYPE, |b, _| b.order.order_type = "E".into()),
        (PACK_NO, |b, _| b.waybill.pack_no = "2".into()),
    ];

    /// A consistent bundle with generated lines and amounts.
    fn consistent(lines: &[(i64, i64)], freight: i64, tax: i64, discount_pct: i64) -> OrderBundle {
        let mut b = bundle();
        let template = b.order.lines[0].clone();
        b.order.lines = lines
            .iter()
            .enumerate()
            .map(|(index, &(cents, qty))| {
                let mut line = template.clone();
                line.gnum = index as u32 + 1;
                line.price = Amount::new(Decimal::new(cents, 2)).unwrap();
                line.qty = Quantity::new(Decimal::from(qty)).unwrap();
                line.total_price = Amount::new(line.price.value() * line.qty.value()).unwrap();
                line
            })
            .collect();
        let goods: Decimal = b.order.lines.iter().map(|l| l.total_price.value()).sum();
        let discount = (goods * Decimal::new(discount_pct, 2)).round_dp(2);
        b.order.goods_value = Amount::new(goods).unwrap();
        b.order.freight = Amount::new(Decimal::new(freight, 2)).unwrap();
        b.order.tax_total = Amount::new(Decimal::new(tax, 2)).unwrap();
        b.order.discount = Amount::new(discount).unwrap();
        let paid = goods + b.order.freight.value() + b.order.tax_total.value() - discount;
        b.order.actural_paid = Amount::new(paid).unwrap();
        b.payment.amount_paid = b.order.actural_paid;
        b
    }

    proptest! {
        #[test]
        fn every_single_field_mismatch_is_caught(
            lines in proptest::collection::vec((1i64..100_000, 1i64..10), 1..6),
            freight in 0i64..5_000, tax in 0i64..5_000, discount_pct in 0i64..50,
            which in 0usize..MUTATIONS.len(),
            delta_units in 1i64..100_000_000, delta_scale in 0u32..=5,
        ) {
            let base = consistent(&lines, freight, tax, discount_pct);
            prop_assert!(match_bundle(&base, &MatchOptions::default()).is_empty());
            let (code, mutate) = MUTATIONS[which];
            let mut changed = base.clone();
            mutate(&mut changed, Decimal::new(delta_units, delta_scale));
            let codes = codes_of(&changed, &MatchOptions::default());
            prop_assert!(codes.contains(&code), "{} not in {:?}", code, codes);
        }
    }
}
