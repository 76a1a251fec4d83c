//! The hostile-merchant suite (issue 14; ARCHITECTURE guarantees 8 and 9): every attack found by
//! trying bondgate as a hostile merchant would, on the real stack (PostgreSQL and the broker
//! started by `scripts/stack`), intake and clearance running in this process. Each test asserts
//! the refusal (status and code) and that nothing else changed (a snapshot of stock, quotas,
//! declarations and documents, then the invariant checker). The review service's attacks are in
//! `services/review/tests/api`, the XML reader's memory bound in `services/intake/tests`.

mod after_sales;
mod documents;
mod fixtures;
mod leaks;
mod records;
mod stack;
