//! Target areas: polygons, multipolygons with holes and geodesic circles, validated and prepared for queries.
//!
//! This module owns the boundary semantics of the whole engine: a point is inside an area when it lies in its
//! interior or exactly on any of its rings (outer rings and holes alike), decided with exact predicates.
//! It turns raw [`Geometry`] into a checked [`Area`] and refuses invalid input with an error that names the problem;
//! it repairs only when asked through [`Area::repaired`].
//! It must never silently change the meaning of an area it was given.

use crate::error::{RingRef, SpatialError};
use crate::predicates::{BBox, Edge, EdgeVerdict, SegmentContact, segment_contact};

/// A WGS84 position in degrees, longitude first. Constructed only through [`LonLat::new`], which checks the ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Checks that the longitude is within [-180, 180] and the latitude within [-90, 90].
    pub fn new(lon: f64, lat: f64) -> Result<Self, SpatialError> {
        if lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) {
            Ok(Self { lon, lat })
        } else {
            Err(SpatialError::CoordinateOutOfRange { lon, lat })
        }
    }

    /// Parses `LON,LAT` (the order used everywhere in this crate and in GeoJSON).
    pub fn parse_lon_lat(text: &str) -> Result<Self, SpatialError> {
        let (a, b) = split_pair(text, "lon,lat")?;
        Self::new(a, b)
    }

    #[must_use]
    pub fn lon(&self) -> f64 {
        self.lon
    }

    #[must_use]
    pub fn lat(&self) -> f64 {
        self.lat
    }
}

fn split_pair(text: &str, format: &'static str) -> Result<(f64, f64), SpatialError> {
    let bad = || SpatialError::Parse { format, detail: format!("expected two numbers separated by a comma, got {text:?}") };
    let (a, b) = text.trim().split_once(',').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    Ok((a, b))
}

/// An unchecked geometry as it arrives from a file, a message or a caller, in (lon, lat) degrees.
///
/// Rings are lists of positions and should repeat their first position at the end.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// Outer ring first, then holes.
    Polygon(Vec<Vec<[f64; 2]>>),
    /// Polygons, each with its outer ring first, then its holes.
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
    /// A geodesic circle on the WGS84 ellipsoid.
    Circle { center: [f64; 2], radius_m: f64 },
}

/// What [`Area::repaired`] changed, so that the caller can tell the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// The ring did not end where it started; its first point was appended.
    ClosedRing(RingRef),
    /// The ring had fewer than three distinct points or enclosed no area, and was dropped.
    DroppedDegenerateRing(RingRef),
    /// The rings cross (the named error code); the area is read with the even-odd rule,
    /// so a point is inside when a ray from it crosses the rings an odd number of times.
    EvenOddFill { problem: &'static str },
}

impl Repair {
    /// A sentence in English describing the repair.
    #[must_use]
    pub fn message_en(&self) -> String {
        match self {
            Self::ClosedRing(r) => format!("closed {r} by repeating its first point"),
            Self::DroppedDegenerateRing(r) => format!("dropped {r}: it encloses no area"),
            Self::EvenOddFill { problem } => {
                format!("the rings intersect ({problem}); the area was read with the even-odd rule")
            }
        }
    }

    /// The same sentence in Simplified Chinese.
    #[must_use]
    pub fn message_zh(&self) -> String {
        let ring_zh = |r: &RingRef| {
            if r.ring == 0 {
                format!("第 {} 个多边形的外环", r.part)
            } else {
                format!("第 {} 个多边形的第 {} 个内环", r.part, r.ring)
            }
        };
        match self {
            Self::ClosedRing(r) => format!("已通过重复起点闭合{}", ring_zh(r)),
            Self::DroppedDegenerateRing(r) => format!("已删除{}：它不围成任何区域", ring_zh(r)),
            Self::EvenOddFill { problem } => format!("环相交（{problem}），已按奇偶规则确定区域"),
        }
    }
}

/// A checked area, prepared for fast exact point-in-area tests.
///
/// Invariant: the rings are closed, within coordinate ranges, and each encloses a non-zero area;
/// unless built by [`Area::repaired`], they are also simple, non-crossing and properly nested,
/// so that the even-odd count over all rings equals the usual "in a polygon and not in its holes".
#[derive(Debug, Clone)]
pub struct Area {
    shape: Shape,
    bbox: BBox,
}

