//! A thin layer over the two database drivers, so that every query of Gridline is written once.
//!
//! Queries use `$1, $2, …` placeholders, which both PostgreSQL and SQLite (through sqlx) bind by number.
//! Values are limited to what both databases store alike: 64-bit integers, doubles, text, booleans and bytes.
//! Identifiers are integers, times are Unix milliseconds (UTC), structured values are JSON text, and geometry is
//! GeoJSON text with bounding-box columns for coarse filtering. That keeps one schema for both backends
//! (apart from DDL spelling) and one implementation of every repository function.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Row as _};

use crate::StoreError;

/// A query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A 64-bit integer, or NULL.
    Int(Option<i64>),
    /// A double, or NULL.
    Real(Option<f64>),
    /// Text, or NULL.
    Text(Option<String>),
    /// A boolean, or NULL.
    Bool(Option<bool>),
    /// Bytes, or NULL.
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(Some(value))
    }
}
impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Value {
        Value::Int(value)
    }
}
impl From<f64> for Value {
    fn from(value: f64) -> Value {
        Value::Real(Some(value))
    }
}
impl From<Option<f64>> for Value {
    fn from(value: Option<f64>) -> Value {
        Value::Real(value)
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Text(Some(value.to_string()))
    }
}
impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Text(Some(value))
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Value {
        Value::Text(Some(value.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Value {
        Value::Text(value)
    }
}
impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Value {
        Value::Text(value.map(str::to_string))
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Bool(Some(value))
    }
}
impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Value {
        Value::Bytes(Some(value))
    }
}

/// Builds a parameter list: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::Value::from($value)),*][..]
    };
}

/// SQL text: a static string, or one built at run time from trusted fragments only (column names from a fixed
/// list, placeholders). User input never goes into SQL text, only into parameters.
#[derive(Debug, Clone)]
pub enum Sql {
    /// A literal.
    Static(&'static str),
    /// Built at run time from trusted fragments.
    Built(String),
}

impl From<&'static str> for Sql {
    fn from(sql: &'static str) -> Sql {
        Sql::Static(sql)
    }
}

impl From<String> for Sql {
    fn from(sql: String) -> Sql {
        Sql::Built(sql)
    }
}

impl Sql {
    fn into_string(self) -> String {
        match self {
            Sql::Static(text) => text.to_string(),
            Sql::Built(text) => text,
        }
    }
}

/// A connection of either backend, borrowed from a pool or from the writer's transaction.
#[derive(Debug)]
pub struct Conn<'c> {
    link: Link<'c>,
    /// Inside the writer: the batch's heads of the event and audit sequences and the event and audit rows
    /// appended so far, kept in memory and written once at the end of the batch (the writer holds the only right to
    /// change them).
    pub(crate) batch: Option<&'c mut Batch>,
}

#[derive(Debug)]
enum Link<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// The heads of the two append-only sequences (see `chain_heads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHeads {
    /// The last event's sequence number.
    pub event_seq: i64,
    /// The last audit record's sequence number.
    pub audit_seq: i64,
    /// The last audit record's hash.
    pub audit_hash: String,
}

/// What a write batch appends to the event stream and the audit log: the heads and the pending rows.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The heads after the rows appended so far.
    pub heads: ChainHeads,
    /// Pending `events` rows, in sequence order.
    pub(crate) events: Vec<Vec<Value>>,
    /// Pending `audit_log` rows, in sequence order.
    pub(crate) audits: Vec<Vec<Value>>,
}

