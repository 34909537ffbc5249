//! `scimtest load` end to end: every scenario against the embedded server and against a
//! `scimtest serve` process, thresholds passing and failing against a slow or failing server,
//! both workload models, iterations bounded by a duration, shards merged, interrupts cleaned
//! up, bad input refused with exit 2, an unreachable target exit 3, and no token in any output.
//!
//! Every run is short (a few seconds) and waited for with a bound: a hang fails the test.

mod common;

use common::{raw_http, serve_process, spawn_bulk_load, wait_bounded, wait_for_ledger};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_scimtest");
const SCENARIOS: [&str; 6] = [
    "bulk-create",
    "lifecycle",
    "group-push",
    "import-paging",
    "sync-cycle",
    "mixed",
];

/// Arguments written as one line (none of them contains a space).
fn split(args: &str) -> Vec<&str> {
    args.split_whitespace().collect()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    report: Option<Value>,
}

/// `scimtest load ARGS --quiet --report-dir DIR`, bounded.
fn load(args: &[&str], dir: &Path, token: Option<&str>) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.arg("load")
        .args(args)
        .arg("--quiet")
        .arg("--report-dir")
        .arg(dir)
        .env_remove("SCIM_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.env("SCIM_TOKEN", t);
    }
    let child = cmd.spawn().expect("scimtest load starts");
    let (status, stdout, stderr) = wait_bounded(child, Duration::from_secs(180), "scimtest load");
    let report = std::fs::read_to_string(dir.join("load.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Run {
        code: status.code(),
        stdout,
        stderr,
        report,
    }
}