#[derive(Debug, Clone)]
enum Shape {
    Rings(RingSet),
    Circle(Circle),
}

/// All edges of all rings, bucketed into horizontal bands so that a point only looks at the edges
/// whose latitude span covers it.
#[derive(Debug, Clone)]
pub(crate) struct RingSet {
    pub(crate) edges: Vec<Edge>,
    rings: Vec<Vec<[f64; 2]>>,
    band_y0: f64,
    band_inv_h: f64,
    band_start: Vec<u32>,
    band_edges: Vec<Edge>,
}

#[derive(Debug, Clone)]
pub(crate) struct Circle {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    pub(crate) radius_m: f64,
}

/// Where a box lies relative to an area, as far as a cheap test can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoxClass {
    Inside,
    Outside,
    Unknown,
}

impl Area {
    /// Checks the geometry and prepares it; an invalid geometry gives an error naming the problem and the ring.
    pub fn new(geometry: &Geometry) -> Result<Self, SpatialError> {
        match geometry {
            Geometry::Circle { center, radius_m } => Self::circle(LonLat::new(center[0], center[1])?, *radius_m),
            Geometry::Polygon(rings) => Self::from_parts(std::slice::from_ref(rings), false).map(|(a, _)| a),
            Geometry::MultiPolygon(parts) => Self::from_parts(parts, false).map(|(a, _)| a),
        }
    }

    /// Like [`Area::new`], but repairs what can be repaired and lists what it changed:
    /// unclosed rings are closed, degenerate rings dropped, and crossing rings read with the even-odd rule.
    /// Out-of-range coordinates and areas that are empty after repair are still errors.
    pub fn repaired(geometry: &Geometry) -> Result<(Self, Vec<Repair>), SpatialError> {
        match geometry {
            Geometry::Circle { .. } => Self::new(geometry).map(|a| (a, Vec::new())),
            Geometry::Polygon(rings) => Self::from_parts(std::slice::from_ref(rings), true),
            Geometry::MultiPolygon(parts) => Self::from_parts(parts, true),
        }
    }

    /// A geodesic circle on the WGS84 ellipsoid: the points whose geodesic distance to `center` is at most `radius_m`.
    pub fn circle(center: LonLat, radius_m: f64) -> Result<Self, SpatialError> {
        if !(radius_m.is_finite() && radius_m > 0.0 && radius_m < 20_000_000.0) {
            return Err(SpatialError::InvalidRadius { radius_m });
        }
        let circle = Circle { lon: center.lon, lat: center.lat, radius_m };
        let bbox = circle.conservative_bbox();
        Ok(Self { shape: Shape::Circle(circle), bbox })
    }

    /// Parses a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection (all polygons united) and checks it.
    pub fn from_geojson(text: &str) -> Result<Self, SpatialError> {
        Self::new(&Geometry::from_geojson(text)?)
    }

    /// The bounding box of the area; for a circle, a box that surely contains it.
    #[must_use]
    pub fn bbox(&self) -> BBox {
        self.bbox
    }

    /// The rings (outer rings and holes, closed) for a polygonal area; empty for a circle.
    #[must_use]
    pub fn rings(&self) -> &[Vec<[f64; 2]>] {
        match &self.shape {
            Shape::Rings(r) => &r.rings,
            Shape::Circle(_) => &[],
        }
    }

