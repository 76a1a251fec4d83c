//! Parsing CEB XML into the raw model.
//!
//! Three stages, each with its own errors: [`decode_document`] turns bytes into text (UTF-8 with or
//! without BOM, or GB2312/GBK/GB18030 as declared), `dom::read_tree` builds an element tree capped
//! while it streams (no DTDs, no entities), and the `read_*` functions map the tree onto the
//! model. Each `read_*` function gets the path of its element; a child's path is built only when
//! an error names it.
//!
//! Declarations (messages we or platforms send) are read strictly: unknown, duplicate or missing
//! elements are errors with their path. Receipts from customs are read leniently: unknown elements
//! are skipped (CEB816 carries `orderNo`), missing fields become empty strings, the last duplicate
//! wins. Element order is not checked in either mode; the domain crate validates values.

use std::borrow::Cow;

use crate::dom::{self, Element, Ns};
use crate::error::CebError;
use crate::message::{CebMessage, Declaration, Limits, Receipt};
use crate::model::{
    BaseSubscribe, BaseTransfer, Delivery, DeliveryHead, DeliveryList, DeliveryReturn, Inventory,
    InventoryHead, InventoryList, InventoryReturn, InvtCancel, InvtCancelReturn, InvtRefund,
    InvtRefundHead, InvtRefundList, InvtRefundReturn, LogisticsHead, LogisticsReturn,
    LogisticsStatus, LogisticsStatusReturn, MessageReturn, Order, OrderHead, OrderList,
    OrderReturn, PaymentHead, PaymentReturn, Record, Tax, TaxHeadRd, TaxHeadStatus, TaxListRd,
};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// The XML declaration must close within this many bytes; real ones are under 100.
const DECLARATION_BYTES_MAX: usize = 256;
/// XSD `BaseSubscribe maxOccurs="5"`.
const BASE_SUBSCRIBES_MAX: usize = 5;

/// Parses one CEB message (any supported type) within `limits`.
pub fn parse_message(bytes: &[u8], limits: &Limits) -> Result<CebMessage, CebError> {
    parse_message_cancellable(bytes, limits, &|| false)
}

/// As [`parse_message`], but gives up with [`CebError::Abandoned`] once `cancelled` answers
/// true: the reader asks every few hundred XML events, so a parse stops well within a
/// millisecond of being told. A service passes a check of its request's cancellation flag,
/// deadline and shutdown signal, so that no parse outlives the request it serves.
pub fn parse_message_cancellable(
    bytes: &[u8],
    limits: &Limits,
    cancelled: &dyn Fn() -> bool,
) -> Result<CebMessage, CebError> {
    if bytes.len() > limits.message_bytes_max {
        return Err(CebError::TooLarge {
            size_bytes: bytes.len(),
            limit_bytes: limits.message_bytes_max,
        });
    }
    let text = decode_document(bytes)?;
    let root = dom::read_tree(&text, limits, cancelled)?;
    read_message(root, limits)
}

/// Decodes the input to text by its BOM or the `encoding` of its XML declaration.
///
/// GB2312 and GBK are decoded as GB18030, their superset, so any real GB-family receipt decodes.
pub fn decode_document(bytes: &[u8]) -> Result<Cow<'_, str>, CebError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.starts_with(b"\xFE\xFF") || bytes.starts_with(b"\xFF\xFE") {
        return Err(CebError::UnsupportedEncoding {
            encoding: "UTF-16".to_owned(),
        });
    }
    let declared = declared_encoding(bytes).map(|e| e.to_ascii_lowercase());
    match declared.as_deref() {
        None | Some("utf-8" | "utf8") => decode_utf8(bytes),
        Some("gb2312" | "gbk" | "gb18030" | "cp936" | "x-gbk") => decode_gb18030(bytes),
        Some(other) => Err(CebError::UnsupportedEncoding {
            encoding: other.to_owned(),
        }),
    }
}

fn decode_utf8(bytes: &[u8]) -> Result<Cow<'_, str>, CebError> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| CebError::InvalidEncoding {
            encoding: "UTF-8".to_owned(),
            offset: Some(e.valid_up_to()),
        })
}

fn decode_gb18030(bytes: &[u8]) -> Result<Cow<'_, str>, CebError> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| CebError::InvalidEncoding {
            encoding: "GB18030".to_owned(),
            offset: None,
        })
}

