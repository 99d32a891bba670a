//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), so that citizen-reporting apps and clients written
//! for it work with Gridline unchanged: discovery, the service list (the incident sub-types the public may report),
//! posting a service request (it becomes a report on the `open311` channel, like any other), and reading requests
//! back with the status of the incident they joined. JSON and XML, as the path's extension says.
//!
//! No personal data leaves through these endpoints: a request shows what was reported and where, never who.

use std::collections::BTreeMap;

use app::incidents::ReportInput;
use app::{App, Context};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::Locale;
use serde_json::{Value, json};

use crate::extract::Lang;

/// The sub-types the public may report through Open311, as service codes.
const SERVICES: &[(&str, &str)] = &[
    ("urban_waterlogging", "natural_disaster"),
    ("flash_flood", "natural_disaster"),
    ("landslide", "natural_disaster"),
    ("building_fire", "accident_disaster"),
    ("gas_leak", "accident_disaster"),
    ("water_main_burst", "accident_disaster"),
    ("power_outage", "accident_disaster"),
    ("elevator_entrapment", "accident_disaster"),
    ("road_traffic", "accident_disaster"),
    ("hazardous_chemicals", "accident_disaster"),
    ("crowd_crush", "accident_disaster"),
    ("food_poisoning", "public_health"),
];

