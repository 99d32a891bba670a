//! Gridline's side of the geo benchmark (`bench/geo/run.sh` runs it next to the peers).
//!
//! It reads the same seeded data as the peer scripts (points and polygons from `geo_data.py`, road graphs from
//! `road_graph.py`/`grid_graph.py` converted by `npz2bin.py`) and appends one JSON line per measurement,
//! in the peers' format, to the results file. Every figure is the median of `--runs` timed runs after one warm-up.
//!
//! Usage:
//!   side_by_side geo   --data DIR --sizes 1000000,10000000 --runs 5 --out FILE
//!   side_by_side route --graph DIR/graph_x.bin --runs 5 --out FILE
//!   side_by_side porto-check --osm FILE.osm.pbf --out DIR

#![allow(clippy::print_stdout)]

use std::io::Write;
use std::time::Instant;

use spatial::{Area, Geometry, LonLat, PointIndex, RoadGraphBuilder, Router};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn median_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut last = f();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], last)
}

struct Out(std::fs::File);

impl Out {
    fn open(path: &str) -> Self {
        Self(std::fs::OpenOptions::new().create(true).append(true).open(path).expect("results file"))
    }

    fn emit(&mut self, line: String) {
        println!("{line}");
        writeln!(self.0, "{line}").expect("write results");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; the sub-command is the first argument that is not a flag.
    let cmd = args.iter().skip(1).find(|a| !a.starts_with("--")).cloned().unwrap_or_default();
    match cmd.as_str() {
        "geo" => geo(&args),
        "route" => route(&args),
        "porto-check" => porto_check(&args),
        _ => eprintln!("usage: side_by_side geo|route|porto-check …"),
    }
}

fn geo(args: &[String]) {
    let data = arg(args, "--data").expect("--data DIR");
    let runs: usize = arg(args, "--runs").map_or(5, |r| r.parse().expect("--runs"));
    let sizes = arg(args, "--sizes").unwrap_or_else(|| "1000000".into());
    let only = arg(args, "--only").unwrap_or_default();
    let mut out = Out::open(&arg(args, "--out").expect("--out FILE"));
    let polygons: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{data}/polygons.json")).expect("polygons.json")).expect("json");
    let areas: Vec<(String, Area)> = polygons
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| only.is_empty() || only.split(',').any(|o| o == p["name"].as_str().unwrap_or("")))
        .map(|p| {
            let name = p["name"].as_str().expect("name").to_string();
            let area = Area::new(&Geometry::from_wkt(p["wkt"].as_str().expect("wkt")).expect("wkt parses")).expect("valid polygon");
            (name, area)
        })
        .collect();
    for n in sizes.split(',').map(|s| s.parse::<usize>().expect("size")) {
        let bytes = std::fs::read(format!("{data}/points_{n}.f64")).expect("points file");
        let t = Instant::now();
        let index = PointIndex::build(bytes.chunks_exact(16).enumerate().map(|(i, c)| {
            let lon = f64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
            let lat = f64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
            (i as u64, LonLat::new(lon, lat).expect("point in range"))
        }))
        .expect("distinct ids");
        let load_s = t.elapsed().as_secs_f64();
        drop(bytes);
        out.emit(format!(
            "{{\"peer\": \"gridline\", \"op\": \"build\", \"n\": {n}, \"load_s\": {load_s:.3}, \"bytes_per_point\": {:.2}}}",
            index.memory_bytes() as f64 / n as f64
        ));
        let mut ids = Vec::new();
        for (name, area) in &areas {
            let (med, min, count) = median_ms(runs, || index.count(area));
            out.emit(format!(
                "{{\"peer\": \"gridline\", \"op\": \"count\", \"n\": {n}, \"poly\": \"{name}\", \"result\": {count}, \"median_ms\": {med:.6}, \"min_ms\": {min:.6}, \"runs\": {runs}}}"
            ));
            let (med, min, len) = median_ms(runs, || {
                ids.clear();
                index.ids_into(area, &mut ids);
                ids.len()
            });
            out.emit(format!(
                "{{\"peer\": \"gridline\", \"op\": \"ids\", \"n\": {n}, \"poly\": \"{name}\", \"result\": {len}, \"median_ms\": {med:.6}, \"min_ms\": {min:.6}, \"runs\": {runs}}}"
            ));
        }
    }
}

