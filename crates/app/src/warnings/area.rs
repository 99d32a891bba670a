//! The area of a warning: one or more polygons, multipolygons and geodesic circles, stored as GeoJSON (a circle
//! is `{"type": "Circle", "center": [lon, lat], "radius_m": r}`, several parts a `GeometryCollection`). Targeting is
//! exact over the union of the parts; the CAP form lists each outer ring as a `polygon` and each circle as a
//! `circle` (CAP polygons cannot carry holes, so a hole narrows the targeting but not the published outline).

use domain::{Invalid, InvalidReason};
use serde_json::{Value, json};
use spatial::{Area, Geometry, SpatialError};

/// A checked warning area.
#[derive(Debug, Clone)]
pub struct WarningArea {
    parts: Vec<Geometry>,
    areas: Vec<Area>,
}

/// The most parts an area may have.
const MAX_PARTS: usize = 100;

pub(crate) fn spatial_invalid(field: &str, error: &SpatialError) -> Invalid {
    Invalid::new(field, InvalidReason::Explained { rule: error.code().to_string(), en: error.to_string(), zh: error.message_zh() })
}

impl WarningArea {
    /// Checks parts; an invalid part (self-intersecting, unclosed, out of range, zero area) is an error naming it.
    pub fn new(field: &str, parts: Vec<Geometry>) -> Result<WarningArea, Invalid> {
        if parts.is_empty() {
            return Err(Invalid::new(field, InvalidReason::Required));
        }
        if parts.len() > MAX_PARTS {
            return Err(Invalid::new(field, InvalidReason::OutOfRange { min: "1".into(), max: MAX_PARTS.to_string() }));
        }
        let mut areas = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            let part_field = if parts.len() == 1 { field.to_string() } else { format!("{field}.geometries[{index}]") };
            areas.push(Area::new(part).map_err(|error| spatial_invalid(&part_field, &error))?);
        }
        Ok(WarningArea { parts, areas })
    }

    /// Reads the stored or submitted GeoJSON form (not `Jurisdictions`, which the application resolves first).
    pub fn from_json(field: &str, value: &Value) -> Result<WarningArea, Invalid> {
        let mut parts = Vec::new();
        collect(field, value, &mut parts, 0)?;
        WarningArea::new(field, parts)
    }

    /// The checked areas, for targeting.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// Whether a point is inside (on the boundary counts as inside).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.areas.iter().any(|area| area.contains(lon, lat))
    }

    /// The bounding box of all parts: `[west, south, east, north]`.
    pub fn bbox(&self) -> [f64; 4] {
        let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for area in &self.areas {
            let b = area.bbox();
            bbox = [bbox[0].min(b.min_x), bbox[1].min(b.min_y), bbox[2].max(b.max_x), bbox[3].max(b.max_y)];
        }
        bbox
    }

    /// The GeoJSON form.
    pub fn to_json(&self) -> Value {
        let geometries: Vec<Value> = self.parts.iter().map(geometry_json).collect();
        if geometries.len() == 1 {
            geometries.into_iter().next().unwrap_or(Value::Null)
        } else {
            json!({"type": "GeometryCollection", "geometries": geometries})
        }
    }

    /// The CAP `area` with this outline.
    pub fn to_cap(&self, description: &str) -> Result<cap::Area, cap::CapError> {
        let mut area = cap::Area::new(description);
        for part in &self.parts {
            match part {
                Geometry::Circle { center, radius_m } => {
                    area.circles.push(cap::Circle::new(cap::Point::new(center[1], center[0])?, radius_m / 1000.0)?);
                }
                Geometry::Polygon(rings) => area.polygons.push(cap_polygon(&rings[0])?),
                Geometry::MultiPolygon(polygons) => {
                    for rings in polygons {
                        area.polygons.push(cap_polygon(&rings[0])?);
                    }
                }
            }
        }
        Ok(area)
    }

    /// The area a CAP `area` list describes: its polygons and circles (geocodes are resolved by the caller and
    /// passed as `extra`).
    pub fn from_cap(field: &str, areas: &[cap::Area], extra: Vec<Geometry>) -> Result<WarningArea, Invalid> {
        let mut parts = extra;
        for area in areas {
            for polygon in &area.polygons {
                let ring: Vec<[f64; 2]> = polygon.points().iter().map(|p| [p.lon(), p.lat()]).collect();
                parts.push(Geometry::Polygon(vec![ring]));
            }
            for circle in &area.circles {
                // CAP allows a zero radius (a point); the smallest circle we target is one metre.
                let radius_m = (circle.radius_km() * 1000.0).max(1.0);
                parts.push(Geometry::Circle { center: [circle.center().lon(), circle.center().lat()], radius_m });
            }
        }
        WarningArea::new(field, parts)
    }
}

