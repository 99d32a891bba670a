//! The single writer of a process: group commit with a savepoint per write.
//!
//! Writes are queued on a channel. The writer takes every write queued at that moment (up to
//! [`MAX_BATCH`]), opens one transaction, runs each write in its own savepoint, commits once and then answers
//! every caller. While one batch commits, the next one queues up, so under load one fsync acknowledges many
//! writes, and with a single client a write waits for nobody.
//!
//! On SQLite, the writer is the only writer of the database file (the write pool has one connection), and the
//! transaction starts with `BEGIN IMMEDIATE` so it never has to upgrade a read lock. On PostgreSQL, each batch
//! first locks the single row of `chain_heads`: batches of different nodes then run one after another, which
//! keeps event sequence numbers in commit order (a reader resuming after event N never misses an event that
//! commits later with a smaller number) and makes every check-then-write inside a write safe.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

use crate::db::{Batch, ChainHeads, Conn, Value};
use crate::{Pools, StoreError};

/// The most writes committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// The boxed `Result<T, E>` of a write.
type Outcome = Box<dyn Any + Send>;

type RunFn = Box<dyn for<'a, 'b> FnOnce(&'a mut Conn<'b>) -> BoxFuture<'a, (bool, Box<dyn Any + Send>)> + Send>;

trait Reply: Send {
    /// Answers the caller: `outcome` is the boxed `Result<T, E>` of the write if it ran, and `commit` says
    /// whether the batch committed.
    fn finish(self: Box<Self>, outcome: Option<Box<dyn Any + Send>>, commit: Result<(), &StoreError>);
}

struct Replier<T, E> {
    sender: oneshot::Sender<Result<T, E>>,
}

impl<T: Send + 'static, E: From<StoreError> + Send + 'static> Reply for Replier<T, E> {
    fn finish(self: Box<Self>, outcome: Option<Box<dyn Any + Send>>, commit: Result<(), &StoreError>) {
        let outcome = outcome.and_then(|boxed| boxed.downcast::<Result<T, E>>().ok()).map(|boxed| *boxed);
        let answer = match (outcome, commit) {
            // A failed write wrote nothing, whatever happened to its batch.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            // A database that cannot be reached stays "unavailable" for the caller (503, try again), not a failure.
            (Some(Ok(_)), Err(StoreError::Unavailable(message))) | (None, Err(StoreError::Unavailable(message))) => {
                Err(E::from(StoreError::Unavailable(message.clone())))
            }
            (Some(Ok(_)), Err(error)) | (None, Err(error)) => Err(E::from(StoreError::BatchFailed(error.to_string()))),
            (None, Ok(())) => Err(E::from(StoreError::BatchFailed("the write did not run".to_string()))),
        };
        // The caller may have gone away (a cancelled request); its write is committed all the same.
        let _ = self.sender.send(answer);
    }
}

struct Job {
    run: RunFn,
    reply: Box<dyn Reply>,
}

/// The handle callers submit writes through.
#[derive(Debug)]
pub(crate) struct WriterHandle {
    sender: tokio::sync::Mutex<Option<mpsc::Sender<Job>>>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Returned when a write could not even be queued.
#[derive(Debug, thiserror::Error)]
#[error("the writer has stopped")]
pub struct WriteError;

pub(crate) fn spawn(pools: Pools, events: Arc<watch::Sender<i64>>, health: Arc<crate::Health>) -> WriterHandle {
    let (sender, receiver) = mpsc::channel::<Job>(4096);
    let task = tokio::spawn(run(pools, receiver, events, health));
    WriterHandle { sender: tokio::sync::Mutex::new(Some(sender)), done: tokio::sync::Mutex::new(Some(task)) }
}

impl WriterHandle {
    pub(crate) async fn submit<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a, 'b> FnOnce(&'a mut Conn<'b>) -> BoxFuture<'a, Result<T, E>> + Send + 'static,
    {
        let (reply_sender, reply_receiver) = oneshot::channel::<Result<T, E>>();
        let run: RunFn = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                let ok = result.is_ok();
                (ok, Box::new(result) as Box<dyn Any + Send>)
            })
        });
        let job = Job { run, reply: Box::new(Replier { sender: reply_sender }) };
        let sender = self.sender.lock().await.clone();
        let Some(sender) = sender else { return Err(E::from(StoreError::WriterStopped)) };
        if sender.send(job).await.is_err() {
            return Err(E::from(StoreError::WriterStopped));
        }
        reply_receiver.await.unwrap_or_else(|_| Err(E::from(StoreError::WriterStopped)))
    }

    /// Stops taking writes, lets the queued ones finish, and waits for the writer to end.
    pub(crate) async fn stop(&self) {
        self.sender.lock().await.take();
        if let Some(task) = self.done.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn run(pools: Pools, mut receiver: mpsc::Receiver<Job>, events: Arc<watch::Sender<i64>>, health: Arc<crate::Health>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // While the database is known to be down, the batch is refused at once: nobody waits for a connection.
        if let Err(error) = health.check() {
            for job in batch {
                job.reply.finish(None, Err(&error));
            }
            continue;
        }
        run_batch(&pools, batch, &events).await;
    }
}

/// A write transaction on either backend.
enum Transaction {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Transaction {
    async fn begin(pools: &Pools) -> Result<Transaction, StoreError> {
        Ok(match pools {
            Pools::Sqlite { write, .. } => Transaction::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres { pool } => Transaction::Postgres(pool.begin().await?),
        })
    }

    fn conn<'a>(&'a mut self, batch: Option<&'a mut Batch>) -> Conn<'a> {
        let mut conn = match self {
            Transaction::Sqlite(tx) => Conn::sqlite(tx),
            Transaction::Postgres(tx) => Conn::postgres(tx),
        };
        conn.batch = batch;
        conn
    }

