#!/usr/bin/env bash
# The ingest benchmark, end to end: builds relanced and the load tools in Release, starts relanced
# on a fresh temporary SQLite database for each measure, and prints
#   (a) single-event POSTs over 64 keep-alive connections: requests/s, p50/p99 latency
#   (b) batches of 500 events: events/s
#   (c) the same journal rows inserted straight into SQLite by one process: rows/s
#   (e) batches of 500 events, every other one a payment of the invoice before it: events/s
# and the ratio (b)/(c). Figures go to bench/RESULTS.md by hand, with the load (uptime) seen here.
#
#   bash bench/ingest/run.sh        # env: DURATION (s, default 10), BATCH_CONNECTIONS (default 8),
#                                   #      BUILD_DIR (default build/bench-release),
#                                   #      BENCH_TMP (default /tmp; must be a real disk, not tmpfs),
#                                   #      DUNNING (true/false, default true: the daemon's default;
#                                   #      false measures ingest and the engine without the scheduler)
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${DURATION:-10}
batch_connections=${BATCH_CONNECTIONS:-8}
build_dir=${BUILD_DIR:-build/bench-release}
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRELANCE_BUILD_TESTS=OFF \
  -DRELANCE_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j "$jobs" --target relanced ingest_load ingest_sqlite_baseline >/dev/null

work=$(mktemp -d "${BENCH_TMP:-/tmp}/relance-bench-ingest-XXXXXX")
if [ "$(stat -f -c %T "$work")" = tmpfs ]; then
  echo "warning: $work is on tmpfs: fsync costs nothing there, figures would flatter" >&2
fi
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_daemon NAME: relanced on $work/NAME.db, port 0; sets daemon_pid and port.
start_daemon() {
  local name=$1
  cat >"$work/$name.yaml" <<EOF
http:
  listen_address: 127.0.0.1
  port: 0
store:
  sqlite:
    path: $work/$name.db
dunning:
  enabled: ${DUNNING:-true}
log:
  level: info
EOF
  "$build_dir/daemon/relanced" --config "$work/$name.yaml" 2>"$work/$name.log" &
  daemon_pid=$!
  port=
  for _ in $(seq 1 200); do
    port=$(grep -o '"msg":"relanced started".*"port":[0-9]*' "$work/$name.log" 2>/dev/null |
           grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "relanced did not start; its log:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid"
  daemon_pid=
}

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

echo "load before: $(uptime)"
echo "dunning enabled: ${DUNNING:-true}"

start_daemon single
echo "== (a) single events, 64 connections, ${duration}s"
"$build_dir/bench/ingest/ingest_load" --port "$port" --connections 64 --batch 1 \
  --duration "$duration" --warmup 2 --prefix single | tee "$work/a.out"
stop_daemon

start_daemon batch
echo "== (b) batches of 500 events, $batch_connections connections, ${duration}s"
"$build_dir/bench/ingest/ingest_load" --port "$port" --connections "$batch_connections" \
  --batch 500 --duration "$duration" --warmup 2 --prefix batch | tee "$work/b.out"
stop_daemon

start_daemon payments
echo "== (e) batches of 500 events, half of them payments, $batch_connections connections, ${duration}s"
"$build_dir/bench/ingest/ingest_load" --port "$port" --connections "$batch_connections" \
  --batch 500 --duration "$duration" --warmup 2 --prefix payments --payments | tee "$work/e.out"
stop_daemon

echo "== (c) SQLite alone, one transaction per 500 rows, ${duration}s"
"$build_dir/bench/ingest/ingest_sqlite_baseline" --db "$work/baseline.db" \
  --schema schemas/sql/sqlite/0001_journal.sql --batch 500 --duration "$duration" |
  tee "$work/c.out"

echo "== (d) SQLite alone, one row per transaction, 3s: the cost of a commit (fsync) on this disk"
"$build_dir/bench/ingest/ingest_sqlite_baseline" --db "$work/floor.db" \
  --schema schemas/sql/sqlite/0001_journal.sql --batch 1 --duration 3 | tee "$work/d.out"

echo "load after: $(uptime)"
a=$(grep '^RESULT' "$work/a.out")
b=$(grep '^RESULT' "$work/b.out")
c=$(grep '^RESULT' "$work/c.out")
d=$(grep '^RESULT' "$work/d.out")
e=$(grep '^RESULT' "$work/e.out")
awk -v rps="$(field requests_per_s "$a")" -v p50="$(field p50_ms "$a")" \
    -v p99="$(field p99_ms "$a")" -v eps="$(field events_per_s "$b")" \
    -v rows="$(field rows_per_s "$c")" -v commit_ms="$(field ms_per_commit "$d")" \
    -v mixed="$(field events_per_s "$e")" 'BEGIN {
  printf "SUMMARY (a) %d req/s, p50 %.2f ms, p99 %.2f ms [target >= 20000 req/s, p99 < 25 ms]\n", rps, p50, p99
  printf "SUMMARY (b) %d events/s [target >= 100000]\n", eps
  printf "SUMMARY (c) %d rows/s; (b)/(c) = %.2f\n", rows, eps / rows
  # One request in flight per connection: (a) cannot beat 64 requests per commit.
  printf "SUMMARY (d) %.2f ms per commit: (a) is bounded by 64 / that = %d req/s\n", commit_ms, 64000 / commit_ms
  printf "SUMMARY (e) %d events/s, half of them payments\n", mixed
}'
