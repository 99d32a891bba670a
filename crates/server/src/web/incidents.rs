//! The console's incident screens: report in three taps (the field view), the incident board, the incident page
//! (facts, status, proposals and merges, the matrix as tasks, the timeline), the upward report, and the plan editor
//! with the linter's findings.

use app::incidents::ActivationInput;
use app::incidents::{IncidentFilter, ReportInput, StatusChange};
use app::{App, AppError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::Locale;
use minijinja::{Value, context};

use super::pages::{
    ListPage, cell, classed, errors_of, filter, forbidden_form, link, list_params, list_value, local_time, query, see_other, t,
};
use super::{FormData, Viewer, error_page, render, render_with_status};

/// The routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/report", get(report_form).post(submit_report))
        .route("/incidents", get(board))
        .route("/incidents/{id}", get(incident))
        .route("/incidents/{id}/status", post(change_status))
        .route("/incidents/{id}/merge", post(merge))
        .route("/incidents/{id}/split", post(split))
        .route("/incidents/{id}/activate", post(activate))
        .route("/incidents/{id}/stand-down", post(stand_down))
        .route("/incidents/{id}/escalate", post(escalate))
        .route("/incidents/{id}/upward-report", get(upward_report))
        .route("/plans", get(plans).post(save_plan))
        .route("/plans/{id}", get(plan_page))
        .route("/plans/{id}/publish", post(publish_plan))
        .route("/media/{key}", get(media))
}

/// The sub-types offered as big buttons in the field view, most frequent first.
const QUICK: &[(&str, &str)] = &[
    ("natural_disaster", "urban_waterlogging"),
    ("accident_disaster", "building_fire"),
    ("accident_disaster", "gas_leak"),
    ("accident_disaster", "water_main_burst"),
    ("accident_disaster", "power_outage"),
    ("accident_disaster", "elevator_entrapment"),
    ("accident_disaster", "road_traffic"),
    ("natural_disaster", "landslide"),
    ("accident_disaster", "crowd_crush"),
    ("public_health", "food_poisoning"),
    ("social_security", "mass_incident"),
];

fn subtype_options(locale: Locale) -> Vec<Value> {
    QUICK
        .iter()
        .map(|(category, subtype)| context! { value => format!("{category}/{subtype}"), label => app::warnings::hazard_label(locale, subtype), subtype => *subtype })
        .collect()
}

async fn report_form(viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return error_page(&viewer, &AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired });
    }
    render(
        "report_form.html",
        &viewer,
        "report",
        context! { subtypes => subtype_options(viewer.ctx.locale), form => context! { draft_id => app::new_form_key() }, errors => Vec::<Value>::new() },
    )
}

async fn submit_report(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let (category, subtype) =
        form.text("subtype").and_then(|v| v.split_once('/').map(|(c, s)| (c.to_string(), s.to_string()))).unwrap_or_default();
    let number = |name: &str| form.text(name).and_then(|v| v.trim().parse::<f64>().ok());
    let mut figures = std::collections::BTreeMap::new();
    for measure in ["ponding_depth_cm", "trapped", "injured"] {
        if let Some(value) = form.text(measure).and_then(|v| v.trim().parse::<u64>().ok()) {
            figures.insert(measure.to_string(), value);
        }
    }
    let input = ReportInput {
        category,
        subtype,
        description: form.text("description").unwrap_or_default(),
        lon: number("lon").unwrap_or(f64::NAN),
        lat: number("lat").unwrap_or(f64::NAN),
        address: form.text("address"),
        media: form.text("photo").into_iter().collect(),
        figures,
        channel_key: form.text("draft_id"),
        ..ReportInput::default()
    };
    match app.incidents().submit_report(&viewer.ctx, "field", input).await {
        Ok(outcome) => {
            // Whoever may read the incident goes to it; a volunteer is thanked.
            if app.incidents().get_incident(&viewer.ctx, outcome.incident.id).await.is_ok() {
                see_other(&format!("/incidents/{}", outcome.incident.id))
            } else {
                see_other("/report?sent=1")
            }
        }
        Err(error @ AppError::Invalid(_)) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "report_form.html",
                &viewer,
                "report",
                context! { subtypes => subtype_options(viewer.ctx.locale), form => form.values(), errors => errors },
            )
        }
        Err(error) => error_page(&viewer, &error),
    }
}

fn status_options(locale: Locale) -> Vec<Value> {
    domain::incident::IncidentStatus::ALL.iter().map(|s| context! { value => s.code(), label => s.label(locale) }).collect()
}

fn category_options(locale: Locale) -> Vec<Value> {
    domain::incident::Category::ALL.iter().map(|c| context! { value => c.code(), label => c.label(locale) }).collect()
}

