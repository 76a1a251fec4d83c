//! Writing the model as CEB XML, in XSD element order, with the `ceb:` prefix.
//!
//! The output is already in W3C Canonical XML 1.0 form (apart from the XML declaration, which
//! canonicalization drops), so [`crate::sign`] can digest it as written:
//!
//! * the root carries `xmlns:ceb` first, then `guid` and `version` (namespace declarations first,
//!   then attributes sorted by name, as C14N orders them);
//! * every element is written as a start-end pair, never `<x/>`;
//! * text escapes exactly `&` `<` `>` and CR (`&amp;` `&lt;` `&gt;` `&#xD;`); attribute values
//!   escape exactly `&` `<` `"` TAB LF CR (`&amp;` `&lt;` `&quot;` `&#x9;` `&#xA;` `&#xD;`);
//! * no other namespace declarations, no comments, no CDATA; whitespace between elements is a
//!   newline plus indentation, which C14N keeps as is.
//!
//! `None` fields are omitted; `Some("")` and required empty strings are written as empty elements.
//! Characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF) are refused, not dropped.

use crate::error::CebError;
use crate::message::{CebMessage, Declaration, Receipt};
use crate::model::{
    BaseSubscribe, BaseTransfer, Delivery, DeliveryReturn, Inventory, InventoryReturn, InvtCancel,
    InvtCancelReturn, InvtRefund, InvtRefundReturn, LogisticsHead, LogisticsReturn,
    LogisticsStatus, LogisticsStatusReturn, MessageReturn, Order, OrderReturn, PaymentHead,
    PaymentReturn, Record, Tax, TaxHeadStatus,
};

const PREFIX: &str = "ceb";
pub(crate) const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Writes `message` as a UTF-8 CEB XML document (unsigned; see [`crate::sign::sign`]).
pub fn to_xml(message: &CebMessage) -> Result<String, CebError> {
    let root = message.root_name();
    match message {
        CebMessage::Ceb311(m) => write_declaration(root, m),
        CebMessage::Ceb312(m) => write_receipt(root, m),
        CebMessage::Ceb411(m) => write_declaration(root, m),
        CebMessage::Ceb412(m) => write_receipt(root, m),
        CebMessage::Ceb511(m) => write_declaration(root, m),
        CebMessage::Ceb512(m) => write_receipt(root, m),
        CebMessage::Ceb513(m) => write_declaration(root, m),
        CebMessage::Ceb514(m) => write_receipt(root, m),
        CebMessage::Ceb621(m) => write_declaration(root, m),
        CebMessage::Ceb622(m) => write_receipt(root, m),
        CebMessage::Ceb623(m) => write_declaration(root, m),
        CebMessage::Ceb624(m) => write_receipt(root, m),
        CebMessage::Ceb625(m) => write_declaration(root, m),
        CebMessage::Ceb626(m) => write_receipt(root, m),
        CebMessage::Ceb711(m) => write_declaration(root, m),
        CebMessage::Ceb712(m) => write_receipt(root, m),
        CebMessage::Ceb816(m) => write_receipt(root, m),
        CebMessage::Ceb818(m) => write_receipt(root, m),
        CebMessage::Ceb900(m) => write_receipt(root, m),
    }
}

/// How a type is written as a direct child of the message root.
pub(crate) trait WriteBusiness {
    fn write(&self, writer: &mut XmlWriter) -> Result<(), CebError>;
}

macro_rules! write_flat {
    ($($record:ty),* $(,)?) => {$(
        impl WriteBusiness for $record {
            fn write(&self, writer: &mut XmlWriter) -> Result<(), CebError> {
                writer.record(self)
            }
        }
    )*};
}

macro_rules! write_wrapped {
    ($($record:ty => $wrapper:literal),* $(,)?) => {$(
        impl WriteBusiness for $record {
            fn write(&self, writer: &mut XmlWriter) -> Result<(), CebError> {
                writer.open($wrapper);
                writer.record(self)?;
                writer.close($wrapper);
                Ok(())
            }
        }
    )*};
}

macro_rules! write_composite {
    ($($composite:ident),* $(,)?) => {$(
        impl WriteBusiness for $composite {
            fn write(&self, writer: &mut XmlWriter) -> Result<(), CebError> {
                writer.open(stringify!($composite));
                writer.record(&self.head)?;
                for line in &self.lists {
                    writer.record(line)?;
                }
                writer.close(stringify!($composite));
                Ok(())
            }
        }
    )*};
}

