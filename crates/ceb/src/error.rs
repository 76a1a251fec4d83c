//! The codec's error type: one variant per way a CEB message can be refused.

/// Why a CEB message could not be parsed or emitted.
///
/// Every variant has a stable machine code ([`CebError::code`], e.g. `ceb.dtd_forbidden`) and,
/// where one exists, the element path (`/CEB311Message/Order[2]/OrderHead/orderNo`, indices are
/// 1-based among same-named siblings). `Display` is one line: `code at path: detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CebError {
    /// The input is larger than [`crate::Limits::message_bytes_max`].
    #[error("ceb.too_large: message is {size_bytes} bytes, limit is {limit_bytes}")]
    TooLarge {
        /// Size of the input.
        size_bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// The bytes are not valid in the declared (or default UTF-8) encoding.
    #[error("ceb.invalid_encoding: input is not valid {encoding}{}", at_offset(*offset))]
    InvalidEncoding {
        /// The encoding the input was decoded with.
        encoding: String,
        /// Byte offset of the first invalid byte, when known.
        offset: Option<usize>,
    },
    /// The XML declaration names an encoding we do not accept.
    #[error("ceb.unsupported_encoding: encoding {encoding:?} is not UTF-8, GB2312, GBK or GB18030")]
    UnsupportedEncoding {
        /// The declared encoding.
        encoding: String,
    },
    /// A `<!DOCTYPE>` was found: DTDs enable entity expansion attacks (XXE, billion laughs).
    #[error("ceb.dtd_forbidden at {path}: DOCTYPE and DTDs are not accepted")]
    DtdForbidden {
        /// Where the DOCTYPE appeared.
        path: String,
    },
    /// An entity reference other than the five predefined XML entities or a character reference.
    #[error("ceb.entity_forbidden at {path}: entity reference &{name}; is not accepted")]
    EntityForbidden {
        /// Element containing the reference.
        path: String,
        /// Entity name.
        name: String,
    },
    /// The input ended before the document was complete.
    #[error("ceb.truncated at {path}: input ended inside the document")]
    Truncated {
        /// The innermost open element.
        path: String,
    },
    /// The XML is not well-formed, or a field element has unexpected content.
    #[error("ceb.malformed at {path}: {detail}")]
    Malformed {
        /// Where the problem was found.
        path: String,
        /// What is wrong, one line.
        detail: String,
    },
    /// Elements nest deeper than [`crate::Limits::depth_max`].
    #[error("ceb.too_deep at {path}: nesting exceeds {limit} levels")]
    TooDeep {
        /// The element that went too deep.
        path: String,
        /// The configured limit.
        limit: usize,
    },
    /// More elements in the message than [`crate::Limits::elements_max`].
    #[error("ceb.too_many_elements at {path}: more than {limit} elements")]
    TooManyElements {
        /// The first element over the limit.
        path: String,
        /// The configured limit.
        limit: usize,
    },
    /// An element, attribute or entity name longer than [`crate::Limits::name_bytes_max`].
    #[error("ceb.name_too_long at {path}: a name of {length_bytes} bytes, limit is {limit_bytes}")]
    NameTooLong {
        /// The element holding the name (its parent, for an element name): the name itself is
        /// never copied into the error.
        path: String,
        /// Length of the name.
        length_bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// More attributes on one element than [`crate::Limits::attributes_max`].
    #[error("ceb.too_many_attributes at {path}: more than {limit} attributes on one element")]
    TooManyAttributes {
        /// The element.
        path: String,
        /// The configured limit.
        limit: usize,
    },
    /// More text (element text and attribute values) than [`crate::Limits::text_bytes_max`].
    #[error("ceb.text_too_large at {path}: more than {limit_bytes} bytes of text in the message")]
    TextTooLarge {
        /// The element whose text went over the limit.
        path: String,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// The caller asked the parser to stop (its request was cancelled or timed out, or the
    /// service is stopping); says nothing about the message.
    #[error("ceb.abandoned: parsing was abandoned before the message was read")]
    Abandoned,
    /// More business records (or `BaseSubscribe` blocks) than allowed.
    #[error("ceb.too_many_records at {path}: more than {limit} records")]
    TooManyRecords {
        /// The first record over the limit.
        path: String,
        /// The limit in force.
        limit: usize,
    },
    /// More lines in one order, inventory, return or tax bill than allowed.
    #[error("ceb.too_many_lines at {path}: more than {limit} lines")]
    TooManyLines {
        /// The first line over the limit.
        path: String,
        /// The configured limit.
        limit: usize,
    },
    /// An element that the XSD does not allow here (declarations only; receipts skip them).
    #[error("ceb.unknown_element at {path}: element is not allowed here")]
    UnknownElement {
        /// The unexpected element.
        path: String,
    },
    /// A required element is absent.
    #[error("ceb.missing_element at {path}: required element is absent")]
    MissingElement {
        /// Where the element should be.
        path: String,
    },
    /// An element that may occur once occurs again.
    #[error("ceb.duplicate_element at {path}: element occurs more than once")]
    DuplicateElement {
        /// The second occurrence.
        path: String,
    },
    /// A required root attribute (`guid`, `version`) is absent.
    #[error("ceb.missing_attribute at {path}: attribute {name} is required")]
    MissingAttribute {
        /// The element lacking it.
        path: String,
        /// Attribute name.
        name: String,
    },
    /// The root element is not a CEB message this crate knows.
    #[error("ceb.unsupported_message at /{root}: {detail}")]
    UnsupportedMessage {
        /// Local name of the root element.
        root: String,
        /// Why it is not supported.
        detail: String,
    },
    /// A value holds a character XML 1.0 cannot represent (emission only).
    #[error("ceb.unencodable_char at {path}: character U+{code_point:04X} cannot appear in XML")]
    UnencodableChar {
        /// The field holding it.
        path: String,
        /// The offending code point.
        code_point: u32,
    },
}

fn at_offset(offset: Option<usize>) -> String {
    offset.map(|o| format!(" at byte {o}")).unwrap_or_default()
}

impl CebError {
    /// Stable machine-readable code, e.g. `ceb.too_many_records`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "ceb.too_large",
            Self::InvalidEncoding { .. } => "ceb.invalid_encoding",
            Self::UnsupportedEncoding { .. } => "ceb.unsupported_encoding",
            Self::DtdForbidden { .. } => "ceb.dtd_forbidden",
            Self::EntityForbidden { .. } => "ceb.entity_forbidden",
            Self::Truncated { .. } => "ceb.truncated",
            Self::Malformed { .. } => "ceb.malformed",
            Self::TooDeep { .. } => "ceb.too_deep",
            Self::TooManyElements { .. } => "ceb.too_many_elements",
            Self::NameTooLong { .. } => "ceb.name_too_long",
            Self::TooManyAttributes { .. } => "ceb.too_many_attributes",
            Self::TextTooLarge { .. } => "ceb.text_too_large",
            Self::Abandoned => "ceb.abandoned",
            Self::TooManyRecords { .. } => "ceb.too_many_records",
            Self::TooManyLines { .. } => "ceb.too_many_lines",
            Self::UnknownElement { .. } => "ceb.unknown_element",
            Self::MissingElement { .. } => "ceb.missing_element",
            Self::DuplicateElement { .. } => "ceb.duplicate_element",
            Self::MissingAttribute { .. } => "ceb.missing_attribute",
            Self::UnsupportedMessage { .. } => "ceb.unsupported_message",
            Self::UnencodableChar { .. } => "ceb.unencodable_char",
        }
    }

    /// Element path of the problem, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::DtdForbidden { path }
            | Self::EntityForbidden { path, .. }
            | Self::Truncated { path }
            | Self::Malformed { path, .. }
            | Self::TooDeep { path, .. }
            | Self::TooManyElements { path, .. }
            | Self::NameTooLong { path, .. }
            | Self::TooManyAttributes { path, .. }
            | Self::TextTooLarge { path, .. }
            | Self::TooManyRecords { path, .. }
            | Self::TooManyLines { path, .. }
            | Self::UnknownElement { path }
            | Self::MissingElement { path }
            | Self::DuplicateElement { path }
            | Self::MissingAttribute { path, .. }
            | Self::UnencodableChar { path, .. } => Some(path),
            Self::TooLarge { .. }
            | Self::InvalidEncoding { .. }
            | Self::UnsupportedEncoding { .. }
            | Self::UnsupportedMessage { .. }
            | Self::Abandoned => None,
        }
    }
}
