//! Routing on a [`RoadGraph`] with closed roads: snapping, one-to-one, one-to-many, k-nearest, tables, isochrones.
//!
//! This module owns the searches and the closure state.
//! A closure is one bit per edge that every search checks as it relaxes edges, so closing or reopening roads
//! takes effect at the very next query, with no preprocessing at all.
//! Plain searches are Dijkstra's algorithm on whole-millisecond weights with a radix heap; multi-target searches
//! stop as soon as their last target (or their k-th candidate) is settled.
//! [`Router::prepare`] adds a contraction hierarchy (module `ch`) for one-to-all, one-to-many and tables; it is
//! used only while the closures are exactly those it was built for, so a stale hierarchy is never consulted.
//! It must never return a route through a closed edge, nor report an unreachable target as zero.

use std::collections::HashMap;

use crate::area::{Area, spherical_distance_m};
use crate::ch::{ChWorkspace, ContractionHierarchy, TargetSelection};
use crate::error::SpatialError;
use crate::graph::RoadGraph;
use crate::predicates::{BBox, Edge};

/// Sentinel distance for unreached nodes.
const UNREACHED: u32 = u32::MAX;
/// From this many targets on, a prepared router answers one-to-many with a full PHAST sweep rather than a
/// Dijkstra search that stops at the last target.
const PHAST_MIN_TARGETS: usize = 64;

/// The set of closed edges.
#[derive(Debug, Clone)]
pub struct Closures {
    bits: Vec<u64>,
    n_closed: usize,
    /// Bumped on every change, so a hierarchy built for an earlier state is noticed cheaply.
    version: u64,
}

impl Closures {
    fn new(n_edges: usize) -> Self {
        Self { bits: vec![0; n_edges.div_ceil(64)], n_closed: 0, version: 0 }
    }

    #[inline]
    #[must_use]
    pub fn is_closed(&self, edge: u32) -> bool {
        self.bits[edge as usize / 64] & (1 << (edge % 64)) != 0
    }

    fn set(&mut self, edge: u32, closed: bool) -> bool {
        let (w, b) = (edge as usize / 64, 1u64 << (edge % 64));
        let was = self.bits[w] & b != 0;
        if was != closed {
            self.version += 1;
            self.bits[w] ^= b;
            if closed {
                self.n_closed += 1;
            } else {
                self.n_closed -= 1;
            }
        }
        was != closed
    }

    /// Number of closed edges.
    #[must_use]
    pub fn count(&self) -> usize {
        self.n_closed
    }
}

/// A point snapped onto the road graph: a position on one edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge the point was snapped to.
    pub edge: u32,
    /// Fraction of the way along the edge, from its tail (0) to its head (1).
    pub fraction: f64,
    /// Distance from the original point to the road, in metres.
    pub distance_m: f64,
    /// The snapped position on the road, as (lon, lat).
    pub on_road: [f64; 2],
}

/// A route between two snapped points.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub seconds: f64,
    pub meters: f64,
    /// The path as (lon, lat) positions, from the snapped start to the snapped end.
    pub geometry: Vec<[f64; 2]>,
}

/// A monotone priority queue for integer keys (a radix heap): pushes are O(1) and each key is moved
/// between buckets at most 32 times, which beats a binary heap for Dijkstra on integer weights.
#[derive(Debug, Clone)]
struct RadixHeap {
    last: u32,
    len: usize,
    buckets: Vec<Vec<(u32, u32)>>,
}

impl RadixHeap {
    fn new() -> Self {
        Self { last: 0, len: 0, buckets: vec![Vec::new(); 33] }
    }

    fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.last = 0;
        self.len = 0;
    }

    #[inline]
    fn bucket(&self, key: u32) -> usize {
        (32 - (key ^ self.last).leading_zeros()) as usize
    }

    #[inline]
    fn push(&mut self, key: u32, value: u32) {
        let b = self.bucket(key);
        self.buckets[b].push((key, value));
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<(u32, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..33).find(|&i| !self.buckets[i].is_empty())?;
            let items = std::mem::take(&mut self.buckets[i]);
            self.last = items.iter().map(|x| x.0).min().unwrap_or(self.last);
            for &(k, v) in &items {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
            }
            // Give the emptied bucket its allocation back for reuse.
            let mut items = items;
            items.clear();
            self.buckets[i] = items;
        }
        self.len -= 1;
        self.buckets[0].pop()
    }
}

/// A uniform grid over edge segments, for snapping.
#[derive(Debug, Clone)]
struct SnapGrid {
    bbox: BBox,
    nx: usize,
    ny: usize,
    cell_w: f64,
    cell_h: f64,
    start: Vec<u32>,
    edges: Vec<u32>,
}

/// Answers routing queries on one graph, with its own closures and search workspace.
#[derive(Debug, Clone)]
pub struct Router<'g> {
    graph: &'g RoadGraph,
    closures: Closures,
    dist: Vec<u32>,
    parent_edge: Vec<u32>,
    touched: Vec<u32>,
    heap: RadixHeap,
    target_mark: Vec<u32>,
    stamp: u32,
    snap_grid: SnapGrid,
    roads: HashMap<u64, Vec<u32>>,
    /// The hierarchy, the closures it was built for, and the closure version it is known to match.
    ch: Option<(ContractionHierarchy, Closures, u64)>,
    ch_ws: ChWorkspace,
    all_buf: Vec<u32>,
    /// The last target selection, reused while the same targets are asked for on the same hierarchy
    /// (dispatch asks again and again for the same responders or depots).
    selection: Option<TargetSelection>,
    last_targets: Vec<u32>,
}

impl<'g> Router<'g> {
    /// Prepares a router: a snapping grid and a road-id lookup, built in one pass over the edges.
    #[must_use]
    pub fn new(graph: &'g RoadGraph) -> Self {
        let n = graph.node_count();
        let mut roads: HashMap<u64, Vec<u32>> = HashMap::new();
        for (e, &r) in graph.road.iter().enumerate() {
            roads.entry(r).or_default().push(e as u32);
        }
        Self {
            graph,
            closures: Closures::new(graph.edge_count()),
            dist: vec![UNREACHED; n],
            parent_edge: vec![u32::MAX; n],
            touched: Vec::new(),
            heap: RadixHeap::new(),
            target_mark: vec![0; n],
            stamp: 0,
            snap_grid: SnapGrid::new(graph),
            roads,
            ch: None,
            ch_ws: ChWorkspace::default(),
            all_buf: Vec::new(),
            selection: None,
            last_targets: Vec::new(),
        }
    }

