//! Monitoring in the console: the sensors with their states, a sensor's chart and refused readings, and the rules
//! with an editor whose dry run replays the last day's readings before anything is saved.

use app::{App, AppError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};

use super::pages::{errors_of, forbidden_form, local_time, query, see_other};
use super::{FormData, Viewer, error_page, render, render_with_status};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/sensors", get(sensors))
        .route("/sensors/{code}", get(sensor))
        .route("/rules", get(rules).post(save_rule))
        .route("/rules/dry-run", post(dry_run))
        .route("/rules/{code}", get(rule))
}

/// The rule offered in an empty editor: a sustained threshold with hysteresis.
const EXAMPLE_RULE: &str = "code: rain-sustained
title_zh: 雨量持续超限
title_en: Sustained heavy rain
sensors: { kind: rain_gauge }
condition: { above: 30, for_minutes: 10, hysteresis: 5 }
actions:
  draft_warning: { level: orange, hazard: rainstorm }
";

fn timezone(app: &App) -> String {
    app.config().default_timezone.clone()
}

async fn sensors(State(app): State<App>, viewer: Viewer) -> Response {
    let zone = timezone(&app);
    match app.monitoring().list_sensors(&viewer.ctx).await {
        Ok(list) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|s| {
                    context! {
                        code => s.code.clone(), kind => s.kind.clone(), quantity => s.quantity.clone(), unit => s.unit.clone(),
                        last_value => s.last_value, state => s.state.clone(), rejected => s.rejected_count,
                        last_at => s.last_reading_at.as_deref().map(|t| local_time(t, &zone)),
                    }
                })
                .collect();
            let alarms = list.iter().filter(|s| s.state == "alarm").count();
            let stale = list.iter().filter(|s| s.state == "stale").count();
            render("sensors.html", &viewer, "sensors", context! { sensors => rows, alarms => alarms, stale => stale })
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn sensor(State(app): State<App>, viewer: Viewer, Path(code): Path<String>, uri: axum::http::Uri) -> Response {
    let hours = query(&uri).integer("hours").unwrap_or(24).clamp(1, 24 * 31);
    let zone = timezone(&app);
    let detail = match app.monitoring().sensor_detail(&viewer.ctx, &code, hours).await {
        Ok(detail) => detail,
        Err(error) => return error_page(&viewer, &error),
    };
    // The thresholds of the rules that watch this sensor, drawn on the chart.
    let rules = app.monitoring().list_rules(&viewer.ctx).await.unwrap_or_default();
    let kind = detail["sensor"]["kind"].as_str().unwrap_or_default().to_string();
    let thresholds: Vec<serde_json::Value> = rules
        .iter()
        .filter(|r| {
            r.enabled && (r.definition.sensors.codes.contains(&code) || r.definition.sensors.kind.as_deref() == Some(kind.as_str()))
        })
        .filter_map(|r| {
            let value = r.definition.condition.above.or(r.definition.condition.below)?;
            Some(serde_json::json!({"rule": r.code, "value": value}))
        })
        .collect();
    let refused: Vec<Value> = detail["refused"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    context! {
                        at => local_time(r["at"].as_str().unwrap_or_default(), &zone),
                        channel => r["channel"].as_str().map(str::to_string), field => r["field"].as_str().map(str::to_string),
                        reason => r["reason"].as_str().map(str::to_string), excerpt => r["excerpt"].as_str().map(str::to_string),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // The latest readings as a table: the chart's text alternative, and what a phone without JavaScript shows.
    let latest: Vec<Value> = detail["readings"]
        .as_array()
        .map(|list| {
            list.iter()
                .rev()
                .take(12)
                .map(|r| context! { at => local_time(r[0].as_str().unwrap_or_default(), &zone), value => r[1].as_f64() })
                .collect()
        })
        .unwrap_or_default();
    let s = &detail["sensor"];
    render(
        "sensor.html",
        &viewer,
        "sensors",
        context! {
            sensor => Value::from(minijinja::value::Serde(s)),
            last_at => s["last_reading_at"].as_str().map(|t| local_time(t, &zone)),
            stale_since => s["stale_since"].as_str().map(|t| local_time(t, &zone)),
            hours => hours, refused => refused, latest => latest, timezone => zone,
            thresholds => serde_json::to_string(&thresholds).unwrap_or_else(|_| "[]".into()),
            series_url => format!("/api/v1/sensors/{}/series?hours={hours}&points=300", form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>()),
        },
    )
}

/// The rules page, with the editor holding `document`, and a dry run's result if one was asked for.
async fn rules_page(
    app: &App,
    viewer: &Viewer,
    document: String,
    dry_run: Option<Value>,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    let zone = timezone(app);
    let list = match app.monitoring().list_rules(&viewer.ctx).await {
        Ok(list) => list,
        Err(error) => return error_page(viewer, &error),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|r| {
            context! {
                code => r.code.clone(), revision => r.revision, enabled => r.enabled,
                title => super::pages::name_of(viewer.ctx.locale, &r.definition.title_zh, r.definition.title_en.as_deref()),
                saved_by => r.saved_by.clone(), saved_at => local_time(&r.saved_at, &zone),
            }
        })
        .collect();
    render_with_status(
        status,
        "rules.html",
        viewer,
        "sensors",
        context! { rules => rows, document => document, dry_run => dry_run, errors => errors },
    )
}

async fn rules(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    // `?edit=code` opens a rule's newest revision in the editor.
    let mut document = EXAMPLE_RULE.to_string();
    if let Some(code) = query(&uri).text("edit")
        && let Ok(list) = app.monitoring().list_rules(&viewer.ctx).await
        && let Some(rule) = list.iter().find(|r| r.code == code)
    {
        document = rule.definition.to_yaml();
    }
    rules_page(&app, &viewer, document, None, Vec::new(), StatusCode::OK).await
}

async fn save_rule(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let document = form.get("document").unwrap_or("").to_string();
    match app.monitoring().save_rule(&viewer.ctx, &document).await {
        Ok(rule) => see_other(&format!("/rules/{}", rule.code)),
        Err(error @ AppError::Invalid(_)) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            rules_page(&app, &viewer, document, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn dry_run(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let document = form.get("document").unwrap_or("").to_string();
    let hours = form.integer("hours").unwrap_or(24);
    let zone = timezone(&app);
    match app.monitoring().dry_run_rule(&viewer.ctx, &document, hours).await {
        Ok(report) => {
            let episodes: Vec<Value> = report
                .episodes
                .iter()
                .map(|e| {
                    context! {
                        scope => e.scope.clone(), sensors => e.sensors.join(", "),
                        started_at => local_time(&e.started_at, &zone), fired_at => local_time(&e.fired_at, &zone),
                        cleared_at => e.cleared_at.as_deref().map(|t| local_time(t, &zone)),
                    }
                })
                .collect();
            let result = context! {
                hours => hours.clamp(1, 168), sensors => report.sensors.len(), readings => report.readings, episodes => episodes,
                from => local_time(&report.from, &zone), to => local_time(&report.to, &zone),
            };
            rules_page(&app, &viewer, document, Some(result), Vec::new(), StatusCode::OK).await
        }
        Err(error @ AppError::Invalid(_)) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            rules_page(&app, &viewer, document, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn rule(State(app): State<App>, viewer: Viewer, Path(code): Path<String>) -> Response {
    let zone = timezone(&app);
    let list = match app.monitoring().list_rules(&viewer.ctx).await {
        Ok(list) => list,
        Err(error) => return error_page(&viewer, &error),
    };
    let Some(rule) = list.into_iter().find(|r| r.code == code) else {
        return error_page(&viewer, &AppError::NotFound { kind: domain::policy::ResourceKind::Rule });
    };
    let episodes = match app.monitoring().rule_episodes(&viewer.ctx, &code).await {
        Ok(list) => list,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows: Vec<Value> = episodes
        .iter()
        .map(|e| {
            let sensors: Vec<String> = e
                .evidence
                .as_ref()
                .and_then(|v| v["sensors"].as_array())
                .map(|list| list.iter().filter_map(|s| s["sensor"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            context! {
                id => e.id, scope => e.scope.clone(), sensors => sensors,
                started_at => local_time(&e.started_at, &zone),
                fired_at => e.fired_at.as_deref().map(|t| local_time(t, &zone)),
                cleared_at => e.cleared_at.as_deref().map(|t| local_time(t, &zone)),
                warning_id => e.warning_id, incident_id => e.incident_id, task_id => e.task_id,
            }
        })
        .collect();
    render(
        "rule.html",
        &viewer,
        "sensors",
        context! {
            code => rule.code.clone(), revision => rule.revision, enabled => rule.enabled,
            title => super::pages::name_of(viewer.ctx.locale, &rule.definition.title_zh, rule.definition.title_en.as_deref()),
            saved_by => rule.saved_by.clone(), saved_at => local_time(&rule.saved_at, &zone),
            document => rule.definition.to_yaml(),
            episodes => rows,
        },
    )
}
