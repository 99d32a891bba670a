//! The CAP v1.2 USA IPAWS Profile v1.0: real IPAWS alerts meet it, a Gridline warning exported to it meets it and
//! stays schema-valid, and each rule is found where it is broken.

use cap::SourceLines;
use cap::ipaws::{self, IpawsOptions};

use crate::helpers::{assert_schema_valid, cap_schema, describe, fixtures, read_fixture};

fn parsed(file: &str) -> cap::ParsedAlert {
    cap::parse_alert(&read_fixture(&fixtures().join("cap/valid").join(file)))
}

#[test]
fn real_ipaws_alerts_meet_the_profile() {
    for file in [
        "oasiscap_ipaws-5e6dd964023f1930ef638846.xml",
        "oasiscap_ipaws-5e6dd9de023f1930ef6548d9.xml",
        "oasiscap_ipaws-5e6ddbad023f1930ef6c1a5a.xml",
        "oasiscap_ipaws-5e7e0fc5023f1930efcf3deb.xml",
        "oasiscap_ipaws-5ea321f39fc226a7b44b6874.xml",
    ] {
        let parsed = parsed(file);
        let alert = parsed.alert.as_ref().unwrap_or_else(|| panic!("{file}: {}", describe(&parsed.findings)));
        let findings = ipaws::check(alert, &parsed.lines);
        assert!(findings.is_empty(), "{file}: {}", describe(&findings));
    }
}

#[test]
fn each_rule_is_found_where_it_is_broken() {
    // A CAP alert that is not IPAWS at all: an NWS thunderstorm warning of the CAP 1.2 specification.
    let parsed = parsed("oasiscap_v1dot2_appendix_adot2.xml");
    let alert = parsed.alert.clone().expect("alert");
    let mut found: Vec<(&str, String)> = ipaws::check(&alert, &parsed.lines).iter().map(|f| (f.rule.code(), f.path.clone())).collect();
    found.sort();
    let mut expected = vec![("ipaws_code_missing", "/alert".to_string()), ("ipaws_eas_org_missing", "/alert/info[1]".to_string())];
    expected.sort();
    // The example carries an `expires`, a SAME event code (SVR) and SAME location codes already.
    assert_eq!(found, expected, "{}", describe(&ipaws::check(&alert, &parsed.lines)));
    // Broken values are named.
    let mut bad = alert.clone();
    bad.infos[0].event_codes.retain(|c| c.name != "SAME");
    bad.infos[0].event_codes.push(cap::NamedValue::new("SAME", "flood"));
    bad.infos[0].parameters.push(cap::NamedValue::new("EAS-ORG", "GOV"));
    bad.infos[0].parameters.push(cap::NamedValue::new("CMAMtext", "x".repeat(91)));
    bad.infos[0].areas[0].geocodes.push(cap::NamedValue::new("SAME", "6037"));
    bad.infos[0].expires = None;
    let codes: Vec<(&str, Option<String>)> =
        ipaws::check(&bad, &SourceLines::none()).iter().map(|f| (f.rule.code(), f.value.clone())).collect();
    for expected in [
        ("ipaws_expires_missing", None),
        ("ipaws_same_event_invalid", Some("flood".to_string())),
        ("ipaws_eas_org_invalid", Some("GOV".to_string())),
        ("ipaws_cmam_text_too_long", Some("91".to_string())),
        ("ipaws_same_geocode_invalid", Some("6037".to_string())),
    ] {
        assert!(codes.contains(&expected), "{expected:?} in {codes:?}");
    }
    // Every message is in both languages.
    for finding in ipaws::check(&bad, &SourceLines::none()) {
        assert!(!finding.message_en().is_empty() && !finding.message_zh().is_empty());
    }
}

#[test]
fn a_gridline_warning_exported_to_the_profile_meets_it_and_stays_schema_valid() {
    let parsed = cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_rainstorm_orange.xml")));
    let mut alert = parsed.alert.expect("alert");
    // What Gridline's own warnings carry besides the GB/T 35965 event type: its hazard code.
    for info in &mut alert.infos {
        info.event_codes.push(cap::NamedValue::new("urn:gridline:hazard", "rainstorm"));
    }
    // Without location codes the export cannot meet the profile, and says so.
    let without = ipaws::apply(alert.clone(), &IpawsOptions::default());
    let missing: Vec<&str> = ipaws::check(&without, &SourceLines::none()).iter().map(|f| f.rule.code()).collect();
    assert!(missing.iter().all(|code| *code == "ipaws_same_geocode_missing") && !missing.is_empty(), "{missing:?}");
    let exported = ipaws::apply(alert, &IpawsOptions { same_codes: vec!["024031".into()], originator: None });
    assert!(ipaws::check(&exported, &SourceLines::none()).is_empty(), "{}", describe(&ipaws::check(&exported, &SourceLines::none())));
    assert_eq!(exported.codes, vec!["IPAWSv1.0"]);
    let info = &exported.infos[0];
    assert!(info.event_codes.iter().any(|c| c.name == "SAME" && c.value == "FFW"), "a rainstorm is a flash flood warning");
    assert!(info.parameters.iter().any(|p| p.name == "EAS-ORG" && p.value == "CIV"));
    assert!(info.parameters.iter().any(|p| p.name == "CMAMtext" && p.value.chars().count() <= 90));
    let xml = cap::emit_alert(&exported);
    assert!(xml.contains("<code>IPAWSv1.0</code>"));
    // The export reads back as conforming CAP 1.2, and validates against the OASIS schema.
    let again = cap::parse_alert(xml.as_bytes());
    assert!(again.is_conforming(), "{}", describe(&again.findings));
    assert_schema_valid(&cap_schema(), &[("ipaws-export.xml".to_string(), xml)]);
}
