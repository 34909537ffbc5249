//! The faults of the resource suites (schemas and discovery, resource structure, Bulk, errors,
//! i18n): each helper here makes the server commit one realistic mistake, and does nothing unless
//! its fault is switched on. The handlers and `resources` call them at the one point where the
//! mistake would happen, so the correct behaviour stays in the code around them.
//!
//! `canonical_emails` is the exception: it is the correct behaviour (RFC 7643 §4.1.2), kept here
//! next to the fault that skips it.

use super::faults::{Fault, Faults};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{split_urn, ResourceType, ENTERPRISE_URN, USER_URN};
use crate::scim::value::get_ci;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

// ---- /Schemas, /ResourceTypes, /ServiceProviderConfig ----

/// Every attribute definition of a schema document, sub-attributes included.
fn for_each_definition(attrs: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    for a in attrs.as_array_mut().into_iter().flatten() {
        if let Some(def) = a.as_object_mut() {
            f(def);
            if let Some(subs) = def.get_mut("subAttributes") {
                for_each_definition(subs, f);
            }
        }
    }
}

/// One published schema document as the schema-* faults write it.
pub fn schema_doc(faults: &Faults, doc: &mut Value) {
    if faults.is_empty() {
        return;
    }
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(attrs) = doc.get_mut("attributes") else {
        return;
    };
    // `schema-dotted-names`: sub-attributes repeated at the top level as `parent.sub`.
    if faults.on(Fault::SchemaDottedNames) {
        let mut flat = Vec::new();
        for a in attrs.as_array().into_iter().flatten() {
            let parent = a.get("name").and_then(Value::as_str).unwrap_or("");
            for sub in a
                .get("subAttributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut s = sub.clone();
                let name = format!("{parent}.{}", sub["name"].as_str().unwrap_or(""));
                s["name"] = Value::String(name);
                flat.push(s);
            }
        }
        if let Some(list) = attrs.as_array_mut() {
            list.extend(flat);
        }
    }
    // `schema-characteristics-omitted`: a minimal listing that leaves mutability and returned
    // out, so every attribute reads as readWrite and returned by default.
    if faults.on(Fault::SchemaCharacteristicsOmitted) {
        for_each_definition(attrs, &mut |d| {
            d.remove("mutability");
            d.remove("returned");
        });
    }
    // `schema-types-capitalized`: "String", "DateTime", … instead of the §7 words.
    if faults.on(Fault::SchemaTypesCapitalized) {
        for_each_definition(attrs, &mut |d| {
            if let Some(Value::String(t)) = d.get_mut("type") {
                let mut c = t.chars();
                if let Some(first) = c.next() {
                    *t = first.to_uppercase().chain(c).collect();
                }
            }
        });
    }
    // `schema-complex-no-subattributes`: complex definitions without their sub-attributes.
    if faults.on(Fault::SchemaComplexNoSubAttributes) {
        for_each_definition(attrs, &mut |d| {
            if d.get("type").and_then(Value::as_str) == Some("complex") {
                d.remove("subAttributes");
            }
        });
    }
    // `schema-nested-complex`: addresses.geo, a complex sub-attribute of a complex attribute.
    if faults.on(Fault::SchemaNestedComplex) && id == USER_URN {
        for a in attrs.as_array_mut().into_iter().flatten() {
            if a.get("name").and_then(Value::as_str) == Some("addresses") {
                if let Some(Value::Array(subs)) = a.get_mut("subAttributes") {
                    subs.push(json!({
                        "name": "geo", "type": "complex", "multiValued": false,
                        "description": "Coordinates of the address.", "required": false,
                        "mutability": "readWrite", "returned": "default", "uniqueness": "none",
                        "subAttributes": [
                            {"name": "latitude", "type": "decimal", "multiValued": false,
                             "required": false, "mutability": "readWrite",
                             "returned": "default", "uniqueness": "none"},
                        ],
                    }));
                }
            }
        }
    }
    // `schema-extension-redefines`: the enterprise extension defines displayName again.
    if faults.on(Fault::SchemaExtensionRedefines) && id == ENTERPRISE_URN {
        if let Some(list) = attrs.as_array_mut() {
            list.push(json!({
                "name": "displayName", "type": "string", "multiValued": false,
                "description": "The name shown in the company directory.", "required": false,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "none",
            }));
        }
    }
}

