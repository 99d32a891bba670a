//! OpenStreetMap import: a drivable road graph, buildings, facilities, water and administrative boundaries.
//!
//! This module owns the meaning of OSM tags for Gridline (which highways a car may use and how fast,
//! what counts as a facility) and the assembly of relations into multipolygons.
//! Broken or incomplete data (missing nodes, unclosed rings, members outside the extract, unreadable tags)
//! is counted in the [`ImportReport`] and skipped; the import never panics on hostile input.
//! It must never reach for a file the caller did not name, nor for the network.

mod read;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

pub use read::{ElementSink, Member, MemberKind};

use crate::area::{Area, Geometry, spherical_distance_m};
use crate::error::SpatialError;
use crate::graph::{RoadGraph, RoadGraphBuilder};

/// A building footprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// `w123` for a way, `r123` for a multipolygon relation.
    pub osm_id: String,
    /// Outer ring first, then holes, closed, (lon, lat).
    pub footprint: Vec<Vec<[f64; 2]>>,
    /// Area-weighted centroid of the outer ring.
    pub centroid: [f64; 2],
    /// `building:levels`, when present and a number.
    pub levels: Option<f32>,
    /// `addr:street` and `addr:housenumber`, as "street number", when both are present.
    pub address: Option<String>,
}

/// A building's address from its tags: "street number".
fn address_of<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    Some(format!("{} {}", tag("addr:street")?.trim(), tag("addr:housenumber")?.trim()))
}

/// Kinds of facilities that matter in an emergency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacilityKind {
    Hospital,
    Clinic,
    FireStation,
    Police,
    School,
    Pharmacy,
    Shelter,
    AssemblyPoint,
    CommunityCentre,
    TownHall,
}

impl FacilityKind {
    /// Stable snake_case code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Clinic => "clinic",
            Self::FireStation => "fire_station",
            Self::Police => "police",
            Self::School => "school",
            Self::Pharmacy => "pharmacy",
            Self::Shelter => "shelter",
            Self::AssemblyPoint => "assembly_point",
            Self::CommunityCentre => "community_centre",
            Self::TownHall => "town_hall",
        }
    }

    #[must_use]
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Clinic => "clinic",
            Self::FireStation => "fire station",
            Self::Police => "police station",
            Self::School => "school",
            Self::Pharmacy => "pharmacy",
            Self::Shelter => "shelter",
            Self::AssemblyPoint => "emergency assembly point",
            Self::CommunityCentre => "community centre",
            Self::TownHall => "town hall",
        }
    }

    #[must_use]
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Hospital => "医院",
            Self::Clinic => "诊所",
            Self::FireStation => "消防站",
            Self::Police => "派出所",
            Self::School => "学校",
            Self::Pharmacy => "药店",
            Self::Shelter => "避难场所",
            Self::AssemblyPoint => "应急集合点",
            Self::CommunityCentre => "社区中心",
            Self::TownHall => "政府办公地",
        }
    }

    fn from_tags(tags: &[(String, String)]) -> Option<Self> {
        let get = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        if get("emergency") == Some("assembly_point") {
            return Some(Self::AssemblyPoint);
        }
        match get("amenity") {
            Some("hospital") => return Some(Self::Hospital),
            Some("clinic" | "doctors") => return Some(Self::Clinic),
            Some("fire_station") => return Some(Self::FireStation),
            Some("police") => return Some(Self::Police),
            Some("school" | "kindergarten" | "college" | "university") => return Some(Self::School),
            Some("pharmacy") => return Some(Self::Pharmacy),
            Some("shelter") if get("shelter_type") != Some("public_transport") => return Some(Self::Shelter),
            Some("social_facility") if get("social_facility") == Some("shelter") => return Some(Self::Shelter),
            Some("community_centre") => return Some(Self::CommunityCentre),
            Some("townhall") => return Some(Self::TownHall),
            _ => {}
        }
        match get("healthcare") {
            Some("hospital") => Some(Self::Hospital),
            Some("clinic" | "doctor" | "centre") => Some(Self::Clinic),
            Some("pharmacy") => Some(Self::Pharmacy),
            _ => None,
        }
    }
}

