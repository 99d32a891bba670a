//! Every rule, one small document each: a table of edits to a conforming alert and the findings they must give.

use cap::{FindingLevel, Rule};

use crate::helpers::describe;

/// A conforming alert the cases edit. Line numbers in the cases refer to this text.
const BASE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TEST-1</identifier>
  <sender>test@example.org</sender>
  <sent>2025-07-01T08:00:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Rainstorm</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>2025-07-01T20:00:00+08:00</expires>
    <area>
      <areaDesc>Huangpu</areaDesc>
      <polygon>31.24,121.47 31.24,121.49 31.22,121.49 31.24,121.47</polygon>
      <circle>31.23,121.48 2.5</circle>
    </area>
  </info>
</alert>
"#;

const POLYGON: &str = "<polygon>31.24,121.47 31.24,121.49 31.22,121.49 31.24,121.47</polygon>";
const CIRCLE: &str = "<circle>31.23,121.48 2.5</circle>";
const INFO: &str = "/alert/info[1]";
const AREA: &str = "/alert/info[1]/area[1]";

/// Applies `edits` (each replaces the first occurrence of its first text by its second) to `BASE`, parses, and
/// checks that the findings are exactly `expected` (rule code, path), in any order, and that an alert is read iff
/// `readable`.
fn check(label: &str, edits: &[(&str, &str)], readable: bool, expected: &[(&str, &str)]) {
    let mut text = BASE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{label}: the base has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let parsed = cap::parse_alert(text.as_bytes());
    let mut found: Vec<(&str, String)> = parsed.findings.iter().map(|f| (f.rule.code(), f.path.clone())).collect();
    let mut wanted: Vec<(&str, String)> = expected.iter().map(|(rule, path)| (*rule, (*path).to_string())).collect();
    found.sort();
    wanted.sort();
    assert_eq!(found, wanted, "{label}:\n{}", describe(&parsed.findings));
    assert_eq!(parsed.alert.is_some(), readable, "{label}: alert read?");
    for finding in &parsed.findings {
        assert!(finding.line.is_some(), "{label}: {finding} has no line");
        for message in [finding.message_en(), finding.message_zh()] {
            let unfilled = ["{element}", "{value}", "{related}"].iter().any(|p| message.contains(p));
            assert!(!unfilled && !message.is_empty(), "{label}: {message}");
        }
    }
}

#[test]
fn the_base_alert_conforms_and_has_no_finding() {
    check("base", &[], true, &[]);
}

#[test]
fn polygons_must_be_closed_rings_of_four_points_in_latitude_longitude_order() {
    let polygon = format!("{AREA}/polygon[1]");
    let open = "<polygon>31.24,121.47 31.24,121.49 31.22,121.49 31.22,121.47</polygon>";
    check("open ring", &[(POLYGON, open)], true, &[("polygon_not_closed", &polygon)]);
    let three = "<polygon>31.24,121.47 31.24,121.49 31.24,121.47</polygon>";
    check("three points", &[(POLYGON, three)], true, &[("polygon_too_few_points", &polygon)]);
    let swapped = "<polygon>121.47,31.24 121.49,31.24 121.49,31.22 121.47,31.24</polygon>";
    check("longitude first", &[(POLYGON, swapped)], true, &[("coordinate_range", &polygon)]);
    let spaced = "<polygon>31.24, 121.47 31.24,121.49 31.22,121.49 31.24,121.47</polygon>";
    check("space after comma", &[(POLYGON, spaced)], true, &[("polygon_format", &polygon)]);
    let signed = "<polygon>+31.24,121.47 31.24,121.49 31.22,121.49 +31.24,121.47</polygon>";
    check("plus sign", &[(POLYGON, signed)], true, &[("polygon_format", &polygon)]);
    let lines = "<polygon>\n 31.24,121.47\n 31.24,121.49\t31.22,121.49 31.24,121.47\n</polygon>";
    check("any whitespace between pairs", &[(POLYGON, lines)], true, &[]);
    check("empty polygon", &[(POLYGON, "<polygon/>")], true, &[("empty_element", &polygon)]);
}

#[test]
fn circles_are_a_point_and_a_radius_in_kilometres() {
    let circle = format!("{AREA}/circle[1]");
    check("no radius", &[(CIRCLE, "<circle>31.23,121.48</circle>")], true, &[("circle_format", &circle)]);
    check("negative radius", &[(CIRCLE, "<circle>31.23,121.48 -1</circle>")], true, &[("circle_radius", &circle)]);
    check("radius in metres", &[(CIRCLE, "<circle>31.23,121.48 2500m</circle>")], true, &[("circle_radius", &circle)]);
    check("centre out of range", &[(CIRCLE, "<circle>95,121.48 2</circle>")], true, &[("coordinate_range", &circle)]);
    check("zero radius is a point", &[(CIRCLE, "<circle>31.23,121.48 0</circle>")], true, &[]);
}

