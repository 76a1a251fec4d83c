//! The customs rules of bonded CBEC import: matching, limits, positive list, tax, status machine.
//!
//! Pure code without I/O: the services feed it parsed documents and state, and persist what it
//! decides. Money and quantities are [`rust_decimal::Decimal`], never floats.
//!
//! The flow for one order, as the clearance pipeline uses it:
//! 1. [`documents`]: parse the raw `bondgate_ceb::model` order, payment and waybill into strong
//!    documents (every format problem reported with its field path) and join them into an
//!    [`documents::OrderBundle`];
//! 2. [`evaluate::evaluate`]: three-document [`matching`], account-book and [`positive_list`]
//!    lookups, [`limits`], [`tax`] and risk rules give an [`evaluate::Evaluation`] (release, hold
//!    or reject, tax per line, quota amount);
//! 3. [`allocation::allocate_batch`]: stock and annual quota for a whole batch in record order;
//! 4. [`inventory::build_inventory`] and [`inventory::inventory_receipts`]: the CEB621 inventory
//!    and its CEB622 receipts, whose statuses follow [`status::transition`].
//!
//! Cancellations and returns: [`aftersales`] and the quota credits in [`limits`]. Codes:
//! [`codes`] (customs and bondgate's own `-9001xx..-9003xx`), finding codes in [`matching`],
//! hold codes in [`evaluate`](mod@evaluate), format codes in [`types::FormatError::code`].

#![warn(missing_docs)]

pub mod account_book;
pub mod aftersales;
pub mod allocation;
pub mod authorization;
pub mod codes;
pub mod config;
mod csv_table;
pub mod documents;
pub mod evaluate;
pub mod inventory;
pub mod limits;
pub mod matching;
pub mod positive_list;
pub mod privacy;
pub mod problem;
pub mod receipts;
pub mod seed;
pub mod status;
pub mod tax;
pub mod types;

pub use csv_table::CsvError;
pub use documents::{Cancellation, LogisticsStatus, Order, OrderBundle, Payment, Refund, Waybill};
pub use evaluate::{EvalContext, Evaluation, Outcome, OutcomeSummary, evaluate};
pub use problem::{Problem, Problems};
pub use status::ReturnStatus;
pub use types::{Amount, HsCode, OrderKey, Quantity};