/// A facility as a point (a node, or the centroid of a way).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub osm_id: String,
    pub kind: FacilityKind,
    pub name: Option<String>,
    pub at: [f64; 2],
}

/// Water: an area (lake, reservoir, riverbank) or a line (river, stream, canal).
#[derive(Debug, Clone, PartialEq)]
pub struct Water {
    pub osm_id: String,
    /// The value of `natural`, `waterway`, `water` or `landuse` that made this water.
    pub kind: String,
    pub name: Option<String>,
    /// Polygons (outer ring first, then holes) for areas; empty for lines.
    pub polygons: Vec<Vec<Vec<[f64; 2]>>>,
    /// The line for rivers, streams and canals; empty for areas.
    pub line: Vec<[f64; 2]>,
}

/// An administrative boundary, assembled from its relation, ready to become a jurisdiction.
#[derive(Debug, Clone)]
pub struct AdminBoundary {
    pub relation_id: i64,
    pub name: Option<String>,
    pub admin_level: Option<u8>,
    /// `ref`, or another code tag when present, to match a jurisdiction code.
    pub code: Option<String>,
    pub geometry: Geometry,
    /// The checked area, when the assembled geometry is valid (or could be repaired).
    pub area: Option<Area>,
}

/// Everything imported.
#[derive(Debug, Clone)]
pub struct OsmData {
    pub graph: RoadGraph,
    pub buildings: Vec<Building>,
    pub facilities: Vec<Facility>,
    pub water: Vec<Water>,
    pub boundaries: Vec<AdminBoundary>,
}

/// Kinds of problems found in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    /// A way refers to a node the file does not contain.
    MissingNode,
    /// A way or relation that should form a closed ring does not.
    UnclosedRing,
    /// A relation member is not in the file (typical at the edge of an extract).
    DanglingMember,
    /// A `maxspeed` value that could not be read; the highway class default was used.
    UnreadableMaxspeed,
    /// A node with an out-of-range or missing position.
    BadCoordinate,
    /// An assembled boundary or multipolygon that is invalid even after repair, or had no ring at all.
    UnusableArea,
    /// An assembled area that was invalid and has been repaired.
    RepairedArea,
    /// The file stopped being readable part-way; what came before was kept.
    ReadError,
}

impl Problem {
    pub const ALL: [Problem; 8] = [
        Self::MissingNode,
        Self::UnclosedRing,
        Self::DanglingMember,
        Self::UnreadableMaxspeed,
        Self::BadCoordinate,
        Self::UnusableArea,
        Self::RepairedArea,
        Self::ReadError,
    ];

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingNode => "missing_node",
            Self::UnclosedRing => "unclosed_ring",
            Self::DanglingMember => "dangling_member",
            Self::UnreadableMaxspeed => "unreadable_maxspeed",
            Self::BadCoordinate => "bad_coordinate",
            Self::UnusableArea => "unusable_area",
            Self::RepairedArea => "repaired_area",
            Self::ReadError => "read_error",
        }
    }

    #[must_use]
    pub fn label_en(self) -> &'static str {
        match self {
            Self::MissingNode => "ways referring to nodes missing from the file",
            Self::UnclosedRing => "rings that do not close",
            Self::DanglingMember => "relation members missing from the file",
            Self::UnreadableMaxspeed => "unreadable maxspeed values (class default used)",
            Self::BadCoordinate => "nodes with an invalid position",
            Self::UnusableArea => "areas that could not be assembled",
            Self::RepairedArea => "invalid areas repaired",
            Self::ReadError => "read errors (the rest of the file was skipped)",
        }
    }

    #[must_use]
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::MissingNode => "引用了文件中缺失节点的路径",
            Self::UnclosedRing => "未闭合的环",
            Self::DanglingMember => "文件中缺失的关系成员",
            Self::UnreadableMaxspeed => "无法识别的限速值（已使用道路等级默认值）",
            Self::BadCoordinate => "位置无效的节点",
            Self::UnusableArea => "无法组装的区域",
            Self::RepairedArea => "已修复的无效区域",
            Self::ReadError => "读取错误（文件其余部分已跳过）",
        }
    }
}