#[test]
fn updates_cancels_acks_and_errors_need_references_in_the_right_format() {
    let references = "/alert/references";
    for message_type in ["Update", "Cancel", "Ack", "Error"] {
        let edit = ("<msgType>Alert</msgType>", &*format!("<msgType>{message_type}</msgType>"));
        check(message_type, &[edit], true, &[("references_required", references)]);
    }
    let update = ("<msgType>Alert</msgType>", "<msgType>Update</msgType>");
    let good = "<scope>Public</scope>\n  <references>test@example.org,TEST-0,2025-07-01T07:00:00+08:00 other@example.org,X-9,2025-06-30T23:00:00-00:00</references>";
    check("two references", &[update, ("<scope>Public</scope>", good)], true, &[]);
    let pair = "<scope>Public</scope>\n  <references>test@example.org,TEST-0</references>";
    check(
        "a pair",
        &[update, ("<scope>Public</scope>", pair)],
        true,
        &[("references_format", references), ("references_required", references)],
    );
    let zulu = "<scope>Public</scope>\n  <references>test@example.org,TEST-0,2025-07-01T07:00:00Z</references>";
    check(
        "a Z time",
        &[update, ("<scope>Public</scope>", zulu)],
        true,
        &[("references_format", references), ("references_required", references)],
    );
}

#[test]
fn restricted_and_private_scopes_need_their_element() {
    check("restricted", &[("<scope>Public</scope>", "<scope>Restricted</scope>")], true, &[("restriction_required", "/alert/restriction")]);
    let restricted = "<scope>Restricted</scope>\n  <restriction>duty officers only</restriction>";
    check("restricted with restriction", &[("<scope>Public</scope>", restricted)], true, &[]);
    check("private", &[("<scope>Public</scope>", "<scope>Private</scope>")], true, &[("addresses_required", "/alert/addresses")]);
    let private = "<scope>Private</scope>\n  <addresses>ops@example.org \"duty desk\"</addresses>";
    check("private with addresses", &[("<scope>Public</scope>", private)], true, &[]);
    let public = "<scope>Public</scope>\n  <restriction>nobody</restriction>";
    check("restriction on a public alert", &[("<scope>Public</scope>", public)], true, &[("restriction_unexpected", "/alert/restriction")]);
}

#[test]
fn expires_comes_after_sent_and_effective() {
    let expires = format!("{INFO}/expires");
    let early = ("<expires>2025-07-01T20:00:00+08:00</expires>", "<expires>2025-07-01T07:00:00+08:00</expires>");
    check("before sent", &[early], true, &[("expires_before_sent", &expires)]);
    let same = ("<expires>2025-07-01T20:00:00+08:00</expires>", "<expires>2025-07-01T00:00:00-00:00</expires>");
    check("the same instant in another offset", &[same], true, &[("expires_immediately", &expires)]);
    let effective = (
        "<expires>2025-07-01T20:00:00+08:00</expires>",
        "<effective>2025-07-01T21:00:00+08:00</effective>\n    <expires>2025-07-01T20:00:00+08:00</expires>",
    );
    check("before effective", &[effective], true, &[("expires_before_effective", &expires)]);
    let onset = (
        "<expires>2025-07-01T20:00:00+08:00</expires>",
        "<onset>2025-07-02T08:00:00+08:00</onset>\n    <expires>2025-07-01T20:00:00+08:00</expires>",
    );
    check("onset after expires", &[onset], true, &[("onset_after_expires", &format!("{INFO}/onset"))]);
}

#[test]
fn date_times_carry_an_offset_and_whole_seconds() {
    let sent = |text: &str| ("<sent>2025-07-01T08:00:00+08:00</sent>", format!("<sent>{text}</sent>"));
    for (label, text, rule) in [
        ("Z", "2025-07-01T00:00:00Z", "datetime_timezone"),
        ("no offset", "2025-07-01T08:00:00", "datetime_timezone"),
        ("fraction", "2025-07-01T08:00:00.5+08:00", "datetime_fraction"),
    ] {
        let (from, to) = sent(text);
        check(label, &[(from, &to)], true, &[(rule, "/alert/sent")]);
    }
    for (label, text) in
        [("offset beyond 14 hours", "2025-07-01T08:00:00+15:00"), ("no such day", "2025-02-30T08:00:00+08:00"), ("words", "tomorrow")]
    {
        let (from, to) = sent(text);
        check(label, &[(from, &to)], false, &[("datetime_format", "/alert/sent")]);
    }
    let parsed = cap::parse_alert(BASE.replace("+08:00</sent>", "-00:00</sent>").as_bytes());
    assert_eq!(parsed.alert.expect("alert").sent.to_string(), "2025-07-01T08:00:00-00:00", "-00:00 is kept as written");
}

