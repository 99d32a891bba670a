//! The domain crate's integration tests: one binary, a module per topic.

mod incident;
mod policy;
mod tidy;
