//! SCIM filters (RFC 7644 §3.4.2.2): parsed by the `scim_v2` crate, evaluated here against JSON
//! resources under the attribute definitions of [`crate::scim::schema`].
//!
//! Semantics decided here (the RFC leaves them open or implicit):
//!
//! - **`ne` is `not eq`**, also for multi-valued attributes and for resources without the
//!   attribute: `emails.value ne "a@x"` excludes a user holding `a@x` among other addresses, and
//!   includes a user with no emails. This keeps `X ne v` and `not (X eq v)` interchangeable, which
//!   is what clients paging through "everything except v" expect.
//! - **`null`**: RFC 7643 §2.5 makes null and unassigned the same state, so `X eq null` is
//!   `not (X pr)` and `X ne null` is `X pr`; any other operator with `null` matches nothing.
//! - **Unknown attributes** have no value in [`matches`]: `nosuch eq "x"` and `nosuch pr` are
//!   false, `nosuch ne "x"` is true. RFC 7644 §3.4.2.1 requires exactly this for root queries
//!   spanning types (requirement P-3.4.2.1-04: no error). [`validate`] instead refuses them with
//!   400 invalidFilter, which RFC 7644 Table 9 allows for an unsupported attribute/filter
//!   combination; the server calls it for single-type queries.
//! - **Wrong-type comparison values** (`active eq "true"`, `meta.created gt "yesterday"`) match
//!   nothing (so their `ne` matches everything): the value can never equal a well-typed one, and
//!   there is no RFC basis to fail the request.
//! - **Operators that make no sense for a type** fail with 400 invalidFilter in [`matches`] too,
//!   for the whole filter before any data is read: `gt`/`ge`/`lt`/`le` on boolean or binary
//!   attributes (RFC 7644 §3.4.2.2 demands it) and `co`/`sw`/`ew` on anything but string and
//!   reference attributes (our choice, so a mistyped query is reported, not silently empty).
//! - A complex attribute compared without a sub-attribute (`emails co "@x"`, `manager eq "42"`)
//!   compares its `value` sub-attribute, as the RFC's examples do.
//! - An element of a multi-valued attribute without `primary` compares as `primary: false`
//!   (RFC 7643 §2.4), but `pr` and `null` look at stored data only.

mod eval;
mod syntax;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use super::error::ScimResult;
use super::schema::{Resolved, ResourceType, USER_URN};
use eval::Scope;
use scim_v2::filter::{AttrExp, CompValue, CompareOp};
pub use scim_v2::filter::{Filter, ValFilter};
use serde_json::Value;

/// Parses a filter (RFC 7644 §3.4.2.2); 400 invalidFilter whose detail names the position.
///
/// Also accepts `not(` without a space, which the RFC grammar allows and scim_v2 does not.
pub fn parse(s: &str) -> ScimResult<Filter> {
    let prepared = syntax::Prepared::new(s);
    prepared
        .text
        .parse::<Filter>()
        .map_err(|e| syntax::error(s, &prepared, e))
}

/// Whether `resource` (a JSON object, a SCIM resource of type `rt`) matches `filter`.
///
/// Fails only for operator/type combinations that are wrong whatever the data (see the module
/// documentation); unknown attributes simply have no value.
pub fn matches(rt: &ResourceType, filter: &Filter, resource: &Value) -> ScimResult<bool> {
    eval::check_filter(rt, filter, false)?;
    Ok(eval::eval_filter(rt, filter, resource))
}

/// Whether one element of the multi-valued complex attribute `parent` matches the bracketed
/// filter of a value path (e.g. one item of `emails` against `type eq "work" and value co "@x"`).
///
/// Names inside the filter are sub-attributes of `parent.leaf()`; an element that is not a JSON
/// object matches nothing. `rt` is unused today: sub-attributes need no type-level lookup.
pub fn matches_element(
    rt: &ResourceType,
    parent: &Resolved<'_>,
    filter: &ValFilter,
    element: &Value,
) -> ScimResult<bool> {
    let _ = rt;
    let scope = Scope::Element(parent.leaf());
    eval::check_val(scope, filter, false)?;
    Ok(eval::eval_element(scope, filter, element))
}

/// Refuses, with 400 invalidFilter, a filter this resource type cannot answer meaningfully:
/// unknown attribute paths, `attr[…]` on a non-complex attribute, comparing a complex attribute
/// that has no `value`, and the operator/type errors [`matches`] also reports.
///
/// For single-type queries only: a root query must treat other types' attributes as unassigned.
pub fn validate(rt: &ResourceType, filter: &Filter) -> ScimResult<()> {
    eval::check_filter(rt, filter, true)
}

/// [`validate`] for the bracketed filter of a value path on `parent` (e.g. a PATCH path).
pub fn validate_element(parent: &Resolved<'_>, filter: &ValFilter) -> ScimResult<()> {
    eval::check_val(Scope::Element(parent.leaf()), filter, true)
}

/// The string of a `userName eq "…"` that every match must satisfy (the whole filter, or one
/// operand of a top-level `and`), so a server can look the user up in its unique index and
/// evaluate the full filter on that candidate only. The value is returned as written; userName
/// is caseExact=false, so fold it the way the index does.
pub fn user_name_eq(filter: &Filter) -> Option<String> {
    match filter {
        Filter::And(items) => items.iter().find_map(user_name_term),
        f => user_name_term(f),
    }
    .map(str::to_string)
}

fn user_name_term(f: &Filter) -> Option<&str> {
    match f {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if path.name.eq_ignore_ascii_case("userName")
                && path.sub_attr.is_none()
                && path
                    .uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(USER_URN)) =>
        {
            Some(v.as_str())
        }
        _ => None,
    }
}