/// The `encoding` pseudo-attribute of a leading XML declaration, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let head = &bytes[..bytes.len().min(DECLARATION_BYTES_MAX)];
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    value.find(quote).map(|close| &value[..close])
}

/// How a type is read as a direct child of the message root.
pub(crate) trait ReadBusiness: Sized {
    /// Local name of the root child holding one record, e.g. `Order`, `Payment`.
    const ELEMENT: &'static str;
    /// Declarations are strict, receipts lenient (see the module docs).
    const STRICT: bool;
    /// Maps one root child, whose path is `path`, onto the model.
    fn read(element: Element, path: &str, limits: &Limits) -> Result<Self, CebError>;
}

/// Records that sit directly under the root, e.g. `OrderReturn`.
macro_rules! read_flat {
    ($($record:ty),* $(,)?) => {$(
        impl ReadBusiness for $record {
            const ELEMENT: &'static str = <$record as Record>::TAG;
            const STRICT: bool = <$record as Record>::STRICT;
            fn read(element: Element, path: &str, _limits: &Limits) -> Result<Self, CebError> {
                read_record(element, path)
            }
        }
    )*};
}

/// Records wrapped in a one-child element, e.g. `Payment/PaymentHead`.
macro_rules! read_wrapped {
    ($($record:ty => $wrapper:literal),* $(,)?) => {$(
        impl ReadBusiness for $record {
            const ELEMENT: &'static str = $wrapper;
            const STRICT: bool = <$record as Record>::STRICT;
            fn read(element: Element, path: &str, _limits: &Limits) -> Result<Self, CebError> {
                read_wrapped(element, path)
            }
        }
    )*};
}

/// Head-and-lines composites, e.g. `Order{OrderHead, OrderList*}`.
macro_rules! read_composite {
    ($($composite:ident($head:ty, $line:ty)),* $(,)?) => {$(
        impl ReadBusiness for $composite {
            const ELEMENT: &'static str = stringify!($composite);
            const STRICT: bool = <$head as Record>::STRICT;
            fn read(element: Element, path: &str, limits: &Limits) -> Result<Self, CebError> {
                let (head, lists) = read_composite::<$head, $line>(element, path, limits)?;
                Ok($composite { head, lists })
            }
        }
    )*};
}

