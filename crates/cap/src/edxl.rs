//! EDXL-DE 2.0 distribution envelopes: wrap a CAP alert for exchange with other systems, and unwrap it again.
//!
//! This module owns the EDXL-DE 2.0 envelope (`edxlDistribution`): its header (distribution and sender ids, times,
//! status, kind), the descriptor Gridline uses (language, roles and keywords, explicit addresses, target areas,
//! incident ids) and content objects that embed XML, CAP or otherwise, or carry other content by MIME type.
//! Target areas are GML polygons and circles in `latitude longitude` order (EPSG:4326) or geocodes, as the EDXL common
//! types define them; other target areas and foreign payloads are carried through as XML.
//! Emitted envelopes validate against the OASIS EDXL-DE 2.0 schema set. Embedded CAP is read and checked by the CAP
//! reader, with its findings' paths under the envelope.
//! Read past and not kept: extensions (`ext:extension`), links, `other` elements, `keyXMLContent`, and the descriptor's
//! `combinedConfidentiality`, `urgency`, `severity`, `certainty` and `incidentDescription` (the CAP inside says these),
//! and the content descriptor's elements other than `contentDescription`.
//! No IO, no signature handling, no network.

use crate::check::check_alert;
use crate::emit::write_alert;
use crate::error::CapError;
use crate::finding::{Finding, Rule};
use crate::model::{Alert, XmlElement};
use crate::parse::{AlertReader, CAP_1_0_NAMESPACE, CAP_1_1_NAMESPACE, CAP_1_2_NAMESPACE, Occurs, SourceLines, parse_size};
use crate::values::{CapDateTime, Circle, LanguageTag, MessageType, Point, Polygon, Status, cap_enum, is_xml_space};
use crate::xml::{Node, Writer, read_document};

/// The EDXL-DE 2.0 namespace.
pub const EDXL_DE_2_0_NAMESPACE: &str = "urn:oasis:names:tc:emergency:EDXL:DE:2.0";
/// The EDXL common types namespace (`ct:`), for value lists and geocodes.
pub const EDXL_CT_NAMESPACE: &str = "urn:oasis:names:tc:emergency:edxl:ct:1.0";
/// The EDXL geospatial namespace (`gsf:`).
pub const EDXL_GSF_NAMESPACE: &str = "urn:oasis:names:tc:emergency:edxl:gsf:1.0";
/// The GML 3.2 namespace of the EDXL geospatial profile.
pub const GML_NAMESPACE: &str = "http://www.opengis.net/gml/3.2";
/// The EDXL extension namespace, whose elements are read past.
pub const EDXL_EXTENSION_NAMESPACE: &str = "urn:oasis:names:tc:emergency:edxl:extension:1.0";
const XLINK_NAMESPACE: &str = "http://www.w3.org/1999/xlink";
/// Latitude-first WGS 84, the axis order of CAP.
const EPSG_4326: &str = "urn:ogc:def:crs:EPSG::4326";
/// The EPSG unit of measure "kilometre".
const UOM_KILOMETRE: &str = "urn:ogc:def:uom:EPSG::9036";
/// The EPSG unit of measure "metre".
const UOM_METRE: &str = "urn:ogc:def:uom:EPSG::9001";
/// The longest value of `ct:EDXLStringType`.
const MAX_STRING: usize = 1023;

cap_enum! {
    /// `distributionStatus`: the actionability of the message.
    DistributionStatus, "distributionStatus" {
        /// Real-world information for action.
        Actual = "Actual",
        /// Simulated information for exercise participants.
        Exercise = "Exercise",
        /// Messages regarding or supporting network functions.
        System = "System",
        /// Discardable messages for technical testing only.
        Test = "Test",
        /// The status is not known.
        Unknown = "Unknown",
        /// No value applies.
        NoAppropriateDefault = "NoAppropriateDefault",
    }
}

cap_enum! {
    /// `distributionKind`: the function of the message.
    DistributionKind, "distributionKind" {
        /// New information regarding an incident or activity.
        Report = "Report",
        /// Updated information superseding a previous message.
        Update = "Update",
        /// A cancellation or revocation of a previous message.
        Cancel = "Cancel",
        /// A request for resources, information or action.
        Request = "Request",
        /// A response to a previous request.
        Response = "Response",
        /// A commitment of resources or assistance.
        Dispatch = "Dispatch",
        /// Acknowledgment of receipt from an intermediate server.
        Ack = "Ack",
        /// Rejection of a message (by an intermediate server).
        Error = "Error",
        /// Configuration of a sensor.
        SensorConfiguration = "SensorConfiguration",
        /// Control of a sensor.
        SensorControl = "SensorControl",
        /// Status of a sensor.
        SensorStatus = "SensorStatus",
        /// A detection by a sensor.
        SensorDetection = "SensorDetection",
        /// The kind is not known.
        Unknown = "Unknown",
        /// No value applies.
        NoAppropriateDefault = "NoAppropriateDefault",
    }
}

