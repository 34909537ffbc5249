#!/usr/bin/env bash
# Create tests/interop/.venv and install the pinned third-party SCIM testers.
# Idempotent: when the venv already matches requirements.txt it does nothing
# (no network access), so run.sh calls it on every run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.interop-requirements.sha256"
python="${PYTHON:-python3}"

want="$( { sha256sum "$req" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
  && "$venv/bin/python" -c 'import scim2_tester, scim_sanity' 2>/dev/null; then
  echo "interop setup: $venv is up to date"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "interop setup: creating $venv"
  "$python" -m venv "$venv"
fi

echo "interop setup: installing $(grep -cE '^[A-Za-z]' "$req") pinned packages"
timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-input -r "$req"
"$venv/bin/python" -c 'import scim2_tester, scim_sanity'
echo "$want" > "$stamp"
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
  | grep -iE '^(scim2-tester|scim-sanity|scim2-cli) ' | sed 's/^/interop setup: installed /'
