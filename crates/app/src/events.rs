//! Reading the event stream, filtered by what the caller may see.

use domain::Classification;
use domain::policy::{ReadFilter, ResourceKind, read_filter};
use store::events::{Event, EventFilter};

use crate::kernel::Kernel;
use crate::time::rfc3339;
use crate::{AppError, Context};

/// The event log read back: the live stream's catch-up and its filter.
#[derive(Debug, Clone)]
pub struct Events {
    pub(crate) kernel: Kernel,
}

/// An event on the wire (also the `data` of a Server-Sent Event).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// Position in the stream; resume after it with `Last-Event-ID`.
    pub seq: i64,
    /// When it happened (RFC 3339 UTC).
    pub at: String,
    /// What happened: `member.updated`, `jurisdiction.created`, ….
    pub kind: String,
    /// The kind of thing it happened to.
    pub subject_type: String,
    /// The thing's id.
    pub subject_id: Option<String>,
    /// Who did it (account id).
    pub actor_account_id: Option<i64>,
    /// Where (jurisdiction path).
    pub path: Option<String>,
    /// What changed (never personal data).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

pub(crate) fn view(event: Event) -> EventView {
    EventView {
        seq: event.seq,
        at: rfc3339(event.at_ms),
        kind: event.kind,
        subject_type: event.subject_type,
        subject_id: event.subject_id,
        actor_account_id: event.actor_account,
        path: event.path.map(|path| path.as_str().to_string()),
        payload: event.payload,
    }
}

/// The store filter of the events `ctx` may see: for each classification, where the policy lets them read it.
pub fn event_filter(ctx: &Context) -> EventFilter {
    if ctx.is_system() {
        return EventFilter { everything: true, ..EventFilter::default() };
    }
    let mut filter = EventFilter::default();
    let mut everywhere = Vec::new();
    for classification in Classification::ALL {
        match read_filter(&ctx.subject, ResourceKind::Event, *classification) {
            ReadFilter::Everything => everywhere.push(*classification),
            ReadFilter::Some { subtrees, organizations, .. } => {
                for path in subtrees {
                    match filter.subtrees.iter_mut().find(|(existing, _)| *existing == path) {
                        Some(entry) => entry.1 = entry.1.max(*classification),
                        None => filter.subtrees.push((path, *classification)),
                    }
                }
                for organization in organizations {
                    match filter.organizations.iter_mut().find(|(existing, _)| *existing == organization.0) {
                        Some(entry) => entry.1 = entry.1.max(*classification),
                        None => filter.organizations.push((organization.0, *classification)),
                    }
                }
            }
        }
    }
    if everywhere.len() == Classification::ALL.len() {
        filter.everything = true;
    }
    filter.account = ctx.account_id();
    filter.public_classifications = everywhere;
    filter
}

impl Events {
    /// Events after `after_seq` visible to the caller, oldest first.
    pub async fn events_after(&self, ctx: &Context, after_seq: i64, filter: &EventFilter, limit: i64) -> Result<Vec<EventView>, AppError> {
        let _ = ctx;
        let mut reader = self.kernel.store().reader().await?;
        let events = store::events::list_after(&mut reader.conn(), after_seq, filter, limit).await?;
        Ok(events.into_iter().map(view).collect())
    }

    /// The sequence number of the latest event.
    pub async fn latest_event_seq(&self) -> Result<i64, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        Ok(store::events::latest_seq(&mut reader.conn()).await?)
    }
}
