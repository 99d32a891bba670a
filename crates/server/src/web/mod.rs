//! The web console: server-rendered HTML (minijinja templates in `crates/server/templates`), progressively
//! enhanced with htmx and a Leaflet map (our own `web/src/app.js`), every string from the Fluent catalogs.
//!
//! Pages call the same use cases as the JSON API, with the same [`Context`]: the console decides nothing about
//! access. Forms are plain HTML forms (they work without JavaScript) protected by a CSRF token derived from the
//! session; the Content-Security-Policy allows no inline script.

mod assets;
mod data;
mod forms;
mod incidents;
mod monitoring;
mod pages;
mod warnings;

use std::sync::OnceLock;

use app::{App, AppError, Context};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::Locale;
use minijinja::{Environment, Value, context};

use crate::extract::{locale_of, session_token};

pub use forms::FormData;

/// The cookie that remembers the chosen language.
pub const LANGUAGE_COOKIE: &str = "gridline_lang";

/// Every template, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("errors.html", include_str!("../../templates/errors.html")),
    ("list.html", include_str!("../../templates/list.html")),
    ("console.html", include_str!("../../templates/console.html")),
    ("map.html", include_str!("../../templates/map.html")),
    ("jurisdictions.html", include_str!("../../templates/jurisdictions.html")),
    ("jurisdiction.html", include_str!("../../templates/jurisdiction.html")),
    ("member.html", include_str!("../../templates/member.html")),
    ("member_form.html", include_str!("../../templates/member_form.html")),
    ("organization.html", include_str!("../../templates/organization.html")),
    ("organization_form.html", include_str!("../../templates/organization_form.html")),
    ("team.html", include_str!("../../templates/team.html")),
    ("team_form.html", include_str!("../../templates/team_form.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("account_form.html", include_str!("../../templates/account_form.html")),
    ("warning_form.html", include_str!("../../templates/warning_form.html")),
    ("warning.html", include_str!("../../templates/warning.html")),
    ("reach_panel.html", include_str!("../../templates/reach_panel.html")),
    ("reach.html", include_str!("../../templates/reach.html")),
    ("tasks.html", include_str!("../../templates/tasks.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("public_warnings.html", include_str!("../../templates/public_warnings.html")),
    ("ack.html", include_str!("../../templates/ack.html")),
    ("report_form.html", include_str!("../../templates/report_form.html")),
    ("incident.html", include_str!("../../templates/incident.html")),
    ("upward_report.html", include_str!("../../templates/upward_report.html")),
    ("plans.html", include_str!("../../templates/plans.html")),
    ("plan.html", include_str!("../../templates/plan.html")),
    ("sensors.html", include_str!("../../templates/sensors.html")),
    ("sensor.html", include_str!("../../templates/sensor.html")),
    ("rules.html", include_str!("../../templates/rules.html")),
    ("rule.html", include_str!("../../templates/rule.html")),
    ("datasets.html", include_str!("../../templates/datasets.html")),
    ("dataset.html", include_str!("../../templates/dataset.html")),
    ("public_data.html", include_str!("../../templates/public_data.html")),
    ("resident.html", include_str!("../../templates/resident.html")),
];

/// The names of every template (for tests that check them all).
pub fn template_sources() -> &'static [(&'static str, &'static str)] {
    TEMPLATES
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, template = name, "a template does not compile");
            }
        }
        env.add_function("t", translate);
        // JSON inside <script type="application/json">: `<` escaped so that no text can close the element.
        env.add_filter("safe_json", |value: String| minijinja::Value::from_safe_string(value.replace('<', "\\u003c")));
        // An absent optional value renders as nothing, never as the word "none" (which a form would send back).
        env.set_formatter(|out, state, value| if value.is_none() { Ok(()) } else { minijinja::escape_formatter(out, state, value) });
        env
    })
}

/// `t("key", name=value, …)`: the catalog string in the page's language.
fn translate(state: &minijinja::State, key: &str, kwargs: minijinja::value::Kwargs) -> Result<String, minijinja::Error> {
    let tag = state.lookup("lang_tag").map(|v| v.to_string()).unwrap_or_default();
    let locale = Locale::from_tag(&tag).unwrap_or(Locale::ZhCn);
    let mut params = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        params.push((name, value.to_string()));
    }
    let params: Vec<(&str, String)> = params.into_iter().collect();
    Ok(domain::i18n::format(locale, key, &params))
}

/// Renders `template` with `values` and the page frame (language, user, CSRF token, mode banner).
pub fn render(template: &str, viewer: &Viewer, nav: &str, values: Value) -> Response {
    render_with_status(StatusCode::OK, template, viewer, nav, values)
}

