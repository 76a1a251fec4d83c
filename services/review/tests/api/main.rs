//! Review service tests against the real local stack (`scripts/stack up`): each test has its own
//! seeded database and topics, runs the clearance pipeline in-process to hold generated orders
//! for review, and starts the review service on port 0. Each ends with the invariant checker.

mod audit;
mod auth;
mod browser;
mod decisions;
mod helpers;
mod privacy;
mod queue;
mod security;
