#!/usr/bin/env bash
# Sustained MQTT ingest with 200 active rules, beside the broker's own rate, in one run.
#
#   bench/monitoring/run.sh                 # 200,000 readings from 100 gauges
#   READINGS=1000000 bench/monitoring/run.sh
#
# 1. The broker alone: the load generator (crates/app/examples/mqtt_load.rs, rumqttc) publishes READINGS messages
#    at QoS 1 and a subscriber receives them all (the broker's raw rate on this machine). mosquitto_pub -l is not
#    used: Mosquitto 2.0.11 disconnects it "due to out of memory" when it reads a long stdin at full speed.
# 2. Gridline: `gridline serve` (release) subscribed with its persistent QoS 1 session, 100 gauges, 200 rules (199
#    that the readings never trip, one that a trigger reading trips at once; bench/../seed_monitoring). The same
#    number of readings, as JSON, from one publisher per gauge; the clock stops when the last reading of every gauge
#    is stored (each committed to SQLite, WAL, synchronous=FULL, and acknowledged to the broker only after that).
# 3. Latency from publish to rule fired: a trigger reading is published and the rule's episodes are polled every
#    5 ms until it has fired; then a low reading clears it. 50 times: p50 and p99.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
readings=${READINGS:-200000}  # rounded down to a multiple of SENSORS
sensors=${SENSORS:-100}
work=${GRIDLINE_BENCH_DATA:-/tmp/gridline-bench-monitoring}
rm -rf "$work"
mkdir -p "$work"
command -v mosquitto_pub >/dev/null || apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)

echo "building gridline and the seeding tool (release)…" >&2
cargo build --release --locked -q -p cli
cargo build --release --locked -q -p app --example seed_monitoring --example mqtt_load
load="$root/target/release/examples/mqtt_load"
gridline="$root/target/release/gridline"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000000\nmax_inflight_messages 1000\n' "$port" >"$work/mosquitto.conf"
"$mosquitto" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
  kill "$broker" 2>/dev/null || true
}
trap cleanup EXIT
sleep 0.5

now() { date +%s.%N; }

# 1. The broker alone.
per=$((readings / sensors))
topics=$(for s in $(seq 0 $((sensors - 1))); do printf 'raw/g%s,' "$s"; done)
"$load" sub --port "$port" --topic 'raw/#' --count $((per * sensors)) >/dev/null &
sub=$!
sleep 0.3
start=$(now)
"$load" pub --port "$port" --topics "${topics%,}" --per "$per" >/dev/null
wait "$sub"
raw_s=$(python3 -c "print($(now) - $start)")

# 2. Gridline.
token=$("$root/target/release/examples/seed_monitoring" --data-dir "$work" --sensors "$sensors" --rules 200)
GRIDLINE_LOG=warn GRIDLINE_MQTT_URL="mqtt://127.0.0.1:$port" GRIDLINE_MQTT_CLIENT_ID=bench \
  "$gridline" --data-dir "$work" serve --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  address=$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | sed 's|listening on http://||' || true)
  [[ -n "$address" ]] && break
  sleep 0.1
done
api() { curl -s -H "Authorization: Bearer $token" "http://$address$1"; }
# Wait until Gridline's session is subscribed: a first reading of g0 is stored.
mosquitto_pub -h 127.0.0.1 -p "$port" -t gridline/sensors/g0/readings -q 1 -m '{"at": 1600000000000, "value": 1}'
for _ in $(seq 1 300); do
  api /api/v1/sensors | grep -q '"last_reading_at":"2020' && break
  sleep 0.1
done
last_at=$((1700000000000 + per * 1000))
topics=$(for s in $(seq 0 $((sensors - 1))); do printf 'gridline/sensors/g%s/readings,' "$s"; done)
start=$(now)
"$load" pub --port "$port" --topics "${topics%,}" --per "$per" >/dev/null
expected=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($last_at/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z'))")
for _ in $(seq 1 6000); do
  done_count=$( (api /api/v1/sensors | grep -o "\"last_reading_at\":\"$expected\"" || true) | wc -l)
  [[ "$done_count" -ge "$sensors" ]] && break
  sleep 0.05
done
gridline_s=$(python3 -c "print($(now) - $start)")

# 3. Publish → rule fired.
latencies=()
# Trigger readings 2 s apart from two minutes ago (a reading more than 5 minutes ahead is refused), each followed
# 1 s later by a low one that clears the episode.
base_at=$(($(date +%s%3N) - 120000))
for i in $(seq 1 50); do
  before=$( (api /api/v1/rules/trigger/episodes | grep -o '"fired_at":"[^"]*"' || true) | wc -l)
  at=$((base_at + i * 2000))
  t0=$(now)
  mosquitto_pub -h 127.0.0.1 -p "$port" -t gridline/sensors/g1/readings -q 1 -m "{\"at\": $at, \"value\": 50000}"
  for _ in $(seq 1 2000); do
    after=$( (api /api/v1/rules/trigger/episodes | grep -o '"fired_at":"[^"]*"' || true) | wc -l)
    [[ "$after" -gt "$before" ]] && break
    sleep 0.005
  done
  latencies+=("$(python3 -c "print(($(now) - $t0) * 1000)")")
  mosquitto_pub -h 127.0.0.1 -p "$port" -t gridline/sensors/g1/readings -q 1 -m "{\"at\": $((at + 1000)), \"value\": 1}"
  # Wait until the low reading has cleared the episode: a trigger in the same batch would keep it open.
  for _ in $(seq 1 400); do
    cleared=$( (api /api/v1/rules/trigger/episodes | grep -o '"cleared_at":"[^"]*"' || true) | wc -l)
    [[ "$cleared" -ge "$i" ]] && break
    sleep 0.005
  done
done

python3 - "$((per * sensors))" "$raw_s" "$gridline_s" "${latencies[@]}" <<'EOF'
import sys
readings, raw_s, gridline_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
lat = sorted(float(x) for x in sys.argv[4:])
q = lambda p: lat[min(len(lat) - 1, max(0, int(round(p * len(lat))) - 1))]
raw, grid = readings / raw_s, readings / gridline_s
print(f"MQTT ingest: {readings} readings at QoS 1, 200 active rules (2 cores, broker, publishers and Gridline on one machine)")
print(f"{'':28}{'readings/s':>12}{'seconds':>10}")
print(f"{'mosquitto alone (pub→sub)':28}{raw:>12.0f}{raw_s:>10.2f}")
print(f"{'gridline (pub→stored)':28}{grid:>12.0f}{gridline_s:>10.2f}")
print(f"gridline / broker: {grid / raw:.0%}")
print(f"publish → rule fired, {len(lat)} samples: p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms (polling every 5 ms)")
EOF
