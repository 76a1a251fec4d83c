//! Reading an envelope: bounded XML tree, then `DxpMsg` onto [`DxpHeader`], then the payload.
//!
//! Strict like the codec's declarations: elements the XSD does not allow, duplicates and missing
//! required elements are errors with their path; only the content of `IsText` and `RecMapId`
//! (allowed, not kept) and the `ds:Signature` (noted in [`DxpHeader::signed`]) are skipped.
//! Element order is not checked, as in the codec.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::error::DxpError;
use super::header::{AddInfo, BIZ_KEY, BizKey, DxpHeader, RECEIVER_IDS, TRANS_INFO};
use super::header::{TimeRule, indexed};
use super::message_type;
use crate::dom::{self, Element, Ns};
use crate::message::Limits;
use crate::parse::decode_document;

const ROOT: &str = "/DxpMsg";
/// Room in an envelope besides the Base64 payload: the header (at most about 2 KiB of values),
/// a signature with its certificate (a few KiB), indentation and the XML declaration.
const ENVELOPE_OVERHEAD_BYTES: usize = 64 * 1024;
/// Elements in one envelope: 2 for the root and `Data`, 12 in `TransInfo`, 11 in `AddInfo`,
/// about 15 in a signature. `RecMapId` is `xs:anyType`, so a cap well above that, and still
/// tiny: the payload is one text node, not elements.
const ENVELOPE_ELEMENTS_MAX: usize = 256;
/// Base64 encoders that wrap lines (MIME style) do so every 76 characters.
const BASE64_LINE_CHARS: usize = 76;

/// Largest envelope [`unwrap`] reads for `limits`: the Base64 of a `message_bytes_max` payload,
/// with a CR LF every 76 characters as MIME encoders write it, plus 64 KiB for everything else.
/// A folder watcher can refuse a larger file by its size, before reading it.
pub fn envelope_bytes_max(limits: &Limits) -> usize {
    let base64 = limits.message_bytes_max.div_ceil(3).saturating_mul(4);
    let line_breaks = base64.div_ceil(BASE64_LINE_CHARS).saturating_mul(2);
    base64
        .saturating_add(line_breaks)
        .saturating_add(ENVELOPE_OVERHEAD_BYTES)
}

/// Reads a DXP envelope: its header, checked against the XSD, and the business message's bytes
/// exactly as they were wrapped, after checking that `MsgType` names its root element.
///
/// `limits` is the CEB reader's: the business message may be at most `message_bytes_max`
/// bytes, decoded; the envelope at most [`envelope_bytes_max`]; the name, depth and attribute
/// caps apply to the envelope as to a CEB message, with an element cap of its own.
pub fn unwrap(envelope: &[u8], limits: &Limits) -> Result<(DxpHeader, Vec<u8>), DxpError> {
    let tree_limits = Limits {
        message_bytes_max: envelope_bytes_max(limits),
        elements_max: ENVELOPE_ELEMENTS_MAX,
        text_bytes_max: envelope_bytes_max(limits),
        ..*limits
    };
    if envelope.len() > tree_limits.message_bytes_max {
        return Err(DxpError::TooLarge {
            size_bytes: envelope.len(),
            limit_bytes: tree_limits.message_bytes_max,
        });
    }
    let text = decode_document(envelope).map_err(DxpError::Xml)?;
    let root = dom::read_tree(&text, &tree_limits, &|| false).map_err(DxpError::Xml)?;
    let (header, data) = read_dxp_msg(root)?;
    header.check(TimeRule::Xsd)?;
    let payload = decode_payload(&data, limits.message_bytes_max)?;
    let root = message_type(&payload, limits)?;
    if root != header.msg_type {
        return Err(DxpError::MsgTypeMismatch {
            msg_type: header.msg_type,
            root,
        });
    }
    Ok((header, payload))
}

/// The parts of `DxpMsg` read so far.
#[derive(Default)]
struct Parts {
    trans_info: Option<DxpHeader>,
    data: Option<String>,
    add_info: Option<AddInfo>,
    signed: bool,
}

fn read_dxp_msg(root: Element) -> Result<(DxpHeader, String), DxpError> {
    if root.ns != Ns::Dxp || &*root.name != "DxpMsg" {
        return Err(DxpError::NotEnvelope {
            detail: format!(
                "the root is not DxpMsg in namespace {}",
                super::DXP_NAMESPACE
            ),
            root: root.name.into(),
        });
    }
    match root.attribute("ver") {
        Some("1.0") => {}
        found => {
            return Err(DxpError::UnsupportedVersion {
                found: found.map(str::to_owned),
            });
        }
    }
    check_no_text(&root, ROOT)?;
    let mut parts = Parts::default();
    for child in root.children {
        read_root_child(&mut parts, child)?;
    }
    let mut header = required(parts.trans_info, ROOT, "TransInfo")?;
    header.add_info = parts.add_info;
    header.signed = parts.signed;
    Ok((header, required(parts.data, ROOT, "Data")?))
}

