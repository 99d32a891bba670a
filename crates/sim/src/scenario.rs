//! Scenarios (YAML) and the behaviour model (`model.yaml`): what happens, and how people react.

use serde::{Deserialize, Serialize};

/// A text in both languages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

/// What kind of incident the spots are.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Kind {
    pub category: String,
    pub subtype: String,
}

/// Where the warning applies.
#[derive(Debug, Clone)]
pub enum WarnedArea {
    /// A band across the city around the largest water body, this many metres beyond it north and south.
    RiverBand { margin_m: f64 },
    /// A circle of this radius around the first spot.
    AroundFirstSpot { radius_m: f64 },
}

/// The area as written: exactly one of the two.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AreaText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    river_band_margin_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    around_first_spot_radius_m: Option<f64>,
}

impl<'de> Deserialize<'de> for WarnedArea {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = AreaText::deserialize(deserializer)?;
        match (text.river_band_margin_m, text.around_first_spot_radius_m) {
            (Some(margin_m), None) if margin_m > 0.0 => Ok(WarnedArea::RiverBand { margin_m }),
            (None, Some(radius_m)) if radius_m > 0.0 => Ok(WarnedArea::AroundFirstSpot { radius_m }),
            _ => Err(serde::de::Error::custom("give one of river_band_margin_m or around_first_spot_radius_m, above 0")),
        }
    }
}

impl Serialize for WarnedArea {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = match self {
            WarnedArea::RiverBand { margin_m } => AreaText { river_band_margin_m: Some(*margin_m), around_first_spot_radius_m: None },
            WarnedArea::AroundFirstSpot { radius_m } => AreaText { river_band_margin_m: None, around_first_spot_radius_m: Some(*radius_m) },
        };
        text.serialize(serializer)
    }
}

/// The warning issued for the scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// How long after the threshold crossing the warning comes in (from meteorology, or the detector's owner).
    pub after_threshold_minutes: f64,
    /// `red`, `orange`, `yellow` or `blue`.
    pub level: String,
    /// The hazard code (`rainstorm`, `typhoon`, `gas_leak`…).
    pub hazard: String,
    pub headline: Text,
    pub instruction: Text,
    pub area: WarnedArea,
    pub expires_after_minutes: f64,
}

/// Where spots are placed.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Near {
    /// On roads inside the warned band.
    Roads,
    /// At buildings.
    Buildings,
}

/// The places where the hazard strikes, each reported by several people.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spots {
    pub count: usize,
    pub near: Near,
    /// Minutes after the threshold crossing that the first spot is hit.
    pub first_after_minutes: f64,
    /// Minutes between spots.
    pub every_minutes: f64,
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub title: Text,
    pub duration_minutes: f64,
    /// The plan the duty officer activates (its code).
    pub plan: String,
    pub incident: Kind,
    /// Figures each report carries (`ponding_depth_cm: 35`): what the plan's triggers read.
    #[serde(default)]
    pub report_figures: std::collections::BTreeMap<String, u64>,
    /// The response level to activate at, when the plan's triggers do not decide it from the situation.
    #[serde(default)]
    pub response_level: Option<String>,
    /// The sensor that sees it first: its reading by minute, and its alarm threshold.
    pub sensor: Sensor,
    pub warning: Option<Warning>,
    pub spots: Spots,
    /// The sector of the department that leads on site (`water_affairs`, `gas`…): without integration it sends its
    /// own team from its base.
    pub lead_sector: String,
    /// Unrelated reports in the same hours, of this kind.
    pub noise_reports: usize,
    pub noise_kind: Kind,
}

/// A sensor's readings over the scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    pub kind: String,
    pub unit: String,
    /// (minute, value) points, linearly interpolated.
    pub curve: Vec<(f64, f64)>,
    pub threshold: f64,
}

impl Sensor {
    /// The reading at a minute: the curve, linearly interpolated (its ends held before and after).
    pub fn value_at(&self, minute: f64) -> f64 {
        let Some(&(first_t, first_v)) = self.curve.first() else { return 0.0 };
        if minute <= first_t {
            return first_v;
        }
        for w in self.curve.windows(2) {
            let ((t0, v0), (t1, v1)) = (w[0], w[1]);
            if minute <= t1 {
                return if t1 > t0 { v0 + (v1 - v0) * (minute - t0) / (t1 - t0) } else { v1 };
            }
        }
        self.curve.last().map_or(0.0, |&(_, v)| v)
    }

