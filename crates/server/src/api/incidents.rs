//! Reports, incidents, plans and the steps of tasks.

use app::incidents::{ActivationInput, ActivationView, PlanView, UpwardReportView};
use app::incidents::{IncidentFilter, IncidentPatch, ProposalView, ReportInput, ReportOutcome, ReportView, StatusChange};
use app::incidents::{Reassignment, TaskReport, TaskView};
use app::{App, IncidentView, ListParams, Page};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams, RawBody, version_from};
use crate::problem::{ApiResult, Problem, WithLocale};

fn etag(version: i64) -> [(axum::http::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{version}\""))]
}

/// Report something happening. Send an `Idempotency-Key` header (or `channel_key`): posting the same report twice
/// creates one. The answer holds the incident the report opened and the open incidents it may be the same as.
#[utoipa::path(post, path = "/api/v1/reports", tag = "incidents", request_body = ReportInput,
    responses((status = 201, body = ReportOutcome), (status = 200, description = "sent before", body = ReportOutcome), (status = 422, body = Problem)))]
pub async fn create_report(
    State(app): State<App>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    JsonBody(mut input): JsonBody<ReportInput>,
) -> ApiResult<impl IntoResponse> {
    if input.channel_key.is_none() {
        input.channel_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    }
    let outcome = app.incidents().submit_report(&ctx, "api", input).await.localized(ctx.locale)?;
    Ok((if outcome.created { StatusCode::CREATED } else { StatusCode::OK }, Json(outcome)))
}

/// A hotline's tickets as CSV (the 12345 system's export): `ticket,category,subtype,description,lon,lat,address,observed_at,caller_phone`.
/// Each line is a report with the ticket number as its key (importing the file again changes nothing); bad lines
/// are reported with their line number and skipped.
#[utoipa::path(post, path = "/api/v1/reports/hotline", tag = "incidents", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = app::incidents::HotlineImport), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_hotline(
    State(app): State<App>,
    Caller(ctx): Caller,
    body: RawBody<{ 16 * 1024 * 1024 }>,
) -> ApiResult<Json<app::incidents::HotlineImport>> {
    if body.media_type != "text/csv" {
        let detail = domain::i18n::format(ctx.locale, "error.unsupported_media_type", &[("expected", "text/csv".into())]);
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", ctx.locale, detail));
    }
    let Ok(text) = std::str::from_utf8(&body.bytes) else {
        let invalid = domain::Invalid::new("csv", domain::InvalidReason::Malformed { expected: "UTF-8 text" });
        return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
    };
    app.incidents().import_hotline(&ctx, text).await.localized(ctx.locale).map(Json)
}

/// The incident board.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams, IncidentFilter),
    responses((status = 200, body = Page<IncidentView>), (status = 422, body = Problem)))]