fn read_root_child(parts: &mut Parts, child: Element) -> Result<(), DxpError> {
    let path = child.path_in(ROOT);
    let known = matches!(
        (child.ns, &*child.name),
        (Ns::Dxp, "TransInfo" | "Data" | "AddInfo") | (Ns::Dsig, "Signature")
    );
    if !known {
        return Err(DxpError::UnknownElement { path });
    }
    // The reader numbers same-named siblings, so a second occurrence is simply index 2.
    if child.index > 1 {
        return Err(DxpError::DuplicateElement { path });
    }
    match &*child.name {
        "TransInfo" => parts.trans_info = Some(read_trans_info(child, &path)?),
        "Data" => parts.data = Some(field_text(child, &path)?),
        "AddInfo" => parts.add_info = Some(read_add_info(child, &path)?),
        _ => parts.signed = true,
    }
    Ok(())
}

/// `TransInfo` as a header without `AddInfo`; values are checked later, all at once.
fn read_trans_info(element: Element, path: &str) -> Result<DxpHeader, DxpError> {
    check_no_text(&element, path)?;
    let mut fields: [Option<String>; 4] = Default::default();
    let mut receiver_ids = None;
    for child in element.children {
        let child_path = child.path_in(path);
        let slot = match (child.ns, &*child.name) {
            (Ns::Dxp, "CopMsgId") => 0,
            (Ns::Dxp, "SenderId") => 1,
            (Ns::Dxp, "CreatTime") => 2,
            (Ns::Dxp, "MsgType") => 3,
            (Ns::Dxp, "ReceiverIds") if child.index == 1 => {
                receiver_ids = Some(read_receiver_ids(child, &child_path)?);
                continue;
            }
            (Ns::Dxp, "ReceiverIds") => {
                return Err(DxpError::DuplicateElement { path: child_path });
            }
            _ => return Err(DxpError::UnknownElement { path: child_path }),
        };
        if child.index > 1 {
            return Err(DxpError::DuplicateElement { path: child_path });
        }
        fields[slot] = Some(field_text(child, &child_path)?);
    }
    let [cop_msg_id, sender_id, creat_time, msg_type] = fields;
    Ok(DxpHeader {
        cop_msg_id: required(cop_msg_id, TRANS_INFO, "CopMsgId")?,
        sender_id: required(sender_id, TRANS_INFO, "SenderId")?,
        receiver_ids: required(receiver_ids, TRANS_INFO, "ReceiverIds")?,
        creat_time: required(creat_time, TRANS_INFO, "CreatTime")?,
        msg_type: required(msg_type, TRANS_INFO, "MsgType")?,
        add_info: None,
        signed: false,
    })
}

/// `ReceiverIds`: every `ReceiverId`, at least one (the count's upper bound is a field rule).
fn read_receiver_ids(element: Element, path: &str) -> Result<Vec<String>, DxpError> {
    check_no_text(&element, path)?;
    let mut receivers = Vec::with_capacity(element.children.len());
    for child in element.children {
        let child_path = child.path_in(path);
        if child.ns != Ns::Dxp || &*child.name != "ReceiverId" {
            return Err(DxpError::UnknownElement { path: child_path });
        }
        receivers.push(field_text(child, &child_path)?);
    }
    if receivers.is_empty() {
        return Err(DxpError::MissingElement {
            path: format!("{RECEIVER_IDS}/ReceiverId"),
        });
    }
    Ok(receivers)
}

fn read_add_info(element: Element, path: &str) -> Result<AddInfo, DxpError> {
    check_no_text(&element, path)?;
    let mut add_info = AddInfo::default();
    for child in element.children {
        let child_path = child.path_in(path);
        let known = child.ns == Ns::Dxp
            && matches!(
                &*child.name,
                "FileName" | "IcCard" | "BizKey" | "IsText" | "RecMapId"
            );
        if !known {
            return Err(DxpError::UnknownElement { path: child_path });
        }
        if child.index > 1 {
            return Err(DxpError::DuplicateElement { path: child_path });
        }
        match &*child.name {
            "FileName" => add_info.file_name = Some(field_text(child, &child_path)?),
            "IcCard" => add_info.ic_card = Some(field_text(child, &child_path)?),
            "BizKey" => add_info.biz_keys = read_biz_keys(child, &child_path)?,
            // Allowed by the XSD, not kept (see `AddInfo`).
            _ => {}
        }
    }
    Ok(add_info)
}

