//! Limits the reference server puts on what one request may ask of it, so that no request —
//! however malformed or large — costs more than a bounded amount of work while it holds the
//! store lock. `docs/reliability.md` ("Reference server limits") lists them with the reasons.
//!
//! Status codes: limits on a request's *size* (PATCH operations, values carried by one write)
//! answer 413, as RFC 7644 §3.7.4 does for Bulk's maxOperations — Table 8 gives 413 for "a limit
//! of this operation was exceeded", and `tooMany` (Table 9) is reserved for queries with too many
//! results. Limits on query parameters answer 400 with the scimType of the parameter's kind
//! (invalidFilter, invalidValue). A write that would leave a stored resource above the per-
//! attribute cap answers 400 invalidValue: the request itself may be tiny (one member added).

use crate::scim::error::{ScimError, ScimResult};
use serde_json::Value;

/// Longest `filter` (query parameter or SearchRequest member), in characters. Parsing is linear,
/// but evaluation runs the filter against every candidate resource.
pub const MAX_FILTER_CHARS: usize = 4096;

/// Most names in one `attributes` or `excludedAttributes` list (projection is names × attributes).
pub const MAX_ATTRIBUTE_NAMES: usize = 100;

/// Most operations in one PATCH request (the same number as Bulk's maxOperations default).
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// Most values of one multi-valued attribute (e.g. `Group.members`, `User.emails`) in a stored
/// resource, in one POST/PUT body, and — all operations together — in one PATCH. The SCIM core
/// removes duplicate values pairwise, so the cost of a write grows with the square of this.
pub const MAX_MULTI_VALUES: usize = 1000;

/// 400 invalidFilter when a filter is longer than [`MAX_FILTER_CHARS`].
pub fn check_filter(filter: &str) -> ScimResult<()> {
    // Cheap test first: a string of at most N bytes has at most N characters.
    if filter.len() > MAX_FILTER_CHARS && filter.chars().count() > MAX_FILTER_CHARS {
        return Err(ScimError::invalid_filter(format!(
            "the filter is {} characters long; this server accepts at most {MAX_FILTER_CHARS}",
            filter.chars().count()
        )));
    }
    Ok(())
}

/// 400 invalidValue when an attribute list names more than [`MAX_ATTRIBUTE_NAMES`] attributes.
pub fn check_attribute_names(param: &str, names: &[String]) -> ScimResult<()> {
    if names.len() > MAX_ATTRIBUTE_NAMES {
        return Err(ScimError::invalid_value(format!(
            "{param} lists {} names; this server accepts at most {MAX_ATTRIBUTE_NAMES}",
            names.len()
        )));
    }
    Ok(())
}

/// The longest array anywhere in `v`, stopping early once one exceeds `cap`.
fn longest_array(v: &Value, cap: usize) -> usize {
    match v {
        Value::Array(a) if a.len() > cap => a.len(),
        Value::Array(a) => a
            .iter()
            .map(|x| longest_array(x, cap))
            .fold(a.len(), usize::max),
        Value::Object(o) => {
            let mut longest = 0;
            for x in o.values() {
                longest = longest.max(longest_array(x, cap));
                if longest > cap {
                    break;
                }
            }
            longest
        }
        _ => 0,
    }
}

/// The number of array items anywhere in `v` (nested arrays count their items too), stopping
/// early once the count exceeds `cap`.
fn array_items(v: &Value, cap: usize) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => {
                n += a.len();
                if n > cap {
                    return n;
                }
                stack.extend(a.iter());
            }
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

/// 413 when a POST/PUT body (or a Bulk operation's data) carries an array of more than
/// [`MAX_MULTI_VALUES`] items.
pub fn check_resource_body(body: &Value) -> ScimResult<()> {
    let longest = longest_array(body, MAX_MULTI_VALUES);
    if longest > MAX_MULTI_VALUES {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "the body carries an array of {longest} values; this server accepts at most \
                 {MAX_MULTI_VALUES} values per multi-valued attribute"
            ),
        ));
    }
    Ok(())
}

