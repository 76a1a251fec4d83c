//! Cancellations (CEB623) and returns (CEB625) after a declaration: eligibility, windows, and
//! their CEB624 receipts. Quota credits are in [`crate::limits`].

use bondgate_ceb::model as raw;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::codes::{self, ErrorCode};
use crate::config::AfterSalesConfig;
use crate::documents::{Cancellation, Refund, check_refund_lines};
use crate::status::ReturnStatus;
use crate::types::{CebDateTimeMillis, HsCode};

/// Checks that an inventory in `status` may be cancelled: accepted by customs (120 or later,
/// not a failure, not closed or returned abroad). Otherwise `-623005`. (Whether the parcel left
/// the zone is [`cancellation_verdict`]'s question.)
pub fn check_cancellable(status: ReturnStatus) -> Result<(), ErrorCode> {
    let eligible = matches!(
        status,
        ReturnStatus::Accepted
            | ReturnStatus::ManualReview
            | ReturnStatus::Inspection
            | ReturnStatus::Concluded
            | ReturnStatus::Released
    );
    if eligible {
        Ok(())
    } else {
        Err(codes::CANCEL_STATUS_INVALID)
    }
}

/// Why a return is outside its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundWindowError {
    /// Only released inventories can be returned.
    #[error("the inventory was not released")]
    NotReleased,
    /// Applied for more than 30 days after release.
    #[error("return applied {days} days after release, at most {max} allowed")]
    TooLate {
        /// Days since release.
        days: i64,
        /// The window (`rules.after_sales.refund_apply_days_max`).
        max: i64,
    },
}

/// Builds a CEB624 receipt for a cancellation: `399` when approved (with the customs text), or
/// the given status and info otherwise.
pub fn cancel_return(
    guid: &str,
    cancellation: &Cancellation,
    status: ReturnStatus,
    info: &str,
    at: CebDateTimeMillis,
) -> raw::InvtCancelReturn {
    let head = &cancellation.head;
    let info = if status == ReturnStatus::Concluded && info.is_empty() {
        "[Code:2300;Desc:审核通过],撤单申请审核通过,清单已成功撤单"
    } else {
        info
    };
    raw::InvtCancelReturn {
        guid: guid.to_owned(),
        customs_code: Some(head.customs_code.to_string()),
        agent_code: Some(head.agent_code.to_string()),
        ebp_code: Some(head.key.ebp_code.to_string()),
        ebc_code: Some(head.ebc_code.to_string()),
        cop_no: head.cop_no.clone().unwrap_or_default(),
        pre_no: head
            .pre_no
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        invt_no: Some(head.invt_no.to_string()),
        return_status: status.code().to_string(),
        return_time: at.to_string(),
        return_info: info.to_owned(),
    }
}

/// What is stored about a declaration when a cancellation or return of it arrives.
#[derive(Debug, Clone, Copy)]
pub struct DeclaredInventory<'a> {
    /// Its latest status.
    pub status: ReturnStatus,
    /// Its inventory number (none when it was rejected).
    pub invt_no: Option<&'a str>,
    /// The day it was released (800), by the database clock.
    pub released_on: Option<NaiveDate>,
    /// The parcel left the zone (a logistics status was recorded).
    pub exited: bool,
    /// A cancellation was approved.
    pub cancelled: bool,
    /// Digest of the approved cancellation, if any.
    pub approved_cancellation: Option<&'a [u8]>,
    /// Digest of the approved return, if any.
    pub approved_refund: Option<&'a [u8]>,
    /// Its lines: line number, HS code, quantity declared.
    pub lines: &'a [(u32, HsCode, Decimal)],
}

/// What becomes of a cancellation or return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The approved application again, byte for byte: nothing to do, no receipt.
    Duplicate,
    /// Refused with this code and detail (the receipt says which).
    Refused(ErrorCode, String),
    /// Approved (399).
    Approved,
}

