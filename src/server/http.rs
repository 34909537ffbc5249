//! The HTTP edge of the reference server: SCIM responses and errors, the JSON body extractor with
//! its size limit, bearer-token authentication, and the load-demo latency / error injection.

use super::faults::Fault;
use super::AppState;
use crate::scim::error::ScimError;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM JSON response with optional ETag and Location headers.
pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        ScimResponse {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    pub fn status(status: StatusCode) -> Self {
        ScimResponse {
            status,
            body: None,
            etag: None,
            location: None,
        }
    }

    pub fn render(self, state: &AppState) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(etag) = self
            .etag
            .filter(|_| !state.faults.on(Fault::NoEtag))
            .and_then(|e| HeaderValue::from_str(&e).ok())
        {
            headers.insert(header::ETAG, etag);
        }
        if let Some(loc) = self
            .location
            .filter(|_| !state.faults.on(Fault::NoLocation))
            .and_then(|l| HeaderValue::from_str(&l).ok())
        {
            headers.insert(header::LOCATION, loc);
        }
        match self.body {
            Some(body) => {
                headers.insert(header::CONTENT_TYPE, content_type(state));
                (self.status, headers, body.to_string()).into_response()
            }
            None => (self.status, headers).into_response(),
        }
    }
}

fn content_type(state: &AppState) -> HeaderValue {
    if state.faults.on(Fault::WrongContentType) {
        HeaderValue::from_static("application/json")
    } else {
        HeaderValue::from_static(SCIM_JSON)
    }
}

/// Renders a SCIM error the way RFC 7644 §3.12 shows it (unless a fault says otherwise).
pub fn error_response(state: &AppState, err: &ScimError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if state.faults.on(Fault::ErrorPlainText) {
        return (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            err.detail.clone(),
        )
            .into_response();
    }
    let mut body = err.to_body();
    if let Some(map) = body.as_object_mut() {
        if state.faults.on(Fault::ErrorStatusNumber) {
            map.insert("status".into(), Value::from(err.status));
        }
        if state.faults.on(Fault::NoScimType) {
            map.remove("scimType");
        }
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(state));
    resp
}

/// Either a SCIM response or a SCIM error, rendered against the server state.
pub type Outcome = Result<ScimResponse, ScimError>;

pub fn finish(state: &AppState, outcome: Outcome) -> Response {
    match outcome {
        Ok(r) => r.render(state),
        Err(e) => error_response(state, &e),
    }
}

/// A parsed JSON request body, read under the advertised size limit.
pub struct ScimBody(pub Value);

impl FromRequest<Arc<AppState>> for ScimBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_ascii_lowercase());
        // RFC 7644 §3.1: clients send application/scim+json; plain application/json is widely
        // sent too and accepted. A missing Content-Type is tolerated; anything else is refused.
        if let Some(ct) = &ctype {
            let mime = ct.split(';').next().unwrap_or("").trim();
            // `scim-json-415`: a framework that only parses application/json refuses the SCIM
            // media type itself.
            let refused = state.faults.on(Fault::ScimJson415) && mime == SCIM_JSON;
            // `plain-json-415`: a strict server refuses the application/json Okta sends.
            let refused =
                refused || (state.faults.on(Fault::PlainJson415) && mime == "application/json");
            if refused || !(mime == SCIM_JSON || mime == "application/json" || mime.is_empty()) {
                let err = ScimError::new(
                    415,
                    None,
                    format!("unsupported Content-Type {mime:?}; send application/scim+json"),
                );
                return Err(error_response(state, &err));
            }
        }
        let limit = if state.faults.on(Fault::NoBodyLimit) {
            usize::MAX
        } else {
            state.config.max_body
        };
        let bytes = match axum::body::to_bytes(req.into_body(), limit).await {
            Ok(b) => b,
            Err(_) => {
                let err = ScimError::new(
                    413,
                    None,
                    format!("request body exceeds the {limit}-byte limit advertised in /ServiceProviderConfig"),
                );
                return Err(error_response(state, &err));
            }
        };
        parse_json(&bytes)
            .map(ScimBody)
            .map_err(|e| error_response(state, &e))
    }
}

