//! EDXL-DE 2.0: every real alert wrapped validates against the OASIS schema set and unwraps to itself; the real
//! envelopes from another system read as envelopes.

use cap::edxl::{self, Content, DistributionKind, DistributionStatus, ExplicitAddress, TargetArea, WrapOptions};
use cap::{CapDateTime, Rule, SourceLines, Status};

use crate::helpers::{assert_schema_valid, describe, edxl_with_cap_schema, fixture_files, fixtures, name, read_fixture};

#[test]
fn every_real_alert_wrapped_validates_against_the_edxl_schema_and_unwraps_to_itself() {
    let mut emitted = Vec::new();
    let mut paths = fixture_files("cap/valid");
    paths.extend(fixture_files("cap/gbt35965"));
    for path in paths {
        let file = name(&path);
        let alert = cap::parse_alert(&read_fixture(&path)).alert.unwrap_or_else(|| panic!("{file}"));
        let options = WrapOptions {
            explicit_addresses: vec![ExplicitAddress { scheme: "e-mail".into(), values: vec!["duty@huangpu.example.cn".into()] }],
            ..WrapOptions::default()
        };
        let distribution = edxl::wrap(alert.clone(), &options).unwrap_or_else(|e| panic!("{file}: {e}"));
        let xml = edxl::emit_distribution(&distribution);
        let parsed = edxl::parse_distribution(xml.as_bytes());
        assert!(parsed.is_conforming(), "{file}: {}", describe(&parsed.findings));
        assert_eq!(parsed.distribution.as_ref(), Some(&distribution), "{file}: parse(emit(envelope)) differs");
        assert_eq!(parsed.distribution.map(|d| d.into_alerts()), Some(vec![alert]), "{file}: unwrap gives back the alert");
        emitted.push((file, xml));
    }
    assert_eq!(emitted.len(), 29);
    assert_schema_valid(&edxl_with_cap_schema(), &emitted);
}

#[test]
fn wrapping_takes_the_envelope_from_the_alert() {
    let alert =
        cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_typhoon_red_update.xml"))).alert.expect("alert");
    let distribution = edxl::wrap(alert.clone(), &WrapOptions::default()).expect("wrap");
    assert_eq!(distribution.distribution_id, alert.identifier);
    assert_eq!(distribution.sender_id, alert.sender);
    assert_eq!(distribution.date_time_sent, alert.sent);
    assert_eq!(distribution.date_time_expires.to_string(), "2025-09-16T06:30:00+08:00", "the latest expires");
    assert_eq!((distribution.distribution_status, distribution.distribution_kind), (DistributionStatus::Actual, DistributionKind::Update));
    let descriptor = distribution.descriptor.as_ref().expect("descriptor");
    assert_eq!(descriptor.language.as_ref().map(|l| l.as_str()), Some("zh-CN"));
    let areas = &descriptor.target_areas[0].areas;
    assert!(matches!(areas[0], TargetArea::Circle(c) if c.radius_km() == 3.0), "{areas:?}");
    assert!(matches!(&areas[1], TargetArea::GeoCode(list) if list.list_uri == "GB/T 2260" && list.values == ["310101"]));
    assert_eq!(distribution.content_objects[0].description.as_deref(), Some("黄浦区台风预警升级为红色"));

    let mut draft = alert;
    draft.status = Status::Draft;
    draft.infos.clear();
    let options = WrapOptions { without_target_area: true, distribution_id: Some("d-1".into()), ..WrapOptions::default() };
    let distribution = edxl::wrap(draft, &options).expect("wrap");
    assert_eq!(distribution.distribution_status, DistributionStatus::NoAppropriateDefault);
    assert_eq!(distribution.distribution_id, "d-1");
    assert_eq!(distribution.date_time_expires.to_string(), "2025-09-16T06:30:00+08:00", "24 hours after sent without an expires");
    assert!(distribution.descriptor.as_ref().is_some_and(|d| d.target_areas.is_empty()));
}

#[test]
fn the_samu_hub_envelopes_read_as_envelopes_with_their_foreign_payload() {
    for path in fixture_files("edxl") {
        let file = name(&path);
        let parsed = edxl::parse_distribution(&read_fixture(&path));
        assert!(parsed.is_conforming(), "{file}: {}", describe(&parsed.findings));
        let distribution = parsed.distribution.expect("envelope");
        assert_eq!(distribution.sender_id, "fr.health.samuB");
        assert_eq!(distribution.date_time_sent.to_string(), "2022-07-25T10:04:34+01:00");
        assert_eq!(distribution.distribution_kind, DistributionKind::Report);
        let descriptor = distribution.descriptor.as_ref().expect("descriptor");
        assert_eq!(descriptor.explicit_addresses, [ExplicitAddress { scheme: "hubex".into(), values: vec!["fr.health.samuA".into()] }]);
        assert_eq!(distribution.alerts().count(), 0, "{file}: no CAP inside");
        let Content::Xml(payload) = &distribution.content_objects[0].content else { panic!("{file}: XML content expected") };
        assert_eq!((payload.namespace.as_deref(), payload.name.as_str()), (Some("urn:emergency:eda:1.9"), "message"));
        // The foreign payload is carried through unchanged.
        let again = edxl::parse_distribution(edxl::emit_distribution(&distribution).as_bytes());
        assert_eq!(again.distribution.as_ref(), Some(&distribution), "{file}");
    }
}

