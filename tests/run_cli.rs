//! `scimtest run` as a user runs it: the binary against `scimtest serve` (canary token, nothing
//! left behind), against nothing, against garbage, and `scimtest cleanup`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_scimtest");

/// `scimtest serve` on a free port with `token`; returns the child and the base URL.
fn serve(token: &str, extra: &[&str]) -> (Child, String) {
    let (child, base, _log) = serve_logged(token, extra);
    (child, base)
}

/// `serve`, also returning everything the server writes to stderr (trace-level logs).
fn serve_logged(token: &str, extra: &[&str]) -> (Child, String, Arc<Mutex<String>>) {
    common::serve_process(token, extra, "trace")
}

fn all_files_text(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).expect("report dir").flatten() {
        if let Ok(t) = std::fs::read_to_string(e.path()) {
            out.push_str(&t);
        }
    }
    out
}

fn count_users(base: &str, token: &str) -> u64 {
    let body = raw_get(base, "/Users?count=0", token);
    let v: serde_json::Value = serde_json::from_str(&body).expect("list JSON");
    v["totalResults"].as_u64().expect("totalResults")
}

fn raw_get(base: &str, path: &str, token: &str) -> String {
    raw_http::request(base, "GET", path, token, None).2
}

#[test]
fn run_against_serve_leaks_no_token_and_leaves_nothing() {
    let canary = "canary-7c1f9e2b5a-TOKEN";
    let (mut server, base, server_log) = serve_logged(canary, &[]);
    // Resources that exist before the run: it must leave them exactly as they are.
    let existing: Vec<String> = ["tenant.alice", "tenant.bob"]
        .iter()
        .map(|n| {
            let body = format!("{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"{n}\",\"displayName\":\"Existing\"}}");
            let (status, _, b) = raw_http::request(&base, "POST", "/Users", canary, Some(&body));
            assert_eq!(status, 201, "{b}");
            let v: serde_json::Value = serde_json::from_str(&b).expect("json");
            format!("/Users/{}", v["id"].as_str().expect("id"))
        })
        .collect();
    let members: Vec<String> = existing
        .iter()
        .map(|p| format!("{{\"value\":\"{}\"}}", p.trim_start_matches("/Users/")))
        .collect();
    let group = format!("{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Existing team\",\"members\":[{}]}}", members.join(","));
    let (status, _, b) = raw_http::request(&base, "POST", "/Groups", canary, Some(&group));
    assert_eq!(status, 201, "{b}");
    let gid: serde_json::Value = serde_json::from_str(&b).expect("json");
    let mut existing = existing;
    existing.push(format!("/Groups/{}", gid["id"].as_str().expect("id")));
    let snapshot: Vec<String> = existing.iter().map(|p| raw_get(&base, p, canary)).collect();
    let before = count_users(&base, canary);
    let reports = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["run", "--url", &base, "--report-dir"])
        .arg(reports.path())
        .env("SCIM_TOKEN", canary)
        .env("RUST_LOG", "trace")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run failed:\n{stdout}\n{stderr}"
    );
    for f in ["junit.xml", "results.json", "report.html", "ledger.jsonl"] {
        assert!(reports.path().join(f).exists(), "{f} missing");
    }
    let files = all_files_text(reports.path());
    for (what, text) in [
        ("stdout", stdout.as_ref()),
        ("stderr", stderr.as_ref()),
        ("reports", files.as_str()),
    ] {
        assert!(!text.contains(canary), "the token appears in {what}");
        assert!(
            !text.contains("canary-7c1f9e2b5a"),
            "part of the token appears in {what}"
        );
    }
    // Everything the run created is gone again, and what existed before is untouched (same
    // body, same meta.version and lastModified).
    assert_eq!(
        count_users(&base, canary),
        before,
        "the run left users behind"
    );
    for (path, was) in existing.iter().zip(&snapshot) {
        assert_eq!(
            &raw_get(&base, path, canary),
            was,
            "{path} changed during the run"
        );
    }
    // The server's own trace-level log never shows the token either.
    let log = server_log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        !log.contains("canary-7c1f9e2b5a"),
        "the token appears in the server log"
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn unreachable_target_exits_3_with_a_clear_message() {
    // Bind then drop: nothing listens on that port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args([
            "run",
            "--url",
            &format!("http://127.0.0.1:{port}/scim/v2"),
            "--token",
            "t0ken-x",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot reach"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn garbage_answering_target_exits_3() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body>Welcome to nginx!</body></html>";
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args([
            "run",
            "--url",
            &format!("http://127.0.0.1:{port}/scim/v2"),
            "--token",
            "t0ken-x",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("does not look like a SCIM service provider"),
        "{stderr}"
    );
}

#[test]
fn suite_errors_exit_2_naming_the_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::copy(
        "suites/profiles/rfc.yaml",
        dir.path().join("profiles/rfc.yaml"),
    )
    .expect("copy profile");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "id: broken\ntitle: Broken\ntests:\n  - id: t\n    title: T\n    requirements: [P-3.3-01]\n    faults: [create-200]\n    steps:\n      - request: {method: GET, path: /Users}\n        expect: {stauts: 200}\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .arg("lint")
        .arg(dir.path())
        .output()
        .expect("lint");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broken.yaml:10:"), "{stderr}");
    assert!(stderr.contains("did you mean `status`?"), "{stderr}");
}

