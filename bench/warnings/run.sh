#!/usr/bin/env bash
# Warning enqueue throughput: from "issue" to every delivery durably enqueued, beside the raw bulk-insert rate of
# the same rows into the same database, in one run.
#
#   bench/warnings/run.sh                          # 10,000 / 100,000 / 1,000,000 households, SQLite and PostgreSQL
#   SIZES="10000 100000" bench/warnings/run.sh     # fewer sizes
#
# For each backend and size, on a fresh database:
#   gridline — `cargo run --release -p app --example enqueue` seeds N households (each with a phone) inside a city,
#              drafts, approves and previews a warning over all of them (the preview builds the targeting index, once
#              per process), then times `issue_warning`: targeting through the geo engine's index, the GB/T 35965 CAP
#              document, and one delivery row per household committed durably (SQLite WAL + synchronous=FULL;
#              PostgreSQL synchronous_commit=on), in writes of 10,000 recipients.
#   raw      — the same delivery rows, exported to CSV, loaded by the database's own bulk loader into a table with the
#              same columns and indexes: `sqlite3 .import` (one transaction, synchronous=FULL) and `psql \copy`.
# Prints rows per second and the ratio gridline/raw. Installs sqlite3 from Debian if missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
sizes=${SIZES:-"10000 100000 1000000"}
work=${GRIDLINE_BENCH_DATA:-/tmp/gridline-bench-warnings}
rm -rf "$work"
mkdir -p "$work"
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

echo "building the benchmark (release)…" >&2
cargo build --release --locked -q -p app --example enqueue
bench="$root/target/release/examples/enqueue"

columns="warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at"
# The raw table: the delivery columns the enqueue writes, a primary key, and the same two indexes as the outbox.
raw_schema() {
  local key=$1
  echo "CREATE TABLE raw_deliveries (id $key, warning_id BIGINT NOT NULL, recipient_kind TEXT NOT NULL,
    recipient_id BIGINT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL, language TEXT NOT NULL, grid_id BIGINT,
    vulnerable BOOLEAN NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL);
  CREATE UNIQUE INDEX raw_once ON raw_deliveries (warning_id, recipient_kind, recipient_id, channel);
  CREATE INDEX raw_due ON raw_deliveries (status, next_attempt_at);"
}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
json() { sed -n "s/.*\"$2\":\([0-9.e+-]*\).*/\1/p" <<<"$1"; }

# --- PostgreSQL cluster ------------------------------------------------------------------------------------------
pg_dir="$work/pg"
mkdir -p "$pg_dir"
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown -R postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
port=54331
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U gridline --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1" -l "$pg_dir/log" -w start >/dev/null
trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true' EXIT
psql_at() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U gridline "$@"; }

results="$work/results.txt"
{
  echo "Warning enqueue: recipients durably enqueued per second (gridline = issue → every delivery committed; raw = bulk load of the same rows)"
  printf '%-11s %10s %10s %12s %12s %9s\n' backend recipients issue_s gridline/s raw/s ratio
} | tee "$results"

for n in $sizes; do
  # SQLite.
  dir="$work/sqlite-$n"
  out=$("$bench" --data-dir "$dir" --households "$n")
  echo "$out" >>"$work/runs.jsonl"
  issue=$(json "$out" issue_seconds); warning=$(json "$out" warning_id)
  db="$dir/gridline.db"
  sqlite3 -csv "$db" "SELECT $columns FROM deliveries WHERE warning_id = $warning" >"$work/rows.csv"
  # SQLite's implicit rowid is the key; .import fills the eleven columns directly.
  sqlite3 "$db" "$(raw_schema '' | sed 's/(id , /(/')"
  start=$(now)
  sqlite3 "$db" -cmd ".timeout 30000" -cmd "PRAGMA synchronous=FULL;" ".import --csv $work/rows.csv raw_deliveries" 2>>"$work/sqlite3.log"
  end=$(now)
  loaded=$(sqlite3 "$db" "SELECT COUNT(*) FROM raw_deliveries")
  [[ "$loaded" == "$n" ]] || { echo "raw load: $loaded rows, expected $n" >&2; exit 1; }
  g=$(awk -v n="$n" -v s="$issue" 'BEGIN { printf "%.0f", n / s }'); r=$(rate "$n" "$start" "$end")
  printf '%-11s %10s %10.2f %12s %12s %8.0f%%\n' SQLite "$n" "$issue" "$g" "$r" "$(awk -v a="$g" -v b="$r" 'BEGIN { print 100 * a / b }')" | tee -a "$results"
  rm -rf "$dir"

  # PostgreSQL.
  psql_at -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
  url="postgres://gridline@127.0.0.1:$port/bench"
  out=$("$bench" --database "$url" --households "$n")
  echo "$out" >>"$work/runs.jsonl"
  issue=$(json "$out" issue_seconds); warning=$(json "$out" warning_id)
  psql_at -d bench -c "\\copy (SELECT $columns FROM deliveries WHERE warning_id = $warning) TO '$work/rows.csv' CSV"
  psql_at -d bench -c "$(raw_schema 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')"
  start=$(now)
  psql_at -d bench -c "\\copy raw_deliveries ($columns) FROM '$work/rows.csv' CSV"
  end=$(now)
  loaded=$(psql_at -d bench -At -c "SELECT COUNT(*) FROM raw_deliveries")
  [[ "$loaded" == "$n" ]] || { echo "raw load: $loaded rows, expected $n" >&2; exit 1; }
  g=$(awk -v n="$n" -v s="$issue" 'BEGIN { printf "%.0f", n / s }'); r=$(rate "$n" "$start" "$end")
  printf '%-11s %10s %10.2f %12s %12s %8.0f%%\n' PostgreSQL "$n" "$issue" "$g" "$r" "$(awk -v a="$g" -v b="$r" 'BEGIN { print 100 * a / b }')" | tee -a "$results"
done
echo "raw runs: $work/runs.jsonl" >&2
