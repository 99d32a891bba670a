//! The data commons: dataset metadata beside each stored layer, every feature change versioned, sharing policies,
//! and the log of reads of restricted and confidential data (with the residents each read included).

use crate::db::{Conn, Row, Value};
use crate::layers::FeatureRow;
use crate::{StoreError, params};

/// What a dataset says about itself beyond its layer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetMeta {
    /// `gas_pipelines`, `shelters`, `road_closures`, …
    pub kind: String,
    /// Its fields, JSON array of `{name, type, unit, classification, title_zh, title_en}`.
    pub schema: String,
    pub licence: Option<String>,
    pub description_zh: Option<String>,
    pub description_en: Option<String>,
    /// How often its owner means to update it; older data is stale.
    pub update_interval_seconds: Option<i64>,
    /// When its data last changed.
    pub data_updated_at: Option<i64>,
    /// Since when it has been flagged stale, if it is.
    pub stale_since: Option<i64>,
}

fn decode_meta(row: &Row) -> Result<(i64, DatasetMeta), StoreError> {
    Ok((
        row.get("layer_id")?,
        DatasetMeta {
            kind: row.get("kind")?,
            schema: row.get("schema")?,
            licence: row.get("licence")?,
            description_zh: row.get("description_zh")?,
            description_en: row.get("description_en")?,
            update_interval_seconds: row.get("update_interval_seconds")?,
            data_updated_at: row.get("data_updated_at")?,
            stale_since: row.get("stale_since")?,
        },
    ))
}

const META_COLUMNS: &str =
    "layer_id, kind, schema, licence, description_zh, description_en, update_interval_seconds, data_updated_at, stale_since";

/// Creates or replaces a layer's dataset metadata (its data times are kept).
pub async fn upsert_meta(conn: &mut Conn<'_>, layer_id: i64, meta: &DatasetMeta, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO datasets (layer_id, kind, schema, licence, description_zh, description_en, update_interval_seconds, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (layer_id) DO UPDATE SET kind = excluded.kind, schema = excluded.schema, licence = excluded.licence,
             description_zh = excluded.description_zh, description_en = excluded.description_en,
             update_interval_seconds = excluded.update_interval_seconds, updated_at = excluded.updated_at",
        params![
            layer_id,
            meta.kind.as_str(),
            meta.schema.as_str(),
            meta.licence.clone(),
            meta.description_zh.clone(),
            meta.description_en.clone(),
            meta.update_interval_seconds,
            at_ms
        ],
    )
    .await?;
    Ok(())
}

/// A layer's dataset metadata.
pub async fn get_meta(conn: &mut Conn<'_>, layer_id: i64) -> Result<Option<DatasetMeta>, StoreError> {
    conn.fetch_optional(format!("SELECT {META_COLUMNS} FROM datasets WHERE layer_id = $1"), params![layer_id])
        .await?
        .as_ref()
        .map(|row| decode_meta(row).map(|(_, meta)| meta))
        .transpose()
}

/// Every dataset's metadata, by layer id.
pub async fn all_meta(conn: &mut Conn<'_>) -> Result<Vec<(i64, DatasetMeta)>, StoreError> {
    conn.fetch_all(format!("SELECT {META_COLUMNS} FROM datasets ORDER BY layer_id"), &[]).await?.iter().map(decode_meta).collect()
}

/// Records that a dataset's data changed now: it is fresh again.
pub async fn touch(conn: &mut Conn<'_>, layer_id: i64, at_ms: i64) -> Result<(), StoreError> {
    conn.execute("UPDATE datasets SET data_updated_at = $1, stale_since = NULL WHERE layer_id = $2", params![at_ms, layer_id]).await?;
    Ok(())
}

/// Flags the datasets whose data is older than their update interval and were not flagged yet; answers their ids.
pub async fn flag_stale(conn: &mut Conn<'_>, now_ms: i64) -> Result<Vec<i64>, StoreError> {
    let rows = conn
        .fetch_all(
            "UPDATE datasets SET stale_since = $1
             WHERE stale_since IS NULL AND update_interval_seconds IS NOT NULL
               AND COALESCE(data_updated_at, updated_at) + update_interval_seconds * 1000 < $1
             RETURNING layer_id",
            params![now_ms],
        )
        .await?;
    rows.iter().map(|row| row.get("layer_id")).collect()
}

/// One change of a feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureChange {
    pub external_id: String,
    /// `insert`, `update` or `delete`.
    pub op: &'static str,
    pub name: Option<String>,
    pub geometry: Option<String>,
    pub properties: Option<String>,
}

