//! The one integration-test binary of the geo engine.

mod areas;
mod errors;
mod osm;
mod routing;
mod targeting;
