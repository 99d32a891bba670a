//! Extractors: who is calling (session cookie or API token, with CSRF checks), in which language, and request
//! bodies and query strings parsed with errors that name the field at fault.

use std::net::SocketAddr;

use app::context::Credential;
use app::{App, Context};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use domain::Locale;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "gridline_session";
/// The name of the device cookie: with it, a browser that signed in as an account before is known to that account's
/// sign-in throttle (see `app::access`).
pub const DEVICE_COOKIE: &str = "gridline_device";
/// The name of the one-off notice cookie (failed sign-ins since the last one), shown on the next page and cleared.
pub const NOTICE_COOKIE: &str = "gridline_notice";
/// The header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The request's language, from `Accept-Language` (falling back to the configured default).
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Locale);

impl FromRequestParts<App> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Lang, Self::Rejection> {
        Ok(Lang(locale_of(parts, app)))
    }
}

/// The request's language: the language cookie set by the console's switch, else `Accept-Language`, else the
/// configured default.
pub(crate) fn locale_of(parts: &Parts, app: &App) -> Locale {
    if let Some(locale) = cookie(parts, crate::web::LANGUAGE_COOKIE).and_then(Locale::from_tag) {
        return locale;
    }
    let header = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    Locale::negotiate(header, app.config().default_locale)
}

pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(';')).find_map(
        |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        },
    )
}

/// The cookies a sign-in sets: the session, the device cookie (a year), and, when someone failed to sign in as
/// this account since its last sign-in, the notice shown on the next page.
pub fn sign_in_cookies(session: &app::access::Session, session_ttl_seconds: i64, secure: bool) -> Vec<axum::http::HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let mut cookies = vec![
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={session_ttl_seconds}{secure}", session.token),
        format!("{DEVICE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}", session.device),
    ];
    if let Some(failed) = session.failures_since_last_sign_in {
        cookies.push(format!(
            "{NOTICE_COOKIE}={}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age=600{secure}",
            failed.count, failed.last_at_ms
        ));
    }
    cookies.into_iter().filter_map(|cookie| axum::http::HeaderValue::from_str(&cookie).ok()).collect()
}

/// The device cookie of the request, if any.
pub fn device_cookie(parts: &Parts) -> Option<&str> {
    cookie(parts, DEVICE_COOKIE).filter(|value| !value.is_empty())
}

/// The session token from the request's cookie, if any.
pub fn session_token(parts: &Parts) -> Option<&str> {
    cookie(parts, SESSION_COOKIE).filter(|token| !token.is_empty())
}

fn client_address(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string())
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cookie-authenticated writes sent by another site: browsers say so in `Sec-Fetch-Site`.
pub(crate) fn cross_site(parts: &Parts) -> bool {
    parts.headers.get("sec-fetch-site").and_then(|value| value.to_str().ok()).is_some_and(|site| site == "cross-site")
}

/// The caller of a request, as a use-case [`Context`].
#[derive(Debug, Clone)]
pub struct Caller(pub Context);

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Caller, Problem> {
        let locale = locale_of(parts, app);
        let address = client_address(parts);
        let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
        if let Some(authorization) = authorization {
            let token = authorization.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
            return match app.access().context_from_api_token(token, locale, address).await {
                Ok(ctx) => Ok(Caller(ctx)),
                Err(error) => Err(Problem::from_app(&error, locale)),
            };
        }
        if let Some(token) = session_token(parts) {
            let token = token.to_string();
            match app.access().context_from_session(&token, locale, address.clone()).await {
                Ok(ctx) => {
                    if is_unsafe(&parts.method) {
                        let sent = parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or("");
                        if cross_site(parts) || !app::access::tokens_equal(sent, &app::access::csrf_token_for(&token)) {
                            return Err(Problem::simple(StatusCode::FORBIDDEN, "csrf_failed", locale));
                        }
                    }
                    return Ok(Caller(ctx));
                }
                // An expired or unknown session cookie makes the request anonymous; the page asks to sign in.
                Err(app::AppError::InvalidToken) => {}
                Err(error) => return Err(Problem::from_app(&error, locale)),
            }
        }
        let mut ctx = Context::anonymous(locale);
        ctx.client_address = address;
        Ok(Caller(ctx))
    }
}

