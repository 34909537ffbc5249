//! The conformance suites tell the truth: every test passes (or is skipped for a stated reason)
//! against the correct embedded server, every test names at least one fault switch, and with each
//! named fault switched on every test naming it fails. A test that still passes with its fault on
//! cannot fail, and one that fails on the correct server is a false alarm.
//!
//! Each test is judged in every profile that runs it (`suites/profiles/*.yaml`), with that
//! profile: a vendor profile's run starts the embedded server playing its contract (asana), at
//! its pace (entra), so its tests pass on the correct contract server and fail under their faults
//! there. A test that no profile runs is reported, since nothing would ever check it.

use scimtest::exec::runner::{run, RunOptions};
use scimtest::results::{Level, Outcome, RunResult};
use scimtest::server::faults::Fault;
use scimtest::suite::load::load_dir;
use scimtest::suite::profile::Profile;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn options(
    profile: &str,
    faults: Vec<Fault>,
    filters: Vec<String>,
    report_dir: PathBuf,
) -> RunOptions {
    RunOptions {
        url: None,
        token: None,
        headers: Vec::new(),
        profile: profile.into(),
        suites_dir: "suites".into(),
        filters,
        jobs: 4,
        timeout: Duration::from_secs(10),
        fail_on: Level::Must,
        report_dir,
        tls: Default::default(),
        strict: false,
        embedded_faults: faults,
    }
}

/// One run of `profile` against the embedded server with `faults` on, limited to `filters`.
async fn run_with(profile: &str, faults: Vec<Fault>, filters: Vec<String>) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let label = format!("{profile} with faults {faults:?}");
    let opts = options(profile, faults, filters, dir.path().to_path_buf());
    let mut ignore = |_| {};
    run(&opts, &mut ignore)
        .await
        .unwrap_or_else(|e| panic!("run of {label} did not complete: {e}"))
}

/// Every profile under `suites/profiles/`.
fn profiles() -> Vec<Profile> {
    let mut names: Vec<String> = std::fs::read_dir("suites/profiles")
        .expect("suites/profiles")
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "yaml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            Profile::load("suites".as_ref(), n)
                .unwrap_or_else(|e| panic!("profile {n} does not load: {e}"))
        })
        .collect()
}

/// One test: the faults it names and the profiles that run it.
struct TestInfo {
    faults: Vec<String>,
    profiles: Vec<String>,
}

