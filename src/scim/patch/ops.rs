//! The semantics of one PATCH operation on a resolved target (RFC 7644 §3.5.2.1–3).
//!
//! Functions here mutate a scratch copy of the resource; on error the caller throws the copy away,
//! which is what makes a PATCH all-or-nothing.

use super::path::Target;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter;
use crate::scim::resource::{canon_value, is_primary, label, same_item, same_value, slot, Mode};
use crate::scim::schema::{AttributeDef, Mutability, Resolved, ResourceType, SchemaDef};
use crate::scim::value::{get_ci, remove_ci};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, ValFilter};
use serde_json::{Map, Value};

/// The three RFC 7644 operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Add,
    Replace,
    Remove,
}

/// Values inside an operation follow the POST rules: readOnly sub-attributes are ignored
/// (`manager.displayName`), types are checked, booleans may be strings.
const VALUES: Mode = Mode {
    drop_read_only: true,
};

/// Applies one operation. `value` is `None` for a remove without value; a `null` value on add or
/// replace unassigns the target (RFC 7643 §2.5).
pub(super) fn apply(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: Kind,
    target: &Target<'_>,
    value: Option<&Value>,
) -> ScimResult<()> {
    match target {
        Target::Extension(ext) => extension(doc, kind, ext, value),
        Target::Attr(r) => match r.sub {
            None => top(doc, kind, r, value),
            Some(sub) => sub_attr(doc, kind, r, sub, value),
        },
        Target::Filtered { attr, filter, sub } => {
            filtered(rt, doc, kind, attr, filter, *sub, value)
        }
    }
}

/// Whether a target is readOnly (path-less values skip such keys, see `patch`).
pub(super) fn is_read_only(target: &Target<'_>) -> bool {
    let ro = |d: &AttributeDef| d.mutability == Mutability::ReadOnly;
    match target {
        Target::Extension(_) => false,
        Target::Attr(r) => ro(r.attr) || r.sub.is_some_and(ro),
        Target::Filtered { attr, sub, .. } => ro(attr.attr) || sub.is_some_and(ro),
    }
}

/// The current value at a plain attribute target, if the resource holds one.
pub(super) fn current<'d>(doc: &'d Map<String, Value>, target: &Target<'_>) -> Option<&'d Value> {
    let Target::Attr(r) = target else {
        return None;
    };
    let c = match r.extension {
        None => doc,
        Some(urn) => get_ci(doc, urn)?.as_object()?,
    };
    let top = get_ci(c, &r.attr.name).filter(|v| !v.is_null())?;
    match r.sub {
        None => Some(top),
        Some(sub) => get_ci(top.as_object()?, &sub.name).filter(|v| !v.is_null()),
    }
}

/// Canonical form of a value for `def`; a lone value for a multi-valued attribute counts as a
/// one-element array (clients send `"value": {"value": "id"}` for members).
pub(super) fn canon(def: &AttributeDef, label: &str, v: &Value) -> ScimResult<Option<Value>> {
    if def.multi_valued && !v.is_array() && !v.is_null() {
        return canon_value(def, label, &Value::Array(vec![v.clone()]), VALUES);
    }
    canon_value(def, label, v, VALUES)
}

fn read_only_error(label: &str) -> ScimError {
    ScimError::mutability(format!("attribute '{label}' is readOnly"))
}

fn guard(def: &AttributeDef, label: &str) -> ScimResult<()> {
    match def.mutability {
        Mutability::ReadOnly => Err(read_only_error(label)),
        _ => Ok(()),
    }
}

fn immutable_error(label: &str) -> ScimError {
    ScimError::mutability(format!(
        "attribute '{label}' is immutable and already has a value"
    ))
}

fn into_items(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => vec![],
        Some(other) => vec![other],
    }
}

