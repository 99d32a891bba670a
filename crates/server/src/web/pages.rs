//! The pages of the console: each handler reads the request, calls use cases, and renders a template.

use app::registry::{JurisdictionFilter, JurisdictionView};
use app::registry::{MemberFilter, MemberView};
use app::registry::{OrganizationFilter, OrganizationView};
use app::registry::{TeamFilter, TeamView};
use app::{App, AppError, Context, ListParams, Page};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::Locale;
use domain::i18n::text;
use domain::policy::{Action, Resource, ResourceKind};
use minijinja::{Value, context};

use super::{FormData, LANGUAGE_COOKIE, Viewer, error_page, render, render_with_status};

/// The routes of the pages.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/language", post(language))
        .route("/console", get(console))
        .route("/jurisdictions", get(jurisdictions).post(create_jurisdiction))
        .route("/jurisdictions/list", get(jurisdiction_list))
        .route("/jurisdictions.csv", get(jurisdictions_csv))
        .route("/organizations.csv", get(organizations_csv))
        .route("/teams.csv", get(teams_csv))
        .route("/jurisdictions/{id}", get(jurisdiction).post(update_jurisdiction))
        .route("/organizations", get(organizations).post(create_organization))
        .route("/organizations/new", get(new_organization))
        .route("/organizations/{id}", get(organization).post(update_organization))
        .route("/organizations/{id}/edit", get(edit_organization))
        .route("/members", get(members).post(create_member))
        .route("/members.csv", get(members_csv))
        .route("/members/new", get(new_member))
        .route("/members/{id}", get(member).post(update_member))
        .route("/members/{id}/edit", get(edit_member))
        .route("/members/{id}/reveal", post(reveal_member))
        .route("/teams", get(teams).post(create_team))
        .route("/teams/new", get(new_team))
        .route("/teams/{id}", get(team).post(update_team))
        .route("/teams/{id}/edit", get(edit_team))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_other_sessions))
        .route("/accounts", get(accounts).post(create_account))
        .route("/accounts/new", get(new_account))
}

// ------------------------------------------------------------------------------------------------------ helpers

pub(super) fn t(locale: Locale, key: &str) -> String {
    text(locale, key).to_string()
}

pub(super) fn query(uri: &axum::http::Uri) -> FormData {
    FormData::parse(uri.query().unwrap_or("").as_bytes())
}

pub(super) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

pub(super) fn forbidden_form(viewer: &Viewer) -> Response {
    let title = t(viewer.ctx.locale, "error.csrf_failed");
    render_with_status(StatusCode::FORBIDDEN, "error.html", viewer, "", context! { title => title.clone(), detail => title })
}

/// `2026-11-28T08:00:00.000Z` shown in `timezone` as `2026-11-28 16:00`.
pub fn local_time(rfc3339: &str, timezone: &str) -> String {
    let Ok(timestamp) = rfc3339.parse::<jiff::Timestamp>() else { return rfc3339.to_string() };
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    timestamp.to_zoned_datetime(zone).strftime("%Y-%m-%d %H:%M").to_string()
}

pub(super) fn name_of(locale: Locale, zh: &str, en: Option<&str>) -> String {
    match (locale, en) {
        (Locale::En, Some(en)) if !en.is_empty() => en.to_string(),
        _ => zh.to_string(),
    }
}

pub(super) fn options<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str, label: impl Fn(T) -> &'static str) -> Vec<Value> {
    all.iter().map(|item| context! { value => code(*item), label => label(*item) }).collect()
}

/// Every jurisdiction (up to 1,000), in tree order.
pub(super) async fn all_jurisdictions(app: &App, ctx: &Context) -> Vec<JurisdictionView> {
    let params = ListParams { limit: Some(500), sort: Some("path".into()), ..ListParams::default() };
    let mut all = Vec::new();
    for offset in [0, 500] {
        let params = ListParams { offset: Some(offset), ..params.clone() };
        match app.registry().list_jurisdictions(ctx, &params, &JurisdictionFilter::default()).await {
            Ok(page) => {
                let done = page.items.len() < 500;
                all.extend(page.items);
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    all
}

pub(super) fn jurisdiction_options(locale: Locale, all: &[JurisdictionView]) -> Vec<Value> {
    all.iter()
        .map(|j| {
            let depth = j.path.matches('/').count().saturating_sub(2);
            context! { value => j.id.to_string(), label => format!("{}{}", "\u{2003}".repeat(depth), name_of(locale, &j.name_zh, j.name_en.as_deref())) }
        })
        .collect()
}

pub(super) async fn organization_options(app: &App, ctx: &Context) -> Vec<Value> {
    let params = ListParams { limit: Some(500), ..ListParams::default() };
    app.registry()
        .list_organizations(ctx, &params, &OrganizationFilter::default())
        .await
        .map(|page| {
            page.items
                .iter()
                .map(|o| context! { value => o.id.to_string(), label => name_of(ctx.locale, &o.name_zh, o.name_en.as_deref()) })
                .collect()
        })
        .unwrap_or_default()
}

/// The banner for the viewer's own area when it is not in peacetime (the most serious mode on the way up).
pub async fn mode_banner(app: &App, ctx: &Context) -> Option<Value> {
    let scope = ctx.subject.grants.iter().find_map(|grant| grant.scope.clone())?;
    let mut worst: Option<JurisdictionView> = None;
    for id in scope.ids() {
        if let Ok(j) = app.registry().get_jurisdiction(ctx, id.0).await {
            let rank = |mode: &str| match mode {
                "emergency" => 2,
                "heightened" => 1,
                _ => 0,
            };
            if rank(&j.mode) > worst.as_ref().map(|w| rank(&w.mode)).unwrap_or(0) {
                worst = Some(j);
            }
        }
    }
    let j = worst?;
    Some(context! { mode => j.mode.clone(), label => j.mode_label.clone(), name => name_of(ctx.locale, &j.name_zh, j.name_en.as_deref()) })
}

/// Builds the value of a list page: columns with sort links, rows of cells, paging links.
pub(super) struct ListPage {
    pub(super) heading: String,
    pub(super) base_url: String,
    pub(super) new_url: Option<String>,
    pub(super) new_label: String,
    pub(super) csv_url: Option<String>,
    pub(super) columns: Vec<(&'static str, String, bool)>,
    pub(super) filters: Vec<Value>,
}

pub(super) fn with_query(base: &str, form: &FormData, changes: &[(&str, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for key in ["q", "jurisdiction_id", "status", "role", "kind", "sector", "tier", "level", "sort", "offset"] {
        let changed = changes.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        if let Some(value) = changed.or_else(|| form.text(key)) {
            if !value.is_empty() {
                serializer.append_pair(key, &value);
            }
        }
    }
    let query = serializer.finish();
    if query.is_empty() { base.to_string() } else { format!("{base}?{query}") }
}

pub(super) fn list_value<T>(spec: ListPage, form: &FormData, page: &Page<T>, rows: Vec<Vec<Value>>) -> Value {
    let sort = form.text("sort").unwrap_or_default();
    let columns: Vec<Value> = spec
        .columns
        .iter()
        .map(|(field, label, sortable)| {
            let (state, next) = if sort == *field {
                ("ascending", format!("-{field}"))
            } else if sort == format!("-{field}") {
                ("descending", field.to_string())
            } else {
                ("", field.to_string())
            };
            context! {
                label => label.clone(),
                sort_url => sortable.then(|| with_query(&spec.base_url, form, &[("sort", next.clone()), ("offset", String::new())])),
                sort_state => (!state.is_empty()).then_some(state),
            }
        })
        .collect();
    let first = if page.total == 0 { 0 } else { page.offset + 1 };
    let last = page.offset + page.items.len() as i64;
    let previous_url =
        (page.offset > 0).then(|| with_query(&spec.base_url, form, &[("offset", (page.offset - page.limit).max(0).to_string())]));
    let next_url = (last < page.total).then(|| with_query(&spec.base_url, form, &[("offset", last.to_string())]));
    context! {
        heading => spec.heading,
        base_url => spec.base_url,
        new_url => spec.new_url,
        new_label => spec.new_label,
        csv_url => spec.csv_url,
        q => form.text("q").unwrap_or_default(),
        sort => sort,
        filters => spec.filters,
        columns => columns,
        rows => rows,
        first => first,
        last => last,
        total => page.total,
        previous_url => previous_url,
        next_url => next_url,
    }
}

pub(super) fn cell(text: impl Into<String>) -> Value {
    context! { text => text.into() }
}

pub(super) fn link(text: impl Into<String>, url: String) -> Value {
    context! { text => text.into(), url => url }
}

pub(super) fn classed(text: impl Into<String>, class: &str) -> Value {
    context! { text => text.into(), class => class }
}

pub(super) fn filter(name: &str, label: String, options: Vec<Value>, selected: Option<String>) -> Value {
    context! { name => name, label => label, options => options, selected => selected.unwrap_or_default() }
}

pub(super) fn list_params(form: &FormData, limit: i64) -> ListParams {
    ListParams {
        jurisdiction_id: form.integer("jurisdiction_id"),
        q: form.text("q"),
        sort: form.text("sort"),
        limit: Some(limit),
        offset: form.integer("offset"),
    }
}

// ------------------------------------------------------------------------------------------------------ session

async fn login_page(viewer: Viewer, uri: axum::http::Uri) -> Response {
    let form = query(&uri);
    render("login.html", &viewer, "login", context! { next => safe_next(form.text("next")), username => "", error => Value::UNDEFINED })
}

/// Only same-origin forms may sign in or switch language: browsers say where a form came from.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let site_ok = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_none_or(|site| site == "same-origin" || site == "none");
    let origin_ok =
        match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST).and_then(|v| v.to_str().ok())) {
            (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
            _ => true,
        };
    site_ok && origin_ok
}

/// Where to go after signing in or switching language: only a path of this site. Browsers read `/\host` and
/// `//host` as another site, so a path may not start with either, nor carry a backslash or a control character
/// anywhere.
pub(super) fn safe_next(next: Option<String>) -> String {
    next.filter(|path| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(|c| c.is_control() || c.is_whitespace())
    })
    .unwrap_or_else(|| "/console".into())
}

/// A cookie of a request, from its headers.
fn cookie_in(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(';')).find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_string())
    })
}

