//! From an XML tree to the CAP model, leniently, reporting every deviation as a finding.
//!
//! This module owns the reading of CAP 1.2 elements: which elements may appear where, in which order and how often,
//! and how their text becomes typed values. It is lenient where real senders deviate (elements out of the schema's
//! order, CAP 1.0/1.1 namespaces, a `Z` instead of an offset) and reports each deviation with the element's path and
//! line, so a validator can reject what a lenient importer still reads.
//! It never panics on any input, never fails as a whole for a local problem (a bad polygon drops that polygon), and
//! never checks rules between elements: `check` does that on the finished model.

use std::collections::HashMap;

use crate::error::CapError;
use crate::finding::{Finding, Rule};
use crate::model::{Alert, Area, Info, NamedValue, Resource, XmlElement};
use crate::values::{
    Altitude, CapDateTime, Category, Certainty, Circle, DateTimeRepair, LanguageTag, MessageType, Polygon, References, ResponseType, Scope,
    Severity, Status, Urgency, Uri, is_xml_space,
};
use crate::xml::Node;

/// The CAP 1.2 namespace.
pub const CAP_1_2_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// The CAP 1.1 namespace, read leniently with a `cap_version` finding.
pub const CAP_1_1_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.1";
/// The CAP 1.0 namespace, read leniently with a `cap_version` finding.
pub const CAP_1_0_NAMESPACE: &str = "http://www.incident.com/cap/1.0";
/// The XML signature namespace, whose elements may follow the last `info`.
pub const XMLDSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XML Schema instance namespace, whose attributes (`xsi:schemaLocation`) are allowed anywhere.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The source line of each element path, for findings about a parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLines {
    lines: HashMap<String, u32>,
}

impl SourceLines {
    /// No lines: for alerts built in code.
    pub fn none() -> Self {
        Self::default()
    }

    /// The line of the element at `path`, or of its nearest ancestor that was in the document.
    pub fn line(&self, path: &str) -> Option<u32> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            match path.rfind('/') {
                Some(0) | None => return self.lines.get(path).copied(),
                Some(cut) => path = &path[..cut],
            }
        }
    }

    pub(crate) fn record(&mut self, path: &str, line: u32) {
        self.lines.entry(path.to_string()).or_insert(line);
    }

    /// The lines of the paths under `prefix`, with the prefix taken off (for CAP embedded in an EDXL envelope:
    /// `under("/edxlDistribution/…/embeddedXMLContent")` gives lines for `/alert/…` paths).
    pub fn under(&self, prefix: &str) -> SourceLines {
        let lines = self
            .lines
            .iter()
            .filter_map(|(path, line)| path.strip_prefix(prefix).filter(|rest| rest.starts_with('/')).map(|rest| (rest.to_string(), *line)))
            .collect();
        SourceLines { lines }
    }

    /// Every path of `other` moved under `prefix` (for CAP embedded in an EDXL envelope).
    pub(crate) fn absorb(&mut self, other: SourceLines, prefix: &str) {
        for (path, line) in other.lines {
            self.lines.entry(format!("{prefix}{path}")).or_insert(line);
        }
    }
}

/// How often a child element may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occurs {
    /// Exactly once.
    One,
    /// Zero or one time.
    Optional,
    /// Zero or more times.
    Many,
}

const ALERT_CHILDREN: &[(&str, Occurs)] = &[
    ("identifier", Occurs::One),
    ("sender", Occurs::One),
    ("sent", Occurs::One),
    ("status", Occurs::One),
    ("msgType", Occurs::One),
    ("source", Occurs::Optional),
    ("scope", Occurs::One),
    ("restriction", Occurs::Optional),
    ("addresses", Occurs::Optional),
    ("code", Occurs::Many),
    ("note", Occurs::Optional),
    ("references", Occurs::Optional),
    ("incidents", Occurs::Optional),
    ("info", Occurs::Many),
];

const INFO_CHILDREN: &[(&str, Occurs)] = &[
    ("language", Occurs::Optional),
    ("category", Occurs::Many),
    ("event", Occurs::One),
    ("responseType", Occurs::Many),
    ("urgency", Occurs::One),
    ("severity", Occurs::One),
    ("certainty", Occurs::One),
    ("audience", Occurs::Optional),
    ("eventCode", Occurs::Many),
    ("effective", Occurs::Optional),
    ("onset", Occurs::Optional),
    ("expires", Occurs::Optional),
    ("senderName", Occurs::Optional),
    ("headline", Occurs::Optional),
    ("description", Occurs::Optional),
    ("instruction", Occurs::Optional),
    ("web", Occurs::Optional),
    ("contact", Occurs::Optional),
    ("parameter", Occurs::Many),
    ("resource", Occurs::Many),
    ("area", Occurs::Many),
];

