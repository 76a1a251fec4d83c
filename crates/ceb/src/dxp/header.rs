//! The envelope's header (`TransInfo`, `AddInfo`) and the field rules of
//! `dxp_terminal_202205.xsd`, checked with the element path of each field.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::error::DxpError;
use super::message_type;
use crate::emit::check_xml_char;
use crate::message::Limits;

/// Most receivers of one envelope (XSD `ReceiverId maxOccurs="5"`).
pub const RECEIVER_IDS_MAX: usize = 5;
/// Most business keys in `AddInfo/BizKey` (XSD `Key maxOccurs="5"`).
pub const BIZ_KEYS_MAX: usize = 5;

// Lengths in characters, as the XSD's `minLength`/`maxLength` count them.
const COP_MSG_ID_CHARS_MAX: usize = 255;
/// `SenderId` and `ReceiverId`: DXP node ids such as `DXPENT0000000001`.
const NODE_ID_CHARS_MAX: usize = 16;
const MSG_TYPE_CHARS_MAX: usize = 30;
const FILE_NAME_CHARS_MAX: usize = 255;
const IC_CARD_CHARS_MAX: usize = 13;
const KEY_NAME_CHARS_MAX: usize = 32;
const KEY_VALUE_CHARS_MAX: usize = 64;
/// Longest piece of a bad value quoted in an error: errors end up in log lines.
const QUOTED_CHARS_MAX: usize = 40;

pub(crate) const TRANS_INFO: &str = "/DxpMsg/TransInfo";
pub(crate) const RECEIVER_IDS: &str = "/DxpMsg/TransInfo/ReceiverIds";
const ADD_INFO: &str = "/DxpMsg/AddInfo";
pub(crate) const BIZ_KEY: &str = "/DxpMsg/AddInfo/BizKey";

/// The header of a DXP envelope: `TransInfo` plus the optional `AddInfo`.
///
/// Values are kept as written, never trimmed or re-cased. [`super::wrap`] checks them against
/// the XSD and the spec before writing; [`super::unwrap`] returns them checked the same way,
/// except that `CreatTime` may carry what `xs:dateTime` allows beyond the spec's
/// `yyyy-mm-ddThh:mm:ss` (fractional seconds, a time zone), as other senders' tools write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DxpHeader {
    /// `CopMsgId` (an..255): the sender's unique id of this transmission, quoted back as
    /// `oriCopMsgId` in a CEB900 format receipt. See [`cop_msg_id`] for the one bondgate derives.
    pub cop_msg_id: String,
    /// `SenderId` (an..16): the sender's DXP node id, assigned by the exchange platform.
    pub sender_id: String,
    /// `ReceiverIds/ReceiverId` (1 to 5, each an..16): the receivers' DXP node ids.
    pub receiver_ids: Vec<String>,
    /// `CreatTime`: when the business message was created, `yyyy-mm-ddThh:mm:ss` in Beijing time
    /// (format a time with [`super::CREAT_TIME_FORMAT`]).
    pub creat_time: String,
    /// `MsgType` (an..30): the business message's root element name, e.g. `CEB311Message`.
    pub msg_type: String,
    /// `AddInfo`, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_info: Option<AddInfo>,
    /// Whether the envelope carried a `ds:Signature` (unwrap only: it is not verified, and wrap
    /// never signs and ignores this flag).
    #[serde(default)]
    pub signed: bool,
}

/// `AddInfo`: data about the transmission that the exchange platform does not route on.
///
/// `IsText` and `RecMapId`, which the XSD also allows here, are read past and not kept: the
/// business message declares its own encoding, and receiver-side mapping ids are the platform's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddInfo {
    /// `FileName` (1..255): the original message's file name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `IcCard` (1..13): the number of the IC card (UKey) of the declaring operator, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ic_card: Option<String>,
    /// `BizKey/Key` (0 to 5; none means no `BizKey` element): business keys the sender chooses,
    /// e.g. `DealFlag`, `RetType` in the ZJ template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub biz_keys: Vec<BizKey>,
}

/// One `BizKey/Key`: a value (1..64) with an optional `name` attribute (1..32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BizKey {
    /// The `name` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The element's text.
    pub value: String,
}

