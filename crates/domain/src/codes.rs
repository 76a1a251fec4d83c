//! The error-code catalogue: customs codes from CBEC.md §2.6, §2.7, §2.10 and bondgate's own
//! codes for checks customs gives no code for.
//!
//! Negative codes go in a receipt's `returnStatus`; positive logic-check codes (such as `13035`)
//! appear in the `returnInfo` of a status-100 rejection, as customs writes them
//! (`[code:13035;Desc:支付企业不一致]`). bondgate's own codes use the range `-900000..=-900999`,
//! which customs does not issue.

use std::fmt;

use serde::Serialize;

/// A code from the catalogue with its (Chinese, customs-style) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ErrorCode {
    /// The numeric code.
    pub code: i32,
    /// The message; `[*]` marks where details are filled in.
    pub message: &'static str,
}

impl ErrorCode {
    /// True for codes bondgate defines itself (not issued by customs).
    pub fn is_bondgate_own(self) -> bool {
        (-900_999..=-900_000).contains(&self.code)
    }

    /// The customs `returnInfo` form `[code:N;Desc:message]`.
    pub fn return_info(self, detail: &str) -> String {
        let desc = if detail.is_empty() {
            self.message.to_owned()
        } else {
            detail.to_owned()
        };
        format!("[code:{};Desc:{desc}]", self.code)
    }

