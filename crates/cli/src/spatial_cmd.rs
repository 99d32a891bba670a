//! `gridline route`, `gridline targets` and `gridline import osm`: the geo engine on the command line.
//!
//! This module owns argument parsing, file reading and output formatting for the three commands;
//! all geometry, import and routing work is done by the `spatial` crate.
//! Output is plain text in the user's language (`GRIDLINE_LANG`, then `LC_ALL`/`LANG`; `zh*` gives Chinese),
//! or JSON lines with `--json` for scripts.
//! Exit codes: 0 success, 1 error (bad input, unreadable file), 2 destination unreachable.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use spatial::osm::{ImportReport, OsmData, Problem};
use spatial::{Area, LonLat, PointIndex, Router, SpatialError};

/// How far from a road a point may be and still be snapped to it.
const SNAP_LIMIT_M: f64 = 1000.0;

/// `gridline route FILE --from LON,LAT (--to LON,LAT | --to-csv POINTS.csv) [--close AREA.geojson] [--json]`
#[derive(Debug, clap::Args)]
pub struct RouteArgs {
    /// OpenStreetMap file to route on (.osm.pbf, .osm or .osm.gz).
    pub file: PathBuf,
    /// Start as LON,LAT.
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true)]
    pub from: String,
    /// Destination as LON,LAT.
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true, conflicts_with = "to_csv", required_unless_present = "to_csv")]
    pub to: Option<String>,
    /// Destinations from a CSV file with columns id,lon,lat; one travel time per line.
    #[arg(long, value_name = "POINTS.csv")]
    pub to_csv: Option<PathBuf>,
    /// Close every road touching this GeoJSON area (a flood, a fire) before routing.
    #[arg(long, value_name = "AREA.geojson")]
    pub close: Option<PathBuf>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `gridline targets POINTS.csv AREA.geojson [--ids] [--json]`
#[derive(Debug, clap::Args)]
pub struct TargetsArgs {
    /// Points as CSV with columns id,lon,lat (a header line is allowed).
    pub points: PathBuf,
    /// The target area as GeoJSON (Polygon, MultiPolygon, Feature or FeatureCollection).
    pub area: PathBuf,
    /// Also print the ids of the points inside.
    #[arg(long)]
    pub ids: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Repair an invalid area (close rings, drop degenerate rings, even-odd rule for crossings) instead of refusing it.
    #[arg(long)]
    pub repair: bool,
}

/// `gridline import osm FILE [--json]`
#[derive(Debug, clap::Args)]
pub struct ImportOsmArgs {
    /// OpenStreetMap file (.osm.pbf, .osm or .osm.gz).
    pub file: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also store roads, buildings, water and facilities as map layers (osm-roads, osm-buildings, osm-water,
    /// osm-facilities) in Gridline's database, so the console draws them.
    #[arg(long)]
    pub store: bool,
}

/// The user's language for text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Zh,
}

impl Lang {
    fn detect() -> Self {
        let pick = ["GRIDLINE_LANG", "LC_ALL", "LANG"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        if pick.is_some_and(|v| v.to_ascii_lowercase().starts_with("zh")) { Self::Zh } else { Self::En }
    }

    /// Picks the English or the Chinese text.
    fn t<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }

    fn error(self, e: &SpatialError) -> String {
        match self {
            Self::En => e.to_string(),
            Self::Zh => e.message_zh(),
        }
    }
}

/// Turns a library error into an `anyhow` error with the message in the user's language.
fn localized(lang: Lang) -> impl Fn(SpatialError) -> anyhow::Error {
    move |e| anyhow::anyhow!(lang.error(&e))
}

