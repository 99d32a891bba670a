//! The data commons in the console (the catalogue, a dataset's page with its fields, freshness, policies and access
//! log) and the open data portal at `/public/data`: the public datasets, their GeoJSON and CSV downloads, a DCAT
//! catalogue for harvesters, and the de-identified live layers.

use app::commons::PolicyInput;
use app::{App, AppError, Context};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};

use super::pages::{errors_of, forbidden_form, local_time, see_other};
use super::{FormData, Viewer, error_page, render, render_with_status};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/data", get(catalogue))
        .route("/data/{name}", get(dataset))
        .route("/data/{name}/policies", post(share))
        .route("/data/{name}/policies/{id}/revoke", post(unshare))
        .route("/public/data", get(public_catalogue))
        .route("/public/data/catalog.json", get(public_dcat))
        .route("/public/data/live/{file}", get(public_live))
        .route("/public/data/{file}", get(public_file))
        .route("/public/my-data", get(my_data).post(my_data_view))
        .route("/public/my-data/code", post(my_data_code))
}

fn zone(app: &App) -> String {
    app.config().default_timezone.clone()
}

fn dataset_value(d: &app::commons::DatasetView, zone: &str) -> Value {
    context! {
        name => d.name.clone(), title => d.title.clone(), kind => d.kind.clone(), classification => d.classification.clone(),
        organization => d.organization.clone(), licence => d.licence.clone(), description => d.description.clone(),
        feature_count => d.feature_count, stale => d.stale, owned => d.owned,
        updated_at => d.updated_at.as_deref().map(|t| local_time(t, zone)),
        stale_since => d.stale_since.as_deref().map(|t| local_time(t, zone)),
        interval => d.update_interval_hours,
        fields => Value::from(minijinja::value::Serde(&d.fields)),
    }
}