/// One recorded problem, with the element it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub problem: Problem,
    /// `n123`, `w123` or `r123`; empty for file-level problems.
    pub osm_id: String,
    pub detail: String,
}

/// Counts and problems of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub nodes_read: usize,
    pub ways_read: usize,
    pub relations_read: usize,
    pub drivable_ways: usize,
    pub road_nodes: usize,
    pub road_edges: usize,
    /// Road nodes dropped because they are outside the largest strongly connected component.
    pub road_nodes_outside_largest_component: usize,
    pub buildings: usize,
    pub facilities: usize,
    pub water: usize,
    pub boundaries: usize,
    /// How many times each problem was seen.
    pub problems: BTreeMap<Problem, usize>,
    /// The first few problems of each kind in detail (at most [`ImportReport::MAX_EXAMPLES`] in all).
    pub examples: Vec<Diagnostic>,
}

impl ImportReport {
    pub const MAX_EXAMPLES: usize = 50;
    pub const MAX_EXAMPLES_PER_PROBLEM: usize = 5;

    fn problem(&mut self, problem: Problem, osm_id: String, detail: impl Into<String>) {
        let seen = self.problems.entry(problem).or_default();
        *seen += 1;
        // A few examples of each kind, so that one frequent problem does not hide the others.
        if *seen <= Self::MAX_EXAMPLES_PER_PROBLEM && self.examples.len() < Self::MAX_EXAMPLES {
            self.examples.push(Diagnostic { problem, osm_id, detail: detail.into() });
        }
    }

    /// Total number of problems of all kinds.
    #[must_use]
    pub fn problem_count(&self) -> usize {
        self.problems.values().sum()
    }
}

/// Default car speed in km/h by highway class; `None` for highways a car may not use.
#[must_use]
pub fn default_speed_kmh(highway: &str) -> Option<f64> {
    Some(match highway {
        "motorway" => 100.0,
        "trunk" => 80.0,
        "primary" => 60.0,
        "secondary" => 50.0,
        "tertiary" => 40.0,
        "unclassified" => 30.0,
        "residential" => 25.0,
        "living_street" => 10.0,
        "service" => 15.0,
        "road" => 25.0,
        "motorway_link" => 70.0,
        "trunk_link" => 55.0,
        "primary_link" => 45.0,
        "secondary_link" => 35.0,
        "tertiary_link" => 30.0,
        _ => return None,
    })
}

/// Reads a `maxspeed` value in km/h: `50`, `50 km/h`, `30 mph`, `walk`. `none` and zone codes give `None`.
#[must_use]
pub fn parse_maxspeed_kmh(value: &str) -> Option<f64> {
    let v = value.trim();
    if v == "walk" {
        return Some(5.0);
    }
    let (number, factor) = if let Some(n) = v.strip_suffix("mph") {
        (n.trim(), 1.609_344)
    } else if let Some(n) = v.strip_suffix("km/h").or_else(|| v.strip_suffix("kmh")).or_else(|| v.strip_suffix("kph")) {
        (n.trim(), 1.0)
    } else {
        (v, 1.0)
    };
    let speed: f64 = number.parse().ok()?;
    (speed.is_finite() && speed > 0.0 && speed < 400.0).then_some(speed * factor)
}

/// Direction of travel allowed on a way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directions {
    forward: bool,
    backward: bool,
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Whether a car may use the way, and in which directions; `None` when it is not a drivable road.
fn car_directions(tags: &[(String, String)]) -> Option<(Directions, f64)> {
    let highway = tag(tags, "highway")?;
    let default = default_speed_kmh(highway)?;
    if tag(tags, "area") == Some("yes") {
        return None;
    }
    // The most specific access tag decides: motorcar, then motor_vehicle, then vehicle, then access.
    let access =
        tag(tags, "motorcar").or_else(|| tag(tags, "motor_vehicle")).or_else(|| tag(tags, "vehicle")).or_else(|| tag(tags, "access"));
    if matches!(access, Some("no" | "private" | "agricultural" | "forestry" | "delivery")) {
        return None;
    }
    let implied_oneway = highway == "motorway" || matches!(tag(tags, "junction"), Some("roundabout" | "circular"));
    let d = match tag(tags, "oneway") {
        Some("yes" | "1" | "true") => Directions { forward: true, backward: false },
        Some("-1" | "reverse") => Directions { forward: false, backward: true },
        Some("no" | "false" | "0") => Directions { forward: true, backward: true },
        _ if implied_oneway => Directions { forward: true, backward: false },
        _ => Directions { forward: true, backward: true },
    };
    Some((d, default))
}

