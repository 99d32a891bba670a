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

use crate::monitoring::Monitoring;
use crate::util::Outcome;
use crate::{AppError, Context};

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
    /// `alarm` (a rule's episode in force for it or its grid), `stale` (silent for three intervals), `ok`, or
    /// `waiting` (no reading yet).
    pub state: String,
}

/// A sensor's state, given the scopes in alarm.
pub fn state_of(sensor: &SensorRow, in_alarm: &std::collections::BTreeSet<String>) -> &'static str {
    if in_alarm.contains(&format!("sensor:{}", sensor.fields.code))
        || in_alarm.contains(&format!("jurisdiction:{}", sensor.fields.jurisdiction_id))
    {
        "alarm"
    } else if sensor.stale_since.is_some() {
        "stale"
    } else if sensor.last_reading_at.is_none() {
        "waiting"
    } else {
        "ok"
    }
}

fn sensor_view(row: SensorRow, in_alarm: &std::collections::BTreeSet<String>) -> SensorView {
    let state = state_of(&row, in_alarm).to_string();
    SensorView {
        state,
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
    /// Only the sensors within a distance of a feature of a shared layer: "gauges within 500 m of a low-lying
    /// underpass".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<Near>,
}

/// A spatial join to a shared layer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Near {
    /// The layer's name (`underpasses`, `low_lying_areas`, …).
    pub layer: String,
    /// The greatest distance from the sensor to the feature's shape, in metres.
    pub within_m: f64,
}

/// Exactly one of: `above` a value, `below` it, `rises_by` at least so much within `within_minutes`, or `falls_by`
/// so much within them; held for at least `for_minutes`, and clearing only once past the value by `hysteresis`.
///
/// A rate of change is measured at each reading against the lowest (for `rises_by`) or highest (for `falls_by`)
/// reading of the `within_minutes` before it: "the river rose 0.5 m within 30 minutes".
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rises_by: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub falls_by: Option<f64>,
    /// The span a rate of change is measured over (with `rises_by` or `falls_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_minutes: Option<f64>,
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
    /// Give the sensor's owning organization a task (to check the site, the sensor, the pumps…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_task: Option<CreateTaskAction>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskAction {
    pub title_zh: String,
    #[serde(default)]
    pub title_en: Option<String>,
    /// Minutes from the firing to the task's deadline (default 30).
    #[serde(default = "thirty")]
    pub due_minutes: i64,
}

fn thirty() -> i64 {
    30
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
    /// The threshold, and whether the measured quantity must be at least it (`true`) or at most it.
    fn threshold(&self) -> Option<(f64, bool)> {
        match (self.above, self.below, self.rises_by, self.falls_by) {
            (Some(v), None, None, None) => Some((v, true)),
            (None, Some(v), None, None) => Some((v, false)),
            // A rise or a fall is measured as a non-negative amount, which must reach the threshold.
            (None, None, Some(v), None) | (None, None, None, Some(v)) => Some((v, true)),
            _ => None,
        }
    }

    /// Whether it measures a rate of change rather than the readings themselves.
    pub fn is_rate(&self) -> bool {
        self.rises_by.is_some() || self.falls_by.is_some()
    }

    /// How far back, in ms, readings are needed before the first one measured.
    fn lookback_ms(&self) -> i64 {
        if self.is_rate() { (self.within_minutes.unwrap_or(0.0) * 60_000.0) as i64 } else { 0 }
    }

    /// Whether a measured value enters the condition.
    fn enters(&self, value: f64) -> bool {
        match self.threshold() {
            Some((t, true)) => value >= t,
            Some((t, false)) => value <= t,
            None => false,
        }
    }

    /// Whether a measured value keeps an entered condition (the hysteresis band).
    fn keeps(&self, value: f64) -> bool {
        match self.threshold() {
            Some((t, true)) => value >= t - self.hysteresis,
            Some((t, false)) => value <= t + self.hysteresis,
            None => false,
        }
    }

    /// What the condition is measured on, reading by reading: the readings, or for a rate of change the rise (or
    /// fall) of each from the lowest (or highest) reading of the `within_minutes` before it.
    pub fn measure(&self, readings: &[(i64, f64)]) -> Vec<(i64, f64)> {
        if !self.is_rate() {
            return readings.to_vec();
        }
        let span = self.lookback_ms();
        let rising = self.rises_by.is_some();
        let mut window: std::collections::VecDeque<(i64, f64)> = std::collections::VecDeque::new();
        let mut measured = Vec::with_capacity(readings.len());
        for &(at, value) in readings {
            // A monotonic deque: its front is the extreme of the window.
            while window.front().is_some_and(|(t, _)| *t < at - span) {
                window.pop_front();
            }
            while window.back().is_some_and(|(_, v)| if rising { *v >= value } else { *v <= value }) {
                window.pop_back();
            }
            window.push_back((at, value));
            let extreme = window.front().map_or(value, |(_, v)| *v);
            measured.push((at, if rising { value - extreme } else { extreme - value }));
        }
        measured
    }
}

