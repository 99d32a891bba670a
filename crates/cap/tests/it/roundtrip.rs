//! Property tests over generated alerts: parse(emit(x)) == x, the JSON form round-trips, and the emitter's output
//! validates against the CAP 1.2 schema.

use std::cell::RefCell;

use cap::{
    Alert, Altitude, Area, CapDateTime, Category, Certainty, Circle, Info, LanguageTag, MessageType, NamedValue, Point, Polygon, Reference,
    References, Resource, ResponseType, Scope, Severity, Status, Urgency, Uri, UtcOffset, XMLDSIG_NAMESPACE, XmlAttribute, XmlContent,
    XmlElement,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::{assert_schema_valid, cap_schema, describe};

/// Free text: letters, CJK, digits, punctuation that XML must escape, and the whitespace XML keeps.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 .,;:!?'\"<>&/#%()\\[\\]{}=+*@-]{0,12}|[暴雨台风预警黄浦区 ]{1,6}|[\\t\\n\\r a-z&<]{0,6}")
        .expect("regex")
}

/// An identifier or sender: no spaces, commas, `<` or `&`.
fn token() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9@._:-]{1,16}").expect("regex")
}

fn offset() -> impl Strategy<Value = UtcOffset> {
    prop_oneof![
        Just(UtcOffset::UTC),
        Just(UtcOffset::BEIJING),
        (-56i32..=56).prop_map(|q| UtcOffset::from_minutes(q * 15).expect("offset"))
    ]
}

fn date_time() -> impl Strategy<Value = CapDateTime> {
    (1990i16..2060, 1i8..=12, 1i8..=28, 0i8..24, 0i8..60, 0i8..60, offset()).prop_map(|(y, mo, d, h, mi, s, offset)| {
        let local = jiff::civil::DateTime::new(y, mo, d, h, mi, s, 0).expect("a real date");
        CapDateTime::new(local, offset).expect("date-time")
    })
}

fn point() -> impl Strategy<Value = Point> {
    (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| Point::new(lat, lon).expect("in range"))
}

fn polygon() -> impl Strategy<Value = Polygon> {
    vec(point(), 3..8).prop_map(|mut points| {
        points.push(points[0]);
        Polygon::new(points).expect("closed")
    })
}

fn circle() -> impl Strategy<Value = Circle> {
    (point(), 0.0f64..500.0).prop_map(|(center, radius)| Circle::new(center, radius).expect("circle"))
}

fn pair() -> impl Strategy<Value = NamedValue> {
    (text(), text()).prop_map(|(name, value)| NamedValue::new(name, value))
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        Just("https://www.example.cn/warnings/1?lang=zh#top"),
        Just("relative/path%20with%20escapes"),
        Just("urn:oid:2.49.0.1.156"),
        Just("http://[::1]:8080/a b"),
        Just(""),
    ]
    .prop_map(|text| Uri::parse(text).expect("a URI"))
}

fn language() -> impl Strategy<Value = LanguageTag> {
    prop_oneof![Just("zh-CN"), Just("en-US"), Just("en"), Just("pt-PT"), Just("zh-Hans-CN")]
        .prop_map(|t| LanguageTag::parse(t).expect("tag"))
}

