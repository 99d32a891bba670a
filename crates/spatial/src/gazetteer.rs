//! Jurisdiction boundaries by geocode, so that a warning addressed to a code targets the right area.
//!
//! This module owns only the lookup from a code (a jurisdiction code, a CAP `<geocode>` value) to its checked area.
//! It must never invent a boundary: an unknown code is an error.

use std::collections::HashMap;

use crate::area::Area;
use crate::error::SpatialError;

/// Checked boundaries keyed by geocode.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    areas: HashMap<String, Area>,
}

impl Gazetteer {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the boundary of a geocode.
    pub fn insert(&mut self, code: impl Into<String>, area: Area) {
        self.areas.insert(code.into(), area);
    }

    /// The boundary registered for the code.
    pub fn resolve(&self, code: &str) -> Result<&Area, SpatialError> {
        self.areas.get(code).ok_or_else(|| SpatialError::UnknownGeocode { code: code.to_string() })
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }
}
