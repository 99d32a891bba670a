//! Conformance checks of CAP 1.2 §3 that the schema cannot express.
//!
//! This module owns the rules between elements and the rules on free text: identifiers and senders without spaces,
//! commas, `<` or `&`; `references` for `Update`, `Cancel`, `Ack` and `Error`; `restriction` for scope `Restricted`
//! and `addresses` for scope `Private`; `expires` later than `sent` and `effective`; `ceiling` only with `altitude`;
//! `derefUri` in base64; at least one `category`; empty optional elements.
//! Rules on single values (date-time form, polygon closure and point order, circle form, enumerations) are enforced by
//! the types in `values`, so they cannot be broken by a model and are reported by the parser instead.
//! It works on the model alone, for parsed and for built alerts alike, and never changes it.

use crate::finding::{Finding, Rule};
use crate::model::{Alert, Area, Info, Resource};
use crate::parse::{SourceLines, XMLDSIG_NAMESPACE};
use crate::values::{CapDateTime, MessageType, Scope, has_forbidden_characters, is_xml_space};

/// Checks an alert against the CAP 1.2 §3 rules between elements; `lines` gives source lines for findings.
pub fn check_alert(alert: &Alert, lines: &SourceLines) -> Vec<Finding> {
    let mut checker = Checker { lines, findings: Vec::new() };
    checker.alert(alert, "/alert");
    checker.findings
}

