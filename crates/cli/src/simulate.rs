//! `gridline simulate`: a drill on a fresh copy of the demo city, with the response-efficiency table at the end.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use domain::Locale;

use crate::spatial_cmd::Progress;

/// Which runs to report.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Gridline, driven through its API.
    Integrated,
    /// The model of the same events without integration.
    Siloed,
    /// Both, side by side.
    Both,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A shipped scenario (rainstorm, typhoon, gas-leak) or a scenario file (YAML).
    scenario: String,
    /// Simulated minutes per real minute (120: two hours in one minute). The results do not depend on it.
    #[arg(long, default_value_t = 120.0)]
    speed: f64,
    /// Seed of the demo city and of every draw: the same seed gives the same metrics.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Which runs to report.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    mode: ModeArg,
    /// Where to write metrics.json and report.html.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Another behaviour model (YAML, the format of crates/sim/model.yaml).
    #[arg(long)]
    model: Option<PathBuf>,
}

/// Runs the drill and prints the table.
pub async fn run(args: SimulateArgs, locale: Locale) -> anyhow::Result<ExitCode> {
    let zh = locale == Locale::ZhCn;
    let scenario = match sim::scenario::load_scenario(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("gridline: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let model = match sim::scenario::load_model(args.model.as_ref().and_then(|p| p.to_str())) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("gridline: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    if args.speed.is_nan() || args.speed <= 0.0 {
        eprintln!("gridline: --speed: {}", if zh { "必须大于 0" } else { "must be above 0" });
        return Ok(ExitCode::from(2));
    }
    let mode = match args.mode {
        ModeArg::Integrated => sim::Mode::Integrated,
        ModeArg::Siloed => sim::Mode::Siloed,
        ModeArg::Both => sim::Mode::Both,
    };
    let label = if zh { format!("演练 {}", scenario.title.zh) } else { format!("drill {}", scenario.title.en) };
    let mut bar = Progress::new(1000, label, true);
    let mut progress = |share: f64| bar.update((share * 1000.0) as u64);
    let outcome = sim::drill(&scenario, &model, args.seed, args.speed, mode, &mut progress).await?;
    bar.finish();
    print!("{}", sim::report::table(&scenario, outcome.integrated.as_ref(), outcome.siloed.as_ref(), zh));
    for error in &outcome.errors {
        eprintln!("gridline: {} {error}", if zh { "演练中被拒绝的调用：" } else { "a call was refused during the drill:" });
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let json = sim::report::json(&scenario, args.seed, outcome.integrated.as_ref(), outcome.siloed.as_ref());
        std::fs::write(dir.join("metrics.json"), serde_json::to_string_pretty(&json)?)?;
        let html = sim::report::html(&scenario, args.seed, args.speed, outcome.integrated.as_ref(), outcome.siloed.as_ref());
        std::fs::write(dir.join("report.html"), html)?;
        println!("{} {}", if zh { "报告：" } else { "report:" }, dir.join("report.html").display());
    }
    Ok(if outcome.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
