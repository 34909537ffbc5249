//! Every acknowledged write survives `kill -9` of the server: create N users against a real
//! `scimtest serve` process, SIGKILL it, start it again on the same database, find all N.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "durability-token";

/// Starts `scimtest serve` on a free port and returns the child and its base URL (read from the
/// line it prints when listening).
fn spawn(db: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimtest"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--db"])
        .arg(db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("scimtest serve starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("readable");
        if let Some(rest) = line.split("listening at ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    const N: usize = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("durable.db");
    let (mut child, base) = spawn(&db);
    let client = reqwest::Client::new();

    let mut acknowledged = Vec::new();
    for chunk in (0..N).collect::<Vec<_>>().chunks(25) {
        let futs = chunk.iter().map(|i| {
            let client = client.clone();
            let base = base.clone();
            async move {
                let r = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("durable{i}")}).to_string())
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.expect("json");
                v["id"].as_str().expect("id").to_string()
            }
        });
        acknowledged.extend(futures::future::join_all(futs).await);
    }
    // SIGKILL: no shutdown hook, no checkpoint.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    let (mut child, base) = spawn(&db);
    let mut found = 0;
    for id in &acknowledged {
        let r = client
            .get(format!("{base}/Users/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        if r.status() == 200 {
            found += 1;
        }
    }
    let list: Value = client
        .get(format!("{base}/Users?count=0"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found, N, "acknowledged creates lost after kill -9");
    assert_eq!(list["totalResults"], N);
}

/// kill -9 while writes are in flight: every create and PATCH the server acknowledged is there
/// after a restart (requests cut off by the kill may or may not have landed; none may be lost
/// once acknowledged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_concurrent_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("busy.db");
    let (mut child, base) = spawn(&db);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, base, acked, stop) =
            (client.clone(), base.clone(), acked.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            // Bounded: at most 2,000 creates per worker, and it stops at the kill.
            for i in 0..2000 {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("busy{w}-{i}")});
                let Ok(r) = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                else {
                    break;
                };
                if r.status() != 201 {
                    break;
                }
                let Ok(v) = r.json::<Value>().await else { break };
                let id = v["id"].as_str().unwrap_or_default().to_string();
                // Then an acknowledged PATCH on it, whose effect must survive too.
                let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": format!("t{i}")}]});
                let Ok(p) = client
                    .patch(format!("{base}/Users/{id}"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(patch.to_string())
                    .send()
                    .await
                else {
                    acked.lock().expect("lock").push((id, String::new()));
                    break;
                };
                let title = if p.status() == 200 { format!("t{i}") } else { String::new() };
                acked.lock().expect("lock").push((id, title));
            }
        }));
    }
    // Let the writers run, then SIGKILL the server mid-stream.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 50,
        "too few writes before the kill to mean anything: {}",
        acked.len()
    );

    let (mut child, base) = spawn(&db);
    let mut lost = Vec::new();
    for (id, title) in &acked {
        let r = client
            .get(format!("{base}/Users/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        if r.status() != 200 {
            lost.push(format!("{id}: GET {}", r.status()));
            continue;
        }
        let v: Value = r.json().await.expect("json");
        if !title.is_empty() && v["title"] != title.as_str() {
            lost.push(format!("{id}: title {} (acknowledged {title})", v["title"]));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost after kill -9: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    println!(
        "kill -9 during writes: {} acknowledged creates (+PATCHes) all survived",
        acked.len()
    );
}

/// kill -9 of the server in the middle of a `scimtest load` run: every create the load journaled
/// (its ledger records a URL only once the server answered 201) is there after a restart, and
/// the load itself ends, bounded, reporting what it could not delete.
#[test]
fn kill_during_a_load_run_loses_no_acknowledged_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("load.db");
    let reports = dir.path().join("reports");
    let (mut server, base) = spawn(&db);
    let load = common::spawn_bulk_load(
        &base,
        TOKEN,
        &reports,
        &["--duration", "6s", "--timeout", "2s"],
    );
    let ledger = reports.join("load-ledger.jsonl");
    common::wait_for_ledger(&ledger, "\"created\"", 300);
    // SIGKILL while the load is still writing.
    server.kill().expect("kill -9");
    server.wait().expect("reaped");
    let (status, stdout, stderr) =
        common::wait_bounded(load, std::time::Duration::from_secs(120), "load after kill");
    assert_eq!(
        status.code(),
        Some(3),
        "left behind → exit 3\n{stdout}\n{stderr}"
    );

    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let created: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["created"].as_str().map(String::from))
        .collect();
    assert!(created.len() >= 300);
    let (mut server, base) = spawn(&db);
    let missing: Vec<&String> = created
        .iter()
        .filter(|url| {
            let path = url.split("/scim/v2").nth(1).expect("path under the base");
            common::raw_http::request(&base, "GET", path, TOKEN, None).0 != 200
        })
        .collect();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged creates lost: {:?}",
        missing.len(),
        created.len(),
        &missing[..missing.len().min(5)]
    );
}
