//! The inventory status machine on customs `returnStatus` codes (CBEC.md §2.5, §6 point 4).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A customs `returnStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReturnStatus {
    /// 1 电子口岸已暂存: stored at the e-port, not declared.
    Stored,
    /// 2 电子口岸申报中: accepted by the e-port and sent on.
    Declaring,
    /// 3 发送海关成功: delivered to customs.
    SentToCustoms,
    /// 4 发送海关失败: delivery to customs failed.
    SendFailed,
    /// 100 海关退单: rejected by customs.
    Rejected,
    /// 120 海关入库: logic check passed, `invtNo` assigned.
    Accepted,
    /// 300 人工审核: held for manual review.
    ManualReview,
    /// 399 海关审结: concluded (on 624: cancellation approved; on 626: return approved).
    Concluded,
    /// 500 查验: inspection.
    Inspection,
    /// 501 扣留移送通关: detained, handed to clearance.
    DetainedClearance,
    /// 502 扣留移送缉私: detained, handed to anti-smuggling.
    DetainedAntiSmuggling,
    /// 503 扣留移送法规: detained, handed to the legal department.
    DetainedLegal,
    /// 599 其它扣留: detained for another reason.
    DetainedOther,
    /// 700 退运: returned abroad.
    ReturnedAbroad,
    /// 800 放行: released (stock deduction, tax bill expected).
    Released,
    /// 899 结关: closed.
    Closed,
    /// A negative processing-exception code such as `-621005`.
    Exception(i32),
}

/// Why a `returnStatus` text is not a known status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown returnStatus {0:?}")]
pub struct UnknownStatus(pub String);

/// A move the status machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal status transition {} -> {}", from.code(), to.code())]
pub struct IllegalTransition {
    /// Current status.
    pub from: ReturnStatus,
    /// Requested status.
    pub to: ReturnStatus,
}

use ReturnStatus::*;

const POSITIVE: [(ReturnStatus, i32, &str, &str); 16] = [
    (Stored, 1, "电子口岸已暂存", "stored at the e-port"),
    (Declaring, 2, "电子口岸申报中", "declaring"),
    (SentToCustoms, 3, "发送海关成功", "sent to customs"),
    (SendFailed, 4, "发送海关失败", "sending to customs failed"),
    (Rejected, 100, "海关退单", "rejected by customs"),
    (Accepted, 120, "海关入库", "accepted by customs"),
    (ManualReview, 300, "人工审核", "manual review"),
    (Concluded, 399, "海关审结", "concluded"),
    (Inspection, 500, "查验", "inspection"),
    (
        DetainedClearance,
        501,
        "扣留移送通关",
        "detained, handed to clearance",
    ),
    (
        DetainedAntiSmuggling,
        502,
        "扣留移送缉私",
        "detained, handed to anti-smuggling",
    ),
    (
        DetainedLegal,
        503,
        "扣留移送法规",
        "detained, handed to the legal department",
    ),
    (DetainedOther, 599, "其它扣留", "detained (other)"),
    (ReturnedAbroad, 700, "退运", "returned abroad"),
    (Released, 800, "放行", "released"),
    (Closed, 899, "结关", "closed"),
];

impl ReturnStatus {
    /// The numeric `returnStatus`.
    pub fn code(self) -> i32 {
        match self {
            Exception(code) => code,
            status => POSITIVE
                .iter()
                .find(|row| row.0 == status)
                .map_or(0, |row| row.1),
        }
    }

    /// The status for a numeric code; any negative code is an exception.
    pub fn from_code(code: i32) -> Option<Self> {
        if code < 0 {
            return Some(Exception(code));
        }
        POSITIVE.iter().find(|row| row.1 == code).map(|row| row.0)
    }

    /// Parses receipt text such as `800` or `-621005`.
    pub fn parse(raw: &str) -> Result<Self, UnknownStatus> {
        raw.trim()
            .parse::<i32>()
            .ok()
            .and_then(Self::from_code)
            .ok_or_else(|| UnknownStatus(raw.to_owned()))
    }

