//! From the CAP model to CAP 1.2 XML that validates against the OASIS schema.
//!
//! This module owns the writing of CAP 1.2: elements in the schema's order whatever order they were read in, the
//! CAP 1.2 namespace as the default namespace, UTF-8, two-space indentation, and XML signatures written back after the
//! last `info`. It relies on the typed values to be valid and so cannot fail; it never checks rules between elements
//! (call `check_alert` for that) and never does IO.

use crate::model::{Alert, Area, Info, NamedValue, Resource};
use crate::parse::{CAP_1_2_NAMESPACE, XMLDSIG_NAMESPACE};
use crate::values::Category;
use crate::xml::Writer;

/// Writes an alert as a CAP 1.2 document.
pub fn emit_alert(alert: &Alert) -> String {
    let mut writer = Writer::new();
    write_alert(&mut writer, alert);
    writer.out
}

/// Writes an alert element (with its namespace declaration) at the writer's current depth.
pub(crate) fn write_alert(w: &mut Writer, alert: &Alert) {
    w.open("alert", &[("xmlns", CAP_1_2_NAMESPACE)]);
    w.leaf("identifier", &alert.identifier);
    w.leaf("sender", &alert.sender);
    w.leaf("sent", &alert.sent.to_string());
    w.leaf("status", alert.status.as_str());
    w.leaf("msgType", alert.message_type.as_str());
    optional(w, "source", &alert.source);
    w.leaf("scope", alert.scope.as_str());
    optional(w, "restriction", &alert.restriction);
    optional(w, "addresses", &alert.addresses);
    for code in &alert.codes {
        w.leaf("code", code);
    }
    optional(w, "note", &alert.note);
    if let Some(references) = &alert.references {
        w.leaf("references", &references.to_string());
    }
    optional(w, "incidents", &alert.incidents);
    for info in &alert.infos {
        write_info(w, info);
    }
    // Only XML signatures may follow the last info; anything else in `signatures` is reported by `check_alert`
    // and left out here, so that the output stays schema-valid.
    for signature in alert.signatures.iter().filter(|s| s.namespace.as_deref() == Some(XMLDSIG_NAMESPACE)) {
        w.foreign(signature, Some(CAP_1_2_NAMESPACE));
    }
    w.close("alert");
}

fn optional(w: &mut Writer, name: &str, value: &Option<String>) {
    if let Some(text) = value {
        w.leaf(name, text);
    }
}

fn pair(w: &mut Writer, name: &str, value: &NamedValue) {
    w.open(name, &[]);
    w.leaf("valueName", &value.name);
    w.leaf("value", &value.value);
    w.close(name);
}

fn write_info(w: &mut Writer, info: &Info) {
    w.open("info", &[]);
    if let Some(language) = &info.language {
        w.leaf("language", language.as_str());
    }
    for category in &info.categories {
        w.leaf("category", category.as_str());
    }
    if info.categories.is_empty() {
        // The schema requires a category; `check_alert` reports the missing one, and `Other` keeps the output valid.
        w.leaf("category", Category::Other.as_str());
    }
    w.leaf("event", &info.event);
    for response_type in &info.response_types {
        w.leaf("responseType", response_type.as_str());
    }
    w.leaf("urgency", info.urgency.as_str());
    w.leaf("severity", info.severity.as_str());
    w.leaf("certainty", info.certainty.as_str());
    optional(w, "audience", &info.audience);
    for code in &info.event_codes {
        pair(w, "eventCode", code);
    }
    for (name, value) in [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)] {
        if let Some(value) = value {
            w.leaf(name, &value.to_string());
        }
    }
    optional(w, "senderName", &info.sender_name);
    optional(w, "headline", &info.headline);
    optional(w, "description", &info.description);
    optional(w, "instruction", &info.instruction);
    if let Some(web) = &info.web {
        w.leaf("web", web.as_str());
    }
    optional(w, "contact", &info.contact);
    for parameter in &info.parameters {
        pair(w, "parameter", parameter);
    }
    for resource in &info.resources {
        write_resource(w, resource);
    }
    for area in &info.areas {
        write_area(w, area);
    }
    w.close("info");
}

fn write_resource(w: &mut Writer, resource: &Resource) {
    w.open("resource", &[]);
    w.leaf("resourceDesc", &resource.description);
    w.leaf("mimeType", &resource.mime_type);
    if let Some(size) = resource.size {
        w.leaf("size", &size.to_string());
    }
    if let Some(uri) = &resource.uri {
        w.leaf("uri", uri.as_str());
    }
    optional(w, "derefUri", &resource.deref_uri);
    optional(w, "digest", &resource.digest);
    w.close("resource");
}

fn write_area(w: &mut Writer, area: &Area) {
    w.open("area", &[]);
    w.leaf("areaDesc", &area.description);
    for polygon in &area.polygons {
        w.leaf("polygon", &polygon.to_string());
    }
    for circle in &area.circles {
        w.leaf("circle", &circle.to_string());
    }
    for geocode in &area.geocodes {
        pair(w, "geocode", geocode);
    }
    if let Some(altitude) = area.altitude {
        w.leaf("altitude", &altitude.to_string());
    }
    if let Some(ceiling) = area.ceiling {
        w.leaf("ceiling", &ceiling.to_string());
    }
    w.close("area");
}
