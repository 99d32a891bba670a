//! Sign-in, accounts, grants, passwords and API tokens.

use app::access::{
    AccountPatch, AccountView, ApiTokenView, CreatedAccount, CreatedApiToken, GrantInput, NewAccount, NewApiToken, PasswordChange,
};
use app::{App, ListParams, Page};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::extract::{
    Caller, JsonBody, PathParams, QueryParams, SESSION_COOKIE, cross_site, device_cookie, session_token, sign_in_cookies, version_from,
};
use crate::problem::{ApiResult, Problem, WithLocale};

/// Credentials for signing in.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A signed-in session. The session token itself is only in the HttpOnly cookie.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The account.
    pub account: AccountView,
    /// Echo this in the `X-CSRF-Token` header of every write made with the session cookie.
    pub csrf_token: String,
    /// When the session ends (RFC 3339 UTC).
    pub expires_at: String,
    /// Failed attempts to sign in as this account since its last sign-in (0 if none): if they were not you, tell
    /// an administrator.
    pub failed_sign_ins_since_last: i64,
}

/// The raw request parts, for reading cookies and headers in handlers that also take a body.
#[derive(Debug)]
pub struct RawParts(pub Parts);

impl FromRequestParts<App> for RawParts {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        Ok(RawParts(parts.clone()))
    }
}

fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn is_https(parts: &Parts) -> bool {
    parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https") || parts.uri.scheme_str() == Some("https")
}

/// Sign in: sets the session cookie (and a device cookie) and returns the CSRF token. Repeated failures make
/// further attempts from the same address (or device) wait, longer each time; the account itself is never locked,
/// so nobody elsewhere can keep its owner out.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "auth", request_body = Login,
    responses((status = 201, body = SessionView), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(app): State<App>,
    Caller(ctx): Caller,
    RawParts(parts): RawParts,
    JsonBody(login): JsonBody<Login, 8192>,
) -> Result<Response, Problem> {
    if cross_site(&parts) {
        return Err(Problem::simple(StatusCode::FORBIDDEN, "csrf_failed", ctx.locale));
    }
    let attempt = app::access::SignIn {
        username: &login.username,
        password: &login.password,
        device: device_cookie(&parts),
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
    };
    let session = app.access().login(&ctx, attempt).await.localized(ctx.locale)?;
    let signed_in = app
        .access()
        .context_for_account(session.account_id, app::context::Credential::Session, ctx.locale, None)
        .await
        .localized(ctx.locale)?;
    let account = app.access().me(&signed_in).await.localized(ctx.locale)?;
    let body = SessionView {
        account,
        csrf_token: session.csrf_token.clone(),
        expires_at: app::time::rfc3339(session.expires_at_ms),
        failed_sign_ins_since_last: session.failures_since_last_sign_in.map(|f| f.count).unwrap_or(0),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    for cookie in sign_in_cookies(&session, app.config().session_ttl_seconds, is_https(&parts)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "auth", responses((status = 204)))]
pub async fn logout(State(app): State<App>, Caller(ctx): Caller, RawParts(parts): RawParts) -> Result<Response, Problem> {
    if let Some(token) = session_token(&parts) {
        app.access().logout(&ctx, token).await.localized(ctx.locale)?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, is_https(&parts)));
    Ok(response)
}

/// Your own sign-in sessions, newest first (`current` is this one).
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth",
    responses((status = 200, body = Vec<app::access::SessionView>), (status = 401, body = Problem)))]
pub async fn my_sessions(
    State(app): State<App>,
    Caller(ctx): Caller,
    RawParts(parts): RawParts,
) -> ApiResult<Json<Vec<app::access::SessionView>>> {
    app.access().my_sessions(&ctx, session_token(&parts)).await.localized(ctx.locale).map(Json)
}

/// End one of your own sessions (a lost phone, a shared computer).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn end_my_session(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<String>) -> ApiResult<StatusCode> {
    app.access().end_my_session(&ctx, &id).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your own account and roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = AccountView), (status = 401, body = Problem)))]
