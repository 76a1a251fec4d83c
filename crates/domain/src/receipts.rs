//! Receipts as customs sends them: which `returnStatus` answers what, with which `returnInfo`
//! text, in which order (CBEC.md §2.5 and §2.6–2.7, SPEC2022 §7). The one place that picks a
//! receipt status or writes its text: the clearance pipeline, its sweeper, the review service and
//! the pre-flight all call these functions, so a merchant sees the same receipt whoever answers.
//!
//! | status | when | `returnInfo` |
//! |---|---|---|
//! | 2 | a declaration is accepted (every declaration starts with it) | `清单新增申报成功[电商企业编码：…订单编号：…]` |
//! | 120 | the logic check passed, the inventory number is assigned | `[Code:1800;Desc:逻辑校验通过]` |
//! | 800 | released | `[Code:2600;Desc:放行]` |
//! | 300 | held for an officer | `[Code:3000;Desc:人工审核]` and the reasons |
//! | 100 | rejected by customs (a logic check without a negative code, an officer's rejection) | `[code:N;Desc:…]` |
//! | < 0 | a processing exception: the code itself (e.g. `-621005`) | `[code:-621005;Desc:…]` |
//! | 399 | a cancellation or return approved | the customs text |
//! | 500 | sent to inspection by an officer | `[Code:5000;Desc:查验]` |

use serde::Serialize;

use crate::codes::ErrorCode;
use crate::evaluate::Outcome;
use crate::status::ReturnStatus;

/// Longest `returnInfo` (XSD C..1000, characters).
pub const RETURN_INFO_CHARS_MAX: usize = 1000;

/// Which message a receipt answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Flow {
    /// CEB622: the inventory list.
    Inventory = 1,
    /// CEB624: a cancellation.
    Cancellation = 2,
    /// CEB626: a return.
    Refund = 3,
    /// CEB312/412/512: one order, payment or waybill (refused changes, duplicates, senders).
    Document = 4,
    /// CEB514: a logistics status (the parcel left the zone).
    LogisticsStatus = 5,
}

impl Flow {
    /// The stored number (`receipts.flow`, the protobuf `Flow`).
    pub fn code(self) -> i16 {
        self as i16
    }

    /// The flow of a stored number.
    pub fn from_code(code: i16) -> Option<Self> {
        [
            Self::Inventory,
            Self::Cancellation,
            Self::Refund,
            Self::Document,
            Self::LogisticsStatus,
        ]
        .into_iter()
        .find(|flow| flow.code() == code)
    }
}

/// One receipt to send: what a merchant's system reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The message it answers.
    pub flow: Flow,
    /// `returnStatus`.
    pub status: ReturnStatus,
    /// `returnInfo`, at most [`RETURN_INFO_CHARS_MAX`] characters.
    pub info: String,
    /// The customs codes behind a rejection, hold or exception (`-621005`, `bg.risk.*`).
    pub codes: Vec<String>,
}

impl Receipt {
    fn new(flow: Flow, status: ReturnStatus, info: String, codes: Vec<String>) -> Self {
        Self {
            flow,
            status,
            info: truncate(&info),
            codes,
        }
    }
}

/// `returnInfo` of the first receipt of every declaration (status 2).
pub fn declared_info(ebc_code: &str, order_no: &str) -> String {
    format!("清单新增申报成功[电商企业编码：{ebc_code}订单编号：{order_no}]")
}

