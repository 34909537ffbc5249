//! `scimtest run` against hostile servers: silent, dripping, resetting, answering garbage or an
//! endless body, redirecting elsewhere, or answering discovery well and misbehaving after. A
//! harness pointed at a production tenant must always finish within its deadlines, say what
//! went wrong, never panic, never print or record the token, and never send credentials to
//! another origin.
//!
//! Every server is written by hand on raw TCP (127.0.0.1, port 0) on a runtime private to the
//! test, bounded in connections and in the life of each connection; every run of the binary is
//! killed and the test failed if it outlives GUARD.

mod common;

use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_scimtest");
/// The token every run is given (through SCIM_TOKEN); it must appear nowhere in what the run
/// prints or writes, and never at a server other than the target.
const CANARY: &str = "canary-hostile-9b41e07d2c-TOKEN";
/// Part of the canary that is just as secret.
const CANARY_PART: &str = "9b41e07d2c";
/// A run that takes longer is a hang: the child is killed and the test fails.
const GUARD: Duration = Duration::from_secs(60);
/// Connections one hostile server accepts before it stops listening.
const MAX_CONNECTIONS: usize = 400;
/// The longest a hostile server keeps a connection, whatever it is doing with it.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(45);
const BASE: &str = "/scim/v2";

// ---------------------------------------------------------------------------------------------
// Hostile servers.

/// The servers of one test, on their own runtime: dropping this ends all of them.
struct Servers {
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Servers {
    fn new() -> Servers {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        Servers { rt: Some(rt) }
    }

    /// A server on 127.0.0.1 running `handler` on each connection.
    fn spawn<F, Fut>(&self, handler: F) -> SocketAddr
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let rt = self.rt.as_ref().expect("running");
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let conn = handler(stream);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
                });
            }
        });
        addr
    }
}

/// What a hostile server read of a request.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// The request target, without the base path.
    path: String,
    headers: Vec<(String, String)>,
    /// The request line, headers and body as received (lossy UTF-8).
    raw: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (headers and a Content-Length body), bounded in size and time.
async fn read_request(s: &mut TcpStream) -> Option<Request> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return None;
            }
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_string();
        let target = first.next()?.to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
            .min(1024 * 1024);
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let path = target
            .strip_prefix(BASE)
            .map(String::from)
            .unwrap_or(target);
        Some(Request {
            method,
            path,
            headers,
            raw: String::from_utf8_lossy(&buf).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()
        .flatten()
}

/// A whole response; the connection is closed after it.
fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

async fn send(mut s: TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
}

async fn scim_json(s: TcpStream, status: &str, body: &Value) {
    let body = body.to_string();
    send(
        s,
        &response(
            status,
            &[("Content-Type", "application/scim+json")],
            body.as_bytes(),
        ),
    )
    .await;
}

/// The ways a server misbehaves once it has read a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Misbehave {
    /// Keeps the connection open and never answers.
    Silent,
    /// Sends the headers, then one byte of body every 500 ms.
    DripBody,
    /// Sends the status line, then one byte of header every 500 ms.
    DripHeaders,
    /// `100 Continue`, over and over, never a final response.
    EndlessContinue,
    /// Ten thousand header lines.
    HeaderFlood,
    /// Resets the connection (RST) once the request is read.
    Reset,
    /// Declares a body and closes the connection in the middle of it.
    CloseEarly,
    /// 200 application/scim+json with an HTML page echoing the Authorization header.
    Html,
    /// 200 application/scim+json with JSON cut short.
    TruncatedJson,
    /// 200 application/scim+json with bytes that are not UTF-8, in the body and a header.
    InvalidUtf8,
    /// 200 application/scim+json with terminal escapes, NUL and BEL.
    ControlBytes,
    /// Not HTTP at all.
    NotHttp,
    /// `Content-Length: 5000000000`, and a body streamed until the client goes.
    Huge,
    /// A chunked body without end.
    Endless,
    /// A redirect to another origin (the address of a recording server).
    Redirect(SocketAddr),
}

