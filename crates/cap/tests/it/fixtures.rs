//! The real alerts: valid, invalid and non-conformant files from real senders and validator test suites.

use std::collections::BTreeSet;

use cap::{Rule, XMLDSIG_NAMESPACE};

use crate::helpers::{assert_finding, assert_schema_valid, cap_schema, describe, error_codes, fixture_files, name, read_fixture};

/// Schema-valid files whose content breaks CAP 1.2 §3: the real data's own defects, found by the checks.
const KNOWN_DEFECTS_IN_VALID: &[(&str, &[&str])] = &[
    // A polygon flattened from a multipolygon with its parentheses left in: "8.72977),-68.13409".
    ("kde_gdacs-cap_1023542.xml", &["polygon_format"]),
    // A cyclone track crossing the antimeridian, written with longitudes below -180.
    ("kde_gdacs-cap_1470644.xml", &["coordinate_range"]),
];

#[test]
fn every_valid_fixture_parses_round_trips_through_xml_and_json_and_re_emits_schema_valid_cap() {
    let mut emitted = Vec::new();
    let mut n_without_errors = 0;
    for path in fixture_files("cap/valid") {
        let file = name(&path);
        let parsed = cap::parse_alert(&read_fixture(&path));
        let alert = parsed.alert.clone().unwrap_or_else(|| panic!("{file} was not read:\n{}", describe(&parsed.findings)));
        let expected: Vec<&str> =
            KNOWN_DEFECTS_IN_VALID.iter().find(|(f, _)| *f == file).map(|(_, codes)| codes.to_vec()).unwrap_or_default();
        assert_eq!(error_codes(&parsed.findings), expected, "{file}:\n{}", describe(&parsed.findings));
        if expected.is_empty() {
            n_without_errors += 1;
        }

        let xml = cap::emit_alert(&alert);
        let again = cap::parse_alert(xml.as_bytes());
        assert!(again.is_conforming(), "{file} re-emitted does not conform:\n{}", describe(&again.findings));
        assert_eq!(again.alert.as_ref(), Some(&alert), "{file}: parse(emit(alert)) differs");
        assert_eq!(cap::emit_alert(&alert), xml, "{file}: emitting twice differs");

        let json_text = serde_json::to_string(&cap::json::alert_to_json(&alert)).expect("JSON text");
        let from_json = cap::json::alert_from_json_str(&json_text);
        assert_eq!(from_json.alert.as_ref(), Some(&alert), "{file}: JSON round trip differs:\n{}", describe(&from_json.findings));
        assert_eq!(error_codes(&from_json.findings), Vec::<&str>::new(), "{file}: JSON findings");

        emitted.push((file, xml));
    }
    assert_eq!(emitted.len(), 25, "the 25 valid CAP 1.2 fixtures");
    assert_eq!(n_without_errors, 23, "all but the two GDACS files conform to CAP 1.2 §3");
    assert_schema_valid(&cap_schema(), &emitted);
}

#[test]
fn a_prefixed_document_is_read_like_an_unprefixed_one() {
    let parsed = cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/valid/google_australia.cap")));
    let alert = parsed.alert.expect("the cap:-prefixed NSW RFS alert");
    assert_eq!(alert.sender, "webmaster@rfs.nsw.gov.au");
    assert_eq!(alert.sent.to_string(), "2011-10-05T23:04:00+10:00", "the +10:00 offset is kept");
    assert_eq!(alert.infos.len(), 2);
    let circle = alert.infos[0].areas[0].circles[0];
    assert!(circle.radius_km() > 0.0 && (-36.0..-34.0).contains(&circle.center().lat()), "{circle}");
}

#[test]
fn an_iso_8859_1_document_is_decoded_and_re_emitted_as_utf8() {
    let bytes = read_fixture(&crate::helpers::fixtures().join("cap/valid/google_earthquake-iso8859-1.cap"));
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture really is ISO-8859-1");
    let alert = cap::parse_alert(&bytes).alert.expect("the USGS alert");
    let headline = alert.infos[0].headline.as_deref().expect("headline");
    assert!(headline.contains("Usulután"), "{headline}");
    let xml = cap::emit_alert(&alert);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>") && xml.contains("Usulután"));
}