/// The stored name, geometry and properties of the features with these ids.
pub async fn current_features(
    conn: &mut Conn<'_>,
    layer_id: i64,
    external_ids: &[String],
) -> Result<std::collections::HashMap<String, (Option<String>, String, String)>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in external_ids.chunks(500) {
        let mut values = vec![Value::from(layer_id)];
        let marks: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                values.push(Value::from(id.as_str()));
                format!("${}", i + 2)
            })
            .collect();
        let rows = conn
            .fetch_all(
                format!(
                    "SELECT external_id, name, geometry, properties FROM features WHERE layer_id = $1 AND external_id IN ({})",
                    marks.join(", ")
                ),
                &values,
            )
            .await?;
        for row in rows {
            found.insert(row.get("external_id")?, (row.get("name")?, row.get("geometry")?, row.get("properties")?));
        }
    }
    Ok(found)
}

/// Appends the versions of changed features.
pub async fn record_changes(conn: &mut Conn<'_>, layer_id: i64, changes: &[FeatureChange], by: &str, at_ms: i64) -> Result<(), StoreError> {
    for chunk in changes.chunks(150) {
        let mut sql = String::from(
            "INSERT INTO feature_versions (layer_id, external_id, op, name, geometry, properties, changed_by, changed_at) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 8);
        for (i, change) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 8;
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8));
            values.extend([
                Value::from(layer_id),
                Value::from(change.external_id.as_str()),
                Value::from(change.op),
                Value::from(change.name.clone()),
                Value::from(change.geometry.clone()),
                Value::from(change.properties.clone()),
                Value::from(by),
                Value::from(at_ms),
            ]);
        }
        conn.execute(sql, &values).await?;
    }
    Ok(())
}

/// Deletes features by id; answers how many there were.
pub async fn delete_features(conn: &mut Conn<'_>, layer_id: i64, external_ids: &[String]) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for id in external_ids {
        deleted += conn.execute("DELETE FROM features WHERE layer_id = $1 AND external_id = $2", params![layer_id, id.as_str()]).await?;
    }
    Ok(deleted)
}

/// The features of a layer as they were at `at_ms`: the newest version of each at that time, unless deleted.
pub async fn features_as_of(conn: &mut Conn<'_>, layer_id: i64, at_ms: i64, limit: i64) -> Result<Vec<FeatureRow>, StoreError> {
    conn.fetch_all(
        "SELECT v.id, v.external_id, v.name, v.geometry, v.properties FROM feature_versions v
         WHERE v.layer_id = $1 AND v.changed_at <= $2 AND v.op <> 'delete'
           AND v.id = (SELECT MAX(w.id) FROM feature_versions w WHERE w.layer_id = v.layer_id AND w.external_id = v.external_id AND w.changed_at <= $2)
         ORDER BY v.external_id LIMIT $3",
        params![layer_id, at_ms, limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(FeatureRow {
            id: row.get("id")?,
            external_id: row.get("external_id")?,
            name: row.get("name")?,
            geometry: row.get::<Option<String>>("geometry")?.unwrap_or_default(),
            properties: row.get::<Option<String>>("properties")?.unwrap_or_else(|| "{}".into()),
        })
    })
    .collect()
}

/// The history of one feature, oldest first: (op, properties, by, at).
pub async fn feature_history(
    conn: &mut Conn<'_>,
    layer_id: i64,
    external_id: &str,
) -> Result<Vec<(String, Option<String>, String, i64)>, StoreError> {
    conn.fetch_all(
        "SELECT op, properties, changed_by, changed_at FROM feature_versions WHERE layer_id = $1 AND external_id = $2 ORDER BY id",
        params![layer_id, external_id],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("op")?, row.get("properties")?, row.get("changed_by")?, row.get("changed_at")?)))
    .collect()
}

/// A sharing policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    pub id: i64,
    pub layer_id: i64,
    pub organization_id: Option<i64>,
    pub role: Option<String>,
    /// JSON array of field names; none, every field.
    pub fields: Option<String>,
    /// GeoJSON (Multi)Polygon text; none, anywhere.
    pub area: Option<String>,
    /// JSON `{category, min_grade, radius_m}`; none, a standing policy.
    pub activation: Option<String>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<i64>,
}

const POLICY_COLUMNS: &str =
    "id, layer_id, organization_id, role, fields, area, activation, note, created_by, created_at, revoked_by, revoked_at";

