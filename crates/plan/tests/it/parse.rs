//! Parsing: a malformed plan is refused whole, with the line and the field at fault and a message in both
//! languages; no input makes the parser panic.

use domain::Locale;
use plan::{ParseErrorKind, PlanError};
use proptest::prelude::*;

/// A small valid plan; the tests below break one line of it at a time. Line numbers matter.
pub const MINIMAL: &str = r#"{
  "format": "gridline.plan/1",
  "code": "minimal",
  "version": 1,
  "title": { "zh": "最小预案", "en": "Minimal plan" },
  "kind": "grassroots",
  "scope": { "categories": ["natural_disaster"], "levels": ["sub_district"] },
  "triggers": [
    { "id": "t", "response_level": "level_4", "when": { "warning_at_least": "blue" } }
  ],
  "matrix": [
    { "function": "command", "lead": { "org_kind": "government_office", "member_role": "duty_officer" } },
    { "function": "upward_reporting", "lead": { "account_role": "duty_officer" } }
  ],
  "actions": [
    { "id": "report", "function": "upward_reporting", "title": { "zh": "报告", "en": "Report" }, "within_minutes": 30 }
  ],
  "escalation": { "handles_up_to": "level_3", "overdue": { "after_minutes": 10, "to": "superior" } },
  "reporting": { "chain": [{ "from": "sub_district", "to": "county_government", "within_minutes": 30 }] }
}
"#;

fn parse_error(text: &str) -> plan::ParseError {
    match plan::parse(text) {
        Err(PlanError::Malformed(error)) => error,
        Err(other) => panic!("expected a malformed-document error, got {other:?}"),
        Ok(_) => panic!("expected an error for:\n{text}"),
    }
}

/// Breaks `MINIMAL` by replacing `from` with `to` and checks the line, the field and the kind of problem.
fn check(from: &str, to: &str, line: usize, field: &str, kind: &str) {
    assert!(MINIMAL.contains(from), "{from:?} is not in the minimal plan");
    let error = parse_error(&MINIMAL.replacen(from, to, 1));
    assert_eq!(
        (error.line, error.field.as_str(), error.kind.code()),
        (line, field, kind),
        "{from:?} -> {to:?}: {}",
        error.message(Locale::En)
    );
    for locale in Locale::ALL {
        let message = error.message(locale);
        assert!(!message.contains('{') && !message.contains("plan_parse") && !message.contains('\u{1f}'), "{message}");
    }
}

#[test]
fn the_minimal_plan_parses() {
    let parsed = plan::parse(MINIMAL).unwrap();
    assert_eq!(parsed.code.as_str(), "minimal");
    assert_eq!(parsed.version.get(), 1);
    assert_eq!(parsed.title.get(Locale::ZhCn), "最小预案");
    assert_eq!(plan::parse(&plan::to_json(&parsed)).unwrap(), parsed);
}

