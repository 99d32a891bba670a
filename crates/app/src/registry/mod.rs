//! The registry's use cases: jurisdictions, organizations, members, teams, boundary import, and the household
//! register.

mod households;
mod import;
mod jurisdictions;
mod locator;
mod members;
mod organizations;
mod teams;

use domain::geometry::{GeoPoint, MultiPolygon};
use domain::registry::JurisdictionPath;
use serde::Deserialize;

use crate::AppError;
use crate::kernel::Kernel;

pub use households::{COLUMNS, HouseholdImport, HouseholdView, REGISTER, RejectedLine};
pub use import::{ImportOptions, ImportReport, RejectedFeature};
pub use jurisdictions::{JurisdictionFilter, JurisdictionPatch, JurisdictionView, NewJurisdiction};
pub use locator::Locator;
pub use members::{CredentialInput, CredentialView, MemberFilter, MemberPatch, MemberView, NewMember};
pub use organizations::{NewOrganization, OrganizationFilter, OrganizationPatch, OrganizationView};
pub use teams::{NewTeam, TeamFilter, TeamPatch, TeamView};

/// The registry context's use cases: jurisdictions, organizations, members, teams, boundary import, and the
/// register of households (with the vulnerable residents in them).
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) kernel: Kernel,
    locator: std::sync::Arc<Locator>,
}

impl Registry {
    pub(crate) fn new(kernel: Kernel) -> Registry {
        Registry { kernel, locator: std::sync::Arc::default() }
    }
}

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

impl Registry {
    /// The path of jurisdiction `id`, or an `invalid_field` error naming `field` if there is no such jurisdiction.
    pub(crate) async fn jurisdiction_path(&self, field: &str, id: i64) -> Result<(JurisdictionPath, String), AppError> {
        let mut reader = self.kernel.store().reader().await?;
        match store::registry::get_jurisdiction(&mut reader.conn(), id, false).await? {
            Some(row) => Ok((row.path, row.timezone)),
            None => Err(domain::Invalid::new(field, domain::InvalidReason::NotFound).into()),
        }
    }
}