fn decode_policy(row: &Row) -> Result<PolicyRow, StoreError> {
    Ok(PolicyRow {
        id: row.get("id")?,
        layer_id: row.get("layer_id")?,
        organization_id: row.get("organization_id")?,
        role: row.get("role")?,
        fields: row.get("fields")?,
        area: row.get("area")?,
        activation: row.get("activation")?,
        note: row.get("note")?,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
        revoked_by: row.get("revoked_by")?,
        revoked_at: row.get("revoked_at")?,
    })
}

/// Stores a new policy.
pub async fn insert_policy(conn: &mut Conn<'_>, p: &PolicyRow) -> Result<PolicyRow, StoreError> {
    let row = conn
        .fetch_one(
            format!(
                "INSERT INTO sharing_policies (layer_id, organization_id, role, fields, area, activation, note, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {POLICY_COLUMNS}"
            ),
            params![
                p.layer_id,
                p.organization_id,
                p.role.clone(),
                p.fields.clone(),
                p.area.clone(),
                p.activation.clone(),
                p.note.clone(),
                p.created_by.as_str(),
                p.created_at
            ],
        )
        .await?;
    decode_policy(&row)
}

/// The policies of a layer (with the revoked ones when asked), oldest first.
pub async fn policies_of(conn: &mut Conn<'_>, layer_id: i64, with_revoked: bool) -> Result<Vec<PolicyRow>, StoreError> {
    let filter = if with_revoked { "" } else { " AND revoked_at IS NULL" };
    conn.fetch_all(format!("SELECT {POLICY_COLUMNS} FROM sharing_policies WHERE layer_id = $1{filter} ORDER BY id"), params![layer_id])
        .await?
        .iter()
        .map(decode_policy)
        .collect()
}

/// Revokes a policy; `false` if it was not in force.
pub async fn revoke_policy(conn: &mut Conn<'_>, layer_id: i64, id: i64, by: &str, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "UPDATE sharing_policies SET revoked_by = $1, revoked_at = $2 WHERE id = $3 AND layer_id = $4 AND revoked_at IS NULL",
            params![by, at_ms, id, layer_id],
        )
        .await?
        == 1)
}

/// One read of restricted or confidential data.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessEntry {
    pub id: i64,
    pub at: i64,
    pub layer_id: i64,
    pub owner_organization_id: Option<i64>,
    pub account_id: Option<i64>,
    pub actor: String,
    /// `owner`, `policy`, `incident`, `assigned`.
    pub purpose: String,
    pub incident_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub features: i64,
    /// JSON array of the field names returned.
    pub fields: String,
}

fn decode_access(row: &Row) -> Result<AccessEntry, StoreError> {
    Ok(AccessEntry {
        id: row.get("id")?,
        at: row.get("at")?,
        layer_id: row.get("layer_id")?,
        owner_organization_id: row.get("owner_organization_id")?,
        account_id: row.get("account_id")?,
        actor: row.get("actor")?,
        purpose: row.get("purpose")?,
        incident_id: row.get("incident_id")?,
        policy_id: row.get("policy_id")?,
        features: row.get("features")?,
        fields: row.get("fields")?,
    })
}

const ACCESS_COLUMNS: &str =
    "id, at, layer_id, owner_organization_id, account_id, actor, purpose, incident_id, policy_id, features, fields";

/// Logs a read, with the households it included; answers its id.
pub async fn log_access(conn: &mut Conn<'_>, entry: &AccessEntry, households: &[i64]) -> Result<i64, StoreError> {
    let id: i64 = conn
        .fetch_one(
            "INSERT INTO data_access_log (at, layer_id, owner_organization_id, account_id, actor, purpose, incident_id, policy_id, features, fields)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            params![
                entry.at,
                entry.layer_id,
                entry.owner_organization_id,
                entry.account_id,
                entry.actor.as_str(),
                entry.purpose.as_str(),
                entry.incident_id,
                entry.policy_id,
                entry.features,
                entry.fields.as_str()
            ],
        )
        .await?
        .get("id")?;
    for chunk in households.chunks(300) {
        let mut sql = String::from("INSERT INTO data_access_subjects (access_id, household_id) VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for (i, household) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${})", i * 2 + 1, i * 2 + 2));
            values.extend([Value::from(id), Value::from(*household)]);
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        conn.execute(sql, &values).await?;
    }
    Ok(id)
}

/// The reads of a layer, newest first.
pub async fn access_log(conn: &mut Conn<'_>, layer_id: i64, limit: i64) -> Result<Vec<AccessEntry>, StoreError> {
    conn.fetch_all(
        format!("SELECT {ACCESS_COLUMNS} FROM data_access_log WHERE layer_id = $1 ORDER BY id DESC LIMIT $2"),
        params![layer_id, limit],
    )
    .await?
    .iter()
    .map(decode_access)
    .collect()
}

