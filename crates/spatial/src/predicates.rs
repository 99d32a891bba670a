//! Exact geometric predicates on `f64` coordinates.
//!
//! This module owns the only place where the sign of an orientation is decided.
//! It uses Shewchuk's adaptive-precision `orient2d` (the `robust` crate), whose sign is exact for every finite input,
//! so point-in-polygon answers carry no tolerance: a point exactly on an edge is on it.
//! It must never compare a float against an epsilon to decide a topological question.

/// Exact orientation of `c` relative to the directed line `a → b`:
/// positive when counter-clockwise (left), negative when clockwise (right), zero when collinear.
#[inline]
#[must_use]
pub fn orient(ax: f64, ay: f64, bx: f64, by: f64, cx: f64, cy: f64) -> f64 {
    robust::orient2d(robust::Coord { x: ax, y: ay }, robust::Coord { x: bx, y: by }, robust::Coord { x: cx, y: cy })
}

/// One directed edge of a ring, stored flat for cache-friendly scanning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub ax: f64,
    pub ay: f64,
    pub bx: f64,
    pub by: f64,
}

/// What one edge says about a point: it lies on the edge, or the edge does or does not cross the
/// horizontal ray from the point towards +x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeVerdict {
    OnEdge,
    Crosses,
    Misses,
}

impl Edge {
    /// Classifies the point against this edge, exactly.
    ///
    /// The crossing rule is half-open in y (an edge counts when exactly one endpoint lies strictly above the point),
    /// which counts a ray through a vertex once and ignores horizontal edges, as the even-odd rule needs.
    #[inline]
    #[must_use]
    pub fn verdict(&self, px: f64, py: f64) -> EdgeVerdict {
        let Edge { ax, ay, bx, by } = *self;
        let a_above = ay > py;
        let b_above = by > py;
        if a_above != b_above {
            // The edge spans the point's latitude: the crossing lies to the right of the point
            // exactly when the point is on the left of an upward edge or on the right of a downward one.
            let o = orient(ax, ay, bx, by, px, py);
            if o == 0.0 {
                return EdgeVerdict::OnEdge;
            }
            if (o > 0.0) == b_above {
                return EdgeVerdict::Crosses;
            }
            return EdgeVerdict::Misses;
        }
        // The edge does not span the point's latitude in the half-open sense; it can still touch the point
        // at its upper endpoint or along a horizontal edge.
        if (py == ay || py == by) && px >= ax.min(bx) && px <= ax.max(bx) && orient(ax, ay, bx, by, px, py) == 0.0 {
            return EdgeVerdict::OnEdge;
        }
        EdgeVerdict::Misses
    }

    /// Whether this segment touches the closed axis-aligned box, decided exactly.
    #[inline]
    #[must_use]
    pub fn touches_box(&self, b: &BBox) -> bool {
        let Edge { ax, ay, bx, by } = *self;
        if ax.max(bx) < b.min_x || ax.min(bx) > b.max_x || ay.max(by) < b.min_y || ay.min(by) > b.max_y {
            return false;
        }
        if b.contains(ax, ay) || b.contains(bx, by) {
            return true;
        }
        // With overlapping bounding boxes, a segment meets a convex box exactly when its supporting line does,
        // that is when the four corners are not all strictly on one side.
        let s1 = orient(ax, ay, bx, by, b.min_x, b.min_y);
        let s2 = orient(ax, ay, bx, by, b.max_x, b.min_y);
        let s3 = orient(ax, ay, bx, by, b.max_x, b.max_y);
        let s4 = orient(ax, ay, bx, by, b.min_x, b.max_y);
        !((s1 > 0.0 && s2 > 0.0 && s3 > 0.0 && s4 > 0.0) || (s1 < 0.0 && s2 < 0.0 && s3 < 0.0 && s4 < 0.0))
    }
}

/// How two segments meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentContact {
    /// No common point.
    Disjoint,
    /// Exactly one common point, which is an endpoint of both segments.
    SharedEndpoint,
    /// Any other contact: a proper crossing, a T-touch, or a collinear overlap.
    Other,
}

/// How segments `p1p2` and `q1q2` meet, decided exactly.
#[must_use]
pub fn segment_contact(p1: [f64; 2], p2: [f64; 2], q1: [f64; 2], q2: [f64; 2]) -> SegmentContact {
    let o1 = orient(p1[0], p1[1], p2[0], p2[1], q1[0], q1[1]);
    let o2 = orient(p1[0], p1[1], p2[0], p2[1], q2[0], q2[1]);
    let o3 = orient(q1[0], q1[1], q2[0], q2[1], p1[0], p1[1]);
    let o4 = orient(q1[0], q1[1], q2[0], q2[1], p2[0], p2[1]);
    if (o1 > 0.0 && o2 > 0.0) || (o1 < 0.0 && o2 < 0.0) || (o3 > 0.0 && o4 > 0.0) || (o3 < 0.0 && o4 < 0.0) {
        return SegmentContact::Disjoint;
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: compare along the dominant axis.
        let axis = usize::from((p2[0] - p1[0]).abs() < (p2[1] - p1[1]).abs());
        let (pa, pb) = (p1[axis].min(p2[axis]), p1[axis].max(p2[axis]));
        let (qa, qb) = (q1[axis].min(q2[axis]), q1[axis].max(q2[axis]));
        if pb < qa || qb < pa {
            return SegmentContact::Disjoint;
        }
        if pb == qa || qb == pa {
            // Touching end to end along one line: the single shared point is an endpoint of both.
            return SegmentContact::SharedEndpoint;
        }
        return SegmentContact::Other;
    }
    let shared = (p1 == q1 || p1 == q2) as u8 + (p2 == q1 || p2 == q2) as u8;
    if shared == 1 {
        // A shared endpoint of non-collinear segments is their only common point.
        return SegmentContact::SharedEndpoint;
    }
    SegmentContact::Other
}

/// An axis-aligned bounding box in (lon, lat) degrees, closed on all sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl BBox {
    /// The empty box, which `extend` grows from.
    pub const EMPTY: BBox = BBox { min_x: f64::INFINITY, min_y: f64::INFINITY, max_x: f64::NEG_INFINITY, max_y: f64::NEG_INFINITY };

    #[inline]
    #[must_use]
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.min_x && x <= self.max_x && y >= self.min_y && y <= self.max_y
    }

    #[inline]
    #[must_use]
    pub fn intersects(&self, o: &BBox) -> bool {
        self.min_x <= o.max_x && o.min_x <= self.max_x && self.min_y <= o.max_y && o.min_y <= self.max_y
    }

    #[inline]
    pub fn extend(&mut self, x: f64, y: f64) {
        self.min_x = self.min_x.min(x);
        self.min_y = self.min_y.min(y);
        self.max_x = self.max_x.max(x);
        self.max_y = self.max_y.max(y);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.min_x > self.max_x
    }
}
