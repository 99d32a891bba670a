#!/usr/bin/env python3
"""Correctness cross-checks against scipy's Dijkstra, written as JSON lines to the results file.

porto:  Gridline imports porto.osm.pbf itself; its exported graph (integer millisecond weights) is run through
        scipy.sparse.csgraph.dijkstra from the same 10 sources, and the travel times must be equal.
graphs: for each benchmark graph, Gridline's travel times to the 1,000 targets are compared with scipy's on the
        peers' own float weights (Gridline rounds each edge to whole milliseconds, so small sums of rounding remain).
Usage: crosscheck.py DATA_DIR RESULTS_FILE graph_name...
"""
import json, sys
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

data, results = sys.argv[1], sys.argv[2]
out = open(results, 'a')


def emit(rec):
    print(json.dumps(rec), flush=True)
    out.write(json.dumps(rec) + '\n')


def min_csr(S, D, W, n):
    o = np.lexsort((W, D, S)); s2, d2, w2 = S[o], D[o], W[o]
    first = np.ones(len(s2), bool); first[1:] = (s2[1:] != s2[:-1]) | (d2[1:] != d2[:-1])
    return csr_matrix((w2[first], (s2[first], d2[first])), shape=(n, n))


e = np.loadtxt(f'{data}/porto_gridline_edges.csv', delimiter=',', skiprows=1, dtype=np.int64)
rows = [l.strip().split(',') for l in open(f'{data}/porto_gridline_dist.csv')]
n = len(rows[0]) - 1
G = min_csr(e[:, 0], e[:, 1], e[:, 2].astype(float), n)
worst, compared = 0.0, 0
for r in rows:
    s = int(r[0])
    ours = np.array([np.inf if x == 'inf' else float(x) for x in r[1:]])
    ref = dijkstra(G, directed=True, indices=s)
    both = np.isfinite(ref) & np.isfinite(ours)
    assert (np.isfinite(ref) == np.isfinite(ours)).all(), 'reachability differs'
    worst = max(worst, float(np.max(np.abs(ref[both] - ours[both])))) if both.any() else worst
    compared += int(both.sum())
emit(dict(check='porto_vs_scipy', nodes=n, edges=len(e), sources=len(rows), pairs=compared, max_abs_diff_ms=worst,
          equal=worst == 0.0))

for name in sys.argv[3:]:
    z = np.load(f'{data}/{name}.npz')
    meta = json.load(open(f'{data}/{name}.json'))
    lines = {l.split()[0]: l.split()[1:] for l in open(f'{data}/{name}.gridline_t1000.txt')}
    for var in ['open', 'closed']:
        k = np.ones(len(z['src']), bool) if var == 'open' else ~z['closed']
        G = min_csr(z['src'][k].astype(np.int64), z['dst'][k].astype(np.int64), z['w'][k], len(z['lon']))
        ref = dijkstra(G, directed=True, indices=meta['src'])[np.array(meta['t1000'])]
        ours = np.array([np.inf if x == 'inf' else float(x) for x in lines[var]])
        same_reach = bool((np.isfinite(ref) == np.isfinite(ours)).all())
        both = np.isfinite(ref) & np.isfinite(ours)
        rel = float(np.max(np.abs(ref[both] - ours[both]) / np.maximum(ref[both], 1e-9))) if both.any() else 0.0
        emit(dict(check='t1000_vs_scipy', graph=name, variant=var, same_reachability=same_reach,
                  max_abs_diff_s=float(np.max(np.abs(ref[both] - ours[both]))) if both.any() else 0.0,
                  max_rel_diff=rel))
