//! The target and its HTTP client: one shared reqwest client, credentials attached only to
//! requests for the target's own origin, response bodies read under a size cap, secrets redacted
//! from everything that is recorded.

use crate::suite::model::Auth;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What we replace secrets with in anything recorded.
pub const REDACTED: &str = "[redacted]";

/// Largest response body read; the rest is refused (a hostile server cannot exhaust memory).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("response body exceeds {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Other(String),
}

/// A received response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub duration: Duration,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How TLS is verified. Verification is on unless `insecure`.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Accept any certificate (`--insecure`).
    pub insecure: bool,
    /// Extra trusted CA certificates, PEM (`--cacert`).
    pub cacert: Option<std::path::PathBuf>,
    /// Client certificate and key for mutual TLS, PEM (`--cert`, `--key`).
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
}

/// The SCIM service provider under test.
#[derive(Clone)]
pub struct Target {
    pub base_url: Url,
    client: reqwest::Client,
    /// Headers carrying credentials (Authorization from `--token`, and every `--header`).
    auth_headers: Vec<(HeaderName, HeaderValue)>,
    /// Strings that must never appear in output (token and header values).
    secrets: Vec<String>,
    pub timeout: Duration,
    /// Request-rate cap shared by every request of the run (e.g. Entra ID's 25 requests/s per
    /// tenant), as the next free send slot.
    pacing: Option<std::sync::Arc<Pacer>>,
}

