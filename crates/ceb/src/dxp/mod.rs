//! The DXP transport envelope (`DxpMsg`, spec 202205 §4) around a CEB business message.
//!
//! The customs single window exchanges every business message inside a terminal-node envelope:
//!
//! ```text
//! <DxpMsg xmlns="http://www.chinaport.gov.cn/dxp" ver="1.0">
//!   <TransInfo>CopMsgId, SenderId, ReceiverIds/ReceiverId (1..5), CreatTime, MsgType</TransInfo>
//!   <Data>the business XML, Base64</Data>
//!   <AddInfo>FileName, IcCard, BizKey/Key[@name] (all optional)</AddInfo>   (optional)
//!   <ds:Signature>...</ds:Signature>                                        (optional)
//! </DxpMsg>
//! ```
//!
//! [`wrap`] writes one around the bytes of a business message, unchanged; [`unwrap`] gives back
//! the header and exactly those bytes. Both check the header against `dxp_terminal_202205.xsd`
//! (lengths, counts, `CreatTime`) and check that `MsgType` is the business message's root
//! element name (`CEB311Message`), which is how the two ends agree on it. [`DxpHeader::for_message`]
//! derives `MsgType` and a deterministic `CopMsgId` ([`cop_msg_id`]) from the message.
//!
//! Reading is bounded like the CEB codec's: the envelope is read with the same quick-xml reader
//! (no DTDs, no entities, every structural cap binding while it streams), its size is capped by
//! [`envelope_bytes_max`] before it is read, and the business message by the CEB
//! `message_bytes_max`, measured decoded, before it is decoded. Only the business message's root
//! start tag is read here; parse it with [`crate::parse_message`].
//!
//! Not here: signing or verifying the envelope's own `ds:Signature` (optional in the XSD; the
//! CEB message carries the signature customs checks, see [`crate::sign`]), the `DxpMsgSv`
//! transport-node envelope and `DxpRep` responses, which only the exchange platform writes.
//!
//! ```
//! use bondgate_ceb::dxp::{self, DxpHeader};
//! use bondgate_ceb::Limits;
//! let message = br#"<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0"/>"#;
//! let receivers = ["DXPEDCCEB0000002".to_owned()];
//! let header = DxpHeader::for_message(message, "DXPENT0000000001", &receivers, "2024-03-01T12:00:00")?;
//! assert_eq!(header.msg_type, "CEB622Message");
//! let envelope = dxp::wrap(message, &header)?;
//! let (read, payload) = dxp::unwrap(envelope.as_bytes(), &Limits::default())?;
//! assert_eq!((read, payload.as_slice()), (header, &message[..]));
//! # Ok::<(), bondgate_ceb::dxp::DxpError>(())
//! ```

mod error;
mod header;
mod read;
mod write;

pub use error::{DxpCode, DxpError};
pub use header::{AddInfo, BIZ_KEYS_MAX, BizKey, DxpHeader, RECEIVER_IDS_MAX, cop_msg_id};
pub use read::{envelope_bytes_max, unwrap};
pub use write::wrap;

use crate::dom::{self, Ns};
use crate::message::Limits;
use crate::parse::decode_document;

/// Namespace of the DXP envelope elements.
pub const DXP_NAMESPACE: &str = "http://www.chinaport.gov.cn/dxp";

/// `strftime` pattern of `CreatTime` (`yyyy-mm-ddThh:mm:ss`), e.g. for chrono's `format`. The
/// spec gives no zone; the customs side writes Beijing time (UTC+8), and so should we.
pub const CREAT_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Longest file name [`file_name`] returns before its `.xml`, in characters: well within the
/// 255 bytes most file systems allow.
const FILE_STEM_CHARS_MAX: usize = 200;

/// The `MsgType` of a business message: the local name of its root element, which must be in the
/// CEB namespace. Reads the message only up to its root start tag, within `limits`.
pub fn message_type(message_xml: &[u8], limits: &Limits) -> Result<String, DxpError> {
    let malformed = |source| DxpError::PayloadMalformed { source };
    let text = decode_document(message_xml).map_err(malformed)?;
    let (ns, root) = dom::read_root(&text, limits).map_err(malformed)?;
    if ns != Ns::Ceb {
        return Err(DxpError::PayloadNotCeb { root: root.into() });
    }
    Ok(root.into())
}

/// The file name for an envelope in the enterprise client's out-box: the header's
/// `AddInfo/FileName` when it has one, else `MsgType` followed by `CopMsgId` (how the ZJ
/// envelope template fills `FileName`, e.g. `CEB311Message0A1B…`), plus `.xml`.
///
/// Neither the spec nor the XSD names files (`FileName` is only "the original message's name,
/// optional"), so the name is made safe for any file system rather than trusted: characters
/// other than ASCII letters, digits, `-`, `_` and `.` become `_`, leading dots are dropped, the
/// stem is cut to 200 characters, and it ends in `.xml` (an `.xml` of any case already there is
/// replaced). A `FileName` from a
/// received envelope can therefore never name a path outside the folder it is written to.
pub fn file_name(header: &DxpHeader) -> String {
    let given = header
        .add_info
        .as_ref()
        .and_then(|a| a.file_name.as_deref())
        .filter(|name| !name.is_empty());
    let raw = given.map_or_else(
        || format!("{}{}", header.msg_type, header.cop_msg_id),
        str::to_owned,
    );
    let extension_at = raw.len().saturating_sub(".xml".len());
    let stem = match raw.get(extension_at..) {
        Some(extension) if extension.eq_ignore_ascii_case(".xml") => &raw[..extension_at],
        _ => raw.as_str(),
    };
    let mut safe: String = stem
        .trim_start_matches('.')
        .chars()
        .take(FILE_STEM_CHARS_MAX)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect();
    if safe.is_empty() {
        safe.push_str("DxpMsg");
    }
    safe.push_str(".xml");
    safe
}

#[cfg(test)]
mod tests;
