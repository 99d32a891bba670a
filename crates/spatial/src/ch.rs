//! A contraction hierarchy over the road graph, for fast one-to-all sweeps and many-to-many tables.
//!
//! This module owns node ordering, contraction (with bounded witness searches) and the upward graphs that
//! queries run on: PHAST (an upward search, then one linear sweep over all nodes in decreasing rank) for
//! one-to-all and one-to-many, and the bucket algorithm for many-to-many tables.
//! A hierarchy is built for one set of closures and is exact for exactly that set; the router uses it only while
//! its closures are unchanged and falls back to plain Dijkstra otherwise, so answers never depend on a stale
//! hierarchy. Rebuilding for new closures reuses the node order, which skips the costly ordering phase.
//! It must never be used with a closure set other than the one it was built for.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::RoadGraph;
use crate::route::Closures;

const INF: u32 = u32::MAX;

/// Settled-node limits of the witness searches: generous while contracting (fewer needless shortcuts),
/// small while estimating priorities (the estimate only has to rank nodes).
const WITNESS_LIMIT: usize = 400;
const SIMULATE_LIMIT: usize = 40;

#[derive(Debug, Clone, Copy)]
struct WorkArc {
    node: u32,
    w: u32,
}

/// The upward graphs, indexed by hierarchy id (ids go by level, highest first; every arc joins a lower id,
/// the more important node, to a higher one).
#[derive(Debug, Clone)]
pub(crate) struct ContractionHierarchy {
    /// Hierarchy id of each graph node, and back.
    pub(crate) ch_of: Vec<u32>,
    pub(crate) node_of: Vec<u32>,
    /// The contraction order (graph nodes, least important first), kept to rebuild quickly.
    pub(crate) order: Vec<u32>,
    /// Upward arcs v → u (u more important) for forward searches.
    fwd_first: Vec<u32>,
    fwd_head: Vec<u32>,
    fwd_w: Vec<u32>,
    /// Arcs u → v with u more important, stored at v: backward searches climb them, and the PHAST sweep
    /// relaxes them downward.
    bwd_first: Vec<u32>,
    bwd_tail: Vec<u32>,
    bwd_w: Vec<u32>,
}

/// The part of the hierarchy that a fixed set of targets needs (RPHAST), kept to answer many sources.
#[derive(Debug, Clone)]
pub(crate) struct TargetSelection {
    /// The graph nodes it was selected for, in the caller's order.
    pub(crate) targets: Vec<u32>,
    ids: Vec<u32>,
    first: Vec<u32>,
    tails: Vec<u32>,
    weights: Vec<u32>,
    target_pos: Vec<u32>,
}

/// Reusable query buffers.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChWorkspace {
    up: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
    sweep: Vec<u32>,
    buckets: Vec<Vec<(u32, u32)>>,
    bucket_touched: Vec<u32>,
}

struct Contractor {
    out: Vec<Vec<WorkArc>>,
    inc: Vec<Vec<WorkArc>>,
    contracted: Vec<bool>,
    dist: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
    /// Marks the targets of the current witness search with `stamp`, so no clearing pass is needed.
    mark: Vec<u32>,
    stamp: u32,
}