const REDIRECT_STATUSES: [&str; 5] = [
    "301 Moved Permanently",
    "302 Found",
    "303 See Other",
    "307 Temporary Redirect",
    "308 Permanent Redirect",
];

async fn misbehave(mut s: TcpStream, req: &Request, how: Misbehave) {
    let echo = req.header("authorization").unwrap_or("(none)").to_string();
    let scim = ("Content-Type", "application/scim+json");
    match how {
        Misbehave::Silent => {
            tokio::time::sleep(CONNECTION_LIFETIME).await;
            drop(s);
        }
        Misbehave::DripBody => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 1000000\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..200 {
                if s.write_all(b"[").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Misbehave::DripHeaders => {
            if s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ").await.is_err() {
                return;
            }
            for _ in 0..200 {
                if s.write_all(b"a").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Misbehave::EndlessContinue => {
            for _ in 0..100_000 {
                if s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Misbehave::HeaderFlood => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\n".to_vec();
            for i in 0..10_000 {
                out.extend_from_slice(format!("X-Flood-{i}: {}\r\n", "v".repeat(64)).as_bytes());
            }
            out.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
            send(s, &out).await;
        }
        Misbehave::Reset => {
            let _ = s.set_zero_linger();
            drop(s);
        }
        Misbehave::CloseEarly => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 500\r\n\r\n{\"schemas\":[\"urn:ietf:params:scim:sch")
                .await;
            drop(s);
        }
        Misbehave::Html => {
            let body = format!(
                "<html><head><title>Sign in</title></head><body><h1>Welcome to the portal</h1><p>You sent {echo}</p></body></html>"
            );
            let echo_header = ("X-Echo", echo.as_str());
            send(
                s,
                &response("200 OK", &[scim, echo_header], body.as_bytes()),
            )
            .await;
        }
        Misbehave::TruncatedJson => {
            let body = format!("{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"2819c223\",\"userName\":\"{echo}\",\"name\":{{\"giv");
            send(s, &response("200 OK", &[scim], body.as_bytes())).await;
        }
        Misbehave::InvalidUtf8 => {
            let mut body = b"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"\xff\xfe\xfd\",\"userName\":\"caf\xc3\",\"displayName\":\"".to_vec();
            body.extend_from_slice(echo.as_bytes());
            body.extend_from_slice(b"\xe2\x82\"}");
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json; charset=\xff\xfe\r\nX-Weird: \xc3\x28\xa0\xa1\r\n".to_vec();
            out.extend_from_slice(
                format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&body);
            send(s, &out).await;
        }
        Misbehave::ControlBytes => {
            let body = format!("\u{1b}[2J\u{1b}[31mPWNED\u{0}\u{7}\r{{\"id\":\"x\u{1b}]0;title\u{7}\",\"echo\":\"{echo}\"}}");
            send(s, &response("200 OK", &[scim], body.as_bytes())).await;
        }
        Misbehave::NotHttp => {
            let mut out = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
            out.extend((0u16..2048).map(|i| (i.wrapping_mul(7919) % 251) as u8));
            send(s, &out).await;
        }
        Misbehave::Huge => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 5000000000\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            // Generated as it goes: one 64 KiB block, written over and over.
            let block = vec![b'['; 64 * 1024];
            let mut sent: u64 = 0;
            while sent < 5_000_000_000 {
                if s.write_all(&block).await.is_err() {
                    return;
                }
                sent += block.len() as u64;
            }
        }
        Misbehave::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut chunk = b"10000\r\n".to_vec();
            chunk.extend(std::iter::repeat_n(b'{', 0x10000));
            chunk.extend_from_slice(b"\r\n");
            // Bounded only by the client going away and by CONNECTION_LIFETIME.
            loop {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Misbehave::Redirect(to) => {
            let n = req.path.len() % REDIRECT_STATUSES.len();
            let location = format!("http://{to}{BASE}{}", req.path);
            send(
                s,
                &response(
                    REDIRECT_STATUSES[n],
                    &[("Location", location.as_str()), scim],
                    b"{}",
                ),
            )
            .await;
        }
    }
}

/// A server that misbehaves the same way on every request.
fn hostile(servers: &Servers, how: Misbehave) -> SocketAddr {
    servers.spawn(move |mut s| async move {
        if let Some(req) = read_request(&mut s).await {
            misbehave(s, &req, how).await;
        }
    })
}

/// Everything a server other than the target received: it should never see credentials.
#[derive(Default, Clone)]
struct Elsewhere(Arc<Mutex<Vec<Request>>>);

impl Elsewhere {
    /// A SCIM-looking server that records every request it gets.
    fn spawn(servers: &Servers) -> (Elsewhere, SocketAddr) {
        let seen = Elsewhere::default();
        let rec = seen.clone();
        let addr = servers.spawn(move |mut s| {
            let rec = rec.clone();
            async move {
                if let Some(req) = read_request(&mut s).await {
                    rec.0.lock().expect("lock").push(req.clone());
                    match discovery_answer(&req.path) {
                        Some(v) => scim_json(s, "200 OK", &v).await,
                        None => scim_json(s, "200 OK", &user("elsewhere-1")).await,
                    }
                }
            }
        });
        (seen, addr)
    }

    fn assert_no_credentials(&self) {
        for req in self.0.lock().expect("lock").iter() {
            assert!(
                req.header("authorization").is_none(),
                "credentials went to another origin: {} {}",
                req.method,
                req.path
            );
            assert!(
                !req.raw.contains(CANARY_PART),
                "the token went to another origin: {} {}",
                req.method,
                req.path
            );
        }
    }

    fn count(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
}

fn list(resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn user(id: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": format!("{id}@example.com"),
        "meta": {"resourceType": "User"},
    })
}

/// Enough of /ServiceProviderConfig, /ResourceTypes and /Schemas for a run to proceed, with
/// every feature advertised so that every test is attempted.
fn discovery_answer(path: &str) -> Option<Value> {
    let path = path.split('?').next().unwrap_or("");
    let supported = serde_json::json!({"supported": true});
    match path {
        "/ServiceProviderConfig" => Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": supported,
            "bulk": {"supported": true, "maxOperations": 10, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 100},
            "changePassword": supported,
            "sort": supported,
            "etag": supported,
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer", "description": "token"}],
            "meta": {"resourceType": "ServiceProviderConfig"},
        })),
        "/ResourceTypes" => Some(list(vec![
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "User", "name": "User", "endpoint": "/Users",
                "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
                "schemaExtensions": [{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}],
            }),
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "Group", "name": "Group", "endpoint": "/Groups",
                "schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
            }),
        ])),
        "/Schemas" => Some(list(
            [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ]
            .iter()
            .map(|id| serde_json::json!({"id": id, "attributes": []}))
            .collect(),
        )),
        _ => None,
    }
}