/// Like [`render`], with a status.
pub fn render_with_status(status: StatusCode, template: &str, viewer: &Viewer, nav: &str, values: Value) -> Response {
    let frame = context! {
        lang_tag => viewer.ctx.locale.tag(),
        csrf_token => viewer.csrf_token(),
        user => viewer.user(),
        nav => nav,
        path => viewer.path.clone(),
        mode_banner => viewer.mode_banner.clone(),
        sign_in_notice => viewer.sign_in_notice.clone(),
        map_ready => assets::has_map_libraries(),
    };
    let merged = context! { ..values, ..frame };
    match environment().get_template(template).and_then(|t| t.render(merged)) {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if viewer.sign_in_notice.is_some() {
                // Shown once: the notice cookie is cleared with the page that shows it.
                let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", crate::extract::NOTICE_COOKIE);
                if let Ok(value) = HeaderValue::from_str(&clear) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, template, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, domain::i18n::text(viewer.ctx.locale, "error.internal").to_string()).into_response()
        }
    }
}

/// The viewer of a page: the session (if any), without CSRF checks (forms check their own token).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who is looking.
    pub ctx: Context,
    /// The session token, if signed in.
    pub session: Option<String>,
    /// The request path with its query, to come back to after signing in or switching language.
    pub path: String,
    /// The banner to show when the viewer's area is not in peacetime.
    pub mode_banner: Option<Value>,
    /// Whether the viewer is an administrator.
    pub is_admin: bool,
    /// Failed attempts to sign in as the viewer since their previous sign-in, shown once after signing in.
    pub sign_in_notice: Option<Value>,
}

impl Viewer {
    fn csrf_token(&self) -> String {
        self.session.as_deref().map(app::access::csrf_token_for).unwrap_or_default()
    }

    fn user(&self) -> Option<Value> {
        self.ctx.subject.account.map(|_| {
            context! {
                display_name => self.ctx.display_name.clone().unwrap_or_else(|| self.ctx.actor_label.clone()),
                is_admin => self.is_admin,
            }
        })
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_ok(&self, form: &FormData) -> bool {
        match &self.session {
            Some(token) => app::access::tokens_equal(form.get("csrf_token").unwrap_or(""), &app::access::csrf_token_for(token)),
            None => false,
        }
    }

    /// Whether the viewer has signed in.
    pub fn signed_in(&self) -> bool {
        self.ctx.subject.is_authenticated()
    }
}

impl FromRequestParts<App> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Viewer, Self::Rejection> {
        let locale = locale_of(parts, app);
        let address = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip().to_string());
        let path = parts.uri.path_and_query().map(|pq| pq.as_str().to_string()).unwrap_or_else(|| "/".into());
        let token = session_token(parts).map(str::to_string);
        let (ctx, session) = match &token {
            Some(token) => match app.access().context_from_session(token, locale, address.clone()).await {
                Ok(ctx) => (ctx, Some(token.clone())),
                Err(_) => (Context { client_address: address.clone(), ..Context::anonymous(locale) }, None),
            },
            None => (Context { client_address: address, ..Context::anonymous(locale) }, None),
        };
        let is_admin = ctx.subject.has_role(domain::policy::AccountRole::Admin);
        let mode_banner = pages::mode_banner(app, &ctx).await;
        let sign_in_notice = session
            .as_ref()
            .and(crate::extract::cookie(parts, crate::extract::NOTICE_COOKIE))
            .and_then(|value| value.split_once('.'))
            .and_then(|(count, at)| Some((count.parse::<i64>().ok()?, at.parse::<i64>().ok()?)))
            .filter(|(count, _)| *count > 0)
            .map(|(count, at)| {
                let when = pages::local_time(&app::time::rfc3339(at), &app.config().default_timezone);
                context! { count => count, when => when }
            });
        Ok(Viewer { ctx, session, path, mode_banner, is_admin, sign_in_notice })
    }
}

/// The page for a use-case error: sign-in for the anonymous, an explanation otherwise.
pub fn error_page(viewer: &Viewer, error: &AppError) -> Response {
    if matches!(error, AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired }) && !viewer.signed_in() {
        return Redirect::to(&format!("/login?next={}", form_urlencoded::byte_serialize(viewer.path.as_bytes()).collect::<String>()))
            .into_response();
    }
    let status = crate::problem::status_of(error);
    render_with_status(
        status,
        "error.html",
        viewer,
        "",
        context! { title => error.title(viewer.ctx.locale), detail => error.message(viewer.ctx.locale) },
    )
}

/// The routes of the web console.
pub fn routes() -> Router<App> {
    pages::routes()
        .merge(assets::routes())
        .merge(warnings::routes())
        .merge(incidents::routes())
        .merge(monitoring::routes())
        .merge(data::routes())
}