async fn login(State(app): State<App>, viewer: Viewer, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !same_origin(&headers) {
        return forbidden_form(&viewer);
    }
    let username = form.text("username").unwrap_or_default();
    let device = cookie_in(&headers, crate::extract::DEVICE_COOKIE);
    let attempt = app::access::SignIn {
        username: &username,
        password: form.get("password").unwrap_or(""),
        device: device.as_deref(),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
    };
    match app.access().login(&viewer.ctx, attempt).await {
        Ok(session) => {
            let mut response = see_other(&safe_next(form.text("next")));
            let secure = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
            for cookie in crate::extract::sign_in_cookies(&session, app.config().session_ttl_seconds, secure) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => {
            let status = crate::problem::status_of(&error);
            render_with_status(
                status,
                "login.html",
                &viewer,
                "login",
                context! { next => safe_next(form.text("next")), username => username, error => error.message(viewer.ctx.locale) },
            )
        }
    }
}

async fn logout(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if let Some(token) = &viewer.session {
        if !viewer.csrf_ok(&form) {
            return forbidden_form(&viewer);
        }
        if let Err(error) = app.access().logout(&viewer.ctx, token).await {
            return error_page(&viewer, &error);
        }
    }
    let mut response = see_other("/login");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("gridline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    response
}

async fn language(viewer: Viewer, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !same_origin(&headers) {
        return forbidden_form(&viewer);
    }
    let locale = form.text("lang").and_then(|tag| Locale::from_tag(&tag)).unwrap_or(viewer.ctx.locale);
    let mut response = see_other(&safe_next(form.text("back")));
    let cookie = format!("{LANGUAGE_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", locale.tag());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

// ------------------------------------------------------------------------------------------------------ console

pub(super) fn map_values(bbox: Option<[f64; 4]>, layers: &str) -> (String, String) {
    let bbox = bbox.map(|b| format!("{},{},{},{}", b[0], b[1], b[2], b[3])).unwrap_or_default();
    (bbox, layers.to_string())
}

/// The box around the viewer's area, or around everything.
pub(super) async fn home_bbox(app: &App, ctx: &Context, all: &[JurisdictionView]) -> Option<[f64; 4]> {
    if let Some(scope) = ctx.subject.grants.iter().find_map(|grant| grant.scope.clone()) {
        if let Ok(j) = app.registry().get_jurisdiction(ctx, scope.leaf().0).await {
            if j.bbox.is_some() {
                return j.bbox;
            }
        }
    }
    let boxes: Vec<[f64; 4]> = all.iter().filter(|j| j.parent_id.is_none()).filter_map(|j| j.bbox).collect();
    boxes.into_iter().reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
}

const EVENT_KINDS: &[&str] = &[
    "jurisdiction.created",
    "jurisdiction.updated",
    "jurisdiction.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "member.created",
    "member.updated",
    "member.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "account.created",
    "account.updated",
    "account.granted",
    "account.grant_revoked",
    "layer.imported",
    "warning.drafted",
    "warning.approved",
    "warning.issued",
    "warning.updated",
    "warning.cancelled",
    "warning.expired",
    "warning.received",
    "warning.acknowledged",
    "task.created",
    "task.escalated",
    "task.closed",
];

async fn console(State(app): State<App>, viewer: Viewer) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(&app, &viewer.ctx).await;
    let (map_bbox, map_layers) =
        map_values(home_bbox(&app, &viewer.ctx, &all).await, if viewer.signed_in() { "jurisdictions,members" } else { "jurisdictions" });
    let mut tabs = Vec::new();
    if viewer.signed_in() {
        tabs.push(context! { name => "members", label => t(locale, "ui.nav_members"), url => "/members" });
    }
    tabs.push(context! { name => "organizations", label => t(locale, "ui.nav_organizations"), url => "/organizations" });
    if viewer.signed_in() {
        tabs.push(context! { name => "teams", label => t(locale, "ui.nav_teams"), url => "/teams" });
    }
    tabs.push(context! { name => "jurisdictions", label => t(locale, "ui.nav_jurisdictions"), url => "/jurisdictions/list" });
    let labels: std::collections::BTreeMap<&str, String> =
        EVENT_KINDS.iter().map(|kind| (*kind, t(locale, &format!("event.{kind}")))).collect();
    render(
        "console.html",
        &viewer,
        "console",
        context! {
            tabs => tabs,
            map_bbox => map_bbox,
            map_layers => map_layers,
            event_labels => serde_json::to_string(&labels).unwrap_or_default(),
            timezone => app.config().default_timezone.clone(),
        },
    )
}

// ------------------------------------------------------------------------------------------------------ jurisdictions

fn tree(locale: Locale, all: &[JurisdictionView]) -> Vec<Value> {
    fn children(locale: Locale, all: &[JurisdictionView], parent: Option<i64>) -> Vec<Value> {
        all.iter()
            .filter(|j| j.parent_id == parent)
            .map(|j| {
                context! {
                    id => j.id,
                    name => name_of(locale, &j.name_zh, j.name_en.as_deref()),
                    level_label => j.level_label.clone(),
                    mode => j.mode.clone(),
                    mode_label => j.mode_label.clone(),
                    children => children(locale, all, Some(j.id)),
                }
            })
            .collect()
    }
    // Roots are the jurisdictions whose parent is not listed (the caller may see only part of the tree).
    let ids: std::collections::HashSet<i64> = all.iter().map(|j| j.id).collect();
    let roots: Vec<&JurisdictionView> = all.iter().filter(|j| j.parent_id.is_none_or(|p| !ids.contains(&p))).collect();
    roots
        .iter()
        .map(|j| {
            context! {
                id => j.id,
                name => name_of(locale, &j.name_zh, j.name_en.as_deref()),
                level_label => j.level_label.clone(),
                mode => j.mode.clone(),
                mode_label => j.mode_label.clone(),
                children => children(locale, all, Some(j.id)),
            }
        })
        .collect()
}

async fn jurisdictions(State(app): State<App>, viewer: Viewer) -> Response {
    let all = all_jurisdictions(&app, &viewer.ctx).await;
    let (map_bbox, map_layers) = map_values(home_bbox(&app, &viewer.ctx, &all).await, "jurisdictions");
    render(
        "jurisdictions.html",
        &viewer,
        "jurisdictions",
        context! { tree => tree(viewer.ctx.locale, &all), map_bbox => map_bbox, map_layers => map_layers },
    )
}

async fn jurisdiction_list(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let list_filter = JurisdictionFilter { level: form.text("level"), parent_id: None, roots: false };
    let page = match app.registry().list_jurisdictions(&viewer.ctx, &list_params(&form, 50), &list_filter).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|j| {
            vec![
                link(name_of(locale, &j.name_zh, j.name_en.as_deref()), format!("/jurisdictions/{}", j.id)),
                cell(j.level_label.clone()),
                cell(j.code.clone()),
                classed(j.mode_label.clone(), &format!("mode-{}", j.mode)),
            ]
        })
        .collect();
    let levels = options(domain::registry::JurisdictionLevel::ALL, |l| l.code(), |l| l.label(locale));
    let spec = ListPage {
        heading: t(locale, "ui.nav_jurisdictions"),
        base_url: "/jurisdictions/list".into(),
        new_url: None,
        new_label: String::new(),
        csv_url: Some(with_query("/jurisdictions.csv", &form, &[("offset", String::new())])),
        columns: vec![
            ("name_zh", t(locale, "ui.name"), true),
            ("level", t(locale, "ui.level"), true),
            ("code", t(locale, "ui.code"), true),
            ("mode", t(locale, "ui.mode"), true),
        ],
        filters: vec![filter("level", t(locale, "ui.level"), levels, form.text("level"))],
    };
    render("list.html", &viewer, "jurisdictions", list_value(spec, &form, &page, rows))
}

async fn jurisdiction(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    jurisdiction_page(&app, &viewer, id, Vec::new(), StatusCode::OK).await
}

async fn jurisdiction_page(app: &App, viewer: &Viewer, id: i64, errors: Vec<Value>, status: StatusCode) -> Response {
    let locale = viewer.ctx.locale;
    let j = match app.registry().get_jurisdiction(&viewer.ctx, id).await {
        Ok(j) => j,
        Err(error) => return error_page(viewer, &error),
    };
    let path = domain::registry::JurisdictionPath::parse(&j.path);
    let mut ancestors = Vec::new();
    if let Some(path) = &path {
        for ancestor in path.ids().into_iter().filter(|a| a.0 != id) {
            if let Ok(a) = app.registry().get_jurisdiction(&viewer.ctx, ancestor.0).await {
                ancestors.push(context! { id => a.id, name => name_of(locale, &a.name_zh, a.name_en.as_deref()) });
            }
        }
    }
    let children = app
        .registry()
        .list_jurisdictions(
            &viewer.ctx,
            &ListParams { limit: Some(500), ..ListParams::default() },
            &JurisdictionFilter { parent_id: Some(id), ..JurisdictionFilter::default() },
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let probe = path.as_ref().map(|p| Resource::new(ResourceKind::Jurisdiction, domain::Classification::Public).in_jurisdiction(p));
    let can_edit =
        probe.as_ref().is_some_and(|r| viewer.signed_in() && domain::policy::decide(&viewer.ctx.subject, Action::Update, r).is_allowed());
    let can_add_child =
        probe.as_ref().is_some_and(|r| viewer.signed_in() && domain::policy::decide(&viewer.ctx.subject, Action::Create, r).is_allowed());
    let level = domain::registry::JurisdictionLevel::parse("level", &j.level).ok();
    let child_levels: Vec<Value> = domain::registry::JurisdictionLevel::ALL
        .iter()
        .filter(|l| level.is_none_or(|parent| l.rank() > parent.rank()))
        .map(|l| context! { value => l.code(), label => l.label(locale) })
        .collect();
    let modes = options(domain::registry::JurisdictionMode::ALL, |m| m.code(), |m| m.label(locale));
    let (map_bbox, map_layers) = map_values(j.bbox, if viewer.signed_in() { "jurisdictions,members" } else { "jurisdictions" });
    let value = context! {
        j => context! {
            id => j.id, name => name_of(locale, &j.name_zh, j.name_en.as_deref()), name_zh => j.name_zh.clone(), name_en => j.name_en.clone(),
            code => j.code.clone(), level_label => j.level_label.clone(), mode => j.mode.clone(), mode_label => j.mode_label.clone(),
            timezone => j.timezone.clone(), version => j.version, updated_at => j.updated_at.clone(),
            updated_local => local_time(&j.updated_at, &j.timezone),
        },
        ancestors => ancestors,
        children => children.iter().map(|c| context! { id => c.id, name => name_of(locale, &c.name_zh, c.name_en.as_deref()), level_label => c.level_label.clone() }).collect::<Vec<_>>(),
        can_edit => can_edit,
        can_add_child => can_add_child && !child_levels.is_empty(),
        child_levels => child_levels,
        modes => modes,
        errors => errors,
        map_bbox => map_bbox,
        map_layers => map_layers,
    };
    render_with_status(status, "jurisdiction.html", viewer, "jurisdictions", value)
}

pub(super) fn errors_of(error: &AppError, locale: Locale) -> Vec<Value> {
    vec![context! { field => error.field().map(str::to_string), message => error.message(locale) }]
}

async fn update_jurisdiction(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let patch = app::registry::JurisdictionPatch {
        version: form.integer("version"),
        name_zh: form.text("name_zh"),
        name_en: Some(form.text("name_en")),
        mode: form.text("mode"),
        ..Default::default()
    };
    match app.registry().update_jurisdiction(&viewer.ctx, id, patch).await {
        Ok(_) => see_other(&format!("/jurisdictions/{id}")),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::VersionRequired)) => {
            jurisdiction_page(&app, &viewer, id, errors_of(&error, viewer.ctx.locale), crate::problem::status_of(&error)).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn create_jurisdiction(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let parent = form.integer("parent_id");
    let input = app::registry::NewJurisdiction {
        parent_id: parent,
        level: form.text("level").unwrap_or_default(),
        code: form.text("code").unwrap_or_default(),
        name_zh: form.text("name_zh").unwrap_or_default(),
        name_en: form.text("name_en"),
        timezone: None,
        boundary: None,
    };
    match app.registry().create_jurisdiction(&viewer.ctx, input).await {
        Ok(created) => see_other(&format!("/jurisdictions/{}", created.id)),
        Err(error @ (AppError::Invalid(_) | AppError::Duplicate { .. })) if parent.is_some() => {
            jurisdiction_page(
                &app,
                &viewer,
                parent.unwrap_or_default(),
                errors_of(&error, viewer.ctx.locale),
                crate::problem::status_of(&error),
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

// ------------------------------------------------------------------------------------------------------ organizations

async fn organizations(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let list_filter = OrganizationFilter { kind: form.text("kind"), sector: form.text("sector") };
    let page = match app.registry().list_organizations(&viewer.ctx, &list_params(&form, 50), &list_filter).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|o| {
            vec![
                link(name_of(locale, &o.name_zh, o.name_en.as_deref()), format!("/organizations/{}", o.id)),
                cell(o.kind_label.clone()),
                cell(
                    o.sector
                        .as_deref()
                        .and_then(|s| domain::registry::Sector::parse("sector", s).ok())
                        .map(|s| s.label(locale).to_string())
                        .unwrap_or_default(),
                ),
                cell(o.contact_phone.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let kinds = options(domain::registry::OrganizationKind::ALL, |k| k.code(), |k| k.label(locale));
    let sectors = options(domain::registry::Sector::ALL, |k| k.code(), |k| k.label(locale));
    let can_create = viewer.signed_in();
    let spec = ListPage {
        heading: t(locale, "ui.nav_organizations"),
        base_url: "/organizations".into(),
        new_url: can_create.then(|| "/organizations/new".to_string()),
        new_label: t(locale, "ui.new_organization"),
        csv_url: Some(with_query("/organizations.csv", &form, &[("offset", String::new())])),
        columns: vec![
            ("name_zh", t(locale, "ui.name"), true),
            ("kind", t(locale, "ui.kind"), true),
            ("sector", t(locale, "ui.sector"), true),
            ("contact_phone", t(locale, "ui.phone"), false),
        ],
        filters: vec![
            filter("kind", t(locale, "ui.kind"), kinds, form.text("kind")),
            filter("sector", t(locale, "ui.sector"), sectors, form.text("sector")),
        ],
    };
    render("list.html", &viewer, "organizations", list_value(spec, &form, &page, rows))
}

async fn organization(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let locale = viewer.ctx.locale;
    let o = match app.registry().get_organization(&viewer.ctx, id).await {
        Ok(o) => o,
        Err(error) => return error_page(&viewer, &error),
    };
    let jurisdiction_name = app
        .registry()
        .get_jurisdiction(&viewer.ctx, o.jurisdiction_id)
        .await
        .map(|j| name_of(locale, &j.name_zh, j.name_en.as_deref()))
        .unwrap_or_default();
    let sector_label = o.sector.as_deref().and_then(|s| domain::registry::Sector::parse("sector", s).ok()).map(|s| s.label(locale));
    let can_edit = viewer.signed_in();
    render(
        "organization.html",
        &viewer,
        "organizations",
        context! { o => organization_value(locale, &o), jurisdiction_name => jurisdiction_name, sector_label => sector_label, can_edit => can_edit },
    )
}

fn organization_value(locale: Locale, o: &OrganizationView) -> Value {
    context! {
        id => o.id, name => name_of(locale, &o.name_zh, o.name_en.as_deref()), kind_label => o.kind_label.clone(), code => o.code.clone(),
        jurisdiction_id => o.jurisdiction_id, contact_phone => o.contact_phone.clone(), contact_email => o.contact_email.clone(), address => o.address.clone(),
    }
}

async fn organization_form(
    app: &App,
    viewer: &Viewer,
    heading: String,
    action: String,
    form: Value,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(app, &viewer.ctx).await;
    render_with_status(
        status,
        "organization_form.html",
        viewer,
        "organizations",
        context! {
            heading => heading, action => action.clone(), draft_key => action, form => form, errors => errors,
            kinds => options(domain::registry::OrganizationKind::ALL, |k| k.code(), |k| k.label(locale)),
            sectors => options(domain::registry::Sector::ALL, |k| k.code(), |k| k.label(locale)),
            jurisdictions => jurisdiction_options(locale, &all),
        },
    )
}

async fn new_organization(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return see_other("/login?next=/organizations/new");
    }
    let heading = t(viewer.ctx.locale, "ui.new_organization");
    organization_form(&app, &viewer, heading, "/organizations".into(), context! {}, Vec::new(), StatusCode::OK).await
}

async fn edit_organization(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let o = match app.registry().get_organization(&viewer.ctx, id).await {
        Ok(o) => o,
        Err(error) => return error_page(&viewer, &error),
    };
    let form = context! {
        version => o.version.to_string(), name_zh => o.name_zh, name_en => o.name_en, code => o.code, kind => o.kind, sector => o.sector,
        jurisdiction_id => o.jurisdiction_id.to_string(), contact_phone => o.contact_phone, contact_email => o.contact_email, address => o.address,
    };
    let heading = t(viewer.ctx.locale, "ui.edit");
    organization_form(&app, &viewer, heading, format!("/organizations/{id}"), form, Vec::new(), StatusCode::OK).await
}

async fn create_organization(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let input = app::registry::NewOrganization {
        kind: form.text("kind").unwrap_or_default(),
        sector: form.text("sector"),
        code: form.text("code").unwrap_or_default(),
        name_zh: form.text("name_zh").unwrap_or_default(),
        name_en: form.text("name_en"),
        jurisdiction_id: form.integer("jurisdiction_id").unwrap_or_default(),
        parent_id: None,
        contact_phone: form.text("contact_phone"),
        contact_email: form.text("contact_email"),
        address: form.text("address"),
    };
    match app.registry().create_organization(&viewer.ctx, input).await {
        Ok(o) => see_other(&format!("/organizations/{}", o.id)),
        Err(error @ (AppError::Invalid(_) | AppError::Duplicate { .. })) => {
            let heading = t(viewer.ctx.locale, "ui.new_organization");
            let status = crate::problem::status_of(&error);
            organization_form(&app, &viewer, heading, "/organizations".into(), form.values(), errors_of(&error, viewer.ctx.locale), status)
                .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn update_organization(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let patch = app::registry::OrganizationPatch {
        version: form.integer("version"),
        kind: form.text("kind"),
        sector: Some(form.text("sector")),
        code: form.text("code"),
        name_zh: form.text("name_zh"),
        name_en: Some(form.text("name_en")),
        jurisdiction_id: form.integer("jurisdiction_id"),
        parent_id: None,
        contact_phone: Some(form.text("contact_phone")),
        contact_email: Some(form.text("contact_email")),
        address: Some(form.text("address")),
    };
    match app.registry().update_organization(&viewer.ctx, id, patch).await {
        Ok(_) => see_other(&format!("/organizations/{id}")),
        Err(error @ (AppError::Invalid(_) | AppError::Duplicate { .. } | AppError::Conflict { .. })) => {
            let heading = t(viewer.ctx.locale, "ui.edit");
            let status = crate::problem::status_of(&error);
            organization_form(
                &app,
                &viewer,
                heading,
                format!("/organizations/{id}"),
                form.values(),
                errors_of(&error, viewer.ctx.locale),
                status,
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

// ------------------------------------------------------------------------------------------------------ members

fn worst_credential(m: &MemberView) -> &'static str {
    if m.credentials.iter().any(|c| c.state == "expired") {
        "expired"
    } else if m.credentials.iter().any(|c| c.state == "expiring_soon") {
        "expiring_soon"
    } else if m.credentials.is_empty() {
        ""
    } else {
        "valid"
    }
}

fn member_filter(form: &FormData) -> MemberFilter {
    MemberFilter {
        status: form.text("status"),
        role: form.text("role"),
        skill: form.text("skill"),
        organization_id: form.integer("organization_id"),
        credential_expires_before: None,
    }
}

fn role_labels(locale: Locale, roles: &[String]) -> Vec<String> {
    roles
        .iter()
        .map(|r| domain::registry::MemberRole::parse("role", r).map(|r| r.label(locale).to_string()).unwrap_or_else(|_| r.clone()))
        .collect()
}

async fn members(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let page = match app.registry().list_members(&viewer.ctx, &list_params(&form, 50), &member_filter(&form)).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|m| {
            let credential = worst_credential(m);
            vec![
                link(m.name.clone(), format!("/members/{}", m.id)),
                classed(m.status_label.clone(), &format!("status-{}", m.status)),
                cell(role_labels(locale, &m.roles).join(", ")),
                cell(m.skills.join(", ")),
                classed(m.phone.clone().unwrap_or_default(), "personal"),
                classed(
                    if credential.is_empty() { String::new() } else { t(locale, &format!("credential_state.{credential}")) },
                    &format!("credential-{credential}"),
                ),
            ]
        })
        .collect();
    let statuses = options(domain::registry::MemberStatus::ALL, |s| s.code(), |s| s.label(locale));
    let roles = options(domain::registry::MemberRole::ALL, |s| s.code(), |s| s.label(locale));
    let spec = ListPage {
        heading: t(locale, "ui.nav_members"),
        base_url: "/members".into(),
        new_url: Some("/members/new".into()),
        new_label: t(locale, "ui.new_member"),
        csv_url: Some(with_query("/members.csv", &form, &[("offset", String::new())])),
        columns: vec![
            ("name", t(locale, "ui.name"), true),
            ("status", t(locale, "ui.status"), true),
            ("roles", t(locale, "ui.roles"), false),
            ("skills", t(locale, "ui.skills"), false),
            ("phone", t(locale, "ui.phone"), false),
            ("next_credential_expiry", t(locale, "ui.credentials"), true),
        ],
        filters: vec![
            filter("status", t(locale, "ui.status"), statuses, form.text("status")),
            filter("role", t(locale, "ui.role"), roles, form.text("role")),
        ],
    };
    render("list.html", &viewer, "members", list_value(spec, &form, &page, rows))
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// A CSV download of every row a list would show (through every page), with the header in the reader's language.
/// It starts with a byte-order mark so that spreadsheet programs read the Chinese text as UTF-8.
async fn export_csv<T, F, Fut>(viewer: &Viewer, filename: &str, header: &[&str], mut fetch: F, row: impl Fn(&T) -> Vec<String>) -> Response
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, AppError>>,
{
    let locale = viewer.ctx.locale;
    let mut out = String::from("\u{feff}");
    out.push_str(&header.iter().map(|key| csv_field(&t(locale, key))).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    let mut offset = 0;
    loop {
        let page = match fetch(offset).await {
            Ok(page) => page,
            Err(error) => return error_page(viewer, &error),
        };
        for item in &page.items {
            out.push_str(&row(item).iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        offset += page.items.len() as i64;
        if page.items.is_empty() || offset >= page.total || offset >= 100_000 {
            break;
        }
    }
    let mut response = (StatusCode::OK, out).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn members_csv(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let timezone = app.config().default_timezone.clone();
    let header = ["ui.name", "ui.status", "ui.roles", "ui.skills", "ui.phone", "ui.email", "ui.credentials", "ui.updated_at"];
    let fetch = |offset: i64| {
        let params = ListParams { offset: Some(offset), ..list_params(&form, 500) };
        let (app, ctx, filter) = (app.clone(), viewer.ctx.clone(), member_filter(&form));
        async move { app.registry().list_members(&ctx, &params, &filter).await }
    };
    export_csv(&viewer, "members.csv", &header, fetch, |m: &MemberView| {
        let credential = worst_credential(m);
        vec![
            m.name.clone(),
            m.status_label.clone(),
            role_labels(locale, &m.roles).join("; "),
            m.skills.join("; "),
            m.phone.clone().unwrap_or_default(),
            m.email.clone().unwrap_or_default(),
            if credential.is_empty() { String::new() } else { t(locale, &format!("credential_state.{credential}")) },
            local_time(&m.updated_at, &timezone),
        ]
    })
    .await
}

async fn organizations_csv(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let header = ["ui.name_zh", "ui.name_en", "ui.code", "ui.kind", "ui.sector", "ui.phone", "ui.email", "ui.address"];
    let fetch = |offset: i64| {
        let params = ListParams { offset: Some(offset), ..list_params(&form, 500) };
        let filter = OrganizationFilter { kind: form.text("kind"), sector: form.text("sector") };
        let (app, ctx) = (app.clone(), viewer.ctx.clone());
        async move { app.registry().list_organizations(&ctx, &params, &filter).await }
    };
    export_csv(&viewer, "organizations.csv", &header, fetch, |o: &OrganizationView| {
        vec![
            o.name_zh.clone(),
            o.name_en.clone().unwrap_or_default(),
            o.code.clone(),
            o.kind_label.clone(),
            o.sector
                .as_deref()
                .and_then(|s| domain::registry::Sector::parse("sector", s).ok())
                .map(|s| s.label(locale).to_string())
                .unwrap_or_default(),
            o.contact_phone.clone().unwrap_or_default(),
            o.contact_email.clone().unwrap_or_default(),
            o.address.clone().unwrap_or_default(),
        ]
    })
    .await
}

async fn teams_csv(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let form = query(&uri);
    let header = ["ui.name_zh", "ui.name_en", "ui.kind", "ui.tier", "ui.members"];
    let fetch = |offset: i64| {
        let params = ListParams { offset: Some(offset), ..list_params(&form, 500) };
        let filter = TeamFilter { kind: form.text("kind"), tier: form.text("tier") };
        let (app, ctx) = (app.clone(), viewer.ctx.clone());
        async move { app.registry().list_teams(&ctx, &params, &filter).await }
    };
    export_csv(&viewer, "teams.csv", &header, fetch, |team: &TeamView| {
        vec![
            team.name_zh.clone(),
            team.name_en.clone().unwrap_or_default(),
            team.kind_label.clone(),
            team.tier_label.clone(),
            team.member_ids.len().to_string(),
        ]
    })
    .await
}

async fn jurisdictions_csv(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let form = query(&uri);
    let header = ["ui.name_zh", "ui.name_en", "ui.code", "ui.level", "ui.mode", "ui.timezone"];
    let fetch = |offset: i64| {
        let params = ListParams { offset: Some(offset), ..list_params(&form, 500) };
        let filter = JurisdictionFilter { level: form.text("level"), parent_id: None, roots: false };
        let (app, ctx) = (app.clone(), viewer.ctx.clone());
        async move { app.registry().list_jurisdictions(&ctx, &params, &filter).await }
    };
    export_csv(&viewer, "jurisdictions.csv", &header, fetch, |j: &JurisdictionView| {
        vec![
            j.name_zh.clone(),
            j.name_en.clone().unwrap_or_default(),
            j.code.clone(),
            j.level_label.clone(),
            j.mode_label.clone(),
            j.timezone.clone(),
        ]
    })
    .await
}

async fn member(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    member_page(&app, &viewer, id, None).await
}

async fn member_page(app: &App, viewer: &Viewer, id: i64, purpose: Option<String>) -> Response {
    let locale = viewer.ctx.locale;
    let m = match app.registry().get_member(&viewer.ctx, id, purpose.as_deref()).await {
        Ok(m) => m,
        Err(error) => return error_page(viewer, &error),
    };
    let jurisdiction = app.registry().get_jurisdiction(&viewer.ctx, m.jurisdiction_id).await.ok();
    let timezone = jurisdiction.as_ref().map(|j| j.timezone.clone()).unwrap_or_else(|| app.config().default_timezone.clone());
    let jurisdiction_name = jurisdiction.as_ref().map(|j| name_of(locale, &j.name_zh, j.name_en.as_deref())).unwrap_or_default();
    let organization_name = match m.organization_id {
        Some(id) => app.registry().get_organization(&viewer.ctx, id).await.ok().map(|o| name_of(locale, &o.name_zh, o.name_en.as_deref())),
        None => None,
    };
    let credentials: Vec<Value> = m
        .credentials
        .iter()
        .map(|c| context! { kind => c.kind.clone(), number => c.number.clone(), expires_on => c.expires_on.clone(), state => c.state.clone(), state_label => t(locale, &format!("credential_state.{}", c.state)) })
        .collect();
    let path = jurisdiction.as_ref().and_then(|j| domain::registry::JurisdictionPath::parse(&j.path));
    let can_edit = path.as_ref().is_some_and(|p| {
        let resource = Resource::new(ResourceKind::Member, domain::Classification::Internal)
            .in_jurisdiction(p)
            .owned_by(m.organization_id.map(domain::ids::OrganizationId))
            .about_member(domain::ids::MemberId(m.id));
        domain::policy::decide(&viewer.ctx.subject, Action::Update, &resource).is_allowed()
    });
    let updated_local = local_time(&m.updated_at, &timezone);
    let roles = role_labels(locale, &m.roles);
    render(
        "member.html",
        viewer,
        "members",
        context! {
            m => Value::from(minijinja::value::Serde(&m)), roles => roles, credentials => credentials, jurisdiction_name => jurisdiction_name,
            organization_name => organization_name, can_edit => can_edit, updated_local => updated_local,
        },
    )
}

async fn reveal_member(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    member_page(&app, &viewer, id, Some(form.text("purpose").unwrap_or_default())).await
}

async fn member_form(
    app: &App,
    viewer: &Viewer,
    heading: String,
    action: String,
    form: Value,
    checked_roles: Vec<String>,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(app, &viewer.ctx).await;
    let roles: Vec<Value> = domain::registry::MemberRole::ALL
        .iter()
        .map(|r| context! { value => r.code(), label => r.label(locale), checked => checked_roles.iter().any(|c| c == r.code()) })
        .collect();
    render_with_status(
        status,
        "member_form.html",
        viewer,
        "members",
        context! {
            heading => heading, action => action.clone(), draft_key => action, form => form, errors => errors, roles => roles,
            statuses => options(domain::registry::MemberStatus::ALL, |s| s.code(), |s| s.label(locale)),
            jurisdictions => jurisdiction_options(locale, &all),
            organizations => organization_options(app, &viewer.ctx).await,
        },
    )
}

async fn new_member(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return see_other("/login?next=/members/new");
    }
    let heading = t(viewer.ctx.locale, "ui.new_member");
    member_form(&app, &viewer, heading, "/members".into(), context! { status => "active" }, Vec::new(), Vec::new(), StatusCode::OK).await
}

async fn edit_member(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let m = match app.registry().get_member(&viewer.ctx, id, None).await {
        Ok(m) => m,
        Err(error) => return error_page(&viewer, &error),
    };
    let credential = m.credentials.first();
    let form = context! {
        version => m.version.to_string(), name => m.name.clone(), jurisdiction_id => m.jurisdiction_id.to_string(),
        organization_id => m.organization_id.map(|id| id.to_string()), skills => m.skills.join(", "), status => m.status.clone(),
        credential_kind => credential.map(|c| c.kind.clone()), credential_expires_on => credential.and_then(|c| c.expires_on.clone()),
        base => m.base.map(|p| format!("{}, {}", p.lat, p.lon)),
    };
    let heading = t(viewer.ctx.locale, "ui.edit");
    member_form(&app, &viewer, heading, format!("/members/{id}"), form, m.roles.clone(), Vec::new(), StatusCode::OK).await
}

/// Reads "lat, lon" (the order people read coordinates in) into a point.
fn parse_position(text: Option<String>) -> Result<Option<app::registry::Point>, AppError> {
    let Some(text) = text else { return Ok(None) };
    let parts: Vec<f64> = text.split([',', ' ']).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect();
    match parts[..] {
        [lat, lon] => Ok(Some(app::registry::Point { lon, lat })),
        _ => Err(domain::Invalid::new("base", domain::InvalidReason::Malformed { expected: "31.23, 121.47" }).into()),
    }
}

fn skills_of(form: &FormData) -> Vec<String> {
    form.text("skills")
        .map(|s| s.split([',', '，', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn credentials_of(form: &FormData) -> Vec<app::registry::CredentialInput> {
    match form.text("credential_kind") {
        Some(kind) => {
            vec![app::registry::CredentialInput { kind, number: None, issuer: None, expires_on: form.text("credential_expires_on") }]
        }
        None => Vec::new(),
    }
}

async fn create_member(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let result = async {
        let input = app::registry::NewMember {
            jurisdiction_id: form.integer("jurisdiction_id").unwrap_or_default(),
            organization_id: form.integer("organization_id"),
            name: form.text("name").unwrap_or_default(),
            phone: form.text("phone"),
            email: form.text("email"),
            roles: form.all("roles"),
            skills: skills_of(&form),
            credentials: credentials_of(&form),
            home: None,
            base: parse_position(form.text("base"))?,
            status: form.text("status"),
        };
        app.registry().create_member(&viewer.ctx, input).await
    }
    .await;
    match result {
        Ok(m) => see_other(&format!("/members/{}", m.id)),
        Err(error @ AppError::Invalid(_)) => {
            let heading = t(viewer.ctx.locale, "ui.new_member");
            let status = crate::problem::status_of(&error);
            member_form(
                &app,
                &viewer,
                heading,
                "/members".into(),
                form.values(),
                form.all("roles"),
                errors_of(&error, viewer.ctx.locale),
                status,
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn update_member(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let result = async {
        let patch = app::registry::MemberPatch {
            version: form.integer("version"),
            jurisdiction_id: form.integer("jurisdiction_id"),
            organization_id: Some(form.integer("organization_id")),
            name: form.text("name"),
            phone: form.text("phone").map(Some),
            email: form.text("email").map(Some),
            roles: Some(form.all("roles")),
            skills: Some(skills_of(&form)),
            credentials: Some(credentials_of(&form)),
            home: None,
            base: Some(parse_position(form.text("base"))?),
            status: form.text("status"),
        };
        app.registry().update_member(&viewer.ctx, id, patch).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("/members/{id}")),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let heading = t(viewer.ctx.locale, "ui.edit");
            let status = crate::problem::status_of(&error);
            member_form(
                &app,
                &viewer,
                heading,
                format!("/members/{id}"),
                form.values(),
                form.all("roles"),
                errors_of(&error, viewer.ctx.locale),
                status,
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

// ------------------------------------------------------------------------------------------------------ teams

async fn teams(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let list_filter = TeamFilter { kind: form.text("kind"), tier: form.text("tier") };
    let page = match app.registry().list_teams(&viewer.ctx, &list_params(&form, 50), &list_filter).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|team| {
            vec![
                link(name_of(locale, &team.name_zh, team.name_en.as_deref()), format!("/teams/{}", team.id)),
                cell(team.kind_label.clone()),
                cell(team.tier_label.clone()),
                cell(team.member_ids.len().to_string()),
            ]
        })
        .collect();
    let kinds = options(domain::registry::TeamKind::ALL, |k| k.code(), |k| k.label(locale));
    let tiers = options(domain::registry::TeamTier::ALL, |k| k.code(), |k| k.label(locale));
    let spec = ListPage {
        heading: t(locale, "ui.nav_teams"),
        base_url: "/teams".into(),
        new_url: Some("/teams/new".into()),
        new_label: t(locale, "ui.new_team"),
        csv_url: Some(with_query("/teams.csv", &form, &[("offset", String::new())])),
        columns: vec![
            ("name_zh", t(locale, "ui.name"), true),
            ("kind", t(locale, "ui.kind"), true),
            ("tier", t(locale, "ui.tier"), true),
            ("members", t(locale, "ui.members"), false),
        ],
        filters: vec![
            filter("kind", t(locale, "ui.kind"), kinds, form.text("kind")),
            filter("tier", t(locale, "ui.tier"), tiers, form.text("tier")),
        ],
    };
    render("list.html", &viewer, "teams", list_value(spec, &form, &page, rows))
}

async fn team(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let locale = viewer.ctx.locale;
    let team: TeamView = match app.registry().get_team(&viewer.ctx, id).await {
        Ok(team) => team,
        Err(error) => return error_page(&viewer, &error),
    };
    let jurisdiction_name = app
        .registry()
        .get_jurisdiction(&viewer.ctx, team.jurisdiction_id)
        .await
        .map(|j| name_of(locale, &j.name_zh, j.name_en.as_deref()))
        .unwrap_or_default();
    let mut members = Vec::new();
    for member_id in &team.member_ids {
        if let Ok(m) = app.registry().get_member(&viewer.ctx, *member_id, None).await {
            members
                .push(context! { id => m.id, name => m.name.clone(), status => m.status.clone(), status_label => m.status_label.clone() });
        }
    }
    let leader = match team.leader_member_id {
        Some(id) => app.registry().get_member(&viewer.ctx, id, None).await.ok().map(|m| context! { id => m.id, name => m.name }),
        None => None,
    };
    render(
        "team.html",
        &viewer,
        "teams",
        context! {
            team => context! { id => team.id, name => name_of(locale, &team.name_zh, team.name_en.as_deref()), kind_label => team.kind_label.clone(), tier_label => team.tier_label.clone(), jurisdiction_id => team.jurisdiction_id },
            jurisdiction_name => jurisdiction_name, members => members, leader => leader, can_edit => viewer.signed_in(),
        },
    )
}

async fn team_form(
    app: &App,
    viewer: &Viewer,
    heading: String,
    action: String,
    form: Value,
    checked: Vec<i64>,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(app, &viewer.ctx).await;
    let members = app
        .registry()
        .list_members(
            &viewer.ctx,
            &ListParams { limit: Some(500), sort: Some("name".into()), ..ListParams::default() },
            &MemberFilter::default(),
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let member_options: Vec<Value> = members
        .iter()
        .map(|m| context! { value => m.id.to_string(), label => m.name.clone(), checked => checked.contains(&m.id) })
        .collect();
    render_with_status(
        status,
        "team_form.html",
        viewer,
        "teams",
        context! {
            heading => heading, action => action.clone(), draft_key => action, form => form, errors => errors, member_options => member_options,
            kinds => options(domain::registry::TeamKind::ALL, |k| k.code(), |k| k.label(locale)),
            tiers => options(domain::registry::TeamTier::ALL, |k| k.code(), |k| k.label(locale)),
            jurisdictions => jurisdiction_options(locale, &all),
        },
    )
}

async fn new_team(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return see_other("/login?next=/teams/new");
    }
    let heading = t(viewer.ctx.locale, "ui.new_team");
    team_form(
        &app,
        &viewer,
        heading,
        "/teams".into(),
        context! { kind => "grassroots", tier => "community" },
        Vec::new(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

async fn edit_team(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let team = match app.registry().get_team(&viewer.ctx, id).await {
        Ok(team) => team,
        Err(error) => return error_page(&viewer, &error),
    };
    let form = context! {
        version => team.version.to_string(), name_zh => team.name_zh.clone(), name_en => team.name_en.clone(), kind => team.kind.clone(),
        tier => team.tier.clone(), jurisdiction_id => team.jurisdiction_id.to_string(),
    };
    let heading = t(viewer.ctx.locale, "ui.edit");
    team_form(&app, &viewer, heading, format!("/teams/{id}"), form, team.member_ids.clone(), Vec::new(), StatusCode::OK).await
}

fn member_ids_of(form: &FormData) -> Vec<i64> {
    form.all("member_ids").iter().filter_map(|id| id.parse().ok()).collect()
}

async fn create_team(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let input = app::registry::NewTeam {
        kind: form.text("kind").unwrap_or_default(),
        tier: form.text("tier").unwrap_or_default(),
        name_zh: form.text("name_zh").unwrap_or_default(),
        name_en: form.text("name_en"),
        jurisdiction_id: form.integer("jurisdiction_id").unwrap_or_default(),
        organization_id: None,
        leader_member_id: None,
        member_ids: member_ids_of(&form),
    };
    match app.registry().create_team(&viewer.ctx, input).await {
        Ok(team) => see_other(&format!("/teams/{}", team.id)),
        Err(error @ AppError::Invalid(_)) => {
            let heading = t(viewer.ctx.locale, "ui.new_team");
            let status = crate::problem::status_of(&error);
            team_form(
                &app,
                &viewer,
                heading,
                "/teams".into(),
                form.values(),
                member_ids_of(&form),
                errors_of(&error, viewer.ctx.locale),
                status,
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn update_team(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let patch = app::registry::TeamPatch {
        version: form.integer("version"),
        kind: form.text("kind"),
        tier: form.text("tier"),
        name_zh: form.text("name_zh"),
        name_en: Some(form.text("name_en")),
        jurisdiction_id: form.integer("jurisdiction_id"),
        organization_id: None,
        leader_member_id: None,
        member_ids: Some(member_ids_of(&form)),
    };
    match app.registry().update_team(&viewer.ctx, id, patch).await {
        Ok(_) => see_other(&format!("/teams/{id}")),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let heading = t(viewer.ctx.locale, "ui.edit");
            let status = crate::problem::status_of(&error);
            team_form(
                &app,
                &viewer,
                heading,
                format!("/teams/{id}"),
                form.values(),
                member_ids_of(&form),
                errors_of(&error, viewer.ctx.locale),
                status,
            )
            .await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

// ------------------------------------------------------------------------------------------------------ accounts

async fn account_page(
    app: &App,
    viewer: &Viewer,
    notice: Option<String>,
    new_token: Option<String>,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    if !viewer.signed_in() {
        return see_other("/login?next=/account");
    }
    let account = match app.access().me(&viewer.ctx).await {
        Ok(account) => account,
        Err(error) => return error_page(viewer, &error),
    };
    let timezone = app.config().default_timezone.clone();
    let tokens: Vec<Value> = app
        .access()
        .list_api_tokens(&viewer.ctx, None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|token| context! { id => token.id, name => token.name, prefix => token.prefix, created_local => local_time(&token.created_at, &timezone), revoked_at => token.revoked_at })
        .collect();
    let sessions: Vec<Value> = app
        .access()
        .my_sessions(&viewer.ctx, viewer.session.as_deref())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|session| {
            context! {
                id => session.id, current => session.current, client_address => session.client_address, user_agent => session.user_agent,
                created_local => local_time(&session.created_at, &timezone), expires_local => local_time(&session.expires_at, &timezone),
            }
        })
        .collect();
    render_with_status(
        status,
        "account.html",
        viewer,
        "account",
        context! {
            account => Value::from(minijinja::value::Serde(&account)), tokens => tokens, sessions => sessions, notice => notice,
            new_token => new_token, errors => errors,
        },
    )
}

async fn end_session(State(app): State<App>, viewer: Viewer, Path(id): Path<String>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    match app.access().end_my_session(&viewer.ctx, &id).await {
        Ok(()) => {
            let notice = domain::i18n::text(viewer.ctx.locale, "ui.session_ended").to_string();
            account_page(&app, &viewer, Some(notice), None, Vec::new(), StatusCode::OK).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn end_other_sessions(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let Some(token) = viewer.session.clone() else { return see_other("/login?next=/account") };
    match app.access().end_my_other_sessions(&viewer.ctx, &token).await {
        Ok(ended) => {
            let notice = domain::i18n::format(viewer.ctx.locale, "ui.sessions_ended", &[("count", ended.to_string())]);
            account_page(&app, &viewer, Some(notice), None, Vec::new(), StatusCode::OK).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn account(State(app): State<App>, viewer: Viewer) -> Response {
    account_page(&app, &viewer, None, None, Vec::new(), StatusCode::OK).await
}

async fn change_password(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let Some(account_id) = viewer.ctx.account_id() else { return see_other("/login") };
    let change = app::access::PasswordChange {
        current_password: form.text("current_password"),
        new_password: form.get("new_password").unwrap_or("").to_string(),
    };
    match app.access().change_password(&viewer.ctx, account_id, change).await {
        // A new password ends every session, this one included.
        Ok(()) => see_other("/login"),
        Err(error @ (AppError::Invalid(_) | AppError::InvalidCredentials)) => {
            let status = crate::problem::status_of(&error);
            account_page(&app, &viewer, None, None, errors_of(&error, viewer.ctx.locale), status).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn create_token(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let input = app::access::NewApiToken { name: form.text("name").unwrap_or_default(), expires_in_days: None, account_id: None };
    match app.access().create_api_token(&viewer.ctx, input).await {
        Ok(created) => account_page(&app, &viewer, None, Some(created.token), Vec::new(), StatusCode::CREATED).await,
        Err(error @ AppError::Invalid(_)) => {
            let status = crate::problem::status_of(&error);
            account_page(&app, &viewer, None, None, errors_of(&error, viewer.ctx.locale), status).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn revoke_token(State(app): State<App>, viewer: Viewer, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    match app.access().revoke_api_token(&viewer.ctx, id).await {
        Ok(_) => see_other("/account"),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn accounts(State(app): State<App>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let locale = viewer.ctx.locale;
    let form = query(&uri);
    let page = match app.access().list_accounts(&viewer.ctx, &list_params(&form, 50)).await {
        Ok(page) => page,
        Err(error) => return error_page(&viewer, &error),
    };
    let rows = page
        .items
        .iter()
        .map(|a| {
            vec![
                cell(a.username.clone()),
                cell(a.display_name.clone()),
                cell(a.grants.iter().map(|g| g.role_label.clone()).collect::<Vec<_>>().join(", ")),
                cell(if a.disabled { t(locale, "ui.disabled") } else { t(locale, "ui.active") }),
            ]
        })
        .collect();
    let spec = ListPage {
        heading: t(locale, "ui.nav_accounts"),
        base_url: "/accounts".into(),
        new_url: Some("/accounts/new".into()),
        new_label: t(locale, "ui.new_account"),
        csv_url: None,
        columns: vec![
            ("username", t(locale, "ui.username"), true),
            ("display_name", t(locale, "ui.display_name"), true),
            ("roles", t(locale, "ui.roles"), false),
            ("state", t(locale, "ui.state"), false),
        ],
        filters: Vec::new(),
    };
    render("list.html", &viewer, "accounts", list_value(spec, &form, &page, rows))
}

async fn account_form(app: &App, viewer: &Viewer, form: Value, created: Option<Value>, errors: Vec<Value>, status: StatusCode) -> Response {
    let locale = viewer.ctx.locale;
    let all = all_jurisdictions(app, &viewer.ctx).await;
    render_with_status(
        status,
        "account_form.html",
        viewer,
        "accounts",
        context! {
            form => form, created => created, errors => errors,
            roles => options(domain::policy::AccountRole::ALL, |r| r.code(), |r| r.label(locale)),
            jurisdictions => jurisdiction_options(locale, &all),
            organizations => organization_options(app, &viewer.ctx).await,
        },
    )
}

async fn new_account(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.is_admin {
        return error_page(&viewer, &AppError::Forbidden { reason: domain::policy::DenyReason::NotPermitted });
    }
    account_form(&app, &viewer, context! {}, None, Vec::new(), StatusCode::OK).await
}

async fn create_account(State(app): State<App>, viewer: Viewer, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let grants = match form.text("role") {
        Some(role) => vec![app::access::GrantInput {
            role,
            jurisdiction_id: form.integer("jurisdiction_id"),
            organization_id: form.integer("organization_id"),
        }],
        None => Vec::new(),
    };
    let input = app::access::NewAccount {
        username: form.text("username").unwrap_or_default(),
        display_name: form.text("display_name"),
        password: None,
        locale: None,
        member_id: None,
        grants,
    };
    match app.access().create_account(&viewer.ctx, input).await {
        Ok(created) => {
            let shown = context! { username => created.account.username, password => created.generated_password };
            account_form(&app, &viewer, context! {}, Some(shown), Vec::new(), StatusCode::CREATED).await
        }
        Err(error @ (AppError::Invalid(_) | AppError::Duplicate { .. })) => {
            let status = crate::problem::status_of(&error);
            account_form(&app, &viewer, form.values(), None, errors_of(&error, viewer.ctx.locale), status).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}
