#!/usr/bin/env bash
# The load generator (`scimtest load`, goose as a library) measured against wrk (Debian package
# `wrk`) on the same machine, in one run:
#
#   1. bulk-create against `scimtest serve --memory` (release build): wrk POSTing the body of
#      suites/load/bulk-create.yaml (benches/load-create.lua, a unique userName per request) and
#      `scimtest load --scenario bulk-create`, same connections (= --users) and duration, each
#      on a FRESH server (empty store); ROUNDS rounds, the order alternating; medians reported.
#   2. the generator's own ceiling: a bare GET of a static 200 served by nginx (one worker),
#      wrk (benches/load-get.lua) against `scimtest load --scenario benches/load-trivial.yaml`,
#      with the CPU each generator burnt per request (/usr/bin/time).
#   3. peak memory of the load generator as the run grows: bulk-create for MEM_SHORT and
#      MEM_LONG seconds under /usr/bin/time -v (the server is another process, not counted).
#
#   bash benches/load.sh                      # about 3 minutes on 2 cores
#   DURATION=15 USERS=32 ROUNDS=5 bash benches/load.sh
#   PARTS=create SWEEP="8 16 32" bash benches/load.sh   # bulk-create only, one pair per user count
#
# On a 2-core machine the generator and the server (or nginx) share the cores: whatever CPU a
# generator burns is taken from the peer it measures. Prints a summary table at the end;
# docs/benchmarks.md records the figures and the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}            # seconds per measurement (parts 1 and 2)
USERS=${USERS:-16}                 # scimtest --users = wrk connections
ROUNDS=${ROUNDS:-3}                # parts 1 and 2; medians over the rounds
THREADS=${THREADS:-1}              # wrk threads (as benches/server.sh)
MEM_SHORT=${MEM_SHORT:-5}          # part 3: seconds of the short and the long run
MEM_LONG=${MEM_LONG:-20}
PARTS=${PARTS:-"create trivial memory"}
SWEEP=${SWEEP:-}                   # part 1 again, one round per user count, e.g. "8 16 32"

need() { # need COMMAND PACKAGE: install the Debian package when the command is missing
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y "$2" >/dev/null 2>&1; }
  fi
  command -v "$1" >/dev/null || { echo "$1 is required: apt-get install -y $2" >&2; exit 2; }
}
need wrk wrk
need python3 python3
[ -x /usr/bin/time ] || need /usr/bin/time time
case " $PARTS " in *" trivial "*) PATH="$PATH:/usr/sbin" need nginx nginx-light ;; esac
NGINX_BIN=$(PATH="$PATH:/usr/sbin" command -v nginx || true)

cargo build --release --quiet
BIN=target/release/scimtest
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
SCIM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SCIM_TOKEN
LIFE=1800   # no server or nginx outlives this many seconds, whatever happens to this script
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER=""
# start_server NAME: a fresh in-memory reference server; sets BASE and SERVER.
start_server() {
  local port
  port=$(free_port)
  BASE="http://127.0.0.1:$port/scim/v2"
  timeout -s KILL "$LIFE" "$BIN" serve --listen "127.0.0.1:$port" --memory --token "$SCIM_TOKEN" 2>"$WORK/$1.log" &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null -H "Authorization: Bearer $SCIM_TOKEN" "$BASE/ServiceProviderConfig" && return 0
    sleep 0.1
  done
  echo "server did not start" >&2; exit 1
}
stop_server() {
  [ -n "$SERVER" ] || return 0
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

NGINX=""
# start_nginx: one worker answering every GET with a fixed 200 "ok"; sets NGINX_URL and NGINX.
start_nginx() {
  local port
  port=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
  NGINX_URL="http://127.0.0.1:$port"
  timeout -s KILL "$LIFE" "$NGINX_BIN" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
  NGINX=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$NGINX_URL/ok" && return 0
    sleep 0.1
  done
  echo "nginx did not start" >&2; cat "$WORK/nginx/error.log" >&2; exit 1
}
stop_nginx() {
  [ -n "$NGINX" ] || return 0
  kill "$NGINX" 2>/dev/null || true; wait "$NGINX" 2>/dev/null || true; NGINX=""
}
trap 'stop_server; stop_nginx; rm -rf "$WORK"' EXIT

# record PART USERS ROUND TOOL FILE [TIMEFILE]: one line of $RESULTS from wrk's done() JSON or
# scimtest's load.json (+ /usr/bin/time's "elapsed user system maxrss"); echoes it readably.
record() {
  python3 - "$@" >>"$RESULTS" <<'PY'
import json, sys
part, users, rnd, tool, path = sys.argv[1:6]
j = json.load(open(path))
if "throughput_rps" in j:  # scimtest load.json
    row = dict(rps=j["throughput_rps"], requests=j["requests"], secs=j["duration_s"],
               p50=j["latency_ms"]["p50"], p99=j["latency_ms"]["p99"],
               errors=j["failures"], left=j["cleanup"]["left_behind"])
else:  # wrk done()
    row = dict(rps=j["requests"] / j["duration_s"], requests=j["requests"], secs=j["duration_s"],
               p50=j["p50_ms"], p99=j["p99_ms"], errors=j["errors"], left=0)
cpu_us = rss = -1
if len(sys.argv) > 6:
    _, user, system, rss = open(sys.argv[6]).read().split()[-4:]
    cpu_us = (float(user) + float(system)) * 1e6 / max(row["requests"], 1)
print("\t".join(map(str, [part, users, rnd, tool, round(row["rps"], 1), row["requests"], row["secs"],
                          row["p50"], row["p99"], row["errors"], row["left"], round(cpu_us, 2), rss])))
PY
  tail -1 "$RESULTS" | awk -F'\t' '{printf "   %-8s %9.1f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests in %.2f s, %d errors%s)\n",
    $4, $5, $8, $9, $6, $7, $10, ($12 >= 0 ? sprintf(", %.1f µs CPU/request", $12) : "")}'
}

