//! Discovery (RFC 7644 §4) before any test: what the target advertises, which resource types
//! and extensions it offers, and probes for features that have no advertisement. Gates are
//! decided from this.

use super::http::{HttpError, Target};
use crate::results::Discovery;
use crate::scim::schema::ENTERPRISE_URN;
use crate::suite::model::{Auth, Extension, Feature, Probe, Requires};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Discovery failed so badly that no test can run (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

async fn get_json(target: &Target, path: &str) -> Result<Result<Value, String>, Unreachable> {
    let url = target.url(path).map_err(Unreachable)?;
    match target
        .send("GET", url, &BTreeMap::new(), None, Auth::Default)
        .await
    {
        Ok(r) if r.status == 200 => Ok(r
            .json()
            .ok_or_else(|| format!("GET {path}: 200 but the body is not JSON"))),
        Ok(r) => Ok(Err(
            match r.header("location").filter(|_| r.status / 100 == 3) {
                // Redirects are not followed (credentials stay on the target's origin); saying where
                // it points shows a wrong --url (http for https, a missing base path).
                Some(to) => format!(
                    "GET {path} answered {}, a redirect to {} (not followed; check --url)",
                    r.status,
                    target.redact(to)
                ),
                None => format!("GET {path} answered {}", r.status),
            },
        )),
        Err(e @ HttpError::Timeout(_)) => Err(Unreachable(format!(
            "no answer from {} ({path}): {e}",
            target.base_url
        ))),
        Err(e @ HttpError::Connect(_)) => Err(Unreachable(format!(
            "cannot reach {}: {e}",
            target.base_url
        ))),
        Err(e) => Ok(Err(format!("GET {path}: {e}"))),
    }
}

/// Reads /ServiceProviderConfig, /ResourceTypes and /Schemas, then runs the probes.
pub async fn discover(target: &Target, prefix: &str) -> Result<Discovery, Unreachable> {
    let mut d = Discovery::default();
    match get_json(target, "/ServiceProviderConfig").await? {
        Ok(spc) => {
            for f in Feature::ALL {
                let on = spc
                    .get(f.spc_key())
                    .and_then(|v| v.get("supported"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                d.features.insert(f.spc_key().to_string(), on);
            }
        }
        Err(p) => d.problems.push(p),
    }
    match get_json(target, "/ResourceTypes").await? {
        Ok(rts) => {
            // A ListResponse (RFC 7644 §4) or, from some servers, a bare array.
            let items = rts
                .get("Resources")
                .and_then(Value::as_array)
                .or_else(|| rts.as_array())
                .cloned()
                .unwrap_or_default();
            for rt in items {
                if let Some(name) = rt
                    .get("name")
                    .or_else(|| rt.get("id"))
                    .and_then(Value::as_str)
                {
                    d.resource_types.push(name.to_string());
                }
                for ext in rt
                    .get("schemaExtensions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = ext.get("schema").and_then(Value::as_str) {
                        if !d.extensions.iter().any(|e| e == s) {
                            d.extensions.push(s.to_string());
                        }
                    }
                }
            }
        }
        Err(p) => d.problems.push(p),
    }
    if let Err(p) = get_json(target, "/Schemas").await? {
        d.problems.push(p);
    }
    if d.problems.len() == 3 {
        return Err(Unreachable(format!(
            "{} does not look like a SCIM service provider: {}",
            target.base_url,
            d.problems.join("; ")
        )));
    }
    // The root probe filters on id, which every resource type has: a userName filter there
    // would make a server that (wrongly) refuses other types' attributes in root queries look
    // as if it had no root search at all, hiding its P-3.4.2.1-04 failure behind a skip.
    let search_body = |attr: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": format!("{attr} eq \"{prefix}-probe\""),
            "count": 1,
        })
    };
    for (probe, path, attr) in [
        (Probe::Search, "/Users/.search", "userName"),
        (Probe::RootSearch, "/.search", "id"),
    ] {
        let ok = post_ok(target, path, &search_body(attr)).await;
        d.probes.insert(probe_name(probe).into(), ok);
    }
    let me = match target.url("/Me") {
        Ok(u) => {
            matches!(target.send("GET", u, &BTreeMap::new(), None, Auth::Default).await, Ok(r) if r.status == 200)
        }
        Err(_) => false,
    };
    d.probes.insert(probe_name(Probe::Me).into(), me);
    Ok(d)
}

async fn post_ok(target: &Target, path: &str, body: &Value) -> bool {
    let Ok(url) = target.url(path) else {
        return false;
    };
    let mut headers = BTreeMap::new();
    headers.insert(
        "content-type".to_string(),
        "application/scim+json".to_string(),
    );
    matches!(
        target.send("POST", url, &headers, Some(body.to_string().into_bytes()), Auth::Default).await,
        Ok(r) if r.status == 200 && r.json().is_some_and(|b| b.get("Resources").is_some() || b.get("totalResults").is_some())
    )
}

pub fn probe_name(p: Probe) -> &'static str {
    match p {
        Probe::Search => "search",
        Probe::RootSearch => "root_search",
        Probe::Me => "me",
    }
}

/// Why a test cannot run on this target, if a gate is not met.
pub fn unmet(requires: &Requires, d: &Discovery) -> Option<String> {
    for rt in &requires.resource_types {
        if !d.resource_types.iter().any(|t| t.eq_ignore_ascii_case(rt)) {
            return Some(format!("resource type {rt} not offered"));
        }
    }
    for f in &requires.features {
        if !d.features.get(f.spc_key()).copied().unwrap_or(false) {
            return Some(format!("{} not advertised", f.spc_key()));
        }
    }
    for p in &requires.probes {
        if !d.probes.get(probe_name(*p)).copied().unwrap_or(false) {
            return Some(format!("{} not available (probe failed)", probe_name(*p)));
        }
    }
    for e in &requires.extensions {
        let urn = match e {
            Extension::Enterprise => ENTERPRISE_URN,
        };
        if !d.extensions.iter().any(|x| x.eq_ignore_ascii_case(urn)) {
            return Some("enterprise extension not offered".into());
        }
    }
    None
}