impl Caller {
    /// Whether the caller signed in with a browser session.
    pub fn is_session(&self) -> bool {
        self.0.credential == Credential::Session
    }
}

/// The default limit of a JSON request body.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON request body of at most `LIMIT` bytes. Errors: 415 if not JSON, 413 if too large, 400 if not valid
/// JSON (with line and column), 422 if valid JSON of the wrong shape (with the path of the field at fault).
#[derive(Debug)]
pub struct JsonBody<T, const LIMIT: usize = JSON_LIMIT>(pub T);

impl<T: DeserializeOwned, const LIMIT: usize> FromRequest<App> for JsonBody<T, LIMIT> {
    type Rejection = Problem;

    async fn from_request(request: Request, app: &App) -> Result<Self, Problem> {
        let (parts, body) = request.into_parts();
        let locale = locale_of(&parts, app);
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media_type != "application/json" && !(media_type.starts_with("application/") && media_type.ends_with("+json")) {
            let detail = domain::i18n::format(locale, "error.unsupported_media_type", &[("expected", "application/json".into())]);
            return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", locale, detail));
        }
        let bytes = match axum::body::to_bytes(body, LIMIT).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let detail = domain::i18n::format(locale, "error.payload_too_large", &[("limit", LIMIT.to_string())]);
                return Err(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", locale, detail));
            }
        };
        parse_json(&bytes, locale).map(JsonBody)
    }
}

/// Parses JSON into `T`, with errors naming the line or the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], locale: Locale) -> Result<T, Problem> {
    let syntax = |error: &serde_json::Error| {
        let detail = format!("{} (line {}, column {})", domain::i18n::text(locale, "error.malformed_json"), error.line(), error.column());
        Problem::new(StatusCode::BAD_REQUEST, "malformed_json", locale, detail)
    };
    // Syntax first, over the whole body (trailing characters included), so that broken JSON is always reported as
    // such, whatever shape its first part has.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|error| syntax(&error))?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let (field, reason) = describe_data_error(&path, &inner.to_string(), locale);
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", locale, format!("{field}: {reason}")).with_field(field)
            }
            _ => syntax(&inner),
        }
    })?;
    Ok(value)
}

/// Turns serde's English data-error message into a field path and a localized reason.
fn describe_data_error(path: &str, message: &str, locale: Locale) -> (String, String) {
    let message = message.split(" at line ").next().unwrap_or(message);
    let path = if path == "." { String::new() } else { path.to_string() };
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').nth(1)).map(str::to_string);
    if let Some(name) = quoted("unknown field ") {
        // The path already ends at the unknown field.
        let field = if path.is_empty() { name } else { path };
        return (field, domain::i18n::text(locale, "invalid.unknown_field").to_string());
    }
    if let Some(name) = quoted("missing field ") {
        let field = if path.is_empty() { name } else { format!("{path}.{name}") };
        return (field, domain::i18n::text(locale, "invalid.required").to_string());
    }
    if message.starts_with("unknown variant") {
        let allowed = message.split("expected ").nth(1).unwrap_or("").replace('`', "");
        return (path, domain::i18n::format(locale, "invalid.unknown_value", &[("allowed", allowed)]));
    }
    (path, domain::i18n::format(locale, "invalid.wrong_type", &[("detail", type_error_in(locale, message))]))
}

