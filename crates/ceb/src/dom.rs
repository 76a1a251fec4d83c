//! A small element tree built with quick-xml: the only place that touches XML tokens when parsing.
//!
//! Every structural cap of [`Limits`] (element count, nesting depth, name lengths, attributes per
//! element, total text) is checked on each token as it streams in, before anything of it is kept,
//! so a parse holds at most `elements_max` small nodes, names of `name_bytes_max` bytes and
//! `text_bytes_max` bytes of text, whatever the input's shape. An element stores its name and its
//! position among same-named siblings, never its path: paths are built only when an error needs
//! one. DTDs and non-predefined entities are refused here, before any business mapping runs.
//!
//! Why quick-xml events with our own counters rather than a tree parser with a node limit
//! (roxmltree's `nodes_limit`): the caps must bind before memory is spent on a token, names and
//! attributes need caps of their own, and a parse must be abandonable when its request is gone.
//! roxmltree limits only its node count and builds the whole tree in one call that cannot be
//! interrupted; it would also be a second XML parser beside the one the signer uses.

use std::collections::HashMap;

use quick_xml::encoding::Decoder;
use quick_xml::errors::{Error as XmlError, SyntaxError};
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::dxp::DXP_NAMESPACE;
use crate::error::CebError;
use crate::message::Limits;
use crate::model::CEB_NAMESPACE;

/// Namespace of the XML-DSig elements.
pub(crate) const DSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The reader asks whether to give up once every this many events: a few hundred microseconds of
/// work at most, and nothing measurable in cost.
const EVENTS_PER_CANCEL_CHECK: usize = 256;

/// Longest piece of input (a parser message, an entity name) copied into an error, in
/// characters: errors end up in log lines and HTTP bodies.
const ERROR_DETAIL_CHARS_MAX: usize = 200;

/// The namespaces the codec tells apart; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    Ceb,
    Dsig,
    Dxp,
    None,
    Other,
}

/// One element with its text (concatenated, entities resolved) and child elements.
#[derive(Debug)]
pub(crate) struct Element {
    /// Local name.
    pub name: Box<str>,
    pub ns: Ns,
    /// 1-based position among the siblings of the same local name.
    pub index: usize,
    /// Unprefixed attributes only; root `guid`/`version` are the only ones CEB uses.
    pub attributes: Vec<(Box<str>, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    fn new(name: Box<str>, ns: Ns) -> Self {
        Self {
            name,
            ns,
            index: 1,
            attributes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
        }
    }

    /// Whether this is the CEB element `name`.
    pub fn is_ceb(&self, name: &str) -> bool {
        self.ns == Ns::Ceb && &*self.name == name
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }

    /// This element's path given its parent's (`""` for the root), e.g.
    /// `/CEB311Message/Order[2]`.
    pub fn path_in(&self, parent: &str) -> String {
        step_path(parent, &self.name, self.index)
    }
}

/// `{parent}/{name}`; the second and later siblings of one name carry their 1-based index, the
/// first carries none.
fn step_path(parent: &str, name: &str, index: usize) -> String {
    if index <= 1 {
        format!("{parent}/{name}")
    } else {
        format!("{parent}/{name}[{index}]")
    }
}

/// Reads `text` into an element tree within `limits`, refusing DTDs and unknown entities; gives
/// up with [`CebError::Abandoned`] once `cancelled` answers true.
pub(crate) fn read_tree(
    text: &str,
    limits: &Limits,
    cancelled: &dyn Fn() -> bool,
) -> Result<Element, CebError> {
    let mut reader = ns_reader(text);
    let mut builder = Builder::new(limits);
    let mut events = 0usize;
    loop {
        if events.is_multiple_of(EVENTS_PER_CANCEL_CHECK) && cancelled() {
            return Err(CebError::Abandoned);
        }
        events = events.wrapping_add(1);
        let event = reader.read_resolved_event();
        let (resolved, event) = event.map_err(|e| builder.xml_error(e))?;
        let ns = classify(&resolved);
        if let Some(root) = builder.apply(event, ns, reader.decoder())? {
            return Ok(root);
        }
    }
}

/// Reads `text` only as far as its root's start tag, with every refusal and cap of [`read_tree`]
/// up to there (a DOCTYPE before the root is refused), and returns the root's namespace and local
/// name. The DXP envelope needs no more of its business message: the rest is the codec's job
/// when the message is parsed.
pub(crate) fn read_root(text: &str, limits: &Limits) -> Result<(Ns, Box<str>), CebError> {
    let mut reader = ns_reader(text);
    let mut builder = Builder::new(limits);
    loop {
        let event = reader.read_resolved_event();
        let (resolved, event) = event.map_err(|e| builder.xml_error(e))?;
        let ns = classify(&resolved);
        // `apply` hands back a root only at the end of the input, after the root's start tag,
        // which returns below first; an input without a root ends in `Truncated`.
        builder.apply(event, ns, reader.decoder())?;
        if let Some(root) = builder.open.first() {
            return Ok((root.ns, root.name.clone()));
        }
    }
}

fn ns_reader(text: &str) -> NsReader<&[u8]> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    reader
}

