//! Shaping query results: attribute projection (RFC 7644 §3.4.2.5, §3.9), sorting (§3.4.2.3)
//! and paging (§3.4.2.4). Used by the reference server, and by the runner as an oracle.
//!
//! Decisions:
//! - Names in `attributes` / `excludedAttributes` that resolve to nothing are ignored: the RFC
//!   gives no error for them, and a root query spans types that lack each other's attributes.
//!   A bare extension URN selects or excludes the whole extension object.
//! - When both parameters are given, `attributes` selects and `excludedAttributes` then removes
//!   (returned=always attributes survive both, P-3.9-04, C-7-11).
//! - `sortBy` naming no attribute, or a returned=never one (sorting by password would leak its
//!   order), is 400 invalidValue: the RFC names no scimType, and invalidValue is Table 9's "value
//!   not compatible with the operation". A complex attribute without a sub-attribute sorts by its
//!   `value` sub-attribute (as filters compare it), or is refused when it has none (`name`).

use super::error::{ScimError, ScimResult};
use super::resource::is_primary;
use super::schema::{AttrType, AttributeDef, Resolved, ResourceType, Returned};
use super::value::{self, get_ci};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Splits an `attributes` / `excludedAttributes` parameter value at commas (P-3.9-05).
pub fn parse_attribute_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

/// Attribute names parsed against a type: `[urn:]attr[.sub]` paths and bare extension URNs.
struct Names<'a> {
    paths: Vec<Resolved<'a>>,
    extensions: Vec<&'a str>,
    given: bool,
}

impl<'a> Names<'a> {
    fn parse(rt: &'a ResourceType, list: &[String]) -> Self {
        let mut names = Names {
            paths: vec![],
            extensions: vec![],
            given: false,
        };
        for raw in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            names.given = true;
            if let Some(ext) = rt.extension(raw) {
                names.extensions.push(ext.id.as_str());
            } else if let Some(r) = rt.resolve_str(raw) {
                names.paths.push(r);
            }
        }
        names
    }

    fn whole(&self, ext: Option<&str>, attr: &AttributeDef) -> bool {
        ext.is_some_and(|e| self.extensions.contains(&e))
            || self
                .paths
                .iter()
                .any(|r| r.extension == ext && r.attr.name == attr.name && r.sub.is_none())
    }

    fn sub(&self, ext: Option<&str>, attr: &AttributeDef, sub: &AttributeDef) -> bool {
        self.paths.iter().any(|r| {
            r.extension == ext
                && r.attr.name == attr.name
                && r.sub.is_some_and(|s| s.name == sub.name)
        })
    }

    fn any(&self, ext: Option<&str>, attr: &AttributeDef) -> bool {
        self.whole(ext, attr)
            || self
                .paths
                .iter()
                .any(|r| r.extension == ext && r.attr.name == attr.name)
    }
}

/// A resource as returned to a client: returned=never attributes are always left out (C-7-10,
/// C-7-12), returned=always ones always kept (C-7-11), returned=default ones kept unless
/// `attributes` is given without them (C-7-13) or `excluded` names them, returned=request ones
/// only when `attributes` names them (C-7-14). Names may be sub-attributes (`name.givenName`),
/// URN-qualified, and are case-insensitive.
pub fn project(
    rt: &ResourceType,
    resource: &Value,
    attributes: &[String],
    excluded: &[String],
) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let p = Projector {
        attrs: Names::parse(rt, attributes),
        excl: Names::parse(rt, excluded),
    };
    let mut out = Map::new();
    for (key, v) in obj {
        if let Some(ext) = rt.extension(key) {
            let Some(m) = v.as_object() else {
                continue;
            };
            let mut projected = Map::new();
            for (k, sv) in m {
                if let Some(def) = ext.attribute(k) {
                    if let Some(pv) = p.attr(Some(&ext.id), def, sv) {
                        projected.insert(k.clone(), pv);
                    }
                }
            }
            if !projected.is_empty() {
                out.insert(key.clone(), Value::Object(projected));
            }
        } else if let Some(r) = rt.resolve(None, key, None) {
            if let Some(pv) = p.attr(None, r.attr, v) {
                out.insert(key.clone(), pv);
            }
        } else if !p.attrs.given {
            // Not in the schema: treated as returned=default.
            out.insert(key.clone(), v.clone());
        }
    }
    Value::Object(out)
}

struct Projector<'a> {
    attrs: Names<'a>,
    excl: Names<'a>,
}

impl Projector<'_> {
    fn attr(&self, ext: Option<&str>, def: &AttributeDef, v: &Value) -> Option<Value> {
        let included = match def.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default if !self.attrs.given => !self.excl.whole(ext, def),
            Returned::Default | Returned::Request => {
                self.attrs.any(ext, def) && !self.excl.whole(ext, def)
            }
        };
        if !included {
            return None;
        }
        if def.sub_attributes.is_empty() {
            return Some(v.clone());
        }
        let keep_item = |item: &Value| -> Option<Value> {
            let Value::Object(o) = item else {
                return Some(item.clone());
            };
            let kept: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| self.keep_sub(ext, def, k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        };
        match v {
            Value::Array(items) => {
                let kept: Vec<Value> = items.iter().filter_map(keep_item).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            v => keep_item(v),
        }
    }

    fn keep_sub(&self, ext: Option<&str>, def: &AttributeDef, key: &str) -> bool {
        let whole = !self.attrs.given
            || self.attrs.whole(ext, def)
            // An always-returned attribute nobody asked about comes with its default subs.
            || (def.returned == Returned::Always && !self.attrs.any(ext, def));
        let Some(sub) = def.sub(key) else {
            return whole;
        };
        let named = self.attrs.sub(ext, def, sub);
        match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Request => named && !self.excl.sub(ext, def, sub),
            Returned::Default => (whole || named) && !self.excl.sub(ext, def, sub),
        }
    }
}