/// The receipts of a declaration the pipeline decided, in the order customs sends them: `2`,
/// then `120` and the decision (`800` or `300`), or the rejection (`100`, or the first negative
/// code as the status of a processing exception) with every code and reason in `returnInfo`.
pub fn declaration(ebc_code: &str, order_no: &str, outcome: &Outcome) -> Vec<Receipt> {
    let declared = Receipt::new(
        Flow::Inventory,
        ReturnStatus::Declaring,
        declared_info(ebc_code, order_no),
        Vec::new(),
    );
    let mut receipts = vec![declared];
    match outcome {
        Outcome::Release => {
            receipts.push(accepted());
            receipts.push(released());
        }
        Outcome::Hold { reasons } => {
            receipts.push(accepted());
            let detail: Vec<&str> = reasons.iter().map(|r| r.message.as_str()).collect();
            let codes = reasons.iter().map(|r| r.code.to_owned()).collect();
            let info = format!("[Code:3000;Desc:人工审核]{}", detail.join("；"));
            let held = Receipt::new(Flow::Inventory, ReturnStatus::ManualReview, info, codes);
            receipts.push(held);
        }
        Outcome::Reject { codes, reasons } => {
            let info = rejection_info(codes, reasons);
            let codes = codes.iter().map(|code| code.code.to_string()).collect();
            let rejected = Receipt::new(Flow::Inventory, outcome.status(), info, codes);
            receipts.push(rejected);
        }
    }
    receipts
}

/// `[code:N;Desc:…]` per code, then the reasons not used as a `Desc`. A code whose text has
/// `[*]` placeholders takes its first reason, the filled text, as `Desc` (as customs fills
/// them); the others keep the catalogue text, their reasons follow.
fn rejection_info(codes: &[ErrorCode], reasons: &[String]) -> String {
    let mut texts = String::new();
    let mut rest: Vec<&str> = Vec::new();
    for (index, code) in codes.iter().enumerate() {
        match reasons.get(index) {
            Some(first) if code.message.contains("[*]") => texts.push_str(&code.return_info(first)),
            first => {
                texts.push_str(&code.return_info(""));
                rest.extend(first.map(String::as_str));
            }
        }
    }
    rest.extend(reasons.iter().skip(codes.len()).map(String::as_str));
    format!("{texts}{}", rest.join("；"))
}

fn accepted() -> Receipt {
    let info = "[Code:1800;Desc:逻辑校验通过]".to_owned();
    Receipt::new(Flow::Inventory, ReturnStatus::Accepted, info, Vec::new())
}

fn released() -> Receipt {
    let info = "[Code:2600;Desc:放行]".to_owned();
    Receipt::new(Flow::Inventory, ReturnStatus::Released, info, Vec::new())
}

/// A record refused with `code`: a processing exception whose status is the code itself when it
/// is negative (SPEC2022 §7: negative codes go in `returnStatus`), a customs rejection (100)
/// otherwise. `detail` replaces the code's text when given.
pub fn refusal(flow: Flow, code: ErrorCode, detail: &str) -> Receipt {
    let status = if code.code < 0 {
        ReturnStatus::Exception(code.code)
    } else {
        ReturnStatus::Rejected
    };
    Receipt::new(
        flow,
        status,
        code.return_info(detail),
        vec![code.code.to_string()],
    )
}

/// A cancellation (CEB624) or return (CEB626) approved: 399 with the customs text.
pub fn after_sale_approved(flow: Flow) -> Receipt {
    let info = match flow {
        Flow::Refund => "[Code:2300;Desc:审核通过],退货申请审核通过",
        _ => "[Code:2300;Desc:审核通过],撤单申请审核通过,清单已成功撤单",
    };
    Receipt::new(flow, ReturnStatus::Concluded, info.to_owned(), Vec::new())
}

/// A logistics status (CEB514) recorded: 399, the parcel counts as out of the zone.
pub fn logistics_status_recorded() -> Receipt {
    let info = "[Code:2300;Desc:审核通过],运单状态已接收,包裹已出区".to_owned();
    Receipt::new(
        Flow::LogisticsStatus,
        ReturnStatus::Concluded,
        info,
        Vec::new(),
    )
}

/// An officer released a held declaration.
pub fn officer_released() -> Receipt {
    released()
}

/// An officer sent a held declaration to inspection (500).
pub fn officer_inspection() -> Receipt {
    let info = "[Code:5000;Desc:查验]".to_owned();
    Receipt::new(Flow::Inventory, ReturnStatus::Inspection, info, Vec::new())
}

/// An officer rejected a held declaration: a customs rejection (100) with the code and the
/// officer's reason (the declaration already has its inventory number, so it is not a processing
/// exception).
pub fn officer_rejected(code: ErrorCode, reason: &str) -> Receipt {
    Receipt::new(
        Flow::Inventory,
        ReturnStatus::Rejected,
        code.return_info(reason),
        vec![code.code.to_string()],
    )
}

