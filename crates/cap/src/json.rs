//! The JSON form of a CAP alert, for the HTTP API and scripts.
//!
//! This module owns the JSON wire form of `Alert`. The model derives no serde traits (wire forms change on purpose,
//! here, not by accident), so the mapping is written out: every JSON member is named exactly like the CAP element it
//! carries, repeated elements are arrays under the element's own (singular) name, absent optional elements and empty
//! arrays are left out, and paths in findings are the same as for XML (`/alert/info[1]/area[2]/polygon[1]`).
//! Typed values are written as JSON types: date-times as CAP strings with their offset, polygons as arrays of
//! `[latitude, longitude]`, circles as `{"center": [latitude, longitude], "radiusKm": r}`, `size`, `altitude` and
//! `ceiling` as numbers, references as objects, XML signatures as strings of XML.
//! Reading JSON is as lenient and as thorough as reading XML: every problem is a finding, never a panic.
//!
//! ```
//! let json = r#"{
//!   "identifier": "310101000000000_20250701080000_1",
//!   "sender": "warning@huangpu.gov.cn",
//!   "sent": "2025-07-01T08:00:00+08:00",
//!   "status": "Actual",
//!   "msgType": "Alert",
//!   "scope": "Public",
//!   "info": [{
//!     "language": "zh-CN",
//!     "category": ["Met"],
//!     "event": "暴雨",
//!     "urgency": "Expected",
//!     "severity": "Severe",
//!     "certainty": "Likely",
//!     "expires": "2025-07-01T20:00:00+08:00",
//!     "parameter": [{"valueName": "GBT35965:warningLevel", "value": "Orange"}],
//!     "area": [{
//!       "areaDesc": "黄浦区",
//!       "polygon": [[[31.23, 121.47], [31.24, 121.49], [31.22, 121.50], [31.23, 121.47]]],
//!       "circle": [{"center": [31.23, 121.48], "radiusKm": 2.5}],
//!       "geocode": [{"valueName": "GB/T 2260", "value": "310101"}]
//!     }]
//!   }]
//! }"#;
//! let parsed = cap::json::alert_from_json_str(json);
//! assert!(parsed.is_conforming(), "{:?}", parsed.findings);
//! let alert = parsed.alert.unwrap();
//! let again = cap::json::alert_from_json(&cap::json::alert_to_json(&alert)).alert.unwrap();
//! assert_eq!(again, alert);
//! ```

use serde_json::{Map, Number, Value};

use crate::check::check_alert;
use crate::error::CapError;
use crate::finding::{Finding, Rule};
use crate::model::{Alert, Area, Info, NamedValue, Resource};
use crate::parse::SourceLines;
use crate::values::{
    Altitude, CapDateTime, Category, Certainty, Circle, LanguageTag, MessageType, Point, Polygon, Reference, References, ResponseType,
    Scope, Severity, Status, Urgency, Uri,
};
use crate::{ParsedAlert, sort_findings, xml};

/// The JSON form of an alert.
pub fn alert_to_json(alert: &Alert) -> Value {
    let mut o = Map::new();
    o.insert("identifier".into(), alert.identifier.clone().into());
    o.insert("sender".into(), alert.sender.clone().into());
    o.insert("sent".into(), alert.sent.to_string().into());
    o.insert("status".into(), alert.status.as_str().into());
    o.insert("msgType".into(), alert.message_type.as_str().into());
    optional(&mut o, "source", &alert.source);
    o.insert("scope".into(), alert.scope.as_str().into());
    optional(&mut o, "restriction", &alert.restriction);
    optional(&mut o, "addresses", &alert.addresses);
    array(&mut o, "code", alert.codes.iter().map(|c| Value::from(c.clone())));
    optional(&mut o, "note", &alert.note);
    if let Some(references) = &alert.references {
        let list = references
            .as_slice()
            .iter()
            .map(|r| {
                let mut reference = Map::new();
                reference.insert("sender".into(), r.sender().into());
                reference.insert("identifier".into(), r.identifier().into());
                reference.insert("sent".into(), r.sent().to_string().into());
                Value::Object(reference)
            })
            .collect();
        o.insert("references".into(), Value::Array(list));
    }
    optional(&mut o, "incidents", &alert.incidents);
    array(&mut o, "info", alert.infos.iter().map(info_to_json));
    array(&mut o, "signature", alert.signatures.iter().map(|s| Value::from(xml::foreign_to_string(s))));
    Value::Object(o)
}