    /// Whether the point lies inside the area or on its boundary, decided exactly (circles: to the precision of
    /// the geodesic distance computation, about 15 nm).
    #[inline]
    #[must_use]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        if !self.bbox.contains(lon, lat) {
            return false;
        }
        match &self.shape {
            Shape::Rings(r) => r.contains(lon, lat),
            Shape::Circle(c) => c.contains(lon, lat),
        }
    }

    pub(crate) fn ring_set(&self) -> Option<&RingSet> {
        match &self.shape {
            Shape::Rings(r) => Some(r),
            Shape::Circle(_) => None,
        }
    }

    pub(crate) fn circle_shape(&self) -> Option<&Circle> {
        match &self.shape {
            Shape::Circle(c) => Some(c),
            Shape::Rings(_) => None,
        }
    }

    fn from_parts(parts: &[Vec<Vec<[f64; 2]>>], repair: bool) -> Result<(Self, Vec<Repair>), SpatialError> {
        let mut repairs = Vec::new();
        // Each kept ring with its reference; holes of a dropped outer ring are dropped with it.
        let mut rings: Vec<(RingRef, Vec<[f64; 2]>)> = Vec::new();
        for (part, poly) in parts.iter().enumerate() {
            let mut shell_kept = true;
            for (ring_index, ring) in poly.iter().enumerate() {
                let rr = RingRef { part, ring: ring_index };
                for p in ring {
                    LonLat::new(p[0], p[1])?;
                }
                let mut pts: Vec<[f64; 2]> = Vec::with_capacity(ring.len() + 1);
                for p in ring {
                    // Repeated consecutive points add nothing to the shape; dropping them is not a change of meaning.
                    if pts.last() != Some(p) {
                        pts.push(*p);
                    }
                }
                if pts.len() >= 2 && pts.first() != pts.last() {
                    if repair {
                        pts.push(pts[0]);
                        repairs.push(Repair::ClosedRing(rr));
                    } else {
                        return Err(SpatialError::RingNotClosed { ring: rr });
                    }
                }
                let degenerate = if pts.len() < 4 {
                    Some(SpatialError::RingTooFewPoints { ring: rr, points: ring.len() })
                } else if all_collinear(&pts) {
                    Some(SpatialError::ZeroArea { ring: rr })
                } else {
                    None
                };
                if let Some(err) = degenerate {
                    if !repair {
                        return Err(err);
                    }
                    repairs.push(Repair::DroppedDegenerateRing(rr));
                    if ring_index == 0 {
                        shell_kept = false;
                    }
                    continue;
                }
                if ring_index > 0 && !shell_kept {
                    continue;
                }
                rings.push((rr, pts));
            }
        }
        if rings.is_empty() {
            return Err(SpatialError::EmptyArea);
        }
        if let Err(problem) = check_topology(&rings) {
            if !repair {
                return Err(problem);
            }
            repairs.push(Repair::EvenOddFill { problem: problem.code() });
        }
        let mut bbox = BBox::EMPTY;
        for (_, r) in &rings {
            for p in r {
                bbox.extend(p[0], p[1]);
            }
        }
        let ring_set = RingSet::new(rings.into_iter().map(|(_, r)| r).collect(), bbox);
        Ok((Self { shape: Shape::Rings(ring_set), bbox }, repairs))
    }
}

fn all_collinear(pts: &[[f64; 2]]) -> bool {
    let a = pts[0];
    let Some(b) = pts.iter().find(|p| **p != a) else { return true };
    pts.iter().all(|c| crate::predicates::orient(a[0], a[1], b[0], b[1], c[0], c[1]) == 0.0)
}