fn not_found() -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "404",
        "detail": "not found",
    })
}

/// A server that answers discovery correctly and hands every other request to `rest`.
fn discovery_then<F>(servers: &Servers, rest: F) -> SocketAddr
where
    F: Fn(TcpStream, Request) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync
        + 'static,
{
    let rest = Arc::new(rest);
    servers.spawn(move |mut s| {
        let rest = rest.clone();
        async move {
            let Some(req) = read_request(&mut s).await else {
                return;
            };
            match discovery_answer(&req.path) {
                Some(v) if req.method == "GET" => scim_json(s, "200 OK", &v).await,
                _ => rest(s, req).await,
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

/// A suite folder of our own, so that these tests depend on the runner, not on the shipped
/// suites: one GET, or the tests of `hostile_suite`.
fn suite_dir(suite: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::write(
        dir.path().join("profiles/rfc.yaml"),
        "name: rfc\ntitle: hostile\nsuites: [\"*\"]\ndomain: example.com\n",
    )
    .expect("profile");
    std::fs::write(dir.path().join("suite.yaml"), suite).expect("suite");
    dir
}

const ONE_GET: &str = r#"id: one
title: One request
area: GET
tests:
  - id: list-users
    title: GET /Users answers a ListResponse
    requirements: [P-3.4.2-01]
    steps:
      - request: {method: GET, path: /Users}
        expect: {status: 200, jsonpath: [{path: $.totalResults, type: number}]}
"#;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    results: Option<Value>,
}

impl Outcome {
    fn all(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.wall, self.stdout, self.stderr
        )
    }

    fn expect(&self, code: i32, message: &[&str], within: Duration) {
        assert_eq!(self.code, Some(code), "{}", self.all());
        for m in message {
            assert!(self.stderr.contains(m), "no {m:?} in\n{}", self.all());
        }
        assert!(
            self.wall < within,
            "took {:?} (more than {within:?})\n{}",
            self.wall,
            self.all()
        );
    }

    fn test(&self, id: &str) -> &Value {
        let results = self.results.as_ref().expect("results.json");
        results["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .find(|t| {
                t["id"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(&format!("/{id}")))
            })
            .unwrap_or_else(|| panic!("no test {id} in results.json"))
    }
}

/// `scimtest run --url http://ADDR/scim/v2 --timeout 1s ARGS…` (`--jobs 2` unless given), with the canary in
/// SCIM_TOKEN. Kills the run (failing the test) past GUARD; fails on a panic or on the canary
/// in anything the run printed or wrote.
fn run(addr: SocketAddr, suites: &Path, args: &[&str]) -> Outcome {
    run_url(&format!("http://{addr}{BASE}"), suites, args)
}

fn run_url(url: &str, suites: &Path, args: &[&str]) -> Outcome {
    let reports = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let child = Command::new(BIN)
        .args(["run", "--timeout", "1s", "--url", url])
        .args(if args.contains(&"--jobs") {
            &[][..]
        } else {
            &["--jobs", "2"][..]
        })
        .arg("--suites")
        .arg(suites)
        .arg("--report-dir")
        .arg(reports.path())
        .args(args)
        .env("SCIM_TOKEN", CANARY)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimtest");
    let (status, stdout, stderr) =
        common::wait_bounded(child, GUARD, &format!("scimtest run {url} {args:?}"));
    let wall = started.elapsed();

    let mut files = Vec::new();
    for e in std::fs::read_dir(reports.path())
        .expect("reports")
        .flatten()
    {
        let bytes = std::fs::read(e.path()).expect("report file");
        files.push((e.file_name().to_string_lossy().into_owned(), bytes));
    }
    let o = Outcome {
        code: status.code(),
        results: files
            .iter()
            .find(|(n, _)| n == "results.json")
            .map(|(_, b)| serde_json::from_slice(b).expect("results.json is JSON")),
        stdout,
        stderr,
        wall,
    };
    eprintln!(
        "scimtest run {args:?} against {url}: exit {:?} after {:.2?}; {}",
        o.code,
        o.wall,
        o.stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .or_else(|| o.stdout.lines().last())
            .unwrap_or("")
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.all());
    for (what, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(!text.contains(CANARY_PART), "the token leaked into {what}");
        // What a server sends reaches the terminal only as inert text (output is not a TTY
        // here, so the reporter's own colours are off).
        assert!(
            !text.contains('\u{1b}'),
            "a raw ESC reached {what}:\n{}",
            o.all()
        );
    }
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        if let Some(at) = text.find(CANARY_PART) {
            let context: String = text[..at]
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .chain(text[at..].chars().take(300))
                .collect();
            panic!("the token leaked into {name}:\n…{context}…");
        }
    }
    o
}

/// A run against a server misbehaving on every request: discovery cannot succeed.
fn run_against(how: Misbehave) -> Outcome {
    let servers = Servers::new();
    let addr = hostile(&servers, how);
    let suites = suite_dir(ONE_GET);
    run(addr, suites.path(), &[])
}

/// Bound on the wall time of a run whose discovery fails: three requests of at most 1 s.
const QUICK: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// (a)–(f): servers that never get past discovery.

#[test]
fn a_server_that_never_answers_times_out() {
    let o = run_against(Misbehave::Silent);
    o.expect(3, &["no answer from", "timed out after 1s"], QUICK);
}

#[test]
fn b_slow_drip_body_is_cut_by_the_request_deadline() {
    let o = run_against(Misbehave::DripBody);
    o.expect(3, &["timed out after 1s"], QUICK);
}

#[test]
fn b_slow_drip_headers_are_cut_by_the_request_deadline() {
    let o = run_against(Misbehave::DripHeaders);
    o.expect(3, &["timed out after 1s"], QUICK);
}

#[test]
fn b_endless_informational_responses_are_cut_by_the_request_deadline() {
    let o = run_against(Misbehave::EndlessContinue);
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.wall < QUICK, "{}", o.all());
}

