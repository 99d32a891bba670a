//! Warnings, acknowledgements, tasks and the household register.

use app::incidents::{TaskFilter, TaskReport, TaskView};
use app::registry::{HouseholdImport, HouseholdView};
use app::warnings::AckView;
use app::warnings::{Ingested, ReachPreview, ReachView, WarningFilter, WarningInput, WarningView};
use app::{App, ListParams, Page};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams, RawBody, version_from};
use crate::problem::{ApiResult, Problem, WithLocale};

fn etag(version: i64) -> [(axum::http::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{version}\""))]
}

/// Media types a CAP document may be posted as.
const CAP_MEDIA_TYPES: &[&str] = &["application/cap+xml", "application/xml", "text/xml", "application/json", "application/cap+json"];

/// Post a CAP 1.2 document (XML, or the JSON form). Whoever posts it, it is a draft like any other: an `Alert`
/// becomes a draft that a second person approves before it is issued, an `Update` an update draft of the warning
/// it references, and a `Cancel` cancels the warnings it references at once. Authority over an `Update` or a
/// `Cancel` is authority over the warning it references (403 otherwise). A document received before (same
/// sender, identifier and sent time) is answered with 200 and changes nothing; a new one with 201. Warnings from
/// trusted sources are relayed only through the feeds configured in `gridline.toml`.
#[utoipa::path(post, path = "/api/v1/warnings", tag = "warnings", request_body(content = String, content_type = "application/cap+xml"),
    responses((status = 201, body = Ingested), (status = 200, body = Ingested), (status = 403, body = Problem), (status = 413, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn ingest_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    body: RawBody<{ app::warnings::MAX_CAP_BYTES }>,
) -> ApiResult<impl IntoResponse> {
    if !CAP_MEDIA_TYPES.contains(&body.media_type.as_str()) {
        let detail = domain::i18n::format(ctx.locale, "error.unsupported_media_type", &[("expected", "application/cap+xml".into())]);
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", ctx.locale, detail));
    }
    let ingested = app.warnings().ingest_cap(&ctx, &body.bytes).await.localized(ctx.locale)?;
    let status = if ingested.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ingested)))
}

/// List warnings: those in your scope (drafts included), and every public one.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings", params(ListParams, WarningFilter),
    responses((status = 200, body = Page<WarningView>), (status = 422, body = Problem)))]
