//! Which jurisdiction a point or an area lies in, from the boundaries held in memory: parsed once, and parsed again
//! only when a jurisdiction changes (checked by one cheap query per question). Every report asks this, so it must
//! not parse district boundaries of thousands of vertices each time.

use std::sync::Arc;

use domain::registry::JurisdictionPath;
use spatial::Area;
use tokio::sync::RwLock;

use crate::AppError;
use crate::registry::Registry;

#[derive(Debug, Default)]
struct Outlines {
    /// `(count, latest update)` of the jurisdictions table when built.
    built_for: Option<(i64, i64)>,
    /// Jurisdictions with a boundary, deepest first.
    areas: Vec<(i64, JurisdictionPath, Area)>,
    /// The root of the tree, if any.
    root: Option<(i64, JurisdictionPath)>,
}

/// The boundaries in memory.
#[derive(Debug, Default)]
pub struct Locator {
    outlines: RwLock<Arc<Outlines>>,
    /// When the table was last checked for changes: at most once a second (a boundary edited on another node is
    /// seen within a second; a busy intake does not pay a query per report).
    checked: std::sync::Mutex<Option<std::time::Instant>>,
    /// Until when every question checks (set when this node changes a jurisdiction, covering the write in flight).
    check_always_until: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Registry {
    async fn outlines(&self) -> Result<Arc<Outlines>, AppError> {
        let locator = &self.locator;
        let forced =
            locator.check_always_until.lock().map(|until| until.is_some_and(|until| std::time::Instant::now() < until)).unwrap_or(true);
        let fresh = !forced
            && locator
                .checked
                .lock()
                .map(|checked| checked.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1)))
                .unwrap_or(false);
        if fresh {
            let current = locator.outlines.read().await;
            if current.built_for.is_some() {
                return Ok(current.clone());
            }
        }
        let stamp = {
            let mut reader = self.kernel.store().reader().await?;
            let row =
                reader.conn().fetch_one("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS latest FROM jurisdictions", &[]).await?;
            (row.get::<i64>("n")?, row.get::<i64>("latest")?)
        };
        if let Ok(mut checked) = locator.checked.lock() {
            *checked = Some(std::time::Instant::now());
        }
        {
            let current = locator.outlines.read().await;
            if current.built_for == Some(stamp) {
                return Ok(current.clone());
            }
        }
        let mut guard = locator.outlines.write().await;
        if guard.built_for == Some(stamp) {
            return Ok(guard.clone());
        }
        let mut outlines = Outlines { built_for: Some(stamp), ..Outlines::default() };
        let mut reader = self.kernel.store().reader().await?;
        let rows = reader.conn().fetch_all("SELECT id, path, parent_id, boundary FROM jurisdictions ORDER BY path", &[]).await?;
        for row in rows {
            let id: i64 = row.get("id")?;
            let Some(path) = JurisdictionPath::parse(&row.get::<String>("path")?) else { continue };
            if row.get::<Option<i64>>("parent_id")?.is_none() && outlines.root.is_none() {
                outlines.root = Some((id, path.clone()));
            }
            if let Some(boundary) = row.get::<Option<String>>("boundary")?
                && let Ok(area) = Area::from_geojson(&boundary)
            {
                outlines.areas.push((id, path, area));
            }
        }
        outlines.areas.sort_by_key(|(_, path, _)| std::cmp::Reverse(path.ids().len()));
        let outlines = Arc::new(outlines);
        *guard = outlines.clone();
        Ok(outlines)
    }

    /// The deepest jurisdiction whose boundary holds every one of `points`, or the root of the tree.
    pub(crate) async fn jurisdiction_holding(&self, points: &[[f64; 2]]) -> Result<Option<(i64, JurisdictionPath)>, AppError> {
        let outlines = self.outlines().await?;
        for (id, path, area) in &outlines.areas {
            let bbox = area.bbox();
            if points.iter().all(|[lon, lat]| {
                *lon >= bbox.min_x && *lon <= bbox.max_x && *lat >= bbox.min_y && *lat <= bbox.max_y && area.contains(*lon, *lat)
            }) {
                return Ok(Some((*id, path.clone())));
            }
        }
        Ok(outlines.root.clone())
    }
}

impl Registry {
    /// Forgets the boundaries in memory: the next question reads them again (called after this node changes a
    /// jurisdiction; changes by other nodes are seen within a second).
    pub(crate) fn jurisdictions_changed(&self) {
        if let Ok(mut checked) = self.locator.checked.lock() {
            *checked = None;
        }
        if let Ok(mut until) = self.locator.check_always_until.lock() {
            *until = Some(std::time::Instant::now() + std::time::Duration::from_secs(5));
        }
    }
}
