//! The plan crate's integration tests: one binary, a module per topic.

mod shipped;
mod support;