cap_enum! {
    /// `targetAreas/areaKind`: what the target areas describe.
    AreaKind, "areaKind" {
        /// The area the information is about.
        SourceTargetArea = "SourceTargetArea",
        /// The area the message is to be distributed to.
        DistributionTargetArea = "DistributionTargetArea",
        /// Another kind of area.
        OtherTargetArea = "OtherTargetArea",
        /// Not known.
        Unknown = "Unknown",
        /// No value applies.
        NoAppropriateDefault = "NoAppropriateDefault",
    }
}

cap_enum! {
    /// `targetAreas/areaGrouping`: how the target areas combine.
    AreaGrouping, "areaGrouping" {
        /// The area common to all.
        Intersection = "Intersection",
        /// The area covered by any.
        Union = "Union",
        /// The area covered by exactly one.
        ExclusiveOr = "ExclusiveOr",
        /// Everything outside.
        Complement = "Complement",
        /// Another grouping.
        OtherGroupingType = "OtherGroupingType",
        /// Not known.
        Unknown = "Unknown",
        /// No value applies.
        NoAppropriateDefault = "NoAppropriateDefault",
    }
}

/// An EDXL-DE 2.0 `edxlDistribution`.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// The unique identifier of this distribution message (`distributionID`).
    pub distribution_id: String,
    /// The unique identifier of the sender (`senderID`).
    pub sender_id: String,
    /// When the distribution was sent (`dateTimeSent`).
    pub date_time_sent: CapDateTime,
    /// When the distribution expires (`dateTimeExpires`).
    pub date_time_expires: CapDateTime,
    /// The actionability (`distributionStatus`).
    pub distribution_status: DistributionStatus,
    /// The function (`distributionKind`).
    pub distribution_kind: DistributionKind,
    /// Routing information (`descriptor`).
    pub descriptor: Option<Descriptor>,
    /// The payloads (`content/contentObject`).
    pub content_objects: Vec<ContentObject>,
}

/// The `descriptor` of a distribution: who it is for and what it is about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Descriptor {
    /// The language of the distribution.
    pub language: Option<LanguageTag>,
    /// Roles of the sender (`senderRole`).
    pub sender_roles: Vec<ValueList>,
    /// Roles of the intended recipients (`recipientRole`).
    pub recipient_roles: Vec<ValueList>,
    /// Keywords (`keyword`).
    pub keywords: Vec<ValueList>,
    /// Explicit recipients (`explicitAddress`).
    pub explicit_addresses: Vec<ExplicitAddress>,
    /// Target areas (`targetAreas`).
    pub target_areas: Vec<TargetAreas>,
    /// Incident ids (`incidentID`).
    pub incident_ids: Vec<String>,
}

/// A `ct:ValueListType`: a list URI and one or more values from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueList {
    /// The URI (or name) of the value list (`ct:ValueListURI`).
    pub list_uri: String,
    /// The values (`ct:Value`).
    pub values: Vec<String>,
}

/// An `explicitAddress`: an addressing scheme and addresses in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitAddress {
    /// The scheme, such as `e-mail` or `hubex` (`explicitAddressScheme`).
    pub scheme: String,
    /// One or more addresses (`explicitAddressValue`).
    pub values: Vec<String>,
}

/// A `targetAreas` group.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetAreas {
    /// What the areas describe.
    pub kind: AreaKind,
    /// How they combine.
    pub grouping: AreaGrouping,
    /// The areas: at least one in a conforming envelope.
    pub areas: Vec<TargetArea>,
}

/// One `targetArea`.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetArea {
    /// A GML polygon (`gsf:EDXLGeoLocation/gml:Polygon`).
    Polygon(Polygon),
    /// A GML circle (`gsf:EDXLGeoLocation/gml:CircleByCenterPoint`).
    Circle(Circle),
    /// A geocode (`geoPoliticalLocation/ct:GeoCode`).
    GeoCode(ValueList),
    /// Any other target area (point, envelope, line, address), carried through as XML.
    Other(XmlElement),
}

/// A `contentObject`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentObject {
    /// A description of the content (`contentDescriptor/contentDescription`).
    pub description: Option<String>,
    /// The payload.
    pub content: Content,
}

/// The payload of a content object.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A CAP 1.2 alert embedded as XML.
    Cap(Box<Alert>),
    /// Any other embedded XML, carried through unchanged.
    Xml(XmlElement),
    /// Content other than XML (`otherContent`).
    Other(OtherContent),
}

/// `otherContent`: a payload by MIME type, inline in base64 or by URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherContent {
    /// The MIME type.
    pub mime_type: String,
    /// The size in bytes.
    pub size: Option<u64>,
    /// The digest, base64.
    pub digest: Option<String>,
    /// Where to get it.
    pub uri: Option<String>,
    /// The content, base64 (`contentData`).
    pub content_data: Option<String>,
}

impl Distribution {
    /// The CAP alerts of the content objects, in order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.content_objects.iter().filter_map(|o| match &o.content {
            Content::Cap(alert) => Some(alert.as_ref()),
            _ => None,
        })
    }

    /// The CAP alerts, taken out of the envelope.
    pub fn into_alerts(self) -> Vec<Alert> {
        self.content_objects
            .into_iter()
            .filter_map(|o| match o.content {
                Content::Cap(alert) => Some(*alert),
                _ => None,
            })
            .collect()
    }
}

