//! CAP 1.2, its Chinese profile GB/T 35965.1, and EDXL-DE 2.0 envelopes: model, parser, emitter and checks.
//!
//! This crate owns the warning message formats Gridline speaks with other systems. It reads any conforming CAP 1.2
//! document and, leniently, what real senders publish (with a finding for every deviation: element path, line, rule);
//! it writes CAP 1.2 that validates against the OASIS schema; it checks the rules of CAP 1.2 §3 that the schema cannot
//! express, and the contents GB/T 35965.1 and the Emergency Response Law Art. 64 require of a Chinese warning; it wraps
//! CAP in EDXL-DE 2.0 distribution envelopes and takes it out again; and it converts CAP to and from a JSON form.
//!
//! It is a leaf library: no IO besides the functions that take bytes or a reader, no clock, no threads, no database,
//! no network. Bad input is data: parsing returns findings, never panics, and reserves `Err` for a failing reader.
//!
//! ```
//! let xml = br#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
//!   <identifier>KSTO1055887203</identifier><sender>KSTO@NWS.NOAA.GOV</sender>
//!   <sent>2003-06-17T14:57:00-07:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
//! </alert>"#;
//! let parsed = cap::parse_alert(xml);
//! assert!(parsed.is_conforming());
//! let alert = parsed.alert.unwrap();
//! assert_eq!(cap::parse_alert(cap::emit_alert(&alert).as_bytes()).alert, Some(alert));
//! ```

mod check;
mod emit;
mod error;
mod finding;
mod model;
mod parse;
mod values;
mod xml;

pub mod edxl;
pub mod gbt35965;
pub mod ipaws;
pub mod json;

use std::io::Read;

pub use crate::check::check_alert;
pub use crate::emit::emit_alert;
pub use crate::error::CapError;
pub use crate::finding::{Finding, FindingLevel, Language, Rule};
pub use crate::model::{Alert, Area, Info, NamedValue, Resource, XmlAttribute, XmlContent, XmlElement};
pub use crate::parse::{CAP_1_0_NAMESPACE, CAP_1_1_NAMESPACE, CAP_1_2_NAMESPACE, SourceLines, XMLDSIG_NAMESPACE};
pub use crate::values::{
    Altitude, CapDateTime, Category, Certainty, Circle, DateTimeRepair, LanguageTag, MessageType, Point, Polygon, Reference, References,
    ResponseType, Scope, Severity, Status, Urgency, Uri, UtcOffset,
};

/// A parsed document: the alert if one could be built, every finding, and the source line of every element.
#[derive(Debug, Clone)]
pub struct ParsedAlert {
    /// The alert, when the document held one with every required element readable. It may still have findings.
    pub alert: Option<Alert>,
    /// Every finding, sorted by line.
    pub findings: Vec<Finding>,
    /// The source line of each element path, for further checks (such as `gbt35965::check`).
    pub lines: SourceLines,
}

impl ParsedAlert {
    /// Whether the document is a conforming CAP 1.2 alert: it was read and has no error finding.
    pub fn is_conforming(&self) -> bool {
        self.alert.is_some() && !self.findings.iter().any(Finding::is_error)
    }

    /// The error findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }

    /// The alert if the document conforms, else `CapError::NotConforming` with every finding.
    pub fn into_conforming(self) -> Result<Alert, CapError> {
        match self.alert {
            Some(alert) if !self.findings.iter().any(Finding::is_error) => Ok(alert),
            _ => Err(CapError::NotConforming { findings: self.findings }),
        }
    }
}

/// Parses a CAP 1.2 document and checks it (schema rules and CAP 1.2 §3), leniently: see `ParsedAlert`.
pub fn parse_alert(bytes: &[u8]) -> ParsedAlert {
    let root = match xml::read_document(bytes) {
        Ok(root) => root,
        Err(finding) => return ParsedAlert { alert: None, findings: vec![finding], lines: SourceLines::none() },
    };
    let (alert, mut findings, lines) = parse::AlertReader::read(&root, "/alert");
    if let Some(alert) = &alert {
        findings.extend(check_alert(alert, &lines));
    }
    sort_findings(&mut findings);
    ParsedAlert { alert, findings, lines }
}

/// Reads a whole CAP document from `reader` and parses it; `Err` only when the reader fails.
pub fn parse_alert_reader(mut reader: impl Read) -> Result<ParsedAlert, CapError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(parse_alert(&bytes))
}

/// Sorts findings by line, findings without a line last, keeping the order of discovery otherwise.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_key(|f| f.line.unwrap_or(u32::MAX));
}