    /// The customs label in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            Exception(_) => "处理异常",
            status => POSITIVE
                .iter()
                .find(|row| row.0 == status)
                .map_or("", |row| row.2),
        }
    }

    /// An English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Exception(_) => "processing exception",
            status => POSITIVE
                .iter()
                .find(|row| row.0 == status)
                .map_or("", |row| row.3),
        }
    }

    /// True when no further status follows: rejected, exception, returned abroad or closed.
    pub fn is_final(self) -> bool {
        matches!(self, Rejected | Exception(_) | ReturnedAbroad | Closed)
    }

    /// True for the failure outcomes (100 and negative codes).
    pub fn is_failure(self) -> bool {
        matches!(self, Rejected | Exception(_))
    }

    fn is_detained(self) -> bool {
        matches!(
            self,
            DetainedClearance | DetainedAntiSmuggling | DetainedLegal | DetainedOther
        )
    }

    /// The statuses that may legally follow this one.
    fn may_move_to(self, to: Self) -> bool {
        // Any status before conclusion may fail; the happy path and its detours are listed per
        // state. Once concluded or released, customs no longer rejects the inventory.
        if to.is_failure() {
            return !self.is_final() && !matches!(self, Concluded | Released);
        }
        match self {
            Stored => matches!(to, Declaring),
            // Real receipts skip 3 and go straight from 2 to 120 (CBEC.md §2.5 timeline).
            Declaring => matches!(to, SentToCustoms | SendFailed | Accepted),
            SentToCustoms => matches!(to, Accepted),
            // A failed send is retried by declaring again.
            SendFailed => matches!(to, Declaring),
            Accepted => {
                matches!(to, ManualReview | Concluded | Released | Inspection) || to.is_detained()
            }
            ManualReview => {
                matches!(to, Concluded | Released | Inspection | ReturnedAbroad) || to.is_detained()
            }
            Inspection => matches!(to, Concluded | Released | ReturnedAbroad) || to.is_detained(),
            status if status.is_detained() => {
                matches!(to, Concluded | Released | ReturnedAbroad) || to.is_detained()
            }
            Concluded => matches!(to, Released | ReturnedAbroad),
            Released => matches!(to, Closed),
            _ => false,
        }
    }
}

impl fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.label_zh())
    }
}

/// Checks that the machine may move from `from` to `to`:
/// 1→2→(3|4)→120→[300|500|50x|599]→399→800→899, with 4→2 as a retry, 100 and negative codes as
/// failures from any state before 399, and 700 (returned abroad) after review, inspection,
/// detention or conclusion.
pub fn transition(from: ReturnStatus, to: ReturnStatus) -> Result<(), IllegalTransition> {
    if from.may_move_to(to) {
        Ok(())
    } else {
        Err(IllegalTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ReturnStatus; 17] = [
        Stored,
        Declaring,
        SentToCustoms,
        SendFailed,
        Rejected,
        Accepted,
        ManualReview,
        Concluded,
        Inspection,
        DetainedClearance,
        DetainedAntiSmuggling,
        DetainedLegal,
        DetainedOther,
        ReturnedAbroad,
        Released,
        Closed,
        Exception(-621005),
    ];

    #[test]
    fn codes_round_trip_and_have_labels() {
        for status in ALL {
            assert_eq!(ReturnStatus::parse(&status.code().to_string()), Ok(status));
            assert!(!status.label_zh().is_empty() && !status.label_en().is_empty());
        }
        assert_eq!(ReturnStatus::parse("-621018"), Ok(Exception(-621018)));
        assert!(ReturnStatus::parse("5").is_err());
        assert!(ReturnStatus::parse("x").is_err());
        assert_eq!(Released.to_string(), "800 放行");
    }

    #[test]
    fn the_happy_path_is_legal() {
        let path = [
            Stored,
            Declaring,
            SentToCustoms,
            Accepted,
            Inspection,
            Concluded,
            Released,
        ];
        for pair in path.windows(2) {
            assert_eq!(transition(pair[0], pair[1]), Ok(()), "{:?}", pair);
        }
        assert_eq!(transition(Released, Closed), Ok(()));
        assert_eq!(transition(Declaring, Accepted), Ok(()));
        assert_eq!(transition(Accepted, Released), Ok(()));
    }

    #[test]
    fn final_states_go_nowhere() {
        for from in ALL.into_iter().filter(|status| status.is_final()) {
            for to in ALL {
                assert!(transition(from, to).is_err(), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn skipping_or_going_back_is_illegal() {
        assert!(transition(Stored, Released).is_err());
        assert!(transition(Released, Accepted).is_err());
        assert!(transition(Released, Rejected).is_err());
        assert!(transition(ManualReview, Exception(-1)).is_ok());
        assert!(transition(Closed, Rejected).is_err());
        assert!(transition(Accepted, Accepted).is_err());
    }
}