fn optional(o: &mut Map<String, Value>, name: &str, value: &Option<String>) {
    if let Some(text) = value {
        o.insert(name.into(), text.clone().into());
    }
}

fn array(o: &mut Map<String, Value>, name: &str, values: impl Iterator<Item = Value>) {
    let list: Vec<Value> = values.collect();
    if !list.is_empty() {
        o.insert(name.into(), Value::Array(list));
    }
}

fn number(value: f64) -> Value {
    // Typed values are finite by construction, so `from_f64` always succeeds; null is never reached.
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn point(p: Point) -> Value {
    Value::Array(vec![number(p.lat()), number(p.lon())])
}

fn pair(value: &NamedValue) -> Value {
    let mut o = Map::new();
    o.insert("valueName".into(), value.name.clone().into());
    o.insert("value".into(), value.value.clone().into());
    Value::Object(o)
}

fn info_to_json(info: &Info) -> Value {
    let mut o = Map::new();
    if let Some(language) = &info.language {
        o.insert("language".into(), language.as_str().into());
    }
    array(&mut o, "category", info.categories.iter().map(|c| Value::from(c.as_str())));
    o.insert("event".into(), info.event.clone().into());
    array(&mut o, "responseType", info.response_types.iter().map(|r| Value::from(r.as_str())));
    o.insert("urgency".into(), info.urgency.as_str().into());
    o.insert("severity".into(), info.severity.as_str().into());
    o.insert("certainty".into(), info.certainty.as_str().into());
    optional(&mut o, "audience", &info.audience);
    array(&mut o, "eventCode", info.event_codes.iter().map(pair));
    for (name, value) in [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)] {
        if let Some(value) = value {
            o.insert(name.into(), value.to_string().into());
        }
    }
    optional(&mut o, "senderName", &info.sender_name);
    optional(&mut o, "headline", &info.headline);
    optional(&mut o, "description", &info.description);
    optional(&mut o, "instruction", &info.instruction);
    if let Some(web) = &info.web {
        o.insert("web".into(), web.as_str().into());
    }
    optional(&mut o, "contact", &info.contact);
    array(&mut o, "parameter", info.parameters.iter().map(pair));
    array(&mut o, "resource", info.resources.iter().map(resource_to_json));
    array(&mut o, "area", info.areas.iter().map(area_to_json));
    Value::Object(o)
}

fn resource_to_json(resource: &Resource) -> Value {
    let mut o = Map::new();
    o.insert("resourceDesc".into(), resource.description.clone().into());
    o.insert("mimeType".into(), resource.mime_type.clone().into());
    if let Some(size) = resource.size {
        o.insert("size".into(), size.into());
    }
    if let Some(uri) = &resource.uri {
        o.insert("uri".into(), uri.as_str().into());
    }
    optional(&mut o, "derefUri", &resource.deref_uri);
    optional(&mut o, "digest", &resource.digest);
    Value::Object(o)
}

fn area_to_json(area: &Area) -> Value {
    let mut o = Map::new();
    o.insert("areaDesc".into(), area.description.clone().into());
    array(&mut o, "polygon", area.polygons.iter().map(|p| Value::Array(p.points().iter().map(|q| point(*q)).collect())));
    array(
        &mut o,
        "circle",
        area.circles.iter().map(|c| {
            let mut circle = Map::new();
            circle.insert("center".into(), point(c.center()));
            circle.insert("radiusKm".into(), number(c.radius_km()));
            Value::Object(circle)
        }),
    );
    array(&mut o, "geocode", area.geocodes.iter().map(pair));
    if let Some(altitude) = area.altitude {
        o.insert("altitude".into(), number(altitude.feet()));
    }
    if let Some(ceiling) = area.ceiling {
        o.insert("ceiling".into(), number(ceiling.feet()));
    }
    Value::Object(o)
}

/// Reads the JSON form from text; a syntax error is a `json_syntax` finding.
pub fn alert_from_json_str(text: &str) -> ParsedAlert {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => alert_from_json(&value),
        Err(error) => {
            let line = u32::try_from(error.line()).ok();
            let finding = Finding::new(Rule::JsonSyntax, "/").at_line(line).with_value(error.to_string());
            ParsedAlert { alert: None, findings: vec![finding], lines: SourceLines::none() }
        }
    }
}