/// Finds crossings between edges (of one ring or of two rings) and wrongly nested rings.
fn check_topology(rings: &[(RingRef, Vec<[f64; 2]>)]) -> Result<(), SpatialError> {
    struct Seg {
        ring: usize,
        pos: usize,
        a: [f64; 2],
        b: [f64; 2],
        min_x: f64,
        max_x: f64,
    }
    let mut segs = Vec::new();
    for (ri, (_, r)) in rings.iter().enumerate() {
        for (pos, w) in r.windows(2).enumerate() {
            segs.push(Seg { ring: ri, pos, a: w[0], b: w[1], min_x: w[0][0].min(w[1][0]), max_x: w[0][0].max(w[1][0]) });
        }
    }
    segs.sort_by(|s, t| s.min_x.total_cmp(&t.min_x));
    // A sweep along x: each segment is compared only with the earlier segments whose x-range still overlaps it.
    let mut active: Vec<usize> = Vec::new();
    for i in 0..segs.len() {
        let s = &segs[i];
        active.retain(|&j| segs[j].max_x >= s.min_x);
        for &j in &active {
            let t = &segs[j];
            if s.a[1].max(s.b[1]) < t.a[1].min(t.b[1]) || t.a[1].max(t.b[1]) < s.a[1].min(s.b[1]) {
                continue;
            }
            let contact = segment_contact(s.a, s.b, t.a, t.b);
            if contact == SegmentContact::Disjoint {
                continue;
            }
            // The start of one of the two segments is reported as the place to look.
            let at = s.a;
            if s.ring == t.ring {
                let n = rings[s.ring].1.len() - 1;
                let adjacent = s.pos.abs_diff(t.pos) == 1 || s.pos.abs_diff(t.pos) == n - 1;
                if adjacent && contact == SegmentContact::SharedEndpoint {
                    continue;
                }
                return Err(SpatialError::SelfIntersecting { ring: rings[s.ring].0, lon: at[0], lat: at[1] });
            }
            if contact == SegmentContact::SharedEndpoint {
                // Rings may touch at a vertex; that changes neither side of either ring.
                continue;
            }
            let (first, second) = order(rings[s.ring].0, rings[t.ring].0);
            return Err(SpatialError::RingsIntersect { first, second, lon: at[0], lat: at[1] });
        }
        active.push(i);
    }
    fn order(a: RingRef, b: RingRef) -> (RingRef, RingRef) {
        if (a.part, a.ring) <= (b.part, b.ring) { (a, b) } else { (b, a) }
    }

    // No two rings cross, so each ring lies wholly inside or wholly outside every other ring.
    // The even-odd rule then equals "in a polygon and not in its holes" exactly when every outer ring
    // lies inside an even number of rings and every hole inside an odd number, its own outer ring among them.
    let boxes: Vec<BBox> = rings
        .iter()
        .map(|(_, r)| {
            let mut b = BBox::EMPTY;
            for p in r {
                b.extend(p[0], p[1]);
            }
            b
        })
        .collect();
    for (i, (ri, r)) in rings.iter().enumerate() {
        let mut containers: Vec<usize> = Vec::new();
        for (j, (_, other)) in rings.iter().enumerate() {
            if i == j || !boxes[j].intersects(&boxes[i]) {
                continue;
            }
            // A vertex not on the other ring tells on which side of it the whole ring lies.
            let probe = r.iter().map(|p| ring_side(other, p[0], p[1])).find(|side| *side != Side::On);
            if probe == Some(Side::In) {
                containers.push(j);
            }
        }
        if ri.ring == 0 {
            if containers.len() % 2 == 1 {
                let inner_most = containers.iter().copied().max_by_key(|&j| rings_inside_count(j, &containers, rings));
                let other = inner_most.map_or(ri.part, |j| rings[j].0.part);
                let (a, b) = if ri.part <= other { (ri.part, other) } else { (other, ri.part) };
                return Err(SpatialError::PolygonsOverlap { first: a, second: b });
            }
        } else {
            let own_shell = containers.iter().any(|&j| rings[j].0.part == ri.part && rings[j].0.ring == 0);
            if !own_shell {
                return Err(SpatialError::HoleOutsideShell { ring: *ri });
            }
            if let Some(&j) = containers.iter().find(|&&j| rings[j].0.part == ri.part && rings[j].0.ring != 0) {
                return Err(SpatialError::NestedHoles { ring: *ri, outer: rings[j].0 });
            }
            if containers.len().is_multiple_of(2) {
                let j = containers.iter().copied().find(|&j| rings[j].0.part != ri.part).unwrap_or(containers[0]);
                let (a, b) = if ri.part <= rings[j].0.part { (ri.part, rings[j].0.part) } else { (rings[j].0.part, ri.part) };
                return Err(SpatialError::PolygonsOverlap { first: a, second: b });
            }
        }
    }
    Ok(())
}

/// How many of `containers` ring `j` itself lies in; the innermost container has the most.
fn rings_inside_count(j: usize, containers: &[usize], rings: &[(RingRef, Vec<[f64; 2]>)]) -> usize {
    containers
        .iter()
        .filter(|&&k| k != j)
        .filter(|&&k| rings[j].1.iter().map(|p| ring_side(&rings[k].1, p[0], p[1])).find(|s| *s != Side::On) == Some(Side::In))
        .count()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    In,
    On,
    Out,
}

/// Exact side of a point relative to one closed ring.
fn ring_side(ring: &[[f64; 2]], x: f64, y: f64) -> Side {
    let mut inside = false;
    for w in ring.windows(2) {
        let e = Edge { ax: w[0][0], ay: w[0][1], bx: w[1][0], by: w[1][1] };
        match e.verdict(x, y) {
            EdgeVerdict::OnEdge => return Side::On,
            EdgeVerdict::Crosses => inside = !inside,
            EdgeVerdict::Misses => {}
        }
    }
    if inside { Side::In } else { Side::Out }
}

