//! Codec suite: round trips, hostile input, encodings, signing, the DXP envelope and XSD validity
//! of our output.

mod dxp;
mod encodings;
mod helpers;
mod hostile;
mod roundtrip;
mod signing;
// XSD validation needs the official schema from the samples folder, which a fresh clone does
// not have: it belongs to the conformance suite (`--features conformance`, see scripts/test).
#[cfg(feature = "conformance")]
mod dxp_xsd;
#[cfg(feature = "conformance")]
mod xsd;
