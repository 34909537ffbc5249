//! From client JSON to a stored resource: the input rules shared by POST, PUT, PATCH and Bulk.
//!
//! A stored resource is a JSON object with the schema's own spelling of every attribute name,
//! extension attributes nested under their canonical URN key, `schemas` derived from the content,
//! and nothing the schema does not define. Every write path funnels through this module so that
//! what the reference server stores is valid whichever verb produced it.
//!
//! Decisions (catalog IDs from `scim-requirements.md`):
//! - Unknown attributes, sub-attributes and extension objects are dropped silently. RFC 7643/7644
//!   prescribe no error for them, IdPs send attributes of their own (Entra's ADSCIM Group schema),
//!   and dropping keeps the stored resource inside the published schema (P-3.3-07 accepts that).
//! - `schemas` must be an array that lists the core URN, else 400 invalidValue (P-3.3-08 prefers a
//!   refusal; `schemas` is a required attribute, hence invalidValue). URNs the resource type does not
//!   know are dropped rather than refused: Entra sends an extra Group schema and, in its documented
//!   examples, a malformed enterprise URN. The stored `schemas` is always recomputed as the core URN
//!   plus the extensions that actually hold data (C-3-02).
//! - More than one `primary: true` in one multi-valued attribute is a client error: 400 invalidValue
//!   (RFC 7643 §2.4 "at most once"; C-2.4-02 accepts a 400). PATCH is different: marking a value
//!   primary there clears the others (P-3.5.2-09), see `patch`.
//! - Values that repeat an existing one (same `value` and compatible `type`, or identical records)
//!   are merged into the first (C-2.4-04).
//! - `null`, `[]` and `{}` mean unassigned and are not stored (RFC 7643 §2.5, C-2.5-01).

use super::error::{ScimError, ScimResult};
use super::schema::{split_urn, AttrType, AttributeDef, Mutability, ResourceType, SchemaDef};
use super::value::{self, get_ci, is_present};
use serde_json::{Map, Value};

/// How strictly readOnly input is treated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode {
    /// POST and PUT bodies: readOnly attributes are ignored without even being type-checked
    /// (RFC 7644 §3.3 and §3.5.1 say "ignored"; C-3.1-10 sends a bogus `meta` that must not fail).
    pub drop_read_only: bool,
}

const KEEP: Mode = Mode {
    drop_read_only: false,
};
const DROP_READ_ONLY: Mode = Mode {
    drop_read_only: true,
};

/// Canonical names, type checks and `schemas` check for a resource body; readOnly attributes are
/// kept (and type-checked). The result's `schemas` is recomputed from its content.
pub fn canonicalize(rt: &ResourceType, input: &Value) -> ScimResult<Value> {
    let obj = body_object(input)?;
    check_schemas(rt, obj)?;
    Ok(finish(rt, canon_object(rt, obj, KEEP)?))
}

/// A POST body made ready to store: readOnly attributes dropped (RFC 7644 §3.3: id, meta, groups,
/// manager.displayName), required attributes checked. The server adds id and meta.
pub fn prepare_create(rt: &ResourceType, body: &Value) -> ScimResult<Value> {
    let obj = body_object(body)?;
    check_schemas(rt, obj)?;
    let map = canon_object(rt, obj, DROP_READ_ONLY)?;
    check_required(rt, &map)?;
    Ok(finish(rt, map))
}

