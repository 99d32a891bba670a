//! Geometry values of the registry: points and multipolygons in WGS 84, (longitude, latitude) order as in
//! GeoJSON (RFC 7946). Parsing checks ranges, ring closure and size, and area; the geo engine (`spatial`)
//! owns the heavier checks (self-intersection) and all spatial queries.

use serde_json::{Map, Value};

use crate::error::{Invalid, InvalidReason};

/// A position on the earth: longitude in [-180, 180] and latitude in [-90, 90], finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    lon: f64,
    lat: f64,
}

impl GeoPoint {
    /// Parses a position; `field` names the input it came from.
    pub fn parse(field: &str, lon: f64, lat: f64) -> Result<GeoPoint, Invalid> {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Invalid::new(format!("{field}.lon"), InvalidReason::OutOfRange { min: "-180".into(), max: "180".into() }));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(format!("{field}.lat"), InvalidReason::OutOfRange { min: "-90".into(), max: "90".into() }));
        }
        Ok(GeoPoint { lon, lat })
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Great-circle distance to `other` in metres (haversine on a sphere of mean earth radius).
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_phi = phi2 - phi1;
        let d_lambda = (other.lon - self.lon).to_radians();
        let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }

    /// Parses a GeoJSON position array `[lon, lat]` (an optional third element, altitude, is ignored).
    fn from_position(field: &str, value: &Value) -> Result<GeoPoint, Invalid> {
        let Some(array) = value.as_array() else {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "[lon, lat]" }));
        };
        if !(2..=3).contains(&array.len()) {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "[lon, lat]" }));
        }
        let number = |index: usize| {
            array[index]
                .as_f64()
                .ok_or_else(|| Invalid::new(format!("{field}[{index}]"), InvalidReason::Malformed { expected: "a number" }))
        };
        let (lon, lat) = (number(0)?, number(1)?);
        if !(-180.0..=180.0).contains(&lon) {
            return Err(Invalid::new(format!("{field}[0]"), InvalidReason::OutOfRange { min: "-180".into(), max: "180".into() }));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(format!("{field}[1]"), InvalidReason::OutOfRange { min: "-90".into(), max: "90".into() }));
        }
        Ok(GeoPoint { lon, lat })
    }
}

/// A bounding box: west, south, east, north in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Smallest longitude.
    pub min_lon: f64,
    /// Smallest latitude.
    pub min_lat: f64,
    /// Largest longitude.
    pub max_lon: f64,
    /// Largest latitude.
    pub max_lat: f64,
}

impl BBox {
    /// Whether this box and `other` share at least one point.
    pub fn intersects(&self, other: &BBox) -> bool {
        self.min_lon <= other.max_lon && other.min_lon <= self.max_lon && self.min_lat <= other.max_lat && other.min_lat <= self.max_lat
    }

    /// Whether `point` lies in this box (edges included).
    pub fn contains(&self, point: GeoPoint) -> bool {
        (self.min_lon..=self.max_lon).contains(&point.lon) && (self.min_lat..=self.max_lat).contains(&point.lat)
    }

    /// Parses `west,south,east,north` as used by `?bbox=` query parameters.
    pub fn parse(field: &str, text: &str) -> Result<BBox, Invalid> {
        let parts: Vec<f64> = text
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| Invalid::new(field, InvalidReason::Malformed { expected: "west,south,east,north" }))?;
        let [west, south, east, north] = parts[..] else {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "west,south,east,north" }));
        };
        let south_west = GeoPoint::parse(field, west, south)?;
        let north_east = GeoPoint::parse(field, east, north)?;
        if south_west.lon > north_east.lon || south_west.lat > north_east.lat {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "west <= east and south <= north" }));
        }
        Ok(BBox { min_lon: west, min_lat: south, max_lon: east, max_lat: north })
    }
}

/// A closed ring: at least four positions, the last equal to the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring(Vec<GeoPoint>);

