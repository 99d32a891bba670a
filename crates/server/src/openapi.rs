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