/// The `{id}` segment of a route, percent-decoded.
///
/// axum's own `Path` answers a segment that does not decode to UTF-8 (`/Users/%FF`) with a
/// plain-text 400; the sweep (`tests/sweep.rs`) found it. Such a segment cannot be the id of
/// anything, so it gets the same SCIM 404 as any unknown id.
pub struct ScimPath(pub String);

impl FromRequestParts<Arc<AppState>> for ScimPath {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(ScimPath(id)),
            Err(rejection) => {
                let err = ScimError::not_found(format!(
                    "no resource at {}: {}",
                    parts.uri.path(),
                    rejection.body_text()
                ));
                Err(error_response(state, &err))
            }
        }
    }
}

/// Parses a request body; serde_json's recursion limit (128) bounds nesting depth.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax(
            "request body is empty; a JSON object is required",
        ));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "request body is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(ScimError::invalid_syntax(
            "request body must be a JSON object",
        ));
    }
    Ok(v)
}

/// Bearer-token authentication on every route (RFC 7644 §2), compared in constant time.
///
/// GET /ServiceProviderConfig is the exception: RFC 7643 §5 asks that authenticationSchemes be
/// readable without prior authentication, so a client can learn how to authenticate
/// (`spc-requires-auth` takes the exception away). It holds no tenant data.
pub async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if state.faults.on(Fault::NoAuth) {
        return next.run(req).await;
    }
    let public = req.method() == axum::http::Method::GET
        && req.uri().path() == "/ServiceProviderConfig"
        && !state.faults.on(Fault::SpcRequiresAuth);
    if public {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    // `any-token-accepted`: the classic "is there a bearer token at all?" check.
    let ok = presented.is_some_and(|t| {
        state.faults.on(Fault::AnyTokenAccepted)
            || bool::from(t.as_bytes().ct_eq(state.config.token.as_bytes()))
    });
    if ok {
        return next.run(req).await;
    }
    let detail = if presented.is_some() {
        "the bearer token is not valid"
    } else {
        "authentication required: send Authorization: Bearer <token>"
    };
    let mut resp = error_response(&state, &ScimError::new(401, None, detail));
    if !state.faults.on(Fault::NoWwwAuthenticate) {
        let challenge = if presented.is_some() {
            "Bearer realm=\"scimtest\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"scimtest\""
        };
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    resp
}

/// `--latency` and `--error-rate`: slow every request down and fail a share of them with 503,
/// so load thresholds can be demonstrated passing and failing.
///
/// It also hosts `json-accept-406`: a server that only serves `Accept: application/scim+json`.
pub async fn inject(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if state.faults.on(Fault::JsonAccept406) {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim().eq_ignore_ascii_case("application/json") {
            let err = ScimError::new(406, None, format!("only {SCIM_JSON} is served"));
            return error_response(&state, &err);
        }
    }
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    if let Some(date) = super::vendor_faults::throttled(&state) {
        let mut resp = error_response(&state, &ScimError::new(429, None, "too many requests"));
        if let Ok(v) = HeaderValue::from_str(&date) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    if state.config.error_rate > 0.0 && rand::random::<f64>() < state.config.error_rate {
        let mut resp = error_response(
            &state,
            &ScimError::new(503, None, "injected failure (--error-rate)"),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    next.run(req).await
}

/// Unknown paths under the base path: a SCIM 404, not an empty body.
pub async fn not_found(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response {
    let err = ScimError::not_found(format!("no SCIM endpoint at {}", req.uri().path()));
    error_response(&state, &err)
}

/// A method the endpoint does not offer (e.g. PUT /Users): a SCIM 405, not an empty body.
pub async fn method_not_supported(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Response {
    let err = ScimError::new(
        405,
        None,
        format!("{} is not supported on {}", req.method(), req.uri().path()),
    );
    error_response(&state, &err)
}

/// Writes to read-only endpoints (RFC 7644 §4: discovery is GET only).
pub fn method_not_allowed(state: &AppState, what: &str) -> Response {
    if state.faults.on(Fault::DiscoveryWritable) {
        return ScimResponse::ok(serde_json::json!({})).render(state);
    }
    let mut resp = error_response(
        state,
        &ScimError::new(405, None, format!("{what} is read-only")),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    resp
}

/// The base URL clients reached us at, for `meta.location` and `Location`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(String::from)
        .unwrap_or_else(|| state.local_addr.to_string());
    format!("http://{host}{}", state.config.base_path)
}
