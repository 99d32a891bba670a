//! The console's warning screens (list, authoring with a map, the lifecycle, live reach by grid), the field view
//! of tasks, and the public outputs: the warning page, the CAP index feed, the CAP documents and the
//! acknowledgement page that recipients' links open.

use app::incidents::{TaskFilter, TaskReport, TaskView};
use app::warnings::{WarningFilter, WarningInput, WarningView};
use app::{App, AppError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::Locale;
use minijinja::{Value, context};

use super::pages::{
    ListPage, all_jurisdictions, cell, classed, errors_of, filter, forbidden_form, jurisdiction_options, link, list_params, list_value,
    local_time, query, same_origin, see_other, t, with_query,
};
use super::{FormData, Viewer, error_page, render, render_with_status};

/// The routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/warnings", get(warnings).post(create_warning))
        .route("/warnings/new", get(new_warning))
        .route("/warnings/{id}", get(warning))
        .route("/warnings/{id}/reach", get(warning_reach))
        .route("/warnings/{id}/approve", axum::routing::post(approve))
        .route("/warnings/{id}/issue", axum::routing::post(issue))
        .route("/warnings/{id}/cancel", axum::routing::post(cancel))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}", get(task).post(close_task))
        .route("/public/warnings", get(public_warnings))
        .route("/public/warnings.atom", get(public_feed))
        .route("/public/warnings/{file}", get(public_cap))
        .route("/ack/{token}", get(ack_page).post(ack))
}

/// Hazards offered in the authoring form, most common first.
const HAZARDS: &[&str] = &[
    "rainstorm",
    "typhoon",
    "urban_waterlogging",
    "flash_flood",
    "gale",
    "heat_wave",
    "cold_wave",
    "snowstorm",
    "lightning",
    "landslide",
    "storm_surge",
    "earthquake",
    "gas_leak",
    "hazardous_chemicals",
    "building_fire",
    "forest_grassland_fire",
    "water_main_burst",
    "power_outage",
    "infectious_disease",
    "other",
];

fn level_options(locale: Locale) -> Vec<Value> {
    app::warnings::LEVELS
        .iter()
        .map(|level| context! { value => *level, label => domain::i18n::text(locale, &format!("warning_level.{level}")).to_string() })
        .collect()
}

fn hazard_options(locale: Locale) -> Vec<Value> {
    HAZARDS.iter().map(|hazard| context! { value => *hazard, label => app::warnings::hazard_label(locale, hazard) }).collect()
}

fn state_options(locale: Locale) -> Vec<Value> {
    app::warnings::STATES.iter().map(|state| context! { value => *state, label => t(locale, &format!("state.{state}")) }).collect()
}

fn warning_value(locale: Locale, timezone: &str, w: &WarningView) -> Value {
    let (description, instruction) = match locale {
        Locale::En => (
            w.description_en.clone().unwrap_or_else(|| w.description_zh.clone()),
            w.instruction_en.clone().unwrap_or_else(|| w.instruction_zh.clone()),
        ),
        Locale::ZhCn => (w.description_zh.clone(), w.instruction_zh.clone()),
    };
    context! {
        id => w.id, identifier => w.identifier.clone(), headline => w.headline.clone(), level => w.level.clone(), level_label => w.level_label.clone(),
        state => w.state.clone(), state_label => w.state_label.clone(), status => w.status.clone(), msg_type => w.msg_type.clone(),
        hazard_label => w.hazard_label.clone(), description => description, instruction => instruction, area_desc => w.area_desc.clone(),
        area => w.area.to_string(), effective => local_time(&w.effective_at, timezone), expires => local_time(&w.expires_at, timezone),
        sent => w.sent_at.as_deref().map(|s| local_time(s, timezone)), sent_at => w.sent_at.clone(), expires_at => w.expires_at.clone(),
        recipients => w.recipients, replaces_id => w.replaces_id, public => w.public, source => w.source.clone(), version => w.version,
        exercise => w.status != "Actual", created_by => w.created_by,
    }
}

