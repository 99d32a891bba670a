//! The audit log: appended in the same transaction as the access or change it records, hash-chained through
//! `chain_heads` (see `domain::audit`), and verifiable end to end.

use domain::audit::{AuditFields, ChainBreak, ChainVerifier, chain_hash};

use crate::db::{Conn, Params, Row};
use crate::{StoreError, params};

/// An audit record to append.
#[derive(Debug, Clone, Default)]
pub struct NewAudit {
    /// When, Unix ms UTC.
    pub at_ms: i64,
    /// The acting account.
    pub actor_account: Option<i64>,
    /// A label for the actor (a username, `token:<id>`, `system`, `anonymous`).
    pub actor_label: String,
    /// What was done or attempted: `member.update`, `member.reveal`, `auth.login`.
    pub action: String,
    /// The kind of object.
    pub object_type: String,
    /// The object's id.
    pub object_id: Option<String>,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why it was denied (a reason code), or empty.
    pub reason: String,
    /// The purpose the actor declared, or empty.
    pub purpose: String,
    /// Further details as JSON (never the personal data itself).
    pub details: serde_json::Value,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the chain.
    pub seq: i64,
    /// When, Unix ms UTC.
    pub at_ms: i64,
    /// The acting account.
    pub actor_account: Option<i64>,
    /// The actor's label.
    pub actor_label: String,
    /// What was done or attempted.
    pub action: String,
    /// The kind of object.
    pub object_type: String,
    /// The object's id.
    pub object_id: Option<String>,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why it was denied.
    pub reason: String,
    /// The declared purpose.
    pub purpose: String,
    /// Details, JSON text as stored.
    pub details: String,
    /// The previous record's hash, as stored.
    pub prev_hash: String,
    /// This record's hash, as stored.
    pub hash: String,
}

impl AuditRecord {
    fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            seq: self.seq,
            at_ms: self.at_ms,
            actor_account: self.actor_account,
            actor_label: &self.actor_label,
            action: &self.action,
            object_type: &self.object_type,
            object_id: self.object_id.as_deref(),
            decision: &self.decision,
            reason: &self.reason,
            purpose: &self.purpose,
            details: &self.details,
        }
    }
}

/// The columns of `audit_log`, in the order rows are built.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor_account_id, actor_label, action, object_type, object_id, decision, reason, purpose, details, prev_hash, hash";

/// Appends a record; returns its sequence number. Inside a write the row is inserted when the batch ends.
pub async fn append(conn: &mut Conn<'_>, record: &NewAudit) -> Result<i64, StoreError> {
    let (seq, prev_hash) = match conn.batch.as_deref() {
        Some(batch) => (batch.heads.audit_seq + 1, batch.heads.audit_hash.clone()),
        None => {
            let head = conn.fetch_one("SELECT audit_seq, audit_hash FROM chain_heads WHERE id = 1", &[]).await?;
            (head.get::<i64>("audit_seq")? + 1, head.get::<String>("audit_hash")?)
        }
    };
    let details = record.details.to_string();
    let decision = if record.allowed { "allow" } else { "deny" };
    let fields = AuditFields {
        seq,
        at_ms: record.at_ms,
        actor_account: record.actor_account,
        actor_label: &record.actor_label,
        action: &record.action,
        object_type: &record.object_type,
        object_id: record.object_id.as_deref(),
        decision,
        reason: &record.reason,
        purpose: &record.purpose,
        details: &details,
    };
    let hash = chain_hash(&prev_hash, &fields);
    let row = params![
        seq,
        record.at_ms,
        record.actor_account,
        record.actor_label.as_str(),
        record.action.as_str(),
        record.object_type.as_str(),
        record.object_id.clone(),
        decision,
        record.reason.as_str(),
        record.purpose.as_str(),
        details.as_str(),
        prev_hash.as_str(),
        hash.as_str(),
    ]
    .to_vec();
    match conn.batch.as_deref_mut() {
        Some(batch) => {
            batch.heads.audit_seq = seq;
            batch.heads.audit_hash = hash;
            batch.audits.push(row);
        }
        None => {
            conn.execute(
                format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"),
                &row,
            )
            .await?;
            conn.execute("UPDATE chain_heads SET audit_seq = $1, audit_hash = $2 WHERE id = 1", params![seq, hash]).await?;
        }
    }
    Ok(seq)
}