/// A relation kept for assembly: id, members and tags.
type RelationRecord = (i64, Vec<Member>, Vec<(String, String)>);

/// Collects elements while a file is read; the second stage happens in [`Collector::finish`].
#[derive(Default)]
struct Collector {
    nodes: Vec<(i64, [f64; 2])>,
    nodes_sorted: bool,
    ways: HashMap<i64, Vec<i64>>,
    /// Ways whose tags matter (roads, buildings, facilities, water), with their tags.
    tagged_ways: Vec<(i64, Vec<(String, String)>)>,
    relations: Vec<RelationRecord>,
    facilities: Vec<Facility>,
    report: ImportReport,
}

impl ElementSink for Collector {
    fn node(&mut self, id: i64, lon: f64, lat: f64, tags: &[(String, String)]) {
        self.report.nodes_read += 1;
        if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
            self.report.problem(Problem::BadCoordinate, format!("n{id}"), format!("lon {lon}, lat {lat}"));
            return;
        }
        if self.nodes.last().is_some_and(|l| l.0 >= id) {
            self.nodes_sorted = false;
        }
        self.nodes.push((id, [lon, lat]));
        if !tags.is_empty()
            && let Some(kind) = FacilityKind::from_tags(tags)
        {
            self.facilities.push(Facility { osm_id: format!("n{id}"), kind, name: tag(tags, "name").map(str::to_string), at: [lon, lat] });
        }
    }

    fn way(&mut self, id: i64, refs: &[i64], tags: &[(String, String)]) {
        self.report.ways_read += 1;
        self.ways.insert(id, refs.to_vec());
        let relevant = tags.iter().any(|(k, _)| {
            matches!(
                k.as_str(),
                "highway" | "building" | "amenity" | "healthcare" | "emergency" | "natural" | "waterway" | "water" | "landuse"
            )
        });
        if relevant {
            self.tagged_ways.push((id, tags.to_vec()));
        }
    }

    fn relation(&mut self, id: i64, members: &[Member], tags: &[(String, String)]) {
        self.report.relations_read += 1;
        let kind = tag(tags, "type");
        if matches!(kind, Some("multipolygon" | "boundary")) {
            self.relations.push((id, members.to_vec(), tags.to_vec()));
        }
    }
}

