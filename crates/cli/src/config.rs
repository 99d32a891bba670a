//! Settings, layered: built-in defaults, then `gridline.toml`, then environment variables, then command-line
//! flags (clap already merges the last two: a flag beats its `GRIDLINE_*` variable).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use domain::Locale;
use store::Location;

use crate::GlobalArgs;

/// The file format of `gridline.toml`. Every key is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    /// Data directory.
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL.
    database_url: Option<String>,
    /// Address to listen on.
    bind: Option<String>,
    /// Where people and other systems reach this Gridline (the start of every absolute link it gives out).
    public_url: Option<String>,
    /// Default language of the API and messages.
    default_locale: Option<String>,
    /// Default time zone.
    timezone: Option<String>,
    /// Sign-in session lifetime in hours.
    session_ttl_hours: Option<i64>,
    /// Argon2id memory cost in KiB.
    argon2_memory_kib: Option<u32>,
    /// Argon2id iterations.
    argon2_iterations: Option<u32>,
    /// Warnings: identity, safety rails, escalation, feeds.
    warnings: Option<app::warnings::WarningsConfig>,
    /// Delivery channels.
    delivery: Option<app::warnings::DeliveryConfig>,
    /// Monitoring: the MQTT broker.
    monitoring: Option<app::monitoring::MonitoringConfig>,
    /// The data commons: the purge of personal data at stand-down.
    data: Option<app::commons::DataConfig>,
    /// The audit log: the anchors' signing key and interval.
    audit: Option<app::audit::AuditConfig>,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the data lives.
    pub location: Location,
    /// The data directory (the SQLite database, the audit key directory by default).
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub bind: String,
    /// Language of command-line messages.
    pub locale: Locale,
    /// Settings of the application layer.
    pub app: app::Config,
}

impl Settings {
    /// Resolves the settings from the layers.
    pub fn load(args: &GlobalArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new("gridline.toml").exists() => read_file(Path::new("gridline.toml"))?,
            None => FileSettings::default(),
        };
        let data_dir = args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("gridline-data"));
        let location = match args.database.clone().or(file.database_url) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Location::Postgres(url),
            Some(other) => {
                anyhow::bail!("--database must be a postgres:// URL, not {other:?}; without it Gridline uses SQLite in the data directory")
            }
            None => Location::SqliteFile(data_dir.join("gridline.db")),
        };
        let mut app = app::Config::default();
        if let Some(tag) = &file.default_locale {
            app.default_locale = Locale::from_tag(tag).with_context(|| format!("default_locale {tag:?}: use zh-CN or en"))?;
        }
        if let Some(timezone) = file.timezone {
            anyhow::ensure!(app::time::is_known_timezone(&timezone), "timezone {timezone:?} is not an IANA time zone");
            app.default_timezone = timezone;
        }
        if let Some(hours) = file.session_ttl_hours {
            anyhow::ensure!((1..=24 * 30).contains(&hours), "session_ttl_hours must be between 1 and 720");
            app.session_ttl_seconds = hours * 3600;
        }
        if let Some(memory) = file.argon2_memory_kib {
            app.argon2_memory_kib = memory;
        }
        if let Some(iterations) = file.argon2_iterations {
            app.argon2_iterations = iterations;
        }
        if let Some(warnings) = file.warnings {
            anyhow::ensure!(
                cap::gbt35965::IssuerCode::parse(&warnings.issuer_code).is_ok(),
                "[warnings] issuer_code {:?} is not a GB/T 35965 issuer code (14 digits starting with a province code)",
                warnings.issuer_code
            );
            anyhow::ensure!(
                !warnings.sender.is_empty() && !warnings.sender.contains([' ', ',', '<', '&']),
                "[warnings] sender may not be empty or contain spaces, commas, < or &"
            );
            app.warnings = warnings;
        }
        if let Some(delivery) = file.delivery {
            if let Some(url) = &delivery.sms_gateway_url {
                anyhow::ensure!(
                    app::transport::HttpUrl::parse(url).is_some(),
                    "[delivery] sms_gateway_url must be an http:// or https:// URL"
                );
            }
            app.delivery = delivery;
        }
        if let Some(data) = file.data {
            app.data = data;
        }
        if let Some(audit) = file.audit {
            if let Some(url) = &audit.anchor_url {
                anyhow::ensure!(app::transport::HttpUrl::parse(url).is_some(), "[audit] anchor_url must be an http:// or https:// URL");
            }
            app.audit = audit;
        }
        if let Some(url) = std::env::var("GRIDLINE_PUBLIC_URL").ok().filter(|u| !u.is_empty()).or(file.public_url) {
            anyhow::ensure!(
                (url.starts_with("http://") || url.starts_with("https://")) && !url.contains(char::is_whitespace),
                "public_url must be an http:// or https:// URL, not {url:?}"
            );
            app.public_url = Some(url);
        }
        if app.audit.key_dir.is_none() {
            app.audit.key_dir = Some(data_dir.join("audit"));
        }
        if let Some(monitoring) = file.monitoring {
            if let Some(url) = &monitoring.mqtt_url {
                anyhow::ensure!(url.starts_with("mqtt://") || url.starts_with("tcp://"), "[monitoring] mqtt_url must be an mqtt:// URL");
            }
            anyhow::ensure!(!monitoring.mqtt_client_id.trim().is_empty(), "[monitoring] mqtt_client_id may not be empty");
            app.monitoring = monitoring;
        }
        if let Ok(url) = std::env::var("GRIDLINE_MQTT_URL")
            && !url.is_empty()
        {
            app.monitoring.mqtt_url = Some(url);
        }
        if let Ok(id) = std::env::var("GRIDLINE_MQTT_CLIENT_ID")
            && !id.trim().is_empty()
        {
            app.monitoring.mqtt_client_id = id;
        }
        let locale = args
            .lang
            .as_deref()
            .and_then(Locale::from_tag)
            .or_else(|| std::env::var("LANG").ok().as_deref().and_then(Locale::from_tag))
            .unwrap_or(Locale::En);
        Ok(Settings { location, data_dir, bind: file.bind.unwrap_or_else(|| "127.0.0.1:8080".into()), locale, app })
    }

    /// Where the data lives, for messages (passwords redacted).
    pub fn describe_location(&self) -> String {
        match &self.location {
            Location::SqliteFile(path) => format!("SQLite {}", path.display()),
            Location::Postgres(url) => format!("PostgreSQL {}", store::redact_url(url)),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid Gridline configuration", path.display()))
}
