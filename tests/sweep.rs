//! A generated-request sweep of the reference server's HTTP surface: tens of thousands of
//! requests, valid, damaged and hostile, from a seeded generator, against an in-process server
//! on 127.0.0.1:0. What must hold (`docs/reliability.md`, "Hostile-request sweep"):
//!
//! - no 5xx, ever (the one exception is `/Me`, which RFC 7644 §3.11 answers with 501 when the
//!   server does not offer it), and no response from below the application (a bare hyper 400);
//! - every 4xx is a SCIM Error (RFC 7644 §3.12): `application/scim+json`, the Error URN in
//!   `schemas`, `status` a string equal to the HTTP status;
//! - no request takes longer than [`SLOW`];
//! - afterwards the server still answers /ServiceProviderConfig, and every User whose create got
//!   a 201 is still readable unless a later DELETE of it (direct or in a Bulk) succeeded.
//!
//! Requests go over a small HTTP/1.1 client written on `std::net::TcpStream`, so paths reach the
//! server byte for byte (`..`, `//`, `%00`, `%FF`), methods may be any token, and header values
//! may be non-UTF-8. Only well-formed HTTP/1.1 is sent: malformed HTTP is hyper's business and
//! never reaches the SCIM code (see "Transport limits" in the doc).

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use scimtest::scim::schema::{
    BULK_REQUEST_URN, ENTERPRISE_URN, GROUP_URN, PATCH_OP_URN, SEARCH_REQUEST_URN, USER_URN,
};
use scimtest::server::faults::{Fault, Faults};
use scimtest::server::limits::{
    MAX_ATTRIBUTE_NAMES, MAX_FILTER_CHARS, MAX_MULTI_VALUES, MAX_PATCH_OPERATIONS,
};
use scimtest::server::{self, RunningServer, ServerConfig};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const TOKEN: &str = "sweep-token-5d1c08";
const BASE: &str = "/scim/v2";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The generator's seed: the same seed sends the same requests (ids aside).
const SEED: u64 = 0x5EED_5C1A;
/// Requests the sweep sends (follow-up cleanups and the final reads come on top).
const REQUESTS: usize = 20_000;
/// A request slower than this fails the sweep (debug build, shared machine: generous).
const SLOW: Duration = Duration::from_secs(10);
/// The server's body limit (`ServerConfig::ephemeral`).
const MAX_BODY: usize = 1024 * 1024;
/// Distinct userNames the generator uses, which bounds the live Users (and the cost of a list).
const USER_NAMES: usize = 300;
/// Longest request target sent; hyper answers 414 itself above 65,534 bytes.
const MAX_TARGET: usize = 65_000;
/// Live Groups above which a Group create turns into a Group delete.
const MAX_GROUPS: usize = 60;

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client.

#[derive(Clone)]
struct Req {
    method: String,
    /// Request target as sent: origin-form path and query, already percent-encoded.
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    /// What the generator meant, for the durability bookkeeping.
    intent: Intent,
}

/// What the bookkeeping needs beyond method, target and answer (creates and deletes are read
/// from those, whatever the generator meant).
#[derive(Clone, Debug, PartialEq)]
enum Intent {
    Other,
    /// A create that may store a very large value: delete the resource afterwards so later
    /// lists stay fast.
    Huge,
    /// A write to this resource that may have stored a very large value.
    HugeOn(Kind, String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    User,
    Group,
}

struct Resp {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    elapsed: Duration,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Client { addr, conn: None }
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, String> {
        let s = TcpStream::connect(self.addr).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(60))).ok();
        s.set_write_timeout(Some(Duration::from_secs(60))).ok();
        s.set_nodelay(true).ok();
        Ok(BufReader::new(s))
    }

    fn encode(&self, r: &Req) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(format!("{} {} HTTP/1.1\r\n", r.method, r.target).as_bytes());
        if !r
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            out.extend_from_slice(format!("Host: {}\r\n", self.addr).as_bytes());
        }
        for (k, v) in &r.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(b) = &r.body {
            out.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(b) = &r.body {
            out.extend_from_slice(b);
        }
        out
    }

    fn send(&mut self, r: &Req) -> Result<Resp, String> {
        let bytes = self.encode(r);
        // A body over the limit is answered before it is read, and the connection closed after:
        // send it on a connection of its own.
        if bytes.len() > MAX_BODY {
            self.conn = None;
        }
        for attempt in 0..2 {
            let fresh = self.conn.is_none();
            if fresh {
                self.conn = Some(self.connect()?);
            }
            let conn = self.conn.as_mut().expect("connected");
            let start = Instant::now();
            let wrote = conn.get_mut().write_all(&bytes);
            let read = read_response(conn, r.method == "HEAD");
            match (wrote, read) {
                (_, Ok((mut resp, keep))) => {
                    resp.elapsed = start.elapsed();
                    if !keep {
                        self.conn = None;
                    }
                    return Ok(resp);
                }
                // The server closed a kept-alive connection before reading this request: the
                // request was never seen, so sending it again is safe.
                (_, Err(ReadError::ClosedBeforeStatus)) if !fresh && attempt == 0 => {
                    self.conn = None;
                }
                (w, Err(e)) => {
                    self.conn = None;
                    return Err(format!("write: {w:?}; read: {e:?}"));
                }
            }
        }
        Err("connection closed twice before an answer".into())
    }
}

#[derive(Debug)]
enum ReadError {
    ClosedBeforeStatus,
    Io(String),
    Malformed(#[allow(dead_code)] String),
}

fn read_line(r: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)
        .map_err(|e| ReadError::Io(e.to_string()))?;
    Ok(line)
}