# create_pair USERS ROUND ORDER: bulk-create with wrk and with scimtest, each on a fresh server.
create_pair() {
  local users=$1 rnd=$2 tool
  for tool in $3; do
    start_server "create-$tool-$users-$rnd"
    if [ "$tool" = wrk ]; then
      BENCH_PREFIX="wrk$rnd-$$" BENCH_OUT="$WORK/create-wrk-$users-$rnd.json" \
        timeout -s KILL $((DURATION + 60)) wrk -t"$THREADS" -c"$users" -d"${DURATION}s" \
        -s benches/load-create.lua "$BASE/Users" >"$WORK/create-wrk-$users-$rnd.txt"
      record create "$users" "$rnd" wrk "$WORK/create-wrk-$users-$rnd.json"
    else
      # The timeout covers the cleanup too: everything the load created is deleted before exit.
      timeout -s KILL $((DURATION + 300)) "$BIN" load --url "$BASE" --token "$SCIM_TOKEN" \
        --scenario bulk-create --users "$users" --duration "${DURATION}s" --quiet \
        --report-dir "$WORK/create-scimtest-$users-$rnd" >"$WORK/create-scimtest-$users-$rnd.txt"
      record create "$users" "$rnd" scimtest "$WORK/create-scimtest-$users-$rnd/load.json"
    fi
    stop_server
  done
}

order() { if (( $1 % 2 )); then echo "wrk scimtest"; else echo "scimtest wrk"; fi; }

echo "note: $(nproc) cores; the load generator and the server share them, so CPU a generator"
echo "      burns is CPU the server does not get. wrk: $THREADS thread(s); scimtest: tokio, one worker per core."

case " $PARTS " in *" create "*)
  echo
  echo "== 1. bulk-create against scimtest serve --memory: $USERS connections/users, ${DURATION} s, $ROUNDS rounds"
  for rnd in $(seq 1 "$ROUNDS"); do
    echo " round $rnd ($(order "$rnd" | sed 's/ / then /'))"
    create_pair "$USERS" "$rnd" "$(order "$rnd")"
  done
  for u in $SWEEP; do
    echo " sweep: $u connections/users"
    create_pair "$u" 1 "wrk scimtest"
  done
;; esac

case " $PARTS " in *" trivial "*)
  echo
  echo "== 2. generator ceiling: GET of a static 200 from nginx (1 worker), $USERS connections/users, ${DURATION} s, $ROUNDS rounds"
  start_nginx
  for rnd in $(seq 1 "$ROUNDS"); do
    echo " round $rnd ($(order "$rnd" | sed 's/ / then /'))"
    for tool in $(order "$rnd"); do
      if [ "$tool" = wrk ]; then
        BENCH_OUT="$WORK/trivial-wrk-$rnd.json" timeout -s KILL $((DURATION + 60)) \
          /usr/bin/time -f '%e %U %S %M' -o "$WORK/trivial-wrk-$rnd.time" \
          wrk -t"$THREADS" -c"$USERS" -d"${DURATION}s" -s benches/load-get.lua "$NGINX_URL/ok" >/dev/null
        record trivial "$USERS" "$rnd" wrk "$WORK/trivial-wrk-$rnd.json" "$WORK/trivial-wrk-$rnd.time"
      else
        timeout -s KILL $((DURATION + 60)) \
          /usr/bin/time -f '%e %U %S %M' -o "$WORK/trivial-scimtest-$rnd.time" \
          "$BIN" load --url "$NGINX_URL" --scenario benches/load-trivial.yaml --users "$USERS" \
          --duration "${DURATION}s" --quiet --report-dir "$WORK/trivial-scimtest-$rnd" >/dev/null
        record trivial "$USERS" "$rnd" scimtest "$WORK/trivial-scimtest-$rnd/load.json" "$WORK/trivial-scimtest-$rnd.time"
      fi
    done
  done
  stop_nginx
