//! CEB XML messages of China Customs' unified CBEC system: model, codec, XML-DSig signing.
//!
//! Three layers, each usable alone:
//!
//! * [`model`] — the raw message model: one struct per business node of `ceb_import_202205.xsd`,
//!   every field the element's raw text (`String` if required, `Option<String>` if optional), in
//!   XSD order. No validation: the domain crate parses these into strong types (decimals, codes,
//!   dates) and reports every problem with its path. [`message`] wraps records into whole messages
//!   ([`CebMessage`], [`Declaration`], [`Receipt`]) with the root `guid`/`version`.
//! * the codec — [`parse_message`] reads bytes (UTF-8 with/without BOM, GB2312/GBK/GB18030) with
//!   quick-xml, namespace-aware and prefix-agnostic, refusing DTDs and entities; declarations
//!   strictly, receipts leniently. Every cap of [`Limits`] (size, elements, depth, names,
//!   attributes, text, records, lines) binds while the input streams in, so memory is bounded by
//!   the caps, not by the input's shape; [`parse_message_cancellable`] also stops when told. [`to_xml`] writes any message in XSD order with the
//!   `ceb:` prefix, in canonical form. Errors are [`CebError`], each with a stable `ceb.*` code.
//! * [`sign`] — enveloped XML-DSig with SM2/SM3 over our own canonical output, and verification.
//! * [`dxp`] — the DXP transport envelope (`DxpMsg`) the single window exchanges messages in:
//!   [`dxp::wrap`] and [`dxp::unwrap`], with the same bounded reader and `dxp.*` error codes.
//!
//! ```
//! use bondgate_ceb::{parse_message, to_xml, Limits};
//! let xml = r#"<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0">
//!   <InventoryReturn><guid>g</guid><copNo>c</copNo><preNo>p</preNo><returnStatus>800</returnStatus>
//!   <returnTime>20240301120001123</returnTime><returnInfo>放行</returnInfo></InventoryReturn>
//! </CEB622Message>"#;
//! let message = parse_message(xml.as_bytes(), &Limits::default())?;
//! assert_eq!(message.code(), "CEB622");
//! assert!(to_xml(&message)?.contains("<ceb:returnStatus>800</ceb:returnStatus>"));
//! # Ok::<(), bondgate_ceb::CebError>(())
//! ```

mod dom;
pub mod dxp;
pub mod emit;
pub mod error;
pub mod message;
pub mod model;
pub mod parse;
pub mod sign;

pub use emit::to_xml;
pub use error::CebError;
pub use message::{CebMessage, Declaration, Limits, Receipt};
pub use parse::{parse_message, parse_message_cancellable};
