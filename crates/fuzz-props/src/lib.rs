//! The properties bondgate's parsers of untrusted input must keep, one plain function per fuzz
//! target: each takes any bytes and panics when a property is violated. Two drivers call them:
//! the cargo-fuzz targets of `fuzz/` (coverage-guided, nightly only) and the stable mutation
//! fuzzer of `tests/mutate.rs`, which starts from the same committed seeds in
//! `fuzz/corpus/<target>/` and runs wherever the workspace tests run.

mod ceb_parse;
mod document_decode;
mod intake_json;

pub use crate::ceb_parse::ceb_parse;
pub use crate::document_decode::document_decode;
pub use crate::intake_json::intake_json;

/// A property: panics when it does not hold for the bytes.
pub type Property = fn(&[u8]);

/// Every target: its name (also its folder under `fuzz/corpus/`) and its property.
pub const TARGETS: [(&str, Property); 3] = [
    ("ceb_parse", ceb_parse),
    ("document_decode", document_decode),
    ("intake_json", intake_json),
];
