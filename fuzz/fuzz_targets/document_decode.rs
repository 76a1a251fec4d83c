//! Records of `cbec.documents.v1` as clearance decodes them; the property (and the input layout)
//! is `bondgate_fuzz_props::document_decode` (crates/fuzz-props), which the stable mutation
//! fuzzer checks too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bondgate_fuzz_props::document_decode(data));
