//! The road graph: a compact directed travel-time graph in compressed sparse row form.
//!
//! This module owns the graph's layout and its construction: nodes renumbered along a Z-order curve so that
//! neighbours in space are neighbours in memory, edges grouped by tail node, and the restriction to the largest
//! strongly connected component (so that every kept node can reach every other).
//! Travel times are whole milliseconds, so sums are exact and independent of the order of additions.
//! It must never change after it is built; closures live beside it in [`crate::route::Closures`].

use crate::predicates::BBox;

/// A directed road graph. Node and edge indices are `u32`.
#[derive(Debug, Clone)]
pub struct RoadGraph {
    pub(crate) coords: Vec<[f64; 2]>,
    /// `first_out[v]..first_out[v + 1]` are the edges leaving `v`.
    pub(crate) first_out: Vec<u32>,
    pub(crate) head: Vec<u32>,
    pub(crate) weight_ms: Vec<u32>,
    pub(crate) length_m: Vec<f32>,
    /// The road (for OpenStreetMap: the way id) each edge belongs to, so closures can name roads.
    pub(crate) road: Vec<u64>,
    /// The tail of each edge, kept for closures and snapping, which start from an edge rather than a node.
    pub(crate) tail: Vec<u32>,
}

/// Collects nodes and edges, then builds a [`RoadGraph`].
#[derive(Debug, Clone, Default)]
pub struct RoadGraphBuilder {
    coords: Vec<[f64; 2]>,
    edges: Vec<RawEdge>,
}

#[derive(Debug, Clone, Copy)]
struct RawEdge {
    from: u32,
    to: u32,
    weight_ms: u32,
    length_m: f32,
    road: u64,
}

/// How building went: what was dropped and why, so that an import can report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildReport {
    pub nodes_in: usize,
    pub edges_in: usize,
    pub nodes_kept: usize,
    pub edges_kept: usize,
    /// Nodes outside the largest strongly connected component.
    pub nodes_outside_largest_component: usize,
    /// Edges from a node to itself, which never shorten a route.
    pub self_loops_dropped: usize,
}

impl RoadGraphBuilder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node at (lon, lat) and returns its builder index.
    pub fn add_node(&mut self, lon: f64, lat: f64) -> u32 {
        self.coords.push([lon, lat]);
        (self.coords.len() - 1) as u32
    }

    #[must_use]
    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    /// Adds a directed edge. The travel time is rounded to whole milliseconds, at least 1.
    pub fn add_edge(&mut self, from: u32, to: u32, seconds: f64, meters: f64, road: u64) {
        let weight_ms = (seconds * 1000.0).round().clamp(1.0, f64::from(u32::MAX / 4)) as u32;
        self.edges.push(RawEdge { from, to, weight_ms, length_m: meters as f32, road });
    }

    /// Adds a directed edge with an exact travel time in milliseconds (at least 1).
    pub fn add_edge_ms(&mut self, from: u32, to: u32, weight_ms: u32, meters: f64, road: u64) {
        self.edges.push(RawEdge { from, to, weight_ms: weight_ms.max(1), length_m: meters as f32, road });
    }

    /// Builds the graph on the largest strongly connected component.
    /// Returns the graph, the report, and for every builder node its graph node (or `u32::MAX` if dropped).
    #[must_use]
    pub fn build(self) -> (RoadGraph, BuildReport, Vec<u32>) {
        let n = self.coords.len();
        let mut report = BuildReport { nodes_in: n, edges_in: self.edges.len(), ..BuildReport::default() };
        let edges: Vec<RawEdge> = self
            .edges
            .into_iter()
            .filter(|e| (e.from as usize) < n && (e.to as usize) < n)
            .filter(|e| {
                let keep = e.from != e.to;
                if !keep {
                    report.self_loops_dropped += 1;
                }
                keep
            })
            .collect();
        let component = largest_scc(n, &edges);
        // Renumber the kept nodes along a Z-order curve for memory locality during searches.
        let mut kept: Vec<(u64, u32)> = (0..n as u32)
            .filter(|&v| component[v as usize])
            .map(|v| {
                let c = self.coords[v as usize];
                let qx = ((c[0] + 180.0) * (4_294_967_296.0 / 360.0)) as u32;
                let qy = ((c[1] + 90.0) * (4_294_967_296.0 / 180.0)) as u32;
                (interleave(qx, qy), v)
            })
            .collect();
        kept.sort_unstable();
        let mut remap = vec![u32::MAX; n];
        let mut coords = Vec::with_capacity(kept.len());
        for (new, &(_, old)) in kept.iter().enumerate() {
            remap[old as usize] = new as u32;
            coords.push(self.coords[old as usize]);
        }
        let mut kept_edges: Vec<RawEdge> = edges
            .into_iter()
            .filter(|e| component[e.from as usize] && component[e.to as usize])
            .map(|e| RawEdge { from: remap[e.from as usize], to: remap[e.to as usize], ..e })
            .collect();
        kept_edges.sort_unstable_by_key(|e| (e.from, e.to, e.weight_ms));
        let m = kept_edges.len();
        let nn = coords.len();
        let mut first_out = vec![0u32; nn + 1];
        for e in &kept_edges {
            first_out[e.from as usize + 1] += 1;
        }
        for v in 0..nn {
            first_out[v + 1] += first_out[v];
        }
        report.nodes_kept = nn;
        report.edges_kept = m;
        report.nodes_outside_largest_component = n - nn;
        let graph = RoadGraph {
            coords,
            first_out,
            head: kept_edges.iter().map(|e| e.to).collect(),
            weight_ms: kept_edges.iter().map(|e| e.weight_ms).collect(),
            length_m: kept_edges.iter().map(|e| e.length_m).collect(),
            road: kept_edges.iter().map(|e| e.road).collect(),
            tail: kept_edges.iter().map(|e| e.from).collect(),
        };
        (graph, report, remap)
    }
}

