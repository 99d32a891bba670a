//! The targeting index: every household and member position in the geo engine's exact point index, so that "who is
//! inside this area" is answered from memory, never by scanning a table.
//!
//! The index follows the database through a change feed ordered by `(updated_at, id)`: before each query it reads
//! the rows changed since its watermark (on a fresh process: all of them, in pages) and applies them. Rows written
//! by other nodes sharing a PostgreSQL database are picked up the same way.

use spatial::{Area, LonLat, PointIndex};
use store::Store;
use store::households::{PointChange, households_changed_since, members_changed_since};
use tokio::sync::Mutex;

use crate::AppError;

/// Rows read per page of the change feed.
const PAGE: i64 = 50_000;

#[derive(Debug, Default)]
struct Followed {
    index: PointIndex,
    watermark: (i64, i64),
}

impl Followed {
    fn apply(&mut self, changes: &[PointChange]) {
        for change in changes {
            let id = change.id as u64;
            let position = change.at.and_then(|(lon, lat)| LonLat::new(lon, lat).ok());
            match (self.index.get(id), position) {
                (Some(_), Some(at)) => {
                    let _ = self.index.move_point(id, at);
                }
                (None, Some(at)) => {
                    let _ = self.index.insert(id, at);
                }
                (Some(_), None) => {
                    let _ = self.index.remove(id);
                }
                (None, None) => {}
            }
            self.watermark = (change.updated_at, change.id);
        }
    }
}

/// Households and members by position.
#[derive(Debug, Default)]
pub struct TargetIndex {
    households: Mutex<Followed>,
    members: Mutex<Followed>,
}

/// Who is inside an area.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// Household ids, ascending.
    pub households: Vec<i64>,
    /// Member ids, ascending.
    pub members: Vec<i64>,
}

impl TargetIndex {
    /// Household and member ids inside `area` (a point on the boundary is inside), after catching up with the
    /// database.
    pub async fn inside(&self, store: &Store, area: &Area) -> Result<Targets, AppError> {
        let households = {
            let mut followed = self.households.lock().await;
            catch_up(store, &mut followed, false).await?;
            followed.index.ids(area)
        };
        let members = {
            let mut followed = self.members.lock().await;
            catch_up(store, &mut followed, true).await?;
            followed.index.ids(area)
        };
        let sorted = |ids: Vec<u64>| {
            let mut ids: Vec<i64> = ids.into_iter().map(|id| id as i64).collect();
            ids.sort_unstable();
            ids
        };
        Ok(Targets { households: sorted(households), members: sorted(members) })
    }

    /// How many households the index holds (after catching up).
    pub async fn household_count(&self, store: &Store) -> Result<usize, AppError> {
        let mut followed = self.households.lock().await;
        catch_up(store, &mut followed, false).await?;
        Ok(followed.index.len())
    }
}

async fn catch_up(store: &Store, followed: &mut Followed, members: bool) -> Result<(), AppError> {
    loop {
        let (after_updated, after_id) = followed.watermark;
        let changes = {
            let mut reader = store.reader().await?;
            if members {
                members_changed_since(&mut reader.conn(), after_updated, after_id, PAGE).await?
            } else {
                households_changed_since(&mut reader.conn(), after_updated, after_id, PAGE).await?
            }
        };
        followed.apply(&changes);
        if (changes.len() as i64) < PAGE {
            return Ok(());
        }
    }
}
