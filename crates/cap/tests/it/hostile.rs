//! Hostile and broken input: no panic, no entity expansion, no file or network access, and a lenient result that is
//! stable once re-emitted.

use cap::Rule;
use proptest::prelude::*;

use crate::helpers::{describe, fixtures, read_fixture};

fn sample() -> Vec<u8> {
    read_fixture(&fixtures().join("cap/valid/oasiscap_v1dot2_appendix_adot2.xml"))
}

/// Whatever was read leniently must come back unchanged through the emitter: the repairs are made once.
fn assert_stable(bytes: &[u8]) -> Result<(), TestCaseError> {
    let parsed = cap::parse_alert(bytes);
    if let Some(alert) = parsed.alert {
        let again = cap::parse_alert(cap::emit_alert(&alert).as_bytes());
        prop_assert_eq!(again.alert.as_ref(), Some(&alert), "{}", describe(&again.findings));
    }
    let _ = cap::edxl::parse_distribution(bytes);
    let _ = cap::json::alert_from_json_str(&String::from_utf8_lossy(bytes));
    Ok(())
}

/// One edit of a document.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippets = prop_oneof![
        Just("<"),
        Just(">"),
        Just("&"),
        Just("&amp;"),
        Just("&#0;"),
        Just("&#x1F600;"),
        Just("]]>"),
        Just("<![CDATA[x<y]]>"),
        Just("<!-- c -->"),
        Just("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"),
        Just("<info>"),
        Just("</info>"),
        Just("<polygon>1,2 3,4 5,6 1,2</polygon>"),
        Just("<circle>1,2 -3</circle>"),
        Just("<x:y xmlns:x=\"urn:x\"/>"),
        Just("xmlns=\"\""),
        Just("\u{0}"),
        Just("\u{FFFE}"),
        Just("-00:00"),
        Just("Z"),
        Just(" "),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), snippets).prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<usize>(), 0usize..80).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let n = bytes.len().max(1);
    match *mutation {
        Mutation::Flip(at, byte) => {
            if !bytes.is_empty() {
                bytes[at % n] = byte;
            }
        }
        Mutation::Delete(at, len) => {
            let start = (at % n).min(bytes.len());
            let end = (start + len).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Insert(at, text) => {
            let at = (at % n).min(bytes.len());
            bytes.splice(at..at, text.bytes());
        }
        Mutation::Duplicate(at, len) => {
            let start = (at % n).min(bytes.len());
            let end = (start + len).min(bytes.len());
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        assert_stable(&bytes)?;
    }

    #[test]
    fn mutated_alerts_never_panic_and_what_is_read_is_stable(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let mut bytes = sample();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        assert_stable(&bytes)?;
    }

    #[test]
    fn random_json_never_panics(text in "[\\[\\]{}:,\"a-zA-Z0-9.\\- ]{0,200}") {
        let _ = cap::json::alert_from_json_str(&text);
    }
}

#[test]
fn the_xxe_attack_is_refused_at_its_doctype() {
    let parsed = cap::parse_alert(&read_fixture(&fixtures().join("cap/invalid/google_xee.cap")));
    assert!(parsed.alert.is_none());
    assert_eq!(parsed.findings.len(), 1, "{}", describe(&parsed.findings));
    assert_eq!((parsed.findings[0].rule, parsed.findings[0].line), (Rule::DtdForbidden, Some(3)));
}

#[test]
fn entities_never_reach_files_or_expand() {
    let file_entity = br#"<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"#;
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><alert>&lol3;</alert>"#;
    for bytes in [&file_entity[..], &laughs[..]] {
        let parsed = cap::parse_alert(bytes);
        assert_eq!(parsed.findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::DtdForbidden]);
        let envelope = cap::edxl::parse_distribution(bytes);
        assert_eq!(envelope.findings[0].rule, Rule::DtdForbidden);
    }
    // Without a DTD, an entity is simply undefined.
    let undeclared = br#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"#;
    let parsed = cap::parse_alert(undeclared);
    assert_eq!((parsed.findings[0].rule, parsed.findings[0].value.as_deref()), (Rule::XmlUndefinedEntity, Some("&x;")));
    // XInclude is an element like any other: reported, never followed.
    let xinclude = String::from_utf8(sample()).expect("UTF-8").replacen(
        "<scope>Public</scope>",
        "<scope>Public</scope><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\"/>",
        1,
    );
    let parsed = cap::parse_alert(xinclude.as_bytes());
    assert!(
        parsed.findings.iter().any(|f| f.rule == Rule::UnexpectedElement && f.path == "/alert/include"),
        "{}",
        describe(&parsed.findings)
    );
    assert!(parsed.alert.is_some_and(|a| a.note.is_none()));
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let depth = 200_000;
    let mut text = String::from("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">");
    text.push_str(&"<a>".repeat(depth));
    text.push_str(&"</a>".repeat(depth));
    text.push_str("</alert>");
    let parsed = cap::parse_alert(text.as_bytes());
    assert_eq!(parsed.findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::XmlTooDeep]);
    let envelope = cap::edxl::parse_distribution(text.as_bytes());
    assert_eq!(envelope.findings[0].rule, Rule::XmlTooDeep);
}

#[test]
fn a_reader_that_fails_is_the_only_error() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let error = cap::parse_alert_reader(Broken).expect_err("the reader fails");
    assert_eq!(error.code(), "io");
    assert!(error.message_zh().starts_with("无法读取文档"));
    let parsed = cap::parse_alert_reader(&sample()[..]).expect("a slice reads");
    assert!(parsed.is_conforming());
}
