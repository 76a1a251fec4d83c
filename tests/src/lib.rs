//! Workspace end-to-end tests of bondgate against the real local stack.
