//! Monitoring: sensors, readings from every ingest path, and rules that act before anyone calls.
//!
//! Readings come in batches (HTTP `POST /api/v1/observations`, or one MQTT message). Each reading is checked on its
//! own; the good ones of a batch are stored, the bad ones are refused with the field and the reason, and every
//! refusal is kept for the sensor's owner to see. A reading delivered twice is stored once (its sensor and instant
//! are its key). After a batch is stored, the rules that watch its sensors are evaluated.
//!
//! A rule fires once per episode: an episode starts when its condition has held long enough and ends when the
//! condition clears (below the threshold by the hysteresis). The episode's row is unique by rule, scope and start,
//! and is marked fired in the same transaction that records its evidence, so two nodes evaluating the same readings
//! fire it once.

use std::collections::BTreeMap;

use domain::Classification;
use domain::error::{Invalid, InvalidReason};
use domain::policy::{AccountRole, DenyReason};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::sensors::{self as repo, Rejection, SensorFields, SensorRow};

use crate::util::Outcome;
use crate::{App, AppError, Context};

/// Settings of monitoring, from `[monitoring]` in `gridline.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// The MQTT broker readings come from (`mqtt://127.0.0.1:1883`); none, no MQTT ingest.
    pub mqtt_url: Option<String>,
    /// The client id of Gridline's persistent session at the broker (the same across restarts).
    pub mqtt_client_id: String,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig { mqtt_url: None, mqtt_client_id: "gridline".into() }
    }
}

/// The most readings one batch may carry; the ones beyond are refused.
pub const MAX_BATCH: usize = 10_000;

/// A new sensor.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSensor {
    /// Stable code, used in MQTT topics (`gridline/sensors/{code}/readings`).
    pub code: String,
    /// `rain_gauge`, `water_level_gauge`, `gas_detector`, `smoke_detector`, …
    pub kind: String,
    /// What it measures (`rainfall_1h`, `water_level`, `methane_lel`…).
    pub quantity: String,
    /// The unit its readings are in (`mm/h`, `m`, `%LEL`); readings in another unit are refused.
    pub unit: String,
    pub lon: f64,
    pub lat: f64,
    /// The owning organization.
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// Expected seconds between readings; three times this without a reading flags the sensor stale.
    pub interval_seconds: i64,
    /// The lowest and highest values the sensor can give; a reading outside is impossible and refused.
    #[serde(default)]
    pub min_value: Option<f64>,
    #[serde(default)]
    pub max_value: Option<f64>,
}

/// A sensor on the wire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SensorView {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub quantity: String,
    pub unit: String,
    pub lon: f64,
    pub lat: f64,
    pub jurisdiction_id: i64,
    pub organization_id: Option<i64>,
    pub interval_seconds: i64,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub last_reading_at: Option<String>,
    pub last_value: Option<f64>,
    /// Since when it has been silent for three intervals, if it is.
    pub stale_since: Option<String>,
    /// Readings refused so far.
    pub rejected_count: i64,
}

fn sensor_view(row: SensorRow) -> SensorView {
    SensorView {
        id: row.id,
        code: row.fields.code,
        kind: row.fields.kind,
        quantity: row.fields.quantity,
        unit: row.fields.unit,
        lon: row.fields.lon,
        lat: row.fields.lat,
        jurisdiction_id: row.fields.jurisdiction_id,
        organization_id: row.fields.organization_id,
        interval_seconds: row.fields.interval_seconds,
        min_value: row.fields.min_value,
        max_value: row.fields.max_value,
        last_reading_at: row.last_reading_at.map(crate::time::rfc3339),
        last_value: row.last_value,
        stale_since: row.stale_since.map(crate::time::rfc3339),
        rejected_count: row.rejected_count,
    }
}

/// A reading refused, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct RefusedReading {
    /// Its position in the batch (from 0).
    pub index: usize,
    /// The sensor it named, if it named one.
    pub sensor: Option<String>,
    /// The field at fault: `sensor`, `at`, `value`, `unit`, or `reading` for the whole item.
    pub field: String,
    /// A stable code: `unknown_sensor`, `malformed`, `not_a_number`, `impossible_value`, `wrong_unit`,
    /// `out_of_order`, `in_the_future`, `batch_too_large`, `not_permitted`.
    pub reason: String,
}

/// What a batch did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema, PartialEq)]
pub struct IngestReport {
    /// Readings stored now.
    pub accepted: usize,
    /// Readings that were stored before (a redelivery): not stored again.
    pub duplicates: usize,
    /// Readings refused.
    pub rejected: Vec<RefusedReading>,
    /// Rules that fired because of this batch: (rule, episode id).
    pub fired: Vec<(String, i64)>,
}

