//! Fault tests: see the functions.
