//! Unit tests of the planner: no database, no Kafka. Each test builds its documents as intake
//! would put them on the topic (the load generator's valid orders, edited where a test needs a
//! particular basket or buyer), decodes them with [`crate::decode::decode`], plans batches with
//! the steps of `Pipeline::plan` over an in-memory store ([`fixture::World`], stored by
//! [`commit`]) and asserts the planner's `Writes` and receipts.

mod after_sales;
mod allocation;
mod commit;
mod declare;
mod documents;
mod fixture;
mod release;
mod traffic;