/// The verdict on a cancellation naming `invt_no`, whose document digest is `digest`.
pub fn cancellation_verdict(
    declared: &DeclaredInventory<'_>,
    invt_no: &str,
    digest: &[u8],
    rules: &AfterSalesConfig,
) -> Verdict {
    if let Some(approved) = declared.approved_cancellation {
        return duplicate_or(approved == digest, codes::CANCEL_DUPLICATE, "");
    }
    if declared.invt_no != Some(invt_no) {
        let detail = format!("系统中不存在清单编号为[{invt_no}]的清单");
        return Verdict::Refused(codes::CANCEL_INVENTORY_NOT_FOUND, detail);
    }
    if declared.approved_refund.is_some() {
        let detail = format!("清单[{invt_no}]已退货，不能撤单");
        return Verdict::Refused(codes::CANCEL_STATUS_INVALID, detail);
    }
    if declared.exited && !rules.cancel_after_exit {
        let detail = format!("清单[{invt_no}]的包裹已出区，请申请退货");
        return Verdict::Refused(codes::CANCEL_STATUS_INVALID, detail);
    }
    match check_cancellable(declared.status) {
        Ok(()) => Verdict::Approved,
        Err(code) => Verdict::Refused(
            code,
            format!("清单的状态不符合撤单申报要求(清单编号[{invt_no}])"),
        ),
    }
}

/// The verdict on a return received on `today` (by the database clock: the application's own
/// `appTime` is what the sender claims, not when it arrived).
pub fn refund_verdict(
    declared: &DeclaredInventory<'_>,
    refund: &Refund,
    digest: &[u8],
    today: NaiveDate,
    rules: &AfterSalesConfig,
) -> Verdict {
    let invt_no = refund.head.invt_no.as_str();
    if let Some(approved) = declared.approved_refund {
        let detail = format!("退货申请单[{invt_no}]已经申报过，请勿重复申报");
        return duplicate_or(approved == digest, codes::REFUND_DUPLICATE, &detail);
    }
    if declared.invt_no != Some(invt_no) {
        let detail = format!("清单[{invt_no}]查无此数据");
        return Verdict::Refused(codes::REFUND_INVENTORY_NOT_FOUND, detail);
    }
    if declared.cancelled || declared.status != ReturnStatus::Released {
        let detail = format!("退货申请单报文校验失败，清单[{invt_no}]未放行或已撤单");
        return Verdict::Refused(codes::REFUND_INVALID, detail);
    }
    if let Err(error) = check_refund_window(declared.released_on, today, rules) {
        let detail = format!("退货申请单报文校验失败，{error}");
        return Verdict::Refused(codes::REFUND_INVALID, detail);
    }
    match check_refund_lines(refund, declared.lines).first() {
        Some(problem) if problem.code == "-625209" => {
            Verdict::Refused(codes::REFUND_LINE_NOT_FOUND, problem.message.clone())
        }
        Some(problem) => Verdict::Refused(codes::REFUND_INVALID, problem.message.clone()),
        None => Verdict::Approved,
    }
}

fn duplicate_or(same: bool, code: ErrorCode, detail: &str) -> Verdict {
    if same {
        Verdict::Duplicate
    } else {
        Verdict::Refused(code, detail.to_owned())
    }
}

/// Checks a return application date against the release date: at most
/// `rules.refund_apply_days_max` days after it.
pub fn check_refund_window(
    released_on: Option<NaiveDate>,
    applied_on: NaiveDate,
    rules: &AfterSalesConfig,
) -> Result<(), RefundWindowError> {
    let released_on = released_on.ok_or(RefundWindowError::NotReleased)?;
    let days = (applied_on - released_on).num_days();
    if days > rules.refund_apply_days_max {
        return Err(RefundWindowError::TooLate {
            days,
            max: rules.refund_apply_days_max,
        });
    }
    Ok(())
}

