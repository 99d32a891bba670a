//! The message catalogue and the crate's boundaries, checked like any other behaviour.

use std::collections::BTreeSet;

use cap::{CapError, FindingLevel, Rule};

fn placeholders(template: &str) -> BTreeSet<&'static str> {
    ["{element}", "{value}", "{related}"].into_iter().filter(|p| template.contains(p)).collect()
}

#[test]
fn every_rule_has_a_stable_code_and_a_message_in_english_and_chinese() {
    let mut codes = BTreeSet::new();
    for rule in Rule::ALL {
        let code = rule.code();
        assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code} is not snake_case");
        assert!(codes.insert(code), "{code} is used twice");
        assert_eq!(Rule::from_code(code), Some(*rule));
        let (en, zh) = (rule.template_en(), rule.template_zh());
        assert!(
            !en.is_empty() && !en.chars().any(|c| ('\u{3000}'..='\u{9FFF}').contains(&c) || ('\u{FF00}'..='\u{FFEF}').contains(&c)),
            "{code}: English template {en:?}"
        );
        assert!(zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)), "{code}: the Chinese template has no Chinese: {zh:?}");
        assert_eq!(placeholders(en), placeholders(zh), "{code}: both languages must say the same things");
    }
    for code in CapError::OTHER_CODES {
        assert!(codes.insert(code), "{code} collides with a rule code");
    }
    assert!(Rule::ALL.len() >= 60, "{} rules", Rule::ALL.len());
}

#[test]
fn rules_that_reject_and_rules_that_warn() {
    let warnings: BTreeSet<&str> = Rule::ALL.iter().filter(|r| r.default_level() == FindingLevel::Warning).map(|r| r.code()).collect();
    let expected: BTreeSet<&str> = [
        "empty_element",
        "restriction_unexpected",
        "expires_immediately",
        "onset_after_expires",
        "digest_format",
        "gbt_identifier_after_sent",
        "gbt_severity_mismatch",
        "gbt_event_code_missing",
        "gbt_offset_not_beijing",
    ]
    .into_iter()
    .collect();
    assert_eq!(warnings, expected);
}

#[test]
fn value_errors_carry_their_rule_code_and_both_languages() {
    let error = cap::Polygon::parse("31.2,121.4 31.3,121.4 31.3,121.5").expect_err("three points");
    assert_eq!(error.code(), "polygon_too_few_points");
    assert_eq!(error.to_string(), "a polygon needs at least 4 points (the first repeated as the last); this one has 3");
    assert_eq!(error.message_zh(), "多边形至少需要 4 个点（首点在末尾重复）；此多边形只有 3 个");
    assert_eq!(cap::Circle::parse("31.2,121.4").expect_err("no radius").code(), "circle_format");
    assert_eq!(cap::CapDateTime::parse("2025-07-01T08:00:00Z").expect_err("Z").code(), "datetime_timezone");
    assert_eq!(cap::Status::parse("actual").expect_err("case").code(), "invalid_enum");
    assert_eq!(cap::LanguageTag::parse("zh_CN").expect_err("underscore").code(), "invalid_language");
    assert_eq!(cap::Uri::parse("a#b#c").expect_err("two fragments").code(), "invalid_uri");
    assert_eq!(cap::Point::new(121.4, 31.2).expect_err("longitude first").code(), "coordinate_range");
}

/// Dependencies that would give a leaf library IO, threads or a runtime.
const FORBIDDEN_DEPENDENCIES: &[&str] =
    &["tokio", "sqlx", "axum", "hyper", "reqwest", "ureq", "rumqttc", "async-nats", "domain", "store", "app"];

#[test]
fn the_cap_crate_stays_a_leaf_library_without_io() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("manifest");
    let dependencies = manifest.split("[dependencies]").nth(1).and_then(|rest| rest.split("\n[").next()).expect("a [dependencies] table");
    let names: Vec<&str> =
        dependencies.lines().filter_map(|l| l.split(['.', ' ', '=']).next()).filter(|n| !n.is_empty() && !n.starts_with('#')).collect();
    assert_eq!(names, ["jiff", "quick-xml", "serde_json", "thiserror"], "new dependencies of cap need a reason");
    assert!(names.iter().all(|n| !FORBIDDEN_DEPENDENCIES.contains(n)));
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).expect("src") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        for forbidden in ["std::fs", "std::net", "std::process", "std::thread", "std::env", "SystemTime", "Timestamp::now", "Zoned::now"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}: cap does no IO and reads no clock", path.display());
        }
    }
}
