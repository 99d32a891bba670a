//! `gridline simulate`: a drill that drives Gridline like its users and sensors would, and measures how fast and
//! how completely the community responded, beside a model of the same events without integration.
//!
//! - [`scenario`]: the scenario files (YAML: `scenarios/*.yaml`) and the behaviour model (`model.yaml`, every delay
//!   and probability with its source or assumption);
//! - [`world`]: a fresh demo city with an in-process Gridline on a simulated clock;
//! - [`engine`]: the integrated run, a discrete-event simulation whose actions are calls to Gridline's HTTP API;
//! - [`siloed`]: the baseline model;
//! - [`metrics`] and [`report`]: the response-efficiency metrics, the table, `metrics.json` and `report.html`.

pub mod engine;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod siloed;
pub mod world;

use metrics::Metrics;
use scenario::{Model, Scenario};

/// Which runs to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Integrated,
    Siloed,
    Both,
}

/// The outcome of a drill.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub integrated: Option<Metrics>,
    pub siloed: Option<Metrics>,
    /// Calls Gridline refused during the integrated run (there should be none).
    pub errors: Vec<String>,
}

/// 2026-07-15T06:00:00Z: the drill's simulated start.
pub const START_MS: i64 = 1_784_095_200_000;

/// Runs a drill. The integrated run always happens (the siloed model takes the plan's tasks per incident from it),
/// but only the runs `mode` asks for are reported.
pub async fn drill(
    scenario: &Scenario,
    model: &Model,
    seed: u64,
    speed: f64,
    mode: Mode,
    progress: &mut (dyn FnMut(f64) + Send),
) -> anyhow::Result<Outcome> {
    let mut world = world::World::build(seed, START_MS, model.gridline.door_knock_after_minutes).await?;
    let (integrated, observed, errors) = engine::run(&mut world, scenario, model, seed, speed, progress).await?;
    // The plan's tasks for one incident, as Gridline applied the plan.
    let per_incident = if observed.activations > 0 { (integrated.tasks as f64 / observed.activations as f64).round() as usize } else { 0 };
    let band = match scenario.warning.as_ref().map(|w| &w.area) {
        Some(scenario::WarnedArea::RiverBand { margin_m }) => engine::river_band(&world, *margin_m),
        _ => None,
    };
    let spots = engine::spots(&world, scenario, seed, band);
    let siloed = siloed::run(&world, scenario, model, seed, &spots, per_incident, &observed.vulnerable_targeted);
    world.app.store().close().await;
    Ok(Outcome { integrated: (mode != Mode::Siloed).then_some(integrated), siloed: (mode != Mode::Integrated).then_some(siloed), errors })
}