/// A PUT body merged with the stored resource (RFC 7644 §3.5.1):
/// - readOnly values come from `existing` whatever the body says (P-3.5.1-07, inconsistency #2);
/// - immutable values may be set while unset; once set the body must repeat them or omit them
///   (omitted = kept), a different value is 400 mutability (P-3.5.1-05/06). Inside multi-valued
///   complex attributes (Group `members`) the items themselves are what PUT replaces, so their
///   immutable sub-attributes are not compared;
/// - writeOnly values (password) are replaced when sent and kept when not: clients can never read
///   them back, so a GET-modify-PUT cycle (Okta's update flow) would otherwise wipe the password;
/// - every other attribute the body leaves out is cleared (P-3.5.1-03 allows it).
pub fn prepare_replace(rt: &ResourceType, existing: &Value, body: &Value) -> ScimResult<Value> {
    let obj = body_object(body)?;
    check_schemas(rt, obj)?;
    let mut map = canon_object(rt, obj, DROP_READ_ONLY)?;
    let old = existing
        .as_object()
        .ok_or_else(|| ScimError::internal("stored resource is not a JSON object"))?;
    for (ext, defs) in containers(rt) {
        let old_c = match ext {
            None => Some(old),
            Some(urn) => get_ci(old, urn).and_then(Value::as_object),
        };
        for def in defs.iter().filter(|d| d.name != "schemas") {
            let old_v = old_c
                .and_then(|c| get_ci(c, &def.name))
                .filter(|v| !v.is_null());
            let new_c = slot(&mut map, ext);
            let label = label(ext, &def.name);
            merge_kept(def, &label, old_v, new_c)?;
        }
    }
    check_required(rt, &map)?;
    Ok(finish(rt, map))
}

/// Re-validates a whole resource, e.g. the result of a PATCH, so that no verb can store an invalid
/// resource: canonical names, types, required attributes, at most one primary, derived `schemas`.
/// readOnly attributes are kept as they are.
pub fn validate(rt: &ResourceType, resource: &Value) -> ScimResult<Value> {
    let obj = body_object(resource)?;
    let map = canon_object(rt, obj, KEEP)?;
    check_required(rt, &map)?;
    Ok(finish(rt, map))
}

/// Applies the PUT rules of one attribute: what `existing` keeps whatever the body says.
fn merge_kept(
    def: &AttributeDef,
    label: &str,
    old_v: Option<&Value>,
    new_c: &mut Map<String, Value>,
) -> ScimResult<()> {
    let new_v = new_c.get(&def.name).cloned();
    match def.mutability {
        Mutability::ReadOnly => {
            new_c.remove(&def.name);
            if let Some(o) = old_v {
                new_c.insert(def.name.clone(), o.clone());
            }
        }
        Mutability::WriteOnly | Mutability::Immutable => match (old_v, new_v) {
            (Some(o), None) => {
                new_c.insert(def.name.clone(), o.clone());
            }
            (Some(o), Some(n))
                if def.mutability == Mutability::Immutable && !same_value(def, o, &n) =>
            {
                return Err(ScimError::mutability(format!(
                    "attribute '{label}' is immutable and already set"
                )));
            }
            _ => {}
        },
        Mutability::ReadWrite => {
            // Sub-attribute rules only apply to a singular complex value the body still carries.
            let (Some(Value::Object(o)), Some(Value::Object(_))) = (old_v, &new_v) else {
                return Ok(());
            };
            if def.multi_valued {
                return Ok(());
            }
            if let Some(Value::Object(n)) = new_c.get_mut(&def.name) {
                for sub in &def.sub_attributes {
                    let old_s = get_ci(o, &sub.name).filter(|v| !v.is_null());
                    merge_kept(sub, &format!("{label}.{}", sub.name), old_s, n)?;
                }
            }
        }
    }
    Ok(())
}

/// The resource body as an object, or 400 invalidSyntax.
fn body_object(v: &Value) -> ScimResult<&Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a resource must be a JSON object"))
}

/// `schemas` must be an array of strings naming the core schema (RFC 7643 §3; P-3.3-08).
fn check_schemas(rt: &ResourceType, obj: &Map<String, Value>) -> ScimResult<()> {
    let core = &rt.schema.id;
    let Some(schemas) = get_ci(obj, "schemas") else {
        return Err(ScimError::invalid_value(format!(
            "attribute 'schemas' is required and must include {core}"
        )));
    };
    let Some(list) = schemas
        .as_array()
        .filter(|a| a.iter().all(Value::is_string))
    else {
        return Err(ScimError::invalid_value(
            "attribute 'schemas' must be an array of URNs",
        ));
    };
    if !list
        .iter()
        .filter_map(Value::as_str)
        .any(|u| u.eq_ignore_ascii_case(core))
    {
        return Err(ScimError::invalid_value(format!(
            "attribute 'schemas' must include {core}"
        )));
    }
    Ok(())
}

