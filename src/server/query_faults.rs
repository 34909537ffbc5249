//! The faults of the query suites (filter, sort, paging, search): each helper here makes the
//! server commit one realistic mistake, and is called from `Ctx::list` or the routes only when
//! its fault is switched on. The correct behaviour lives in the SCIM core (`crate::scim`); these
//! helpers bend its inputs or outputs rather than the core itself.

use super::faults::{Fault, Faults};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{self, Filter, ValFilter};
use crate::scim::schema::{AttrType, AttributeDef, ResourceType, SEARCH_REQUEST_URN};
use crate::scim::value::remove_ci;
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Operands};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The filter as a faulty server reads it: `filter-names-literal` refuses names not spelled
/// exactly as the schema does, `filter-pr-empty`, `filter-left-to-right` and
/// `value-path-any-element` rewrite it. Without those faults the filter is returned unchanged.
pub fn rewrite_filter(faults: &Faults, rt: &ResourceType, mut f: Filter) -> ScimResult<Filter> {
    if faults.on(Fault::FilterNamesLiteral) {
        check_literal_names(rt, &f)?;
    }
    if faults.on(Fault::FilterPrEmpty) {
        f = pr_counts_empty(rt, f);
    }
    if faults.on(Fault::FilterLeftToRight) {
        f = left_to_right(f);
    }
    if faults.on(Fault::ValuePathAnyElement) {
        f = value_paths_flattened(f);
    }
    Ok(f)
}

/// The resource type filters are evaluated against under `filter-datetime-as-string` (dateTime
/// attributes become caseExact strings, so `gt` compares text) and `filter-ignores-case-exact`
/// (every attribute becomes caseExact=false, like a case-insensitive database collation).
/// `None`: evaluate against `rt` itself.
pub fn filter_type(faults: &Faults, rt: &ResourceType) -> Option<ResourceType> {
    let as_string = faults.on(Fault::FilterDatetimeAsString);
    let ignore_case = faults.on(Fault::FilterIgnoresCaseExact);
    if !as_string && !ignore_case {
        return None;
    }
    fn walk(a: &mut AttributeDef, as_string: bool, ignore_case: bool) {
        if as_string && a.attr_type == AttrType::DateTime {
            a.attr_type = AttrType::String;
            a.case_exact = true;
        }
        if ignore_case {
            a.case_exact = false;
        }
        for s in &mut a.sub_attributes {
            walk(s, as_string, ignore_case);
        }
    }
    let mut rt = rt.clone();
    let attrs = rt
        .schema
        .attributes
        .iter_mut()
        .chain(rt.common.iter_mut())
        .chain(
            rt.extensions
                .iter_mut()
                .flat_map(|(s, _)| s.attributes.iter_mut()),
        );
    for a in attrs {
        walk(a, as_string, ignore_case);
    }
    Some(rt)
}

/// `filter-names-literal`: a server that maps filter attribute names through a table keyed by
/// their exact spelling knows neither `USERNAME` nor `urn:…:core:2.0:User:userName`. Extension
/// attributes, which need their URN, keep it (but must match its case).
fn check_literal_names(rt: &ResourceType, f: &Filter) -> ScimResult<()> {
    let check = |p: &AttrPath| -> ScimResult<()> {
        let core_urn = p
            .uri
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(&rt.schema.id));
        let respelled = rt
            .resolve(p.uri.as_deref(), &p.name, p.sub_attr.as_deref())
            .is_some_and(|r| {
                r.attr.name != p.name
                    || r.sub.map(|s| s.name.as_str()) != p.sub_attr.as_deref()
                    || r.extension.is_some_and(|e| p.uri.as_deref() != Some(e))
            });
        if core_urn || respelled {
            return Err(ScimError::invalid_filter(format!(
                "invalid filter: unknown attribute \"{p}\""
            )));
        }
        Ok(())
    };
    match f {
        Filter::Attr(AttrExp::Present(p)) | Filter::Attr(AttrExp::Comparison(p, _, _)) => check(p),
        Filter::ValuePath(vp) => check(&vp.attr),
        Filter::Not(inner) => check_literal_names(rt, inner),
        Filter::And(items) | Filter::Or(items) => {
            items.iter().try_for_each(|f| check_literal_names(rt, f))
        }
    }
}