impl Ring {
    fn parse(field: &str, value: &Value) -> Result<Ring, Invalid> {
        let Some(array) = value.as_array() else {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "an array of positions" }));
        };
        let points = array
            .iter()
            .enumerate()
            .map(|(index, position)| GeoPoint::from_position(&format!("{field}[{index}]"), position))
            .collect::<Result<Vec<_>, _>>()?;
        if points.len() < 4 {
            return Err(Invalid::new(field, InvalidReason::RingTooShort));
        }
        if points.first() != points.last() {
            return Err(Invalid::new(field, InvalidReason::RingNotClosed));
        }
        let ring = Ring(points);
        if ring.signed_area_deg2().abs() < 1e-14 {
            return Err(Invalid::new(field, InvalidReason::ZeroArea));
        }
        Ok(ring)
    }

    /// The positions, the last equal to the first.
    pub fn points(&self) -> &[GeoPoint] {
        &self.0
    }

    /// Shoelace area in square degrees; positive for counter-clockwise rings.
    fn signed_area_deg2(&self) -> f64 {
        let origin = self.0[0];
        self.0
            .windows(2)
            .map(|pair| {
                let (a, b) = (pair[0], pair[1]);
                (a.lon - origin.lon) * (b.lat - origin.lat) - (b.lon - origin.lon) * (a.lat - origin.lat)
            })
            .sum::<f64>()
            / 2.0
    }

    /// Approximate area in square metres (equirectangular projection at the ring's mean latitude: good to a
    /// fraction of a percent at district scale).
    pub fn area_m2(&self) -> f64 {
        let mean_lat = self.0.iter().map(|p| p.lat).sum::<f64>() / self.0.len() as f64;
        let metres_per_degree = 111_194.9;
        self.signed_area_deg2().abs() * metres_per_degree * metres_per_degree * mean_lat.to_radians().cos()
    }

    fn to_geojson(&self) -> Value {
        Value::Array(self.0.iter().map(|p| Value::Array(vec![number(p.lon), number(p.lat)])).collect())
    }

    /// The ring simplified with the Douglas–Peucker algorithm to within `tolerance` degrees; `None` when it would
    /// collapse below four positions (too small to draw at that tolerance).
    pub fn simplified(&self, tolerance: f64) -> Option<Ring> {
        let points = &self.0;
        let mut keep = vec![false; points.len()];
        keep[0] = true;
        keep[points.len() - 1] = true;
        // The closing point equals the first, so split the ring at its farthest point from the start.
        let far = (1..points.len() - 1)
            .max_by(|a, b| squared_distance(points[0], points[*a]).total_cmp(&squared_distance(points[0], points[*b])))
            .unwrap_or(1);
        keep[far] = true;
        let mut stack = vec![(0, far), (far, points.len() - 1)];
        while let Some((first, last)) = stack.pop() {
            if last <= first + 1 {
                continue;
            }
            let (mut worst, mut worst_distance) = (first, 0.0);
            for index in first + 1..last {
                let distance = segment_distance(points[index], points[first], points[last]);
                if distance > worst_distance {
                    worst = index;
                    worst_distance = distance;
                }
            }
            if worst_distance > tolerance {
                keep[worst] = true;
                stack.push((first, worst));
                stack.push((worst, last));
            }
        }
        let kept: Vec<GeoPoint> = points.iter().zip(&keep).filter(|(_, keep)| **keep).map(|(point, _)| *point).collect();
        (kept.len() >= 4).then_some(Ring(kept))
    }

    /// Whether `point` lies inside or on this ring (even-odd rule; points on an edge count as inside).
    pub fn contains(&self, point: GeoPoint) -> bool {
        let mut inside = false;
        for pair in self.0.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let cross = (b.lon - a.lon) * (point.lat - a.lat) - (b.lat - a.lat) * (point.lon - a.lon);
            let within_box = point.lon >= a.lon.min(b.lon)
                && point.lon <= a.lon.max(b.lon)
                && point.lat >= a.lat.min(b.lat)
                && point.lat <= a.lat.max(b.lat);
            if cross == 0.0 && within_box {
                return true;
            }
            if (a.lat > point.lat) != (b.lat > point.lat) {
                let lon_at = a.lon + (point.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
                if point.lon < lon_at {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

fn squared_distance(a: GeoPoint, b: GeoPoint) -> f64 {
    (a.lon - b.lon).powi(2) + (a.lat - b.lat).powi(2)
}

/// Distance in degrees from `point` to the segment `a`–`b` (planar: fine for simplification at map scale).
fn segment_distance(point: GeoPoint, a: GeoPoint, b: GeoPoint) -> f64 {
    let (dx, dy) = (b.lon - a.lon, b.lat - a.lat);
    let length = dx * dx + dy * dy;
    let t = if length == 0.0 { 0.0 } else { (((point.lon - a.lon) * dx + (point.lat - a.lat) * dy) / length).clamp(0.0, 1.0) };
    let (x, y) = (a.lon + t * dx, a.lat + t * dy);
    ((point.lon - x).powi(2) + (point.lat - y).powi(2)).sqrt()
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map(Value::Number).unwrap_or(Value::Null)
}

/// A polygon: an exterior ring and zero or more holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    /// The outer boundary.
    pub exterior: Ring,
    /// Areas cut out of the polygon.
    pub holes: Vec<Ring>,
}

impl Polygon {
    fn parse(field: &str, value: &Value) -> Result<Polygon, Invalid> {
        let Some(rings) = value.as_array() else {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "an array of rings" }));
        };
        if rings.is_empty() {
            return Err(Invalid::new(field, InvalidReason::Required));
        }
        let mut parsed = rings.iter().enumerate().map(|(index, ring)| Ring::parse(&format!("{field}[{index}]"), ring));
        let exterior = parsed.next().expect("checked non-empty")?;
        let holes = parsed.collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon { exterior, holes })
    }

    fn to_geojson(&self) -> Value {
        Value::Array(std::iter::once(&self.exterior).chain(&self.holes).map(Ring::to_geojson).collect())
    }
}