read_flat!(
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
read_wrapped!(PaymentHead => "Payment", LogisticsHead => "Logistics", TaxHeadStatus => "Tax");
read_composite!(
    Order(OrderHead, OrderList),
    Inventory(InventoryHead, InventoryList),
    InvtRefund(InvtRefundHead, InvtRefundList),
    Delivery(DeliveryHead, DeliveryList),
    Tax(TaxHeadRd, TaxListRd),
);

fn read_message(root: Element, limits: &Limits) -> Result<CebMessage, CebError> {
    if root.ns != Ns::Ceb {
        return Err(CebError::UnsupportedMessage {
            root: root.name.into(),
            detail: format!(
                "root element is not in namespace {}",
                crate::model::CEB_NAMESPACE
            ),
        });
    }
    match &*root.name {
        "CEB311Message" => read_declaration(root, limits).map(CebMessage::Ceb311),
        "CEB312Message" => read_receipt(root, limits).map(CebMessage::Ceb312),
        "CEB411Message" => read_declaration(root, limits).map(CebMessage::Ceb411),
        "CEB412Message" => read_receipt(root, limits).map(CebMessage::Ceb412),
        "CEB511Message" => read_declaration(root, limits).map(CebMessage::Ceb511),
        "CEB512Message" => read_receipt(root, limits).map(CebMessage::Ceb512),
        "CEB513Message" => read_declaration(root, limits).map(CebMessage::Ceb513),
        "CEB514Message" => read_receipt(root, limits).map(CebMessage::Ceb514),
        "CEB621Message" => read_declaration(root, limits).map(CebMessage::Ceb621),
        "CEB622Message" => read_receipt(root, limits).map(CebMessage::Ceb622),
        "CEB623Message" => read_declaration(root, limits).map(CebMessage::Ceb623),
        "CEB624Message" => read_receipt(root, limits).map(CebMessage::Ceb624),
        "CEB625Message" => read_declaration(root, limits).map(CebMessage::Ceb625),
        "CEB626Message" => read_receipt(root, limits).map(CebMessage::Ceb626),
        "CEB711Message" => read_declaration(root, limits).map(CebMessage::Ceb711),
        "CEB712Message" => read_receipt(root, limits).map(CebMessage::Ceb712),
        "CEB816Message" => read_receipt(root, limits).map(CebMessage::Ceb816),
        "CEB818Message" => read_receipt(root, limits).map(CebMessage::Ceb818),
        "CEB900Message" => read_receipt(root, limits).map(CebMessage::Ceb900),
        _ => Err(CebError::UnsupportedMessage {
            root: root.name.into(),
            detail: "not a supported CEB import message".to_owned(),
        }),
    }
}

/// Everything a message root may hold, before deciding declaration or receipt.
struct Envelope<T> {
    guid: String,
    version: String,
    records: Vec<T>,
    base_transfer: Option<BaseTransfer>,
    base_subscribes: Vec<BaseSubscribe>,
    signed: bool,
}

fn read_declaration<T: ReadBusiness>(
    root: Element,
    limits: &Limits,
) -> Result<Declaration<T>, CebError> {
    let missing_transfer = format!("{}/BaseTransfer", root.path_in(""));
    let envelope = read_envelope::<T>(root, limits)?;
    let base_transfer = envelope.base_transfer.ok_or(CebError::MissingElement {
        path: missing_transfer,
    })?;
    Ok(Declaration {
        guid: envelope.guid,
        version: envelope.version,
        records: envelope.records,
        base_transfer,
        base_subscribes: envelope.base_subscribes,
        signed: envelope.signed,
    })
}

fn read_receipt<T: ReadBusiness>(root: Element, limits: &Limits) -> Result<Receipt<T>, CebError> {
    let envelope = read_envelope::<T>(root, limits)?;
    Ok(Receipt {
        guid: envelope.guid,
        version: envelope.version,
        records: envelope.records,
        signed: envelope.signed,
    })
}

fn read_envelope<T: ReadBusiness>(root: Element, limits: &Limits) -> Result<Envelope<T>, CebError> {
    let path = root.path_in("");
    check_no_text(&root, &path, T::STRICT)?;
    let mut envelope = Envelope {
        guid: required_attribute(&root, &path, "guid")?,
        version: required_attribute(&root, &path, "version")?,
        records: Vec::new(),
        base_transfer: None,
        base_subscribes: Vec::new(),
        signed: false,
    };
    let missing_records = format!("{path}/{}", T::ELEMENT);
    for child in root.children {
        read_root_child(&mut envelope, child, &path, limits)?;
    }
    if envelope.records.is_empty() {
        return Err(CebError::MissingElement {
            path: missing_records,
        });
    }
    Ok(envelope)
}

fn read_root_child<T: ReadBusiness>(
    envelope: &mut Envelope<T>,
    child: Element,
    parent: &str,
    limits: &Limits,
) -> Result<(), CebError> {
    let path = || child.path_in(parent);
    if child.ns == Ns::Dsig && &*child.name == "Signature" {
        envelope.signed = true;
    } else if child.is_ceb(T::ELEMENT) {
        if envelope.records.len() >= limits.records_max {
            return Err(CebError::TooManyRecords {
                path: path(),
                limit: limits.records_max,
            });
        }
        let path = path();
        envelope.records.push(T::read(child, &path, limits)?);
    } else if child.is_ceb(BaseTransfer::TAG) {
        if envelope.base_transfer.is_some() && T::STRICT {
            return Err(CebError::DuplicateElement { path: path() });
        }
        let path = path();
        envelope.base_transfer = Some(read_record(child, &path)?);
    } else if child.is_ceb(BaseSubscribe::TAG) {
        if envelope.base_subscribes.len() >= BASE_SUBSCRIBES_MAX {
            return Err(CebError::TooManyRecords {
                path: path(),
                limit: BASE_SUBSCRIBES_MAX,
            });
        }
        let path = path();
        envelope.base_subscribes.push(read_record(child, &path)?);
    } else if child.is_ceb("ExtendMessage") {
        // Free-form extension data (`xs:any`): allowed by the XSD, meaningless to us.
    } else if T::STRICT {
        return Err(CebError::UnknownElement { path: path() });
    }
    Ok(())
}

fn required_attribute(element: &Element, path: &str, name: &str) -> Result<String, CebError> {
    element
        .attribute(name)
        .map(str::to_owned)
        .ok_or_else(|| CebError::MissingAttribute {
            path: path.to_owned(),
            name: name.to_owned(),
        })
}

/// Reads a `Wrapper{Record}` element such as `Payment{PaymentHead}` found at `path`.
fn read_wrapped<R: Record>(element: Element, path: &str) -> Result<R, CebError> {
    check_no_text(&element, path, R::STRICT)?;
    let mut record = None;
    for child in element.children {
        if !child.is_ceb(R::TAG) {
            if R::STRICT {
                return Err(CebError::UnknownElement {
                    path: child.path_in(path),
                });
            }
        } else if record.is_some() && R::STRICT {
            return Err(CebError::DuplicateElement {
                path: child.path_in(path),
            });
        } else {
            let child_path = child.path_in(path);
            record = Some(read_record(child, &child_path)?);
        }
    }
    record.ok_or_else(|| CebError::MissingElement {
        path: format!("{path}/{}", R::TAG),
    })
}

/// Reads a head-and-lines element such as `Order{OrderHead, OrderList*}` found at `path`.
fn read_composite<H: Record, L: Record>(
    element: Element,
    path: &str,
    limits: &Limits,
) -> Result<(H, Vec<L>), CebError> {
    check_no_text(&element, path, H::STRICT)?;
    let mut head = None;
    let mut lines = Vec::new();
    for child in element.children {
        if child.is_ceb(H::TAG) {
            if head.is_some() && H::STRICT {
                return Err(CebError::DuplicateElement {
                    path: child.path_in(path),
                });
            }
            let child_path = child.path_in(path);
            head = Some(read_record(child, &child_path)?);
        } else if child.is_ceb(L::TAG) {
            if lines.len() >= limits.lines_max {
                return Err(CebError::TooManyLines {
                    path: child.path_in(path),
                    limit: limits.lines_max,
                });
            }
            let child_path = child.path_in(path);
            lines.push(read_record(child, &child_path)?);
        } else if H::STRICT {
            return Err(CebError::UnknownElement {
                path: child.path_in(path),
            });
        }
    }
    if lines.is_empty() && H::STRICT {
        return Err(CebError::MissingElement {
            path: format!("{path}/{}", L::TAG),
        });
    }
    let head = head.ok_or_else(|| CebError::MissingElement {
        path: format!("{path}/{}", H::TAG),
    })?;
    Ok((head, lines))
}

/// Reads a flat record found at `path`: every child is a text field named in `R::FIELDS`.
fn read_record<R: Record>(element: Element, path: &str) -> Result<R, CebError> {
    check_no_text(&element, path, R::STRICT)?;
    let mut record = R::default();
    let mut seen: Vec<&'static str> = Vec::with_capacity(R::FIELDS.len());
    for child in element.children {
        let spec = R::FIELDS
            .iter()
            .find(|f| child.ns == Ns::Ceb && f.name == &*child.name);
        let Some(spec) = spec else {
            if R::STRICT {
                return Err(CebError::UnknownElement {
                    path: child.path_in(path),
                });
            }
            continue;
        };
        if seen.contains(&spec.name) && R::STRICT {
            return Err(CebError::DuplicateElement {
                path: child.path_in(path),
            });
        }
        if let Some(grandchild) = child.children.first() {
            return Err(CebError::Malformed {
                path: grandchild.path_in(&child.path_in(path)),
                detail: "a field element cannot contain elements".to_owned(),
            });
        }
        record.set_field(spec.name, child.text);
        seen.push(spec.name);
    }
    check_required::<R>(path, &seen)?;
    Ok(record)
}

/// Strict records must carry every required field; lenient ones keep the empty default.
fn check_required<R: Record>(path: &str, seen: &[&str]) -> Result<(), CebError> {
    if !R::STRICT {
        return Ok(());
    }
    match R::FIELDS
        .iter()
        .find(|f| f.required && !seen.contains(&f.name))
    {
        Some(missing) => Err(CebError::MissingElement {
            path: format!("{path}/{}", missing.name),
        }),
        None => Ok(()),
    }
}

/// Container elements hold only elements; whitespace between them is formatting.
fn check_no_text(element: &Element, path: &str, strict: bool) -> Result<(), CebError> {
    if strict && !element.text.trim().is_empty() {
        return Err(CebError::Malformed {
            path: path.to_owned(),
            detail: "unexpected text in a container element".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encoding_is_read_from_the_xml_declaration() {
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding='GBK'?><a/>"),
            Some("GBK")
        );
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding = \"utf-8\"?>"),
            Some("utf-8")
        );
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn utf16_is_refused() {
        let error = decode_document(b"\xFF\xFE<\0a\0/\0>\0").expect_err("utf-16");
        assert_eq!(error.code(), "ceb.unsupported_encoding");
    }
}