/// Reads the JSON form and checks the alert like `parse_alert` does; findings have no lines.
pub fn alert_from_json(value: &Value) -> ParsedAlert {
    let mut reader = JsonReader { findings: Vec::new() };
    let alert = reader.alert(value, "/alert");
    let mut findings = reader.findings;
    if let Some(alert) = &alert {
        findings.extend(check_alert(alert, &SourceLines::none()));
    }
    sort_findings(&mut findings);
    ParsedAlert { alert, findings, lines: SourceLines::none() }
}

/// The JSON type names used in `json_type` findings.
const STRING: &str = "string";
const ARRAY: &str = "array";
const OBJECT: &str = "object";
const NUMBER: &str = "number";

struct JsonReader {
    findings: Vec<Finding>,
}

/// One JSON object being read: the members not yet taken are reported as unexpected at the end.
struct Members<'a> {
    map: &'a Map<String, Value>,
    taken: Vec<&'static str>,
    path: String,
}

impl<'a> Members<'a> {
    fn take(&mut self, name: &'static str) -> Option<&'a Value> {
        self.taken.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }
}

impl JsonReader {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<Members<'a>> {
        match value {
            Value::Object(map) => Some(Members { map, taken: Vec::new(), path: path.to_string() }),
            _ => {
                self.push(Finding::new(Rule::JsonType, path).with_related(OBJECT));
                None
            }
        }
    }

    fn finish(&mut self, members: Members<'_>) {
        for key in members.map.keys() {
            if !members.taken.contains(&key.as_str()) {
                let name = members.path.rsplit('/').next().unwrap_or("").split('[').next().unwrap_or("").to_string();
                self.push(Finding::new(Rule::UnexpectedElement, format!("{}/{key}", members.path)).with_related(name));
            }
        }
    }

