//! The API handlers, grouped by area.

pub mod accounts;
pub mod datasets;
pub mod events;
pub mod incidents;
pub mod layers;
pub mod monitoring;
pub mod registry;
pub mod warnings;
