//! The event stream: every state change appends one event in the same transaction as the change. Sequence
//! numbers come from `chain_heads` inside the writer's serialised transaction, so they are gap-free and in
//! commit order, which makes `Last-Event-ID` resumption exact.

use std::sync::Arc;

use domain::Classification;
use domain::registry::JurisdictionPath;
use tokio::sync::watch;

use crate::db::{Conn, Params, Row};
use crate::{StoreError, params, parse_json, subtree_range};

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// When it happened, Unix ms UTC.
    pub at_ms: i64,
    /// What happened, dotted: `member.created`, `jurisdiction.updated`.
    pub kind: String,
    /// The kind of thing it happened to: `member`.
    pub subject_type: String,
    /// The thing's id.
    pub subject_id: Option<String>,
    /// Who did it.
    pub actor_account: Option<i64>,
    /// Where the thing lives in the jurisdiction tree (for visibility filtering).
    pub path: Option<JurisdictionPath>,
    /// The organization that owns the thing (for visibility filtering).
    pub organization: Option<i64>,
    /// How the event is classified (for visibility filtering).
    pub classification: Classification,
    /// What changed, as JSON. Never personal data: an event says that a member changed, not their phone number.
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the stream, from 1 without gaps.
    pub seq: i64,
    /// When it happened, Unix ms UTC.
    pub at_ms: i64,
    /// What happened.
    pub kind: String,
    /// The kind of thing it happened to.
    pub subject_type: String,
    /// The thing's id.
    pub subject_id: Option<String>,
    /// Who did it.
    pub actor_account: Option<i64>,
    /// Where the thing lives.
    pub path: Option<JurisdictionPath>,
    /// The owning organization.
    pub organization: Option<i64>,
    /// Classification.
    pub classification: Classification,
    /// What changed.
    pub payload: serde_json::Value,
}

/// The columns of `events`, in the order rows are built.
pub(crate) const EVENT_COLUMNS: &str =
    "seq, at, kind, subject_type, subject_id, actor_account_id, path, organization_id, classification, payload";

/// Appends an event; returns its sequence number. Inside a write the row is inserted when the batch ends, so a
/// write does not read back the events it appends.
pub async fn append(conn: &mut Conn<'_>, event: &NewEvent) -> Result<i64, StoreError> {
    let row = |seq: i64| -> Vec<crate::db::Value> {
        params![
            seq,
            event.at_ms,
            event.kind.as_str(),
            event.subject_type.as_str(),
            event.subject_id.clone(),
            event.actor_account,
            event.path.as_ref().map(|path| path.as_str().to_string()),
            event.organization,
            event.classification.code(),
            event.payload.to_string(),
        ]
        .to_vec()
    };
    if let Some(batch) = conn.batch.as_deref_mut() {
        // Inside the writer: numbered now, inserted with the rest of the batch at its end.
        batch.heads.event_seq += 1;
        let seq = batch.heads.event_seq;
        batch.events.push(row(seq));
        return Ok(seq);
    }
    let seq: i64 =
        conn.fetch_one("UPDATE chain_heads SET event_seq = event_seq + 1 WHERE id = 1 RETURNING event_seq", &[]).await?.get("event_seq")?;
    conn.execute(format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"), &row(seq)).await?;
    Ok(seq)
}

/// The sequence number of the latest event (0 when there is none).
pub async fn latest_seq(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    conn.fetch_one("SELECT event_seq FROM chain_heads WHERE id = 1", &[]).await?.get("event_seq")
}

/// Which events a reader may see, as a store-level filter (built by the application from the policy).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// See every event.
    pub everything: bool,
    /// Classifications visible anywhere.
    pub public_classifications: Vec<Classification>,
    /// Subtrees whose events are visible, each with the highest classification visible there.
    pub subtrees: Vec<(JurisdictionPath, Classification)>,
    /// Organizations whose events are visible, each with the highest classification visible.
    pub organizations: Vec<(i64, Classification)>,
    /// The caller's own account: events about it (failed sign-ins) are visible to it whatever their class.
    pub account: Option<i64>,
    /// Only events about this subject type, if set.
    pub subject_type: Option<String>,
    /// Only events about this subject id, if set.
    pub subject_id: Option<String>,
}

fn classifications_up_to(highest: Classification) -> Vec<&'static str> {
    Classification::ALL.iter().filter(|c| **c <= highest).map(|c| c.code()).collect()
}

