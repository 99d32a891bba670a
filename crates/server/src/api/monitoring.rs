//! Sensors, observations and monitoring rules.

use app::App;
use app::monitoring::{DryRunReport, EpisodeView, IngestReport, NewSensor, RuleView, SensorView, SeriesView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams, RawBody};
use crate::problem::{ApiResult, Problem, WithLocale};

/// Register a sensor (administrators and duty officers). Its position places it in the deepest jurisdiction holding
/// it; its code is the one MQTT topics name.
#[utoipa::path(post, path = "/api/v1/sensors", tag = "monitoring", request_body = NewSensor,
    responses((status = 201, body = SensorView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_sensor(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewSensor>,
) -> ApiResult<impl IntoResponse> {
    let view = app.monitoring().create_sensor(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every sensor, with its latest reading and whether it is stale.
#[utoipa::path(get, path = "/api/v1/sensors", tag = "monitoring", responses((status = 200, body = Vec<SensorView>), (status = 401, body = Problem)))]
pub async fn list_sensors(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<SensorView>>> {
    app.monitoring().list_sensors(&ctx).await.localized(ctx.locale).map(Json)
}

/// How far back a sensor's readings go.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Hours {
    /// Hours of readings before the latest one (default 24, at most 744).
    pub hours: Option<i64>,
}

/// A sensor, its readings and the readings it had refused (with the reasons).
#[utoipa::path(get, path = "/api/v1/sensors/{code}", tag = "monitoring", params(("code" = String, Path), Hours),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_sensor(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(code): PathParams<String>,
    QueryParams(hours): QueryParams<Hours>,
) -> ApiResult<Json<Value>> {
    app.monitoring().sensor_detail(&ctx, &code, hours.hours.unwrap_or(24)).await.localized(ctx.locale).map(Json)
}

/// Readings, in a batch: `{"readings": [{"sensor": "rain-1", "at": "2026-07-15T06:00:00Z", "value": 12.5, "unit":
/// "mm/h"}, …]}` (or the array alone). Each reading is checked on its own: the good ones are stored, the others
/// come back with their index, field and reason; a reading sent twice is stored once. At most 10,000 readings a
/// batch (the rest are refused) and 8 MiB.
#[utoipa::path(post, path = "/api/v1/observations", tag = "monitoring", request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = IngestReport), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn observations(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(body): JsonBody<Value, { 8 * 1024 * 1024 }>,
) -> ApiResult<Json<IngestReport>> {
    if !ctx.subject.is_authenticated() && !ctx.is_system() {
        return Err(Problem::from_app(&app::AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired }, ctx.locale));
    }
    let items = match body {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("readings") {
            Some(Value::Array(items)) => items,
            _ => {
                let invalid = domain::Invalid::new("readings", domain::InvalidReason::Required);
                return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
            }
        },
        _ => {
            let invalid = domain::Invalid::new("readings", domain::InvalidReason::Malformed { expected: "{\"readings\": [...]}" });
            return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
        }
    };
    app.monitoring().ingest(&ctx, "http", &items, None).await.localized(ctx.locale).map(Json)
}

/// Save a rule (YAML or JSON; a new revision; administrators and duty officers). A malformed rule is refused with
/// its line and field.
#[utoipa::path(post, path = "/api/v1/rules", tag = "monitoring", request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = RuleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_rule(State(app): State<App>, Caller(ctx): Caller, body: RawBody<{ 256 * 1024 }>) -> ApiResult<impl IntoResponse> {
    let Ok(text) = std::str::from_utf8(&body.bytes) else {
        let invalid = domain::Invalid::new("rule", domain::InvalidReason::Malformed { expected: "UTF-8 YAML or JSON" });
        return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
    };
    let view = app.monitoring().save_rule(&ctx, text).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The rules in force (the newest revision of each).
#[utoipa::path(get, path = "/api/v1/rules", tag = "monitoring", responses((status = 200, body = Vec<RuleView>)))]
pub async fn list_rules(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<RuleView>>> {
    app.monitoring().list_rules(&ctx).await.localized(ctx.locale).map(Json)
}

/// A rule's episodes: when its condition held, when it fired, with the readings that made it fire and what it
/// created.
#[utoipa::path(get, path = "/api/v1/rules/{code}/episodes", tag = "monitoring", params(("code" = String, Path)),
    responses((status = 200, body = Vec<EpisodeView>)))]
pub async fn rule_episodes(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(code): PathParams<String>,
) -> ApiResult<Json<Vec<EpisodeView>>> {
    app.monitoring().rule_episodes(&ctx, &code).await.localized(ctx.locale).map(Json)
}

/// The span and resolution of a chart.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Hours before `to` (default 24, at most 8,784).
    pub hours: Option<i64>,
    /// The end (RFC 3339; default: the sensor's latest reading).
    pub to: Option<String>,
    /// About how many buckets (default 300, 10 to 2,000; each at least a minute).
    pub points: Option<i64>,
}

/// A sensor's readings downsampled for a chart: the minimum, mean and maximum of each bucket, computed in the
/// database.
#[utoipa::path(get, path = "/api/v1/sensors/{code}/series", tag = "monitoring", params(("code" = String, Path), SeriesParams),
    responses((status = 200, body = SeriesView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn sensor_series(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(code): PathParams<String>,
    QueryParams(params): QueryParams<SeriesParams>,
) -> ApiResult<Json<SeriesView>> {
    let to = match params.to.as_deref() {
        None => None,
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t.as_millisecond()),
            Err(_) => {
                let invalid = domain::Invalid::new("to", domain::InvalidReason::Malformed { expected: "RFC 3339" });
                return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
            }
        },
    };
    app.monitoring()
        .sensor_series(&ctx, &code, params.hours.unwrap_or(24), to, params.points.unwrap_or(300))
        .await
        .localized(ctx.locale)
        .map(Json)
}

/// How far back a dry run replays.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunParams {
    /// Hours of readings to replay (default 24, at most 168).
    pub hours: Option<i64>,
}

/// Test a rule (YAML or JSON, not saved) against past readings: the episodes it would have fired, decided exactly
/// as the live engine decides, reading by reading. Nothing is created.
#[utoipa::path(post, path = "/api/v1/rules/dry-run", tag = "monitoring", params(DryRunParams),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = DryRunReport), (status = 422, body = Problem)))]
pub async fn dry_run_rule(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<DryRunParams>,
    body: RawBody<{ 256 * 1024 }>,
) -> ApiResult<Json<DryRunReport>> {
    let Ok(text) = std::str::from_utf8(&body.bytes) else {
        let invalid = domain::Invalid::new("rule", domain::InvalidReason::Malformed { expected: "UTF-8 YAML or JSON" });
        return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
    };
    app.monitoring().dry_run_rule(&ctx, text, params.hours.unwrap_or(24)).await.localized(ctx.locale).map(Json)
}

/// How many refusals.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RejectionParams {
    /// At most this many, newest first (default 100, at most 1,000).
    pub limit: Option<i64>,
}

/// The readings refused lately, from every channel and for every sensor, including sensors nobody registered
/// (administrators and duty officers).
#[utoipa::path(get, path = "/api/v1/observations/rejections", tag = "monitoring", params(RejectionParams),
    responses((status = 200, body = Vec<Object>), (status = 403, body = Problem)))]
pub async fn rejections(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<RejectionParams>,
) -> ApiResult<Json<Vec<Value>>> {
    app.monitoring().ingest_rejections(&ctx, params.limit.unwrap_or(100)).await.localized(ctx.locale).map(Json)
}
