//! Anchoring the audit chain: every so often the chain's new records are signed with an Ed25519 key that lives
//! outside the database (`[audit] key_dir`, by default `audit/` in the data directory), so that whoever controls
//! the database can neither edit a record and re-hash the chain unnoticed, nor forge an anchor.
//!
//! The key directory holds three files:
//! - `signing.key` — the current key's secret seed (hex), readable by its owner only (mode 0600, checked);
//! - `trusted.keys` — every public key whose anchors are trusted, current and retired, one per line
//!   (`<key id> <public key hex> <added, RFC 3339>`), so that anchors signed before a rotation still verify;
//! - `anchors.jsonl` — the journal: one line per anchor this node made, so that anchors removed from the database
//!   are noticed.
//!
//! Each anchor may also be posted to `[audit] anchor_url` (the level above, or a timestamping service).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use domain::audit::{AnchorStatement, PublicKey, SigningKey, from_hex, to_hex};
use store::audit::{AnchorRow, Verification};

use crate::AppError;
use crate::audit::Audit;

/// Settings of the audit log, from `[audit]` in `gridline.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Where the signing key, the trusted public keys and the anchor journal live. `None` turns anchoring off
    /// (tests); the command line sets it to `audit` in the data directory unless configured.
    pub key_dir: Option<PathBuf>,
    /// Seconds between anchors.
    pub anchor_interval_seconds: u64,
    /// Where each anchor is also posted as JSON (an `https://` or `http://` URL), for a copy nobody here can change.
    pub anchor_url: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> AuditConfig {
        AuditConfig { key_dir: None, anchor_interval_seconds: 60, anchor_url: None }
    }
}

/// The records an anchor covers at most: a long-unanchored chain is anchored in several steps.
const MAX_RECORDS_PER_ANCHOR: i64 = 50_000;

const SIGNING_KEY: &str = "signing.key";
const TRUSTED_KEYS: &str = "trusted.keys";
const JOURNAL: &str = "anchors.jsonl";

/// An anchor as the journal and the anchor URL carry it (without the record hashes, which stay in the database).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnchorSummary {
    /// The first record covered.
    pub first_seq: i64,
    /// The last record covered.
    pub last_seq: i64,
    /// When it was signed, Unix ms UTC.
    pub at: i64,
    /// The signing key's id.
    pub key_id: String,
    /// The digest of the covered records' hashes (hex SHA-256), so that a copy elsewhere pins them.
    pub hashes_digest: String,
    /// The signature (hex).
    pub signature: String,
}

/// What `gridline audit verify` found: the chain against its anchors, and the anchors against the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The chain and its anchors.
    pub verification: Verification,
    /// Whether trusted keys were found (without them anchors are not checked).
    pub keys_found: bool,
    /// Anchors in this node's journal that the database does not hold (or holds with another signature): the
    /// first record they covered.
    pub journal_missing: Vec<i64>,
}

fn io_error(path: &Path, error: std::io::Error) -> AppError {
    AppError::Internal(format!("{}: {error}", path.display()))
}

/// Creates the key directory (mode 0700) and a signing key if there is none; returns the current key.
pub fn open_or_create_key(dir: &Path) -> Result<SigningKey, AppError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    restrict(dir, 0o700)?;
    let path = dir.join(SIGNING_KEY);
    if path.exists() {
        return read_signing_key(dir);
    }
    let key = new_key()?;
    write_private(&path, &key.to_hex())?;
    trust(dir, &key.public_key())?;
    Ok(key)
}

/// Reads the current signing key, refusing a key file others can read.
pub fn read_signing_key(dir: &Path) -> Result<SigningKey, AppError> {
    let path = dir.join(SIGNING_KEY);
    check_private(&path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    SigningKey::from_hex(&text).ok_or_else(|| AppError::Internal(format!("{}: not an Ed25519 key (64 hex characters)", path.display())))
}

/// The trusted public keys of a key directory (empty if it has none).
pub fn trusted_keys(dir: &Path) -> Result<Vec<PublicKey>, AppError> {
    let path = dir.join(TRUSTED_KEYS);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(&path, error)),
    };
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key =
            line.split_whitespace().nth(1).and_then(PublicKey::from_hex).ok_or_else(|| {
                AppError::Internal(format!("{} line {}: not `<key id> <public key hex> <added>`", path.display(), index + 1))
            })?;
        keys.push(key);
    }
    Ok(keys)
}

/// Makes a new signing key, keeps the old one's public key trusted (its anchors still verify), and returns the
/// new key's id.
pub fn rotate_key(dir: &Path) -> Result<String, AppError> {
    let old = open_or_create_key(dir)?;
    trust(dir, &old.public_key())?;
    let key = new_key()?;
    trust(dir, &key.public_key())?;
    let path = dir.join(SIGNING_KEY);
    let staged = dir.join(format!("{SIGNING_KEY}.new"));
    write_private(&staged, &key.to_hex())?;
    std::fs::rename(&staged, &path).map_err(|e| io_error(&path, e))?;
    Ok(key.public_key().key_id())
}