#[test]
fn signatures_are_carried_through_after_the_last_info() {
    // The Canadian alert is signed twice; the IPAWS ones use the prefixes ds: and capsig:.
    for (file, count) in [
        ("google_canada_signed.cap", 2),
        ("oasiscap_google-PAAQ-4-mg5a94.xml", 1),
        ("oasiscap_ipaws-5e6dd9de023f1930ef6548d9.xml", 1),
        ("oasiscap_ipaws-5e6ddbad023f1930ef6c1a5a.xml", 1),
    ] {
        let alert = cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/valid").join(file))).alert.expect(file);
        assert_eq!(alert.signatures.len(), count, "{file}");
        let signature = &alert.signatures[0];
        assert_eq!((signature.namespace.as_deref(), signature.name.as_str()), (Some(XMLDSIG_NAMESPACE), "Signature"), "{file}");
        let xml = cap::emit_alert(&alert);
        let signature_at = xml.find("<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"").expect("signature written");
        assert!(signature_at > xml.rfind("</info>").unwrap_or(0), "{file}: the signature follows the last info");
    }
}

#[test]
fn a_large_embedded_resource_is_kept_whole() {
    let parsed = cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/valid/oasiscap_ipaws-5ea321f39fc226a7b44b6874.xml")));
    assert!(parsed.is_conforming(), "{}", describe(&parsed.findings));
    let alert = parsed.alert.expect("IPAWS alert");
    let data = alert.infos[0].resources.iter().find_map(|r| r.deref_uri.as_deref()).expect("derefUri");
    assert!(data.len() > 400_000, "{} bytes", data.len());
}

#[test]
fn chinese_text_and_three_languages_survive() {
    let alert =
        cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/valid/kde_mo-cap_monsoon.xml"))).alert.expect("SMG alert");
    let languages: Vec<&str> = alert.infos.iter().map(|i| i.language_or_default()).collect();
    assert_eq!(languages, ["zh-mo", "pt-PT", "en-US"]);
    assert!(alert.infos[0].language.as_ref().is_some_and(|l| l.is_chinese()));
    let chinese = alert.infos[0].headline.as_deref().unwrap_or("");
    assert!(chinese.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)), "{chinese}");
    let references = alert.references.as_ref().expect("an Update with references");
    assert_eq!(references.as_slice()[0].sent().to_string(), "2025-04-13T05:52:12+08:00");
}

/// What each invalid fixture must be rejected with.
const INVALID: &[(&str, bool, &[&str])] = &[
    // Empty <references/> in an Update (and empty restriction and addresses, which are warnings).
    ("google_canada_errors.cap", true, &["references_format", "references_required"]),
    // No <scope>: the alert cannot be built.
    ("google_invalid.cap", false, &["missing_element"]),
    // CAP 1.1, empty enumerations, an empty references, a polygon with "+" signs.
    ("google_noaa_errors.cap", true, &["cap_version", "invalid_enum", "polygon_format", "references_format"]),
    // An XXE attack: the DOCTYPE is refused before any entity is looked at.
    ("google_xee.cap", false, &["dtd_forbidden"]),
];

#[test]
fn every_invalid_fixture_is_rejected_with_findings_naming_the_rule() {
    let files = fixture_files("cap/invalid");
    assert_eq!(files.len(), INVALID.len());
    for path in files {
        let file = name(&path);
        let (_, readable, rules) = INVALID.iter().find(|(f, _, _)| *f == file).unwrap_or_else(|| panic!("{file} has no expectation"));
        let parsed = cap::parse_alert(&read_fixture(&path));
        assert!(!parsed.is_conforming(), "{file} must be rejected");
        assert_eq!(parsed.alert.is_some(), *readable, "{file}: alert read leniently?");
        let found: BTreeSet<&str> = error_codes(&parsed.findings).into_iter().collect();
        let expected: BTreeSet<&str> = rules.iter().copied().collect();
        assert_eq!(found, expected, "{file}:\n{}", describe(&parsed.findings));
        for finding in parsed.errors() {
            assert!(finding.line.is_some(), "{file}: {finding} has no line");
            assert!(!finding.message_en().is_empty() && !finding.message_zh().is_empty());
        }
    }
}

#[test]
fn the_canada_errors_are_at_their_elements_and_lines() {
    let parsed = cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/invalid/google_canada_errors.cap")));
    assert_eq!(assert_finding(&parsed, Rule::ReferencesFormat, "/alert/references").line, Some(12));
    assert_eq!(assert_finding(&parsed, Rule::EmptyElement, "/alert/restriction").line, Some(10));
    assert_eq!(assert_finding(&parsed, Rule::EmptyElement, "/alert/addresses").line, Some(11));
    let required = assert_finding(&parsed, Rule::ReferencesRequired, "/alert/references");
    assert_eq!(required.line, Some(7), "reported at msgType");
    assert_eq!(required.message_en(), "a message of type Update must give references to the message(s) it concerns");
    assert_eq!(required.message_zh(), "Update 类型的消息必须在 references 中给出所涉及的消息");
}