/// One reading as a channel sends it. Fields are read one by one so that a bad item names its field.
fn parse_time(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A rule as written (JSON or YAML).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// Stable code.
    pub code: String,
    pub title_zh: String,
    #[serde(default)]
    pub title_en: Option<String>,
    /// Which sensors it watches: every sensor of a kind, or listed codes.
    pub sensors: RuleSensors,
    /// The condition on each sensor's readings.
    pub condition: Condition,
    /// Fire only when at least this many sensors in the same grid hold the condition (default 1: each sensor alone).
    #[serde(default)]
    pub together: Option<Together>,
    pub actions: Actions,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSensors {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub codes: Vec<String>,
}

/// `above` a value (or `below` it) for at least `for_minutes`, clearing only once past the value by `hysteresis`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub for_minutes: f64,
    #[serde(default)]
    pub hysteresis: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Together {
    pub min_sensors: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Draft a warning for the sensor's grid (a person approves and issues it).
    #[serde(default)]
    pub draft_warning: Option<DraftWarningAction>,
    /// Open an incident at the sensor.
    #[serde(default)]
    pub open_incident: Option<OpenIncidentAction>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DraftWarningAction {
    pub level: String,
    pub hazard: String,
    #[serde(default = "six")]
    pub expires_hours: i64,
}

fn six() -> i64 {
    6
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenIncidentAction {
    pub category: String,
    pub subtype: String,
}

impl Condition {
    /// Whether a value enters the condition.
    fn enters(&self, value: f64) -> bool {
        match (self.above, self.below) {
            (Some(above), _) => value >= above,
            (None, Some(below)) => value <= below,
            (None, None) => false,
        }
    }

    /// Whether a value keeps an entered condition (the hysteresis band).
    fn keeps(&self, value: f64) -> bool {
        match (self.above, self.below) {
            (Some(above), _) => value >= above - self.hysteresis,
            (None, Some(below)) => value <= below + self.hysteresis,
            (None, None) => false,
        }
    }
}

/// Since when a sensor's condition has held, at the latest reading, from its readings (oldest first): the first
/// reading that entered the condition in the run of readings that kept it up to the last one, with no gap longer
/// than `max_gap_ms`.
pub fn holding_since(condition: &Condition, readings: &[(i64, f64)], max_gap_ms: i64) -> Option<i64> {
    let mut since = None;
    let mut previous: Option<i64> = None;
    for &(at, value) in readings {
        let gap = previous.is_some_and(|p| at - p > max_gap_ms);
        previous = Some(at);
        since = match since {
            Some(start) if !gap && condition.keeps(value) => Some(start),
            _ if condition.enters(value) => Some(at),
            _ => None,
        };
    }
    since
}

impl RuleDefinition {
    /// Reads a rule from JSON or YAML text; errors name the line and the field.
    pub fn parse(text: &str) -> Result<RuleDefinition, Invalid> {
        let rule: RuleDefinition = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                Invalid::new(
                    "rule",
                    InvalidReason::Explained {
                        rule: "malformed".into(),
                        en: format!("line {}, column {}: {e}", e.line(), e.column()),
                        zh: format!("第 {} 行第 {} 列：{e}", e.line(), e.column()),
                    },
                )
            })?
        } else {
            yaml_serde::from_str(text).map_err(|e| {
                let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
                Invalid::new(
                    "rule",
                    InvalidReason::Explained {
                        rule: "malformed".into(),
                        en: format!("line {line}, column {column}: {e}"),
                        zh: format!("第 {line} 行第 {column} 列：{e}"),
                    },
                )
            })?
        };
        rule.check()?;
        Ok(rule)
    }

    fn check(&self) -> Result<(), Invalid> {
        domain::text::Code::parse("code", &self.code)?;
        if self.sensors.kind.is_none() && self.sensors.codes.is_empty() {
            return Err(Invalid::new("sensors", InvalidReason::Required));
        }
        if self.condition.above.is_some() == self.condition.below.is_some() {
            return Err(Invalid::new(
                "condition",
                InvalidReason::Explained {
                    rule: "above_or_below".into(),
                    en: "give exactly one of above and below".into(),
                    zh: "above 与 below 须且只能给出其一".into(),
                },
            ));
        }
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        if !finite(self.condition.above)
            || !finite(self.condition.below)
            || !self.condition.hysteresis.is_finite()
            || self.condition.hysteresis < 0.0
        {
            return Err(Invalid::new("condition.hysteresis", InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() }));
        }
        if !(0.0..=7.0 * 24.0 * 60.0).contains(&self.condition.for_minutes) {
            return Err(Invalid::new("condition.for_minutes", InvalidReason::OutOfRange { min: "0".into(), max: "10080".into() }));
        }
        if self.together.as_ref().is_some_and(|t| t.min_sensors == 0 || t.min_sensors > 100) {
            return Err(Invalid::new("together.min_sensors", InvalidReason::OutOfRange { min: "1".into(), max: "100".into() }));
        }
        if self.actions.draft_warning.is_none() && self.actions.open_incident.is_none() {
            return Err(Invalid::new("actions", InvalidReason::Required));
        }
        Ok(())
    }

    fn watches(&self, sensor: &SensorRow) -> bool {
        self.sensors.codes.contains(&sensor.fields.code) || self.sensors.kind.as_deref() == Some(sensor.fields.kind.as_str())
    }
}

