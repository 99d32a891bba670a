//! Routing checked against a plain textbook Dijkstra on the same graph, with and without closures.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use proptest::prelude::*;
use spatial::{Area, Geometry, RoadGraph, RoadGraphBuilder, Router};

/// Plain Dijkstra over the graph's edges with a binary heap, skipping the edges in `closed`.
fn oracle(g: &RoadGraph, source: u32, closed: &[bool]) -> Vec<Option<u64>> {
    let n = g.node_count();
    let mut dist: Vec<Option<u64>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    dist[source as usize] = Some(0);
    heap.push(Reverse((0u64, source)));
    while let Some(Reverse((d, v))) = heap.pop() {
        if dist[v as usize] != Some(d) {
            continue;
        }
        for e in g.out_edges(v) {
            if closed[e as usize] {
                continue;
            }
            let (_, head, w, _, _) = g.edge(e);
            let nd = d + u64::from(w);
            if dist[head as usize].is_none_or(|old| nd < old) {
                dist[head as usize] = Some(nd);
                heap.push(Reverse((nd, head)));
            }
        }
    }
    dist
}

fn random_graph(n: usize, edges: &[(usize, usize, u32)], coords: &[(f64, f64)]) -> RoadGraph {
    let mut b = RoadGraphBuilder::new();
    for &(x, y) in coords.iter().take(n) {
        b.add_node(121.0 + x, 31.0 + y);
    }
    for &(u, v, w) in edges {
        b.add_edge_ms((u % n) as u32, (v % n) as u32, w, f64::from(w), 7);
    }
    b.build().0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn searches_equal_plain_dijkstra_with_and_without_closures(
        n in 2usize..80,
        edges in prop::collection::vec((0usize..80, 0usize..80, 1u32..100_000), 1..400),
        coords in prop::collection::vec((0.0f64..0.1, 0.0f64..0.1), 80),
        closed_picks in prop::collection::vec(any::<u32>(), 0..40),
        queries in prop::collection::vec((any::<u32>(), any::<u32>()), 1..8),
        k in 1usize..6,
        limit_s in 0.0f64..200.0,
    ) {
        let g = random_graph(n, &edges, &coords);
        prop_assume!(g.node_count() > 0);
        let nn = g.node_count() as u32;
        let mut router = Router::new(&g);
        let mut closed = vec![false; g.edge_count()];
        // Rounds: open with Dijkstra; open with the hierarchy; closed, where the now stale hierarchy must not be
        // used; closed with a hierarchy rebuilt for the closures.
        for round in 0..4 {
            if round == 1 {
                router.prepare();
                prop_assert!(router.is_prepared());
            }
            if round == 2 {
                for &p in &closed_picks {
                    if g.edge_count() > 0 {
                        let e = p % g.edge_count() as u32;
                        router.close_edge(e).unwrap();
                        closed[e as usize] = true;
                    }
                }
                prop_assert_eq!(router.is_prepared(), closed_picks.is_empty() || g.edge_count() == 0);
            }
            if round == 3 {
                router.prepare();
            }
            for &(s, t) in &queries {
                let (s, t) = (s % nn, t % nn);
                let expect = oracle(&g, s, &closed);
                let all: Vec<Option<u64>> = router.one_to_all_ms(s).unwrap().iter().map(|&d| (d != u32::MAX).then_some(u64::from(d))).collect();
                prop_assert_eq!(&all, &expect);
                let targets: Vec<u32> = (0..nn).filter(|v| (v + t) % 3 == 0).collect();
                let got = router.one_to_many_ms(s, &targets).unwrap();
                let want: Vec<Option<u32>> = targets.iter().map(|&v| expect[v as usize].map(|d| d as u32)).collect();
                prop_assert_eq!(got, want);
                // Enough targets for the PHAST sweep of a prepared router.
                let many: Vec<u32> = (0..nn).cycle().take(100).collect();
                let got = router.one_to_many_ms(s, &many).unwrap();
                let want: Vec<Option<u32>> = many.iter().map(|&v| expect[v as usize].map(|d| d as u32)).collect();
                prop_assert_eq!(got, want);
                // k nearest: the distances must be the k smallest reachable ones, in order.
                let near = router.nearest_k_ms(s, &targets, k).unwrap();
                let mut best: Vec<u32> = targets.iter().filter_map(|&v| expect[v as usize].map(|d| d as u32)).collect();
                best.sort_unstable();
                best.truncate(k);
                prop_assert_eq!(near.iter().map(|x| x.1).collect::<Vec<_>>(), best);
                for (i, d) in near {
                    prop_assert_eq!(expect[targets[i] as usize], Some(u64::from(d)));
                }
                // Isochrone: exactly the nodes within the limit.
                let iso = router.isochrone_nodes(s, limit_s).unwrap();
                let limit_ms = (limit_s * 1000.0).floor() as u64;
                let mut want_iso: Vec<(u32, u32)> = (0..nn).filter_map(|v| expect[v as usize].filter(|&d| d <= limit_ms).map(|d| (v, d as u32))).collect();
                want_iso.sort_unstable_by_key(|&(v, d)| (d, v));
                prop_assert_eq!(iso, want_iso);
            }
            let sources: Vec<u32> = queries.iter().map(|q| q.0 % nn).collect();
            let targets: Vec<u32> = queries.iter().map(|q| q.1 % nn).collect();
            let table = router.table_ms(&sources, &targets).unwrap();
            for (i, &s) in sources.iter().enumerate() {
                let expect = oracle(&g, s, &closed);
                for (j, &t) in targets.iter().enumerate() {
                    prop_assert_eq!(table[i][j].map(u64::from), expect[t as usize]);
                }
            }
        }
        // Reopening restores the open answers at once.
        router.reopen_all();
        let s = queries[0].0 % nn;
        let open = oracle(&g, s, &vec![false; g.edge_count()]);
        let all: Vec<Option<u64>> = router.one_to_all_ms(s).unwrap().iter().map(|&d| (d != u32::MAX).then_some(u64::from(d))).collect();
        prop_assert_eq!(all, open);
    }
}

