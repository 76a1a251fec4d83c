//! Smoke tests of the real local stack: the Kafka-protocol broker and PostgreSQL answer, and the
//! client settings bondgate uses work against them.

mod broker;
mod database;
