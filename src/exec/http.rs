//! The target and its HTTP client: one shared reqwest client, credentials attached only to
//! requests for the target's own origin, response bodies read under a size cap, secrets redacted
//! from everything that is recorded.

use crate::suite::model::Auth;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use std::collections::BTreeMap;
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
}

impl Target {
    /// `base_url` without a trailing slash; `token` becomes `Authorization: Bearer …`.
    pub fn new(
        base_url: &str,
        token: Option<&str>,
        headers: &[(String, String)],
        timeout: Duration,
        insecure: bool,
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
        let client = reqwest::Client::builder()
            // Redirects are responses to check, not to follow: following one to another origin
            // could carry credentials there.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .tls_danger_accept_invalid_certs(insecure)
            .user_agent(concat!("scimtest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Target {
            base_url: base,
            client,
            auth_headers,
            secrets,
            timeout,
        })
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

    /// Sends one request.
    pub async fn send(
        &self,
        method: &str,
        url: Url,
        headers: &BTreeMap<String, String>,
        body: Option<Vec<u8>>,
        auth: Auth,
    ) -> Result<HttpResponse, HttpError> {
        let m = Method::from_bytes(method.as_bytes())
            .map_err(|_| HttpError::Other(format!("invalid method {method}")))?;
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
        let mut resp = rb.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            duration: started.elapsed(),
        })
    }

    fn classify(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            HttpError::Timeout(self.timeout)
        } else if e.is_connect() {
            HttpError::Connect(self.redact(&error_chain(&e)))
        } else {
            HttpError::Other(self.redact(&error_chain(&e)))
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
