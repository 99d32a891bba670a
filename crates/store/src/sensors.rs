//! Sensors, their readings, what ingest refused, rules and their episodes.

use crate::db::{Conn, Row, Value};
use crate::{StoreError, params};

/// A sensor's registered facts.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorFields {
    pub code: String,
    pub kind: String,
    pub quantity: String,
    pub unit: String,
    pub lon: f64,
    pub lat: f64,
    pub jurisdiction_id: i64,
    pub path: String,
    pub organization_id: Option<i64>,
    pub interval_seconds: i64,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
}

/// A stored sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorRow {
    pub id: i64,
    pub fields: SensorFields,
    pub last_reading_at: Option<i64>,
    pub last_value: Option<f64>,
    pub stale_since: Option<i64>,
    pub rejected_count: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const SENSOR_COLUMNS: &str = "id, code, kind, quantity, unit, lon, lat, jurisdiction_id, path, organization_id, interval_seconds, min_value, \
     max_value, last_reading_at, last_value, stale_since, rejected_count, version, created_at, updated_at";

fn decode_sensor(row: &Row) -> Result<SensorRow, StoreError> {
    Ok(SensorRow {
        id: row.get("id")?,
        fields: SensorFields {
            code: row.get("code")?,
            kind: row.get("kind")?,
            quantity: row.get("quantity")?,
            unit: row.get("unit")?,
            lon: row.get("lon")?,
            lat: row.get("lat")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            path: row.get("path")?,
            organization_id: row.get("organization_id")?,
            interval_seconds: row.get("interval_seconds")?,
            min_value: row.get("min_value")?,
            max_value: row.get("max_value")?,
        },
        last_reading_at: row.get("last_reading_at")?,
        last_value: row.get("last_value")?,
        stale_since: row.get("stale_since")?,
        rejected_count: row.get("rejected_count")?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Registers a sensor; `None` if its code is taken.
pub async fn insert_sensor(conn: &mut Conn<'_>, f: &SensorFields, at_ms: i64) -> Result<Option<SensorRow>, StoreError> {
    let values = vec![
        Value::from(f.code.as_str()),
        Value::from(f.kind.as_str()),
        Value::from(f.quantity.as_str()),
        Value::from(f.unit.as_str()),
        Value::from(f.lon),
        Value::from(f.lat),
        Value::from(f.jurisdiction_id),
        Value::from(f.path.as_str()),
        Value::from(f.organization_id),
        Value::from(f.interval_seconds),
        Value::from(f.min_value),
        Value::from(f.max_value),
        Value::from(at_ms),
    ];
    conn.fetch_optional(
        format!(
            "INSERT INTO sensors (code, kind, quantity, unit, lon, lat, jurisdiction_id, path, organization_id, interval_seconds, min_value,
                 max_value, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)
             ON CONFLICT (code) DO NOTHING RETURNING {SENSOR_COLUMNS}"
        ),
        &values,
    )
    .await?
    .as_ref()
    .map(decode_sensor)
    .transpose()
}

/// A sensor by id.
pub async fn get_sensor(conn: &mut Conn<'_>, id: i64) -> Result<Option<SensorRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_sensor)
        .transpose()
}

/// A sensor by code.
pub async fn sensor_by_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<SensorRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE code = $1"), params![code])
        .await?
        .as_ref()
        .map(decode_sensor)
        .transpose()
}

/// Every sensor whose path starts with `within` (all with `/`), by code.
pub async fn list_sensors(conn: &mut Conn<'_>, within: &str) -> Result<Vec<SensorRow>, StoreError> {
    conn.fetch_all(format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE path LIKE $1 ORDER BY code"), params![format!("{within}%")])
        .await?
        .iter()
        .map(decode_sensor)
        .collect()
}

/// Stores readings of one sensor; a reading already stored (same instant) is skipped. Answers how many were new.
/// The sensor's latest reading moves forward, and a stale sensor is fresh again.
pub async fn insert_readings(conn: &mut Conn<'_>, sensor_id: i64, readings: &[(i64, f64)], at_ms: i64) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in readings.chunks(300) {
        let mut sql = String::from("INSERT INTO readings (sensor_id, at, value) VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for (i, (at, value)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3));
            values.extend([Value::from(sensor_id), Value::from(*at), Value::from(*value)]);
        }
        sql.push_str(" ON CONFLICT (sensor_id, at) DO NOTHING");
        inserted += conn.execute(sql, &values).await?;
    }
    if let Some((last_at, last_value)) = readings.iter().copied().max_by_key(|(at, _)| *at) {
        conn.execute(
            "UPDATE sensors SET last_reading_at = $1, last_value = $2, stale_since = NULL, updated_at = $3
             WHERE id = $4 AND (last_reading_at IS NULL OR last_reading_at < $1)",
            params![last_at, last_value, at_ms, sensor_id],
        )
        .await?;
    }
    Ok(inserted)
}

/// The readings of a sensor from `from_ms` to `to_ms` (inclusive), oldest first.
pub async fn readings_between(conn: &mut Conn<'_>, sensor_id: i64, from_ms: i64, to_ms: i64) -> Result<Vec<(i64, f64)>, StoreError> {
    conn.fetch_all(
        "SELECT at, value FROM readings WHERE sensor_id = $1 AND at >= $2 AND at <= $3 ORDER BY at",
        params![sensor_id, from_ms, to_ms],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("at")?, row.get("value")?)))
    .collect()
}