const RESOURCE_CHILDREN: &[(&str, Occurs)] = &[
    ("resourceDesc", Occurs::One),
    ("mimeType", Occurs::One),
    ("size", Occurs::Optional),
    ("uri", Occurs::Optional),
    ("derefUri", Occurs::Optional),
    ("digest", Occurs::Optional),
];

const AREA_CHILDREN: &[(&str, Occurs)] = &[
    ("areaDesc", Occurs::One),
    ("polygon", Occurs::Many),
    ("circle", Occurs::Many),
    ("geocode", Occurs::Many),
    ("altitude", Occurs::Optional),
    ("ceiling", Occurs::Optional),
];

const PAIR_CHILDREN: &[(&str, Occurs)] = &[("valueName", Occurs::One), ("value", Occurs::One)];

/// The children of one element, sorted into the slots of its schema.
pub(crate) struct Slots<'a> {
    /// One list per schema entry: the nodes with that name and their paths, in document order.
    by_slot: Vec<Vec<(&'a Node, String)>>,
    /// Elements of the one foreign namespace allowed after the schema's elements (XML signatures after `info`).
    pub foreign: Vec<&'a Node>,
}

impl<'a> Slots<'a> {
    pub(crate) fn all(&self, index: usize) -> &[(&'a Node, String)] {
        &self.by_slot[index]
    }

    pub(crate) fn first(&self, index: usize) -> Option<&(&'a Node, String)> {
        self.by_slot[index].first()
    }
}

/// The reader of one document: the findings and lines gathered so far.
pub(crate) struct AlertReader {
    /// The namespace the elements being read are in (for CAP: 1.2, or 1.0/1.1 read leniently, or none).
    pub namespace: Option<String>,
    pub findings: Vec<Finding>,
    pub lines: SourceLines,
}

impl AlertReader {
    /// Reads the `alert` element `root` at `path` (normally `/alert`).
    pub(crate) fn read(root: &Node, path: &str) -> (Option<Alert>, Vec<Finding>, SourceLines) {
        let mut reader = Self { namespace: root.namespace.clone(), findings: Vec::new(), lines: SourceLines::none() };
        reader.lines.record(path, root.line);
        let known = [Some(CAP_1_2_NAMESPACE), Some(CAP_1_1_NAMESPACE), Some(CAP_1_0_NAMESPACE), None];
        if root.name != "alert" || !known.contains(&root.namespace.as_deref()) {
            reader.findings.push(
                Finding::new(Rule::UnexpectedRoot, path)
                    .at_line(Some(root.line))
                    .with_value(root.qualified_name())
                    .with_related(format!("{{{CAP_1_2_NAMESPACE}}}alert")),
            );
            return (None, reader.findings, reader.lines);
        }
        match root.namespace.as_deref() {
            Some(CAP_1_2_NAMESPACE) => {}
            Some(other) => reader.findings.push(Finding::new(Rule::CapVersion, path).at_line(Some(root.line)).with_value(other)),
            None => {
                reader.findings.push(Finding::new(Rule::NamespaceMissing, path).at_line(Some(root.line)).with_related(CAP_1_2_NAMESPACE))
            }
        }
        let alert = reader.alert(root, path);
        (alert, reader.findings, reader.lines)
    }

    /// A reader for elements in `namespace`, with no findings yet.
    pub(crate) fn with_namespace(namespace: Option<&str>) -> Self {
        Self { namespace: namespace.map(str::to_string), findings: Vec::new(), lines: SourceLines::none() }
    }

    pub(crate) fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub(crate) fn check_attributes(&mut self, node: &Node, path: &str) {
        for attribute in &node.attributes {
            if attribute.namespace.as_deref() == Some(XSI_NAMESPACE) {
                continue;
            }
            self.push(Finding::new(Rule::UnexpectedAttribute, path).at_line(Some(node.line)).with_value(attribute.name.clone()));
        }
    }