fn decode(row: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: row.get("seq")?,
        at_ms: row.get("at")?,
        actor_account: row.get("actor_account_id")?,
        actor_label: row.get("actor_label")?,
        action: row.get("action")?,
        object_type: row.get("object_type")?,
        object_id: row.get("object_id")?,
        decision: row.get("decision")?,
        reason: row.get("reason")?,
        purpose: row.get("purpose")?,
        details: row.get("details")?,
        prev_hash: row.get("prev_hash")?,
        hash: row.get("hash")?,
    })
}

const COLUMNS: &str =
    "seq, at, actor_account_id, actor_label, action, object_type, object_id, decision, reason, purpose, details, prev_hash, hash";

/// Filters for listing audit records.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only records about this kind of object.
    pub object_type: Option<String>,
    /// Only records about this object.
    pub object_id: Option<String>,
    /// Only records by this account.
    pub actor_account: Option<i64>,
    /// Only records of this action.
    pub action: Option<String>,
    /// Only `allow` or `deny`.
    pub decision: Option<String>,
    /// Only records before this sequence number (for paging backwards).
    pub before_seq: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Audit records matching `query`, newest first.
pub async fn list(conn: &mut Conn<'_>, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
    let mut params = Params::default();
    let mut clauses = Vec::new();
    if let Some(value) = &query.object_type {
        clauses.push(format!("object_type = {}", params.push(value.clone())));
    }
    if let Some(value) = &query.object_id {
        clauses.push(format!("object_id = {}", params.push(value.clone())));
    }
    if let Some(value) = query.actor_account {
        clauses.push(format!("actor_account_id = {}", params.push(value)));
    }
    if let Some(value) = &query.action {
        clauses.push(format!("action = {}", params.push(value.clone())));
    }
    if let Some(value) = &query.decision {
        clauses.push(format!("decision = {}", params.push(value.clone())));
    }
    if let Some(value) = query.before_seq {
        clauses.push(format!("seq < {}", params.push(value)));
    }
    let filter = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let sql = format!("SELECT {COLUMNS} FROM audit_log {filter} ORDER BY seq DESC LIMIT {}", params.push(query.limit));
    conn.fetch_all(sql, params.values()).await?.iter().map(decode).collect()
}

/// The result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every record checks out.
    Intact {
        /// How many records were checked.
        records: i64,
    },
    /// The chain breaks at a record.
    Broken {
        /// The sequence number of the first record that does not check out.
        seq: i64,
        /// How it breaks.
        problem: ChainBreak,
    },
}

/// Walks the whole chain in order, in pages, and checks every link; also checks that the head recorded in
/// `chain_heads` is the last record (a truncated tail is a break too).
pub async fn verify(conn: &mut Conn<'_>) -> Result<Verification, StoreError> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0_i64;
    loop {
        let rows = conn
            .fetch_all(
                "SELECT seq, at, actor_account_id, actor_label, action, object_type, object_id, decision, reason, purpose, details, prev_hash, hash
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
                params![after],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let record = decode(row)?;
            if let Err(problem) = verifier.check(&record.fields(), &record.prev_hash, &record.hash) {
                return Ok(Verification::Broken { seq: record.seq, problem });
            }
            after = record.seq;
        }
    }
    let head: i64 = conn.fetch_one("SELECT audit_seq FROM chain_heads WHERE id = 1", &[]).await?.get("audit_seq")?;
    if head != verifier.checked() {
        return Ok(Verification::Broken {
            seq: verifier.checked() + 1,
            problem: ChainBreak::SequenceGap { expected: verifier.checked() + 1 },
        });
    }
    Ok(Verification::Intact { records: verifier.checked() })
}
