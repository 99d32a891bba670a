//! The linter: the deliberately broken fixture has one seeded gap per rule, and the linter must find each, at its
//! path; rules the fixture cannot hold at the same time are checked on small variations of a shipped plan.

use std::collections::BTreeSet;

use domain::Locale;
use plan::{Finding, LintCode, Severity};

use crate::support::{registry, shipped, table};

const BROKEN: &str = include_str!("../fixtures/broken.plan.json");

fn lint_text(text: &str) -> Vec<Finding> {
    let parsed = plan::parse(text).unwrap_or_else(|error| panic!("{}", error.message(Locale::En)));
    plan::lint(&parsed, &table(), &registry())
}

fn codes_and_paths(findings: &[Finding]) -> BTreeSet<(&'static str, String)> {
    findings.iter().map(|finding| (finding.code.code(), finding.path.clone())).collect()
}

#[test]
fn the_linter_finds_every_seeded_gap_of_the_broken_plan() {
    let findings = lint_text(BROKEN);
    let expected: BTreeSet<(&str, String)> = [
        ("unknown_subtype", "scope.subtypes[1]"),
        ("unknown_jurisdiction", "scope.jurisdictions[0]"),
        ("subtype_outside_scope", "triggers[0].when.subtype_in[1]"),
        ("empty_condition", "triggers[1].when.any"),
        ("support_same_as_lead", "matrix[0].support[0]"),
        ("unknown_organization", "matrix[1].lead"),
        ("no_organization_for_sector", "matrix[2].lead"),
        ("no_organization_of_kind", "matrix[3].lead"),
        ("role_not_held", "matrix[4].lead"),
        ("function_without_lead", "matrix[5]"),
        ("duplicate_function", "matrix[7].function"),
        ("missing_essential_function", "matrix"),
        ("due_before_prerequisite", "actions[1].after[0]"),
        ("action_without_owner", "actions[2]"),
        ("action_function_not_in_matrix", "actions[3].function"),
        ("due_before_prerequisite", "actions[4].after[0]"),
        ("prerequisite_cycle", "actions[4].after"),
        ("prerequisite_cycle", "actions[5].after"),
        ("unknown_prerequisite", "actions[5].after[1]"),
        ("duplicate_id", "actions[6].id"),
        ("action_level_never_reached", "actions[7].from_level"),
        ("report_action_after_deadline", "actions[8].within_minutes"),
        ("reporting_escalation_too_late", "actions[9].within_minutes"),
        ("reports_to_not_in_chain", "actions[10].reports_to"),
        ("escalation_target_missing", "escalation.command[0].to"),
        ("reporting_looser_than_statute", "reporting.chain[1].within_minutes"),
        ("reporting_deadline_unreachable", "reporting.deadlines[0]"),
    ]
    .into_iter()
    .map(|(code, path)| (code, path.to_string()))
    .collect();
    let found = codes_and_paths(&findings);
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing: {missing:#?}\nunexpected: {unexpected:#?}");

    // Role and organization gaps are reported once per jurisdiction where they bite.
    let role_gaps: Vec<&Finding> = findings.iter().filter(|finding| finding.code == LintCode::RoleNotHeld).collect();
    let grids: BTreeSet<&str> = role_gaps
        .iter()
        .flat_map(|finding| finding.params.iter().filter(|(name, _)| *name == "jurisdiction"))
        .map(|(_, code)| code.as_str())
        .collect();
    assert_eq!(grids, BTreeSet::from(["310104011001-01", "310104011001-02", "310104011002-01", "310104011002-02"]));
    assert!(plan::has_errors(&findings));
}

#[test]
fn findings_have_stable_codes_severities_and_messages_in_both_languages() {
    let findings = lint_text(BROKEN);
    for finding in &findings {
        for locale in Locale::ALL {
            let message = finding.message(locale);
            assert!(!message.contains('{') && !message.contains("plan_lint"), "{:?} in {}: {message}", finding.code, locale.tag());
        }
        let expected = if matches!(
            finding.code,
            LintCode::SupportSameAsLead | LintCode::ActionLevelNeverReached | LintCode::ReportingEscalationTooLate
        ) {
            Severity::Warning
        } else {
            Severity::Error
        };
        assert_eq!(finding.severity, expected, "{:?}", finding.code);
    }
    let message = |code: LintCode, locale| findings.iter().find(|finding| finding.code == code).unwrap().message(locale);
    assert_eq!(message(LintCode::RoleNotHeld, Locale::En), "Nobody holds the role Building-group leader in jurisdiction 310104011001-01");
    assert_eq!(message(LintCode::RoleNotHeld, Locale::ZhCn), "辖区 310104011001-01 无人担任楼组长");
    assert_eq!(message(LintCode::MissingEssentialFunction, Locale::ZhCn), "职责矩阵必须明确“信息报送”职能");
    assert_eq!(
        message(LintCode::DueBeforePrerequisite, Locale::En),
        "Action evacuate is due 10 minutes after activation, before its prerequisite cordon (30 minutes)"
    );
    assert_eq!(
        message(LintCode::ReportingDeadlineUnreachable, Locale::En),
        "county-level government must know within 60 minutes, but the chain allows 105 minutes to reach it"
    );
    assert_eq!(
        message(LintCode::NoOrganizationForSector, Locale::En),
        "No organization of sector Telecommunications (of any kind) serves jurisdiction 310104011 or any level above it"
    );
}

#[test]
fn every_lint_code_has_a_label_and_a_message_in_both_catalogs() {
    for code in LintCode::ALL {
        for locale in Locale::ALL {
            assert!(domain::i18n::lookup(locale, &format!("plan_lint.{}", code.code())).is_some(), "{code:?} label");
            assert!(domain::i18n::lookup(locale, &format!("plan_lint_message.{}", code.code())).is_some(), "{code:?} message");
        }
    }
    for severity in Severity::ALL {
        assert!(domain::i18n::lookup(Locale::ZhCn, &format!("plan_severity.{}", severity.code())).is_some());
    }
}

/// A shipped plan with one edit to its JSON text, linted.
fn lint_edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<Finding> {
    let (_, text) = plan::shipped().iter().find(|(file, _)| *file == name).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
    edit(&mut value);
    lint_text(&value.to_string())
}

fn assert_only(findings: &[Finding], expected: &[(&str, &str)]) {
    let found = codes_and_paths(findings);
    let expected: BTreeSet<(&str, String)> = expected.iter().map(|(code, path)| (*code, path.to_string())).collect();
    assert_eq!(found, expected);
}

#[test]
fn rules_the_broken_fixture_cannot_hold_together() {
    use serde_json::json;
    // An accident plan without its statute.
    let findings = lint_edited("gas-leak.json", |plan| {
        plan["reporting"].as_object_mut().unwrap().remove("statute");
    });
    assert_only(&findings, &[("statute_missing", "reporting.statute")]);
    assert_eq!(findings[0].severity, Severity::Warning);

    // A chain that is not a chain: the second step does not start where the first ended.
    let findings = lint_edited("rainstorm-waterlogging.json", |plan| {
        plan["reporting"]["chain"][1]["from"] = json!("grid");
    });
    assert_only(&findings, &[("reporting_chain_broken", "reporting.chain[1].from")]);

    // No trigger, no place.
    let findings = lint_edited("rainstorm-waterlogging.json", |plan| {
        plan["triggers"] = json!([]);
        plan["scope"].as_object_mut().unwrap().remove("levels");
    });
    assert_only(&findings, &[("no_triggers", "triggers"), ("no_place_in_scope", "scope")]);

    // A level with no jurisdiction in the registry, and a community-level plan whose anchors need grids.
    let findings = lint_edited("rainstorm-waterlogging.json", |plan| {
        plan["scope"]["levels"] = json!(["city"]);
        plan["escalation"]["command"] = json!([]);
        plan["escalation"]["handles_up_to"] = json!("level_1");
    });
    let found = codes_and_paths(&findings);
    // The city has grids below it, so per-grid parties resolve; what is missing at city level are the bodies that
    // only the district and the sub-district have.
    assert!(found.contains(&("no_organization_of_kind", "matrix[0].lead".into())), "{found:#?}");
    assert!(found.contains(&("no_organization_for_sector", "matrix[1].lead".into())), "{found:#?}");
    assert!(!found.iter().any(|(code, _)| *code == "no_jurisdiction_for_anchor"), "{found:#?}");

    // A plan for social security events only cannot trigger on a grade or a warning colour.
    let findings = lint_edited("crowd-crush.json", |plan| {
        plan["scope"] = json!({ "categories": ["social_security"], "subtypes": ["mass_incident"], "levels": ["sub_district"] });
        plan["reporting"].as_object_mut().unwrap().remove("statute");
        plan["triggers"] = json!([
            { "id": "graded", "response_level": "level_2", "when": { "grade_at_least": "grade_iii" } },
            { "id": "warned", "response_level": "level_3", "when": { "warning_at_least": "orange" } }
        ]);
    });
    assert_only(
        &findings,
        &[("scale_not_applicable", "triggers[0].when.grade_at_least"), ("scale_not_applicable", "triggers[1].when.warning_at_least")],
    );
}

#[test]
fn per_grid_parties_need_grids_and_the_top_of_the_tree_cannot_hand_command_up() {
    use serde_json::json;
    let mut registry = registry();
    // A sub-district with no communities or grids registered yet.
    let district = registry.jurisdictions.iter().find(|entry| entry.id == crate::support::DISTRICT).unwrap().clone();
    registry.jurisdictions.push(plan::JurisdictionEntry {
        id: domain::ids::JurisdictionId(100),
        code: domain::text::Code::parse("code", "310104012").unwrap(),
        level: domain::registry::JurisdictionLevel::SubDistrict,
        path: district.path.child(domain::ids::JurisdictionId(100)),
        name_zh: "天平路街道".into(),
        name_en: Some("Tianping Road Sub-district".into()),
    });
    let rainstorm = shipped("rainstorm-waterlogging.json");
    let findings = plan::lint(&rainstorm, &table(), &registry);
    let anchored: BTreeSet<String> =
        findings.iter().filter(|finding| finding.code == LintCode::NoJurisdictionForAnchor).map(|finding| finding.path.clone()).collect();
    assert!(anchored.contains("matrix[4].lead") && anchored.contains("actions[0].owner"), "{anchored:?}");
    let at_new = |code: LintCode, path: &str| {
        findings.iter().any(|finding| {
            finding.code == code && finding.path == path && finding.params.contains(&("jurisdiction", "310104012".to_string()))
        })
    };
    // Nobody in the new sub-district holds the reporter role, and the duty officers' grants do not reach it.
    assert!(at_new(LintCode::RoleNotHeld, "matrix[12].lead"));
    assert!(at_new(LintCode::RoleNotHeld, "matrix[12].support[0]"));
    assert!(at_new(LintCode::NoOrganizationOfKind, "matrix[0].lead"));

    // A city-level plan whose triggers exceed what the city handles has no level to hand command to.
    let (_, text) = plan::shipped().iter().find(|(file, _)| *file == "typhoon.json").unwrap();
    let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
    value["scope"]["levels"] = json!(["city"]);
    value["escalation"]["command"] = json!([]);
    let city_plan = plan::parse(&value.to_string()).unwrap();
    let findings = plan::lint(&city_plan, &table(), &crate::support::registry());
    assert!(findings.iter().any(|finding| finding.code == LintCode::EscalationTargetMissing && finding.path == "escalation.handles_up_to"));
}

#[test]
fn linting_is_deterministic_and_sorted() {
    let first = lint_text(BROKEN);
    let second = lint_text(BROKEN);
    assert_eq!(first, second);
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted);
}
