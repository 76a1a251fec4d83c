//! CEB XML from customs and merchants; the property is `bondgate_fuzz_props::ceb_parse`
//! (crates/fuzz-props), which the stable mutation fuzzer checks too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bondgate_fuzz_props::ceb_parse(data));
