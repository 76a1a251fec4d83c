//! Integration tests of the clearance pipeline against the real stack: each test has its own
//! database (seeded like `bondgate seed`), its own topics and consumer group.

mod helpers;

mod after_sales;
mod bad_records;
mod broker;
mod clean;
mod failpoints;
mod faults;
mod outbox;
mod poison;
mod replay;
mod sweep;
