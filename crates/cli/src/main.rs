//! The `gridline` binary: a thin command line over `app` and `server`.
//!
//! Every subcommand opens the store the same way (embedded SQLite in the data directory, or PostgreSQL with
//! `--database`), and operator actions run as the `cli:<user>` actor, still audited.

#![allow(clippy::print_stdout)]

mod audit_cmd;
mod backup_cmd;
mod cap_cmd;
mod config;
mod demo;
mod output;
mod simulate;
mod spatial_cmd;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::{App, Context};
use clap::{Args, Parser, Subcommand};
use domain::Locale;

use crate::config::Settings;
use crate::output::say;

/// Gridline: the grassroots emergency operations platform.
#[derive(Debug, Parser)]
#[command(name = "gridline", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file (default: ./gridline.toml if present).
    #[arg(long, global = true, env = "GRIDLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the embedded database and other data live (default: ./gridline-data).
    #[arg(long, global = true, env = "GRIDLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL at this URL instead of the embedded SQLite database.
    #[arg(long, global = true, env = "GRIDLINE_DATABASE_URL")]
    pub database: Option<String>,
    /// Language of messages: zh-CN or en (default: from LANG).
    #[arg(long, global = true, env = "GRIDLINE_LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Take a consistent copy of the database while Gridline serves (SQLite: a checked copy; PostgreSQL: pg_dump).
    Backup {
        /// Where to write it (never overwritten).
        file: PathBuf,
    },
    /// Bring a backup back into a fresh data directory (or an empty PostgreSQL database given with --database).
    Restore {
        /// The backup.
        file: PathBuf,
    },
    /// Check the audit log and its signed anchors.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Import data.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Travel time by road between points of an OpenStreetMap extract, with optional closures.
    Route(spatial_cmd::RouteArgs),
    /// Count (and list) the points of a CSV file inside an area.
    Targets(spatial_cmd::TargetsArgs),
    /// CAP 1.2 alerts: validate, convert to and from JSON, wrap in and unwrap from EDXL-DE 2.0.
    #[command(subcommand)]
    Cap(cap_cmd::CapCommand),
    /// Build a demo city from a real OpenStreetMap extract (Porto, built in) with synthetic people, households and
    /// resources, and serve it (data in ./gridline-demo unless --data-dir is given).
    Demo(DemoArgs),
    /// Run a drill on a fresh copy of the demo city and measure the response, beside a model of the same events
    /// without integration (shipped scenarios: rainstorm, typhoon, gas-leak; or a scenario file).
    Simulate(simulate::SimulateArgs),
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "GRIDLINE_BIND")]
    bind: Option<String>,
    /// Delete the demo's data and build it again.
    #[arg(long)]
    reset: bool,
    /// Another OpenStreetMap extract (.osm.pbf, .osm or .osm.gz) instead of the built-in Porto extract.
    #[arg(long)]
    osm: Option<PathBuf>,
    /// Seed of the synthetic data: the same seed gives the same demo.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Build the demo (if needed), print its accounts and exit without serving.
    #[arg(long)]
    build_only: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRIDLINE_BIND")]
    bind: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account (the password is read from standard input with --password-stdin, else generated).
    Add {
        /// Login name.
        username: String,
        /// Role to grant.
        #[arg(long)]
        role: Option<String>,
        /// Jurisdiction code of the role's scope.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Organization code the role acts for.
        #[arg(long)]
        organization: Option<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (read from standard input with --password-stdin, else generated).
    Passwd {
        /// Login name.
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Grant a role.
    Grant {
        /// Login name.
        username: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Jurisdiction code of the role's scope.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Organization code.
        #[arg(long)]
        organization: Option<String>,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for an account and print it (once).
    Create {
        /// Login name of the account the token acts as.
        username: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Days until it expires.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import jurisdiction boundaries from a GeoJSON file.
    Boundaries(BoundariesArgs),
    /// Import a GeoJSON FeatureCollection as a map layer (created, or updated by feature id).
    Layer(LayerArgs),
    /// Read an OpenStreetMap extract (.osm.pbf, .osm, .osm.gz) and report its road graph, buildings, facilities,
    /// water and boundaries.
    Osm(spatial_cmd::ImportOsmArgs),
    /// Import households (and the vulnerable-resident register) from a CSV file with a header line; columns:
    /// code, grid_code, address, lon, lat, residents, phone, email, language, vulnerable_needs, vulnerable_consent.
    Households(HouseholdsArgs),
}

#[derive(Debug, Args)]
struct HouseholdsArgs {
    /// The CSV file (UTF-8).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct LayerArgs {
    /// A GeoJSON FeatureCollection of points, lines or polygons.
    file: PathBuf,
    /// The layer's name in URLs (letters, digits, - _ .).
    #[arg(long)]
    name: String,
    /// The layer's title in Chinese.
    #[arg(long)]
    title_zh: String,
    /// The layer's title in English.
    #[arg(long)]
    title_en: Option<String>,
    /// public (default), internal, restricted or confidential.
    #[arg(long)]
    classification: Option<String>,
    /// Code of the owning organization.
    #[arg(long)]
    organization: Option<String>,
    /// Code of the jurisdiction the layer belongs to.
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BoundariesArgs {
    /// A GeoJSON FeatureCollection (or Feature) of Polygon/MultiPolygon boundaries.
    file: PathBuf,
    /// Level of every feature: city, district, sub_district, community, grid.
    #[arg(long)]
    level: String,
    /// Code of the parent jurisdiction of every feature.
    #[arg(long)]
    parent: Option<String>,
    /// Property holding the code.
    #[arg(long)]
    code_property: Option<String>,
    /// Property holding the Chinese name.
    #[arg(long)]
    name_property: Option<String>,
    /// Property holding the English name.
    #[arg(long)]
    name_en_property: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if matches!(cli.command, Command::Demo(_)) && cli.global.data_dir.is_none() {
        cli.global.data_dir = Some(PathBuf::from(demo::DEFAULT_DIR));
    }
    let settings = match Settings::load(&cli.global) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("gridline: {error:#}");
            return ExitCode::from(2);
        }
    };
    init_tracing(matches!(cli.command, Command::Serve(_) | Command::Demo(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gridline: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gridline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(serving: bool) {
    let default = if serving { "info,sqlx=warn,tower_http=warn" } else { "warn" };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("GRIDLINE_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub(crate) async fn open_app(settings: &Settings) -> anyhow::Result<App> {
    let store = store::Store::open(store::Options::new(settings.location.clone()))
        .await
        .with_context(|| format!("cannot open the database {:?}", settings.location))?;
    Ok(App::new(store, Arc::new(app::SystemClock), settings.app.clone()))
}

pub(crate) fn operator_context(locale: Locale) -> Context {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "operator".into());
    Context::system(&user, locale)
}

fn read_password(from_stdin: bool) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(None);
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read the password from standard input")?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
}

pub(crate) fn app_error(error: app::AppError, locale: Locale) -> anyhow::Error {
    match &error {
        // The operator at the console may see what went wrong inside.
        app::AppError::Internal(detail) | app::AppError::Unavailable(detail) => anyhow::anyhow!("{} ({detail})", error.message(locale)),
        _ => anyhow::anyhow!(error.message(locale)),
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    let locale = settings.locale;
    match command {
        Command::Serve(args) => serve(settings, args.bind).await,
        Command::Simulate(args) => simulate::run(args, locale).await,
        Command::Demo(args) => {
            let bind = args.bind.clone();
            if !demo::prepare(&settings, &args).await? {
                return Ok(ExitCode::FAILURE);
            }
            if args.build_only { Ok(ExitCode::SUCCESS) } else { serve(settings, bind).await }
        }
        Command::Migrate => {
            let app = open_app(&settings).await?;
            say(locale, "cli.migrated", &[("version", store::latest_version().to_string())]);
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => {
            let app = open_app(&settings).await?;
            let result = user(&app, command, locale).await;
            app.store().close().await;
            result
        }
        Command::Token(TokenCommand::Create { username, name, expires_in_days }) => {
            let app = open_app(&settings).await?;
            let ctx = operator_context(locale);
            let account = find_account(&app, &username, locale).await?;
            let created = app
                .access()
                .create_api_token(&ctx, app::access::NewApiToken { name, expires_in_days, account_id: Some(account) })
                .await
                .map_err(|e| app_error(e, locale))?;
            println!("{}", created.token);
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(command) => audit_cmd::run(command, &settings).await,
        Command::Backup { file } => backup_cmd::backup(&settings, &file).await,
        Command::Restore { file } => backup_cmd::restore(&settings, &file).await,
        Command::Import(ImportCommand::Boundaries(args)) => {
            let app = open_app(&settings).await?;
            let result = import_boundaries(&app, args, locale).await;
            app.store().close().await;
            result
        }
        // The geo engine's commands work on files and need no database.
        Command::Route(args) => spatial_cmd::route(args),
        Command::Targets(args) => spatial_cmd::targets(args),
        Command::Cap(command) => {
            let language = match locale {
                Locale::ZhCn => cap::Language::ZhCn,
                Locale::En => cap::Language::En,
            };
            match command {
                cap_cmd::CapCommand::Validate(args) => cap_cmd::validate(args, language),
                cap_cmd::CapCommand::Convert(args) => cap_cmd::convert(args, language),
            }
        }
        Command::Import(ImportCommand::Osm(args)) if args.store => {
            let (code, data) = spatial_cmd::import_osm_data(&args)?;
            let app = open_app(&settings).await?;
            let ctx = operator_context(locale);
            for (name, report) in app.commons().import_osm_datasets(&ctx, &data, None).await.map_err(|e| app_error(e, locale))? {
                say(
                    locale,
                    "cli.layer_stored",
                    &[
                        ("layer", name.to_string()),
                        ("inserted", report.inserted.to_string()),
                        ("updated", report.updated.to_string()),
                        ("unchanged", report.unchanged.to_string()),
                        ("rejected", report.rejected.len().to_string()),
                    ],
                );
                for refused in &report.rejected {
                    say(
                        locale,
                        "cli.layer_feature_rejected",
                        &[
                            ("layer", name.to_string()),
                            ("index", refused.index.to_string()),
                            ("field", refused.field.clone().unwrap_or_default()),
                            ("reason", refused.message.clone()),
                        ],
                    );
                }
            }
            app.store().close().await;
            Ok(code)
        }
        Command::Import(ImportCommand::Osm(args)) => spatial_cmd::import_osm(args),
        Command::Import(ImportCommand::Households(args)) => {
            let app = open_app(&settings).await?;
            let result = import_households(&app, &args.file, locale).await;
            app.store().close().await;
            result
        }
        Command::Import(ImportCommand::Layer(args)) => {
            let app = open_app(&settings).await?;
            let result = import_layer(&app, args, locale).await;
            app.store().close().await;
            result
        }
    }
}

async fn import_households(app: &App, file: &std::path::Path, locale: Locale) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
    let ctx = app::Context::system("import", locale);
    let report = app.registry().import_households(&ctx, &text).await.map_err(|e| app_error(e, locale))?;
    for rejected in &report.rejected {
        eprintln!("{}:{}: {}: {}", file.display(), rejected.line, rejected.field, rejected.message);
    }
    say(
        locale,
        "cli.households_imported",
        &[
            ("lines", report.lines.to_string()),
            ("imported", report.imported.to_string()),
            ("vulnerable", report.vulnerable.to_string()),
            ("rejected", report.rejected.len().to_string()),
        ],
    );
    Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn serve(settings: Settings, bind: Option<String>) -> anyhow::Result<ExitCode> {
    let locale = settings.locale;
    let bind = bind.unwrap_or(settings.bind.clone());
    let app = open_app(&settings).await?;
    if let Some((username, password)) = app.access().ensure_first_admin().await.map_err(|e| app_error(e, locale))? {
        say(locale, "cli.first_admin", &[("username", username), ("password", password)]);
    }
    app.incidents().ensure_shipped_plans().await.map_err(|e| app_error(e, locale))?;
    app.access().prepare_sign_in().await.map_err(|e| app_error(e, locale))?;
    // The audit signing key must be usable before anything is served: a missing key is made, a key others can
    // read is refused.
    if let Some(dir) = app.audit().audit_key_dir() {
        app::audit::open_or_create_key(dir).map_err(|e| app_error(e, locale))?;
    }
    let listener = tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    app.set_listening_address(address, &hostname());
    say(locale, "cli.database", &[("database", settings.describe_location())]);
    say(locale, "cli.listening", &[("url", format!("http://{address}"))]);
    let router = server::router(app.clone());
    // Background work: the delivery worker (outbox → SMS, e-mail, webhooks) and escalation (expiry, door-knocks).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker_name = format!("{}-{}", hostname(), std::process::id());
    let delivery = tokio::spawn({
        let (app, stopped) = (app.clone(), stopped.clone());
        async move { app.warnings().run_delivery_worker(worker_name, stopped).await }
    });
    let escalation = tokio::spawn({
        let (app, stopped) = (app.clone(), stopped.clone());
        async move { app.run_escalation_worker(std::time::Duration::from_secs(15), stopped).await }
    });
    let feeds = tokio::spawn({
        let (app, stopped) = (app.clone(), stopped.clone());
        async move { app.warnings().run_feed_pollers(stopped).await }
    });
    let anchoring = tokio::spawn({
        let (app, stopped) = (app.clone(), stopped.clone());
        async move { app.audit().run_audit_anchoring(stopped).await }
    });
    let mqtt = tokio::spawn({
        let (app, config) = (app.clone(), settings.app.monitoring.clone());
        async move { app.monitoring().run_mqtt_ingest(config, stopped).await }
    });
    server::serve(listener, router, shutdown_signal()).await?;
    say(locale, "cli.shutting_down", &[]);
    let _ = stop.send(true);
    // The delivery round in flight finishes and records its outcomes before the store closes.
    let _ = tokio::join!(delivery, escalation, feeds, mqtt, anchoring);
    app.store().close().await;
    Ok(ExitCode::SUCCESS)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "gridline".into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

async fn find_account(app: &App, username: &str, locale: Locale) -> anyhow::Result<i64> {
    let mut reader = app.store().reader().await?;
    match store::accounts::get_account_by_username(&mut reader.conn(), &username.to_ascii_lowercase()).await? {
        Some(account) => Ok(account.id),
        None => Err(app_error(app::AppError::NotFound { kind: domain::policy::ResourceKind::Account }, locale)),
    }
}

async fn grant_input(
    app: &App,
    role: String,
    jurisdiction: Option<String>,
    organization: Option<String>,
    locale: Locale,
) -> anyhow::Result<app::access::GrantInput> {
    let jurisdiction_id = match jurisdiction {
        Some(code) => Some(
            app.registry()
                .find_jurisdiction_by_code(&code)
                .await
                .map_err(|e| app_error(e, locale))?
                .ok_or_else(|| app_error(domain::Invalid::new("jurisdiction", domain::InvalidReason::NotFound).into(), locale))?
                .id,
        ),
        None => None,
    };
    let organization_id = match organization {
        Some(code) => Some(
            app.registry()
                .find_organization_by_code(&code)
                .await
                .map_err(|e| app_error(e, locale))?
                .ok_or_else(|| app_error(domain::Invalid::new("organization", domain::InvalidReason::NotFound).into(), locale))?
                .id,
        ),
        None => None,
    };
    Ok(app::access::GrantInput { role, jurisdiction_id, organization_id })
}

async fn user(app: &App, command: UserCommand, locale: Locale) -> anyhow::Result<ExitCode> {
    let ctx = operator_context(locale);
    match command {
        UserCommand::Add { username, role, jurisdiction, organization, display_name, password_stdin } => {
            let mut grants = Vec::new();
            if let Some(role) = role {
                grants.push(grant_input(app, role, jurisdiction, organization, locale).await?);
            }
            let password = read_password(password_stdin)?;
            let created = app
                .access()
                .create_account(&ctx, app::access::NewAccount { username, display_name, password, locale: None, member_id: None, grants })
                .await
                .map_err(|e| app_error(e, locale))?;
            say(locale, "cli.user_created", &[("username", created.account.username.clone())]);
            if let Some(password) = created.generated_password {
                println!("{password}");
            }
        }
        UserCommand::Passwd { username, password_stdin } => {
            let account = find_account(app, &username, locale).await?;
            let (password, generated) = match read_password(password_stdin)? {
                Some(password) => (password, false),
                None => (app::access::generate_password().map_err(|e| app_error(e, locale))?.expose().to_string(), true),
            };
            app.access()
                .change_password(&ctx, account, app::access::PasswordChange { current_password: None, new_password: password.clone() })
                .await
                .map_err(|e| app_error(e, locale))?;
            say(locale, "cli.password_changed", &[("username", username)]);
            if generated {
                println!("{password}");
            }
        }
        UserCommand::Grant { username, role, jurisdiction, organization } => {
            let account = find_account(app, &username, locale).await?;
            let grant = grant_input(app, role.clone(), jurisdiction, organization, locale).await?;
            app.access().add_grant(&ctx, account, grant).await.map_err(|e| app_error(e, locale))?;
            say(locale, "cli.granted", &[("username", username), ("role", role)]);
        }
        UserCommand::List => {
            let params = app::ListParams { limit: Some(500), ..app::ListParams::default() };
            let page = app.access().list_accounts(&ctx, &params).await.map_err(|e| app_error(e, locale))?;
            for account in page.items {
                let roles: Vec<String> = account.grants.iter().map(|g| g.role_label.clone()).collect();
                println!(
                    "{:>5}  {:<24} {:<24} {}{}",
                    account.id,
                    account.username,
                    account.display_name,
                    roles.join(", "),
                    if account.disabled { "  (disabled)" } else { "" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_boundaries(app: &App, args: BoundariesArgs, locale: Locale) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let geojson: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", args.file.display()))?;
    let level = domain::registry::JurisdictionLevel::parse("level", &args.level).map_err(|e| app_error(e.into(), locale))?;
    let options = app::registry::ImportOptions {
        level: Some(level),
        parent_code: args.parent,
        code_property: args.code_property,
        name_property: args.name_property,
        name_en_property: args.name_en_property,
    };
    let report = app.registry().import_boundaries(&operator_context(locale), &geojson, &options).await.map_err(|e| app_error(e, locale))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for rejected in &report.rejected {
            say(locale, "cli.import_rejected", &[("index", rejected.index.to_string()), ("message", rejected.message.clone())]);
        }
        say(
            locale,
            "cli.import_summary",
            &[
                ("imported", (report.created + report.updated + report.unchanged).to_string()),
                ("created", report.created.to_string()),
                ("updated", report.updated.to_string()),
                ("unchanged", report.unchanged.to_string()),
                ("rejected", report.rejected.len().to_string()),
            ],
        );
    }
    Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn import_layer(app: &App, args: LayerArgs, locale: Locale) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let geojson: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", args.file.display()))?;
    let organization_id = match args.organization {
        Some(code) => Some(
            app.registry()
                .find_organization_by_code(&code)
                .await
                .map_err(|e| app_error(e, locale))?
                .ok_or_else(|| app_error(domain::Invalid::new("organization", domain::InvalidReason::NotFound).into(), locale))?
                .id,
        ),
        None => None,
    };
    let jurisdiction_id = match args.jurisdiction {
        Some(code) => Some(
            app.registry()
                .find_jurisdiction_by_code(&code)
                .await
                .map_err(|e| app_error(e, locale))?
                .ok_or_else(|| app_error(domain::Invalid::new("jurisdiction", domain::InvalidReason::NotFound).into(), locale))?
                .id,
        ),
        None => None,
    };
    let input = app::commons::LayerImport {
        name: args.name,
        title_zh: args.title_zh,
        title_en: args.title_en,
        classification: args.classification,
        organization_id,
        jurisdiction_id,
    };
    let report = app.commons().import_layer(&operator_context(locale), input, &geojson).await.map_err(|e| app_error(e, locale))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for rejected in &report.rejected {
            say(locale, "cli.import_rejected", &[("index", rejected.index.to_string()), ("message", rejected.message.clone())]);
        }
        say(
            locale,
            "cli.layer_summary",
            &[
                ("features", report.features.to_string()),
                ("inserted", report.inserted.to_string()),
                ("updated", report.updated.to_string()),
                ("unchanged", report.unchanged.to_string()),
                ("rejected", report.rejected.len().to_string()),
            ],
        );
    }
    Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