/// A sort key normalised so that every pair of keys compares (a total order, as `sort_by`
/// requires); on values of one type it agrees with [`value::compare`].
#[derive(Debug)]
enum Key {
    Bool(bool),
    Num(f64),
    Time(DateTime<FixedOffset>),
    Str(String),
}

impl Key {
    fn new(def: &AttributeDef, v: &Value) -> Option<Key> {
        match v {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => {
                if def.attr_type == AttrType::DateTime {
                    if let Some(t) = value::parse_datetime(s) {
                        return Some(Key::Time(t));
                    }
                }
                Some(Key::Str(if def.case_exact {
                    s.clone()
                } else {
                    value::fold(s)
                }))
            }
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Num(_) => 1,
            Key::Time(_) => 2,
            Key::Str(_) => 3,
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Num(a), Key::Num(b)) => a.total_cmp(b),
            (Key::Time(a), Key::Time(b)) => a.cmp(b),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// Sorts by `sort_by` (RFC 7644 §3.4.2.3): strings by the attribute's caseExact (P-3.4.2.3-07),
/// multi-valued attributes by their primary value or else the first (P-3.4.2.3-04), resources
/// without a value last when ascending and first when descending (P-3.4.2.3-06). Stable.
pub fn sort(
    rt: &ResourceType,
    resources: &mut [Value],
    sort_by: &str,
    descending: bool,
) -> ScimResult<()> {
    let r = resolve_sort(rt, sort_by)?;
    let leaf = r.leaf();
    let keys: Vec<Option<Key>> = resources
        .iter()
        .map(|res| sort_value(&r, res).and_then(|v| Key::new(leaf, v)))
        .collect();
    let mut order: Vec<usize> = (0..resources.len()).collect();
    order.sort_by(|&a, &b| {
        // Missing values compare greater than any value, so reversing puts them first.
        let o = match (&keys[a], &keys[b]) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    let mut taken: Vec<Value> = resources.iter_mut().map(std::mem::take).collect();
    for (slot, i) in resources.iter_mut().zip(order) {
        *slot = std::mem::take(&mut taken[i]);
    }
    Ok(())
}

fn resolve_sort<'a>(rt: &'a ResourceType, sort_by: &str) -> ScimResult<Resolved<'a>> {
    let name = sort_by.trim();
    let mut r = rt.resolve_str(name).ok_or_else(|| {
        ScimError::invalid_value(format!("sortBy {name:?} names no attribute of {}", rt.name))
    })?;
    if r.sub.is_none() && r.attr.attr_type == AttrType::Complex {
        r.sub = Some(r.attr.sub("value").ok_or_else(|| {
            ScimError::invalid_value(format!(
                "sortBy {name:?} is complex: name one of its sub-attributes"
            ))
        })?);
    }
    if r.attr.returned == Returned::Never || r.leaf().returned == Returned::Never {
        return Err(ScimError::invalid_value(format!(
            "sortBy {name:?} names an attribute that is never returned"
        )));
    }
    Ok(r)
}

/// The value a resource sorts by.
fn sort_value<'v>(r: &Resolved<'_>, resource: &'v Value) -> Option<&'v Value> {
    let pick = |item: &'v Value| -> Option<&'v Value> {
        match r.sub {
            Some(s) => get_ci(item.as_object()?, &s.name).filter(|v| !v.is_null()),
            None => Some(item).filter(|v| !v.is_null()),
        }
    };
    match value::top_value(resource, r)? {
        Value::Array(items) => items
            .iter()
            .find(|i| is_primary(i))
            .and_then(pick)
            .or_else(|| items.iter().find_map(pick)),
        v => pick(v),
    }
}

/// The slice of `total` results to return: `(0-based offset, length)` (RFC 7644 §3.4.2.4).
/// startIndex defaults to 1 and below 1 counts as 1 (P-3.4.2.4-02); count defaults to `max`,
/// below 0 counts as 0 (P-3.4.2.4-04) and is capped at `max` (returning fewer is allowed). A
/// start past the end gives an empty page (P-3.4.2.4-10); the response's `startIndex` is then
/// still the requested one, see [`start_index`].
pub fn page(
    total: usize,
    start_index: Option<i64>,
    count: Option<i64>,
    max: usize,
) -> (usize, usize) {
    let start = start_index.unwrap_or(1).max(1);
    let offset = usize::try_from(start - 1).unwrap_or(usize::MAX).min(total);
    let wanted = match count {
        None => max,
        Some(c) => usize::try_from(c.max(0)).unwrap_or(usize::MAX).min(max),
    };
    (offset, wanted.min(total - offset))
}

/// The `startIndex` a ListResponse reports: the requested one, at least 1 (P-3.4.2.4-01/02/08).
pub fn start_index(requested: Option<i64>) -> i64 {
    requested.unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests;