/// A sensor's readings from `from_ms` to `to_ms` in buckets of `bucket_ms`, for charts: (bucket start, minimum,
/// mean, maximum, count), oldest first. The grouping runs in the database, so a month of minute readings comes back
/// as a few hundred rows.
pub async fn readings_downsampled(
    conn: &mut Conn<'_>,
    sensor_id: i64,
    from_ms: i64,
    to_ms: i64,
    bucket_ms: i64,
) -> Result<Vec<(i64, f64, f64, f64, i64)>, StoreError> {
    let bucket_ms = bucket_ms.max(1);
    // Integer division on both backends (`at` and the bucket are integers); the bucket is bound, never formatted.
    conn.fetch_all(
        "SELECT (at - $4) / $5 AS bucket, MIN(value) AS low, AVG(value) AS mean, MAX(value) AS high, COUNT(*) AS n
         FROM readings WHERE sensor_id = $1 AND at >= $2 AND at <= $3 GROUP BY (at - $4) / $5 ORDER BY bucket",
        params![sensor_id, from_ms, to_ms, from_ms, bucket_ms],
    )
    .await?
    .iter()
    .map(|row| {
        let bucket: i64 = row.get("bucket")?;
        Ok((from_ms + bucket * bucket_ms, row.get("low")?, row.get("mean")?, row.get("high")?, row.get("n")?))
    })
    .collect()
}

/// How many readings a sensor has.
pub async fn count_readings(conn: &mut Conn<'_>, sensor_id: i64) -> Result<i64, StoreError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM readings WHERE sensor_id = $1", params![sensor_id]).await?.get("n")
}

/// A refused reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub sensor_id: Option<i64>,
    pub sensor_code: Option<String>,
    pub channel: String,
    pub field: String,
    pub reason: String,
    pub excerpt: Option<String>,
}

/// Records refused readings (and counts them on their sensor).
pub async fn record_rejections(conn: &mut Conn<'_>, rejections: &[Rejection], at_ms: i64) -> Result<(), StoreError> {
    for r in rejections {
        conn.execute(
            "INSERT INTO ingest_rejections (sensor_id, sensor_code, channel, field, reason, excerpt, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params![r.sensor_id, r.sensor_code.clone(), r.channel.as_str(), r.field.as_str(), r.reason.as_str(), r.excerpt.clone(), at_ms],
        )
        .await?;
        if let Some(id) = r.sensor_id {
            conn.execute("UPDATE sensors SET rejected_count = rejected_count + 1 WHERE id = $1", params![id]).await?;
        }
    }
    Ok(())
}

/// The newest refusals for a sensor: (when, channel, field, reason, excerpt).
pub async fn rejections_of(
    conn: &mut Conn<'_>,
    sensor_id: i64,
    limit: i64,
) -> Result<Vec<(i64, String, String, String, Option<String>)>, StoreError> {
    conn.fetch_all(
        "SELECT created_at, channel, field, reason, excerpt FROM ingest_rejections WHERE sensor_id = $1 ORDER BY id DESC LIMIT $2",
        params![sensor_id, limit],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("created_at")?, row.get("channel")?, row.get("field")?, row.get("reason")?, row.get("excerpt")?)))
    .collect()
}