/// Spaces requests `interval` apart across all tasks: each send reserves the next slot.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Target {
    /// Caps the request rate at `per_second` for every request sent through this target.
    pub fn with_rate_limit(mut self, per_second: f64) -> Self {
        if per_second > 0.0 {
            self.pacing = Some(std::sync::Arc::new(Pacer {
                interval: Duration::from_secs_f64(1.0 / per_second),
                next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            }));
        }
        self
    }

    /// `base_url` without a trailing slash; `token` becomes `Authorization: Bearer …`.
    pub fn new(
        base_url: &str,
        token: Option<&str>,
        headers: &[(String, String)],
        timeout: Duration,
        tls: &TlsOptions,
    ) -> Result<Target, String> {
        let trimmed = base_url.trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|e| format!("invalid --url {trimmed:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("--url must be http(s), got {}", base.scheme()));
        }
        let mut auth_headers = Vec::new();
        let mut secrets = Vec::new();
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            let v = HeaderValue::from_str(&format!("Bearer {t}"))
                .map_err(|_| "the token contains characters not allowed in a header".to_string())?;
            auth_headers.push((AUTHORIZATION, v));
            secrets.push(t.to_string());
        }
        for (name, value) in headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            let v = HeaderValue::from_str(value.trim())
                .map_err(|_| format!("invalid value for header {name}"))?;
            auth_headers.push((n, v));
            if value.trim().len() >= 4 {
                secrets.push(value.trim().to_string());
                // "Bearer abc" sent by --header: the bare credential is secret too.
                if let Some((_, cred)) = value.trim().split_once(' ') {
                    if cred.len() >= 4 {
                        secrets.push(cred.to_string());
                    }
                }
            }
        }
        // A secret quoted in JSON or in a Rust debug string may be escaped: hide those forms too.
        let escaped: Vec<String> = secrets
            .iter()
            .flat_map(|s| {
                let json = serde_json::to_string(s).unwrap_or_default();
                let debug = format!("{s:?}");
                [json, debug]
                    .into_iter()
                    .map(|q| {
                        let inner = q.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
                        inner.unwrap_or(&q).to_string()
                    })
                    .filter(|q| q != s && !q.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        secrets.extend(escaped);
        let client = build_client(timeout, tls)?;
        Ok(Target {
            base_url: base,
            client,
            auth_headers,
            secrets,
            timeout,
            pacing: None,
        })
    }

    /// The credential headers (`--token`, `--header`), marked sensitive so no debug output of a
    /// client or request shows them.
    pub fn credential_headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (n, v) in &self.auth_headers {
            let mut v = v.clone();
            v.set_sensitive(true);
            map.append(n.clone(), v);
        }
        map
    }

    /// Resolves a suite path: relative paths are appended to the base URL; absolute URLs must be
    /// on the target's origin (credentials never go elsewhere).
    pub fn url(&self, path: &str) -> Result<Url, String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            let u = Url::parse(path).map_err(|e| format!("invalid URL {path:?}: {e}"))?;
            if u.origin() != self.base_url.origin() {
                return Err(format!(
                    "refusing to send a request to {} : it is not the target's origin",
                    u.origin().ascii_serialization()
                ));
            }
            return Ok(u);
        }
        let joined = format!(
            "{}{}{}",
            self.base_url.as_str().trim_end_matches('/'),
            if path.starts_with('/') { "" } else { "/" },
            path
        );
        Url::parse(&joined).map_err(|e| format!("invalid path {path:?}: {e}"))
    }

    /// Sends one request. An idempotent request (GET, HEAD, PUT, DELETE) that fails before any
    /// answer — typically a kept-alive connection the server had already closed — is tried once
    /// more; a timeout or a non-idempotent request is never repeated.
    pub async fn send(
        &self,
        method: &str,
        url: Url,
        headers: &BTreeMap<String, String>,
        body: Option<Vec<u8>>,
        auth: Auth,
    ) -> Result<HttpResponse, HttpError> {
        let idempotent = matches!(
            method.to_ascii_uppercase().as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE"
        );
        match self
            .send_once(method, url.clone(), headers, body.clone(), auth)
            .await
        {
            Err(HttpError::Connect(_) | HttpError::Other(_)) if idempotent => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.send_once(method, url, headers, body, auth).await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        method: &str,
        url: Url,
        headers: &BTreeMap<String, String>,
        body: Option<Vec<u8>>,
        auth: Auth,
    ) -> Result<HttpResponse, HttpError> {
        let m = Method::from_bytes(method.as_bytes())
            .map_err(|_| HttpError::Other(format!("invalid method {method}")))?;
        if let Some(p) = &self.pacing {
            p.wait().await;
        }
        let mut rb = self.client.request(m, url);
        match auth {
            Auth::Default => {
                for (n, v) in &self.auth_headers {
                    rb = rb.header(n, v);
                }
            }
            Auth::None => {}
            Auth::Invalid => {
                rb = rb.header(AUTHORIZATION, "Bearer scimtest-invalid-token-0000");
            }
        }
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let started = Instant::now();
        // reqwest's own timeout is a total deadline that covers the body too; this outer one
        // makes that a property of this function, whatever the client underneath does.
        let exchange = async {
            let mut resp = rb.send().await.map_err(|e| self.classify(e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            // A declared length over the cap is refused before reading a byte of it.
            if !method.eq_ignore_ascii_case("HEAD") {
                if let Some(len) = resp.content_length() {
                    if len > MAX_RESPONSE_BYTES as u64 {
                        return Err(HttpError::TooLarge);
                    }
                }
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout(self.timeout))??;
        Ok(HttpResponse {
            status,
            headers,
            body,
            duration: started.elapsed(),
        })
    }

    fn classify(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            return HttpError::Timeout(self.timeout);
        }
        let chain = error_chain(&e);
        // A refused TLS handshake is reported like a refused connection, with what to do about
        // it; in TLS 1.3 a refused client certificate only shows once the request is under way.
        match tls_hint(&chain) {
            Some(hint) => HttpError::Connect(self.redact(&format!("{chain} ({hint})"))),
            None if e.is_connect() => HttpError::Connect(self.redact(&chain)),
            None => HttpError::Other(self.redact(&chain)),
        }
    }

    /// Replaces every secret in `s`.
    pub fn redact(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Header values safe to record: credentials replaced.
    pub fn record_headers(&self, headers: &HeaderMap) -> BTreeMap<String, String> {
        headers
            .iter()
            .map(|(k, v)| {
                let value = if k == AUTHORIZATION
                    || k.as_str().eq_ignore_ascii_case("cookie")
                    || k.as_str().eq_ignore_ascii_case("set-cookie")
                {
                    REDACTED.to_string()
                } else {
                    self.redact(&String::from_utf8_lossy(v.as_bytes()))
                };
                (k.as_str().to_string(), value)
            })
            .collect()
    }

    /// The request headers a step sent, as recorded (credentials shown as redacted).
    pub fn record_request_headers(
        &self,
        step_headers: &BTreeMap<String, String>,
        auth: Auth,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match auth {
            Auth::Default => {
                for (n, _) in &self.auth_headers {
                    out.insert(n.as_str().to_string(), REDACTED.to_string());
                }
            }
            Auth::None => {}
            Auth::Invalid => {
                out.insert(
                    "authorization".into(),
                    "Bearer (deliberately invalid token)".into(),
                );
            }
        }
        for (k, v) in step_headers {
            out.insert(k.to_ascii_lowercase(), self.redact(v));
        }
        out
    }
}

/// The one HTTP client of a run: no redirects followed, a total deadline per request, TLS as
/// `tls` says (verification on unless `--insecure`).
fn build_client(timeout: Duration, tls: &TlsOptions) -> Result<reqwest::Client, String> {
    client_builder(timeout, tls)?
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))
}

/// The HTTP client settings every request to a target uses (no redirects followed, timeouts,
/// TLS as the user chose); the load generator builds one client per virtual user from it.
pub fn client_builder(
    timeout: Duration,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        // Redirects are responses to check, not to follow: following one to another origin
        // could carry credentials there.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .tls_danger_accept_invalid_certs(tls.insecure)
        .user_agent(concat!("scimtest/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &tls.cacert {
        builder = builder.tls_certs_merge(load_ca(path)?);
    }
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => builder = builder.identity(load_identity(cert, key)?),
        (None, None) => {}
        _ => return Err("--cert and --key go together (client certificate and its key)".into()),
    }
    Ok(builder)
}

/// Reads a PEM file given with `flag`.
fn read_pem(path: &Path, flag: &str) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{flag} {} is not a PEM file (it is binary; a DER file converts with `openssl x509 -inform der -in FILE -out FILE.pem`)",
            path.display()
        )
    })
}

