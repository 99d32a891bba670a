//! `gridline simulate`: the table on the terminal, metrics.json and report.html in the report folder; a clear
//! error for a scenario that does not exist.

use std::path::Path;

use crate::gridline;

#[test]
fn a_drill_prints_the_table_and_writes_the_report() {
    let temp = tempfile::tempdir().unwrap();
    let report = temp.path().join("report");
    let output = gridline()
        .current_dir(temp.path())
        .args(["simulate", "gas-leak", "--speed", "1000000", "--seed", "3", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("integrated (Gridline)") && stdout.contains("siloed (model)"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("duplicate reports merged")), "{stdout}");
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["scenario"], "gas-leak");
    assert!(metrics["integrated"]["texts_delivered"].as_u64().unwrap() > 0, "{metrics}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<polyline"), "the timeline chart");
    assert!(!Path::new(&temp.path().join("gridline-demo")).exists(), "a drill runs on its own copy, not on the demo");
}

#[test]
fn an_unknown_scenario_is_named_with_the_shipped_ones() {
    let output = gridline().args(["simulate", "volcano"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("volcano") && stderr.contains("rainstorm, typhoon, gas-leak"), "{stderr}");
}