#[test]
fn identifiers_and_senders_have_no_spaces_commas_or_reserved_characters() {
    check(
        "space",
        &[("<identifier>TEST-1</identifier>", "<identifier>TEST 1</identifier>")],
        true,
        &[("forbidden_characters", "/alert/identifier")],
    );
    check("comma", &[("<sender>test@example.org</sender>", "<sender>a,b</sender>")], true, &[("forbidden_characters", "/alert/sender")]);
    check(
        "ampersand",
        &[("<identifier>TEST-1</identifier>", "<identifier>A&amp;B</identifier>")],
        true,
        &[("forbidden_characters", "/alert/identifier")],
    );
    check("empty", &[("<identifier>TEST-1</identifier>", "<identifier></identifier>")], true, &[("empty_value", "/alert/identifier")]);
}

#[test]
fn enumerations_are_exact() {
    check("lower case", &[("<status>Actual</status>", "<status>actual</status>")], false, &[("invalid_enum", "/alert/status")]);
    check("spaces", &[("<status>Actual</status>", "<status> Actual </status>")], true, &[("value_whitespace", "/alert/status")]);
    let urgency = format!("{INFO}/urgency");
    check(
        "unknown urgency is read as Unknown",
        &[("<urgency>Expected</urgency>", "<urgency>Soon</urgency>")],
        true,
        &[("invalid_enum", &urgency)],
    );
    let category = format!("{INFO}/category[1]");
    check("category", &[("<category>Met</category>", "<category>Weather</category>")], true, &[("invalid_enum", &category)]);
    check("no category", &[("<category>Met</category>", "")], true, &[("missing_element", INFO)]);
}

#[test]
fn the_schema_structure_is_enforced_leniently() {
    let before = (
        "<identifier>TEST-1</identifier>\n  <sender>test@example.org</sender>",
        "<sender>test@example.org</sender>\n  <identifier>TEST-1</identifier>",
    );
    check("order", &[before], true, &[("element_order", "/alert/identifier")]);
    check(
        "unknown element",
        &[("<event>Rainstorm</event>", "<event>Rainstorm</event><colour>red</colour>")],
        true,
        &[("unexpected_element", &format!("{INFO}/colour"))],
    );
    let foreign = ("<scope>Public</scope>", "<scope>Public</scope><x:note xmlns:x=\"urn:example\">hi</x:note>");
    check("foreign element", &[foreign], true, &[("unexpected_element", "/alert/note")]);
    check(
        "attribute",
        &[("<event>Rainstorm</event>", "<event lang=\"en\">Rainstorm</event>")],
        true,
        &[("unexpected_attribute", &format!("{INFO}/event"))],
    );
    let schema_location =
        ("<alert xmlns", "<alert xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"a b\" xmlns");
    check("xsi attributes are allowed", &[schema_location], true, &[]);
    check(
        "duplicate",
        &[("<event>Rainstorm</event>", "<event>Rainstorm</event><event>Flood</event>")],
        true,
        &[("duplicate_element", &format!("{INFO}/event[2]"))],
    );
    check("missing event drops the info", &[("<event>Rainstorm</event>", "")], true, &[("missing_element", INFO)]);
    check("missing scope drops the alert", &[("<scope>Public</scope>", "")], false, &[("missing_element", "/alert")]);
    check("stray text", &[("<info>", "<info>oops")], true, &[("unexpected_content", INFO)]);
    check(
        "element in a leaf",
        &[("<event>Rainstorm</event>", "<event><b>Rain</b>storm</event>")],
        true,
        &[("unexpected_content", &format!("{INFO}/event"))],
    );
    let signature = "</info>\n  <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo/></Signature>\n  <info><category>Met</category><event>x</event><urgency>Past</urgency><severity>Minor</severity><certainty>Observed</certainty></info>";
    check("info after a signature", &[("</info>", signature)], true, &[("element_order", "/alert/info[2]")]);
}

