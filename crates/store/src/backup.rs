//! Backups of the embedded database and the checks a restore makes before it puts one in place. PostgreSQL is
//! backed up with its own tools (`pg_dump` and `pg_restore`, driven by `gridline backup` and `gridline restore`);
//! what they cannot check — that the target is empty, that the result is a Gridline database — is here.

use std::path::Path;

use sqlx::Connection as _;

use crate::StoreError;

/// What a backup holds, read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The schema version it was taken at.
    pub schema_version: i64,
    /// Its audit records (the chain's head).
    pub audit_records: i64,
    /// Its latest event.
    pub event_seq: i64,
}

fn unavailable(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{}: {error}", path.display()))
}

async fn summary_of(conn: &mut sqlx::SqliteConnection, path: &Path) -> Result<BackupSummary, StoreError> {
    let version: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await
        .map_err(|_| StoreError::Corrupt(format!("{} is not a Gridline database (no schema_migrations)", path.display())))?;
    let heads: (i64, i64) = sqlx::query_as("SELECT audit_seq, event_seq FROM chain_heads WHERE id = 1")
        .fetch_one(&mut *conn)
        .await
        .map_err(|_| StoreError::Corrupt(format!("{} is not a Gridline database (no chain_heads)", path.display())))?;
    Ok(BackupSummary { schema_version: version.0, audit_records: heads.0, event_seq: heads.1 })
}

/// A consistent copy of the SQLite database at `database`, taken while it is in use (`VACUUM INTO`: one read
/// transaction, so every write committed before it began is in the copy, and none half-done), into `target`,
/// which must not exist. Returns what the copy holds.
pub async fn backup_sqlite(database: &Path, target: &Path) -> Result<BackupSummary, StoreError> {
    if target.exists() {
        return Err(StoreError::Unavailable(format!("{} exists already; a backup never overwrites a file", target.display())));
    }
    let options =
        sqlx::sqlite::SqliteConnectOptions::new().filename(database).read_only(true).busy_timeout(std::time::Duration::from_secs(30));
    let mut source = sqlx::SqliteConnection::connect_with(&options).await.map_err(|e| unavailable(database, e))?;
    let target_text = target.to_str().ok_or_else(|| unavailable(target, "the path is not UTF-8"))?;
    sqlx::query("VACUUM INTO ?").bind(target_text).execute(&mut source).await.map_err(|e| unavailable(target, e))?;
    source.close().await.map_err(|e| unavailable(database, e))?;
    // The copy holds personal data and the deployment's keys: readable by its owner only.
    owner_only(target)?;
    check_sqlite(target).await
}

/// Checks that `file` is a whole, uncorrupted Gridline SQLite database (`PRAGMA integrity_check`); returns what
/// it holds.
pub async fn check_sqlite(file: &Path) -> Result<BackupSummary, StoreError> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.map_err(|e| unavailable(file, e))?;
    let integrity: (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(|e| unavailable(file, e))?;
    if integrity.0 != "ok" {
        return Err(StoreError::Corrupt(format!("{} fails its integrity check: {}", file.display(), integrity.0)));
    }
    let summary = summary_of(&mut conn, file).await?;
    conn.close().await.map_err(|e| unavailable(file, e))?;
    Ok(summary)
}

/// Puts a checked SQLite backup in place as the database `target`, which must not exist yet (restore into a fresh
/// data directory; move an old database away first). The copy is written beside it and renamed, so a failed
/// restore leaves nothing half-written.
pub async fn restore_sqlite(backup: &Path, target: &Path) -> Result<BackupSummary, StoreError> {
    if target.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} exists already; restore into a fresh data directory (or move the old database away first)",
            target.display()
        )));
    }
    // A write-ahead log or journal left by an old database would be replayed onto the restored one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let leftover = std::path::PathBuf::from(format!("{}{suffix}", target.display()));
        if leftover.exists() {
            return Err(StoreError::Unavailable(format!(
                "{} is left from an earlier database; move it away with that database before restoring",
                leftover.display()
            )));
        }
    }
    let summary = check_sqlite(backup).await?;
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| unavailable(parent, e))?;
    }
    let staged = target.with_extension("db.restoring");
    std::fs::copy(backup, &staged).map_err(|e| unavailable(&staged, e))?;
    owner_only(&staged)?;
    std::fs::File::open(&staged).and_then(|file| file.sync_all()).map_err(|e| unavailable(&staged, e))?;
    std::fs::rename(&staged, target).map_err(|e| unavailable(target, e))?;
    Ok(summary)
}

#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| unavailable(path, e))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Whether the PostgreSQL database at `url` holds no tables yet (a restore goes only into an empty database).
pub async fn postgres_is_empty(url: &str) -> Result<bool, StoreError> {
    let mut conn =
        sqlx::PgConnection::connect(url).await.map_err(|e| StoreError::Unavailable(format!("{}: {e}", crate::redact_url(url))))?;
    let tables: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
        .fetch_one(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(tables.0 == 0)
}

/// What the PostgreSQL database at `url` holds (after a restore).
pub async fn postgres_summary(url: &str) -> Result<BackupSummary, StoreError> {
    let mut conn =
        sqlx::PgConnection::connect(url).await.map_err(|e| StoreError::Unavailable(format!("{}: {e}", crate::redact_url(url))))?;
    let version: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetch_one(&mut conn).await?;
    let heads: (i64, i64) = sqlx::query_as("SELECT audit_seq, event_seq FROM chain_heads WHERE id = 1").fetch_one(&mut conn).await?;
    let _ = conn.close().await;
    Ok(BackupSummary { schema_version: version.0, audit_records: heads.0, event_seq: heads.1 })
}