/// The `-----BEGIN LABEL-----` … `-----END LABEL-----` blocks of a PEM text, as (label, block).
fn pem_blocks(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut block = format!("{line}\n");
        loop {
            match lines.next() {
                Some(l) if l == end => {
                    block.push_str(l);
                    block.push('\n');
                    break;
                }
                Some(l) => {
                    block.push_str(l);
                    block.push('\n');
                }
                None => return Err(format!("the {label} block has no `{end}` line")),
            }
        }
        out.push((label.to_string(), block));
    }
    Ok(out)
}

/// Checks TLS material by building a client with it alone (no system roots are loaded), so a
/// bad file is reported by name instead of as a generic client error.
fn check_material(path: &Path, flag: &str, builder: reqwest::ClientBuilder) -> Result<(), String> {
    builder
        .build()
        .map(drop)
        .map_err(|e| format!("{flag} {}: unusable: {}", path.display(), error_chain(&e)))
}

/// The CA certificates of `--cacert`, added to the system's roots.
fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let text = read_pem(path, "--cacert")?;
    let blocks = pem_blocks(&text).map_err(|e| format!("--cacert {}: {e}", path.display()))?;
    let pem: String = blocks
        .iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, b)| b.as_str())
        .collect();
    if pem.is_empty() {
        return Err(format!(
            "--cacert {}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
        format!(
            "--cacert {}: invalid certificate: {}",
            path.display(),
            error_chain(&e)
        )
    })?;
    check_material(
        path,
        "--cacert",
        reqwest::Client::builder().tls_certs_only(certs.clone()),
    )?;
    Ok(certs)
}

/// The client identity of `--cert` (certificate chain, leaf first) and `--key` (its private
/// key); both may name the same file holding both.
fn load_identity(cert: &Path, key: &Path) -> Result<reqwest::Identity, String> {
    let cert_blocks = pem_blocks(&read_pem(cert, "--cert")?)
        .map_err(|e| format!("--cert {}: {e}", cert.display()))?;
    let key_blocks = pem_blocks(&read_pem(key, "--key")?)
        .map_err(|e| format!("--key {}: {e}", key.display()))?;
    let chain: String = cert_blocks
        .iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, b)| b.as_str())
        .collect();
    if chain.is_empty() {
        return Err(format!(
            "--cert {}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
            cert.display()
        ));
    }
    if key_blocks
        .iter()
        .any(|(label, _)| label == "ENCRYPTED PRIVATE KEY")
    {
        return Err(format!(
            "--key {}: the key is encrypted; give it unencrypted (`openssl pkey -in KEY -out PLAIN.pem`)",
            key.display()
        ));
    }
    let keys: Vec<&str> = key_blocks
        .iter()
        .filter(|(label, _)| {
            matches!(
                label.as_str(),
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
            )
        })
        .map(|(_, b)| b.as_str())
        .collect();
    let key_pem = match keys.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "--key {}: no private key in it (expected -----BEGIN PRIVATE KEY-----)",
                key.display()
            ))
        }
        _ => {
            return Err(format!(
                "--key {}: {} private keys in it; give exactly one",
                key.display(),
                keys.len()
            ))
        }
    };
    let identity =
        reqwest::Identity::from_pem(format!("{chain}{key_pem}").as_bytes()).map_err(|e| {
            format!(
                "--cert {} / --key {}: {}",
                cert.display(),
                key.display(),
                error_chain(&e)
            )
        })?;
    // Parses the key and checks that it belongs to the certificate.
    check_material(
        cert,
        "--cert/--key",
        reqwest::Client::builder()
            .tls_certs_only(Vec::new())
            .identity(identity.clone()),
    )
    .map_err(|e| {
        if e.contains("KeyMismatch") {
            format!(
                "--key {} is not the private key of --cert {}",
                key.display(),
                cert.display()
            )
        } else {
            format!("{e} (key {})", key.display())
        }
    })?;
    Ok(identity)
}

