//! The one integration-test binary of the `cap` crate.

mod catalog;
mod cli;
mod edxl;
mod fixtures;
mod gbt35965;
mod helpers;
mod hostile;
mod ipaws;
mod roundtrip;
mod rules;
