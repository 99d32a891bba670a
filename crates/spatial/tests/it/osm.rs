//! OpenStreetMap import on real extracts, on deliberately broken data, and on garbage.

use std::path::Path;

use proptest::prelude::*;
use spatial::Router;
use spatial::osm::{FacilityKind, ImportReport, OsmData, Problem, import_path, import_pbf, import_xml};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn import(name: &str) -> (OsmData, ImportReport) {
    let mut last = 0;
    let out = import_path(&fixture(name), &mut |bytes| last = bytes).unwrap();
    let size = std::fs::metadata(fixture(name)).unwrap().len();
    assert_eq!(last, size, "progress reaches the file size");
    out
}

/// Snaps two points and routes between them; the route must exist and take a plausible time for a city.
fn check_routable(data: &OsmData, from: (f64, f64), to: (f64, f64)) -> f64 {
    let mut router = Router::new(&data.graph);
    let a = router.snap(from.0, from.1, 500.0).unwrap();
    let b = router.snap(to.0, to.1, 500.0).unwrap();
    let route = router.route(&a, &b).unwrap();
    assert!(route.seconds > 10.0 && route.seconds < 3600.0, "{route:?}");
    assert!(route.meters > 100.0 && route.geometry.len() > 2);
    route.seconds
}

#[test]
fn porto_pbf_imports_and_routes() {
    let (data, report) = import("porto.osm.pbf");
    assert_eq!((report.nodes_read, report.ways_read, report.relations_read), (85_149, 22_606, 344));
    assert!(report.road_nodes > 5_000 && report.road_nodes < 20_000, "{report:?}");
    assert_eq!(report.road_nodes, data.graph.node_count());
    assert!(report.buildings > 10_000, "{}", report.buildings);
    assert!(data.facilities.iter().filter(|f| f.kind == FacilityKind::Hospital || f.kind == FacilityKind::Clinic).count() >= 10);
    assert!(data.facilities.iter().any(|f| f.kind == FacilityKind::FireStation));
    assert!(data.buildings.iter().all(|b| b.footprint[0].first() == b.footprint[0].last()));
    assert!(data.buildings.iter().any(|b| b.levels.is_some()));
    // An extract clipped at its edges refers to ways and nodes it does not contain: counted, not fatal.
    assert!(report.problems.get(&Problem::DanglingMember).copied().unwrap_or(0) > 0, "{:?}", report.problems);
    // Ribeira to Marquês, across the city centre (the largest connected road network covers the centre).
    check_routable(&data, (-8.6140, 41.1405), (-8.6000, 41.1600));
}

#[test]
fn monaco_gzipped_xml_imports_and_routes() {
    let (data, report) = import("monaco.osm.gz");
    assert_eq!((report.nodes_read, report.ways_read, report.relations_read), (13_739, 1_944, 77));
    assert!(report.road_nodes > 1_000, "{report:?}");
    assert!(report.buildings > 500);
    assert!(!data.water.is_empty());
    assert!(data.facilities.iter().any(|f| f.kind == FacilityKind::Police));
    // Monaco's administrative boundary is in the extract and assembles into a usable area.
    let monaco = data.boundaries.iter().find(|b| b.admin_level == Some(2) || b.name.as_deref() == Some("Monaco"));
    assert!(monaco.is_some(), "{:?}", data.boundaries.iter().map(|b| (&b.name, b.admin_level)).collect::<Vec<_>>());
    // Port Hercule to the Jardin Exotique.
    check_routable(&data, (7.4245, 43.7350), (7.4130, 43.7310));
}

const BROKEN: &str = r#"<?xml version="1.0"?>
<osm version="0.6">
  <node id="1" lat="43.0" lon="7.0"/>
  <node id="2" lat="43.0" lon="7.001"/>
  <node id="3" lat="43.001" lon="7.001"/>
  <node id="4" lat="43.001" lon="7.0"/>
  <node id="5" lat="95.0" lon="7.0"/>
  <node id="6" lat="43.0005" lon="7.0005"><tag k="amenity" v="hospital"/><tag k="name" v="Saint &amp; Co"/></node>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/><tag k="maxspeed" v="RU:urban"/></way>
  <way id="11"><nd ref="1"/><nd ref="99"/><nd ref="3"/><tag k="highway" v="primary"/></way>
  <way id="12"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="building" v="yes"/></way>
  <way id="13"><nd ref="2"/><nd ref="3"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
  <relation id="20"><member type="way" ref="12" role="outer"/><member type="way" ref="777" role="outer"/><tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/></relation>
</osm>"#;

#[test]
fn broken_data_is_counted_not_fatal() {
    let (data, report) = import_xml(BROKEN.as_bytes(), &mut |_| {}).unwrap();
    let count = |p: Problem| report.problems.get(&p).copied().unwrap_or(0);
    assert_eq!(count(Problem::BadCoordinate), 1);
    assert_eq!(count(Problem::MissingNode), 1, "{:?}", report.examples);
    assert_eq!(count(Problem::UnreadableMaxspeed), 1);
    assert_eq!(count(Problem::DanglingMember), 1);
    assert!(count(Problem::UnclosedRing) >= 2, "the building outline and the boundary ring");
    assert_eq!(count(Problem::UnusableArea), 1);
    assert_eq!(report.drivable_ways, 2, "the private service road is not drivable");
    // The residential loop is routable in both directions; the primary road with a missing node keeps nothing.
    assert_eq!(data.graph.node_count(), 4);
    assert_eq!(data.graph.edge_count(), 8);
    assert_eq!(data.facilities.len(), 1);
    assert_eq!(data.facilities[0].name.as_deref(), Some("Saint & Co"));
    assert!(report.examples.iter().any(|d| d.osm_id == "w11"));
    for p in Problem::ALL {
        assert!(!p.label_en().is_empty() && !p.label_zh().is_empty() && !p.code().is_empty());
    }
}

#[test]
fn garbage_and_truncated_files_never_panic() {
    assert_eq!(import_pbf(&b"not a pbf at all"[..], &mut |_| {}).unwrap_err().code(), "osm_format");
    assert_eq!(import_xml(&b"\x1f\x8bnot really gzip"[..], &mut |_| {}).unwrap_err().code(), "osm_format");
    assert_eq!(import_xml(&b"<html></html>"[..], &mut |_| {}).unwrap_err().code(), "osm_format");
    // A PBF cut in the middle keeps what came before and reports the read error.
    let bytes = std::fs::read(fixture("porto.osm.pbf")).unwrap();
    let (data, report) = import_pbf(&bytes[..bytes.len() / 2], &mut |_| {}).unwrap();
    assert_eq!(report.problems.get(&Problem::ReadError), Some(&1));
    assert!(report.nodes_read > 0);
    assert_eq!(data.graph.node_count(), report.road_nodes);
    // XML cut in the middle of an element.
    let cut = &BROKEN[..BROKEN.find("<way id=\"12\"").unwrap() + 8];
    let (_, report) = import_xml(cut.as_bytes(), &mut |_| {}).unwrap();
    assert!(report.ways_read >= 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mangled_xml_never_panics(cut in 0usize..BROKEN.len(), flips in prop::collection::vec((0usize..BROKEN.len(), any::<u8>()), 0..8)) {
        let mut bytes = BROKEN.as_bytes()[..cut].to_vec();
        for (at, b) in flips {
            if at < bytes.len() {
                bytes[at] = b;
            }
        }
        // Either outcome is fine; what matters is that it returns.
        let _ = import_xml(&bytes[..], &mut |_| {});
        let _ = import_pbf(&bytes[..], &mut |_| {});
    }
}
