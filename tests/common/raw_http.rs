//! Plain HTTP/1.1 over a TcpStream, so tests that spawn the binary need no async client.

use ::reqwest::Url;
use std::io::{Read, Write};

/// One request; returns (status, raw header block, body).
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let url = Url::parse(base).expect("url");
    let addr = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {}{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url.path(),
        body.len()
    )
    .expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let (head, rest) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), rest.to_string())
}