/// Serde's English wording of a type error ("invalid type: string \"x\", expected i64") in `locale`.
fn type_error_in(locale: Locale, message: &str) -> String {
    if locale == Locale::En {
        return message.to_string();
    }
    // What serde names, in Chinese.
    fn kind(text: &str) -> String {
        let text = text.trim();
        let bare = text.strip_prefix("a ").or_else(|| text.strip_prefix("an ")).unwrap_or(text);
        let (word, rest) = match bare.find([' ', '`', '"']) {
            Some(index) => (&bare[..index], bare[index..].trim()),
            None => (bare, ""),
        };
        let named = match word {
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "integer" => "整数",
            "f32" | "f64" | "floating" | "float" => "数字",
            "string" | "str" | "char" | "borrowed" => "字符串",
            "boolean" | "bool" => "布尔值",
            "sequence" | "tuple" | "seq" => "数组",
            "map" | "struct" | "object" => "对象",
            "null" | "unit" | "option" => "空值",
            _ => return text.to_string(),
        };
        // Keep the value itself (`5`, "x"), drop serde's English words around it.
        let value = rest.trim_start_matches("point").trim_start_matches("string").trim();
        let value = if value.starts_with('`') || value.starts_with('"') { value.to_string() } else { String::new() };
        if value.is_empty() { named.to_string() } else { format!("{named} {value}") }
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!("应为{}，收到的是{}", kind(expected), kind(found));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("长度应为 {expected}，实际为 {found}")
            .replace("a sequence of ", "")
            .replace("elements", "个元素")
            .replace("fewer", "更少");
    }
    match message {
        "invalid digit found in string" | "invalid float literal" => "不是有效的数字".into(),
        "cannot parse integer from empty string" | "cannot parse float from empty string" => "不能为空".into(),
        "number too large to fit in target type" | "number too small to fit in target type" => "数值超出范围".into(),
        "provided string was not `true` or `false`" => "应为 true 或 false".into(),
        other => other.to_string(),
    }
}

/// Query-string parameters, with errors naming the parameter at fault.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<App> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let locale = locale_of(parts, app);
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(deserializer).map(QueryParams).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            let (field, reason) = describe_data_error(&path, &message, locale);
            let detail = format!("{}: {field}: {reason}", domain::i18n::text(locale, "error.bad_query"));
            Problem::new(StatusCode::BAD_REQUEST, "bad_query", locale, detail).with_field(field)
        })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The version a change applies to: the body's `version` if given, else the `If-Match` header (`"3"`, `W/"3"` or `3`).
pub fn version_from(parts_headers: &axum::http::HeaderMap, body_version: Option<i64>) -> Option<i64> {
    body_version.or_else(|| {
        let value = parts_headers.get(header::IF_MATCH)?.to_str().ok()?;
        value.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
    })
}

/// Path parameters, with a problem document when they do not parse (an id that is not a number).
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<App> for PathParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let locale = locale_of(parts, app);
        match axum::extract::Path::<T>::from_request_parts(parts, app).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => {
                let detail = format!(
                    "{}{}{}",
                    domain::i18n::text(locale, "error.bad_path"),
                    domain::i18n::text(locale, "punct.colon"),
                    rejection.body_text()
                );
                Err(Problem::new(StatusCode::BAD_REQUEST, "bad_path", locale, detail))
            }
        }
    }
}

/// A request body of any media type, at most `LIMIT` bytes (413 beyond), with its media type (lowercase, without
/// parameters). For bodies that are not JSON: CAP documents, CSV files.
#[derive(Debug)]
pub struct RawBody<const LIMIT: usize> {
    /// The media type, for example `application/cap+xml`.
    pub media_type: String,
    /// The bytes.
    pub bytes: axum::body::Bytes,
}

impl<const LIMIT: usize> FromRequest<App> for RawBody<LIMIT> {
    type Rejection = Problem;

    async fn from_request(request: Request, app: &App) -> Result<Self, Problem> {
        let (parts, body) = request.into_parts();
        let locale = locale_of(&parts, app);
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match axum::body::to_bytes(body, LIMIT).await {
            Ok(bytes) => Ok(RawBody { media_type, bytes }),
            Err(_) => {
                let detail = domain::i18n::format(locale, "error.payload_too_large", &[("limit", LIMIT.to_string())]);
                Err(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", locale, detail))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_read_in_chinese_without_serdes_english() {
        let cases = [
            ("invalid type: string \"abc\", expected i64", "应为整数，收到的是字符串 \"abc\""),
            ("invalid type: integer `5`, expected a string", "应为字符串，收到的是整数 `5`"),
            ("invalid type: null, expected a sequence", "应为数组，收到的是空值"),
            ("invalid type: map, expected f64", "应为数字，收到的是对象"),
            ("invalid value: integer `-1`, expected u32", "应为整数，收到的是整数 `-1`"),
            ("invalid digit found in string", "不是有效的数字"),
        ];
        for (english, chinese) in cases {
            assert_eq!(type_error_in(Locale::ZhCn, english), chinese);
            assert_eq!(type_error_in(Locale::En, english), english);
        }
    }
}