/// How to wrap an alert; every field left empty takes its value from the alert.
#[derive(Debug, Clone, Default)]
pub struct WrapOptions {
    /// `distributionID`; default: the alert's identifier.
    pub distribution_id: Option<String>,
    /// `senderID`; default: the alert's sender.
    pub sender_id: Option<String>,
    /// `dateTimeSent`; default: the alert's `sent`.
    pub date_time_sent: Option<CapDateTime>,
    /// `dateTimeExpires`; default: the latest `expires` of the alert's infos when it is later than `dateTimeSent`,
    /// else 24 hours after `dateTimeSent` (an envelope must expire after it is sent).
    pub date_time_expires: Option<CapDateTime>,
    /// Explicit recipients.
    pub explicit_addresses: Vec<ExplicitAddress>,
    /// Leave out the target area made of the alert's polygons, circles and geocodes.
    pub without_target_area: bool,
}

/// Wraps an alert in a distribution envelope: status and kind follow the alert's status and message type, and the
/// alert's polygons, circles and geocodes become one `DistributionTargetArea` union (unless asked not to).
pub fn wrap(alert: Alert, options: &WrapOptions) -> Result<Distribution, CapError> {
    let date_time_sent = options.date_time_sent.unwrap_or(alert.sent);
    let latest_expires = alert.infos.iter().filter_map(|i| i.expires).max_by_key(|e| e.timestamp());
    let date_time_expires = match (options.date_time_expires, latest_expires) {
        (Some(expires), _) => expires,
        (None, Some(expires)) if expires.timestamp() > date_time_sent.timestamp() => expires,
        (None, _) => date_time_sent.plus_hours(24)?,
    };
    let distribution_status = match alert.status {
        Status::Actual => DistributionStatus::Actual,
        Status::Exercise => DistributionStatus::Exercise,
        Status::System => DistributionStatus::System,
        Status::Test => DistributionStatus::Test,
        Status::Draft => DistributionStatus::NoAppropriateDefault,
    };
    let distribution_kind = match alert.message_type {
        MessageType::Alert => DistributionKind::Report,
        MessageType::Update => DistributionKind::Update,
        MessageType::Cancel => DistributionKind::Cancel,
        MessageType::Ack => DistributionKind::Ack,
        MessageType::Error => DistributionKind::Error,
    };
    let mut areas = Vec::new();
    if !options.without_target_area {
        for area in alert.infos.iter().flat_map(|i| &i.areas) {
            areas.extend(area.polygons.iter().cloned().map(TargetArea::Polygon));
            areas.extend(area.circles.iter().copied().map(TargetArea::Circle));
            areas.extend(
                area.geocodes.iter().map(|g| TargetArea::GeoCode(ValueList { list_uri: g.name.clone(), values: vec![g.value.clone()] })),
            );
        }
    }
    let target_areas = if areas.is_empty() {
        Vec::new()
    } else {
        vec![TargetAreas { kind: AreaKind::DistributionTargetArea, grouping: AreaGrouping::Union, areas }]
    };
    let descriptor = Descriptor {
        language: alert.infos.first().and_then(|i| i.language.clone()),
        explicit_addresses: options.explicit_addresses.clone(),
        target_areas,
        incident_ids: alert.incidents.as_deref().map(split_quoted).unwrap_or_default(),
        ..Descriptor::default()
    };
    let description = alert.infos.first().and_then(|i| i.headline.clone().or_else(|| Some(i.event.clone())));
    Ok(Distribution {
        distribution_id: options.distribution_id.clone().unwrap_or_else(|| alert.identifier.clone()),
        sender_id: options.sender_id.clone().unwrap_or_else(|| alert.sender.clone()),
        date_time_sent,
        date_time_expires,
        distribution_status,
        distribution_kind,
        descriptor: Some(descriptor),
        content_objects: vec![ContentObject { description, content: Content::Cap(Box::new(alert)) }],
    })
}