    fn string(&mut self, members: &mut Members<'_>, name: &'static str, required: bool) -> Option<String> {
        let path = format!("{}/{name}", members.path);
        match members.take(name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                self.push(Finding::new(Rule::JsonType, path).with_related(STRING));
                None
            }
            None => {
                if required {
                    self.push(Finding::new(Rule::MissingElement, members.path.clone()).with_value(name));
                }
                None
            }
        }
    }

    fn typed<T>(
        &mut self,
        members: &mut Members<'_>,
        name: &'static str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, CapError>,
    ) -> Option<T> {
        let text = self.string(members, name, required)?;
        let path = format!("{}/{name}", members.path);
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error.into_finding(&path, None));
                None
            }
        }
    }

    /// The items of an optional array member, each with its path (`name[i]`).
    fn items<'a>(&mut self, members: &mut Members<'a>, name: &'static str) -> Vec<(&'a Value, String)> {
        match members.take(name) {
            Some(Value::Array(items)) => {
                items.iter().enumerate().map(|(i, v)| (v, format!("{}/{name}[{}]", members.path, i + 1))).collect()
            }
            Some(_) => {
                self.push(Finding::new(Rule::JsonType, format!("{}/{name}", members.path)).with_related(ARRAY));
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn item_string(&mut self, value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            _ => {
                self.push(Finding::new(Rule::JsonType, path).with_related(STRING));
                None
            }
        }
    }

    fn item_typed<T>(&mut self, value: &Value, path: &str, parse: impl FnOnce(&str) -> Result<T, CapError>) -> Option<T> {
        let text = self.item_string(value, path)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error.into_finding(path, None));
                None
            }
        }
    }

    fn float(&mut self, value: &Value, path: &str) -> Option<f64> {
        match value.as_f64() {
            Some(number) if value.is_number() => Some(number),
            _ => {
                self.push(Finding::new(Rule::JsonType, path).with_related(NUMBER));
                None
            }
        }
    }

    fn point(&mut self, value: &Value, path: &str, element: &'static str) -> Option<Point> {
        let pair = match value {
            Value::Array(pair) if pair.len() == 2 => pair,
            _ => {
                self.push(Finding::new(Rule::PolygonFormat, path).with_value(value.to_string()));
                return None;
            }
        };
        let (lat, lon) = (self.float(&pair[0], path)?, self.float(&pair[1], path)?);
        match Point::new(lat, lon) {
            Ok(point) => Some(point),
            Err(_) => {
                self.push(CapError::invalid(Rule::CoordinateRange, element, format!("{lat},{lon}")).into_finding(path, None));
                None
            }
        }
    }

    fn alert(&mut self, value: &Value, path: &str) -> Option<Alert> {
        let mut m = self.object(value, path)?;
        let identifier = self.string(&mut m, "identifier", true);
        let sender = self.string(&mut m, "sender", true);
        let sent = self.typed(&mut m, "sent", true, CapDateTime::parse);
        let status = self.typed(&mut m, "status", true, Status::parse);
        let message_type = self.typed(&mut m, "msgType", true, MessageType::parse);
        let source = self.string(&mut m, "source", false);
        let scope = self.typed(&mut m, "scope", true, Scope::parse);
        let restriction = self.string(&mut m, "restriction", false);
        let addresses = self.string(&mut m, "addresses", false);
        let codes = self.items(&mut m, "code").into_iter().filter_map(|(v, p)| self.item_string(v, &p)).collect();
        let note = self.string(&mut m, "note", false);
        let references = self.references(&mut m);
        let incidents = self.string(&mut m, "incidents", false);
        let infos = self.items(&mut m, "info").into_iter().filter_map(|(v, p)| self.info(v, &p)).collect();
        let signatures = self
            .items(&mut m, "signature")
            .into_iter()
            .filter_map(|(v, p)| {
                let text = self.item_string(v, &p)?;
                match xml::foreign_from_str(&text) {
                    Ok(element) => Some(element),
                    Err(mut finding) => {
                        finding.path = p;
                        finding.line = None;
                        self.push(finding);
                        None
                    }
                }
            })
            .collect();
        self.finish(m);
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

    fn references(&mut self, m: &mut Members<'_>) -> Option<References> {
        let path = format!("{}/references", m.path);
        let items = self.items(m, "references");
        if m.map.get("references").is_some_and(Value::is_array) && items.is_empty() {
            self.push(Finding::new(Rule::ReferencesFormat, &path).with_value(""));
            return None;
        }
        let mut list = Vec::new();
        for (value, item_path) in items {
            let mut r = self.object(value, &item_path)?;
            let sender = self.string(&mut r, "sender", true);
            let identifier = self.string(&mut r, "identifier", true);
            let sent = self.typed(&mut r, "sent", true, CapDateTime::parse);
            self.finish(r);
            let (sender, identifier, sent) = (sender?, identifier?, sent?);
            match Reference::new(sender, identifier, sent) {
                Ok(reference) => list.push(reference),
                Err(error) => {
                    self.push(error.into_finding(&item_path, None));
                    return None;
                }
            }
        }
        if list.is_empty() { None } else { References::new(list).ok() }
    }

    fn pair(&mut self, value: &Value, path: &str) -> Option<NamedValue> {
        let mut m = self.object(value, path)?;
        let name = self.string(&mut m, "valueName", true);
        let value = self.string(&mut m, "value", true);
        self.finish(m);
        Some(NamedValue { name: name?, value: value? })
    }

    fn info(&mut self, value: &Value, path: &str) -> Option<Info> {
        let mut m = self.object(value, path)?;
        let language = self.typed(&mut m, "language", false, LanguageTag::parse);
        let categories = self.items(&mut m, "category").into_iter().filter_map(|(v, p)| self.item_typed(v, &p, Category::parse)).collect();
        let event = self.string(&mut m, "event", true);
        let response_types =
            self.items(&mut m, "responseType").into_iter().filter_map(|(v, p)| self.item_typed(v, &p, ResponseType::parse)).collect();
        let urgency = self.typed(&mut m, "urgency", true, Urgency::parse);
        let severity = self.typed(&mut m, "severity", true, Severity::parse);
        let certainty = self.typed(&mut m, "certainty", true, Certainty::parse);
        let audience = self.string(&mut m, "audience", false);
        let event_codes = self.items(&mut m, "eventCode").into_iter().filter_map(|(v, p)| self.pair(v, &p)).collect();
        let effective = self.typed(&mut m, "effective", false, CapDateTime::parse);
        let onset = self.typed(&mut m, "onset", false, CapDateTime::parse);
        let expires = self.typed(&mut m, "expires", false, CapDateTime::parse);
        let sender_name = self.string(&mut m, "senderName", false);
        let headline = self.string(&mut m, "headline", false);
        let description = self.string(&mut m, "description", false);
        let instruction = self.string(&mut m, "instruction", false);
        let web = self.typed(&mut m, "web", false, Uri::parse);
        let contact = self.string(&mut m, "contact", false);
        let parameters = self.items(&mut m, "parameter").into_iter().filter_map(|(v, p)| self.pair(v, &p)).collect();
        let resources = self.items(&mut m, "resource").into_iter().filter_map(|(v, p)| self.resource(v, &p)).collect();
        let areas = self.items(&mut m, "area").into_iter().filter_map(|(v, p)| self.area(v, &p)).collect();
        self.finish(m);
        Some(Info {
            language,
            categories,
            event: event?,
            response_types,
            urgency: urgency?,
            severity: severity?,
            certainty: certainty?,
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

    fn resource(&mut self, value: &Value, path: &str) -> Option<Resource> {
        let mut m = self.object(value, path)?;
        let description = self.string(&mut m, "resourceDesc", true);
        let mime_type = self.string(&mut m, "mimeType", true);
        let size = match m.take("size") {
            Some(number) => match number.as_u64() {
                Some(size) => Some(size),
                None => {
                    self.push(Finding::new(Rule::InvalidNumber, format!("{path}/size")).with_value(number.to_string()));
                    None
                }
            },
            None => None,
        };
        let uri = self.typed(&mut m, "uri", false, Uri::parse);
        let deref_uri = self.string(&mut m, "derefUri", false);
        let digest = self.string(&mut m, "digest", false);
        self.finish(m);
        Some(Resource { description: description?, mime_type: mime_type?, size, uri, deref_uri, digest })
    }

    fn area(&mut self, value: &Value, path: &str) -> Option<Area> {
        let mut m = self.object(value, path)?;
        let description = self.string(&mut m, "areaDesc", true);
        let mut polygons = Vec::new();
        for (polygon, polygon_path) in self.items(&mut m, "polygon") {
            let Value::Array(points) = polygon else {
                self.push(Finding::new(Rule::JsonType, &polygon_path).with_related(ARRAY));
                continue;
            };
            let parsed: Option<Vec<Point>> = points.iter().map(|p| self.point(p, &polygon_path, "polygon")).collect();
            if let Some(points) = parsed {
                match Polygon::new(points) {
                    Ok(polygon) => polygons.push(polygon),
                    Err(error) => self.push(error.into_finding(&polygon_path, None)),
                }
            }
        }
        let mut circles = Vec::new();
        for (circle, circle_path) in self.items(&mut m, "circle") {
            let Some(mut c) = self.object(circle, &circle_path) else { continue };
            let center = c.take("center").and_then(|v| self.point(v, &circle_path, "circle"));
            let radius = c.take("radiusKm").and_then(|v| self.float(v, &circle_path));
            if center.is_none() && c.map.get("center").is_none() || radius.is_none() && c.map.get("radiusKm").is_none() {
                self.push(Finding::new(Rule::CircleFormat, &circle_path).with_value(circle.to_string()));
            }
            self.finish(c);
            if let (Some(center), Some(radius)) = (center, radius) {
                match Circle::new(center, radius) {
                    Ok(circle) => circles.push(circle),
                    Err(error) => self.push(error.into_finding(&circle_path, None)),
                }
            }
        }
        let geocodes = self.items(&mut m, "geocode").into_iter().filter_map(|(v, p)| self.pair(v, &p)).collect();
        let mut altitude_of = |reader: &mut Self, name: &'static str| -> Option<Altitude> {
            let value = m.take(name)?;
            let element_path = format!("{path}/{name}");
            let feet = reader.float(value, &element_path)?;
            match Altitude::from_feet(feet) {
                Ok(altitude) => Some(altitude),
                Err(error) => {
                    reader.push(error.into_finding(&element_path, None));
                    None
                }
            }
        };
        let altitude = altitude_of(self, "altitude");
        let ceiling = altitude_of(self, "ceiling");
        self.finish(m);
        Some(Area { description: description?, polygons, circles, geocodes, altitude, ceiling })
    }
}