/// What a TLS failure in an error chain means for the user, if the chain holds one.
fn tls_hint(chain: &str) -> Option<&'static str> {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("invalid peer certificate") {
        Some(if lower.contains("not valid for name") {
            "TLS: the server's certificate is for another host name"
        } else if lower.contains("expired")
            || lower.contains("not valid yet")
            || lower.contains("notvalidyet")
        {
            "TLS: the server's certificate is outside its validity period"
        } else {
            "TLS: the server's certificate was rejected; a private CA is trusted with --cacert FILE"
        })
    } else if lower.contains("alert")
        && (lower.contains("certificate")
            || lower.contains("unknownca")
            || lower.contains("handshakefailure"))
    {
        Some("TLS: the server refused the handshake; if it requires a client certificate, give one with --cert FILE --key FILE")
    } else if lower.contains("invalidcontenttype") || lower.contains("corrupt message") {
        Some("TLS: the server did not answer in TLS; is it plain http?")
    } else {
        None
    }
}

/// The error with its causes, which is where reqwest puts the useful part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// A body excerpt for reports: at most `max` characters, secrets redacted.
pub fn excerpt(target: &Target, bytes: &[u8], max: usize) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let pretty = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.into_owned());
    let mut s = target.redact(&pretty);
    if s.chars().count() > max {
        s = s.chars().take(max).collect::<String>() + "\n… (truncated)";
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(token: &str) -> Target {
        Target::new(
            "http://127.0.0.1:9/scim/v2",
            Some(token),
            &[],
            Duration::from_secs(1),
            &TlsOptions::default(),
        )
        .expect("target")
    }

    #[test]
    fn redact_hides_escaped_forms_of_a_secret() {
        let t = target(r#"tok"en\x"#);
        let debug = format!("{:?}", r#"Bearer tok"en\x"#);
        let json = serde_json::to_string(r#"Bearer tok"en\x"#).expect("json");
        for s in [r#"Bearer tok"en\x"#, debug.as_str(), json.as_str()] {
            let out = t.redact(s);
            assert!(out.contains(REDACTED), "{s} → {out}");
            assert!(!out.contains("tok"), "{s} → {out}");
        }
    }

    #[test]
    fn pem_blocks_reads_labels_and_refuses_an_unterminated_block() {
        let text = "junk\r\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n\
                    -----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----\n";
        let blocks = pem_blocks(text).expect("blocks");
        let labels: Vec<&str> = blocks.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["CERTIFICATE", "EC PRIVATE KEY"]);
        assert_eq!(
            blocks[0].1,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
        let err = pem_blocks("-----BEGIN CERTIFICATE-----\nAAAA\n").expect_err("no END");
        assert!(err.contains("-----END CERTIFICATE-----"), "{err}");
        assert!(pem_blocks("nothing here").expect("ok").is_empty());
    }

    #[test]
    fn tls_hints_say_what_to_do() {
        let h = |s: &str| tls_hint(s).unwrap_or("");
        assert!(h("invalid peer certificate: UnknownIssuer").contains("--cacert"));
        assert!(
            h("invalid peer certificate: certificate not valid for name \"x\"")
                .contains("another host name")
        );
        assert!(h("invalid peer certificate: certificate expired: …").contains("validity"));
        assert!(h("received fatal alert: CertificateRequired").contains("--cert"));
        assert!(h("received corrupt message of type InvalidContentType").contains("plain http"));
        assert_eq!(tls_hint("connection reset by peer"), None);
    }

    #[test]
    fn cert_without_key_is_refused() {
        let tls = TlsOptions {
            cert: Some("c.pem".into()),
            ..TlsOptions::default()
        };
        let err = Target::new("https://x.example", None, &[], Duration::from_secs(1), &tls)
            .err()
            .expect("refused");
        assert!(err.contains("--key"), "{err}");
    }
}