/// Canonical names and values of every known attribute of `obj`, extension attributes nested
/// under their URN; `schemas` is left out (it is derived by [`finish`]).
fn canon_object(
    rt: &ResourceType,
    obj: &Map<String, Value>,
    mode: Mode,
) -> ScimResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = rt.extension(key) {
            match v {
                Value::Null => {}
                Value::Object(m) => {
                    for (k, v) in m {
                        put(rt, &mut out, Some(ext), k, v, mode)?;
                    }
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "'{}' must be an object of extension attributes",
                        ext.id
                    )))
                }
            }
            continue;
        }
        // URN-qualified keys: `urn:…:core:2.0:User:userName` or `urn:…:enterprise:2.0:User:department`.
        let (urn, rest) = split_urn(key, rt);
        let ext = urn.and_then(|u| rt.extension(u));
        put(rt, &mut out, ext, rest, v, mode)?;
    }
    Ok(out)
}

/// Stores one attribute of the body under its canonical name; unknown names are dropped.
fn put(
    rt: &ResourceType,
    out: &mut Map<String, Value>,
    ext: Option<&SchemaDef>,
    name: &str,
    v: &Value,
    mode: Mode,
) -> ScimResult<()> {
    let def = match ext {
        Some(e) => e.attribute(name),
        None => rt.resolve(None, name, None).map(|r| r.attr),
    };
    let Some(def) = def.filter(|d| d.name != "schemas") else {
        return Ok(());
    };
    if mode.drop_read_only && def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let urn = ext.map(|e| e.id.as_str());
    let canon = canon_value(def, &label(urn, &def.name), v, mode)?;
    let target = slot(out, urn);
    match canon {
        Some(c) => target.insert(def.name.clone(), c),
        None => target.remove(&def.name),
    };
    Ok(())
}

/// The name used in error messages: URN-qualified for extension attributes.
pub(crate) fn label(ext: Option<&str>, name: &str) -> String {
    match ext {
        Some(urn) => format!("{urn}:{name}"),
        None => name.to_string(),
    }
}

/// The object that holds attributes of `ext` (the map itself for core), created when missing.
pub(crate) fn slot<'m>(
    map: &'m mut Map<String, Value>,
    ext: Option<&str>,
) -> &'m mut Map<String, Value> {
    let Some(urn) = ext else {
        return map;
    };
    let key = value::key_ci(map, urn).unwrap_or_else(|| urn.to_string());
    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("entry was just made an object"),
    }
}

/// Every attribute container of the type: core (with id/externalId/meta) and each extension.
pub(crate) fn containers(rt: &ResourceType) -> Vec<(Option<&str>, Vec<&AttributeDef>)> {
    let mut out = vec![(
        None,
        rt.common
            .iter()
            .chain(rt.schema.attributes.iter())
            .collect(),
    )];
    for (ext, _) in &rt.extensions {
        out.push((Some(ext.id.as_str()), ext.attributes.iter().collect()));
    }
    out
}

/// Canonical form of one attribute value; `None` when the value means "unassigned".
///
/// Leniencies, each for a real client:
/// - booleans also as the strings "true"/"false" in any case (Entra sends `"False"`, scimmy#86);
/// - a singular complex attribute with a `value` sub-attribute accepts a one-element array
///   (Entra's `manager: [{"value": …}]`) or a bare scalar meaning `{"value": scalar}` (Entra sends
///   the manager id alone). Attributes without `value` (e.g. `name`) still require an object
///   (P-3.12-07).
pub(crate) fn canon_value(
    def: &AttributeDef,
    label: &str,
    v: &Value,
    mode: Mode,
) -> ScimResult<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    if def.multi_valued {
        let Value::Array(items) = v else {
            return Err(ScimError::invalid_value(format!(
                "attribute '{label}' is multi-valued and takes an array"
            )));
        };
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            let Some(c) = canon_single(def, label, item, mode)? else {
                continue;
            };
            match out.iter_mut().find(|o| same_item(def, o, &c)) {
                Some(first) => merge_duplicate(first, c),
                None => out.push(c),
            }
        }
        if primaries(&out) > 1 {
            return Err(ScimError::invalid_value(format!(
                "at most one value of '{label}' may be primary (RFC 7643 §2.4)"
            )));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    match v {
        Value::Array(a) if def.attr_type == AttrType::Complex && def.sub("value").is_some() => {
            match a.as_slice() {
                [] => Ok(None),
                [one] => canon_single(def, label, one, mode),
                _ => Err(ScimError::invalid_value(format!(
                    "attribute '{label}' is single-valued"
                ))),
            }
        }
        v => canon_single(def, label, v, mode),
    }
}

