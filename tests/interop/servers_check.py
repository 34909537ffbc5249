"""Helper of run_servers.sh: wait for a server, and judge scimtest's results.

Subcommands:

  wait     Poll GET BASE/ServiceProviderConfig with the bearer token (read from
           the SCIM_TOKEN environment variable) until it answers 200, for at
           most --timeout seconds; give up at once when --pid has exited.
  compare  Compare the results.json of each server with expected-servers.toml.
           Every `fail` or `error` outcome must match an [[expected]] entry for
           that server and test; every entry must still match a `fail` or
           `error` outcome (otherwise it is stale). Skips are listed with their
           reasons and are fine.

Exit status of compare: 0 when every failure is explained and no entry is
stale, 1 otherwise, 2 when an input file is missing or invalid.

Standard library only (Python 3.11+, for tomllib).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAILING = ("fail", "error")
OUTCOMES = ("pass", "fail", "error", "skip")


# ---------------------------------------------------------------------------
# wait
# ---------------------------------------------------------------------------

def process_alive(pid: int) -> bool:
    """True while `pid` runs; an exited but unreaped process (zombie) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def cmd_wait(args: argparse.Namespace) -> int:
    token = os.environ.get("SCIM_TOKEN", "")
    url = args.base_url.rstrip("/") + "/ServiceProviderConfig"
    # Loopback only: never go through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + args.timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if args.pid and not process_alive(args.pid):
            print(f"wait: the server process exited before answering ({last})", file=sys.stderr)
            return 1
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        )
        try:
            with opener.open(request, timeout=2) as response:
                if response.status == 200:
                    return 0
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            last = str(exc).replace(token, "***") if token else str(exc)
        time.sleep(0.2)
    print(f"wait: {url} did not answer 200 within {args.timeout:g}s ({last})", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------

class InputError(Exception):
    pass


@dataclass
class Expected:
    server: str
    test: str
    outcome: str
    message: re.Pattern[str] | None
    rfc: str
    explanation: str
    where: str
    hits: list[str] = field(default_factory=list)

    def matches(self, server: str, test: dict[str, Any]) -> bool:
        if self.server != server or self.test != test["id"] or self.outcome != test["outcome"]:
            return False
        return self.message is None or bool(self.message.search(test.get("message") or ""))


def load_expected(path: Path) -> list[Expected]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    unknown = set(data) - {"expected"}
    if unknown:
        raise InputError(f"{path}: unknown top-level key(s) {sorted(unknown)}; only [[expected]] tables")
    entries = []
    for n, raw in enumerate(data.get("expected", []), start=1):
        where = f"{path.name} [[expected]] #{n}"
        extra = set(raw) - {"server", "test", "outcome", "message", "rfc", "explanation"}
        if extra:
            raise InputError(f"{where}: unknown key(s) {sorted(extra)}")
        for key in ("server", "test", "outcome", "rfc", "explanation"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise InputError(f"{where}: `{key}` must be a non-empty string")
        if raw["outcome"] not in FAILING:
            raise InputError(f"{where}: `outcome` must be \"fail\" or \"error\"")
        if not re.search(r"RFC\s*76(43|44)\s*§\s*\d", raw["rfc"]):
            raise InputError(f"{where}: `rfc` must name a section, e.g. \"RFC 7644 §3.3\"")
        try:
            message = re.compile(raw["message"]) if raw.get("message") else None
        except re.error as exc:
            raise InputError(f"{where}: `message` is not a valid regex: {exc}") from exc
        entry = Expected(
            server=raw["server"], test=raw["test"], outcome=raw["outcome"], message=message,
            rfc=raw["rfc"].strip(), explanation=" ".join(raw["explanation"].split()), where=where,
        )
        if any(e.server == entry.server and e.test == entry.test for e in entries):
            raise InputError(f"{where}: a second entry for {entry.server} {entry.test}")
        entries.append(entry)
    return entries


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    if not isinstance(data.get("tests"), list):
        raise InputError(f"{path}: no `tests` list (not a scimtest results.json?)")
    return data


def one_line(text: str | None, limit: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        expected = load_expected(Path(args.expected))
        runs: dict[str, dict[str, Any]] = {}
        for spec in args.server:
            name, sep, path = spec.partition("=")
            if not sep or not name or not path:
                raise InputError(f"--server wants NAME=RESULTS_JSON, got {spec!r}")
            runs[name] = load_results(Path(path))
    except InputError as exc:
        print(f"servers check: {exc}", file=sys.stderr)
        return 2

    known_servers = {e.server for e in expected}
    for name in sorted(known_servers - set(runs)):
        print(f"servers check: {name} was not run; its entries in {Path(args.expected).name} are not checked")

    unexplained: list[tuple[str, dict[str, Any]]] = []
    counts: dict[str, dict[str, int]] = {}
    for name, run in runs.items():
        tally = counts.setdefault(name, {o: 0 for o in OUTCOMES})
        print(f"\n== {name}: {run.get('target', '?')} (scimtest {run.get('version', '?')}, "
              f"{len(run['tests'])} tests)")
        for test in sorted(run["tests"], key=lambda t: t["id"]):
            outcome = test.get("outcome")
            tally[outcome] = tally.get(outcome, 0) + 1
            if outcome == "skip":
                print(f"SKIP  {name:<12} {test['id']}  ({one_line(test.get('message'))})")
            elif outcome in FAILING:
                entry = next((e for e in expected if e.matches(name, test)), None)
                label = f"{outcome.upper():<5} {name:<12} {test['id']} [{test.get('level', '?')}]"
                if entry is None:
                    unexplained.append((name, test))
                    print(f"{label}  UNEXPLAINED: {one_line(test.get('message'))}")
                else:
                    entry.hits.append(test["id"])
                    print(f"{label}  expected, {entry.rfc}")

    stale = [e for e in expected if e.server in runs and not e.hits]

    if unexplained:
        print(f"\n{len(unexplained)} failure(s) that expected-servers.toml does not explain.")
        print("Triage each one: read the request and response in the server's results.json.")
        print("If the server breaks the RFC, add an [[expected]] entry with the rule; if the RFC")
        print("allows what the server did, our check is a false alarm: fix the suite instead.")
        for name, test in unexplained:
            print(f"  - {name} {test['id']} ({test['outcome']}, {test.get('source', '?')}): "
                  f"{one_line(test.get('message'), 400)}")
    if stale:
        print(f"\n{len(stale)} stale entr{'y' if len(stale) == 1 else 'ies'}: listed as failing, "
              "but the test no longer fails that way (or no longer exists). Delete or update them:")
        for e in stale:
            test = next((t for t in runs[e.server]["tests"] if t["id"] == e.test), None)
            now = "absent from the run" if test is None else (
                f"now {test['outcome']}" + (f": {one_line(test.get('message'))}" if test.get("message") else ""))
            print(f"  - {e.where}: {e.server} {e.test} (expected {e.outcome}) is {now}")

    print()
    for name, tally in counts.items():
        explained = sum(1 for e in expected if e.server == name and e.hits)
        print(f"servers: {name:<12} pass {tally['pass']}, fail {tally['fail']}, error {tally['error']}, "
              f"skip {tally['skip']} ({explained} expected failure(s))")
    summary = {
        "ok": not unexplained and not stale,
        "servers": counts,
        "unexplained": [f"{n} {t['id']}" for n, t in unexplained],
        "stale": [f"{e.server} {e.test}" for e in stale],
    }
    print("SUMMARY " + json.dumps(summary, sort_keys=True))
    passed = sum(t["pass"] for t in counts.values())
    skipped = sum(t["skip"] for t in counts.values())
    print(f"interop-servers: {passed} passed, {len(unexplained) + len(stale)} failed, {skipped} skipped")
    return 0 if summary["ok"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wait", help="wait until a server answers GET /ServiceProviderConfig")
    w.add_argument("--base-url", required=True)
    w.add_argument("--timeout", type=float, default=30)
    w.add_argument("--pid", type=int, default=0, help="give up when this process exits")
    c = sub.add_parser("compare", help="judge results.json files against expected-servers.toml")
    c.add_argument("--expected", required=True)
    c.add_argument("--server", action="append", default=[], metavar="NAME=RESULTS_JSON")
    args = parser.parse_args()
    return cmd_wait(args) if args.command == "wait" else cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main())
