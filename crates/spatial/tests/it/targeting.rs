//! Area targeting checked against a brute-force oracle in exact integer arithmetic.
//!
//! Coordinates are integers `i, j` mapped to degrees as `121 + i / 1024`, `31 + j / 1024`, which `f64` holds exactly,
//! so the oracle can decide every case (points on edges and vertices included) with `i128` cross products,
//! independently of the crate's predicates.

use proptest::prelude::*;
use spatial::{Area, Geometry, LonLat, PointIndex};

type Ip = (i64, i64);

fn deg(p: Ip) -> [f64; 2] {
    [121.0 + p.0 as f64 / 1024.0, 31.0 + p.1 as f64 / 1024.0]
}

fn cross(a: Ip, b: Ip, c: Ip) -> i128 {
    i128::from(b.0 - a.0) * i128::from(c.1 - a.1) - i128::from(b.1 - a.1) * i128::from(c.0 - a.0)
}

fn on_segment(p: Ip, a: Ip, b: Ip) -> bool {
    cross(a, b, p) == 0 && p.0 >= a.0.min(b.0) && p.0 <= a.0.max(b.0) && p.1 >= a.1.min(b.1) && p.1 <= a.1.max(b.1)
}

/// Winding number of a closed ring around a point that is not on it (Sunday's algorithm).
fn winding(p: Ip, ring: &[Ip]) -> i32 {
    let mut w = 0;
    for k in 0..ring.len() - 1 {
        let (a, b) = (ring[k], ring[k + 1]);
        if a.1 <= p.1 {
            if b.1 > p.1 && cross(a, b, p) > 0 {
                w += 1;
            }
        } else if b.1 <= p.1 && cross(a, b, p) < 0 {
            w -= 1;
        }
    }
    w
}

/// The oracle: on any ring → inside; otherwise inside some polygon's outer ring and in none of its holes.
fn oracle_inside(p: Ip, parts: &[Vec<Vec<Ip>>]) -> bool {
    for part in parts {
        for ring in part {
            if ring.windows(2).any(|w| on_segment(p, w[0], w[1])) {
                return true;
            }
        }
    }
    parts.iter().any(|part| winding(p, &part[0]) != 0 && part[1..].iter().all(|h| winding(p, h) == 0))
}

/// A star-shaped ring around `c`: angles evenly spread with jitter (so no gap reaches a right angle),
/// radii in `[r_min, r_max]`, corners on even integers so that edge midpoints are integers too.
fn star(c: Ip, n: usize, r_min: f64, r_max: f64, jitter: &[f64], radii: &[f64], clockwise: bool) -> Vec<Ip> {
    let mut ring: Vec<Ip> = (0..n)
        .map(|k| {
            let t = (k as f64 + 0.4 * jitter[k]) / n as f64 * std::f64::consts::TAU;
            let r = r_min + (r_max - r_min) * radii[k];
            let x = (c.0 as f64 + r * t.cos()) / 2.0;
            let y = (c.1 as f64 + r * t.sin()) / 2.0;
            (x.round() as i64 * 2, y.round() as i64 * 2)
        })
        .collect();
    ring.dedup();
    if clockwise {
        ring.reverse();
    }
    ring.push(ring[0]);
    ring
}

fn to_geometry(parts: &[Vec<Vec<Ip>>]) -> Geometry {
    let conv = |r: &Vec<Ip>| r.iter().map(|&p| deg(p)).collect::<Vec<_>>();
    if parts.len() == 1 {
        Geometry::Polygon(parts[0].iter().map(conv).collect())
    } else {
        Geometry::MultiPolygon(parts.iter().map(|p| p.iter().map(conv).collect()).collect())
    }
}

/// Test points: random ones plus every vertex, every edge midpoint, and points level with each vertex
/// (the ray-through-vertex cases).
fn probe_points(parts: &[Vec<Vec<Ip>>], random: &[Ip]) -> Vec<Ip> {
    let mut pts: Vec<Ip> = random.to_vec();
    for part in parts {
        for ring in part {
            for w in ring.windows(2) {
                pts.push(w[0]);
                pts.push(((w[0].0 + w[1].0) / 2, (w[0].1 + w[1].1) / 2));
                pts.push((w[0].0 - 3, w[0].1));
                pts.push((w[0].0 + 5, w[0].1));
            }
        }
    }
    pts
}

