//! The three documents side by side: one row per business field, one column per document
//! (order, payment, waybill), flagged when the documents that carry the field disagree. Pure:
//! rows are built from parsed documents and masked before they leave the service unless an
//! officer asked, on the record, to see the personal data.

use bondgate_domain::OrderBundle;
use bondgate_domain::privacy::{mask_address, mask_id_number, mask_name, mask_phone};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// What kind of personal data a field holds, which decides how it is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Personal {
    /// Not personal data: shown as is.
    No,
    /// A name: first character kept.
    Name,
    /// An ID number: `1101**********1234`.
    IdNumber,
    /// A telephone number: `138****5678`.
    Phone,
    /// An address: first six characters kept.
    Address,
    /// A platform account: first two and last two characters kept.
    Account,
}

impl Personal {
    /// The masked form of `value`.
    pub fn mask(self, value: &str) -> String {
        match self {
            Self::No => value.to_owned(),
            Self::Name => mask_name(value),
            Self::IdNumber => mask_id_number(value),
            Self::Phone => mask_phone(value),
            Self::Address => mask_address(value),
            Self::Account => {
                let chars: Vec<char> = value.chars().collect();
                if chars.len() <= 4 {
                    "*".repeat(chars.len())
                } else {
                    let head: String = chars[..2].iter().collect();
                    let tail: String = chars[chars.len() - 2..].iter().collect();
                    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
                }
            }
        }
    }
}

/// How values of a field are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Text, after trimming.
    Text,
    /// Amounts, numerically (`209` equals `209.00`).
    Amount,
    /// Shown only: values are not expected to agree (different times, own fields).
    No,
}

/// One field across the three documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldRow {
    /// The CEB field name of the order (or of the document that carries it).
    pub field: &'static str,
    /// Label, Chinese.
    pub label_zh: &'static str,
    /// Label, English.
    pub label_en: &'static str,
    /// Value in the CEB311 order.
    pub order: Option<String>,
    /// Value in the CEB411 payment.
    pub payment: Option<String>,
    /// Value in the CEB511 waybill.
    pub waybill: Option<String>,
    /// The documents that carry the field disagree.
    pub mismatch: bool,
    /// Personal data kind (masked unless revealed).
    pub personal: Personal,
}

