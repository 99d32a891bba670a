//! Reading and verifying the audit log.

use domain::Classification;
use domain::policy::{Action, Decision, Resource, ResourceKind};
use store::audit::{AuditQuery, AuditRecord, Verification};

use crate::audit::Audit;
use crate::time::rfc3339;
use crate::util::decide;
use crate::{AppError, Context};

/// An audit record on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// Position in the chain.
    pub seq: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Acting account.
    pub actor_account_id: Option<i64>,
    /// Actor label.
    pub actor: String,
    /// What was done or attempted.
    pub action: String,
    /// Kind of object.
    pub object_type: String,
    /// Object id.
    pub object_id: Option<String>,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why it was denied.
    pub reason: String,
    /// Declared purpose.
    pub purpose: String,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// This record's hash.
    pub hash: String,
}

/// Filters of the audit list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this kind of object.
    pub object_type: Option<String>,
    /// Only this object.
    pub object_id: Option<String>,
    /// Only this acting account.
    pub actor_account_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// Only `allow` or `deny`.
    pub decision: Option<String>,
    /// Only records before this sequence number (next page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<i64>,
}

fn view(record: AuditRecord) -> AuditView {
    AuditView {
        seq: record.seq,
        at: rfc3339(record.at_ms),
        actor_account_id: record.actor_account,
        actor: record.actor_label,
        action: record.action,
        object_type: record.object_type,
        object_id: record.object_id,
        decision: record.decision,
        reason: record.reason,
        purpose: record.purpose,
        details: serde_json::from_str(&record.details).unwrap_or(serde_json::Value::Null),
        hash: record.hash,
    }
}

impl Audit {
    /// Audit records, newest first (admins and auditors).
    pub async fn list_audit(&self, ctx: &Context, params: &AuditParams) -> Result<Vec<AuditView>, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &Resource::new(ResourceKind::AuditLog, Classification::Restricted)) {
            return Err(self.kernel.refuse(ctx, "audit.read", "audit_log", None, reason).await);
        }
        let limit = match params.limit {
            None => 100,
            Some(limit) if (1..=500).contains(&limit) => limit,
            Some(_) => {
                return Err(domain::Invalid::new("limit", domain::InvalidReason::OutOfRange { min: "1".into(), max: "500".into() }).into());
            }
        };
        if let Some(decision) = &params.decision {
            if decision != "allow" && decision != "deny" {
                return Err(domain::Invalid::new("decision", domain::InvalidReason::UnknownValue { allowed: vec!["allow", "deny"] }).into());
            }
        }
        let query = AuditQuery {
            object_type: params.object_type.clone(),
            object_id: params.object_id.clone(),
            actor_account: params.actor_account_id,
            action: params.action.clone(),
            decision: params.decision.clone(),
            before_seq: params.before,
            limit,
        };
        let mut reader = self.kernel.store().reader().await?;
        Ok(store::audit::list(&mut reader.conn(), &query).await?.into_iter().map(view).collect())
    }

    /// Verifies the whole audit chain's links (without its anchors: see [`App::verify_audit_report`]).
    pub async fn verify_audit(&self) -> Result<Verification, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        Ok(store::audit::verify(&mut reader.conn(), None).await?)
    }
}