async fn warnings(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let timezone = app.config().default_timezone.clone();
    let form = query(&uri);
    let page = match app.warnings().list_warnings(&viewer.ctx, &list_params(&form, 50), &WarningFilter { state: form.text("state") }).await
    {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|w| {
            vec![
                link(w.headline.clone(), format!("/warnings/{}", w.id)),
                classed(w.level_label.clone(), &format!("badge level-{}", w.level)),
                classed(w.state_label.clone(), &format!("badge state-{}", w.state)),
                cell(if w.status == "Actual" { String::new() } else { w.status.clone() }),
                cell(w.sent_at.as_deref().map(|s| local_time(s, &timezone)).unwrap_or_default()),
                cell(local_time(&w.expires_at, &timezone)),
                cell(w.area_desc.clone()),
            ]
        })
        .collect();
    let spec = ListPage {
        heading: t(locale, "ui.nav_warnings"),
        base_url: "/warnings".into(),
        new_url: viewer.signed_in().then(|| "/warnings/new".to_string()),
        new_label: t(locale, "ui.new_warning"),
        csv_url: None,
        columns: vec![
            ("headline_zh", t(locale, "ui.headline"), false),
            ("level", t(locale, "ui.warning_level"), true),
            ("state", t(locale, "ui.state"), true),
            ("status", t(locale, "ui.cap_status"), false),
            ("sent_at", t(locale, "ui.sent_at"), true),
            ("expires_at", t(locale, "ui.expires_at"), true),
            ("area_desc", t(locale, "ui.area"), false),
        ],
        filters: vec![filter("state", t(locale, "ui.state"), state_options(locale), form.text("state"))],
    };
    render("list.html", &viewer, "warnings", list_value(spec, &form, &page, rows))
}

async fn warning_form(app: &App, viewer: &Viewer, form: Value, errors: Vec<Value>, status: StatusCode) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(app, &viewer.ctx).await;
    let grids: Vec<Value> = all
        .iter()
        .filter(|j| j.bbox.is_some())
        .map(|j| context! { value => j.id.to_string(), label => super::pages::name_of(locale, &j.name_zh, j.name_en.as_deref()), level => j.level_label.clone() })
        .collect();
    let (map_bbox, map_layers) = super::pages::map_values(super::pages::home_bbox(app, &viewer.ctx, &all).await, "jurisdictions");
    render_with_status(
        status,
        "warning_form.html",
        viewer,
        "warnings",
        context! {
            form => form, errors => errors, jurisdictions => jurisdiction_options(locale, &all), area_jurisdictions => grids,
            levels => level_options(locale), hazards => hazard_options(locale), map_bbox => map_bbox, map_layers => map_layers,
            timezone => app.config().default_timezone.clone(),
        },
    )
}

async fn new_warning(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return error_page(&viewer, &AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired });
    }
    warning_form(&app, &viewer, context! { status => "Actual", level => "orange", hazard => "rainstorm" }, Vec::new(), StatusCode::OK).await
}

/// A `datetime-local` value (`2026-07-01T08:00`) in `timezone`, as RFC 3339.
fn local_to_rfc3339(value: &str, timezone: &str) -> Option<String> {
    let civil: jiff::civil::DateTime = value.trim().parse().ok()?;
    let zone = jiff::tz::TimeZone::get(timezone).ok()?;
    Some(civil.to_zoned_datetime(zone).ok()?.timestamp().to_string())
}

/// The area a form describes: the drawn shape (GeoJSON), a circle, or the chosen jurisdictions.
fn area_of(form: &FormData) -> serde_json::Value {
    let mut parts = Vec::new();
    if let Some(drawn) = form.text("area_geojson").and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok()) {
        parts.push(drawn);
    }
    if let (Some(lon), Some(lat), Some(radius)) = (form.text("circle_lon"), form.text("circle_lat"), form.text("circle_radius_m")) {
        let number = |text: &str| text.trim().parse::<f64>().ok();
        if let (Some(lon), Some(lat), Some(radius)) = (number(&lon), number(&lat), number(&radius)) {
            parts.push(serde_json::json!({"type": "Circle", "center": [lon, lat], "radius_m": radius}));
        }
    }
    let ids: Vec<i64> = form.all("area_jurisdiction").iter().filter_map(|id| id.parse().ok()).collect();
    if !ids.is_empty() {
        parts.push(serde_json::json!({"type": "Jurisdictions", "ids": ids}));
    }
    match parts.len() {
        0 => serde_json::json!({}),
        1 => parts.remove(0),
        _ => serde_json::json!({"type": "GeometryCollection", "geometries": parts}),
    }
}

