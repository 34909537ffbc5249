//! Vendor contracts the reference server can play. `rfc` is plain RFC 7643/7644; `asana` follows
//! Asana's published SCIM documents (`shared/seeds/`), including where they narrow the RFC.
//! Choices made where Asana's documents are silent are listed in `docs/asana-contract.md`.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::Filter;
use crate::scim::schema::ENTERPRISE_URN;
use crate::scim::value::get_ci;
use scim_v2::filter::{AttrExp, CompValue, CompareOp};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contract {
    /// RFC 7643/7644 with the Enterprise User extension.
    Rfc,
    /// Asana's documented SCIM contract (base path /api/1.0/scim).
    Asana,
}

impl Contract {
    pub fn default_base_path(self) -> &'static str {
        match self {
            Contract::Rfc => "/scim/v2",
            Contract::Asana => "/api/1.0/scim",
        }
    }
}

/// Asana: Users may be filtered only by `userName eq`, Groups only by `displayName eq`.
pub fn asana_check_filter(rtype: &str, filter: &Filter) -> ScimResult<()> {
    let allowed = if rtype == "User" {
        "userName"
    } else {
        "displayName"
    };
    let ok = matches!(
        filter,
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(_)))
            if path.name.eq_ignore_ascii_case(allowed) && path.sub_attr.is_none()
                && path.uri.as_deref().is_none_or(|u| u.starts_with("urn:ietf:params:scim:schemas:core:2.0:"))
    );
    if ok {
        Ok(())
    } else {
        Err(ScimError::invalid_filter(format!(
            "the Asana contract accepts only `{allowed} eq \"…\"` as a {rtype} filter"
        )))
    }
}

/// The attributes Asana's API reference accepts; everything else is dropped on input.
fn accepted(rtype: &str, top: &str) -> Option<&'static [&'static str]> {
    const ALL: &[&str] = &[];
    let list: &[(&str, &[&str])] = if rtype == "User" {
        &[
            ("schemas", ALL),
            ("externalId", ALL),
            ("userName", ALL),
            ("userType", ALL),
            ("name", &["formatted", "givenName", "familyName"]),
            ("emails", &["value", "primary", "type"]),
            ("active", ALL),
            ("title", ALL),
            ("preferredLanguage", ALL),
            (
                "addresses",
                &["country", "region", "locality", "type", "primary"],
            ),
            ("phoneNumbers", &["value", "type", "primary"]),
            (
                ENTERPRISE_URN,
                &[
                    "department",
                    "costCenter",
                    "organization",
                    "division",
                    "employeeNumber",
                    "manager",
                ],
            ),
        ]
    } else {
        &[
            ("schemas", ALL),
            ("externalId", ALL),
            ("displayName", ALL),
            ("members", &["value", "type", "$ref", "display"]),
        ]
    };
    list.iter().find(|(n, _)| *n == top).map(|(_, subs)| *subs)
}

/// Drops what the Asana contract does not accept (canonical keys expected).
pub fn asana_restrict(rtype: &str, resource: &mut Value) {
    let Some(map) = resource.as_object_mut() else {
        return;
    };
    map.retain(|k, v| match accepted(rtype, k) {
        None => false,
        Some([]) => true,
        Some(subs) => {
            let keep = |o: &mut Map<String, Value>| o.retain(|sk, _| subs.contains(&sk.as_str()));
            match v {
                Value::Object(o) => keep(o),
                Value::Array(items) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(keep),
                _ => {}
            }
            true
        }
    });
    if let Some(Value::Object(ent)) = map.get_mut(ENTERPRISE_URN) {
        if let Some(Value::Object(mgr)) = ent.get_mut("manager") {
            mgr.retain(|k, _| k == "value");
        }
    }
}

/// userName must be an email address in the configured domain, and so must every email value.
pub fn asana_check_user(resource: &Value, domain: &str) -> ScimResult<()> {
    let in_domain = |s: &str| {
        s.rsplit_once('@')
            .is_some_and(|(local, d)| !local.is_empty() && d.eq_ignore_ascii_case(domain))
    };
    let user_name = resource
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !in_domain(user_name) {
        return Err(ScimError::invalid_value(format!(
            "userName must be an email address in the organisation's domain {domain:?} (Asana contract)"
        )));
    }
    if let Some(emails) = resource.get("emails").and_then(Value::as_array) {
        for e in emails {
            if let Some(v) = e.get("value").and_then(Value::as_str) {
                if !in_domain(v) {
                    return Err(ScimError::invalid_value(format!(
                        "email {v:?} is outside the organisation's domain {domain:?} (Asana contract)"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// "formattedName takes precedence": givenName and familyName follow name.formatted
/// (first word / the rest) whenever it is set.
pub fn asana_apply_formatted(resource: &mut Value) {
    let Some(name) = resource.get_mut("name").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(formatted) = name.get("formatted").and_then(Value::as_str).map(str::trim) else {
        return;
    };
    if formatted.is_empty() {
        return;
    }
    let (given, family) = match formatted.split_once(char::is_whitespace) {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (formatted.to_string(), String::new()),
    };
    name.insert("givenName".into(), Value::String(given));
    if family.is_empty() {
        name.remove("familyName");
    } else {
        name.insert("familyName".into(), Value::String(family));
    }
}

/// PATCH may not touch name.givenName / name.familyName (Asana: "use name.formatted").
pub fn asana_check_patch(request: &Value) -> ScimResult<()> {
    let ops = request
        .as_object()
        .and_then(|o| get_ci(o, "Operations"))
        .and_then(Value::as_array);
    let bad = |s: &str| {
        let s = s.to_ascii_lowercase();
        let s = s
            .strip_prefix("urn:ietf:params:scim:schemas:core:2.0:user:")
            .unwrap_or(&s);
        s == "name.givenname" || s == "name.familyname"
    };
    let names_parts = |v: &Value| {
        v.as_object()
            .is_some_and(|o| get_ci(o, "givenName").is_some() || get_ci(o, "familyName").is_some())
    };
    for op in ops.into_iter().flatten() {
        let Some(op) = op.as_object() else { continue };
        let path = get_ci(op, "path").and_then(Value::as_str);
        let value = get_ci(op, "value");
        let touches = match (path, value) {
            (Some(p), _) if bad(p) => true,
            (Some(p), Some(v)) if p.eq_ignore_ascii_case("name") => names_parts(v),
            (None, Some(Value::Object(o))) => o
                .iter()
                .any(|(k, v)| bad(k) || (k.eq_ignore_ascii_case("name") && names_parts(v))),
            _ => false,
        };
        if touches {
            return Err(ScimError::invalid_path(
                "name.givenName and name.familyName cannot be changed by PATCH under the Asana contract; use name.formatted",
            ));
        }
    }
    Ok(())
}