/// `BizKey`: its `Key` elements, at least one (the upper bound is a field rule).
fn read_biz_keys(element: Element, path: &str) -> Result<Vec<BizKey>, DxpError> {
    check_no_text(&element, path)?;
    let mut keys = Vec::with_capacity(element.children.len());
    for child in element.children {
        let child_path = child.path_in(path);
        if child.ns != Ns::Dxp || &*child.name != "Key" {
            return Err(DxpError::UnknownElement { path: child_path });
        }
        let name = child.attribute("name").map(str::to_owned);
        let value = field_text(child, &child_path)?;
        keys.push(BizKey { name, value });
    }
    if keys.is_empty() {
        return Err(DxpError::MissingElement {
            path: indexed(BIZ_KEY, "Key", 0),
        });
    }
    Ok(keys)
}

/// The text of an element that holds only text.
fn field_text(element: Element, path: &str) -> Result<String, DxpError> {
    if let Some(child) = element.children.first() {
        return Err(DxpError::Malformed {
            path: child.path_in(path),
            detail: "a field element cannot contain elements".to_owned(),
        });
    }
    Ok(element.text)
}

/// Container elements hold only elements; whitespace between them is formatting.
fn check_no_text(element: &Element, path: &str) -> Result<(), DxpError> {
    if element.text.trim().is_empty() {
        return Ok(());
    }
    Err(DxpError::Malformed {
        path: path.to_owned(),
        detail: "unexpected text in a container element".to_owned(),
    })
}

fn required<T>(value: Option<T>, parent: &str, name: &str) -> Result<T, DxpError> {
    value.ok_or_else(|| DxpError::MissingElement {
        path: format!("{parent}/{name}"),
    })
}

/// Decodes `Data`, refusing a payload over `bytes_max` from the Base64 length alone, before any
/// of it is decoded. XML whitespace (line breaks of MIME-style encoders) is ignored, as
/// `xs:base64Binary` allows.
fn decode_payload(data: &str, bytes_max: usize) -> Result<Vec<u8>, DxpError> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let compact: Cow<'_, str> = if data.contains(is_space) {
        Cow::Owned(data.chars().filter(|c| !is_space(*c)).collect())
    } else {
        Cow::Borrowed(data)
    };
    let padding = compact
        .bytes()
        .rev()
        .take_while(|b| *b == b'=')
        .count()
        .min(2);
    let size_bytes = (compact.len() / 4 * 3).saturating_sub(padding) + (compact.len() % 4) * 3 / 4;
    if size_bytes > bytes_max {
        return Err(DxpError::PayloadTooLarge {
            size_bytes,
            limit_bytes: bytes_max,
        });
    }
    BASE64
        .decode(compact.as_bytes())
        .map_err(|e| DxpError::InvalidBase64 {
            detail: crate::dom::one_line(&e.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_size_is_known_from_the_base64_length() {
        for size in 0..64 {
            let encoded = BASE64.encode(vec![b'x'; size]);
            assert_eq!(decode_payload(&encoded, size).map(|p| p.len()), Ok(size));
            assert_eq!(
                decode_payload(&encoded, size.saturating_sub(1)).map(|p| p.len()),
                if size == 0 {
                    Ok(0)
                } else {
                    Err(DxpError::PayloadTooLarge {
                        size_bytes: size,
                        limit_bytes: size - 1,
                    })
                }
            );
        }
    }

    #[test]
    fn wrapped_base64_lines_decode() {
        let encoded = BASE64.encode([7u8; 100]);
        let (first, rest) = encoded.split_at(76);
        assert_eq!(
            decode_payload(&format!("\r\n  {first}\r\n{rest}\n"), 100),
            Ok(vec![7u8; 100])
        );
    }

    #[test]
    fn the_envelope_cap_leaves_room_for_a_full_payload_and_does_not_overflow() {
        let limits = Limits::default();
        assert!(envelope_bytes_max(&limits) > limits.message_bytes_max / 3 * 4);
        let huge = Limits {
            message_bytes_max: usize::MAX,
            ..limits
        };
        assert_eq!(envelope_bytes_max(&huge), usize::MAX);
    }
}
