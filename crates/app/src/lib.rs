//! Gridline's use cases: every command and query that the HTTP server, the command line and the simulator
//! share. This is where authorization is enforced — once, by asking `domain::policy` before every read and
//! write — and where every change is paired with its event and its audit record in one write.
//!
//! What it owns: the [`App`] (configuration, clock, store), the caller's [`Context`], the wire-level input and
//! view types of the API (`serde` + `utoipa`), and the rules of each use case.
//! What it must never do: speak HTTP (status codes and headers belong to `server`), print (the CLI does), or
//! read the wall clock directly (time comes from [`Clock`]).

pub mod accounts;
pub mod audit;
pub mod audit_anchor;
pub mod auth;
pub mod clock;
pub mod context;
pub mod datasets;
mod dedupe;
pub mod demo;
pub mod error;
pub mod events;
pub mod households;
pub mod incidents;
pub mod layers;
mod locator;
pub mod monitoring;
pub mod mqtt;
pub mod osm_layers;
pub mod plans;
pub mod refusals;
pub mod registry;
pub mod tasks;
pub mod time;
mod util;
pub mod warnings;

use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::Context;
use domain::Locale;
pub use error::AppError;
pub use incidents::IncidentView;
use store::Store;
pub use util::{ListParams, Page};

/// Tunable settings of the application layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// How long a sign-in session lasts, in seconds.
    pub session_ttl_seconds: i64,
    /// The language used when a request names none Gridline speaks.
    pub default_locale: Locale,
    /// The time zone for dates shown to people (credential expiry) when a jurisdiction names none.
    pub default_timezone: String,
    /// Failed sign-ins per account and address (or per known device) before each further one must wait.
    pub login_failures_per_user: i64,
    /// Failed sign-ins per address across accounts (from devices not known to the account) before each further
    /// one must wait.
    pub login_failures_per_address: i64,
    /// The longest wait after failed sign-ins, in seconds (the wait doubles with each failure up to it).
    pub login_max_delay_seconds: i64,
    /// Failed sign-ins to one account from devices it does not know, across every address, before each further
    /// attempt from such a device must wait (a distributed guessing attack; the owner's known devices never wait).
    pub login_failures_per_account: i64,
    /// Warnings: identity, safety rails, escalation.
    pub warnings: warnings::WarningsConfig,
    /// Delivery channels and the delivery worker.
    pub delivery: warnings::DeliveryConfig,
    /// Monitoring: the MQTT broker readings come from.
    pub monitoring: monitoring::MonitoringConfig,
    /// The data commons: what stand-down purges.
    pub data: datasets::DataConfig,
    /// The audit log: where its anchors' signing key lives, and how often it signs.
    pub audit: audit_anchor::AuditConfig,
    /// Where people and other systems reach this Gridline (`https://gridline.example.gov.cn`): every absolute link
    /// it gives out (acknowledgement links, the Atom feed, the DCAT catalogue, Open311 discovery) starts with it.
    /// Default: the address `serve` listens on. Never taken from a request's `Host` header.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            // OWASP's recommended Argon2id setting: 19 MiB, 2 iterations, 1 lane.
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            session_ttl_seconds: 12 * 3600,
            default_locale: Locale::ZhCn,
            default_timezone: "Asia/Shanghai".into(),
            login_failures_per_user: 5,
            login_failures_per_address: 30,
            login_max_delay_seconds: 15 * 60,
            login_failures_per_account: 100,
            warnings: warnings::WarningsConfig::default(),
            delivery: warnings::DeliveryConfig::default(),
            monitoring: monitoring::MonitoringConfig::default(),
            data: datasets::DataConfig::default(),
            audit: audit_anchor::AuditConfig::default(),
            public_url: None,
        }
    }
}

impl Config {
    /// Settings for tests: cheap password hashing, everything else as in production.
    pub fn for_tests() -> Config {
        Config { argon2_memory_kib: 64, argon2_iterations: 1, ..Config::default() }
    }
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Config,
    warnings: warnings::Runtime,
    locator: locator::Locator,
    open_incidents: dedupe::OpenIncidents,
    /// The key of device cookies (see `auth`), read once from the settings.
    device_key: tokio::sync::OnceCell<Vec<u8>>,
    /// The address `serve` listens on, as a URL: the public URL when none is configured.
    listening_url: std::sync::OnceLock<String>,
    /// The counts of anonymous refusals (sampled, not each audited).
    refusals: refusals::RefusalSampler,
    /// The Argon2 hash an unknown username is verified against, made once with the configured parameters.
    dummy_hash: tokio::sync::OnceCell<String>,
}

/// The application: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl App {
    /// Builds the application over an opened store.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> App {
        App {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                warnings: warnings::Runtime::default(),
                locator: locator::Locator::default(),
                open_incidents: dedupe::OpenIncidents::default(),
                device_key: tokio::sync::OnceCell::new(),
                listening_url: std::sync::OnceLock::new(),
                refusals: refusals::RefusalSampler::default(),
                dummy_hash: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Records the address the server listens on (once), which is the public URL unless one is configured. An
    /// unspecified address (`0.0.0.0`, `::`) is named by the machine's host name.
    pub fn set_listening_address(&self, address: std::net::SocketAddr, host_name: &str) {
        let host = match address.ip() {
            ip if ip.is_unspecified() => host_name.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        let _ = self.inner.listening_url.set(format!("http://{host}:{}", address.port()));
    }

    /// Where people and other systems reach Gridline, without a trailing slash: `public_url` if configured, else
    /// the address the server listens on. Every absolute link Gridline gives out starts with it.
    pub fn public_url(&self) -> String {
        let config = self.config();
        config
            .public_url
            .clone()
            .or_else(|| config.warnings.public_url.clone())
            .or_else(|| self.inner.listening_url.get().cloned())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string()
    }

    /// Now, in Unix milliseconds UTC, from the application's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}

/// A fresh random key for a form (128 bits, hex): a form sent twice carries the same key, so it is taken once.
pub fn new_form_key() -> String {
    util::random_hex(16).unwrap_or_default()
}