    /// The first minute the reading reaches the threshold, if it does.
    pub fn crossing(&self) -> Option<f64> {
        for w in self.curve.windows(2) {
            let ((t0, v0), (t1, v1)) = (w[0], w[1]);
            if v0 >= self.threshold {
                return Some(t0);
            }
            if v1 >= self.threshold && v1 > v0 {
                return Some(t0 + (self.threshold - v0) / (v1 - v0) * (t1 - t0));
            }
        }
        None
    }
}

/// A delay distribution: log-normal with this median, and `median × spread` at the 84th percentile.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    pub median: f64,
    pub spread: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Residents {
    pub ack_probability: f64,
    pub ack_delay: Delay,
    pub vulnerable_ack_probability: f64,
    pub reporters_per_spot: usize,
    pub report_spread: Delay,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GridMembers {
    pub notice: Delay,
    pub walk_speed_kmh: f64,
    pub visit_minutes: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    pub react: Delay,
    pub decide: Delay,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Approver {
    pub react: Delay,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Responders {
    pub acknowledge: Delay,
    pub drive_speed_factor: f64,
    pub work_minutes: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Siloed {
    pub relay_delay: Delay,
    pub call_minutes: f64,
    pub call_answer_probability: f64,
    pub report_verify: Delay,
    pub hand_assign_delay: Delay,
    pub acknowledge: Delay,
    pub task_due_minutes: f64,
}

/// Gridline's own settings for the drill.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GridlineSettings {
    pub door_knock_after_minutes: i64,
}

/// The behaviour model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub gridline: GridlineSettings,
    pub residents: Residents,
    pub grid_members: GridMembers,
    pub duty_officer: Officer,
    pub approver: Approver,
    pub responders: Responders,
    pub siloed: Siloed,
}

/// The model shipped with Gridline.
pub const MODEL: &str = include_str!("../model.yaml");

/// The scenarios shipped with Gridline, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("rainstorm", include_str!("../scenarios/rainstorm.yaml")),
    ("typhoon", include_str!("../scenarios/typhoon.yaml")),
    ("gas-leak", include_str!("../scenarios/gas-leak.yaml")),
];

/// A file that could not be read as a scenario or a model: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}:{column}: {message}")]
pub struct LoadError {
    pub source_name: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn parse<T: serde::de::DeserializeOwned>(source_name: &str, text: &str) -> Result<T, LoadError> {
    yaml_serde::from_str(text).map_err(|error| {
        let (line, column) = error.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        LoadError { source_name: source_name.to_string(), line, column, message: error.to_string() }
    })
}

/// A shipped scenario by name, or a scenario file by path.
pub fn load_scenario(name_or_path: &str) -> Result<Scenario, LoadError> {
    let scenario: Scenario = match SHIPPED.iter().find(|(name, _)| *name == name_or_path) {
        Some((name, text)) => parse(name, text)?,
        None => {
            let text = std::fs::read_to_string(name_or_path).map_err(|error| LoadError {
                source_name: name_or_path.to_string(),
                line: 0,
                column: 0,
                message: format!("{error} (shipped scenarios: {})", SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")),
            })?;
            parse(name_or_path, &text)?
        }
    };
    check(&scenario).map_err(|message| LoadError { source_name: name_or_path.to_string(), line: 0, column: 0, message })?;
    Ok(scenario)
}

/// The shipped model, or a model file.
pub fn load_model(path: Option<&str>) -> Result<Model, LoadError> {
    match path {
        None => parse("model.yaml", MODEL),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| LoadError {
                source_name: path.to_string(),
                line: 0,
                column: 0,
                message: error.to_string(),
            })?;
            parse(path, &text)
        }
    }
}

fn check(scenario: &Scenario) -> Result<(), String> {
    if !(scenario.duration_minutes > 0.0 && scenario.duration_minutes <= 7.0 * 24.0 * 60.0) {
        return Err("duration_minutes: must be between 0 and one week".into());
    }
    if scenario.sensor.curve.len() < 2 || scenario.sensor.curve.windows(2).any(|w| w[1].0 <= w[0].0) {
        return Err("sensor.curve: at least two points, in increasing minutes".into());
    }
    if scenario.sensor.crossing().is_none() {
        return Err("sensor.curve: never reaches sensor.threshold, so nothing would happen".into());
    }
    if scenario.spots.count == 0 || scenario.spots.count > 100 {
        return Err("spots.count: between 1 and 100".into());
    }
    Ok(())
}
