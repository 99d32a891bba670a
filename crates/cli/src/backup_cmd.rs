//! `gridline backup FILE` and `gridline restore FILE`: a consistent copy of the database taken while Gridline
//! serves, and its return into a fresh data directory (or an empty PostgreSQL database).
//!
//! SQLite: the copy is `VACUUM INTO` (one read transaction: every write committed before it began is in it), checked
//! with `PRAGMA integrity_check`. PostgreSQL: `pg_dump --format=custom` (one snapshot) and `pg_restore` in one
//! transaction, found on the `PATH` or in `GRIDLINE_PG_BIN`. The audit signing key is not in the database, so not in
//! the backup: keep the key directory's `trusted.keys` with it (see docs/AUDIT.md).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use store::Location;

use crate::config::Settings;
use crate::output::say;
use crate::{app_error, open_app};

/// A PostgreSQL client program: from `GRIDLINE_PG_BIN` if set, else the `PATH`.
fn pg_program(name: &str) -> PathBuf {
    match std::env::var_os("GRIDLINE_PG_BIN") {
        Some(dir) => Path::new(&dir).join(name),
        None => PathBuf::from(name),
    }
}

/// The connection URL without its password, and the password: the tools get the password in `PGPASSWORD`, never on
/// their command line, where any local user could read it.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None) };
    let Some((credentials, host)) = rest.split_once('@') else { return (url.to_string(), None) };
    match credentials.split_once(':') {
        Some((user, password)) => (format!("{scheme}://{user}@{host}"), Some(password.to_string())),
        None => (url.to_string(), None),
    }
}

fn with_url(command: &mut Command, url: &str) {
    let (url, password) = split_password(url);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
}

fn run_tool(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("cannot run {what} (install the PostgreSQL client, or set GRIDLINE_PG_BIN)"))?;
    if !output.status.success() {
        anyhow::bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

pub async fn backup(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let locale = settings.locale;
    anyhow::ensure!(!file.exists(), "{} exists already; a backup never overwrites a file", file.display());
    match &settings.location {
        Location::SqliteFile(database) => {
            anyhow::ensure!(database.exists(), "there is no database at {}", database.display());
            let summary = store::backup::backup_sqlite(database, file).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            say(
                locale,
                "cli.backup_done",
                &[
                    ("file", file.display().to_string()),
                    ("records", summary.audit_records.to_string()),
                    ("events", summary.event_seq.to_string()),
                ],
            );
        }
        Location::Postgres(url) => {
            let mut command = Command::new(pg_program("pg_dump"));
            command.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(file);
            with_url(&mut command, url);
            run_tool(command, "pg_dump")?;
            // The archive must read back whole before it is called a backup.
            let mut list = Command::new(pg_program("pg_restore"));
            list.arg("--list").arg(file);
            run_tool(list, "pg_restore --list")?;
            say(locale, "cli.backup_done_postgres", &[("file", file.display().to_string())]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let locale = settings.locale;
    anyhow::ensure!(file.exists(), "there is no backup at {}", file.display());
    let summary = match &settings.location {
        Location::SqliteFile(database) => store::backup::restore_sqlite(file, database).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        Location::Postgres(url) => {
            let empty = store::backup::postgres_is_empty(url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(empty, "the database {} is not empty; restore into a new, empty database", store::redact_url(url));
            let mut command = Command::new(pg_program("pg_restore"));
            command.args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]);
            with_url(&mut command, url);
            command.arg(file);
            run_tool(command, "pg_restore")?;
            store::backup::postgres_summary(url).await.map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    // Opening migrates a backup taken by an older Gridline; the restore itself goes on the audit record.
    let app = open_app(settings).await?;
    let archived = match app.audit().audit_key_dir() {
        Some(dir) => app::audit::archive_journal(dir, app.now_ms()).map_err(|e| app_error(e, locale))?,
        None => None,
    };
    let ctx = crate::operator_context(locale);
    app.audit()
        .record_restore(&ctx, &file.display().to_string(), summary.audit_records, archived.as_deref())
        .await
        .map_err(|e| app_error(e, locale))?;
    app.store().close().await;
    say(
        locale,
        "cli.restore_done",
        &[
            ("file", file.display().to_string()),
            ("records", summary.audit_records.to_string()),
            ("events", summary.event_seq.to_string()),
            ("database", settings.describe_location()),
        ],
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_leave_the_url() {
        assert_eq!(
            super::split_password("postgres://gl:s3cret@db:5432/gridline"),
            ("postgres://gl@db:5432/gridline".into(), Some("s3cret".into()))
        );
        assert_eq!(super::split_password("postgres://gl@db/gridline"), ("postgres://gl@db/gridline".into(), None));
        assert_eq!(super::split_password("postgres://db/gridline"), ("postgres://db/gridline".into(), None));
    }
}
