//! The data commons: datasets, their imports and upserts, sharing policies and access logs.

use app::App;
use app::commons::{AccessView, DatasetImportReport, DatasetInput, DatasetView, PolicyInput, PolicyView};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams, RawBody};
use crate::problem::{ApiResult, Problem, WithLocale};

fn invalid(field: &str, expected: &'static str, locale: domain::Locale) -> Problem {
    Problem::from_app(&app::AppError::from(domain::Invalid::new(field, domain::InvalidReason::Malformed { expected })), locale)
}

/// The catalogue: the datasets you may read, each with the fields you may read and its freshness.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "datasets", responses((status = 200, body = Vec<DatasetView>)))]
pub async fn list_datasets(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<DatasetView>>> {
    app.commons().list_datasets(&ctx).await.localized(ctx.locale).map(Json)
}

/// A dataset.
#[utoipa::path(get, path = "/api/v1/datasets/{name}", tag = "datasets", params(("name" = String, Path)),
    responses((status = 200, body = DatasetView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_dataset(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
) -> ApiResult<Json<DatasetView>> {
    app.commons().get_dataset(&ctx, &name).await.localized(ctx.locale).map(Json)
}

/// Declare or change a dataset (its owner's liaison, or an administrator): kind, classification, typed and
/// classified fields, licence, update interval.
#[utoipa::path(put, path = "/api/v1/datasets/{name}", tag = "datasets", params(("name" = String, Path)), request_body = DatasetInput,
    responses((status = 200, body = DatasetView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_dataset(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    JsonBody(input): JsonBody<DatasetInput>,
) -> ApiResult<Json<DatasetView>> {
    app.commons().save_dataset(&ctx, &name, input).await.localized(ctx.locale).map(Json)
}

/// Which features, and as of when.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// west,south,east,north; default everywhere.
    pub bbox: Option<String>,
    /// The dataset as it was at this time (RFC 3339).
    pub as_of: Option<String>,
}

/// A dataset's features as GeoJSON, each with only the properties you may read; reads of restricted or
/// confidential data are logged with their purpose (the owner sees them).
#[utoipa::path(get, path = "/api/v1/datasets/{name}/features", tag = "datasets", params(("name" = String, Path), ReadParams),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read_dataset(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    QueryParams(params): QueryParams<ReadParams>,
) -> ApiResult<impl IntoResponse> {
    let bbox = match params.bbox.as_deref() {
        None => None,
        Some(text) => {
            let b = domain::geometry::BBox::parse("bbox", text).map_err(|e| Problem::from_app(&app::AppError::from(e), ctx.locale))?;
            Some([b.min_lon, b.min_lat, b.max_lon, b.max_lat])
        }
    };
    let as_of = match params.as_of.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<jiff::Timestamp>().map_err(|_| invalid("as_of", "RFC 3339", ctx.locale))?.as_millisecond()),
    };
    let collection = app.commons().read_dataset(&ctx, &name, bbox, as_of).await.localized(ctx.locale)?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(collection)))
}

/// Import a file into a dataset (its owner): GeoJSON (`application/geo+json` or `application/json`) or CSV
/// (`text/csv`, with `id`, `lon`, `lat` or `address`, and the dataset's fields). Bad rows come back with their line,
/// field and reason while the good ones are upserted and versioned; a file unreadable as a whole writes nothing.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/import", tag = "datasets", params(("name" = String, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = DatasetImportReport), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn import_dataset(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody<{ app::commons::MAX_IMPORT_BYTES }>,
) -> ApiResult<Json<DatasetImportReport>> {
    app.commons().import_dataset(&ctx, &name, &body.media_type, &body.bytes).await.localized(ctx.locale).map(Json)
}

/// An upsert by stable ids.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertBody {
    /// GeoJSON features, each with its `id`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub upsert: Vec<Value>,
    /// Ids of features to delete.
    #[serde(default)]
    pub delete: Vec<String>,
}

/// Upsert features by stable id, and delete some (its owner); every change is versioned.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/features", tag = "datasets", params(("name" = String, Path)), request_body = UpsertBody,
    responses((status = 200, body = DatasetImportReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn upsert_features(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    JsonBody(body): JsonBody<UpsertBody, { 16 * 1024 * 1024 }>,
) -> ApiResult<Json<DatasetImportReport>> {
    app.commons().upsert_dataset(&ctx, &name, &body.upsert, &body.delete).await.localized(ctx.locale).map(Json)
}

/// A dataset's sharing policies (its owner), each activation-bound one with the incidents that open it now.
#[utoipa::path(get, path = "/api/v1/datasets/{name}/policies", tag = "datasets", params(("name" = String, Path)),
    responses((status = 200, body = Vec<PolicyView>), (status = 403, body = Problem)))]
pub async fn list_policies(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
) -> ApiResult<Json<Vec<PolicyView>>> {
    app.commons().dataset_policies(&ctx, &name).await.localized(ctx.locale).map(Json)
}

/// Share a dataset (its owner): with an organization or a role, some fields, inside an area; or, bound to an
/// activation, with the command of an incident of a category at a grade or worse, inside its area, while it lasts.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/policies", tag = "datasets", params(("name" = String, Path)), request_body = PolicyInput,
    responses((status = 201, body = PolicyView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_policy(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> ApiResult<impl IntoResponse> {
    let view = app.commons().create_policy(&ctx, &name, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// End a policy (its owner).
#[utoipa::path(delete, path = "/api/v1/datasets/{name}/policies/{id}", tag = "datasets", params(("name" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_policy(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams((name, id)): PathParams<(String, i64)>,
) -> ApiResult<StatusCode> {
    app.commons().revoke_policy(&ctx, &name, id).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who read the dataset's restricted or confidential data, when, and why (its owner, administrators, auditors).
#[utoipa::path(get, path = "/api/v1/datasets/{name}/access-log", tag = "datasets", params(("name" = String, Path)),
    responses((status = 200, body = Vec<AccessView>), (status = 403, body = Problem)))]
pub async fn access_log(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
) -> ApiResult<Json<Vec<AccessView>>> {
    app.commons().dataset_access_log(&ctx, &name).await.localized(ctx.locale).map(Json)
}
