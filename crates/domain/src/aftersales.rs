//! Cancellations (CEB623) and returns (CEB625) after a declaration: eligibility, windows, and
//! their CEB624 receipts. Quota credits are in [`crate::limits`].

use bondgate_ceb::model as raw;
use chrono::NaiveDate;

use crate::codes::{self, ErrorCode};
use crate::documents::Cancellation;
use crate::status::ReturnStatus;
use crate::types::CebDateTimeMillis;

/// Days after release within which a return must be applied for (GACC 2020 No. 45).
pub const REFUND_APPLY_DAYS_MAX: i64 = 30;
/// Days after release within which returned goods must be back in the zone.
pub const REFUND_GOODS_BACK_DAYS_MAX: i64 = 45;

/// Checks that an inventory in `status` may be cancelled: accepted by customs (120 or later,
/// not a failure, not closed or returned abroad) and the parcel still in the zone. Otherwise
/// `-623005`.
pub fn check_cancellable(status: ReturnStatus, parcel_exited: bool) -> Result<(), ErrorCode> {
    let eligible = matches!(
        status,
        ReturnStatus::Accepted
            | ReturnStatus::ManualReview
            | ReturnStatus::Inspection
            | ReturnStatus::Concluded
            | ReturnStatus::Released
    );
    if eligible && !parcel_exited {
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
    #[error("return applied {days} days after release, at most {REFUND_APPLY_DAYS_MAX} allowed")]
    TooLate {
        /// Days since release.
        days: i64,
    },
}

/// Checks a return application date against the release date (≤ 30 days after release).
pub fn check_refund_window(
    released_on: Option<NaiveDate>,
    applied_on: NaiveDate,
) -> Result<(), RefundWindowError> {
    let released_on = released_on.ok_or(RefundWindowError::NotReleased)?;
    let days = (applied_on - released_on).num_days();
    if days > REFUND_APPLY_DAYS_MAX {
        return Err(RefundWindowError::TooLate { days });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accepted_inventories_still_in_the_zone_can_be_cancelled() {
        assert_eq!(check_cancellable(ReturnStatus::Released, false), Ok(()));
        assert_eq!(
            check_cancellable(ReturnStatus::Released, true),
            Err(codes::CANCEL_STATUS_INVALID)
        );
        assert_eq!(
            check_cancellable(ReturnStatus::Declaring, false),
            Err(codes::CANCEL_STATUS_INVALID)
        );
        assert_eq!(
            check_cancellable(ReturnStatus::Closed, false),
            Err(codes::CANCEL_STATUS_INVALID)
        );
    }

    #[test]
    fn returns_must_be_applied_within_30_days() {
        let released = NaiveDate::from_ymd_opt(2024, 6, 1);
        let day = |d| NaiveDate::from_ymd_opt(2024, 6, d).unwrap();
        assert_eq!(check_refund_window(released, day(30)), Ok(()));
        assert_eq!(
            check_refund_window(released, day(1) + chrono::Duration::days(31)),
            Err(RefundWindowError::TooLate { days: 31 })
        );
        assert_eq!(
            check_refund_window(None, day(2)),
            Err(RefundWindowError::NotReleased)
        );
    }
}