impl RingSet {
    fn new(rings: Vec<Vec<[f64; 2]>>, bbox: BBox) -> Self {
        let mut edges = Vec::new();
        for r in &rings {
            for w in r.windows(2) {
                edges.push(Edge { ax: w[0][0], ay: w[0][1], bx: w[1][0], by: w[1][1] });
            }
        }
        // About one band per edge keeps the edges per band small for the jagged polygons of real alerts.
        let n_bands = edges.len().clamp(1, 1 << 16);
        let height = bbox.max_y - bbox.min_y;
        let band_inv_h = if height > 0.0 { n_bands as f64 / height } else { 0.0 };
        let band_y0 = bbox.min_y;
        let band_of = |y: f64| -> usize {
            // Float subtraction and multiplication are monotone, so an edge spanning y always lands in y's band.
            let b = ((y - band_y0) * band_inv_h) as usize;
            b.min(n_bands - 1)
        };
        let mut counts = vec![0u32; n_bands + 1];
        for e in &edges {
            let (lo, hi) = (band_of(e.ay.min(e.by)), band_of(e.ay.max(e.by)));
            for c in &mut counts[lo..=hi] {
                *c += 1;
            }
        }
        let mut band_start = vec![0u32; n_bands + 1];
        for b in 0..n_bands {
            band_start[b + 1] = band_start[b] + counts[b];
        }
        let mut fill = band_start.clone();
        let mut band_edges = vec![Edge { ax: 0.0, ay: 0.0, bx: 0.0, by: 0.0 }; band_start[n_bands] as usize];
        for e in &edges {
            let (lo, hi) = (band_of(e.ay.min(e.by)), band_of(e.ay.max(e.by)));
            for b in lo..=hi {
                band_edges[fill[b] as usize] = *e;
                fill[b] += 1;
            }
        }
        Self { edges, rings, band_y0, band_inv_h, band_start, band_edges }
    }

    /// Even-odd point-in-rings test with the boundary inside; the caller has already checked the bounding box.
    #[inline]
    pub(crate) fn contains(&self, x: f64, y: f64) -> bool {
        let n_bands = self.band_start.len() - 1;
        let b = (((y - self.band_y0) * self.band_inv_h) as usize).min(n_bands - 1);
        let edges = &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize];
        let mut inside = false;
        for e in edges {
            match e.verdict(x, y) {
                EdgeVerdict::OnEdge => return true,
                EdgeVerdict::Crosses => inside = !inside,
                EdgeVerdict::Misses => {}
            }
        }
        inside
    }
}

/// Mean radius of the Earth in metres (IUGG), used only for conservative box estimates, never for membership.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Circle {
    #[inline]
    pub(crate) fn distance_m(&self, lon: f64, lat: f64) -> f64 {
        geodesic_distance_m(self.lon, self.lat, lon, lat)
    }

    #[inline]
    pub(crate) fn contains(&self, lon: f64, lat: f64) -> bool {
        self.distance_m(lon, lat) <= self.radius_m
    }

    /// A box that surely contains the circle: the smallest meridional radius of curvature of WGS84 (6,335 km)
    /// bounds the latitude span, and a 2% margin covers the ellipsoid's effect on the longitude span.
    fn conservative_bbox(&self) -> BBox {
        let dlat = (self.radius_m / 6_335_000.0).to_degrees() * 1.02;
        let min_lat = self.lat - dlat;
        let max_lat = self.lat + dlat;
        if min_lat <= -89.0 || max_lat >= 89.0 {
            return BBox { min_x: -180.0, min_y: min_lat.max(-90.0), max_x: 180.0, max_y: max_lat.min(90.0) };
        }
        let cos_lat = min_lat.abs().max(max_lat.abs()).to_radians().cos();
        let dlon = dlat / cos_lat * 1.02;
        if dlon >= 180.0 || self.lon - dlon < -180.0 || self.lon + dlon > 180.0 {
            // A circle across the antimeridian is bounded by the full longitude range; its points are still tested exactly.
            return BBox { min_x: -180.0, min_y: min_lat, max_x: 180.0, max_y: max_lat };
        }
        BBox { min_x: self.lon - dlon, min_y: min_lat, max_x: self.lon + dlon, max_y: max_lat }
    }

    /// A cheap classification of a small lon/lat box against the circle, with generous margins in metres.
    pub(crate) fn classify_box(&self, b: &BBox) -> BoxClass {
        let diag = spherical_distance_m(b.min_x, b.min_y, b.max_x, b.max_y);
        let margin = diag * 0.01 + 0.01;
        let near_x = self.lon.clamp(b.min_x, b.max_x);
        let near_y = self.lat.clamp(b.min_y, b.max_y);
        if self.distance_m(near_x, near_y) > self.radius_m + margin {
            return BoxClass::Outside;
        }
        let corners = [(b.min_x, b.min_y), (b.max_x, b.min_y), (b.max_x, b.max_y), (b.min_x, b.max_y)];
        if corners.iter().all(|&(x, y)| self.distance_m(x, y) <= self.radius_m - margin) {
            return BoxClass::Inside;
        }
        BoxClass::Unknown
    }
}