/// The reads that included a household's record, newest first.
pub async fn accesses_of_household(conn: &mut Conn<'_>, household_id: i64, limit: i64) -> Result<Vec<AccessEntry>, StoreError> {
    conn.fetch_all(
        format!(
            "SELECT {} FROM data_access_log l JOIN data_access_subjects s ON s.access_id = l.id WHERE s.household_id = $1 ORDER BY l.id DESC LIMIT $2",
            ACCESS_COLUMNS.split(", ").map(|c| format!("l.{c}")).collect::<Vec<_>>().join(", ")
        ),
        params![household_id, limit],
    )
    .await?
    .iter()
    .map(decode_access)
    .collect()
}

/// Stores a resident's one-time code (hashed).
pub async fn insert_code(conn: &mut Conn<'_>, household_id: i64, code_hash: &str, at_ms: i64, expires_at: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO resident_codes (household_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        params![household_id, code_hash, at_ms, expires_at],
    )
    .await?;
    Ok(())
}

/// How many codes a household was sent since `since_ms` (for rate limiting).
pub async fn codes_since(conn: &mut Conn<'_>, household_id: i64, since_ms: i64) -> Result<i64, StoreError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM resident_codes WHERE household_id = $1 AND created_at >= $2", params![household_id, since_ms])
        .await?
        .get("n")
}

/// The newest unused, unexpired code of a household: (id, hash, attempts).
pub async fn live_code(conn: &mut Conn<'_>, household_id: i64, now_ms: i64) -> Result<Option<(i64, String, i64)>, StoreError> {
    conn.fetch_optional(
        "SELECT id, code_hash, attempts FROM resident_codes WHERE household_id = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1",
        params![household_id, now_ms],
    )
    .await?
    .map(|row| Ok((row.get("id")?, row.get("code_hash")?, row.get("attempts")?)))
    .transpose()
}

/// Counts a try at a code (refused once `max_attempts` were made, or when it was used); a right one is then marked
/// used, by whoever claims it first. Answers whether this try is accepted.
pub async fn try_code(conn: &mut Conn<'_>, id: i64, max_attempts: i64, correct: bool, at_ms: i64) -> Result<bool, StoreError> {
    let counted = conn
        .execute(
            "UPDATE resident_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND used_at IS NULL",
            params![id, max_attempts],
        )
        .await?;
    if counted != 1 || !correct {
        return Ok(false);
    }
    Ok(conn.execute("UPDATE resident_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL", params![at_ms, id]).await? == 1)
}

/// A household on the vulnerable-resident register, as the register dataset shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRow {
    pub household_id: i64,
    pub code: String,
    pub path: domain::registry::JurisdictionPath,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub residents: i64,
    pub phone: Option<String>,
    pub needs: String,
}

/// The households on the register inside a box, at most `limit`.
pub async fn vulnerable_in_bbox(conn: &mut Conn<'_>, bbox: [f64; 4], limit: i64) -> Result<Vec<RegisterRow>, StoreError> {
    let [west, south, east, north] = bbox;
    conn.fetch_all(
        "SELECT h.id, h.code, h.path, h.address, h.lon, h.lat, h.residents, h.phone, v.needs
         FROM households h JOIN vulnerable_residents v ON v.household_id = h.id
         WHERE h.lon >= $1 AND h.lon <= $2 AND h.lat >= $3 AND h.lat <= $4 ORDER BY h.id LIMIT $5",
        params![west, east, south, north, limit],
    )
    .await?
    .iter()
    .map(|row| {
        let path: String = row.get("path")?;
        Ok(RegisterRow {
            household_id: row.get("id")?,
            code: row.get("code")?,
            path: domain::registry::JurisdictionPath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("households.path {path}")))?,
            address: row.get("address")?,
            lon: row.get("lon")?,
            lat: row.get("lat")?,
            residents: row.get("residents")?,
            phone: row.get("phone")?,
            needs: row.get("needs")?,
        })
    })
    .collect()
}

/// The household a phone number belongs to (for residents' self-service), if exactly one.
pub async fn household_by_phone(conn: &mut Conn<'_>, phone: &str) -> Result<Option<i64>, StoreError> {
    let rows = conn.fetch_all("SELECT id FROM households WHERE phone = $1 LIMIT 2", params![phone]).await?;
    if rows.len() == 1 { Ok(Some(rows[0].get("id")?)) } else { Ok(None) }
}