/// Canonical form of one value (an item, for multi-valued attributes).
fn canon_single(
    def: &AttributeDef,
    label: &str,
    v: &Value,
    mode: Mode,
) -> ScimResult<Option<Value>> {
    let bad = |what: &str| ScimError::invalid_value(format!("attribute '{label}' must be {what}"));
    let ok = |v: &Value| Ok(Some(v.clone()));
    match (def.attr_type, v) {
        (_, Value::Null) => Ok(None),
        (AttrType::Complex, Value::Object(obj)) => canon_complex(def, label, obj, mode),
        (AttrType::Complex, Value::String(_) | Value::Number(_) | Value::Bool(_))
            if !def.multi_valued && def.sub("value").is_some() =>
        {
            let wrapped = Map::from_iter([("value".to_string(), v.clone())]);
            canon_complex(def, label, &wrapped, mode)
        }
        (AttrType::Complex, _) => Err(bad("an object of sub-attributes")),
        (AttrType::String | AttrType::Reference, Value::String(_)) => ok(v),
        (AttrType::String, _) => Err(bad("a string")),
        (AttrType::Reference, _) => Err(bad("a URI string")),
        (AttrType::Boolean, Value::Bool(_)) => ok(v),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Some(Value::Bool(true)))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Some(Value::Bool(false)))
        }
        (AttrType::Boolean, _) => Err(bad("a boolean")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => ok(v),
        (AttrType::Integer, _) => Err(bad("an integer")),
        (AttrType::Decimal, Value::Number(_)) => ok(v),
        (AttrType::Decimal, _) => Err(bad("a number")),
        (AttrType::DateTime, Value::String(s)) if value::parse_datetime(s).is_some() => ok(v),
        (AttrType::DateTime, _) => Err(bad("an RFC 3339 dateTime string")),
        (AttrType::Binary, Value::String(s)) if is_base64(s) => ok(v),
        (AttrType::Binary, _) => Err(bad("a base64 string")),
    }
}

fn canon_complex(
    def: &AttributeDef,
    label: &str,
    obj: &Map<String, Value>,
    mode: Mode,
) -> ScimResult<Option<Value>> {
    let mut out = Map::new();
    for (k, sv) in obj {
        let Some(sub) = def.sub(k) else {
            continue; // unknown sub-attribute: dropped like unknown attributes
        };
        if mode.drop_read_only && sub.mutability == Mutability::ReadOnly {
            continue;
        }
        match canon_value(sub, &format!("{label}.{}", sub.name), sv, mode)? {
            Some(c) => out.insert(sub.name.clone(), c),
            None => out.remove(&sub.name),
        };
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// RFC 4648 §4 base64 with padding (RFC 7643 §2.3.6).
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    b.len().is_multiple_of(4)
        && pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// How many items carry `primary: true`.
pub(crate) fn primaries(items: &[Value]) -> usize {
    items.iter().filter(|i| is_primary(i)).count()
}

pub(crate) fn is_primary(item: &Value) -> bool {
    item.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether two items of a multi-valued attribute denote the same value: equal `value` and, when
/// both carry one, equal `type` (so `{value: u1}` and the server-enriched `{value: u1, type: User}`
/// are one member); records without a `value` sub-attribute must be equal as a whole.
pub(crate) fn same_item(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    if let (Value::Object(x), Value::Object(y), Some(vdef)) = (a, b, def.sub("value")) {
        if let (Some(va), Some(vb)) = (get_ci(x, "value"), get_ci(y, "value")) {
            if !same_value(vdef, va, vb) {
                return false;
            }
            return match (get_ci(x, "type"), get_ci(y, "type"), def.sub("type")) {
                (Some(ta), Some(tb), Some(tdef)) => same_value(tdef, ta, tb),
                _ => true,
            };
        }
    }
    same_single(def, a, b)
}

/// Fills sub-attributes the first occurrence lacks from a later duplicate.
fn merge_duplicate(first: &mut Value, dup: Value) {
    if let (Value::Object(f), Value::Object(d)) = (first, dup) {
        for (k, v) in d {
            f.entry(k).or_insert(v);
        }
    }
}

/// Equality of whole attribute values under the schema: strings by caseExact, multi-valued
/// attributes as sets, complex values member by member.
pub(crate) fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter().all(|i| y.iter().any(|j| same_single(def, i, j)))
                && y.iter().all(|j| x.iter().any(|i| same_single(def, i, j)))
        }
        _ => same_single(def, a, b),
    }
}

