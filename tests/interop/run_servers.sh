#!/usr/bin/env bash
# Servers lane: run `scimtest run` against SCIM servers that no one here wrote,
# and fail on any failure that expected-servers.toml does not explain (with the
# RFC rule the server breaks), or on any entry there that no longer fails.
#
#   scim2-server  PyPI package, its own `scim2-server` command (servers/scim2_server_start.py)
#   scimmy        npm packages scimmy + scimmy-routers on express 4 (servers/scimmy/app.js)
#
# Each server is installed by servers/setup.sh (pinned, idempotent), started on a
# free port of 127.0.0.1 with a random bearer token (passed in the environment,
# never on a command line, never printed), tested, then stopped.
#
# Builds nothing. Binary: $SCIMTEST_BIN, else the newer of target/release/scimtest
# and target/debug/scimtest. Other knobs (all optional):
#   INTEROP_SERVERS="scim2-server scimmy"   which servers to run (default: both)
#   INTEROP_TIMEOUT=seconds                 bound on each `scimtest run` (default 600)
# Outputs, per server: tests/interop/out/<server>/results.json (and scimtest's
# other reports) and out/<server>/server.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/out"
py="$here/.venv/bin/python"
run_timeout="${INTEROP_TIMEOUT:-600}"
read -r -a servers <<< "${INTEROP_SERVERS:-scim2-server scimmy}"
started_at=$SECONDS

bin="${SCIMTEST_BIN:-}"
if [[ -z "$bin" ]]; then
  for candidate in "$repo/target/release/scimtest" "$repo/target/debug/scimtest"; do
    if [[ -x "$candidate" && ( -z "$bin" || "$candidate" -nt "$bin" ) ]]; then
      bin="$candidate"
    fi
  done
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "interop-servers: no scimtest binary (set SCIMTEST_BIN or run 'cargo build')" >&2
  exit 2
fi
for s in "${servers[@]}"; do
  case "$s" in
    scim2-server|scimmy) ;;
    *) echo "interop-servers: unknown server '$s' (scim2-server, scimmy)" >&2; exit 2 ;;
  esac
done

bash "$here/servers/setup.sh"
mkdir -p "$out"

# Loopback traffic must never be sent to a proxy.
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

token=""
log=""
server_pid=""
run_pid=""

# shellcheck disable=SC2317  # also invoked through the EXIT trap
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  if [[ -n "$server_pid" ]]; then
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

# shellcheck disable=SC2317  # also invoked through the EXIT trap
scrub_log() {
  # The token is URL-safe base64, so it holds no sed metacharacter.
  if [[ -n "$token" && -n "$log" && -f "$log" ]]; then
    sed -i "s/${token}/***/g" "$log"
  fi
}

# shellcheck disable=SC2317  # invoked through the EXIT trap
on_exit() {
  local rc=$?
  if [[ -n "$run_pid" ]]; then
    kill "$run_pid" 2>/dev/null || true
  fi
  stop_server
  scrub_log
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Start server $1 on port $2 in the background (sets server_pid); prints its base URL.
start_server() {
  local name="$1" port="$2"
  case "$name" in
    scim2-server)
      SCIM_TOKEN="$token" PORT="$port" "$py" -u "$here/servers/scim2_server_start.py" >>"$log" 2>&1 &
      server_pid=$!
      base_url="http://127.0.0.1:${port}/v2"
      ;;
    scimmy)
      SCIM_TOKEN="$token" PORT="$port" node "$here/servers/scimmy/app.js" >>"$log" 2>&1 &
      server_pid=$!
      base_url="http://127.0.0.1:${port}/scim/v2"
      ;;
  esac
}

compare_args=()
rc=0
for name in "${servers[@]}"; do
  dir="$out/$name"
  rm -rf -- "${dir:?}"
  mkdir -p "$dir"
  log="$dir/server.log"
  : > "$log"
  token="$("$py" -c 'import secrets; print(secrets.token_urlsafe(32))')"

  # Start; retry on a fresh port if the server dies at once (port taken meanwhile).
  ready=""
  for attempt in 1 2 3; do
    port="$(free_port)"
    base_url=""
    start_server "$name" "$port"
    echo "interop-servers: started $name on 127.0.0.1:${port} (attempt ${attempt})"
    if SCIM_TOKEN="$token" "$py" "$here/servers_check.py" wait --base-url "$base_url" \
      --timeout 30 --pid "$server_pid"; then
      ready=1
      break
    fi
    stop_server
  done
  if [[ -z "$ready" ]]; then
    scrub_log
    echo "interop-servers: $name never answered GET /ServiceProviderConfig; last lines of its log:" >&2
    tail -n 30 "$log" >&2
    exit 2
  fi

  # In the background plus `wait`, so that a signal to this script is acted on at once.
  run_rc=0
  (cd "$repo" && SCIM_TOKEN="$token" exec timeout --kill-after=10 "$run_timeout" \
    "$bin" run --url "$base_url" --report-dir "$dir" --jobs 2) >"$dir/scimtest.txt" 2>&1 &
  run_pid=$!
  wait "$run_pid" || run_rc=$?
  run_pid=""
  stop_server
  scrub_log
  tail -n 1 "$dir/scimtest.txt" | sed "s/^/interop-servers: $name: /"

  # 0: all passed, 1: check failures, 3: errors or unreachable target. 2 is a
  # usage or suite-file error, 124/137 a timeout: nothing to compare then.
  if [[ "$run_rc" -ne 0 && "$run_rc" -ne 1 && "$run_rc" -ne 3 ]] || [[ ! -f "$dir/results.json" ]]; then
    echo "interop-servers: scimtest run against $name ended with status $run_rc and no usable results.json; its output:" >&2
    tail -n 30 "$dir/scimtest.txt" >&2
    rc=1
    continue
  fi
  compare_args+=(--server "$name=$dir/results.json")
done

if [[ ${#compare_args[@]} -gt 0 ]]; then
  "$py" "$here/servers_check.py" compare --expected "$here/expected-servers.toml" \
    "${compare_args[@]}" || rc=$?
fi

if [[ "$rc" -ne 0 ]]; then
  echo "interop-servers: FAILED (rc=$rc); results in ${out#"$repo"/}/<server>/results.json" >&2
else
  echo "interop-servers: OK"
fi
echo "interop-servers: lane took $((SECONDS - started_at))s"
exit "$rc"