/// Events after `after_seq` that `filter` admits, oldest first, at most `limit`.
pub async fn list_after(conn: &mut Conn<'_>, after_seq: i64, filter: &EventFilter, limit: i64) -> Result<Vec<Event>, StoreError> {
    let mut params = Params::default();
    let mut sql = format!(
        "SELECT seq, at, kind, subject_type, subject_id, actor_account_id, path, organization_id, classification, payload
         FROM events WHERE seq > {}",
        params.push(after_seq)
    );
    if !filter.everything {
        let mut alternatives = Vec::new();
        for classification in &filter.public_classifications {
            alternatives.push(format!("classification = {}", params.push(classification.code())));
        }
        for (path, highest) in &filter.subtrees {
            let (start, end) = subtree_range(path);
            let allowed: Vec<String> = classifications_up_to(*highest).into_iter().map(|code| params.push(code)).collect();
            alternatives.push(format!(
                "(path >= {} AND path < {} AND classification IN ({}))",
                params.push(start),
                params.push(end),
                allowed.join(", ")
            ));
        }
        for (organization, highest) in &filter.organizations {
            let allowed: Vec<String> = classifications_up_to(*highest).into_iter().map(|code| params.push(code)).collect();
            alternatives.push(format!("(organization_id = {} AND classification IN ({}))", params.push(*organization), allowed.join(", ")));
        }
        if let Some(account) = filter.account {
            alternatives.push(format!("(subject_type = 'account' AND subject_id = {})", params.push(account.to_string())));
        }
        if alternatives.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
    }
    if let Some(subject_type) = &filter.subject_type {
        sql.push_str(&format!(" AND subject_type = {}", params.push(subject_type.clone())));
    }
    if let Some(subject_id) = &filter.subject_id {
        sql.push_str(&format!(" AND subject_id = {}", params.push(subject_id.clone())));
    }
    sql.push_str(&format!(" ORDER BY seq LIMIT {}", params.push(limit)));
    conn.fetch_all(sql, params.values()).await?.iter().map(decode).collect()
}

/// The events about an incident and about the tasks created for it, oldest first: the incident's timeline.
pub async fn events_about(conn: &mut Conn<'_>, incident_id: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
    conn.fetch_all(
        format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE (subject_type = 'incident' AND subject_id = $1)
                OR (subject_type = 'task' AND subject_id IN (SELECT CAST(id AS TEXT) FROM tasks WHERE subject_type = 'incident' AND subject_id = $2))
             ORDER BY seq LIMIT $3"
        ),
        crate::params![incident_id.to_string(), incident_id, limit],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

fn decode(row: &Row) -> Result<Event, StoreError> {
    let classification: String = row.get("classification")?;
    let path: Option<String> = row.get("path")?;
    Ok(Event {
        seq: row.get("seq")?,
        at_ms: row.get("at")?,
        kind: row.get("kind")?,
        subject_type: row.get("subject_type")?,
        subject_id: row.get("subject_id")?,
        actor_account: row.get("actor_account_id")?,
        path: path
            .as_deref()
            .map(|text| JurisdictionPath::parse(text).ok_or_else(|| StoreError::Corrupt(format!("events.path {text}"))))
            .transpose()?,
        organization: row.get("organization_id")?,
        classification: Classification::parse("classification", &classification)
            .map_err(|_| StoreError::Corrupt(format!("events.classification {classification}")))?,
        payload: parse_json("events.payload", &row.get::<String>("payload")?)?,
    })
}

/// Listens for other nodes' events (PostgreSQL `LISTEN gridline_events`) and forwards their sequence numbers.
pub(crate) async fn spawn_postgres_listener(
    pool: sqlx::PgPool,
    events: Arc<watch::Sender<i64>>,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    listener.listen("gridline_events").await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    if let Ok(seq) = notification.payload().parse::<i64>() {
                        events.send_if_modified(|latest| {
                            let changed = seq > *latest;
                            if changed {
                                *latest = seq;
                            }
                            changed
                        });
                    }
                }
                Err(sqlx::Error::PoolClosed) => break,
                Err(error) => {
                    // PgListener reconnects by itself on the next recv; wait a little to avoid spinning.
                    tracing::warn!(%error, "event listener lost its connection; reconnecting");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if events.is_closed() {
                        break;
                    }
                }
            }
        }
    }))
}
