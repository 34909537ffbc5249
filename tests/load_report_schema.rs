//! `schemas/load-report.schema.json` against real `scimtest load` runs, so the schema and
//! `LoadReport` (src/load/report.rs) cannot drift apart unnoticed:
//!
//! * the load.json of a closed-model run, an open-model run and a merge satisfies the schema
//!   (every object is closed, so a new field without a schema change fails here);
//! * a report carrying every optional field (shard, adjusted timings, 429s, errors) does too;
//! * mutated copies fail, so the schema is not vacuous.
//!
//! No network: the schema is compiled with the `jsonschema` crate without its resolvers.

mod common;

use scimtest::load::report::LoadReport;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_scimtest");
/// A load of a few dozen requests takes a second or two; a hang is a failure, not a stuck job.
const GUARD: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    common::schema_validator("schemas/load-report.schema.json")
}

use common::violations;

fn assert_valid(v: &jsonschema::Validator, report: &Value, what: &str) {
    let errs = violations(v, report);
    assert!(
        errs.is_empty(),
        "{what}: load.json does not satisfy the schema:\n  {}\n{}",
        errs.join("\n  "),
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
}

/// Runs `scimtest ARGS` (bounded), expecting exit 0; returns stdout for messages.
fn scimtest(args: &[&str], what: &str) -> String {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    let (status, stdout, stderr) = common::wait_bounded(child, GUARD, what);
    assert!(
        status.success(),
        "{what}: exit {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// `scimtest load --scenario bulk-create EXTRA --quiet --report-dir DIR --threshold p95<5s`;
/// returns the parsed load.json.
fn load(dir: &Path, extra: &[&str], what: &str) -> Value {
    let suites = root().join("suites");
    let report_dir = dir.to_str().expect("utf-8 temp path");
    let mut args = vec![
        "load",
        "--scenario",
        "bulk-create",
        "--suites",
        suites.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--quiet",
        "--report-dir",
        report_dir,
        "--threshold",
        "p95<5s",
    ]);
    scimtest(&args, what);
    read_report(&dir.join("load.json"))
}

fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Mutations that each must make a valid report invalid.
fn assert_mutations_fail(v: &jsonschema::Validator, good: &Value) {
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: &[Mutation] = &[
        ("model.kind = weird", |r| {
            r["model"]["kind"] = json!("weird")
        }),
        ("requests missing", |r| {
            r.as_object_mut().expect("object").remove("requests");
        }),
        ("an unknown top-level field", |r| r["extra"] = json!(1)),
        ("an unknown model field", |r| r["model"]["extra"] = json!(1)),
        ("ended_by = finished", |r| r["ended_by"] = json!("finished")),
        ("verdict = maybe", |r| r["verdict"] = json!("maybe")),
        ("verdict fail with every threshold passed", |r| {
            r["verdict"] = json!("fail")
        }),
        ("requests negative", |r| r["requests"] = json!(-1)),
        ("latency p95 a string", |r| {
            r["latency_ms"]["p95"] = json!("fast")
        }),
        ("a latency figure missing", |r| {
            r["latency_measured_ms"]
                .as_object_mut()
                .expect("object")
                .remove("p99");
        }),
        ("a transaction without measured", |r| {
            r["transactions"][0]
                .as_object_mut()
                .expect("object")
                .remove("measured");
        }),
        ("a histogram key that is not a number", |r| {
            r["transactions"][0]["measured"]["histogram_us"]["fast"] = json!(1)
        }),
        ("a threshold judged by someone else", |r| {
            r["thresholds"][0]["judged_by"] = json!("k6")
        }),
        ("a timeline point with an unknown field", |r| {
            r["timeline"][0]["p99_ms"] = json!(1.0)
        }),
        ("cleanup without its ledger", |r| {
            r["cleanup"]
                .as_object_mut()
                .expect("object")
                .remove("ledger");
        }),
        ("ended_by merged without merged_from", |r| {
            r["ended_by"] = json!("merged")
        }),
        ("merged_from on a live run", |r| r["merged_from"] = json!(2)),
        ("shard index 0", |r| {
            r["shard"] = json!({"index": 0, "count": 2})
        }),
        ("a closed model with a rate", |r| {
            r["model"]["kind"] = json!("closed");
            r["model"]["rate_rps"] = json!(100);
        }),
        ("an open model without a rate", |r| {
            r["model"]["kind"] = json!("open");
            r["model"]["rate_rps"] = Value::Null;
        }),
        ("format_version 2", |r| r["format_version"] = json!(2)),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(
            !v.is_valid(&bad),
            "the schema accepts a report with {what}:\n{}",
            serde_json::to_string_pretty(&bad).unwrap_or_default()
        );
    }
}

/// The load.json also reads back as a `LoadReport` and serialises to the same JSON: what the
/// schema pins is exactly what `scimtest load merge` reads.
fn assert_round_trips(report: &Value, what: &str) {
    let parsed: LoadReport = serde_json::from_value(report.clone())
        .unwrap_or_else(|e| panic!("{what}: load.json is not a LoadReport: {e}"));
    let again = serde_json::to_value(&parsed).expect("serialises");
    assert_eq!(&again, report, "{what}: load.json does not round-trip");
}

#[test]
fn a_closed_model_report_and_its_merge_satisfy_the_schema() {
    let v = validator();
    let dir = tempfile::tempdir().expect("tempdir");
    let report = load(
        dir.path(),
        &["--users", "2", "--iterations", "20"],
        "closed-model load",
    );
    assert_eq!(report["model"]["kind"], "closed");
    assert_eq!(report["ended_by"], "iterations");
    assert_eq!(report["requests"], 40, "2 users × 20 iterations × 1 step");
    assert_eq!(report["verdict"], "pass");
    assert_valid(&v, &report, "closed model");
    assert_round_trips(&report, "closed model");
    assert_mutations_fail(&v, &report);

    // A merge (of the same file twice: merge only adds) is a load.json too.
    let merged_dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("load.json");
    let file = file.to_str().expect("utf-8 path");
    scimtest(
        &[
            "load",
            "merge",
            file,
            file,
            "--report-dir",
            merged_dir.path().to_str().expect("utf-8 path"),
        ],
        "load merge",
    );
    let merged = read_report(&merged_dir.path().join("load.json"));
    assert_eq!(merged["ended_by"], "merged");
    assert_eq!(merged["merged_from"], 2);
    assert_eq!(merged["requests"], 80);
    assert_valid(&v, &merged, "merged");
    assert_round_trips(&merged, "merged");
    let mut bad = merged.clone();
    bad["shard"] = json!({"index": 1, "count": 2});
    assert!(!v.is_valid(&bad), "a merged report cannot be one shard");
}

#[test]
fn an_open_model_report_satisfies_the_schema() {
    let v = validator();
    let dir = tempfile::tempdir().expect("tempdir");
    let report = load(
        dir.path(),
        &["--rate", "100", "--users", "4", "--iterations", "10"],
        "open-model load",
    );
    assert_eq!(report["model"]["kind"], "open");
    assert_eq!(report["model"]["rate_rps"], 100);
    assert_eq!(report["model"]["co_mitigation"], "average");
    assert_valid(&v, &report, "open model");
    assert_round_trips(&report, "open model");
    assert_mutations_fail(&v, &report);
}

/// The fields a short live run may leave out or empty — a shard, adjusted timings, error rows,
/// 429s with Retry-After, things left behind, a failed and aborted threshold — filled in.
#[test]
fn every_optional_field_satisfies_the_schema() {
    let v = validator();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = load(
        dir.path(),
        &["--users", "1", "--iterations", "3", "--shard", "2/3"],
        "sharded load",
    );
    assert_eq!(r["shard"], json!({"index": 2, "count": 3}));
    let measured = r["transactions"][0]["measured"].clone();
    r["transactions"][0]["adjusted"] = measured;
    r["model"] = json!({
        "kind": "open", "users": 1, "rate_rps": 5, "ramp_s": 1.5, "duration_limit_s": 10.0,
        "iterations_limit": 3, "co_mitigation": "average",
        "adjusted": ["latency_ms"], "synthetic_requests": 0
    });
    r["errors"]["rows"] = json!([
        {"transaction": "create", "status": 0, "scim_type": null, "reason": "timeout", "count": 1},
        {"transaction": "create", "status": 429, "scim_type": "tooMany", "reason": "expected 201", "count": 2}
    ]);
    r["errors"]["by_status"] = json!({"0": 1, "429": 2});
    r["errors"]["by_scim_type"] = json!({"tooMany": 2});
    r["errors"]["rate_limited"] = json!({
        "count": 2, "without_retry_after": 1, "retry_after_s_min": 2.0,
        "retry_after_s_max": 2.0, "retry_after_s_mean": 2.0
    });
    r["thresholds"][0]["passed"] = json!(false);
    r["thresholds"][0]["aborted"] = json!(true);
    r["thresholds"][0]["judged_by"] = json!("scimtest (adjusted)");
    r["verdict"] = json!("fail");
    r["ended_by"] = json!("threshold");
    r["cleanup"]["left_behind"] = json!(1);
    r["cleanup"]["left_behind_urls"] = json!(["http://x/Users/1 (DELETE answered 503)"]);
    r["timeline"] = json!([{"t_s": 1, "requests": 3, "errors": 0, "p50_ms": null, "p95_ms": null}]);
    assert_valid(&v, &r, "every optional field");
    assert_round_trips(&r, "every optional field");
}