/// A multipolygon: the boundary of a jurisdiction, a warning area, a flooded zone.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiPolygon(Vec<Polygon>);

impl MultiPolygon {
    /// Parses a GeoJSON geometry object of type `MultiPolygon` or `Polygon` (a polygon becomes a multipolygon of
    /// one). `field` names the input, and errors give the path down to the position at fault.
    pub fn from_geojson(field: &str, value: &Value) -> Result<MultiPolygon, Invalid> {
        let Some(object) = value.as_object() else {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "a GeoJSON geometry object" }));
        };
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        let coordinates = object.get("coordinates").ok_or_else(|| Invalid::new(format!("{field}.coordinates"), InvalidReason::Required))?;
        let coordinates_field = format!("{field}.coordinates");
        match kind {
            "Polygon" => Ok(MultiPolygon(vec![Polygon::parse(&coordinates_field, coordinates)?])),
            "MultiPolygon" => {
                let Some(polygons) = coordinates.as_array() else {
                    return Err(Invalid::new(coordinates_field, InvalidReason::Malformed { expected: "an array of polygons" }));
                };
                if polygons.is_empty() {
                    return Err(Invalid::new(coordinates_field, InvalidReason::Required));
                }
                let polygons = polygons
                    .iter()
                    .enumerate()
                    .map(|(index, polygon)| Polygon::parse(&format!("{coordinates_field}[{index}]"), polygon))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(MultiPolygon(polygons))
            }
            other => Err(Invalid::new(format!("{field}.type"), InvalidReason::UnsupportedGeometry { found: other.to_string() })),
        }
    }

    /// The polygons.
    pub fn polygons(&self) -> &[Polygon] {
        &self.0
    }

    /// The GeoJSON geometry object (`{"type": "MultiPolygon", "coordinates": …}`).
    pub fn to_geojson(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), Value::String("MultiPolygon".into()));
        object.insert("coordinates".into(), Value::Array(self.0.iter().map(Polygon::to_geojson).collect()));
        Value::Object(object)
    }

    /// The smallest box around every position.
    pub fn bbox(&self) -> BBox {
        let mut bbox = BBox { min_lon: f64::INFINITY, min_lat: f64::INFINITY, max_lon: f64::NEG_INFINITY, max_lat: f64::NEG_INFINITY };
        for point in self.0.iter().flat_map(|polygon| polygon.exterior.points()) {
            bbox.min_lon = bbox.min_lon.min(point.lon);
            bbox.min_lat = bbox.min_lat.min(point.lat);
            bbox.max_lon = bbox.max_lon.max(point.lon);
            bbox.max_lat = bbox.max_lat.max(point.lat);
        }
        bbox
    }

    /// Approximate area in square metres: exteriors minus holes.
    pub fn area_m2(&self) -> f64 {
        self.0.iter().map(|polygon| polygon.exterior.area_m2() - polygon.holes.iter().map(Ring::area_m2).sum::<f64>()).sum()
    }

    /// Whether `point` lies inside (boundary included) one of the polygons and outside its holes.
    pub fn contains(&self, point: GeoPoint) -> bool {
        self.0.iter().any(|polygon| {
            polygon.exterior.contains(point) && !polygon.holes.iter().any(|hole| hole.contains(point) && !on_ring(hole, point))
        })
    }

    /// The shape simplified to within `tolerance` degrees for drawing; polygons and holes that would vanish are
    /// dropped, and `None` means nothing is left to draw.
    pub fn simplified(&self, tolerance: f64) -> Option<MultiPolygon> {
        let polygons: Vec<Polygon> = self
            .0
            .iter()
            .filter_map(|polygon| {
                let exterior = polygon.exterior.simplified(tolerance)?;
                let holes = polygon.holes.iter().filter_map(|hole| hole.simplified(tolerance)).collect();
                Some(Polygon { exterior, holes })
            })
            .collect();
        (!polygons.is_empty()).then_some(MultiPolygon(polygons))
    }

    /// How many positions the shape has.
    pub fn position_count(&self) -> usize {
        self.0.iter().map(|polygon| polygon.exterior.points().len() + polygon.holes.iter().map(|h| h.points().len()).sum::<usize>()).sum()
    }

    /// A representative point for labels: the centre of the bounding box when inside, else the first vertex.
    pub fn label_point(&self) -> GeoPoint {
        let bbox = self.bbox();
        let centre = GeoPoint { lon: (bbox.min_lon + bbox.max_lon) / 2.0, lat: (bbox.min_lat + bbox.max_lat) / 2.0 };
        if self.contains(centre) { centre } else { self.0[0].exterior.points()[0] }
    }
}