#[test]
fn embedded_cap_is_checked_with_paths_and_lines_inside_the_envelope() {
    let alert =
        String::from_utf8(read_fixture(&fixtures().join("cap/nonconformant_real_world/kde_alertswiss-TEST-1163.xml"))).expect("UTF-8");
    let alert = alert.trim_start_matches("<?xml version='1.0' encoding='utf-8'?>\n");
    let envelope = format!(
        r#"<edxlDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:2.0">
<distributionID>x</distributionID><senderID>y</senderID>
<dateTimeSent>2025-06-21T08:07:00+02:00</dateTimeSent><dateTimeExpires>2025-06-21T08:07:00+02:00</dateTimeExpires>
<distributionStatus>Test</distributionStatus><distributionKind>Report</distributionKind>
<content><contentObject><contentXML><embeddedXMLContent>
{alert}
</embeddedXMLContent></contentXML></contentObject></content>
</edxlDistribution>"#
    );
    let parsed = edxl::parse_distribution(envelope.as_bytes());
    let prefix = "/edxlDistribution/content/contentObject[1]/contentXML/embeddedXMLContent";
    let order = parsed.findings.iter().find(|f| f.rule == Rule::ElementOrder).expect("the alert's order finding");
    assert_eq!((order.path.as_str(), order.line), (&*format!("{prefix}/alert/sender"), Some(9)), "{}", describe(&parsed.findings));
    let expiry = parsed.findings.iter().find(|f| f.rule == Rule::ExpiresBeforeSent).expect("the envelope expires when sent");
    assert_eq!((expiry.path.as_str(), expiry.line), ("/edxlDistribution/dateTimeExpires", Some(3)));
    assert_eq!(parsed.alert_paths, [prefix]);
    assert_eq!(parsed.lines.under(prefix).line("/alert/sender"), Some(9));
    assert!(parsed.distribution.is_some_and(|d| d.alerts().count() == 1));
}

#[test]
fn gml_target_areas_are_read_in_latitude_longitude_order() {
    let envelope = r#"<edxlDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:2.0" xmlns:gsf="urn:oasis:names:tc:emergency:edxl:gsf:1.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:ct="urn:oasis:names:tc:emergency:edxl:ct:1.0">
<distributionID>x</distributionID><senderID>y</senderID>
<dateTimeSent>2025-06-21T08:07:00+08:00</dateTimeSent><dateTimeExpires>2025-06-22T08:07:00+08:00</dateTimeExpires>
<distributionStatus>Exercise</distributionStatus><distributionKind>Dispatch</distributionKind>
<descriptor><targetAreas><areaKind>SourceTargetArea</areaKind><areaGrouping>Union</areaGrouping>
<targetArea><gsf:EDXLGeoLocation><gml:Polygon gml:id="p"><gml:exterior><gml:LinearRing><gml:posList>31.2 121.4 31.3 121.4 31.3 121.5 31.2 121.4</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gsf:EDXLGeoLocation></targetArea>
<targetArea><gsf:EDXLGeoLocation><gml:CircleByCenterPoint numArc="1"><gml:pos>31.2 121.4</gml:pos><gml:radius uom="urn:ogc:def:uom:EPSG::9001">1500</gml:radius></gml:CircleByCenterPoint></gsf:EDXLGeoLocation></targetArea>
<targetArea><gsf:EDXLGeoLocation><gml:Point gml:id="q"><gml:pos>31.2 121.4</gml:pos></gml:Point></gsf:EDXLGeoLocation></targetArea>
<targetArea><gsf:EDXLGeoLocation><gml:Polygon gml:id="r"><gml:exterior><gml:LinearRing><gml:posList>131.2 121.4 31.3 121.4 31.3 121.5 131.2 121.4</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gsf:EDXLGeoLocation></targetArea>
</targetAreas></descriptor>
</edxlDistribution>"#;
    let parsed = edxl::parse_distribution(envelope.as_bytes());
    let areas = &parsed.distribution.as_ref().expect("envelope").descriptor.as_ref().expect("descriptor").target_areas[0].areas;
    assert_eq!(areas.len(), 3, "the out-of-range polygon is dropped with a finding");
    assert!(matches!(&areas[0], TargetArea::Polygon(p) if p.points()[1].lat() == 31.3 && p.points()[1].lon() == 121.4));
    assert!(matches!(areas[1], TargetArea::Circle(c) if c.radius_km() == 1.5), "metres are converted");
    assert!(matches!(&areas[2], TargetArea::Other(e) if e.name == "EDXLGeoLocation"));
    let range = parsed.findings.iter().find(|f| f.rule == Rule::CoordinateRange).expect("out of range");
    assert_eq!(range.line, Some(9));
    assert_eq!(edxl::check_distribution(parsed.distribution.as_ref().expect("envelope"), &SourceLines::none()), []);
}

#[test]
fn envelope_rules_are_checked() {
    let alert = cap::parse_alert(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_cancel.xml"))).alert.expect("alert");
    let mut distribution = edxl::wrap(alert, &WrapOptions::default()).expect("wrap");
    distribution.distribution_id = " ".into();
    distribution.sender_id = "s".repeat(1024);
    distribution.date_time_expires = CapDateTime::parse("2025-01-01T00:00:00+08:00").expect("time");
    let findings = edxl::check_distribution(&distribution, &SourceLines::none());
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.code()).collect();
    assert_eq!(rules, ["empty_value", "value_too_long", "expires_before_sent"], "{}", describe(&findings));
    let not_envelope = edxl::parse_distribution(&read_fixture(&fixtures().join("cap/gbt35965/gridline_gbt35965_cancel.xml")));
    assert_eq!(not_envelope.findings[0].rule, Rule::UnexpectedRoot);
    assert!(not_envelope.distribution.is_none());
}