impl Contractor {
    fn new(g: &RoadGraph, closures: &Closures) -> Self {
        let n = g.node_count();
        let mut out: Vec<Vec<WorkArc>> = vec![Vec::new(); n];
        let mut inc: Vec<Vec<WorkArc>> = vec![Vec::new(); n];
        for e in 0..g.edge_count() as u32 {
            if closures.is_closed(e) {
                continue;
            }
            let (t, h, w, _, _) = g.edge(e);
            add_or_lower(&mut out[t as usize], h, w);
            add_or_lower(&mut inc[h as usize], t, w);
        }
        Self {
            out,
            inc,
            contracted: vec![false; n],
            dist: vec![INF; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            mark: vec![0; n],
            stamp: 0,
        }
    }

    /// Bounded Dijkstra from `source` avoiding `skip`; distances land in `self.dist` (reset by the next call).
    /// It stops once every node of `targets` is settled, beyond `max_dist`, or after `limit` settled nodes.
    fn witness_search(&mut self, source: u32, skip: u32, targets: &[WorkArc], max_dist: u32, limit: usize) {
        for &v in &self.touched {
            self.dist[v as usize] = INF;
        }
        self.touched.clear();
        self.heap.clear();
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.fill(0);
            self.stamp = 1;
        }
        let mut remaining = 0;
        for t in targets {
            if t.node != source && self.mark[t.node as usize] != self.stamp {
                self.mark[t.node as usize] = self.stamp;
                remaining += 1;
            }
        }
        self.dist[source as usize] = 0;
        self.touched.push(source);
        self.heap.push(Reverse((0, source)));
        let mut settled = 0;
        while let Some(Reverse((d, v))) = self.heap.pop() {
            if d != self.dist[v as usize] {
                continue;
            }
            if d > max_dist || settled >= limit {
                break;
            }
            settled += 1;
            if self.mark[v as usize] == self.stamp {
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            for a in &self.out[v as usize] {
                if a.node == skip {
                    continue;
                }
                let nd = d.saturating_add(a.w);
                let old = self.dist[a.node as usize];
                if nd < old {
                    if old == INF {
                        self.touched.push(a.node);
                    }
                    self.dist[a.node as usize] = nd;
                    self.heap.push(Reverse((nd, a.node)));
                }
            }
        }
    }

    /// The shortcuts that contracting `v` needs, as (from, to, weight).
    fn shortcuts(&mut self, v: u32, limit: usize, out_buf: &mut Vec<(u32, u32, u32)>) {
        out_buf.clear();
        let ins = std::mem::take(&mut self.inc[v as usize]);
        let outs = std::mem::take(&mut self.out[v as usize]);
        if !ins.is_empty() && !outs.is_empty() {
            let max_out = outs.iter().map(|a| a.w).max().unwrap_or(0);
            for i in &ins {
                let max_dist = i.w.saturating_add(max_out);
                self.witness_search(i.node, v, &outs, max_dist, limit);
                for o in &outs {
                    if o.node == i.node {
                        continue;
                    }
                    let via = i.w.saturating_add(o.w);
                    if self.dist[o.node as usize] > via {
                        out_buf.push((i.node, o.node, via));
                    }
                }
            }
        }
        self.inc[v as usize] = ins;
        self.out[v as usize] = outs;
    }

    fn priority(&mut self, v: u32, deleted_neighbours: u32, level: u32, buf: &mut Vec<(u32, u32, u32)>) -> i64 {
        self.shortcuts(v, SIMULATE_LIMIT, buf);
        let removed = (self.inc[v as usize].len() + self.out[v as usize].len()) as i64;
        let added = buf.len() as i64;
        // Edge difference dominates; deleted neighbours and level spread the contraction evenly over the graph.
        4 * (added - removed) + 2 * i64::from(deleted_neighbours) + i64::from(level)
    }

    /// Contracts `v`: adds its shortcuts and detaches it, returning its remaining (upward) arcs.
    fn contract(&mut self, v: u32, limit: usize, buf: &mut Vec<(u32, u32, u32)>) -> (Vec<WorkArc>, Vec<WorkArc>) {
        self.shortcuts(v, limit, buf);
        for &(a, b, w) in buf.iter() {
            add_or_lower(&mut self.out[a as usize], b, w);
            add_or_lower(&mut self.inc[b as usize], a, w);
        }
        let outs = std::mem::take(&mut self.out[v as usize]);
        let ins = std::mem::take(&mut self.inc[v as usize]);
        for o in &outs {
            self.inc[o.node as usize].retain(|a| a.node != v);
        }
        for i in &ins {
            self.out[i.node as usize].retain(|a| a.node != v);
        }
        self.contracted[v as usize] = true;
        (outs, ins)
    }
}

fn add_or_lower(list: &mut Vec<WorkArc>, node: u32, w: u32) {
    if let Some(a) = list.iter_mut().find(|a| a.node == node) {
        a.w = a.w.min(w);
    } else {
        list.push(WorkArc { node, w });
    }
}

impl ContractionHierarchy {
    /// Orders and contracts the graph with the given closures removed.
    pub(crate) fn build(g: &RoadGraph, closures: &Closures) -> Self {
        let n = g.node_count();
        let mut c = Contractor::new(g, closures);
        let mut buf = Vec::new();
        let mut deleted = vec![0u32; n];
        let mut level = vec![0u32; n];
        let mut prio: Vec<i64> = (0..n as u32).map(|v| c.priority(v, 0, 0, &mut buf)).collect();
        let mut queue: BinaryHeap<Reverse<(i64, u32)>> = (0..n as u32).map(|v| Reverse((prio[v as usize], v))).collect();
        let mut order = Vec::with_capacity(n);
        let mut arcs: Vec<(u32, Vec<WorkArc>, Vec<WorkArc>)> = Vec::with_capacity(n);
        while let Some(Reverse((p, v))) = queue.pop() {
            if c.contracted[v as usize] || p != prio[v as usize] {
                continue;
            }
            // Lazy update: recompute, and put the node back if it is no longer the cheapest.
            let fresh = c.priority(v, deleted[v as usize], level[v as usize], &mut buf);
            if let Some(Reverse((next, _))) = queue.peek()
                && fresh > *next
            {
                prio[v as usize] = fresh;
                queue.push(Reverse((fresh, v)));
                continue;
            }
            let (outs, ins) = c.contract(v, WITNESS_LIMIT, &mut buf);
            let mut neighbours: Vec<u32> = outs.iter().chain(&ins).map(|a| a.node).collect();
            neighbours.sort_unstable();
            neighbours.dedup();
            for &u in &neighbours {
                deleted[u as usize] += 1;
                level[u as usize] = level[u as usize].max(level[v as usize] + 1);
                let p = c.priority(u, deleted[u as usize], level[u as usize], &mut buf);
                prio[u as usize] = p;
                queue.push(Reverse((p, u)));
            }
            order.push(v);
            arcs.push((v, outs, ins));
        }
        Self::assemble(n, order, arcs)
    }

