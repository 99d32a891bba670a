//! Errors on the wire: `application/problem+json` (RFC 9457) with a stable snake_case `code`, the `field` at
//! fault, and a `detail` message in the request's language.

use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Locale, i18n};

/// A problem document.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:gridline:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary in the request's language.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in the request's language.
    pub detail: String,
    /// The stable error code (see docs/API-DESIGN.md).
    pub code: String,
    /// The field at fault: a JSON path such as `boundary.coordinates[0][3]`, or a query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For version conflicts: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// For rate limiting: seconds to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    /// For a refused status change: the statuses allowed from the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

impl Problem {
    /// A problem with `code`, its title from the catalog, and `detail`.
    pub fn new(status: StatusCode, code: &str, locale: Locale, detail: String) -> Problem {
        Problem {
            type_uri: format!("urn:gridline:problem:{code}"),
            title: title(locale, code),
            status: status.as_u16(),
            detail,
            code: code.to_string(),
            field: None,
            current_version: None,
            retry_after: None,
            allowed: None,
        }
    }

    /// A problem whose detail is its title.
    pub fn simple(status: StatusCode, code: &str, locale: Locale) -> Problem {
        let detail = i18n::text(locale, &format!("error.{code}")).to_string();
        Problem::new(status, code, locale, detail)
    }

    /// The same problem, naming the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// The problem for a use-case error.
    pub fn from_app(error: &AppError, locale: Locale) -> Problem {
        let status = status_of(error);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "internal error");
        }
        let mut problem = Problem::new(status, error.code(), locale, error.message(locale));
        problem.field = error.field().map(str::to_string);
        match error {
            AppError::Conflict { current } => problem.current_version = Some(*current),
            AppError::RateLimited { retry_after_seconds } => problem.retry_after = Some(*retry_after_seconds),
            AppError::InvalidTransition(refused) => {
                problem.allowed = Some(refused.allowed_codes().into_iter().map(str::to_string).collect());
            }
            _ => {}
        }
        problem
    }
}

/// The one-line title of a problem code: its `title.` entry where the full message needs parameters, else its
/// `error.` entry.
pub fn title(locale: Locale, code: &str) -> String {
    match i18n::lookup(locale, &format!("title.{code}")) {
        Some(title) => title.to_string(),
        None => i18n::text(locale, &format!("error.{code}")).to_string(),
    }
}

/// The HTTP status of a use-case error.
pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired } => StatusCode::UNAUTHORIZED,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        AppError::Conflict { .. }
        | AppError::Duplicate { .. }
        | AppError::HasDependents { .. }
        | AppError::WrongState { .. }
        | AppError::InvalidTransition(_)
        | AppError::ConfirmationRequired { .. } => StatusCode::CONFLICT,
        AppError::SecondPersonRequired => StatusCode::FORBIDDEN,
        AppError::VersionRequired => StatusCode::PRECONDITION_REQUIRED,
        AppError::InvalidCredentials | AppError::InvalidToken => StatusCode::UNAUTHORIZED,
        AppError::AccountDisabled => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"gridline\""));
        }
        response
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, Problem>;

/// Turns a use-case result into a handler result in the request's language.
pub trait WithLocale<T> {
    /// Maps the error, if any, to a problem in `locale`.
    fn localized(self, locale: Locale) -> ApiResult<T>;
}

impl<T> WithLocale<T> for Result<T, AppError> {
    fn localized(self, locale: Locale) -> ApiResult<T> {
        self.map_err(|error| Problem::from_app(&error, locale))
    }
}