impl<'c> Conn<'c> {
    /// A SQLite connection.
    pub fn sqlite(connection: &'c mut SqliteConnection) -> Conn<'c> {
        Conn { link: Link::Sqlite(connection), batch: None }
    }

    /// A PostgreSQL connection.
    pub fn postgres(connection: &'c mut PgConnection) -> Conn<'c> {
        Conn { link: Link::Postgres(connection), batch: None }
    }

    /// Whether this is a PostgreSQL connection.
    pub fn is_postgres(&self) -> bool {
        matches!(self.link, Link::Postgres(_))
    }
}

/// A result row of either backend.
#[derive(Debug)]
pub enum Row {
    /// SQLite.
    Sqlite(SqliteRow),
    /// PostgreSQL.
    Postgres(PgRow),
}

/// A column type both backends decode alike.
pub trait Column: Sized {
    /// Decodes from a SQLite row.
    fn from_sqlite(row: &SqliteRow, name: &str) -> Result<Self, sqlx::Error>;
    /// Decodes from a PostgreSQL row.
    fn from_postgres(row: &PgRow, name: &str) -> Result<Self, sqlx::Error>;
}

macro_rules! column {
    ($($type:ty),*) => {$(
        impl Column for $type {
            fn from_sqlite(row: &SqliteRow, name: &str) -> Result<Self, sqlx::Error> {
                row.try_get(name)
            }
            fn from_postgres(row: &PgRow, name: &str) -> Result<Self, sqlx::Error> {
                row.try_get(name)
            }
        }
    )*};
}

column!(i64, Option<i64>, f64, Option<f64>, String, Option<String>, bool, Option<bool>, Vec<u8>, Option<Vec<u8>>);

impl Row {
    /// Decodes the column called `name`.
    pub fn get<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        let decoded = match self {
            Row::Sqlite(row) => T::from_sqlite(row, name),
            Row::Postgres(row) => T::from_postgres(row, name),
        };
        decoded.map_err(|error| StoreError::Decode { column: name.to_string(), message: error.to_string() })
    }
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for value in $params {
            query = match value {
                Value::Int(value) => query.bind(*value),
                Value::Real(value) => query.bind(*value),
                Value::Text(value) => query.bind(value.clone()),
                Value::Bool(value) => query.bind(*value),
                Value::Bytes(value) => query.bind(value.clone()),
            };
        }
        query
    }};
}

impl Conn<'_> {
    /// Which backend this connection belongs to.
    pub fn backend(&self) -> crate::Backend {
        match self.link {
            Link::Sqlite(_) => crate::Backend::Sqlite,
            Link::Postgres(_) => crate::Backend::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: impl Into<Sql>, params: &[Value]) -> Result<u64, StoreError> {
        let sql = AssertSqlSafe(sql.into().into_string());
        Ok(match &mut self.link {
            Link::Sqlite(conn) => bind_all!(sqlx::query::<sqlx::Sqlite>(sql), params).execute(&mut **conn).await?.rows_affected(),
            Link::Postgres(conn) => bind_all!(sqlx::query::<sqlx::Postgres>(sql), params).execute(&mut **conn).await?.rows_affected(),
        })
    }

    /// Runs a query; returns every row.
    pub async fn fetch_all(&mut self, sql: impl Into<Sql>, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let sql = AssertSqlSafe(sql.into().into_string());
        Ok(match &mut self.link {
            Link::Sqlite(conn) => {
                bind_all!(sqlx::query::<sqlx::Sqlite>(sql), params).fetch_all(&mut **conn).await?.into_iter().map(Row::Sqlite).collect()
            }
            Link::Postgres(conn) => {
                bind_all!(sqlx::query::<sqlx::Postgres>(sql), params).fetch_all(&mut **conn).await?.into_iter().map(Row::Postgres).collect()
            }
        })
    }

    /// Runs a query; returns its first row, if any.
    pub async fn fetch_optional(&mut self, sql: impl Into<Sql>, params: &[Value]) -> Result<Option<Row>, StoreError> {
        let sql = AssertSqlSafe(sql.into().into_string());
        Ok(match &mut self.link {
            Link::Sqlite(conn) => bind_all!(sqlx::query::<sqlx::Sqlite>(sql), params).fetch_optional(&mut **conn).await?.map(Row::Sqlite),
            Link::Postgres(conn) => {
                bind_all!(sqlx::query::<sqlx::Postgres>(sql), params).fetch_optional(&mut **conn).await?.map(Row::Postgres)
            }
        })
    }

    /// Runs a query that returns exactly one row.
    pub async fn fetch_one(&mut self, sql: impl Into<Sql>, params: &[Value]) -> Result<Row, StoreError> {
        self.fetch_optional(sql, params).await?.ok_or(StoreError::NoRow)
    }

    /// Runs several statements separated by semicolons, with no parameters (migrations).
    pub async fn execute_script(&mut self, sql: &'static str) -> Result<(), StoreError> {
        match &mut self.link {
            Link::Sqlite(conn) => {
                sqlx::raw_sql(sql).execute(&mut **conn).await?;
            }
            Link::Postgres(conn) => {
                sqlx::raw_sql(sql).execute(&mut **conn).await?;
            }
        }
        Ok(())
    }
}

/// Placeholders for building SQL with a variable number of parameters: `next()` gives `$1`, `$2`, ….
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<Value>,
}

impl Params {
    /// Adds a value and returns its placeholder.
    pub fn push(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// The values, in placeholder order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}