/// A whole top-level attribute: `userName`, `emails`, `name`, `urn:…:employeeNumber`.
fn top(
    doc: &mut Map<String, Value>,
    kind: Kind,
    r: &Resolved<'_>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let def = r.attr;
    let label = label(r.extension, &def.name);
    guard(def, &label)?;
    let new = match value.filter(|v| !v.is_null()) {
        Some(v) if kind != Kind::Remove => canon(def, &label, v)?,
        _ => {
            return remove_top(
                doc,
                r,
                &label,
                value.filter(|v| kind == Kind::Remove && !v.is_null()),
            )
        }
    };
    let Some(new) = new else {
        // `[]` or `{}`: replacing a multi-valued attribute with nothing empties it (Okta pushes an
        // empty group as `replace members []`); otherwise there is nothing to add.
        if kind == Kind::Replace && def.multi_valued {
            return remove_top(doc, r, &label, None);
        }
        return Ok(());
    };
    let c = slot(doc, r.extension);
    let cur = remove_ci(c, &def.name).filter(|v| !v.is_null());
    let result = if def.multi_valued {
        let mut items = into_items(cur);
        let new_items = into_items(Some(new));
        let immutable_set = def.mutability == Mutability::Immutable && !items.is_empty();
        if kind == Kind::Add {
            if immutable_set
                && !new_items
                    .iter()
                    .all(|n| items.iter().any(|i| same_item(def, i, n)))
            {
                return Err(immutable_error(&label));
            }
            let written = add_items(def, &mut items, new_items);
            fix_primary(&mut items, &written, &label)?;
        } else {
            if immutable_set
                && !same_value(def, &Value::Array(items), &Value::Array(new_items.clone()))
            {
                return Err(immutable_error(&label));
            }
            items = new_items;
        }
        Value::Array(items)
    } else {
        match (cur, new) {
            // A complex value sets the sub-attributes given and keeps the others (RFC 7644
            // §3.5.2.1 and §3.5.2.3, P-3.5.2.3-05) — the same for add and replace.
            (Some(Value::Object(mut obj)), Value::Object(n)) => {
                merge_object(def, &label, &mut obj, n)?;
                Value::Object(obj)
            }
            (Some(c), n) if def.mutability == Mutability::Immutable && !same_value(def, &c, &n) => {
                return Err(immutable_error(&label));
            }
            (_, n) => n,
        }
    };
    c.insert(def.name.clone(), result);
    Ok(())
}

/// Unassigns a top-level attribute (RFC 7644 §3.5.2.2). With `items`, only those values of a
/// multi-valued attribute are removed (see below).
fn remove_top(
    doc: &mut Map<String, Value>,
    r: &Resolved<'_>,
    label: &str,
    items: Option<&Value>,
) -> ScimResult<()> {
    let def = r.attr;
    // RFC 7644 §3.5.2.2: removing (unassigning) a required attribute is a mutability error
    // (P-3.5.2.2-06), whether or not it currently has a value.
    if def.required {
        return Err(ScimError::mutability(format!(
            "attribute '{label}' is required and cannot be removed"
        )));
    }
    let c = slot(doc, r.extension);
    let Some(cur) = remove_ci(c, &def.name).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    // Widespread IdP extension (Entra's default provisioning job, also seen from Okta-style
    // clients): `{"op":"remove","path":"members","value":[{"value":"id1"}]}` means "remove these
    // members". Per the RFC the value is meaningless and every member would go
    // (MicrosoftDocs/azure-docs#30826), silently emptying groups. It applies to a remove whose path
    // names a multi-valued attribute without a value filter and that carries a non-null value;
    // an empty list removes nothing.
    let survivors = match items {
        Some(v) if def.multi_valued => {
            let doomed = into_items(canon(def, label, v)?);
            let mut kept = into_items(Some(cur.clone()));
            kept.retain(|i| !doomed.iter().any(|d| same_item(def, i, d)));
            kept
        }
        _ => vec![],
    };
    let removed_any = survivors.len() != into_items(Some(cur.clone())).len();
    if def.mutability == Mutability::Immutable && removed_any {
        return Err(immutable_error(label));
    }
    if !survivors.is_empty() {
        c.insert(def.name.clone(), Value::Array(survivors));
    }
    Ok(())
}