#[test]
fn cleanup_finishes_an_interrupted_ledger() {
    let token = "cleanup-token-1234";
    let (mut server, base) = serve(token, &[]);
    // Create two users by hand and write a ledger as an interrupted run would have.
    let client = raw_http::create_two_users(&base, token);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("ledger.jsonl");
    let lines: Vec<String> = client
        .iter()
        .map(|l| format!("{{\"created\":\"{l}\"}}"))
        .collect();
    std::fs::write(&ledger, lines.join("\n") + "\n").expect("ledger");
    assert_eq!(count_users(&base, token), 2);
    let out = Command::new(BIN)
        .args(["cleanup", "--url", &base, "--ledger"])
        .arg(&ledger)
        .env("SCIM_TOKEN", token)
        .output()
        .expect("cleanup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 left behind"), "{stdout}");
    assert_eq!(count_users(&base, token), 0);
    let _ = server.kill();
    let _ = server.wait();
}

/// Requests over plain HTTP/1.1 (the shared helper), plus what only this file needs.
mod raw_http {
    pub use super::common::raw_http::request;

    /// Creates two users; returns their Location headers.
    pub fn create_two_users(base: &str, token: &str) -> Vec<String> {
        (0..2)
            .map(|i| {
                let body = format!("{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"cleanup{i}\"}}");
                let (_, head, _) = request(base, "POST", "/Users", token, Some(&body));
                head.lines()
                    .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
                    .expect("Location header")
                    .trim()
                    .to_string()
            })
            .collect()
    }
}

/// Interrupts a run against a slow server with `signal` once it has created something.
fn interrupt_run_and_check_cleanup(signal: &str, token: &str) {
    // Every request takes 150 ms, so the run is still going when the interrupt comes.
    let (mut server, base) = serve(token, &["--latency", "150"]);
    let before = count_users(&base, token);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("ledger.jsonl");
    let run = Command::new(BIN)
        .args(["run", "--jobs", "1", "--url", &base, "--report-dir"])
        .arg(dir.path())
        .env("SCIM_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // Interrupt as soon as the run has created something.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let created = std::fs::read_to_string(&ledger).is_ok_and(|t| t.contains("\"created\""));
        if created || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = run.id().to_string();
    let status = Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = run.wait_with_output().expect("run ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count_users(&base, token),
        before,
        "the interrupted run left users behind"
    );
    let ledger_text = std::fs::read_to_string(&ledger).expect("ledger");
    assert!(ledger_text.contains("\"deleted\""), "{ledger_text}");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn ctrl_c_stops_the_run_and_cleans_up() {
    interrupt_run_and_check_cleanup("-INT", "interrupt-token-5678");
}

#[test]
fn sigterm_stops_the_run_and_cleans_up() {
    interrupt_run_and_check_cleanup("-TERM", "sigterm-token-4321");
}

#[test]
fn second_ctrl_c_exits_at_once_and_cleanup_finishes_from_the_ledger() {
    let token = "twice-token-9012";
    // Slow requests, so cleanup is still running when the second interrupt comes.
    let (mut server, base) = serve(token, &["--latency", "400"]);
    let before = count_users(&base, token);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("ledger.jsonl");
    let run = Command::new(BIN)
        .args(["run", "--jobs", "4", "--url", &base, "--report-dir"])
        .arg(dir.path())
        .env("SCIM_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&ledger).is_ok_and(|t| t.matches("\"created\"").count() >= 2)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = run.id().to_string();
    let started = std::time::Instant::now();
    for _ in 0..2 {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = run.wait_with_output().expect("run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "second Ctrl-C did not exit at once"
    );
    assert!(stderr.contains("scimtest cleanup --ledger"), "{stderr}");
    // What the run left is in the ledger; `scimtest cleanup` removes it.
    let out = Command::new(BIN)
        .args(["cleanup", "--url", &base, "--ledger"])
        .arg(&ledger)
        .env("SCIM_TOKEN", token)
        .output()
        .expect("cleanup");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        count_users(&base, token),
        before,
        "users left after cleanup"
    );
    let _ = server.kill();
    let _ = server.wait();
}