pub async fn list_incidents(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<IncidentFilter>,
) -> ApiResult<Json<Page<IncidentView>>> {
    app.incidents().list_incidents(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// One incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = IncidentView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_incident(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<impl IntoResponse> {
    let view = app.incidents().get_incident(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// New facts: title, description, grade, warning level, figures, affected jurisdictions.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)), request_body = IncidentPatch,
    responses((status = 200, body = IncidentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_incident(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<IncidentPatch>,
) -> ApiResult<impl IntoResponse> {
    patch.version = version_from(&headers, patch.version);
    let view = app.incidents().update_incident(&ctx, id, patch).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Move an incident to another status. A move the state machine does not allow is answered 409 with `allowed`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents", params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = IncidentView), (status = 409, body = Problem)))]
pub async fn change_status(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut change): JsonBody<StatusChange>,
) -> ApiResult<impl IntoResponse> {
    change.version = version_from(&headers, change.version);
    let view = app.incidents().change_incident_status(&ctx, id, change).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// The reports of an incident (reporters masked).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/reports", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ReportView>)))]
pub async fn incident_reports(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<Vec<ReportView>>> {
    app.incidents().incident_reports(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Open incidents that may be the same as this one, with the score and why.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/proposals", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ProposalView>)))]
pub async fn incident_proposals(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<Vec<ProposalView>>> {
    app.incidents().incident_proposals(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Which incident to merge into this one.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The incident merged into this one.
    pub source_id: i64,
}

/// Merge another incident into this one: its reports move here, it becomes `merged`; the merge can be undone.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents", params(("id" = i64, Path)), request_body = MergeInput,
    responses((status = 200, body = IncidentView), (status = 409, body = Problem)))]
pub async fn merge(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<MergeInput>,
) -> ApiResult<Json<IncidentView>> {
    app.incidents().merge_incidents(&ctx, id, input.source_id).await.localized(ctx.locale).map(Json)
}

/// Which merge to undo.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The merge, as listed on the incident's timeline.
    pub merge_id: i64,
}

/// Undo a merge (split): the reports go back and the other incident returns to its status before the merge.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", tag = "incidents", params(("id" = i64, Path)), request_body = SplitInput,
    responses((status = 200, description = "the incident split off", body = IncidentView), (status = 409, body = Problem)))]
pub async fn split(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<SplitInput>,
) -> ApiResult<Json<IncidentView>> {
    app.incidents().split_incident(&ctx, id, input.merge_id).await.localized(ctx.locale).map(Json)
}

/// Activate the plan for a verified incident: the response level, who commands, the modes, and the tasks of the
/// responsibility matrix with owners and due times.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/activate", tag = "incidents", params(("id" = i64, Path)), request_body = ActivationInput,
    responses((status = 200, body = ActivationView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn activate(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut input): JsonBody<ActivationInput>,
) -> ApiResult<Json<ActivationView>> {
    input.version = version_from(&headers, input.version);
    app.incidents().activate_plan(&ctx, id, input).await.localized(ctx.locale).map(Json)
}

/// A version, for steps that need nothing else.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionOnly {
    /// The version read.
    pub version: Option<i64>,
    /// Why (kept on the timeline).
    #[serde(default)]
    pub note: Option<String>,
}

/// Stand the response down: modes return, the plan's open tasks close, the incident becomes `stabilized`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/stand-down", tag = "incidents", params(("id" = i64, Path)), request_body = VersionOnly,
    responses((status = 200, body = IncidentView), (status = 409, body = Problem)))]
pub async fn stand_down(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<VersionOnly>,
) -> ApiResult<Json<IncidentView>> {
    app.incidents().stand_down(&ctx, id, version_from(&headers, input.version)).await.localized(ctx.locale).map(Json)
}

/// Hand command to the next jurisdiction level up.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalate", tag = "incidents", params(("id" = i64, Path)), request_body = VersionOnly,
    responses((status = 200, body = IncidentView), (status = 409, body = Problem)))]
pub async fn escalate(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<VersionOnly>,
) -> ApiResult<Json<IncidentView>> {
    app.incidents()
        .escalate_incident(&ctx, id, version_from(&headers, input.version), input.note.as_deref())
        .await
        .localized(ctx.locale)
        .map(Json)
}

/// The upward report, generated from the incident's data.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/upward-report", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = UpwardReportView)))]
pub async fn upward_report(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<UpwardReportView>> {
    app.incidents().upward_report(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// The incident's timeline: every event about it and its tasks, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<app::events::EventView>)))]
pub async fn timeline(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<Vec<app::events::EventView>>> {
    app.incidents().incident_timeline(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// The tasks of an incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/tasks", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TaskView>)))]
pub async fn incident_tasks(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<Vec<TaskView>>> {
    app.incidents().incident_tasks(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Reassign a task to another member or organization (recorded with the reason).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reassign", tag = "incidents", params(("id" = i64, Path)), request_body = Reassignment,
    responses((status = 200, body = TaskView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn reassign_task(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut input): JsonBody<Reassignment>,
) -> ApiResult<Json<TaskView>> {
    input.version = version_from(&headers, input.version);
    app.incidents().reassign_task(&ctx, id, input).await.localized(ctx.locale).map(Json)
}

/// A step on a task: `acknowledged`, `in_progress`, `done` (with a note or a photo), `unable` or `declined` (with
/// a reason).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/progress", tag = "incidents", params(("id" = i64, Path)), request_body = TaskReport,
    responses((status = 200, body = TaskView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn task_progress(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut report): JsonBody<TaskReport>,
) -> ApiResult<Json<TaskView>> {
    report.version = version_from(&headers, report.version);
    app.incidents().close_task(&ctx, id, report).await.localized(ctx.locale).map(Json)
}

/// The open tasks of an organization (its inbox).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/tasks", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TaskView>)))]
pub async fn organization_tasks(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<Vec<TaskView>>> {
    app.incidents().organization_tasks(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// The latest revision of every plan.
#[utoipa::path(get, path = "/api/v1/plans", tag = "incidents", responses((status = 200, body = Vec<PlanView>)))]
pub async fn list_plans(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<PlanView>>> {
    app.incidents().list_plans(&ctx).await.localized(ctx.locale).map(Json)
}

/// Save a plan document (JSON, format `gridline.plan/1`, schema at `/api/v1/plans/schema`) as a new draft
/// revision. A malformed document is refused whole with its line, column and field; a well-formed one is kept with
/// the linter's findings.
#[utoipa::path(post, path = "/api/v1/plans", tag = "incidents", request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = PlanView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_plan(
    State(app): State<App>,
    Caller(ctx): Caller,
    body: RawBody<{ plan::MAX_DOCUMENT_BYTES + 1 }>,
) -> ApiResult<impl IntoResponse> {
    let Ok(text) = std::str::from_utf8(&body.bytes) else {
        let invalid = domain::Invalid::new("plan", domain::InvalidReason::Malformed { expected: "UTF-8 JSON" });
        return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
    };
    let view = app.incidents().save_plan(&ctx, text).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The plan document's JSON Schema.
#[utoipa::path(get, path = "/api/v1/plans/schema", tag = "incidents", responses((status = 200, body = Object, content_type = "application/schema+json")))]
pub async fn plan_schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], plan::json_schema().to_string())
}

/// One plan revision, with its document and findings.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = Problem)))]
pub async fn get_plan(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<Json<PlanView>> {
    app.incidents().get_plan(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Publish a revision: activations use it from now. Refused while the linter finds errors.
#[utoipa::path(post, path = "/api/v1/plans/{id}/publish", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = PlanView), (status = 422, body = Problem)))]
pub async fn publish_plan(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<Json<PlanView>> {
    app.incidents().publish_plan(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// What an upload answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    /// Where the file is, to put in a report's `media` or a task's `photo`.
    pub url: String,
}

/// Upload a photo (`image/jpeg`, `image/png` or `image/webp`, at most 10 MiB) for a report or as a task's evidence.
#[utoipa::path(post, path = "/api/v1/media", tag = "incidents", request_body(content = String, content_type = "image/jpeg"),
    responses((status = 201, body = Uploaded), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_media(
    State(app): State<App>,
    Caller(ctx): Caller,
    body: RawBody<{ app::incidents::MAX_MEDIA_BYTES }>,
) -> ApiResult<impl IntoResponse> {
    let url = app.incidents().upload_media(&ctx, &body.media_type, body.bytes.to_vec()).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(Uploaded { url })))
}
