//! The Chinese profile: identifiers, warning colours, and the contents of the Emergency Response Law Art. 64.

use cap::gbt35965::{self, GbtIdentifier, IssuerCode, Profile, SeverityMapping, WarningLevel};
use cap::{CapDateTime, Rule, Severity, SourceLines, UtcOffset};

use crate::helpers::{assert_schema_valid, cap_schema, describe, fixture_files, fixtures, name, read_fixture};

fn profile_findings(file: &str) -> (cap::ParsedAlert, Vec<cap::Finding>) {
    let parsed = cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965").join(file)));
    let alert = parsed.alert.clone().unwrap_or_else(|| panic!("{file}: {}", describe(&parsed.findings)));
    let findings = gbt35965::check(&alert, &Profile::default(), &parsed.lines);
    (parsed, findings)
}

#[test]
fn our_chinese_fixtures_conform_to_cap_and_all_but_one_to_the_profile() {
    let mut emitted = Vec::new();
    for path in fixture_files("cap/gbt35965") {
        let file = name(&path);
        let (parsed, findings) = profile_findings(&file);
        assert!(parsed.is_conforming(), "{file}: {}", describe(&parsed.findings));
        let errors: Vec<&str> = findings.iter().filter(|f| f.is_error()).map(|f| f.rule.code()).collect();
        if file == "gridline_gbt35965_incomplete.xml" {
            assert!(!errors.is_empty());
        } else {
            assert_eq!(errors, Vec::<&str>::new(), "{file}: {}", describe(&findings));
        }
        emitted.push((file, cap::emit_alert(parsed.alert.as_ref().expect("alert"))));
    }
    assert_eq!(emitted.len(), 4);
    assert_schema_valid(&cap_schema(), &emitted);
}

#[test]
fn the_orange_rainstorm_carries_its_level_in_both_languages() {
    let (parsed, findings) = profile_findings("gridline_gbt35965_rainstorm_orange.xml");
    assert!(findings.is_empty(), "{}", describe(&findings));
    let alert = parsed.alert.expect("alert");
    let languages: Vec<&str> = alert.infos.iter().map(|i| i.language_or_default()).collect();
    assert_eq!(languages, ["zh-CN", "en-US"]);
    for info in &alert.infos {
        assert_eq!(gbt35965::warning_level(info), Ok(Some(WarningLevel::Orange)));
        assert_eq!(SeverityMapping::default().severity(WarningLevel::Orange), info.severity);
    }
    let identifier = GbtIdentifier::parse(&alert.identifier).expect("a GB/T 35965.1 identifier");
    assert_eq!(identifier.issuer().admin_division(), "310101");
    assert_eq!(identifier.issuer().organization(), "001");
    assert_eq!(identifier.entered().to_string(), "2025-07-01T08:00:00");
    assert_eq!(identifier.sequence(), 1);
}

#[test]
fn the_incomplete_warning_misses_each_content_of_article_64() {
    let (_, findings) = profile_findings("gridline_gbt35965_incomplete.xml");
    let mut found: Vec<(&str, &str)> = findings.iter().map(|f| (f.rule.code(), f.path.as_str())).collect();
    found.sort();
    let mut expected = vec![
        ("gbt_identifier_format", "/alert/identifier"),
        ("gbt_offset_not_beijing", "/alert/sent"),
        ("gbt_chinese_info_missing", "/alert/info[1]/language"),
        ("gbt_warning_level_missing", "/alert/info[1]"),
        ("gbt_start_time_missing", "/alert/info[1]"),
        ("gbt_area_missing", "/alert/info[1]"),
        ("gbt_instruction_missing", "/alert/info[1]"),
        ("gbt_sender_name_missing", "/alert/info[1]"),
        ("gbt_event_code_missing", "/alert/info[1]"),
    ];
    expected.sort();
    assert_eq!(found, expected, "{}", describe(&findings));
    let identifier = findings.iter().find(|f| f.rule == Rule::GbtIdentifierFormat).expect("identifier finding");
    assert_eq!(identifier.line, Some(4));
    assert_eq!(
        identifier.message_en(),
        "\"HP-2025-0701-01\" is not a GB/T 35965.1 identifier ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N (31 characters, a real date and time)"
    );
    assert!(identifier.message_zh().contains("预警信息标识"));
    let measures = findings.iter().find(|f| f.rule == Rule::GbtInstructionMissing).expect("measures");
    assert_eq!(measures.message_zh(), "缺少应当采取的措施：请给出 instruction（《突发事件应对法》第六十四条）");
}

