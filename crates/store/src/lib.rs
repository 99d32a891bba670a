//! Persistence for Gridline on SQLite (embedded, the default) and PostgreSQL (several nodes sharing one
//! database), with one set of behaviours.
//!
//! What this crate owns:
//! - the schema and its migrations, one folder per backend (`migrations/sqlite`, `migrations/postgres`), applied
//!   on start;
//! - the single **writer**: every write transaction of a process goes through one task that batches the writes
//!   queued at that moment into one database transaction (group commit), each write inside its own savepoint, so
//!   one fsync acknowledges many writes and a failing write never takes its neighbours down;
//! - the append-only **event** table and the hash-chained **audit** log, written in the same transaction as the
//!   state they describe;
//! - repository functions for every table, each written once for both backends (see [`db`]).
//!
//! What it must never do: decide who may do what (that is `domain::policy`, applied by `app`), read the clock
//! (callers pass times in), or hold a write transaction open across anything but SQL.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod datasets;
pub mod db;
pub mod events;
pub mod households;
pub mod incidents;
pub mod layers;
pub mod list;
mod migrate;
pub mod registry;
pub mod sensors;
pub mod settings;
pub mod tasks;
pub mod testing;
pub mod warnings;
mod writer;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use tokio::sync::watch;

pub use db::{Batch, ChainHeads, Conn, Row, Value};
pub use migrate::{MIGRATIONS, Migration, latest_version};
pub use writer::WriteError;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    SqliteFile(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::SqliteFile(path) => write!(f, "SqliteFile({})", path.display()),
            Location::Postgres(url) => write!(f, "Postgres({})", redact_url(url)),
        }
    }
}

/// The URL with its password replaced by `***`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A value that must be unique is already taken; `constraint` names the index or column.
    #[error("unique constraint violated: {constraint}")]
    Unique {
        /// The constraint, index or column reported by the database.
        constraint: String,
    },
    /// A reference points at a row that does not exist, or a row is still referenced.
    #[error("foreign key constraint violated: {message}")]
    ForeignKey {
        /// The database's message.
        message: String,
    },
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
    /// A query expected a row and found none.
    #[error("no row returned")]
    NoRow,
    /// A stored value could not be decoded.
    #[error("cannot decode column {column}: {message}")]
    Decode {
        /// The column.
        column: String,
        /// What went wrong.
        message: String,
    },
    /// Stored data breaks an invariant (for example, JSON text that does not parse).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A migration failed or the stored schema does not match this program.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The write batch this write was part of failed as a whole.
    #[error("write batch failed: {0}")]
    BatchFailed(String),
    /// The writer task has stopped (the store is shutting down).
    #[error("the store's writer has stopped")]
    WriterStopped,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(database_error) => match database_error.kind() {
                sqlx::error::ErrorKind::UniqueViolation => StoreError::Unique {
                    constraint: database_error.constraint().map(str::to_string).unwrap_or_else(|| database_error.message().to_string()),
                },
                sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::ForeignKey { message: database_error.message().to_string() },
                _ => StoreError::Database(database_error.message().to_string()),
            },
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::RowNotFound => StoreError::NoRow,
            _ => StoreError::Database(error.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres { pool: PgPool },
}

#[derive(Debug)]
struct Inner {
    pools: Pools,
    writer: writer::WriterHandle,
    events: watch::Receiver<i64>,
    location: Location,
    listener: Option<tokio::task::JoinHandle<()>>,
    health: Arc<Health>,
    prober: Option<tokio::task::JoinHandle<()>>,
}

/// The store: cheap to clone, shared by every request handler and worker of a process.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the data lives.
    pub location: Location,
    /// Connections for reads (SQLite) or in all (PostgreSQL).
    pub max_connections: u32,
    /// SQLite only: commit without waiting for the disk (`synchronous=OFF`). For throwaway databases such as a
    /// drill's, never for real data: an acknowledged write may be lost in a crash.
    pub throwaway: bool,
}

impl Options {
    /// Default options for `location`.
    pub fn new(location: Location) -> Options {
        Options { location, max_connections: 8, throwaway: false }
    }
}

/// A connection for reads, borrowed from the pool until dropped.
#[derive(Debug)]
pub struct Reader {
    conn: ReaderConn,
}

#[derive(Debug)]
enum ReaderConn {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

impl Reader {
    /// The connection, for repository functions.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.conn {
            ReaderConn::Sqlite(conn) => Conn::sqlite(conn),
            ReaderConn::Postgres(conn) => Conn::postgres(conn),
        }
    }
}

/// Connection-pool figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Idle connections.
    pub idle: usize,
}

