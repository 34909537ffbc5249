#!/usr/bin/env python3
"""Drive third-party SCIM testers against a running server and judge the result.

Two sub-commands:

``wait``   poll ``GET <base>/ServiceProviderConfig`` with the bearer token until
           the server answers 200, the deadline passes, or the server process
           (``--pid``) dies.
``run``    run scim2-tester (``check_server`` API) and/or scim-sanity
           (``run_probe_api``) against ``--base-url``, print one line per check,
           compare the findings with the known tester-side false alarms listed in
           ``expected.toml`` and exit non-zero on any unexplained finding or on
           any listed false alarm that no longer happens.

The bearer token is read from the environment variable named by ``--token-env``
(default ``SCIMTEST_INTEROP_TOKEN``) and is never printed: every piece of text
this script writes goes through :func:`scrub`.

Output, one line per check::

    PASS  scim-sanity   POST /Users | <message>
    FAIL  scim2-tester  check_add_attribute/User:nickName | <message>

then ``SUMMARY {json}`` and a closing ``interop: N passed, N failed, N skipped``.
A *finding* is any FAIL or WARN line: both testers use WARN for "the server
departs from the RFC", so a finding the lane does not know about fails it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import tomllib
import traceback
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTERS = ("scim2-tester", "scim-sanity")
FINDING = ("FAIL", "WARN")

_SECRET = ""


def scrub(text: Any) -> str:
    """Render ``text`` as a string with the bearer token blanked out."""
    out = text if isinstance(text, str) else repr(text)
    if _SECRET:
        out = out.replace(_SECRET, "***")
    return out


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@dataclass
class Outcome:
    tester: str
    name: str
    status: str  # PASS | FAIL | WARN | SKIP
    message: str = ""
    data: str = ""
    known: str = ""  # id of the expected.toml entry that explains it


@dataclass
class Expectation:
    tester: str
    check: str
    message: str | None
    rfc: str
    explanation: str
    status: str | None = None
    matched: list[Outcome] = field(default_factory=list)

    @property
    def label(self) -> str:
        extra = f" ~ /{self.message}/" if self.message else ""
        return f"{self.tester} | {self.check}{extra}"

    def matches(self, o: Outcome) -> bool:
        if o.tester != self.tester or o.status not in FINDING:
            return False
        if self.status and o.status != self.status:
            return False
        if not glob_match(self.check, o.name):
            return False
        return self.message is None or re.search(self.message, o.message) is not None


def glob_match(pattern: str, name: str) -> bool:
    """Match ``name`` against ``pattern`` where only ``*`` is special."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


# ---------------------------------------------------------------------------
# scim2-tester
# ---------------------------------------------------------------------------

def _scim2_tester_key(result: Any) -> str:
    """A stable discriminator for results that share one checker title."""
    data = result.data
    if isinstance(data, dict) and data.get("urn"):
        return str(data["urn"])
    title = result.title or ""
    if title.endswith("_endpoint_methods") and result.reason:
        return result.reason.split(" ", 1)[0]
    return ""


def run_scim2_tester(base_url: str, token: str, timeout: float) -> list[Outcome]:
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    status_map = {
        Status.SUCCESS: "PASS",
        Status.COMPLIANT: "PASS",
        Status.ACCEPTABLE: "PASS",
        Status.SKIPPED: "SKIP",
        # DEVIATION means "breaks a SHOULD": scim2-cli counts it as a failure too.
        Status.DEVIATION: "FAIL",
        Status.ERROR: "FAIL",
        Status.CRITICAL: "FAIL",
    }
    http = httpx2.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
        trust_env=False,
    )
    outcomes = []
    with http:
        client = SyncSCIMClient(http)
        for r in check_server(client):
            name = r.title or "?"
            if r.resource_type:
                name += f"/{r.resource_type}"
            key = _scim2_tester_key(r)
            if key:
                name += f":{key}"
            outcomes.append(
                Outcome(
                    tester="scim2-tester",
                    name=scrub(name),
                    status=status_map.get(r.status, "FAIL"),
                    message=scrub(r.reason or ""),
                    data=scrub(r.data) if r.data is not None else "",
                )
            )
    return outcomes


# ---------------------------------------------------------------------------
# scim-sanity
# ---------------------------------------------------------------------------

def run_scim_sanity(base_url: str, token: str, timeout: float) -> list[Outcome]:
    from scim_sanity.probe.runner import run_probe_api

    report = run_probe_api(base_url, token=token, strict=True, timeout=int(timeout))
    status_map = {"pass": "PASS", "fail": "FAIL", "error": "FAIL", "warn": "WARN", "skip": "SKIP"}
    outcomes = []
    for r in report.get("results", []):
        name = r.get("name", "?")
        if r.get("phase") == "Cleanup":
            # Cleanup results carry the server-assigned id: make the name stable.
            name = re.sub(r"^(\S+ /[^/]+)/.*$", r"\1/{id} (cleanup)", name)
        outcomes.append(
            Outcome(
                tester="scim-sanity",
                name=scrub(name),
                status=status_map.get(r.get("status"), "FAIL"),
                message=scrub(r.get("message", "")),
                data=scrub(r.get("details", "")),
            )
        )
    return outcomes


RUNNERS = {"scim2-tester": run_scim2_tester, "scim-sanity": run_scim_sanity}


# ---------------------------------------------------------------------------
# expected.toml
# ---------------------------------------------------------------------------

