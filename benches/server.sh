#!/usr/bin/env bash
# Benchmark of the reference server: durable creates/s and filtered reads/s, measured with wrk
# (Debian package `wrk`) against `scimtest serve` on a file database in WAL mode.
#
#   bash benches/server.sh            # 10 s per phase
#   DURATION=30s CONNS=32 bash benches/server.sh
#
# Prints a small table; docs/benchmarks.md records the figures and the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
SEEDED=${SEEDED:-1000}
SYNC=${SYNC:-normal}
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/scimtest
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SCIM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SCIM_TOKEN
# start_server NAME: a fresh server on its own database; sets BASE and SERVER.
start_server() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$PORT/scim/v2"
  "$BIN" serve --listen "127.0.0.1:$PORT" --db "$WORK/$1.db" --sync "$SYNC" 2>"$WORK/$1.log" &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null -H "Authorization: Bearer $SCIM_TOKEN" "$BASE/ServiceProviderConfig" && return 0
    sleep 0.1
  done
  echo "server did not start" >&2; exit 1
}
stop_server() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$WORK"' EXIT

rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '/ 99%/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {print $5}' "$1"; }

start_server creates
echo "== creates: POST /Users, unique userNames, $CONNS connections, $DURATION"
BENCH_PREFIX="c$$" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s benches/create_user.lua "$BASE/Users" | tee "$WORK/create.txt"

stop_server
start_server reads
echo "== seeding $SEEDED users for the filtered reads"
python3 - "$BASE" "$SEEDED" <<'PY'
import json, os, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
ops = [{"method": "POST", "path": "/Users", "bulkId": f"s{i}",
        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"seed{i}", "displayName": f"Seed {i}"}}
       for i in range(n)]
req = urllib.request.Request(base + "/Bulk", method="POST",
    data=json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}).encode(),
    headers={"Authorization": "Bearer " + os.environ["SCIM_TOKEN"], "Content-Type": "application/scim+json"})
with urllib.request.urlopen(req) as r:
    body = json.load(r)
bad = [o for o in body["Operations"] if o["status"] != "201"]
assert not bad, bad[:3]
PY

echo "== filtered reads: GET /Users?filter=userName eq \"seedN\", $CONNS connections, $DURATION"
BENCH_SEEDED="$SEEDED" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s benches/filter_user.lua "$BASE" | tee "$WORK/read.txt"

echo "== scanning filter: GET /Users?filter=displayName eq \"Seed N\" (no index: every user is evaluated)"
BENCH_SEEDED="$SEEDED" BENCH_ATTR=displayName wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s benches/filter_user.lua "$BASE" | tee "$WORK/scan.txt"

TOTAL=$(curl -sf -H "Authorization: Bearer $SCIM_TOKEN" "$BASE/Users?count=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])')
echo
echo "| phase | requests/s | p99 latency | non-2xx |"
echo "|---|---:|---:|---:|"
echo "| durable creates (POST /Users) | $(rate "$WORK/create.txt") | $(p99 "$WORK/create.txt") | $(non2xx "$WORK/create.txt" || true) |"
echo "| filtered reads (userName eq, index) | $(rate "$WORK/read.txt") | $(p99 "$WORK/read.txt") | $(non2xx "$WORK/read.txt" || true) |"
echo "| filtered reads (displayName eq, scan of $SEEDED) | $(rate "$WORK/scan.txt") | $(p99 "$WORK/scan.txt") | $(non2xx "$WORK/scan.txt" || true) |"
echo "users in the read database: $TOTAL (sync=$SYNC)"
