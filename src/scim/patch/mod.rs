//! PATCH (RFC 7644 §3.5.2): a PatchOp request applied to a stored resource, all or nothing.
//!
//! The input resource is never modified: operations run on a copy, in order, each on the result
//! of the one before (P-3.5.2-08); the first failure discards the copy (P-3.5.2-10). The result is
//! re-validated by [`resource::validate`], so a PATCH cannot store what a PUT could not.
//!
//! Decisions beyond the RFC text (catalog IDs from `scim-requirements.md`):
//! - `op` is matched case-insensitively (Entra sends `Add`/`Replace`/`Remove`; inconsistency #16).
//! - Path-less add/replace: each member of the value object is handled as if it were the path,
//!   so Entra's dotted keys (`"name.givenName"`) and URN-qualified keys work, and a bare extension
//!   URN key takes an object of extension attributes. Keys naming no attribute are ignored (as in
//!   a POST body). readOnly keys are ignored when the resource holds no value to compare with, or
//!   the same value: Okta re-sends `id` with every group update. A different value is 400
//!   mutability. With an explicit path, any readOnly target is 400 mutability (P-3.5.2-05).
//! - `remove` on a multi-valued attribute *with* a value removes only those values (Entra/Okta
//!   dialect, see `ops::remove_top`); remove whose filter matches nothing is a no-op; replace
//!   whose filter matches nothing is 400 noTarget; add whose filter matches nothing creates the
//!   record when the filter is a conjunction of `eq` terms, else 400 noTarget.
//! - Removing a required attribute is 400 mutability (RFC 7644 §3.5.2.2, P-3.5.2.2-06); leaving
//!   one empty by other means (`replace userName ""`) fails validation with 400 invalidValue.
//! - `schemas` is derived from content: keys and paths naming it have no lasting effect, and
//!   adding an extension attribute lists the extension URN (P-3.5.2-07).
//!
//! Change detection: [`apply_with_change`] also reports whether anything changed, so the server
//! can skip the write and keep meta.lastModified/version (P-3.5.2.1-08). Since results are in
//! canonical form, comparing [`apply`]'s result with a resource stored by this core is equivalent.

mod ops;
mod path;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use super::error::{ScimError, ScimResult};
use super::resource;
use super::schema::{ResourceType, PATCH_OP_URN};
use super::value::get_ci;
use ops::Kind;
use path::PathError;
use serde_json::{Map, Value};

/// One parsed operation of a PatchOp request.
struct Operation<'r> {
    kind: Kind,
    path: Option<&'r str>,
    value: Option<&'r Value>,
}

/// Applies a PatchOp `request` to `resource`; returns the new resource (input untouched).
pub fn apply(rt: &ResourceType, resource: &Value, request: &Value) -> ScimResult<Value> {
    apply_with_change(rt, resource, request).map(|(v, _)| v)
}

/// [`apply`], also telling whether the resource changed (`false`: skip the write, keep
/// meta.lastModified and the version — RFC 7644 §3.5.2.1, P-3.5.2.1-08).
pub fn apply_with_change(
    rt: &ResourceType,
    resource: &Value,
    request: &Value,
) -> ScimResult<(Value, bool)> {
    let operations = parse_request(request)?;
    let original = resource
        .as_object()
        .ok_or_else(|| ScimError::internal("stored resource is not a JSON object"))?;
    let mut doc = original.clone();
    for (i, op) in operations.iter().enumerate() {
        apply_one(rt, &mut doc, op).map_err(|mut e| {
            e.detail = format!("Operations[{i}]: {}", e.detail);
            e
        })?;
    }
    let result = resource::validate(rt, &Value::Object(doc))?;
    let before = resource::validate(rt, resource).ok();
    let changed = before.as_ref() != Some(&result);
    Ok((result, changed))
}

/// Checks the PatchOp envelope (400 invalidSyntax: P-3.5.2-01/02/03) and each operation's shape.
fn parse_request(request: &Value) -> ScimResult<Vec<Operation<'_>>> {
    let obj = request
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let has_urn = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|u| u.eq_ignore_ascii_case(PATCH_OP_URN))
        });
    if !has_urn {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body must list {PATCH_OP_URN} in schemas"
        )));
    }
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ScimError::invalid_syntax("a PATCH body needs a non-empty Operations array")
        })?;
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(i: usize, op: &Value) -> ScimResult<Operation<'_>> {
    let bad = |what: &str| ScimError::invalid_syntax(format!("Operations[{i}]: {what}"));
    let o = op
        .as_object()
        .ok_or_else(|| bad("an operation must be an object"))?;
    let kind = match get_ci(o, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => Kind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => Kind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => Kind::Remove,
        Some(s) => return Err(bad(&format!("op {s:?} is not add, remove or replace"))),
        None => return Err(bad("op must be \"add\", \"remove\" or \"replace\"")),
    };
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        // Some clients send "" for "no path".
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{i}]: path must be a string"
            )))
        }
    };
    let value = get_ci(o, "value");
    let missing = match kind {
        Kind::Add => value.is_none_or(Value::is_null),
        Kind::Replace => value.is_none(),
        Kind::Remove => false,
    };
    if missing {
        // P-3.5.2.1-01: an add (or replace) needs a value.
        return Err(ScimError::invalid_value(format!(
            "Operations[{i}]: {kind:?} needs a value"
        )));
    }
    Ok(Operation { kind, path, value })
}

fn apply_one(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    op: &Operation<'_>,
) -> ScimResult<()> {
    match (op.path, op.kind) {
        (Some(p), kind) => {
            let target = path::parse(rt, p)?;
            ops::apply(rt, doc, kind, &target, op.value)
        }
        // RFC 7644 §3.5.2.2, P-3.5.2.2-01.
        (None, Kind::Remove) => Err(ScimError::no_target("remove needs a path")),
        (None, kind) => {
            let Some(Value::Object(members)) = op.value else {
                return Err(ScimError::invalid_value(
                    "without a path, the value must be an object of attributes (RFC 7644 §3.5.2.1)",
                ));
            };
            for (key, v) in members {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let target = match path::parse(rt, key) {
                    Ok(t) => t,
                    Err(PathError::Unknown(_)) => continue,
                    Err(PathError::Syntax(e)) => return Err(e),
                };
                if ops::is_read_only(&target) {
                    let differs = ops::current(doc, &target).is_some_and(|cur| cur != v);
                    if differs {
                        return Err(ScimError::mutability(format!(
                            "attribute '{key}' is readOnly"
                        )));
                    }
                    continue;
                }
                ops::apply(rt, doc, kind, &target, Some(v))?;
            }
            Ok(())
        }
    }
}
