#!/usr/bin/env python3
"""Converts a road graph written by road_graph.py / grid_graph.py (.npz) into raw little-endian arrays that the
Rust benchmark reads without a zip or npy parser, plus a JSON sidecar with the seeded queries.

The queries are drawn exactly as route_peers.py draws them (numpy default_rng(42): one source, 1,000 targets,
100 sources and 100 targets), so Gridline and the peers answer the same questions.
Usage: npz2bin.py graph_x.npz  ->  graph_x.bin + graph_x.json
"""
import json, sys
import numpy as np

z = np.load(sys.argv[1])
lon, lat, S, D, W, closed = z['lon'], z['lat'], z['src'], z['dst'], z['w'], z['closed']
n, m = len(lon), len(S)
rng = np.random.default_rng(42)
src = int(rng.integers(n))
t1000 = rng.choice(n, 1000, replace=False)
s100 = rng.choice(n, 100, replace=False)
t100 = rng.choice(n, 100, replace=False)
out = sys.argv[1].replace('.npz', '.bin')
with open(out, 'wb') as f:
    for arr, dt in [(lon, '<f8'), (lat, '<f8'), (S, '<i4'), (D, '<i4'), (W, '<f8'), (closed, 'u1')]:
        f.write(np.ascontiguousarray(arr, dtype=dt).tobytes())
json.dump(dict(nodes=n, edges=m, src=src, t1000=t1000.tolist(), s100=s100.tolist(), t100=t100.tolist()),
          open(out.replace('.bin', '.json'), 'w'))
print(dict(graph=out, nodes=n, edges=m, closed=int(closed.sum())))