/// Splits a CAP list of space-separated values, where values containing spaces are in double quotes.
pub fn split_quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if is_xml_space(c) && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Writes a distribution as an EDXL-DE 2.0 document.
pub fn emit_distribution(distribution: &Distribution) -> String {
    let mut w = Writer::new();
    w.open(
        "edxlDistribution",
        &[
            ("xmlns", EDXL_DE_2_0_NAMESPACE),
            ("xmlns:ct", EDXL_CT_NAMESPACE),
            ("xmlns:gsf", EDXL_GSF_NAMESPACE),
            ("xmlns:gml", GML_NAMESPACE),
            ("xmlns:xlink", XLINK_NAMESPACE),
            ("xlink:type", "extended"),
        ],
    );
    w.leaf("distributionID", &distribution.distribution_id);
    w.leaf("senderID", &distribution.sender_id);
    w.leaf("dateTimeSent", &distribution.date_time_sent.to_string());
    w.leaf("dateTimeExpires", &distribution.date_time_expires.to_string());
    w.leaf("distributionStatus", distribution.distribution_status.as_str());
    w.leaf("distributionKind", distribution.distribution_kind.as_str());
    if let Some(descriptor) = &distribution.descriptor {
        write_descriptor(&mut w, descriptor);
    }
    if !distribution.content_objects.is_empty() {
        w.open("content", &[("xlink:type", "resource")]);
        for object in &distribution.content_objects {
            w.open("contentObject", &[("xlink:type", "resource")]);
            if let Some(description) = &object.description {
                w.open("contentDescriptor", &[]);
                w.leaf("contentDescription", description);
                w.close("contentDescriptor");
            }
            match &object.content {
                Content::Cap(alert) => {
                    w.open("contentXML", &[]);
                    w.open("embeddedXMLContent", &[]);
                    write_alert(&mut w, alert);
                    w.close("embeddedXMLContent");
                    w.close("contentXML");
                }
                Content::Xml(element) => {
                    w.open("contentXML", &[]);
                    w.open("embeddedXMLContent", &[]);
                    w.foreign(element, Some(EDXL_DE_2_0_NAMESPACE));
                    w.close("embeddedXMLContent");
                    w.close("contentXML");
                }
                Content::Other(other) => {
                    w.open("otherContent", &[]);
                    w.leaf("mimeType", &other.mime_type);
                    if let Some(size) = other.size {
                        w.leaf("size", &size.to_string());
                    }
                    if let Some(digest) = &other.digest {
                        w.leaf("digest", digest);
                    }
                    if let Some(uri) = &other.uri {
                        w.leaf("uri", uri);
                    }
                    if let Some(data) = &other.content_data {
                        w.leaf("contentData", data);
                    }
                    w.close("otherContent");
                }
            }
            w.close("contentObject");
        }
        w.close("content");
    }
    w.close("edxlDistribution");
    w.out
}

fn write_value_list(w: &mut Writer, name: &str, list: &ValueList) {
    w.open(name, &[]);
    w.leaf("ct:ValueListURI", &list.list_uri);
    for value in &list.values {
        w.leaf("ct:Value", value);
    }
    w.close(name);
}

fn write_descriptor(w: &mut Writer, descriptor: &Descriptor) {
    w.open("descriptor", &[("xlink:type", "resource")]);
    if let Some(language) = &descriptor.language {
        w.leaf("language", language.as_str());
    }
    for role in &descriptor.sender_roles {
        write_value_list(w, "senderRole", role);
    }
    for role in &descriptor.recipient_roles {
        write_value_list(w, "recipientRole", role);
    }
    for keyword in &descriptor.keywords {
        write_value_list(w, "keyword", keyword);
    }
    for address in &descriptor.explicit_addresses {
        w.open("explicitAddress", &[]);
        w.leaf("explicitAddressScheme", &address.scheme);
        for value in &address.values {
            w.leaf("explicitAddressValue", value);
        }
        w.close("explicitAddress");
    }
    let mut gml_id = 0usize;
    for group in &descriptor.target_areas {
        w.open("targetAreas", &[]);
        w.leaf("areaKind", group.kind.as_str());
        w.leaf("areaGrouping", group.grouping.as_str());
        for area in &group.areas {
            w.open("targetArea", &[]);
            match area {
                TargetArea::Polygon(polygon) => {
                    gml_id += 1;
                    let id = format!("polygon-{gml_id}");
                    w.open("gsf:EDXLGeoLocation", &[]);
                    w.open("gml:Polygon", &[("gml:id", &id), ("srsName", EPSG_4326)]);
                    w.open("gml:exterior", &[]);
                    w.open("gml:LinearRing", &[]);
                    for point in polygon.points() {
                        w.leaf("gml:pos", &format!("{} {}", point.lat(), point.lon()));
                    }
                    w.close("gml:LinearRing");
                    w.close("gml:exterior");
                    w.close("gml:Polygon");
                    w.close("gsf:EDXLGeoLocation");
                }
                TargetArea::Circle(circle) => {
                    w.open("gsf:EDXLGeoLocation", &[]);
                    w.open("gml:CircleByCenterPoint", &[("numArc", "1")]);
                    w.leaf_with("gml:pos", &[("srsName", EPSG_4326)], &format!("{} {}", circle.center().lat(), circle.center().lon()));
                    w.leaf_with("gml:radius", &[("uom", UOM_KILOMETRE)], &circle.radius_km().to_string());
                    w.close("gml:CircleByCenterPoint");
                    w.close("gsf:EDXLGeoLocation");
                }
                TargetArea::GeoCode(list) => {
                    w.open("geoPoliticalLocation", &[]);
                    write_value_list(w, "ct:GeoCode", list);
                    w.close("geoPoliticalLocation");
                }
                TargetArea::Other(element) => w.foreign(element, Some(EDXL_DE_2_0_NAMESPACE)),
            }
            w.close("targetArea");
        }
        w.close("targetAreas");
    }
    for id in &descriptor.incident_ids {
        w.leaf("incidentID", id);
    }
    w.close("descriptor");
}