/// A rule on the wire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub code: String,
    pub revision: i64,
    pub enabled: bool,
    pub definition: RuleDefinition,
    pub saved_by: String,
    pub saved_at: String,
}

/// An episode on the wire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EpisodeView {
    pub id: i64,
    pub rule: String,
    pub scope: String,
    pub started_at: String,
    pub fired_at: Option<String>,
    pub cleared_at: Option<String>,
    /// The readings that made it fire.
    #[schema(value_type = Object)]
    pub evidence: Option<Value>,
    pub warning_id: Option<i64>,
    pub incident_id: Option<i64>,
}

fn signed_in(ctx: &Context) -> Result<(), AppError> {
    if ctx.subject.is_authenticated() || ctx.is_system() { Ok(()) } else { Err(AppError::Forbidden { reason: DenyReason::SignInRequired }) }
}

fn may_manage(ctx: &Context) -> bool {
    ctx.is_system() || ctx.subject.grants.iter().any(|g| matches!(g.role, AccountRole::Admin | AccountRole::DutyOfficer))
}

fn may_feed(ctx: &Context, sensor: &SensorRow) -> bool {
    may_manage(ctx)
        || sensor.fields.organization_id.is_some_and(|org| ctx.subject.grants.iter().any(|g| g.organization.is_some_and(|o| o.0 == org)))
}

