//! `gridline import boundaries` on the real Shanghai districts.

use crate::{data_dir, fixture, run};

#[test]
fn shanghai_districts_import_and_reimport_changes_nothing() {
    let (_guard, dir) = data_dir();
    let file = fixture("shanghai_districts.geojson");
    let file = file.to_str().unwrap();
    let (code, stdout, stderr) = run(&dir, &["import", "boundaries", file, "--level", "district"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Imported 16 boundaries (16 new, 0 updated, 0 unchanged); 0 rejected"), "{stdout}");
    let (code, stdout, _) = run(&dir, &["import", "boundaries", file, "--level", "district", "--json"], None);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((report["created"].as_i64(), report["unchanged"].as_i64()), (Some(0), Some(16)));
}

#[test]
fn bad_features_are_reported_and_good_ones_kept() {
    let (_guard, dir) = data_dir();
    let bad = dir.parent().unwrap().join("bad.geojson");
    std::fs::write(
        &bad,
        serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "ok1", "name": "好"}, "geometry": {"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]]}},
            {"type": "Feature", "properties": {"code": "open", "name": "未闭合"}, "geometry": {"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1]]]}},
            {"type": "Feature", "properties": {"name": "无编码"}, "geometry": {"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]]}},
            {"type": "Feature", "properties": {"code": "nogeo", "name": "无几何"}, "geometry": null}
        ]})
        .to_string(),
    )
    .unwrap();
    let (code, stdout, _) = run(&dir, &["import", "boundaries", bad.to_str().unwrap(), "--level", "community"], None);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Feature 1: boundary.coordinates[0]: the ring is not closed"), "{stdout}");
    assert!(stdout.contains("Feature 2: properties.code: is required"), "{stdout}");
    assert!(stdout.contains("Feature 3: geometry: is required"), "{stdout}");
    assert!(stdout.contains("Imported 1 boundaries (1 new, 0 updated, 0 unchanged); 3 rejected"), "{stdout}");

    let (code, _, stderr) = run(&dir, &["import", "boundaries", "/nonexistent.geojson", "--level", "district"], None);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read /nonexistent.geojson"), "{stderr}");
    let (code, _, stderr) = run(&dir, &["import", "boundaries", bad.to_str().unwrap(), "--level", "planet"], None);
    assert_eq!(code, 1);
    assert!(stderr.contains("level: must be one of"), "{stderr}");
}