/// A parsed envelope: the distribution if one could be built, every finding (embedded CAP included), and lines.
#[derive(Debug, Clone)]
pub struct ParsedDistribution {
    /// The distribution, when the envelope's required elements were readable.
    pub distribution: Option<Distribution>,
    /// Every finding, sorted by line; embedded CAP findings have paths under the envelope.
    pub findings: Vec<Finding>,
    /// The source line of each element path.
    pub lines: SourceLines,
    /// For each alert of `distribution.alerts()`, in order, the path of the element that embeds it
    /// (`…/embeddedXMLContent`): its findings' paths start with it, and `lines.under(path)` gives its own lines.
    pub alert_paths: Vec<String>,
}

impl ParsedDistribution {
    /// Whether the envelope and every embedded alert conform.
    pub fn is_conforming(&self) -> bool {
        self.distribution.is_some() && !self.findings.iter().any(Finding::is_error)
    }
}

const DISTRIBUTION_CHILDREN: &[(&str, Occurs)] = &[
    ("distributionID", Occurs::One),
    ("senderID", Occurs::One),
    ("dateTimeSent", Occurs::One),
    ("dateTimeExpires", Occurs::One),
    ("distributionStatus", Occurs::One),
    ("distributionKind", Occurs::One),
    ("descriptor", Occurs::Optional),
    ("content", Occurs::Optional),
    ("other", Occurs::Many),
];

const DESCRIPTOR_CHILDREN: &[(&str, Occurs)] = &[
    ("combinedConfidentiality", Occurs::Optional),
    ("language", Occurs::Optional),
    ("senderRole", Occurs::Many),
    ("recipientRole", Occurs::Many),
    ("keyword", Occurs::Many),
    ("explicitAddress", Occurs::Many),
    ("targetAreas", Occurs::Many),
    ("urgency", Occurs::Optional),
    ("severity", Occurs::Optional),
    ("certainty", Occurs::Optional),
    ("incidentID", Occurs::Many),
    ("incidentDescription", Occurs::Many),
    ("link", Occurs::Many),
];

const CONTENT_OBJECT_CHILDREN: &[(&str, Occurs)] = &[
    ("contentDescriptor", Occurs::Optional),
    ("contentXML", Occurs::Optional),
    ("otherContent", Occurs::Optional),
    ("other", Occurs::Many),
];

const CONTENT_DESCRIPTOR_CHILDREN: &[(&str, Occurs)] = &[
    ("contentDescription", Occurs::Optional),
    ("contentKeyword", Occurs::Many),
    ("originatorRole", Occurs::Many),
    ("consumerRole", Occurs::Many),
    ("contentID", Occurs::Many),
    ("confidentiality", Occurs::Optional),
    ("contentLanguage", Occurs::Optional),
];

const OTHER_CONTENT_CHILDREN: &[(&str, Occurs)] = &[
    ("mimeType", Occurs::One),
    ("size", Occurs::Optional),
    ("digest", Occurs::Optional),
    ("uri", Occurs::Optional),
    ("contentData", Occurs::Optional),
];

const VALUE_LIST_CHILDREN: &[(&str, Occurs)] = &[("ValueListURI", Occurs::One), ("Value", Occurs::Many)];

/// Parses an EDXL-DE 2.0 document, reading embedded CAP alerts with the CAP reader and checks.
pub fn parse_distribution(bytes: &[u8]) -> ParsedDistribution {
    let root = match read_document(bytes) {
        Ok(root) => root,
        Err(finding) => {
            return ParsedDistribution { distribution: None, findings: vec![finding], lines: SourceLines::none(), alert_paths: Vec::new() };
        }
    };
    let mut reader = EnvelopeReader { inner: AlertReader::with_namespace(Some(EDXL_DE_2_0_NAMESPACE)), alert_paths: Vec::new() };
    let path = "/edxlDistribution";
    reader.inner.lines.record(path, root.line);
    let distribution = if root.name == "edxlDistribution" && root.namespace.as_deref() == Some(EDXL_DE_2_0_NAMESPACE) {
        reader.distribution(&root, path)
    } else {
        reader.inner.push(
            Finding::new(Rule::UnexpectedRoot, path)
                .at_line(Some(root.line))
                .with_value(root.qualified_name())
                .with_related(format!("{{{EDXL_DE_2_0_NAMESPACE}}}edxlDistribution")),
        );
        None
    };
    let alert_paths = if distribution.is_some() { reader.alert_paths } else { Vec::new() };
    let AlertReader { mut findings, lines, .. } = reader.inner;
    if let Some(distribution) = &distribution {
        findings.extend(check_distribution(distribution, &lines));
    }
    crate::sort_findings(&mut findings);
    ParsedDistribution { distribution, findings, lines, alert_paths }
}