    /// Sorts the children of a CAP element into the slots of `schema` (see `sort_in`).
    fn sort<'a>(&mut self, parent: &'a Node, parent_path: &str, schema: &[(&'static str, Occurs)], allow_signatures: bool) -> Slots<'a> {
        self.check_attributes(parent, parent_path);
        let namespace = self.namespace.clone();
        self.sort_in(parent, parent_path, namespace.as_deref(), schema, allow_signatures.then_some(XMLDSIG_NAMESPACE))
    }

    /// Sorts the children of `parent` into the slots of `schema` (names in `namespace`), reporting unknown, misplaced
    /// and repeated elements and stray text. Elements of the `trailing` namespace are collected apart and must come last.
    pub(crate) fn sort_in<'a>(
        &mut self,
        parent: &'a Node,
        parent_path: &str,
        namespace: Option<&str>,
        schema: &[(&'static str, Occurs)],
        trailing: Option<&str>,
    ) -> Slots<'a> {
        if let Some(text) = parent.stray_text() {
            self.push(Finding::new(Rule::UnexpectedContent, parent_path).at_line(Some(parent.line)).with_value(text));
        }
        let mut slots = Slots { by_slot: vec![Vec::new(); schema.len()], foreign: Vec::new() };
        let mut furthest: Option<usize> = None;
        let mut after_signature = false;
        // One order finding per element name and parent: a sender that puts 200 polygons after the geocodes made
        // one mistake, not 200.
        let mut reported_order: Vec<usize> = Vec::new();
        for child in parent.elements() {
            if child.namespace.as_deref() != namespace {
                if trailing.is_some() && child.namespace.as_deref() == trailing {
                    slots.foreign.push(child);
                    after_signature = true;
                    continue;
                }
                let path = format!("{parent_path}/{}", child.name);
                self.push(
                    Finding::new(Rule::UnexpectedElement, &path)
                        .at_line(Some(child.line))
                        .with_value(child.qualified_name())
                        .with_related(parent.name.clone()),
                );
                continue;
            }
            let Some(index) = schema.iter().position(|(name, _)| *name == child.name) else {
                let path = format!("{parent_path}/{}", child.name);
                self.push(Finding::new(Rule::UnexpectedElement, &path).at_line(Some(child.line)).with_related(parent.name.clone()));
                continue;
            };
            let (name, occurs) = schema[index];
            let count = slots.by_slot[index].len() + 1;
            let path = match occurs {
                Occurs::Many => format!("{parent_path}/{name}[{count}]"),
                Occurs::One | Occurs::Optional if count == 1 => format!("{parent_path}/{name}"),
                Occurs::One | Occurs::Optional => format!("{parent_path}/{name}[{count}]"),
            };
            self.lines.record(&path, child.line);
            if reported_order.contains(&index) {
                // Already reported for this parent.
            } else if after_signature {
                let trailing_name = slots.foreign.last().map_or_else(String::new, |n| n.name.clone());
                self.push(Finding::new(Rule::ElementOrder, &path).at_line(Some(child.line)).with_related(trailing_name));
                reported_order.push(index);
            } else if let Some(furthest_index) = furthest
                && index < furthest_index
            {
                self.push(Finding::new(Rule::ElementOrder, &path).at_line(Some(child.line)).with_related(schema[furthest_index].0));
                reported_order.push(index);
            }
            furthest = Some(furthest.map_or(index, |f| f.max(index)));
            if occurs != Occurs::Many && count > 1 {
                self.push(Finding::new(Rule::DuplicateElement, &path).at_line(Some(child.line)).with_related(parent.name.clone()));
                continue;
            }
            slots.by_slot[index].push((child, path));
        }
        for (index, (name, occurs)) in schema.iter().enumerate() {
            if *occurs == Occurs::One && slots.by_slot[index].is_empty() {
                self.push(Finding::new(Rule::MissingElement, parent_path).at_line(Some(parent.line)).with_value(*name));
            }
        }
        slots
    }

    /// The text of a leaf element, reporting attributes and child elements it must not have.
    pub(crate) fn text(&mut self, node: &Node, path: &str) -> String {
        self.check_attributes(node, path);
        if let Some(child) = node.elements().next() {
            self.push(Finding::new(Rule::UnexpectedContent, path).at_line(Some(child.line)).with_value(format!("<{}>", child.name)));
        }
        node.text()
    }

    pub(crate) fn string(&mut self, slot: Option<&(&Node, String)>) -> Option<String> {
        slot.map(|(node, path)| self.text(node, path))
    }

    pub(crate) fn strings(&mut self, slot: &[(&Node, String)]) -> Vec<String> {
        slot.iter().map(|(node, path)| self.text(node, path)).collect()
    }

    /// A typed value from a leaf's text; an error becomes a finding and the value is dropped.
    pub(crate) fn typed<T>(&mut self, node: &Node, path: &str, parse: impl FnOnce(&str) -> Result<T, CapError>) -> Option<T> {
        let text = self.text(node, path);
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error.into_finding(path, Some(node.line)));
                None
            }
        }
    }