fn area() -> impl Strategy<Value = Area> {
    (text(), vec(polygon(), 0..3), vec(circle(), 0..2), vec(pair(), 0..3), option::of(-1000.0f64..30000.0), option::of(0.0f64..10000.0))
        .prop_map(|(description, polygons, circles, geocodes, altitude, extra)| {
            let altitude = altitude.map(|a| Altitude::from_feet(a).expect("finite"));
            let ceiling = altitude.zip(extra).map(|(a, e)| Altitude::from_feet(a.feet() + e).expect("finite"));
            Area { description, polygons, circles, geocodes, altitude, ceiling }
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    (text(), text(), option::of(any::<u64>()), option::of(uri()), option::of(Just("aGVsbG8gd29ybGQ=".to_string())), option::of(text()))
        .prop_map(|(description, mime_type, size, uri, deref_uri, digest)| Resource {
            description,
            mime_type,
            size,
            uri,
            deref_uri,
            digest,
        })
}

fn info() -> impl Strategy<Value = Info> {
    let head = (
        option::of(language()),
        vec(proptest::sample::select(Category::ALL), 1..3),
        text(),
        vec(proptest::sample::select(ResponseType::ALL), 0..3),
        proptest::sample::select(Urgency::ALL),
        proptest::sample::select(Severity::ALL),
        proptest::sample::select(Certainty::ALL),
        option::of(text()),
        vec(pair(), 0..2),
    );
    let times = (option::of(date_time()), option::of(date_time()), option::of(date_time()));
    let texts = (option::of(text()), option::of(text()), option::of(text()), option::of(text()), option::of(uri()), option::of(text()));
    let tail = (vec(pair(), 0..3), vec(resource(), 0..2), vec(area(), 0..3));
    (head, times, texts, tail).prop_map(
        |(
            (language, categories, event, response_types, urgency, severity, certainty, audience, event_codes),
            (effective, onset, expires),
            (sender_name, headline, description, instruction, web, contact),
            (parameters, resources, areas),
        )| Info {
            language,
            categories,
            event,
            response_types,
            urgency,
            severity,
            certainty,
            audience,
            event_codes,
            effective,
            onset,
            expires,
            sender_name,
            headline,
            description,
            instruction,
            web,
            contact,
            parameters,
            resources,
            areas,
        },
    )
}

fn signature() -> impl Strategy<Value = XmlElement> {
    (token(), text()).prop_map(|(id, value)| XmlElement {
        namespace: Some(XMLDSIG_NAMESPACE.to_string()),
        name: "Signature".into(),
        attributes: vec![
            XmlAttribute { namespace: None, name: "Id".into(), value: id },
            XmlAttribute { namespace: Some("urn:example:attributes".into()), name: "note".into(), value: value.clone() },
        ],
        children: vec![
            XmlContent::Text("\n  ".into()),
            XmlContent::Element(XmlElement {
                namespace: Some(XMLDSIG_NAMESPACE.to_string()),
                name: "SignatureValue".into(),
                attributes: Vec::new(),
                // Empty text is no text at all once written, so a text child is only generated when there is text.
                children: if value.is_empty() { Vec::new() } else { vec![XmlContent::Text(value)] },
            }),
            XmlContent::Element(XmlElement {
                namespace: Some("urn:example:other".into()),
                name: "Extra".into(),
                attributes: Vec::new(),
                children: Vec::new(),
            }),
        ],
    })
}

fn references() -> impl Strategy<Value = References> {
    vec((token(), token(), date_time()), 1..3).prop_map(|list| {
        References::new(list.into_iter().map(|(s, i, t)| Reference::new(s, i, t).expect("reference")).collect()).expect("references")
    })
}

fn alert() -> impl Strategy<Value = Alert> {
    let head = (
        token(),
        token(),
        date_time(),
        proptest::sample::select(Status::ALL),
        proptest::sample::select(MessageType::ALL),
        option::of(text()),
        proptest::sample::select(Scope::ALL),
        option::of(text()),
        option::of(text()),
    );
    let tail =
        (vec(text(), 0..2), option::of(text()), option::of(references()), option::of(text()), vec(info(), 0..3), vec(signature(), 0..2));
    (head, tail).prop_map(
        |(
            (identifier, sender, sent, status, message_type, source, scope, restriction, addresses),
            (codes, note, references, incidents, infos, signatures),
        )| Alert {
            identifier,
            sender,
            sent,
            status,
            message_type,
            source,
            scope,
            restriction,
            addresses,
            codes,
            note,
            references,
            incidents,
            infos,
            signatures,
        },
    )
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]

    #[test]
    fn parse_of_emit_gives_back_the_alert(alert in alert()) {
        let xml = cap::emit_alert(&alert);
        let parsed = cap::parse_alert(xml.as_bytes());
        prop_assert_eq!(parsed.alert.as_ref(), Some(&alert), "{}\n{}", xml, describe(&parsed.findings));
        // Only the §3 rules between elements can fire on a generated alert; the document itself is always sound.
        let structural = [cap::Rule::XmlMalformed, cap::Rule::UnexpectedElement, cap::Rule::ElementOrder, cap::Rule::MissingElement];
        prop_assert!(parsed.findings.iter().all(|f| !structural.contains(&f.rule)), "{}", describe(&parsed.findings));
    }

    #[test]
    fn the_json_form_gives_back_the_alert(alert in alert()) {
        let value = cap::json::alert_to_json(&alert);
        let from_value = cap::json::alert_from_json(&value).alert;
        prop_assert_eq!(from_value.as_ref(), Some(&alert));
        let text = serde_json::to_string_pretty(&value).expect("JSON text");
        prop_assert_eq!(cap::json::alert_from_json_str(&text).alert, Some(alert));
    }
}

#[test]
fn emitted_generated_alerts_validate_against_the_cap_schema() {
    let documents = RefCell::new(Vec::new());
    let mut runner = TestRunner::new(Config { cases: 120, ..Config::default() });
    runner
        .run(&alert(), |alert| {
            let mut documents = documents.borrow_mut();
            let label = format!("generated-{}", documents.len());
            documents.push((label, cap::emit_alert(&alert)));
            Ok(())
        })
        .expect("generation");
    assert_schema_valid(&cap_schema(), &documents.into_inner());
}

#[test]
fn every_uri_the_parser_accepts_validates_as_any_uri() {
    let candidates = RefCell::new(Vec::new());
    let strategy =
        proptest::string::string_regex("([a-z]{1,5}:)?(//[a-z0-9.@:\\[\\]%-]{0,10})?[a-zA-Z0-9/%:@!$&'()*+,;=._~ \\[\\]#?中-]{0,16}")
            .expect("regex");
    let mut runner = TestRunner::new(Config { cases: 400, ..Config::default() });
    runner
        .run(&strategy, |text| {
            candidates.borrow_mut().push(text);
            Ok(())
        })
        .expect("generation");
    let mut documents = Vec::new();
    for text in candidates.into_inner() {
        if let Ok(uri) = Uri::parse(&text) {
            let mut alert = Alert::new(
                "U-1",
                "u@example.org",
                CapDateTime::parse("2025-01-01T00:00:00+08:00").expect("sent"),
                Status::Test,
                MessageType::Alert,
                Scope::Public,
            );
            let mut info = Info::new(Category::Other, "uri", Urgency::Past, Severity::Minor, Certainty::Observed);
            info.web = Some(uri);
            alert.infos.push(info);
            documents.push((format!("uri-{}", documents.len()), cap::emit_alert(&alert)));
        }
    }
    assert!(documents.len() > 50, "too few accepted URIs to be a test: {}", documents.len());
    assert_schema_valid(&cap_schema(), &documents);
}