/// The newest refusals of every sensor, unknown sensors included: (at, sensor code named, channel, field, reason,
/// excerpt).
pub async fn recent_rejections(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<RejectionRow>, StoreError> {
    conn.fetch_all(
        "SELECT created_at, sensor_code, channel, field, reason, excerpt FROM ingest_rejections ORDER BY id DESC LIMIT $1",
        params![limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(RejectionRow {
            at: row.get("created_at")?,
            sensor_code: row.get("sensor_code")?,
            channel: row.get("channel")?,
            field: row.get("field")?,
            reason: row.get("reason")?,
            excerpt: row.get("excerpt")?,
        })
    })
    .collect()
}

/// A stored refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectionRow {
    pub at: i64,
    pub sensor_code: Option<String>,
    pub channel: String,
    pub field: String,
    pub reason: String,
    pub excerpt: Option<String>,
}

/// Flags the sensors that have sent nothing for three times their interval (counting from registration when they
/// never sent anything); answers those flagged now.
pub async fn flag_stale(conn: &mut Conn<'_>, now_ms: i64) -> Result<Vec<SensorRow>, StoreError> {
    conn.fetch_all(
        format!(
            "UPDATE sensors SET stale_since = $1
             WHERE stale_since IS NULL AND COALESCE(last_reading_at, created_at) < $1 - 3000 * interval_seconds
             RETURNING {SENSOR_COLUMNS}"
        ),
        params![now_ms],
    )
    .await?
    .iter()
    .map(decode_sensor)
    .collect()
}

// --------------------------------------------------------------------------------------------------------- rules

/// A rule revision.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub id: i64,
    pub code: String,
    pub revision: i64,
    pub definition: String,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: i64,
}

fn decode_rule(row: &Row) -> Result<RuleRow, StoreError> {
    Ok(RuleRow {
        id: row.get("id")?,
        code: row.get("code")?,
        revision: row.get("revision")?,
        definition: row.get("definition")?,
        enabled: row.get::<i64>("enabled")? != 0,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
    })
}

/// Saves a new revision of rule `code` (the next number).
pub async fn insert_rule(
    conn: &mut Conn<'_>,
    code: &str,
    definition: &str,
    enabled: bool,
    by: &str,
    at_ms: i64,
) -> Result<RuleRow, StoreError> {
    let next: i64 =
        conn.fetch_one("SELECT COALESCE(MAX(revision), 0) + 1 AS n FROM rules WHERE code = $1", params![code]).await?.get("n")?;
    let row = conn
        .fetch_one(
            "INSERT INTO rules (code, revision, definition, enabled, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, code, revision, definition, enabled, created_by, created_at",
            params![code, next, definition, i64::from(enabled), by, at_ms],
        )
        .await?;
    decode_rule(&row)
}

/// The newest revision of every rule, enabled or not, by code.
pub async fn latest_rules(conn: &mut Conn<'_>) -> Result<Vec<RuleRow>, StoreError> {
    conn.fetch_all(
        "SELECT r.id, r.code, r.revision, r.definition, r.enabled, r.created_by, r.created_at FROM rules r
         WHERE r.revision = (SELECT MAX(revision) FROM rules x WHERE x.code = r.code) ORDER BY r.code",
        &[],
    )
    .await?
    .iter()
    .map(decode_rule)
    .collect()
}

/// Every revision of a rule, newest first.
pub async fn rule_history(conn: &mut Conn<'_>, code: &str) -> Result<Vec<RuleRow>, StoreError> {
    conn.fetch_all(
        "SELECT id, code, revision, definition, enabled, created_by, created_at FROM rules WHERE code = $1 ORDER BY revision DESC",
        params![code],
    )
    .await?
    .iter()
    .map(decode_rule)
    .collect()
}

/// An episode of a rule's condition.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeRow {
    pub id: i64,
    pub rule_code: String,
    pub scope: String,
    pub started_at: i64,
    pub fired_at: Option<i64>,
    pub cleared_at: Option<i64>,
    pub evidence: Option<String>,
    pub warning_id: Option<i64>,
    pub incident_id: Option<i64>,
    pub task_id: Option<i64>,
}

const EPISODE_COLUMNS: &str = "id, rule_code, scope, started_at, fired_at, cleared_at, evidence, warning_id, incident_id, task_id";

