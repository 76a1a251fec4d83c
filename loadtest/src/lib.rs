//! Load generator and benchmarks of bondgate.
