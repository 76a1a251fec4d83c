//! sea-orm entities of the tables used off the hot path.

pub mod enterprise;