/// Checks the envelope's own rules: non-empty tokens of at most 1023 characters, expiry after sending, at least one
/// target area per group and one address per explicit address. Embedded alerts are not checked here.
pub fn check_distribution(distribution: &Distribution, lines: &SourceLines) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut token = |value: &str, path: String| {
        let line = lines.line(&path);
        if value.trim_matches(is_xml_space).is_empty() {
            findings.push(Finding::new(Rule::EmptyValue, path).at_line(line));
        } else if value.chars().count() > MAX_STRING {
            findings.push(Finding::new(Rule::ValueTooLong, path).at_line(line).with_related(MAX_STRING.to_string()));
        }
    };
    let root = "/edxlDistribution";
    token(&distribution.distribution_id, format!("{root}/distributionID"));
    token(&distribution.sender_id, format!("{root}/senderID"));
    if let Some(descriptor) = &distribution.descriptor {
        for (i, address) in descriptor.explicit_addresses.iter().enumerate() {
            let path = format!("{root}/descriptor/explicitAddress[{}]", i + 1);
            token(&address.scheme, format!("{path}/explicitAddressScheme"));
            if address.values.is_empty() {
                token("", format!("{path}/explicitAddressValue"));
            }
            for (j, value) in address.values.iter().enumerate() {
                token(value, format!("{path}/explicitAddressValue[{}]", j + 1));
            }
        }
        for (i, group) in descriptor.target_areas.iter().enumerate() {
            if group.areas.is_empty() {
                let path = format!("{root}/descriptor/targetAreas[{}]", i + 1);
                let line = lines.line(&path);
                findings.push(Finding::new(Rule::MissingElement, path).at_line(line).with_value("targetArea"));
            }
        }
    }
    if distribution.date_time_expires.timestamp() <= distribution.date_time_sent.timestamp() {
        let path = format!("{root}/dateTimeExpires");
        let line = lines.line(&path);
        findings.push(
            Finding::new(Rule::ExpiresBeforeSent, path)
                .at_line(line)
                .with_value(distribution.date_time_expires.to_string())
                .with_related(distribution.date_time_sent.to_string()),
        );
    }
    findings
}

struct EnvelopeReader {
    inner: AlertReader,
    alert_paths: Vec<String>,
}