/// One response; the bool says whether the connection may be reused.
fn read_response(r: &mut BufReader<TcpStream>, head: bool) -> Result<(Resp, bool), ReadError> {
    let status_line = match read_line(r) {
        Ok(l) if l.is_empty() => return Err(ReadError::ClosedBeforeStatus),
        Err(ReadError::Io(e)) if e.contains("reset") || e.contains("Broken pipe") => {
            return Err(ReadError::ClosedBeforeStatus)
        }
        other => other?,
    };
    let text = String::from_utf8_lossy(&status_line);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ReadError::Malformed(format!("status line {text:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            return Err(ReadError::Malformed("end of stream in headers".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| ReadError::Malformed("header without colon".into()))?;
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        let value = line[colon + 1..].trim_ascii().to_vec();
        headers.push((name, value));
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase())
    };
    let mut keep = get("connection").is_none_or(|c| !c.contains("close"));
    let mut body = Vec::new();
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        // no body
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let size_line = read_line(r)?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&size_line)
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or(""),
                16,
            )
            .map_err(|e| ReadError::Malformed(format!("chunk size: {e}")))?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)
                .map_err(|e| ReadError::Io(e.to_string()))?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| ReadError::Malformed(format!("content-length {len:?}")))?;
        body = vec![0; len];
        r.read_exact(&mut body)
            .map_err(|e| ReadError::Io(e.to_string()))?;
    } else {
        r.read_to_end(&mut body)
            .map_err(|e| ReadError::Io(e.to_string()))?;
        keep = false;
    }
    Ok((
        Resp {
            status,
            headers,
            body,
            elapsed: Duration::ZERO,
        },
        keep,
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn show(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.chars().count() > max {
        format!(
            "{}… ({} bytes)",
            s.chars().take(max).collect::<String>(),
            bytes.len()
        )
    } else {
        s.into_owned()
    }
}

fn describe(r: &Req) -> String {
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", show(v, 60)))
        .collect();
    format!(
        "{} {}\n      headers: [{}]\n      body: {}",
        r.method,
        show(r.target.as_bytes(), 300),
        headers.join(", "),
        r.body
            .as_deref()
            .map(|b| show(b, 400))
            .unwrap_or_else(|| "(none)".into())
    )
}

// ---------------------------------------------------------------------------------------------
// The generator.

struct Gen {
    rng: StdRng,
    /// Live resources (created, not yet seen deleted).
    users: Vec<String>,
    groups: Vec<String>,
    /// Ids that were deleted, for "recently valid" paths.
    gone: Vec<String>,
}

const JUNK_METHODS: &[&str] = &[
    "FOO", "get", "PROPFIND", "TRACE", "X", "PATCHX", "M-SEARCH", "MKCOL", "LINK", "purge",
];

const FILTERS: &[&str] = &[
    "userName eq \"sweep.user1@example.com\"",
    "userName sw \"sweep\"",
    "emails[type eq \"work\" and value co \"@example\"]",
    "name.familyName pr",
    "active eq true and not (displayName co \"x\")",
    "meta.lastModified gt \"2020-01-01T00:00:00Z\"",
    "displayName eq \"group 1\" or members.value pr",
    "members[value eq \"nobody\"]",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"7\"",
    "id eq \"x\"",
    "userName eq null",
    "active gt true",
    "emails co \"@\"",
    "nosuch eq 1",
    "meta.resourceType eq \"User\"",
    "not(userName pr)",
    "title ew \"r\" or nickName le \"m\"",
    "groups.value eq \"g\"",
];

const FILTER_TOKENS: &[&str] = &[
    "userName",
    "emails",
    "emails[",
    "]",
    "(",
    ")",
    " eq ",
    " ne ",
    " co ",
    " sw ",
    " ew ",
    " gt ",
    " ge ",
    " lt ",
    " le ",
    " pr",
    " and ",
    " or ",
    "not ",
    "not(",
    "\"x\"",
    "\"",
    "\\",
    "\\u00",
    "true",
    "false",
    "null",
    "42",
    "-0.5e309",
    "1e999",
    "meta.created",
    "name.givenName.x",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:",
    ":",
    ".",
    "$",
    "é",
    "😀",
    "\u{0}",
    "\u{7f}",
    " ",
    "  ",
    "\t",
    "\n",
    "[type eq \"work\"]",
    "value",
    "members.value",
    "9",
];

const ATTRIBUTE_NAMES: &[&str] = &[
    "userName",
    "id",
    "emails",
    "emails.value",
    "name.givenName",
    "meta",
    "meta.lastModified",
    "groups",
    "members",
    "members.value",
    "displayName",
    "password",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:core:2.0:User:name",
    "nosuch",
    "",
    " ",
    "a.b.c.d",
    "[",
    "emails[type eq \"work\"]",
    "é",
];

const INTS: &[&str] = &[
    "-1",
    "0",
    "1",
    "2",
    "10",
    "200",
    "201",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "abc",
    "1.5",
    "",
    " 3",
    "1e3",
    "0x10",
    "+5",
    "--1",
    "٣",
];

const KEYS: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "displayName",
    "name",
    "givenName",
    "familyName",
    "emails",
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "active",
    "members",
    "groups",
    "meta",
    "password",
    "phoneNumbers",
    "addresses",
    "x509Certificates",
    "manager",
    "employeeNumber",
    ENTERPRISE_URN,
    "Operations",
    "op",
    "path",
    "filter",
    "bulkId",
    "method",
    "data",
    "",
    "USERNAME",
    "urn:x:y",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "work",
    "true",
    "null",
    "bulkId:b1",
    "bulkId:",
    "\u{0}",
    "\u{feff}",
    "é",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "😀😀",
    "\"quoted\"",
    "\\",
    "../../etc/passwd",
    "'; DROP TABLE resources; --",
    "2020-13-45T99:99:99Z",
    "2024-01-01T00:00:00Z",
    "aGVsbG8=",
    "not base64!",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "W/\"1\"",
    "http://example.com/x",
    "\u{202e}reversed",
];

fn user_name(n: usize) -> String {
    format!("sweep.user{n}@example.com")
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            users: vec![],
            groups: vec![],
            gone: vec![],
        }
    }

    fn p(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).expect("non-empty")
    }

    fn n(&mut self, range: std::ops::Range<usize>) -> usize {
        self.rng.random_range(range)
    }

    fn some_user(&mut self) -> Option<String> {
        let u = self.users.clone();
        u.choose(&mut self.rng).cloned()
    }

    fn some_group(&mut self) -> Option<String> {
        let g = self.groups.clone();
        g.choose(&mut self.rng).cloned()
    }

    fn random_string(&mut self) -> String {
        match self.n(0..6) {
            0 => self.pick(STRINGS).to_string(),
            1 => {
                let len = self.n(0..40);
                (0..len)
                    .map(|_| char::from_u32(self.rng.random_range(0..0x11_0000)).unwrap_or('?'))
                    .collect()
            }
            2 => {
                let len = self.n(1..20);
                (0..len)
                    .map(|_| *self.pick(&['a', 'Z', '0', ' ', '"', '\\', '\u{1}', 'é', '/']))
                    .collect()
            }
            3 => "x".repeat(self.n(100..5000)),
            4 => user_name(self.n(0..USER_NAMES)),
            _ => self.some_user().unwrap_or_default(),
        }
    }

    fn random_json(&mut self, depth: usize) -> Value {
        let leaf = depth == 0 || self.p(0.6);
        if leaf {
            return match self.n(0..10) {
                0 => Value::Null,
                1 => Value::Bool(self.p(0.5)),
                2 => json!(self.rng.random::<i64>()),
                3 => json!(*self.pick(&[0.5f64, -0.0, 1e308, -1e-308, 3.0])),
                4 => json!(u64::MAX),
                5 => json!(*self.pick(&[0, 1, -1, 2])),
                _ => Value::String(self.random_string()),
            };
        }
        if self.p(0.5) {
            let n = self.n(0..5);
            Value::Array((0..n).map(|_| self.random_json(depth - 1)).collect())
        } else {
            let n = self.n(0..5);
            let mut m = Map::new();
            for _ in 0..n {
                let k = self.pick(KEYS).to_string();
                let v = self.random_json(depth - 1);
                m.insert(k, v);
            }
            Value::Object(m)
        }
    }

    fn deep(&mut self, depth: usize) -> Value {
        let mut v = json!("bottom");
        for i in 0..depth {
            v = if i % 2 == 0 {
                json!([v])
            } else {
                json!({"value": v})
            };
        }
        v
    }

    fn valid_user(&mut self) -> Value {
        let n = self.n(0..USER_NAMES);
        let mut u = json!({
            "schemas": [USER_URN],
            "userName": user_name(n),
            "displayName": format!("Sweep User {n}"),
            "name": {"givenName": "Sweep", "familyName": format!("U{n}")},
            "emails": [{"value": format!("u{n}@example.com"), "type": "work", "primary": true}],
            "active": self.p(0.8),
        });
        if self.p(0.4) {
            u["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "mobile"}]);
            u["addresses"] = json!([{"locality": "Zürich", "type": "work"}]);
        }
        if self.p(0.3) {
            let mgr = self.some_user().unwrap_or_else(|| "nobody".into());
            u["schemas"] = json!([USER_URN, ENTERPRISE_URN]);
            u[ENTERPRISE_URN] = json!({"employeeNumber": n.to_string(), "manager": {"value": mgr}});
        }
        u
    }

    fn valid_group(&mut self) -> Value {
        let n = self.n(0..4);
        let mut members = Vec::new();
        for _ in 0..n {
            if let Some(u) = self.some_user() {
                members.push(json!({"value": u}));
            }
        }
        if self.p(0.2) {
            if let Some(g) = self.some_group() {
                members.push(json!({"value": g}));
            }
        }
        json!({
            "schemas": [GROUP_URN],
            "displayName": format!("group {}", self.n(0..1000)),
            "members": members,
        })
    }

    /// One random change somewhere in `v`.
    fn mutate(&mut self, v: &mut Value, depth: usize) {
        match v {
            Value::Object(m) if !m.is_empty() && depth < 6 && self.p(0.6) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let k = self.pick(&keys).clone();
                match self.n(0..6) {
                    0 => {
                        m.remove(&k);
                    }
                    1 => {
                        let val = m.remove(&k).unwrap_or(Value::Null);
                        let renamed = match self.n(0..3) {
                            0 => k.to_uppercase(),
                            1 => format!("{k}x"),
                            _ => self.pick(KEYS).to_string(),
                        };
                        m.insert(renamed, val);
                    }
                    2 => {
                        let j = self.random_json(2);
                        m.insert(k, j);
                    }
                    _ => {
                        if let Some(child) = m.get_mut(&k) {
                            self.mutate(child, depth + 1);
                        }
                    }
                }
            }
            Value::Array(a) if !a.is_empty() && depth < 6 && self.p(0.6) => {
                let i = self.n(0..a.len());
                match self.n(0..4) {
                    0 => {
                        a.remove(i);
                    }
                    1 => {
                        let dup = a[i].clone();
                        a.push(dup);
                    }
                    _ => self.mutate(&mut a[i], depth + 1),
                }
            }
            other => {
                *other = match self.n(0..4) {
                    0 => self.random_json(3),
                    1 => {
                        let d = self.n(10..120);
                        self.deep(d)
                    }
                    2 => Value::String(self.random_string()),
                    _ => Value::Null,
                };
            }
        }
    }

    fn maybe_mutate(&mut self, mut v: Value, p: f64) -> Value {
        if self.p(p) {
            for _ in 0..self.n(1..4) {
                self.mutate(&mut v, 0);
            }
        }
        v
    }

    /// Serialises a body, sometimes damaging the bytes.
    fn bytes(&mut self, v: &Value) -> Vec<u8> {
        let mut b = serde_json::to_vec(v).expect("serialise");
        if self.p(0.9) {
            return b;
        }
        match self.n(0..12) {
            0 => {
                let cut = self.n(0..b.len().max(1));
                b.truncate(cut);
            }
            1 => {
                // Invalid UTF-8 inside the text.
                let at = self.n(0..b.len().max(1));
                let bad: &[u8] = self.pick::<&[u8]>(&[
                    &b"\xff"[..],
                    &b"\xc3"[..],
                    &b"\xed\xa0\x80"[..],
                    &b"\x00"[..],
                ]);
                b.splice(at..at, bad.iter().copied());
            }
            2 => {
                b.splice(0..0, b"\xef\xbb\xbf".iter().copied());
            }
            3 => {
                const ODD: &[&str] = &[
                    "[]",
                    "null",
                    "42",
                    "\"str\"",
                    "true",
                    "",
                    "   ",
                    "{",
                    "}",
                    "{}",
                    "{\"a\":}",
                    "{\"schemas\":[\"\\ud800\"]}",
                    "{\"userName\":1e400}",
                    "{\"userName\":\"a\",\"userName\":\"b\"}",
                    "\u{0}\u{1}\u{2}",
                ];
                b = self.pick(ODD).as_bytes().to_vec()
            }
            4 => {
                // Nesting beyond serde_json's recursion limit.
                let d = self.n(100..400);
                b = format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes();
            }
            5 => {
                let d = self.n(100..300);
                b = format!(
                    "{{\"schemas\":[\"{USER_URN}\"],\"userName\":\"deep\",\"x\":{}1{}}}",
                    "{\"a\":".repeat(d),
                    "}".repeat(d)
                )
                .into_bytes();
            }
            6 => b.extend_from_slice(b" trailing"),
            7 => b = b"{\"schemas\":[\"a\"],}".to_vec(),
            8 => {
                let s = String::from_utf8_lossy(&b).replace('"', "'");
                b = s.into_bytes();
            }
            _ => {
                let n = self.n(0..b.len().max(1));
                for _ in 0..3 {
                    if n < b.len() {
                        b[n] = self.rng.random();
                    }
                }
            }
        }
        b
    }

    fn id_for(&mut self, kind: Kind) -> (String, Option<String>) {
        let real = match kind {
            Kind::User => self.some_user(),
            Kind::Group => self.some_group(),
        };
        if self.p(0.75) {
            if let Some(id) = real {
                return (id.clone(), Some(id));
            }
        }
        let gone = self.gone.clone();
        let id = match self.n(0..22) {
            0 => "%00".into(),
            1 => "..".into(),
            2 => "%2e%2e".into(),
            3 => ".".into(),
            4 => "a%2Fb".into(),
            5 => "%E2%98%83".into(),
            6 => "%FF%FE".into(),
            7 => "%".into(),
            8 => "%zz".into(),
            9 => "x".repeat(self.n(1000..8000)),
            10 => "y".repeat(60_000),
            11 => "bulkId:b1".into(),
            12 => "%20".into(),
            13 => "null".into(),
            14 => "-1".into(),
            15 => pct("'; DROP TABLE resources; --"),
            16 => "*".into(),
            17 => uuid::Uuid::new_v4().to_string(),
            18 => gone
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_else(|| "gone".into()),
            19 => match kind {
                // The other type's id.
                Kind::User => self.some_group().unwrap_or_default(),
                Kind::Group => self.some_user().unwrap_or_default(),
            },
            20 => real.map(|r| r.to_uppercase()).unwrap_or_default(),
            _ => pct(&self.random_string()),
        };
        (id, None)
    }

    fn filter(&mut self) -> String {
        match self.n(0..10) {
            0..=3 => self.pick(FILTERS).to_string(),
            4..=6 => {
                let n = self.n(1..25);
                (0..n).map(|_| *self.pick(FILTER_TOKENS)).collect()
            }
            7 => {
                let d = self.n(50..80);
                format!("{}userName pr{}", "(".repeat(d), ")".repeat(d))
            }
            8 => {
                // Around the length limit.
                let len = *self.pick(&[
                    MAX_FILTER_CHARS - 1,
                    MAX_FILTER_CHARS,
                    MAX_FILTER_CHARS + 1,
                    50_000,
                ]);
                let mut f = String::from("userName eq \"");
                f.push_str(&"a".repeat(len.saturating_sub(f.len() + 1)));
                f.push('"');
                f
            }
            _ => {
                let n = self.n(100..600);
                vec!["userName pr"; n].join(" or ")
            }
        }
    }

    fn attr_list(&mut self) -> String {
        let n = *self.pick(&[
            1,
            2,
            3,
            5,
            MAX_ATTRIBUTE_NAMES,
            MAX_ATTRIBUTE_NAMES + 1,
            2000,
        ]);
        (0..n)
            .map(|_| *self.pick(ATTRIBUTE_NAMES))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn query(&mut self, listing: bool) -> String {
        let mut params: Vec<(String, String)> = Vec::new();
        if listing {
            if self.p(0.5) {
                let f = self.filter();
                params.push(("filter".into(), f));
            }
            if self.p(0.3) {
                params.push(("startIndex".into(), self.pick(INTS).to_string()));
            }
            if self.p(0.3) {
                params.push(("count".into(), self.pick(INTS).to_string()));
            }
            if self.p(0.2) {
                let s = self
                    .pick(&[
                        "userName",
                        "name.familyName",
                        "emails",
                        "meta.created",
                        "password",
                        "nosuch",
                        "",
                        "name",
                    ])
                    .to_string();
                params.push(("sortBy".into(), s));
            }
            if self.p(0.15) {
                let s = self
                    .pick(&["ascending", "DESCENDING", "up", ""])
                    .to_string();
                params.push(("sortOrder".into(), s));
            }
        }
        if self.p(0.25) {
            let a = self.attr_list();
            params.push(("attributes".into(), a));
        }
        if self.p(0.15) {
            let a = self.attr_list();
            params.push(("excludedAttributes".into(), a));
        }
        let mut q: Vec<String> = params
            .into_iter()
            .map(|(k, v)| {
                let k = if self.p(0.05) { k.to_uppercase() } else { k };
                format!("{}={}", pct(&k), pct(&v))
            })
            .collect();
        if self.p(0.08) {
            let raw = self
                .pick(&[
                    "%FF",
                    "%",
                    "a=%zz",
                    "&&",
                    "=",
                    "filter",
                    "filter=%00",
                    "count=1&count=2",
                    "+=+",
                    "a[]=1",
                ])
                .to_string();
            q.push(raw);
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }

    fn patch_op(&mut self, kind: Kind) -> Value {
        let op = self
            .pick(&[
                json!("add"),
                json!("replace"),
                json!("remove"),
                json!("Add"),
                json!("REPLACE"),
                json!("delete"),
                json!(""),
                json!(1),
                Value::Null,
            ])
            .clone();
        let user = self.some_user().unwrap_or_else(|| "nobody".into());
        let path = match kind {
            Kind::User => self.pick(&[
                "userName",
                "displayName",
                "active",
                "name.givenName",
                "emails",
                "emails[type eq \"work\"].value",
                "emails[type eq \"work\"]",
                "phoneNumbers[value pr]",
                "addresses[type eq \"home\"].locality",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "id",
                "meta.created",
                "groups",
                "password",
                "",
                "emails[",
                "name.givenName.x",
                "x509Certificates[value pr].value",
            ]),
            Kind::Group => self.pick(&[
                "members",
                "displayName",
                "members[value eq \"nobody\"]",
                "members[type eq \"User\"]",
                "members.value",
                "externalId",
                "id",
                "members[value eq",
                "",
            ]),
        }
        .to_string();
        let path = if self.p(0.1) {
            Value::String(self.filter())
        } else if self.p(0.05) {
            self.random_json(1)
        } else if self.p(0.85) {
            Value::String(path)
        } else {
            Value::Null
        };
        let value = match (kind, self.n(0..6)) {
            (Kind::Group, 0 | 1) => json!([{"value": user}]),
            (Kind::User, 0) => json!([{"value": "p@example.com", "type": "home"}]),
            (Kind::User, 1) => json!({"givenName": "Patched", "name.familyName": "X"}),
            (_, 2) => json!(self.random_string()),
            (_, 3) => json!(self.p(0.5)),
            _ => self.random_json(3),
        };
        let mut o = Map::new();
        o.insert("op".into(), op);
        if !path.is_null() {
            o.insert("path".into(), path);
        }
        if self.p(0.85) {
            o.insert("value".into(), value);
        }
        Value::Object(o)
    }

    /// An operation the server should accept on a resource of `kind`.
    fn valid_patch_op(&mut self, kind: Kind) -> Value {
        let user = self.some_user().unwrap_or_else(|| "nobody".into());
        let n = self.n(0..1000);
        match (kind, self.n(0..8)) {
            (Kind::User, 0) => {
                json!({"op": "replace", "path": "displayName", "value": format!("P {n}")})
            }
            (Kind::User, 1) => {
                json!({"op": "add", "path": "emails", "value": [{"value": format!("p{n}@example.com"), "type": "home"}]})
            }
            (Kind::User, 2) => json!({"op": "remove", "path": "emails[type eq \"home\"]"}),
            (Kind::User, 3) => json!({"op": "Replace", "path": "active", "value": self.p(0.5)}),
            (Kind::User, 4) => {
                json!({"op": "replace", "value": {"name.givenName": "Patched", "nickName": format!("n{n}")}})
            }
            (Kind::User, 5) => {
                json!({"op": "add", "path": format!("{ENTERPRISE_URN}:employeeNumber"), "value": n.to_string()})
            }
            (Kind::User, 6) => json!({"op": "remove", "path": "phoneNumbers"}),
            (Kind::User, _) => {
                json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": format!("w{n}@example.com")})
            }
            (Kind::Group, 0..=2) => {
                json!({"op": "add", "path": "members", "value": [{"value": user}]})
            }
            (Kind::Group, 3 | 4) => {
                json!({"op": "remove", "path": format!("members[value eq \"{user}\"]")})
            }
            (Kind::Group, 5) => {
                json!({"op": "replace", "path": "displayName", "value": format!("group {n}")})
            }
            (Kind::Group, 6) => json!({"op": "remove", "path": "members"}),
            (Kind::Group, _) => {
                json!({"op": "replace", "value": {"displayName": format!("group {n}"), "externalId": n.to_string()}})
            }
        }
    }

    fn patch_body(&mut self, kind: Kind) -> Value {
        let n = match self.n(0..40) {
            0 => 0,
            1 => MAX_PATCH_OPERATIONS,
            2 => MAX_PATCH_OPERATIONS + 1,
            _ => self.n(1..5),
        };
        let valid = self.p(0.5);
        let op = |g: &mut Gen| {
            if valid {
                g.valid_patch_op(kind)
            } else {
                g.patch_op(kind)
            }
        };
        let ops: Vec<Value> = if n > 50 {
            let one = op(self);
            vec![one; n]
        } else {
            (0..n).map(|_| op(self)).collect()
        };
        let schemas = if self.p(0.9) {
            json!([PATCH_OP_URN])
        } else {
            self.random_json(1)
        };
        json!({"schemas": schemas, "Operations": ops})
    }

    fn search_body(&mut self) -> Value {
        let mut b = json!({"schemas": [SEARCH_REQUEST_URN]});
        if self.p(0.6) {
            b["filter"] = Value::String(self.filter());
        }
        if self.p(0.3) {
            let s = self.pick(INTS).to_string();
            b["startIndex"] = s
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(s));
        }
        if self.p(0.3) {
            b["count"] = self
                .pick(&[
                    json!(5),
                    json!(-3),
                    json!(u64::MAX),
                    json!(1.5),
                    json!("7"),
                    json!(null),
                ])
                .clone();
        }
        if self.p(0.2) {
            let a = self.attr_list();
            b["attributes"] = if self.p(0.5) {
                Value::String(a)
            } else {
                Value::Array(a.split(',').map(|s| json!(s)).collect())
            };
        }
        if self.p(0.1) {
            b["sortBy"] = json!("userName");
            b["sortOrder"] = json!("descending");
        }
        self.maybe_mutate(b, 0.3)
    }

    fn bulk_body(&mut self) -> Value {
        let n = match self.n(0..50) {
            0 => 0,
            1 => 1001,
            _ => self.n(1..8),
        };
        let mut ops = Vec::new();
        for i in 0..n.min(60) {
            let b = format!("b{}", self.n(0..6));
            let other = format!("bulkId:b{}", self.n(0..6));
            let (method, path, data) = match self.n(0..8) {
                0 | 1 => {
                    let mut u = self.valid_user();
                    if self.p(0.3) {
                        u[ENTERPRISE_URN] = json!({"manager": {"value": other}});
                        u["schemas"] = json!([USER_URN, ENTERPRISE_URN]);
                    }
                    ("POST", "/Users".to_string(), Some(u))
                }
                2 => {
                    // Groups referring to each other's bulkIds: cycles included.
                    let g = json!({"schemas": [GROUP_URN], "displayName": format!("bulk {i}"), "members": [{"value": other}]});
                    ("POST", "/Groups".to_string(), Some(g))
                }
                3 => {
                    let id = self.some_user().unwrap_or_default();
                    let body = self.patch_body(Kind::User);
                    ("PATCH", format!("/Users/{id}"), Some(body))
                }
                4 => {
                    let id = self.some_user().unwrap_or_default();
                    ("DELETE", format!("/Users/{id}"), None)
                }
                5 => {
                    let u = self.valid_user();
                    ("PUT", format!("/Users/{other}"), Some(u))
                }
                6 => {
                    let id = self.some_group().unwrap_or_default();
                    let body = self.patch_body(Kind::Group);
                    ("PATCH", format!("/Groups/{id}"), Some(body))
                }
                _ => {
                    let m = *self.pick(&["GET", "post", "junk", "DELETE", "PUT"]);
                    let p = self
                        .pick(&[
                            "/Bulk",
                            "",
                            "Users",
                            "/Users/../Groups",
                            "/Users/a/b",
                            "/Schemas",
                            "/Users/",
                        ])
                        .to_string();
                    let d = self.random_json(2);
                    (m, p, Some(d))
                }
            };
            let mut op = json!({"method": method, "path": path, "bulkId": b});
            if let Some(d) = data {
                op["data"] = d;
            }
            if self.p(0.1) {
                op["version"] = json!(*self.pick(&["W/\"1\"", "*", "garbage"]));
            }
            let op = self.maybe_mutate(op, 0.15);
            ops.push(op);
        }
        if n > 60 {
            let filler = json!({"method": "DELETE", "path": "/Users/none"});
            ops.resize(n, filler);
        }
        let mut body = json!({"schemas": [BULK_REQUEST_URN], "Operations": ops});
        if self.p(0.3) {
            body["failOnErrors"] = self
                .pick(&[
                    json!(1),
                    json!(0),
                    json!(-1),
                    json!("x"),
                    json!(1e20),
                    json!(2),
                ])
                .clone();
        }
        self.maybe_mutate(body, 0.1)
    }

    /// Headers most requests carry, with the damage some get.
    fn headers(&mut self, body: bool) -> Vec<(String, Vec<u8>)> {
        let mut h: Vec<(String, Vec<u8>)> = Vec::new();
        let auth: Option<Vec<u8>> = match self.n(0..100) {
            0..=2 => None,
            3 => Some(b"Bearer".to_vec()),
            4 => Some(b"Bearer wrong-token".to_vec()),
            5 => Some(b"Basic c3dlZXA6c3dlZXA=".to_vec()),
            6 => Some(format!("bearer {TOKEN}").into_bytes()),
            7 => Some([format!("Bearer {TOKEN}").as_bytes(), b"\xff"].concat()),
            8 => Some(b"Bearer \xff\xfe".to_vec()),
            9 => Some(format!("Bearer  {TOKEN} ").into_bytes()),
            10 => Some(format!("Bearer {}", "t".repeat(8000)).into_bytes()),
            _ => Some(format!("Bearer {TOKEN}").into_bytes()),
        };
        if let Some(a) = auth {
            h.push(("Authorization".into(), a));
        }
        if body {
            let ct: &[u8] = match self.n(0..100) {
                0..=4 => b"-",
                5..=7 => b"application/json",
                8 => b"text/plain",
                9 => b"application/scim+json; charset=latin1",
                10 => b"APPLICATION/SCIM+JSON",
                11 => b"multipart/form-data; boundary=x",
                12 => b"",
                13 => b"application/scim+json\xff",
                14 => b";;;",
                _ => b"application/scim+json",
            };
            // "-": no Content-Type at all.
            if ct != b"-" {
                h.push(("Content-Type".into(), ct.to_vec()));
            }
        }
        if self.p(0.1) {
            let v: &[u8] = self.pick::<&[u8]>(&[
                &b"W/\"1\""[..],
                &b"\"1\""[..],
                &b"*"[..],
                &b"W/\"999\", W/\"2\""[..],
                &b"garbage"[..],
                &b"\xff\xfe"[..],
                &b""[..],
                &b"W/"[..],
            ]);
            let name = if self.p(0.5) {
                "If-Match"
            } else {
                "If-None-Match"
            };
            h.push((name.into(), v.to_vec()));
        }
        if self.p(0.03) {
            let host: &[u8] = self.pick::<&[u8]>(&[
                &b"evil.example"[..],
                &b""[..],
                &b"a\"b"[..],
                &b"[::1]:1"[..],
            ]);
            h.push(("Host".into(), host.to_vec()));
        }
        if self.p(0.05) {
            let (k, v): (&str, Vec<u8>) = match self.n(0..6) {
                0 => ("Accept", b"text/html".to_vec()),
                1 => ("Accept", b"application/scim+json".to_vec()),
                2 => ("X-Junk", b"\xff\x80".to_vec()),
                3 => ("Accept-Encoding", b"gzip, br".to_vec()),
                4 => ("Expect", b"nothing".to_vec()),
                _ => ("X-Long", vec![b'a'; 16_000]),
            };
            h.push((k.into(), v));
        }
        h
    }

    /// A path under the base, sometimes bent out of shape.
    fn decorate(&mut self, path: String) -> String {
        if self.p(0.94) {
            return format!("{BASE}{path}");
        }
        match self.n(0..9) {
            0 => format!("{BASE}{path}/"),
            1 => format!("{BASE}/{path}"),
            2 => format!("{BASE}{}", path.to_lowercase()),
            3 if path.is_empty() => "/".into(),
            3 => path,
            4 => format!("/scim/v2x{path}"),
            5 => format!("/scim/v2/../v2{path}"),
            6 => format!("/scim//v2{path}"),
            7 => format!("{BASE}{}", path.replace('/', "//")),
            _ => format!("{BASE}/./{}", path.trim_start_matches('/')),
        }
    }

    fn req(&mut self, method: &str, path: String, query: String, body: Option<Value>) -> Req {
        let body = body.map(|b| self.bytes(&b));
        let headers = self.headers(body.is_some());
        let mut target = format!("{}{query}", self.decorate(path));
        if target.len() > MAX_TARGET {
            // Longer request targets are hyper's 414, not the application's (see the doc).
            target.truncate(target.find('?').unwrap_or(MAX_TARGET).min(MAX_TARGET));
        }
        Req {
            method: method.to_string(),
            target,
            headers,
            body,
            intent: Intent::Other,
        }
    }

    fn method_for(&mut self, usual: &str) -> String {
        match self.n(0..100) {
            0..=84 => usual.to_string(),
            85..=96 => self
                .pick(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
                .to_string(),
            _ => self.pick(JUNK_METHODS).to_string(),
        }
    }

    fn next(&mut self) -> Req {
        let kind = if self.p(0.6) { Kind::User } else { Kind::Group };
        let endpoint = match kind {
            Kind::User => "/Users",
            Kind::Group => "/Groups",
        };
        match self.n(0..100) {
            // Create.
            0..=17 => {
                let body = match kind {
                    Kind::User => self.valid_user(),
                    Kind::Group if self.groups.len() >= MAX_GROUPS => {
                        let g = self.some_group().unwrap_or_default();
                        return self.req("DELETE", format!("/Groups/{g}"), String::new(), None);
                    }
                    Kind::Group => self.valid_group(),
                };
                let mut body = body;
                let mut intent = Intent::Other;
                if self.p(0.01) {
                    // A large value, up to (and once in a while over) the body limit.
                    let len = if self.p(0.2) {
                        MAX_BODY + 1
                    } else {
                        self.n(100_000..MAX_BODY - 2_000)
                    };
                    body["displayName"] = Value::String("é".repeat(len / 2));
                    intent = Intent::Huge;
                } else if self.p(0.01) {
                    // Up to what fits in the body limit (~30,000 values).
                    let n = *self.pick(&[MAX_MULTI_VALUES, MAX_MULTI_VALUES + 1, 30_000]);
                    let many: Vec<Value> = (0..n)
                        .map(|i| json!({"value": format!("m{i}@example.com")}))
                        .collect();
                    body[if kind == Kind::User {
                        "emails"
                    } else {
                        "members"
                    }] = json!(many);
                    intent = Intent::Huge;
                }
                let body = self.maybe_mutate(body, 0.35);
                let q = self.query(false);
                let m = self.method_for("POST");
                let mut r = self.req(&m, endpoint.into(), q, Some(body));
                r.intent = if m == "POST" { intent } else { Intent::Other };
                r
            }
            // Read one.
            18..=31 => {
                let (id, _) = self.id_for(kind);
                let q = self.query(false);
                let usual = if self.p(0.1) { "HEAD" } else { "GET" };
                let m = self.method_for(usual);
                let body = self.p(0.05).then(|| self.random_json(2));
                self.req(&m, format!("{endpoint}/{id}"), q, body)
            }
            // List.
            32..=43 => {
                let q = self.query(true);
                let m = self.method_for("GET");
                self.req(&m, endpoint.into(), q, None)
            }
            // Search.
            44..=50 => {
                let path = if self.p(0.3) {
                    "/.search".to_string()
                } else {
                    format!("{endpoint}/.search")
                };
                let body = self.search_body();
                let m = self.method_for("POST");
                self.req(&m, path, String::new(), Some(body))
            }
            // Replace.
            51..=58 => {
                let (id, real) = self.id_for(kind);
                let body = match kind {
                    Kind::User => self.valid_user(),
                    Kind::Group => self.valid_group(),
                };
                let body = self.maybe_mutate(body, 0.4);
                let q = self.query(false);
                let m = self.method_for("PUT");
                let mut r = self.req(&m, format!("{endpoint}/{id}"), q, Some(body));
                if let (Some(id), true) = (real, r.body.as_ref().is_some_and(|b| b.len() > 100_000))
                {
                    r.intent = Intent::HugeOn(kind, id);
                }
                r
            }
            // Patch.
            59..=72 => {
                let (id, real) = self.id_for(kind);
                let body = self.patch_body(kind);
                let body = self.maybe_mutate(body, 0.2);
                let q = self.query(false);
                let m = self.method_for("PATCH");
                let mut r = self.req(&m, format!("{endpoint}/{id}"), q, Some(body));
                if let Some(id) = real {
                    r.intent = Intent::HugeOn(kind, id);
                }
                r
            }
            // Delete.
            73..=76 => {
                let (id, _) = self.id_for(kind);
                let m = self.method_for("DELETE");
                self.req(&m, format!("{endpoint}/{id}"), String::new(), None)
            }
            // Bulk.
            77..=84 => {
                let body = self.bulk_body();
                let m = self.method_for("POST");
                self.req(&m, "/Bulk".into(), String::new(), Some(body))
            }
            // Discovery.
            85..=90 => {
                let path = self
                    .pick(&[
                        "/ServiceProviderConfig",
                        "/ResourceTypes",
                        "/ResourceTypes/User",
                        "/ResourceTypes/group",
                        "/ResourceTypes/%FF",
                        "/ResourceTypes/Nope",
                        "/Schemas",
                        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                        "/Schemas/urn%3Anope",
                        "/Schemas/%00",
                        "/Schemas/%C3%28",
                    ])
                    .to_string();
                let q = if self.p(0.2) {
                    "?filter=id%20pr".to_string()
                } else {
                    self.query(false)
                };
                let m = self.method_for("GET");
                let body = (m != "GET" && m != "HEAD").then(|| self.random_json(2));
                self.req(&m, path, q, body)
            }
            // Anything anywhere.
            _ => {
                let path = self
                    .pick(&[
                        "",
                        "/",
                        "/Me",
                        "/Me/x",
                        "/Users/x/y",
                        "/Bulk/x",
                        "/.search/x",
                        "/v2",
                        "/Users/.search/x",
                        "/ServiceProviderConfig/x",
                        "/%2e%2e/%2e%2e/etc",
                        "/Users;x",
                        "/Users%00",
                        "/%E2%98%83",
                    ])
                    .to_string();
                let m = if self.p(0.5) {
                    self.pick(JUNK_METHODS).to_string()
                } else {
                    self.pick(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
                        .to_string()
                };
                let body = self.p(0.5).then(|| self.random_json(3));
                let listing = self.p(0.5);
                let q = self.query(listing);
                self.req(&m, path, q, body)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking answers.

/// What is wrong with an answer, if anything.
fn problem(req: &Req, resp: &Resp) -> Option<String> {
    let me = req.target.starts_with(&format!("{BASE}/Me"));
    if resp.status >= 500 && !(me && resp.status == 501) {
        return Some(format!("{} from the server", resp.status));
    }
    if resp.elapsed > SLOW {
        return Some(format!("answered in {:?}", resp.elapsed));
    }
    if resp.status < 400 || req.method == "HEAD" {
        return None;
    }
    let ct = resp
        .header("content-type")
        .map(|v| String::from_utf8_lossy(v).to_string());
    if !ct
        .as_deref()
        .is_some_and(|c| c.starts_with("application/scim+json"))
    {
        return Some(format!("{} with Content-Type {ct:?}", resp.status));
    }
    let Some(body) = resp.json() else {
        return Some(format!("{} whose body is not JSON", resp.status));
    };
    let urn_ok = body["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == ERROR_URN));
    if !urn_ok {
        return Some(format!("{} without the Error URN in schemas", resp.status));
    }
    if body["status"] != Value::String(resp.status.to_string()) {
        return Some(format!(
            "{} whose status member is {}",
            resp.status, body["status"]
        ));
    }
    None
}

/// The last path segment of a URL.
fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_string()
}

#[derive(Default)]
struct Tally {
    sent: usize,
    by_status: BTreeMap<u16, usize>,
    /// 2xx answers per method, to show the sweep reaches the handlers' success paths.
    ok_by_method: BTreeMap<String, usize>,
    /// /Me's 501 (RFC 7644 §3.11), the one 5xx allowed.
    me_501: usize,
    problems: Vec<String>,
    slowest: Vec<(Duration, String)>,
    /// User id → index of the request whose 201 created it.
    created: BTreeMap<String, usize>,
    deleted: HashSet<String>,
}

impl Tally {
    fn class_counts(&self) -> [usize; 5] {
        let mut c = [0; 5];
        for (s, n) in &self.by_status {
            let i = usize::from(s / 100).clamp(1, 5) - 1;
            c[i] += n;
        }
        c
    }
}

/// The resource kind and id a request target names directly under the base path, if any.
fn target_resource(target: &str) -> Option<(Kind, String)> {
    let path = target.split('?').next().unwrap_or(target);
    let rest = path.strip_prefix(BASE)?;
    let (kind, id) = if let Some(id) = rest.strip_prefix("/Users/") {
        (Kind::User, id)
    } else {
        (Kind::Group, rest.strip_prefix("/Groups/")?)
    };
    (!id.is_empty() && !id.contains('/')).then(|| (kind, id.to_string()))
}

fn delete_req(kind: Kind, id: &str) -> Req {
    let endpoint = if kind == Kind::User {
        "Users"
    } else {
        "Groups"
    };
    Req {
        method: "DELETE".into(),
        target: format!("{BASE}/{endpoint}/{id}"),
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {TOKEN}").into_bytes(),
        )],
        body: None,
        intent: Intent::Other,
    }
}

impl Gen {
    fn forget(&mut self, id: &str) {
        self.users.retain(|u| u != id);
        self.groups.retain(|g| g != id);
        self.gone.push(id.to_string());
    }
}

/// Updates the pools and the durability bookkeeping from one answer; returns follow-up requests.
fn observe(g: &mut Gen, t: &mut Tally, i: usize, req: &Req, resp: &Resp) -> Vec<Req> {
    let ok = (200..300).contains(&resp.status);
    let mut follow = Vec::new();
    let body = if ok { resp.json() } else { None };
    match (req.method.as_str(), resp.status) {
        ("POST", 201) => {
            let b = body.unwrap_or_default();
            if let Some(id) = b["id"].as_str().map(String::from) {
                // From the target: `attributes=` may have left meta out of the answer.
                let kind = if req.target.starts_with(&format!("{BASE}/Users")) {
                    Kind::User
                } else {
                    Kind::Group
                };
                if kind == Kind::User {
                    t.created.insert(id.clone(), i);
                }
                if req.intent == Intent::Huge {
                    follow.push(delete_req(kind, &id));
                } else if kind == Kind::User {
                    g.users.push(id);
                } else {
                    g.groups.push(id);
                }
            }
        }
        ("DELETE", 200..=299) => {
            if let Some((kind, id)) = target_resource(&req.target) {
                if kind == Kind::User {
                    t.deleted.insert(id.clone());
                }
                g.forget(&id);
            }
        }
        ("POST", 200) if req.target.split('?').next() == Some(&format!("{BASE}/Bulk")) => {
            let ops = body.map(|b| b["Operations"].clone());
            for op in ops.as_ref().and_then(Value::as_array).into_iter().flatten() {
                let (Some(method), Some(status), Some(loc)) = (
                    op["method"].as_str(),
                    op["status"].as_str(),
                    op["location"].as_str(),
                ) else {
                    continue;
                };
                let id = last_segment(loc);
                let user = loc.contains("/Users/");
                match (method, status) {
                    ("POST", "201") if user => {
                        t.created.insert(id.clone(), i);
                        g.users.push(id);
                    }
                    ("POST", "201") => g.groups.push(id),
                    ("DELETE", s) if s.starts_with('2') => {
                        if user {
                            t.deleted.insert(id.clone());
                        }
                        g.forget(&id);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if let Intent::HugeOn(kind, id) = &req.intent {
        if ok && req.body.as_ref().is_some_and(|b| b.len() > 100_000) {
            follow.push(delete_req(*kind, id));
        }
    }
    follow
}

fn start_server() -> (tokio::runtime::Runtime, RunningServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(server::start(ServerConfig::ephemeral(TOKEN)))
        .expect("server starts");
    (rt, server)
}

fn get(client: &mut Client, path: &str) -> Resp {
    let req = Req {
        method: "GET".into(),
        target: format!("{BASE}{path}"),
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {TOKEN}").into_bytes(),
        )],
        body: None,
        intent: Intent::Other,
    };
    client.send(&req).expect("request answered")
}

#[test]
fn generated_requests_never_get_a_5xx_and_every_error_is_a_scim_error() {
    let (rt, server) = start_server();
    let mut client = Client::new(server.addr);
    let mut g = Gen::new(SEED);
    let mut t = Tally::default();
    let mut queue: VecDeque<Req> = VecDeque::new();
    let started = Instant::now();
    let mut generated = 0;
    while generated < REQUESTS || !queue.is_empty() {
        let req = match queue.pop_front() {
            Some(r) => r,
            None => {
                generated += 1;
                g.next()
            }
        };
        let i = t.sent;
        t.sent += 1;
        match client.send(&req) {
            Ok(resp) => {
                *t.by_status.entry(resp.status).or_default() += 1;
                if (200..300).contains(&resp.status) {
                    *t.ok_by_method.entry(req.method.clone()).or_default() += 1;
                }
                if resp.status == 501 && problem(&req, &resp).is_none() {
                    t.me_501 += 1;
                }
                if let Some(p) = problem(&req, &resp) {
                    t.problems.push(format!(
                        "#{i}: {p}\n    request: {}\n    answer: {}",
                        describe(&req),
                        show(&resp.body, 300)
                    ));
                }
                t.slowest.push((
                    resp.elapsed,
                    format!("{} {}", req.method, show(req.target.as_bytes(), 120)),
                ));
                t.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
                t.slowest.truncate(5);
                queue.extend(observe(&mut g, &mut t, i, &req, &resp));
            }
            Err(e) => t.problems.push(format!(
                "#{i}: no answer ({e})\n    request: {}",
                describe(&req)
            )),
        }
    }
    let sweep_time = started.elapsed();

    // Still healthy.
    let spc = get(&mut client, "/ServiceProviderConfig");
    assert_eq!(spc.status, 200, "{}", show(&spc.body, 300));

    // Every acknowledged create is still there unless its delete was acknowledged too.
    let mut lost = Vec::new();
    let survivors: Vec<(&String, &usize)> = t
        .created
        .iter()
        .filter(|(id, _)| !t.deleted.contains(*id))
        .collect();
    for (id, i) in &survivors {
        let r = get(&mut client, &format!("/Users/{id}"));
        if r.status != 200 {
            lost.push(format!(
                "user {id} (created by request #{i}): GET answered {}",
                r.status
            ));
        }
    }
    // And what was acknowledged deleted stays deleted.
    let mut undead = Vec::new();
    for id in &t.deleted {
        let r = get(&mut client, &format!("/Users/{id}"));
        if r.status != 404 {
            undead.push(format!("user {id}: GET answered {}", r.status));
        }
    }

    let [c1, c2, c3, c4, c5] = t.class_counts();
    println!(
        "sweep: {} requests in {:.1?} ({} generated, {} follow-up deletes); \
         1xx {c1}, 2xx {c2}, 3xx {c3}, 4xx {c4}, 5xx {c5} (of which /Me 501: {}; other 5xx: {})",
        t.sent,
        sweep_time,
        generated,
        t.sent - generated,
        t.me_501,
        c5 - t.me_501,
    );
    println!("sweep: by status {:?}", t.by_status);
    println!("sweep: 2xx by method {:?}", t.ok_by_method);
    println!(
        "sweep: {} users acknowledged created, {} of them acknowledged deleted; {} read back (200), \
         {} deleted ids read back (404)",
        t.created.len(),
        t.created.keys().filter(|id| t.deleted.contains(*id)).count(),
        survivors.len(),
        t.deleted.len()
    );
    println!("sweep: slowest {:?}", t.slowest);
    assert!(
        t.problems.is_empty(),
        "{} bad answers; the first ones:\n{}",
        t.problems.len(),
        t.problems
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        lost.is_empty(),
        "acknowledged users lost:\n{}",
        lost.join("\n")
    );
    assert!(
        undead.is_empty(),
        "acknowledged deletes undone:\n{}",
        undead.join("\n")
    );
    assert!(t.sent >= REQUESTS);
    rt.block_on(server.stop()).expect("server stops");
}

// ---------------------------------------------------------------------------------------------
// The limits, one by one, and the regressions the sweep found.

struct Probe {
    client: Client,
}

impl Probe {
    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = Req {
            method: method.into(),
            target: format!("{BASE}{path}"),
            headers: vec![
                (
                    "Authorization".into(),
                    format!("Bearer {TOKEN}").into_bytes(),
                ),
                ("Content-Type".into(), b"application/scim+json".to_vec()),
            ],
            body: body.map(|b| serde_json::to_vec(&b).expect("serialise")),
            intent: Intent::Other,
        };
        let resp = self.client.send(&req).expect("answered");
        if let Some(p) = problem(&req, &resp) {
            panic!("{p}: {}", describe(&req));
        }
        (resp.status, resp.json().unwrap_or(Value::Null))
    }

    fn error(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        scim_type: Option<&str>,
    ) -> String {
        let (s, b) = self.call(method, path, body);
        assert_eq!(s, status, "{method} {path}: {b}");
        assert_eq!(b["scimType"].as_str(), scim_type, "{method} {path}: {b}");
        b["detail"].as_str().unwrap_or_default().to_string()
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER_URN], "userName": name})
}

#[test]
fn limits_answer_with_scim_errors_that_name_them() {
    let (rt, server) = start_server();
    let mut p = Probe {
        client: Client::new(server.addr),
    };

    // Filter length: at the limit it is parsed (and here matches nothing); one more is refused.
    let at = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_CHARS - 14));
    assert_eq!(at.chars().count(), MAX_FILTER_CHARS);
    let (s, _) = p.call("GET", &format!("/Users?filter={}", pct(&at)), None);
    assert_eq!(s, 200);
    let over = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_CHARS - 13));
    let d = p.error(
        "GET",
        &format!("/Users?filter={}", pct(&over)),
        None,
        400,
        Some("invalidFilter"),
    );
    assert!(d.contains(&MAX_FILTER_CHARS.to_string()), "{d}");
    let search = json!({"schemas": [SEARCH_REQUEST_URN], "filter": over});
    p.error(
        "POST",
        "/Users/.search",
        Some(search.clone()),
        400,
        Some("invalidFilter"),
    );
    p.error("POST", "/.search", Some(search), 400, Some("invalidFilter"));

    // scim_v2's nesting limit (64) surfaces as invalidFilter.
    let deep = format!("{}userName pr{}", "(".repeat(65), ")".repeat(65));
    let d = p.error(
        "GET",
        &format!("/Users?filter={}", pct(&deep)),
        None,
        400,
        Some("invalidFilter"),
    );
    assert!(d.contains("64"), "{d}");
    let fine = format!("{}userName pr{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(
        p.call("GET", &format!("/Users?filter={}", pct(&fine)), None)
            .0,
        200
    );

    // startIndex / count beyond i64: saturated, never an overflow.
    p.call("POST", "/Users", Some(user("limits.a@example.com")));
    for q in [
        "startIndex=9223372036854775807",
        "startIndex=9223372036854775808",
        "startIndex=-9223372036854775809",
        "count=99999999999999999999999",
        "count=-99999999999999999999999",
        "startIndex=9223372036854775807&count=9223372036854775807",
    ] {
        let (s, b) = p.call("GET", &format!("/Users?{q}"), None);
        assert_eq!(s, 200, "{q}: {b}");
        assert!(b["itemsPerPage"].as_u64().unwrap() <= 1, "{q}: {b}");
    }
    let (s, b) = p.call(
        "POST",
        "/Users/.search",
        Some(json!({"schemas": [SEARCH_REQUEST_URN], "startIndex": u64::MAX, "count": u64::MAX})),
    );
    assert_eq!(s, 200, "{b}");
    p.error("GET", "/Users?count=abc", None, 400, Some("invalidValue"));
    p.error(
        "GET",
        "/Users?startIndex=1.5",
        None,
        400,
        Some("invalidValue"),
    );

    // attributes / excludedAttributes lists.
    let names = |n: usize| {
        (0..n)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        p.call(
            "GET",
            &format!("/Users?attributes={}", names(MAX_ATTRIBUTE_NAMES)),
            None
        )
        .0,
        200
    );
    let d = p.error(
        "GET",
        &format!(
            "/Users?excludedAttributes={}",
            names(MAX_ATTRIBUTE_NAMES + 1)
        ),
        None,
        400,
        Some("invalidValue"),
    );
    assert!(d.contains(&MAX_ATTRIBUTE_NAMES.to_string()), "{d}");
    let (s, created) = p.call("POST", "/Users", Some(user("limits.b@example.com")));
    assert_eq!(s, 201);
    let uid = created["id"].as_str().unwrap().to_string();
    p.error(
        "GET",
        &format!("/Users/{uid}?attributes={}", names(MAX_ATTRIBUTE_NAMES + 1)),
        None,
        400,
        Some("invalidValue"),
    );
    let many: Vec<String> = (0..=MAX_ATTRIBUTE_NAMES).map(|i| format!("a{i}")).collect();
    p.error(
        "POST",
        "/.search",
        Some(json!({"schemas": [SEARCH_REQUEST_URN], "attributes": many})),
        400,
        Some("invalidValue"),
    );

    // PATCH operations per request: 413 (RFC 7644 §3.7.4's answer to too many operations).
    let op = json!({"op": "replace", "path": "displayName", "value": "x"});
    let patch = |n: usize| json!({"schemas": [PATCH_OP_URN], "Operations": vec![op.clone(); n]});
    let (s, b) = p.call(
        "PATCH",
        &format!("/Users/{uid}"),
        Some(patch(MAX_PATCH_OPERATIONS)),
    );
    assert_eq!(s, 200, "{b}");
    let d = p.error(
        "PATCH",
        &format!("/Users/{uid}"),
        Some(patch(MAX_PATCH_OPERATIONS + 1)),
        413,
        None,
    );
    assert!(d.contains(&MAX_PATCH_OPERATIONS.to_string()), "{d}");

    // Values of one multi-valued attribute: per request (413) and per stored resource (400).
    let emails = |n: usize, tag: &str| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"value": format!("{tag}{i}@example.com")}))
            .collect()
    };
    let mut u = user("limits.c@example.com");
    u["emails"] = json!(emails(MAX_MULTI_VALUES + 1, "c"));
    p.error("POST", "/Users", Some(u.clone()), 413, None);
    p.error("PUT", &format!("/Users/{uid}"), Some(u.clone()), 413, None);
    u["emails"] = json!(emails(MAX_MULTI_VALUES, "c"));
    let (s, b) = p.call("POST", "/Users", Some(u));
    assert_eq!(s, 201, "{b}");
    let cid = b["id"].as_str().unwrap().to_string();
    let add = |vals: Vec<Value>| json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "emails", "value": vals}]});
    p.error(
        "PATCH",
        &format!("/Users/{uid}"),
        Some(add(emails(MAX_MULTI_VALUES + 1, "d"))),
        413,
        None,
    );
    let d = p.error(
        "PATCH",
        &format!("/Users/{cid}"),
        Some(add(emails(1, "e"))),
        400,
        Some("invalidValue"),
    );
    assert!(d.contains("emails"), "{d}");
    // Within the limits the same PATCH works.
    assert_eq!(
        p.call(
            "PATCH",
            &format!("/Users/{uid}"),
            Some(add(emails(MAX_MULTI_VALUES, "d")))
        )
        .0,
        200
    );
    // In a Bulk, the limit fails the one operation, inside a 200 BulkResponse.
    let bulk = json!({"schemas": [BULK_REQUEST_URN], "Operations": [
        {"method": "PATCH", "path": format!("/Users/{cid}"), "data": add(emails(1, "f"))},
    ]});
    let (s, b) = p.call("POST", "/Bulk", Some(bulk));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Operations"][0]["status"], "400", "{b}");

    rt.block_on(server.stop()).expect("server stops");
}

