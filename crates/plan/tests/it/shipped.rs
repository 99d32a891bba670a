//! The plans Gridline ships: each parses, survives a round trip through its own format, and lints clean against the
//! reference registry.

use domain::Locale;

use crate::support::{registry, table};

#[test]
fn every_shipped_plan_parses_round_trips_and_lints_clean() {
    let registry = registry();
    let table = table();
    assert!(plan::shipped().len() >= 6);
    let mut failures = Vec::new();
    for (name, text) in plan::shipped() {
        let parsed = match plan::parse(text) {
            Ok(parsed) => parsed,
            Err(error) => {
                failures.push(format!("{name}: {}", error.message(Locale::En)));
                continue;
            }
        };
        assert_eq!(format!("{}.json", parsed.code), *name, "the file is named after the plan's code");
        assert_eq!(plan::parse(&plan::to_json(&parsed)).unwrap(), parsed, "{name} does not survive a round trip");
        for finding in plan::lint(&parsed, &table, &registry) {
            failures.push(format!("{name}: {} {} — {}", finding.path, finding.code.code(), finding.message(Locale::En)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
