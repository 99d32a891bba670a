//! Every error has a stable code, an English message and a Chinese message.

use spatial::{RingRef, SpatialError};

fn one_of_each() -> Vec<SpatialError> {
    let ring = RingRef { part: 0, ring: 1 };
    vec![
        SpatialError::CoordinateOutOfRange { lon: 200.0, lat: 0.0 },
        SpatialError::RingNotClosed { ring },
        SpatialError::RingTooFewPoints { ring, points: 2 },
        SpatialError::SelfIntersecting { ring, lon: 1.0, lat: 2.0 },
        SpatialError::RingsIntersect { first: ring, second: RingRef { part: 1, ring: 0 }, lon: 1.0, lat: 2.0 },
        SpatialError::HoleOutsideShell { ring },
        SpatialError::PolygonsOverlap { first: 0, second: 1 },
        SpatialError::NestedHoles { ring, outer: RingRef { part: 0, ring: 2 } },
        SpatialError::ZeroArea { ring },
        SpatialError::InvalidRadius { radius_m: -1.0 },
        SpatialError::EmptyArea,
        SpatialError::Parse { format: "WKT", detail: "x".into() },
        SpatialError::UnknownGeocode { code: "1".into() },
        SpatialError::DuplicatePointId { id: 1 },
        SpatialError::UnknownPointId { id: 1 },
        SpatialError::UnknownRoad { edge: 1 },
        SpatialError::UnknownNode { node: 1 },
        SpatialError::NoRoadNearby { lon: 1.0, lat: 2.0, max_m: 3.0 },
        SpatialError::EmptyGraph,
        SpatialError::Io { path: "p".into(), source: std::io::Error::other("gone") },
        SpatialError::OsmFormat { detail: "x".into() },
    ]
}

#[test]
fn every_code_is_listed_once_and_has_both_languages() {
    let errors = one_of_each();
    let mut codes: Vec<&str> = errors.iter().map(SpatialError::code).collect();
    codes.sort_unstable();
    let mut listed = SpatialError::ALL_CODES.to_vec();
    listed.sort_unstable();
    assert_eq!(codes, listed, "ALL_CODES must list each variant's code exactly once");
    for e in &errors {
        let en = e.to_string();
        let zh = e.message_zh();
        assert!(!en.is_empty() && en.is_ascii(), "{en}");
        assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
        assert!(e.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    }
}