/// Since when a sensor's condition has held, at the latest reading, from its readings (oldest first): the first
/// reading that entered the condition in the run of readings that kept it up to the last one, with no gap longer
/// than `max_gap_ms`.
pub fn holding_since(condition: &Condition, readings: &[(i64, f64)], max_gap_ms: i64) -> Option<i64> {
    let mut since = None;
    let mut previous: Option<i64> = None;
    for (at, value) in condition.measure(readings) {
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

    /// The rule as YAML, for the editor.
    pub fn to_yaml(&self) -> String {
        yaml_serde::to_string(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), Invalid> {
        domain::text::Code::parse("code", &self.code)?;
        if self.sensors.kind.is_none() && self.sensors.codes.is_empty() {
            return Err(Invalid::new("sensors", InvalidReason::Required));
        }
        let c = &self.condition;
        if c.threshold().is_none() {
            return Err(Invalid::new(
                "condition",
                InvalidReason::Explained {
                    rule: "one_threshold".into(),
                    en: "give exactly one of above, below, rises_by and falls_by".into(),
                    zh: "above、below、rises_by、falls_by 须且只能给出其一".into(),
                },
            ));
        }
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        if !finite(c.above) || !finite(c.below) {
            return Err(Invalid::new("condition", InvalidReason::Malformed { expected: "a finite number" }));
        }
        for (field, amount) in [("condition.rises_by", c.rises_by), ("condition.falls_by", c.falls_by)] {
            if amount.is_some_and(|v| !v.is_finite() || v <= 0.0) {
                return Err(Invalid::new(field, InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() }));
            }
        }
        match c.within_minutes {
            None if c.is_rate() => return Err(Invalid::new("condition.within_minutes", InvalidReason::Required)),
            Some(minutes) if !c.is_rate() || !(1.0..=1440.0).contains(&minutes) => {
                return Err(Invalid::new("condition.within_minutes", InvalidReason::OutOfRange { min: "1".into(), max: "1440".into() }));
            }
            _ => {}
        }
        if let Some(near) = &self.sensors.near {
            domain::text::Code::parse("sensors.near.layer", &near.layer)?;
            if !(near.within_m.is_finite() && (1.0..=20_000.0).contains(&near.within_m)) {
                return Err(Invalid::new("sensors.near.within_m", InvalidReason::OutOfRange { min: "1".into(), max: "20000".into() }));
            }
        }
        if let Some(task) = &self.actions.create_task {
            if task.title_zh.trim().is_empty() || task.title_zh.chars().count() > 200 {
                return Err(Invalid::new("actions.create_task.title_zh", InvalidReason::Required));
            }
            if !(1..=10_080).contains(&task.due_minutes) {
                return Err(Invalid::new(
                    "actions.create_task.due_minutes",
                    InvalidReason::OutOfRange { min: "1".into(), max: "10080".into() },
                ));
            }
        }
        if !self.condition.hysteresis.is_finite() || self.condition.hysteresis < 0.0 {
            return Err(Invalid::new("condition.hysteresis", InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() }));
        }
        if !(0.0..=7.0 * 24.0 * 60.0).contains(&self.condition.for_minutes) {
            return Err(Invalid::new("condition.for_minutes", InvalidReason::OutOfRange { min: "0".into(), max: "10080".into() }));
        }
        if self.together.as_ref().is_some_and(|t| t.min_sensors == 0 || t.min_sensors > 100) {
            return Err(Invalid::new("together.min_sensors", InvalidReason::OutOfRange { min: "1".into(), max: "100".into() }));
        }
        if self.actions.draft_warning.is_none() && self.actions.open_incident.is_none() && self.actions.create_task.is_none() {
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
    /// The task it gave the sensor's owner.
    pub task_id: Option<i64>,
}

/// What a rule would have done over past readings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRunReport {
    /// The rule as read (its errors would have refused the request).
    pub rule: RuleDefinition,
    /// From when to when the readings were replayed.
    pub from: String,
    pub to: String,
    /// The sensors it watches (after its spatial join), and how many readings of theirs were replayed.
    pub sensors: Vec<String>,
    pub readings: usize,
    /// The episodes that would have fired, oldest first (at most 500).
    pub episodes: Vec<DryRunEpisode>,
}

/// An episode a dry run found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct DryRunEpisode {
    pub scope: String,
    pub started_at: String,
    /// The reading at which it would have fired.
    pub fired_at: String,
    /// The reading at which it would have cleared, if it did within the replay.
    pub cleared_at: Option<String>,
    /// The sensors that made it fire.
    pub sensors: Vec<String>,
}

/// A sensor's readings for a chart: buckets of `bucket_seconds` with their minimum, mean, maximum and count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesView {
    pub sensor: String,
    pub unit: String,
    pub from: String,
    pub to: String,
    pub bucket_seconds: i64,
    /// `[bucket start, minimum, mean, maximum, count]`, oldest first.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub points: Vec<(String, f64, f64, f64, i64)>,
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