/// Which `CreatTime` forms a check accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeRule {
    /// The spec's `yyyy-mm-ddThh:mm:ss`, what we write.
    Spec,
    /// Anything `xs:dateTime` allows, what we read.
    Xsd,
}

impl DxpHeader {
    /// The header for sending `message_xml` from `sender_id` to `receiver_ids`, created at
    /// `creat_time`: `MsgType` is the message's root element name and `CopMsgId` is
    /// [`cop_msg_id`]; no `AddInfo`. Only the message's root is read (with the default
    /// [`Limits`]); the values are checked when the envelope is written.
    pub fn for_message(
        message_xml: &[u8],
        sender_id: &str,
        receiver_ids: &[String],
        creat_time: &str,
    ) -> Result<Self, DxpError> {
        Ok(Self {
            cop_msg_id: cop_msg_id(message_xml, sender_id, receiver_ids),
            sender_id: sender_id.to_owned(),
            receiver_ids: receiver_ids.to_vec(),
            creat_time: creat_time.to_owned(),
            msg_type: message_type(message_xml, &Limits::default())?,
            add_info: None,
            signed: false,
        })
    }

    /// This header with `CopMsgId` replaced.
    pub fn with_cop_msg_id(mut self, cop_msg_id: &str) -> Self {
        cop_msg_id.clone_into(&mut self.cop_msg_id);
        self
    }

    /// This header with `AddInfo/FileName` set (adding `AddInfo` if it had none).
    pub fn with_file_name(mut self, file_name: &str) -> Self {
        let add_info = self.add_info.get_or_insert_with(AddInfo::default);
        add_info.file_name = Some(file_name.to_owned());
        self
    }

    /// Refuses an envelope that does not list `receiver_id` among its receivers: the reading
    /// node is not its addressee (DXP code 2002, address mismatch).
    pub fn check_addressed_to(&self, receiver_id: &str) -> Result<(), DxpError> {
        if self.receiver_ids.iter().any(|r| r == receiver_id) {
            return Ok(());
        }
        Err(DxpError::NotAddressed {
            receiver_id: receiver_id.to_owned(),
        })
    }

    /// Checks every value against the XSD and the spec; the first problem comes back with its
    /// element path.
    pub(crate) fn check(&self, time: TimeRule) -> Result<(), DxpError> {
        let field = |name: &str| format!("{TRANS_INFO}/{name}");
        check_text(
            &self.cop_msg_id,
            1,
            COP_MSG_ID_CHARS_MAX,
            &field("CopMsgId"),
        )?;
        check_text(&self.sender_id, 1, NODE_ID_CHARS_MAX, &field("SenderId"))?;
        check_receivers(&self.receiver_ids)?;
        check_creat_time(&self.creat_time, time)?;
        // The XSD allows an empty MsgType; a CEB root name never is, which the type check says.
        check_text(&self.msg_type, 0, MSG_TYPE_CHARS_MAX, &field("MsgType"))?;
        match &self.add_info {
            Some(add_info) => add_info.check(),
            None => Ok(()),
        }
    }
}

impl AddInfo {
    fn check(&self) -> Result<(), DxpError> {
        if let Some(name) = &self.file_name {
            let path = format!("{ADD_INFO}/FileName");
            check_text(name, 1, FILE_NAME_CHARS_MAX, &path)?;
        }
        if let Some(card) = &self.ic_card {
            check_text(card, 1, IC_CARD_CHARS_MAX, &format!("{ADD_INFO}/IcCard"))?;
        }
        if self.biz_keys.len() > BIZ_KEYS_MAX {
            return Err(DxpError::InvalidField {
                path: indexed(BIZ_KEY, "Key", BIZ_KEYS_MAX),
                detail: format!("more than {BIZ_KEYS_MAX} keys"),
            });
        }
        for (index, key) in self.biz_keys.iter().enumerate() {
            let path = indexed(BIZ_KEY, "Key", index);
            check_text(&key.value, 1, KEY_VALUE_CHARS_MAX, &path)?;
            if let Some(name) = &key.name {
                check_text(name, 1, KEY_NAME_CHARS_MAX, &format!("{path}/@name"))?;
            }
        }
        Ok(())
    }
}

