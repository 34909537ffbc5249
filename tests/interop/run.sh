#!/usr/bin/env bash
# Third-party interop lane: start `scimtest serve --memory` on a free loopback
# port with a random bearer token, run scim2-tester and scim-sanity against it
# through check.py, and fail on any finding that expected.toml does not
# explain, or on any expected.toml entry that no longer happens.
#
# Builds nothing. Binary: $SCIMTEST_BIN, else target/release/scimtest, else
# target/debug/scimtest. Other knobs (all optional):
#   INTEROP_TESTER=scim2-tester|scim-sanity|all   which tester(s) to run (all)
#   INTEROP_TIMEOUT=seconds                       bound on the tester run (900)
#   INTEROP_FAULTS="name ..."                     pass `--fault name` to the server for
#                                                 each name: the lane must then fail
# Outputs: tests/interop/out/report.json (every outcome) and out/server.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/out"
py="$here/.venv/bin/python"
tester="${INTEROP_TESTER:-all}"
run_timeout="${INTEROP_TIMEOUT:-900}"
started_at=$SECONDS
read -r -a faults <<< "${INTEROP_FAULTS:-}"
fault_args=()
for f in "${faults[@]}"; do
  fault_args+=(--fault "$f")
done

bin="${SCIMTEST_BIN:-}"
if [[ -z "$bin" ]]; then
  for candidate in "$repo/target/release/scimtest" "$repo/target/debug/scimtest"; do
    if [[ -x "$candidate" ]]; then
      bin="$candidate"
      break
    fi
  done
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "interop: no scimtest binary (set SCIMTEST_BIN or run 'cargo build --release')" >&2
  exit 2
fi

bash "$here/setup.sh"
mkdir -p "$out"
log="$out/server.log"
: > "$log"

token="$("$py" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export SCIMTEST_INTEROP_TOKEN="$token"
# Loopback traffic must never be sent to a proxy.
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

server_pid=""
checker_pid=""

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
  if [[ -f "$log" ]]; then
    sed -i "s/${token}/***/g" "$log"
  fi
}

# shellcheck disable=SC2317  # invoked through the EXIT trap
on_exit() {
  local rc=$?
  if [[ -n "$checker_pid" ]]; then
    kill "$checker_pid" 2>/dev/null || true
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

# Start the server; retry on a fresh port if it dies at once (port race).
base_url=""
for attempt in 1 2 3; do
  port="$(free_port)"
  url="http://127.0.0.1:${port}/scim/v2"
  echo "interop: starting $(basename "$bin") serve on 127.0.0.1:${port}${faults[*]:+ with faults: ${faults[*]}} (attempt ${attempt})"
  # The token goes through the environment (SCIM_TOKEN), not the command line.
  SCIM_TOKEN="$token" "$bin" serve --listen "127.0.0.1:${port}" --memory \
    "${fault_args[@]}" >>"$log" 2>&1 &
  server_pid=$!
  if "$py" "$here/check.py" wait --base-url "$url" --timeout 30 --pid "$server_pid"; then
    base_url="$url"
    break
  fi
  stop_server
done
if [[ -z "$base_url" ]]; then
  scrub_log
  echo "interop: the server never answered GET /ServiceProviderConfig; last lines of its log:" >&2
  tail -n 30 "$log" >&2
  exit 2
fi

# In the background plus `wait`, so that a signal to this script is acted on at
# once (bash runs traps only between commands) and the checker is stopped too.
rc=0
timeout --kill-after=10 "$run_timeout" \
  "$py" "$here/check.py" run --base-url "$base_url" --tester "$tester" \
  --expected "$here/expected.toml" --report "$out/report.json" &
checker_pid=$!
wait "$checker_pid" || rc=$?
checker_pid=""

stop_server
scrub_log
if [[ "$rc" -eq 124 || "$rc" -eq 137 ]]; then
  echo "interop: the testers did not finish within ${run_timeout}s" >&2
fi
if [[ "$rc" -ne 0 ]]; then
  echo "interop: FAILED (rc=$rc); full outcomes in ${out#"$repo"/}/report.json, server log in ${out#"$repo"/}/server.log" >&2
else
  echo "interop: OK"
fi
echo "interop: lane took $((SECONDS - started_at))s"
exit "$rc"
