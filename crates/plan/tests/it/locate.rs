//! Locating a path of a plan document in its text, so the plan editor can put each finding on its line.

use plan::{Position, locate};

const BROKEN: &str = include_str!("../fixtures/broken.plan.json");

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).map(|index| index + 1).unwrap_or_else(|| panic!("{needle} not found"))
}

#[test]
fn every_finding_of_the_broken_plan_is_located_on_its_line() {
    let parsed = plan::parse(BROKEN).unwrap();
    let findings = plan::lint(&parsed, &crate::support::table(), &crate::support::registry());
    for finding in &findings {
        let position = locate(BROKEN, &finding.path).unwrap_or_else(|| panic!("{} not located", finding.path));
        assert!(position.line >= 1 && position.line <= BROKEN.lines().count(), "{}: {position:?}", finding.path);
    }
    let at = |path: &str| locate(BROKEN, path).unwrap().line;
    assert_eq!(at("scope.subtypes[1]"), line_of(BROKEN, "\"sinkhole_flood\""));
    assert_eq!(at("matrix[5]"), line_of(BROKEN, "{ \"function\": \"shelter\" }"));
    assert_eq!(at("matrix[4].lead"), line_of(BROKEN, "building_leader"));
    assert_eq!(at("actions[5].after[1]"), line_of(BROKEN, "\"no-such-action\""));
    assert_eq!(at("reporting.deadlines[0]"), line_of(BROKEN, "\"deadlines\""));
    assert_eq!(at("escalation.command[0].to"), line_of(BROKEN, "\"to-community\""));
}

#[test]
fn paths_that_do_not_exist_land_on_their_deepest_existing_part() {
    let text = "{\n  \"a\": {\n    \"b\": [1, 2]\n  }\n}\n";
    assert_eq!(locate(text, ""), Some(Position { line: 1, column: 1 }));
    assert_eq!(locate(text, "a"), Some(Position { line: 2, column: 8 }));
    assert_eq!(locate(text, "a.b[1]"), Some(Position { line: 3, column: 14 }));
    assert_eq!(locate(text, "a.b[7]"), Some(Position { line: 3, column: 10 }));
    assert_eq!(locate(text, "a.missing.deeper"), Some(Position { line: 2, column: 8 }));
    assert_eq!(locate(text, "a.b[x]"), None, "not a path");
    assert_eq!(locate("{\"a\": \"é\", \"b\": 1}", "b"), Some(Position { line: 1, column: 17 }), "columns count characters");
    assert_eq!(locate("{\"a\": [", "a[0]"), Some(Position { line: 1, column: 7 }), "text that ends early: the deepest part reached");
}