/// The `CopMsgId` bondgate gives a transmission: an upper-case UUIDv5 (namespace: UUIDv5 of
/// `urn:bondgate:dxp:cop-msg-id` in the URL namespace) of the sender, the receivers and the
/// SHA-256 of the business message's bytes.
///
/// Deterministic on purpose: wrapping the same message for the same route again (a retry, a
/// writer restarted after a crash) gives the same id, so the receiver and the CEB900
/// `oriCopMsgId` see one transmission, and a receipt can be traced back to the message by
/// recomputing the id. A changed message, or one sent to other receivers, gets another id,
/// which keeps `CopMsgId` unique per sender as the spec asks.
pub fn cop_msg_id(message_xml: &[u8], sender_id: &str, receiver_ids: &[String]) -> String {
    let namespace = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:bondgate:dxp:cop-msg-id");
    let digest = hex::encode(Sha256::digest(message_xml));
    let name = format!("{sender_id}\n{}\n{digest}", receiver_ids.join("\n"));
    let id = Uuid::new_v5(&namespace, name.as_bytes());
    id.hyphenated()
        .encode_upper(&mut Uuid::encode_buffer())
        .to_owned()
}

/// `{parent}/{name}` for the element at 0-based `index` among its same-named siblings, in the
/// codec's path form: the first carries no index, later ones `[2]`, `[3]`...
pub(crate) fn indexed(parent: &str, name: &str, index: usize) -> String {
    match index {
        0 => format!("{parent}/{name}"),
        _ => format!("{parent}/{name}[{}]", index + 1),
    }
}

fn check_receivers(receiver_ids: &[String]) -> Result<(), DxpError> {
    if receiver_ids.is_empty() {
        return Err(DxpError::MissingElement {
            path: format!("{RECEIVER_IDS}/ReceiverId"),
        });
    }
    if receiver_ids.len() > RECEIVER_IDS_MAX {
        return Err(DxpError::InvalidField {
            path: indexed(RECEIVER_IDS, "ReceiverId", RECEIVER_IDS_MAX),
            detail: format!("more than {RECEIVER_IDS_MAX} receivers"),
        });
    }
    for (index, receiver) in receiver_ids.iter().enumerate() {
        let path = indexed(RECEIVER_IDS, "ReceiverId", index);
        check_text(receiver, 1, NODE_ID_CHARS_MAX, &path)?;
    }
    Ok(())
}

/// A string field: `min..=max` characters, each one XML 1.0 can carry.
fn check_text(text: &str, min: usize, max: usize, path: &str) -> Result<(), DxpError> {
    let invalid = |detail: String| DxpError::InvalidField {
        path: path.to_owned(),
        detail,
    };
    if let Some(error) = text.chars().find_map(|c| check_xml_char(c, path).err()) {
        return Err(invalid(error.to_string()));
    }
    let chars = text.chars().count();
    if chars < min {
        return Err(invalid(format!(
            "is empty, the XSD requires {min} to {max} characters"
        )));
    }
    if chars > max {
        return Err(invalid(format!(
            "has {chars} characters, the XSD allows at most {max}"
        )));
    }
    Ok(())
}

fn check_creat_time(text: &str, rule: TimeRule) -> Result<(), DxpError> {
    let (date_time, rest) = text.split_at_checked(19).unwrap_or((text, ""));
    let valid = is_date_time(date_time)
        && match rule {
            TimeRule::Spec => rest.is_empty(),
            TimeRule::Xsd => is_xsd_date_time_tail(rest),
        };
    if valid {
        return Ok(());
    }
    Err(DxpError::InvalidField {
        path: format!("{TRANS_INFO}/CreatTime"),
        detail: format!(
            "{:?} is not a date and time of the form yyyy-mm-ddThh:mm:ss",
            quoted(text)
        ),
    })
}

