#!/usr/bin/env bash
# Sustained report intake over HTTP, durable, with de-duplication active against 10,000 open incidents, at 64
# concurrent clients, on SQLite and on PostgreSQL: reports per second, p50 and p99 latency.
#
#   bench/incidents/run.sh               # 20 s per backend after a 5 s warm-up
#   DURATION=60 bench/incidents/run.sh
#
# The database is seeded with 10,000 open incidents spread over a city (`cargo run --release -p app --example
# seed_incidents`), then `gridline serve` (release build) takes reports from wrk (bench/incidents/post_report.lua):
# each POST /api/v1/reports stores the report and its new incident, compares it with the open incidents near it in
# kind, space and time, records the proposals, appends the event and the audit record, and answers 201 only once it
# is all committed (SQLite WAL + synchronous=FULL; PostgreSQL synchronous_commit=on).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
duration=${DURATION:-20}
incidents=${INCIDENTS:-10000}
clients=${CLIENTS:-64}
work=${GRIDLINE_BENCH_DATA:-/tmp/gridline-bench-incidents}
rm -rf "$work"
mkdir -p "$work"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

echo "building gridline and the seeding tool (release)…" >&2
cargo build --release --locked -q -p cli
cargo build --release --locked -q -p app --example seed_incidents
gridline="$root/target/release/gridline"
seed="$root/target/release/examples/seed_incidents"
export GRIDLINE_LANG=en

start_server() {
  "$gridline" "$@" serve --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    address=$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | sed 's|listening on http://||' || true)
    [[ -n "$address" ]] && return 0
    sleep 0.1
  done
  echo "gridline serve did not start" >&2
  cat "$work/serve.log" >&2
  exit 1
}

# Seeds, starts the server, runs wrk; prints "reports/s p50_ms p99_ms".
measure() {
  "$seed" "$@" --incidents "$incidents" >>"$work/seed.log"
  echo "a long bench password" | "$gridline" "$@" user add bench --role admin --password-stdin >/dev/null
  GRIDLINE_TOKEN=$("$gridline" "$@" token create bench --name bench)
  export GRIDLINE_TOKEN
  start_server "$@"
  wrk -t2 -c"$clients" -d5s -s bench/incidents/post_report.lua "http://$address" >/dev/null 2>&1
  local out
  out=$(wrk -t2 -c"$clients" -d"${duration}s" --latency -s bench/incidents/post_report.lua "http://$address" 2>&1)
  echo "$out" >>"$work/wrk.log"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  if grep -q "Non-2xx" <<<"$out"; then
    echo "wrk saw errors:" >&2
    echo "$out" >&2
    exit 1
  fi
  local rate p50 p99
  rate=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rate $p50 $p99"
}

echo "SQLite…" >&2
read -r sqlite_rate sqlite_p50 sqlite_p99 < <(measure --data-dir "$work/sqlite")

echo "PostgreSQL…" >&2
pg_dir="$work/pg"
mkdir -p "$pg_dir"
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown -R postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U gridline --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p 54332 -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$pg_dir/log" -w start >/dev/null
trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true' EXIT
"$pg_bin/createdb" -h 127.0.0.1 -p 54332 -U gridline gridline
read -r pg_rate pg_p50 pg_p99 < <(measure --data-dir "$work/pg-data" --database "postgres://gridline@127.0.0.1:54332/gridline")

{
  echo "Report intake with de-duplication against ${incidents} open incidents, ${clients} clients, ${duration} s (HTTP, durable)"
  printf '%-11s %10s %10s %10s\n' backend reports/s p50 p99
  printf '%-11s %10s %10s %10s\n' SQLite "$sqlite_rate" "$sqlite_p50" "$sqlite_p99"
  printf '%-11s %10s %10s %10s\n' PostgreSQL "$pg_rate" "$pg_p50" "$pg_p99"
} | tee "$work/results.txt"