/// Reads an `id,lon,lat` CSV; a first line that does not parse is taken as a header.
fn read_points(path: &Path, lang: Lang) -> anyhow::Result<Vec<(u64, LonLat)>> {
    let file = std::fs::File::open(path).with_context(|| format!("{} {}", lang.t("cannot open", "无法打开"), path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.split(',').map(str::trim);
        let parsed = match (cols.next(), cols.next(), cols.next()) {
            (Some(id), Some(lon), Some(lat)) => match (id.parse::<u64>(), lon.parse::<f64>(), lat.parse::<f64>()) {
                (Ok(id), Ok(lon), Ok(lat)) => Some((id, lon, lat)),
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some((id, lon, lat)) => {
                let at = LonLat::new(lon, lat).map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), n + 1, lang.error(&e)))?;
                out.push((id, at));
            }
            None if n == 0 => {}
            None => anyhow::bail!("{}:{}: {}", path.display(), n + 1, lang.t("expected id,lon,lat", "应为 id,经度,纬度")),
        }
    }
    Ok(out)
}

fn read_area(path: &Path, repair: bool, lang: Lang) -> anyhow::Result<Area> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{} {}", lang.t("cannot read", "无法读取"), path.display()))?;
    let geometry = spatial::Geometry::from_geojson(&text).map_err(localized(lang))?;
    if repair {
        let (area, repairs) = Area::repaired(&geometry).map_err(localized(lang))?;
        for r in repairs {
            eprintln!("{}: {}", lang.t("repaired", "已修复"), if lang == Lang::Zh { r.message_zh() } else { r.message_en() });
        }
        Ok(area)
    } else {
        Area::new(&geometry)
            .map_err(|e| anyhow::anyhow!("{} ({})", lang.error(&e), lang.t("use --repair to repair it", "可使用 --repair 修复")))
    }
}

/// Draws a progress bar on stderr while a file is read, when stderr is a terminal.
pub(crate) struct Progress {
    total: u64,
    started: Instant,
    last_draw: Instant,
    enabled: bool,
    label: String,
}

impl Progress {
    pub(crate) fn new(total: u64, label: String, enabled: bool) -> Self {
        let now = Instant::now();
        Self { total, started: now, last_draw: now - Duration::from_secs(1), enabled: enabled && std::io::stderr().is_terminal(), label }
    }

    pub(crate) fn update(&mut self, done: u64) {
        if !self.enabled || self.last_draw.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last_draw = Instant::now();
        let frac = if self.total > 0 { (done as f64 / self.total as f64).min(1.0) } else { 0.0 };
        let width = 30;
        let filled = (frac * f64::from(width)).round() as usize;
        eprint!(
            "\r{} [{}{}] {:>3.0}%  {:.1} s",
            self.label,
            "#".repeat(filled),
            "-".repeat(width as usize - filled),
            frac * 100.0,
            self.started.elapsed().as_secs_f64()
        );
    }

