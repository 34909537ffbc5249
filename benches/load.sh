#!/usr/bin/env bash
# The load generator (`scimtest load`, goose as a library) measured against wrk (Debian package
# `wrk`) on the same machine, in one run:
#
#   1. bulk-create against `scimtest serve --memory` (release build): wrk POSTing the body of
#      suites/load/bulk-create.yaml (benches/load-create.lua, a unique userName per request) and
#      `scimtest load --scenario bulk-create`, same connections (= --users) and duration, each
#      on a FRESH server (empty store); ROUNDS rounds, the order alternating; medians reported.
#   2. the generator's own ceiling: a bare GET of a static 200 served by nginx (one worker),
#      wrk (benches/load-get.lua) against `scimtest load --scenario benches/load-trivial.yaml`.
#   3. peak memory of the load generator as the run grows: bulk-create for MEM_SHORT and
#      MEM_LONG seconds under /usr/bin/time -v (the server is another process, not counted),
#      and as a control the bare GET of part 2 (nothing created, so nothing kept for cleanup).
#
#   bash benches/load.sh                      # about 4 minutes on 2 cores
#   DURATION=15 USERS=32 ROUNDS=5 bash benches/load.sh
#   PARTS=create ROUNDS=1 SWEEP="8 32 64" bash benches/load.sh   # bulk-create at more user counts
#
# On a 2-core machine the generator and the server (or nginx) share the cores: CPU a generator
# burns is CPU the server does not get. So every row also gives the CPU each side spent per
# request (read from /proc while the attack runs; cleanup excluded) and the CPU other processes
# on the machine took meanwhile ("other"), which should be near 0 for a clean figure. Before
# each measurement the script waits (up to QUIET_WAIT s) for the machine to be idle.
# Prints a summary table at the end; docs/benchmarks.md records the figures and the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}            # seconds per measurement (parts 1 and 2)
USERS=${USERS:-16}                 # scimtest --users = wrk connections
ROUNDS=${ROUNDS:-3}                # parts 1 and 2; medians over the rounds
THREADS=${THREADS:-1}              # wrk threads (as benches/server.sh)
MEM_SHORT=${MEM_SHORT:-5}          # part 3: seconds of the short and the long run
MEM_LONG=${MEM_LONG:-20}
PARTS=${PARTS:-"create trivial memory"}
SWEEP=${SWEEP:-}                   # part 1 again, one round per user count, e.g. "8 32 64"
QUIET_WAIT=${QUIET_WAIT:-60}       # wait this long at most for an idle machine before each run

need() { # need COMMAND PACKAGE: install the Debian package when the command is missing
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y "$2" >/dev/null 2>&1; }
  fi
  command -v "$1" >/dev/null || { echo "$1 is required: apt-get install -y $2" >&2; exit 2; }
}
need wrk wrk
need python3 python3
need /usr/bin/time time
export PATH="$PATH:/usr/sbin"
case " $PARTS " in *" trivial "* | *" memory "*) need nginx nginx-light ;; esac

cargo build --release --quiet --bin scimtest --example goose_bare
BIN=target/release/scimtest
GOOSE_BARE=target/release/examples/goose_bare
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
SCIM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SCIM_TOKEN
HZ=$(getconf CLK_TCK)
CORES=$(nproc)
LIFE=1800   # no server or nginx outlives this many seconds, whatever happens to this script
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# CPU ticks (user+system, all threads) of a process; of the whole machine (not idle).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq (not steal)
# child PID: the process `timeout` started (what $! names is timeout itself).
child() { local c=""; for _ in $(seq 1 100); do c=$(pgrep -P "$1" | head -1) && [ -n "$c" ] && break; sleep 0.01; done; echo "$c"; }

# quiet: wait until the machine is idle (under 10% busy over half a second), at most QUIET_WAIT s.
quiet() {
  local start b0 b1 pct
  start=$(now)
  while :; do
    b0=$(busy); sleep 0.5; b1=$(busy)
    pct=$(( (b1 - b0) * 100 * 2 / (HZ * CORES) ))
    [ "$pct" -lt 10 ] && return 0
    if awk -v s="$start" -v n="$(now)" -v w="$QUIET_WAIT" 'BEGIN {exit !(n - s > w)}'; then
      echo "   (the machine is still ${pct}% busy with other work after ${QUIET_WAIT} s; measuring anyway)"
      return 0
    fi
  done
}