#[test]
fn malformed_plans_are_rejected_with_line_and_field() {
    check(r#""version": 1"#, r#""version": 0"#, 4, "version", "out_of_range");
    check(r#""member_role": "duty_officer""#, r#""member_role": "wizard""#, 12, "matrix[0].lead.member_role", "unknown_value");
    check(r#""kind": "grassroots","#, r#""kind": "grassroots", "colour": "red","#, 6, "colour", "unknown_field");
    check("  \"kind\": \"grassroots\",\n", "", 19, "kind", "missing_field");
    check(r#""within_minutes": 30 }"#, r#""within_minutes": "30" }"#, 16, "actions[0].within_minutes", "wrong_type");
    check(r#""within_minutes": 30 }"#, r#""within_minutes": 30.5 }"#, 16, "actions[0].within_minutes", "wrong_type");
    check(r#""within_minutes": 30 }"#, r#""within_minutes": 99999 }"#, 16, "actions[0].within_minutes", "out_of_range");
    check(r#""en": "Report""#, r#""en": "   ""#, 16, "actions[0].title.en", "required");
    check(
        r#"{ "account_role": "duty_officer" }"#,
        r#"{ "account_role": "duty_officer", "sector": "health" }"#,
        13,
        "matrix[1].lead",
        "party_shape",
    );
    check(r#"{ "account_role": "duty_officer" }"#, r#"{ "at": "each_affected_grid" }"#, 13, "matrix[1].lead", "party_shape");
    // A syntax error names the part of the document the reader was in.
    check(r#""blue" } }"#, r#""blue" } },"#, 10, "triggers", "syntax");
    check(r#""warning_at_least": "blue""#, r#""colour_at_least": "blue""#, 9, "triggers[0].when", "unknown_variant");
    check("gridline.plan/1", "gridline.plan/2", 2, "format", "unsupported_format");
    check(r#""code": "minimal","#, r#""code": "minimal", "code": "again","#, 3, "code", "duplicate_field");
    check(r#"["natural_disaster"]"#, r#"["natural_disaster", "weather"]"#, 7, "scope.categories[1]", "unknown_value");
    check(r#"["natural_disaster"]"#, "[]", 7, "scope.categories", "required");
    check(r#""id": "t""#, r#""id": "T 1""#, 9, "triggers[0].id", "bad_characters");
    check(r#""code": "minimal""#, r#""code": "Minimal Plan""#, 3, "code", "bad_characters");
    check(r#"["sub_district"]"#, r#"["sub_district"], "subtypes": ["Typhoon"]"#, 7, "scope.subtypes[0]", "bad_characters");
    check(r#""to": "superior""#, r#""to": "the boss""#, 18, "escalation.overdue.to", "unknown_value");
    check(r#""title": { "zh": "最小预案", "en": "Minimal plan" }"#, r#""title": { "zh": "最小预案" }"#, 5, "title.en", "missing_field");
}

#[test]
fn the_kind_of_syntax_problem_is_named_in_both_languages() {
    let error = parse_error(&MINIMAL.replacen(r#""blue" } }"#, r#""blue" } },"#, 1));
    assert_eq!(error.kind, ParseErrorKind::Syntax { code: "trailing_comma" });
    assert_eq!(error.message(Locale::En), "Line 10, column 3, triggers: the text is not valid JSON: a comma is followed by nothing");
    assert_eq!(error.message(Locale::ZhCn), "第 10 行第 3 列，triggers：文本不是有效的 JSON：逗号后没有内容");

    let error = parse_error(&format!("{MINIMAL}x"));
    assert_eq!((error.line, error.kind.clone()), (21, ParseErrorKind::Syntax { code: "trailing_characters" }));
    let error = parse_error("");
    assert_eq!((error.line, error.kind.clone()), (1, ParseErrorKind::Syntax { code: "eof" }));
    let error = parse_error("[]");
    assert_eq!(error.kind, ParseErrorKind::WrongType { found: "array", expected: "object" });
    assert_eq!(error.message(Locale::ZhCn), "第 1 行第 2 列，文档：此处应为对象，实际为列表");
}

#[test]
fn messages_name_the_value_and_what_is_allowed() {
    let error = parse_error(&MINIMAL.replacen(r#""member_role": "duty_officer""#, r#""member_role": "wizard""#, 1));
    let english = error.message(Locale::En);
    assert!(english.starts_with("Line 12, column "), "{english}");
    assert!(
        english.contains("matrix[0].lead.member_role: wizard is not a known code; allowed: duty_officer, cadre, grid_member"),
        "{english}"
    );
    let chinese = error.message(Locale::ZhCn);
    assert!(chinese.starts_with("第 12 行第 ") && chinese.contains("wizard 不是可识别的代码"), "{chinese}");
    let error = parse_error(&MINIMAL.replacen(r#""kind": "grassroots","#, r#""kind": "grassroots", "colour": "red","#, 1));
    assert!(
        error.message(Locale::En).contains("colour is not a field here; expected one of: format, code, version"),
        "{}",
        error.message(Locale::En)
    );
    assert_eq!(PlanError::Malformed(error.clone()).code(), "plan_malformed");
    assert_eq!(PlanError::Malformed(error.clone()).to_string(), error.message(Locale::En));
}

#[test]
fn deep_nesting_and_huge_documents_are_refused_without_panic() {
    let depth = 300;
    let condition = format!("{}{{\"warning_at_least\": \"blue\"}}{}", "{\"all\": [".repeat(depth), "]}".repeat(depth));
    let error = parse_error(&MINIMAL.replacen(r#"{ "warning_at_least": "blue" }"#, &condition, 1));
    assert_eq!(error.kind, ParseErrorKind::Syntax { code: "too_deep" });
    assert_eq!(error.line, 9);

    let huge = format!("{MINIMAL}{}", " ".repeat(plan::MAX_DOCUMENT_BYTES));
    assert_eq!(plan::parse(&huge), Err(PlanError::TooLarge { limit: plan::MAX_DOCUMENT_BYTES }));
    assert_eq!(PlanError::TooLarge { limit: 10 }.message(Locale::ZhCn), "预案文档超过 10 字节上限");
}

#[test]
fn every_shipped_plan_survives_a_round_trip_and_keeps_its_parties() {
    for (name, text) in plan::shipped() {
        let parsed = plan::parse(text).unwrap();
        let json = plan::to_json(&parsed);
        assert_eq!(plan::parse(&json).unwrap(), parsed, "{name}");
        // The export is the same document: the same JSON value as the file, field for field.
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        let exported: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(original, exported, "{name}: the export differs from the file");
    }
}

fn line_count(text: &str) -> usize {
    text.lines().count() + 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_truncated_plan_is_refused_with_a_position_inside_the_text(cut in 0usize..1_000) {
        let text = plan::shipped()[0].1;
        let mut cut = cut * text.len() / 1_000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let truncated = &text[..cut];
        match plan::parse(truncated) {
            Err(PlanError::Malformed(error)) => prop_assert!(error.line >= 1 && error.line <= line_count(truncated)),
            other => prop_assert!(false, "a truncated plan must be malformed, got {:?}", other.map(|plan| plan.code)),
        }
    }

    #[test]
    fn a_mutated_plan_never_panics(position in 0usize..10_000, byte in proptest::sample::select(b"{}[]:,\"0a \\\n-".to_vec()), which in 0usize..6) {
        let text = plan::shipped()[which].1;
        let mut bytes = text.as_bytes().to_vec();
        let position = position % bytes.len();
        bytes[position] = byte;
        if let Ok(mutated) = String::from_utf8(bytes)
            && let Err(PlanError::Malformed(error)) = plan::parse(&mutated) {
                prop_assert!(error.line >= 1 && error.line <= line_count(&mutated));
                prop_assert!(!error.message(Locale::ZhCn).is_empty());
            }
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        let _ = plan::parse(&value.to_string());
    }
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let keys = proptest::sample::select(vec![
        "format",
        "code",
        "version",
        "title",
        "zh",
        "en",
        "kind",
        "scope",
        "categories",
        "triggers",
        "matrix",
        "actions",
        "when",
        "all",
        "any",
        "lead",
        "support",
        "escalation",
        "reporting",
        "chain",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        proptest::sample::select(vec!["gridline.plan/1", "level_4", "natural_disaster", "", "grid_member", "blue"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().map(|(key, value)| (key.to_string(), value)).collect())),
        ]
    })
}