;; esac

case " $PARTS " in *" memory "*)
  echo
  echo "== 3. peak RSS of scimtest load (bulk-create, $USERS users) for ${MEM_SHORT} s and ${MEM_LONG} s (server not counted)"
  for secs in "$MEM_SHORT" "$MEM_LONG"; do
    start_server "memory-$secs"
    timeout -s KILL $((secs + 600)) /usr/bin/time -v -o "$WORK/memory-$secs.timev" \
      "$BIN" load --url "$BASE" --token "$SCIM_TOKEN" --scenario bulk-create --users "$USERS" \
      --duration "${secs}s" --quiet --report-dir "$WORK/memory-$secs" >/dev/null
    awk '/Elapsed/ {e=$NF} /User time/ {u=$NF} /System time/ {s=$NF} /Maximum resident/ {m=$NF} END {print e, u, s, m}' \
      "$WORK/memory-$secs.timev" >"$WORK/memory-$secs.time"
    record memory "$USERS" "$secs" scimtest "$WORK/memory-$secs/load.json" "$WORK/memory-$secs.time"
    awk -F'\t' '{printf "   max RSS %.1f MiB (whole process: load, then cleanup of %d users)\n", $13 / 1024, $6}' <(tail -1 "$RESULTS")
    stop_server
  done
;; esac

echo
python3 - "$RESULTS" "$DURATION" "$USERS" "$THREADS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
duration, users, threads = sys.argv[2], int(sys.argv[3]), sys.argv[4]
def pick(part, tool, u=users):
    return [r for r in rows if r[0] == part and r[3] == tool and int(r[1]) == u]
def med(rs, i):
    return statistics.median(float(r[i]) for r in rs) if rs else None
def f(v, fmt="{:,.0f}"):
    return "-" if v is None else fmt.format(v)
def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"
print(f"| measurement ({users} connections/users, {duration} s each, medians) | wrk | scimtest load | scimtest/wrk | goal |")
print("|---|---:|---:|---:|---|")
for part, label, goal in (("create", "bulk-create vs scimtest serve --memory", "≥ 0.8"),
                          ("trivial", "bare GET vs nginx static 200", "≥ 0.47 (goose's own)")):
    w, s = pick(part, "wrk"), pick(part, "scimtest")
    if not w and not s:
        continue
    n = min(len(w), len(s))
    print(f"| {label}: req/s ({n} rounds) | {f(med(w, 4))} | {f(med(s, 4))} | **{ratio(med(s, 4), med(w, 4))}** | {goal} |")
    print(f"| {label}: p50 ms | {f(med(w, 7), '{:.2f}')} | {f(med(s, 7), '{:.2f}')} | | |")
    print(f"| {label}: p99 ms | {f(med(w, 8), '{:.2f}')} | {f(med(s, 8), '{:.2f}')} | | |")
    if part == "trivial":
        print(f"| {label}: generator CPU µs/request | {f(med(w, 11), '{:.1f}')} | {f(med(s, 11), '{:.1f}')} | {ratio(med(s, 11), med(w, 11))} | |")
    errs = sum(int(r[9]) for r in w + s)
    left = sum(int(r[10]) for r in s)
    per = ", ".join(f"{float(b[4]) / float(a[4]):.2f}" for a, b in zip(w, s))
    print(f"| {label}: per-round ratios | | | {per} | |")
    print(f"| {label}: errors / left behind | {sum(int(r[9]) for r in w)} | {sum(int(r[9]) for r in s)} / {left} | | |")
mem = [r for r in rows if r[0] == "memory"]
if len(mem) == 2:
    a, b = mem
    ra, rb = int(a[12]) / 1024, int(b[12]) / 1024
    print(f"| peak RSS of scimtest load, bulk-create {a[2]} s vs {b[2]} s (MiB) | | {ra:.1f} → {rb:.1f} ({int(a[5]):,} → {int(b[5]):,} requests) | {rb / ra:.2f} (long/short) | ≈ 1 (flat) |")
sweep = sorted({int(r[1]) for r in rows if r[0] == "create"} - {users})
if sweep:
    print()
    print("| bulk-create sweep (1 round each) | wrk req/s | scimtest req/s | scimtest/wrk | wrk p99 ms | scimtest p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for u in sorted(sweep + [users]):
        w, s = pick("create", "wrk", u), pick("create", "scimtest", u)
        print(f"| {u} | {f(med(w, 4))} | {f(med(s, 4))} | {ratio(med(s, 4), med(w, 4))} | {f(med(w, 8), '{:.2f}')} | {f(med(s, 8), '{:.2f}')} |")
print(f"(wrk: {threads} thread(s). The generators and their peers share this machine's cores; see above.)")
PY
