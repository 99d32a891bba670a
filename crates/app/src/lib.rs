//! The `app` crate.