async fn board(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let timezone = app.config().default_timezone.clone();
    let form = query(&uri);
    let filter_values = IncidentFilter { status: form.text("status"), category: form.text("kind"), grade: None, open: None };
    let page = match app.incidents().list_incidents(&viewer.ctx, &list_params(&form, 50), &filter_values).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|i| {
            vec![
                link(format!("{} {}", i.reference, i.title), format!("/incidents/{}", i.id)),
                cell(i.subtype_label.clone()),
                classed(i.status_label.clone(), &format!("badge state-{}", i.status)),
                cell(i.response_level.as_deref().map(|l| t(locale, &format!("response_level.{l}"))).unwrap_or_default()),
                cell(local_time(&i.known_at, &timezone)),
            ]
        })
        .collect();
    let spec = ListPage {
        heading: t(locale, "ui.nav_incidents"),
        base_url: "/incidents".into(),
        new_url: viewer.signed_in().then(|| "/report".to_string()),
        new_label: t(locale, "ui.report_incident"),
        csv_url: None,
        columns: vec![
            ("title_zh", t(locale, "ui.incident"), false),
            ("subtype", t(locale, "ui.hazard"), false),
            ("status", t(locale, "ui.state"), true),
            ("response_level", t(locale, "ui.response_level"), false),
            ("known_at", t(locale, "ui.known_at"), true),
        ],
        filters: vec![
            filter("status", t(locale, "ui.state"), status_options(locale), form.text("status")),
            filter("kind", t(locale, "ui.category"), category_options(locale), form.text("kind")),
        ],
    };
    render("list.html", &viewer, "incidents", list_value(spec, &form, &page, rows))
}

async fn incident_page(app: &App, viewer: &Viewer, id: i64, errors: Vec<Value>, status: StatusCode) -> Response {
    let locale = viewer.ctx.locale;
    let timezone = app.config().default_timezone.clone();
    let incident = match app.incidents().get_incident(&viewer.ctx, id).await {
        Ok(incident) => incident,
        Err(error) => return error_page(viewer, &error),
    };
    let reports = app.incidents().incident_reports(&viewer.ctx, id).await.unwrap_or_default();
    let proposals = app.incidents().incident_proposals(&viewer.ctx, id).await.unwrap_or_default();
    let tasks = app.incidents().incident_tasks(&viewer.ctx, id).await.unwrap_or_default();
    let timeline = app.incidents().incident_timeline(&viewer.ctx, id).await.unwrap_or_default();
    let merges: Vec<Value> = timeline
        .iter()
        .filter(|e| e.kind == "incident.merged" && e.payload["target_id"].as_i64() == Some(id))
        .filter(|e| !timeline.iter().any(|s| s.kind == "incident.split" && s.payload["merge_id"] == e.payload["merge_id"]))
        .map(|e| context! { merge_id => e.payload["merge_id"].as_i64(), source_id => e.payload["source_id"].as_i64() })
        .collect();
    let status_label =
        |code: &str| domain::incident::IncidentStatus::parse("status", code).map(|s| s.label(locale).to_string()).unwrap_or_default();
    let transitions: Vec<Value> = incident
        .allowed_transitions
        .iter()
        .filter(|to| !matches!(to.as_str(), "merged" | "responding"))
        .map(|to| context! { value => to.clone(), label => status_label(to) })
        .collect();
    render_with_status(
        status,
        "incident.html",
        viewer,
        "incidents",
        context! {
            i => Value::from(minijinja::value::Serde(&incident)),
            known => local_time(&incident.known_at, &timezone),
            level_label => incident.response_level.as_deref().map(|l| t(locale, &format!("response_level.{l}"))),
            reports => reports.iter().map(|r| context! {
                channel => t(locale, &format!("channel.{}", r.channel)), description => r.description.clone(), address => r.address.clone(),
                observed => local_time(&r.observed_at, &timezone), reporter => r.reporter.clone(), media => r.media.clone(),
            }).collect::<Vec<_>>(),
            proposals => proposals.iter().map(|p| context! { id => p.incident_id, title => p.title.clone(), score => format!("{:.0}%", p.score * 100.0), reasons => p.reasons.clone() }).collect::<Vec<_>>(),
            merges => merges,
            tasks => tasks.iter().map(|task| context! {
                id => task.id, title => task.title.clone(), function => task.function.as_deref().map(|f| t(locale, &format!("plan_function.{f}"))),
                status => task.status.clone(), status_label => task.status_label.clone(), overdue => task.overdue, escalated => task.escalated_at.is_some(),
                due => local_time(&task.due_at, &timezone), owner_member_id => task.owner_member_id, owner_organization_id => task.owner_organization_id,
            }).collect::<Vec<_>>(),
            timeline => timeline.iter().rev().map(|e| context! { at => local_time(&e.at, &timezone), label => t(locale, &format!("event.{}", e.kind)) }).collect::<Vec<_>>(),
            transitions => transitions,
            can_activate => incident.status == "verified",
            can_stand_down => incident.status == "responding",
            errors => errors,
            map_bbox => format!("{},{},{},{}", incident.lon - 0.01, incident.lat - 0.01, incident.lon + 0.01, incident.lat + 0.01),
            map_layers => "jurisdictions",
        },
    )
}

