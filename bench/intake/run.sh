#!/usr/bin/env bash
# Durable write throughput of the HTTP API beside the raw insert rate of the same database, in one run.
#
#   bench/intake/run.sh            # 10 s per measurement
#   DURATION=30 bench/intake/run.sh
#
# For SQLite and for PostgreSQL, with 1 and 64 concurrent clients:
#   api  — wrk POSTs /api/v1/members to `gridline serve` (release build); each 201 means the member row, its event and
#          its audit record are committed durably (SQLite WAL + synchronous=FULL; PostgreSQL synchronous_commit=on).
#   raw  — the same member INSERT, one statement per transaction, straight into the same database file or server:
#          sqlite3 CLI processes (WAL, synchronous=FULL, busy timeout), or pgbench.
# Prints a table with the ratio api/raw. Installs sqlite3 and wrk from Debian if missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
duration=${DURATION:-10}
work=${GRIDLINE_BENCH_DATA:-/tmp/gridline-bench-intake}
rm -rf "$work"
mkdir -p "$work"

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v wrk >/dev/null || need+=(wrk)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

echo "building gridline (release)…" >&2
cargo build --release --locked -q -p cli
gridline="$root/target/release/gridline"
export GRIDLINE_LANG=en

results="$work/results.txt"
: >"$results"

# Runs wrk with $1 connections against $2 and prints requests per second (fails on any non-2xx answer).
api_rate() {
  local connections=$1 address=$2 threads=2
  ((connections == 1)) && threads=1
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s bench/intake/post_member.lua "http://$address" 2>&1)
  echo "$out" >>"$work/wrk.log"
  if grep -q "Non-2xx" <<<"$out"; then
    echo "wrk saw errors:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {print int($2)}' <<<"$out"
}

# Starts gridline serve with extra arguments; sets $server_pid and $address.
start_server() {
  "$gridline" "$@" serve --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    address=$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | sed 's|listening on http://||' || true)
    [[ -n "$address" ]] && return 0
    sleep 0.1
  done
  echo "gridline serve did not start" >&2
  cat "$work/serve.log" >&2
  exit 1
}

# Creates the admin, a token and a community to write into; sets GRIDLINE_TOKEN and GRIDLINE_JURISDICTION.
prepare() {
  echo "a long bench password" | "$gridline" "$@" user add bench --role admin --password-stdin >/dev/null
  GRIDLINE_TOKEN=$("$gridline" "$@" token create bench --name bench)
  export GRIDLINE_TOKEN
  start_server "$@"
  GRIDLINE_JURISDICTION=$(curl -sf -X POST "http://$address/api/v1/jurisdictions" -H "Authorization: Bearer $GRIDLINE_TOKEN" \
    -H 'Content-Type: application/json' -d '{"level":"community","code":"bench","name_zh":"压测社区"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
  export GRIDLINE_JURISDICTION
}

member_insert_sql() {
  echo "INSERT INTO members (jurisdiction_id, path, name, roles, skills, credentials, status, version, created_at, updated_at) VALUES ($GRIDLINE_JURISDICTION, '/$GRIDLINE_JURISDICTION/', 'raw', '[\"volunteer\"]', '[]', '[]', 'active', 1, 0, 0);"
}

# --- SQLite -------------------------------------------------------------------------------------------------------
echo "SQLite…" >&2
sqlite_dir="$work/sqlite"
prepare --data-dir "$sqlite_dir"
sqlite_api_1=$(api_rate 1 "$address")
sqlite_api_64=$(api_rate 64 "$address")
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

# Raw: each sqlite3 process inserts for the duration, one autocommitted INSERT per statement; count rows added.
sqlite_raw() {
  local processes=$1 db="$sqlite_dir/gridline.db"
  local statement; statement=$(member_insert_sql)
  local script="$work/raw.sql"
  { echo ".timeout 30000"; echo "PRAGMA journal_mode=WAL;"; echo "PRAGMA synchronous=FULL;"; for _ in $(seq 1 200000); do echo "$statement"; done; } >"$script"
  local before; before=$(sqlite3 "$db" "SELECT COUNT(*) FROM members")
  local pids=()
  for _ in $(seq 1 "$processes"); do
    timeout --signal=KILL "$duration" sqlite3 "$db" <"$script" >/dev/null 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  local after; after=$(sqlite3 "$db" "SELECT COUNT(*) FROM members")
  echo $(((after - before) / duration))
}
sqlite_raw_1=$(sqlite_raw 1)
sqlite_raw_64=$(sqlite_raw 64)

# --- PostgreSQL ---------------------------------------------------------------------------------------------------
echo "PostgreSQL…" >&2
pg_dir="$work/pg"
mkdir -p "$pg_dir"
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown -R postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U gridline --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p 54330 -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$pg_dir/log" -w start >/dev/null
trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true' EXIT
"$pg_bin/createdb" -h 127.0.0.1 -p 54330 -U gridline gridline
pg_url="postgres://gridline@127.0.0.1:54330/gridline"
prepare --data-dir "$work/pg-data" --database "$pg_url"
pg_api_1=$(api_rate 1 "$address")
pg_api_64=$(api_rate 64 "$address")
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
member_insert_sql >"$work/pgbench.sql"
pg_raw() {
  local clients=$1 threads=2
  ((clients == 1)) && threads=1
  "$pg_bin/pgbench" -h 127.0.0.1 -p 54330 -U gridline -n -f "$work/pgbench.sql" -c "$clients" -j "$threads" -T "$duration" gridline 2>/dev/null |
    awk '/^tps/ {print int($3)}'
}
pg_raw_1=$(pg_raw 1)
pg_raw_64=$(pg_raw 64)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
{
  echo "Durable writes per second (${duration} s each; api = POST /api/v1/members through HTTP, raw = one INSERT per transaction)"
  printf '%-11s %7s %12s %12s %7s\n' backend clients api/s raw/s api/raw
  printf '%-11s %7s %12s %12s %7s\n' SQLite 1 "$sqlite_api_1" "$sqlite_raw_1" "$(ratio "$sqlite_api_1" "$sqlite_raw_1")"
  printf '%-11s %7s %12s %12s %7s\n' SQLite 64 "$sqlite_api_64" "$sqlite_raw_64" "$(ratio "$sqlite_api_64" "$sqlite_raw_64")"
  printf '%-11s %7s %12s %12s %7s\n' PostgreSQL 1 "$pg_api_1" "$pg_raw_1" "$(ratio "$pg_api_1" "$pg_raw_1")"
  printf '%-11s %7s %12s %12s %7s\n' PostgreSQL 64 "$pg_api_64" "$pg_raw_64" "$(ratio "$pg_api_64" "$pg_raw_64")"
} | tee "$results"