/// Appends values, merging one that is already present (RFC 7644 §3.5.2.1: no duplicate, and an
/// add that repeats a value changes nothing). Returns the indexes written.
fn add_items(def: &AttributeDef, items: &mut Vec<Value>, new_items: Vec<Value>) -> Vec<usize> {
    let mut written = Vec::new();
    for n in new_items {
        match items.iter().position(|i| same_item(def, i, &n)) {
            Some(pos) => {
                if let (Value::Object(existing), Value::Object(n)) = (&mut items[pos], n) {
                    for (k, v) in n {
                        let Some(sub) = def.sub(&k) else {
                            continue;
                        };
                        let keep = match existing.get(&k) {
                            None => false,
                            // Immutable sub-attributes keep what the server holds: Okta re-sends
                            // members with a `display` that need not match the stored one.
                            Some(_) if sub.mutability == Mutability::Immutable => true,
                            // An equal value (`B@X` vs `b@x` when caseExact=false) is no change.
                            Some(cur) => same_value(sub, cur, &v),
                        };
                        if !keep {
                            existing.insert(k, v);
                        }
                    }
                }
                written.push(pos);
            }
            None => {
                items.push(n);
                written.push(items.len() - 1);
            }
        }
    }
    written
}

/// RFC 7643 §2.4 allows one primary value; marking one primary clears the others
/// (P-3.5.2-09). Marking two at once is a client error.
fn fix_primary(items: &mut [Value], written: &[usize], label: &str) -> ScimResult<()> {
    let mut marked: Vec<usize> = written
        .iter()
        .copied()
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .collect();
    marked.sort_unstable();
    marked.dedup();
    match marked.as_slice() {
        [] => Ok(()),
        [keep] => {
            for (j, item) in items.iter_mut().enumerate() {
                if j != *keep && is_primary(item) {
                    if let Value::Object(o) = item {
                        remove_ci(o, "primary");
                        o.insert("primary".into(), Value::Bool(false));
                    }
                }
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!(
            "at most one value of '{label}' may be primary (RFC 7643 §2.4)"
        ))),
    }
}

/// Sets the sub-attributes of `n` in `obj`; an immutable one may only be set while unset.
fn merge_object(
    def: &AttributeDef,
    label: &str,
    obj: &mut Map<String, Value>,
    n: Map<String, Value>,
) -> ScimResult<()> {
    for (k, v) in n {
        let Some(sub) = def.sub(&k) else {
            continue;
        };
        set_sub(sub, &format!("{label}.{}", sub.name), obj, Some(v))?;
    }
    Ok(())
}

/// Sets (`Some`) or unassigns (`None`) one sub-attribute of one complex value.
fn set_sub(
    sub: &AttributeDef,
    label: &str,
    obj: &mut Map<String, Value>,
    new: Option<Value>,
) -> ScimResult<()> {
    let cur = remove_ci(obj, &sub.name).filter(|v| !v.is_null());
    let immutable_set = sub.mutability == Mutability::Immutable && cur.is_some();
    match new {
        None if cur.is_some() && sub.required => Err(ScimError::mutability(format!(
            "attribute '{label}' is required and cannot be removed"
        ))),
        None if immutable_set => Err(immutable_error(label)),
        None => Ok(()),
        Some(n) => {
            if immutable_set && !cur.as_ref().is_some_and(|c| same_value(sub, c, &n)) {
                return Err(immutable_error(label));
            }
            obj.insert(sub.name.clone(), n);
            Ok(())
        }
    }
}

/// `name.givenName`, `manager.value`, or `emails.type` (every element) without a filter.
fn sub_attr(
    doc: &mut Map<String, Value>,
    kind: Kind,
    r: &Resolved<'_>,
    sub: &AttributeDef,
    value: Option<&Value>,
) -> ScimResult<()> {
    let parent = r.attr;
    let base = label(r.extension, &parent.name);
    let label = format!("{base}.{}", sub.name);
    guard(parent, &base)?;
    guard(sub, &label)?;
    let new = match value.filter(|v| !v.is_null() && kind != Kind::Remove) {
        Some(v) => canon_value(sub, &label, v, VALUES)?,
        None => None,
    };
    if kind == Kind::Remove && sub.required {
        return Err(ScimError::mutability(format!(
            "attribute '{label}' is required and cannot be removed"
        )));
    }
    let c = slot(doc, r.extension);
    let cur = remove_ci(c, &parent.name).filter(|v| !v.is_null());
    let result = if parent.multi_valued {
        let mut items = into_items(cur);
        match (&new, items.is_empty()) {
            // Replace or add on an unassigned attribute adds it (RFC 7644 §3.5.2.3).
            (Some(n), true) => {
                items.push(Value::Object(Map::from_iter([(
                    sub.name.clone(),
                    n.clone(),
                )])));
            }
            _ => {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        set_sub(sub, &label, o, new.clone())?;
                    }
                }
            }
        }
        if sub.name == "primary" && new == Some(Value::Bool(true)) && items.len() > 1 {
            return Err(ScimError::invalid_value(format!(
                "at most one value of '{base}' may be primary (RFC 7643 §2.4)"
            )));
        }
        items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
        (!items.is_empty()).then_some(Value::Array(items))
    } else {
        let mut obj = match cur {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        set_sub(sub, &label, &mut obj, new)?;
        (!obj.is_empty()).then_some(Value::Object(obj))
    };
    if let Some(v) = result {
        c.insert(parent.name.clone(), v);
    }
    Ok(())
}

