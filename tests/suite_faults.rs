//! The conformance suites tell the truth: every test passes (or is skipped for a stated reason)
//! against the correct embedded server, every test names at least one fault switch, and with each
//! named fault switched on every test naming it fails. A test that still passes with its fault on
//! cannot fail, and one that fails on the correct server is a false alarm.

use scimtest::exec::runner::{run, RunOptions};
use scimtest::results::{Level, Outcome, RunResult};
use scimtest::server::faults::Fault;
use scimtest::suite::load::load_dir;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn options(faults: Vec<Fault>, filters: Vec<String>, report_dir: PathBuf) -> RunOptions {
    RunOptions {
        url: None,
        token: None,
        headers: Vec::new(),
        profile: "rfc".into(),
        suites_dir: "suites".into(),
        filters,
        jobs: 4,
        timeout: Duration::from_secs(10),
        fail_on: Level::Must,
        report_dir,
        tls: Default::default(),
        embedded_faults: faults,
    }
}

/// One run against the embedded server with `faults` on, limited to `filters`.
async fn run_with(faults: Vec<Fault>, filters: Vec<String>) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let label = format!("{faults:?}");
    let opts = options(faults, filters, dir.path().to_path_buf());
    let mut ignore = |_| {};
    run(&opts, &mut ignore)
        .await
        .unwrap_or_else(|e| panic!("run with faults {label} did not complete: {e}"))
}

/// `suite/test` → the faults it names, for every test in `suites/`.
fn named_faults() -> BTreeMap<String, Vec<String>> {
    let suites = load_dir("suites".as_ref()).unwrap_or_else(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("suites do not load:\n{}", msgs.join("\n"))
    });
    let mut out = BTreeMap::new();
    for s in &suites {
        for t in &s.suite.tests {
            let id = format!("{}/{}", s.suite.id.value, t.value.id.value);
            let faults = t.value.faults.iter().map(|f| f.value.clone()).collect();
            out.insert(id, faults);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suites_pass_on_the_correct_server_and_fail_under_their_faults() {
    let tests = named_faults();
    assert!(!tests.is_empty(), "no tests found under suites/");

    // (b) Every test names a fault that proves it can fail.
    let unproven: Vec<&String> = tests
        .iter()
        .filter(|(_, f)| f.is_empty())
        .map(|(id, _)| id)
        .collect();
    assert!(
        unproven.is_empty(),
        "tests naming no fault (nothing shows they can fail): {unproven:?}"
    );

    // (a) The correct server passes every test, or the test is skipped with a reason.
    let clean = run_with(Vec::new(), Vec::new()).await;
    let bad: Vec<String> = clean
        .tests
        .iter()
        .filter(|t| match t.outcome {
            Outcome::Pass => false,
            Outcome::Skip => t.message.as_deref().is_none_or(str::is_empty),
            Outcome::Fail | Outcome::Error => true,
        })
        .map(|t| {
            format!(
                "{} [{:?}]: {}",
                t.id,
                t.outcome,
                t.message.as_deref().unwrap_or("(no message)")
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "false alarms on the correct server:\n{}",
        bad.join("\n")
    );

    // (c) With each named fault on, every test naming it fails. One run per fault, a few at once.
    let mut by_fault: BTreeMap<Fault, Vec<String>> = BTreeMap::new();
    for (id, faults) in &tests {
        for name in faults {
            let fault: Fault = name
                .parse()
                .unwrap_or_else(|e| panic!("{id} names an unknown fault: {e}"));
            by_fault.entry(fault).or_default().push(id.clone());
        }
    }
    let jobs: Vec<(Fault, Vec<String>)> = by_fault.into_iter().collect();
    let mut survivors = Vec::new();
    // Which kinds of check were seen failing under a fault (the check that decided the test).
    let mut kinds_failed: std::collections::BTreeSet<String> = Default::default();
    for chunk in jobs.chunks(4) {
        let runs = chunk
            .iter()
            .map(|(fault, ids)| run_with(vec![*fault], ids.clone()));
        let results = futures::future::join_all(runs).await;
        for ((fault, ids), result) in chunk.iter().zip(results) {
            for id in ids {
                match result.tests.iter().find(|t| &t.id == id) {
                    Some(t) if t.outcome == Outcome::Fail => {
                        let failed = t.steps.iter().flat_map(|s| &s.checks).filter(|c| !c.passed);
                        kinds_failed.extend(failed.map(|c| c.kind.clone()));
                    }
                    Some(t) => survivors.push(format!(
                        "{id} with {fault} on: {:?} ({})",
                        t.outcome,
                        t.message.as_deref().unwrap_or("no message")
                    )),
                    None => survivors.push(format!("{id} with {fault} on: did not run")),
                }
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "tests that did not fail under a fault they name:\n{}",
        survivors.join("\n")
    );

    // Every kind of check the format offers is shown failing under some fault (and, by (a),
    // passing on the correct server).
    let all_kinds = [
        "status",
        "header",
        "schema",
        "jsonpath",
        "scim.error",
        "scim.matches_sent",
        "scim.all_match",
        "scim.sorted_by",
        "tally",
    ];
    let never: Vec<&str> = all_kinds
        .iter()
        .copied()
        .filter(|k| !kinds_failed.contains(*k))
        .collect();
    assert!(
        never.is_empty(),
        "kinds of check never shown failing under a fault: {never:?}"
    );
}