#[test]
fn sweep_regressions() {
    let (rt, server) = start_server();
    let mut p = Probe {
        client: Client::new(server.addr),
    };
    // A path id that does not decode to UTF-8 was a plain-text 400 from axum's Path extractor.
    for path in [
        "/Users/%FF",
        "/Groups/%C3%28",
        "/ResourceTypes/%FF",
        "/Schemas/%FF%FE",
    ] {
        p.error("GET", path, None, 404, None);
    }
    p.error("DELETE", "/Users/%FF", None, 404, None);
    p.error(
        "PATCH",
        "/Groups/%FF",
        Some(
            json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "remove", "path": "members"}]}),
        ),
        404,
        None,
    );
    // startIndex beyond i64 was 400 "must be an integer" though it is one.
    assert_eq!(
        p.call("GET", "/Groups?startIndex=9223372036854775808", None)
            .0,
        200
    );
    rt.block_on(server.stop()).expect("server stops");

    // Under `start-index-zero-based`, startIndex i64::MAX overflowed `+ 1` (a panic, so a 500).
    let mut config = ServerConfig::ephemeral(TOKEN);
    config.faults = Faults::new([Fault::StartIndexZeroBased]);
    let faulty = rt.block_on(server::start(config)).expect("server starts");
    let mut p = Probe {
        client: Client::new(faulty.addr),
    };
    for q in [
        "startIndex=9223372036854775807",
        "startIndex=99999999999999999999",
    ] {
        assert_eq!(p.call("GET", &format!("/Users?{q}"), None).0, 200, "{q}");
    }
    rt.block_on(faulty.stop()).expect("server stops");
}