/// A road graph in the layout written by `npz2bin.py`.
struct RawGraph {
    lon: Vec<f64>,
    lat: Vec<f64>,
    src: Vec<i32>,
    dst: Vec<i32>,
    w: Vec<f64>,
    closed: Vec<bool>,
    source: usize,
    t1000: Vec<usize>,
    s100: Vec<usize>,
    t100: Vec<usize>,
}

fn read_graph(path: &str) -> RawGraph {
    let bytes = std::fs::read(path).expect("graph file");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.replace(".bin", ".json")).expect("graph json")).expect("json");
    let n = meta["nodes"].as_u64().expect("nodes") as usize;
    let m = meta["edges"].as_u64().expect("edges") as usize;
    let mut at = 0;
    let mut take = |len: usize| {
        let s = &bytes[at..at + len];
        at += len;
        s
    };
    let f64s = |b: &[u8]| b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8"))).collect::<Vec<_>>();
    let i32s = |b: &[u8]| b.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().expect("4"))).collect::<Vec<_>>();
    let lon = f64s(take(8 * n));
    let lat = f64s(take(8 * n));
    let src = i32s(take(4 * m));
    let dst = i32s(take(4 * m));
    let w = f64s(take(8 * m));
    let closed = take(m).iter().map(|&b| b != 0).collect();
    let list = |k: &str| meta[k].as_array().expect(k).iter().map(|v| v.as_u64().expect("node") as usize).collect::<Vec<_>>();
    RawGraph {
        lon,
        lat,
        src,
        dst,
        w,
        closed,
        source: meta["src"].as_u64().expect("src") as usize,
        t1000: list("t1000"),
        s100: list("s100"),
        t100: list("t100"),
    }
}

fn route(args: &[String]) {
    let path = arg(args, "--graph").expect("--graph FILE.bin");
    let runs: usize = arg(args, "--runs").map_or(5, |r| r.parse().expect("--runs"));
    let mut out = Out::open(&arg(args, "--out").expect("--out FILE"));
    let name = std::path::Path::new(&path).file_stem().expect("name").to_string_lossy().to_string();
    let raw = read_graph(&path);
    let (n, m) = (raw.lon.len(), raw.src.len());
    let emit = |out: &mut Out, op: &str, variant: &str, med: f64, min: f64, extra: &str| {
        out.emit(format!(
            "{{\"graph\": \"{name}\", \"nodes\": {n}, \"edges\": {m}, \"peer\": \"gridline\", \"op\": \"{op}\", \"variant\": \"{variant}\", \"median_ms\": {med:.6}, \"min_ms\": {min:.6}{extra}}}"
        ));
    };
    let t = Instant::now();
    let mut b = RoadGraphBuilder::new();
    for i in 0..n {
        b.add_node(raw.lon[i], raw.lat[i]);
    }
    for e in 0..m {
        // Road id = the edge's row in the peers' arrays, so the peers' closure mask can be applied by id.
        b.add_edge(raw.src[e] as u32, raw.dst[e] as u32, raw.w[e], 0.0, e as u64);
    }
    let (graph, _, remap) = b.build();
    let mut router = Router::new(&graph);
    let prep = t.elapsed().as_secs_f64() * 1e3;
    emit(&mut out, "graph_build", "open", prep, prep, "");
    let t = Instant::now();
    router.prepare();
    let ch = t.elapsed().as_secs_f64() * 1e3;
    emit(
        &mut out,
        "prep",
        "open",
        prep + ch,
        prep + ch,
        &format!(", \"hierarchy_ms\": {ch:.1}, \"hierarchy_arcs\": {}", router.hierarchy_arcs().unwrap_or(0)),
    );
    let map = |v: usize| remap[v];
    let src = map(raw.source);
    let t1000: Vec<u32> = raw.t1000.iter().map(|&v| map(v)).collect();
    let s100: Vec<u32> = raw.s100.iter().map(|&v| map(v)).collect();
    let t100: Vec<u32> = raw.t100.iter().map(|&v| map(v)).collect();
    let closed_roads: Vec<u64> = (0..m).filter(|&e| raw.closed[e]).map(|e| e as u64).collect();
    for variant in ["open", "closed"] {
        if variant == "closed" {
            for &r in &closed_roads {
                router.close_road(r).expect("road id");
            }
            // The peers' closed variant is timed on a re-contracted hierarchy; so is this one.
            let t = Instant::now();
            router.prepare();
            let re = t.elapsed().as_secs_f64() * 1e3;
            emit(&mut out, "prep", "closed", re, re, ", \"note\": \"hierarchy rebuilt in the known order\"");
        }
        // Like the peers, the timed call returns the distance array and does nothing more with it.
        let (med, min, _) = median_ms(runs, || router.one_to_all_ms(src).expect("node").len());
        emit(&mut out, "one_to_all", variant, med, min, "");
        // A first query to a new set of 1,000 targets selects the part of the hierarchy they need; later queries
        // to the same targets (the same responders, from another incident) reuse it.
        let (med, min, _) = median_ms(runs, || {
            router.clear_caches();
            router.one_to_many_ms(src, &t1000).expect("nodes")
        });
        emit(&mut out, "one_to_1000_first", variant, med, min, "");
        let (med, min, _) = median_ms(runs, || router.one_to_many_ms(src, &t1000).expect("nodes"));
        emit(&mut out, "one_to_1000", variant, med, min, "");
        let (med, min, _) = median_ms(runs.div_ceil(2).max(1), || router.table_ms(&s100, &t100).expect("nodes"));
        emit(&mut out, "table_100", variant, med, min, "");
    }
    // A flood closes roads: the time from "these roads are closed" to correct answers for the 1,000 targets,
    // with the hierarchy of the open graph now stale, so the router answers by Dijkstra at once.
    router.reopen_all();
    router.prepare();
    let (med, min, _) = median_ms(runs, || {
        router.reopen_all();
        for &r in &closed_roads {
            router.close_road(r).expect("road id");
        }
        router.one_to_many_ms(src, &t1000).expect("nodes")
    });
    emit(&mut out, "closure_then_1000", "closed", med, min, &format!(", \"closed_edges\": {}", closed_roads.len()));
    let (med, min, _) = median_ms(runs.div_ceil(2).max(1), || {
        router.reopen_all();
        for &r in &closed_roads {
            router.close_road(r).expect("road id");
        }
        router.table_ms(&s100, &t100).expect("nodes")
    });
    emit(&mut out, "closure_then_table_100", "closed", med, min, "");
    // Correctness against the peers: the travel times to the 1,000 targets, written for the cross-check.
    let mut cmp = std::fs::File::create(path.replace(".bin", ".gridline_t1000.txt")).expect("compare file");
    for variant in ["open", "closed"] {
        router.reopen_all();
        if variant == "closed" {
            for &r in &closed_roads {
                router.close_road(r).expect("road id");
            }
        }
        let d = router.one_to_many_ms(src, &t1000).expect("nodes");
        let line: Vec<String> = d.iter().map(|x| x.map_or("inf".to_string(), |v| format!("{:.3}", f64::from(v) / 1000.0))).collect();
        writeln!(cmp, "{variant} {}", line.join(" ")).expect("write");
    }
}