/// One ResourceType document as `resource-type-endpoint-singular` writes it (/User, /Group).
pub fn resource_type_doc(faults: &Faults, doc: &mut Value) {
    if faults.on(Fault::ResourceTypeEndpointSingular) {
        if let Some(Value::String(e)) = doc.get_mut("endpoint") {
            *e = e.trim_end_matches('s').to_string();
        }
    }
}

/// `discovery-query-applied`: startIndex and count page a discovery listing.
pub fn discovery_page(
    faults: &Faults,
    q: &HashMap<String, String>,
    items: Vec<Value>,
) -> Vec<Value> {
    if !faults.on(Fault::DiscoveryQueryApplied) {
        return items;
    }
    let int = |k: &str| {
        q.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let start = int("startIndex").unwrap_or(1).max(1) - 1;
    let count = int("count").unwrap_or(usize::MAX);
    items.into_iter().skip(start).take(count).collect()
}

/// `scim1-urns`: the ServiceProviderConfig tagged with the SCIM 1.1 core URN.
pub fn service_provider_config(faults: &Faults, spc: &mut Value) {
    if faults.on(Fault::Scim1Urns) {
        spc["schemas"] = json!(["urn:scim:schemas:core:1.0"]);
    }
}

// ---- Requests ----

/// Whether `name` (an attribute path, optionally URN-qualified) is written exactly as the
/// schema spells it: what `attribute-names-case-sensitive` insists on.
fn canonical_spelling(rt: &ResourceType, name: &str) -> bool {
    let (urn, rest) = split_urn(name, rt);
    let urn_ok = urn.is_none_or(|u| rt.schema_urns().any(|s| s == u));
    let Some(r) = rt.resolve_str(name) else {
        return true; // unknown names are another matter
    };
    let canonical = match r.sub {
        Some(s) => format!("{}.{}", r.attr.name, s.name),
        None => r.attr.name.clone(),
    };
    urn_ok && rest == canonical
}

fn urn_prefixed(name: &str) -> bool {
    name.trim().to_ascii_lowercase().starts_with("urn:")
}

/// The names of `attributes` / `excludedAttributes` a faulty server understands; the others are
/// dropped as unknown (an empty `attributes` then returns everything).
pub fn attribute_names(faults: &Faults, rt: &ResourceType, names: &mut Vec<String>) {
    if faults.on(Fault::UrnPrefixUnsupported) {
        names.retain(|n| !urn_prefixed(n));
    }
    if faults.on(Fault::AttributeNamesCaseSensitive) {
        names.retain(|n| canonical_spelling(rt, n));
    }
}

/// `urn-prefix-unsupported` on sortBy and filter: a prefixed name is an unknown attribute.
pub fn sort_and_filter(
    faults: &Faults,
    sort_by: Option<&str>,
    filter: Option<&str>,
) -> ScimResult<()> {
    if !faults.on(Fault::UrnPrefixUnsupported) {
        return Ok(());
    }
    match (sort_by, filter) {
        (Some(s), _) if urn_prefixed(s) => Err(ScimError::invalid_value(format!(
            "sortBy names no known attribute: {s:?}"
        ))),
        (_, Some(f))
            if f.to_ascii_lowercase()
                .contains("urn:ietf:params:scim:schemas:") =>
        {
            Err(ScimError::invalid_filter(
                "the filter names no known attribute",
            ))
        }
        _ => Ok(()),
    }
}

/// `filter-unescaped`: the filter text with `\"` turned into `"` before it is parsed, the classic
/// "unescape, then parse" mistake that lets a value close its own string.
pub fn filter_text(faults: &Faults, filter: &mut Option<String>) {
    if faults.on(Fault::FilterUnescaped) {
        if let Some(f) = filter {
            *f = f.replace("\\\"", "\"");
        }
    }
}

/// A create body as the body-reading faults see it: `attribute-names-case-sensitive` drops keys
/// not spelled canonically, `schemas-optional` assumes the core URN, `schemas-order-sensitive`
/// insists on the core URN first, `multiple-primary-kept` hides the primary flags from the input
/// rules (restored by [`created`]).
pub fn create_body(faults: &Faults, rt: &ResourceType, body: &mut Value) -> ScimResult<()> {
    let Some(obj) = body.as_object_mut() else {
        return Ok(());
    };
    if faults.on(Fault::AttributeNamesCaseSensitive) {
        obj.retain(|k, _| {
            k.eq_ignore_ascii_case("schemas")
                || rt.extension(k).is_some()
                || canonical_spelling(rt, k)
        });
    }
    if faults.on(Fault::SchemasOptional) && get_ci(obj, "schemas").is_none() {
        obj.insert("schemas".into(), json!([rt.schema.id]));
    }
    if faults.on(Fault::SchemasOrderSensitive) {
        let first = get_ci(obj, "schemas")
            .and_then(|s| s.get(0))
            .and_then(Value::as_str);
        if first.is_some_and(|u| !u.eq_ignore_ascii_case(&rt.schema.id)) {
            return Err(ScimError::invalid_value(format!(
                "schemas must start with {}",
                rt.schema.id
            )));
        }
    }
    if faults.on(Fault::MultiplePrimaryKept) {
        for v in obj.values_mut() {
            for item in v.as_array_mut().into_iter().flatten() {
                if let Some(o) = item.as_object_mut() {
                    o.remove("primary");
                }
            }
        }
    }
    Ok(())
}

/// What the create faults change in the prepared resource `data`; `body` is the body as sent.
pub fn created(faults: &Faults, rt: &ResourceType, body: &Value, data: &mut Value) {
    let (Some(sent), Some(out)) = (body.as_object(), data.as_object_mut()) else {
        return;
    };
    // `undeclared-schema-kept`: every URN the client listed stays in schemas.
    if faults.on(Fault::UndeclaredSchemaKept) {
        let extra: Vec<Value> = get_ci(sent, "schemas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|u| !out["schemas"].as_array().is_some_and(|s| s.contains(u)))
            .cloned()
            .collect();
        if let Some(Value::Array(s)) = out.get_mut("schemas") {
            s.extend(extra);
        }
    }
    // `multiple-primary-kept`: the primary flags hidden by `create_body`, restored by position.
    if faults.on(Fault::MultiplePrimaryKept) {
        for (k, v) in sent {
            let Some(items) = v.as_array() else { continue };
            let Some(Value::Array(stored)) =
                rt.resolve_str(k).and_then(|r| out.get_mut(&r.attr.name))
            else {
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                if item.get("primary") == Some(&Value::Bool(true)) {
                    if let Some(Value::Object(s)) = stored.get_mut(i) {
                        s.insert("primary".into(), Value::Bool(true));
                    }
                }
            }
        }
    }
    // `duplicate-values-kept`: emails stored as sent, repeats included.
    if faults.on(Fault::DuplicateValuesKept) {
        if let Some(Value::Array(emails)) = get_ci(sent, "emails") {
            if out.get("emails").and_then(Value::as_array).map(Vec::len) < Some(emails.len()) {
                out.insert("emails".into(), Value::Array(emails.clone()));
            }
        }
    }
    // `binary-reencoded`: base64 turned into unpadded base64url.
    if faults.on(Fault::BinaryReencoded) {
        for c in out
            .get_mut("x509Certificates")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(Value::String(v)) = c.get_mut("value") {
                *v = v.trim_end_matches('=').replace('+', "-").replace('/', "_");
            }
        }
    }
    // `manager-display-kept`: the client's manager.displayName stored as sent.
    if faults.on(Fault::ManagerDisplayKept) {
        let sent_display = get_ci(sent, ENTERPRISE_URN)
            .and_then(|e| e.get("manager"))
            .and_then(|m| m.get("displayName"))
            .cloned();
        if let (Some(d), Some(Value::Object(m))) = (
            sent_display,
            out.get_mut(ENTERPRISE_URN)
                .and_then(|e| e.get_mut("manager")),
        ) {
            m.insert("displayName".into(), d);
        }
    }
    // `utf8-mangled`: every non-ASCII character stored as '?'.
    if faults.on(Fault::Utf8Mangled) {
        fn mangle(v: &mut Value) {
            match v {
                Value::String(s) if !s.is_ascii() => {
                    *s = s
                        .chars()
                        .map(|c| if c.is_ascii() { c } else { '?' })
                        .collect();
                }
                Value::Array(a) => a.iter_mut().for_each(mangle),
                Value::Object(o) => o.values_mut().for_each(mangle),
                _ => {}
            }
        }
        for (k, v) in out.iter_mut() {
            if k != "schemas" {
                mangle(v);
            }
        }
    }
}

/// RFC 7643 §4.1.2: email addresses are canonicalised, here by lower-casing the domain part
/// (RFC 5321 leaves the local part's case to the receiving host). `email-domain-kept` skips it.
pub fn canonical_emails(faults: &Faults, data: &mut Value) {
    if faults.on(Fault::EmailDomainKept) {
        return;
    }
    for e in data
        .get_mut("emails")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(Value::String(v)) = e.get_mut("value") {
            if let Some((local, domain)) = v.rsplit_once('@') {
                if domain.chars().any(char::is_uppercase) {
                    *v = format!("{local}@{}", domain.to_lowercase());
                }
            }
        }
    }
}