/// True for the status of a decision of the inventory flow the pipeline or an officer takes:
/// release, hold, rejection or a processing exception.
pub fn is_decision(status: i32) -> bool {
    matches!(status, 800 | 300 | 100) || status < 0
}

fn truncate(text: &str) -> String {
    text.chars().take(RETURN_INFO_CHARS_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::evaluate::HoldReason;

    #[test]
    fn a_clean_order_is_declared_accepted_and_released() {
        let receipts = declaration("EBC1", "O1", &Outcome::Release);
        let statuses: Vec<i32> = receipts.iter().map(|r| r.status.code()).collect();
        assert_eq!(statuses, [2, 120, 800]);
        assert_eq!(
            receipts[0].info,
            "清单新增申报成功[电商企业编码：EBC1订单编号：O1]"
        );
        assert_eq!(receipts[2].info, "[Code:2600;Desc:放行]");
    }

    #[test]
    fn a_hold_follows_the_logic_check() {
        let hold = Outcome::Hold {
            reasons: vec![HoldReason {
                code: "bg.risk.line_qty",
                message: "数量达到阈值".into(),
            }],
        };
        let receipts = declaration("EBC1", "O1", &hold);
        let statuses: Vec<i32> = receipts.iter().map(|r| r.status.code()).collect();
        assert_eq!(statuses, [2, 120, 300]);
        assert_eq!(receipts[2].codes, ["bg.risk.line_qty"]);
    }

    #[test]
    fn an_exception_carries_its_negative_code_as_the_status() {
        let over = Outcome::Reject {
            codes: vec![codes::OVER_SINGLE_LIMIT],
            reasons: vec!["5001.00 > 5000".into()],
        };
        let receipts = declaration("EBC1", "O1", &over);
        assert_eq!(receipts.len(), 2);
        assert_eq!(receipts[1].status.code(), -621005);
        assert!(
            receipts[1].info.starts_with("[code:-621005;"),
            "{}",
            receipts[1].info
        );
        let mismatch = Outcome::Reject {
            codes: vec![codes::PAYMENT_ENTERPRISE_MISMATCH],
            reasons: vec!["payCode".into()],
        };
        assert_eq!(declaration("E", "O", &mismatch)[1].status.code(), 100);
    }

    #[test]
    fn placeholders_are_filled_by_the_codes_first_reason() {
        // Goal: no `[*]` reaches a merchant; a code without placeholders keeps the catalogue
        // text and its reason follows, as do further reasons of either code.
        let rejected = Outcome::Reject {
            codes: vec![codes::ITEM_NOT_RECORDED, codes::OVER_SINGLE_LIMIT],
            reasons: vec![
                "表体第[1]项商品[SKU-1]未在账册备案".into(),
                "5001.00 > 5000".into(),
                "表体第[2]项商品[SKU-2]未在账册备案".into(),
            ],
        };
        let info = &declaration("E", "O", &rejected)[1].info;
        assert_eq!(
            info,
            "[code:-900205;Desc:表体第[1]项商品[SKU-1]未在账册备案]\
             [code:-621005;Desc:购买金额超过单笔限额]\
             5001.00 > 5000；表体第[2]项商品[SKU-2]未在账册备案"
        );
        assert!(!info.contains("[*]"));
    }

    #[test]
    fn refusals_use_the_code_as_status_and_infos_stay_within_the_xsd() {
        let refused = refusal(Flow::Document, codes::ORDER_DUPLICATE, "");
        assert_eq!(refused.status.code(), -301010);
        assert_eq!(refused.codes, ["-301010"]);
        let long = "长".repeat(5000);
        assert_eq!(
            refusal(Flow::Refund, codes::REFUND_NOT_PERMITTED, &long)
                .info
                .chars()
                .count(),
            1000
        );
        assert!(is_decision(-621005) && is_decision(800) && !is_decision(120) && !is_decision(2));
        assert_eq!(Flow::from_code(5), Some(Flow::LogisticsStatus));
    }
}
