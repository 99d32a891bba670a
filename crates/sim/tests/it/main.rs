//! The drill: scenarios and the model load with clear errors, and a drill against the real Gridline is the same
//! for the same seed.

use sim::scenario::{SHIPPED, load_model, load_scenario};

#[test]
fn every_shipped_scenario_and_the_model_load() {
    for (name, _) in SHIPPED {
        let scenario = load_scenario(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&scenario.name, name);
        assert!(scenario.sensor.crossing().is_some());
    }
    let model = load_model(None).unwrap();
    assert!((0.0..=1.0).contains(&model.residents.ack_probability));
}

#[test]
fn a_bad_scenario_is_refused_with_its_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let good = SHIPPED.iter().find(|(n, _)| *n == "gas-leak").unwrap().1;
    // A misspelt field, on line 9.
    let misspelt = good.replacen("sensor:", "sensr:", 1);
    let line = misspelt.lines().position(|l| l.starts_with("sensr:")).unwrap() + 1;
    let error = load_scenario(&write("misspelt.yaml", &misspelt)).unwrap_err();
    assert_eq!(error.line, line, "{error}");
    assert!(error.message.contains("sensr"), "{error}");
    // A value of the wrong type.
    let error = load_scenario(&write("type.yaml", &good.replacen("duration_minutes: 120", "duration_minutes: two hours", 1))).unwrap_err();
    assert!(error.message.contains("duration_minutes"), "{error}");
    // A sensor that never reaches its threshold: nothing would happen.
    let calm = good.replacen("threshold: 20", "threshold: 2000", 1);
    let error = load_scenario(&write("calm.yaml", &calm)).unwrap_err();
    assert!(error.message.contains("never reaches"), "{error}");
    // An area that is both kinds, or neither.
    let both =
        good.replacen("area: { around_first_spot_radius_m: 150 }", "area: { around_first_spot_radius_m: 150, river_band_margin_m: 3 }", 1);
    assert!(load_scenario(&write("both.yaml", &both)).unwrap_err().message.contains("one of"));
    // Not a file, not a shipped name.
    let error = load_scenario("no-such-scenario").unwrap_err();
    assert!(error.message.contains("rainstorm"), "the shipped names are listed: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gas_leak_drill_runs_against_gridline_and_the_same_seed_gives_the_same_metrics() {
    let scenario = load_scenario("gas-leak").unwrap();
    let model = load_model(None).unwrap();
    let first = sim::drill(&scenario, &model, 7, 1e9, sim::Mode::Both, &mut |_| {}).await.unwrap();
    assert!(first.errors.is_empty(), "Gridline refused none of the drill's calls: {:?}", first.errors);
    let integrated = first.integrated.clone().unwrap();
    let siloed = first.siloed.clone().unwrap();
    // Gridline did the work: texts out and acknowledged, door-knocks, duplicates merged, the plan's tasks.
    assert!(integrated.texts_delivered > 100 && integrated.residents_acknowledged > 0, "{integrated:?}");
    assert!(integrated.vulnerable_households > 0 && integrated.vulnerable_never_reached == 0, "{integrated:?}");
    assert_eq!(integrated.duplicate_reports_merged, model.residents.reporters_per_spot - 1, "{integrated:?}");
    assert!(integrated.tasks > 0 && integrated.first_task_acknowledged_min.is_some(), "{integrated:?}");
    assert_eq!(integrated.reached_curve.last().map(|(_, share)| *share), Some(1.0));
    // The same people, without integration: the same households at stake, later everywhere.
    assert_eq!(siloed.vulnerable_households, integrated.vulnerable_households);
    assert!(siloed.warning_issued_min > integrated.warning_issued_min, "{siloed:?}");
    assert!(siloed.first_task_acknowledged_min > integrated.first_task_acknowledged_min, "{siloed:?}");
    assert!(siloed.actions_by_hand > integrated.actions_by_hand);
    // Again, with the same seed: the same numbers.
    let again = sim::drill(&scenario, &model, 7, 1e9, sim::Mode::Both, &mut |_| {}).await.unwrap();
    assert_eq!(again.integrated, first.integrated);
    assert_eq!(again.siloed, first.siloed);
    // The report: the chart and the table.
    let html = sim::report::html(&scenario, 7, 120.0, first.integrated.as_ref(), first.siloed.as_ref());
    assert!(html.contains("<svg") && html.matches("<polyline").count() == 2 && html.contains("data-metric=\"overdue_tasks\""));
}

/// In the rainstorm, the demo's gauge reports through the observations API and its rule drafts the warning: the
/// first reading above 30 mm/h at minute 30 (the curve crosses at 27.5), held ten minutes, fires at minute 40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_rainstorm_drill_the_gauges_rule_drafts_the_warning() {
    let scenario = load_scenario("rainstorm").unwrap();
    let model = load_model(None).unwrap();
    let run = sim::drill(&scenario, &model, 2026, 1e9, sim::Mode::Integrated, &mut |_| {}).await.unwrap();
    assert!(run.errors.is_empty(), "Gridline refused none of the drill's calls: {:?}", run.errors);
    let integrated = run.integrated.unwrap();
    assert_eq!(integrated.warning_drafted_by_rule_min, Some(12.5), "{integrated:?}");
    assert!(integrated.warning_issued_min.is_some_and(|issued| issued > 12.5), "reviewed, approved, then issued: {integrated:?}");
    assert!(integrated.texts_delivered > 1000, "{integrated:?}");
}