impl App {
    /// Registers a sensor (administrators and duty officers).
    pub async fn create_sensor(&self, ctx: &Context, input: NewSensor) -> Result<SensorView, AppError> {
        if !may_manage(ctx) {
            return Err(AppError::Forbidden { reason: DenyReason::NotPermitted });
        }
        let code = domain::text::Code::parse("code", &input.code)?.as_str().to_string();
        let point = domain::geometry::GeoPoint::parse("position", input.lon, input.lat)?;
        if input.interval_seconds < 1 || input.interval_seconds > 7 * 86_400 {
            return Err(Invalid::new("interval_seconds", InvalidReason::OutOfRange { min: "1".into(), max: "604800".into() }).into());
        }
        if let (Some(min), Some(max)) = (input.min_value, input.max_value)
            && !(min.is_finite() && max.is_finite() && min < max)
        {
            return Err(Invalid::new("max_value", InvalidReason::OutOfRange { min: format!("{min}"), max: "∞".into() }).into());
        }
        for (field, text) in [("kind", &input.kind), ("quantity", &input.quantity), ("unit", &input.unit)] {
            if text.trim().is_empty() || text.len() > 40 {
                return Err(Invalid::new(field, InvalidReason::Required).into());
            }
        }
        let (jurisdiction_id, path) =
            self.jurisdiction_holding(&[[point.lon(), point.lat()]]).await?.ok_or_else(|| Invalid::new("lon", InvalidReason::NotFound))?;
        let path = path.as_str().to_string();
        let fields = SensorFields {
            code: code.clone(),
            kind: input.kind.trim().into(),
            quantity: input.quantity.trim().into(),
            unit: input.unit.trim().into(),
            lon: point.lon(),
            lat: point.lat(),
            jurisdiction_id,
            path,
            organization_id: input.organization_id,
            interval_seconds: input.interval_seconds,
            min_value: input.min_value,
            max_value: input.max_value,
        };
        let now = self.now_ms();
        let ctx2 = ctx.clone();
        let app = self.clone();
        let row = self
            .transact(move |c| {
                Box::pin(async move {
                    let Some(row) = repo::insert_sensor(c, &fields, now).await? else {
                        return Err(AppError::Duplicate { field: "code".into() });
                    };
                    store::audit::append(c, &app.audit(&ctx2, "sensor.create", "sensor", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(sensor_view(row))
    }

    /// Every sensor, by code.
    pub async fn list_sensors(&self, ctx: &Context) -> Result<Vec<SensorView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.store().reader().await?;
        Ok(repo::list_sensors(&mut reader.conn(), "/").await?.into_iter().map(sensor_view).collect())
    }

    /// A sensor, its readings of the last `hours`, and its newest refusals.
    pub async fn sensor_detail(&self, ctx: &Context, code: &str, hours: i64) -> Result<Value, AppError> {
        signed_in(ctx)?;
        let mut reader = self.store().reader().await?;
        let row = repo::sensor_by_code(&mut reader.conn(), code)
            .await?
            .ok_or(AppError::NotFound { kind: domain::policy::ResourceKind::Sensor })?;
        let to = row.last_reading_at.unwrap_or_else(|| self.now_ms());
        let readings = repo::readings_between(&mut reader.conn(), row.id, to - hours.clamp(1, 24 * 31) * 3_600_000, to).await?;
        let refused = repo::rejections_of(&mut reader.conn(), row.id, 50).await?;
        Ok(json!({
            "sensor": sensor_view(row),
            "readings": readings.iter().map(|(at, v)| json!([crate::time::rfc3339(*at), v])).collect::<Vec<_>>(),
            "refused": refused.iter().map(|(at, channel, field, reason, excerpt)| json!({
                "at": crate::time::rfc3339(*at), "channel": channel, "field": field, "reason": reason, "excerpt": excerpt,
            })).collect::<Vec<_>>(),
        }))
    }

    /// Takes a batch of readings from `channel` (`http`, `mqtt`). `items` are the raw items: each is checked on its
    /// own; `default_sensor` names the sensor for items that do not (an MQTT topic's).
    pub async fn ingest(
        &self,
        ctx: &Context,
        channel: &str,
        items: &[Value],
        default_sensor: Option<&str>,
    ) -> Result<IngestReport, AppError> {
        let now = self.now_ms();
        let mut report = IngestReport::default();
        let mut sensors: BTreeMap<String, Option<SensorRow>> = BTreeMap::new();
        let mut good: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        let mut rejections = Vec::new();
        {
            let mut reader = self.store().reader().await?;
            for (index, item) in items.iter().enumerate() {
                let named = item.get("sensor").and_then(Value::as_str).or(default_sensor).map(str::to_string);
                let mut refuse = |field: &str, reason: &str, sensor: Option<&SensorRow>| {
                    report.rejected.push(RefusedReading { index, sensor: named.clone(), field: field.into(), reason: reason.into() });
                    let excerpt: String = item.to_string().chars().take(200).collect();
                    rejections.push(Rejection {
                        sensor_id: sensor.map(|s| s.id),
                        sensor_code: named.clone(),
                        channel: channel.into(),
                        field: field.into(),
                        reason: reason.into(),
                        excerpt: Some(excerpt),
                    });
                };
                if index >= MAX_BATCH {
                    refuse("reading", "batch_too_large", None);
                    continue;
                }
                if !item.is_object() {
                    refuse("reading", "malformed", None);
                    continue;
                }
                let Some(code) = named.clone() else {
                    refuse("sensor", "unknown_sensor", None);
                    continue;
                };
                if !sensors.contains_key(&code) {
                    let row = repo::sensor_by_code(&mut reader.conn(), &code).await?;
                    sensors.insert(code.clone(), row);
                }
                let Some(sensor) = sensors.get(&code).cloned().flatten() else {
                    refuse("sensor", "unknown_sensor", None);
                    continue;
                };
                if !may_feed(ctx, &sensor) {
                    refuse("sensor", "not_permitted", Some(&sensor));
                    continue;
                }
                let Some(at) = item.get("at").and_then(parse_time) else {
                    refuse("at", "malformed", Some(&sensor));
                    continue;
                };
                if at > now + 5 * 60_000 {
                    refuse("at", "in_the_future", Some(&sensor));
                    continue;
                }
                let value = match item.get("value") {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) if s.eq_ignore_ascii_case("nan") || s.to_ascii_lowercase().contains("inf") => {
                        refuse("value", "not_a_number", Some(&sensor));
                        continue;
                    }
                    _ => None,
                };
                let Some(value) = value.filter(|v| v.is_finite()) else {
                    refuse("value", "not_a_number", Some(&sensor));
                    continue;
                };
                if let Some(unit) = item.get("unit").and_then(Value::as_str)
                    && unit != sensor.fields.unit
                {
                    refuse("unit", "wrong_unit", Some(&sensor));
                    continue;
                }
                if sensor.fields.min_value.is_some_and(|min| value < min) || sensor.fields.max_value.is_some_and(|max| value > max) {
                    refuse("value", "impossible_value", Some(&sensor));
                    continue;
                }
                // Older than what is stored already: a redelivery of a stored reading is a duplicate; anything else
                // is out of order.
                if sensor.last_reading_at.is_some_and(|last| at < last - 3 * sensor.fields.interval_seconds * 1000) {
                    if repo::readings_between(&mut reader.conn(), sensor.id, at, at).await?.is_empty() {
                        refuse("at", "out_of_order", Some(&sensor));
                    } else {
                        report.duplicates += 1;
                    }
                    continue;
                }
                good.entry(sensor.id).or_default().push((at, value));
            }
        }
        let total: usize = good.values().map(Vec::len).sum();
        let inserted = {
            let good = good.clone();
            let rejections = rejections.clone();
            self.store()
                .write(move |c| {
                    Box::pin(async move {
                        let mut inserted = 0;
                        for (sensor, readings) in &good {
                            inserted += repo::insert_readings(c, *sensor, readings, now).await?;
                        }
                        repo::record_rejections(c, &rejections, now).await?;
                        Ok::<u64, store::StoreError>(inserted)
                    })
                })
                .await?
        };
        report.accepted = inserted as usize;
        report.duplicates += total - report.accepted;
        let touched: Vec<SensorRow> = sensors.into_values().flatten().filter(|s| good.contains_key(&s.id)).collect();
        let latest: BTreeMap<i64, f64> =
            good.iter().filter_map(|(sensor, readings)| readings.iter().max_by_key(|(at, _)| *at).map(|(_, v)| (*sensor, *v))).collect();
        report.fired = self.evaluate_rules(&touched, &latest).await?;
        Ok(report)
    }

    /// Saves a rule (a new revision; administrators and duty officers).
    pub async fn save_rule(&self, ctx: &Context, text: &str) -> Result<RuleView, AppError> {
        if !may_manage(ctx) {
            return Err(AppError::Forbidden { reason: DenyReason::NotPermitted });
        }
        let rule = RuleDefinition::parse(text)?;
        let definition = serde_json::to_string(&rule).map_err(|e| AppError::Internal(e.to_string()))?;
        let (now, by, code, enabled) = (self.now_ms(), ctx.actor_label.clone(), rule.code.clone(), rule.enabled);
        let ctx2 = ctx.clone();
        let app = self.clone();
        let row = self
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_rule(c, &code, &definition, enabled, &by, now).await?;
                    store::audit::append(c, &app.audit(&ctx2, "rule.save", "rule", Some(format!("{}#{}", row.code, row.revision)))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        rule_view(row)
    }

    /// The rules in force (newest revision of each), with whether each is enabled.
    pub async fn list_rules(&self, ctx: &Context) -> Result<Vec<RuleView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.store().reader().await?;
        repo::latest_rules(&mut reader.conn()).await?.into_iter().map(rule_view).collect()
    }

    /// A rule's episodes, newest first.
    pub async fn rule_episodes(&self, ctx: &Context, code: &str) -> Result<Vec<EpisodeView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.store().reader().await?;
        Ok(repo::episodes_of(&mut reader.conn(), code, 200)
            .await?
            .into_iter()
            .map(|e| EpisodeView {
                id: e.id,
                rule: e.rule_code,
                scope: e.scope,
                started_at: crate::time::rfc3339(e.started_at),
                fired_at: e.fired_at.map(crate::time::rfc3339),
                cleared_at: e.cleared_at.map(crate::time::rfc3339),
                evidence: e.evidence.and_then(|t| serde_json::from_str(&t).ok()),
                warning_id: e.warning_id,
                incident_id: e.incident_id,
            })
            .collect())
    }

    /// Flags the sensors silent for three intervals, with an event their owner sees; answers how many.
    pub async fn flag_stale_sensors(&self) -> Result<usize, AppError> {
        let now = self.now_ms();
        let ctx = Context::system("monitoring", domain::Locale::ZhCn);
        let app = self.clone();
        let flagged = self
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let rows = repo::flag_stale(c, now).await?;
                    for row in &rows {
                        let path = domain::registry::JurisdictionPath::parse(&row.fields.path);
                        let payload = json!({"sensor": row.fields.code, "last_reading_at": row.last_reading_at.map(crate::time::rfc3339)});
                        store::events::append(
                            c,
                            &app.event(
                                &ctx,
                                "sensor.stale",
                                "sensor",
                                row.id,
                                path.as_ref(),
                                row.fields.organization_id,
                                Classification::Internal,
                                payload,
                            ),
                        )
                        .await?;
                    }
                    Ok::<usize, store::StoreError>(rows.len())
                })
            })
            .await?;
        Ok(flagged)
    }

    async fn evaluate_rules(&self, touched: &[SensorRow], latest: &BTreeMap<i64, f64>) -> Result<Vec<(String, i64)>, AppError> {
        if touched.is_empty() {
            return Ok(Vec::new());
        }
        let (rules, open): (Vec<RuleDefinition>, std::collections::BTreeSet<(String, String)>) = {
            let mut reader = self.store().reader().await?;
            let rules = repo::latest_rules(&mut reader.conn())
                .await?
                .into_iter()
                .filter(|r| r.enabled)
                .filter_map(|r| serde_json::from_str(&r.definition).ok())
                .collect();
            (rules, repo::open_scopes(&mut reader.conn()).await?.into_iter().collect())
        };
        let mut fired = Vec::new();
        for rule in &rules {
            for sensor in touched.iter().filter(|s| rule.watches(s)) {
                // Most readings keep no condition and end no episode: those need no read at all.
                let scope = match &rule.together {
                    Some(_) => format!("jurisdiction:{}", sensor.fields.jurisdiction_id),
                    None => format!("sensor:{}", sensor.fields.code),
                };
                let keeps = latest.get(&sensor.id).is_some_and(|v| rule.condition.keeps(*v));
                if !keeps && !open.contains(&(rule.code.clone(), scope)) {
                    continue;
                }
                if let Some(episode) = self.evaluate(rule, sensor).await? {
                    fired.push((rule.code.clone(), episode));
                }
            }
        }
        Ok(fired)
    }

    /// Evaluates one rule after new readings of `sensor`; answers the episode that fired, if one did.
    async fn evaluate(&self, rule: &RuleDefinition, sensor: &SensorRow) -> Result<Option<i64>, AppError> {
        let condition = &rule.condition;
        let window_ms = ((condition.for_minutes * 60_000.0) as i64).max(0) + 6 * sensor.fields.interval_seconds * 1000;
        let max_gap = 3 * sensor.fields.interval_seconds * 1000;
        // The sensors that count together: this one, or every watched sensor of its grid.
        let members: Vec<SensorRow> = match &rule.together {
            Some(_) => {
                let mut reader = self.store().reader().await?;
                repo::list_sensors(&mut reader.conn(), &sensor.fields.path)
                    .await?
                    .into_iter()
                    .filter(|s| s.fields.jurisdiction_id == sensor.fields.jurisdiction_id && rule.watches(s))
                    .collect()
            }
            None => vec![sensor.clone()],
        };
        let scope = match &rule.together {
            Some(_) => format!("jurisdiction:{}", sensor.fields.jurisdiction_id),
            None => format!("sensor:{}", sensor.fields.code),
        };
        let needed = rule.together.as_ref().map_or(1, |t| t.min_sensors);
        let mut holding: Vec<Holding<'_>> = Vec::new();
        {
            let mut reader = self.store().reader().await?;
            for member in &members {
                let Some(last) = member.last_reading_at.max(if member.id == sensor.id { sensor.last_reading_at } else { None }) else {
                    continue;
                };
                let last = repo::readings_between(&mut reader.conn(), member.id, last - window_ms, i64::MAX).await?;
                if last.is_empty() {
                    continue;
                }
                if let Some(since) = holding_since(condition, &last, max_gap) {
                    holding.push((since, member, last));
                }
            }
        }
        let open = {
            let mut reader = self.store().reader().await?;
            repo::open_episode(&mut reader.conn(), &rule.code, &scope).await?
        };
        if let Some(episode) = open {
            // An episode in progress: it ends when fewer than the needed sensors keep the condition.
            if holding.len() < needed {
                let now = self.now_ms();
                self.store().write(move |c| Box::pin(async move { repo::clear_episode(c, episode.id, now).await })).await?;
            }
            return Ok(None);
        }
        let for_ms = (condition.for_minutes * 60_000.0) as i64;
        // Held long enough: the sensors whose condition has lasted `for` by their latest reading.
        let mut sustained: Vec<&Holding<'_>> =
            holding.iter().filter(|(since, _, readings)| readings.last().is_some_and(|(at, _)| at - since >= for_ms)).collect();
        if sustained.len() < needed {
            return Ok(None);
        }
        sustained.sort_by_key(|(since, member, _)| (*since, member.id));
        // The episode starts when the needed-th sensor began to hold: the same for every evaluation of it.
        let started_at = sustained[needed - 1].0;
        let evidence = json!({
            "rule": rule.code,
            "condition": condition,
            "sensors": sustained.iter().map(|(since, member, readings)| json!({
                "sensor": member.fields.code, "holding_since": crate::time::rfc3339(*since),
                "readings": readings.iter().filter(|(at, _)| at >= since).map(|(at, v)| json!([crate::time::rfc3339(*at), v])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let now = self.now_ms();
        let (rule_code, scope2, evidence_text) = (rule.code.clone(), scope.clone(), evidence.to_string());
        let ctx = Context::system(&format!("rule:{}", rule.code), domain::Locale::ZhCn);
        let app = self.clone();
        let path = domain::registry::JurisdictionPath::parse(&sensor.fields.path);
        let (sensor_id, organization) = (sensor.id, sensor.fields.organization_id);
        let episode = self
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let Some(episode) = repo::start_episode(c, &rule_code, &scope2, started_at).await? else { return Ok::<Option<i64>, store::StoreError>(None) };
                    if !repo::fire_episode(c, episode.id, now, &evidence_text).await? {
                        return Ok(None);
                    }
                    let payload = json!({"rule": rule_code, "scope": scope2, "episode": episode.id, "evidence": serde_json::from_str::<Value>(&evidence_text).unwrap_or(Value::Null)});
                    store::events::append(c, &app.event(&ctx, "rule.fired", "sensor", sensor_id, path.as_ref(), organization, Classification::Internal, payload))
                        .await?;
                    Ok(Some(episode.id))
                })
            })
            .await?;
        let Some(episode) = episode else { return Ok(None) };
        let (warning, incident) = self.rule_actions(rule, sensor, episode).await;
        self.store().write(move |c| Box::pin(async move { repo::link_episode(c, episode, warning, incident).await })).await?;
        Ok(Some(episode))
    }

    /// What a firing creates: a draft warning for the sensor's area, an incident at the sensor. A failure to create
    /// one is logged and recorded on the episode's event; the firing itself stands.
    async fn rule_actions(&self, rule: &RuleDefinition, sensor: &SensorRow, episode: i64) -> (Option<i64>, Option<i64>) {
        let ctx = Context::system(&format!("rule:{}", rule.code), domain::Locale::ZhCn);
        let summary_zh = format!(
            "规则“{}”触发：传感器 {} 读数 {} {}",
            rule.title_zh,
            sensor.fields.code,
            sensor.last_value.unwrap_or_default(),
            sensor.fields.unit
        );
        let title_en = rule.title_en.clone().unwrap_or_else(|| rule.title_zh.clone());
        let summary_en = format!(
            "Rule \"{title_en}\" fired: sensor {} reads {} {}",
            sensor.fields.code,
            sensor.last_value.unwrap_or_default(),
            sensor.fields.unit
        );
        let mut warning = None;
        if let Some(action) = &rule.actions.draft_warning {
            let area = self.area_of(sensor).await;
            let input = crate::warnings::WarningInput {
                jurisdiction_id: sensor.fields.jurisdiction_id,
                status: Some("Actual".into()),
                level: action.level.clone(),
                hazard: action.hazard.clone(),
                category: None,
                headline_zh: rule.title_zh.clone(),
                headline_en: Some(title_en.clone()),
                description_zh: summary_zh.clone(),
                description_en: Some(summary_en.clone()),
                instruction_zh: "请值班员核实监测数据后审核发布。".into(),
                instruction_en: Some("The duty officer checks the readings, then approves and issues.".into()),
                area,
                area_desc: None,
                effective_at: None,
                expires_at: crate::time::rfc3339(self.now_ms() + action.expires_hours.clamp(1, 72) * 3_600_000),
            };
            match self.create_warning(&ctx, input).await {
                Ok(view) => warning = Some(view.id),
                Err(error) => tracing::warn!(rule = %rule.code, %error, "a rule could not draft its warning"),
            }
        }
        let mut incident = None;
        if let Some(action) = &rule.actions.open_incident {
            let input = crate::incidents::ReportInput {
                category: action.category.clone(),
                subtype: action.subtype.clone(),
                description: format!("{summary_zh} / {summary_en}"),
                lon: sensor.fields.lon,
                lat: sensor.fields.lat,
                channel_key: Some(format!("rule:{}:episode:{episode}", rule.code)),
                ..Default::default()
            };
            match self.submit_report(&ctx, "sensor", input).await {
                Ok(outcome) => incident = Some(outcome.incident.id),
                Err(error) => tracing::warn!(rule = %rule.code, %error, "a rule could not open its incident"),
            }
        }
        (warning, incident)
    }

    /// A warning area for a sensor: its jurisdiction's boundary, or a 500 m square around it.
    async fn area_of(&self, sensor: &SensorRow) -> Value {
        if let Ok(mut reader) = self.store().reader().await
            && let Ok(Some(row)) = store::registry::get_jurisdiction(&mut reader.conn(), sensor.fields.jurisdiction_id, true).await
            && let Some(boundary) = row.boundary.and_then(|b| serde_json::from_str::<Value>(&b).ok())
        {
            return boundary;
        }
        let (dx, dy) = (500.0 / (111_320.0 * sensor.fields.lat.to_radians().cos()), 500.0 / 110_540.0);
        let (x, y) = (sensor.fields.lon, sensor.fields.lat);
        json!({"type": "Polygon", "coordinates": [[[x - dx, y - dy], [x + dx, y - dy], [x + dx, y + dy], [x - dx, y + dy], [x - dx, y - dy]]]})
    }
}

/// A sensor holding a rule's condition: since when, the sensor, its recent readings.
type Holding<'a> = (i64, &'a SensorRow, Vec<(i64, f64)>);