/// Why returned goods cannot be recorded back in the zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoodsBackError {
    /// No approved return of this inventory.
    #[error("no approved return of this inventory")]
    NoApprovedReturn,
    /// The goods were recorded back already.
    #[error("the returned goods were recorded back already")]
    AlreadyBack,
    /// Past the window.
    #[error("returned goods must be back within {max} days of release; {days} days have passed")]
    TooLate {
        /// Days since release.
        days: i64,
        /// The window.
        max: i64,
    },
}

/// May the goods of an approved return be recorded back in the zone on `today`? Stock returns
/// to the account book only then (CBEC.md §3 rule 9), within 45 days of release (rule 11).
pub fn goods_back_check(
    refund_approved: bool,
    already_back: bool,
    released_on: Option<NaiveDate>,
    today: NaiveDate,
    rules: &AfterSalesConfig,
) -> Result<(), GoodsBackError> {
    if !refund_approved {
        return Err(GoodsBackError::NoApprovedReturn);
    }
    if already_back {
        return Err(GoodsBackError::AlreadyBack);
    }
    let days = released_on.map_or(i64::MAX, |released| (today - released).num_days());
    if days > rules.refund_goods_back_days_max {
        return Err(GoodsBackError::TooLate {
            days,
            max: rules.refund_goods_back_days_max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accepted_inventories_can_be_cancelled() {
        assert_eq!(check_cancellable(ReturnStatus::Released), Ok(()));
        assert_eq!(check_cancellable(ReturnStatus::Inspection), Ok(()));
        assert_eq!(
            check_cancellable(ReturnStatus::Declaring),
            Err(codes::CANCEL_STATUS_INVALID)
        );
        assert_eq!(
            check_cancellable(ReturnStatus::Closed),
            Err(codes::CANCEL_STATUS_INVALID)
        );
    }

    #[test]
    fn returns_must_be_applied_within_the_configured_days() {
        let released = NaiveDate::from_ymd_opt(2024, 6, 1);
        let day = |d| NaiveDate::from_ymd_opt(2024, 6, d).unwrap();
        let rules = AfterSalesConfig::default();
        assert_eq!(check_refund_window(released, day(30), &rules), Ok(()));
        let late = day(1) + chrono::Duration::days(31);
        assert_eq!(
            check_refund_window(released, late, &rules),
            Err(RefundWindowError::TooLate { days: 31, max: 30 })
        );
        let longer = AfterSalesConfig {
            refund_apply_days_max: 40,
            ..AfterSalesConfig::default()
        };
        assert_eq!(check_refund_window(released, late, &longer), Ok(()));
        assert_eq!(
            check_refund_window(None, day(2), &rules),
            Err(RefundWindowError::NotReleased)
        );
    }

    const INVT: &str = "80132024I000000001";

    fn lines() -> Vec<(u32, HsCode, Decimal)> {
        vec![(1, HsCode::parse("2201101000").unwrap(), Decimal::TWO)]
    }

    fn released<'a>(lines: &'a [(u32, HsCode, Decimal)]) -> DeclaredInventory<'a> {
        DeclaredInventory {
            status: ReturnStatus::Released,
            invt_no: Some(INVT),
            released_on: NaiveDate::from_ymd_opt(2024, 6, 1),
            exited: false,
            cancelled: false,
            approved_cancellation: None,
            approved_refund: None,
            lines,
        }
    }

    #[test]
    fn a_cancellation_is_approved_once_and_only_before_exit() {
        let rules = AfterSalesConfig::default();
        let lines = lines();
        let declared = released(&lines);
        assert_eq!(
            cancellation_verdict(&declared, INVT, b"d1", &rules),
            Verdict::Approved
        );
        let other = cancellation_verdict(&declared, "80132024I000000002", b"d1", &rules);
        assert!(matches!(other, Verdict::Refused(c, _) if c == codes::CANCEL_INVENTORY_NOT_FOUND));
        let exited = DeclaredInventory {
            exited: true,
            ..declared
        };
        let refused = cancellation_verdict(&exited, INVT, b"d1", &rules);
        assert!(
            matches!(refused, Verdict::Refused(c, ref d) if c == codes::CANCEL_STATUS_INVALID && d.contains("退货"))
        );
        let lenient = AfterSalesConfig {
            cancel_after_exit: true,
            ..rules.clone()
        };
        assert_eq!(
            cancellation_verdict(&exited, INVT, b"d1", &lenient),
            Verdict::Approved
        );
        let approved = DeclaredInventory {
            approved_cancellation: Some(b"d1"),
            ..declared
        };
        assert_eq!(
            cancellation_verdict(&approved, INVT, b"d1", &rules),
            Verdict::Duplicate
        );
        let again = cancellation_verdict(&approved, INVT, b"d2", &rules);
        assert!(matches!(again, Verdict::Refused(c, _) if c == codes::CANCEL_DUPLICATE));
    }

    #[test]
    fn a_return_needs_a_released_inventory_its_window_and_its_lines() {
        let rules = AfterSalesConfig::default();
        let refund = Refund::parse(&crate::documents::tests::raw_refund()).unwrap();
        let lines = lines();
        let declared = released(&lines);
        let day = |d| NaiveDate::from_ymd_opt(2024, 6, 1).unwrap() + chrono::Duration::days(d);
        assert_eq!(
            refund_verdict(&declared, &refund, b"r", day(30), &rules),
            Verdict::Approved
        );
        let late = refund_verdict(&declared, &refund, b"r", day(31), &rules);
        assert!(matches!(late, Verdict::Refused(c, _) if c == codes::REFUND_INVALID));
        let held = DeclaredInventory {
            status: ReturnStatus::ManualReview,
            ..declared
        };
        let not_released = refund_verdict(&held, &refund, b"r", day(1), &rules);
        assert!(matches!(not_released, Verdict::Refused(c, _) if c == codes::REFUND_INVALID));
        let fewer = [(1, HsCode::parse("2201101000").unwrap(), Decimal::ONE)];
        let less = DeclaredInventory {
            lines: &fewer,
            ..declared
        };
        let too_many = refund_verdict(&less, &refund, b"r", day(1), &rules);
        assert!(matches!(too_many, Verdict::Refused(c, _) if c == codes::REFUND_INVALID));
        let elsewhere = [(2, HsCode::parse("2201101000").unwrap(), Decimal::TWO)];
        let other = DeclaredInventory {
            lines: &elsewhere,
            ..declared
        };
        let missing = refund_verdict(&other, &refund, b"r", day(1), &rules);
        assert!(matches!(missing, Verdict::Refused(c, _) if c == codes::REFUND_LINE_NOT_FOUND));
        let approved = DeclaredInventory {
            approved_refund: Some(b"r"),
            ..declared
        };
        assert_eq!(
            refund_verdict(&approved, &refund, b"r", day(1), &rules),
            Verdict::Duplicate
        );
        let again = refund_verdict(&approved, &refund, b"x", day(1), &rules);
        assert!(matches!(again, Verdict::Refused(c, _) if c == codes::REFUND_DUPLICATE));
    }

    #[test]
    fn returned_goods_come_back_within_45_days_once() {
        let rules = AfterSalesConfig::default();
        let released = NaiveDate::from_ymd_opt(2024, 6, 1);
        let day = |d| released.unwrap() + chrono::Duration::days(d);
        assert_eq!(
            goods_back_check(true, false, released, day(45), &rules),
            Ok(())
        );
        assert_eq!(
            goods_back_check(true, false, released, day(46), &rules),
            Err(GoodsBackError::TooLate { days: 46, max: 45 })
        );
        assert_eq!(
            goods_back_check(true, true, released, day(2), &rules),
            Err(GoodsBackError::AlreadyBack)
        );
        assert_eq!(
            goods_back_check(false, false, released, day(2), &rules),
            Err(GoodsBackError::NoApprovedReturn)
        );
    }
}
