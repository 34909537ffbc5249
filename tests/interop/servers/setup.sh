#!/usr/bin/env bash
# Install the two third-party SCIM servers of the servers lane (run_servers.sh):
#   * scim2-server (PyPI, pinned in requirements.txt here) into tests/interop/.venv,
#     the venv of the tester lane, created by ../setup.sh;
#   * SCIMMY + scimmy-routers + express 4 (npm, pinned by scimmy/package-lock.json)
#     into scimmy/node_modules, with `npm ci`.
# Idempotent: each part is skipped, with no network access, when what is
# installed still matches its pin file (a stamp holds the pin file's hash).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
interop="$(cd "$here/.." && pwd)"
venv="$interop/.venv"

# --- scim2-server --------------------------------------------------------
bash "$interop/setup.sh"
py_stamp="$venv/.interop-servers-requirements.sha256"
py_want="$(cat "$interop/requirements.txt" "$here/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [[ -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" ]] \
  && "$venv/bin/python" -c 'import scim2_server.testserver.cli' 2>/dev/null; then
  echo "servers setup: scim2-server is up to date"
else
  echo "servers setup: installing scim2-server into $venv"
  timeout 600 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$interop/requirements.txt" -r "$here/requirements.txt"
  "$venv/bin/python" -c 'import scim2_server.testserver.cli'
  echo "$py_want" > "$py_stamp"
  "$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^scim2-(server|models) ' | sed 's/^/servers setup: installed /'
fi

# --- SCIMMY --------------------------------------------------------------
app="$here/scimmy"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "servers setup: node and npm are needed for the SCIMMY server (apt-get install nodejs npm)" >&2
  exit 2
fi
js_stamp="$app/node_modules/.interop-package-lock.sha256"
js_want="$( { sha256sum "$app/package-lock.json" | cut -d' ' -f1; node --version; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$js_stamp" && "$(cat "$js_stamp")" == "$js_want" ]]; then
  echo "servers setup: SCIMMY is up to date"
else
  echo "servers setup: npm ci in ${app#"$interop"/}"
  (cd "$app" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
  echo "$js_want" > "$js_stamp"
  # shellcheck disable=SC2016  # a JavaScript template literal, not shell
  (cd "$app" && node -e '
    for (const p of ["scimmy", "scimmy-routers", "express"])
      console.log(`servers setup: installed ${p} ${require(`./node_modules/${p}/package.json`).version}`);
  ')
fi
