//! Static assets compiled into the binary by `build.rs`: our own `web/src` files and the npm libraries.

use app::App;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Whether the map libraries were available at build time.
pub fn has_map_libraries() -> bool {
    ASSETS.iter().any(|(path, _, _)| *path == "/assets/vendor/leaflet/leaflet.js")
}

async fn asset(Path(path): Path<String>) -> Response {
    let wanted = format!("/assets/{path}");
    match ASSETS.iter().find(|(url, _, _)| *url == wanted) {
        Some((_, content_type, bytes)) => {
            let mut response = (StatusCode::OK, *bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            // Third-party files change only with the lock file; our own files may change between releases.
            let cache = if wanted.starts_with("/assets/vendor/") { "public, max-age=86400" } else { "no-cache" };
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn routes() -> Router<App> {
    Router::new().route("/assets/{*path}", axum::routing::get(asset))
}
