//! The one error type of the geo engine.
//!
//! Every variant has a stable snake_case code (for the HTTP layer and the translation catalogues),
//! an English `Display` and a Simplified Chinese `message_zh`.
//! Problems inside imported data are not errors: importers count them in their reports instead.

use std::fmt::Write as _;

/// Where a ring sits inside an area: the polygon (part) and the ring within it (0 is the outer ring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingRef {
    /// Index of the polygon inside a multipolygon; 0 for a plain polygon.
    pub part: usize,
    /// Index of the ring inside its polygon: 0 is the outer ring, 1.. are holes.
    pub ring: usize,
}

impl std::fmt::Display for RingRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ring == 0 { write!(f, "polygon {}, outer ring", self.part) } else { write!(f, "polygon {}, hole {}", self.part, self.ring) }
    }
}

impl RingRef {
    fn zh(&self) -> String {
        if self.ring == 0 {
            format!("第 {} 个多边形的外环", self.part)
        } else {
            format!("第 {} 个多边形的第 {} 个内环（洞）", self.part, self.ring)
        }
    }
}

/// Everything that can go wrong when calling the geo engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpatialError {
    /// A longitude outside [-180, 180], a latitude outside [-90, 90], or a value that is not a number.
    #[error("coordinate out of range: longitude {lon}, latitude {lat} (longitude must be within -180..180 and latitude within -90..90)")]
    CoordinateOutOfRange { lon: f64, lat: f64 },
    /// The last point of a ring differs from its first point.
    #[error("ring not closed: {ring} ends at a different point than it starts")]
    RingNotClosed { ring: RingRef },
    /// A closed ring needs at least four points (three distinct corners and the closing point).
    #[error("ring has too few points: {ring} has {points} points, at least 4 are needed")]
    RingTooFewPoints { ring: RingRef, points: usize },
    /// Two edges of one ring cross or overlap.
    #[error("self-intersecting ring: {ring} crosses itself near longitude {lon}, latitude {lat}")]
    SelfIntersecting { ring: RingRef, lon: f64, lat: f64 },
    /// Two different rings cross or overlap.
    #[error("rings intersect: {first} and {second} cross near longitude {lon}, latitude {lat}")]
    RingsIntersect { first: RingRef, second: RingRef, lon: f64, lat: f64 },
    /// A hole lies outside its polygon's outer ring.
    #[error("hole outside its polygon: {ring} is not inside the outer ring")]
    HoleOutsideShell { ring: RingRef },
    /// Two polygons of a multipolygon overlap (one lies inside the other).
    #[error("polygons overlap: polygon {first} and polygon {second} of the multipolygon overlap")]
    PolygonsOverlap { first: usize, second: usize },
    /// A hole lies inside another hole of the same polygon.
    #[error("nested holes: {ring} lies inside {outer}")]
    NestedHoles { ring: RingRef, outer: RingRef },
    /// All points of a ring lie on one line, so it encloses nothing.
    #[error("zero area: {ring} encloses no area (all its points lie on one line)")]
    ZeroArea { ring: RingRef },
    /// A circle radius that is negative, zero, not a number or larger than half the Earth's circumference.
    #[error("invalid radius: {radius_m} m (a circle needs a radius above 0 and below 20,000 km)")]
    InvalidRadius { radius_m: f64 },
    /// An area with no polygon at all.
    #[error("empty area: the geometry contains no polygon")]
    EmptyArea,
    /// Text that is not a valid area in the named format.
    #[error("cannot parse {format}: {detail}")]
    Parse { format: &'static str, detail: String },
    /// A geocode (jurisdiction code) with no boundary registered.
    #[error("unknown geocode: no boundary is registered for {code}")]
    UnknownGeocode { code: String },
    /// An id that is already in the point index.
    #[error("duplicate point id: {id} is already in the index")]
    DuplicatePointId { id: u64 },
    /// An id that is not in the point index.
    #[error("unknown point id: {id} is not in the index")]
    UnknownPointId { id: u64 },
    /// A road id that the graph does not have.
    #[error("unknown road: the graph has no road segment {edge}")]
    UnknownRoad { edge: u64 },
    /// A graph node index outside the graph.
    #[error("unknown graph node: the graph has no node {node}")]
    UnknownNode { node: u32 },
    /// No road lies within the snapping distance of a point.
    #[error("no road near longitude {lon}, latitude {lat} (nothing within {max_m} m)")]
    NoRoadNearby { lon: f64, lat: f64, max_m: f64 },
    /// The road graph is empty: the data held no drivable road.
    #[error("the road graph is empty: the data holds no drivable road")]
    EmptyGraph,
    /// A file or stream could not be read.
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The input is not an OpenStreetMap file that can be read at all.
    #[error("not a readable OpenStreetMap file: {detail}")]
    OsmFormat { detail: String },
}

