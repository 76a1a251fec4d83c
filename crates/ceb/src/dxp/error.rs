//! Why an envelope cannot be wrapped or unwrapped, and the spec's DXP error codes.

use crate::error::CebError;
use crate::model::CEB_NAMESPACE;

/// Why a DXP envelope could not be written or read.
///
/// Every variant has a stable machine code ([`DxpError::code`], e.g. `dxp.msg_type_mismatch`)
/// and, where one exists, the element path in the envelope (`/DxpMsg/TransInfo/SenderId`,
/// indices 1-based among same-named siblings). XML the bounded reader refuses keeps that
/// reader's `ceb.*` code ([`DxpError::Xml`]). [`DxpError::dxp_code`] maps each variant to the
/// four-digit code of the spec's table 7-1, for answering the sender in its own terms.
/// `Display` is one line: `code at path: detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DxpError {
    /// The envelope is larger than [`super::envelope_bytes_max`] allows.
    #[error("dxp.too_large: envelope is {size_bytes} bytes, limit is {limit_bytes}")]
    TooLarge {
        /// Size of the input.
        size_bytes: usize,
        /// The limit derived from `message_bytes_max`.
        limit_bytes: usize,
    },
    /// The envelope is not XML the bounded reader accepts (encoding, DTD, entity, syntax, caps);
    /// the code is the reader's own, e.g. `ceb.dtd_forbidden`, with a path under `/DxpMsg`.
    #[error(transparent)]
    Xml(CebError),
    /// The root element is not `DxpMsg` in the DXP namespace.
    #[error("dxp.not_envelope at /{root}: {detail}")]
    NotEnvelope {
        /// Local name of the root element.
        root: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The root's `ver` attribute is absent or not the only version defined, `1.0`.
    #[error("dxp.unsupported_version at /DxpMsg: ver is {}, the XSD fixes it to \"1.0\"", found_text(.found))]
    UnsupportedVersion {
        /// The `ver` found, if any.
        found: Option<String>,
    },
    /// A required element is absent.
    #[error("dxp.missing_element at {path}: required element is absent")]
    MissingElement {
        /// Where the element should be.
        path: String,
    },
    /// An element the XSD does not allow here.
    #[error("dxp.unknown_element at {path}: element is not allowed here")]
    UnknownElement {
        /// The unexpected element.
        path: String,
    },
    /// An element that may occur once occurs again.
    #[error("dxp.duplicate_element at {path}: element occurs more than once")]
    DuplicateElement {
        /// The second occurrence.
        path: String,
    },
    /// Text in an element that holds only elements, or elements in one that holds only text.
    #[error("dxp.malformed at {path}: {detail}")]
    Malformed {
        /// The element.
        path: String,
        /// What is wrong, one line.
        detail: String,
    },
    /// A header value breaks a rule of the XSD or spec: length, count, `CreatTime` format, or a
    /// character XML cannot carry.
    #[error("dxp.invalid_field at {path}: {detail}")]
    InvalidField {
        /// The field (an attribute as `.../Key/@name`).
        path: String,
        /// Which rule, one line.
        detail: String,
    },
    /// `Data` is not valid Base64 (`xs:base64Binary`: standard alphabet, canonical padding;
    /// whitespace is allowed and ignored).
    #[error("dxp.invalid_base64 at /DxpMsg/Data: {detail}")]
    InvalidBase64 {
        /// The decoder's finding; offsets count Base64 characters, whitespace left out.
        detail: String,
    },
    /// The business message is larger than `message_bytes_max`, measured decoded.
    #[error(
        "dxp.payload_too_large at /DxpMsg/Data: business message is {size_bytes} bytes, \
         limit is {limit_bytes}"
    )]
    PayloadTooLarge {
        /// Decoded size.
        size_bytes: usize,
        /// The configured `message_bytes_max`.
        limit_bytes: usize,
    },
    /// The business message is not XML up to its root element (empty, undecodable, a DTD...).
    #[error("dxp.payload_malformed at /DxpMsg/Data: {source}")]
    PayloadMalformed {
        /// The reader's refusal, with its path inside the business message.
        #[source]
        source: CebError,
    },
    /// The business message's root element is not in the CEB namespace.
    #[error(
        "dxp.payload_not_ceb at /DxpMsg/Data: the business message's root {root} is not in \
         namespace {CEB_NAMESPACE}"
    )]
    PayloadNotCeb {
        /// Local name of the business message's root.
        root: String,
    },
    /// `MsgType` is not the business message's root element name.
    #[error(
        "dxp.msg_type_mismatch at /DxpMsg/TransInfo/MsgType: MsgType is {msg_type:?} but the \
         business message is a {root}"
    )]
    MsgTypeMismatch {
        /// `MsgType` as given.
        msg_type: String,
        /// Local name of the business message's root, e.g. `CEB311Message`.
        root: String,
    },
    /// The envelope is not addressed to the node reading it.
    #[error(
        "dxp.not_addressed at /DxpMsg/TransInfo/ReceiverIds: {receiver_id} is not among the \
         receivers"
    )]
    NotAddressed {
        /// The reader's own DXP id.
        receiver_id: String,
    },
}