/// A 10 × 10 two-way grid with 100 m blocks and 36 km/h everywhere (10 s per block).
fn grid() -> (RoadGraph, Vec<u32>) {
    let mut b = RoadGraphBuilder::new();
    let step = 0.001;
    for j in 0..10 {
        for i in 0..10 {
            b.add_node(121.0 + f64::from(i) * step, 31.0 + f64::from(j) * step);
        }
    }
    let id = |i: u32, j: u32| j * 10 + i;
    for j in 0..10 {
        for i in 0..10 {
            if i + 1 < 10 {
                b.add_edge_ms(id(i, j), id(i + 1, j), 10_000, 100.0, u64::from(1000 + j));
                b.add_edge_ms(id(i + 1, j), id(i, j), 10_000, 100.0, u64::from(1000 + j));
            }
            if j + 1 < 10 {
                b.add_edge_ms(id(i, j), id(i, j + 1), 10_000, 100.0, u64::from(2000 + i));
                b.add_edge_ms(id(i, j + 1), id(i, j), 10_000, 100.0, u64::from(2000 + i));
            }
        }
    }
    let (g, report, remap) = b.build();
    assert_eq!(report.nodes_kept, 100);
    (g, remap)
}

#[test]
fn a_route_on_a_grid_has_its_time_length_and_geometry() {
    let (g, _) = grid();
    let mut router = Router::new(&g);
    let from = router.snap(121.0, 31.0, 50.0).unwrap();
    let to = router.snap(121.009, 31.009, 50.0).unwrap();
    let route = router.route(&from, &to).unwrap();
    assert_eq!(route.seconds, 180.0);
    assert!((route.meters - 1800.0).abs() < 1e-6, "{}", route.meters);
    assert_eq!(route.geometry.first(), Some(&[121.0, 31.0]));
    assert_eq!(route.geometry.last(), Some(&[121.009, 31.009]));
    // A point half-way along a block starts half a block (5 s) from both ends.
    let mid = router.snap(121.0005, 31.00001, 50.0).unwrap();
    assert!((mid.fraction - 0.5).abs() < 1e-3);
    let corner = router.snap(121.001, 31.0, 50.0).unwrap();
    let r = router.route(&mid, &corner).unwrap();
    assert!((r.seconds - 5.0).abs() <= 0.01, "{}", r.seconds);
}

