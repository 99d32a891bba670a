#!/usr/bin/env bash
# The geo engine's side-by-side benchmark: one command, same seeded data, same machine, same run.
#
#   bench/geo/run.sh            full run: 1M and 10M points, the real road graphs and the 250k-node grid
#   bench/geo/run.sh --quick    smaller: 1M points, 3 runs, a 40k-node grid (a few minutes)
#
# Installs the peers (PostGIS and pgRouting from Debian, shapely/scipy/pandana from PyPI), generates the data
# with the reference generators in peers/ (seeded), runs Gridline and the peers one after the other (never two at
# once on 2 cores), cross-checks the answers, and prints the table of ratios (bench/README.md explains it).
# Data and raw results go to $GRIDLINE_BENCH_DATA (default /tmp/gridline-bench-geo), never into the repository.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${GRIDLINE_BENCH_DATA:-/tmp/gridline-bench-geo}
OSM=${OSM_DIR:-$ROOT/../shared/data/osm}
SIZES=${SIZES:-1000000,10000000}
RUNS=${RUNS:-5}
GRID=${GRID:-500}
if [ "${1:-}" = "--quick" ]; then SIZES=1000000; RUNS=3; GRID=200; fi
RES=$DATA/results
mkdir -p "$RES"
rm -f "$RES"/*.jsonl
log() { echo "== $(date +%H:%M:%S) $*" >&2; }
: > "$DATA/peers.log"   # the peers' own warnings (pandana lists unreachable pairs at length) go here

log "installing peers"
bash "$HERE/install_peers.sh"

log "generating seeded data in $DATA"
python3 "$HERE/peers/geo_data.py" --data "$DATA" --sizes "$SIZES" >&2
GRAPHS=()
for city in baltimore porto; do
  pbf="$OSM/$city.osm.pbf"
  [ -f "$pbf" ] || pbf="$ROOT/crates/spatial/tests/fixtures/$city.osm.pbf"
  if [ -f "$pbf" ]; then
    [ -f "$DATA/graph_$city.npz" ] || python3 "$HERE/peers/road_graph.py" "$pbf" "$DATA/graph_$city" >&2
    GRAPHS+=("graph_$city")
  fi
done
[ -f "$DATA/graph_grid$GRID.npz" ] || python3 "$HERE/peers/grid_graph.py" "$GRID" "$DATA/graph_grid$GRID" >&2
GRAPHS+=("graph_grid$GRID")
for g in "${GRAPHS[@]}"; do python3 "$HERE/npz2bin.py" "$DATA/$g.npz" >&2; done

log "building Gridline's benchmark (release)"
(cd "$ROOT" && cargo bench -p spatial --bench side_by_side --no-run >&2)
gridline() { (cd "$ROOT" && cargo bench -q -p spatial --bench side_by_side -- "$@"); }

log "targeting: Gridline"
gridline geo --data "$DATA" --sizes "$SIZES" --runs "$RUNS" --out "$RES/geo_gridline.jsonl" >/dev/null
log "targeting: shapely"
python3 "$HERE/peers/geo_shapely.py" --data "$DATA" --sizes 1000000 --runs "$RUNS" --out "$RES/geo_shapely.jsonl" >/dev/null 2>>"$DATA/peers.log"
if [[ "$SIZES" == *10000000* ]]; then
  python3 "$HERE/peers/geo_shapely.py" --data "$DATA" --sizes 10000000 --runs "$RUNS" --out "$RES/geo_shapely.jsonl" \
    >/dev/null 2>>"$DATA/peers.log"
fi
log "targeting: PostGIS"
bash "$HERE/peers/pg.sh" start >&2
trap 'bash "$HERE/peers/pg.sh" stop >/dev/null 2>&1 || true' EXIT
python3 "$HERE/peers/geo_postgis.py" --data "$DATA" --sizes 1000000 --runs "$RUNS" --ops count_intersects,ids_intersects \
  --out "$RES/geo_postgis.jsonl" >/dev/null
if [[ "$SIZES" == *10000000* ]]; then
  # At 10M PostGIS needs tens of seconds per query for the 40% concave and multihole polygons, so those two run
  # the id list once after the warm-up (PG_10M_LARGE=0 skips them), and the others three times.
  python3 "$HERE/peers/geo_postgis.py" --data "$DATA" --sizes 10000000 --runs 3 --ops count_intersects,ids_intersects \
    --only convex_small,convex_medium,convex_large,concave_small,concave_medium,multihole_small,multihole_medium,circle_small,circle_medium,circle_large \
    --out "$RES/geo_postgis.jsonl" >/dev/null
  if [ "${PG_10M_LARGE:-1}" = 1 ]; then
    python3 "$HERE/peers/geo_postgis.py" --data "$DATA" --sizes 10000000 --runs 1 --ops ids_intersects \
      --only concave_large,multihole_large --out "$RES/geo_postgis.jsonl" >/dev/null
  fi
fi

log "routing: Gridline"
for g in "${GRAPHS[@]}"; do
  gridline route --graph "$DATA/$g.bin" --runs "$RUNS" --out "$RES/route_gridline.jsonl" >/dev/null
done
log "routing: scipy, pandana, pgRouting"
for g in "${GRAPHS[@]}"; do
  python3 "$HERE/peers/route_peers.py" "$DATA/$g.npz" --runs "$RUNS" --peers scipy,pandana,pgrouting \
    --out "$RES/route_peers.jsonl" >/dev/null 2>>"$DATA/peers.log"
done

log "cross-checks against scipy"
PORTO="$OSM/porto.osm.pbf"; [ -f "$PORTO" ] || PORTO="$ROOT/crates/spatial/tests/fixtures/porto.osm.pbf"
gridline porto-check --osm "$PORTO" --out "$DATA" >/dev/null
python3 "$HERE/crosscheck.py" "$DATA" "$RES/crosscheck.jsonl" "${GRAPHS[@]}" >/dev/null

python3 "$HERE/summarize.py" "$RES"
