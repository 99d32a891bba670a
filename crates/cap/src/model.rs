//! The CAP 1.2 message model: `Alert`, `Info`, `Resource`, `Area` and the name/value pairs they carry.
//!
//! This module owns the shape of a CAP 1.2 message, one field per element of the OASIS standard, in the standard's
//! order. Typed values (`values`) carry their own rules, so a model always emits as schema-valid XML; the rules
//! *between* elements (references for an `Update`, `expires` after `sent`, …) are checked by `check`, because real
//! senders break them and a lenient reader must still be able to hold what they sent.
//! The model knows nothing of XML or JSON syntax and derives no serde traits: `xml`, `emit` and `json` translate.

use crate::values::{
    Altitude, CapDateTime, Category, Certainty, Circle, LanguageTag, MessageType, Polygon, References, ResponseType, Scope, Severity,
    Status, Urgency, Uri,
};

/// A CAP 1.2 `alert`: the message and its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// A number or string uniquely identifying this message, assigned by the sender; no spaces, commas, `<` or `&`.
    pub identifier: String,
    /// The originator of the message; no spaces, commas, `<` or `&`.
    pub sender: String,
    /// When the message originated.
    pub sent: CapDateTime,
    /// The handling of the message.
    pub status: Status,
    /// The nature of the message.
    pub message_type: MessageType,
    /// The particular source of the message (`source`).
    pub source: Option<String>,
    /// The intended distribution.
    pub scope: Scope,
    /// The rule for limiting distribution, used with scope `Restricted`.
    pub restriction: Option<String>,
    /// The recipients, space-separated (quoted when they contain spaces), used with scope `Private`.
    pub addresses: Option<String>,
    /// Codes denoting special handling (`code`), such as a profile URN.
    pub codes: Vec<String>,
    /// A message or note on the purpose or significance of the message.
    pub note: Option<String>,
    /// Earlier messages this one refers to.
    pub references: Option<References>,
    /// Related incidents, space-separated (quoted when they contain spaces).
    pub incidents: Option<String>,
    /// The information blocks, typically one per language.
    pub infos: Vec<Info>,
    /// XML digital signatures (`http://www.w3.org/2000/09/xmldsig#`) after the last `info`, kept as XML.
    /// They are carried through but not verified, and re-emitting an alert changes the bytes a signature covers.
    pub signatures: Vec<XmlElement>,
}

/// A CAP 1.2 `info`: the event, its urgency, severity and certainty, in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// The language; absent means `en-US`.
    pub language: Option<LanguageTag>,
    /// The categories of the event: at least one in a conforming message.
    pub categories: Vec<Category>,
    /// The text denoting the type of the event.
    pub event: String,
    /// The recommended types of action.
    pub response_types: Vec<ResponseType>,
    /// How soon to act.
    pub urgency: Urgency,
    /// How bad.
    pub severity: Severity,
    /// How sure.
    pub certainty: Certainty,
    /// The intended audience.
    pub audience: Option<String>,
    /// System-specific codes for the event type (`eventCode`).
    pub event_codes: Vec<NamedValue>,
    /// When the information becomes effective.
    pub effective: Option<CapDateTime>,
    /// The expected time of the beginning of the event.
    pub onset: Option<CapDateTime>,
    /// When the information expires.
    pub expires: Option<CapDateTime>,
    /// The human-readable name of the issuing agency (`senderName`).
    pub sender_name: Option<String>,
    /// A brief headline.
    pub headline: Option<String>,
    /// An extended description of the event.
    pub description: Option<String>,
    /// The recommended action.
    pub instruction: Option<String>,
    /// A link to more information (`web`).
    pub web: Option<Uri>,
    /// Contact for follow-up.
    pub contact: Option<String>,
    /// System-specific additional parameters (`parameter`).
    pub parameters: Vec<NamedValue>,
    /// Supplementary files.
    pub resources: Vec<Resource>,
    /// The affected areas.
    pub areas: Vec<Area>,
}

/// A CAP 1.2 `resource`: a file that supplements the info.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// What the resource is (`resourceDesc`).
    pub description: String,
    /// Its MIME type (`mimeType`).
    pub mime_type: String,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// Where to get it.
    pub uri: Option<Uri>,
    /// The resource itself, base64-encoded (`derefUri`).
    pub deref_uri: Option<String>,
    /// Its SHA-1 digest.
    pub digest: Option<String>,
}

/// A CAP 1.2 `area`: a geographic area the info applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// A text description of the area (`areaDesc`).
    pub description: String,
    /// Polygons.
    pub polygons: Vec<Polygon>,
    /// Circles.
    pub circles: Vec<Circle>,
    /// Geographic codes (`geocode`), such as a GB/T 2260 code or a SAME code.
    pub geocodes: Vec<NamedValue>,
    /// The specific or minimum altitude, in feet above mean sea level.
    pub altitude: Option<Altitude>,
    /// The maximum altitude, in feet above mean sea level; only with `altitude`.
    pub ceiling: Option<Altitude>,
}

/// A `valueName`/`value` pair, as in `eventCode`, `parameter` and `geocode`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedValue {
    /// The name of the code system or parameter (`valueName`).
    pub name: String,
    /// The value.
    pub value: String,
}

impl NamedValue {
    /// A pair.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

/// An XML element carried through unchanged, such as an XML signature or a foreign payload of an EDXL envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    /// The namespace, if any.
    pub namespace: Option<String>,
    /// The local name.
    pub name: String,
    /// The attributes other than namespace declarations.
    pub attributes: Vec<XmlAttribute>,
    /// Child elements and text, in order, whitespace included.
    pub children: Vec<XmlContent>,
}

/// An attribute of an `XmlElement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAttribute {
    /// The namespace, if any (unprefixed attributes have none).
    pub namespace: Option<String>,
    /// The local name.
    pub name: String,
    /// The value, unescaped.
    pub value: String,
}

/// A child of an `XmlElement`.
///
/// A read element never has an empty text or two texts in a row; an element built with them is written the same
/// as one without, so it reads back without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlContent {
    /// A child element.
    Element(XmlElement),
    /// Text, unescaped.
    Text(String),
}

impl Alert {
    /// An alert with the required elements and nothing else.
    pub fn new(
        identifier: impl Into<String>,
        sender: impl Into<String>,
        sent: CapDateTime,
        status: Status,
        message_type: MessageType,
        scope: Scope,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            sender: sender.into(),
            sent,
            status,
            message_type,
            source: None,
            scope,
            restriction: None,
            addresses: None,
            codes: Vec::new(),
            note: None,
            references: None,
            incidents: None,
            infos: Vec::new(),
            signatures: Vec::new(),
        }
    }
}

impl Info {
    /// An info with the required elements and nothing else.
    pub fn new(category: Category, event: impl Into<String>, urgency: Urgency, severity: Severity, certainty: Certainty) -> Self {
        Self {
            language: None,
            categories: vec![category],
            event: event.into(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: Vec::new(),
            effective: None,
            onset: None,
            expires: None,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }

    /// The language, or `en-US` when absent (the schema's default).
    pub fn language_or_default(&self) -> &str {
        self.language.as_ref().map_or("en-US", LanguageTag::as_str)
    }

    /// The first parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }
}

impl Area {
    /// An area with a description and no geometry yet.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            polygons: Vec::new(),
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        }
    }
}