#[test]
fn closing_a_road_by_id_or_polygon_takes_effect_at_once_and_reopens() {
    let (g, _) = grid();
    let mut router = Router::new(&g);
    let from = router.snap(121.0, 31.0, 50.0).unwrap();
    let to = router.snap(121.009, 31.0, 50.0).unwrap();
    assert_eq!(router.route(&from, &to).unwrap().seconds, 90.0);
    // Close the bottom street (road 1000): the detour goes one block up and back down.
    let changed = router.close_road(1000).unwrap();
    assert_eq!(changed, 18);
    let from = router.snap(121.0, 31.0, 50.0).unwrap();
    let to = router.snap(121.009, 31.0, 50.0).unwrap();
    assert_eq!(router.route(&from, &to).unwrap().seconds, 110.0);
    router.reopen_road(1000).unwrap();
    assert_eq!(router.route(&from, &to).unwrap().seconds, 90.0);
    // A flooded square around the middle of the grid closes every edge touching it.
    let flood = Area::new(&Geometry::Polygon(vec![vec![
        [121.0035, 31.0035],
        [121.0055, 31.0035],
        [121.0055, 31.0055],
        [121.0035, 31.0055],
        [121.0035, 31.0035],
    ]]))
    .unwrap();
    let closed = router.close_area(&flood);
    // Nodes (4,4), (5,4), (4,5), (5,5) are inside: the 4 edges between them and 16 leaving them, both ways.
    assert_eq!(closed, 2 * (4 + 8));
    let left = router.snap(121.0, 31.0045, 50.0).unwrap();
    let right = router.snap(121.009, 31.0045, 50.0).unwrap();
    let around = router.route(&left, &right).unwrap();
    for p in &around.geometry {
        assert!(!flood.contains(p[0], p[1]), "the route passes through the flood at {p:?}");
    }
    assert_eq!(router.reopen_area(&flood), closed);
    assert_eq!(router.closures().count(), 0);
    assert_eq!(router.close_road(999_999).unwrap_err().code(), "unknown_road");
}

#[test]
fn unreachable_targets_are_none_not_zero() {
    let mut b = RoadGraphBuilder::new();
    let a = b.add_node(121.0, 31.0);
    let c = b.add_node(121.001, 31.0);
    b.add_edge_ms(a, c, 1000, 100.0, 1);
    b.add_edge_ms(c, a, 1000, 100.0, 1);
    let (g, _, remap) = b.build();
    let mut router = Router::new(&g);
    let (a, c) = (remap[a as usize], remap[c as usize]);
    router.close_edge(g.out_edges(a).next().unwrap()).unwrap();
    assert_eq!(router.one_to_many_ms(a, &[c, a]).unwrap(), vec![None, Some(0)]);
    assert_eq!(router.one_to_many_ms(9, &[a]).unwrap_err().code(), "unknown_node");
    assert_eq!(router.snap(0.0, 0.0, 100.0).unwrap_err().code(), "no_road_nearby");
}

#[test]
fn only_the_largest_strongly_connected_component_is_kept() {
    let mut b = RoadGraphBuilder::new();
    let n: Vec<u32> = (0..5).map(|i| b.add_node(121.0 + f64::from(i) * 0.001, 31.0)).collect();
    // 0 <-> 1 <-> 2 is strongly connected; 3 is only reachable (a dead end one-way), 4 is isolated.
    for (u, v) in [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3)] {
        b.add_edge_ms(n[u], n[v], 1000, 100.0, 1);
    }
    let (g, report, remap) = b.build();
    assert_eq!(g.node_count(), 3);
    assert_eq!(report.nodes_outside_largest_component, 2);
    assert_eq!(remap[3], u32::MAX);
    assert_eq!(remap[4], u32::MAX);
}

#[test]
fn repeated_targets_reuse_their_selection_and_stay_exact() {
    let (g, _) = grid();
    let mut router = Router::new(&g);
    router.prepare();
    let targets: Vec<u32> = (0..g.node_count() as u32).rev().collect();
    // The first query sweeps everything, the second selects the targets' part of the hierarchy, later ones reuse it;
    // all must equal plain Dijkstra, also after a closure and a rebuild.
    for round in 0..2 {
        let mut closed = vec![false; g.edge_count()];
        if round == 1 {
            router.close_road(1003).unwrap();
            for e in 0..g.edge_count() as u32 {
                closed[e as usize] = router.closures().is_closed(e);
            }
            router.prepare();
        }
        for source in [0u32, 17, 55, 99, 42] {
            let got = router.one_to_many_ms(source, &targets).unwrap();
            let expect = oracle(&g, source, &closed);
            let want: Vec<Option<u32>> = targets.iter().map(|&t| expect[t as usize].map(|d| d as u32)).collect();
            assert_eq!(got, want, "round {round}, source {source}");
        }
    }
}