impl Monitoring {
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
        let (jurisdiction_id, path) = self
            .registry
            .jurisdiction_holding(&[[point.lon(), point.lat()]])
            .await?
            .ok_or_else(|| Invalid::new("lon", InvalidReason::NotFound))?;
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
        let now = self.kernel.now_ms();
        let ctx2 = ctx.clone();
        let app = self.clone();
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(row) = repo::insert_sensor(c, &fields, now).await? else {
                        return Err(AppError::Duplicate { field: "code".into() });
                    };
                    store::audit::append(c, &app.kernel.audit(&ctx2, "sensor.create", "sensor", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(sensor_view(row, &Default::default()))
    }

    /// Every sensor, by code.
    pub async fn list_sensors(&self, ctx: &Context) -> Result<Vec<SensorView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.kernel.store().reader().await?;
        let in_alarm = repo::scopes_in_alarm(&mut reader.conn()).await?;
        Ok(repo::list_sensors(&mut reader.conn(), "/").await?.into_iter().map(|row| sensor_view(row, &in_alarm)).collect())
    }

    /// A sensor, its readings of the last `hours`, and its newest refusals.
    pub async fn sensor_detail(&self, ctx: &Context, code: &str, hours: i64) -> Result<Value, AppError> {
        signed_in(ctx)?;
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::sensor_by_code(&mut reader.conn(), code)
            .await?
            .ok_or(AppError::NotFound { kind: domain::policy::ResourceKind::Sensor })?;
        let to = row.last_reading_at.unwrap_or_else(|| self.kernel.now_ms());
        let readings = repo::readings_between(&mut reader.conn(), row.id, to - hours.clamp(1, 24 * 31) * 3_600_000, to).await?;
        let refused = repo::rejections_of(&mut reader.conn(), row.id, 50).await?;
        Ok(json!({
            "sensor": sensor_view(row, &repo::scopes_in_alarm(&mut reader.conn()).await?),
            "readings": readings.iter().map(|(at, v)| json!([crate::time::rfc3339(*at), v])).collect::<Vec<_>>(),
            "refused": refused.iter().map(|(at, channel, field, reason, excerpt)| json!({
                "at": crate::time::rfc3339(*at), "channel": channel, "field": field, "reason": reason, "excerpt": excerpt,
            })).collect::<Vec<_>>(),
        }))
    }

    /// The newest refused readings of every sensor, unknown sensors included (administrators and duty officers): where
    /// the readings of a sensor nobody registered go.
    pub async fn ingest_rejections(&self, ctx: &Context, limit: i64) -> Result<Vec<Value>, AppError> {
        if !may_manage(ctx) {
            return Err(AppError::Forbidden { reason: DenyReason::NotPermitted });
        }
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::recent_rejections(&mut reader.conn(), limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(|r| {
                json!({"at": crate::time::rfc3339(r.at), "sensor": r.sensor_code, "channel": r.channel, "field": r.field,
                       "reason": r.reason, "excerpt": r.excerpt})
            })
            .collect())
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
        let marked: Vec<(&Value, bool, Option<&str>)> =
            items.iter().enumerate().map(|(index, item)| (item, index >= MAX_BATCH, None)).collect();
        self.ingest_marked(ctx, channel, &marked, default_sensor).await
    }

    /// Like [`App::ingest`], with each item marked when it lies beyond [`MAX_BATCH`] of the message that carried it
    /// (MQTT takes several messages in one go; the limit is each message's), and with the sensor its message's topic
    /// names (for items that name none, or are not even objects).
    pub(crate) async fn ingest_marked(
        &self,
        ctx: &Context,
        channel: &str,
        items: &[(&Value, bool, Option<&str>)],
        default_sensor: Option<&str>,
    ) -> Result<IngestReport, AppError> {
        let now = self.kernel.now_ms();
        let mut report = IngestReport::default();
        let mut sensors: BTreeMap<String, Option<SensorRow>> = BTreeMap::new();
        let mut good: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        let mut rejections = Vec::new();
        {
            let mut reader = self.kernel.store().reader().await?;
            for (index, &(item, beyond_limit, topic_sensor)) in items.iter().enumerate() {
                let named = item.get("sensor").and_then(Value::as_str).or(topic_sensor).or(default_sensor).map(str::to_string);
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
                // The sensor it names (or its topic's), so that every refusal of its readings reaches its owner.
                let known = match &named {
                    Some(code) => {
                        if !sensors.contains_key(code) {
                            let row = repo::sensor_by_code(&mut reader.conn(), code).await?;
                            sensors.insert(code.clone(), row);
                        }
                        sensors.get(code).cloned().flatten()
                    }
                    None => None,
                };
                if beyond_limit {
                    refuse("reading", "batch_too_large", known.as_ref());
                    continue;
                }
                if !item.is_object() {
                    refuse("reading", "malformed", known.as_ref());
                    continue;
                }
                let Some(sensor) = known else {
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
            self.kernel
                .store()
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
        let (now, by, code, enabled) = (self.kernel.now_ms(), ctx.actor_label.clone(), rule.code.clone(), rule.enabled);
        let ctx2 = ctx.clone();
        let app = self.clone();
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_rule(c, &code, &definition, enabled, &by, now).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "rule.save", "rule", Some(format!("{}#{}", row.code, row.revision))))
                        .await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        rule_view(row)
    }

    /// The rules in force (newest revision of each), with whether each is enabled.
    pub async fn list_rules(&self, ctx: &Context) -> Result<Vec<RuleView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.kernel.store().reader().await?;
        repo::latest_rules(&mut reader.conn()).await?.into_iter().map(rule_view).collect()
    }

