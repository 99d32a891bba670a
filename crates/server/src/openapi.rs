//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types.

use app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{accounts, datasets, events, incidents, layers, monitoring, registry, warnings};

/// The document's fixed parts.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gridline API",
        description = "The JSON API of Gridline, the grassroots emergency operations platform. Conventions: docs/API-DESIGN.md. Errors are application/problem+json with a stable `code`.",
        license(name = "Apache-2.0"),
    ),
    tags(
        (name = "registry", description = "Jurisdictions, organizations, members and teams"),
        (name = "auth", description = "Sign-in, accounts, roles and API tokens"),
        (name = "events", description = "The live event stream and the audit log"),
        (name = "layers", description = "Map layers and their features"),
        (name = "incidents", description = "Reports from every channel, incidents, plans, activation and the tasks of the responsibility matrix"),
        (name = "warnings", description = "Warnings (CAP 1.2 / GB/T 35965), delivery, acknowledgement, door-knock tasks and the household register"),
        (name = "monitoring", description = "Sensors, observations over HTTP (and MQTT), and the rules that act on them"),
        (name = "datasets", description = "The data commons: datasets, imports, sharing policies bound to incidents, access logs"),
        (name = "operations", description = "Health and readiness"),
    ),
    components(schemas(crate::problem::Problem)),
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Every API route with its documentation.
pub fn api_router() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(registry::list_jurisdictions, registry::create_jurisdiction))
        .routes(routes!(registry::import_jurisdictions))
        .routes(routes!(registry::get_jurisdiction, registry::update_jurisdiction, registry::delete_jurisdiction))
        .routes(routes!(registry::list_organizations, registry::create_organization))
        .routes(routes!(registry::get_organization, registry::update_organization, registry::delete_organization))
        .routes(routes!(registry::list_members, registry::create_member))
        .routes(routes!(registry::get_member, registry::update_member, registry::delete_member))
        .routes(routes!(registry::list_teams, registry::create_team))
        .routes(routes!(registry::get_team, registry::update_team, registry::delete_team))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::my_sessions))
        .routes(routes!(accounts::end_my_session))
        .routes(routes!(accounts::list_accounts, accounts::create_account))
        .routes(routes!(accounts::get_account, accounts::update_account))
        .routes(routes!(accounts::add_grant))
        .routes(routes!(accounts::remove_grant))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::list_tokens, accounts::create_token))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(layers::list_layers, layers::import_layer))
        .routes(routes!(layers::layer_features))
        .routes(routes!(warnings::list_warnings, warnings::ingest_warning))
        .routes(routes!(warnings::create_warning))
        .routes(routes!(warnings::get_warning, warnings::update_warning))
        .routes(routes!(warnings::approve_warning))
        .routes(routes!(warnings::issue_warning))
        .routes(routes!(warnings::cancel_warning))
        .routes(routes!(warnings::draft_update))
        .routes(routes!(warnings::preview_warning))
        .routes(routes!(warnings::warning_reach))
        .routes(routes!(warnings::warning_cap))
        .routes(routes!(warnings::ack_status, warnings::acknowledge))
        .routes(routes!(warnings::list_tasks))
        .routes(routes!(warnings::my_tasks))
        .routes(routes!(warnings::get_task))
        .routes(routes!(warnings::close_task))
        .routes(routes!(warnings::list_households))
        .routes(routes!(warnings::import_households))
        .routes(routes!(incidents::create_report))
        .routes(routes!(incidents::upload_media))
        .routes(routes!(incidents::import_hotline))
        .routes(routes!(incidents::list_incidents))
        .routes(routes!(incidents::get_incident, incidents::update_incident))
        .routes(routes!(incidents::change_status))
        .routes(routes!(incidents::incident_reports))
        .routes(routes!(incidents::incident_proposals))
        .routes(routes!(incidents::merge))
        .routes(routes!(incidents::split))
        .routes(routes!(incidents::activate))
        .routes(routes!(incidents::stand_down))
        .routes(routes!(incidents::escalate))
        .routes(routes!(incidents::upward_report))
        .routes(routes!(incidents::timeline))
        .routes(routes!(incidents::incident_tasks))
        .routes(routes!(incidents::reassign_task))
        .routes(routes!(incidents::task_progress))
        .routes(routes!(incidents::organization_tasks))
        .routes(routes!(incidents::list_plans, incidents::save_plan))
        .routes(routes!(incidents::plan_schema))
        .routes(routes!(incidents::get_plan))
        .routes(routes!(incidents::publish_plan))
        .routes(routes!(monitoring::create_sensor, monitoring::list_sensors))
        .routes(routes!(monitoring::get_sensor))
        .routes(routes!(monitoring::observations))
        .routes(routes!(monitoring::rejections))
        .routes(routes!(monitoring::save_rule, monitoring::list_rules))
        .routes(routes!(monitoring::rule_episodes))
        .routes(routes!(monitoring::sensor_series))
        .routes(routes!(monitoring::dry_run_rule))
        .routes(routes!(datasets::list_datasets))
        .routes(routes!(datasets::get_dataset, datasets::save_dataset))
        .routes(routes!(datasets::read_dataset, datasets::upsert_features))
        .routes(routes!(datasets::import_dataset))
        .routes(routes!(datasets::list_policies, datasets::create_policy))
        .routes(routes!(datasets::revoke_policy))
        .routes(routes!(datasets::access_log))
        .routes(routes!(events::events))
        .routes(routes!(events::audit))
        .routes(routes!(events::healthz))
        .routes(routes!(events::readyz))
}

