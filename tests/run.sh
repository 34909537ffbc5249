#!/usr/bin/env bash
# The test command of README.md: every cargo test, then the third-party interop
# lanes: outside testers against our server (tests/interop/run.sh), and our suites
# against outside servers (tests/interop/run_servers.sh, about 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin scimtest
cargo test --all-targets
if [ "${SKIP_INTEROP:-0}" = "1" ]; then
  echo "interop lanes skipped (SKIP_INTEROP=1)"
else
  bash tests/interop/setup.sh
  rc=0
  SCIMTEST_BIN=target/release/scimtest bash tests/interop/run.sh || rc=$?
  if [ "${SKIP_INTEROP_SERVERS:-0}" = "1" ]; then
    echo "interop servers lane skipped (SKIP_INTEROP_SERVERS=1)"
  else
    SCIMTEST_BIN=target/release/scimtest bash tests/interop/run_servers.sh || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
  fi
  exit "$rc"
fi
