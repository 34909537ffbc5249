//! PATCH `path` strings (RFC 7644 §3.5.2, `PATH = attrPath / valuePath [subAttr]`) resolved
//! against a resource type.
//!
//! Syntax comes from `scim_v2::filter::PatchPath`, with one gap filled here: a bare extension URN
//! (`urn:…:enterprise:2.0:User`) is a legal target for an object of extension attributes, but
//! scim_v2 splits it at its last colon into URI `urn:…:2.0` and attribute `User`.

use crate::scim::error::ScimError;
use crate::scim::filter;
use crate::scim::schema::{AttributeDef, Resolved, ResourceType, SchemaDef};
use scim_v2::filter::{AttrPath, PatchPath, ValFilter};

/// What an operation's path designates.
#[derive(Debug)]
pub(super) enum Target<'a> {
    /// A bare extension URN: the whole extension object.
    Extension(&'a SchemaDef),
    /// `[urn:]attr[.sub]`.
    Attr(Resolved<'a>),
    /// `attr[filter][.sub]` on a multi-valued attribute; `attr.sub` is always `None`.
    Filtered {
        attr: Resolved<'a>,
        filter: ValFilter,
        sub: Option<&'a AttributeDef>,
    },
}

/// Why a path did not resolve; path-less values skip [`PathError::Unknown`] keys.
#[derive(Debug)]
pub(super) enum PathError {
    /// Well-formed, but names an attribute the type does not define.
    Unknown(ScimError),
    /// Malformed (or a malformed value filter).
    Syntax(ScimError),
}

impl From<PathError> for ScimError {
    fn from(e: PathError) -> Self {
        match e {
            PathError::Unknown(e) | PathError::Syntax(e) => e,
        }
    }
}

/// Resolves `s` against `rt`. Errors: 400 invalidPath (malformed or unknown, P-3.5.2-04,
/// array indexes P-3.5.2-15), 400 invalidFilter for a broken bracketed filter (P-3.5.2-14).
pub(super) fn parse<'a>(rt: &'a ResourceType, s: &str) -> Result<Target<'a>, PathError> {
    let s = s.trim();
    if let Some(ext) = rt.extension(s) {
        return Ok(Target::Extension(ext));
    }
    let parsed = s
        .parse::<PatchPath>()
        .map_err(|e| PathError::Syntax(syntax_error(s, &e.to_string())))?;
    match parsed {
        PatchPath::Attr(p) => resolve(rt, &p, s).map(Target::Attr),
        PatchPath::Value(vp) => {
            if vp.attr.sub_attr.is_some() {
                return Err(PathError::Syntax(ScimError::invalid_path(format!(
                    "path {s:?}: a value filter applies to an attribute, not a sub-attribute"
                ))));
            }
            let attr = resolve(rt, &vp.attr, s)?;
            if !attr.attr.multi_valued {
                return Err(PathError::Syntax(ScimError::invalid_path(format!(
                    "path {s:?}: '{}' is single-valued and takes no value filter",
                    attr.attr.name
                ))));
            }
            filter::validate_element(&attr, &vp.filter).map_err(PathError::Syntax)?;
            let sub = match &vp.sub_attr {
                None => None,
                Some(name) => Some(attr.attr.sub(name).ok_or_else(|| {
                    PathError::Unknown(ScimError::invalid_path(format!(
                        "path {s:?}: '{}' has no sub-attribute '{name}'",
                        attr.attr.name
                    )))
                })?),
            };
            Ok(Target::Filtered {
                attr,
                filter: vp.filter,
                sub,
            })
        }
    }
}

fn resolve<'a>(rt: &'a ResourceType, p: &AttrPath, s: &str) -> Result<Resolved<'a>, PathError> {
    let unknown = || {
        PathError::Unknown(ScimError::invalid_path(format!(
            "path {s:?} names no attribute of {}",
            rt.name
        )))
    };
    let resolved = rt
        .resolve(p.uri.as_deref(), &p.name, p.sub_attr.as_deref())
        .or_else(|| unqualified_extension(rt, p))
        .ok_or_else(unknown)?;
    if resolved.sub.is_some() && resolved.attr.sub_attributes.is_empty() {
        return Err(unknown());
    }
    Ok(resolved)
}

/// An unqualified name that no core attribute has but exactly one extension does: Entra sends
/// `{"op":"Add","path":"manager",…}` for the enterprise `manager`. RFC 7644 §3.10 wants the URN
/// prefix for extension attributes, but the name is unambiguous, so it is accepted.
fn unqualified_extension<'a>(rt: &'a ResourceType, p: &AttrPath) -> Option<Resolved<'a>> {
    if p.uri.is_some() {
        return None;
    }
    let mut found = rt
        .extensions
        .iter()
        .filter_map(|(ext, _)| rt.resolve(Some(&ext.id), &p.name, p.sub_attr.as_deref()));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// invalidFilter when the text is `attrPath[…]` or `attrPath[…].name` with something other than
/// an array index in the brackets, so only the filter can be at fault; invalidPath otherwise.
fn syntax_error(s: &str, why: &str) -> ScimError {
    let filter_at_fault = s.split_once('[').is_some_and(|(head, rest)| {
        let Some((inner, tail)) = rest.rsplit_once(']') else {
            return false;
        };
        let inner = inner.trim();
        let tail_ok = tail.is_empty()
            || tail.strip_prefix('.').is_some_and(|n| {
                n.starts_with(|c: char| c.is_ascii_alphabetic())
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        tail_ok
            && matches!(head.parse::<PatchPath>(), Ok(PatchPath::Attr(_)))
            && !inner.is_empty()
            && !inner.bytes().all(|b| b.is_ascii_digit())
    });
    if filter_at_fault {
        ScimError::invalid_filter(format!("path {s:?}: invalid value filter: {why}"))
    } else {
        ScimError::invalid_path(format!(
            "path {s:?} is not a valid SCIM attribute path: {why}"
        ))
    }
}