struct Checker<'a> {
    lines: &'a SourceLines,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn push(&mut self, rule: Rule, path: &str) -> &mut Finding {
        let finding = Finding::new(rule, path).at_line(self.lines.line(path));
        self.findings.push(finding);
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }

    fn optional_text(&mut self, value: &Option<String>, path: &str) {
        if let Some(text) = value
            && text.trim_matches(is_xml_space).is_empty()
        {
            self.push(Rule::EmptyElement, path);
        }
    }

    fn token(&mut self, value: &str, path: &str) {
        if value.is_empty() {
            self.push(Rule::EmptyValue, path);
        } else if has_forbidden_characters(value) {
            self.push(Rule::ForbiddenCharacters, path).value = Some(value.to_string());
        }
    }

    fn alert(&mut self, alert: &Alert, path: &str) {
        self.token(&alert.identifier, &format!("{path}/identifier"));
        self.token(&alert.sender, &format!("{path}/sender"));
        self.optional_text(&alert.source, &format!("{path}/source"));
        self.optional_text(&alert.restriction, &format!("{path}/restriction"));
        self.optional_text(&alert.addresses, &format!("{path}/addresses"));
        self.optional_text(&alert.note, &format!("{path}/note"));
        self.optional_text(&alert.incidents, &format!("{path}/incidents"));
        for (i, code) in alert.codes.iter().enumerate() {
            if code.trim_matches(is_xml_space).is_empty() {
                self.push(Rule::EmptyElement, &format!("{path}/code[{}]", i + 1));
            }
        }
        let needs_references =
            matches!(alert.message_type, MessageType::Update | MessageType::Cancel | MessageType::Ack | MessageType::Error);
        if needs_references && alert.references.is_none() {
            let message_type_path = format!("{path}/msgType");
            let line = self.lines.line(&message_type_path);
            let finding = self.push(Rule::ReferencesRequired, &format!("{path}/references"));
            finding.value = Some(alert.message_type.as_str().to_string());
            finding.line = line;
        }
        let non_empty = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim_matches(is_xml_space).is_empty());
        let scope_line = self.lines.line(&format!("{path}/scope"));
        match alert.scope {
            Scope::Restricted if !non_empty(&alert.restriction) => {
                self.push(Rule::RestrictionRequired, &format!("{path}/restriction")).line = scope_line;
            }
            Scope::Private if !non_empty(&alert.addresses) => {
                self.push(Rule::AddressesRequired, &format!("{path}/addresses")).line = scope_line;
            }
            Scope::Public | Scope::Private if non_empty(&alert.restriction) => {
                self.push(Rule::RestrictionUnexpected, &format!("{path}/restriction")).value = Some(alert.scope.as_str().to_string());
            }
            _ => {}
        }
        for (i, info) in alert.infos.iter().enumerate() {
            self.info(alert, info, &format!("{path}/info[{}]", i + 1));
        }
        for signature in &alert.signatures {
            if signature.namespace.as_deref() != Some(XMLDSIG_NAMESPACE) {
                let finding = self.push(Rule::UnexpectedElement, &format!("{path}/{}", signature.name));
                finding.related = Some("alert".into());
            }
        }
    }

    fn info(&mut self, alert: &Alert, info: &Info, path: &str) {
        if info.categories.is_empty() {
            self.push(Rule::MissingElement, path).value = Some("category".into());
        }
        for (element, value) in [
            ("audience", &info.audience),
            ("senderName", &info.sender_name),
            ("headline", &info.headline),
            ("description", &info.description),
            ("instruction", &info.instruction),
            ("contact", &info.contact),
        ] {
            self.optional_text(value, &format!("{path}/{element}"));
        }
        if info.web.as_ref().is_some_and(|u| u.as_str().is_empty()) {
            self.push(Rule::EmptyElement, &format!("{path}/web"));
        }
        if let Some(expires) = info.expires {
            let expires_path = format!("{path}/expires");
            let mut compare = |other: CapDateTime, other_name: &str, before: Rule| match expires.timestamp().cmp(&other.timestamp()) {
                std::cmp::Ordering::Less => {
                    let finding = self.push(before, &expires_path);
                    finding.value = Some(expires.to_string());
                    finding.related = Some(other.to_string());
                }
                std::cmp::Ordering::Equal => {
                    let finding = self.push(Rule::ExpiresImmediately, &expires_path);
                    finding.value = Some(expires.to_string());
                    finding.related = Some(other_name.to_string());
                }
                std::cmp::Ordering::Greater => {}
            };
            compare(alert.sent, "sent", Rule::ExpiresBeforeSent);
            if let Some(effective) = info.effective
                && effective != alert.sent
            {
                compare(effective, "effective", Rule::ExpiresBeforeEffective);
            }
            if let Some(onset) = info.onset
                && onset.timestamp() > expires.timestamp()
            {
                let finding = self.push(Rule::OnsetAfterExpires, &format!("{path}/onset"));
                finding.value = Some(onset.to_string());
                finding.related = Some(expires.to_string());
            }
        }
        for (i, resource) in info.resources.iter().enumerate() {
            self.resource(resource, &format!("{path}/resource[{}]", i + 1));
        }
        for (i, area) in info.areas.iter().enumerate() {
            self.area(area, &format!("{path}/area[{}]", i + 1));
        }
    }

    fn resource(&mut self, resource: &Resource, path: &str) {
        if resource.uri.as_ref().is_some_and(|u| u.as_str().is_empty()) {
            self.push(Rule::EmptyElement, &format!("{path}/uri"));
        }
        if let Some(data) = &resource.deref_uri
            && !is_base64(data)
        {
            self.push(Rule::DerefUriEncoding, &format!("{path}/derefUri"));
        }
        if let Some(digest) = &resource.digest {
            let trimmed = digest.trim_matches(is_xml_space);
            if trimmed.len() != 40 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.push(Rule::DigestFormat, &format!("{path}/digest")).value = Some(digest.clone());
            }
        }
    }

    fn area(&mut self, area: &Area, path: &str) {
        match (area.altitude, area.ceiling) {
            (None, Some(_)) => {
                self.push(Rule::CeilingWithoutAltitude, &format!("{path}/ceiling"));
            }
            (Some(altitude), Some(ceiling)) if ceiling.feet() < altitude.feet() => {
                let finding = self.push(Rule::CeilingBelowAltitude, &format!("{path}/ceiling"));
                finding.value = Some(ceiling.to_string());
                finding.related = Some(altitude.to_string());
            }
            _ => {}
        }
    }
}

/// Whether `text` is base64 (standard alphabet, padding optional, XML whitespace and line breaks ignored).
pub(crate) fn is_base64(text: &str) -> bool {
    let mut padding = 0usize;
    let mut count = 0usize;
    for b in text.bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b'=' => padding += 1,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' if padding == 0 => {}
            _ => return false,
        }
        count += 1;
    }
    padding <= 2 && count > 0 && (padding == 0 || count.is_multiple_of(4))
}