/// `emails[type eq "work"]`, `emails[type eq "work"].value`, `members[value eq "id"]`.
fn filtered(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: Kind,
    attr: &Resolved<'_>,
    filter: &ValFilter,
    sub: Option<&AttributeDef>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let def = attr.attr;
    let base = label(attr.extension, &def.name);
    guard(def, &base)?;
    let c = slot(doc, attr.extension);
    let mut items = into_items(remove_ci(c, &def.name));
    let mut matched = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if filter::matches_element(rt, attr, filter, item)? {
            matched.push(i);
        }
    }
    let value = value.filter(|v| !v.is_null() && kind != Kind::Remove);
    let no_target = || {
        ScimError::no_target(format!(
            "no value of '{base}' matches the path filter [{filter}]"
        ))
    };
    // RFC 7644 §3.5.2.2 prose: a remove whose filter matches nothing succeeds without change
    // (inconsistency #3 of the catalog; Table 9's noTarget would also pass). Replace must fail
    // with noTarget (§3.5.2.3, P-3.5.2.3-08); add may create the record (see `created_item`).
    if matched.is_empty() && kind == Kind::Replace {
        return Err(no_target());
    }
    match sub {
        None => {
            let new = match value {
                Some(v) => match into_items(canon(def, &base, v)?).as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "a value-filtered path on '{base}' takes one value"
                        )))
                    }
                },
                None => None,
            };
            match (kind, new) {
                (Kind::Add, None) => {}
                (Kind::Remove, _) | (Kind::Replace, None) => {
                    if def.mutability == Mutability::Immutable && !matched.is_empty() {
                        return Err(immutable_error(&base));
                    }
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                    if items.is_empty() && def.required && !matched.is_empty() {
                        return Err(ScimError::mutability(format!(
                            "attribute '{base}' is required and cannot be removed"
                        )));
                    }
                }
                (Kind::Add, Some(n)) if matched.is_empty() => {
                    let item = created_item(def, &base, filter, n).ok_or_else(no_target)??;
                    items.push(item);
                    let last = items.len() - 1;
                    fix_primary(&mut items, &[last], &base)?;
                }
                (Kind::Add, Some(n)) => {
                    let Value::Object(n) = n else {
                        return Err(ScimError::invalid_value(format!(
                            "'{base}' values are objects"
                        )));
                    };
                    for &i in &matched {
                        if let Value::Object(o) = &mut items[i] {
                            merge_object(def, &base, o, n.clone())?;
                        }
                    }
                    fix_primary(&mut items, &matched, &base)?;
                }
                (Kind::Replace, Some(n)) => {
                    // Every matched record is replaced (RFC 7644 §3.5.2.3); immutable
                    // sub-attributes it had must survive unchanged (C-4.2-04).
                    for &i in &matched {
                        check_immutable_kept(def, &base, &items[i], &n)?;
                        items[i] = n.clone();
                    }
                    fix_primary(&mut items, &matched, &base)?;
                }
            }
        }
        Some(s) => {
            let label = format!("{base}.{}", s.name);
            guard(s, &label)?;
            let new = match value {
                Some(v) => canon_value(s, &label, v, VALUES)?,
                None => None,
            };
            if kind == Kind::Remove && s.required && !matched.is_empty() {
                return Err(ScimError::mutability(format!(
                    "attribute '{label}' is required and cannot be removed"
                )));
            }
            match (kind, new) {
                (Kind::Add, Some(n)) if matched.is_empty() => {
                    let value = Value::Object(Map::from_iter([(s.name.clone(), n)]));
                    let item = created_item(def, &base, filter, value).ok_or_else(no_target)??;
                    items.push(item);
                    let last = items.len() - 1;
                    fix_primary(&mut items, &[last], &base)?;
                }
                (Kind::Add, None) => {}
                (_, new) => {
                    for &i in &matched {
                        if let Value::Object(o) = &mut items[i] {
                            set_sub(s, &label, o, new.clone())?;
                        }
                    }
                    fix_primary(&mut items, &matched, &base)?;
                    items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
                }
            }
        }
    }
    if !items.is_empty() {
        c.insert(def.name.clone(), Value::Array(items));
    }
    Ok(())
}