/// Imports a file, choosing the reader by its name: `.pbf` is PBF, anything else (`.osm`, `.osm.gz`, `.xml`) XML.
/// `progress` is called with the number of bytes read so far (of the file's size on disk).
pub fn import_path(path: &Path, progress: &mut (dyn FnMut(u64) + Send)) -> Result<(OsmData, ImportReport), SpatialError> {
    let file = std::fs::File::open(path).map_err(|e| read::io_error(path, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.ends_with(".pbf") { import_pbf(file, progress) } else { import_xml(file, progress) }
}

/// Imports a PBF stream.
pub fn import_pbf<R: Read + Send>(reader: R, progress: &mut (dyn FnMut(u64) + Send)) -> Result<(OsmData, ImportReport), SpatialError> {
    let mut c = Collector { nodes_sorted: true, ..Collector::default() };
    let counting = read::CountingReader { inner: std::io::BufReader::with_capacity(1 << 16, reader), read: 0, progress };
    let outcome = read::read_pbf(counting, &mut c);
    finish_reading(c, outcome)
}

/// Imports an OSM XML stream, plain or gzip-compressed.
pub fn import_xml<R: Read>(reader: R, progress: &mut (dyn FnMut(u64) + Send)) -> Result<(OsmData, ImportReport), SpatialError> {
    let mut c = Collector { nodes_sorted: true, ..Collector::default() };
    let counting = read::CountingReader { inner: reader, read: 0, progress };
    let outcome = read::read_xml(counting, &mut c);
    finish_reading(c, outcome)
}

fn finish_reading(mut c: Collector, outcome: Result<(), String>) -> Result<(OsmData, ImportReport), SpatialError> {
    if let Err(detail) = outcome {
        let nothing_read = c.report.nodes_read + c.report.ways_read + c.report.relations_read == 0;
        if nothing_read {
            return Err(SpatialError::OsmFormat { detail });
        }
        c.report.problem(Problem::ReadError, String::new(), detail);
    }
    Ok(c.finish())
}

impl Collector {
    fn node_at(&self, id: i64) -> Option<[f64; 2]> {
        self.nodes.binary_search_by_key(&id, |n| n.0).ok().map(|i| self.nodes[i].1)
    }

    /// Positions of a way's nodes; `None` (and a counted problem) if any is missing.
    fn way_coords(&mut self, way: i64, refs: &[i64]) -> Option<Vec<[f64; 2]>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            match self.node_at(*r) {
                Some(p) => out.push(p),
                None => {
                    self.report.problem(Problem::MissingNode, format!("w{way}"), format!("node {r} is not in the file"));
                    return None;
                }
            }
        }
        Some(out)
    }

    fn finish(mut self) -> (OsmData, ImportReport) {
        if !self.nodes_sorted {
            self.nodes.sort_unstable_by_key(|n| n.0);
            self.nodes.dedup_by_key(|n| n.0);
        }
        let graph = self.build_roads();
        let tagged = std::mem::take(&mut self.tagged_ways);
        let mut buildings = Vec::new();
        let mut water = Vec::new();
        let mut facilities = std::mem::take(&mut self.facilities);
        for (id, tags) in &tagged {
            let is_building = tag(tags, "building").is_some_and(|v| v != "no");
            let facility = FacilityKind::from_tags(tags);
            let water_kind = water_kind(tags);
            if !is_building && facility.is_none() && water_kind.is_none() {
                continue;
            }
            let refs = self.ways.get(id).cloned().unwrap_or_default();
            let Some(coords) = self.way_coords(*id, &refs) else { continue };
            if coords.is_empty() {
                continue;
            }
            let closed = coords.len() >= 4 && coords.first() == coords.last();
            if let Some(kind) = facility {
                facilities.push(Facility {
                    osm_id: format!("w{id}"),
                    kind,
                    name: tag(tags, "name").map(str::to_string),
                    at: centroid(&coords),
                });
            }
            if is_building {
                if closed {
                    buildings.push(Building {
                        osm_id: format!("w{id}"),
                        centroid: centroid(&coords),
                        footprint: vec![coords.clone()],
                        levels: tag(tags, "building:levels").and_then(|l| l.trim().parse().ok()),
                        address: address_of(|key| tag(tags, key)),
                    });
                } else {
                    self.report.problem(Problem::UnclosedRing, format!("w{id}"), "building outline does not close");
                }
            }
            if let Some(kind) = water_kind {
                let is_line = matches!(tag(tags, "waterway"), Some("river" | "stream" | "canal" | "drain" | "ditch"));
                if is_line {
                    water.push(Water {
                        osm_id: format!("w{id}"),
                        kind,
                        name: tag(tags, "name").map(str::to_string),
                        polygons: Vec::new(),
                        line: coords,
                    });
                } else if closed {
                    water.push(Water {
                        osm_id: format!("w{id}"),
                        kind,
                        name: tag(tags, "name").map(str::to_string),
                        polygons: vec![vec![coords]],
                        line: Vec::new(),
                    });
                } else {
                    // Open water outlines are usually members of a multipolygon relation, assembled below.
                }
            }
        }
        let mut boundaries = Vec::new();
        let relations = std::mem::take(&mut self.relations);
        for (id, members, tags) in &relations {
            let is_admin = tag(tags, "boundary") == Some("administrative");
            let is_building = tag(tags, "building").is_some_and(|v| v != "no");
            let water_kind = water_kind(tags);
            if !is_admin && !is_building && water_kind.is_none() {
                continue;
            }
            let Some(polygons) = self.assemble(*id, members) else {
                self.report.problem(Problem::UnusableArea, format!("r{id}"), "no closed ring could be assembled");
                continue;
            };
            if is_admin {
                let geometry = Geometry::MultiPolygon(polygons);
                let area = match Area::new(&geometry) {
                    Ok(a) => Some(a),
                    Err(problem) => match Area::repaired(&geometry) {
                        Ok((a, _)) => {
                            self.report.problem(Problem::RepairedArea, format!("r{id}"), problem.to_string());
                            Some(a)
                        }
                        Err(e) => {
                            self.report.problem(Problem::UnusableArea, format!("r{id}"), e.to_string());
                            None
                        }
                    },
                };
                boundaries.push(AdminBoundary {
                    relation_id: *id,
                    name: tag(tags, "name").map(str::to_string),
                    admin_level: tag(tags, "admin_level").and_then(|l| l.parse().ok()),
                    code: tag(tags, "ref")
                        .or_else(|| tag(tags, "ref:INE"))
                        .or_else(|| tag(tags, "de:amtlicher_gemeindeschluessel"))
                        .map(str::to_string),
                    geometry,
                    area,
                });
            } else if is_building {
                let outer = &polygons[0][0];
                buildings.push(Building {
                    osm_id: format!("r{id}"),
                    centroid: centroid(outer),
                    footprint: polygons[0].clone(),
                    levels: tag(tags, "building:levels").and_then(|l| l.trim().parse().ok()),
                    address: address_of(|key| tag(tags, key)),
                });
            } else if let Some(kind) = water_kind {
                water.push(Water {
                    osm_id: format!("r{id}"),
                    kind,
                    name: tag(tags, "name").map(str::to_string),
                    polygons,
                    line: Vec::new(),
                });
            }
        }
        let mut report = self.report;
        report.buildings = buildings.len();
        report.facilities = facilities.len();
        report.water = water.len();
        report.boundaries = boundaries.len();
        report.road_nodes = graph.node_count();
        report.road_edges = graph.edge_count();
        (OsmData { graph, buildings, facilities, water, boundaries }, report)
    }

    fn build_roads(&mut self) -> RoadGraph {
        let mut builder = RoadGraphBuilder::new();
        let mut node_index: HashMap<i64, u32> = HashMap::new();
        let tagged = std::mem::take(&mut self.tagged_ways);
        for (id, tags) in &tagged {
            let Some((dirs, default_kmh)) = car_directions(tags) else { continue };
            self.report.drivable_ways += 1;
            let kmh = match tag(tags, "maxspeed") {
                Some("none" | "signals" | "variable") | None => default_kmh,
                Some(v) => parse_maxspeed_kmh(v).unwrap_or_else(|| {
                    self.report.problem(Problem::UnreadableMaxspeed, format!("w{id}"), format!("maxspeed={v}"));
                    default_kmh
                }),
            };
            let refs = self.ways.get(id).cloned().unwrap_or_default();
            // Split the way at missing nodes and keep the runs that are whole, rather than dropping the road.
            let mut prev: Option<(u32, [f64; 2])> = None;
            let mut missing = 0usize;
            for r in &refs {
                let Some(p) = self.node_at(*r) else {
                    missing += 1;
                    prev = None;
                    continue;
                };
                let v = *node_index.entry(*r).or_insert_with(|| builder.add_node(p[0], p[1]));
                if let Some((u, q)) = prev {
                    let meters = spherical_distance_m(q[0], q[1], p[0], p[1]);
                    let seconds = meters / (kmh / 3.6);
                    let road = *id as u64;
                    if dirs.forward {
                        builder.add_edge(u, v, seconds, meters, road);
                    }
                    if dirs.backward {
                        builder.add_edge(v, u, seconds, meters, road);
                    }
                }
                prev = Some((v, p));
            }
            if missing > 0 {
                self.report.problem(
                    Problem::MissingNode,
                    format!("w{id}"),
                    format!("{missing} of {} nodes are not in the file", refs.len()),
                );
            }
        }
        self.tagged_ways = tagged;
        let (graph, build, _) = builder.build();
        self.report.road_nodes_outside_largest_component = build.nodes_outside_largest_component;
        graph
    }

    /// Joins the outer and inner member ways of a relation into closed rings, and groups the inner rings
    /// under the outer ring containing them. `None` if no outer ring closes.
    fn assemble(&mut self, rel: i64, members: &[Member]) -> Option<Vec<Vec<Vec<[f64; 2]>>>> {
        let mut outers: Vec<Vec<i64>> = Vec::new();
        let mut inners: Vec<Vec<i64>> = Vec::new();
        for m in members {
            if m.kind != MemberKind::Way {
                continue;
            }
            let Some(refs) = self.ways.get(&m.id) else {
                self.report.problem(Problem::DanglingMember, format!("r{rel}"), format!("way {} is not in the file", m.id));
                continue;
            };
            if m.role == "inner" { inners.push(refs.clone()) } else { outers.push(refs.clone()) }
        }
        let outer_rings = self.join_rings(rel, outers);
        let inner_rings = self.join_rings(rel, inners);
        if outer_rings.is_empty() {
            return None;
        }
        let mut polygons: Vec<Vec<Vec<[f64; 2]>>> = outer_rings.into_iter().map(|r| vec![r]).collect();
        for inner in inner_rings {
            let probe = inner[0];
            let owner = polygons.iter().position(|p| ring_contains(&p[0], probe[0], probe[1]));
            match owner {
                Some(i) => polygons[i].push(inner),
                None => self.report.problem(Problem::UnusableArea, format!("r{rel}"), "an inner ring lies in no outer ring"),
            }
        }
        Some(polygons)
    }

    /// Joins ways end to end into closed rings of coordinates; ways left over are counted as unclosed.
    fn join_rings(&mut self, rel: i64, mut ways: Vec<Vec<i64>>) -> Vec<Vec<[f64; 2]>> {
        ways.retain(|w| w.len() >= 2);
        let mut rings = Vec::new();
        while let Some(mut ring) = ways.pop() {
            while ring.first() != ring.last() {
                let end = *ring.last().unwrap_or(&0);
                let Some(i) = ways.iter().position(|w| w.first() == Some(&end) || w.last() == Some(&end)) else { break };
                let mut next = ways.swap_remove(i);
                if next.first() != Some(&end) {
                    next.reverse();
                }
                ring.extend_from_slice(&next[1..]);
            }
            if ring.first() != ring.last() || ring.len() < 4 {
                self.report.problem(Problem::UnclosedRing, format!("r{rel}"), "member ways do not form a closed ring");
                continue;
            }
            if let Some(coords) = self.way_coords(rel, &ring) {
                rings.push(coords);
            }
        }
        rings
    }
}

