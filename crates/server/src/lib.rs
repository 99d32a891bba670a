//! Gridline's HTTP server: the JSON API under `/api/v1`, its OpenAPI document, Server-Sent Events, health and
//! metrics — a thin adapter over `app`. Handlers parse the request, call one use case, and map its result to
//! HTTP; they decide nothing about access (the use case does) and touch no database (the store does).

pub mod api;
pub mod extract;
pub mod metrics;
pub mod open311;
pub mod openapi;
pub mod problem;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::App;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::extract::Lang;
use crate::problem::Problem;

/// The Content-Security-Policy of every response: only this origin's own scripts, styles and images; no
/// framing; no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Builds the whole HTTP application.
pub fn router(app: App) -> Router {
    let metrics = Arc::new(metrics::Metrics::default());
    let (api, openapi) = openapi::api_router().split_for_parts();
    let openapi_json = Arc::new(serde_json::to_string_pretty(&openapi::document(&openapi)).unwrap_or_default());
    let metrics_for_route = metrics.clone();
    // Writes to the API need credentials before anything else is looked at: an anonymous caller learns nothing
    // from how its body would have been judged.
    let api = api.route_layer(axum::middleware::from_fn_with_state(app.clone(), credentials_first));
    Router::new()
        .merge(api)
        .merge(web::routes())
        .merge(open311::routes())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi_json.as_str().to_string()) }),
        )
        .route(
            "/metrics",
            axum::routing::get(move |State(app): State<App>| async move {
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics_for_route.render(&app))
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Refuses an API write that carries no valid credential with 401, before its body is read: an anonymous caller
/// learns nothing from how its body would have been judged. A bearer token is checked by the handler's `Caller`,
/// which runs before the body is parsed; a session cookie is checked here. The writes the public may make need
/// none: signing in (`POST /api/v1/sessions`) and acknowledging a warning by the token of its link
/// (`POST /api/v1/ack/{token}`).
async fn credentials_first(State(app): State<App>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let unsafe_method = !matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let path = request.uri().path();
    let public_write = request.method() == axum::http::Method::POST && (path == "/api/v1/sessions" || path.starts_with("/api/v1/ack/"));
    if !unsafe_method || public_write {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let locale = extract::locale_of(&parts, &app);
    let refused =
        || Problem::from_app(&app::AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired }, locale).into_response();
    if !parts.headers.contains_key(header::AUTHORIZATION) {
        let Some(token) = extract::session_token(&parts) else { return refused() };
        // A made-up cookie is no credential: the session must exist and not have expired.
        if app.access().context_from_session(token, locale, None).await.is_err() {
            return refused();
        }
    }
    next.run(axum::extract::Request::from_parts(parts, body)).await
}

async fn not_found(Lang(locale): Lang) -> Response {
    Problem::simple(StatusCode::NOT_FOUND, "route_not_found", locale).into_response()
}

async fn method_not_allowed(Lang(locale): Lang) -> Response {
    Problem::simple(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", locale).into_response()
}

/// Serves `router` on an already bound listener until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}
