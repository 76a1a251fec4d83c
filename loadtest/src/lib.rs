//! Load generator and benchmarks of bondgate.
//!
//! [`generate`] makes deterministic, realistic CBEC traffic (orders, payments, waybills, bad
//! records) with the outcome clearance should reach for each order; [`produce`] sends it to a
//! Kafka topic, as fast as possible (prefill) or open-loop at a target rate. The
//! `bondgate-load` binary wraps both.

pub mod chart;
pub mod generate;
pub mod latency;
pub mod naive;
pub mod produce;
pub mod raw;
pub mod receipts;
pub mod report;
