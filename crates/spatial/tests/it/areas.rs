//! Invalid areas give errors naming the problem, and are repaired only on request.

use spatial::{Area, Geometry, Repair, RingRef, SpatialError};

fn poly(rings: &[&[(f64, f64)]]) -> Geometry {
    Geometry::Polygon(rings.iter().map(|r| r.iter().map(|&(x, y)| [x, y]).collect()).collect())
}

/// Checks that the geometry is refused with the given code, and returns the error for further checks.
fn check_refused(g: &Geometry, code: &str) -> SpatialError {
    let err = Area::new(g).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    err
}

const SQUARE: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];

#[test]
fn a_valid_square_is_accepted() {
    let area = Area::new(&poly(&[SQUARE])).unwrap();
    assert!(area.contains(0.5, 0.5));
    assert!(area.contains(1.0, 1.0));
    assert!(!area.contains(1.0000001, 0.5));
}

#[test]
fn self_intersecting_ring_is_named() {
    let bowtie: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)];
    let err = check_refused(&poly(&[bowtie]), "self_intersecting");
    assert!(err.to_string().contains("self-intersecting"), "{err}");
    assert!(err.message_zh().contains("自相交"));
}

#[test]
fn unclosed_ring_is_named_and_closed_only_on_request() {
    let open: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
    let err = check_refused(&poly(&[open]), "ring_not_closed");
    assert!(matches!(err, SpatialError::RingNotClosed { ring: RingRef { part: 0, ring: 0 } }));
    let (area, repairs) = Area::repaired(&poly(&[open])).unwrap();
    assert_eq!(repairs, vec![Repair::ClosedRing(RingRef { part: 0, ring: 0 })]);
    assert!(area.contains(0.5, 0.5));
}

#[test]
fn out_of_range_coordinates_are_named_and_never_repaired() {
    let far: &[(f64, f64)] = &[(0.0, 0.0), (190.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
    check_refused(&poly(&[far]), "coordinate_out_of_range");
    assert_eq!(Area::repaired(&poly(&[far])).unwrap_err().code(), "coordinate_out_of_range");
    let nan: &[(f64, f64)] = &[(0.0, 0.0), (f64::NAN, 0.0), (1.0, 1.0), (0.0, 0.0)];
    check_refused(&poly(&[nan]), "coordinate_out_of_range");
    let north: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 95.0), (1.0, 1.0), (0.0, 0.0)];
    check_refused(&poly(&[north]), "coordinate_out_of_range");
}

#[test]
fn zero_area_is_named() {
    let line: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)];
    check_refused(&poly(&[line]), "zero_area");
    let short: &[(f64, f64)] = &[(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
    check_refused(&poly(&[short]), "ring_too_few_points");
    // After dropping the degenerate ring, nothing is left.
    assert_eq!(Area::repaired(&poly(&[line])).unwrap_err().code(), "empty_area");
}

#[test]
fn hole_outside_and_crossing_rings_are_named() {
    let outside_hole: &[(f64, f64)] = &[(2.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 2.0)];
    let err = check_refused(&poly(&[SQUARE, outside_hole]), "hole_outside_shell");
    assert!(matches!(err, SpatialError::HoleOutsideShell { ring: RingRef { part: 0, ring: 1 } }));
    let crossing_hole: &[(f64, f64)] = &[(0.5, 0.5), (1.5, 0.5), (1.5, 0.6), (0.5, 0.5)];
    check_refused(&poly(&[SQUARE, crossing_hole]), "rings_intersect");
    let inner: &[(f64, f64)] = &[(0.2, 0.2), (0.4, 0.2), (0.4, 0.4), (0.2, 0.2)];
    let inner2: &[(f64, f64)] = &[(0.25, 0.22), (0.35, 0.22), (0.35, 0.3), (0.25, 0.22)];
    check_refused(&poly(&[SQUARE, inner, inner2]), "nested_holes");
    // Two polygons of a multipolygon, one inside the other, overlap.
    let mp = Geometry::MultiPolygon(vec![
        vec![SQUARE.iter().map(|&(x, y)| [x, y]).collect()],
        vec![inner.iter().map(|&(x, y)| [x, y]).collect()],
    ]);
    check_refused(&mp, "polygons_overlap");
}

#[test]
fn an_island_in_a_lake_is_valid() {
    let lake: &[(f64, f64)] = &[(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8), (0.2, 0.2)];
    let island: Vec<[f64; 2]> = [(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6), (0.4, 0.4)].iter().map(|&(x, y)| [x, y]).collect();
    let mp = Geometry::MultiPolygon(vec![
        vec![SQUARE.iter().map(|&(x, y)| [x, y]).collect(), lake.iter().map(|&(x, y)| [x, y]).collect()],
        vec![island],
    ]);
    let area = Area::new(&mp).unwrap();
    assert!(area.contains(0.1, 0.1));
    assert!(!area.contains(0.3, 0.3));
    assert!(area.contains(0.5, 0.5));
    assert!(area.contains(0.2, 0.5), "the lake shore is boundary, hence inside");
}

#[test]
fn a_bowtie_is_repaired_with_the_even_odd_rule_only_on_request() {
    let bowtie: &[(f64, f64)] = &[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)];
    let (area, repairs) = Area::repaired(&poly(&[bowtie])).unwrap();
    assert_eq!(repairs, vec![Repair::EvenOddFill { problem: "self_intersecting" }]);
    assert!(area.contains(1.8, 1.0));
    assert!(area.contains(0.2, 1.0));
    assert!(!area.contains(1.0, 1.8));
    assert!(area.contains(1.0, 1.0), "the crossing point lies on the boundary");
    assert!(!repairs[0].message_zh().is_empty() && !repairs[0].message_en().is_empty());
}

#[test]
fn circles_need_a_sane_radius() {
    let c = spatial::LonLat::new(121.0, 31.0).unwrap();
    assert_eq!(Area::circle(c, 0.0).unwrap_err().code(), "invalid_radius");
    assert_eq!(Area::circle(c, -5.0).unwrap_err().code(), "invalid_radius");
    assert_eq!(Area::circle(c, f64::INFINITY).unwrap_err().code(), "invalid_radius");
    let area = Area::circle(c, 1000.0).unwrap();
    // One degree of latitude is about 110.9 km here, so 990 m north is inside and 1010 m is not.
    assert!(area.contains(121.0, 31.0 + 990.0 / 110_900.0));
    assert!(!area.contains(121.0, 31.0 + 1010.0 / 110_900.0));
}

#[test]
fn text_formats_parse_into_the_same_area() {
    let wkt = Geometry::from_wkt("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))").unwrap();
    let json = Geometry::from_geojson(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#).unwrap();
    assert_eq!(wkt, json);
    let multi = Geometry::from_wkt("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((2 2,3 2,3 3,2 2)))").unwrap();
    assert!(matches!(multi, Geometry::MultiPolygon(ref p) if p.len() == 2));
    let collection = Geometry::from_geojson(
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[2,2],[3,2],[3,3],[2,2]]]}}]}"#,
    )
    .unwrap();
    assert_eq!(collection, multi);
    for bad in ["POLYGON((0 0, 1 0", "CIRCLE(1 2)", "POLYGON((0 0, x 0, 1 1, 0 0))"] {
        assert_eq!(Geometry::from_wkt(bad).unwrap_err().code(), "parse_error", "{bad}");
    }
    assert_eq!(Geometry::from_geojson("{").unwrap_err().code(), "parse_error");
    assert_eq!(Geometry::from_geojson(r#"{"type":"Point","coordinates":[0,0]}"#).unwrap_err().code(), "empty_area");
}