fn water_kind(tags: &[(String, String)]) -> Option<String> {
    if tag(tags, "natural") == Some("water") {
        return Some(tag(tags, "water").unwrap_or("water").to_string());
    }
    if let Some(w) = tag(tags, "waterway").filter(|w| matches!(*w, "riverbank" | "river" | "stream" | "canal" | "dock" | "drain" | "ditch"))
    {
        return Some(w.to_string());
    }
    if let Some(l) = tag(tags, "landuse").filter(|l| matches!(*l, "reservoir" | "basin")) {
        return Some(l.to_string());
    }
    None
}

/// Even-odd test against one ring, for grouping holes; exactness is not needed for that.
fn ring_contains(ring: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > y) != (b[1] > y) && x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]) {
            inside = !inside;
        }
    }
    inside
}

/// Area-weighted centroid of a ring (planar in degrees, fine at building scale); the vertex mean for degenerate rings.
fn centroid(ring: &[[f64; 2]]) -> [f64; 2] {
    let (ox, oy) = (ring[0][0], ring[0][1]);
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for w in ring.windows(2) {
        let (x0, y0, x1, y1) = (w[0][0] - ox, w[0][1] - oy, w[1][0] - ox, w[1][1] - oy);
        let cross = x0 * y1 - x1 * y0;
        a += cross;
        cx += (x0 + x1) * cross;
        cy += (y0 + y1) * cross;
    }
    if a.abs() < 1e-18 {
        let n = ring.len() as f64;
        return [ring.iter().map(|p| p[0]).sum::<f64>() / n, ring.iter().map(|p| p[1]).sum::<f64>() / n];
    }
    [ox + cx / (3.0 * a), oy + cy / (3.0 * a)]
}