fn found_text(found: &Option<String>) -> String {
    found
        .as_ref()
        .map_or_else(|| "absent".to_owned(), |v| format!("{v:?}"))
}

impl DxpError {
    /// Stable machine-readable code, e.g. `dxp.invalid_field`; for [`DxpError::Xml`] the
    /// reader's `ceb.*` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "dxp.too_large",
            Self::Xml(source) => source.code(),
            Self::NotEnvelope { .. } => "dxp.not_envelope",
            Self::UnsupportedVersion { .. } => "dxp.unsupported_version",
            Self::MissingElement { .. } => "dxp.missing_element",
            Self::UnknownElement { .. } => "dxp.unknown_element",
            Self::DuplicateElement { .. } => "dxp.duplicate_element",
            Self::Malformed { .. } => "dxp.malformed",
            Self::InvalidField { .. } => "dxp.invalid_field",
            Self::InvalidBase64 { .. } => "dxp.invalid_base64",
            Self::PayloadTooLarge { .. } => "dxp.payload_too_large",
            Self::PayloadMalformed { .. } => "dxp.payload_malformed",
            Self::PayloadNotCeb { .. } => "dxp.payload_not_ceb",
            Self::MsgTypeMismatch { .. } => "dxp.msg_type_mismatch",
            Self::NotAddressed { .. } => "dxp.not_addressed",
        }
    }

    /// Element path of the problem in the envelope, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Xml(source) => source.path(),
            Self::NotEnvelope { .. } | Self::UnsupportedVersion { .. } => Some("/DxpMsg"),
            Self::MissingElement { path }
            | Self::UnknownElement { path }
            | Self::DuplicateElement { path }
            | Self::Malformed { path, .. }
            | Self::InvalidField { path, .. } => Some(path),
            Self::InvalidBase64 { .. }
            | Self::PayloadTooLarge { .. }
            | Self::PayloadMalformed { .. }
            | Self::PayloadNotCeb { .. } => Some("/DxpMsg/Data"),
            Self::MsgTypeMismatch { .. } => Some("/DxpMsg/TransInfo/MsgType"),
            Self::NotAddressed { .. } => Some("/DxpMsg/TransInfo/ReceiverIds"),
            Self::TooLarge { .. } => None,
        }
    }

    /// The spec's DXP error code for this refusal (table 7-1): XML that is not well-formed is
    /// 0001; an envelope that breaks the XSD (structure, field rules, Base64) is 0002; our own
    /// caps and the MsgType agreement are "other format errors", 0999; an envelope for another
    /// node is 2002.
    pub fn dxp_code(&self) -> DxpCode {
        match self {
            Self::Xml(_) | Self::NotEnvelope { .. } | Self::PayloadMalformed { .. } => {
                DxpCode::Format
            }
            Self::UnsupportedVersion { .. }
            | Self::MissingElement { .. }
            | Self::UnknownElement { .. }
            | Self::DuplicateElement { .. }
            | Self::Malformed { .. }
            | Self::InvalidField { .. }
            | Self::InvalidBase64 { .. } => DxpCode::Schema,
            Self::TooLarge { .. }
            | Self::PayloadTooLarge { .. }
            | Self::PayloadNotCeb { .. }
            | Self::MsgTypeMismatch { .. } => DxpCode::FormatOther,
            Self::NotAddressed { .. } => DxpCode::AddressMismatch,
        }
    }
}