#[test]
fn b_tls_handshake_that_never_completes_times_out() {
    let servers = Servers::new();
    // Accepts, reads the ClientHello, says nothing.
    let addr = servers.spawn(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        tokio::time::sleep(CONNECTION_LIFETIME).await;
    });
    let suites = suite_dir(ONE_GET);
    let o = run_url(&format!("https://{addr}{BASE}"), suites.path(), &[]);
    o.expect(3, &["no answer from", "timed out after 1s"], QUICK);
}

#[test]
fn c_connection_reset_after_the_request() {
    let o = run_against(Misbehave::Reset);
    o.expect(3, &["does not look like a SCIM service provider"], QUICK);
}

#[test]
fn c_connection_closed_in_the_middle_of_the_body() {
    let o = run_against(Misbehave::CloseEarly);
    o.expect(3, &["does not look like a SCIM service provider"], QUICK);
}

#[test]
fn d_garbage_in_a_200_scim_json_response() {
    for how in [
        Misbehave::Html,
        Misbehave::TruncatedJson,
        Misbehave::InvalidUtf8,
        Misbehave::ControlBytes,
        Misbehave::NotHttp,
        Misbehave::HeaderFlood,
    ] {
        let o = run_against(how);
        assert_eq!(o.code, Some(3), "{how:?}: {}", o.all());
        assert!(
            o.stderr
                .contains("does not look like a SCIM service provider"),
            "{how:?}: {}",
            o.all()
        );
        assert!(o.wall < QUICK, "{how:?}: {}", o.all());
    }
}

