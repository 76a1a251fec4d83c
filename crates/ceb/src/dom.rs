//! A small element tree built with quick-xml: the only place that touches XML tokens when parsing.
//!
//! The tree is bounded by [`Limits::message_bytes_max`] and [`Limits::depth_max`]; DTDs and
//! non-predefined entities are refused here, before any business mapping runs.

use std::collections::HashMap;

use quick_xml::encoding::Decoder;
use quick_xml::errors::{Error as XmlError, SyntaxError};
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::error::CebError;
use crate::message::Limits;
use crate::model::CEB_NAMESPACE;

/// Namespace of the XML-DSig elements.
pub(crate) const DSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The namespaces the codec tells apart; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    Ceb,
    Dsig,
    None,
    Other,
}

/// One element with its text (concatenated, entities resolved) and child elements.
#[derive(Debug)]
pub(crate) struct Element {
    pub name: String,
    pub ns: Ns,
    /// Unprefixed attributes only; root `guid`/`version` are the only ones CEB uses.
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// Path from the root, e.g. `/CEB311Message/Order[2]/OrderHead/orderNo`: the second and later
    /// siblings of one name carry a 1-based index, the first carries none.
    pub path: String,
}

impl Element {
    /// Whether this is the CEB element `name`.
    pub fn is_ceb(&self, name: &str) -> bool {
        self.ns == Ns::Ceb && self.name == name
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An element being built, with per-name sibling counters for its children's paths.
struct Frame {
    element: Element,
    child_counts: HashMap<String, usize>,
}

/// Reads `text` into an element tree, refusing DTDs, unknown entities and over-deep nesting.
pub(crate) fn read_tree(text: &str, limits: &Limits) -> Result<Element, CebError> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_resolved_event();
        let (resolved, event) = event.map_err(|e| xml_error(e, &stack))?;
        let ns = classify(&resolved);
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed(&stack, "content after the root element"));
                }
                let frame = open_element(&start, ns, reader.decoder(), &stack, limits)?;
                stack.push(frame);
            }
            Event::End(_) => {
                let element = close_element(&mut stack)?;
                match stack.last_mut() {
                    Some(parent) => parent.element.children.push(element),
                    None => root = Some(element),
                }
            }
            // XML 1.0 line ends only: quick-xml's `xml_content` applies XML 1.1's, which also turn
            // NEL (U+0085) and LINE SEPARATOR (U+2028) into LF, so text would not read back as
            // the emitter wrote it.
            Event::Text(t) => push_text(&mut stack, &t.xml10_content().map_err(encoding_error)?)?,
            Event::CData(t) => push_text(&mut stack, &t.xml10_content().map_err(encoding_error)?)?,
            Event::GeneralRef(r) => push_reference(&mut stack, &r)?,
            Event::DocType(_) => {
                return Err(CebError::DtdForbidden {
                    path: path_of(&stack),
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            // `expand_empty_elements` turns `<x/>` into Start + End, so Empty never arrives.
            Event::Empty(_) => return Err(malformed(&stack, "unexpected empty-element event")),
            Event::Eof => return finish(root, &stack),
        }
    }
}

fn finish(root: Option<Element>, stack: &[Frame]) -> Result<Element, CebError> {
    match root {
        Some(root) if stack.is_empty() => Ok(root),
        _ => Err(CebError::Truncated {
            path: path_of(stack),
        }),
    }
}

fn classify(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == CEB_NAMESPACE.as_bytes() => Ns::Ceb,
        ResolveResult::Bound(ns) if ns.as_ref() == DSIG_NAMESPACE.as_bytes() => Ns::Dsig,
        ResolveResult::Unbound => Ns::None,
        _ => Ns::Other,
    }
}

fn open_element(
    start: &BytesStart<'_>,
    ns: Ns,
    decoder: Decoder,
    stack: &[Frame],
    limits: &Limits,
) -> Result<Frame, CebError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let path = child_path(stack, &name);
    if stack.len() + 1 > limits.depth_max {
        return Err(CebError::TooDeep {
            path,
            limit: limits.depth_max,
        });
    }
    let attributes = read_attributes(start, decoder, &path)?;
    let element = Element {
        name,
        ns,
        attributes,
        children: Vec::new(),
        text: String::new(),
        path,
    };
    Ok(Frame {
        element,
        child_counts: HashMap::new(),
    })
}

/// Path of a new child of the innermost open element, updating the sibling counter.
fn child_path(stack: &[Frame], name: &str) -> String {
    let Some(parent) = stack.last() else {
        return format!("/{name}");
    };
    let index = parent.child_counts.get(name).copied().unwrap_or(0) + 1;
    if index == 1 {
        format!("{}/{name}", parent.element.path)
    } else {
        format!("{}/{name}[{index}]", parent.element.path)
    }
}

fn close_element(stack: &mut Vec<Frame>) -> Result<Element, CebError> {
    // quick-xml checks end names, so this only fails if that check is ever turned off.
    let frame = stack
        .pop()
        .ok_or_else(|| malformed(&[], "end tag without start tag"))?;
    if let Some(parent) = stack.last_mut() {
        let count = parent
            .child_counts
            .entry(frame.element.name.clone())
            .or_insert(0);
        *count += 1;
    }
    Ok(frame.element)
}

