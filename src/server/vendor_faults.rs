//! The faults of the vendor profiles (asana, okta, entra): each helper makes the server commit one
//! realistic mistake that breaks an identity provider's request dialect or a vendor contract, and
//! does nothing unless its fault is switched on. The asana-only faults are checked where the
//! contract is played (`Ctx::contract_rules`, `Ctx::delete`, `Ctx::list`, the group PATCH route);
//! the helpers below serve the faults that bend requests and responses of any contract.

use super::faults::{Fault, Faults};
use super::AppState;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{AttrType, Mutability, ResourceType};
use crate::scim::value::get_ci;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn op_name(op: &Value) -> &str {
    op.as_object()
        .and_then(|o| get_ci(o, "op"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn op_path(op: &Value) -> Option<&str> {
    op.as_object()
        .and_then(|o| get_ci(o, "path"))
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
}

fn is_true_or_false(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

/// Faults that change how a PATCH request's operations are read (any contract).
pub fn patch_ops(faults: &Faults, rt: &ResourceType, ops: &mut [Value]) -> ScimResult<()> {
    // `members-remove-value-array-ignored`: the literal RFC reading of Entra's
    // `{"op":"Remove","path":"members","value":[{"value":"id"}]}` — no filter, so the value is
    // dropped and every member goes (MicrosoftDocs/azure-docs#30826).
    if faults.on(Fault::MembersRemoveValueArrayIgnored) {
        for op in ops.iter_mut() {
            let plain_members =
                op_path(op).is_some_and(|p| p.trim().eq_ignore_ascii_case("members"));
            if op_name(op).eq_ignore_ascii_case("remove") && plain_members {
                if let Some(o) = op.as_object_mut() {
                    o.retain(|k, _| !k.eq_ignore_ascii_case("value"));
                }
            }
        }
    }
    for op in ops.iter() {
        let value = op.as_object().and_then(|o| get_ci(o, "value"));
        // `boolean-strings-rejected`: a strictly typed server refuses Entra's `"False"`.
        if faults.on(Fault::BooleanStringsRejected) {
            let boolean = |path: &str| {
                rt.resolve_str(path)
                    .is_some_and(|r| r.leaf().attr_type == AttrType::Boolean)
            };
            let stringly = match (op_path(op), value) {
                (Some(p), Some(Value::String(s))) => boolean(p) && is_true_or_false(s),
                (None, Some(Value::Object(m))) => m
                    .iter()
                    .any(|(k, v)| boolean(k) && v.as_str().is_some_and(is_true_or_false)),
                _ => false,
            };
            if stringly {
                return Err(ScimError::invalid_value(
                    "Boolean attributes take JSON true or false, not strings",
                ));
            }
        }
        // `member-ref-null-rejected`: `"$ref": null` read as an invalid reference.
        if faults.on(Fault::MemberRefNullRejected) {
            let items: Vec<&Value> = match value {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v @ Value::Object(_)) => vec![v],
                _ => vec![],
            };
            let null_ref = items.iter().any(|i| {
                i.as_object()
                    .and_then(|o| get_ci(o, "$ref"))
                    .is_some_and(Value::is_null)
            });
            if null_ref {
                return Err(ScimError::invalid_value("$ref must be a URI"));
            }
        }
        // `patch-readonly-resend-rejected`: any readOnly key in a path-less value is refused,
        // even Okta's unchanged `id` re-sent with every group push.
        if faults.on(Fault::PatchReadonlyResendRejected) && op_path(op).is_none() {
            if let Some(Value::Object(m)) = value {
                if let Some(k) = m.keys().find(|k| {
                    rt.resolve_str(k)
                        .is_some_and(|r| r.attr.mutability == Mutability::ReadOnly)
                }) {
                    return Err(ScimError::mutability(format!(
                        "attribute '{k}' is readOnly"
                    )));
                }
            }
        }
    }
    // `patch-dotted-keys-ignored`: a path-less value is read as top-level attribute names only,
    // so Entra's `"name.givenName"` and `"urn:…:User:employeeNumber"` keys match nothing.
    if faults.on(Fault::PatchDottedKeysIgnored) {
        let whole_urn = |k: &str| rt.schema_urns().any(|u| u.eq_ignore_ascii_case(k));
        for op in ops.iter_mut().filter(|op| op_path(op).is_none()) {
            if let Some(Value::Object(m)) = op.as_object_mut().and_then(|o| o.get_mut("value")) {
                m.retain(|k, _| whole_urn(k) || !(k.contains('.') || k.contains(':')));
            }
        }
    }
    Ok(())
}

/// `readonly-in-body-rejected`: a POST or PUT body naming a readOnly attribute (Okta's
/// `groups: []`, Entra's `meta`, the `id` of a PUT) is refused instead of the value being ignored.
pub fn check_body(faults: &Faults, rt: &ResourceType, body: &Value) -> ScimResult<()> {
    if !faults.on(Fault::ReadonlyInBodyRejected) {
        return Ok(());
    }
    let Some(obj) = body.as_object() else {
        return Ok(());
    };
    match obj.keys().find(|k| {
        rt.resolve_str(k)
            .is_some_and(|r| r.attr.mutability == Mutability::ReadOnly)
    }) {
        Some(k) => Err(ScimError::mutability(format!(
            "attribute '{k}' is readOnly and may not be sent"
        ))),
        None => Ok(()),
    }
}

/// Faults applied to the result of a PUT or PATCH (`old`: the stored resource, `new`: what would
/// be stored), before the contract's rules.
pub fn after_update(faults: &Faults, rt: &ResourceType, old: &Value, new: &mut Value) {
    let Some(map) = new.as_object_mut() else {
        return;
    };
    // `active-ignored`: the write succeeds but active keeps its stored value.
    if faults.on(Fault::ActiveIgnored) && rt.name == "User" {
        match old.get("active") {
            Some(a) => map.insert("active".into(), a.clone()),
            None => map.remove("active"),
        };
    }
    // `formatted-name-precedence`: givenName/familyName follow the stored name.formatted on
    // every write, so an update that changes only them is reverted (what Asana documents).
    if faults.on(Fault::FormattedNamePrecedence) && rt.name == "User" {
        super::contract::asana_apply_formatted(new);
    }
}

/// `location-wrong-base`: the URI handed out uses the application's internal mount path instead
/// of the public base path, as behind a reverse proxy that strips a prefix.
pub fn wrong_base(base_url: &str, base_path: &str) -> String {
    let origin = base_url.strip_suffix(base_path).unwrap_or(base_url);
    format!("{origin}/internal/scim")
}

/// `retry-after-http-date`: more than 10 requests within one second (per server) get 429 with
/// a Retry-After HTTP-date, which Okta does not honour (it waits 5 minutes instead).
pub fn throttled(state: &AppState) -> Option<String> {
    if !state.faults.on(Fault::RetryAfterHttpDate) {
        return None;
    }
    static RECENT: Mutex<Option<HashMap<SocketAddr, VecDeque<Instant>>>> = Mutex::new(None);
    let now = Instant::now();
    let mut guard = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    let recent = guard
        .get_or_insert_with(HashMap::new)
        .entry(state.local_addr)
        .or_default();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
    {
        recent.pop_front();
    }
    recent.push_back(now);
    (recent.len() > 10).then(|| {
        (chrono::Utc::now() + chrono::Duration::seconds(2))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    })
}

/// `asana-formatted-recomputed`: the opposite precedence to Asana's documented one — whenever
/// givenName or familyName is set, name.formatted is rebuilt from them.
pub fn formatted_from_parts(resource: &mut Value) {
    let Some(name) = resource.get_mut("name").and_then(Value::as_object_mut) else {
        return;
    };
    let part = |k: &str| {
        name.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let joined = [part("givenName"), part("familyName")]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !joined.is_empty() {
        name.insert("formatted".into(), Value::String(joined));
    }
}