SERVER=""; SERVER_PID=""
# start_server NAME: a fresh in-memory reference server; sets BASE, SERVER (timeout) and SERVER_PID.
start_server() {
  local port
  port=$(free_port)
  BASE="http://127.0.0.1:$port/scim/v2"
  timeout -s KILL "$LIFE" "$BIN" serve --listen "127.0.0.1:$port" --memory --token "$SCIM_TOKEN" 2>"$WORK/$1.log" &
  SERVER=$!
  SERVER_PID=$(child "$SERVER")
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null -H "Authorization: Bearer $SCIM_TOKEN" "$BASE/ServiceProviderConfig" && return 0
    sleep 0.1
  done
  echo "server did not start" >&2; exit 1
}
stop_server() {
  [ -n "$SERVER" ] || return 0
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; SERVER_PID=""
}

NGINX=""; NGINX_PID=""
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
  timeout -s KILL "$LIFE" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
  NGINX=$!
  NGINX_PID=$(child "$NGINX")
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$NGINX_URL/ok" && return 0
    sleep 0.1
  done
  echo "nginx did not start" >&2; cat "$WORK/nginx/error.log" >&2; exit 1
}
stop_nginx() {
  [ -n "$NGINX" ] || return 0
  kill "$NGINX" 2>/dev/null || true; wait "$NGINX" 2>/dev/null || true; NGINX=""; NGINX_PID=""
}
trap 'stop_server; stop_nginx; rm -rf "$WORK"' EXIT

# until_attack_ends LEDGER PID SECS: returns when the load's cleanup has begun (a "deleted" line at
# the end of its ledger), the process has exited, or SECS + 1 s have passed. Sleeps through most
# of the attack and then polls with builtins and one `tail` per 20 ms, so the watching itself
# takes next to no CPU from the run it measures.
until_attack_ends() {
  local start=${EPOCHREALTIME/./} last
  sleep "$(( $3 > 1 ? $3 - 1 : 0 )).7"
  while kill -0 "$2" 2>/dev/null; do
    last=$(tail -c 300 "$1" 2>/dev/null || true)
    [[ $last == *'"deleted"'* ]] && return 0
    (( ${EPOCHREALTIME/./} - start > ($3 + 1) * 1000000 )) && return 0
    sleep 0.02
  done
}

# record PART USERS ROUND TOOL JSON GEN_TICKS PEER_TICKS BUSY_TICKS RSS_KB: one line of $RESULTS
# from wrk's done() JSON or scimtest's load.json plus the CPU the generator, its peer (server or
# nginx) and the whole machine spent during the attack; echoes it readably.
record() {
  python3 - "$HZ" "$@" >>"$RESULTS" <<'PY'
import json, sys
hz, part, users, rnd, tool, path, gen, peer, busy, rss = sys.argv[1:11]
hz = int(hz)
j = json.load(open(path))
if "throughput_rps" in j:  # scimtest load.json
    row = dict(rps=j["throughput_rps"], requests=j["requests"], secs=j["duration_s"],
               p50=j["latency_ms"]["p50"], p99=j["latency_ms"]["p99"],
               errors=j["failures"], left=j["cleanup"]["left_behind"])
else:  # wrk done()
    row = dict(rps=j["requests"] / j["duration_s"], requests=j["requests"], secs=j["duration_s"],
               p50=j["p50_ms"], p99=j["p99_ms"], errors=j["errors"], left=0)
n = max(row["requests"], 1)
gen, peer, busy = float(gen), float(peer), float(busy)
gen_us = gen / hz * 1e6 / n if gen >= 0 else -1
peer_us = peer / hz * 1e6 / n if peer >= 0 else -1
other = (busy - gen - peer) / hz if gen >= 0 and peer >= 0 else -1  # CPU s of other processes
print("\t".join(map(str, [part, users, rnd, tool, round(row["rps"], 1), row["requests"], row["secs"],
                          row["p50"], row["p99"], row["errors"], row["left"], round(gen_us, 1),
                          round(peer_us, 1), round(max(other, 0), 2), rss])))
PY
  tail -1 "$RESULTS" | awk -F'\t' -v cores="$CORES" '{
    cpu = ($12 >= 0) ? sprintf("; CPU/request: generator %.1f µs, peer %.1f µs; other processes %.0f%% of the machine", $12, $13, 100 * $14 / ($7 * cores)) : ""
    printf "   %-8s %9.1f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests in %.2f s, %d errors%s)\n",
      $4, $5, $8, $9, $6, $7, $10, cpu }'
}

