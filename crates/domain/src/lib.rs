//! Gridline's domain: the vocabulary of grassroots emergency management, the newtypes that
//! parse untrusted input into values that are valid by construction, and the authorization policy.
//!
//! This crate owns decisions, never effects. It must never do IO: no files, no sockets, no database,
//! no clock (time is passed in), no async runtime. A tidy test in the workspace enforces that its
//! manifest names no IO crate. Domain types do not derive serde traits: wire formats live in the
//! `server` crate and storage rows in the `store` crate, so that a wire contract changes only on purpose.

pub mod audit;
pub mod classification;
pub mod error;
pub mod geometry;
pub mod i18n;
pub mod ids;
pub mod incident;
pub mod masking;
pub mod policy;
pub mod registry;
pub mod text;

pub use classification::Classification;
pub use error::{Invalid, InvalidReason};
pub use i18n::Locale;
