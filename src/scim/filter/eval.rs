//! Checking and evaluating parsed filters against JSON resources (RFC 7644 §3.4.2.2, RFC 7643 §2).
//!
//! Evaluation is split from checking so that a filter that is wrong whatever the data (`active gt
//! true`) fails the same way on an empty result set as on a full one.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{AttrType, AttributeDef, Resolved, ResourceType};
use crate::scim::value;
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Where attribute paths are looked up.
#[derive(Clone, Copy)]
pub(super) enum Scope<'a> {
    /// A whole resource: a top-level filter.
    Resource(&'a ResourceType),
    /// One element of this complex attribute: the filter inside `attr[…]`.
    Element(&'a AttributeDef),
}

/// What an attribute path designates within its scope.
#[derive(Clone, Copy)]
enum Subject<'a> {
    /// Nothing defined there; it has no value.
    Unknown,
    /// A path from the resource root.
    Root(Resolved<'a>),
    /// A sub-attribute of the element under test.
    Sub {
        parent: &'a AttributeDef,
        sub: &'a AttributeDef,
    },
}

impl<'a> Scope<'a> {
    fn resolve(self, path: &AttrPath) -> Subject<'a> {
        match self {
            Scope::Resource(rt) => rt
                .resolve(path.uri.as_deref(), &path.name, path.sub_attr.as_deref())
                .map_or(Subject::Unknown, Subject::Root),
            // Sub-attributes are simple (RFC 7643 §2.3.8), so a dotted or URN-qualified name
            // inside brackets cannot denote one.
            Scope::Element(parent) if path.uri.is_none() && path.sub_attr.is_none() => parent
                .sub(&path.name)
                .map_or(Subject::Unknown, |sub| Subject::Sub { parent, sub }),
            Scope::Element(_) => Subject::Unknown,
        }
    }
}

/// The attribute whose elements a value path `attr[…]` tests: a complex one, named without a
/// sub-attribute.
fn value_path_parent<'a>(r: &Resolved<'a>) -> Option<&'a AttributeDef> {
    (r.sub.is_none() && r.attr.attr_type == AttrType::Complex).then_some(r.attr)
}

impl<'a> Subject<'a> {
    fn def(self) -> Option<&'a AttributeDef> {
        match self {
            Subject::Unknown => None,
            Subject::Root(r) => Some(r.leaf()),
            Subject::Sub { sub, .. } => Some(sub),
        }
    }

    /// What a comparison reads. A complex attribute compared as a whole stands for its `value`
    /// sub-attribute, as in RFC 7644 §3.4.2.2's example `emails co "example.com"`; one without
    /// `value` (`name`) has nothing to compare.
    fn comparand(self) -> Option<Subject<'a>> {
        match self {
            Subject::Unknown => None,
            Subject::Root(r) if r.leaf().attr_type == AttrType::Complex => {
                let value = value_path_parent(&r)?.sub("value")?;
                Some(Subject::Root(Resolved {
                    sub: Some(value),
                    ..r
                }))
            }
            Subject::Sub { sub, .. } if sub.attr_type == AttrType::Complex => None,
            s => Some(s),
        }
    }

    /// Whether the path holds a value, for `pr` and `null`: stored data only, so the implied
    /// `primary: false` of [`value::sub_value`] does not count as present.
    fn present(self, target: &Value) -> bool {
        match self {
            Subject::Unknown => false,
            Subject::Root(r) => value::values_at(target, &r)
                .into_iter()
                .any(value::is_present),
            Subject::Sub { sub, .. } => target
                .as_object()
                .and_then(|o| value::get_ci(o, &sub.name))
                .is_some_and(value::is_present),
        }
    }

    /// Every value a comparison looks at, multi-valued ones flattened.
    fn values(self, target: &Value) -> Vec<&Value> {
        let mut out = Vec::new();
        match self {
            Subject::Unknown => {}
            Subject::Root(r) => match r.sub {
                None => out = value::values_at(target, &r),
                Some(sub) => match value::top_value(target, &r) {
                    Some(Value::Array(items)) => {
                        for item in items {
                            push_flat(&mut out, value::sub_value(r.attr, sub, item));
                        }
                    }
                    Some(item) => push_flat(&mut out, value::sub_value(r.attr, sub, item)),
                    None => {}
                },
            },
            Subject::Sub { parent, sub } => {
                push_flat(&mut out, value::sub_value(parent, sub, target))
            }
        }
        out
    }
}