impl Store {
    /// Opens the store: connects, applies pending migrations, starts the writer (and, on PostgreSQL, the
    /// listener for other nodes' events).
    pub async fn open(options: Options) -> Result<Store, StoreError> {
        let pools = match &options.location {
            Location::SqliteFile(path) => {
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|error| StoreError::Unavailable(format!("{}: {error}", parent.display())))?;
                }
                let connect = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit is on disk before it is acknowledged, so it survives a power cut, not only a crash.
                    .synchronous(if options.throwaway { SqliteSynchronous::Off } else { SqliteSynchronous::Full })
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Reads come from the page cache and the mapped file, not from a system call per page: each
                    // connection keeps 16 MiB of pages, and the file is mapped (up to 1 GiB).
                    .pragma("cache_size", "-16384")
                    .pragma("mmap_size", "1073741824");
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(connect.clone())
                    .await
                    .map_err(|error| StoreError::Unavailable(format!("{}: {error}", path.display())))?;
                let read = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(connect.read_only(true))
                    .await
                    .map_err(|error| StoreError::Unavailable(format!("{}: {error}", path.display())))?;
                Pools::Sqlite { read, write }
            }
            Location::Postgres(url) => {
                let connect =
                    PgConnectOptions::from_str(url).map_err(|error| StoreError::Unavailable(format!("{}: {error}", redact_url(url))))?;
                // Gridline's statements are short and planned again each time: compiling them (JIT) costs more than it
                // saves (17 ms on a 10,000-row enqueue that takes 60).
                let connect = connect.options([("jit", "off")]);
                // A request waits at most this long for a connection: with the database down, a write is answered
                // 503 within seconds, not after half a minute.
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .connect_with(connect)
                    .await
                    .map_err(|error| StoreError::Unavailable(format!("{}: {error}", redact_url(url))))?;
                Pools::Postgres { pool }
            }
        };
        migrate::run(&pools).await?;
        let initial_seq = {
            let mut reader = reader_of(&pools).await?;
            events::latest_seq(&mut reader.conn()).await?
        };
        let (events_tx, events_rx) = watch::channel(initial_seq);
        let events_tx = Arc::new(events_tx);
        let listener = match &pools {
            Pools::Postgres { pool } => Some(events::spawn_postgres_listener(pool.clone(), events_tx.clone()).await?),
            Pools::Sqlite { .. } => None,
        };
        let health = Arc::new(Health::default());
        let prober = match (&options.location, &pools) {
            (Location::Postgres(url), Pools::Postgres { pool }) => Some(spawn_prober(url.clone(), pool.clone(), health.clone())),
            _ => None,
        };
        let writer = writer::spawn(pools.clone(), events_tx, health.clone());
        Ok(Store { inner: Arc::new(Inner { pools, writer, events: events_rx, location: options.location, listener, health, prober }) })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        match self.inner.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// Borrows a connection for reads; fails at once while the database is known to be unreachable.
    pub async fn reader(&self) -> Result<Reader, StoreError> {
        self.inner.health.check()?;
        reader_of(&self.inner.pools).await
    }

    /// Whether the database answered its last probe (PostgreSQL, probed every second); always true on SQLite.
    /// `/readyz` answers from this at once.
    pub fn is_reachable(&self) -> bool {
        self.inner.health.check().is_ok()
    }

    /// Runs `work` as one write: inside the writer's current batch transaction, in its own savepoint. If `work`
    /// returns `Err`, everything it wrote is rolled back and the error returned; if it returns `Ok`, its writes are
    /// committed with the batch and the value is returned once the commit is durable. `work` must only run SQL
    /// (no sleeping, hashing or network calls): it holds up every other write while it runs.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a, 'b> FnOnce(&'a mut Conn<'b>) -> futures_util::future::BoxFuture<'a, Result<T, E>> + Send + 'static,
    {
        self.inner.writer.submit(work).await
    }

    /// A receiver of the sequence number of the latest committed event; it changes when events are committed by
    /// this process or (on PostgreSQL) by any node.
    pub fn event_notifications(&self) -> watch::Receiver<i64> {
        self.inner.events.clone()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut reader = self.reader().await?;
        reader.conn().fetch_one("SELECT 1 AS one", &[]).await?;
        Ok(())
    }

    /// Connection-pool figures.
    pub fn pool_stats(&self) -> PoolStats {
        match &self.inner.pools {
            Pools::Sqlite { read, write } => PoolStats { size: read.size() + write.size(), idle: read.num_idle() + write.num_idle() },
            Pools::Postgres { pool } => PoolStats { size: pool.size(), idle: pool.num_idle() },
        }
    }

    /// Waits for queued writes to finish and closes every connection.
    pub async fn close(&self) {
        if let Some(prober) = &self.inner.prober {
            prober.abort();
        }
        self.inner.writer.stop().await;
        if let Some(listener) = &self.inner.listener {
            listener.abort();
        }
        match &self.inner.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres { pool } => pool.close().await,
        }
    }
}

