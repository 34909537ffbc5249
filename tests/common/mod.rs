//! Shared helpers for integration tests: an in-process reference server on 127.0.0.1:0 and a
//! small SCIM client over reqwest.
#![allow(dead_code)]

pub mod raw_http;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use scimtest::server::faults::{Fault, Faults};
use scimtest::server::{self, RunningServer, ServerConfig};
use serde_json::{json, Value};

pub const TOKEN: &str = "test-token-7f3a";

pub struct Server {
    pub server: RunningServer,
    pub client: reqwest::Client,
    pub base: String,
}

/// One HTTP exchange, kept whole so assertions can print it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn id(&self) -> String {
        match &self.body["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

pub async fn start_with(config: ServerConfig) -> Server {
    let server = server::start(config).await.expect("server starts");
    let base = server.base_url.clone();
    Server {
        server,
        client: reqwest::Client::new(),
        base,
    }
}

pub async fn start() -> Server {
    start_with(ServerConfig::ephemeral(TOKEN)).await
}

pub async fn start_faulty(faults: &[Fault]) -> Server {
    let mut c = ServerConfig::ephemeral(TOKEN);
    c.faults = Faults::new(faults.iter().copied());
    start_with(c).await
}

impl Server {
    pub async fn req(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.req_h(method, path, body, &[]).await
    }

    pub async fn req_h(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(method, url).bearer_auth(TOKEN);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn create_user(&self, user_name: &str) -> Reply {
        let r = self
            .req("POST", "/Users", Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "displayName": format!("Display {user_name}"),
                "name": {"givenName": "Given", "familyName": user_name},
                "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
                "active": true,
            })))
            .await;
        r
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> Reply {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        self.req(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "members": members,
            })),
        )
        .await
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("server stops");
    }
}

pub fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Waits for a spawned `scimtest` whose stdout and stderr are piped, reading both on threads so
/// the child never blocks on a full pipe; kills it and panics once `guard` has passed (a hang is
/// a test failure, never a stuck CI job). Returns the status, stdout and stderr.
pub fn wait_bounded(
    mut child: std::process::Child,
    guard: std::time::Duration,
    what: &str,
) -> (std::process::ExitStatus, String, String) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > guard {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung: killed after {guard:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = String::from_utf8_lossy(&out_t.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().expect("stderr reader")).into_owned();
    (status, stdout, stderr)
}

/// `scimtest serve --memory` on a free loopback port with `token` and `extra` flags, logging at
/// `log_level`; returns the child, its base URL and everything it writes to stderr.
pub fn serve_process(
    token: &str,
    extra: &[&str],
    log_level: &str,
) -> (
    std::process::Child,
    String,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimtest"))
        .args(["serve", "--memory", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("SCIM_TOKEN", token)
        .env("RUST_LOG", log_level)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server prints its address")
            .expect("utf-8");
        if let Some(rest) = line.split("listening at ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    (child, base, log)
}

/// `scimtest load --url BASE --scenario bulk-create --users 4 --quiet --report-dir DIR` plus
/// `extra`, with `token` in SCIM_TOKEN and its output piped (for `wait_bounded`).
pub fn spawn_bulk_load(
    base: &str,
    token: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(env!("CARGO_BIN_EXE_scimtest"))
        .args([
            "load",
            "--url",
            base,
            "--scenario",
            "bulk-create",
            "--users",
            "4",
        ])
        .args(extra)
        .arg("--quiet")
        .arg("--report-dir")
        .arg(dir)
        .env("SCIM_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("load starts")
}

/// Waits until the load ledger at `path` holds `needle` (`"created"`, `"deleted"`) `count`
/// times; a minute at most, then the test fails.
pub fn wait_for_ledger(path: &std::path::Path, needle: &str, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(path).is_ok_and(|t| t.matches(needle).count() >= count) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never held {needle} {count} times",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A JSON Schema under `schemas/` (e.g. `schemas/suite.schema.json`) as a document.
pub fn schema_document(rel: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The validator of a schema under `schemas/`, after checking it against the 2020-12
/// meta-schema (no network: jsonschema resolves nothing remote).
pub fn schema_validator(rel: &str) -> jsonschema::Validator {
    let doc = schema_document(rel);
    if let Err(e) = jsonschema::meta::validate(&doc) {
        panic!("{rel} is not a valid JSON Schema: {e}");
    }
    jsonschema::draft202012::new(&doc).unwrap_or_else(|e| panic!("{rel} does not compile: {e}"))
}

/// Every violation as `<instance path>: <message>`, empty when valid.
pub fn violations(v: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().as_str().to_string();
            format!(
                "{}: {e}",
                if at.is_empty() { "(root)" } else { at.as_str() }
            )
        })
        .collect()
}