# create_pair USERS ROUND ORDER: bulk-create with wrk and with scimtest, each on a fresh server.
create_pair() {
  local users=$1 rnd=$2 tool out b0 b1 s0 s1 g1 lp pid
  for tool in $3; do
    out="$WORK/create-$tool-$users-$rnd"
    start_server "create-$tool-$users-$rnd"
    quiet
    b0=$(busy); s0=$(ticks "$SERVER_PID")
    if [ "$tool" = wrk ]; then
      BENCH_PREFIX="wrk$rnd-$$" BENCH_OUT="$out.json" timeout -s KILL $((DURATION + 60)) \
        /usr/bin/time -f '%U %S' -o "$out.time" \
        wrk -t"$THREADS" -c"$users" -d"${DURATION}s" -s benches/load-create.lua "$BASE/Users" >"$out.txt"
      b1=$(busy); s1=$(ticks "$SERVER_PID")
      g1=$(awk -v hz="$HZ" 'END {printf "%d", ($(NF-1) + $NF) * hz}' "$out.time")
      record create "$users" "$rnd" wrk "$out.json" "$g1" $((s1 - s0)) $((b1 - b0)) -1
    else
      # The timeout covers the cleanup too: everything the load created is deleted before exit.
      timeout -s KILL $((DURATION + 300)) "$BIN" load --url "$BASE" --token "$SCIM_TOKEN" \
        --scenario bulk-create --users "$users" --duration "${DURATION}s" --quiet \
        --report-dir "$out" >"$out.txt" &
      lp=$!
      pid=$(child "$lp")
      until_attack_ends "$out/load-ledger.jsonl" "$pid" "$DURATION"
      b1=$(busy); s1=$(ticks "$SERVER_PID"); g1=$(ticks "$pid")
      wait "$lp"
      record create "$users" "$rnd" scimtest "$out/load.json" "$g1" $((s1 - s0)) $((b1 - b0)) -1
    fi
    stop_server
  done
}

order() { if (( $1 % 2 )); then echo "wrk scimtest"; else echo "scimtest wrk"; fi; }

echo "note: $CORES cores; the load generator and the server share them, so CPU a generator burns is"
echo "      CPU the server does not get. wrk: $THREADS thread(s); scimtest: tokio, one worker per core."
T0=$(now)

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
    for tool in $(order "$rnd") goose; do
      out="$WORK/trivial-$tool-$rnd"
      quiet
      b0=$(busy); n0=$(ticks "$NGINX_PID")
      if [ "$tool" = wrk ]; then
        BENCH_OUT="$out.json" timeout -s KILL $((DURATION + 60)) /usr/bin/time -f '%U %S' -o "$out.time" \
          wrk -t"$THREADS" -c"$USERS" -d"${DURATION}s" -s benches/load-get.lua "$NGINX_URL/ok" >/dev/null
        json="$out.json"
      elif [ "$tool" = goose ]; then
        # goose alone (examples/goose_bare.rs): the ceiling scimtest's bare GET is held to.
        GOOSE_BARE_URL="$NGINX_URL/ok" GOOSE_BARE_USERS="$USERS" GOOSE_BARE_SECS="$DURATION" \
          GOOSE_BARE_OUT="$out.json" timeout -s KILL $((DURATION + 60)) \
          /usr/bin/time -f '%U %S' -o "$out.time" "$GOOSE_BARE" >/dev/null
        json="$out.json"
      else
        # Nothing is created, so the whole process is the attack (no cleanup).
        timeout -s KILL $((DURATION + 60)) /usr/bin/time -f '%U %S' -o "$out.time" \
          "$BIN" load --url "$NGINX_URL" --scenario benches/load-trivial.yaml --users "$USERS" \
          --duration "${DURATION}s" --quiet --report-dir "$out" >/dev/null
        json="$out/load.json"
      fi
      b1=$(busy); n1=$(ticks "$NGINX_PID")
      g1=$(awk -v hz="$HZ" 'END {printf "%d", ($(NF-1) + $NF) * hz}' "$out.time")
      record trivial "$USERS" "$rnd" "$tool" "$json" "$g1" $((n1 - n0)) $((b1 - b0)) -1
    done
  done
  stop_nginx
