//! `gridline demo`: a demo city built from a real OpenStreetMap extract, ready in one command.
//!
//! On SQLite the demo is built into a staging file next to the database and renamed into place only when it is
//! complete, so an interrupted build leaves nothing half-made. The data directory carries a marker file; a
//! directory without it is never deleted by `--reset`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use app::demo::DemoSummary;
use domain::Locale;
use store::Location;

use crate::config::Settings;
use crate::output::say;
use crate::{DemoArgs, app_error, open_app};

/// Where the demo lives unless `--data-dir` says otherwise.
pub const DEFAULT_DIR: &str = "gridline-demo";
/// The file that marks a data directory as the demo's.
const MARKER: &str = "GRIDLINE-DEMO";

/// Builds the demo if the data directory or database has none yet, and prints its accounts. `false` when it
/// refused (the reason printed).
pub async fn prepare(settings: &Settings, args: &DemoArgs) -> anyhow::Result<bool> {
    let locale = settings.locale;
    let summary = match &settings.location {
        Location::SqliteFile(database) => {
            let dir = database.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
            let marker = dir.join(MARKER);
            let occupied = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
            if occupied && !marker.exists() {
                eprintln!("{}", domain::i18n::format(locale, "cli.demo_not_demo_dir", &[("dir", dir.display().to_string())]));
                return Ok(false);
            }
            if args.reset {
                remove_database(database)?;
            }
            let existing = if database.exists() { summary_of(settings).await? } else { None };
            match existing {
                Some(summary) => {
                    say(
                        locale,
                        "cli.demo_reused",
                        &[("dir", dir.display().to_string()), ("city", city(&summary, locale)), ("seed", summary.seed.to_string())],
                    );
                    summary
                }
                None => {
                    // No finished demo (none yet, or an interrupted build): build it afresh beside the database.
                    remove_database(database)?;
                    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                    std::fs::write(&marker, "This directory holds a Gridline demo; `gridline demo --reset` rebuilds it.\n")
                        .with_context(|| format!("cannot write {}", marker.display()))?;
                    let staging = database.with_extension("db.building");
                    remove_database(&staging)?;
                    let mut staging_settings = settings.clone();
                    staging_settings.location = Location::SqliteFile(staging.clone());
                    let summary = build(&staging_settings, args).await?;
                    for suffix in ["", "-wal", "-shm"] {
                        let from = PathBuf::from(format!("{}{suffix}", staging.display()));
                        if from.exists() {
                            std::fs::rename(&from, format!("{}{suffix}", database.display()))
                                .with_context(|| format!("cannot move {} into place", from.display()))?;
                        }
                    }
                    summary
                }
            }
        }
        Location::Postgres(_) => {
            if args.reset {
                eprintln!("{}", domain::i18n::format(locale, "cli.demo_reset_postgres", &[]));
                return Ok(false);
            }
            match summary_of(settings).await? {
                Some(summary) => summary,
                None => {
                    let app = open_app(settings).await?;
                    let empty = app.is_empty_installation().await.map_err(|e| app_error(e, locale))?;
                    app.store().close().await;
                    if !empty {
                        eprintln!("{}", domain::i18n::format(locale, "cli.demo_not_empty", &[]));
                        return Ok(false);
                    }
                    build(settings, args).await?
                }
            }
        }
    };
    say(locale, "cli.demo_accounts", &[]);
    for account in &summary.accounts {
        let role = if locale == Locale::ZhCn { &account.role_zh } else { &account.role_en };
        say(
            locale,
            "cli.demo_account",
            &[("role", role.clone()), ("username", account.username.clone()), ("password", account.password.clone())],
        );
    }
    let bind = args.bind.clone().unwrap_or_else(|| settings.bind.clone());
    let loopback = bind.starts_with("127.") || bind.starts_with("localhost") || bind.starts_with("[::1]");
    if !loopback && !args.build_only {
        eprintln!("{}", domain::i18n::format(locale, "cli.demo_public_bind", &[("bind", bind)]));
    }
    Ok(true)
}

fn city(summary: &DemoSummary, locale: Locale) -> String {
    if locale == Locale::ZhCn { summary.city_zh.clone() } else { summary.city_en.clone() }
}

async fn summary_of(settings: &Settings) -> anyhow::Result<Option<DemoSummary>> {
    let app = open_app(settings).await?;
    let summary = app.demo_summary().await.map_err(|e| app_error(e, settings.locale));
    app.store().close().await;
    summary
}

fn remove_database(database: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", database.display()));
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

async fn build(settings: &Settings, args: &DemoArgs) -> anyhow::Result<DemoSummary> {
    let locale = settings.locale;
    let started = Instant::now();
    let (source, name) = match &args.osm {
        Some(path) => {
            let stem = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('.').next()).unwrap_or("City");
            let mut name: Vec<char> = stem.chars().collect();
            if let Some(first) = name.first_mut() {
                *first = first.to_ascii_uppercase();
            }
            (path.display().to_string(), name.into_iter().collect::<String>())
        }
        None => ("porto.osm.pbf (© OpenStreetMap contributors, ODbL)".to_string(), "Porto".to_string()),
    };
    say(locale, "cli.demo_building", &[("source", source), ("seed", args.seed.to_string())]);
    let data = match &args.osm {
        Some(path) => spatial::osm::import_path(path, &mut |_| {}),
        None => spatial::osm::import_pbf(app::demo::PORTO_PBF, &mut |_| {}),
    }
    .map_err(|error| anyhow::anyhow!(if locale == Locale::ZhCn { error.message_zh() } else { error.to_string() }))?
    .0;
    let app = open_app(settings).await?;
    let mut progress = |step: &str| {
        let text = domain::i18n::format(locale, &format!("cli.demo_step_{step}"), &[]);
        say(locale, "cli.demo_step", &[("step", text)]);
    };
    let built = app.build_demo(&data, &name, args.seed, &mut progress).await;
    app.store().close().await;
    let summary = built.map_err(|e| app_error(e, locale))?;
    say(
        locale,
        "cli.demo_built",
        &[
            ("seconds", format!("{:.1}", started.elapsed().as_secs_f64())),
            ("jurisdictions", summary.jurisdictions.to_string()),
            ("organizations", summary.organizations.to_string()),
            ("members", summary.members.to_string()),
            ("households", summary.households.to_string()),
            ("vulnerable", summary.vulnerable.to_string()),
            ("facilities", summary.facilities.to_string()),
            ("shelters", summary.shelters.to_string()),
            ("depots", summary.depots.to_string()),
            ("sensors", summary.sensors.to_string()),
            ("plans", summary.plans.to_string()),
        ],
    );
    Ok(summary)
}