write_flat!(
    LogisticsStatus,
    InvtCancel,
    OrderReturn,
    PaymentReturn,
    LogisticsReturn,
    LogisticsStatusReturn,
    InventoryReturn,
    InvtCancelReturn,
    InvtRefundReturn,
    DeliveryReturn,
    MessageReturn,
);
write_wrapped!(PaymentHead => "Payment", LogisticsHead => "Logistics", TaxHeadStatus => "Tax");
write_composite!(Order, Inventory, InvtRefund, Delivery, Tax);

fn write_declaration<T: WriteBusiness>(
    root: &str,
    message: &Declaration<T>,
) -> Result<String, CebError> {
    let mut writer = XmlWriter::start(root, &message.guid, &message.version)?;
    for record in &message.records {
        record.write(&mut writer)?;
    }
    writer.record::<BaseTransfer>(&message.base_transfer)?;
    for subscribe in &message.base_subscribes {
        writer.record::<BaseSubscribe>(subscribe)?;
    }
    Ok(writer.finish(root))
}

fn write_receipt<T: WriteBusiness>(root: &str, message: &Receipt<T>) -> Result<String, CebError> {
    let mut writer = XmlWriter::start(root, &message.guid, &message.version)?;
    for record in &message.records {
        record.write(&mut writer)?;
    }
    Ok(writer.finish(root))
}

/// Appends canonical-form XML to a string, tracking the open elements for indentation and paths.
#[derive(Debug)]
pub(crate) struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
    root: String,
}

impl XmlWriter {
    fn start(root: &str, guid: &str, version: &str) -> Result<Self, CebError> {
        let path = format!("/{root}");
        let mut out = String::with_capacity(4096);
        out.push_str(XML_DECLARATION);
        out.push_str(&format!(
            "<{PREFIX}:{root} xmlns:{PREFIX}=\"{}\"",
            crate::model::CEB_NAMESPACE
        ));
        out.push_str(" guid=\"");
        escape_attribute(guid, &mut out, &path)?;
        out.push_str("\" version=\"");
        escape_attribute(version, &mut out, &path)?;
        out.push_str("\">");
        Ok(Self {
            out,
            open: Vec::new(),
            root: root.to_owned(),
        })
    }

    fn finish(mut self, root: &str) -> String {
        self.out.push_str(&format!("\n</{PREFIX}:{root}>"));
        self.out
    }

    fn open(&mut self, tag: &'static str) {
        self.indent();
        self.out.push_str(&format!("<{PREFIX}:{tag}>"));
        self.open.push(tag);
    }

    fn close(&mut self, tag: &'static str) {
        self.open.pop();
        self.indent();
        self.out.push_str(&format!("</{PREFIX}:{tag}>"));
    }

    fn indent(&mut self) {
        self.out.push('\n');
        for _ in 0..=self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Writes a flat record with its fields in XSD order, omitting absent optional ones.
    fn record<R: Record>(&mut self, record: &R) -> Result<(), CebError> {
        self.open(R::TAG);
        for spec in R::FIELDS {
            if let Some(value) = record.field(spec.name) {
                self.field(spec.name, value)?;
            }
        }
        self.close(R::TAG);
        Ok(())
    }

    fn field(&mut self, name: &'static str, value: &str) -> Result<(), CebError> {
        self.indent();
        self.out.push_str(&format!("<{PREFIX}:{name}>"));
        let path = self.path_to(name);
        escape_text(value, &mut self.out, &path)?;
        self.out.push_str(&format!("</{PREFIX}:{name}>"));
        Ok(())
    }

    fn path_to(&self, name: &str) -> String {
        let mut path = format!("/{}", self.root);
        for tag in &self.open {
            path.push('/');
            path.push_str(tag);
        }
        path.push('/');
        path.push_str(name);
        path
    }
}

/// Escapes element text as C14N does.
pub(crate) fn escape_text(text: &str, out: &mut String, path: &str) -> Result<(), CebError> {
    for c in text.chars() {
        check_xml_char(c, path)?;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
    Ok(())
}

/// Escapes an attribute value as C14N does.
pub(crate) fn escape_attribute(value: &str, out: &mut String, path: &str) -> Result<(), CebError> {
    for c in value.chars() {
        check_xml_char(c, path)?;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
    Ok(())
}

/// XML 1.0 `Char`: TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000.. (Rust has no surrogates).
pub(crate) fn check_xml_char(c: char, path: &str) -> Result<(), CebError> {
    let allowed =
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
    if allowed {
        Ok(())
    } else {
        Err(CebError::UnencodableChar {
            path: path.to_owned(),
            code_point: u32::from(c),
        })
    }
}