    /// Looks a code up in the catalogue.
    pub fn lookup(code: i32) -> Option<Self> {
        CATALOGUE.iter().copied().find(|entry| entry.code == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $message:literal;)*) => {
        $( $(#[$doc])* pub const $name: ErrorCode = ErrorCode { code: $code, message: $message }; )*
        /// Every code of the catalogue.
        pub const CATALOGUE: &[ErrorCode] = &[$($name),*];
    };
}

codes! {
    /// Customs: the sender is not the enterprise the document must come from (ADR 0006).
    ENTERPRISE_CODE_INVALID = -10102, "无效企业代码";
    /// Customs: a change or deletion (`appType` 2/3) names no order of the sender's.
    ORDER_NOT_FOUND_FOR_CHANGE = -301009, "订单标识(appType)不正确,未找到操作的订单";
    /// Customs: an order with the same number already exists.
    ORDER_DUPLICATE = -301010, "已存在相同编号的订单";
    /// Customs: the order's inventory is already declared, so the order cannot change.
    ORDER_ALREADY_DECLARED = -301011, "该订单已向海关申报清单，状态不符";
    /// Customs: a change or deletion (`appType` 2/3) names no payment of the sender's.
    PAYMENT_NOT_FOUND_FOR_CHANGE = -401006, "支付单标识(appType)不正确,未找到对应操作的支付单";
    /// Customs: a payment with the same number already exists.
    PAYMENT_DUPLICATE = -401007, "已存在相同编号的支付单";
    /// Customs: the payment was declared already, so it cannot change.
    PAYMENT_ALREADY_DECLARED = -401008, "该支付单已向海关申报支付单，状态不符";
    /// Customs: the logistics waybill exists already.
    WAYBILL_DUPLICATE = -504012, "物流运单已存在";
    /// Customs: a waybill with the same number already exists.
    WAYBILL_DUPLICATE_2 = -504015, "已存在相同编号的运单";
    /// Customs: the waybill was declared already, so it cannot change.
    WAYBILL_ALREADY_DECLARED = -504016, "该运单已向海关申报运单，状态不符";
    /// Customs: a change or deletion (`appType` 2/3) names no waybill of the sender's.
    WAYBILL_NOT_FOUND_FOR_CHANGE = -504014, "运单标识(appType)不正确,未找到操作的运单";
    /// Customs: a logistics status (CEB513) names no released parcel to act on.
    LOGISTICS_STATUS_NOT_FOUND = -505014, "物流运单状态报文处理失败，未找到对应操作";
    /// Customs: the inventory was already declared.
    INVENTORY_DUPLICATE = -621004, "清单已经申报过，请勿重复申报";
    /// Customs: the purchase exceeds the single-transaction limit.
    OVER_SINGLE_LIMIT = -621005, "购买金额超过单笔限额";
    /// Customs: querying the personal quota failed.
    QUOTA_QUERY_FAILED = -621013, "查询个人限额失败";
    /// Customs: adding to the personal amount failed.
    QUOTA_UPDATE_FAILED = -621014, "核增个人消费金额时出错";
    /// Customs: the purchase would exceed the annual limit.
    OVER_ANNUAL_LIMIT = -621018, "购买人已用购买额度为[*]，本次购买将超过年度限额[*]";
    /// Customs: duplicated line number.
    GNUM_DUPLICATE = -621027, "表体序号重复";
    /// Customs: signature verification failed.
    SIGNATURE_INVALID = -621029, "验签失败";
    /// Customs: inventory data over the limits.
    INVENTORY_TOO_LARGE = -621030, "清单数据超过限制";
    /// Customs: no inventory with the cancellation's invtNo (for the cancellation's order).
    CANCEL_INVENTORY_NOT_FOUND = -623003, "系统中不存在清单编号为[*]的清单";
    /// Customs: the inventory's status does not allow cancellation.
    CANCEL_STATUS_INVALID = -623005, "清单的状态不符合撤单申报要求";
    /// Customs: the cancellation was already declared.
    CANCEL_DUPLICATE = -623009, "撤单清单已经申报过";
    /// Customs: the cancellation reason is empty.
    CANCEL_REASON_EMPTY = -623012, "撤单原因为空";
    /// Customs: the sender may not cancel this inventory (not one of its declared parties).
    CANCEL_NOT_PERMITTED = -623026, "[*]没有权限进行操作";
    /// Customs: crediting the personal amount back on cancellation failed.
    CANCEL_QUOTA_FAILED = -623025, "核增个人消费金额时出错";
    /// Customs: the return failed its checks (not released, cancelled, outside its window, more
    /// than declared); the detail says which.
    REFUND_INVALID = -625001, "退货申请单报文校验失败，[*]";
    /// Customs: a return of this inventory was already declared.
    REFUND_DUPLICATE = -625033, "退货申请单[*]已经申报过，请勿重复申报";
    /// Customs: a return line's goods are not on record.
    REFUND_ITEM_NOT_RECORDED = -625007, "表体第[*]项商品未备案";
    /// Customs: the return amount exceeds the single limit.
    REFUND_OVER_SINGLE_LIMIT = -625014, "金额超过单笔限额";
    /// Customs: a return line is not on the original inventory.
    REFUND_LINE_NOT_FOUND = -625209, "在关联的清单中未找到表体序号为[*],商品编号为[*]的数据";
    /// Customs: the sender may not return this inventory (not one of its declared parties).
    REFUND_NOT_PERMITTED = -625021, "[*]没有权限进行操作";
    /// Customs: no inventory with the return's invtNo (for the return's order).
    REFUND_INVENTORY_NOT_FOUND = -625016, "查无此数据";
    /// Customs: crediting the personal amount back on return failed.
    REFUND_QUOTA_FAILED = -625024, "核增个人消费金额时出错";
    /// Customs logic check: the payment enterprise differs between order and payment.
    PAYMENT_ENTERPRISE_MISMATCH = 13035, "支付企业不一致";
    /// bondgate: the order, payment and waybill disagree (details in the findings).
    DOCUMENTS_MISMATCH = -900101, "三单信息不一致";
    /// bondgate: the order's own arithmetic is wrong (line totals, goods value, actual paid).
    ORDER_ARITHMETIC = -900102, "订单金额计算错误";
    /// bondgate: a fixed-value field (currency, ID type, order type, pack count) is wrong.
    FIXED_VALUE = -900103, "固定值字段填写错误";
    /// bondgate: the three documents did not all arrive within the configured window.
    DOCUMENTS_INCOMPLETE = -900104, "三单不齐：超时未收到[*]";
    /// bondgate: the goods' tariff line is not on the positive list.
    NOT_ON_POSITIVE_LIST = -900201, "商品不在跨境电商零售进口商品清单内";
    /// bondgate: the tariff line may only be imported in another trade mode.
    TRADE_MODE_NOT_ALLOWED = -900202, "该商品仅限网购保税进口";
    /// bondgate: the goods name does not satisfy the positive list's name restriction.
    NAME_RESTRICTED = -900203, "商品名称不符合清单备注要求";
    /// bondgate: the buyer's yearly weight cap for the tariff line would be exceeded.
    OVER_WEIGHT_CAP = -900204, "超过个人年度限量";
    /// bondgate: an order line's SKU is not an item of the account book (cf. customs `-625007`).
    ITEM_NOT_RECORDED = -900205, "表体第[*]项商品未在账册备案";
    /// bondgate: not enough bonded stock for an account-book item.
    INSUFFICIENT_STOCK = -900301, "账册料号[*]库存不足";
    /// bondgate: a customs officer refused the release after manual review (the officer's
    /// reason is in the receipt), when no more specific code applies.
    MANUAL_REVIEW_REFUSED = -900401, "人工审核不予放行";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_codes_are_unique_and_found() {
        for (index, entry) in CATALOGUE.iter().enumerate() {
            assert_eq!(ErrorCode::lookup(entry.code), Some(*entry));
            assert!(
                CATALOGUE[index + 1..]
                    .iter()
                    .all(|other| other.code != entry.code)
            );
        }
        assert!(ITEM_NOT_RECORDED.is_bondgate_own());
        assert!(!OVER_SINGLE_LIMIT.is_bondgate_own());
    }

    #[test]
    fn return_info_matches_the_customs_form() {
        assert_eq!(
            PAYMENT_ENTERPRISE_MISMATCH.return_info(""),
            "[code:13035;Desc:支付企业不一致]"
        );
    }
}