pub async fn me(State(app): State<App>, Caller(ctx): Caller) -> ApiResult<Json<AccountView>> {
    app.access().me(&ctx).await.localized(ctx.locale).map(Json)
}

/// List accounts (administrators, auditors).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "auth", params(ListParams), responses((status = 200, body = Page<AccountView>), (status = 403, body = Problem)))]
pub async fn list_accounts(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> ApiResult<Json<Page<AccountView>>> {
    app.access().list_accounts(&ctx, &params).await.localized(ctx.locale).map(Json)
}

/// Create an account (administrators). Without a password, one is generated and returned once.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "auth", request_body = NewAccount,
    responses((status = 201, body = CreatedAccount), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_account(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewAccount>,
) -> ApiResult<impl IntoResponse> {
    let created = app.access().create_account(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(created)))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "auth", params(("id" = i64, Path)), responses((status = 200, body = AccountView), (status = 403, body = Problem)))]
pub async fn get_account(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<Json<AccountView>> {
    app.access().get_account(&ctx, id).await.localized(ctx.locale).map(Json)
}

/// Change an account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "auth", params(("id" = i64, Path)), request_body = AccountPatch,
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn update_account(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    JsonBody(mut patch): JsonBody<AccountPatch>,
) -> ApiResult<Json<AccountView>> {
    patch.version = version_from(&headers, patch.version);
    app.access().update_account(&ctx, id, patch).await.localized(ctx.locale).map(Json)
}

/// Grant a role (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/grants", tag = "auth", params(("id" = i64, Path)), request_body = GrantInput,
    responses((status = 201, body = AccountView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_grant(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(grant): JsonBody<GrantInput>,
) -> ApiResult<impl IntoResponse> {
    let view = app.access().add_grant(&ctx, id, grant).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Withdraw a role (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/grants/{grant_id}", tag = "auth", params(("id" = i64, Path), ("grant_id" = i64, Path)),
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_grant(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams((id, grant_id)): PathParams<(i64, i64)>,
) -> ApiResult<Json<AccountView>> {
    app.access().remove_grant(&ctx, id, grant_id).await.localized(ctx.locale).map(Json)
}

/// Set a password: your own (with the current one), or anyone's (administrators). Ends that account's sessions.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/password", tag = "auth", params(("id" = i64, Path)), request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(app): State<App>,
    Caller(ctx): Caller,
    PathParams(id): PathParams<i64>,
    JsonBody(change): JsonBody<PasswordChange, 8192>,
) -> ApiResult<StatusCode> {
    app.access().change_password(&ctx, id, change).await.localized(ctx.locale)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?account_id=` to list another account's tokens (administrators).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenListParams {
    /// Whose tokens (default: yours).
    pub account_id: Option<i64>,
}

/// List API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", params(TokenListParams), responses((status = 200, body = Vec<ApiTokenView>), (status = 401, body = Problem)))]
pub async fn list_tokens(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<TokenListParams>,
) -> ApiResult<Json<Vec<ApiTokenView>>> {
    app.access().list_api_tokens(&ctx, params.account_id).await.localized(ctx.locale).map(Json)
}

/// Create an API token for a machine (a department's system, a sensor gateway). The token is returned once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewApiToken,
    responses((status = 201, body = CreatedApiToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(
    State(app): State<App>,
    Caller(ctx): Caller,
    JsonBody(input): JsonBody<NewApiToken>,
) -> ApiResult<impl IntoResponse> {
    let created = app.access().create_api_token(&ctx, input).await.localized(ctx.locale)?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(created)))
}

/// Revoke an API token, effective at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 200, body = ApiTokenView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_token(State(app): State<App>, Caller(ctx): Caller, PathParams(id): PathParams<i64>) -> ApiResult<Json<ApiTokenView>> {
    app.access().revoke_api_token(&ctx, id).await.localized(ctx.locale).map(Json)
}