fn read_attributes(
    start: &BytesStart<'_>,
    decoder: Decoder,
    path: &str,
) -> Result<Vec<(String, String)>, CebError> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| CebError::Malformed {
            path: path.to_owned(),
            detail: one_line(&e.to_string()),
        })?;
        let key = attribute.key;
        if key.prefix().is_some() || key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let value = attribute
            .decode_and_unescape_value_with(decoder, resolve_xml_entity)
            .map_err(|e| escape_error(e, path))?;
        let name = String::from_utf8_lossy(key.as_ref()).into_owned();
        attributes.push((name, value.into_owned()));
    }
    Ok(attributes)
}

fn push_text(stack: &mut [Frame], text: &str) -> Result<(), CebError> {
    match stack.last_mut() {
        Some(frame) => frame.element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed(stack, "text outside the root element")),
    }
    Ok(())
}

fn push_reference(stack: &mut [Frame], reference: &BytesRef<'_>) -> Result<(), CebError> {
    let path = path_of(stack);
    let resolved = resolve_reference(reference, &path)?;
    match stack.last_mut() {
        Some(frame) => frame.element.text.push(resolved),
        None => return Err(malformed(stack, "reference outside the root element")),
    }
    Ok(())
}

/// Resolves a character reference or one of the five predefined entities; refuses the rest.
fn resolve_reference(reference: &BytesRef<'_>, path: &str) -> Result<char, CebError> {
    let bad = |detail: String| CebError::Malformed {
        path: path.to_owned(),
        detail,
    };
    if reference.is_char_ref() {
        let resolved = reference
            .resolve_char_ref()
            .map_err(|e| bad(one_line(&e.to_string())))?;
        return resolved.ok_or_else(|| bad("empty character reference".to_owned()));
    }
    let name = reference
        .decode()
        .map_err(|e| bad(one_line(&e.to_string())))?;
    let value = resolve_xml_entity(&name).and_then(|v| v.chars().next());
    value.ok_or_else(|| CebError::EntityForbidden {
        path: path.to_owned(),
        name: name.into_owned(),
    })
}

fn xml_error(error: XmlError, stack: &[Frame]) -> CebError {
    let path = path_of(stack);
    match error {
        XmlError::Syntax(SyntaxError::UnclosedDoctype) => CebError::DtdForbidden { path },
        XmlError::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedPIOrXmlDecl,
        ) => CebError::Truncated { path },
        XmlError::Escape(e) => escape_error(e, &path),
        other => CebError::Malformed {
            path,
            detail: one_line(&other.to_string()),
        },
    }
}

fn escape_error(error: impl Into<XmlError>, path: &str) -> CebError {
    use quick_xml::escape::EscapeError;
    match error.into() {
        XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => CebError::EntityForbidden {
            path: path.to_owned(),
            name,
        },
        other => CebError::Malformed {
            path: path.to_owned(),
            detail: one_line(&other.to_string()),
        },
    }
}

fn encoding_error(error: quick_xml::encoding::EncodingError) -> CebError {
    CebError::InvalidEncoding {
        encoding: format!("UTF-8 ({error})"),
        offset: None,
    }
}

fn malformed(stack: &[Frame], detail: &str) -> CebError {
    CebError::Malformed {
        path: path_of(stack),
        detail: detail.to_owned(),
    }
}

fn path_of(stack: &[Frame]) -> String {
    stack
        .last()
        .map_or_else(|| "/".to_owned(), |f| f.element.path.clone())
}

/// Error details end up in one-line log records and HTTP bodies.
pub(crate) fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `ceb_parse` fuzz target: NEL and LINE SEPARATOR are ordinary characters in
    /// XML 1.0 (only CR LF and CR are line ends), in text and in CDATA sections.
    #[test]
    fn only_xml_1_0_line_ends_are_normalized() {
        let xml = "<r>a\u{85}b\u{2028}c\r\nd\re<![CDATA[\u{85}\r\n]]></r>";
        let root = read_tree(xml, &Limits::default()).expect("well-formed");
        assert_eq!(root.text, "a\u{85}b\u{2028}c\nd\ne\u{85}\n");
    }

    /// The emitter writes NEL and LINE SEPARATOR as they are; they must read back unchanged.
    #[test]
    fn next_line_and_line_separator_survive_emit_then_parse() {
        let xml = "<CEB622Message xmlns=\"http://www.chinaport.gov.cn/ceb\" guid=\"g\" \
            version=\"1.0\"><InventoryReturn><returnInfo>a&#x85;b&#x2028;c</returnInfo>\
            </InventoryReturn></CEB622Message>";
        let limits = Limits::default();
        let message = crate::parse_message(xml.as_bytes(), &limits).expect("parses");
        let emitted = crate::to_xml(&message).expect("emits");
        assert_eq!(
            crate::parse_message(emitted.as_bytes(), &limits),
            Ok(message)
        );
    }
}
