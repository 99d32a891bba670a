//! Distance from a point to any GeoJSON geometry (points, lines, polygons, their multi forms and collections), for
//! spatial joins at the scale of a city: "a gauge within 500 m of a low-lying underpass".
//!
//! The geometry is projected onto a local plane tangent at the point (an equirectangular projection scaled by the
//! WGS84 radii of curvature there), where segment distances are exact Euclidean ones. Within a few kilometres the
//! projection's error is far below a metre per kilometre; beyond 20 km callers should not rely on it.

use serde_json::Value;

/// WGS84 semi-major axis and first eccentricity squared.
const A: f64 = 6_378_137.0;
const E2: f64 = 6.694_379_990_14e-3;

/// The least distance in metres from (`lon`, `lat`) to `geometry` (a GeoJSON geometry object); 0 inside a polygon.
/// `None` for a geometry with no coordinates or of an unknown type.
#[must_use]
pub fn distance_to_geojson_m(lon: f64, lat: f64, geometry: &Value) -> Option<f64> {
    let phi = lat.to_radians();
    let w = (1.0 - E2 * phi.sin().powi(2)).sqrt();
    // Metres per radian along the meridian and along the parallel at the point.
    let (m, n) = (A * (1.0 - E2) / w.powi(3), A / w * phi.cos());
    let project = |c: &Value| -> Option<(f64, f64)> {
        let x = c.get(0)?.as_f64()?;
        let y = c.get(1)?.as_f64()?;
        let mut dx = x - lon;
        if dx > 180.0 {
            dx -= 360.0;
        } else if dx < -180.0 {
            dx += 360.0;
        }
        Some((dx.to_radians() * n, (y - lat).to_radians() * m))
    };
    let path = |coords: &Value| -> Option<Vec<(f64, f64)>> { coords.as_array()?.iter().map(&project).collect() };
    let coords = geometry.get("coordinates");
    match geometry.get("type")?.as_str()? {
        "Point" => project(coords?).map(|(x, y)| x.hypot(y)),
        "MultiPoint" => min_of(coords?.as_array()?.iter().filter_map(|c| project(c).map(|(x, y)| x.hypot(y)))),
        "LineString" => path(coords?).and_then(|p| to_path(&p)),
        "MultiLineString" => min_of(coords?.as_array()?.iter().filter_map(|l| path(l).and_then(|p| to_path(&p)))),
        "Polygon" => to_polygon(&coords?.as_array()?.iter().map(path).collect::<Option<Vec<_>>>()?),
        "MultiPolygon" => min_of(
            coords?.as_array()?.iter().filter_map(|poly| to_polygon(&poly.as_array()?.iter().map(path).collect::<Option<Vec<_>>>()?)),
        ),
        "GeometryCollection" => min_of(geometry.get("geometries")?.as_array()?.iter().filter_map(|g| distance_to_geojson_m(lon, lat, g))),
        _ => None,
    }
}

fn min_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |best: Option<f64>, v| Some(best.map_or(v, |b| b.min(v))))
}

/// Distance from the origin to a segment.
fn to_segment((ax, ay): (f64, f64), (bx, by): (f64, f64)) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let length2 = dx * dx + dy * dy;
    let t = if length2 == 0.0 { 0.0 } else { (-(ax * dx + ay * dy) / length2).clamp(0.0, 1.0) };
    (ax + t * dx).hypot(ay + t * dy)
}

fn to_path(points: &[(f64, f64)]) -> Option<f64> {
    match points {
        [] => None,
        [only] => Some(only.0.hypot(only.1)),
        _ => min_of(points.windows(2).map(|w| to_segment(w[0], w[1]))),
    }
}

/// Whether the origin is inside a ring (even-odd rule).
fn ring_holds_origin(ring: &[(f64, f64)]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let ((x1, y1), (x2, y2)) = (w[0], w[1]);
        if (y1 > 0.0) != (y2 > 0.0) && x1 + (0.0 - y1) * (x2 - x1) / (y2 - y1) > 0.0 {
            inside = !inside;
        }
    }
    inside
}

/// A polygon (outer ring, then holes): 0 inside it, else the distance to its nearest ring.
fn to_polygon(rings: &[Vec<(f64, f64)>]) -> Option<f64> {
    let outer = rings.first()?;
    let inside = ring_holds_origin(outer) && !rings[1..].iter().any(|hole| ring_holds_origin(hole));
    if inside { Some(0.0) } else { min_of(rings.iter().filter_map(|r| to_path(r))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn distances_to_each_kind_of_geometry_agree_with_geodesics() {
        let (lon, lat) = (-8.61, 41.15);
        // A point 500 m east, measured by the geodesic.
        let east = crate::area::geodesic_distance_m(lon, lat, lon + 0.006, lat);
        let d = distance_to_geojson_m(lon, lat, &json!({"type": "Point", "coordinates": [lon + 0.006, lat]})).unwrap();
        assert!((d - east).abs() < 0.5, "{d} vs {east}");
        // A north-south line passing 0.006° east: the nearest point is level with us.
        let line = json!({"type": "LineString", "coordinates": [[lon + 0.006, lat - 0.01], [lon + 0.006, lat + 0.01]]});
        assert!((distance_to_geojson_m(lon, lat, &line).unwrap() - east).abs() < 0.5);
        // Inside a square: 0. Inside its hole: the distance to the hole's edge.
        let square = |r: f64| json!([[lon - r, lat - r], [lon + r, lat - r], [lon + r, lat + r], [lon - r, lat + r], [lon - r, lat - r]]);
        let polygon = json!({"type": "Polygon", "coordinates": [square(0.01)]});
        assert_eq!(distance_to_geojson_m(lon, lat, &polygon), Some(0.0));
        let holed = json!({"type": "Polygon", "coordinates": [square(0.01), square(0.006)]});
        let to_hole = distance_to_geojson_m(lon, lat, &holed).unwrap();
        assert!(to_hole > 490.0 && to_hole < 680.0, "{to_hole}");
        let multi = json!({"type": "MultiPolygon", "coordinates": [[square(0.001)], [square(0.02)]]});
        assert_eq!(distance_to_geojson_m(lon + 0.005, lat, &multi), Some(0.0), "inside the larger one");
        let collection = json!({"type": "GeometryCollection", "geometries": [line, {"type": "Point", "coordinates": [lon, lat + 0.001]}]});
        let d = distance_to_geojson_m(lon, lat, &collection).unwrap();
        assert!((d - crate::area::geodesic_distance_m(lon, lat, lon, lat + 0.001)).abs() < 0.5);
        assert_eq!(distance_to_geojson_m(lon, lat, &json!({"type": "Blob"})), None);
        assert_eq!(distance_to_geojson_m(lon, lat, &json!({"type": "LineString", "coordinates": [[1, "x"]]})), None);
    }
}