fn on_ring(ring: &Ring, point: GeoPoint) -> bool {
    ring.points().windows(2).any(|pair| {
        let (a, b) = (pair[0], pair[1]);
        let cross = (b.lon - a.lon) * (point.lat - a.lat) - (b.lat - a.lat) * (point.lon - a.lon);
        cross == 0.0
            && point.lon >= a.lon.min(b.lon)
            && point.lon <= a.lon.max(b.lon)
            && point.lat >= a.lat.min(b.lat)
            && point.lat <= a.lat.max(b.lat)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x0: f64, y0: f64, size: f64) -> Value {
        json!([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]])
    }

    #[test]
    fn parses_polygons_and_multipolygons() {
        let polygon =
            MultiPolygon::from_geojson("boundary", &json!({"type": "Polygon", "coordinates": [square(121.0, 31.0, 0.1)]})).unwrap();
        assert_eq!(polygon.polygons().len(), 1);
        let bbox = polygon.bbox();
        assert_eq!((bbox.min_lon, bbox.max_lat), (121.0, 31.1));
        assert!(polygon.contains(GeoPoint::parse("p", 121.05, 31.05).unwrap()));
        assert!(polygon.contains(GeoPoint::parse("p", 121.0, 31.05).unwrap()), "a point on the boundary is inside");
        assert!(!polygon.contains(GeoPoint::parse("p", 121.2, 31.05).unwrap()));
        let area_km2 = polygon.area_m2() / 1e6;
        assert!((area_km2 - 105.9).abs() < 1.0, "about 11.1 km × 9.5 km, got {area_km2}");
        let round_trip = MultiPolygon::from_geojson("b", &polygon.to_geojson()).unwrap();
        assert_eq!(round_trip, polygon);
    }

    #[test]
    fn holes_are_excluded_but_their_edges_are_inside() {
        let value = json!({"type": "MultiPolygon", "coordinates": [[square(0.0, 0.0, 10.0), square(4.0, 4.0, 2.0)]]});
        let shape = MultiPolygon::from_geojson("b", &value).unwrap();
        assert!(!shape.contains(GeoPoint::parse("p", 5.0, 5.0).unwrap()));
        assert!(shape.contains(GeoPoint::parse("p", 4.0, 5.0).unwrap()));
        assert!(shape.contains(GeoPoint::parse("p", 1.0, 1.0).unwrap()));
    }

    #[test]
    fn errors_name_the_position_at_fault() {
        let check = |value: Value, field: &str, code: &str| {
            let error = MultiPolygon::from_geojson("boundary", &value).unwrap_err();
            assert_eq!((error.field.as_str(), error.reason.code()), (field, code), "{value}");
        };
        check(json!({"type": "Point", "coordinates": [1, 2]}), "boundary.type", "unsupported_geometry");
        check(json!({"type": "Polygon"}), "boundary.coordinates", "required");
        check(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}), "boundary.coordinates[0]", "ring_not_closed");
        check(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}), "boundary.coordinates[0]", "ring_too_short");
        check(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}), "boundary.coordinates[0]", "zero_area");
        check(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]}),
            "boundary.coordinates[0][1][0]",
            "out_of_range",
        );
        check(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 91], [1, 1], [0, 0]]]}),
            "boundary.coordinates[0][1][1]",
            "out_of_range",
        );
        check(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, "x"], [1, 1], [0, 0]]]}),
            "boundary.coordinates[0][1][1]",
            "malformed",
        );
        check(
            json!({"type": "MultiPolygon", "coordinates": [[square(0.0, 0.0, 1.0)], [[[0, 0]]]]}),
            "boundary.coordinates[1][0]",
            "ring_too_short",
        );
        check(json!("text"), "boundary", "malformed");
    }

    #[test]
    fn simplification_keeps_the_shape_and_drops_what_vanishes() {
        // A square with many points along its edges.
        let mut ring = Vec::new();
        for i in 0..100 {
            ring.push(json!([i as f64 / 100.0, 0.0]));
        }
        for i in 0..100 {
            ring.push(json!([1.0, i as f64 / 100.0]));
        }
        ring.push(json!([1.0, 1.0]));
        ring.push(json!([0.0, 1.0]));
        ring.push(json!([0.0, 0.0]));
        let detailed = MultiPolygon::from_geojson("b", &json!({"type": "Polygon", "coordinates": [ring]})).unwrap();
        assert_eq!(detailed.position_count(), 203);
        let simple = detailed.simplified(0.001).unwrap();
        assert_eq!(simple.position_count(), 5, "{:?}", simple);
        assert_eq!(simple.bbox(), detailed.bbox(), "the corners stay");
        let tiny = MultiPolygon::from_geojson("b", &json!({"type": "Polygon", "coordinates": [square(0.0, 0.0, 0.0001)]})).unwrap();
        assert!(tiny.simplified(0.01).is_none(), "a shape far smaller than the tolerance vanishes");
    }

    #[test]
    fn points_and_boxes_check_ranges() {
        assert_eq!(GeoPoint::parse("home", 200.0, 0.0).unwrap_err().field, "home.lon");
        assert_eq!(GeoPoint::parse("home", 0.0, f64::NAN).unwrap_err().field, "home.lat");
        let a = GeoPoint::parse("a", 121.4737, 31.2304).unwrap();
        let b = GeoPoint::parse("b", 121.4837, 31.2304).unwrap();
        assert!((a.distance_m(b) - 951.0).abs() < 5.0, "{}", a.distance_m(b));
        let bbox = BBox::parse("bbox", "121,31,122,32").unwrap();
        assert!(bbox.contains(a));
        assert!(BBox::parse("bbox", "122,31,121,32").is_err());
        assert!(BBox::parse("bbox", "1,2,3").is_err());
        assert!(BBox::parse("bbox", "a,b,c,d").is_err());
    }
}
