//! Map layers: the list, features by view, and imports.

use app::App;
use app::commons::{FeatureQuery, LayerImport, LayerImportReport, LayerView};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams};
use crate::problem::{ApiResult, Problem, WithLocale};

/// The layers you may see.
#[utoipa::path(get, path = "/api/v1/layers", tag = "layers", responses((status = 200, body = Vec<LayerView>)))]
pub async fn list_layers(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<Vec<LayerView>>> {
    app.commons().list_layers(&ctx).await.localized(ctx.locale).map(Json)
}

/// The features of a layer inside a view, as GeoJSON: shapes simplified for the zoom level, dense points
/// aggregated into cells (`properties.cluster`, `properties.count`).
#[utoipa::path(get, path = "/api/v1/layers/{name}/features", tag = "layers", params(("name" = String, Path), FeatureQuery),
    responses((status = 200, description = "a GeoJSON FeatureCollection", body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn layer_features(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(name): PathParams<String>,
    QueryParams(query): QueryParams<FeatureQuery>,
) -> ApiResult<impl IntoResponse> {
    let collection = app.commons().layer_features(&ctx, &name, &query).await.localized(ctx.locale)?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(collection)))
}

/// The query of a layer import.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportLayerParams {
    /// Name used in URLs.
    pub name: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: Option<String>,
    /// `public` (default), `internal`, `restricted` or `confidential`.
    pub classification: Option<String>,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// The jurisdiction it belongs to.
    pub jurisdiction_id: Option<i64>,
}

/// Import a GeoJSON FeatureCollection into a layer (created if new): features are upserted by id; bad features
/// are reported and skipped; re-importing the same file changes nothing.
#[utoipa::path(post, path = "/api/v1/layers", tag = "layers", params(ImportLayerParams), request_body = Object,
    responses((status = 200, body = LayerImportReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_layer(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ImportLayerParams>,
    JsonBody(geojson): JsonBody<serde_json::Value, { 64 * 1024 * 1024 }>,
) -> ApiResult<Json<LayerImportReport>> {
    let input = LayerImport {
        name: params.name,
        title_zh: params.title_zh,
        title_en: params.title_en,
        classification: params.classification,
        organization_id: params.organization_id,
        jurisdiction_id: params.jurisdiction_id,
    };
    app.commons().import_layer(&ctx, input, &geojson).await.localized(ctx.locale).map(Json)
}
