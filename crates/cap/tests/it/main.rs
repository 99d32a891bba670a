//! The one integration-test binary of the `cap` crate.

mod fixtures;
mod helpers;
mod hostile;
mod roundtrip;
mod rules;