/// `filter-pr-empty`: `pr` implemented as "the key is there", so a string attribute holding ""
/// matches: `title pr` becomes `title pr or title eq ""`.
fn pr_counts_empty(rt: &ResourceType, f: Filter) -> Filter {
    match f {
        Filter::Attr(AttrExp::Present(p))
            if rt
                .resolve(p.uri.as_deref(), &p.name, p.sub_attr.as_deref())
                .is_some_and(|r| {
                    matches!(r.leaf().attr_type, AttrType::String | AttrType::Reference)
                }) =>
        {
            let empty =
                AttrExp::Comparison(p.clone(), CompareOp::Eq, CompValue::Str(String::new()));
            Filter::or(Filter::Attr(AttrExp::Present(p)), Filter::Attr(empty))
        }
        Filter::Not(inner) => Filter::Not(Box::new(pr_counts_empty(rt, *inner))),
        Filter::And(items) => Filter::And(map(items, |f| pr_counts_empty(rt, f))),
        Filter::Or(items) => Filter::Or(map(items, |f| pr_counts_empty(rt, f))),
        other => other,
    }
}

/// `filter-left-to-right`: `and` and `or` get equal precedence and apply in the order written.
/// The parser put every `and` chain under an `or` because `and` binds tighter, so the written
/// sequence is recovered by flattening those chains and folded from the left. (A chain written
/// in explicit parentheses, `a or (b and c)`, cannot be told apart in the tree and is read the
/// same faulty way; an `or` inside an `and` always had parentheses and is kept.)
fn left_to_right(f: Filter) -> Filter {
    match f {
        Filter::Or(items) => {
            let mut written: Vec<(bool, Filter)> = Vec::new();
            for item in items {
                match item {
                    Filter::And(chain) => {
                        for (i, term) in chain.into_iter().enumerate() {
                            written.push((i > 0, left_to_right(term)));
                        }
                    }
                    other => written.push((false, left_to_right(other))),
                }
            }
            let mut terms = written.into_iter();
            let Some((_, mut acc)) = terms.next() else {
                unreachable!("an or has at least two operands")
            };
            for (is_and, term) in terms {
                acc = if is_and {
                    Filter::and(acc, term)
                } else {
                    Filter::or(acc, term)
                };
            }
            acc
        }
        Filter::And(items) => Filter::And(map(items, left_to_right)),
        Filter::Not(inner) => Filter::Not(Box::new(left_to_right(*inner))),
        other => other,
    }
}

/// `value-path-any-element`: `emails[type eq "work" and value co "@x"]` read as
/// `emails.type eq "work" and emails.value co "@x"`, so each condition may be met by a different
/// email.
fn value_paths_flattened(f: Filter) -> Filter {
    fn dotted(parent: &AttrPath, f: ValFilter) -> Filter {
        let sub = |p: AttrPath| AttrPath {
            uri: parent.uri.clone(),
            name: parent.name.clone(),
            sub_attr: Some(p.name),
        };
        match f {
            ValFilter::Attr(AttrExp::Present(p)) => Filter::Attr(AttrExp::Present(sub(p))),
            ValFilter::Attr(AttrExp::Comparison(p, op, v)) => {
                Filter::Attr(AttrExp::Comparison(sub(p), op, v))
            }
            ValFilter::Not(inner) => Filter::Not(Box::new(dotted(parent, *inner))),
            ValFilter::And(items) => Filter::And(map(items, |f| dotted(parent, f))),
            ValFilter::Or(items) => Filter::Or(map(items, |f| dotted(parent, f))),
        }
    }
    match f {
        Filter::ValuePath(vp) => dotted(&vp.attr, *vp.filter),
        Filter::Not(inner) => Filter::Not(Box::new(value_paths_flattened(*inner))),
        Filter::And(items) => Filter::And(map(items, value_paths_flattened)),
        Filter::Or(items) => Filter::Or(map(items, value_paths_flattened)),
        other => other,
    }
}

