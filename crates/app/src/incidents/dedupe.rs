//! The open incidents in memory, by place, for de-duplicating reports without a database read each time.
//!
//! The index follows the incidents table through a change feed ordered by `(updated_at, id)`, read at most once a
//! second; incidents this node opens are added the moment their write commits. So a report sees every incident
//! this node opened before it, and those of other nodes (sharing the database) within a second, even when their
//! clocks run up to five seconds behind.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use domain::incident::IncidentStatus;
use store::incidents::{Candidate, FollowedIncident, incidents_changed_since};
use tokio::sync::RwLock;

use crate::AppError;
use crate::incidents::Incidents;

/// How far behind its watermark the change feed is read again, in ms.
const FEED_OVERLAP_MS: i64 = 5_000;

/// Cells of 0.01° (about 1 km).
const CELL: f64 = 0.01;

fn cell(lon: f64, lat: f64) -> (i32, i32) {
    ((lon / CELL).floor() as i32, (lat / CELL).floor() as i32)
}

#[derive(Debug, Default)]
struct Open {
    by_cell: HashMap<(i32, i32), BTreeMap<i64, (Candidate, i64)>>,
    where_is: HashMap<i64, (i32, i32)>,
    watermark: (i64, i64),
    caught_up_at: Option<Instant>,
}

impl Open {
    fn remove(&mut self, id: i64) {
        if let Some(cell) = self.where_is.remove(&id)
            && let Some(bucket) = self.by_cell.get_mut(&cell)
        {
            bucket.remove(&id);
        }
    }

    fn put(&mut self, candidate: Candidate, known_at: i64) {
        self.remove(candidate.id);
        let at = cell(candidate.lon, candidate.lat);
        self.where_is.insert(candidate.id, at);
        self.by_cell.entry(at).or_default().insert(candidate.id, (candidate, known_at));
    }

    fn apply(&mut self, change: FollowedIncident) {
        let open = IncidentStatus::parse("status", &change.status).is_ok_and(IncidentStatus::is_open);
        self.watermark = self.watermark.max((change.updated_at, change.candidate.id));
        if open {
            self.put(change.candidate, change.known_at);
        } else {
            self.remove(change.candidate.id);
        }
    }
}

/// The index.
#[derive(Debug, Default)]
pub struct OpenIncidents {
    open: RwLock<Open>,
}

impl Incidents {
    async fn catch_up_open_incidents(&self, force: bool) -> Result<(), AppError> {
        let index = &self.open_incidents;
        {
            let open = index.open.read().await;
            if !force && open.caught_up_at.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
                return Ok(());
            }
        }
        let mut open = index.open.write().await;
        if !force && open.caught_up_at.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return Ok(());
        }
        // Re-read a window before the watermark: a write whose clock reading is earlier may commit later (another
        // node, or a transaction that waited for the writer). Applying a row twice is harmless, as it is the
        // incident's current state.
        let mut cursor = (open.watermark.0.saturating_sub(FEED_OVERLAP_MS), i64::MIN);
        loop {
            let changes = {
                let mut reader = self.kernel.store().reader().await?;
                incidents_changed_since(&mut reader.conn(), cursor.0, cursor.1, 10_000).await?
            };
            let count = changes.len();
            for change in changes {
                cursor = (change.updated_at, change.candidate.id);
                open.apply(change);
            }
            if count < 10_000 {
                break;
            }
        }
        open.caught_up_at = Some(Instant::now());
        Ok(())
    }

    /// Open incidents inside a box, known by `until_ms`, last seen since `since_ms`.
    pub(crate) async fn open_incidents_in(&self, bbox: [f64; 4], since_ms: i64, until_ms: i64) -> Result<Vec<Candidate>, AppError> {
        self.catch_up_open_incidents(false).await?;
        let open = self.open_incidents.open.read().await;
        let [west, south, east, north] = bbox;
        let (x0, y0) = cell(west, south);
        let (x1, y1) = cell(east, north);
        let mut found = Vec::new();
        for x in x0..=x1 {
            for y in y0..=y1 {
                let Some(bucket) = open.by_cell.get(&(x, y)) else { continue };
                for (candidate, known_at) in bucket.values() {
                    if candidate.lon >= west
                        && candidate.lon <= east
                        && candidate.lat >= south
                        && candidate.lat <= north
                        && candidate.last_seen_at >= since_ms
                        && *known_at <= until_ms
                    {
                        found.push(candidate.clone());
                    }
                }
            }
            if found.len() >= 500 {
                break;
            }
        }
        Ok(found)
    }

    /// Adds an incident this node just opened (its write has committed).
    pub(crate) async fn opened_incident(&self, candidate: Candidate, known_at: i64) {
        self.open_incidents.open.write().await.put(candidate, known_at);
    }

    /// Makes the next question read the change feed (after this node changed an incident's status).
    pub(crate) async fn incidents_changed(&self) {
        self.open_incidents.open.write().await.caught_up_at = None;
    }
}