pub async fn list_warnings(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<WarningFilter>,
) -> ApiResult<Json<Page<WarningView>>> {
    app.warnings().list_warnings(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Draft a warning.
#[utoipa::path(post, path = "/api/v1/warnings/drafts", tag = "warnings", request_body = WarningInput,
    responses((status = 201, body = WarningView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<WarningInput>,
) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().create_warning(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// One warning.
#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = WarningView), (status = 404, body = Problem)))]
pub async fn get_warning(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().get_warning(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// A draft's new content (send `If-Match` with the version you read). Changing an approved draft withdraws the
/// approval.
#[utoipa::path(put, path = "/api/v1/warnings/{id}", tag = "warnings", params(("id" = i64, Path)), request_body = WarningInput,
    responses((status = 200, body = WarningView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<WarningInput>,
) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().update_warning_draft(&ctx, id, version_from(&headers, None), input).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// A step of the lifecycle.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The version you read.
    pub version: Option<i64>,
    /// For issuing: confirm an unusually large reach.
    #[serde(default)]
    pub confirm: bool,
}

/// Approve a draft (the second person of the two-person rule).
#[utoipa::path(post, path = "/api/v1/warnings/{id}/approve", tag = "warnings", params(("id" = i64, Path)), request_body = Step,
    responses((status = 200, body = WarningView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(step): JsonBody<Step>,
) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().approve_warning(&ctx, id, version_from(&headers, step.version)).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Issue an approved warning (or a draft exercise): it gets its identifier and CAP document, and a delivery is
/// enqueued for everyone inside its area. 409 `confirmation_required` when the reach is unusually large: send
/// `"confirm": true` after checking it.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/issue", tag = "warnings", params(("id" = i64, Path)), request_body = Step,
    responses((status = 200, body = WarningView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn issue_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(step): JsonBody<Step>,
) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().issue_warning(&ctx, id, version_from(&headers, step.version), step.confirm).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Why a warning is cancelled.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    /// Why, in Chinese (sent to everyone the warning reached).
    pub note_zh: String,
    /// Why, in English.
    #[serde(default)]
    pub note_en: Option<String>,
}

/// Cancel an issued warning now (CAP `Cancel`): no second person is needed.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/cancel", tag = "warnings", params(("id" = i64, Path)), request_body = Cancellation,
    responses((status = 200, description = "the cancellation message", body = WarningView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(cancellation): JsonBody<Cancellation>,
) -> ApiResult<impl IntoResponse> {
    let view =
        app.warnings().cancel_warning(&ctx, id, &cancellation.note_zh, cancellation.note_en.as_deref()).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// Draft an update of an issued warning (CAP `Update`); it is approved and issued like any draft.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/updates", tag = "warnings", params(("id" = i64, Path)), request_body = WarningInput,
    responses((status = 201, body = WarningView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn draft_update(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(input): JsonBody<WarningInput>,
) -> ApiResult<impl IntoResponse> {
    let view = app.warnings().draft_warning_update(&ctx, id, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// Who a warning would reach: households, residents, vulnerable households and members inside its area.
#[utoipa::path(get, path = "/api/v1/warnings/{id}/preview", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = ReachPreview), (status = 404, body = Problem)))]
pub async fn preview_warning(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<Json<ReachPreview>> {
    app.warnings().preview_reach(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Live reach of a sent warning, by grid: targeted, delivered, acknowledged, door-knocked, unreached.
#[utoipa::path(get, path = "/api/v1/warnings/{id}/reach", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = ReachView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn warning_reach(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<Json<ReachView>> {
    app.warnings().warning_reach(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// The CAP document of a sent warning.
#[utoipa::path(get, path = "/api/v1/warnings/{id}/cap", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/cap+xml", body = String), (status = 404, body = Problem)))]
pub async fn warning_cap(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<impl IntoResponse> {
    let xml = app.warnings().warning_cap_xml(&ctx, id).await.localized(ctx.locale)?;
    Ok(([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], xml))
}

/// What an acknowledgement link shows (opening it does not acknowledge).
#[utoipa::path(get, path = "/api/v1/ack/{token}", tag = "warnings", params(("token" = String, Path)),
    responses((status = 200, body = AckView), (status = 401, body = Problem)))]
pub async fn ack_status(State(app): State<App>, Caller(ctx): Caller, PathParams(token): PathParams<String>) -> ApiResult<Json<AckView>> {
    app.warnings().ack_status(&token, ctx.locale).await.localized(ctx.locale).map(Json)
}

/// Acknowledge a warning with the token of a personal link (no sign-in: the token is the proof). Acknowledging
/// twice counts once.
#[utoipa::path(post, path = "/api/v1/ack/{token}", tag = "warnings", params(("token" = String, Path)),
    responses((status = 200, body = AckView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn acknowledge(State(app): State<App>, Caller(ctx): Caller, PathParams(token): PathParams<String>) -> ApiResult<Json<AckView>> {
    app.warnings().acknowledge(&token, "api", ctx.locale).await.localized(ctx.locale).map(Json)
}

/// Tasks in your scope.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "warnings", params(ListParams, TaskFilter),
    responses((status = 200, body = Page<TaskView>), (status = 422, body = Problem)))]
pub async fn list_tasks(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<TaskFilter>,
) -> ApiResult<Json<Page<TaskView>>> {
    app.incidents().list_tasks(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Your open tasks (owned, or escalated to you), soonest deadline first.
#[utoipa::path(get, path = "/api/v1/tasks/mine", tag = "warnings", responses((status = 200, body = Vec<TaskView>)))]
pub async fn my_tasks(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<TaskView>>> {
    app.incidents().my_tasks(&ctx).await.localized(ctx.locale).map(Json)
}

/// One task; a door-knock shows the household to its owner (recorded in the audit log).
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = TaskView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_task(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<impl IntoResponse> {
    let view = app.incidents().get_task(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), [(header::CACHE_CONTROL, "no-store")], Json(view)))
}

/// Close a task: `done`, or `unable` with a note saying why.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/close", tag = "warnings", params(("id" = i64, Path)), request_body = TaskReport,
    responses((status = 200, body = TaskView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn close_task(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut report): JsonBody<TaskReport>,
) -> ApiResult<impl IntoResponse> {
    report.version = version_from(&headers, report.version);
    let view = app.incidents().close_task(&ctx, id, report).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Households you may see (personal data masked).
#[utoipa::path(get, path = "/api/v1/households", tag = "warnings", params(ListParams),
    responses((status = 200, body = Page<HouseholdView>), (status = 422, body = Problem)))]
pub async fn list_households(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> ApiResult<Json<Page<HouseholdView>>> {
    app.registry().list_households(&ctx, &params).await.localized(ctx.locale).map(Json)
}

/// Import households from CSV (`text/csv`, UTF-8, up to 256 MiB; columns in `app::registry::COLUMNS`): bad lines
/// are reported with their line number and skipped; good lines are kept. Importing the same file again changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/households/import", tag = "warnings", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = HouseholdImport), (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_households(
    State(app): State<App>,
    Caller(ctx): Caller,
    body: RawBody<{ 256 * 1024 * 1024 }>,
) -> ApiResult<Json<HouseholdImport>> {
    if body.media_type != "text/csv" {
        let detail = domain::i18n::format(ctx.locale, "error.unsupported_media_type", &[("expected", "text/csv".into())]);
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", ctx.locale, detail));
    }
    let Ok(text) = std::str::from_utf8(&body.bytes) else {
        let invalid = domain::Invalid::new("csv", domain::InvalidReason::Malformed { expected: "UTF-8 text" });
        return Err(Problem::from_app(&app::AppError::from(invalid), ctx.locale));
    };
    app.registry().import_households(&ctx, text).await.localized(ctx.locale).map(Json)
}
