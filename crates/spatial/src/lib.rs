//! The `spatial` crate.