/// Add through a value filter that matches nothing (RFC 7644 leaves it open): when the filter is
/// a conjunction of `sub eq value` terms, a new record is built from those terms plus the value —
/// what Entra means by `Add emails[type eq "work"].value` on a user without a work email.
/// `None` when the filter cannot describe a record (→ noTarget).
fn created_item(
    def: &AttributeDef,
    label: &str,
    filter: &ValFilter,
    value: Value,
) -> Option<ScimResult<Value>> {
    let mut item = Map::new();
    if !eq_terms(def, filter, &mut item) {
        return None;
    }
    if let Value::Object(v) = value {
        item.extend(v);
    }
    let canon = canon(def, label, &Value::Object(item));
    Some(canon.map(|v| {
        into_items(v)
            .into_iter()
            .next()
            .unwrap_or(Value::Object(Map::new()))
    }))
}

fn eq_terms(def: &AttributeDef, f: &ValFilter, out: &mut Map<String, Value>) -> bool {
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v))
            if p.uri.is_none() && p.sub_attr.is_none() =>
        {
            let Some(sub) = def.sub(&p.name) else {
                return false;
            };
            let json = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(sub.name.clone(), json);
            true
        }
        ValFilter::And(items) => items.iter().all(|i| eq_terms(def, i, out)),
        _ => false,
    }
}

fn check_immutable_kept(
    def: &AttributeDef,
    label: &str,
    old: &Value,
    new: &Value,
) -> ScimResult<()> {
    let (Value::Object(o), Value::Object(n)) = (old, new) else {
        return Ok(());
    };
    for sub in def
        .sub_attributes
        .iter()
        .filter(|s| s.mutability == Mutability::Immutable)
    {
        if let Some(ov) = get_ci(o, &sub.name).filter(|v| !v.is_null()) {
            if !get_ci(n, &sub.name).is_some_and(|nv| same_value(sub, ov, nv)) {
                return Err(immutable_error(&format!("{label}.{}", sub.name)));
            }
        }
    }
    Ok(())
}

/// A bare extension URN: the object's members are attributes of that extension; remove drops
/// the whole extension (and its URN from `schemas`, which is derived).
fn extension(
    doc: &mut Map<String, Value>,
    kind: Kind,
    ext: &SchemaDef,
    value: Option<&Value>,
) -> ScimResult<()> {
    match value.filter(|v| kind != Kind::Remove && !v.is_null()) {
        None => {
            if let Some(req) = ext.attributes.iter().find(|a| a.required) {
                return Err(ScimError::mutability(format!(
                    "attribute '{}' is required and cannot be removed",
                    label(Some(&ext.id), &req.name)
                )));
            }
            remove_ci(doc, &ext.id);
            Ok(())
        }
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let Some(def) = ext.attribute(k) else {
                    continue; // unknown, as in a POST body
                };
                if def.mutability == Mutability::ReadOnly {
                    continue;
                }
                let r = Resolved {
                    extension: Some(ext.id.as_str()),
                    attr: def,
                    sub: None,
                };
                top(doc, kind, &r, Some(v))?;
            }
            Ok(())
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "a value for '{}' must be an object of its attributes",
            ext.id
        ))),
    }
}