/// The routes.
pub fn routes() -> Router<App> {
    Router::new()
        // The endpoint's base URL (what discovery lists) answers with the discovery document itself.
        .route("/open311/v2", get(|| async { axum::response::Redirect::to("/open311/v2/discovery.json") }))
        .route("/open311/v2/{file}", get(index).post(post_request))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

fn split(file: &str) -> Option<(&str, Format)> {
    if let Some(name) = file.strip_suffix(".json") {
        Some((name, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|name| (name, Format::Xml))
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A value as XML elements, the way GeoReport's XML writes JSON objects.
fn xml_of(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Array(items) => {
            // GeoReport lists: <services><service>…</service></services>; the item name is the singular.
            let item = match name {
                "services" => "service",
                "service_requests" => "request",
                "errors" => "error",
                "endpoints" => "endpoint",
                "formats" => "format",
                "attributes" => "attribute",
                other => other.trim_end_matches('s'),
            };
            out.push_str(&format!("<{name}>"));
            for value in items {
                xml_of(item, value, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (key, value) in map {
                xml_of(key, value, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(text))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn answer(format: Format, status: StatusCode, root: &str, value: Value) -> Response {
    match format {
        Format::Json => (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], value.to_string()).into_response(),
        Format::Xml => {
            let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            xml_of(root, &value, &mut xml);
            (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
        }
    }
}

/// A GeoReport error list.
fn error(format: Format, status: StatusCode, description: &str) -> Response {
    answer(format, status, "errors", json!([{"code": status.as_u16(), "description": description}]))
}

fn not_found() -> Response {
    error(Format::Json, StatusCode::NOT_FOUND, "not found")
}

fn service_name(locale: Locale, code: &str) -> String {
    app::warnings::hazard_label(locale, code)
}

fn services(locale: Locale) -> Value {
    Value::Array(
        SERVICES
            .iter()
            .map(|(code, category)| {
                let group =
                    domain::incident::Category::parse("category", category).map(|c| c.label(locale).to_string()).unwrap_or_default();
                json!({
                    "service_code": code, "service_name": service_name(locale, code), "description": service_name(locale, code),
                    "metadata": false, "type": "realtime", "keywords": code.replace('_', ","), "group": group,
                })
            })
            .collect(),
    )
}

async fn index(State(app): State<App>, Lang(locale): Lang, Path(file): Path<String>, uri: axum::http::Uri) -> Response {
    let Some((name, format)) = split(&file) else { return not_found() };
    match name {
        "discovery" => {
            // Links come from the configured public address, never from the request's Host header.
            let base = app.public_url();
            answer(
                format,
                StatusCode::OK,
                "discovery",
                json!({
                    "changeset": "2026-11-28T00:00:00Z",
                    "contact": "Gridline",
                    "key_service": "none",
                    "endpoints": [{
                        "specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": format!("{base}/open311/v2"),
                        "changeset": "2026-11-28T00:00:00Z",
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }],
                }),
            )
        }
        "services" => answer(format, StatusCode::OK, "services", services(locale)),
        "requests" => list_requests(&app, locale, format, uri.query().unwrap_or("")).await,
        _ => not_found(),
    }
}

async fn service_definition(Lang(locale): Lang, Path(file): Path<String>) -> Response {
    let Some((code, format)) = split(&file) else { return not_found() };
    if !SERVICES.iter().any(|(c, _)| *c == code) {
        return error(format, StatusCode::NOT_FOUND, "unknown service_code");
    }
    answer(
        format,
        StatusCode::OK,
        "service_definition",
        json!({"service_code": code, "attributes": [], "service_name": service_name(locale, code)}),
    )
}

/// A report as a GeoReport service request.
fn request_of(locale: Locale, report: &store::incidents::ReportRow, incident: Option<&store::incidents::IncidentRow>) -> Value {
    let r = &report.report;
    let status = match incident.map(|i| i.fields.status.as_str()) {
        Some("closed" | "rejected") => "closed",
        _ => "open",
    };
    let status_notes = incident
        .and_then(|i| domain::incident::IncidentStatus::parse("status", &i.fields.status).ok())
        .map(|s| s.label(locale).to_string());
    let media: Vec<String> = serde_json::from_str::<Vec<Value>>(&r.media)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.get("url").and_then(Value::as_str).map(str::to_string))
        .collect();
    json!({
        "service_request_id": report.id.to_string(),
        "status": status,
        "status_notes": status_notes,
        "service_name": service_name(locale, &r.subtype),
        "service_code": r.subtype,
        "description": r.description,
        "agency_responsible": incident.map(|i| app::incidents::reference(i.id)),
        "service_notice": Value::Null,
        "requested_datetime": app::time::rfc3339(report.created_at),
        "updated_datetime": app::time::rfc3339(incident.map(|i| i.updated_at).unwrap_or(report.created_at)),
        "expected_datetime": Value::Null,
        "address": r.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": r.lat,
        "long": r.lon,
        "media_url": media.first(),
    })
}

async fn one_request(State(app): State<App>, Lang(locale): Lang, Path(file): Path<String>) -> Response {
    let Some((id, format)) = split(&file) else { return not_found() };
    let Ok(id) = id.parse::<i64>() else { return error(format, StatusCode::NOT_FOUND, "unknown service_request_id") };
    match app.incidents().open311_request(id).await {
        Ok(Some((report, incident))) => {
            answer(format, StatusCode::OK, "service_requests", json!([request_of(locale, &report, incident.as_ref())]))
        }
        Ok(None) => error(format, StatusCode::NOT_FOUND, "unknown service_request_id"),
        Err(_) => error(format, StatusCode::SERVICE_UNAVAILABLE, "try again later"),
    }
}

async fn list_requests(app: &App, locale: Locale, format: Format, query: &str) -> Response {
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let ids: Vec<i64> =
        params.get("service_request_id").map(|list| list.split(',').filter_map(|id| id.trim().parse().ok()).collect()).unwrap_or_default();
    let codes: Vec<String> =
        params.get("service_code").map(|list| list.split(',').map(|c| c.trim().to_string()).collect()).unwrap_or_default();
    let time = |name: &str| -> Result<Option<i64>, Response> {
        match params.get(name).map(String::as_str).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => text.parse::<jiff::Timestamp>().map(|t| Some(t.as_millisecond())).map_err(|_| {
                error(format, StatusCode::BAD_REQUEST, &format!("{name} must be a w3 date-time such as 2010-01-01T00:00:00Z"))
            }),
        }
    };
    let (start, end) = match (time("start_date"), time("end_date")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let statuses: Vec<String> =
        params.get("status").map(|list| list.split(',').map(|s| s.trim().to_string()).collect()).unwrap_or_default();
    match app.incidents().open311_requests(&ids, &codes, start, end).await {
        Ok(rows) => {
            let requests: Vec<Value> = rows
                .iter()
                .map(|(report, incident)| request_of(locale, report, incident.as_ref()))
                .filter(|request| statuses.is_empty() || statuses.iter().any(|s| request["status"] == s.as_str()))
                .collect();
            answer(format, StatusCode::OK, "service_requests", Value::Array(requests))
        }
        Err(_) => error(format, StatusCode::SERVICE_UNAVAILABLE, "try again later"),
    }
}

async fn post_request(State(app): State<App>, Lang(locale): Lang, headers: HeaderMap, Path(file): Path<String>, body: Bytes) -> Response {
    let Some(("requests", format)) = split(&file) else { return not_found() };
    let media_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    if media_type != "application/x-www-form-urlencoded" && !media_type.is_empty() {
        return error(format, StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/x-www-form-urlencoded");
    }
    if body.len() > 64 * 1024 {
        return error(format, StatusCode::PAYLOAD_TOO_LARGE, "the request is larger than 64 KiB");
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(code) = form.get("service_code").map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) else {
        return error(format, StatusCode::BAD_REQUEST, "service_code is required");
    };
    let Some((_, category)) = SERVICES.iter().find(|(c, _)| *c == code) else {
        return error(format, StatusCode::BAD_REQUEST, "unknown service_code");
    };
    let number = |name: &str| form.get(name).and_then(|v| v.trim().parse::<f64>().ok());
    let (Some(lat), Some(lon)) = (number("lat"), number("long")) else {
        return error(format, StatusCode::BAD_REQUEST, "lat and long are required (address lookup is not offered)");
    };
    let name = [form.get("first_name"), form.get("last_name")]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let input = ReportInput {
        category: category.to_string(),
        subtype: code.clone(),
        description: form.get("description").cloned().unwrap_or_else(|| service_name(locale, &code)),
        lon,
        lat,
        address: form.get("address_string").cloned(),
        reporter_name: Some(name).filter(|n| !n.is_empty()),
        reporter_phone: form.get("phone").cloned(),
        reporter_email: form.get("email").cloned(),
        media: form.get("media_url").map(|m| vec![m.clone()]).unwrap_or_default(),
        // A client that retries sends the same device and token: Open311 has no idempotency key of its own.
        channel_key: form.get("token").or(form.get("idempotency_key")).cloned(),
        ..ReportInput::default()
    };
    // The public reports through this channel without an account; the report is recorded under the channel.
    let ctx = Context::system("open311", locale);
    match app.incidents().submit_report(&ctx, "open311", input).await {
        Ok(outcome) => answer(
            format,
            StatusCode::CREATED,
            "service_requests",
            json!([{"service_request_id": outcome.report.id.to_string(), "service_notice": app::incidents::reference(outcome.incident.id), "account_id": Value::Null}]),
        ),
        Err(error_value @ app::AppError::Invalid(_)) => error(format, StatusCode::BAD_REQUEST, &error_value.message(locale)),
        Err(_) => error(format, StatusCode::SERVICE_UNAVAILABLE, "try again later"),
    }
}