async fn catalogue(State(app): State<App>, viewer: Viewer) -> Response {
    if !viewer.signed_in() {
        return error_page(&viewer, &AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired });
    }
    let zone = zone(&app);
    match app.commons().list_datasets(&viewer.ctx).await {
        Ok(list) => {
            let stale = list.iter().filter(|d| d.stale).count();
            let rows: Vec<Value> = list.iter().map(|d| dataset_value(d, &zone)).collect();
            render("datasets.html", &viewer, "data", context! { datasets => rows, stale => stale })
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn dataset_page(app: &App, viewer: &Viewer, name: &str, errors: Vec<Value>, status: StatusCode) -> Response {
    let zone = zone(app);
    let view = match app.commons().get_dataset(&viewer.ctx, name).await {
        Ok(view) => view,
        Err(error) => return error_page(viewer, &error),
    };
    let (policies, log) = if view.owned {
        let policies = app.commons().dataset_policies(&viewer.ctx, name).await.unwrap_or_default();
        let log = app.commons().dataset_access_log(&viewer.ctx, name).await.unwrap_or_default();
        (policies, log)
    } else {
        (Vec::new(), Vec::new())
    };
    let organizations = super::pages::organization_options(app, &viewer.ctx).await;
    let locale = viewer.ctx.locale;
    let roles = super::pages::options(domain::policy::AccountRole::ALL, |r| r.code(), |r| r.label(locale));
    let jurisdictions = if view.owned {
        super::pages::jurisdiction_options(locale, &super::pages::all_jurisdictions(app, &viewer.ctx).await)
    } else {
        Vec::new()
    };
    let policies: Vec<Value> = policies
        .iter()
        .map(|p| {
            context! {
                id => p.id, organization_id => p.organization_id, role => p.role.clone(), note => p.note.clone(),
                fields => p.fields.as_ref().map(|f| f.join(", ")),
                activation => p.activation.as_ref().map(|a| context! {
                    category => a.category.clone(), min_grade => a.min_grade.clone(), radius_m => a.radius_m,
                }),
                open_for => p.open_for_incidents.clone(), area => p.area.is_some(),
                created => format!("{} {}", p.created_by, local_time(&p.created_at, &zone)),
                revoked => p.revoked_at.as_deref().map(|t| local_time(t, &zone)),
            }
        })
        .collect();
    let log: Vec<Value> = log
        .iter()
        .map(|e| {
            context! {
                at => local_time(&e.at, &zone), actor => e.actor.clone(), purpose => e.purpose.clone(), incident_id => e.incident_id,
                policy_id => e.policy_id, features => e.features, fields => e.fields.join(", "),
            }
        })
        .collect();
    render_with_status(
        status,
        "dataset.html",
        viewer,
        "data",
        context! {
            dataset => dataset_value(&view, &zone), policies => policies, log => log, errors => errors, organizations => organizations,
            roles => roles, jurisdictions => jurisdictions,
            categories => domain::incident::Category::ALL.iter().map(|c| context! { code => c.code(), label => c.label(viewer.ctx.locale) }).collect::<Vec<_>>(),
            grades => domain::incident::Grade::ALL.iter().map(|g| context! { code => g.code(), label => g.label(viewer.ctx.locale) }).collect::<Vec<_>>(),
        },
    )
}

async fn dataset(State(app): State<App>, viewer: Viewer, Path(name): Path<String>) -> Response {
    dataset_page(&app, &viewer, &name, Vec::new(), StatusCode::OK).await
}

async fn share(State(app): State<App>, viewer: Viewer, Path(name): Path<String>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    let fields: Vec<String> =
        form.text("fields").map(|f| f.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    let activation = (form.get("bound") == Some("on")).then(|| app::commons::ActivationCondition {
        category: form.text("category").filter(|c| !c.is_empty()),
        min_grade: form.text("min_grade").filter(|g| !g.is_empty()),
        radius_m: form.text("radius_m").and_then(|r| r.parse().ok()),
        roles: Vec::new(),
    });
    // "Only inside" a jurisdiction: its boundary becomes the policy's area.
    let area = match form.integer("within_jurisdiction") {
        Some(id) => match app.registry().get_jurisdiction(&viewer.ctx, id).await {
            Ok(j) => j.boundary,
            Err(error) => return error_page(&viewer, &error),
        },
        None => None,
    };
    let input = PolicyInput {
        organization_id: if activation.is_some() { None } else { form.integer("organization_id") },
        role: if activation.is_some() { None } else { form.text("role").filter(|r| !r.is_empty()) },
        fields: (!fields.is_empty()).then_some(fields),
        area,
        activation,
        note: form.text("note").filter(|n| !n.is_empty()),
    };
    match app.commons().create_policy(&viewer.ctx, &name, input).await {
        Ok(_) => see_other(&format!("/data/{name}#policies")),
        Err(error @ AppError::Invalid(_)) => {
            let errors = errors_of(&error, viewer.ctx.locale);
            dataset_page(&app, &viewer, &name, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn unshare(State(app): State<App>, viewer: Viewer, Path((name, id)): Path<(String, i64)>, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !viewer.csrf_ok(&form) {
        return forbidden_form(&viewer);
    }
    match app.commons().revoke_policy(&viewer.ctx, &name, id).await {
        Ok(()) => see_other(&format!("/data/{name}#policies")),
        Err(error) => error_page(&viewer, &error),
    }
}

/// The open data portal: what an anonymous visitor may read, whoever is signed in.
async fn public_catalogue(State(app): State<App>, viewer: Viewer) -> Response {
    let zone = zone(&app);
    let anonymous = Context::anonymous(viewer.ctx.locale);
    match app.commons().list_datasets(&anonymous).await {
        Ok(list) => {
            let rows: Vec<Value> = list.iter().map(|d| dataset_value(d, &zone)).collect();
            render("public_data.html", &viewer, "", context! { datasets => rows })
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn public_dcat(State(app): State<App>) -> Response {
    let base = app.public_url();
    match app.commons().public_catalog(&base).await {
        Ok(catalog) => json_response("application/ld+json", catalog.to_string()),
        Err(error) => crate::problem::Problem::from_app(&error, domain::Locale::ZhCn).into_response(),
    }
}

fn json_response(content_type: &'static str, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn public_file(State(app): State<App>, viewer: Viewer, Path(file): Path<String>) -> Response {
    let anonymous = Context::anonymous(viewer.ctx.locale);
    let result = if let Some(name) = file.strip_suffix(".geojson") {
        app.commons().read_dataset(&anonymous, name, None, None).await.map(|v| json_response("application/geo+json", v.to_string()))
    } else if let Some(name) = file.strip_suffix(".csv") {
        app.commons().public_csv(name).await.map(|csv| {
            let mut response = (StatusCode::OK, csv).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            response
        })
    } else {
        Err(AppError::NotFound { kind: domain::policy::ResourceKind::Layer })
    };
    match result {
        Ok(response) => response,
        // A dataset that is not public is not found here, whatever it is.
        Err(AppError::Forbidden { .. } | AppError::NotFound { .. }) => {
            error_page(&viewer, &AppError::NotFound { kind: domain::policy::ResourceKind::Layer })
        }
        Err(error) => error_page(&viewer, &error),
    }
}

async fn public_live(State(app): State<App>, viewer: Viewer, Path(file): Path<String>) -> Response {
    let result = match file.as_str() {
        "warnings.geojson" => app.warnings().public_live_warnings(viewer.ctx.locale).await,
        "incidents.geojson" => app.incidents().public_live_incidents(viewer.ctx.locale).await,
        _ => Err(AppError::NotFound { kind: domain::policy::ResourceKind::Layer }),
    };
    match result {
        Ok(value) => json_response("application/geo+json", value.to_string()),
        Err(error) => error_page(&viewer, &error),
    }
}

/// A resident's self-service: who viewed my household's record. Step one asks for the phone, step two for the code
/// sent to it.
async fn my_data(viewer: Viewer) -> Response {
    render("resident.html", &viewer, "public", context! { step => "phone", errors => Vec::<Value>::new() })
}

async fn my_data_code(State(app): State<App>, viewer: Viewer, headers: axum::http::HeaderMap, body: Bytes) -> Response {
    if !super::pages::same_origin(&headers) {
        return forbidden_form(&viewer);
    }
    let form = FormData::parse(&body);
    let phone = form.text("phone").unwrap_or_default();
    match app.commons().request_resident_code(&phone, viewer.ctx.locale).await {
        Ok(()) => render("resident.html", &viewer, "public", context! { step => "code", phone => phone, errors => Vec::<Value>::new() }),
        Err(error @ AppError::Invalid(_)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "resident.html",
            &viewer,
            "public",
            context! { step => "phone", phone => phone, errors => errors_of(&error, viewer.ctx.locale) },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}

async fn my_data_view(State(app): State<App>, viewer: Viewer, headers: axum::http::HeaderMap, body: Bytes) -> Response {
    if !super::pages::same_origin(&headers) {
        return forbidden_form(&viewer);
    }
    let form = FormData::parse(&body);
    let (phone, code) = (form.text("phone").unwrap_or_default(), form.text("code").unwrap_or_default());
    let zone = zone(&app);
    match app.commons().resident_accesses(&phone, &code).await {
        Ok(list) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|a| context! { at => local_time(&a.at, &zone), actor => a.actor.clone(), purpose => a.purpose.clone(), incident => a.incident.clone() })
                .collect();
            render("resident.html", &viewer, "public", context! { step => "list", accesses => rows, errors => Vec::<Value>::new() })
        }
        Err(error @ AppError::Invalid(_)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "resident.html",
            &viewer,
            "public",
            context! { step => "code", phone => phone, errors => errors_of(&error, viewer.ctx.locale) },
        ),
        Err(error) => error_page(&viewer, &error),
    }
}