fn classify(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == CEB_NAMESPACE.as_bytes() => Ns::Ceb,
        ResolveResult::Bound(ns) if ns.as_ref() == DSIG_NAMESPACE.as_bytes() => Ns::Dsig,
        ResolveResult::Bound(ns) if ns.as_ref() == DXP_NAMESPACE.as_bytes() => Ns::Dxp,
        ResolveResult::Unbound => Ns::None,
        _ => Ns::Other,
    }
}

/// The tree being read and what its caps have counted so far.
struct Builder<'l> {
    limits: &'l Limits,
    /// Open elements, root first, each holding the children read so far.
    open: Vec<Element>,
    root: Option<Element>,
    elements: usize,
    text_bytes: usize,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            open: Vec::new(),
            root: None,
            elements: 0,
            text_bytes: 0,
        }
    }

    /// Takes one event; returns the root once the input ended after it.
    fn apply(
        &mut self,
        event: Event<'_>,
        ns: Ns,
        decoder: Decoder,
    ) -> Result<Option<Element>, CebError> {
        match event {
            Event::Start(start) => self.open_element(&start, ns, decoder)?,
            Event::End(_) => self.close_element()?,
            // XML 1.0 line ends only: quick-xml's `xml_content` applies XML 1.1's, which also turn
            // NEL (U+0085) and LINE SEPARATOR (U+2028) into LF, so text would not read back as
            // the emitter wrote it.
            Event::Text(t) => self.push_text(&t.xml10_content().map_err(encoding_error)?)?,
            Event::CData(t) => self.push_text(&t.xml10_content().map_err(encoding_error)?)?,
            Event::GeneralRef(r) => self.push_reference(&r)?,
            Event::DocType(_) => {
                return Err(CebError::DtdForbidden {
                    path: self.open_path(),
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            // `expand_empty_elements` turns `<x/>` into Start + End, so Empty never arrives.
            Event::Empty(_) => return Err(self.malformed("unexpected empty-element event")),
            Event::Eof => return self.finish().map(Some),
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<Element, CebError> {
        match self.root.take() {
            Some(root) if self.open.is_empty() => Ok(root),
            _ => Err(CebError::Truncated {
                path: self.open_path(),
            }),
        }
    }

    /// Checks every cap a start tag can hit, in the order that keeps the error's path short: the
    /// name's length before the name is copied or printed.
    fn open_element(
        &mut self,
        start: &BytesStart<'_>,
        ns: Ns,
        decoder: Decoder,
    ) -> Result<(), CebError> {
        if self.root.is_some() {
            return Err(self.malformed("content after the root element"));
        }
        self.check_name(start.name().as_ref().len(), || self.open_path())?;
        let name: Box<str> = String::from_utf8_lossy(start.local_name().as_ref()).into();
        self.elements += 1;
        if self.elements > self.limits.elements_max {
            return Err(CebError::TooManyElements {
                path: self.child_path(&name),
                limit: self.limits.elements_max,
            });
        }
        if self.open.len() + 1 > self.limits.depth_max {
            return Err(CebError::TooDeep {
                path: self.child_path(&name),
                limit: self.limits.depth_max,
            });
        }
        let attributes = self.read_attributes(start, decoder, &name)?;
        let mut element = Element::new(name, ns);
        element.attributes = attributes;
        self.open.push(element);
        Ok(())
    }

    fn close_element(&mut self) -> Result<(), CebError> {
        // quick-xml checks end names, so this only fails if that check is ever turned off.
        let mut element = self
            .open
            .pop()
            .ok_or_else(|| self.malformed("end tag without start tag"))?;
        number_siblings(&mut element.children);
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
        Ok(())
    }

    /// Attributes of the element `name` about to be opened. The count is checked before each
    /// attribute is parsed: quick-xml compares every attribute with all earlier ones to refuse
    /// duplicates, so a cap checked only at the end would let one tag cost quadratic time.
    fn read_attributes(
        &mut self,
        start: &BytesStart<'_>,
        decoder: Decoder,
        name: &str,
    ) -> Result<Vec<(Box<str>, String)>, CebError> {
        let mut attributes = Vec::new();
        for (count, attribute) in start.attributes().enumerate() {
            if count >= self.limits.attributes_max {
                return Err(CebError::TooManyAttributes {
                    path: self.child_path(name),
                    limit: self.limits.attributes_max,
                });
            }
            let attribute = attribute.map_err(|e| CebError::Malformed {
                path: self.child_path(name),
                detail: one_line(&e.to_string()),
            })?;
            let key = attribute.key;
            self.check_name(key.as_ref().len(), || self.child_path(name))?;
            if key.prefix().is_some() || key.as_ref().starts_with(b"xmlns") {
                continue;
            }
            let value = attribute
                .decode_and_unescape_value_with(decoder, resolve_xml_entity)
                .map_err(|e| escape_error(e, &self.child_path(name)))?;
            if !self.charge_text(value.len()) {
                return Err(self.text_too_large(self.child_path(name)));
            }
            let key: Box<str> = String::from_utf8_lossy(key.as_ref()).into();
            attributes.push((key, value.into_owned()));
        }
        Ok(attributes)
    }

    fn push_text(&mut self, text: &str) -> Result<(), CebError> {
        if self.open.is_empty() {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(self.malformed("text outside the root element"));
        }
        if !self.charge_text(text.len()) {
            return Err(self.text_too_large(self.open_path()));
        }
        if let Some(element) = self.open.last_mut() {
            element.text.push_str(text);
        }
        Ok(())
    }

    fn push_reference(&mut self, reference: &BytesRef<'_>) -> Result<(), CebError> {
        self.check_name(reference.len(), || self.open_path())?;
        let resolved = resolve_reference(reference, &|| self.open_path())?;
        if self.open.is_empty() {
            return Err(self.malformed("reference outside the root element"));
        }
        let mut utf8 = [0; 4];
        self.push_text(resolved.encode_utf8(&mut utf8))
    }

    /// Adds `bytes` to the text read so far; false when that goes over the cap.
    fn charge_text(&mut self, bytes: usize) -> bool {
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        self.text_bytes <= self.limits.text_bytes_max
    }

    fn text_too_large(&self, path: String) -> CebError {
        CebError::TextTooLarge {
            path,
            limit_bytes: self.limits.text_bytes_max,
        }
    }

    /// Refuses a name longer than the cap; `path` (where the name appears) is only built then.
    fn check_name(&self, length: usize, path: impl FnOnce() -> String) -> Result<(), CebError> {
        if length <= self.limits.name_bytes_max {
            return Ok(());
        }
        Err(CebError::NameTooLong {
            path: path(),
            length_bytes: length,
            limit_bytes: self.limits.name_bytes_max,
        })
    }

    /// Path of the innermost open element, `/` outside the root. Built on demand: it walks the
    /// open elements and counts same-named siblings, work an error can afford and a token cannot.
    fn open_path(&self) -> String {
        let mut path = String::new();
        for (depth, element) in self.open.iter().enumerate() {
            let parent = depth.checked_sub(1).map(|d| &self.open[d]);
            path = step_path(&path, &element.name, sibling_index(parent, &element.name));
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    /// Path of a child `name` about to be opened in the innermost open element.
    fn child_path(&self, name: &str) -> String {
        let parent = match self.open_path().as_str() {
            "/" => String::new(),
            path => path.to_owned(),
        };
        step_path(&parent, name, sibling_index(self.open.last(), name))
    }

    fn malformed(&self, detail: &str) -> CebError {
        CebError::Malformed {
            path: self.open_path(),
            detail: detail.to_owned(),
        }
    }

    fn xml_error(&self, error: XmlError) -> CebError {
        let path = self.open_path();
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
}

/// Index that the next child `name` of `parent` gets (1 under no parent: the root).
fn sibling_index(parent: Option<&Element>, name: &str) -> usize {
    parent.map_or(1, |p| {
        p.children.iter().filter(|c| &*c.name == name).count() + 1
    })
}

/// Numbers the children of a complete element among their same-named siblings, in one pass.
fn number_siblings(children: &mut [Element]) {
    if children.len() < 2 {
        return;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let indices: Vec<usize> = children
        .iter()
        .map(|child| {
            let count = seen.entry(&child.name).or_insert(0);
            *count += 1;
            *count
        })
        .collect();
    for (child, index) in children.iter_mut().zip(indices) {
        child.index = index;
    }
}

/// Resolves a character reference or one of the five predefined entities; refuses the rest.
fn resolve_reference(
    reference: &BytesRef<'_>,
    path: &dyn Fn() -> String,
) -> Result<char, CebError> {
    let bad = |detail: String| CebError::Malformed {
        path: path(),
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
        path: path(),
        name: clip(&name),
    })
}

fn escape_error(error: impl Into<XmlError>, path: &str) -> CebError {
    use quick_xml::escape::EscapeError;
    match error.into() {
        XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => CebError::EntityForbidden {
            path: path.to_owned(),
            name: clip(&name),
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

/// Error details end up in one-line log records and HTTP bodies: one line, and short even when
/// the parser quotes a hostile input (a mismatched end tag of a megabyte).
pub(crate) fn one_line(text: &str) -> String {
    clip(text).replace(['\n', '\r'], " ")
}

/// `text` cut to [`ERROR_DETAIL_CHARS_MAX`] characters, marked with `…` when cut.
fn clip(text: &str) -> String {
    match text.char_indices().nth(ERROR_DETAIL_CHARS_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `ceb_parse` fuzz target: NEL and LINE SEPARATOR are ordinary characters in
    /// XML 1.0 (only CR LF and CR are line ends), in text and in CDATA sections.
    #[test]
    fn only_xml_1_0_line_ends_are_normalized() {
        let xml = "<r>a\u{85}b\u{2028}c\r\nd\re<![CDATA[\u{85}\r\n]]></r>";
        let root = read_tree(xml, &Limits::default(), &|| false).expect("well-formed");
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
