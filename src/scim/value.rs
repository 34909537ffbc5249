//! Reading and comparing attribute values the way RFC 7643 says they compare.
//!
//! Shared by the filter evaluator, sorting and the PATCH engine so that "equal" means the same
//! thing everywhere: strings by the attribute's caseExact, dateTimes as instants, numbers as numbers.

use super::schema::{AttrType, AttributeDef, Resolved};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use unicode_normalization::UnicodeNormalization;

/// A member of a JSON object by name, case-insensitively (RFC 7643 §2.1: attribute names are
/// case-insensitive). An exact match wins over a case-insensitive one.
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key under which `key` is stored in `map`, if any, case-insensitively.
pub fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Removes a member by name, case-insensitively, keeping the order of the others.
pub fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let k = key_ci(map, key)?;
    map.shift_remove(&k)
}

/// The object that holds a resolved attribute: the resource itself for core attributes, the
/// extension object (keyed by its URN) for extension attributes.
pub fn container<'a>(
    resource: &'a Value,
    resolved: &Resolved<'_>,
) -> Option<&'a Map<String, Value>> {
    let obj = resource.as_object()?;
    match resolved.extension {
        None => Some(obj),
        Some(urn) => get_ci(obj, urn)?.as_object(),
    }
}

/// The value of a resolved top-level attribute (ignoring any sub-attribute), if present and not null.
pub fn top_value<'a>(resource: &'a Value, resolved: &Resolved<'_>) -> Option<&'a Value> {
    get_ci(container(resource, resolved)?, &resolved.attr.name).filter(|v| !v.is_null())
}

/// Every value a resolved path designates, flattened: `emails.value` on a user with three emails
/// yields three strings; a single-valued `name.givenName` yields at most one.
pub fn values_at<'a>(resource: &'a Value, resolved: &Resolved<'_>) -> Vec<&'a Value> {
    let Some(top) = top_value(resource, resolved) else {
        return vec![];
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match resolved.sub {
        None => items.into_iter().filter(|v| !v.is_null()).collect(),
        Some(sub) => items
            .into_iter()
            .filter_map(|item| item.as_object().and_then(|o| get_ci(o, &sub.name)))
            .flat_map(|v| match v {
                Value::Array(a) => a.iter().collect::<Vec<_>>(),
                v => vec![v],
            })
            .filter(|v| !v.is_null())
            .collect(),
    }
}

/// Whether a value counts as "present" for the `pr` operator and for `required` checks
/// (RFC 7644 §3.4.2.2: not null, not an empty string, not an empty array or object).
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// Parses an RFC 3339 / xsd:dateTime string.
pub fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Orders two attribute values under the attribute's definition. `None` when they do not compare
/// (different JSON types, an unparsable dateTime, booleans under an ordering).
///
/// `def` is `None` for attributes the schema does not know: they compare as case-insensitive
/// strings, the RFC 7643 §2.2 default.
pub fn compare(def: Option<&AttributeDef>, a: &Value, b: &Value) -> Option<Ordering> {
    let case_exact = def.is_some_and(|d| d.case_exact);
    let is_datetime = def.is_some_and(|d| d.attr_type == AttrType::DateTime);
    match (a, b) {
        (Value::String(x), Value::String(y)) if is_datetime => {
            match (parse_datetime(x), parse_datetime(y)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => None,
            }
        }
        (Value::String(x), Value::String(y)) => Some(if case_exact {
            prepare(x).cmp(&prepare(y))
        } else {
            fold(x).cmp(&fold(y))
        }),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Equality under the attribute's definition; `null` equals only an absent/null value.
pub fn equals(def: Option<&AttributeDef>, a: &Value, b: &Value) -> bool {
    compare(def, a, b) == Some(Ordering::Equal)
}

/// String preparation before any comparison (RFC 7644 §5 and §7.8 point to PRECIS): width
/// mapping (fullwidth and halfwidth forms to their ordinary characters) and Unicode NFC, so "café"
/// typed with a combining accent equals the precomposed one. ASCII passes through untouched.
///
/// Written here rather than taken from a PRECIS crate: the two mappings are all the RFC's checks
/// need, and unicode-normalization (already a dependency) provides both.
pub fn prepare(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let width_mapped: String = s
        .chars()
        .flat_map(|c| {
            // U+3000 and the Halfwidth and Fullwidth Forms block are exactly the characters with
            // <wide>/<narrow> compatibility decompositions that width mapping targets.
            let is_width_form = c == '\u{3000}' || ('\u{FF01}'..='\u{FFEE}').contains(&c);
            let mapped: Vec<char> = if is_width_form {
                std::iter::once(c).nfkc().collect()
            } else {
                vec![c]
            };
            mapped
        })
        .collect();
    Cow::Owned(width_mapped.nfc().collect())
}

/// Case folding for caseExact=false comparisons: `prepare`, then full Unicode lower-casing, so
/// "É" matches "é" and "ＢＯＢ" matches "bob".
pub fn fold(s: &str) -> String {
    let lowered = prepare(s).to_lowercase();
    if lowered.is_ascii() {
        lowered
    } else {
        lowered.nfc().collect()
    }
}

/// A sub-attribute of one element of the complex attribute `parent`; null reads as absent.
///
/// RFC 7643 §2.4 says an element of a multi-valued attribute that omits `primary` is to be taken
/// as `primary: false`, so that is what an absent `primary` reads as here (filters such as
/// `emails[primary eq false]` then select it).
pub fn sub_value<'a>(
    parent: &AttributeDef,
    sub: &AttributeDef,
    element: &'a Value,
) -> Option<&'a Value> {
    static FALSE: Value = Value::Bool(false);
    let obj = element.as_object()?;
    match get_ci(obj, &sub.name).filter(|v| !v.is_null()) {
        Some(v) => Some(v),
        None if parent.multi_valued
            && sub.attr_type == AttrType::Boolean
            && sub.name.eq_ignore_ascii_case("primary") =>
        {
            Some(&FALSE)
        }
        None => None,
    }
}

#[cfg(test)]
mod prep_tests {
    use super::*;

    #[test]
    fn nfd_and_fullwidth_spellings_fold_together() {
        assert_eq!(fold("cafe\u{301}"), fold("caf\u{e9}"));
        assert_eq!(fold("\u{FF37}\u{FF49}\u{FF44}\u{FF45}"), "wide");
        assert_eq!(prepare("cafe\u{301}"), "caf\u{e9}");
        assert_eq!(fold("ABC"), "abc");
        // Compatibility characters outside the width forms are left alone (no NFKC).
        assert_eq!(fold("\u{FB01}"), "\u{FB01}");
    }
}