fn decode_episode(row: &Row) -> Result<EpisodeRow, StoreError> {
    Ok(EpisodeRow {
        id: row.get("id")?,
        rule_code: row.get("rule_code")?,
        scope: row.get("scope")?,
        started_at: row.get("started_at")?,
        fired_at: row.get("fired_at")?,
        cleared_at: row.get("cleared_at")?,
        evidence: row.get("evidence")?,
        warning_id: row.get("warning_id")?,
        incident_id: row.get("incident_id")?,
        task_id: row.get("task_id")?,
    })
}

/// The open (not cleared) episode of a rule for a scope, if any.
pub async fn open_episode(conn: &mut Conn<'_>, rule_code: &str, scope: &str) -> Result<Option<EpisodeRow>, StoreError> {
    conn.fetch_optional(
        format!("SELECT {EPISODE_COLUMNS} FROM rule_episodes WHERE rule_code = $1 AND scope = $2 AND cleared_at IS NULL ORDER BY id DESC LIMIT 1"),
        params![rule_code, scope],
    )
    .await?
    .as_ref()
    .map(decode_episode)
    .transpose()
}

/// The (rule, scope) of every episode not cleared.
pub async fn open_scopes(conn: &mut Conn<'_>) -> Result<Vec<(String, String)>, StoreError> {
    conn.fetch_all("SELECT rule_code, scope FROM rule_episodes WHERE cleared_at IS NULL", &[])
        .await?
        .iter()
        .map(|row| Ok((row.get("rule_code")?, row.get("scope")?)))
        .collect()
}

/// The scopes (`sensor:{code}`, `jurisdiction:{id}`) with a fired episode not yet cleared: the sensors in alarm.
pub async fn scopes_in_alarm(conn: &mut Conn<'_>) -> Result<std::collections::BTreeSet<String>, StoreError> {
    conn.fetch_all("SELECT scope FROM rule_episodes WHERE cleared_at IS NULL AND fired_at IS NOT NULL", &[])
        .await?
        .iter()
        .map(|row| row.get::<String>("scope"))
        .collect()
}

/// Starts an episode (once for a rule, scope and start).
pub async fn start_episode(conn: &mut Conn<'_>, rule_code: &str, scope: &str, started_at: i64) -> Result<Option<EpisodeRow>, StoreError> {
    conn.fetch_optional(
        format!(
            "INSERT INTO rule_episodes (rule_code, scope, started_at) VALUES ($1, $2, $3)
             ON CONFLICT (rule_code, scope, started_at) DO NOTHING RETURNING {EPISODE_COLUMNS}"
        ),
        params![rule_code, scope, started_at],
    )
    .await?
    .as_ref()
    .map(decode_episode)
    .transpose()
}

/// Marks an episode fired, with its evidence and what it created; `false` if it had fired already (the caller
/// then creates nothing).
pub async fn fire_episode(conn: &mut Conn<'_>, id: i64, at_ms: i64, evidence: &str) -> Result<bool, StoreError> {
    Ok(conn
        .execute("UPDATE rule_episodes SET fired_at = $1, evidence = $2 WHERE id = $3 AND fired_at IS NULL", params![at_ms, evidence, id])
        .await?
        == 1)
}

/// Links what a firing created.
pub async fn link_episode(
    conn: &mut Conn<'_>,
    id: i64,
    warning_id: Option<i64>,
    incident_id: Option<i64>,
    task_id: Option<i64>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE rule_episodes SET warning_id = $1, incident_id = $2, task_id = $3 WHERE id = $4",
        params![warning_id, incident_id, task_id, id],
    )
    .await?;
    Ok(())
}

/// Ends an episode: the condition no longer holds.
pub async fn clear_episode(conn: &mut Conn<'_>, id: i64, at_ms: i64) -> Result<(), StoreError> {
    conn.execute("UPDATE rule_episodes SET cleared_at = $1 WHERE id = $2 AND cleared_at IS NULL", params![at_ms, id]).await?;
    Ok(())
}

/// The episodes of a rule, newest first.
pub async fn episodes_of(conn: &mut Conn<'_>, rule_code: &str, limit: i64) -> Result<Vec<EpisodeRow>, StoreError> {
    conn.fetch_all(
        format!("SELECT {EPISODE_COLUMNS} FROM rule_episodes WHERE rule_code = $1 ORDER BY id DESC LIMIT $2"),
        params![rule_code, limit],
    )
    .await?
    .iter()
    .map(decode_episode)
    .collect()
}