fn push_flat<'v>(out: &mut Vec<&'v Value>, v: Option<&'v Value>) {
    match v {
        Some(Value::Array(items)) => out.extend(items.iter().filter(|v| !v.is_null())),
        Some(v) => out.push(v),
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// Rejects what is wrong whatever the data: `gt`/`ge`/`lt`/`le` on a boolean or binary attribute
/// (RFC 7644 §3.4.2.2 demands 400 invalidFilter) and `co`/`sw`/`ew` on an attribute that is not a
/// string or reference (they have no meaning there; refusing beats silently matching nothing).
/// With `strict`, also paths this resource type does not define, value filters on attributes that
/// are not complex, and comparisons of a complex attribute that has no `value`.
pub(super) fn check_filter(rt: &ResourceType, f: &Filter, strict: bool) -> ScimResult<()> {
    match f {
        Filter::Attr(e) => check_exp(Scope::Resource(rt), e, strict),
        Filter::ValuePath(vp) => match Scope::Resource(rt).resolve(&vp.attr) {
            Subject::Root(r) => match value_path_parent(&r) {
                Some(parent) => check_val(Scope::Element(parent), &vp.filter, strict),
                None if strict => Err(ScimError::invalid_filter(format!(
                    "invalid filter: \"{}\" is not a complex attribute, so it takes no [filter]",
                    vp.attr
                ))),
                None => Ok(()),
            },
            _ if strict => Err(unknown(&vp.attr)),
            _ => Ok(()),
        },
        Filter::Not(inner) => check_filter(rt, inner, strict),
        Filter::And(items) | Filter::Or(items) => {
            items.iter().try_for_each(|f| check_filter(rt, f, strict))
        }
    }
}

pub(super) fn check_val(scope: Scope<'_>, f: &ValFilter, strict: bool) -> ScimResult<()> {
    match f {
        ValFilter::Attr(e) => check_exp(scope, e, strict),
        ValFilter::Not(inner) => check_val(scope, inner, strict),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.iter().try_for_each(|f| check_val(scope, f, strict))
        }
    }
}

fn check_exp(scope: Scope<'_>, e: &AttrExp, strict: bool) -> ScimResult<()> {
    let (path, op, operand) = match e {
        AttrExp::Present(path) => (path, None, None),
        AttrExp::Comparison(path, op, v) => (path, Some(op), Some(v)),
    };
    let subject = scope.resolve(path);
    if matches!(subject, Subject::Unknown) {
        return if strict { Err(unknown(path)) } else { Ok(()) };
    }
    let Some(op) = op else { return Ok(()) };
    if matches!(operand, Some(CompValue::Null)) && matches!(op, CompareOp::Eq | CompareOp::Ne) {
        // `eq null` / `ne null` ask about presence, which any attribute has.
        return Ok(());
    }
    let Some(def) = subject.comparand().and_then(Subject::def) else {
        return if strict {
            Err(ScimError::invalid_filter(format!(
                "invalid filter: \"{path}\" is a complex attribute; compare one of its sub-attributes"
            )))
        } else {
            Ok(())
        };
    };
    let bad = match op {
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            matches!(def.attr_type, AttrType::Boolean | AttrType::Binary)
        }
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            !matches!(def.attr_type, AttrType::String | AttrType::Reference)
        }
        CompareOp::Eq | CompareOp::Ne => false,
    };
    if bad {
        return Err(ScimError::invalid_filter(format!(
            "invalid filter: \"{op}\" cannot be applied to \"{path}\", a {} attribute",
            type_name(def.attr_type)
        )));
    }
    Ok(())
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("invalid filter: unknown attribute \"{path}\""))
}

fn type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (after checking, so it cannot fail)
// ---------------------------------------------------------------------------------------------

pub(super) fn eval_filter(rt: &ResourceType, f: &Filter, resource: &Value) -> bool {
    match f {
        Filter::Attr(e) => eval_exp(Scope::Resource(rt), e, resource),
        Filter::ValuePath(vp) => {
            let Subject::Root(r) = Scope::Resource(rt).resolve(&vp.attr) else {
                return false;
            };
            let Some(parent) = value_path_parent(&r) else {
                return false;
            };
            // One element must satisfy the whole bracketed filter (RFC 7644 §3.4.2.2).
            let scope = Scope::Element(parent);
            match value::top_value(resource, &r) {
                Some(Value::Array(items)) => {
                    items.iter().any(|el| eval_element(scope, &vp.filter, el))
                }
                Some(el) => eval_element(scope, &vp.filter, el),
                None => false,
            }
        }
        Filter::Not(inner) => !eval_filter(rt, inner, resource),
        Filter::And(items) => items.iter().all(|f| eval_filter(rt, f, resource)),
        Filter::Or(items) => items.iter().any(|f| eval_filter(rt, f, resource)),
    }
}