/// The operands of an and/or, each rewritten; their number, at least two, does not change.
fn map<T, U>(items: Operands<T>, f: impl FnMut(T) -> U) -> Operands<U> {
    Operands::new(items.into_iter().map(f).collect())
        .unwrap_or_else(|_| unreachable!("an and/or keeps at least two operands"))
}

/// `filter-boolean-order-silent`: whether the filter orders a boolean attribute (`active gt
/// true`), which the faulty server answers with an empty result instead of 400 invalidFilter.
/// Top-level comparisons only.
pub fn orders_boolean(rt: &ResourceType, f: &Filter) -> bool {
    match f {
        Filter::Attr(AttrExp::Comparison(
            p,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le,
            _,
        )) => rt
            .resolve(p.uri.as_deref(), &p.name, p.sub_attr.as_deref())
            .is_some_and(|r| r.leaf().attr_type == AttrType::Boolean),
        Filter::Not(inner) => orders_boolean(rt, inner),
        Filter::And(items) | Filter::Or(items) => items.iter().any(|f| orders_boolean(rt, f)),
        _ => false,
    }
}

/// `filter-first-value-only`: the resource as a server that compares only the first value of a
/// multi-valued attribute sees it (every top-level array cut to its first element).
pub fn first_values_only(resource: &Value) -> Value {
    let mut v = resource.clone();
    if let Some(m) = v.as_object_mut() {
        for (k, val) in m.iter_mut() {
            if let (false, Value::Array(items)) = (k.eq_ignore_ascii_case("schemas"), val) {
                items.truncate(1);
            }
        }
    }
    v
}

/// `sort-first-value`: drops the `primary` flags from a sort-key copy of a resource, so a
/// multi-valued attribute sorts by its first value.
pub fn drop_primary_flags(resource: &mut Value) {
    for val in resource
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        for item in val.as_array_mut().into_iter().flatten() {
            if let Some(o) = item.as_object_mut() {
                remove_ci(o, "primary");
            }
        }
    }
}

/// `sort-missing-first`: after a correct sort, moves the resources lacking a sort value to the
/// front when ascending and to the back when descending (SQL's NULLS FIRST).
pub fn missing_first(rt: &ResourceType, sorted: &mut Vec<Value>, sort_by: &str, descending: bool) {
    let Ok(has_value) = filter::parse(&format!("{sort_by} pr")) else {
        return;
    };
    let (present, missing): (Vec<Value>, Vec<Value>) = sorted
        .drain(..)
        .partition(|v| filter::matches(rt, &has_value, v).unwrap_or(true));
    *sorted = if descending {
        present.into_iter().chain(missing).collect()
    } else {
        missing.into_iter().chain(present).collect()
    };
}

/// `paging-out-of-range-refused`: the strict validation some servers do instead of clamping.
pub fn check_paging(start_index: Option<i64>, count: Option<i64>, total: usize) -> ScimResult<()> {
    let start = start_index.unwrap_or(1);
    if start < 1 || count.is_some_and(|c| c < 0) {
        return Err(ScimError::invalid_value(
            "startIndex must be at least 1 and count at least 0",
        ));
    }
    if start > 1 && usize::try_from(start).is_ok_and(|s| s > total) {
        return Err(ScimError::invalid_value(format!(
            "startIndex {start} is past the last of {total} results"
        )));
    }
    Ok(())
}

/// `search-schemas-unchecked`: the SearchRequest body as if it named its URN, whatever it says.
pub fn with_search_urn(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(o) = b.as_object_mut() {
        remove_ci(o, "schemas");
        o.insert("schemas".into(), json!([SEARCH_REQUEST_URN]));
    }
    b
}

/// `unknown-params-refused`: the first query parameter a list request does not define.
pub fn unknown_param(q: &HashMap<String, String>) -> Option<&str> {
    const KNOWN: [&str; 7] = [
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
    ];
    q.keys()
        .map(String::as_str)
        .find(|k| !KNOWN.iter().any(|n| n.eq_ignore_ascii_case(k)))
}
