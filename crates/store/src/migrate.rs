//! Schema migrations: an ordered list, each with a SQLite and a PostgreSQL script, embedded in the binary and
//! applied on start in one transaction each. An applied migration is never edited: its checksum is stored, and a
//! mismatch stops the program rather than run against a schema it does not know.

use sha2::{Digest, Sha256};

use crate::db::Conn;
use crate::{Pools, StoreError};

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version: migrations apply in increasing order.
    pub version: i64,
    /// A short name.
    pub name: &'static str,
    /// The file names (under `migrations/sqlite` and `migrations/postgres`).
    pub file: &'static str,
    /// The SQLite script.
    pub sqlite: &'static str,
    /// The PostgreSQL script.
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            file: $file,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "core", "0001_core.sql"),
    migration!(2, "layers_and_mode", "0002_layers_and_mode.sql"),
    migration!(3, "warnings_tasks_outbox", "0003_warnings_tasks_outbox.sql"),
    migration!(4, "incidents_plans", "0004_incidents_plans.sql"),
    migration!(5, "incident_intake", "0005_incident_intake.sql"),
    migration!(6, "sensors_rules", "0006_sensors_rules.sql"),
    migration!(7, "rule_tasks", "0007_rule_tasks.sql"),
    migration!(8, "data_commons", "0008_data_commons.sql"),
    migration!(9, "audit_anchors", "0009_audit_anchors.sql"),
    migration!(10, "sessions", "0010_sessions.sql"),
];

fn checksum(script: &str) -> String {
    Sha256::digest(script.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

pub(crate) async fn run(pools: &Pools) -> Result<(), StoreError> {
    match pools {
        Pools::Sqlite { write, .. } => {
            let mut conn = write.acquire().await?;
            apply_all(&mut Conn::sqlite(&mut conn)).await
        }
        Pools::Postgres { pool } => {
            let mut conn = pool.acquire().await?;
            let mut conn = Conn::postgres(&mut conn);
            // Several nodes may start at once: one migrates, the others wait and then find nothing to do.
            conn.execute("SELECT pg_advisory_lock(7341001)", &[]).await?;
            let result = apply_all(&mut conn).await;
            conn.execute("SELECT pg_advisory_unlock(7341001)", &[]).await?;
            result
        }
    }
}

async fn apply_all(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    conn.execute(CREATE_TABLE, &[]).await?;
    let applied = conn.fetch_all("SELECT version, checksum FROM schema_migrations ORDER BY version", &[]).await?;
    let mut applied_versions = Vec::new();
    for row in &applied {
        let version: i64 = row.get("version")?;
        let stored: String = row.get("checksum")?;
        let Some(known) = MIGRATIONS.iter().find(|migration| migration.version == version) else {
            return Err(StoreError::Migration(format!(
                "the database has migration {version}, which this program does not know: it was written by a newer version of Gridline"
            )));
        };
        let script = script_for(conn, known);
        if checksum(script) != stored {
            return Err(StoreError::Migration(format!("migration {version} ({}) was changed after it was applied", known.file)));
        }
        applied_versions.push(version);
    }
    for migration in MIGRATIONS.iter().filter(|migration| !applied_versions.contains(&migration.version)) {
        let script = script_for(conn, migration);
        conn.execute("BEGIN", &[]).await?;
        let result = async {
            conn.execute_script(script).await?;
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                crate::params![migration.version, migration.name, checksum(script), now_ms()],
            )
            .await?;
            Ok::<(), StoreError>(())
        }
        .await;
        match result {
            Ok(()) => {
                conn.execute("COMMIT", &[]).await?;
                tracing::info!(version = migration.version, name = migration.name, "applied migration");
            }
            Err(error) => {
                let _ = conn.execute("ROLLBACK", &[]).await;
                return Err(StoreError::Migration(format!("{} failed: {error}", migration.file)));
            }
        }
    }
    Ok(())
}

fn script_for(conn: &Conn<'_>, migration: &Migration) -> &'static str {
    if conn.is_postgres() { migration.postgres } else { migration.sqlite }
}

/// The time a migration was applied is bookkeeping for operators, not domain data, so it reads the system clock
/// directly rather than the application's clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The latest schema version this program knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|migration| migration.version).unwrap_or(0)
}