impl Run {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no load.json\n{}\n{}", self.stdout, self.stderr))
    }

    fn explain(&self) -> String {
        format!("exit {:?}\n{}\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A run did real work, nothing failed, and everything it created was deleted.
fn assert_clean(run: &Run, what: &str) {
    assert_eq!(run.code, Some(0), "{what}: {}", run.explain());
    let r = run.report();
    assert!(
        r["requests"].as_u64().unwrap_or(0) > 0,
        "{what}: no requests\n{r:#}"
    );
    assert_eq!(r["failures"], 0, "{what}: failures\n{:#}", r["errors"]);
    assert_eq!(r["cleanup"]["left_behind"], 0, "{what}: {:#}", r["cleanup"]);
    assert_eq!(
        r["cleanup"]["created"], r["cleanup"]["deleted"],
        "{what}: {:#}",
        r["cleanup"]
    );
}

fn count_users(base: &str, token: &str) -> u64 {
    let (status, _, body) = raw_http::request(base, "GET", "/Users?count=0", token, None);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("list JSON");
    v["totalResults"].as_u64().expect("totalResults")
}

fn count_groups(base: &str, token: &str) -> u64 {
    let (_, _, body) = raw_http::request(base, "GET", "/Groups?count=0", token, None);
    let v: Value = serde_json::from_str(&body).expect("list JSON");
    v["totalResults"].as_u64().expect("totalResults")
}

#[test]
fn every_scenario_runs_clean_against_the_embedded_server() {
    for s in SCENARIOS {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = load(
            &["--scenario", s, "--users", "3", "--duration", "2s"],
            dir.path(),
            None,
        );
        assert_clean(&run, s);
        let r = run.report();
        assert_eq!(r["scenario"], s);
        assert_eq!(r["embedded_server"], true);
        for name in ["load.json", "load.html", "load-junit.xml"] {
            assert!(dir.path().join(name).is_file(), "{s}: {name} missing");
        }
    }
}

#[test]
fn every_scenario_runs_clean_against_scimtest_serve_and_leaves_nothing() {
    let token = "load-serve-token-3b1d7";
    let (mut server, base, _log) = serve_process(token, &[], "warn");
    for s in SCENARIOS {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = load(
            &[
                "--url",
                &base,
                "--scenario",
                s,
                "--users",
                "3",
                "--duration",
                "2s",
            ],
            dir.path(),
            Some(token),
        );
        assert_clean(&run, s);
        assert_eq!(run.report()["embedded_server"], false);
        assert_eq!(count_users(&base, token), 0, "{s} left users behind");
        assert_eq!(count_groups(&base, token), 0, "{s} left groups behind");
    }
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn latency_thresholds_pass_and_fail_against_a_slow_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slow = [
        "--scenario",
        "bulk-create",
        "--users",
        "4",
        "--duration",
        "3s",
        "--server-latency",
        "40ms",
    ];
    let mut args = slow.to_vec();
    args.extend([
        "--threshold",
        "p95<10ms",
        "--threshold",
        "p50<2s for create",
    ]);
    let run = load(&args, dir.path(), None);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let t = &run.report()["thresholds"];
    assert_eq!(t[0]["passed"], false, "{t:#}");
    assert!(t[0]["value"].as_f64().unwrap_or(0.0) >= 40.0, "{t:#}");
    assert_eq!(t[1]["passed"], true, "{t:#}");
    assert_eq!(t[1]["scope"], "create");
    assert_eq!(run.report()["verdict"], "fail");
    let junit = std::fs::read_to_string(dir.path().join("load-junit.xml")).expect("junit");
    assert_eq!(junit.matches("<testcase").count(), 3, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    assert!(junit.contains("p95&lt;10ms"), "{junit}");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = slow.to_vec();
    args.extend(["--threshold", "p95<2s", "--threshold", "max<5s"]);
    let run = load(&args, dir.path(), None);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    assert_eq!(run.report()["verdict"], "pass");
}

#[test]
fn error_thresholds_fail_against_a_failing_server_and_errors_are_broken_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &split("--scenario bulk-create --users 2 --duration 2s --server-error-rate 0.1 --threshold errors<1%"),
        dir.path(),
        None,
    );
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let r = run.report();
    let rate = r["errors"]["rate_percent"].as_f64().expect("rate");
    assert!((4.0..=20.0).contains(&rate), "error rate {rate}");
    assert!(
        r["errors"]["by_status"]["503"].as_u64().unwrap_or(0) > 0,
        "{:#}",
        r["errors"]
    );
    assert_eq!(r["thresholds"][0]["passed"], false);
    // Failed creates created nothing; the rest were all deleted (deletes answered 503 are
    // tried again).
    assert_eq!(r["cleanup"]["left_behind"], 0);

    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &split("--scenario bulk-create --users 2 --duration 2s --threshold errors<1% --threshold rps>=20"),
        dir.path(),
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.explain());
}

#[test]
fn the_open_model_holds_the_rate_and_says_what_is_adjusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &split("--scenario sync-cycle --rate 40/s --users 4 --duration 4s"),
        dir.path(),
        None,
    );
    assert_clean(&run, "open model");
    let r = run.report();
    assert_eq!(r["model"]["kind"], "open");
    assert_eq!(r["model"]["co_mitigation"], "average");
    assert!(!r["model"]["adjusted"]
        .as_array()
        .expect("adjusted")
        .is_empty());
    let rps = r["throughput_rps"].as_f64().expect("rps");
    assert!(
        (25.0..=48.0).contains(&rps),
        "held {rps}/s for a 40/s target"
    );
    assert!(r["latency_measured_ms"]["p95"].as_f64().is_some());
}

#[test]
fn a_duration_bounds_a_run_given_iterations_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let run = load(
        &split("--scenario bulk-create --users 2 --iterations 100000000 --duration 2s"),
        dir.path(),
        None,
    );
    assert_clean(&run, "iterations + duration");
    assert_eq!(run.report()["ended_by"], "duration");
    assert!(started.elapsed() < Duration::from_secs(60));

    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &split("--scenario lifecycle --users 2 --iterations 5 --duration 60s"),
        dir.path(),
        None,
    );
    assert_clean(&run, "iterations first");
    let r = run.report();
    assert_eq!(r["ended_by"], "iterations");
    assert_eq!(r["cleanup"]["created"], 10, "2 users x 5 iterations");
}

