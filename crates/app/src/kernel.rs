//! The shared kernel of every context: the store, the clock, the configuration, and the writing of events and
//! audit records with the changes they describe. It holds no use case: those live in the contexts
//! (`access`, `audit`, `events`, `registry`, `incidents`, `warnings`, `commons`, `monitoring`), each of which
//! gets a `Kernel` and the contexts it depends on when the [`App`](crate::App) is built.

use std::sync::Arc;

use domain::Classification;
use domain::policy::DenyReason;
use domain::registry::JurisdictionPath;
use futures_util::future::BoxFuture;
use store::Store;
use store::audit::NewAudit;
use store::db::Conn;
use store::events::NewEvent;

use crate::util::Outcome;
use crate::{AppError, Clock, Config, Context};

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Config,
    /// The address `serve` listens on, as a URL: the public URL when none is configured.
    listening_url: std::sync::OnceLock<String>,
    /// The counts of anonymous refusals (sampled, not each audited).
    refusals: crate::refusals::RefusalSampler,
}

/// The kernel: cheap to clone (one shared allocation).
#[derive(Debug, Clone)]
pub struct Kernel {
    inner: Arc<Inner>,
}

impl Kernel {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> Kernel {
        Kernel {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                listening_url: std::sync::OnceLock::new(),
                refusals: crate::refusals::RefusalSampler::default(),
            }),
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Now, in Unix milliseconds UTC, from the application's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The sampler of anonymous refusals.
    pub(crate) fn refusals(&self) -> &crate::refusals::RefusalSampler {
        &self.inner.refusals
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

    /// Runs a write (see `store::Store::write`). `Err` rolls everything back; `Ok(Refused)` keeps the audit
    /// record of a refusal and returns its error.
    pub(crate) async fn transact<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: for<'a, 'b> FnOnce(&'a mut Conn<'b>) -> BoxFuture<'a, Result<Outcome<T>, AppError>> + Send + 'static,
    {
        match self.store().write(work).await? {
            Outcome::Done(value) => Ok(value),
            Outcome::Refused(error) => Err(error),
        }
    }

    /// An audit record by the caller.
    pub(crate) fn audit(&self, ctx: &Context, action: &str, object_type: &str, object_id: Option<String>) -> NewAudit {
        NewAudit {
            at_ms: self.now_ms(),
            actor_account: ctx.account_id(),
            actor_label: ctx.actor_label.clone(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id,
            allowed: true,
            reason: String::new(),
            purpose: String::new(),
            details: match &ctx.client_address {
                Some(address) => serde_json::json!({ "client": address }),
                None => serde_json::json!({}),
            },
        }
    }

    /// An event caused by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn event(
        &self,
        ctx: &Context,
        kind: &str,
        subject_type: &str,
        subject_id: i64,
        path: Option<&JurisdictionPath>,
        organization: Option<i64>,
        classification: Classification,
        payload: serde_json::Value,
    ) -> NewEvent {
        NewEvent {
            at_ms: self.now_ms(),
            kind: kind.to_string(),
            subject_type: subject_type.to_string(),
            subject_id: Some(subject_id.to_string()),
            actor_account: ctx.account_id(),
            path: path.cloned(),
            organization,
            classification,
            payload,
        }
    }

    /// Writes the audit record of a refusal on its own and returns the error to give the caller.
    pub(crate) async fn refuse(
        &self,
        ctx: &Context,
        action: &str,
        object_type: &str,
        object_id: Option<String>,
        reason: DenyReason,
    ) -> AppError {
        let mut record = self.audit(ctx, action, object_type, object_id);
        record.allowed = false;
        record.reason = reason.code().to_string();
        let mut records = vec![record];
        // Anonymous refusals are sampled and counted (see `refusals`): nobody can flood the audit log.
        if !ctx.subject.is_authenticated() && !ctx.is_system() {
            let admitted = self.inner.refusals.admit(&records[0], self.now_ms());
            if !admitted.record {
                records.clear();
            }
            records.extend(admitted.summary);
        }
        match self.append_audits(records).await {
            Ok(()) => AppError::Forbidden { reason },
            Err(error) => error,
        }
    }

    /// Writes audit records on their own, in one write (nothing when there are none).
    pub(crate) async fn append_audits(&self, records: Vec<NewAudit>) -> Result<(), AppError> {
        if records.is_empty() {
            return Ok(());
        }
        self.store()
            .write(move |c| {
                Box::pin(async move {
                    for record in &records {
                        store::audit::append(c, record).await?;
                    }
                    Ok::<(), store::StoreError>(())
                })
            })
            .await?;
        Ok(())
    }

    /// Writes the counts of anonymous refusals whose minute is over (on the escalation beat).
    pub(crate) async fn flush_refusal_counts(&self) -> Result<usize, AppError> {
        let due = self.inner.refusals.due(self.now_ms());
        let count = due.len();
        self.append_audits(due).await?;
        Ok(count)
    }
}
