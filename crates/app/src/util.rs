//! Helpers shared by the use cases: asking the policy, writing audit records and events, paging, tokens.

use domain::Classification;
use domain::policy::{Action, Decision, DenyReason, Resource, decide as policy_decide};
use domain::registry::JurisdictionPath;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use store::audit::NewAudit;
use store::db::Conn;
use store::events::NewEvent;

use crate::{App, AppError, Context};

/// The outcome of a write that may be refused after it has written its audit record.
pub(crate) enum Outcome<T> {
    /// Done: commit and return the value.
    Done(T),
    /// Refused: commit what was written (the audit record of the refusal) and return the error.
    Refused(AppError),
}

impl App {
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
    pub async fn flush_refusal_counts(&self) -> Result<usize, AppError> {
        let due = self.inner.refusals.due(self.now_ms());
        let count = due.len();
        self.append_audits(due).await?;
        Ok(count)
    }
}

/// The policy's answer for the caller; the operator at the command line may do anything.
pub(crate) fn decide(ctx: &Context, action: Action, resource: &Resource<'_>) -> Decision {
    if ctx.is_system() { Decision::Allow } else { policy_decide(&ctx.subject, action, resource) }
}

/// A refusal's audit record, for writing inside a write that goes on to return `Outcome::Refused`.
pub(crate) fn refusal(mut record: NewAudit, reason: DenyReason) -> NewAudit {
    record.allowed = false;
    record.reason = reason.code().to_string();
    record
}

/// `count` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(count: usize) -> Result<String, AppError> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|error| AppError::Internal(format!("no randomness: {error}")))?;
    Ok(hex(&bytes))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// SHA-256 of `text`, as lowercase hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A page of results on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
    /// The page size asked for.
    pub limit: i64,
    /// How many matching items were skipped.
    pub offset: i64,
}

/// Common list parameters: `?jurisdiction_id=&q=&sort=&limit=&offset=`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only items in this jurisdiction and the jurisdictions below it.
    pub jurisdiction_id: Option<i64>,
    /// Case-insensitive search in names and codes.
    pub q: Option<String>,
    /// Sort by this field; prefix with `-` for descending (for example `-updated_at`).
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

impl ListParams {
    pub(crate) fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(50),
            Some(limit) if (1..=500).contains(&limit) => Ok(limit),
            Some(_) => Err(domain::Invalid::new("limit", domain::InvalidReason::OutOfRange { min: "1".into(), max: "500".into() }).into()),
        }
    }

    pub(crate) fn offset(&self) -> Result<i64, AppError> {
        match self.offset {
            None => Ok(0),
            Some(offset) if offset >= 0 => Ok(offset),
            Some(_) => Err(domain::Invalid::new("offset", domain::InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() }).into()),
        }
    }

    pub(crate) fn sort(&self, allowed: &[&'static str]) -> Result<Option<(String, bool)>, AppError> {
        let Some(sort) = self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let (column, descending) = match sort.strip_prefix('-') {
            Some(column) => (column, true),
            None => (sort, false),
        };
        if !allowed.contains(&column) {
            return Err(domain::Invalid::new("sort", domain::InvalidReason::UnknownValue { allowed: allowed.to_vec() }).into());
        }
        Ok(Some((column.to_string(), descending)))
    }
}

/// Parses JSON text the application stored itself; a failure is a bug (or a corrupted database), not bad input.
pub(crate) fn parse_json_value(text: &str) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(text).map_err(|error| AppError::Internal(format!("stored JSON does not parse: {error}")))
}