impl FieldRow {
    fn new(
        (field, label_zh, label_en): (&'static str, &'static str, &'static str),
        personal: Personal,
        compare: Compare,
        values: [Option<String>; 3],
    ) -> Self {
        let present: Vec<&str> = values.iter().flatten().map(|v| v.trim()).collect();
        let mismatch = match compare {
            Compare::No => false,
            Compare::Text => present.windows(2).any(|pair| pair[0] != pair[1]),
            Compare::Amount => {
                let parsed: Vec<Option<Decimal>> =
                    present.iter().map(|v| v.parse::<Decimal>().ok()).collect();
                parsed.windows(2).any(|pair| pair[0] != pair[1])
            }
        };
        let [order, payment, waybill] = values;
        Self {
            field,
            label_zh,
            label_en,
            order,
            payment,
            waybill,
            mismatch,
            personal,
        }
    }

    /// The row with its personal values masked.
    pub fn masked(mut self) -> Self {
        let kind = self.personal;
        for value in [&mut self.order, &mut self.payment, &mut self.waybill]
            .into_iter()
            .flatten()
        {
            *value = kind.mask(value);
        }
        self
    }
}

fn some(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

/// The rows of a bundle, unmasked (call [`FieldRow::masked`] before showing them).
pub fn rows(bundle: &OrderBundle) -> Vec<FieldRow> {
    use Compare::{Amount, No as Shown, Text};
    use Personal::{Account, Address, IdNumber, Name, No, Phone};
    let OrderBundle {
        order: o,
        payment: p,
        waybill: w,
    } = bundle;
    let date = |at: bondgate_domain::types::CebDateTime| at.value().format("%Y-%m-%d %H:%M:%S");
    vec![
        FieldRow::new(
            ("orderNo", "订单编号", "Order no."),
            No,
            Text,
            [
                some(&o.key.order_no),
                some(&p.key.order_no),
                some(&w.order_no),
            ],
        ),
        FieldRow::new(
            ("ebpCode", "电商平台代码", "Platform code"),
            No,
            Text,
            [some(&o.key.ebp_code), some(&p.key.ebp_code), None],
        ),
        FieldRow::new(
            ("payCode", "支付企业代码", "Payment company"),
            No,
            Text,
            [
                o.pay_code.as_ref().map(ToString::to_string),
                some(&p.pay_code),
                None,
            ],
        ),
        FieldRow::new(
            ("payTransactionId", "支付交易编号", "Payment transaction"),
            No,
            Text,
            [
                o.pay_transaction_id.clone(),
                some(&p.pay_transaction_id),
                None,
            ],
        ),
        FieldRow::new(
            ("acturalPaid", "实际支付金额", "Amount paid"),
            No,
            Amount,
            [some(o.actural_paid), some(p.amount_paid), None],
        ),
        FieldRow::new(
            ("goodsValue", "商品价格", "Goods value"),
            No,
            Shown,
            [some(o.goods_value), None, None],
        ),
        FieldRow::new(
            ("freight", "运杂费", "Freight"),
            No,
            Amount,
            [some(o.freight), None, some(w.freight)],
        ),
        FieldRow::new(
            ("discount", "非现金抵扣金额", "Non-cash discount"),
            No,
            Shown,
            [some(o.discount), None, None],
        ),
        FieldRow::new(
            ("taxTotal", "代扣税款", "Tax withheld"),
            No,
            Shown,
            [some(o.tax_total), None, None],
        ),
        FieldRow::new(
            ("insuredFee", "保价费", "Insurance"),
            No,
            Shown,
            [None, None, some(w.insured_fee)],
        ),
        FieldRow::new(
            ("currency", "币制", "Currency"),
            No,
            Text,
            [some(&o.currency), some(&p.currency), some(&w.currency)],
        ),
        FieldRow::new(
            ("buyerRegNo", "订购人注册号", "Buyer account"),
            Account,
            Shown,
            [o.buyer.reg_no.clone(), None, None],
        ),
        FieldRow::new(
            ("buyerName", "订购人 / 支付人姓名", "Buyer / payer name"),
            Name,
            Text,
            [some(&o.buyer.name), some(&p.payer_name), None],
        ),
        FieldRow::new(
            ("buyerIdNumber", "证件号码", "ID number"),
            IdNumber,
            Text,
            [some(&o.buyer.id_number), some(&p.payer_id_number), None],
        ),
        FieldRow::new(
            (
                "buyerTelephone",
                "订购人 / 支付人电话",
                "Buyer / payer phone",
            ),
            Phone,
            Text,
            [some(&o.buyer.telephone), p.telephone.clone(), None],
        ),
        FieldRow::new(
            ("consignee", "收货人", "Consignee"),
            Name,
            Text,
            [some(&o.consignee.name), None, some(&w.consignee.name)],
        ),
        FieldRow::new(
            ("consigneeTelephone", "收货人电话", "Consignee phone"),
            Phone,
            Text,
            [
                some(&o.consignee.telephone),
                None,
                some(&w.consignee.telephone),
            ],
        ),
        FieldRow::new(
            ("consigneeAddress", "收货地址", "Consignee address"),
            Address,
            Text,
            [some(&o.consignee.address), None, some(&w.consignee.address)],
        ),
        FieldRow::new(
            ("logisticsNo", "物流运单编号", "Waybill no."),
            No,
            Shown,
            [None, None, some(&w.logistics_no)],
        ),
        FieldRow::new(
            ("weight", "毛重（千克）", "Gross weight (kg)"),
            No,
            Shown,
            [None, None, some(w.weight)],
        ),
        FieldRow::new(
            ("appTime", "申报时间", "Submitted"),
            No,
            Shown,
            [
                some(date(o.app_time)),
                some(date(p.app_time)),
                some(date(w.app_time)),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(personal: Personal, compare: Compare, values: [Option<&str>; 3]) -> FieldRow {
        FieldRow::new(
            ("f", "字段", "field"),
            personal,
            compare,
            values.map(|v| v.map(str::to_owned)),
        )
    }

    #[test]
    fn mismatches_are_flagged_among_present_values_only() {
        assert!(!row(Personal::No, Compare::Text, [Some("A"), None, Some("A")]).mismatch);
        assert!(row(Personal::No, Compare::Text, [Some("A"), Some("B"), None]).mismatch);
        assert!(
            !row(
                Personal::No,
                Compare::Amount,
                [Some("209"), Some("209.00"), None]
            )
            .mismatch
        );
        assert!(
            row(
                Personal::No,
                Compare::Amount,
                [Some("209"), Some("209.01"), None]
            )
            .mismatch
        );
        assert!(!row(Personal::No, Compare::No, [Some("1"), Some("2"), Some("3")]).mismatch);
    }

    #[test]
    fn masking_keeps_only_what_the_issue_allows() {
        let masked = row(
            Personal::IdNumber,
            Compare::Text,
            [Some("110101199003071234"), Some("110101199003071235"), None],
        )
        .masked();
        assert_eq!(masked.order.as_deref(), Some("1101**********1234"));
        assert_eq!(masked.payment.as_deref(), Some("1101**********1235"));
        assert!(masked.mismatch, "the flag survives masking");
        let phone = row(
            Personal::Phone,
            Compare::Text,
            [Some("13812345678"), None, None],
        );
        assert_eq!(phone.masked().order.as_deref(), Some("138****5678"));
        assert_eq!(Personal::Account.mask("buyer-e2e-1"), "bu*******-1");
        assert_eq!(Personal::No.mask("X"), "X");
    }
}