impl EnvelopeReader {
    fn sort<'a>(&mut self, parent: &'a Node, path: &str, schema: &[(&'static str, Occurs)]) -> crate::parse::Slots<'a> {
        self.inner.sort_in(parent, path, Some(EDXL_DE_2_0_NAMESPACE), schema, Some(EDXL_EXTENSION_NAMESPACE))
    }

    fn distribution(&mut self, node: &Node, path: &str) -> Option<Distribution> {
        let slots = self.sort(node, path, DISTRIBUTION_CHILDREN);
        let r = &mut self.inner;
        let distribution_id = r.string(slots.first(0));
        let sender_id = r.string(slots.first(1));
        let date_time_sent = r.date_time(slots.first(2));
        let date_time_expires = r.date_time(slots.first(3));
        let distribution_status = slots.first(4).and_then(|(n, p)| r.enumeration(n, p, DistributionStatus::parse));
        let distribution_kind = slots.first(5).and_then(|(n, p)| r.enumeration(n, p, DistributionKind::parse));
        let descriptor = slots.first(6).map(|(n, p)| self.descriptor(n, p));
        let content_objects = match slots.first(7) {
            Some((content, content_path)) => {
                let content_slots = self.sort(content, content_path, &[("contentObject", Occurs::Many), ("link", Occurs::Many)]);
                if content_slots.all(0).is_empty() {
                    self.inner.push(
                        Finding::new(Rule::MissingElement, content_path.as_str()).at_line(Some(content.line)).with_value("contentObject"),
                    );
                }
                content_slots.all(0).iter().filter_map(|(n, p)| self.content_object(n, p)).collect()
            }
            None => Vec::new(),
        };
        Some(Distribution {
            distribution_id: distribution_id?,
            sender_id: sender_id?,
            date_time_sent: date_time_sent?,
            date_time_expires: date_time_expires?,
            distribution_status: distribution_status?,
            distribution_kind: distribution_kind?,
            descriptor,
            content_objects,
        })
    }

    fn value_list(&mut self, node: &Node, path: &str) -> Option<ValueList> {
        let slots = self.inner.sort_in(node, path, Some(EDXL_CT_NAMESPACE), VALUE_LIST_CHILDREN, None);
        let list_uri = self.inner.string(slots.first(0));
        let values = self.inner.strings(slots.all(1));
        if values.is_empty() {
            self.inner.push(Finding::new(Rule::MissingElement, path).at_line(Some(node.line)).with_value("Value"));
        }
        Some(ValueList { list_uri: list_uri?, values })
    }

    fn descriptor(&mut self, node: &Node, path: &str) -> Descriptor {
        let slots = self.sort(node, path, DESCRIPTOR_CHILDREN);
        let language = slots.first(1).and_then(|(n, p)| self.inner.typed(n, p, LanguageTag::parse));
        let lists = |index: usize, reader: &mut Self| -> Vec<ValueList> {
            slots.all(index).iter().filter_map(|(n, p)| reader.value_list(n, p)).collect()
        };
        let sender_roles = lists(2, self);
        let recipient_roles = lists(3, self);
        let keywords = lists(4, self);
        let mut explicit_addresses = Vec::new();
        for (n, p) in slots.all(5) {
            let address_slots = self.sort(n, p, &[("explicitAddressScheme", Occurs::One), ("explicitAddressValue", Occurs::Many)]);
            let scheme = self.inner.string(address_slots.first(0));
            let values = self.inner.strings(address_slots.all(1));
            if values.is_empty() {
                self.inner.push(Finding::new(Rule::MissingElement, p.as_str()).at_line(Some(n.line)).with_value("explicitAddressValue"));
            }
            if let Some(scheme) = scheme {
                explicit_addresses.push(ExplicitAddress { scheme, values });
            }
        }
        let target_areas = slots.all(6).iter().filter_map(|(n, p)| self.target_areas(n, p)).collect();
        let incident_ids = self.inner.strings(slots.all(10));
        Descriptor { language, sender_roles, recipient_roles, keywords, explicit_addresses, target_areas, incident_ids }
    }

    fn target_areas(&mut self, node: &Node, path: &str) -> Option<TargetAreas> {
        let slots = self.sort(node, path, &[("areaKind", Occurs::One), ("areaGrouping", Occurs::One), ("targetArea", Occurs::Many)]);
        let kind = slots.first(0).and_then(|(n, p)| self.inner.enumeration(n, p, AreaKind::parse));
        let grouping = slots.first(1).and_then(|(n, p)| self.inner.enumeration(n, p, AreaGrouping::parse));
        if slots.all(2).is_empty() {
            self.inner.push(Finding::new(Rule::MissingElement, path).at_line(Some(node.line)).with_value("targetArea"));
        }
        let areas = slots.all(2).iter().filter_map(|(n, p)| self.target_area(n, p)).collect();
        Some(TargetAreas { kind: kind?, grouping: grouping?, areas })
    }

    fn target_area(&mut self, node: &Node, path: &str) -> Option<TargetArea> {
        let mut children = node.elements();
        let (Some(child), None) = (children.next(), children.next()) else {
            self.inner.push(Finding::new(Rule::UnexpectedContent, path).at_line(Some(node.line)).with_value("one location"));
            return None;
        };
        let child_path = format!("{path}/{}", child.name);
        self.inner.lines.record(&child_path, child.line);
        match (child.namespace.as_deref(), child.name.as_str()) {
            (Some(EDXL_GSF_NAMESPACE), "EDXLGeoLocation") => {
                let mut shapes = child.elements();
                let (Some(shape), None) = (shapes.next(), shapes.next()) else {
                    self.inner.push(Finding::new(Rule::UnexpectedContent, &child_path).at_line(Some(child.line)).with_value("one shape"));
                    return None;
                };
                let shape_path = format!("{child_path}/{}", shape.name);
                match (shape.namespace.as_deref(), shape.name.as_str()) {
                    (Some(GML_NAMESPACE), "Polygon") => self.gml_polygon(shape, &shape_path).map(TargetArea::Polygon),
                    (Some(GML_NAMESPACE), "CircleByCenterPoint") => self.gml_circle(shape, &shape_path).map(TargetArea::Circle),
                    _ => Some(TargetArea::Other(child.to_xml_element())),
                }
            }
            (Some(EDXL_DE_2_0_NAMESPACE), "geoPoliticalLocation") => {
                let geocode = child.elements().find(|n| n.namespace.as_deref() == Some(EDXL_CT_NAMESPACE) && n.name == "GeoCode");
                match geocode {
                    Some(geocode) => self.value_list(geocode, &format!("{child_path}/GeoCode")).map(TargetArea::GeoCode),
                    None => Some(TargetArea::Other(child.to_xml_element())),
                }
            }
            _ => {
                self.inner.push(
                    Finding::new(Rule::UnexpectedElement, &child_path)
                        .at_line(Some(child.line))
                        .with_value(child.qualified_name())
                        .with_related("targetArea"),
                );
                None
            }
        }
    }

    /// Points from `gml:pos` elements or a `gml:posList`, read as `latitude longitude` (EPSG:4326 axis order).
    fn gml_points(&mut self, ring: &Node, path: &str) -> Option<Vec<Point>> {
        let mut numbers = Vec::new();
        for child in ring.elements().filter(|n| n.namespace.as_deref() == Some(GML_NAMESPACE) && (n.name == "pos" || n.name == "posList")) {
            numbers.extend(child.text().split(is_xml_space).filter(|t| !t.is_empty()).map(str::to_string));
        }
        if numbers.len() % 2 != 0 {
            self.inner.push(Finding::new(Rule::PolygonFormat, path).at_line(Some(ring.line)).with_value(numbers.join(" ")));
            return None;
        }
        let mut points = Vec::new();
        for pair in numbers.chunks_exact(2) {
            match Point::parse(&format!("{},{}", pair[0], pair[1]), "polygon") {
                Ok(point) => points.push(point),
                Err(error) => {
                    self.inner.push(error.into_finding(path, Some(ring.line)));
                    return None;
                }
            }
        }
        Some(points)
    }

    fn gml_polygon(&mut self, polygon: &Node, path: &str) -> Option<Polygon> {
        let ring =
            polygon.elements().find(|n| n.name == "exterior").and_then(|exterior| exterior.elements().find(|n| n.name == "LinearRing"));
        let Some(ring) = ring else {
            self.inner.push(Finding::new(Rule::MissingElement, path).at_line(Some(polygon.line)).with_value("gml:exterior/gml:LinearRing"));
            return None;
        };
        let points = self.gml_points(ring, path)?;
        match Polygon::new(points) {
            Ok(polygon) => Some(polygon),
            Err(error) => {
                self.inner.push(error.into_finding(path, Some(ring.line)));
                None
            }
        }
    }

    fn gml_circle(&mut self, circle: &Node, path: &str) -> Option<Circle> {
        let points = self.gml_points(circle, path)?;
        let radius = circle.elements().find(|n| n.name == "radius");
        let (center, Some(radius)) = (points.first().copied(), radius) else {
            self.inner.push(Finding::new(Rule::CircleFormat, path).at_line(Some(circle.line)).with_value(circle.text()));
            return None;
        };
        let Some(center) = center else {
            self.inner.push(Finding::new(Rule::CircleFormat, path).at_line(Some(circle.line)).with_value(circle.text()));
            return None;
        };
        let text = radius.text();
        let unit = radius.attributes.iter().find(|a| a.name == "uom").map(|a| a.value.as_str()).unwrap_or(UOM_KILOMETRE);
        let scale = match unit {
            UOM_KILOMETRE | "km" => 1.0,
            UOM_METRE | "m" => 0.001,
            _ => {
                self.inner.push(Finding::new(Rule::CircleRadius, path).at_line(Some(radius.line)).with_value(format!("{text} {unit}")));
                return None;
            }
        };
        let value = text.trim_matches(is_xml_space).parse::<f64>().ok().filter(|v| v.is_finite());
        match value.map(|v| Circle::new(center, v * scale)) {
            Some(Ok(circle)) => Some(circle),
            _ => {
                self.inner.push(Finding::new(Rule::CircleRadius, path).at_line(Some(radius.line)).with_value(text));
                None
            }
        }
    }

    fn content_object(&mut self, node: &Node, path: &str) -> Option<ContentObject> {
        let slots = self.sort(node, path, CONTENT_OBJECT_CHILDREN);
        let description = slots.first(0).and_then(|(n, p)| {
            let descriptor = self.sort(n, p, CONTENT_DESCRIPTOR_CHILDREN);
            self.inner.string(descriptor.first(0))
        });
        let content = match (slots.first(1), slots.first(2)) {
            (Some((xml, xml_path)), None) => self.content_xml(xml, xml_path)?,
            (None, Some((other, other_path))) => {
                let other_slots = self.sort(other, other_path, OTHER_CONTENT_CHILDREN);
                let mime_type = self.inner.string(other_slots.first(0));
                let size = other_slots.first(1).and_then(|(n, p)| self.inner.typed(n, p, parse_size));
                let digest = self.inner.string(other_slots.first(2));
                let uri = self.inner.string(other_slots.first(3));
                let content_data = self.inner.string(other_slots.first(4));
                if uri.is_none() && content_data.is_none() {
                    self.inner.push(Finding::new(Rule::MissingElement, other_path.as_str()).at_line(Some(other.line)).with_value("uri"));
                }
                Content::Other(OtherContent { mime_type: mime_type?, size, digest, uri, content_data })
            }
            _ => {
                self.inner.push(Finding::new(Rule::MissingElement, path).at_line(Some(node.line)).with_value("contentXML"));
                return None;
            }
        };
        Some(ContentObject { description, content })
    }

    fn content_xml(&mut self, node: &Node, path: &str) -> Option<Content> {
        let slots = self.sort(node, path, &[("keyXMLContent", Occurs::Optional), ("embeddedXMLContent", Occurs::One)]);
        let (embedded, embedded_path) = slots.first(1)?;
        let mut children = embedded.elements();
        let (Some(payload), None) = (children.next(), children.next()) else {
            self.inner
                .push(Finding::new(Rule::UnexpectedContent, embedded_path.as_str()).at_line(Some(embedded.line)).with_value("one element"));
            return None;
        };
        let cap_namespaces = [Some(CAP_1_2_NAMESPACE), Some(CAP_1_1_NAMESPACE), Some(CAP_1_0_NAMESPACE)];
        if payload.name == "alert" && cap_namespaces.contains(&payload.namespace.as_deref()) {
            let (alert, mut findings, lines) = AlertReader::read(payload, "/alert");
            if let Some(alert) = &alert {
                findings.extend(check_alert(alert, &lines));
            }
            for finding in &mut findings {
                finding.path = format!("{embedded_path}{}", finding.path);
            }
            self.inner.findings.extend(findings);
            self.inner.lines.absorb(lines, embedded_path);
            if alert.is_some() {
                self.alert_paths.push(embedded_path.clone());
            }
            return alert.map(|a| Content::Cap(Box::new(a)));
        }
        Some(Content::Xml(payload.to_xml_element()))
    }
}