    /// An enumeration value: surrounding whitespace is reported (the schema's `xs:string` keeps it) and forgiven.
    pub(crate) fn enumeration<T>(&mut self, node: &Node, path: &str, parse: fn(&str) -> Result<T, CapError>) -> Option<T> {
        let text = self.text(node, path);
        let trimmed = text.trim_matches(is_xml_space);
        if trimmed.len() != text.len() {
            self.push(Finding::new(Rule::ValueWhitespace, path).at_line(Some(node.line)).with_value(text.clone()));
        }
        match parse(trimmed) {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error.into_finding(path, Some(node.line)));
                None
            }
        }
    }

    pub(crate) fn date_time(&mut self, slot: Option<&(&Node, String)>) -> Option<CapDateTime> {
        let (node, path) = slot?;
        let text = self.text(node, path);
        match CapDateTime::parse_lenient(&text) {
            Ok((value, repair)) => {
                let rule = match repair {
                    None => return Some(value),
                    Some(DateTimeRepair::MissingOffset) => Rule::DatetimeTimezone,
                    Some(DateTimeRepair::FractionalSeconds) => Rule::DatetimeFraction,
                };
                self.push(Finding::new(rule, path.as_str()).at_line(Some(node.line)).with_value(text));
                Some(value)
            }
            Err(error) => {
                self.push(error.into_finding(path, Some(node.line)));
                None
            }
        }
    }

    fn alert(&mut self, node: &Node, path: &str) -> Option<Alert> {
        let slots = self.sort(node, path, ALERT_CHILDREN, true);
        let identifier = self.string(slots.first(0));
        let sender = self.string(slots.first(1));
        let sent = self.date_time(slots.first(2));
        let status = slots.first(3).and_then(|(n, p)| self.enumeration(n, p, Status::parse));
        let message_type = slots.first(4).and_then(|(n, p)| self.enumeration(n, p, MessageType::parse));
        let source = self.string(slots.first(5));
        let scope = slots.first(6).and_then(|(n, p)| self.enumeration(n, p, Scope::parse));
        let restriction = self.string(slots.first(7));
        let addresses = self.string(slots.first(8));
        let codes = self.strings(slots.all(9));
        let note = self.string(slots.first(10));
        let references = slots.first(11).and_then(|(n, p)| self.typed(n, p, References::parse));
        let incidents = self.string(slots.first(12));
        let infos = slots.all(13).iter().filter_map(|(n, p)| self.info(n, p)).collect();
        let signatures: Vec<XmlElement> = slots.foreign.iter().map(|n| n.to_xml_element()).collect();
        Some(Alert {
            identifier: identifier?,
            sender: sender?,
            sent: sent?,
            status: status?,
            message_type: message_type?,
            source,
            scope: scope?,
            restriction,
            addresses,
            codes,
            note,
            references,
            incidents,
            infos,
            signatures,
        })
    }

    fn info(&mut self, node: &Node, path: &str) -> Option<Info> {
        let slots = self.sort(node, path, INFO_CHILDREN, false);
        let language = slots.first(0).and_then(|(n, p)| self.typed(n, p, LanguageTag::parse));
        let mut categories: Vec<Category> = slots.all(1).iter().filter_map(|(n, p)| self.enumeration(n, p, Category::parse)).collect();
        if slots.all(1).is_empty() {
            self.push(Finding::new(Rule::MissingElement, path).at_line(Some(node.line)).with_value("category"));
        }
        if categories.is_empty() {
            // The schema requires a category; `Other` keeps the info, and the finding above or the enumeration
            // findings say what was wrong.
            categories.push(Category::Other);
        }
        let event = self.string(slots.first(2));
        let response_types = slots.all(3).iter().filter_map(|(n, p)| self.enumeration(n, p, ResponseType::parse)).collect();
        let urgency = slots.first(4).and_then(|(n, p)| self.enumeration(n, p, Urgency::parse));
        let severity = slots.first(5).and_then(|(n, p)| self.enumeration(n, p, Severity::parse));
        let certainty = slots.first(6).and_then(|(n, p)| self.enumeration(n, p, Certainty::parse));
        let audience = self.string(slots.first(7));
        let event_codes = slots.all(8).iter().filter_map(|(n, p)| self.pair(n, p)).collect();
        let effective = self.date_time(slots.first(9));
        let onset = self.date_time(slots.first(10));
        let expires = self.date_time(slots.first(11));
        let sender_name = self.string(slots.first(12));
        let headline = self.string(slots.first(13));
        let description = self.string(slots.first(14));
        let instruction = self.string(slots.first(15));
        let web = slots.first(16).and_then(|(n, p)| self.typed(n, p, Uri::parse));
        let contact = self.string(slots.first(17));
        let parameters = slots.all(18).iter().filter_map(|(n, p)| self.pair(n, p)).collect();
        let resources = slots.all(19).iter().filter_map(|(n, p)| self.resource(n, p)).collect();
        let areas = slots.all(20).iter().filter_map(|(n, p)| self.area(n, p)).collect();
        Some(Info {
            language,
            categories,
            event: event?,
            response_types,
            // A missing or unreadable urgency, severity or certainty has been reported; reading it as `Unknown`
            // keeps the rest of the info, which real senders that forget one of them still mean.
            urgency: urgency.unwrap_or(Urgency::Unknown),
            severity: severity.unwrap_or(Severity::Unknown),
            certainty: certainty.unwrap_or(Certainty::Unknown),
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
        })
    }

    fn resource(&mut self, node: &Node, path: &str) -> Option<Resource> {
        let slots = self.sort(node, path, RESOURCE_CHILDREN, false);
        let description = self.string(slots.first(0));
        let mime_type = self.string(slots.first(1));
        let size = slots.first(2).and_then(|(n, p)| self.typed(n, p, parse_size));
        let uri = slots.first(3).and_then(|(n, p)| self.typed(n, p, Uri::parse));
        let deref_uri = self.string(slots.first(4));
        let digest = self.string(slots.first(5));
        Some(Resource { description: description?, mime_type: mime_type?, size, uri, deref_uri, digest })
    }

    fn area(&mut self, node: &Node, path: &str) -> Option<Area> {
        let slots = self.sort(node, path, AREA_CHILDREN, false);
        let description = self.string(slots.first(0));
        let polygons = slots.all(1).iter().filter_map(|(n, p)| self.geometry(n, p, Polygon::parse)).collect();
        let circles = slots.all(2).iter().filter_map(|(n, p)| self.geometry(n, p, Circle::parse)).collect();
        let geocodes = slots.all(3).iter().filter_map(|(n, p)| self.pair(n, p)).collect();
        let altitude = slots.first(4).and_then(|(n, p)| self.typed(n, p, |t| Altitude::parse(t, "altitude")));
        let ceiling = slots.first(5).and_then(|(n, p)| self.typed(n, p, |t| Altitude::parse(t, "ceiling")));
        Some(Area { description: description?, polygons, circles, geocodes, altitude, ceiling })
    }

    /// A polygon or circle; an empty element says nothing, so it is reported as a warning and left out.
    fn geometry<T>(&mut self, node: &Node, path: &str, parse: fn(&str) -> Result<T, CapError>) -> Option<T> {
        if node.elements().next().is_none() && node.text().trim_matches(is_xml_space).is_empty() {
            self.check_attributes(node, path);
            self.push(Finding::new(Rule::EmptyElement, path).at_line(Some(node.line)));
            return None;
        }
        self.typed(node, path, parse)
    }

    fn pair(&mut self, node: &Node, path: &str) -> Option<NamedValue> {
        let slots = self.sort(node, path, PAIR_CHILDREN, false);
        let name = self.string(slots.first(0));
        let value = self.string(slots.first(1));
        Some(NamedValue { name: name?, value: value? })
    }
}

/// Parses an `xs:integer` number of bytes: optional `+`, digits, surrounding whitespace allowed.
pub(crate) fn parse_size(text: &str) -> Result<u64, CapError> {
    let trimmed = text.trim_matches(is_xml_space);
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CapError::invalid(Rule::InvalidNumber, "size", text));
    }
    digits.parse::<u64>().map_err(|_| CapError::invalid(Rule::InvalidNumber, "size", text))
}