#[test]
fn e_multi_gigabyte_body_is_refused_without_reading_it() {
    let o = run_against(Misbehave::Huge);
    o.expect(3, &["exceeds"], QUICK);
}

#[test]
fn e_endless_chunked_body_stops_at_the_cap() {
    let o = run_against(Misbehave::Endless);
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(
        o.stderr.contains("exceeds") || o.stderr.contains("timed out"),
        "{}",
        o.all()
    );
    assert!(o.wall < QUICK, "{}", o.all());
}

#[test]
fn f_redirects_to_another_origin_are_not_followed() {
    let servers = Servers::new();
    let (elsewhere, to) = Elsewhere::spawn(&servers);
    let addr = hostile(&servers, Misbehave::Redirect(to));
    let suites = suite_dir(ONE_GET);
    let o = run(addr, suites.path(), &[]);
    o.expect(
        3,
        &[
            "does not look like a SCIM service provider",
            &format!("a redirect to http://{to}{BASE}/ServiceProviderConfig (not followed"),
        ],
        QUICK,
    );
    elsewhere.assert_no_credentials();
    assert_eq!(elsewhere.count(), 0, "a redirect was followed");
}

/// Tests against a server whose discovery is fine and whose resource endpoints misbehave, one
/// way per path. `outcome` is what each must end as.
const HOSTILE_SUITE: &str = r#"id: hostile
title: Resource endpoints that misbehave
area: GET
tests:
  - id: html-body
    title: HTML in a 200 scim+json answer
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/html}
        expect: {status: 200, jsonpath: [{path: $.id, type: string}]}
  - id: truncated-json
    title: JSON cut short
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/truncated}
        expect: {status: 200, jsonpath: [{path: $.id, type: string}]}
  - id: invalid-utf8
    title: Bytes that are not UTF-8
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/utf8}
        expect: {status: 200, schema: User, jsonpath: [{path: $.id, type: string}]}
  - id: control-bytes
    title: Terminal escapes in the body
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/control}
        expect: {status: 200, jsonpath: [{path: $.id, equals: "x"}]}
  - id: reset
    title: Connection reset on create
    requirements: [P-3.3-01]
    steps:
      - request:
          method: POST
          path: /Users
          body: {schemas: [urn:ietf:params:scim:schemas:core:2.0:User], userName: "{{ unique('h') }}"}
        expect: {status: 201}
  - id: close-early
    title: Connection closed in the middle of the body
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/close}
        expect: {status: 200}
  - id: silent
    title: No answer at all
    requirements: [P-3.4.2-01]
    steps:
      - request: {method: GET, path: /Groups}
        expect: {status: 200}
  - id: drip
    title: A body one byte at a time
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/drip}
        expect: {status: 200}
  - id: huge
    title: A 5 GB body
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/huge}
        expect: {status: 200}
  - id: endless
    title: A body without end
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/endless}
        expect: {status: 200}
  - id: redirect
    title: A redirect elsewhere
    requirements: [P-3.4.1-01]
    steps:
      - request: {method: GET, path: /Users/redirect}
        expect: {status: 200}
  - id: foreign-location
    title: A created resource located on another origin
    requirements: [P-3.3-01]
    steps:
      - request:
          method: POST
          path: /Groups
          body: {schemas: [urn:ietf:params:scim:schemas:core:2.0:Group], displayName: "{{ unique('g') }}"}
        expect: {status: 201}
        capture: {loc: {header: Location}}
      - request: {method: GET, path: "{{ loc }}"}
        expect: {status: 200}