fn cap_polygon(ring: &[[f64; 2]]) -> Result<cap::Polygon, cap::CapError> {
    let points = ring.iter().map(|[lon, lat]| cap::Point::new(*lat, *lon)).collect::<Result<Vec<_>, _>>()?;
    cap::Polygon::new(points)
}

fn geometry_json(geometry: &Geometry) -> Value {
    match geometry {
        Geometry::Polygon(rings) => json!({"type": "Polygon", "coordinates": rings}),
        Geometry::MultiPolygon(polygons) => json!({"type": "MultiPolygon", "coordinates": polygons}),
        Geometry::Circle { center, radius_m } => json!({"type": "Circle", "center": center, "radius_m": radius_m}),
    }
}

fn collect(field: &str, value: &Value, parts: &mut Vec<Geometry>, depth: usize) -> Result<(), Invalid> {
    if depth > 2 {
        return Err(Invalid::new(field, InvalidReason::Malformed { expected: "a GeoJSON geometry" }));
    }
    let kind = value.get("type").and_then(Value::as_str).ok_or_else(|| Invalid::new(format!("{field}.type"), InvalidReason::Required))?;
    match kind {
        "Circle" => {
            let center = value.get("center").and_then(Value::as_array).filter(|c| c.len() == 2);
            let center = center
                .and_then(|c| Some([c[0].as_f64()?, c[1].as_f64()?]))
                .ok_or_else(|| Invalid::new(format!("{field}.center"), InvalidReason::Malformed { expected: "[longitude, latitude]" }))?;
            let radius_m = value
                .get("radius_m")
                .and_then(Value::as_f64)
                .ok_or_else(|| Invalid::new(format!("{field}.radius_m"), InvalidReason::Malformed { expected: "a radius in metres" }))?;
            parts.push(Geometry::Circle { center, radius_m });
            Ok(())
        }
        "GeometryCollection" => {
            let geometries = value
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| Invalid::new(format!("{field}.geometries"), InvalidReason::Required))?;
            for (index, geometry) in geometries.iter().enumerate() {
                collect(&format!("{field}.geometries[{index}]"), geometry, parts, depth + 1)?;
            }
            Ok(())
        }
        "Polygon" | "MultiPolygon" | "Feature" | "FeatureCollection" => {
            let geometry = Geometry::from_geojson(&value.to_string()).map_err(|error| spatial_invalid(field, &error))?;
            parts.push(geometry);
            Ok(())
        }
        other => Err(Invalid::new(format!("{field}.type"), InvalidReason::UnsupportedGeometry { found: other.to_string() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Value {
        json!({"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1], [121.0, 31.0]]]})
    }

    #[test]
    fn parts_round_trip_through_json_and_cap() {
        let value = json!({"type": "GeometryCollection", "geometries": [square(), {"type": "Circle", "center": [121.5, 31.2], "radius_m": 2000.0}]});
        let area = WarningArea::from_json("area", &value).unwrap();
        assert!(area.contains(121.05, 31.05) && area.contains(121.5, 31.21) && !area.contains(121.3, 31.05));
        assert!(area.contains(121.0, 31.05), "a point on the boundary is inside");
        let again = WarningArea::from_json("area", &area.to_json()).unwrap();
        assert_eq!(again.to_json(), area.to_json());
        let cap_area = area.to_cap("徐汇区").unwrap();
        assert_eq!((cap_area.polygons.len(), cap_area.circles.len()), (1, 1));
        assert_eq!(cap_area.polygons[0].points()[1].lat(), 31.0);
        assert_eq!(cap_area.polygons[0].points()[1].lon(), 121.1);
        assert_eq!(cap_area.circles[0].radius_km(), 2.0);
        let back = WarningArea::from_cap("area", &[cap_area], Vec::new()).unwrap();
        assert!(back.contains(121.05, 31.05) && back.contains(121.5, 31.21));
    }

    #[test]
    fn bad_areas_name_the_field_and_the_problem() {
        let bowtie =
            json!({"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.1], [121.1, 31.0], [121.0, 31.1], [121.0, 31.0]]]});
        let error = WarningArea::from_json("area", &bowtie).unwrap_err();
        assert_eq!(error.field, "area");
        assert!(
            matches!(&error.reason, InvalidReason::Explained { rule, zh, .. } if rule.contains("self") && zh.contains("自相交")),
            "{error:?}"
        );
        let error = WarningArea::from_json(
            "area",
            &json!({"type": "GeometryCollection", "geometries": [square(), {"type": "Circle", "center": [121.0, 31.0], "radius_m": -5.0}]}),
        )
        .unwrap_err();
        assert_eq!(error.field, "area.geometries[1]");
        let error = WarningArea::from_json("area", &json!({"type": "Point", "coordinates": [121.0, 31.0]})).unwrap_err();
        assert_eq!(error.field, "area.type");
        let error = WarningArea::from_json("area", &json!({"type": "Circle", "center": [121.0], "radius_m": 5.0})).unwrap_err();
        assert_eq!(error.field, "area.center");
    }
}