async fn create_warning(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let timezone = app.config().default_timezone.clone();
    let time = |name: &str| form.text(name).map(|v| local_to_rfc3339(&v, &timezone).unwrap_or(v));
    let input = WarningInput {
        jurisdiction_id: form.integer("jurisdiction_id").unwrap_or(0),
        status: form.text("status"),
        level: form.text("level").unwrap_or_default(),
        hazard: form.text("hazard").unwrap_or_default(),
        category: None,
        headline_zh: form.text("headline_zh").unwrap_or_default(),
        headline_en: form.text("headline_en"),
        description_zh: form.text("description_zh").unwrap_or_default(),
        description_en: form.text("description_en"),
        instruction_zh: form.text("instruction_zh").unwrap_or_default(),
        instruction_en: form.text("instruction_en"),
        area: area_of(&form),
        area_desc: form.text("area_desc"),
        effective_at: time("effective_at"),
        expires_at: time("expires_at").unwrap_or_default(),
    };
    match app.warnings().create_warning(&viewer.ctx, input).await {
        Ok(view) => see_other(&format!("/warnings/{}", view.id)),
        Err(error @ (AppError::Invalid(_) | AppError::Duplicate { .. })) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            warning_form(&app, &viewer, form.values(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn warning_page(app: &App, viewer: &Viewer, id: i64, errors: Vec<Value>, status: StatusCode) -> Response {
    let timezone = app.config().default_timezone.clone();
    let w = match app.warnings().get_warning(&viewer.ctx, id).await {
        Ok(w) => w,
        Err(error) => return error_page(viewer, &error),
    };
    let sent = w.sent_at.is_some();
    let preview = if sent { None } else { app.warnings().preview_reach(&viewer.ctx, id).await.ok() };
    let reach = if sent { app.warnings().warning_reach(&viewer.ctx, id).await.ok() } else { None };
    let me = viewer.ctx.account_id();
    let can_act = viewer.signed_in();
    let actions = context! {
        approve => can_act && w.state == "draft" && w.status == "Actual" && w.msg_type != "Cancel" && w.created_by != me,
        own_draft => can_act && w.state == "draft" && w.status == "Actual" && w.created_by == me,
        issue => can_act && (w.state == "approved" || (w.state == "draft" && w.status != "Actual")),
        cancel => can_act && w.state == "issued" && w.msg_type != "Cancel",
    };
    let (map_bbox, map_layers) = super::pages::map_values(None, "jurisdictions");
    render_with_status(
        status,
        "warning.html",
        viewer,
        "warnings",
        context! {
            w => warning_value(viewer.ctx.locale, &timezone, &w), preview => preview.map(|p| Value::from(minijinja::value::Serde(p))), reach => reach.map(|r| reach_value(&r)),
            actions => actions, errors => errors, map_bbox => map_bbox, map_layers => map_layers,
        },
    )
}

fn reach_value(reach: &app::warnings::ReachView) -> Value {
    let grids: Vec<Value> = reach
        .grids
        .iter()
        .map(|g| {
            context! {
                name => g.grid_name.clone().unwrap_or_else(|| "—".into()), targeted => g.targeted, delivered => g.delivered,
                acknowledged => g.acknowledged, door_knock_tasks => g.door_knock_tasks, door_knocked => g.door_knocked, unreached => g.unreached,
            }
        })
        .collect();
    let features: Vec<serde_json::Value> = reach
        .grids
        .iter()
        .filter_map(|g| {
            let boundary = g.boundary.clone()?;
            let share = if g.targeted > 0 { (g.delivered.max(g.acknowledged) + g.door_knocked) as f64 / g.targeted as f64 } else { 0.0 };
            Some(serde_json::json!({"type": "Feature", "geometry": boundary, "properties": {
                "name": g.grid_name, "targeted": g.targeted, "delivered": g.delivered, "acknowledged": g.acknowledged,
                "door_knocked": g.door_knocked, "unreached": g.unreached, "share": share }}))
        })
        .collect();
    let t = &reach.total;
    context! {
        grids => grids, total => context! { targeted => t.targeted, delivered => t.delivered, acknowledged => t.acknowledged,
            door_knock_tasks => t.door_knock_tasks, door_knocked => t.door_knocked, unreached => t.unreached },
        deliveries => reach.deliveries.clone(),
        geojson => serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    }
}

async fn warning(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    warning_page(&app, &viewer, id, Vec::new(), StatusCode::OK).await
}

/// The reach panel alone, for the page to refresh itself.
async fn warning_reach(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    match app.warnings().warning_reach(&viewer.ctx, id).await {
        Ok(reach) => render("reach.html", &viewer, "warnings", context! { reach => reach_value(&reach), w => context! { id => id } }),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn step(app: &App, viewer: &Viewer, id: i64, body: &Bytes, action: &str) -> Response {
    let form = FormData::parse(body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(viewer);
    }
    let version = form.integer("version");
    let result = match action {
        "approve" => app.warnings().approve_warning(&viewer.ctx, id, version).await,
        "issue" => app.warnings().issue_warning(&viewer.ctx, id, version, form.get("confirm").is_some()).await,
        _ => app.warnings().cancel_warning(&viewer.ctx, id, form.get("note_zh").unwrap_or(""), form.get("note_en")).await,
    };
    match result {
        Ok(view) => see_other(&format!("/warnings/{}", view.id)),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::Conflict { .. }
            | AppError::WrongState { .. }
            | AppError::SecondPersonRequired
            | AppError::ConfirmationRequired { .. }),
        ) => {
            let status = crate::problem::status_of(&error);
            let errors = errors_of(&error, viewer.ctx.locale);
            warning_page(app, viewer, id, errors, status).await
        }
        Err(error) => error_page(viewer, &error),
    }
}

async fn approve(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "approve").await
}

async fn issue(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "issue").await
}

async fn cancel(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "cancel").await
}

// ------------------------------------------------------------------------------------------------------ field view

fn task_value(timezone: &str, task: &TaskView) -> Value {
    context! {
        id => task.id, title => task.title.clone(), kind => task.kind.clone(), kind_label => task.kind_label.clone(), status => task.status.clone(),
        status_label => task.status_label.clone(), due => local_time(&task.due_at, timezone), due_at => task.due_at.clone(), overdue => task.overdue,
        escalated => task.escalated_at.is_some(), evidence => task.evidence.clone(), version => task.version, subject_type => task.subject_type.clone(),
        subject_id => task.subject_id, household => task.household.as_ref().map(|h| context! {
            code => h.code.clone(), address => h.address.clone(), phone => h.phone.clone(), residents => h.residents, needs => h.needs.clone(),
            lon => h.lon, lat => h.lat, revealed => h.revealed,
        }),
    }
}

async fn tasks(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    if !viewer.signed_in() {
        return error_page(&viewer, &AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired });
    }
    let locale = viewer.ctx.locale;
    let timezone = app.config().default_timezone.clone();
    let form = query(&uri);
    let mine = match app.incidents().my_tasks(&viewer.ctx).await {
        Ok(mine) => mine,
        Err(error) => return error_page(&viewer, &error),
    };
    let filter =
        TaskFilter { status: form.text("status").or(Some("open".into())), kind: form.text("kind"), warning_id: form.integer("warning_id") };
    let area = app.incidents().list_tasks(&viewer.ctx, &list_params(&form, 100), &filter).await.unwrap_or(app::Page {
        items: Vec::new(),
        total: 0,
        limit: 100,
        offset: 0,
    });
    let statuses: Vec<Value> = app::incidents::STATUSES
        .iter()
        .map(|s| context! { value => *s, label => t(locale, &format!("state.{s}")), selected => filter.status.as_deref() == Some(*s) })
        .collect();
    render(
        "tasks.html",
        &viewer,
        "tasks",
        context! {
            mine => mine.iter().map(|task| task_value(&timezone, task)).collect::<Vec<_>>(),
            area => area.items.iter().map(|task| task_value(&timezone, task)).collect::<Vec<_>>(),
            area_total => area.total, statuses => statuses,
            more_url => with_query("/tasks", &form, &[]),
        },
    )
}

