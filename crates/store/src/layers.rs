//! Map layers and their features: named sets of points, lines and polygons (OpenStreetMap facilities, shelters,
//! sensors, imported GeoJSON), queried by bounding box for the map. Points keep their position in `lon`/`lat`
//! columns so that a box query and a grid aggregation run in the database; every feature keeps its bounding box.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row, Value};
use crate::{Backend, StoreError, params};

/// A stored layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    /// Id.
    pub id: i64,
    /// Unique name used in URLs, such as `shelters`.
    pub name: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: Option<String>,
    /// `point`, `line`, `polygon` or `mixed`.
    pub geometry_kind: String,
    /// Classification code of the whole layer.
    pub classification: String,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// Where the layer belongs, if anywhere in particular.
    pub path: Option<JurisdictionPath>,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

/// The writable fields of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFields {
    /// Unique name.
    pub name: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: Option<String>,
    /// Geometry kind code.
    pub geometry_kind: String,
    /// Classification code.
    pub classification: String,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// Where the layer belongs.
    pub path: Option<JurisdictionPath>,
}

const LAYER_COLUMNS: &str =
    "id, name, title_zh, title_en, geometry_kind, classification, organization_id, path, version, created_at, updated_at";

fn decode_layer(row: &Row) -> Result<LayerRow, StoreError> {
    let path: Option<String> = row.get("path")?;
    Ok(LayerRow {
        id: row.get("id")?,
        name: row.get("name")?,
        title_zh: row.get("title_zh")?,
        title_en: row.get("title_en")?,
        geometry_kind: row.get("geometry_kind")?,
        classification: row.get("classification")?,
        organization_id: row.get("organization_id")?,
        path: path
            .as_deref()
            .map(|text| JurisdictionPath::parse(text).ok_or_else(|| StoreError::Corrupt(format!("layers.path {text}"))))
            .transpose()?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Creates the layer, or updates the one with the same name; returns it.
pub async fn upsert_layer(conn: &mut Conn<'_>, fields: &LayerFields, at_ms: i64) -> Result<LayerRow, StoreError> {
    let row = conn
        .fetch_one(
            format!(
                "INSERT INTO layers (name, title_zh, title_en, geometry_kind, classification, organization_id, path, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)
                 ON CONFLICT (name) DO UPDATE SET title_zh = excluded.title_zh, title_en = excluded.title_en,
                     geometry_kind = excluded.geometry_kind, classification = excluded.classification,
                     organization_id = excluded.organization_id, path = excluded.path,
                     version = layers.version + 1, updated_at = excluded.updated_at
                 RETURNING {LAYER_COLUMNS}"
            ),
            params![
                fields.name.as_str(),
                fields.title_zh.as_str(),
                fields.title_en.clone(),
                fields.geometry_kind.as_str(),
                fields.classification.as_str(),
                fields.organization_id,
                fields.path.as_ref().map(|p| p.as_str().to_string()),
                at_ms,
            ],
        )
        .await?;
    decode_layer(&row)
}

/// The layer called `name`.
pub async fn get_layer(conn: &mut Conn<'_>, name: &str) -> Result<Option<LayerRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {LAYER_COLUMNS} FROM layers WHERE name = $1"), params![name])
        .await?
        .as_ref()
        .map(decode_layer)
        .transpose()
}

/// Every layer, by name.
pub async fn list_layers(conn: &mut Conn<'_>) -> Result<Vec<LayerRow>, StoreError> {
    conn.fetch_all(format!("SELECT {LAYER_COLUMNS} FROM layers ORDER BY name"), &[]).await?.iter().map(decode_layer).collect()
}

/// How many features a layer has.
pub async fn count_features(conn: &mut Conn<'_>, layer_id: i64) -> Result<i64, StoreError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM features WHERE layer_id = $1", params![layer_id]).await?.get("n")
}

/// The box around every feature of a layer: west, south, east, north (`None` for an empty layer).
pub async fn layer_extent(conn: &mut Conn<'_>, layer_id: i64) -> Result<Option<[f64; 4]>, StoreError> {
    let row = conn
        .fetch_one(
            "SELECT MIN(min_lon) AS w, MIN(min_lat) AS s, MAX(max_lon) AS e, MAX(max_lat) AS n FROM features WHERE layer_id = $1",
            params![layer_id],
        )
        .await?;
    Ok(match (row.get::<Option<f64>>("w")?, row.get::<Option<f64>>("s")?, row.get::<Option<f64>>("e")?, row.get::<Option<f64>>("n")?) {
        (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
        _ => None,
    })
}

/// A feature to store.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureInput {
    /// The feature's stable id in its source (an OSM id, a row number, a department's asset code).
    pub external_id: String,
    /// A display name.
    pub name: Option<String>,
    /// GeoJSON geometry text.
    pub geometry: String,
    /// The position of a point feature.
    pub point: Option<(f64, f64)>,
    /// The bounding box: west, south, east, north.
    pub bbox: [f64; 4],
    /// Properties as JSON object text.
    pub properties: String,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertCounts {
    /// New features.
    pub inserted: u64,
    /// Features whose content changed.
    pub updated: u64,
    /// Features identical to what was stored.
    pub unchanged: u64,
}

/// Rows per multi-row upsert.
const ROWS_PER_STATEMENT: usize = 200;

/// Inserts or updates features by (layer, external id); a feature whose geometry, name and properties are unchanged
/// is left alone, so re-importing the same file changes nothing.
pub async fn upsert_features(
    conn: &mut Conn<'_>,
    layer_id: i64,
    features: &[FeatureInput],
    at_ms: i64,
) -> Result<UpsertCounts, StoreError> {
    let mut counts = UpsertCounts::default();
    let before = count_features(conn, layer_id).await?;
    let mut changed_or_new = 0_u64;
    for chunk in features.chunks(ROWS_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 12);
        for feature in chunk {
            values.extend([
                Value::from(layer_id),
                Value::from(feature.external_id.as_str()),
                Value::from(feature.name.clone()),
                Value::from(feature.geometry.as_str()),
                Value::from(feature.point.map(|p| p.0)),
                Value::from(feature.point.map(|p| p.1)),
                Value::from(feature.bbox[0]),
                Value::from(feature.bbox[1]),
                Value::from(feature.bbox[2]),
                Value::from(feature.bbox[3]),
                Value::from(feature.properties.as_str()),
                Value::from(at_ms),
            ]);
        }
        let sql = format!(
            "INSERT INTO features (layer_id, external_id, name, geometry, lon, lat, min_lon, min_lat, max_lon, max_lat, properties, updated_at)
             VALUES {}
             ON CONFLICT (layer_id, external_id) DO UPDATE SET name = excluded.name, geometry = excluded.geometry,
                 lon = excluded.lon, lat = excluded.lat, min_lon = excluded.min_lon, min_lat = excluded.min_lat,
                 max_lon = excluded.max_lon, max_lat = excluded.max_lat, properties = excluded.properties, updated_at = excluded.updated_at
             WHERE features.geometry <> excluded.geometry OR features.properties <> excluded.properties
                 OR COALESCE(features.name, '') <> COALESCE(excluded.name, '')",
            chunk.iter().enumerate().map(|(index, _)| {
                let base = index * 12;
                format!("({})", (1..=12).map(|column| format!("${}", base + column)).collect::<Vec<_>>().join(", "))
            }).collect::<Vec<_>>().join(", ")
        );
        changed_or_new += conn.execute(sql, &values).await?;
    }
    let after = count_features(conn, layer_id).await?;
    counts.inserted = (after - before).max(0) as u64;
    counts.updated = changed_or_new.saturating_sub(counts.inserted);
    counts.unchanged = (features.len() as u64).saturating_sub(counts.inserted + counts.updated);
    Ok(counts)
}

/// A feature as the map needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// Id.
    pub id: i64,
    /// Source id.
    pub external_id: String,
    /// Display name.
    pub name: Option<String>,
    /// GeoJSON geometry text.
    pub geometry: String,
    /// Properties JSON text.
    pub properties: String,
}

fn decode_feature(row: &Row) -> Result<FeatureRow, StoreError> {
    Ok(FeatureRow {
        id: row.get("id")?,
        external_id: row.get("external_id")?,
        name: row.get("name")?,
        geometry: row.get("geometry")?,
        properties: row.get("properties")?,
    })
}

/// The feature of a layer with this source id, if stored.
pub async fn feature_by_external_id(conn: &mut Conn<'_>, layer_id: i64, external_id: &str) -> Result<Option<FeatureRow>, StoreError> {
    conn.fetch_optional(
        "SELECT id, external_id, name, geometry, properties FROM features WHERE layer_id = $1 AND external_id = $2",
        params![layer_id, external_id],
    )
    .await?
    .as_ref()
    .map(decode_feature)
    .transpose()
}

/// Features whose bounding box meets `bbox` (west, south, east, north), at most `limit`.
pub async fn features_in_bbox(conn: &mut Conn<'_>, layer_id: i64, bbox: [f64; 4], limit: i64) -> Result<Vec<FeatureRow>, StoreError> {
    let [west, south, east, north] = bbox;
    conn.fetch_all(
        "SELECT id, external_id, name, geometry, properties FROM features
         WHERE layer_id = $1 AND min_lon <= $2 AND max_lon >= $3 AND min_lat <= $4 AND max_lat >= $5
         ORDER BY id LIMIT $6",
        params![layer_id, east, west, north, south, limit],
    )
    .await?
    .iter()
    .map(decode_feature)
    .collect()
}

/// How many features' bounding boxes meet `bbox`.
pub async fn count_in_bbox(conn: &mut Conn<'_>, layer_id: i64, bbox: [f64; 4]) -> Result<i64, StoreError> {
    let [west, south, east, north] = bbox;
    conn.fetch_one(
        "SELECT COUNT(*) AS n FROM features WHERE layer_id = $1 AND min_lon <= $2 AND max_lon >= $3 AND min_lat <= $4 AND max_lat >= $5",
        params![layer_id, east, west, north, south],
    )
    .await?
    .get("n")
}

/// A cell of a grid aggregation: how many points fall in it, and their mean position.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// Points in the cell.
    pub count: i64,
    /// Mean longitude.
    pub lon: f64,
    /// Mean latitude.
    pub lat: f64,
}

/// Aggregates the point features inside `bbox` into square cells of `cell_deg` degrees.
pub async fn point_grid(conn: &mut Conn<'_>, layer_id: i64, bbox: [f64; 4], cell_deg: f64) -> Result<Vec<GridCell>, StoreError> {
    let [west, south, east, north] = bbox;
    // Cell indices are floor((x - origin) / size); x >= origin inside the box, and the two databases spell floor
    // of a non-negative number differently (SQLite's CAST truncates, PostgreSQL's rounds).
    let (cx, cy) = match conn.backend() {
        Backend::Sqlite => ("CAST((lon - $2) / $6 AS INTEGER)", "CAST((lat - $3) / $6 AS INTEGER)"),
        Backend::Postgres => ("FLOOR((lon - $2) / $6)", "FLOOR((lat - $3) / $6)"),
    };
    let sql = format!(
        "SELECT COUNT(*) AS n, AVG(lon) AS lon, AVG(lat) AS lat FROM features
         WHERE layer_id = $1 AND lon >= $2 AND lat >= $3 AND lon <= $4 AND lat <= $5
         GROUP BY {cx}, {cy}"
    );
    conn.fetch_all(sql, params![layer_id, west, south, east, north, cell_deg])
        .await?
        .iter()
        .map(|row| Ok(GridCell { count: row.get("n")?, lon: row.get("lon")?, lat: row.get("lat")? }))
        .collect()
}
