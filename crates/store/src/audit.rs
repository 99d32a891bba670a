//! The audit log: appended in the same transaction as the access or change it records, hash-chained through
//! `chain_heads` (see `domain::audit`), and verifiable end to end.

use domain::audit::{AnchorStatement, AuditFields, ChainBreak, ChainVerifier, PublicKey, chain_hash};

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
        /// How many anchors were checked against trusted keys (0 when no key was given).
        anchors: i64,
        /// The last record an anchor covers (0 if none).
        anchored_through: i64,
        /// When the oldest record no anchor covers yet was written, if there is one.
        oldest_unanchored_ms: Option<i64>,
    },
    /// The chain breaks at a record.
    Broken {
        /// The sequence number of the first record that does not check out.
        seq: i64,
        /// How it breaks.
        problem: ChainBreak,
    },
}

/// A signed anchor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRow {
    /// The first record covered.
    pub first_seq: i64,
    /// The last record covered.
    pub last_seq: i64,
    /// When it was signed, Unix ms UTC.
    pub at_ms: i64,
    /// The signing key's id.
    pub key_id: String,
    /// The record hashes, 32 raw bytes each.
    pub hashes: Vec<u8>,
    /// The signature, hex.
    pub signature: String,
}

impl AnchorRow {
    /// What the anchor states.
    pub fn statement(&self) -> AnchorStatement<'_> {
        AnchorStatement {
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            at_ms: self.at_ms,
            key_id: &self.key_id,
            hashes: &self.hashes,
        }
    }
}

const ANCHOR_COLUMNS: &str = "first_seq, last_seq, at, key_id, hashes, signature";

fn decode_anchor(row: &Row) -> Result<AnchorRow, StoreError> {
    Ok(AnchorRow {
        first_seq: row.get("first_seq")?,
        last_seq: row.get("last_seq")?,
        at_ms: row.get("at")?,
        key_id: row.get("key_id")?,
        hashes: row.get("hashes")?,
        signature: row.get("signature")?,
    })
}

/// The last record covered by an anchor (0 when there is none).
pub async fn anchored_through(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    Ok(conn.fetch_one("SELECT COALESCE(MAX(last_seq), 0) AS n FROM audit_anchors", &[]).await?.get("n")?)
}

/// The hashes of the records after `after_seq`, in order, at most `limit` of them: what the next anchor signs.
pub async fn hashes_after(conn: &mut Conn<'_>, after_seq: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = conn.fetch_all("SELECT seq, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2", params![after_seq, limit]).await?;
    rows.iter().map(|row| Ok((row.get("seq")?, row.get("hash")?))).collect()
}

/// Stores an anchor if it continues the anchors exactly (its first record follows the last anchored one);
/// `false` when another node anchored first. Call inside a write.
pub async fn insert_anchor(conn: &mut Conn<'_>, anchor: &AnchorRow) -> Result<bool, StoreError> {
    if anchored_through(conn).await? + 1 != anchor.first_seq {
        return Ok(false);
    }
    let inserted = conn
        .execute(
            format!("INSERT INTO audit_anchors ({ANCHOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"),
            params![
                anchor.first_seq,
                anchor.last_seq,
                anchor.at_ms,
                anchor.key_id.as_str(),
                anchor.hashes.clone(),
                anchor.signature.as_str()
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// The anchor covering records from after `after_seq` on: the one with the smallest `first_seq` greater than it.
pub async fn next_anchor(conn: &mut Conn<'_>, after_seq: i64) -> Result<Option<AnchorRow>, StoreError> {
    conn.fetch_optional(
        format!("SELECT {ANCHOR_COLUMNS} FROM audit_anchors WHERE first_seq > $1 ORDER BY first_seq LIMIT 1"),
        params![after_seq],
    )
    .await?
    .as_ref()
    .map(decode_anchor)
    .transpose()
}

/// The anchor starting at `first_seq`, if stored.
pub async fn anchor_at(conn: &mut Conn<'_>, first_seq: i64) -> Result<Option<AnchorRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {ANCHOR_COLUMNS} FROM audit_anchors WHERE first_seq = $1"), params![first_seq])
        .await?
        .as_ref()
        .map(decode_anchor)
        .transpose()
}

/// Walks the whole chain in order, in pages, and checks every link; also checks that the head recorded in
/// `chain_heads` is the last record (a truncated tail is a break too). With `trusted` keys, every anchor is
/// checked too: its signature under a trusted key, that the anchors leave no gap, and that every anchored record
/// still has the hash its anchor signed — so a record edited and re-hashed after it was anchored is named.
pub async fn verify(conn: &mut Conn<'_>, trusted: Option<&[PublicKey]>) -> Result<Verification, StoreError> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0_i64;
    // The anchor that covers (or is the next to cover) the records being read, once its signature checked out.
    let mut anchor: Option<AnchorRow> = None;
    let mut anchors = 0_i64;
    let mut anchored_through = 0_i64;
    let mut oldest_unanchored_ms = None;
    if let Some(keys) = trusted {
        anchor = next_anchor(conn, 0).await?;
        if let Some(first) = &anchor {
            if !signed_by_one_of(first, keys) {
                return Ok(Verification::Broken { seq: first.first_seq, problem: ChainBreak::BadAnchorSignature });
            }
            anchors += 1;
        }
    }
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
            let Some(keys) = trusted else { continue };
            // Move on to the anchor covering this record.
            while let Some(current) = anchor.as_ref().filter(|a| a.last_seq < record.seq) {
                let previous_last = current.last_seq;
                anchored_through = previous_last;
                anchor = next_anchor(conn, current.first_seq).await?;
                if let Some(next) = &anchor {
                    if next.first_seq != previous_last + 1 {
                        return Ok(Verification::Broken { seq: previous_last + 1, problem: ChainBreak::AnchorMissing });
                    }
                    if !signed_by_one_of(next, keys) {
                        return Ok(Verification::Broken { seq: next.first_seq, problem: ChainBreak::BadAnchorSignature });
                    }
                    anchors += 1;
                }
            }
            match &anchor {
                Some(current) if current.first_seq > record.seq => {
                    return Ok(Verification::Broken { seq: record.seq, problem: ChainBreak::AnchorMissing });
                }
                Some(current) => {
                    if current.statement().hash_of(record.seq).as_deref() != Some(record.hash.as_str()) {
                        return Ok(Verification::Broken {
                            seq: record.seq,
                            problem: ChainBreak::NotAsAnchored { anchored_at_ms: current.at_ms },
                        });
                    }
                    anchored_through = record.seq;
                }
                None => {
                    oldest_unanchored_ms.get_or_insert(record.at_ms);
                }
            }
        }
    }
    if trusted.is_some() && self::anchored_through(conn).await? > verifier.checked() {
        return Ok(Verification::Broken { seq: verifier.checked() + 1, problem: ChainBreak::RecordsMissing });
    }
    let head: i64 = conn.fetch_one("SELECT audit_seq FROM chain_heads WHERE id = 1", &[]).await?.get("audit_seq")?;
    if head != verifier.checked() {
        return Ok(Verification::Broken {
            seq: verifier.checked() + 1,
            problem: ChainBreak::SequenceGap { expected: verifier.checked() + 1 },
        });
    }
    Ok(Verification::Intact { records: verifier.checked(), anchors, anchored_through, oldest_unanchored_ms })
}

fn signed_by_one_of(anchor: &AnchorRow, keys: &[PublicKey]) -> bool {
    keys.iter().any(|key| key.key_id() == anchor.key_id && key.verifies(&anchor.statement(), &anchor.signature))
}