    /// A rule's episodes, newest first.
    pub async fn rule_episodes(&self, ctx: &Context, code: &str) -> Result<Vec<EpisodeView>, AppError> {
        signed_in(ctx)?;
        let mut reader = self.kernel.store().reader().await?;
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
                task_id: e.task_id,
            })
            .collect())
    }

    /// A sensor's readings over `hours` before `to` (default: its latest reading), downsampled to about `points`
    /// buckets (at least one minute each) for a chart.
    pub async fn sensor_series(&self, ctx: &Context, code: &str, hours: i64, to: Option<i64>, points: i64) -> Result<SeriesView, AppError> {
        signed_in(ctx)?;
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::sensor_by_code(&mut reader.conn(), code)
            .await?
            .ok_or(AppError::NotFound { kind: domain::policy::ResourceKind::Sensor })?;
        let to = to.or(row.last_reading_at).unwrap_or_else(|| self.kernel.now_ms());
        let span = hours.clamp(1, 24 * 366) * 3_600_000;
        let bucket_ms = (span / points.clamp(10, 2_000)).max(60_000);
        let from = to - span;
        let buckets = repo::readings_downsampled(&mut reader.conn(), row.id, from, to, bucket_ms).await?;
        Ok(SeriesView {
            sensor: row.fields.code,
            unit: row.fields.unit,
            from: crate::time::rfc3339(from),
            to: crate::time::rfc3339(to),
            bucket_seconds: bucket_ms / 1000,
            points: buckets.into_iter().map(|(at, low, mean, high, n)| (crate::time::rfc3339(at), low, mean, high, n)).collect(),
        })
    }

    /// Replays the last `hours` of readings through a rule (not saved) and answers the episodes it would have fired,
    /// deciding exactly as the live engine does, reading by reading.
    pub async fn dry_run_rule(&self, ctx: &Context, text: &str, hours: i64) -> Result<DryRunReport, AppError> {
        signed_in(ctx)?;
        let rule = RuleDefinition::parse(text)?;
        let to = self.kernel.now_ms();
        let from = to - hours.clamp(1, 24 * 7) * 3_600_000;
        let watched: Vec<SensorRow> = {
            let mut reader = self.kernel.store().reader().await?;
            repo::list_sensors(&mut reader.conn(), "/").await?.into_iter().filter(|s| rule.watches(s)).collect()
        };
        let mut near = NearCache::new();
        // Each watched sensor, with its readings from the window before `from` to `to`, grouped by scope.
        let mut scopes: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        let mut sensors = Vec::new();
        let mut replayed = 0;
        for sensor in watched {
            let feature = match &rule.sensors.near {
                Some(n) => match self.nearest_feature(n, &sensor, &mut near).await? {
                    Some(feature) => Some(feature),
                    None => continue,
                },
                None => None,
            };
            let readings = {
                let mut reader = self.kernel.store().reader().await?;
                repo::readings_between(&mut reader.conn(), sensor.id, from - window_ms(&rule, &sensor), to).await?
            };
            replayed += readings.iter().filter(|(at, _)| *at >= from).count();
            sensors.push(sensor.fields.code.clone());
            scopes.entry(scope_of(&rule, &sensor)).or_default().push(Member { sensor, readings, near: feature });
        }
        let mut episodes = Vec::new();
        for (scope, members) in &scopes {
            replay_scope(&rule, scope, members, from, &mut episodes);
        }
        episodes.sort_by(|a, b| a.fired_at.cmp(&b.fired_at).then(a.scope.cmp(&b.scope)));
        episodes.truncate(500);
        Ok(DryRunReport { rule, from: crate::time::rfc3339(from), to: crate::time::rfc3339(to), sensors, readings: replayed, episodes })
    }

    /// Flags the sensors silent for three intervals, with an event their owner sees; answers how many.
    pub async fn flag_stale_sensors(&self) -> Result<usize, AppError> {
        let now = self.kernel.now_ms();
        let ctx = Context::system("monitoring", domain::Locale::ZhCn);
        let app = self.clone();
        let flagged = self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let rows = repo::flag_stale(c, now).await?;
                    for row in &rows {
                        let path = domain::registry::JurisdictionPath::parse(&row.fields.path);
                        let payload = json!({"sensor": row.fields.code, "last_reading_at": row.last_reading_at.map(crate::time::rfc3339)});
                        store::events::append(
                            c,
                            &app.kernel.event(
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
            let mut reader = self.kernel.store().reader().await?;
            let rules = repo::latest_rules(&mut reader.conn())
                .await?
                .into_iter()
                .filter(|r| r.enabled)
                .filter_map(|r| serde_json::from_str(&r.definition).ok())
                .collect();
            (rules, repo::open_scopes(&mut reader.conn()).await?.into_iter().collect())
        };
        let mut near = NearCache::new();
        let mut fired = Vec::new();
        for rule in &rules {
            for sensor in touched.iter().filter(|s| rule.watches(s)) {
                // Most readings keep no condition and end no episode: those need no read at all. (A rate of change
                // cannot be judged from the latest reading alone.)
                let keeps = rule.condition.is_rate() || latest.get(&sensor.id).is_some_and(|v| rule.condition.keeps(*v));
                if !keeps && !open.contains(&(rule.code.clone(), scope_of(rule, sensor))) {
                    continue;
                }
                if !self.near_ok(rule, sensor, &mut near).await? {
                    continue;
                }
                if let Some(episode) = self.evaluate(rule, sensor, &mut near).await? {
                    fired.push((rule.code.clone(), episode));
                }
            }
        }
        Ok(fired)
    }

    /// Whether a sensor meets a rule's spatial join (always, for a rule with none); answers are kept in `cache`.
    async fn near_ok(&self, rule: &RuleDefinition, sensor: &SensorRow, cache: &mut NearCache) -> Result<bool, AppError> {
        let Some(near) = &rule.sensors.near else { return Ok(true) };
        Ok(self.nearest_feature(near, sensor, cache).await?.is_some())
    }

    /// The nearest feature of the joined layer within the distance of a sensor: (layer, feature id, name, metres).
    async fn nearest_feature(&self, near: &Near, sensor: &SensorRow, cache: &mut NearCache) -> Result<Option<Value>, AppError> {
        let key = (near.layer.clone(), near.within_m.to_bits(), sensor.id);
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone());
        }
        let mut reader = self.kernel.store().reader().await?;
        let found = match store::layers::get_layer(&mut reader.conn(), &near.layer).await? {
            None => None,
            Some(layer) => {
                // A box surely holding every shape within the distance (1% margin), then exact distances.
                let dlat = near.within_m / 110_000.0 * 1.01;
                let dlon = near.within_m / (111_320.0 * sensor.fields.lat.to_radians().cos().max(0.01)) * 1.01;
                let (x, y) = (sensor.fields.lon, sensor.fields.lat);
                let candidates =
                    store::layers::features_in_bbox(&mut reader.conn(), layer.id, [x - dlon, y - dlat, x + dlon, y + dlat], 5_000).await?;
                candidates
                    .iter()
                    .filter_map(|f| {
                        let geometry: Value = serde_json::from_str(&f.geometry).ok()?;
                        let metres = spatial::distance_to_geojson_m(x, y, &geometry)?;
                        (metres <= near.within_m).then_some((metres, f))
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(metres, f)| {
                        json!({"layer": near.layer, "feature": f.external_id, "name": f.name, "distance_m": (metres * 10.0).round() / 10.0})
                    })
            }
        };
        cache.insert(key, found.clone());
        Ok(found)
    }

    /// The readings a rule needs of a sensor to judge it at its latest reading, oldest first.
    async fn recent_readings(&self, rule: &RuleDefinition, sensor: &SensorRow) -> Result<Vec<(i64, f64)>, AppError> {
        let Some(last) = sensor.last_reading_at else { return Ok(Vec::new()) };
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::readings_between(&mut reader.conn(), sensor.id, last - window_ms(rule, sensor), i64::MAX).await?)
    }

    /// Evaluates one rule after new readings of `sensor`; answers the episode that fired, if one did.
    async fn evaluate(&self, rule: &RuleDefinition, sensor: &SensorRow, near: &mut NearCache) -> Result<Option<i64>, AppError> {
        // The sensors that count together: this one, or every watched sensor of its grid (that meets the join).
        let mut members: Vec<SensorRow> = match &rule.together {
            Some(_) => {
                let mut reader = self.kernel.store().reader().await?;
                repo::list_sensors(&mut reader.conn(), &sensor.fields.path)
                    .await?
                    .into_iter()
                    .filter(|s| s.fields.jurisdiction_id == sensor.fields.jurisdiction_id && rule.watches(s))
                    .collect()
            }
            None => vec![sensor.clone()],
        };
        for member in &mut members {
            // The list may have been read before this batch's readings moved the sensor's latest reading.
            if member.id == sensor.id {
                member.last_reading_at = member.last_reading_at.max(sensor.last_reading_at);
            }
        }
        let mut joined = Vec::with_capacity(members.len());
        for member in members {
            let feature = match &rule.sensors.near {
                Some(n) => match self.nearest_feature(n, &member, near).await? {
                    Some(feature) => Some(feature),
                    None => continue,
                },
                None => None,
            };
            let readings = self.recent_readings(rule, &member).await?;
            joined.push(Member { sensor: member, readings, near: feature });
        }
        let scope = scope_of(rule, sensor);
        let open = {
            let mut reader = self.kernel.store().reader().await?;
            repo::open_episode(&mut reader.conn(), &rule.code, &scope).await?
        };
        let (started_at, evidence) = match decide(rule, &joined, open.is_some()) {
            Decision::Nothing => return Ok(None),
            Decision::Clear => {
                let (now, id) = (self.kernel.now_ms(), open.map(|e| e.id).unwrap_or_default());
                self.kernel.store().write(move |c| Box::pin(async move { repo::clear_episode(c, id, now).await })).await?;
                return Ok(None);
            }
            Decision::Fire { started_at, evidence } => (started_at, evidence),
        };
        let now = self.kernel.now_ms();
        let (rule_code, scope2, evidence_text) = (rule.code.clone(), scope.clone(), evidence.to_string());
        let ctx = Context::system(&format!("rule:{}", rule.code), domain::Locale::ZhCn);
        let app = self.clone();
        let path = domain::registry::JurisdictionPath::parse(&sensor.fields.path);
        let (sensor_id, organization) = (sensor.id, sensor.fields.organization_id);
        let episode = self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let Some(episode) = repo::start_episode(c, &rule_code, &scope2, started_at).await? else { return Ok::<Option<i64>, store::StoreError>(None) };
                    if !repo::fire_episode(c, episode.id, now, &evidence_text).await? {
                        return Ok(None);
                    }
                    let payload = json!({"rule": rule_code, "scope": scope2, "episode": episode.id, "evidence": serde_json::from_str::<Value>(&evidence_text).unwrap_or(Value::Null)});
                    store::events::append(c, &app.kernel.event(&ctx, "rule.fired", "sensor", sensor_id, path.as_ref(), organization, Classification::Internal, payload))
                        .await?;
                    Ok(Some(episode.id))
                })
            })
            .await?;
        let Some(episode) = episode else { return Ok(None) };
        let (warning, incident, task) = self.rule_actions(rule, sensor, episode).await;
        self.kernel.store().write(move |c| Box::pin(async move { repo::link_episode(c, episode, warning, incident, task).await })).await?;
        Ok(Some(episode))
    }

    /// What a firing creates: a draft warning for the sensor's area, an incident at the sensor. A failure to create
    /// one is logged and recorded on the episode's event; the firing itself stands.
    async fn rule_actions(&self, rule: &RuleDefinition, sensor: &SensorRow, episode: i64) -> (Option<i64>, Option<i64>, Option<i64>) {
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
                expires_at: crate::time::rfc3339(self.kernel.now_ms() + action.expires_hours.clamp(1, 72) * 3_600_000),
            };
            match self.warnings.create_warning(&ctx, input).await {
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
            match self.incidents.submit_report(&ctx, "sensor", input).await {
                Ok(outcome) => incident = Some(outcome.incident.id),
                Err(error) => tracing::warn!(rule = %rule.code, %error, "a rule could not open its incident"),
            }
        }
        let mut task = None;
        if let Some(action) = &rule.actions.create_task {
            match self.rule_task(&ctx, rule, action, sensor, episode, &summary_zh, &summary_en).await {
                Ok(id) => task = id,
                Err(error) => tracing::warn!(rule = %rule.code, %error, "a rule could not create its task"),
            }
        }
        (warning, incident, task)
    }

    /// The task a firing gives the sensor's owning organization (or, for a sensor nobody owns, its grid), once per
    /// episode.
    #[allow(clippy::too_many_arguments)]
    async fn rule_task(
        &self,
        ctx: &Context,
        rule: &RuleDefinition,
        action: &CreateTaskAction,
        sensor: &SensorRow,
        episode: i64,
        summary_zh: &str,
        summary_en: &str,
    ) -> Result<Option<i64>, AppError> {
        let Some(path) = domain::registry::JurisdictionPath::parse(&sensor.fields.path) else {
            return Err(AppError::Internal(format!("sensor {} has no jurisdiction path", sensor.fields.code)));
        };
        let now = self.kernel.now_ms();
        let mut task = store::tasks::NewTask::simple(
            "sensor_check",
            "rule_episode",
            episode,
            format!("rule:{}:episode:{episode}:task", rule.code),
            action.title_zh.clone(),
            action.title_en.clone().unwrap_or_else(|| action.title_zh.clone()),
            json!({"rule": rule.code, "sensor": sensor.fields.code, "summary_zh": summary_zh, "summary_en": summary_en,
                   "lon": sensor.fields.lon, "lat": sensor.fields.lat})
            .to_string(),
            sensor.fields.jurisdiction_id,
            path,
            now + action.due_minutes * 60_000,
        );
        task.owner_organization_id = sensor.fields.organization_id;
        let (app, ctx) = (self.clone(), ctx.clone());
        let created = self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let Some(row) = store::tasks::insert_if_absent(c, &task, now).await? else { return Ok::<_, AppError>(None) };
                    app.incidents.task_event(c, &ctx, "task.created", &row).await?;
                    Ok(Some(row.id))
                })
            })
            .await?;
        Ok(created)
    }

    /// A warning area for a sensor: its jurisdiction's boundary, or a 500 m square around it.
    async fn area_of(&self, sensor: &SensorRow) -> Value {
        if let Ok(mut reader) = self.kernel.store().reader().await
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

/// Answers of spatial joins, by (layer, distance bits, sensor id).
type NearCache = BTreeMap<(String, u64, i64), Option<Value>>;

/// The scope of a rule's episodes for a sensor: the sensor alone, or its grid for a rule of sensors together.
fn scope_of(rule: &RuleDefinition, sensor: &SensorRow) -> String {
    match &rule.together {
        Some(_) => format!("jurisdiction:{}", sensor.fields.jurisdiction_id),
        None => format!("sensor:{}", sensor.fields.code),
    }
}

/// How far before a sensor's latest reading a rule needs its readings: the sustained span, the span of a rate of
/// change, and six reporting intervals to find where the condition began.
fn window_ms(rule: &RuleDefinition, sensor: &SensorRow) -> i64 {
    ((rule.condition.for_minutes * 60_000.0) as i64).max(0) + rule.condition.lookback_ms() + 6 * sensor.fields.interval_seconds * 1000
}

/// A sensor of a rule's scope, with its recent readings and the feature its spatial join found.
struct Member {
    sensor: SensorRow,
    readings: Vec<(i64, f64)>,
    near: Option<Value>,
}

/// Replays one scope's readings from `from`, one reading at a time, as the live engine would have seen them.
fn replay_scope(rule: &RuleDefinition, scope: &str, members: &[Member], from: i64, out: &mut Vec<DryRunEpisode>) {
    let mut arrivals: Vec<(i64, usize, usize)> = Vec::new();
    for (m, member) in members.iter().enumerate() {
        arrivals.extend(member.readings.iter().enumerate().filter(|(_, (at, _))| *at >= from).map(|(i, (at, _))| (*at, m, i)));
    }
    arrivals.sort_unstable();
    // How many readings of each member have arrived.
    let mut arrived: Vec<usize> = members.iter().map(|m| m.readings.partition_point(|(at, _)| *at < from)).collect();
    let mut open: Option<usize> = None;
    let mut starts = std::collections::BTreeSet::new();
    for (at, m, i) in arrivals {
        arrived[m] = i + 1;
        let value = members[m].readings[i].1;
        if !rule.condition.is_rate() && !rule.condition.keeps(value) && open.is_none() {
            continue;
        }
        // Each member as the engine reads it: its readings in the window before its latest one.
        let seen: Vec<Member> = members
            .iter()
            .zip(&arrived)
            .map(|(member, &n)| {
                let upto = &member.readings[..n];
                let start = upto.last().map_or(n, |(last, _)| upto.partition_point(|(t, _)| *t < last - window_ms(rule, &member.sensor)));
                Member { sensor: member.sensor.clone(), readings: upto[start..].to_vec(), near: member.near.clone() }
            })
            .collect();
        match decide(rule, &seen, open.is_some()) {
            Decision::Nothing => {}
            Decision::Clear => {
                if let Some(index) = open.take() {
                    let episode: &mut DryRunEpisode = &mut out[index];
                    episode.cleared_at = Some(crate::time::rfc3339(at));
                }
            }
            Decision::Fire { started_at, evidence } => {
                // An episode is unique by its start: the engine would not fire the same one twice.
                if starts.insert(started_at) {
                    let sensors = evidence["sensors"]
                        .as_array()
                        .map(|list| list.iter().filter_map(|s| s["sensor"].as_str().map(str::to_string)).collect())
                        .unwrap_or_default();
                    out.push(DryRunEpisode {
                        scope: scope.to_string(),
                        started_at: crate::time::rfc3339(started_at),
                        fired_at: crate::time::rfc3339(at),
                        cleared_at: None,
                        sensors,
                    });
                    open = Some(out.len() - 1);
                }
            }
        }
    }
}

/// What one evaluation of a rule's scope decides.
#[derive(Debug)]
enum Decision {
    Nothing,
    /// The open episode ends: fewer than the needed sensors keep the condition.
    Clear,
    /// A new episode fires, started when the needed-th sensor began to hold (the same for every evaluation of it,
    /// so that two evaluations of one episode agree on its key).
    Fire {
        started_at: i64,
        evidence: Value,
    },
}

/// Decides for a rule's scope from its members' recent readings (oldest first) whether an episode fires, clears or
/// nothing changes. The live engine and the dry run both decide here.
fn decide(rule: &RuleDefinition, members: &[Member], open: bool) -> Decision {
    let condition = &rule.condition;
    let needed = rule.together.as_ref().map_or(1, |t| t.min_sensors);
    let holding: Vec<(i64, &Member)> = members
        .iter()
        .filter(|m| !m.readings.is_empty())
        .filter_map(|m| holding_since(condition, &m.readings, 3 * m.sensor.fields.interval_seconds * 1000).map(|since| (since, m)))
        .collect();
    if open {
        return if holding.len() < needed { Decision::Clear } else { Decision::Nothing };
    }
    let for_ms = (condition.for_minutes * 60_000.0) as i64;
    // Held long enough: the sensors whose condition has lasted `for` by their latest reading.
    let mut sustained: Vec<&(i64, &Member)> =
        holding.iter().filter(|(since, m)| m.readings.last().is_some_and(|(at, _)| at - since >= for_ms)).collect();
    if sustained.len() < needed {
        return Decision::Nothing;
    }
    sustained.sort_by_key(|(since, m)| (*since, m.sensor.id));
    let started_at = sustained[needed - 1].0;
    let lookback = condition.lookback_ms();
    let evidence = json!({
        "rule": rule.code,
        "condition": condition,
        "sensors": sustained.iter().map(|(since, m)| {
            let mut entry = json!({
                "sensor": m.sensor.fields.code, "holding_since": crate::time::rfc3339(*since),
                "readings": m.readings.iter().filter(|(at, _)| *at >= since - lookback).map(|(at, v)| json!([crate::time::rfc3339(*at), v])).collect::<Vec<_>>(),
            });
            if let Some(feature) = &m.near {
                entry["near"] = feature.clone();
            }
            entry
        }).collect::<Vec<_>>(),
    });
    Decision::Fire { started_at, evidence }
}

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
        Condition { above: Some(value), for_minutes: minutes, hysteresis, ..Condition::default() }
    }

    #[test]
    fn a_rate_of_change_is_measured_against_the_extreme_of_its_window() {
        let m = 60_000;
        let rise = Condition { rises_by: Some(0.5), within_minutes: Some(30.0), hysteresis: 0.1, ..Condition::default() };
        // 2.0 m for a while, then a rise of 0.6 m in 20 minutes, then level.
        let readings: Vec<(i64, f64)> = (0..60)
            .map(|i| {
                (
                    i * 5 * m,
                    if i < 10 {
                        2.0
                    } else if i < 14 {
                        2.0 + 0.15 * (i - 9) as f64
                    } else {
                        2.6
                    },
                )
            })
            .collect();
        let measured = rise.measure(&readings);
        assert_eq!(measured[9].1, 0.0);
        assert!((measured[13].1 - 0.6).abs() < 1e-9, "{:?}", &measured[9..14]);
        // The rise enters at 0.5 (reading 13: 2.6 against 2.0 twenty minutes before), …
        assert_eq!(holding_since(&rise, &readings[..14], 10 * m), Some(13 * 5 * m));
        // … and once the level has been flat for 30 minutes, there is no rise left: it clears.
        assert_eq!(holding_since(&rise, &readings[..22], 10 * m), None);
        let fall = Condition { falls_by: Some(1.0), within_minutes: Some(10.0), ..Condition::default() };
        let dropping = [(0, 50.0), (5 * m, 49.5), (10 * m, 48.9), (20 * m, 48.0)];
        assert_eq!(fall.measure(&dropping).iter().map(|(_, v)| (v * 10.0).round() / 10.0).collect::<Vec<_>>(), vec![0.0, 0.5, 1.1, 0.9]);
        assert_eq!(holding_since(&fall, &dropping[..3], 10 * m), Some(10 * m));
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
        let rate = yaml.replace("above: 30,", "rises_by: 0.5, within_minutes: 30,");
        assert_eq!(RuleDefinition::parse(&rate).unwrap().condition.rises_by, Some(0.5));
        let no_span = yaml.replace("above: 30,", "rises_by: 0.5,");
        assert_eq!(RuleDefinition::parse(&no_span).unwrap_err().field, "condition.within_minutes");
        let span_without_rate = yaml.replace("above: 30,", "above: 30, within_minutes: 30,");
        assert_eq!(RuleDefinition::parse(&span_without_rate).unwrap_err().field, "condition.within_minutes");
        let near =
            yaml.replace("sensors: { kind: rain_gauge }", "sensors: { kind: rain_gauge, near: { layer: underpasses, within_m: 0 } }");
        assert_eq!(RuleDefinition::parse(&near).unwrap_err().field, "sensors.near.within_m");
        let task =
            yaml.replace("  draft_warning: { level: orange, hazard: rainstorm }\n", "  create_task: { title_zh: 检查, due_minutes: 0 }\n");
        assert_eq!(RuleDefinition::parse(&task).unwrap_err().field, "actions.create_task.due_minutes");
    }
}