/// The published OpenAPI document: what the handlers' annotations say, completed with what holds for every
/// operation and the annotations cannot state one by one:
/// - how callers authenticate (`securitySchemes`: a bearer API token, or the session cookie with the CSRF header for
///   writes), optional for the operations the public may use;
/// - every error is `application/problem+json`;
/// - the errors any operation can answer: 401 (a bad or expired credential), 403, 503 (the database is
///   unreachable); with path parameters also 400 and 404; with query parameters 400; with a request body 400
///   (malformed), 413, 415 and 422. Each answer an operation can give is documented, so a client (or a conformance
///   check such as schemathesis) finds no status or content type the document does not name.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut document = serde_json::to_value(openapi).unwrap_or(Value::Null);
    let problem = json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let describe = |status: &str| match status {
        "400" => "The request is malformed: a query or path parameter, or the JSON, could not be read",
        "401" => "Sign in, or the credential given is unknown, expired or revoked",
        "403" => "Not allowed for this caller (a refusal is audited)",
        "404" => "Not found, or not visible to this caller",
        "405" => "Method not allowed",
        "409" => "Conflict with the current state",
        "413" => "The request body is too large",
        "415" => "The request body's media type is not accepted",
        "422" => "A field is invalid; `field` names it",
        "428" => "The version you read is required",
        "429" => "Too many attempts; wait for Retry-After",
        "503" => "The database is unreachable; try again",
        _ => "An error",
    };
    if let Some(components) = document.get_mut("components").and_then(Value::as_object_mut) {
        components.insert(
            "securitySchemes".into(),
            json!({
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "gl_ API token",
                    "description": "An API token (`gridline token create` or the account page)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "gridline_session",
                    "description": "The session cookie set by POST /api/v1/sessions; writes must echo the CSRF token in X-CSRF-Token."},
            }),
        );
    }
    let schemas = document.pointer("/components/schemas").cloned().unwrap_or(Value::Null);
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return document };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        let path_has_parameters = path.contains('{');
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else { continue };
            let has_body = operation.contains_key("requestBody");
            let parameters = operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            let has_query = parameters.iter().any(|p| p.get("in").and_then(Value::as_str) == Some("query"));
            let health = matches!(path.as_str(), "/healthz" | "/readyz");
            let versioned = body_has_version(operation, &schemas)
                || parameters.iter().any(|p| matches!(p.get("name").and_then(Value::as_str), Some("version" | "If-Match")));
            // Anyone may call; a credential, when given, must be valid.
            if !health {
                operation.insert("security".into(), json!([{}, {"bearer": []}, {"session": []}]));
            }
            let responses = operation.entry("responses").or_insert_with(|| json!({})).as_object_mut().expect("responses are an object");
            // Error documents are problem+json, whatever the annotation said.
            for (status, response) in responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if is_error && let Some(response) = response.as_object_mut() {
                    response.insert("content".into(), problem.clone());
                }
            }
            let mut statuses: Vec<&str> = Vec::new();
            if !health {
                statuses.extend(["401", "403", "503"]);
            }
            if path_has_parameters {
                statuses.extend(["400", "404"]);
            }
            if has_query {
                statuses.extend(["400", "422"]);
            }
            if has_body {
                statuses.extend(["400", "413", "415", "422"]);
            }
            // Changes to a versioned record need the version read (in the body or If-Match).
            if path_has_parameters && versioned {
                statuses.extend(["409", "428"]);
            }
            if method != "get" && !health && path.starts_with("/api/v1/sessions") {
                statuses.push("429");
            }
            for status in statuses {
                responses.entry(status).or_insert_with(|| json!({"description": describe(status), "content": problem.clone()}));
            }
        }
    }
    document
}

/// Whether an operation's JSON request body has a `version` property (a change to a versioned record).
fn body_has_version(operation: &serde_json::Map<String, serde_json::Value>, schemas: &serde_json::Value) -> bool {
    let Some(schema) = operation.get("requestBody").and_then(|body| body.pointer("/content/application~1json/schema")) else {
        return false;
    };
    let schema = match schema.get("$ref").and_then(serde_json::Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => schemas.get(name).unwrap_or(schema),
        None => schema,
    };
    schema.pointer("/properties/version").is_some()
}