    #[must_use]
    pub fn graph(&self) -> &'g RoadGraph {
        self.graph
    }

    #[must_use]
    pub fn closures(&self) -> &Closures {
        &self.closures
    }

    /// Closes one directed edge; returns whether it was open.
    pub fn close_edge(&mut self, edge: u32) -> Result<bool, SpatialError> {
        if edge as usize >= self.graph.edge_count() {
            return Err(SpatialError::UnknownRoad { edge: u64::from(edge) });
        }
        Ok(self.closures.set(edge, true))
    }

    /// Reopens one directed edge; returns whether it was closed.
    pub fn reopen_edge(&mut self, edge: u32) -> Result<bool, SpatialError> {
        if edge as usize >= self.graph.edge_count() {
            return Err(SpatialError::UnknownRoad { edge: u64::from(edge) });
        }
        Ok(self.closures.set(edge, false))
    }

    /// Closes every edge of a road (an OpenStreetMap way id), both directions; returns how many edges changed.
    pub fn close_road(&mut self, road: u64) -> Result<usize, SpatialError> {
        self.set_road(road, true)
    }

    /// Reopens every edge of a road; returns how many edges changed.
    pub fn reopen_road(&mut self, road: u64) -> Result<usize, SpatialError> {
        self.set_road(road, false)
    }

    fn set_road(&mut self, road: u64, closed: bool) -> Result<usize, SpatialError> {
        let edges = self.roads.get(&road).ok_or(SpatialError::UnknownRoad { edge: road })?;
        Ok(edges.iter().filter(|&&e| self.closures.set(e, closed)).count())
    }

    /// Closes every edge that touches the area (an endpoint inside it, or the segment crossing its boundary);
    /// returns how many edges were newly closed.
    pub fn close_area(&mut self, area: &Area) -> usize {
        let edges = self.edges_touching(area);
        edges.into_iter().filter(|&e| self.closures.set(e, true)).count()
    }

    /// Reopens every edge that touches the area; returns how many edges were reopened.
    pub fn reopen_area(&mut self, area: &Area) -> usize {
        let edges = self.edges_touching(area);
        edges.into_iter().filter(|&e| self.closures.set(e, false)).count()
    }

    /// Reopens everything.
    pub fn reopen_all(&mut self) {
        let version = self.closures.version + 1;
        self.closures = Closures::new(self.graph.edge_count());
        self.closures.version = version;
    }

    /// Builds (or rebuilds, for the current closures) the contraction hierarchy that speeds up one-to-all,
    /// one-to-many and table queries. Until it is called again after closures change, those queries fall back to
    /// Dijkstra, which needs no preparation, so closures always take effect at once.
    /// A rebuild reuses the node order of the previous hierarchy and is several times faster than the first build.
    pub fn prepare(&mut self) {
        let ch = match &self.ch {
            Some((old, _, _)) => ContractionHierarchy::rebuild(self.graph, &self.closures, &old.order),
            None => ContractionHierarchy::build(self.graph, &self.closures),
        };
        self.ch = Some((ch, self.closures.clone(), self.closures.version));
        self.selection = None;
    }

    /// Forgets the cached target selection (for measurements of a first query).
    pub fn clear_caches(&mut self) {
        self.selection = None;
        self.last_targets.clear();
    }

    /// Whether the hierarchy matches the current closures (then the fast paths are exact).
    #[must_use]
    pub fn is_prepared(&mut self) -> bool {
        let Some((_, built_for, version)) = &mut self.ch else { return false };
        if *version == self.closures.version {
            return true;
        }
        // Closing and reopening the same roads brings the hierarchy back into use.
        if built_for.bits == self.closures.bits {
            *version = self.closures.version;
            return true;
        }
        false
    }

    /// Number of arcs in the hierarchy, if prepared (for statistics).
    #[must_use]
    pub fn hierarchy_arcs(&self) -> Option<usize> {
        self.ch.as_ref().map(|c| c.0.arc_count())
    }

    fn edges_touching(&self, area: &Area) -> Vec<u32> {
        let g = self.graph;
        let ab = area.bbox();
        let rings: Vec<Edge> =
            area.rings().iter().flat_map(|r| r.windows(2).map(|w| Edge { ax: w[0][0], ay: w[0][1], bx: w[1][0], by: w[1][1] })).collect();
        let mut out = Vec::new();
        for e in 0..g.edge_count() as u32 {
            let a = g.coords[g.tail[e as usize] as usize];
            let b = g.coords[g.head[e as usize] as usize];
            let mut eb = BBox::EMPTY;
            eb.extend(a[0], a[1]);
            eb.extend(b[0], b[1]);
            if !eb.intersects(&ab) {
                continue;
            }
            let touches = area.contains(a[0], a[1])
                || area.contains(b[0], b[1])
                || rings.iter().any(|r| {
                    crate::predicates::segment_contact([r.ax, r.ay], [r.bx, r.by], a, b) != crate::predicates::SegmentContact::Disjoint
                })
                || (rings.is_empty() && area.contains(0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])));
            if touches {
                out.push(e);
            }
        }
        out
    }

    /// Snaps a point to the nearest edge within `max_m` metres.
    /// Closed edges are skipped, so a point in a flooded street snaps to the nearest open road.
    pub fn snap(&self, lon: f64, lat: f64, max_m: f64) -> Result<Snap, SpatialError> {
        self.snap_grid.nearest(self.graph, lon, lat, max_m, |e| !self.closures.is_closed(e)).ok_or(SpatialError::NoRoadNearby {
            lon,
            lat,
            max_m,
        })
    }

    /// The open edge running the other way along the same road segment, if any.
    fn reverse_of(&self, edge: u32) -> Option<u32> {
        let (tail, head, _, _, _) = self.graph.edge(edge);
        self.graph.out_edges(head).find(|&e| self.graph.head[e as usize] == tail && !self.closures.is_closed(e))
    }

    /// The starting costs of a search from a snapped point: the rest of its edge to the edge's head,
    /// and on a two-way street also the way back to its tail.
    fn sources_of(&self, s: &Snap) -> Vec<(u32, u32)> {
        let (tail, head, w, _, _) = self.graph.edge(s.edge);
        let mut out = Vec::with_capacity(2);
        // A snap taken before its edge was closed may only leave along the reverse edge.
        if !self.closures.is_closed(s.edge) {
            out.push((head, ((1.0 - s.fraction) * f64::from(w)).round() as u32));
        }
        if let Some(r) = self.reverse_of(s.edge) {
            out.push((tail, (s.fraction * f64::from(self.graph.weight_ms[r as usize])).round() as u32));
        }
        out
    }

    /// The arrival costs at a snapped point: reach the edge's tail, then travel the first part of the edge;
    /// on a two-way street, arriving from the head along the reverse edge also counts.
    fn target_of(&self, s: &Snap) -> Vec<(u32, u32)> {
        let (tail, head, w, _, _) = self.graph.edge(s.edge);
        let mut out = Vec::with_capacity(2);
        if !self.closures.is_closed(s.edge) {
            out.push((tail, (s.fraction * f64::from(w)).round() as u32));
        }
        if let Some(r) = self.reverse_of(s.edge) {
            out.push((head, ((1.0 - s.fraction) * f64::from(self.graph.weight_ms[r as usize])).round() as u32));
        }
        out
    }

    fn best_arrival(&self, ends: &[(u32, u32)]) -> Option<(u32, u32)> {
        ends.iter().filter_map(|&(v, extra)| self.reached(v).map(|d| (d.saturating_add(extra), v))).min()
    }

    /// Dijkstra from the given (node, initial cost) pairs. Stops when `stop` says so after settling a node,
    /// or when every node within `limit_ms` is settled.
    fn search(&mut self, sources: &[(u32, u32)], limit_ms: u32, mut stop: impl FnMut(u32, u32) -> bool) {
        for &v in &self.touched {
            self.dist[v as usize] = UNREACHED;
            self.parent_edge[v as usize] = u32::MAX;
        }
        self.touched.clear();
        self.heap.clear();
        let g = self.graph;
        for &(v, c) in sources {
            if c < self.dist[v as usize] {
                if self.dist[v as usize] == UNREACHED {
                    self.touched.push(v);
                }
                self.dist[v as usize] = c;
                self.parent_edge[v as usize] = u32::MAX;
            }
        }
        // The radix heap needs keys no smaller than the last popped one; the smallest source goes first.
        let min_src = sources.iter().map(|s| s.1).min().unwrap_or(0);
        self.heap.last = min_src;
        for &(v, c) in sources {
            if self.dist[v as usize] == c {
                self.heap.push(c, v);
            }
        }
        let check_closures = self.closures.n_closed > 0;
        while let Some((d, v)) = self.heap.pop() {
            if d != self.dist[v as usize] {
                continue;
            }
            if d > limit_ms {
                break;
            }
            if stop(v, d) {
                break;
            }
            let (lo, hi) = (g.first_out[v as usize] as usize, g.first_out[v as usize + 1] as usize);
            for e in lo..hi {
                if check_closures && self.closures.is_closed(e as u32) {
                    continue;
                }
                let w = g.head[e];
                let nd = d.saturating_add(g.weight_ms[e]);
                let old = self.dist[w as usize];
                if nd < old {
                    if old == UNREACHED {
                        self.touched.push(w);
                    }
                    self.dist[w as usize] = nd;
                    self.parent_edge[w as usize] = e as u32;
                    self.heap.push(nd, w);
                }
            }
        }
    }

    /// Travel times in milliseconds from a node to every node (`u32::MAX` where unreachable).
    pub fn one_to_all_ms(&mut self, source: u32) -> Result<&[u32], SpatialError> {
        self.check_node(source)?;
        if self.is_prepared() {
            // A sweep costs the whole graph; when closures leave only a small part reachable, a Dijkstra search
            // with a small budget finishes first, so it is tried before the sweep.
            let budget = (self.graph.node_count() / 32).max(64);
            let mut settled = 0usize;
            self.search(&[(source, 0)], UNREACHED - 1, |_, _| {
                settled += 1;
                settled > budget
            });
            if settled <= budget {
                return Ok(&self.dist);
            }
            if let Some((ch, _, _)) = &self.ch {
                ch.one_to_all(&mut self.ch_ws, &[(source, 0)], &mut self.all_buf);
            }
            return Ok(&self.all_buf);
        }
        self.search(&[(source, 0)], UNREACHED - 1, |_, _| false);
        Ok(&self.dist)
    }

    /// Travel times in milliseconds from one node to each target node; `None` where unreachable.
    pub fn one_to_many_ms(&mut self, source: u32, targets: &[u32]) -> Result<Vec<Option<u32>>, SpatialError> {
        self.check_node(source)?;
        for &t in targets {
            self.check_node(t)?;
        }
        if targets.len() >= PHAST_MIN_TARGETS
            && self.is_prepared()
            && let Some((ch, _, _)) = &self.ch
        {
            // A target set seen for the second time in a row earns a selection; a new one gets the full sweep,
            // which costs about as much as selecting.
            let reuse = self.selection.as_ref().is_some_and(|s| s.targets == targets);
            if !reuse && self.last_targets == targets {
                self.selection = Some(ch.select(targets));
            }
            let d = match &self.selection {
                Some(sel) if sel.targets == targets => ch.one_to_selection(&mut self.ch_ws, &[(source, 0)], sel),
                _ => {
                    self.last_targets.clear();
                    self.last_targets.extend_from_slice(targets);
                    ch.one_to_many(&mut self.ch_ws, &[(source, 0)], targets)
                }
            };
            return Ok(d.into_iter().map(|x| (x != UNREACHED).then_some(x)).collect());
        }
        self.search_targets(&[(source, 0)], targets);
        Ok(targets.iter().map(|&t| self.reached(t)).collect())
    }

    fn check_node(&self, v: u32) -> Result<(), SpatialError> {
        if (v as usize) < self.graph.node_count() { Ok(()) } else { Err(SpatialError::UnknownNode { node: v }) }
    }

    fn reached(&self, v: u32) -> Option<u32> {
        let d = self.dist[v as usize];
        (d != UNREACHED).then_some(d)
    }

    /// Runs a search that stops once every target node is settled.
    fn search_targets(&mut self, sources: &[(u32, u32)], targets: &[u32]) {
        // Targets are marked with a per-call stamp so that no clearing pass is needed.
        let stamp = self.next_stamp();
        let mut remaining = 0usize;
        for &t in targets {
            if self.target_mark[t as usize] != stamp {
                self.target_mark[t as usize] = stamp;
                remaining += 1;
            }
        }
        let marks = std::mem::take(&mut self.target_mark);
        self.search(sources, UNREACHED - 1, |v, _| {
            if marks[v as usize] == stamp {
                remaining -= 1;
                return remaining == 0;
            }
            false
        });
        self.target_mark = marks;
    }

    fn next_stamp(&mut self) -> u32 {
        // Each call gets a fresh stamp, so marks left by earlier calls never match; on wrap-around they are cleared.
        if self.stamp == u32::MAX {
            self.target_mark.fill(0);
            self.stamp = 0;
        }
        self.stamp += 1;
        self.stamp
    }

    /// Many-to-many travel-time table in milliseconds: `result[i][j]` from `sources[i]` to `targets[j]`.
    pub fn table_ms(&mut self, sources: &[u32], targets: &[u32]) -> Result<Vec<Vec<Option<u32>>>, SpatialError> {
        for &v in sources.iter().chain(targets) {
            self.check_node(v)?;
        }
        if self.is_prepared()
            && let Some((ch, _, _)) = &self.ch
        {
            let s: Vec<Vec<(u32, u32)>> = sources.iter().map(|&v| vec![(v, 0)]).collect();
            let t: Vec<Vec<(u32, u32)>> = targets.iter().map(|&v| vec![(v, 0)]).collect();
            let table = ch.table(&mut self.ch_ws, &s, &t);
            return Ok(table.into_iter().map(|row| row.into_iter().map(|x| (x != UNREACHED).then_some(x)).collect()).collect());
        }
        sources
            .iter()
            .map(|&s| {
                self.search_targets(&[(s, 0)], targets);
                Ok(targets.iter().map(|&t| self.reached(t)).collect())
            })
            .collect()
    }

    /// The `k` candidates nearest by travel time from a node, as (candidate index, milliseconds), nearest first.
    /// The search stops as soon as the k-th candidate is settled.
    pub fn nearest_k_ms(&mut self, source: u32, candidates: &[u32], k: usize) -> Result<Vec<(usize, u32)>, SpatialError> {
        self.check_node(source)?;
        let mut by_node: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, &c) in candidates.iter().enumerate() {
            self.check_node(c)?;
            by_node.entry(c).or_default().push(i);
        }
        let mut found: Vec<(usize, u32)> = Vec::new();
        if k == 0 {
            return Ok(found);
        }
        self.search(&[(source, 0)], UNREACHED - 1, |v, d| {
            if let Some(list) = by_node.get(&v) {
                for &i in list {
                    found.push((i, d));
                }
            }
            found.len() >= k
        });
        found.truncate(k);
        Ok(found)
    }

    /// Nodes reachable within `max_seconds` from a node, with their travel times in milliseconds.
    pub fn isochrone_nodes(&mut self, source: u32, max_seconds: f64) -> Result<Vec<(u32, u32)>, SpatialError> {
        self.check_node(source)?;
        let limit = (max_seconds * 1000.0).floor().clamp(0.0, f64::from(UNREACHED - 1)) as u32;
        self.search(&[(source, 0)], limit, |_, _| false);
        let mut out: Vec<(u32, u32)> = self.touched.iter().map(|&v| (v, self.dist[v as usize])).filter(|&(_, d)| d <= limit).collect();
        out.sort_unstable_by_key(|&(v, d)| (d, v));
        Ok(out)
    }

    /// Road edges wholly reachable within `max_seconds` from a point, as segments to draw on a map.
    pub fn isochrone_segments(&mut self, from: &Snap, max_seconds: f64) -> Vec<[[f64; 2]; 2]> {
        let limit = (max_seconds * 1000.0).floor().clamp(0.0, f64::from(UNREACHED - 1)) as u32;
        let sources = self.sources_of(from);
        self.search(&sources, limit, |_, _| false);
        let g = self.graph;
        let mut out = Vec::new();
        for &v in &self.touched {
            let d = self.dist[v as usize];
            if d > limit {
                continue;
            }
            for e in g.out_edges(v) {
                if self.closures.is_closed(e) {
                    continue;
                }
                if d.saturating_add(g.weight_ms[e as usize]) <= limit {
                    out.push([g.coords[v as usize], g.coords[g.head[e as usize] as usize]]);
                }
            }
        }
        out
    }

    /// The fastest route between two snapped points, or `None` when the destination cannot be reached.
    pub fn route(&mut self, from: &Snap, to: &Snap) -> Option<Route> {
        let g = self.graph;
        if from.edge == to.edge && to.fraction >= from.fraction && !self.closures.is_closed(from.edge) {
            // Both points on one edge, the destination ahead: drive along the edge.
            let (_, _, w, len, _) = g.edge(from.edge);
            let part = to.fraction - from.fraction;
            return Some(Route {
                seconds: (part * f64::from(w)).round() / 1000.0,
                meters: part * f64::from(len),
                geometry: vec![from.on_road, to.on_road],
            });
        }
        let sources = self.sources_of(from);
        let ends = self.target_of(to);
        let end_nodes: Vec<u32> = ends.iter().map(|e| e.0).collect();
        self.search_targets(&sources, &end_nodes);
        let (total_ms, end_node) = self.best_arrival(&ends)?;
        let mut meters = 0.0;
        let mut nodes = vec![end_node];
        let mut v = end_node;
        loop {
            let e = self.parent_edge[v as usize];
            if e == u32::MAX {
                break;
            }
            meters += f64::from(g.length_m[e as usize]);
            v = g.tail[e as usize];
            nodes.push(v);
        }
        nodes.reverse();
        let (from_tail, from_head, _, from_len, _) = g.edge(from.edge);
        let (to_tail, _, _, to_len, _) = g.edge(to.edge);
        let _ = from_tail;
        meters += if v == from_head { 1.0 - from.fraction } else { from.fraction } * f64::from(from_len);
        meters += if end_node == to_tail { to.fraction } else { 1.0 - to.fraction } * f64::from(to_len);
        let mut geometry = vec![from.on_road];
        geometry.extend(nodes.iter().map(|&v| g.coords[v as usize]));
        geometry.push(to.on_road);
        Some(Route { seconds: f64::from(total_ms) / 1000.0, meters, geometry })
    }

    /// Travel times in seconds from a snapped point to each snapped target; `None` where unreachable.
    /// The search stops once every target is settled.
    pub fn one_to_many(&mut self, from: &Snap, targets: &[Snap]) -> Vec<Option<f64>> {
        let sources = self.sources_of(from);
        let ends: Vec<Vec<(u32, u32)>> = targets.iter().map(|t| self.target_of(t)).collect();
        let nodes: Vec<u32> = ends.iter().flatten().map(|e| e.0).collect();
        let phast: Option<HashMap<u32, u32>> = if nodes.len() >= PHAST_MIN_TARGETS && self.is_prepared() {
            self.ch.as_ref().map(|(ch, _, _)| {
                let d = ch.one_to_many(&mut self.ch_ws, &sources, &nodes);
                nodes.iter().copied().zip(d).collect()
            })
        } else {
            self.search_targets(&sources, &nodes);
            None
        };
        targets
            .iter()
            .zip(&ends)
            .map(|(t, end)| {
                let via_graph = match &phast {
                    Some(d) => {
                        end.iter().filter_map(|&(v, extra)| d.get(&v).filter(|&&x| x != UNREACHED).map(|&x| x.saturating_add(extra))).min()
                    }
                    None => self.best_arrival(end).map(|(d, _)| d),
                };
                let along = (t.edge == from.edge && t.fraction >= from.fraction && !self.closures.is_closed(t.edge))
                    .then(|| ((t.fraction - from.fraction) * f64::from(self.graph.weight_ms[t.edge as usize])).round() as u32);
                match (via_graph, along) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
                .map(|ms| f64::from(ms) / 1000.0)
            })
            .collect()
    }
}