/// Geodesic distance in metres on the WGS84 ellipsoid (Karney's algorithm).
#[must_use]
pub fn geodesic_distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    use geographiclib_rs::{Geodesic, InverseGeodesic};
    use std::sync::OnceLock;
    static WGS84: OnceLock<Geodesic> = OnceLock::new();
    let g = WGS84.get_or_init(Geodesic::wgs84);
    let s12: f64 = g.inverse(lat1, lon1, lat2, lon2);
    s12
}

/// Great-circle distance in metres on a sphere of the Earth's mean radius; fast, for estimates and heuristics.
#[inline]
#[must_use]
pub fn spherical_distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp * 0.5).sin().powi(2) + p1.cos() * p2.cos() * (dl * 0.5).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

// ---------------------------------------------------------------------------------------------------------------
// Text formats.

impl Geometry {
    /// Parses GeoJSON text: a Polygon or MultiPolygon geometry, a Feature holding one,
    /// or a FeatureCollection whose polygons are united into one multipolygon.
    pub fn from_geojson(text: &str) -> Result<Self, SpatialError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SpatialError::Parse { format: "GeoJSON", detail: e.to_string() })?;
        let mut parts = Vec::new();
        collect_geojson(&value, &mut parts)?;
        match parts.len() {
            0 => Err(SpatialError::EmptyArea),
            1 => Ok(Geometry::Polygon(parts.pop().unwrap_or_default())),
            _ => Ok(Geometry::MultiPolygon(parts)),
        }
    }

    /// Parses WKT `POLYGON((…),(…))` or `MULTIPOLYGON(((…)),((…)))`, with `lon lat` pairs.
    pub fn from_wkt(text: &str) -> Result<Self, SpatialError> {
        let bad = |d: &str| SpatialError::Parse { format: "WKT", detail: d.to_string() };
        let t = text.trim();
        let upper = t.get(..12).unwrap_or(t).to_ascii_uppercase();
        let (is_multi, rest) = if upper.starts_with("MULTIPOLYGON") {
            (true, &t[12..])
        } else if upper.starts_with("POLYGON") {
            (false, &t[7..])
        } else {
            return Err(bad("expected POLYGON or MULTIPOLYGON"));
        };
        let mut p = WktParser { s: rest.as_bytes(), i: 0 };
        let value = p.nested().map_err(|d| bad(&d))?;
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(bad("unexpected text after the geometry"));
        }
        let to_ring = |v: &WktNode| -> Result<Vec<[f64; 2]>, SpatialError> {
            match v {
                WktNode::Coords(c) => Ok(c.clone()),
                WktNode::List(_) => Err(bad("a ring must be a list of coordinates")),
            }
        };
        let to_poly = |v: &WktNode| -> Result<Vec<Vec<[f64; 2]>>, SpatialError> {
            match v {
                WktNode::List(rings) => rings.iter().map(to_ring).collect(),
                WktNode::Coords(_) => Err(bad("a polygon must be a list of rings")),
            }
        };
        if is_multi {
            match &value {
                WktNode::List(polys) => Ok(Geometry::MultiPolygon(polys.iter().map(to_poly).collect::<Result<_, _>>()?)),
                WktNode::Coords(_) => Err(bad("a multipolygon must be a list of polygons")),
            }
        } else {
            Ok(Geometry::Polygon(to_poly(&value)?))
        }
    }

    /// Parses a CAP 1.2 `<polygon>`: whitespace-separated `lat,lon` pairs (note the order).
    pub fn from_cap_polygon(text: &str) -> Result<Self, SpatialError> {
        let ring = text
            .split_whitespace()
            .map(|pair| split_pair(pair, "CAP polygon").map(|(lat, lon)| [lon, lat]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Geometry::Polygon(vec![ring]))
    }

    /// Parses a CAP 1.2 `<circle>`: `lat,lon radius` with the radius in kilometres (note the order).
    pub fn from_cap_circle(text: &str) -> Result<Self, SpatialError> {
        let bad = || SpatialError::Parse { format: "CAP circle", detail: format!("expected \"lat,lon radius-km\", got {text:?}") };
        let mut it = text.split_whitespace();
        let (Some(center), Some(radius), None) = (it.next(), it.next(), it.next()) else { return Err(bad()) };
        let (lat, lon) = split_pair(center, "CAP circle")?;
        let radius_km: f64 = radius.parse().map_err(|_| bad())?;
        Ok(Geometry::Circle { center: [lon, lat], radius_m: radius_km * 1000.0 })
    }
}