#[test]
fn identifiers_are_built_from_their_parts() {
    let entered = jiff::civil::date(2025, 7, 1).at(8, 0, 0, 0);
    let identifier = GbtIdentifier::from_parts("310101", "001", "000", "00", entered, 1).expect("valid parts");
    assert_eq!(identifier.to_string(), "31010100100000_20250701080000_1");
    assert_eq!(identifier.to_string().chars().count(), 31);
    assert_eq!(GbtIdentifier::parse(&identifier.to_string()).expect("parses back"), identifier);

    let sent = CapDateTime::parse("2025-07-01T00:00:00-00:00").expect("UTC");
    let issuer = IssuerCode::parse("31010100100000").expect("issuer");
    let from_sent = GbtIdentifier::for_sent(issuer, sent, 3).expect("identifier");
    assert_eq!(from_sent.to_string(), "31010100100000_20250701080000_3", "the entry time is Beijing time");

    for (parts, rule) in [
        (("3101011", "001", "000", "00"), "gbt_admin_division"),
        (("990101", "001", "000", "00"), "gbt_admin_division"),
        (("310101", "01", "000", "00"), "gbt_identifier_format"),
        (("310101", "001", "0a0", "00"), "gbt_identifier_format"),
    ] {
        let error = GbtIdentifier::from_parts(parts.0, parts.1, parts.2, parts.3, entered, 0).expect_err("bad parts");
        assert_eq!(error.code(), rule, "{parts:?}");
    }
    assert_eq!(GbtIdentifier::from_parts("310101", "001", "000", "00", entered, 10).expect_err("sequence").code(), "gbt_identifier_format");
    for text in [
        "31010100100000_20250230080000_1",
        "31010100100000-20250701080000_1",
        "31010100100000_20250701080000_12",
        "31010100100000_2025070108000a_1",
    ] {
        assert_eq!(GbtIdentifier::parse(text).expect_err(text).code(), "gbt_identifier_format", "{text}");
    }
}

#[test]
fn colours_map_to_severity_and_an_issuer_may_map_them_otherwise() {
    let mapping = SeverityMapping::default();
    let pairs: Vec<(WarningLevel, Severity)> = WarningLevel::ALL.iter().map(|l| (*l, mapping.severity(*l))).collect();
    assert_eq!(
        pairs,
        [
            (WarningLevel::Red, Severity::Extreme),
            (WarningLevel::Orange, Severity::Severe),
            (WarningLevel::Yellow, Severity::Moderate),
            (WarningLevel::Blue, Severity::Minor)
        ]
    );
    assert_eq!(mapping.level(Severity::Severe), Some(WarningLevel::Orange));
    assert_eq!(mapping.level(Severity::Unknown), None);
    for (text, level) in [
        ("red", WarningLevel::Red),
        ("橙色", WarningLevel::Orange),
        ("黄", WarningLevel::Yellow),
        ("4", WarningLevel::Blue),
        (" Blue ", WarningLevel::Blue),
    ] {
        assert_eq!(WarningLevel::parse(text).expect(text), level);
    }
    assert_eq!(WarningLevel::parse("purple").expect_err("no such colour").code(), "gbt_warning_level_invalid");
    assert_eq!((WarningLevel::Red.name_zh(), WarningLevel::Red.number()), ("红色", 1));

    let parsed = cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_rainstorm_orange.xml")));
    let mut alert = parsed.alert.expect("alert");
    for info in &mut alert.infos {
        info.severity = Severity::Extreme;
    }
    let default_findings = gbt35965::check(&alert, &Profile::default(), &SourceLines::none());
    let mismatch = default_findings.iter().find(|f| f.rule == Rule::GbtSeverityMismatch).expect("a mismatch with the default mapping");
    assert_eq!(mismatch.message_en(), "severity Extreme differs from Orange → Severe");
    assert!(!mismatch.is_error(), "a mismatch is a warning: issuers may map colours their own way");
    let issuer_mapping = Profile { severity_mapping: SeverityMapping { orange: Severity::Extreme, ..SeverityMapping::default() } };
    assert!(gbt35965::check(&alert, &issuer_mapping, &SourceLines::none()).is_empty());
}

#[test]
fn levels_must_agree_across_languages_and_be_colours() {
    let parsed = cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_typhoon_red_update.xml")));
    let mut alert = parsed.alert.expect("alert");
    alert.infos[1].parameters[0] = WarningLevel::Yellow.to_parameter();
    let findings = gbt35965::check(&alert, &Profile::default(), &SourceLines::none());
    let inconsistent = findings.iter().find(|f| f.rule == Rule::GbtWarningLevelInconsistent).expect("inconsistent levels");
    assert_eq!((inconsistent.value.as_deref(), inconsistent.related.as_deref()), (Some("Red"), Some("Yellow")));
    alert.infos[1].parameters[0].value = "Purple".into();
    let findings = gbt35965::check(&alert, &Profile::default(), &SourceLines::none());
    assert!(
        findings.iter().any(|f| f.rule == Rule::GbtWarningLevelInvalid && f.path == "/alert/info[2]/parameter[1]"),
        "{}",
        describe(&findings)
    );
    alert.infos[1].parameters[0].name = "预警级别".into();
    alert.infos[1].parameters[0].value = "红色".into();
    assert!(
        gbt35965::check(&alert, &Profile::default(), &SourceLines::none()).is_empty(),
        "the Chinese parameter name and colour are read too"
    );
}

#[test]
fn a_cancel_needs_no_warning_contents_but_an_identifier_after_sent_is_suspicious() {
    let (parsed, findings) = profile_findings("gridline_gbt35965_cancel.xml");
    assert!(findings.is_empty(), "{}", describe(&findings));
    let mut alert = parsed.alert.expect("alert");
    alert.sent = CapDateTime::parse("2025-09-16T06:59:59+08:00").expect("sent");
    let findings = gbt35965::check(&alert, &Profile::default(), &SourceLines::none());
    assert_eq!(findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::GbtIdentifierAfterSent]);
    alert.sent = alert.sent.with_offset(UtcOffset::UTC);
    let findings = gbt35965::check(&alert, &Profile::default(), &SourceLines::none());
    assert!(findings.iter().any(|f| f.rule == Rule::GbtOffsetNotBeijing));
}