fn rule_view(row: store::sensors::RuleRow) -> Result<RuleView, AppError> {
    let definition: RuleDefinition = serde_json::from_str(&row.definition).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(RuleView {
        code: row.code,
        revision: row.revision,
        enabled: row.enabled,
        definition,
        saved_by: row.created_by,
        saved_at: crate::time::rfc3339(row.created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(value: f64, minutes: f64, hysteresis: f64) -> Condition {
        Condition { above: Some(value), below: None, for_minutes: minutes, hysteresis }
    }

    #[test]
    fn a_condition_holds_from_its_entry_and_survives_dips_within_the_hysteresis() {
        let c = above(30.0, 10.0, 5.0);
        let m = 60_000;
        let readings = [(0, 20.0), (m, 31.0), (2 * m, 27.0), (3 * m, 33.0)];
        assert_eq!(holding_since(&c, &readings, 5 * m), Some(m), "27 is within the hysteresis: still holding since minute 1");
        let dipped = [(0, 31.0), (m, 24.0), (2 * m, 32.0)];
        assert_eq!(holding_since(&c, &dipped, 5 * m), Some(2 * m), "24 clears it: it starts again at minute 2");
        let below = [(0, 31.0), (m, 29.0)];
        assert_eq!(holding_since(&c, &below, 5 * m), Some(0), "29 has not entered, but keeps what entered at 31");
        assert_eq!(holding_since(&c, &[(0, 29.0)], 5 * m), None, "never entered");
        let gap = [(0, 31.0), (20 * m, 32.0)];
        assert_eq!(holding_since(&c, &gap, 5 * m), Some(20 * m), "a silence longer than the gap starts it again");
    }

    #[test]
    fn rules_are_read_from_yaml_or_json_and_checked() {
        let yaml = "code: rain-high\ntitle_zh: 雨量超限\nsensors: { kind: rain_gauge }\ncondition: { above: 30, for_minutes: 10, hysteresis: 5 }\nactions:\n  draft_warning: { level: orange, hazard: rainstorm }\n";
        let rule = RuleDefinition::parse(yaml).unwrap();
        assert_eq!(rule.condition.above, Some(30.0));
        assert!(rule.enabled);
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(RuleDefinition::parse(&json).unwrap(), rule);
        let both = yaml.replace("above: 30,", "above: 30, below: 2,");
        assert_eq!(RuleDefinition::parse(&both).unwrap_err().field, "condition");
        let misspelt = yaml.replace("condition:", "conditon:");
        let error = RuleDefinition::parse(&misspelt).unwrap_err();
        assert!(format!("{error:?}").contains("line 4"), "{error:?}");
        let nothing = yaml.replace("  draft_warning: { level: orange, hazard: rainstorm }\n", "  {}\n");
        assert!(RuleDefinition::parse(&nothing).is_err());
    }
}
