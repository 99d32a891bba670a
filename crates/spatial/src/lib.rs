//! The geo engine of Gridline: who is inside an area, and how fast help can get there by road.
//!
//! This crate owns exact area targeting ([`PointIndex`] queried with an [`Area`]),
//! OpenStreetMap import ([`osm`]), and road routing with closures ([`RoadGraph`], [`Router`]).
//! It is a pure library: it takes plain data in and gives plain data back.
//! It must never open a database, a socket or a thread pool of its own, and it reads files only where a caller
//! passes a path or a reader to an import function.
//! Coordinates are (longitude, latitude) in WGS84 degrees everywhere, except in the CAP text forms
//! (`lat,lon` pairs), which have their own parsers ([`Geometry::from_cap_polygon`], [`Geometry::from_cap_circle`]).

pub mod area;
mod ch;
pub mod distance;
pub mod error;
pub mod gazetteer;
pub mod graph;
pub mod index;
pub mod osm;
pub mod predicates;
pub mod route;

pub use area::{Area, Geometry, LonLat, Repair};
pub use distance::distance_to_geojson_m;
pub use error::{RingRef, SpatialError};
pub use gazetteer::Gazetteer;
pub use graph::{RoadGraph, RoadGraphBuilder};
pub use index::PointIndex;
pub use route::{Closures, Route, Router, Snap};