;; esac

case " $PARTS " in *" memory "*)
  echo
  echo "== 3. peak RSS of scimtest load (bulk-create, $USERS users) for ${MEM_SHORT} s and ${MEM_LONG} s (server not counted)"
  for secs in "$MEM_SHORT" "$MEM_LONG"; do
    out="$WORK/memory-$secs"
    start_server "memory-$secs"
    quiet
    timeout -s KILL $((secs + 600)) /usr/bin/time -v -o "$out.timev" \
      "$BIN" load --url "$BASE" --token "$SCIM_TOKEN" --scenario bulk-create --users "$USERS" \
      --duration "${secs}s" --quiet --report-dir "$out" >/dev/null &
    lp=$!
    pid=$(child "$(child "$lp")")   # timeout → time → scimtest
    until_attack_ends "$out/load-ledger.jsonl" "$pid" "$secs"
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    wait "$lp"
    rss=$(awk '/Maximum resident/ {print $NF}' "$out.timev")
    record memory "$USERS" "$secs" scimtest "$out/load.json" -1 -1 0 "$rss"
    awk -F'\t' -v hwm="$hwm" '{printf "   max RSS %.1f MiB during the attack, %.1f MiB for the whole process (then cleanup deleted %d users)\n", hwm / 1024, $15 / 1024, $6}' <(tail -1 "$RESULTS")
    echo "$hwm" >>"$WORK/hwm"
    stop_server
  done
  # Control: the bare GET creates nothing, so nothing is journaled for cleanup; what grows here
  # grows in the generator itself (goose's metrics, our counters).
  echo " control: the bare GET of part 2 (nothing created) for ${MEM_SHORT} s and ${MEM_LONG} s"
  start_nginx
  for secs in "$MEM_SHORT" "$MEM_LONG"; do
    out="$WORK/memory-get-$secs"
    quiet
    timeout -s KILL $((secs + 60)) /usr/bin/time -v -o "$out.timev" \
      "$BIN" load --url "$NGINX_URL" --scenario benches/load-trivial.yaml --users "$USERS" \
      --duration "${secs}s" --quiet --report-dir "$out" >/dev/null
    rss=$(awk '/Maximum resident/ {print $NF}' "$out.timev")
    record memory-get "$USERS" "$secs" scimtest "$out/load.json" -1 -1 0 "$rss"
    awk -F'\t' '{printf "   max RSS %.1f MiB\n", $15 / 1024}' <(tail -1 "$RESULTS")
  done
  stop_nginx
;; esac

echo
echo "whole run: $(awk -v s="$T0" -v n="$(now)" 'BEGIN {printf "%.0f", n - s}') s"
echo
python3 - "$RESULTS" "$DURATION" "$USERS" "$THREADS" "$CORES" "$WORK/hwm" <<'PY'
import os, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
duration, users, threads, cores, hwm_file = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
def pick(part, tool, u=users):
    return [r for r in rows if r[0] == part and r[3] == tool and int(r[1]) == u]
def med(rs, i):
    v = [float(r[i]) for r in rs if float(r[i]) >= 0]
    return statistics.median(v) if v else None
def f(v, fmt="{:,.0f}"):
    return "-" if v is None else fmt.format(v)
def ratio(a, b, fmt="{:.2f}"):
    return "-" if a is None or not b else fmt.format(a / b)