/// `natural-key-ids`: the id of a new resource is its userName (Users) or displayName (Groups).
pub fn natural_id(faults: &Faults, rt: &ResourceType, body: &Value) -> Option<String> {
    if !faults.on(Fault::NaturalKeyIds) {
        return None;
    }
    let key = if rt.name == "User" {
        "userName"
    } else {
        "displayName"
    };
    let obj = body.as_object()?;
    get_ci(obj, key).and_then(Value::as_str).map(String::from)
}

/// Faults that refuse a PATCH before it runs: `urn-prefix-unsupported` and
/// `attribute-names-case-sensitive` do not understand the path, `password-change-refused`
/// refuses to touch the password.
pub fn patch_request(faults: &Faults, rt: &ResourceType, body: &Value) -> ScimResult<()> {
    if faults.is_empty() {
        return Ok(());
    }
    let ops = body.get("Operations").and_then(Value::as_array);
    for op in ops.into_iter().flatten() {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("").trim();
        let attr = path.split('[').next().unwrap_or(path);
        if faults.on(Fault::UrnPrefixUnsupported) && urn_prefixed(attr) {
            return Err(ScimError::invalid_path(format!("no attribute {path:?}")));
        }
        if faults.on(Fault::AttributeNamesCaseSensitive) && !canonical_spelling(rt, attr) {
            return Err(ScimError::invalid_path(format!("no attribute {path:?}")));
        }
        let names_password = attr.eq_ignore_ascii_case("password")
            || op
                .get("value")
                .and_then(Value::as_object)
                .is_some_and(|v| get_ci(v, "password").is_some());
        if faults.on(Fault::PasswordChangeRefused) && names_password {
            return Err(ScimError::mutability("the password cannot be changed"));
        }
    }
    Ok(())
}