#[test]
fn area_and_resource_values() {
    let ceiling = format!("{AREA}/ceiling");
    check(
        "ceiling alone",
        &[(CIRCLE, "<circle>31.23,121.48 2.5</circle><ceiling>100</ceiling>")],
        true,
        &[("ceiling_without_altitude", &ceiling)],
    );
    let low = "<circle>31.23,121.48 2.5</circle><altitude>500</altitude><ceiling>100</ceiling>";
    check("ceiling below altitude", &[(CIRCLE, low)], true, &[("ceiling_below_altitude", &ceiling)]);
    let altitude = "<circle>31.23,121.48 2.5</circle><altitude>1e3</altitude>";
    check("exponent", &[(CIRCLE, altitude)], true, &[("invalid_number", &format!("{AREA}/altitude"))]);
    let resource =
        |inner: &str| format!("<resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType>{inner}</resource><area>");
    let size = resource("<size>-1</size>");
    check("negative size", &[("<area>", &size)], true, &[("invalid_number", &format!("{INFO}/resource[1]/size"))]);
    let deref = resource("<derefUri>not base64!</derefUri>");
    check("derefUri", &[("<area>", &deref)], true, &[("deref_uri_encoding", &format!("{INFO}/resource[1]/derefUri"))]);
    let digest = resource("<digest>abc</digest>");
    check("digest", &[("<area>", &digest)], true, &[("digest_format", &format!("{INFO}/resource[1]/digest"))]);
    let fine = resource(
        "<size>12</size><uri>http://example.org/map.png</uri><derefUri>aGVsbG8=</derefUri><digest>aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d</digest>",
    );
    check("a good resource", &[("<area>", &fine)], true, &[]);
    check("language", &[("<category>Met</category>", "<category>Met</category>")], true, &[]);
    check(
        "bad language",
        &[("<info>", "<info>\n    <language>zh_CN</language>")],
        true,
        &[("invalid_language", &format!("{INFO}/language"))],
    );
}

#[test]
fn documents_that_are_not_cap_1_2_alerts() {
    check("no namespace", &[(" xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"", "")], true, &[("namespace_missing", "/alert")]);
    check("CAP 1.1", &[("cap:1.2", "cap:1.1")], true, &[("cap_version", "/alert")]);
    check("another root", &[("<alert xmlns", "<alarm xmlns"), ("</alert>", "</alarm>")], false, &[("unexpected_root", "/alert")]);
    check("not closed", &[("</alert>", "")], false, &[("xml_unclosed_element", "/")]);
    check("undefined entity", &[("Rainstorm", "Rain&storm;")], false, &[("xml_undefined_entity", "/")]);
    check("undeclared prefix", &[("<scope>Public</scope>", "<scope>Public</scope><x:y/>")], false, &[("xml_undeclared_prefix", "/")]);
    check("control character", &[("Rainstorm", "Rain\u{1}storm")], false, &[("xml_invalid_character", "/")]);
    check("character reference to one", &[("Rainstorm", "Rain&#1;storm")], false, &[("xml_invalid_character", "/")]);
    check("second root", &[("</alert>\n", "</alert>\n<alert/>")], false, &[("xml_outside_root", "/")]);
    check("encoding", &[("UTF-8", "GB2312")], false, &[("unsupported_encoding", "/")]);
    let broken = cap::parse_alert(&[BASE.as_bytes(), b"\xFF"].concat());
    assert_eq!(broken.findings[0].rule, Rule::XmlEncoding);
    let malformed = cap::parse_alert(BASE.replace("</event>", "</evnt>").as_bytes());
    assert_eq!(
        (malformed.findings[0].rule, malformed.findings[0].line),
        (Rule::XmlMalformed, Some(11)),
        "{}",
        describe(&malformed.findings)
    );
}

#[test]
fn other_encodings_are_decoded() {
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(BASE.replace("UTF-8", "UTF-16").encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert!(cap::parse_alert(&utf16).is_conforming());
    let mut cp1252 = BASE.replace("UTF-8", "windows-1252").replace("Huangpu", "Huangpu \u{80}").into_bytes();
    let euro = cp1252.windows(2).position(|w| w == "\u{80}".as_bytes()).expect("placeholder");
    cp1252.splice(euro..euro + 2, [0x80]);
    let alert = cap::parse_alert(&cp1252).alert.expect("windows-1252");
    assert_eq!(alert.infos[0].areas[0].description, "Huangpu €");
}

#[test]
fn findings_say_what_is_wrong_in_both_languages() {
    let parsed = cap::parse_alert(
        BASE.replace(
            "<polygon>31.24,121.47 31.24,121.49 31.22,121.49 31.24,121.47",
            "<polygon>31.24,121.47 31.24,121.49 31.22,121.49 31.22,121.47",
        )
        .as_bytes(),
    );
    let finding = &parsed.findings[0];
    assert_eq!((finding.rule, finding.level, finding.line), (Rule::PolygonNotClosed, FindingLevel::Error, Some(18)));
    assert_eq!(finding.message_en(), "the polygon is not closed: its last point 31.22,121.47 differs from its first point 31.24,121.47");
    assert_eq!(finding.message_zh(), "多边形未闭合：末点 31.22,121.47 与首点 31.24,121.47 不同");
    assert_eq!(
        finding.to_string(),
        "line 18: error[polygon_not_closed] /alert/info[1]/area[1]/polygon[1]: the polygon is not closed: its last point 31.22,121.47 differs from its first point 31.24,121.47"
    );
    let error = parsed.into_conforming().expect_err("not conforming");
    assert_eq!(error.code(), "not_conforming");
    assert!(error.message_zh().starts_with("文档不符合规范："), "{}", error.message_zh());
}