/// Starts a new journal after a restore: the old one (which describes records the restored database may not
/// have) is kept beside it, renamed with the time.
pub fn archive_journal(dir: &Path, now_ms: i64) -> Result<Option<PathBuf>, AppError> {
    let path = dir.join(JOURNAL);
    if !path.exists() {
        return Ok(None);
    }
    let archived = dir.join(format!("anchors-before-restore-{now_ms}.jsonl"));
    std::fs::rename(&path, &archived).map_err(|e| io_error(&path, e))?;
    Ok(Some(archived))
}

fn new_key() -> Result<SigningKey, AppError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| AppError::Internal(format!("no randomness: {error}")))?;
    Ok(SigningKey::from_seed(seed))
}

fn trust(dir: &Path, key: &PublicKey) -> Result<(), AppError> {
    if trusted_keys(dir)?.contains(key) {
        return Ok(());
    }
    let path = dir.join(TRUSTED_KEYS);
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_error(&path, e))?;
    let added = jiff::Timestamp::now().to_string();
    writeln!(file, "{} {} {added}", key.key_id(), key.to_hex()).map_err(|e| io_error(&path, e))?;
    file.sync_all().map_err(|e| io_error(&path, e))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<(), AppError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().create_new(true).write(true).mode(0o600).open(path).map_err(|e| io_error(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<(), AppError> {
    std::fs::write(path, text).map_err(|e| io_error(path, e))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).map_err(|e| io_error(path, e))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(AppError::Internal(format!(
            "{}: the audit signing key is readable by others (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), AppError> {
    Ok(())
}

#[cfg(unix)]
fn restrict(dir: &Path, mode: u32) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(|e| io_error(dir, e))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path, _mode: u32) -> Result<(), AppError> {
    Ok(())
}

fn read_journal(dir: &Path) -> Result<Vec<AnchorSummary>, AppError> {
    let path = dir.join(JOURNAL);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(&path, error)),
    };
    // A line cut short by a crash mid-write is the last one; it is skipped.
    Ok(text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
}

fn append_journal(dir: &Path, summary: &AnchorSummary) -> Result<(), AppError> {
    let path = dir.join(JOURNAL);
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_error(&path, e))?;
    let line = serde_json::to_string(summary).map_err(|e| AppError::Internal(e.to_string()))?;
    writeln!(file, "{line}").map_err(|e| io_error(&path, e))?;
    file.sync_all().map_err(|e| io_error(&path, e))
}

fn summary_of(row: &AnchorRow) -> AnchorSummary {
    use sha2::Digest as _;
    AnchorSummary {
        first_seq: row.first_seq,
        last_seq: row.last_seq,
        at: row.at_ms,
        key_id: row.key_id.clone(),
        hashes_digest: to_hex(&sha2::Sha256::digest(&row.hashes)),
        signature: row.signature.clone(),
    }
}

impl Audit {
    /// The key directory, when anchoring is on.
    pub fn audit_key_dir(&self) -> Option<&Path> {
        self.kernel.config().audit.key_dir.as_deref()
    }

    /// Signs the records written since the last anchor (up to 50,000 at a time, so call it until it returns
    /// `None`): stores the anchor, appends it to the journal and posts it to the anchor URL. `None` when there is
    /// nothing new, anchoring is off, or another node anchored the same records first.
    pub async fn anchor_audit(&self) -> Result<Option<AnchorSummary>, AppError> {
        let Some(dir) = self.audit_key_dir().map(Path::to_path_buf) else { return Ok(None) };
        let key = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || open_or_create_key(&dir)
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))??;
        let (anchored, records) = {
            let mut reader = self.kernel.store().reader().await?;
            let anchored = store::audit::anchored_through(&mut reader.conn()).await?;
            (anchored, store::audit::hashes_after(&mut reader.conn(), anchored, MAX_RECORDS_PER_ANCHOR).await?)
        };
        // This node signed further than the database now says anything was signed: anchors were removed. Signing
        // again would put this key under whatever the records say now; refuse, and say so loudly.
        let journalled = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || read_journal(&dir)).await.map_err(|error| AppError::Internal(error.to_string()))??
        };
        if let Some(last) = journalled.iter().map(|entry| entry.last_seq).max().filter(|last| *last > anchored) {
            tracing::error!(
                journalled = last,
                database = anchored,
                "audit anchors this node made are missing from the database; not signing"
            );
            return Err(AppError::Internal(format!(
                "this node anchored the audit log up to record {last}, but the database's anchors end at record {anchored}: \
                 anchors were removed; run `gridline audit verify`"
            )));
        }
        let Some(&(last_seq, _)) = records.last() else { return Ok(None) };
        let mut hashes = Vec::with_capacity(records.len() * 32);
        for (seq, hash) in &records {
            let bytes = from_hex(hash)
                .filter(|b| b.len() == 32)
                .ok_or_else(|| AppError::Internal(format!("audit record {seq} has a malformed hash; run `gridline audit verify`")))?;
            hashes.extend_from_slice(&bytes);
        }
        let key_id = key.public_key().key_id();
        let at_ms = self.kernel.now_ms();
        let statement = AnchorStatement { first_seq: anchored + 1, last_seq, at_ms, key_id: &key_id, hashes: &hashes };
        let signature = key.sign(&statement);
        let row = AnchorRow { first_seq: anchored + 1, last_seq, at_ms, key_id, hashes, signature };
        let stored = {
            let row = row.clone();
            self.kernel.store().write(move |c| Box::pin(async move { store::audit::insert_anchor(c, &row).await })).await?
        };
        if !stored {
            return Ok(None);
        }
        let summary = summary_of(&row);
        {
            let (dir, summary) = (dir.clone(), summary.clone());
            tokio::task::spawn_blocking(move || append_journal(&dir, &summary))
                .await
                .map_err(|error| AppError::Internal(error.to_string()))??;
        }
        if let Some(url) = self.kernel.config().audit.anchor_url.as_deref() {
            self.post_anchor(url, &summary).await;
        }
        Ok(Some(summary))
    }

    /// Posts an anchor to the configured URL; a failure is logged (the anchor is stored and journalled anyway).
    async fn post_anchor(&self, url: &str, summary: &AnchorSummary) {
        let Some(parsed) = crate::transport::HttpUrl::parse(url) else {
            tracing::warn!(url, "[audit] anchor_url is not an http(s):// URL; anchors are not sent");
            return;
        };
        let body = serde_json::to_vec(summary).unwrap_or_default();
        let client = crate::transport::HttpClient::default();
        let headers = [("content-type", "application/json".to_string())];
        match client.post(&parsed, &headers, body.into(), std::time::Duration::from_secs(10)).await {
            Ok(status) if (200..300).contains(&status) => {}
            Ok(status) => tracing::warn!(url, status, "the anchor URL refused an audit anchor"),
            Err(error) => tracing::warn!(url, %error, "an audit anchor could not be sent"),
        }
    }

    /// Anchors at the configured interval until `stop` turns true (with the delivery and escalation workers).
    pub async fn run_audit_anchoring(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.audit_key_dir().is_none() {
            return;
        }
        let interval = std::time::Duration::from_secs(self.kernel.config().audit.anchor_interval_seconds.max(1));
        loop {
            loop {
                match self.anchor_audit().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::error!(%error, "audit anchoring failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                // One last anchor of what was written before stopping.
                let _ = self.anchor_audit().await;
                return;
            }
        }
    }

    /// Writes the audit record of a restore: which backup, how many records it brought back, and where the journal
    /// of the anchors made since (which describe records the restored database does not have) was set aside.
    pub async fn record_restore(&self, ctx: &crate::Context, file: &str, records: i64, archived: Option<&Path>) -> Result<(), AppError> {
        let mut record = self.kernel.audit(ctx, "audit.restore", "audit_log", None);
        record.details = serde_json::json!({
            "backup": file, "records_restored": records, "journal_set_aside": archived.map(|p| p.display().to_string()),
        });
        self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
        Ok(())
    }

    /// Verifies the audit chain, its anchors against the keys trusted in `key_dir` (the configured one when
    /// `None`), and the database's anchors against that directory's journal.
    pub async fn verify_audit_report(&self, key_dir: Option<&Path>) -> Result<AuditReport, AppError> {
        let dir = key_dir.or(self.audit_key_dir()).map(Path::to_path_buf);
        let (keys, journal) = match &dir {
            Some(dir) => (trusted_keys(dir)?, read_journal(dir)?),
            None => (Vec::new(), Vec::new()),
        };
        let keys_found = !keys.is_empty();
        let mut reader = self.kernel.store().reader().await?;
        let verification = store::audit::verify(&mut reader.conn(), keys_found.then_some(keys.as_slice())).await?;
        let mut journal_missing = Vec::new();
        for entry in &journal {
            let stored = store::audit::anchor_at(&mut reader.conn(), entry.first_seq).await?;
            if stored.map(|row| summary_of(&row)).as_ref() != Some(entry) {
                journal_missing.push(entry.first_seq);
            }
        }
        Ok(AuditReport { verification, keys_found, journal_missing })
    }
}