def load_expectations(path: Path) -> list[Expectation]:
    if not path.exists():
        return []
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    out = []
    for i, entry in enumerate(doc.get("false_alarm", []), 1):
        missing = [k for k in ("tester", "check", "rfc", "explanation") if not entry.get(k)]
        if missing:
            raise SystemExit(f"{path}: false_alarm #{i} lacks {', '.join(missing)}")
        if entry["tester"] not in TESTERS:
            raise SystemExit(f"{path}: false_alarm #{i}: unknown tester {entry['tester']!r}")
        status = entry.get("status")
        if status is not None and status not in FINDING:
            raise SystemExit(f"{path}: false_alarm #{i}: status must be FAIL or WARN")
        out.append(
            Expectation(
                tester=entry["tester"],
                check=entry["check"],
                message=entry.get("message"),
                rfc=entry["rfc"],
                explanation=entry["explanation"],
                status=status,
            )
        )
    return out


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmd_wait(args: argparse.Namespace, token: str) -> int:
    url = args.base_url.rstrip("/") + "/ServiceProviderConfig"
    deadline = time.monotonic() + args.timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if args.pid:
            if not process_alive(args.pid):
                print(f"wait: server process {args.pid} exited before answering", file=sys.stderr)
                return 1
        req = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return 0
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            last = scrub(str(exc))
        time.sleep(0.2)
    print(f"wait: {url} did not answer 200 within {args.timeout}s ({last})", file=sys.stderr)
    return 1


def cmd_run(args: argparse.Namespace, token: str) -> int:
    testers = TESTERS if args.tester == "all" else (args.tester,)
    expectations = [e for e in load_expectations(Path(args.expected)) if e.tester in testers]
    outcomes: list[Outcome] = []
    timings: dict[str, float] = {}

    for tester in testers:
        print(f"== {tester} against {args.base_url}", flush=True)
        started = time.monotonic()
        try:
            results = RUNNERS[tester](args.base_url, token, args.request_timeout)
        except Exception as exc:  # a crashed tester is a failure of the lane
            results = [
                Outcome(
                    tester=tester,
                    name="(tester crashed)",
                    status="FAIL",
                    message=scrub(f"{type(exc).__name__}: {exc}"),
                    data=scrub(traceback.format_exc()),
                )
            ]
        timings[tester] = round(time.monotonic() - started, 2)
        if not results:
            results = [Outcome(tester, "(no checks ran)", "FAIL", "the tester reported nothing")]
        for o in results:
            for e in expectations:
                if e.matches(o):
                    e.matched.append(o)
                    o.known = e.rfc
                    break
            note = f"  [known tester false alarm, {o.known}]" if o.known else ""
            print(f"{o.status:<5} {o.tester:<12} {o.name} | {one_line(o.message)}{note}", flush=True)
        outcomes.extend(results)

    unexplained = [o for o in outcomes if o.status in FINDING and not o.known]
    stale = [e for e in expectations if not e.matched]
    known = [o for o in outcomes if o.known]

    print()
    for o in unexplained:
        print(f"UNEXPLAINED {o.status} {o.tester} | {o.name} | {one_line(o.message)}")
    for e in stale:
        print(f"STALE expected.toml entry no longer fails: {e.label} ({e.rfc})")

    per_tester = {}
    for t in testers:
        mine = [o for o in outcomes if o.tester == t]
        per_tester[t] = {
            s.lower(): sum(1 for o in mine if o.status == s) for s in ("PASS", "FAIL", "WARN", "SKIP")
        }
        per_tester[t]["known_false_alarms"] = sum(1 for o in mine if o.known)
        per_tester[t]["seconds"] = timings.get(t)
    passed = sum(1 for o in outcomes if o.status == "PASS")
    skipped = sum(1 for o in outcomes if o.status == "SKIP")
    failed = len(unexplained) + len(stale)
    summary = {
        "ok": failed == 0,
        "testers": per_tester,
        "passed": passed,
        "skipped": skipped,
        "known_false_alarms": len(known),
        "unexplained_findings": len(unexplained),
        "stale_expectations": len(stale),
    }
    print("SUMMARY " + json.dumps(summary, sort_keys=True))

    if args.report:
        report = {
            "summary": summary,
            "outcomes": [asdict(o) for o in outcomes],
            "stale": [e.label for e in stale],
        }
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(scrub(json.dumps(report, indent=2)) + "\n")

    print(f"interop: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


def main() -> int:
    global _SECRET
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--token-env", default="SCIMTEST_INTEROP_TOKEN",
                        help="environment variable holding the bearer token")
    sub = parser.add_subparsers(dest="cmd", required=True)

    w = sub.add_parser("wait", help="wait until the server answers")
    w.add_argument("--base-url", required=True)
    w.add_argument("--timeout", type=float, default=30.0)
    w.add_argument("--pid", type=int, default=0, help="give up if this process exits")

    r = sub.add_parser("run", help="run the testers and judge the findings")
    r.add_argument("--base-url", required=True)
    r.add_argument("--tester", choices=(*TESTERS, "all"), default="all")
    r.add_argument("--expected", default=str(HERE / "expected.toml"))
    r.add_argument("--report", default="", help="write every outcome as JSON here")
    r.add_argument("--request-timeout", type=float, default=10.0,
                   help="per-request timeout in seconds")

    args = parser.parse_args()
    token = os.environ.get(args.token_env, "")
    if not token:
        parser.error(f"environment variable {args.token_env} is empty")
    _SECRET = token
    return cmd_wait(args, token) if args.cmd == "wait" else cmd_run(args, token)


if __name__ == "__main__":
    sys.exit(main())
