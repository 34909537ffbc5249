#!/usr/bin/env bash
# The test command of README.md: every cargo test, then the third-party interop lane.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin scimtest
cargo test --all-targets
if [ "${SKIP_INTEROP:-0}" = "1" ]; then
  echo "interop lane skipped (SKIP_INTEROP=1)"
else
  bash tests/interop/setup.sh
  SCIMTEST_BIN=target/release/scimtest bash tests/interop/run.sh
fi
