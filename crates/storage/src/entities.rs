//! sea-orm entities of the tables used off the hot path.

pub mod account_book_item;
pub mod api_key;
pub mod enterprise;
pub mod positive_list;
pub mod stock_movement;