async fn incident(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    incident_page(&app, &viewer, id, Vec::new(), StatusCode::OK).await
}

async fn step(app: &App, viewer: &Viewer, id: i64, body: &Bytes, action: &str) -> Response {
    let form = FormData::parse(body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(viewer);
    }
    let version = form.integer("version");
    let result: Result<i64, AppError> = match action {
        "status" => app
            .incidents()
            .change_incident_status(
                &viewer.ctx,
                id,
                StatusChange { version, status: form.text("status").unwrap_or_default(), note: form.text("note") },
            )
            .await
            .map(|_| id),
        "merge" => app.incidents().merge_incidents(&viewer.ctx, id, form.integer("source_id").unwrap_or(0)).await.map(|_| id),
        "split" => app.incidents().split_incident(&viewer.ctx, id, form.integer("merge_id").unwrap_or(0)).await.map(|_| id),
        "activate" => app
            .incidents()
            .activate_plan(
                &viewer.ctx,
                id,
                ActivationInput { version, plan_code: form.text("plan_code"), response_level: form.text("response_level") },
            )
            .await
            .map(|_| id),
        "stand_down" => app.incidents().stand_down(&viewer.ctx, id, version).await.map(|_| id),
        _ => app.incidents().escalate_incident(&viewer.ctx, id, version, form.get("note")).await.map(|_| id),
    };
    match result {
        Ok(id) => see_other(&format!("/incidents/{id}")),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::Conflict { .. }
            | AppError::WrongState { .. }
            | AppError::InvalidTransition(_)
            | AppError::VersionRequired),
        ) => {
            let status = crate::problem::status_of(&error);
            let errors = errors_of(&error, viewer.ctx.locale);
            incident_page(app, viewer, id, errors, status).await
        }
        Err(error) => error_page(viewer, &error),
    }
}

async fn change_status(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "status").await
}
async fn merge(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "merge").await
}
async fn split(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "split").await
}
async fn activate(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "activate").await
}
async fn stand_down(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "stand_down").await
}
async fn escalate(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    step(&app, &viewer, id, &body, "escalate").await
}

async fn upward_report(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    match app.incidents().upward_report(&viewer.ctx, id).await {
        Ok(report) => render(
            "upward_report.html",
            &viewer,
            "incidents",
            context! { id => id, report => Value::from(minijinja::value::Serde(&report)) },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn plans(State(app): State<App>, viewer: Viewer) -> Response {
    match app.incidents().list_plans(&viewer.ctx).await {
        Ok(plans) => render(
            "plans.html",
            &viewer,
            "plans",
            context! { plans => Value::from(minijinja::value::Serde(&plans)), errors => Vec::<Value>::new(), document => "" },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn plan_page(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    match app.incidents().get_plan(&viewer.ctx, id).await {
        Ok(plan) => render(
            "plan.html",
            &viewer,
            "plans",
            context! { plan => Value::from(minijinja::value::Serde(&plan)), errors => Vec::<Value>::new() },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn save_plan(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let document = form.get("document").unwrap_or("").to_string();
    match app.incidents().save_plan(&viewer.ctx, &document).await {
        Ok(plan) => see_other(&format!("/plans/{}", plan.id)),
        Err(error @ AppError::Invalid(_)) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            let plans = app.incidents().list_plans(&viewer.ctx).await.unwrap_or_default();
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plans.html",
                &viewer,
                "plans",
                context! { plans => Value::from(minijinja::value::Serde(&plans)), errors => errors, document => document },
            )
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn publish_plan(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    match app.incidents().publish_plan(&viewer.ctx, id).await {
        Ok(_) => see_other(&format!("/plans/{id}")),
        Err(error @ AppError::Invalid(_)) => match app.incidents().get_plan(&viewer.ctx, id).await {
            Ok(plan) => render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plan.html",
                &viewer,
                "plans",
                context! { plan => Value::from(minijinja::value::Serde(&plan)), errors => errors_of(&error, viewer.ctx.locale) },
            ),
            Err(error) => error_page(&viewer, &error),
        },
        Err(error) => error_page(&viewer, &error),
    }
}

async fn media(State(app): State<App>, viewer: Viewer, Path(key): Path<String>) -> Response {
    match app.incidents().media(&key).await {
        Ok(Some((content_type, bytes))) => {
            ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, max-age=86400".to_string())], bytes).into_response()
        }
        Ok(None) => error_page(&viewer, &AppError::NotFound { kind: domain::policy::ResourceKind::Report }),
        Err(error) => error_page(&viewer, &error),
    }
}