fn same_single(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    get_ci(y, k).is_some_and(|w| match def.sub(k) {
                        Some(s) => same_value(s, v, w),
                        None => v == w,
                    })
                })
        }
        _ => a == b || value::equals(Some(def), a, b),
    }
}

/// Required attributes and sub-attributes must be present (400 invalidValue, RFC 7643 §2.2;
/// C-4.1.1-01/02, C-4.2-02). An empty string counts as missing.
fn check_required(rt: &ResourceType, map: &Map<String, Value>) -> ScimResult<()> {
    for (ext, defs) in containers(rt) {
        let c = match ext {
            None => Some(map),
            Some(urn) => get_ci(map, urn)
                .and_then(Value::as_object)
                .filter(|m| !m.is_empty()),
        };
        let Some(c) = c else {
            if rt
                .extensions
                .iter()
                .any(|(s, req)| *req && Some(s.id.as_str()) == ext)
            {
                return Err(ScimError::invalid_value(format!(
                    "extension '{}' is required",
                    ext.unwrap_or_default()
                )));
            }
            continue;
        };
        for def in defs {
            required_in(def, &label(ext, &def.name), get_ci(c, &def.name))?;
        }
    }
    Ok(())
}

fn required_in(def: &AttributeDef, label: &str, v: Option<&Value>) -> ScimResult<()> {
    let present = v.is_some_and(is_present);
    if def.required && !present {
        return Err(ScimError::invalid_value(format!(
            "attribute '{label}' is required"
        )));
    }
    let Some(v) = v.filter(|_| present && !def.sub_attributes.is_empty()) else {
        return Ok(());
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for item in items {
        if let Value::Object(o) = item {
            for sub in &def.sub_attributes {
                required_in(sub, &format!("{label}.{}", sub.name), get_ci(o, &sub.name))?;
            }
        }
    }
    Ok(())
}

/// `schemas` (core first, then each extension holding data), then the attributes in schema order.
fn finish(rt: &ResourceType, mut map: Map<String, Value>) -> Value {
    let mut schemas = vec![Value::String(rt.schema.id.clone())];
    let mut out = Map::new();
    let mut ext_out = Vec::new();
    for (ext, _) in &rt.extensions {
        if let Some(Value::Object(m)) = map.remove(&ext.id) {
            if !m.is_empty() {
                schemas.push(Value::String(ext.id.clone()));
                ext_out.push((ext, m));
            }
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    let core_order = ["id", "externalId"]
        .into_iter()
        .chain(rt.schema.attributes.iter().map(|a| a.name.as_str()))
        .chain(["meta"]);
    for name in core_order {
        if let Some(v) = map.shift_remove(name) {
            out.insert(name.to_string(), v);
        }
    }
    out.extend(map);
    for (ext, mut m) in ext_out {
        let mut ordered = Map::new();
        for a in &ext.attributes {
            if let Some(v) = m.shift_remove(&a.name) {
                ordered.insert(a.name.clone(), v);
            }
        }
        ordered.extend(m);
        out.insert(ext.id.clone(), Value::Object(ordered));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests;