impl SpatialError {
    /// Every code that `code()` can return, for translation-catalogue checks.
    pub const ALL_CODES: &'static [&'static str] = &[
        "coordinate_out_of_range",
        "ring_not_closed",
        "ring_too_few_points",
        "self_intersecting",
        "rings_intersect",
        "hole_outside_shell",
        "polygons_overlap",
        "nested_holes",
        "zero_area",
        "invalid_radius",
        "empty_area",
        "parse_error",
        "unknown_geocode",
        "duplicate_point_id",
        "unknown_point_id",
        "unknown_road",
        "unknown_node",
        "no_road_nearby",
        "empty_graph",
        "io_error",
        "osm_format",
    ];

    /// A stable snake_case code naming the problem; it never changes once published.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::CoordinateOutOfRange { .. } => "coordinate_out_of_range",
            Self::RingNotClosed { .. } => "ring_not_closed",
            Self::RingTooFewPoints { .. } => "ring_too_few_points",
            Self::SelfIntersecting { .. } => "self_intersecting",
            Self::RingsIntersect { .. } => "rings_intersect",
            Self::HoleOutsideShell { .. } => "hole_outside_shell",
            Self::PolygonsOverlap { .. } => "polygons_overlap",
            Self::NestedHoles { .. } => "nested_holes",
            Self::ZeroArea { .. } => "zero_area",
            Self::InvalidRadius { .. } => "invalid_radius",
            Self::EmptyArea => "empty_area",
            Self::Parse { .. } => "parse_error",
            Self::UnknownGeocode { .. } => "unknown_geocode",
            Self::DuplicatePointId { .. } => "duplicate_point_id",
            Self::UnknownPointId { .. } => "unknown_point_id",
            Self::UnknownRoad { .. } => "unknown_road",
            Self::UnknownNode { .. } => "unknown_node",
            Self::NoRoadNearby { .. } => "no_road_nearby",
            Self::EmptyGraph => "empty_graph",
            Self::Io { .. } => "io_error",
            Self::OsmFormat { .. } => "osm_format",
        }
    }

    /// The same message as `Display`, in Simplified Chinese.
    #[must_use]
    pub fn message_zh(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail, so the results are ignored on purpose.
        let _ = match self {
            Self::CoordinateOutOfRange { lon, lat } => {
                write!(s, "坐标超出范围：经度 {lon}，纬度 {lat}（经度须在 -180 到 180 之间，纬度须在 -90 到 90 之间）")
            }
            Self::RingNotClosed { ring } => write!(s, "环未闭合：{} 的终点与起点不同", ring.zh()),
            Self::RingTooFewPoints { ring, points } => {
                write!(s, "环的点数过少：{} 只有 {points} 个点，至少需要 4 个", ring.zh())
            }
            Self::SelfIntersecting { ring, lon, lat } => {
                write!(s, "环自相交：{} 在经度 {lon}、纬度 {lat} 附近与自身相交", ring.zh())
            }
            Self::RingsIntersect { first, second, lon, lat } => {
                write!(s, "环相交：{} 与 {} 在经度 {lon}、纬度 {lat} 附近相交", first.zh(), second.zh())
            }
            Self::HoleOutsideShell { ring } => write!(s, "洞在多边形之外：{} 不在外环之内", ring.zh()),
            Self::PolygonsOverlap { first, second } => {
                write!(s, "多边形重叠：多多边形中的第 {first} 个与第 {second} 个多边形重叠")
            }
            Self::NestedHoles { ring, outer } => write!(s, "洞相互嵌套：{} 位于 {} 之内", ring.zh(), outer.zh()),
            Self::ZeroArea { ring } => write!(s, "面积为零：{} 的所有点共线，不围成任何区域", ring.zh()),
            Self::InvalidRadius { radius_m } => {
                write!(s, "半径无效：{radius_m} 米（圆的半径须大于 0 且小于 20000 公里）")
            }
            Self::EmptyArea => write!(s, "区域为空：几何中没有任何多边形"),
            Self::Parse { format, detail } => write!(s, "无法解析 {format}：{detail}"),
            Self::UnknownGeocode { code } => write!(s, "未知的区划代码：没有为 {code} 登记边界"),
            Self::DuplicatePointId { id } => write!(s, "点编号重复：{id} 已在索引中"),
            Self::UnknownPointId { id } => write!(s, "未知的点编号：{id} 不在索引中"),
            Self::UnknownRoad { edge } => write!(s, "未知道路：路网中没有路段 {edge}"),
            Self::UnknownNode { node } => write!(s, "未知路网节点：路网中没有节点 {node}"),
            Self::NoRoadNearby { lon, lat, max_m } => {
                write!(s, "经度 {lon}、纬度 {lat} 附近没有道路（{max_m} 米内无道路）")
            }
            Self::EmptyGraph => write!(s, "路网为空：数据中没有可通行机动车的道路"),
            Self::Io { path, source } => write!(s, "无法读取 {path}：{source}"),
            Self::OsmFormat { detail } => write!(s, "不是可读取的 OpenStreetMap 文件：{detail}"),
        };
        s
    }
}
