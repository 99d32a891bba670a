#!/usr/bin/env bash
# Installs the peers of the geo benchmark: PostGIS and pgRouting from Debian, shapely, scipy and pandana from PyPI.
# Idempotent: packages already present are left alone.
set -euo pipefail
need_apt=()
for p in postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python3 - <<'PY' || python3 -m pip install -q numpy scipy shapely pandas pandana "psycopg[binary]" osmium
import numpy, scipy, shapely, pandas, pandana, psycopg, osmium
PY
