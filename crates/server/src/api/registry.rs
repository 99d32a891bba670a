//! Registry endpoints: jurisdictions, organizations, members, teams.

use app::App;
use app::registry::{ImportOptions, ImportReport};
use app::registry::{JurisdictionFilter, JurisdictionPatch, JurisdictionView, NewJurisdiction};
use app::registry::{MemberFilter, MemberPatch, MemberView, NewMember};
use app::registry::{NewOrganization, OrganizationFilter, OrganizationPatch, OrganizationView};
use app::registry::{NewTeam, TeamFilter, TeamPatch, TeamView};
use app::{ListParams, Page};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::extract::{Caller, JsonBody, PathParams, QueryParams, version_from};
use crate::problem::{ApiResult, Problem, WithLocale};

/// `?version=` for deletes (or send `If-Match`).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// The version being deleted.
    pub version: Option<i64>,
}

fn etag(version: i64) -> [(axum::http::HeaderName, String); 1] {
    [(axum::http::header::ETAG, format!("\"{version}\""))]
}

// ------------------------------------------------------------------------------------------------- jurisdictions

/// List jurisdictions (public).
#[utoipa::path(get, path = "/api/v1/jurisdictions", tag = "registry", params(ListParams, JurisdictionFilter),
    responses((status = 200, body = Page<JurisdictionView>), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list_jurisdictions(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<JurisdictionFilter>,
) -> ApiResult<Json<Page<JurisdictionView>>> {
    app.registry().list_jurisdictions(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Create a jurisdiction.
#[utoipa::path(post, path = "/api/v1/jurisdictions", tag = "registry", request_body = NewJurisdiction,
    responses((status = 201, body = JurisdictionView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_jurisdiction(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewJurisdiction, { 16 * 1024 * 1024 }>,
) -> ApiResult<impl IntoResponse> {
    let view = app.registry().create_jurisdiction(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// One jurisdiction, with its boundary (public).
#[utoipa::path(get, path = "/api/v1/jurisdictions/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = JurisdictionView), (status = 404, body = Problem)))]
pub async fn get_jurisdiction(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<impl IntoResponse> {
    let view = app.registry().get_jurisdiction(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Change a jurisdiction (optimistic concurrency: send the version you read).
#[utoipa::path(patch, path = "/api/v1/jurisdictions/{id}", tag = "registry", params(("id" = i64, Path)), request_body = JurisdictionPatch,
    responses((status = 200, body = JurisdictionView), (status = 409, body = Problem), (status = 428, body = Problem)))]
pub async fn update_jurisdiction(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<JurisdictionPatch, { 16 * 1024 * 1024 }>,
) -> ApiResult<impl IntoResponse> {
    patch.version = version_from(&headers, patch.version);
    let view = app.registry().update_jurisdiction(&ctx, id, patch).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Delete a jurisdiction nothing refers to.
#[utoipa::path(delete, path = "/api/v1/jurisdictions/{id}", tag = "registry", params(("id" = i64, Path), VersionParam),
    responses((status = 204), (status = 409, body = Problem), (status = 428, body = Problem)))]
pub async fn delete_jurisdiction(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    QueryParams(param): QueryParams<VersionParam>,
) -> ApiResult<StatusCode> {
    app.registry().delete_jurisdiction(&ctx, id, version_from(&headers, param.version)).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?level=&parent_code=&code_property=&name_property=` for boundary imports.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The level of every imported jurisdiction.
    pub level: String,
    /// The parent of every feature (a jurisdiction code).
    pub parent_code: Option<String>,
    /// The feature property holding the code.
    pub code_property: Option<String>,
    /// The feature property holding the Chinese name.
    pub name_property: Option<String>,
    /// The feature property holding the English name.
    pub name_en_property: Option<String>,
}

/// Import boundaries from a GeoJSON FeatureCollection (up to 64 MiB): each feature is created, or updated if its
/// code exists; bad features are reported and skipped.
#[utoipa::path(post, path = "/api/v1/jurisdictions/import", tag = "registry", params(ImportParams), request_body = Object,
    responses((status = 200, body = ImportReport), (status = 422, body = Problem)))]
pub async fn import_jurisdictions(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ImportParams>,
    JsonBody(geojson): JsonBody<serde_json::Value, { 64 * 1024 * 1024 }>,
) -> ApiResult<Json<ImportReport>> {
    let level = domain::registry::JurisdictionLevel::parse("level", &params.level).map_err(app::AppError::from).localized(ctx.locale)?;
    let options = ImportOptions {
        level: Some(level),
        parent_code: params.parent_code,
        code_property: params.code_property,
        name_property: params.name_property,
        name_en_property: params.name_en_property,
    };
    app.registry().import_boundaries(&ctx, &geojson, &options).await.localized(ctx.locale).map(Json)
}

// ------------------------------------------------------------------------------------------------- organizations

/// List organizations (names public; contacts for those who may see them).
#[utoipa::path(get, path = "/api/v1/organizations", tag = "registry", params(ListParams, OrganizationFilter),
    responses((status = 200, body = Page<OrganizationView>), (status = 400, body = Problem)))]
pub async fn list_organizations(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<OrganizationFilter>,
) -> ApiResult<Json<Page<OrganizationView>>> {
    app.registry().list_organizations(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Create an organization.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "registry", request_body = NewOrganization,
    responses((status = 201, body = OrganizationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_organization(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewOrganization>,
) -> ApiResult<impl IntoResponse> {
    let view = app.registry().create_organization(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = OrganizationView), (status = 404, body = Problem)))]
pub async fn get_organization(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
) -> ApiResult<impl IntoResponse> {
    let view = app.registry().get_organization(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Change an organization.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "registry", params(("id" = i64, Path)), request_body = OrganizationPatch,
    responses((status = 200, body = OrganizationView), (status = 409, body = Problem), (status = 428, body = Problem)))]
pub async fn update_organization(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<OrganizationPatch>,
) -> ApiResult<impl IntoResponse> {
    patch.version = version_from(&headers, patch.version);
    let view = app.registry().update_organization(&ctx, id, patch).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Delete an organization nothing refers to.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "registry", params(("id" = i64, Path), VersionParam),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_organization(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    QueryParams(param): QueryParams<VersionParam>,
) -> ApiResult<StatusCode> {
    app.registry().delete_organization(&ctx, id, version_from(&headers, param.version)).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------------------------------------- members

/// List members visible to you (personal data masked).
#[utoipa::path(get, path = "/api/v1/members", tag = "registry", params(ListParams, MemberFilter),
    responses((status = 200, body = Page<MemberView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_members(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<MemberFilter>,
) -> ApiResult<Json<Page<MemberView>>> {
    app.registry().list_members(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Register a member.
#[utoipa::path(post, path = "/api/v1/members", tag = "registry", request_body = NewMember,
    responses((status = 201, body = MemberView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_member(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewMember>,
) -> ApiResult<impl IntoResponse> {
    let view = app.registry().create_member(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// `?reveal=true&purpose=…` to see personal data unmasked.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealParams {
    /// Show personal data unmasked (needs clearance; audited).
    #[serde(default)]
    pub reveal: bool,
    /// Why you need it (required with `reveal`; recorded in the audit log).
    pub purpose: Option<String>,
}

/// One member; personal data masked unless revealed with a purpose.
#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "registry", params(("id" = i64, Path), RevealParams),
    responses((status = 200, body = MemberView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_member(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    QueryParams(reveal): QueryParams<RevealParams>,
) -> ApiResult<impl IntoResponse> {
    let purpose = if reveal.reveal { Some(reveal.purpose.unwrap_or_default()) } else { None };
    let view = app.registry().get_member(&ctx, id, purpose.as_deref()).await.localized(ctx.locale)?;
    Ok((etag(view.version), [(axum::http::header::CACHE_CONTROL, "no-store")], Json(view)))
}

/// Change a member.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "registry", params(("id" = i64, Path)), request_body = MemberPatch,
    responses((status = 200, body = MemberView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 428, body = Problem)))]
pub async fn update_member(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<MemberPatch>,
) -> ApiResult<impl IntoResponse> {
    patch.version = version_from(&headers, patch.version);
    let view = app.registry().update_member(&ctx, id, patch).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Delete a member nothing refers to.
#[utoipa::path(delete, path = "/api/v1/members/{id}", tag = "registry", params(("id" = i64, Path), VersionParam),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_member(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    QueryParams(param): QueryParams<VersionParam>,
) -> ApiResult<StatusCode> {
    app.registry().delete_member(&ctx, id, version_from(&headers, param.version)).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------------------------------------- teams

/// List teams visible to you.
#[utoipa::path(get, path = "/api/v1/teams", tag = "registry", params(ListParams, TeamFilter),
    responses((status = 200, body = Page<TeamView>), (status = 401, body = Problem)))]
pub async fn list_teams(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
    QueryParams(filter): QueryParams<TeamFilter>,
) -> ApiResult<Json<Page<TeamView>>> {
    app.registry().list_teams(&ctx, &params, &filter).await.localized(ctx.locale).map(Json)
}

/// Create a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "registry", request_body = NewTeam,
    responses((status = 201, body = TeamView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_team(State(app): State<App>, Caller(ctx): Caller, JsonBody(input): JsonBody<NewTeam>) -> ApiResult<impl IntoResponse> {
    let view = app.registry().create_team(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, etag(view.version), Json(view)))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = TeamView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_team(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<impl IntoResponse> {
    let view = app.registry().get_team(&ctx, id).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Change a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "registry", params(("id" = i64, Path)), request_body = TeamPatch,
    responses((status = 200, body = TeamView), (status = 409, body = Problem), (status = 428, body = Problem)))]
pub async fn update_team(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<TeamPatch>,
) -> ApiResult<impl IntoResponse> {
    patch.version = version_from(&headers, patch.version);
    let view = app.registry().update_team(&ctx, id, patch).await.localized(ctx.locale)?;
    Ok((etag(view.version), Json(view)))
}

/// Delete a team.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "registry", params(("id" = i64, Path), VersionParam),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_team(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    QueryParams(param): QueryParams<VersionParam>,
) -> ApiResult<StatusCode> {
    app.registry().delete_team(&ctx, id, version_from(&headers, param.version)).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}