    pub(crate) fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

fn import(path: &Path, show_progress: bool, lang: Lang) -> anyhow::Result<(OsmData, ImportReport)> {
    let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut bar = Progress::new(total, format!("{} {}", lang.t("reading", "读取"), path.display()), show_progress);
    let result = spatial::osm::import_path(path, &mut |done| bar.update(done));
    bar.update(total);
    bar.finish();
    result.map_err(localized(lang))
}

/// `gridline route`.
pub fn route(args: RouteArgs) -> anyhow::Result<ExitCode> {
    let lang = Lang::detect();
    let from = LonLat::parse_lon_lat(&args.from).map_err(localized(lang))?;
    let (data, _) = import(&args.file, !args.json, lang)?;
    if data.graph.node_count() == 0 {
        return Err(localized(lang)(SpatialError::EmptyGraph));
    }
    let mut router = Router::new(&data.graph);
    let mut closed_area = None;
    if let Some(close) = &args.close {
        let area = read_area(close, false, lang)?;
        let n = router.close_area(&area);
        if !args.json {
            eprintln!("{}: {n}", lang.t("road segments closed", "已封闭路段数"));
        }
        closed_area = Some(area);
    }
    let start = router.snap(from.lon(), from.lat(), SNAP_LIMIT_M).map_err(localized(lang))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if let Some(to) = &args.to {
        let to = LonLat::parse_lon_lat(to).map_err(localized(lang))?;
        let end = router.snap(to.lon(), to.lat(), SNAP_LIMIT_M).map_err(localized(lang))?;
        // Where each point met the road, and how far from it (as OSRM's waypoints): a route is between these,
        // not between the points given. A destination inside the closed area is said to be so, not hidden.
        let from_closed = closed_area.as_ref().is_some_and(|area| area.contains(from.lon(), from.lat()));
        let to_closed = closed_area.as_ref().is_some_and(|area| area.contains(to.lon(), to.lat()));
        let same_place = start.edge == end.edge && (start.fraction - end.fraction).abs() < 1e-9;
        let waypoint = |snap: &spatial::Snap, inside: bool| {
            format!(
                "{{\"location\": [{:.6}, {:.6}], \"distance_m\": {:.1}, \"inside_closure\": {inside}}}",
                snap.on_road[0], snap.on_road[1], snap.distance_m
            )
        };
        let waypoints = format!("[{}, {}]", waypoint(&start, from_closed), waypoint(&end, to_closed));
        if !args.json {
            for (label_en, label_zh, snap, inside) in [("start", "起点", &start, from_closed), ("destination", "终点", &end, to_closed)]
            {
                writeln!(
                    out,
                    "{}: {} {:.0} {} ({:.6}, {:.6})",
                    lang.t(label_en, label_zh),
                    lang.t("meets the road", "接入道路，距离"),
                    snap.distance_m,
                    lang.t("m away at", "米，位置"),
                    snap.on_road[0],
                    snap.on_road[1]
                )?;
                if inside {
                    writeln!(
                        out,
                        "  {}",
                        lang.t(
                            "it lies inside the closed area: the route ends at the nearest open road outside it",
                            "该点位于封闭区域内：路线止于区域外最近的畅通道路"
                        )
                    )?;
                }
            }
            if same_place {
                writeln!(
                    out,
                    "{}",
                    lang.t(
                        "both points meet the road at the same place: the travel time between them is 0",
                        "两点接入道路的位置相同：两者之间的行程时间为 0"
                    )
                )?;
            }
        }
        return Ok(match router.route(&start, &end) {
            Some(r) => {
                if args.json {
                    writeln!(
                        out,
                        "{{\"seconds\": {:.3}, \"meters\": {:.1}, \"waypoints\": {waypoints}, \"same_place\": {same_place}}}",
                        r.seconds, r.meters
                    )?;
                } else {
                    writeln!(out, "{}: {:.1} {}", lang.t("travel time", "行程时间"), r.seconds, lang.t("s", "秒"))?;
                    writeln!(out, "{}: {:.0} {}", lang.t("path length", "路径长度"), r.meters, lang.t("m", "米"))?;
                }
                ExitCode::SUCCESS
            }
            None => {
                if args.json {
                    writeln!(out, "{{\"unreachable\": true, \"waypoints\": {waypoints}}}")?;
                } else {
                    writeln!(out, "{}", lang.t("unreachable: no open road leads there", "不可达：没有通往该处的畅通道路"))?;
                }
                ExitCode::from(2)
            }
        });
    }
    let Some(csv) = &args.to_csv else {
        anyhow::bail!("{}", lang.t("give --to or --to-csv", "请给出 --to 或 --to-csv"));
    };
    let points = read_points(csv, lang)?;
    // Points too far from any road cannot be reached; they are reported as unreachable, never as zero.
    let snaps: Vec<Option<spatial::Snap>> = points.iter().map(|(_, p)| router.snap(p.lon(), p.lat(), SNAP_LIMIT_M).ok()).collect();
    let known: Vec<spatial::Snap> = snaps.iter().flatten().copied().collect();
    let times = router.one_to_many(&start, &known);
    let mut k = 0;
    for ((id, _), snap) in points.iter().zip(&snaps) {
        let seconds = if snap.is_some() {
            k += 1;
            times[k - 1]
        } else {
            None
        };
        let snapped = snap.map(|s| format!(", \"snap_m\": {:.1}", s.distance_m)).unwrap_or_default();
        match (seconds, args.json) {
            (Some(s), true) => writeln!(out, "{{\"id\": {id}, \"seconds\": {s:.3}{snapped}}}")?,
            (Some(s), false) => writeln!(out, "{id},{s:.3}")?,
            (None, true) => writeln!(out, "{{\"id\": {id}, \"unreachable\": true{snapped}}}")?,
            (None, false) => writeln!(out, "{id},{}", lang.t("unreachable", "不可达"))?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `gridline targets`.
pub fn targets(args: TargetsArgs) -> anyhow::Result<ExitCode> {
    let lang = Lang::detect();
    let area = read_area(&args.area, args.repair, lang)?;
    let points = read_points(&args.points, lang)?;
    let index = PointIndex::build(points).map_err(localized(lang))?;
    let mut ids = index.ids(&area);
    ids.sort_unstable();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        if args.ids {
            let list: Vec<String> = ids.iter().map(u64::to_string).collect();
            writeln!(out, "{{\"count\": {}, \"ids\": [{}]}}", ids.len(), list.join(", "))?;
        } else {
            writeln!(out, "{{\"count\": {}}}", ids.len())?;
        }
    } else {
        writeln!(out, "{}", ids.len())?;
        if args.ids {
            for id in &ids {
                writeln!(out, "{id}")?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `gridline import osm`.
pub fn import_osm(args: ImportOsmArgs) -> anyhow::Result<ExitCode> {
    import_osm_data(&args).map(|(code, _)| code)
}

/// Reads the extract, prints its report, and returns the data for callers that store it.
pub fn import_osm_data(args: &ImportOsmArgs) -> anyhow::Result<(ExitCode, OsmData)> {
    let lang = Lang::detect();
    let started = Instant::now();
    let (data, report) = import(&args.file, !args.quiet && !args.json, lang)?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let counts: [(&str, &str, &str, usize); 11] = [
        ("nodes", "nodes read", "读取节点", report.nodes_read),
        ("ways", "ways read", "读取路径", report.ways_read),
        ("relations", "relations read", "读取关系", report.relations_read),
        ("drivable_ways", "drivable roads", "机动车可通行道路", report.drivable_ways),
        ("road_nodes", "road graph nodes (largest connected part)", "路网节点（最大连通部分）", report.road_nodes),
        ("road_edges", "road graph edges", "路网边", report.road_edges),
        ("road_nodes_dropped", "road nodes outside it", "未连通的路网节点", report.road_nodes_outside_largest_component),
        ("buildings", "buildings", "建筑", report.buildings),
        ("facilities", "facilities", "设施", report.facilities),
        ("water", "water features", "水体", report.water),
        ("boundaries", "administrative boundaries", "行政边界", report.boundaries),
    ];
    if args.json {
        let mut fields: Vec<String> = counts.iter().map(|(k, _, _, v)| format!("\"{k}\": {v}")).collect();
        let problems: Vec<String> = report.problems.iter().map(|(p, n)| format!("\"{}\": {n}", p.code())).collect();
        fields.push(format!("\"problems\": {{{}}}", problems.join(", ")));
        fields.push(format!("\"seconds\": {seconds:.3}"));
        writeln!(out, "{{{}}}", fields.join(", "))?;
    } else {
        for (_, en, zh, v) in counts {
            writeln!(out, "{:<44} {v}", lang.t(en, zh))?;
        }
        writeln!(out, "{}:", lang.t("problems in the data (skipped, counted)", "数据问题（已跳过并计数）"))?;
        if report.problems.is_empty() {
            writeln!(out, "  {}", lang.t("none", "无"))?;
        }
        for p in Problem::ALL {
            if let Some(n) = report.problems.get(&p) {
                writeln!(out, "  {:<50} {n}", lang.t(p.label_en(), p.label_zh()))?;
            }
        }
        for d in report.examples.iter().take(10) {
            writeln!(out, "    {} {}: {}", d.osm_id, d.problem.code(), d.detail)?;
        }
        writeln!(out, "{} {seconds:.2} s", lang.t("done in", "用时"))?;
    }
    out.flush()?;
    Ok((ExitCode::SUCCESS, data))
}