impl SnapGrid {
    fn new(g: &RoadGraph) -> Self {
        let bbox = g.bbox();
        let m = g.edge_count();
        if m == 0 || bbox.is_empty() {
            return Self { bbox, nx: 1, ny: 1, cell_w: 1.0, cell_h: 1.0, start: vec![0, 0], edges: Vec::new() };
        }
        // About two segments per cell keeps both the grid and the per-cell lists small.
        let cells = (m / 2).clamp(1, 1 << 22) as f64;
        let w = (bbox.max_x - bbox.min_x).max(1e-9);
        let h = (bbox.max_y - bbox.min_y).max(1e-9);
        let side = (w * h / cells).sqrt();
        let nx = ((w / side).ceil() as usize).clamp(1, 1 << 12);
        let ny = ((h / side).ceil() as usize).clamp(1, 1 << 12);
        let (cell_w, cell_h) = (w / nx as f64, h / ny as f64);
        let mut grid = Self { bbox, nx, ny, cell_w, cell_h, start: Vec::new(), edges: Vec::new() };
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); nx * ny];
        for e in 0..m {
            let a = g.coords[g.tail[e] as usize];
            let b = g.coords[g.head[e] as usize];
            let (x0, y0) = grid.cell_of(a[0].min(b[0]), a[1].min(b[1]));
            let (x1, y1) = grid.cell_of(a[0].max(b[0]), a[1].max(b[1]));
            for cy in y0..=y1 {
                for cx in x0..=x1 {
                    lists[cy * nx + cx].push(e as u32);
                }
            }
        }
        grid.start.push(0);
        for l in &lists {
            grid.edges.extend_from_slice(l);
            grid.start.push(grid.edges.len() as u32);
        }
        grid
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let cx = ((x - self.bbox.min_x) / self.cell_w).floor().clamp(0.0, (self.nx - 1) as f64) as usize;
        let cy = ((y - self.bbox.min_y) / self.cell_h).floor().clamp(0.0, (self.ny - 1) as f64) as usize;
        (cx, cy)
    }

    fn nearest(&self, g: &RoadGraph, lon: f64, lat: f64, max_m: f64, open: impl Fn(u32) -> bool) -> Option<Snap> {
        if self.edges.is_empty() {
            return None;
        }
        // Work in a local equirectangular frame in metres around the query point.
        let kx = 111_320.0 * lat.to_radians().cos();
        let ky = 110_574.0;
        let cell_m = (self.cell_w * kx).min(self.cell_h * ky).max(1e-6);
        let (cx, cy) = self.cell_of(lon, lat);
        let mut best: Option<(f64, u32, f64)> = None;
        let max_ring = self.nx.max(self.ny);
        for ring in 0..=max_ring {
            // Cells in ring r are at least (r - 1) cells away, so stop once that exceeds the best or the limit.
            let reach = (ring as f64 - 1.0).max(0.0) * cell_m;
            if reach > max_m || best.is_some_and(|b| reach > b.0) {
                break;
            }
            let (x0, x1) = (cx.saturating_sub(ring), (cx + ring).min(self.nx - 1));
            let (y0, y1) = (cy.saturating_sub(ring), (cy + ring).min(self.ny - 1));
            for y in y0..=y1 {
                for x in x0..=x1 {
                    if x.abs_diff(cx) != ring && y.abs_diff(cy) != ring {
                        continue;
                    }
                    let c = y * self.nx + x;
                    for &e in &self.edges[self.start[c] as usize..self.start[c + 1] as usize] {
                        if !open(e) {
                            continue;
                        }
                        let a = g.coords[g.tail[e as usize] as usize];
                        let b = g.coords[g.head[e as usize] as usize];
                        let (ax, ay) = ((a[0] - lon) * kx, (a[1] - lat) * ky);
                        let (bx, by) = ((b[0] - lon) * kx, (b[1] - lat) * ky);
                        let (dx, dy) = (bx - ax, by - ay);
                        let len2 = dx * dx + dy * dy;
                        let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                        let (px, py) = (ax + t * dx, ay + t * dy);
                        let d = (px * px + py * py).sqrt();
                        if best.is_none_or(|bst| d < bst.0 || (d == bst.0 && e < bst.1)) {
                            best = Some((d, e, t));
                        }
                    }
                }
            }
        }
        let (_, edge, t) = best?;
        let a = g.coords[g.tail[edge as usize] as usize];
        let b = g.coords[g.head[edge as usize] as usize];
        let on_road = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
        let distance_m = spherical_distance_m(lon, lat, on_road[0], on_road[1]);
        (distance_m <= max_m).then_some(Snap { edge, fraction: t, distance_m, on_road })
    }
}