/// 413 when a PatchOp has more than [`MAX_PATCH_OPERATIONS`] operations, or its operations'
/// values carry more than [`MAX_MULTI_VALUES`] array items together. Bodies of the wrong shape
/// pass: the PATCH engine reports those with the precise error.
pub fn check_patch(body: &Value) -> ScimResult<()> {
    let Some(ops) = body.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
            .and_then(|(_, v)| v.as_array())
    }) else {
        return Ok(());
    };
    if ops.len() > MAX_PATCH_OPERATIONS {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "{} PATCH operations exceed this server's limit of {MAX_PATCH_OPERATIONS} per request",
                ops.len()
            ),
        ));
    }
    let mut values = 0;
    for op in ops {
        values += array_items(op, MAX_MULTI_VALUES - values.min(MAX_MULTI_VALUES));
        if values > MAX_MULTI_VALUES {
            return Err(ScimError::new(
                413,
                None,
                format!(
                    "the PATCH operations carry more than {MAX_MULTI_VALUES} multi-valued items \
                     together; this server accepts at most {MAX_MULTI_VALUES} per request"
                ),
            ));
        }
    }
    Ok(())
}

/// 400 invalidValue when a resource about to be stored has a multi-valued attribute with more
/// than [`MAX_MULTI_VALUES`] values (reachable by PATCH adds accumulating over requests).
pub fn check_stored(data: &Value) -> ScimResult<()> {
    let Some(obj) = data.as_object() else {
        return Ok(());
    };
    // Multi-valued attributes sit at the top level or inside an extension object.
    let tops = obj.iter().chain(
        obj.values()
            .filter_map(Value::as_object)
            .flat_map(|o| o.iter()),
    );
    for (name, v) in tops {
        if let Value::Array(a) = v {
            if a.len() > MAX_MULTI_VALUES {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' would hold {} values; this server keeps at most {MAX_MULTI_VALUES} \
                     per multi-valued attribute",
                    a.len()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_count_what_they_say() {
        assert!(check_filter(&"a".repeat(MAX_FILTER_CHARS)).is_ok());
        // Multi-byte characters count once.
        assert!(check_filter(&"é".repeat(MAX_FILTER_CHARS)).is_ok());
        let e = check_filter(&"a".repeat(MAX_FILTER_CHARS + 1)).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type.map(|t| t.as_str())),
            (400, Some("invalidFilter"))
        );

        let names = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>();
        assert!(check_attribute_names("attributes", &names(MAX_ATTRIBUTE_NAMES)).is_ok());
        assert!(check_attribute_names("attributes", &names(MAX_ATTRIBUTE_NAMES + 1)).is_err());

        let members = |n: usize| json!({"members": vec![json!({"value": "x"}); n]});
        assert!(check_resource_body(&members(MAX_MULTI_VALUES)).is_ok());
        assert_eq!(
            check_resource_body(&members(MAX_MULTI_VALUES + 1))
                .unwrap_err()
                .status,
            413
        );
        assert!(check_stored(&members(MAX_MULTI_VALUES)).is_ok());
        assert_eq!(
            check_stored(&json!({"urn:x": {"roles": vec![1; MAX_MULTI_VALUES + 1]}}))
                .unwrap_err()
                .status,
            400
        );

        let op = json!({"op": "add", "path": "emails", "value": [{"value": "a@x"}]});
        let patch = |n: usize| json!({"Operations": vec![op.clone(); n]});
        assert!(check_patch(&patch(MAX_PATCH_OPERATIONS)).is_ok());
        assert_eq!(
            check_patch(&patch(MAX_PATCH_OPERATIONS + 1))
                .unwrap_err()
                .status,
            413
        );
        let wide = json!({"Operations": [
            {"op": "add", "path": "members", "value": vec![json!({"value": "x"}); 600]},
            {"op": "add", "path": "members", "value": vec![json!({"value": "y"}); 600]},
        ]});
        assert_eq!(check_patch(&wide).unwrap_err().status, 413);
        assert!(check_patch(&json!({"Operations": "nope"})).is_ok());
    }
}