#[test]
fn the_noaa_errors_name_each_broken_value() {
    let parsed = cap::parse_alert(&read_fixture(&crate::helpers::fixtures().join("cap/invalid/google_noaa_errors.cap")));
    for element in ["urgency", "severity", "certainty"] {
        let finding = assert_finding(&parsed, Rule::InvalidEnum, &format!("/alert/info[1]/{element}"));
        assert_eq!(finding.value.as_deref(), Some(""));
    }
    let polygon = assert_finding(&parsed, Rule::PolygonFormat, "/alert/info[1]/area[1]/polygon[1]");
    assert_eq!(polygon.value.as_deref(), Some("+41.12,-117.61"));
    assert_finding(&parsed, Rule::EmptyElement, "/alert/info[1]/area[1]/polygon[2]");
}

/// The non-conformant real alerts: the element-order finding their README describes, where xmllint stops.
const NONCONFORMANT: &[(&str, &str, u32, &str, &[&str])] = &[
    ("kde_alertswiss-POA-1216107687-4.xml", "/alert/sender", 5, "sent", &["element_order", "missing_element"]),
    ("kde_alertswiss-POA-1222963954-5.xml", "/alert/sender", 5, "sent", &["duplicate_element", "element_order", "missing_element"]),
    ("kde_alertswiss-TEST-1163.xml", "/alert/sender", 5, "sent", &["element_order", "missing_element"]),
    ("kde_mow.DE-HE-KS-SE106-20250313-106-001.xml", "/alert/info[1]/expires", 26, "instruction", &["element_order"]),
    (
        "kde_noaa-2.49.0.1.840.0.9b5195e635069329b12a7c697fad5934d144784a.001.1.xml",
        "/alert/info[1]/area[1]/polygon[1]",
        17,
        "geocode",
        &["element_order"],
    ),
    (
        "kde_noaa-2.49.0.1.840.0.bde6c30c43ead9c23c42bea7977652a7de76d87d.002.1.xml",
        "/alert/info[1]/area[1]/polygon[1]",
        10,
        "geocode",
        &["element_order"],
    ),
];

#[test]
fn every_nonconformant_fixture_gets_its_element_order_finding_and_is_still_read() {
    let files = fixture_files("cap/nonconformant_real_world");
    assert_eq!(files.len(), NONCONFORMANT.len());
    let mut emitted = Vec::new();
    for path in files {
        let file = name(&path);
        let (_, at, line, before, rules) =
            NONCONFORMANT.iter().find(|(f, ..)| *f == file).unwrap_or_else(|| panic!("{file} has no expectation"));
        let parsed = cap::parse_alert(&read_fixture(&path));
        let finding = assert_finding(&parsed, Rule::ElementOrder, at);
        assert_eq!((finding.line, finding.related.as_deref()), (Some(*line), Some(*before)), "{file}: {finding}");
        let found: BTreeSet<&str> = error_codes(&parsed.findings).into_iter().collect();
        assert_eq!(found, rules.iter().copied().collect::<BTreeSet<_>>(), "{file}:\n{}", describe(&parsed.findings));
        let alert = parsed.alert.unwrap_or_else(|| panic!("{file} is read leniently"));
        assert!(!alert.infos.is_empty(), "{file}: the info is kept");
        // Re-emitting repairs the order: the output validates and reads back without order findings.
        let xml = cap::emit_alert(&alert);
        let again = cap::parse_alert(xml.as_bytes());
        assert!(again.findings.iter().all(|f| f.rule != Rule::ElementOrder), "{file}");
        assert_eq!(again.alert.as_ref(), Some(&alert), "{file}");
        emitted.push((file, xml));
    }
    assert_schema_valid(&cap_schema(), &emitted);
}

#[test]
fn the_large_alerts_keep_every_polygon() {
    let count = |file: &str| -> usize {
        let path = fixture_files("cap/nonconformant_real_world").into_iter().find(|p| name(p) == file).expect(file);
        let alert = cap::parse_alert(&read_fixture(&path)).alert.expect(file);
        alert.infos.iter().flat_map(|i| &i.areas).map(|a| a.polygons.len()).sum()
    };
    assert_eq!(count("kde_noaa-2.49.0.1.840.0.9b5195e635069329b12a7c697fad5934d144784a.001.1.xml"), 212);
    assert_eq!(count("kde_mow.DE-HE-KS-SE106-20250313-106-001.xml"), 225);
    assert_eq!(count("kde_noaa-2.49.0.1.840.0.bde6c30c43ead9c23c42bea7977652a7de76d87d.002.1.xml"), 18);
}

#[test]
fn older_cap_versions_are_read_leniently_and_reported() {
    for path in fixture_files("cap/legacy") {
        let file = name(&path);
        let parsed = cap::parse_alert(&read_fixture(&path));
        let finding = assert_finding(&parsed, Rule::CapVersion, "/alert");
        assert!(finding.value.as_deref().is_some_and(|ns| ns.contains("cap:1.1") || ns.contains("cap/1.0")), "{file}");
        assert!(parsed.alert.is_some(), "{file} is still read");
        assert!(!parsed.is_conforming());
    }
}