    async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Transaction::Sqlite(tx) => tx.rollback().await?,
            Transaction::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        match self {
            Transaction::Sqlite(tx) => tx.commit().await?,
            Transaction::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

async fn run_batch(pools: &Pools, batch: Vec<Job>, events: &watch::Sender<i64>) {
    let mut replies: Vec<(Box<dyn Reply>, Option<Outcome>)> = Vec::with_capacity(batch.len());
    let mut pending = batch.into_iter();
    let result = AssertUnwindSafe(async {
        let mut transaction = Transaction::begin(pools).await?;
        let is_postgres = matches!(transaction, Transaction::Postgres(_));
        // On PostgreSQL the row lock makes the batches of every node take turns; on SQLite the writer is alone.
        let head_query = if is_postgres {
            "SELECT event_seq, audit_seq, audit_hash FROM chain_heads WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT event_seq, audit_seq, audit_hash FROM chain_heads WHERE id = 1"
        };
        let head = transaction.conn(None).fetch_one(head_query, &[]).await?;
        let initial =
            ChainHeads { event_seq: head.get("event_seq")?, audit_seq: head.get("audit_seq")?, audit_hash: head.get("audit_hash")? };
        let mut batch = Batch { heads: initial.clone(), events: Vec::new(), audits: Vec::new() };
        // A write alone in its batch needs no savepoint: if it fails, the whole transaction is rolled back.
        let alone = pending.len() == 1;
        let mut failed_alone = false;
        // Each write of a batch runs in its own savepoint. The release of one and the opening of the next go to
        // the database together, one round trip between writes instead of two.
        if !alone {
            transaction.conn(None).execute_script("SAVEPOINT gridline_write").await?;
        }
        let mut first = true;
        for job in pending.by_ref() {
            if !alone && !first {
                transaction.conn(None).execute_script("RELEASE SAVEPOINT gridline_write; SAVEPOINT gridline_write").await?;
            }
            first = false;
            replies.push((job.reply, None));
            let before = (batch.heads.clone(), batch.events.len(), batch.audits.len());
            let (ok, outcome) = {
                let mut conn = transaction.conn(Some(&mut batch));
                (job.run)(&mut conn).await
            };
            if let Some(last) = replies.last_mut() {
                last.1 = Some(outcome);
            }
            if !ok {
                batch.heads = before.0;
                batch.events.truncate(before.1);
                batch.audits.truncate(before.2);
                if alone {
                    failed_alone = true;
                } else {
                    transaction.conn(None).execute("ROLLBACK TO SAVEPOINT gridline_write", &[]).await?;
                }
            }
        }
        if !alone {
            transaction.conn(None).execute_script("RELEASE SAVEPOINT gridline_write").await?;
        }
        if failed_alone {
            transaction.rollback().await?;
            return Ok::<i64, StoreError>(initial.event_seq);
        }
        if batch.heads != initial {
            let mut conn = transaction.conn(None);
            insert_rows(&mut conn, "events", crate::events::EVENT_COLUMNS, &batch.events).await?;
            insert_rows(&mut conn, "audit_log", crate::audit::AUDIT_COLUMNS, &batch.audits).await?;
            conn.execute(
                "UPDATE chain_heads SET event_seq = $1, audit_seq = $2, audit_hash = $3 WHERE id = 1",
                crate::params![batch.heads.event_seq, batch.heads.audit_seq, batch.heads.audit_hash.clone()],
            )
            .await?;
            if is_postgres && batch.heads.event_seq != initial.event_seq {
                // Delivered to every node's listener when, and only if, the transaction commits.
                conn.execute("SELECT pg_notify('gridline_events', $1)", crate::params![batch.heads.event_seq.to_string()]).await?;
            }
        }
        transaction.commit().await?;
        Ok::<i64, StoreError>(batch.heads.event_seq)
    })
    .catch_unwind()
    .await;

    let result = match result {
        Ok(result) => result,
        Err(panic) => {
            let message =
                panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            tracing::error!(%message, "a write panicked; its batch was rolled back");
            Err(StoreError::BatchFailed(format!("a write panicked: {message}")))
        }
    };
    match result {
        Ok(seq) => {
            events.send_if_modified(|latest| {
                let changed = seq > *latest;
                if changed {
                    *latest = seq;
                }
                changed
            });
            for (reply, outcome) in replies {
                reply.finish(outcome, Ok(()));
            }
        }
        Err(error) => {
            tracing::error!(%error, "a write batch failed and was rolled back");
            for (reply, outcome) in replies {
                reply.finish(outcome, Err(&error));
            }
            for job in pending {
                job.reply.finish(None, Err(&error));
            }
        }
    }
}

/// Rows per multi-row INSERT: well under both databases' limits on parameters per statement.
const ROWS_PER_INSERT: usize = 200;

/// Inserts `rows` into `table` with multi-row INSERTs.
async fn insert_rows(conn: &mut Conn<'_>, table: &str, columns: &str, rows: &[Vec<Value>]) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let width = chunk[0].len();
        let mut placeholders = Vec::with_capacity(chunk.len());
        for row_index in 0..chunk.len() {
            let fields: Vec<String> = (1..=width).map(|column| format!("${}", row_index * width + column)).collect();
            placeholders.push(format!("({})", fields.join(", ")));
        }
        let values: Vec<Value> = chunk.iter().flatten().cloned().collect();
        conn.execute(format!("INSERT INTO {table} ({columns}) VALUES {}", placeholders.join(", ")), &values).await?;
    }
    Ok(())
}