async fn task_page(app: &App, viewer: &Viewer, id: i64, errors: Vec<Value>, status: StatusCode) -> Response {
    let timezone = app.config().default_timezone.clone();
    match app.incidents().get_task(&viewer.ctx, id).await {
        Ok(task) => {
            render_with_status(status, "task.html", viewer, "tasks", context! { task => task_value(&timezone, &task), errors => errors })
        }
        Err(error) => error_page(viewer, &error),
    }
}

async fn task(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    task_page(&app, &viewer, id, Vec::new(), StatusCode::OK).await
}

async fn close_task(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let report = TaskReport {
        version: form.integer("version"),
        status: form.text("status").unwrap_or_default(),
        note: form.text("note"),
        photo: form.text("photo"),
    };
    match app.incidents().close_task(&viewer.ctx, id, report).await {
        Ok(_) => see_other("/tasks"),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::WrongState { .. })) => {
            let status = crate::problem::status_of(&error);
            let errors = errors_of(&error, viewer.ctx.locale);
            task_page(&app, &viewer, id, errors, status).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

// ------------------------------------------------------------------------------------------------------ public

async fn public_warnings(State(app): State<App>, viewer: Viewer) -> Response {
    let timezone = app.config().default_timezone.clone();
    let now = app.now_ms();
    let rows = match app.warnings().public_warnings(100).await {
        Ok(rows) => rows,
        Err(error) => return error_page(&viewer, &error),
    };
    let (mut in_force, mut past) = (Vec::new(), Vec::new());
    for row in &rows {
        let view = app::warnings::view(viewer.ctx.locale, row);
        let value = warning_value(viewer.ctx.locale, &timezone, &view);
        if app::warnings::is_in_force(&row.fields, now) { in_force.push(value) } else { past.push(value) }
    }
    render("public_warnings.html", &viewer, "public", context! { in_force => in_force, past => past })
}

/// An Atom entry id that is an IRI (RFC 4287 §4.2.6) and never changes: a `tag:` URI (RFC 4151) minted by the
/// sender on the day it sent the warning, with the CAP identifier, which is unique per sender.
fn atom_entry_id(sender: &str, identifier: &str, sent_ms: i64) -> String {
    let day =
        jiff::Timestamp::from_millisecond(sent_ms).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_else(|_| "2026-01-01".into());
    // The tag authority is the sender (an e-mail address or a domain name); anything else is written as a domain.
    let authority: String = sender
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | '_') { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let specific: String = identifier
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | ':') {
                vec![c.to_string()]
            } else {
                c.to_string().bytes().map(|b| format!("%{b:02X}")).collect()
            }
        })
        .collect();
    format!("tag:{authority},{day}:{specific}")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The CAP index feed: one Atom entry per public warning, linking to its CAP document (as national CAP feeds do).