/// The data exchange platform's error codes (spec 202205 §7, table 7-1), as found in `DxpRep`
/// responses and as [`DxpError::dxp_code`] reports our own refusals. Codes 4000–9999 are left to
/// users and have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DxpCode {
    /// 0001 报文格式错误: the message is not well-formed.
    Format,
    /// 0002 数据包不能通过 schema 验证: the message breaks its schema.
    Schema,
    /// 0999 其他格式错误: another format error.
    FormatOther,
    /// 1001 数字签名无效: invalid signature.
    SignatureInvalid,
    /// 1002 数字签名过期: expired signature.
    SignatureExpired,
    /// 1003 报文解密错误: decryption failed.
    Decryption,
    /// 1004 签名与数据不符: the signature does not match the data.
    SignatureMismatch,
    /// 1999 其他安全错误: another security error.
    SecurityOther,
    /// 2001 指定的接收方不存在: the receiver does not exist.
    ReceiverUnknown,
    /// 2002 地址不匹配: the actual receiver is not the envelope's receiver.
    AddressMismatch,
    /// 2999 其他业务逻辑错误: another business-logic error.
    BusinessOther,
    /// 3001 数据库、中间件等系统错误: database or middleware failure.
    System,
    /// 3002 远程连接错误: remote connection failed.
    RemoteConnect,
    /// 3003 远程连接超时: remote connection timed out.
    RemoteTimeout,
    /// 3999 其他系统级错误: another system error.
    SystemOther,
}

impl DxpCode {
    /// Every code of table 7-1, in table order.
    pub const ALL: [DxpCode; 15] = [
        Self::Format,
        Self::Schema,
        Self::FormatOther,
        Self::SignatureInvalid,
        Self::SignatureExpired,
        Self::Decryption,
        Self::SignatureMismatch,
        Self::SecurityOther,
        Self::ReceiverUnknown,
        Self::AddressMismatch,
        Self::BusinessOther,
        Self::System,
        Self::RemoteConnect,
        Self::RemoteTimeout,
        Self::SystemOther,
    ];

    /// The four-digit code, e.g. `0002`.
    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// The official message of the code, e.g. `数据包不能通过 schema 验证`.
    pub fn message(self) -> &'static str {
        self.entry().1
    }

    /// The variant of a four-digit code, `None` for codes the table does not define.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    fn entry(self) -> (&'static str, &'static str) {
        match self {
            Self::Format => ("0001", "报文格式错误"),
            Self::Schema => ("0002", "数据包不能通过 schema 验证"),
            Self::FormatOther => ("0999", "其他格式错误"),
            Self::SignatureInvalid => ("1001", "数字签名无效"),
            Self::SignatureExpired => ("1002", "数字签名过期"),
            Self::Decryption => ("1003", "报文解密错误"),
            Self::SignatureMismatch => ("1004", "签名与数据不符"),
            Self::SecurityOther => ("1999", "其他安全错误"),
            Self::ReceiverUnknown => ("2001", "指定的接收方不存在"),
            Self::AddressMismatch => (
                "2002",
                "地址不匹配，报文的实际接收方与该报文的“接收方”定义不同",
            ),
            Self::BusinessOther => ("2999", "其他业务逻辑错误"),
            Self::System => ("3001", "数据库、中间件等系统错误"),
            Self::RemoteConnect => ("3002", "远程连接错误"),
            Self::RemoteTimeout => ("3003", "远程连接超时"),
            Self::SystemOther => ("3999", "其他系统级错误"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_to_its_variant_and_unknown_codes_do_not() {
        for code in DxpCode::ALL {
            assert_eq!(DxpCode::parse(code.code()), Some(code));
            assert_eq!(code.code().len(), 4);
        }
        assert_eq!(DxpCode::parse("4000"), None);
        assert_eq!(DxpCode::parse("2"), None);
    }

    #[test]
    fn display_starts_with_the_code() {
        let errors = [
            DxpError::UnsupportedVersion { found: None },
            DxpError::MsgTypeMismatch {
                msg_type: "CEB311Message".to_owned(),
                root: "CEB621Message".to_owned(),
            },
            DxpError::Xml(CebError::DtdForbidden {
                path: "/".to_owned(),
            }),
        ];
        for error in errors {
            assert!(error.to_string().starts_with(error.code()), "{error}");
        }
    }
}
