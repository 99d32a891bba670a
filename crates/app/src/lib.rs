//! Gridline's use cases: every command and query that the HTTP server, the command line and the simulator
//! share. This is where authorization is enforced — once, by asking `domain::policy` before every read and
//! write — and where every change is paired with its event and its audit record in one write.
//!
//! What it owns: the [`App`] (configuration, clock, store), the caller's [`Context`], the wire-level input and
//! view types of the API (`serde` + `utoipa`), and the rules of each use case.
//! What it must never do: speak HTTP (status codes and headers belong to `server`), print (the CLI does), or
//! read the wall clock directly (time comes from [`Clock`]).

// The contexts, in dependency order (a tidy test holds them to it).
pub mod access;
pub mod audit;
pub mod commons;
pub mod events;
pub mod incidents;
pub mod monitoring;
pub mod registry;
pub mod warnings;

// The kernel and what every context shares.
pub mod clock;
pub mod context;
pub mod error;
mod kernel;
pub mod refusals;
pub mod time;
pub mod transport;
mod util;

// Above the contexts: the periodic beat and the demonstration.
mod beat;
pub mod demo;

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
    pub data: commons::DataConfig,
    /// The audit log: where its anchors' signing key lives, and how often it signs.
    pub audit: audit::AuditConfig,
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
            data: commons::DataConfig::default(),
            audit: audit::AuditConfig::default(),
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
struct Contexts {
    kernel: kernel::Kernel,
    access: access::Access,
    audit: audit::Audit,
    events: events::Events,
    registry: registry::Registry,
    incidents: incidents::Incidents,
    warnings: warnings::Warnings,
    commons: commons::Commons,
    monitoring: monitoring::Monitoring,
}

/// The application: every context, built once over one kernel; cheap to clone, shared by every request. The
/// server, the command line and the drill reach a use case through its context: `app.warnings().issue_warning(…)`.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Contexts>,
}

impl App {
    /// Builds the application over an opened store: the kernel, then each context with the contexts it uses
    /// (the order is the dependency order; no context reaches one built after it).
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> App {
        let kernel = kernel::Kernel::new(store, clock, config);
        let access = access::Access::new(kernel.clone());
        let audit = audit::Audit::new(kernel.clone());
        let events = events::Events { kernel: kernel.clone() };
        let registry = registry::Registry::new(kernel.clone());
        let incidents = incidents::Incidents::new(kernel.clone(), registry.clone());
        let warnings = warnings::Warnings::new(kernel.clone(), registry.clone(), incidents.clone());
        let commons = commons::Commons::new(kernel.clone(), registry.clone(), incidents.clone(), warnings.clone());
        let monitoring = monitoring::Monitoring::new(kernel.clone(), registry.clone(), incidents.clone(), warnings.clone());
        App { inner: Arc::new(Contexts { kernel, access, audit, events, registry, incidents, warnings, commons, monitoring }) }
    }

    /// Accounts, sign-in, sessions and tokens.
    pub fn access(&self) -> &access::Access {
        &self.inner.access
    }

    /// The audit log and its anchors.
    pub fn audit(&self) -> &audit::Audit {
        &self.inner.audit
    }

    /// The event log read back.
    pub fn events(&self) -> &events::Events {
        &self.inner.events
    }

    /// Jurisdictions, organizations, members, teams and households.
    pub fn registry(&self) -> &registry::Registry {
        &self.inner.registry
    }

    /// Reports, incidents, plans and tasks.
    pub fn incidents(&self) -> &incidents::Incidents {
        &self.inner.incidents
    }

    /// Warnings: authoring, lifecycle, delivery, acknowledgement.
    pub fn warnings(&self) -> &warnings::Warnings {
        &self.inner.warnings
    }

    /// The data commons: datasets, layers, sharing, open data.
    pub fn commons(&self) -> &commons::Commons {
        &self.inner.commons
    }

    /// Sensors, readings and rules.
    pub fn monitoring(&self) -> &monitoring::Monitoring {
        &self.inner.monitoring
    }

    pub(crate) fn kernel(&self) -> &kernel::Kernel {
        &self.inner.kernel
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.inner.kernel.store()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.kernel.config()
    }

    /// Records the address the server listens on (once), which is the public URL unless one is configured.
    pub fn set_listening_address(&self, address: std::net::SocketAddr, host_name: &str) {
        self.inner.kernel.set_listening_address(address, host_name);
    }

    /// Where people and other systems reach Gridline, without a trailing slash (see [`Config::public_url`]).
    pub fn public_url(&self) -> String {
        self.inner.kernel.public_url()
    }

    /// Now, in Unix milliseconds UTC, from the application's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.kernel.now_ms()
    }
}

/// A fresh random key for a form (128 bits, hex): a form sent twice carries the same key, so it is taken once.
pub fn new_form_key() -> String {
    util::random_hex(16).unwrap_or_default()
}