"#;

#[test]
fn f_g_misbehaving_resource_endpoints_end_as_fail_or_error() {
    let servers = Servers::new();
    let (elsewhere, to) = Elsewhere::spawn(&servers);
    let addr = discovery_then(&servers, move |s, req| {
        Box::pin(async move {
            let path = req.path.split('?').next().unwrap_or("").to_string();
            let how = match (req.method.as_str(), path.as_str()) {
                ("GET", "/Users/html") => Misbehave::Html,
                ("GET", "/Users/truncated") => Misbehave::TruncatedJson,
                ("GET", "/Users/utf8") => Misbehave::InvalidUtf8,
                ("GET", "/Users/control") => Misbehave::ControlBytes,
                ("POST", "/Users") => Misbehave::Reset,
                ("GET", "/Users/close") => Misbehave::CloseEarly,
                ("GET", "/Groups") => Misbehave::Silent,
                ("GET", "/Users/drip") => Misbehave::DripBody,
                ("GET", "/Users/huge") => Misbehave::Huge,
                ("GET", "/Users/endless") => Misbehave::Endless,
                ("GET", "/Users/redirect") => Misbehave::Redirect(to),
                ("POST", "/Groups") => {
                    // Created, says the server, somewhere else.
                    let location = format!("http://{to}{BASE}/Groups/g1");
                    let body = serde_json::json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "id": "g1", "displayName": "g",
                        "meta": {"resourceType": "Group", "location": location},
                    })
                    .to_string();
                    let r = response(
                        "201 Created",
                        &[
                            ("Content-Type", "application/scim+json"),
                            ("Location", location.as_str()),
                        ],
                        body.as_bytes(),
                    );
                    send(s, &r).await;
                    return;
                }
                _ => {
                    scim_json(s, "404 Not Found", &not_found()).await;
                    return;
                }
            };
            misbehave(s, &req, how).await;
        })
    });
    let suites = suite_dir(HOSTILE_SUITE);
    // --strict: the suite cites P-3.4.1-01, a derived MUST that grades as SHOULD by default.
    let o = run(addr, suites.path(), &["--jobs", "4", "--strict"]);
    // Failed checks at MUST level: exit 1 (src/exit.rs), the run having finished.
    o.expect(1, &[], Duration::from_secs(30));
    let expected = [
        ("html-body", "fail", "Welcome to the portal"),
        ("truncated-json", "fail", "2819c223"),
        ("invalid-utf8", "fail", "caf"),
        ("control-bytes", "fail", "PWNED"),
        ("reset", "error", ""),
        ("close-early", "error", ""),
        ("silent", "error", "timed out after 1s"),
        ("drip", "error", "timed out after 1s"),
        ("huge", "error", "exceeds"),
        ("endless", "error", ""),
        ("redirect", "fail", ""),
        ("foreign-location", "error", "not the target's origin"),
    ];
    for (id, outcome, evidence) in expected {
        let t = o.test(id);
        assert_eq!(t["outcome"], outcome, "{id}: {t:#}");
        let step = t["steps"]
            .as_array()
            .and_then(|s| s.last())
            .expect("a step");
        // The request is recorded, credentials shown as redacted.
        assert!(step["request"]["method"].is_string(), "{id}: {t:#}");
        assert!(step["request"]["url"].is_string(), "{id}: {t:#}");
        if id != "foreign-location" {
            assert_eq!(
                step["request"]["headers"]["authorization"], "[redacted]",
                "{id}: {t:#}"
            );
        }
        let text = t.to_string();
        assert!(text.contains(evidence), "{id}: no {evidence:?} in {t:#}");
        match outcome {
            // A failed check shows the response that failed it.
            "fail" => assert!(step["response"]["status"].is_number(), "{id}: {t:#}"),
            // A request that got no usable answer says why.
            _ => assert!(step["error"].is_string(), "{id}: {t:#}"),
        }
    }
    // The echoed Authorization header is in the report only as redacted.
    let html = o.test("html-body").to_string();
    assert!(html.contains("[redacted]"), "{html}");
    let status = o.test("redirect")["steps"][0]["response"]["status"].as_u64();
    assert!(
        status.is_some_and(|c| (301..=308).contains(&c)),
        "{status:?}"
    );
    elsewhere.assert_no_credentials();
    assert_eq!(elsewhere.count(), 0, "a request went to another origin");
}