/// How long a request waits for a PostgreSQL connection before it is answered "unavailable".
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the PostgreSQL server is probed, and how long a probe may take.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the database is reachable, from a probe on a connection of its own (so that a busy pool never makes it
/// look down). While it is not, reads and writes fail at once instead of each waiting for a connection.
#[derive(Debug, Default)]
pub(crate) struct Health {
    down_since: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

impl Health {
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match &*self.down_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            None => Ok(()),
            Some((since, error)) => {
                Err(StoreError::Unavailable(format!("the database has not answered for {} s: {error}", since.elapsed().as_secs())))
            }
        }
    }

    fn set(&self, outcome: Result<(), String>) {
        let mut state = self.down_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                if state.take().is_some() {
                    tracing::info!("the database answers again");
                }
            }
            Err(error) => {
                if state.is_none() {
                    tracing::error!(%error, "the database does not answer");
                    *state = Some((std::time::Instant::now(), error));
                }
            }
        }
    }
}

/// Probes the PostgreSQL server every second on a connection of its own, reconnecting as needed. The database is
/// marked down only after two failed probes in a row, and only when a connection of the pool cannot answer either
/// (a server at its connection limit refuses the probe's new connection, yet the pool still works).
fn spawn_prober(url: String, pool: sqlx::PgPool, health: Arc<Health>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut connection: Option<sqlx::PgConnection> = None;
        let mut failures = 0;
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let own = tokio::time::timeout(PROBE_TIMEOUT, async {
                if connection.is_none() {
                    connection = Some(<sqlx::PgConnection as sqlx::Connection>::connect(&url).await.map_err(|e| e.to_string())?);
                }
                let conn = connection.as_mut().expect("just connected");
                sqlx::Executor::execute(conn, "SELECT 1").await.map(|_| ()).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|_| Err("no answer within 2 s".to_string()));
            let outcome = match own {
                Ok(()) => Ok(()),
                Err(error) => {
                    connection = None;
                    let pooled = tokio::time::timeout(PROBE_TIMEOUT, async {
                        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
                        sqlx::Executor::execute(&mut *conn, "SELECT 1").await.map(|_| ()).map_err(|e| e.to_string())
                    })
                    .await
                    .unwrap_or_else(|_| Err("no answer within 2 s".to_string()));
                    pooled.map_err(|_| error)
                }
            };
            failures = if outcome.is_ok() { 0 } else { failures + 1 };
            if outcome.is_ok() || failures >= 2 {
                health.set(outcome);
            }
        }
    })
}

async fn reader_of(pools: &Pools) -> Result<Reader, StoreError> {
    Ok(Reader {
        conn: match pools {
            Pools::Sqlite { read, .. } => ReaderConn::Sqlite(read.acquire().await?),
            Pools::Postgres { pool } => ReaderConn::Postgres(pool.acquire().await?),
        },
    })
}

/// Decodes JSON text stored in `column`.
pub(crate) fn parse_json(column: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// The half-open range of paths `[start, end)` that lie in the subtree at `path` (the path itself included):
/// paths are compared as bytes (SQLite's default, PostgreSQL's `COLLATE "C"` on every path column), and every
/// path in the subtree starts with `path`, which ends with `/`, so the end is `path` with that `/` replaced by
/// the next byte, `0`.
pub fn subtree_range(path: &domain::registry::JurisdictionPath) -> (String, String) {
    let start = path.as_str().to_string();
    let end = format!("{}0", &start[..start.len() - 1]);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://gl:secret@db:5432/gridline"), "postgres://gl:***@db:5432/gridline");
        assert_eq!(redact_url("postgres://db/gridline"), "postgres://db/gridline");
        assert!(!format!("{:?}", Location::Postgres("postgres://u:pw@h/d".into())).contains("pw"));
    }

    #[test]
    fn subtree_ranges_are_exact() {
        use domain::ids::JurisdictionId;
        use domain::registry::JurisdictionPath;
        let path = JurisdictionPath::root(JurisdictionId(1)).child(JurisdictionId(4));
        let (start, end) = subtree_range(&path);
        let inside = |candidate: &str| candidate >= start.as_str() && candidate < end.as_str();
        assert!(inside("/1/4/"));
        assert!(inside("/1/4/9/"));
        assert!(inside("/1/4/99/12/"));
        assert!(!inside("/1/40/"));
        assert!(!inside("/1/41/"));
        assert!(!inside("/1/"));
        assert!(!inside("/1/3/"));
        assert!(!inside("/1/5/"));
    }
}
