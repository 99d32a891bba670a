//! The `server` crate.
