//! The `cap` crate.
