//! The registry's use cases: jurisdictions, organizations, members, teams, and boundary import.

pub mod import;
pub mod jurisdictions;
pub mod members;
pub mod organizations;
pub mod teams;

use domain::geometry::{GeoPoint, MultiPolygon};
use domain::registry::JurisdictionPath;
use serde::Deserialize;
use store::list::Visibility;

use crate::{App, AppError};

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`), so a
/// PATCH can clear a field as well as leave it alone.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A position on the wire: `{"lon": 121.47, "lat": 31.23}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Longitude, degrees east (WGS 84).
    pub lon: f64,
    /// Latitude, degrees north (WGS 84).
    pub lat: f64,
}

impl Point {
    pub(crate) fn parse(field: &str, point: Option<Point>) -> Result<Option<(f64, f64)>, AppError> {
        match point {
            None => Ok(None),
            Some(point) => {
                let parsed = GeoPoint::parse(field, point.lon, point.lat)?;
                Ok(Some((parsed.lon(), parsed.lat())))
            }
        }
    }
}

/// Parses a boundary given as GeoJSON: its canonical text and its bounding box.
pub(crate) fn parse_boundary(field: &str, value: &serde_json::Value) -> Result<(String, [f64; 4]), AppError> {
    let shape = MultiPolygon::from_geojson(field, value)?;
    let bbox = shape.bbox();
    Ok((shape.to_geojson().to_string(), [bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat]))
}

/// Text that is optional on the wire: blank counts as absent.
pub(crate) fn optional_text(value: Option<String>) -> Option<String> {
    value.map(|text| text.trim().to_string()).filter(|text| !text.is_empty())
}

impl App {
    /// The path of jurisdiction `id`, or an `invalid_field` error naming `field` if there is no such jurisdiction.
    pub(crate) async fn jurisdiction_path(&self, field: &str, id: i64) -> Result<(JurisdictionPath, String), AppError> {
        let mut reader = self.store().reader().await?;
        match store::registry::get_jurisdiction(&mut reader.conn(), id, false).await? {
            Some(row) => Ok((row.path, row.timezone)),
            None => Err(domain::Invalid::new(field, domain::InvalidReason::NotFound).into()),
        }
    }
}

/// Turns the policy's read filter into the store's visibility filter.
pub fn visibility(filter: domain::policy::ReadFilter) -> Visibility {
    match filter {
        domain::policy::ReadFilter::Everything => Visibility::Everything,
        domain::policy::ReadFilter::Some { subtrees, ancestors_of, organizations, member, account } => Visibility::Some {
            subtrees,
            ancestors_of,
            organizations: organizations.into_iter().map(|id| id.0).collect(),
            own_id: member.map(|id| id.0).or(account.map(|id| id.0)),
        },
    }
}

/// Whether a caller who sees `visibility` may ask for the subtree at `within`: the subtree must overlap what
/// they see (they then see the overlap). Asking for a place wholly outside one's scope is refused, not answered
/// with an empty page, so that the refusal is audited and explained.
pub(crate) fn overlaps(visibility: &Visibility, within: &JurisdictionPath) -> bool {
    match visibility {
        Visibility::Everything => true,
        Visibility::Some { subtrees, ancestors_of: _, organizations, own_id } => {
            !organizations.is_empty() || own_id.is_some() || subtrees.iter().any(|scope| scope.contains(within) || within.contains(scope))
        }
    }
}