/// `password-change-refused` on PUT: a body with a password for a user that has one is refused.
pub fn replace_request(faults: &Faults, stored: &Value, body: &Value) -> ScimResult<()> {
    let sends = body
        .as_object()
        .is_some_and(|o| get_ci(o, "password").is_some_and(|p| !p.is_null()));
    if faults.on(Fault::PasswordChangeRefused) && sends && stored.get("password").is_some() {
        return Err(ScimError::mutability("the password cannot be changed"));
    }
    Ok(())
}

/// `last-modified-from-client`: the meta.lastModified a PUT body carries, which the faulty
/// server stores instead of the time of the change.
pub fn client_last_modified(faults: &Faults, body: &Value) -> Option<String> {
    if !faults.on(Fault::LastModifiedFromClient) {
        return None;
    }
    let meta = get_ci(body.as_object()?, "meta")?.as_object()?;
    get_ci(meta, "lastModified")?.as_str().map(String::from)
}

// ---- Responses ----

/// A resource representation as the rendering faults write it (after projection).
pub fn rendered(faults: &Faults, rt: &ResourceType, out: &mut Value) {
    if faults.is_empty() {
        return;
    }
    let Some(map) = out.as_object_mut() else {
        return;
    };
    // `externalid-invented`: the id copied into externalId when the client sent none.
    if faults.on(Fault::ExternalIdInvented) && !map.contains_key("externalId") {
        if let Some(id) = map.get("id").cloned() {
            map.insert("externalId".into(), id);
        }
    }
    // `externalid-lowercased`: a case-insensitive column.
    if faults.on(Fault::ExternalIdLowercased) {
        if let Some(Value::String(e)) = map.get_mut("externalId") {
            *e = e.to_lowercase();
        }
    }
    // `meta-version-mismatch`: meta.version without the weak-tag prefix of the ETag.
    if faults.on(Fault::MetaVersionMismatch) {
        if let Some(Value::String(v)) = map.get_mut("meta").and_then(|m| m.get_mut("version")) {
            *v = v.trim_start_matches("W/").trim_matches('"').to_string();
        }
    }
    // `ref-wrong-endpoint`: a User's URI built with the Groups endpoint.
    if faults.on(Fault::RefWrongEndpoint) {
        let user_ref_to_group = |v: &mut Value| {
            if let Some(Value::String(r)) = v.get_mut("$ref") {
                *r = r.replace("/Users/", "/Groups/");
            }
        };
        for m in map
            .get_mut("members")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if m.get("type").and_then(Value::as_str) == Some("User") {
                user_ref_to_group(m);
            }
        }
        if let Some(m) = map
            .get_mut(ENTERPRISE_URN)
            .and_then(|e| e.get_mut("manager"))
        {
            user_ref_to_group(m);
        }
    }
    // `extension-flattened`: the enterprise attributes moved to the top level.
    if faults.on(Fault::ExtensionFlattened) {
        if let Some(Value::Object(ext)) = map.remove(ENTERPRISE_URN) {
            map.extend(ext);
        }
    }
    // `single-value-unwrapped`: a one-element multi-valued attribute as its bare value.
    if faults.on(Fault::SingleValueUnwrapped) {
        for (k, v) in map.iter_mut() {
            let multi = rt.resolve_str(k).is_some_and(|r| r.attr.multi_valued);
            if let (true, Value::Array(a)) = (multi && k != "schemas", &*v) {
                if a.len() == 1 {
                    *v = a[0].clone();
                }
            }
        }
    }
    // `resource-schemas-missing`: schemas treated as request-only.
    if faults.on(Fault::ResourceSchemasMissing) {
        map.remove("schemas");
    }
}

/// `location-with-query`: meta.location built from the request URL, query string included.
pub fn location_with_query(faults: &Faults, query: &HashMap<String, String>, body: &mut Value) {
    if !faults.on(Fault::LocationWithQuery) || query.is_empty() {
        return;
    }
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Some(Value::String(l)) = body.get_mut("meta").and_then(|m| m.get_mut("location")) {
        *l = format!("{l}?{}", q.join("&"));
    }
}

/// `primary-default-true`: the resource a filter is evaluated against, with the first value of
/// each multi-valued attribute that has no primary value taken as primary.
pub fn filter_view(faults: &Faults, full: &Value) -> Option<Value> {
    if !faults.on(Fault::PrimaryDefaultTrue) {
        return None;
    }
    let mut v = full.clone();
    for items in v
        .as_object_mut()?
        .values_mut()
        .filter_map(Value::as_array_mut)
    {
        let any_primary = items
            .iter()
            .any(|i| i.get("primary") == Some(&Value::Bool(true)));
        if let (false, Some(Value::Object(first))) = (any_primary, items.first_mut()) {
            first.insert("primary".into(), Value::Bool(true));
        }
    }
    Some(v)
}
