//! The clearance pipeline of bondgate: batched, exactly-once decisions.