fn check_index_against_oracle(parts: &[Vec<Vec<Ip>>], pts: &[Ip], area: &Area) {
    let expected: Vec<u64> = (0..pts.len() as u64).filter(|&i| oracle_inside(pts[i as usize], parts)).collect();
    for (i, &p) in pts.iter().enumerate() {
        let d = deg(p);
        assert_eq!(area.contains(d[0], d[1]), oracle_inside(p, parts), "point {i} at {p:?}");
    }
    // Half the points bulk-loaded into the packed array, half inserted one by one into the side buffer.
    let half = pts.len() / 2;
    let mut index = PointIndex::build((0..half).map(|i| {
        let d = deg(pts[i]);
        (i as u64, LonLat::new(d[0], d[1]).unwrap())
    }))
    .unwrap();
    for (i, &p) in pts.iter().enumerate().skip(half) {
        let d = deg(p);
        index.insert(i as u64, LonLat::new(d[0], d[1]).unwrap()).unwrap();
    }
    let mut got = index.ids(area);
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(index.count(area), expected.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn polygon_targeting_equals_brute_force(
        n in 3usize..60,
        jitter in prop::collection::vec(-1.0f64..1.0, 60),
        radii in prop::collection::vec(0.0f64..1.0, 60),
        r_min in 20.0f64..200.0,
        spread in 1.0f64..3.0,
        clockwise: bool,
        random in prop::collection::vec((-700i64..700, -700i64..700), 0..400),
    ) {
        let outer = star((0, 0), n, r_min, r_min * spread, &jitter, &radii, clockwise);
        let parts = vec![vec![outer]];
        let geometry = to_geometry(&parts);
        let area = Area::new(&geometry);
        // Rounding corners to the integer grid can, rarely, fold a ring; such rings are not valid input.
        prop_assume!(area.is_ok());
        let area = area.unwrap();
        let pts = probe_points(&parts, &random);
        check_index_against_oracle(&parts, &pts, &area);
    }

    #[test]
    fn multipolygon_with_holes_equals_brute_force(
        n in 6usize..40,
        jitter in prop::collection::vec(-1.0f64..1.0, 40),
        radii in prop::collection::vec(0.0f64..1.0, 40),
        r_min in 200.0f64..400.0,
        hole_n in 3usize..12,
        hole_off in (-40i64..40, -40i64..40),
        random in prop::collection::vec((-1500i64..1500, -900i64..900), 0..400),
    ) {
        let outer = star((0, 0), n, r_min, r_min * 1.5, &jitter, &radii, false);
        // Angles never leave a gap of a right angle, so the outer ring holds the disc of radius r_min·cos(45°);
        // the hole stays well inside it.
        let hole_r = r_min * 0.3;
        let hole = star(hole_off, hole_n, hole_r * 0.5, hole_r, &jitter[..hole_n], &radii[..hole_n], true);
        let second = star((900, 0), n, 60.0, 120.0, &jitter, &radii, false);
        let parts = vec![vec![outer, hole], vec![second]];
        let geometry = to_geometry(&parts);
        let area = Area::new(&geometry);
        prop_assume!(area.is_ok());
        let area = area.unwrap();
        let pts = probe_points(&parts, &random);
        check_index_against_oracle(&parts, &pts, &area);
    }
}

#[test]
fn boundary_points_are_inside_and_outside_points_are_not() {
    let square = vec![vec![(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]];
    let parts = vec![square];
    let area = Area::new(&to_geometry(&parts)).unwrap();
    for (p, inside) in [
        ((0, 0), true),
        ((50, 0), true),
        ((100, 50), true),
        ((50, 50), true),
        ((101, 50), false),
        ((-1, 0), false),
        ((50, 100), true),
        ((50, 101), false),
    ] {
        let d = deg(p);
        assert_eq!(area.contains(d[0], d[1]), inside, "{p:?}");
    }
}

#[test]
fn incremental_updates_follow_the_points_through_rebuilds() {
    // Enough inserts to force several rebuilds of the packed array, interleaved with moves and removals.
    let square = vec![vec![(0, 0), (512, 0), (512, 512), (0, 512), (0, 0)]];
    let parts = vec![square];
    let area = Area::new(&to_geometry(&parts)).unwrap();
    let mut index = PointIndex::new();
    let mut truth: std::collections::HashMap<u64, Ip> = std::collections::HashMap::new();
    let mut state = 12345u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for step in 0..30_000u64 {
        let r = next();
        let p = ((r % 1024) as i64 - 256, ((r >> 20) % 1024) as i64 - 256);
        let d = deg(p);
        let at = LonLat::new(d[0], d[1]).unwrap();
        match r % 10 {
            0..=5 => {
                index.insert(step, at).unwrap();
                truth.insert(step, p);
            }
            6 | 7 if !truth.is_empty() => {
                let id = *truth.keys().next().unwrap();
                index.move_point(id, at).unwrap();
                truth.insert(id, p);
            }
            _ if !truth.is_empty() => {
                let id = *truth.keys().nth((r % 7) as usize % truth.len()).unwrap();
                let was = index.remove(id).unwrap();
                let d0 = deg(truth[&id]);
                assert_eq!((was.lon(), was.lat()), (d0[0], d0[1]));
                truth.remove(&id);
            }
            _ => {}
        }
        if step % 5000 == 4999 {
            let mut expected: Vec<u64> = truth.iter().filter(|(_, p)| oracle_inside(**p, &parts)).map(|(id, _)| *id).collect();
            expected.sort_unstable();
            let mut got = index.ids(&area);
            got.sort_unstable();
            assert_eq!(got, expected, "after step {step}");
            assert_eq!(index.len(), truth.len());
        }
    }
    assert!(matches!(
        index.insert(*truth.keys().next().unwrap(), LonLat::new(121.0, 31.0).unwrap()),
        Err(spatial::SpatialError::DuplicatePointId { .. })
    ));
    assert!(matches!(index.remove(u64::MAX), Err(spatial::SpatialError::UnknownPointId { .. })));
}

#[test]
fn memory_stays_within_32_bytes_per_point() {
    let n = 200_000u64;
    let index = PointIndex::build((0..n).map(|i| {
        let x = (i.wrapping_mul(2_654_435_761) % 100_000) as f64 / 100_000.0;
        let y = (i.wrapping_mul(40_503) % 100_000) as f64 / 100_000.0;
        (i * 7, LonLat::new(121.0 + x, 31.0 + y).unwrap())
    }))
    .unwrap();
    let per_point = index.memory_bytes() as f64 / n as f64;
    assert!(per_point <= 32.0, "{per_point} bytes per point");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn circle_targeting_equals_brute_force_geodesic(
        center in (121.0f64..122.0, 30.7f64..31.8),
        radius_m in 50.0f64..30_000.0,
        random in prop::collection::vec((120.8f64..122.2, 30.5f64..32.0), 1..3000),
    ) {
        let area = Area::circle(LonLat::new(center.0, center.1).unwrap(), radius_m).unwrap();
        let index = PointIndex::build(random.iter().enumerate().map(|(i, p)| (i as u64, LonLat::new(p.0, p.1).unwrap()))).unwrap();
        // The oracle is the same geodesic distance, applied to every point without the index.
        let mut expected: Vec<u64> = random
            .iter()
            .enumerate()
            .filter(|(_, p)| spatial::area::geodesic_distance_m(center.0, center.1, p.0, p.1) <= radius_m)
            .map(|(i, _)| i as u64)
            .collect();
        expected.sort_unstable();
        let mut got = index.ids(&area);
        got.sort_unstable();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn cap_circle_and_polygon_text_use_lat_lon_order() {
    let g = Geometry::from_cap_circle("31.23,121.47 2.5").unwrap();
    assert_eq!(g, Geometry::Circle { center: [121.47, 31.23], radius_m: 2500.0 });
    let area = Area::new(&g).unwrap();
    assert!(area.contains(121.47, 31.24));
    assert!(!area.contains(121.47, 31.26));
    let p = Geometry::from_cap_polygon("31.0,121.0 31.0,121.1 31.1,121.1 31.0,121.0").unwrap();
    assert_eq!(p, Geometry::Polygon(vec![vec![[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]]));
    assert!(Geometry::from_cap_circle("31.23,121.47").is_err());
}

#[test]
fn a_geocode_resolves_to_its_real_boundary() {
    let text = include_str!("../fixtures/shanghai_310101.geojson");
    let mut gazetteer = spatial::Gazetteer::new();
    gazetteer.insert("310101", Area::from_geojson(text).unwrap());
    let huangpu = gazetteer.resolve("310101").unwrap();
    // People's Square is in Huangpu; Xujiahui, to the south-west, is not.
    assert!(huangpu.contains(121.4737, 31.2304));
    assert!(!huangpu.contains(121.4370, 31.1950));
    let err = gazetteer.resolve("999999").unwrap_err();
    assert_eq!(err.code(), "unknown_geocode");
}
