//! Protobuf messages of bondgate's Kafka topics, generated from `proto/` at build time.
//!
//! `cbec.documents.v1` carries [`v1::Document`], `cbec.receipts.v1` carries [`v1::Receipt`] and
//! `cbec.dlq.v1` carries [`v1::DeadLetter`]. Values are the raw CEB texts; the domain crate parses
//! them.

/// Version 1 of the wire schema (`package bondgate.v1`).
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/bondgate.v1.rs"));
}

pub mod convert;

pub use prost::Message;