/// One element against a bracketed filter; elements that are not objects match nothing.
pub(super) fn eval_element(scope: Scope<'_>, f: &ValFilter, element: &Value) -> bool {
    element.is_object() && eval_val(scope, f, element)
}

fn eval_val(scope: Scope<'_>, f: &ValFilter, element: &Value) -> bool {
    match f {
        ValFilter::Attr(e) => eval_exp(scope, e, element),
        ValFilter::Not(inner) => !eval_val(scope, inner, element),
        ValFilter::And(items) => items.iter().all(|f| eval_val(scope, f, element)),
        ValFilter::Or(items) => items.iter().any(|f| eval_val(scope, f, element)),
    }
}

fn eval_exp(scope: Scope<'_>, e: &AttrExp, target: &Value) -> bool {
    match e {
        AttrExp::Present(path) => scope.resolve(path).present(target),
        AttrExp::Comparison(path, op, CompValue::Null) => {
            let present = scope.resolve(path).present(target);
            match op {
                CompareOp::Eq => !present,
                CompareOp::Ne => present,
                _ => false,
            }
        }
        AttrExp::Comparison(path, CompareOp::Ne, operand) => {
            !any_value(scope.resolve(path), &CompareOp::Eq, operand, target)
        }
        AttrExp::Comparison(path, op, operand) => {
            any_value(scope.resolve(path), op, operand, target)
        }
    }
}

/// Whether any value at `subject` satisfies `op operand` (RFC 7644 §3.4.2.2: a multi-valued
/// attribute matches if one of its values does).
fn any_value(subject: Subject<'_>, op: &CompareOp, operand: &CompValue, target: &Value) -> bool {
    let Some(subject) = subject.comparand() else {
        return false;
    };
    let Some(def) = subject.def() else {
        return false;
    };
    let Some(operand) = operand_for(def, operand) else {
        return false;
    };
    subject
        .values(target)
        .into_iter()
        .any(|v| compare_one(def, op, v, &operand))
}

/// The comparison value as JSON, or `None` when its type can never match the attribute's type
/// (`active eq "true"`, `meta.created gt "yesterday"`): such a comparison matches nothing.
fn operand_for(def: &AttributeDef, v: &CompValue) -> Option<Value> {
    match (def.attr_type, v) {
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::Str(s)) => {
            Some(Value::String(s.clone()))
        }
        (AttrType::DateTime, CompValue::Str(s)) if value::parse_datetime(s).is_some() => {
            Some(Value::String(s.clone()))
        }
        (AttrType::Boolean, CompValue::True) => Some(Value::Bool(true)),
        (AttrType::Boolean, CompValue::False) => Some(Value::Bool(false)),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(n)) => {
            Some(Value::Number(n.clone()))
        }
        _ => None,
    }
}

fn compare_one(def: &AttributeDef, op: &CompareOp, stored: &Value, operand: &Value) -> bool {
    match op {
        // Binary values are case-exact whatever the schema says (RFC 7643 §2.3.6).
        CompareOp::Eq | CompareOp::Ne if def.attr_type == AttrType::Binary => {
            stored.is_string() && stored.as_str() == operand.as_str()
        }
        CompareOp::Eq | CompareOp::Ne => value::equals(Some(def), stored, operand),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Some(a), Some(b)) = (stored.as_str(), operand.as_str()) else {
                return false;
            };
            let (a, b): (Cow<'_, str>, Cow<'_, str>) = if def.case_exact {
                (value::prepare(a), value::prepare(b))
            } else {
                (value::fold(a).into(), value::fold(b).into())
            };
            match op {
                CompareOp::Co => a.contains(&*b),
                CompareOp::Sw => a.starts_with(&*b),
                _ => a.ends_with(&*b),
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            value::compare(Some(def), stored, operand).is_some_and(|o| match op {
                CompareOp::Gt => o == Ordering::Greater,
                CompareOp::Ge => o != Ordering::Less,
                CompareOp::Lt => o == Ordering::Less,
                _ => o != Ordering::Greater,
            })
        }
    }
}