/// `yyyy-mm-ddThh:mm:ss` naming a real second: month 1–12, a day of that month, 00:00:00 to
/// 23:59:59, year 0001 or later (`xs:dateTime` has no year 0000).
fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return false;
    }
    let number = |from: usize, to: usize| text[from..to].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (number(0, 4), number(5, 7), number(8, 10));
    let (hour, minute, second) = (number(11, 13), number(14, 16), number(17, 19));
    year >= 1
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What `xs:dateTime` allows after the seconds: `.` and fraction digits, then `Z` or `±hh:mm`
/// (at most 14:00), each optional.
fn is_xsd_date_time_tail(tail: &str) -> bool {
    let zone = match tail.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return false;
            }
            &fraction[digits..]
        }
        None => tail,
    };
    match zone.as_bytes() {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) =>
        {
            let hours = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
            let minutes = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
            minutes < 60 && (hours < 14 || (hours == 14 && minutes == 0))
        }
        _ => false,
    }
}

/// `text` cut to [`QUOTED_CHARS_MAX`] characters for an error message.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creat_time_follows_the_spec_on_write_and_the_xsd_on_read() {
        let spec = |t: &str| check_creat_time(t, TimeRule::Spec).is_ok();
        let xsd = |t: &str| check_creat_time(t, TimeRule::Xsd).is_ok();
        assert!(spec("2024-03-01T12:00:00"));
        assert!(spec("2024-02-29T23:59:59"), "leap day");
        for bad in [
            "2023-02-29T12:00:00",
            "2024-04-31T12:00:00",
            "2024-13-01T12:00:00",
            "2024-03-01T24:00:00",
            "0000-03-01T12:00:00",
            "2024-03-01 12:00:00",
            "20240301120000",
            "2024-03-01T12:00:00Z",
            "$time",
            "",
        ] {
            assert!(!spec(bad), "{bad}");
        }
        for read in [
            "2024-03-01T12:00:00",
            "2024-03-01T12:00:00.123",
            "2024-03-01T12:00:00Z",
            "2024-03-01T12:00:00.5+08:00",
            "2024-03-01T12:00:00-14:00",
        ] {
            assert!(xsd(read), "{read}");
        }
        for bad in [
            "2024-03-01T12:00:00.",
            "2024-03-01T12:00:00+8:00",
            "2024-03-01T12:00:00+14:30",
            "2024-03-01T12:00:00+08:00x",
        ] {
            assert!(!xsd(bad), "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let path = "/p";
        assert!(check_text("一二三四五六七八九十一二三四五六", 1, 16, path).is_ok());
        let error = check_text("一二三四五六七八九十一二三四五六七", 1, 16, path).unwrap_err();
        assert_eq!(error.path(), Some(path));
        assert!(error.to_string().contains("17 characters"), "{error}");
        assert!(check_text("", 1, 16, path).is_err());
        assert!(check_text("a\u{1}", 1, 16, path).is_err());
    }

    #[test]
    fn cop_msg_id_is_a_stable_upper_case_uuid_of_message_and_route() {
        let receivers = vec!["DXPEDCCEB0000001".to_owned()];
        let id = cop_msg_id(b"<a/>", "DXPENT0000000001", &receivers);
        assert_eq!(id, cop_msg_id(b"<a/>", "DXPENT0000000001", &receivers));
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 5);
        assert_ne!(id, cop_msg_id(b"<b/>", "DXPENT0000000001", &receivers));
        assert_ne!(id, cop_msg_id(b"<a/>", "DXPENT0000000002", &receivers));
        let two = vec![receivers[0].clone(), "DXPEDCCEB0000002".to_owned()];
        assert_ne!(id, cop_msg_id(b"<a/>", "DXPENT0000000001", &two));
    }

    #[test]
    fn only_a_listed_receiver_is_the_addressee() {
        let header = DxpHeader {
            cop_msg_id: "c".to_owned(),
            sender_id: "s".to_owned(),
            receiver_ids: vec!["A".to_owned(), "B".to_owned()],
            creat_time: "2024-03-01T12:00:00".to_owned(),
            msg_type: "CEB622Message".to_owned(),
            add_info: None,
            signed: false,
        };
        assert_eq!(header.check_addressed_to("B"), Ok(()));
        let error = header.check_addressed_to("C").unwrap_err();
        assert_eq!(error.code(), "dxp.not_addressed");
        assert_eq!(error.dxp_code().code(), "2002");
    }
}