    /// Contracts again in a known order (after closures changed): no priorities, only witness searches.
    pub(crate) fn rebuild(g: &RoadGraph, closures: &Closures, order: &[u32]) -> Self {
        let n = g.node_count();
        let mut c = Contractor::new(g, closures);
        let mut buf = Vec::new();
        let mut arcs = Vec::with_capacity(n);
        for &v in order {
            let (outs, ins) = c.contract(v, WITNESS_LIMIT, &mut buf);
            arcs.push((v, outs, ins));
        }
        Self::assemble(n, order.to_vec(), arcs)
    }

    fn assemble(n: usize, order: Vec<u32>, arcs: Vec<(u32, Vec<WorkArc>, Vec<WorkArc>)>) -> Self {
        // Number the nodes by level, highest first: every arc joins a higher level to a lower one, so the sweep
        // may go level by level, and the few high levels that every node reads from stay together in cache.
        let mut level = vec![0u32; n];
        for (v, outs, ins) in &arcs {
            let next = level[*v as usize] + 1;
            for a in outs.iter().chain(ins) {
                let l = &mut level[a.node as usize];
                *l = (*l).max(next);
            }
        }
        let mut by_level: Vec<(Reverse<u32>, Reverse<usize>, u32)> =
            order.iter().enumerate().map(|(i, &v)| (Reverse(level[v as usize]), Reverse(i), v)).collect();
        by_level.sort_unstable();
        let mut ch_of = vec![0u32; n];
        let mut node_of = vec![0u32; n];
        for (id, &(_, _, v)) in by_level.iter().enumerate() {
            ch_of[v as usize] = id as u32;
            node_of[id] = v;
        }
        // Arcs are listed per hierarchy id, most important first, which is the order of the PHAST sweep.
        let mut per_id: Vec<(Vec<WorkArc>, Vec<WorkArc>)> = vec![(Vec::new(), Vec::new()); n];
        for (v, outs, ins) in arcs {
            let id = ch_of[v as usize] as usize;
            let map = |list: Vec<WorkArc>| -> Vec<WorkArc> {
                let mut l: Vec<WorkArc> = list.into_iter().map(|a| WorkArc { node: ch_of[a.node as usize], w: a.w }).collect();
                l.sort_unstable_by_key(|a| a.node);
                l
            };
            per_id[id] = (map(outs), map(ins));
        }
        let mut fwd_first = Vec::with_capacity(n + 1);
        let mut bwd_first = Vec::with_capacity(n + 1);
        let (mut fwd_head, mut fwd_w, mut bwd_tail, mut bwd_w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        fwd_first.push(0);
        bwd_first.push(0);
        for (outs, ins) in per_id {
            for a in outs {
                fwd_head.push(a.node);
                fwd_w.push(a.w);
            }
            for a in ins {
                bwd_tail.push(a.node);
                bwd_w.push(a.w);
            }
            fwd_first.push(fwd_head.len() as u32);
            bwd_first.push(bwd_tail.len() as u32);
        }
        Self { ch_of, node_of, order, fwd_first, fwd_head, fwd_w, bwd_first, bwd_tail, bwd_w }
    }

    pub(crate) fn arc_count(&self) -> usize {
        self.fwd_head.len() + self.bwd_tail.len()
    }

    /// Dijkstra on the upward arcs (forward or backward) from (hierarchy id, cost) pairs; leaves the distances in
    /// `ws.up` and the reached ids in `ws.touched`.
    fn upward(&self, ws: &mut ChWorkspace, sources: &[(u32, u32)], forward: bool, stall: bool) {
        let n = self.node_of.len();
        if ws.up.len() != n {
            ws.up = vec![INF; n];
        }
        for &v in &ws.touched {
            ws.up[v as usize] = INF;
        }
        ws.touched.clear();
        ws.heap.clear();
        for &(v, c) in sources {
            if c < ws.up[v as usize] {
                if ws.up[v as usize] == INF {
                    ws.touched.push(v);
                }
                ws.up[v as usize] = c;
                ws.heap.push(Reverse((c, v)));
            }
        }
        let (first, head, weight) =
            if forward { (&self.fwd_first, &self.fwd_head, &self.fwd_w) } else { (&self.bwd_first, &self.bwd_tail, &self.bwd_w) };
        // The arcs that lead into v from more important nodes, for stall-on-demand.
        let (sfirst, shead, sweight) =
            if forward { (&self.bwd_first, &self.bwd_tail, &self.bwd_w) } else { (&self.fwd_first, &self.fwd_head, &self.fwd_w) };
        while let Some(Reverse((d, v))) = ws.heap.pop() {
            if d != ws.up[v as usize] {
                continue;
            }
            if stall {
                // If a more important node already offers a shorter way to v, v's upward arcs cannot lie on a
                // shortest path from the sources, so they are not relaxed. Its distance stays an upper bound,
                // which the table's minimum over meeting nodes tolerates.
                let stalled = (sfirst[v as usize] as usize..sfirst[v as usize + 1] as usize)
                    .any(|k| ws.up[shead[k] as usize].saturating_add(sweight[k]) < d);
                if stalled {
                    continue;
                }
            }
            for k in first[v as usize] as usize..first[v as usize + 1] as usize {
                let u = head[k];
                let nd = d.saturating_add(weight[k]);
                let old = ws.up[u as usize];
                if nd < old {
                    if old == INF {
                        ws.touched.push(u);
                    }
                    ws.up[u as usize] = nd;
                    ws.heap.push(Reverse((nd, u)));
                }
            }
        }
    }

    /// PHAST: the upward search from the sources, then one sweep over all nodes in decreasing importance.
    /// Leaves the distance of every hierarchy id in `ws.sweep`.
    fn phast(&self, ws: &mut ChWorkspace, sources: &[(u32, u32)]) {
        let n = self.node_of.len();
        let src: Vec<(u32, u32)> = sources.iter().map(|&(v, c)| (self.ch_of[v as usize], c)).collect();
        self.upward(ws, &src, true, false);
        let mut sweep = std::mem::take(&mut ws.sweep);
        sweep.clear();
        sweep.extend_from_slice(&ws.up);
        for v in 0..n {
            let (lo, hi) = (self.bwd_first[v] as usize, self.bwd_first[v + 1] as usize);
            let mut best = sweep[v];
            for (&tail, &w) in self.bwd_tail[lo..hi].iter().zip(&self.bwd_w[lo..hi]) {
                // The tail is more important, so its distance is already final.
                best = best.min(sweep[tail as usize].saturating_add(w));
            }
            sweep[v] = best;
        }
        ws.sweep = sweep;
    }

    /// Distances from the (graph node, cost) sources to every graph node, in graph node order.
    pub(crate) fn one_to_all(&self, ws: &mut ChWorkspace, sources: &[(u32, u32)], out: &mut Vec<u32>) {
        self.phast(ws, sources);
        out.clear();
        out.extend(self.ch_of.iter().map(|&id| ws.sweep[id as usize]));
    }

    /// Distances from the sources to each target graph node.
    pub(crate) fn one_to_many(&self, ws: &mut ChWorkspace, sources: &[(u32, u32)], targets: &[u32]) -> Vec<u32> {
        self.phast(ws, sources);
        targets.iter().map(|&t| ws.sweep[self.ch_of[t as usize] as usize]).collect()
    }

    /// RPHAST target selection: the targets and every node from which a target is reached by downward arcs,
    /// in sweep order, with their arcs renumbered into that small set.
    pub(crate) fn select(&self, targets: &[u32]) -> TargetSelection {
        let n = self.node_of.len();
        let mut pos_of = vec![u32::MAX; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        for &t in targets {
            let id = self.ch_of[t as usize];
            if pos_of[id as usize] == u32::MAX {
                pos_of[id as usize] = 0;
                stack.push(id);
                ids.push(id);
            }
        }
        while let Some(v) = stack.pop() {
            for k in self.bwd_first[v as usize] as usize..self.bwd_first[v as usize + 1] as usize {
                let u = self.bwd_tail[k];
                if pos_of[u as usize] == u32::MAX {
                    pos_of[u as usize] = 0;
                    stack.push(u);
                    ids.push(u);
                }
            }
        }
        ids.sort_unstable();
        for (p, &id) in ids.iter().enumerate() {
            pos_of[id as usize] = p as u32;
        }
        let mut first = Vec::with_capacity(ids.len() + 1);
        let (mut tails, mut weights) = (Vec::new(), Vec::new());
        first.push(0u32);
        for &id in &ids {
            for k in self.bwd_first[id as usize] as usize..self.bwd_first[id as usize + 1] as usize {
                tails.push(pos_of[self.bwd_tail[k] as usize]);
                weights.push(self.bwd_w[k]);
            }
            first.push(tails.len() as u32);
        }
        let target_pos = targets.iter().map(|&t| pos_of[self.ch_of[t as usize] as usize]).collect();
        TargetSelection { targets: targets.to_vec(), ids, first, tails, weights, target_pos }
    }

    /// One-to-many over a target selection: the upward search, then a sweep over the selected nodes only.
    pub(crate) fn one_to_selection(&self, ws: &mut ChWorkspace, sources: &[(u32, u32)], sel: &TargetSelection) -> Vec<u32> {
        let src: Vec<(u32, u32)> = sources.iter().map(|&(v, c)| (self.ch_of[v as usize], c)).collect();
        self.upward(ws, &src, true, false);
        let mut d: Vec<u32> = sel.ids.iter().map(|&id| ws.up[id as usize]).collect();
        for p in 0..d.len() {
            let (lo, hi) = (sel.first[p] as usize, sel.first[p + 1] as usize);
            let mut best = d[p];
            for (&tail, &w) in sel.tails[lo..hi].iter().zip(&sel.weights[lo..hi]) {
                best = best.min(d[tail as usize].saturating_add(w));
            }
            d[p] = best;
        }
        sel.target_pos.iter().map(|&p| d[p as usize]).collect()
    }

    /// Many-to-many by buckets: backward upward searches from the targets fill buckets, forward upward searches
    /// from the sources scan them. Each source and target is a list of (graph node, cost) pairs.
    pub(crate) fn table(&self, ws: &mut ChWorkspace, sources: &[Vec<(u32, u32)>], targets: &[Vec<(u32, u32)>]) -> Vec<Vec<u32>> {
        let n = self.node_of.len();
        if ws.buckets.len() != n {
            ws.buckets = vec![Vec::new(); n];
        }
        for &v in &ws.bucket_touched {
            ws.buckets[v as usize].clear();
        }
        ws.bucket_touched.clear();
        for (j, t) in targets.iter().enumerate() {
            let ends: Vec<(u32, u32)> = t.iter().map(|&(v, c)| (self.ch_of[v as usize], c)).collect();
            self.upward(ws, &ends, false, true);
            for &v in &ws.touched {
                let b = &mut ws.buckets[v as usize];
                if b.is_empty() {
                    ws.bucket_touched.push(v);
                }
                b.push((j as u32, ws.up[v as usize]));
            }
        }
        let mut result = vec![vec![INF; targets.len()]; sources.len()];
        for (i, s) in sources.iter().enumerate() {
            let starts: Vec<(u32, u32)> = s.iter().map(|&(v, c)| (self.ch_of[v as usize], c)).collect();
            self.upward(ws, &starts, true, true);
            let row = &mut result[i];
            for &v in &ws.touched {
                let d = ws.up[v as usize];
                for &(j, dt) in &ws.buckets[v as usize] {
                    let total = d.saturating_add(dt);
                    if total < row[j as usize] {
                        row[j as usize] = total;
                    }
                }
            }
        }
        result
    }
}