print(f"| {users} connections/users, {duration} s per run, medians | wrk | scimtest load | scimtest/wrk | goal |")
print("|---|---:|---:|---:|---|")
for part, label, goal in (("create", "bulk-create vs `scimtest serve --memory`", "≥ 0.8"),
                          ("trivial", "bare GET vs nginx static 200", "≥ 0.47 (goose's own)")):
    w, s = pick(part, "wrk"), pick(part, "scimtest")
    if not w or not s:
        continue
    print(f"| {label}: req/s ({len(s)} rounds) | {f(med(w, 4))} | {f(med(s, 4))} | **{ratio(med(s, 4), med(w, 4))}** | {goal} |")
    per = ", ".join(f"{float(b[4]) / float(a[4]):.2f}" for a, b in zip(w, s))
    print(f"| {label}: ratio per round | | | {per} | |")
    print(f"| {label}: p50 / p99 ms | {f(med(w, 7), '{:.2f}')} / {f(med(w, 8), '{:.2f}')} | {f(med(s, 7), '{:.2f}')} / {f(med(s, 8), '{:.2f}')} | | |")
    print(f"| {label}: generator CPU µs/request | {f(med(w, 11), '{:.1f}')} | {f(med(s, 11), '{:.1f}')} | {ratio(med(s, 11), med(w, 11))} | |")
    peer = "server" if part == "create" else "nginx"
    print(f"| {label}: {peer} CPU µs/request | {f(med(w, 12), '{:.1f}')} | {f(med(s, 12), '{:.1f}')} | | |")
    if part == "create":
        # When the cores are saturated, throughput ≈ cores / (generator + server CPU per request).
        a = (med(w, 11) or 0) + (med(w, 12) or 0)
        b = (med(s, 11) or 0) + (med(s, 12) or 0)
        print(f"| {label}: ratio the CPU costs predict (wrk's gen+server µs / scimtest's) | | | {ratio(a, b)} | |")
    other = max(100 * float(r[13]) / (float(r[6]) * cores) for r in w + s)
    print(f"| {label}: other processes' CPU, worst run | | {other:.0f}% of the machine | | ≈ 0 |")
    print(f"| {label}: errors (wrk / scimtest), users left behind | {sum(int(r[9]) for r in w)} | {sum(int(r[9]) for r in s)}, {sum(int(r[10]) for r in s)} left | | 0 |")
    g = pick(part, "goose")
    if g:
        print(f"| {label}: goose alone (examples/goose_bare.rs), req/s | {f(med(w, 4))} | goose {f(med(g, 4))} | goose/wrk **{ratio(med(g, 4), med(w, 4))}**, scimtest/goose **{ratio(med(s, 4), med(g, 4))}** | scimtest/goose ≥ 1 |")
        print(f"| {label}: goose alone, generator CPU µs/request | | goose {f(med(g, 11), '{:.1f}')} | | |")
mem = [r for r in rows if r[0] == "memory"]
if len(mem) == 2 and os.path.exists(hwm_file):
    (a, b), (ha, hb) = mem, [int(x) / 1024 for x in open(hwm_file).read().split()]
    ra, rb = int(a[14]) / 1024, int(b[14]) / 1024
    print(f"| peak RSS during the attack, bulk-create {a[2]} s → {b[2]} s ({int(a[5]):,} → {int(b[5]):,} users created) | | {ha:.1f} → {hb:.1f} MiB | {hb / ha:.2f} (long/short) | ≈ 1 (flat) |")
    print(f"| peak RSS, whole process (attack + cleanup) | | {ra:.1f} → {rb:.1f} MiB | {rb / ra:.2f} (long/short) | |")
    per = (hb - ha) * 1048576 / max(int(b[5]) - int(a[5]), 1)
    print(f"| growth per user created (attack) | | {per:.0f} bytes | | |")
ctl = [r for r in rows if r[0] == "memory-get"]
if len(ctl) == 2:
    a, b = ctl
    ra, rb = int(a[14]) / 1024, int(b[14]) / 1024
    print(f"| control: peak RSS, bare GET {a[2]} s → {b[2]} s ({int(a[5]):,} → {int(b[5]):,} requests, nothing created) | | {ra:.1f} → {rb:.1f} MiB | {rb / ra:.2f} (long/short) | ≈ 1 (flat) |")
sweep = sorted({int(r[1]) for r in rows if r[0] == "create"} - {users})
if sweep:
    print()
    print("| bulk-create, users | wrk req/s | scimtest req/s | scimtest/wrk | wrk p99 ms | scimtest p99 ms | scimtest gen CPU µs/req |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for u in sorted(sweep + [users]):
        w, s = pick("create", "wrk", u), pick("create", "scimtest", u)
        print(f"| {u} | {f(med(w, 4))} | {f(med(s, 4))} | {ratio(med(s, 4), med(w, 4))} | {f(med(w, 8), '{:.2f}')} | {f(med(s, 8), '{:.2f}')} | {f(med(s, 11), '{:.1f}')} |")
print(f"(wrk: {threads} thread(s). The generators and their peers share this machine's {cores} cores.)")
PY