async fn public_feed(State(app): State<App>) -> Response {
    let rows = match app.warnings().public_warnings(200).await {
        Ok(rows) => rows,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    // Links come from the configured public address, never from the request's Host header.
    let host = app.public_url();
    let updated = rows.iter().map(|r| r.updated_at).max().map(app::time::rfc3339).unwrap_or_else(|| app::time::rfc3339(app.now_ms()));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str(&format!("  <id>{}/public/warnings.atom</id>\n", xml_escape(&host)));
    xml.push_str(&format!("  <title>{}</title>\n", xml_escape(&app.config().warnings.sender_name_zh)));
    xml.push_str(&format!("  <updated>{updated}</updated>\n"));
    xml.push_str(&format!("  <author><name>{}</name></author>\n", xml_escape(&app.config().warnings.sender_name_en)));
    xml.push_str(&format!("  <link rel=\"self\" href=\"{}/public/warnings.atom\"/>\n", xml_escape(&host)));
    for row in &rows {
        let f = &row.fields;
        let cap_url = format!("{host}/public/warnings/{}.xml", row.id);
        xml.push_str("  <entry>\n");
        xml.push_str(&format!(
            "    <id>{}</id>\n",
            xml_escape(&atom_entry_id(f.sender.as_str(), f.identifier.as_str(), f.sent_at.unwrap_or(row.created_at)))
        ));
        xml.push_str(&format!("    <title>{}</title>\n", xml_escape(&f.headline_zh)));
        xml.push_str(&format!("    <updated>{}</updated>\n", app::time::rfc3339(row.updated_at)));
        if let Some(sent) = f.sent_at {
            xml.push_str(&format!("    <published>{}</published>\n", app::time::rfc3339(sent)));
        }
        xml.push_str(&format!("    <summary>{}</summary>\n", xml_escape(&format!("{} {}", f.area_desc, f.instruction_zh))));
        xml.push_str(&format!("    <category term=\"{}\"/>\n", xml_escape(&f.level)));
        xml.push_str(&format!("    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>\n", xml_escape(&cap_url)));
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response()
}

async fn public_cap(State(app): State<App>, viewer: Viewer, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".xml").and_then(|id| id.parse::<i64>().ok()) else {
        return error_page(&viewer, &AppError::NotFound { kind: domain::policy::ResourceKind::Warning });
    };
    match app.warnings().public_warning(id).await {
        Ok(row) => match row.fields.cap_xml {
            Some(xml) => ([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], xml).into_response(),
            None => error_page(&viewer, &AppError::NotFound { kind: domain::policy::ResourceKind::Warning }),
        },
        Err(error) => error_page(&viewer, &error),
    }
}

async fn ack_page(State(app): State<App>, viewer: Viewer, Path(token): Path<String>) -> Response {
    match app.warnings().ack_status(&token, viewer.ctx.locale).await {
        Ok(ack) => render(
            "ack.html",
            &viewer,
            "public",
            context! { ack => Value::from(minijinja::value::Serde(&ack)), token => token, just_now => false },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn ack(State(app): State<App>, viewer: Viewer, headers: HeaderMap, Path(token): Path<String>) -> Response {
    if !same_origin(&headers) {
        return forbidden_form(&viewer);
    }
    match app.warnings().acknowledge(&token, "link", viewer.ctx.locale).await {
        Ok(ack) => render(
            "ack.html",
            &viewer,
            "public",
            context! { ack => Value::from(minijinja::value::Serde(&ack)), token => token, just_now => true },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}