#[test]
fn shards_create_disjoint_data_and_merge_into_one_report() {
    let token = "load-shard-token-8e2a";
    let (mut server, base, _log) = serve_process(token, &[], "warn");
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    // Both shards at once against one server: any shared userName would be a 409.
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let shard = format!("{}/2", i + 1);
                let base = base.clone();
                s.spawn(move || {
                    load(
                        &[
                            "--url",
                            &base,
                            "--scenario",
                            "sync-cycle",
                            "--users",
                            "2",
                            "--duration",
                            "3s",
                            "--shard",
                            &shard,
                            "--threshold",
                            "p99<5s",
                        ],
                        d.path(),
                        Some(token),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("shard"))
            .collect()
    });
    for r in &runs {
        assert_clean(r, "shard");
    }
    assert_eq!(count_users(&base, token), 0);
    let out = tempfile::tempdir().expect("tempdir");
    let merge = Command::new(BIN)
        .args(["load", "merge", "--report-dir"])
        .arg(out.path())
        .arg(dirs[0].path().join("load.json"))
        .arg(dirs[1].path().join("load.json"))
        .args(["--threshold", "p99<5s", "--threshold", "errors<1%"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("merge");
    let (status, stdout, stderr) = wait_bounded(merge, Duration::from_secs(60), "load merge");
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    let merged: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("load.json")).expect("merged load.json"),
    )
    .expect("json");
    let parts: Vec<&Value> = runs.iter().map(Run::report).collect();
    let sum = |k: &str| {
        parts
            .iter()
            .map(|p| p[k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(merged["requests"].as_u64(), Some(sum("requests")));
    assert_eq!(merged["merged_from"], 2);
    assert_eq!(merged["ended_by"], "merged");
    // The merged histogram holds every sample of both shards.
    let hist_total = |r: &Value| -> u64 {
        r["transactions"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|t| t["measured"]["count"].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        hist_total(&merged),
        hist_total(parts[0]) + hist_total(parts[1])
    );
    assert_eq!(merged["thresholds"].as_array().map(Vec::len), Some(2));
    assert_eq!(merged["thresholds"][0]["judged_by"], "scimtest (merged)");
    assert!(out.path().join("load.html").is_file());
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn an_interrupt_stops_the_load_and_cleans_up() {
    let token = "load-sigint-token-41c9";
    let (mut server, base, _log) = serve_process(token, &["--latency", "20"], "warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let child = spawn_bulk_load(&base, token, dir.path(), &["--duration", "120s"]);
    let ledger = dir.path().join("load-ledger.jsonl");
    wait_for_ledger(&ledger, "\"created\"", 20);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let (status, stdout, stderr) = wait_bounded(child, Duration::from_secs(60), "interrupted load");
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("load.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(r["ended_by"], "interrupted");
    assert_eq!(r["cleanup"]["left_behind"], 0);
    assert!(r["cleanup"]["created"].as_u64().unwrap_or(0) >= 20);
    assert_eq!(
        count_users(&base, token),
        0,
        "the interrupted load left users"
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("typo.yaml");
    std::fs::write(
        &bad,
        "id: typo\ntitle: t\nsteps:\n  - name: c\n    request: {method: POST, path: /Users}\n    expct: {status: 201}\n",
    )
    .expect("write");
    let run = load(
        &["--scenario", bad.to_str().expect("utf-8")],
        dir.path(),
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.explain());
    assert!(run.stderr.contains("typo.yaml:6:5"), "{}", run.stderr);
    assert!(
        run.stderr.contains("expect"),
        "did you mean: {}",
        run.stderr
    );

    for (args, needle) in [
        (vec!["--scenario", "bulk-creat"], "bulk-create"),
        (
            vec!["--scenario", "bulk-create", "--threshold", "p95<fast"],
            "p95<fast",
        ),
        (
            vec![
                "--scenario",
                "bulk-create",
                "--threshold",
                "p95<1s for nosuch",
            ],
            "nosuch",
        ),
        (vec!["--scenario", "bulk-create", "--shard", "3/2"], "shard"),
    ] {
        let run = load(&args, dir.path(), None);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.explain());
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn an_unreachable_target_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("http://127.0.0.1:{port}/scim/v2");
    let run = load(
        &[
            "--url",
            &url,
            "--scenario",
            "bulk-create",
            "--duration",
            "2s",
            "--timeout",
            "2s",
        ],
        dir.path(),
        Some("t0k3n-unreachable"),
    );
    assert_eq!(run.code, Some(3), "{}", run.explain());
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
}

#[test]
fn the_token_never_appears_in_output_or_reports() {
    let canary = "canary-load-5d8e1f0a9c-TOKEN";
    let (mut server, base, _log) = serve_process(canary, &[], "warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &[
            "--url",
            &base,
            "--scenario",
            "lifecycle",
            "--users",
            "2",
            "--duration",
            "2s",
            "--threshold",
            "p95<5s",
        ],
        dir.path(),
        Some(canary),
    );
    assert_clean(&run, "canary");
    let mut all = format!("{}{}", run.stdout, run.stderr);
    for e in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    assert!(!all.contains(canary), "the token leaked");
    assert!(!all.contains("5d8e1f0a9c"), "part of the token leaked");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn a_second_interrupt_leaves_the_ledger_for_scimtest_cleanup() {
    let token = "load-sigint2-token-77d0";
    // Every request takes 50 ms and cleanup deletes one at a time: it is still going when the
    // second interrupt comes.
    let (mut server, base, _log) = serve_process(token, &["--latency", "50"], "warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let child = spawn_bulk_load(
        &base,
        token,
        dir.path(),
        &["--duration", "120s", "--cleanup-concurrency", "1"],
    );
    let ledger = dir.path().join("load-ledger.jsonl");
    let pid = child.id().to_string();
    let interrupt = || {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success());
    };
    wait_for_ledger(&ledger, "\"created\"", 40);
    interrupt();
    wait_for_ledger(&ledger, "\"deleted\"", 3);
    interrupt();
    let (status, stdout, stderr) =
        wait_bounded(child, Duration::from_secs(60), "twice interrupted");
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("scimtest cleanup --ledger"), "{stderr}");
    assert!(
        count_users(&base, token) > 0,
        "cleanup was abandoned, users remain"
    );

    let cleanup = Command::new(BIN)
        .args(["cleanup", "--url", &base, "--ledger"])
        .arg(&ledger)
        .env("SCIM_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cleanup starts");
    let (status, stdout, stderr) = wait_bounded(cleanup, Duration::from_secs(120), "cleanup");
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(count_users(&base, token), 0, "scimtest cleanup left users");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn throttled_requests_are_counted_with_their_retry_after() {
    let token = "load-429-token-0a4e";
    // More than 10 requests a second get 429 with Retry-After as an HTTP date.
    let (mut server, base, _log) =
        serve_process(token, &["--fault", "retry-after-http-date"], "warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &[
            "--url",
            &base,
            "--scenario",
            "bulk-create",
            "--users",
            "2",
            "--duration",
            "2s",
            "--threshold",
            "errors<1%",
        ],
        dir.path(),
        Some(token),
    );
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let e = &run.report()["errors"];
    let throttled = e["by_status"]["429"].as_u64().expect("429s counted");
    assert_eq!(
        e["rate_limited"]["count"].as_u64(),
        Some(throttled),
        "{e:#}"
    );
    assert_eq!(e["rate_limited"]["without_retry_after"], 0, "{e:#}");
    let max = e["rate_limited"]["retry_after_s_max"]
        .as_f64()
        .expect("Retry-After read");
    assert!((0.0..=5.0).contains(&max), "{e:#}");
    assert!(
        run.stdout.contains("429 Too Many Requests"),
        "{}",
        run.stdout
    );
    // Cleanup's deletes were throttled too; they are tried again until they land.
    assert_eq!(
        run.report()["cleanup"]["left_behind"],
        0,
        "{:#}",
        run.report()["cleanup"]
    );
    let _ = server.kill();
    let _ = server.wait();
}