fn collect_geojson(v: &serde_json::Value, out: &mut Vec<Vec<Vec<[f64; 2]>>>) -> Result<(), SpatialError> {
    let bad = |d: String| SpatialError::Parse { format: "GeoJSON", detail: d };
    let kind = v.get("type").and_then(|t| t.as_str()).ok_or_else(|| bad("missing \"type\"".into()))?;
    let coords = || v.get("coordinates").ok_or_else(|| bad(format!("{kind} without \"coordinates\"")));
    match kind {
        "FeatureCollection" => {
            let features =
                v.get("features").and_then(|f| f.as_array()).ok_or_else(|| bad("FeatureCollection without \"features\"".into()))?;
            for f in features {
                collect_geojson(f, out)?;
            }
            Ok(())
        }
        "Feature" => match v.get("geometry") {
            Some(g) if !g.is_null() => collect_geojson(g, out),
            _ => Ok(()),
        },
        "GeometryCollection" => {
            for g in v.get("geometries").and_then(|g| g.as_array()).into_iter().flatten() {
                collect_geojson(g, out)?;
            }
            Ok(())
        }
        "Polygon" => {
            out.push(json_polygon(coords()?).map_err(bad)?);
            Ok(())
        }
        "MultiPolygon" => {
            let polys = coords()?.as_array().ok_or_else(|| bad("MultiPolygon coordinates must be an array".into()))?;
            for p in polys {
                out.push(json_polygon(p).map_err(bad)?);
            }
            Ok(())
        }
        // Points and lines enclose no area; an area file holding only them is empty, which the caller reports.
        "Point" | "MultiPoint" | "LineString" | "MultiLineString" => Ok(()),
        other => Err(bad(format!("unknown geometry type {other:?}"))),
    }
}

fn json_polygon(v: &serde_json::Value) -> Result<Vec<Vec<[f64; 2]>>, String> {
    let rings = v.as_array().ok_or("Polygon coordinates must be an array of rings")?;
    rings
        .iter()
        .map(|r| {
            r.as_array()
                .ok_or("a ring must be an array of positions")?
                .iter()
                .map(|p| {
                    let a = p.as_array().ok_or("a position must be an array")?;
                    match (a.first().and_then(serde_json::Value::as_f64), a.get(1).and_then(serde_json::Value::as_f64)) {
                        (Some(x), Some(y)) => Ok([x, y]),
                        _ => Err("a position needs two numbers".to_string()),
                    }
                })
                .collect()
        })
        .collect()
}

enum WktNode {
    List(Vec<WktNode>),
    Coords(Vec<[f64; 2]>),
}

struct WktParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl WktParser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    /// A parenthesised list of either nested lists or coordinate pairs.
    fn nested(&mut self) -> Result<WktNode, String> {
        self.expect(b'(')?;
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'(') {
            let mut items = vec![self.nested()?];
            loop {
                self.skip_ws();
                match self.s.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        items.push(self.nested()?);
                    }
                    Some(b')') => {
                        self.i += 1;
                        return Ok(WktNode::List(items));
                    }
                    _ => return Err(format!("expected ',' or ')' at byte {}", self.i)),
                }
            }
        }
        let mut coords = Vec::new();
        loop {
            let x = self.number()?;
            let y = self.number()?;
            coords.push([x, y]);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(WktNode::Coords(coords));
                }
                _ => return Err(format!("expected ',' or ')' at byte {}", self.i)),
            }
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        self.skip_ws();
        let start = self.i;
        while self.i < self.s.len() && matches!(self.s[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("expected a number at byte {start}"))
    }
}