fn interleave(x: u32, y: u32) -> u64 {
    let spread = |v: u32| {
        let mut x = u64::from(v);
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    };
    (spread(x) << 1) | spread(y)
}

/// Marks the nodes of the largest strongly connected component (Kosaraju, iterative).
fn largest_scc(n: usize, edges: &[RawEdge]) -> Vec<bool> {
    let csr = |rev: bool| {
        let mut start = vec![0u32; n + 1];
        for e in edges {
            let t = if rev { e.to } else { e.from };
            start[t as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut adj = vec![0u32; edges.len()];
        for e in edges {
            let (t, h) = if rev { (e.to, e.from) } else { (e.from, e.to) };
            adj[fill[t as usize] as usize] = h;
            fill[t as usize] += 1;
        }
        (start, adj)
    };
    let (fs, fa) = csr(false);
    let (rs, ra) = csr(true);
    // First pass: order nodes by DFS finishing time on the forward graph.
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for s in 0..n as u32 {
        if visited[s as usize] {
            continue;
        }
        visited[s as usize] = true;
        stack.push((s, fs[s as usize]));
        while let Some(top) = stack.last_mut() {
            let (v, ref mut next) = *top;
            if *next < fs[v as usize + 1] {
                let w = fa[*next as usize];
                *next += 1;
                if !visited[w as usize] {
                    visited[w as usize] = true;
                    stack.push((w, fs[w as usize]));
                }
            } else {
                order.push(v);
                stack.pop();
            }
        }
    }
    // Second pass: components on the reverse graph in decreasing finishing time.
    let mut comp = vec![u32::MAX; n];
    let mut sizes: Vec<usize> = Vec::new();
    let mut work = Vec::new();
    for &s in order.iter().rev() {
        if comp[s as usize] != u32::MAX {
            continue;
        }
        let c = sizes.len() as u32;
        sizes.push(0);
        comp[s as usize] = c;
        work.push(s);
        while let Some(v) = work.pop() {
            sizes[c as usize] += 1;
            for &w in &ra[rs[v as usize] as usize..rs[v as usize + 1] as usize] {
                if comp[w as usize] == u32::MAX {
                    comp[w as usize] = c;
                    work.push(w);
                }
            }
        }
    }
    let best = sizes.iter().enumerate().max_by_key(|(_, s)| **s).map_or(u32::MAX, |(c, _)| c as u32);
    comp.iter().map(|&c| c == best).collect()
}

impl RoadGraph {
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    #[must_use]
    pub fn edge_count(&self) -> usize {
        self.head.len()
    }

    /// Position of a node as (lon, lat).
    #[must_use]
    pub fn node_coord(&self, node: u32) -> [f64; 2] {
        self.coords[node as usize]
    }

    /// The edges leaving a node, as edge indices.
    #[must_use]
    pub fn out_edges(&self, node: u32) -> std::ops::Range<u32> {
        self.first_out[node as usize]..self.first_out[node as usize + 1]
    }

    /// Tail, head, travel time in milliseconds, length in metres and road id of an edge.
    #[must_use]
    pub fn edge(&self, edge: u32) -> (u32, u32, u32, f32, u64) {
        let e = edge as usize;
        (self.tail[e], self.head[e], self.weight_ms[e], self.length_m[e], self.road[e])
    }

    /// The bounding box of all nodes.
    #[must_use]
    pub fn bbox(&self) -> BBox {
        let mut b = BBox::EMPTY;
        for c in &self.coords {
            b.extend(c[0], c[1]);
        }
        b
    }
}
