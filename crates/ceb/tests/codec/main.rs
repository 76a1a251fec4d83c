//! Codec suite: round trips, hostile input, encodings, signing and XSD validity of our output.

mod encodings;
mod helpers;
mod hostile;
mod roundtrip;
mod signing;
mod xsd;
