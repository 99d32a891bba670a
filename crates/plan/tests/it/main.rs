//! The plan crate's integration tests: one binary, a module per topic.

mod activate;
mod lint;
mod locate;
mod parse;
mod schema;
mod shipped;
mod support;