#[test]
fn g_shipped_suites_against_a_server_broken_past_discovery() {
    let servers = Servers::new();
    let (elsewhere, to) = Elsewhere::spawn(&servers);
    let turn = Arc::new(AtomicUsize::new(0));
    let ways = [
        Misbehave::Html,
        Misbehave::TruncatedJson,
        Misbehave::InvalidUtf8,
        Misbehave::Reset,
        Misbehave::CloseEarly,
        Misbehave::Silent,
        Misbehave::ControlBytes,
        Misbehave::DripBody,
        Misbehave::Huge,
        Misbehave::NotHttp,
        Misbehave::Endless,
        Misbehave::Redirect(to),
    ];
    let addr = discovery_then(&servers, move |s, req| {
        let n = turn.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            // Every fifth create "succeeds" (on this origin), so the run has something to clean
            // up, and its DELETEs meet the same server.
            if req.method == "POST" && n.is_multiple_of(5) {
                let id = format!("u{n}");
                let host = req.header("host").unwrap_or("127.0.0.1");
                let location = format!("http://{host}{BASE}/Users/{id}");
                let body = user(&id).to_string();
                let r = response(
                    "201 Created",
                    &[
                        ("Content-Type", "application/scim+json"),
                        ("Location", location.as_str()),
                    ],
                    body.as_bytes(),
                );
                send(s, &r).await;
                return;
            }
            misbehave(s, &req, ways[n % ways.len()]).await;
        })
    });
    let o = run(addr, Path::new("suites"), &["--jobs", "4"]);
    assert!(matches!(o.code, Some(1) | Some(3)), "{}", o.all());
    assert!(o.wall < GUARD, "{}", o.all());
    let results = o.results.as_ref().expect("results.json");
    let tests = results["tests"].as_array().expect("tests");
    assert!(!tests.is_empty(), "{}", o.all());
    // Discovery answers well, so tests of discovery alone may pass; every other one meets the
    // broken server and must say so.
    let broken = tests
        .iter()
        .filter(|t| t["outcome"] == "error" || t["outcome"] == "fail")
        .count();
    assert!(
        broken * 2 > tests.len(),
        "{broken} of {}: {}",
        tests.len(),
        o.all()
    );
    for t in tests.iter().filter(|t| t["outcome"] == "error") {
        assert!(
            t["message"].is_string(),
            "an error without a message: {t:#}"
        );
    }
    elsewhere.assert_no_credentials();
}