/// Imports Porto with Gridline's importer and writes the graph and Gridline's travel times from a few sources,
/// so that `crosscheck.py` can run scipy's Dijkstra on exactly this graph and compare.
fn porto_check(args: &[String]) {
    let osm = arg(args, "--osm").expect("--osm FILE");
    let dir = arg(args, "--out").expect("--out DIR");
    let (data, _) = spatial::osm::import_path(std::path::Path::new(&osm), &mut |_| {}).expect("import");
    let g = &data.graph;
    let mut f = std::fs::File::create(format!("{dir}/porto_gridline_edges.csv")).expect("edges file");
    writeln!(f, "tail,head,weight_ms").expect("write");
    for e in 0..g.edge_count() as u32 {
        let (t, h, w, _, _) = g.edge(e);
        writeln!(f, "{t},{h},{w}").expect("write");
    }
    let mut router = Router::new(g);
    let mut f = std::fs::File::create(format!("{dir}/porto_gridline_dist.csv")).expect("dist file");
    let n = g.node_count() as u32;
    for k in 0..10u32 {
        // Half the sources with plain Dijkstra, half with the contraction hierarchy (PHAST).
        if k == 5 {
            router.prepare();
        }
        let s = (k * 7919) % n;
        let d = router.one_to_all_ms(s).expect("node");
        let line: Vec<String> = d.iter().map(|&x| if x == u32::MAX { "inf".to_string() } else { x.to_string() }).collect();
        writeln!(f, "{s},{}", line.join(",")).expect("write");
    }
    println!("{{\"porto_nodes\": {}, \"porto_edges\": {}}}", g.node_count(), g.edge_count());
}
