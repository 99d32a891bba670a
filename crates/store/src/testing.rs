//! Fresh, isolated databases for tests of this crate and of the crates above it.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new database on the server named by the
//! environment variable [`POSTGRES_URL_VARIABLE`] (a URL whose user may create databases); every test gets its
//! own database, so tests run in parallel. A PostgreSQL test never skips silently: without the variable it fails
//! and says how to provide a server (the README's test command starts one).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Location, Options, Store, StoreError};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VARIABLE: &str = "GRIDLINE_TEST_POSTGRES_URL";

/// The environment variable choosing the backend of [`TestDatabase::from_env`]: `sqlite` (the default) or
/// `postgres`. `cargo xtask test` runs the server's tests once with each.
pub const BACKEND_VARIABLE: &str = "GRIDLINE_TEST_BACKEND";

/// A database for one test; a SQLite file is deleted when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Where the database is.
    pub location: Location,
    /// Keeps the SQLite directory alive.
    _directory: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// A new, empty SQLite database file.
    pub fn sqlite() -> TestDatabase {
        let directory = tempfile::tempdir().expect("a temporary directory for the test database");
        let path: PathBuf = directory.path().join("gridline.db");
        TestDatabase { location: Location::SqliteFile(path), _directory: Some(directory) }
    }

    /// A new, empty database on the backend [`BACKEND_VARIABLE`] names (SQLite when it names none). Any other
    /// value is an error, so a misspelt backend never quietly runs the tests on SQLite again.
    pub async fn from_env() -> TestDatabase {
        match std::env::var(BACKEND_VARIABLE).as_deref() {
            Err(_) | Ok("") | Ok("sqlite") => TestDatabase::sqlite(),
            Ok("postgres") => TestDatabase::postgres().await,
            Ok(other) => panic!("{BACKEND_VARIABLE}={other}: the test backends are `sqlite` and `postgres`"),
        }
    }

    /// A new, empty PostgreSQL database on the test server.
    pub async fn postgres() -> TestDatabase {
        let admin_url = std::env::var(POSTGRES_URL_VARIABLE).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VARIABLE} is not set: PostgreSQL tests need a server. Run the whole suite with `cargo xtask test`, \
                 which starts one, or set {POSTGRES_URL_VARIABLE}=postgres://USER@HOST:PORT/postgres"
            )
        });
        let name = format!(
            "gridline_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
        );
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the test PostgreSQL server at {}: {error}", crate::redact_url(&admin_url)));
        sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create the test database");
        let _ = sqlx::Connection::close(admin).await;
        TestDatabase { location: Location::Postgres(replace_database(&admin_url, &name)), _directory: None }
    }

    /// Opens (and migrates) a store on this database.
    pub async fn open(&self) -> Result<Store, StoreError> {
        Store::open(Options::new(self.location.clone())).await
    }
}

/// The URL with its database name replaced.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_replaced() {
        assert_eq!(super::replace_database("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(super::replace_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
        assert_eq!(super::replace_database("postgres://u@h/db?host=/tmp", "t1"), "postgres://u@h/t1?host=/tmp");
    }
}
