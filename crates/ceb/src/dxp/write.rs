//! Writing an envelope, in the shape of the ZJ template: `DxpMsg` with the DXP namespace as the
//! default namespace, elements in XSD order, `Data` as one line of standard Base64.
//!
//! Like [`crate::emit`], the output is in Canonical XML form (start-end pairs, C14N escaping, the
//! namespace declaration before `ver`), so an envelope signature could digest it as written.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::error::DxpError;
use super::header::{AddInfo, BizKey, DxpHeader, TimeRule};
use super::{DXP_NAMESPACE, message_type};
use crate::emit::{XML_DECLARATION, escape_attribute, escape_text};
use crate::error::CebError;
use crate::message::Limits;

/// Wraps the bytes of a business message, unchanged, in a DXP envelope with `header`.
///
/// Refuses a header that breaks the XSD or the spec (`CreatTime` must be
/// `yyyy-mm-ddThh:mm:ss`), and a `MsgType` that is not the message's root element name (build
/// the header with [`DxpHeader::for_message`] to get it right). Only the message's root start
/// tag is read, with the default [`Limits`]; nothing caps its size here: the sender bounds its
/// own messages, and [`super::unwrap`] caps what it receives.
pub fn wrap(message_xml: &[u8], header: &DxpHeader) -> Result<String, DxpError> {
    header.check(TimeRule::Spec)?;
    let root = message_type(message_xml, &Limits::default())?;
    if root != header.msg_type {
        return Err(DxpError::MsgTypeMismatch {
            msg_type: header.msg_type.clone(),
            root,
        });
    }
    let mut writer = Writer::new(message_xml.len());
    writer.trans_info(header)?;
    writer.data(message_xml);
    if let Some(add_info) = &header.add_info {
        writer.add_info(add_info)?;
    }
    Ok(writer.finish())
}

/// Appends the envelope to a string, tracking the open elements for indentation and paths.
struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    fn new(payload_bytes: usize) -> Self {
        let mut out = String::with_capacity(payload_bytes.div_ceil(3) * 4 + 1024);
        out.push_str(XML_DECLARATION);
        out.push_str(&format!("<DxpMsg xmlns=\"{DXP_NAMESPACE}\" ver=\"1.0\">"));
        Self {
            out,
            open: vec!["DxpMsg"],
        }
    }

    fn finish(mut self) -> String {
        self.close();
        self.out
    }

    fn trans_info(&mut self, header: &DxpHeader) -> Result<(), DxpError> {
        self.open("TransInfo");
        self.field("CopMsgId", &header.cop_msg_id)?;
        self.field("SenderId", &header.sender_id)?;
        self.open("ReceiverIds");
        for receiver in &header.receiver_ids {
            self.field("ReceiverId", receiver)?;
        }
        self.close();
        self.field("CreatTime", &header.creat_time)?;
        self.field("MsgType", &header.msg_type)?;
        self.close();
        Ok(())
    }

    /// `Data`: Base64 is plain ASCII with nothing to escape.
    fn data(&mut self, payload: &[u8]) {
        self.indent();
        self.out.push_str("<Data>");
        BASE64.encode_string(payload, &mut self.out);
        self.out.push_str("</Data>");
    }

    fn add_info(&mut self, add_info: &AddInfo) -> Result<(), DxpError> {
        self.open("AddInfo");
        if let Some(name) = &add_info.file_name {
            self.field("FileName", name)?;
        }
        if let Some(card) = &add_info.ic_card {
            self.field("IcCard", card)?;
        }
        if !add_info.biz_keys.is_empty() {
            self.open("BizKey");
            for key in &add_info.biz_keys {
                self.key(key)?;
            }
            self.close();
        }
        self.close();
        Ok(())
    }

    fn key(&mut self, key: &BizKey) -> Result<(), DxpError> {
        let path = self.path("Key");
        self.indent();
        self.out.push_str("<Key");
        if let Some(name) = &key.name {
            self.out.push_str(" name=\"");
            escape_attribute(name, &mut self.out, &format!("{path}/@name")).map_err(invalid)?;
            self.out.push('"');
        }
        self.out.push('>');
        escape_text(&key.value, &mut self.out, &path).map_err(invalid)?;
        self.out.push_str("</Key>");
        Ok(())
    }

    fn open(&mut self, tag: &'static str) {
        self.indent();
        self.out.push_str(&format!("<{tag}>"));
        self.open.push(tag);
    }

    fn close(&mut self) {
        let tag = self.open.pop().unwrap_or("DxpMsg");
        if !self.open.is_empty() {
            self.indent();
        } else {
            self.out.push('\n');
        }
        self.out.push_str(&format!("</{tag}>"));
    }

    fn field(&mut self, tag: &'static str, value: &str) -> Result<(), DxpError> {
        let path = self.path(tag);
        self.indent();
        self.out.push_str(&format!("<{tag}>"));
        escape_text(value, &mut self.out, &path).map_err(invalid)?;
        self.out.push_str(&format!("</{tag}>"));
        Ok(())
    }

    /// A newline and two spaces per open element below the root.
    fn indent(&mut self) {
        self.out.push('\n');
        for _ in 1..=self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn path(&self, name: &str) -> String {
        format!("/{}/{name}", self.open.join("/"))
    }
}

/// The header check refuses every character the escapers would, so this only maps the
/// escapers' error type should the two ever disagree.
fn invalid(error: CebError) -> DxpError {
    DxpError::InvalidField {
        path: error.path().unwrap_or("/DxpMsg").to_owned(),
        detail: error.to_string(),
    }
}