/// `suite/test` → what it names and who runs it, for every test in `suites/`.
fn tests_and_profiles(profiles: &[Profile]) -> BTreeMap<String, TestInfo> {
    let suites = load_dir("suites".as_ref()).unwrap_or_else(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("suites do not load:\n{}", msgs.join("\n"))
    });
    let mut out = BTreeMap::new();
    for s in &suites {
        for t in &s.suite.tests {
            let id = format!("{}/{}", s.suite.id.value, t.value.id.value);
            let faults = t.value.faults.iter().map(|f| f.value.clone()).collect();
            let mut tags = s.suite.tags.clone();
            tags.extend(t.value.tags.iter().cloned());
            let profiles = profiles
                .iter()
                .filter(|p| {
                    p.includes_suite(&s.suite.id.value)
                        && p.includes_test(&id, &tags, &t.value.profiles)
                })
                .map(|p| p.name.clone())
                .collect();
            out.insert(id, TestInfo { faults, profiles });
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suites_pass_on_the_correct_server_and_fail_under_their_faults() {
    let profiles = profiles();
    let tests = tests_and_profiles(&profiles);
    assert!(!tests.is_empty(), "no tests found under suites/");

    // (b) Every test names a fault that proves it can fail, and some profile runs it.
    let unproven: Vec<&String> = tests
        .iter()
        .filter(|(_, t)| t.faults.is_empty())
        .map(|(id, _)| id)
        .collect();
    assert!(
        unproven.is_empty(),
        "tests naming no fault (nothing shows they can fail): {unproven:?}"
    );
    let orphans: Vec<&String> = tests
        .iter()
        .filter(|(_, t)| t.profiles.is_empty())
        .map(|(id, _)| id)
        .collect();
    assert!(
        orphans.is_empty(),
        "tests that no profile runs (nothing ever checks them): {orphans:?}"
    );

    // (a) In every profile, the correct server passes each test, or skips it with a reason (a
    // gate the profile's server does not meet: a vendor contract without Bulk, say).
    let mut bad: Vec<String> = Vec::new();
    // (profile, test) pairs that passed: there, the test must also fail under its faults.
    let mut passed: std::collections::BTreeSet<(String, String)> = Default::default();
    for profile in &profiles {
        let clean = run_with(&profile.name, Vec::new(), Vec::new()).await;
        passed.extend(
            clean
                .tests
                .iter()
                .filter(|t| t.outcome == Outcome::Pass)
                .map(|t| (profile.name.clone(), t.id.clone())),
        );
        bad.extend(
            clean
                .tests
                .iter()
                .filter(|t| match t.outcome {
                    Outcome::Pass => false,
                    Outcome::Skip => t.message.as_deref().is_none_or(str::is_empty),
                    Outcome::Fail | Outcome::Error => true,
                })
                .map(|t| {
                    format!(
                        "{} [{:?}, profile {}]: {}",
                        t.id,
                        t.outcome,
                        profile.name,
                        t.message.as_deref().unwrap_or("(no message)")
                    )
                }),
        );
    }
    assert!(
        bad.is_empty(),
        "false alarms on the correct server:\n{}",
        bad.join("\n")
    );
    let never: Vec<&String> = tests
        .keys()
        .filter(|id| !passed.iter().any(|(_, t)| t == *id))
        .collect();
    assert!(
        never.is_empty(),
        "tests skipped in every profile that runs them (never checked): {never:?}"
    );

    // (c) With each named fault on, every test naming it fails, in each profile that runs it.
    // One run per profile and fault, a few at once.
    let mut by_fault: BTreeMap<(String, Fault), Vec<String>> = BTreeMap::new();
    for (id, t) in &tests {
        for name in &t.faults {
            let fault: Fault = name
                .parse()
                .unwrap_or_else(|e| panic!("{id} names an unknown fault: {e}"));
            for profile in &t.profiles {
                if !passed.contains(&(profile.clone(), id.clone())) {
                    continue; // skipped there: its gate is not met, nothing to prove
                }
                by_fault
                    .entry((profile.clone(), fault))
                    .or_default()
                    .push(id.clone());
            }
        }
    }
    let jobs: Vec<((String, Fault), Vec<String>)> = by_fault.into_iter().collect();
    let mut survivors = Vec::new();
    // Which kinds of check were seen failing under a fault (the check that decided the test).
    let mut kinds_failed: std::collections::BTreeSet<String> = Default::default();
    for chunk in jobs.chunks(4) {
        let runs = chunk
            .iter()
            .map(|((profile, fault), ids)| run_with(profile, vec![*fault], ids.clone()));
        let results = futures::future::join_all(runs).await;
        for (((profile, fault), ids), result) in chunk.iter().zip(results) {
            for id in ids {
                match result.tests.iter().find(|t| &t.id == id) {
                    Some(t) if t.outcome == Outcome::Fail => {
                        let failed = t.steps.iter().flat_map(|s| &s.checks).filter(|c| !c.passed);
                        kinds_failed.extend(failed.map(|c| c.kind.clone()));
                    }
                    Some(t) => survivors.push(format!(
                        "{id} with {fault} on (profile {profile}): {:?} ({})",
                        t.outcome,
                        t.message.as_deref().unwrap_or("no message")
                    )),
                    None => survivors.push(format!(
                        "{id} with {fault} on (profile {profile}): did not run"
                    )),
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
