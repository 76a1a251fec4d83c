//! `POST /v1/documents` bodies; the property is `bondgate_fuzz_props::intake_json`
//! (crates/fuzz-props), which the stable mutation fuzzer checks too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bondgate_fuzz_props::intake_json(data));
