//! Checking a response against a step's expectations. Each expectation becomes one
//! `CheckResult`; SCIM-aware ones use the SCIM core as the oracle, so "matches the filter" means
//! exactly what the reference server means by it.

use super::http::HttpResponse;
use super::schema_check::SchemaSet;
use super::template::Templates;
use crate::results::CheckResult;
use crate::scim::schema::{AttrType, AttributeDef, Mutability, Registry, ResourceType, Returned};
use crate::scim::value::{self, get_ci};
use crate::scim::{error::ERROR_URN, filter, resource};
use crate::suite::model::{Expect, JsonType, LengthSpec, PathAssertion, Predicate, ScimExpect};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;
use std::cmp::Ordering;

/// What the checks may read besides the response.
pub struct Ctx<'a> {
    pub templates: &'a Templates,
    pub scope: &'a Map<String, Value>,
    pub schemas: &'a SchemaSet,
    /// The JSON body this step sent, for `matches_sent`.
    pub sent: Option<&'a Value>,
    /// The request path, to infer the resource type.
    pub path: &'a str,
    /// `file:line:col` of the step, used when an expectation has no position of its own.
    pub source: String,
    pub pos: &'a dyn Fn(&serde_saphyr::Location) -> String,
}

fn check(kind: &str, expected: String, result: Result<(), String>, source: String) -> CheckResult {
    CheckResult {
        kind: kind.to_string(),
        expected,
        passed: result.is_ok(),
        actual: result.err(),
        source: Some(source),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        s.chars().take(200).collect::<String>() + "…"
    } else {
        s
    }
}

/// Every check of one step, in the order the suite lists them.
pub fn check_step(expect: &Expect, resp: &HttpResponse, ctx: &Ctx<'_>) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let body = resp.json();
    if let Some(status) = &expect.status {
        let want = &status.value;
        let res = if want.accepts(resp.status) {
            Ok(())
        } else {
            Err(format!("status {}", resp.status))
        };
        out.push(check(
            "status",
            format!("status {}", want.describe()),
            res,
            (ctx.pos)(&status.referenced),
        ));
    }
    for (name, pred) in &expect.headers {
        let value = resp.header(name).map(|v| Value::String(v.to_string()));
        let res = if pred.value.optional && value.is_none() {
            Ok(())
        } else {
            eval_predicate(&pred.value, value.as_slice(), ctx)
        };
        out.push(check(
            "header",
            format!("header {name} {}", describe(&pred.value, ctx)),
            res,
            (ctx.pos)(&pred.referenced),
        ));
    }
    if let Some(name) = &expect.schema {
        let res = match &body {
            None => Err("body is not JSON".to_string()),
            Some(b) => ctx
                .schemas
                .validate(&name.value, b)
                .map_err(|errs| errs.join("; ")),
        };
        out.push(check(
            "schema",
            format!("body satisfies the {} schema", name.value),
            res,
            (ctx.pos)(&name.referenced),
        ));
    }
    for pa in &expect.jsonpath {
        // An empty body (a legal 204) is an empty document: nothing is selected, so
        // `exists: false` holds and value predicates fail with "nothing there".
        let empty = Value::Null;
        let doc = match (&body, resp.body.iter().all(u8::is_ascii_whitespace)) {
            (Some(b), _) => Some(b),
            (None, true) => Some(&empty),
            (None, false) => None,
        };
        let res = eval_path(&pa.value, doc, ctx);
        out.push(check(
            "jsonpath",
            format!("{} {}", pa.value.path, describe_path(&pa.value, ctx)),
            res,
            (ctx.pos)(&pa.referenced),
        ));
    }
    if let Some(sc) = &expect.scim {
        out.extend(check_scim(
            &sc.value,
            resp,
            body.as_ref(),
            ctx,
            (ctx.pos)(&sc.referenced),
        ));
    }
    out
}

/// What a predicate expects, with templates rendered so the user sees the real values.
fn describe(p: &Predicate, ctx: &Ctx<'_>) -> String {
    let shown = |v: &Value| short(&render(v, ctx).unwrap_or_else(|_| v.clone()));
    let mut parts = Vec::new();
    if let Some(e) = p.exists {
        parts.push(if e {
            "exists".to_string()
        } else {
            "is absent".to_string()
        });
    }
    if let Some(v) = &p.equals {
        parts.push(format!("equals {}", shown(v)));
    }
    if let Some(v) = &p.not_equals {
        parts.push(format!("differs from {}", shown(v)));
    }
    if let Some(v) = &p.contains {
        parts.push(format!("contains {}", shown(v)));
    }
    if let Some(r) = &p.matches {
        parts.push(format!("matches /{r}/"));
    }
    if let Some(t) = p.json_type {
        parts.push(format!("is {t:?}").to_lowercase());
    }
    if let Some(l) = &p.length {
        parts.push(format!("has length {}", describe_len(l)));
    }
    if p.ignore_case {
        parts.push("(ignoring case)".into());
    }
    if p.optional {
        parts.push("(if present)".into());
    }
    parts.join(", ")
}

fn describe_len(l: &LengthSpec) -> String {
    match l {
        LengthSpec::Exactly(n) => n.to_string(),
        LengthSpec::Bounds(b) => format!(
            "in {}..={}",
            b.min.map(|m| m.to_string()).unwrap_or_default(),
            b.max.map(|m| m.to_string()).unwrap_or_default()
        ),
    }
}

fn len_ok(l: &LengthSpec, n: usize) -> bool {
    match l {
        LengthSpec::Exactly(want) => n == *want,
        LengthSpec::Bounds(b) => b.min.is_none_or(|m| n >= m) && b.max.is_none_or(|m| n <= m),
    }
}

fn describe_path(pa: &PathAssertion, ctx: &Ctx<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &pa.count {
        parts.push(format!("selects {} node(s)", describe_len(c)));
    }
    let d = describe(&pa.predicate(), ctx);
    if !d.is_empty() {
        parts.push(d);
    }
    if let Some(e) = &pa.every {
        parts.push(format!("every item {}", describe(e, ctx)));
    }
    parts.join(", ")
}

fn render(v: &Value, ctx: &Ctx<'_>) -> Result<Value, String> {
    ctx.templates.render_value(v, ctx.scope)
}

fn loose_eq(a: &Value, b: &Value, ignore_case: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if ignore_case => value::fold(x) == value::fold(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Evaluates a predicate over the selected nodes (none, one, or several).
fn eval_predicate(p: &Predicate, nodes: &[Value], ctx: &Ctx<'_>) -> Result<(), String> {
    if let Some(e) = p.exists {
        match (e, nodes.is_empty()) {
            (true, true) => return Err("nothing there".into()),
            (false, false) => return Err(format!("present: {}", short(&nodes[0]))),
            _ => {}
        }
    }
    let needs_value = p.equals.is_some()
        || p.contains.is_some()
        || p.matches.is_some()
        || p.json_type.is_some()
        || p.length.is_some();
    let value = match nodes {
        [] if needs_value => return Err("nothing there".into()),
        [] => return Ok(()),
        [one] => one.clone(),
        many => Value::Array(many.to_vec()),
    };
    if let Some(expected) = &p.equals {
        let want = render(expected, ctx)?;
        if !loose_eq(&value, &want, p.ignore_case) {
            return Err(short(&value));
        }
    }
    if let Some(expected) = &p.not_equals {
        let want = render(expected, ctx)?;
        if loose_eq(&value, &want, p.ignore_case) {
            return Err(format!("equal to {}", short(&value)));
        }
    }
    if let Some(expected) = &p.contains {
        let want = render(expected, ctx)?;
        let ok = match (&value, &want) {
            (Value::Array(items), w) => items
                .iter()
                .any(|i| loose_eq(i, w, p.ignore_case) || object_contains(i, w)),
            (Value::String(s), Value::String(w)) if p.ignore_case => {
                value::fold(s).contains(&value::fold(w))
            }
            (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
            (Value::Object(_), Value::Object(_)) => object_contains(&value, &want),
            _ => false,
        };
        if !ok {
            return Err(short(&value));
        }
    }
    if let Some(re) = &p.matches {
        let rx =
            regex_lite::Regex::new(re).map_err(|e| format!("invalid regular expression: {e}"))?;
        match &value {
            Value::String(s) if rx.is_match(s) => {}
            other => return Err(short(other)),
        }
    }
    if let Some(t) = p.json_type {
        let ok = match t {
            JsonType::String => value.is_string(),
            JsonType::Number => value.is_number(),
            JsonType::Integer => value.is_i64() || value.is_u64(),
            JsonType::Boolean => value.is_boolean(),
            JsonType::Array => value.is_array(),
            JsonType::Object => value.is_object(),
            JsonType::Null => value.is_null(),
        };
        if !ok {
            return Err(format!("{} ({})", short(&value), json_type_name(&value)));
        }
    }
    if let Some(l) = &p.length {
        let n = match &value {
            Value::Array(a) => a.len(),
            Value::String(s) => s.chars().count(),
            Value::Object(o) => o.len(),
            other => return Err(format!("{} has no length", short(other))),
        };
        let ok = len_ok(l, n);
        if !ok {
            return Err(format!("length {n}"));
        }
    }
    Ok(())
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every member of `want` (an object) is in `have` with an equal value.
fn object_contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|x| x == v || object_contains(x, v))),
        _ => false,
    }
}

fn eval_path(pa: &PathAssertion, body: Option<&Value>, ctx: &Ctx<'_>) -> Result<(), String> {
    let Some(body) = body else {
        return Err("body is not JSON".into());
    };
    let rendered_path = ctx.templates.render_string(&pa.path, ctx.scope)?;
    let path = JsonPath::parse(&rendered_path).map_err(|e| format!("invalid JSONPath: {e}"))?;
    let nodes: Vec<Value> = path.query(body).all().into_iter().cloned().collect();
    if let Some(c) = &pa.count {
        if !len_ok(c, nodes.len()) {
            return Err(format!("{} node(s) selected", nodes.len()));
        }
    }
    eval_predicate(&pa.predicate(), &nodes, ctx)?;
    if let Some(each) = &pa.every {
        let items: Vec<Value> = match nodes.as_slice() {
            [Value::Array(a)] => a.clone(),
            other => other.to_vec(),
        };
        for (i, item) in items.iter().enumerate() {
            eval_predicate(each, std::slice::from_ref(item), ctx)
                .map_err(|e| format!("item {i}: {e}"))?;
        }
    }
    Ok(())
}

/// The resource type a step is about: explicit, else from the request path.
fn resource_type<'r>(sc: &ScimExpect, path: &str) -> Option<&'r ResourceType> {
    let reg = Registry::builtin();
    let name = sc.resource_type.clone().or_else(|| {
        let p = path.split('?').next().unwrap_or(path);
        if p.contains("/Users") {
            Some("User".into())
        } else if p.contains("/Groups") {
            Some("Group".into())
        } else {
            None
        }
    })?;
    reg.resource_types()
        .into_iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(&name))
}

/// The type of one returned resource, from its meta or schemas, falling back to `default`.
fn type_of<'r>(res: &Value, default: Option<&'r ResourceType>) -> Option<&'r ResourceType> {
    let reg = Registry::builtin();
    let by_meta = res.pointer("/meta/resourceType").and_then(Value::as_str);
    let by_schema = res.get("schemas").and_then(Value::as_array).and_then(|s| {
        reg.resource_types()
            .into_iter()
            .find(|rt| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&rt.schema.id))
                })
            })
            .map(|rt| rt.name.clone())
    });
    match by_meta.map(String::from).or(by_schema) {
        Some(n) => reg
            .resource_types()
            .into_iter()
            .find(|rt| rt.name.eq_ignore_ascii_case(&n))
            .or(default),
        None => default,
    }
}

fn check_scim(
    sc: &ScimExpect,
    resp: &HttpResponse,
    body: Option<&Value>,
    ctx: &Ctx<'_>,
    source: String,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let rt = resource_type(sc, ctx.path);
    if let Some(want) = &sc.error {
        let res = scim_error(resp, body, want);
        let what = if want == "any" {
            "a SCIM Error body (RFC 7644 §3.12)".to_string()
        } else {
            format!(
                "a SCIM Error with scimType {} (RFC 7644 §3.12)",
                want.replace('|', " or ").replace("none", "none at all")
            )
        };
        out.push(check("scim.error", what, res, source.clone()));
    }
    if sc.matches_sent {
        let res = match (ctx.sent, body, rt) {
            (None, _, _) => Err("the step sent no JSON body to compare with".into()),
            (_, None, _) => Err("response body is not JSON".into()),
            (_, _, None) => Err("cannot tell the resource type (set scim.resource_type)".into()),
            (Some(sent), Some(b), Some(rt)) => matches_sent(rt, sent, b),
        };
        out.push(check(
            "scim.matches_sent",
            "the returned resource carries what was sent".into(),
            res,
            source.clone(),
        ));
    }
    if let Some(f) = &sc.all_match {
        let res = ctx
            .templates
            .render_string(f, ctx.scope)
            .and_then(|f| all_match(&f, body, rt));
        out.push(check(
            "scim.all_match",
            format!("every returned resource satisfies `{f}`"),
            res,
            source.clone(),
        ));
    }
    if let Some(s) = &sc.sorted_by {
        let res = sorted_by(&s.attribute, s.descending, body, rt);
        let order = if s.descending {
            "descending"
        } else {
            "ascending"
        };
        out.push(check(
            "scim.sorted_by",
            format!("Resources sorted by {} ({order})", s.attribute),
            res,
            source,
        ));
    }
    out
}

fn scim_error(resp: &HttpResponse, body: Option<&Value>, want: &str) -> Result<(), String> {
    let b =
        body.ok_or_else(|| format!("body is not JSON: {}", short(&Value::String(resp.text()))))?;
    let schemas_ok = b
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s == ERROR_URN));
    if !schemas_ok {
        return Err(format!("schemas does not list {ERROR_URN}"));
    }
    match b.get("status") {
        Some(Value::String(s)) if s == &resp.status.to_string() => {}
        Some(Value::String(s)) => {
            return Err(format!(
                "status member {s:?} differs from the HTTP status {}",
                resp.status
            ))
        }
        Some(other) => {
            return Err(format!(
                "status member is {} — RFC 7644 §3.12 makes it a string",
                short(other)
            ))
        }
        None => return Err("no status member".into()),
    }
    // `want` lists acceptable keywords separated by `|`; `none` accepts an absent scimType
    // (RFC 7644 §3.12 makes scimType optional), `any` accepts anything.
    if want != "any" {
        let allowed: Vec<&str> = want.split('|').map(str::trim).collect();
        match b.get("scimType").and_then(Value::as_str) {
            Some(t) if allowed.contains(&t) => {}
            None if allowed.contains(&"none") => {}
            Some(t) => return Err(format!("scimType {t:?}")),
            None => return Err("no scimType".into()),
        }
    }
    Ok(())
}

/// Whether `got` carries every client-settable value of `sent`, under the attribute rules.
pub fn matches_sent(rt: &ResourceType, sent: &Value, got: &Value) -> Result<(), String> {
    let sent = resource::canonicalize(rt, sent)
        .map_err(|e| format!("the sent body itself is invalid: {}", e.detail))?;
    let got = resource::canonicalize(rt, got).unwrap_or_else(|_| got.clone());
    let (Some(s), Some(g)) = (sent.as_object(), got.as_object()) else {
        return Err("not an object".into());
    };
    let mut problems = Vec::new();
    for (k, v) in s {
        if k == "schemas" {
            continue;
        }
        if let Some(ext) = rt.extension(k) {
            let empty = Map::new();
            let gext = g.get(k).and_then(Value::as_object).unwrap_or(&empty);
            for (ek, ev) in v.as_object().into_iter().flatten() {
                compare_attr(
                    ext.attribute(ek),
                    &format!("{k}:{ek}"),
                    ev,
                    get_ci(gext, ek),
                    &mut problems,
                );
            }
            continue;
        }
        let def = rt.resolve(None, k, None).map(|r| r.attr);
        compare_attr(def, k, v, get_ci(g, k), &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Attributes a client cannot expect back as sent.
fn not_echoed(def: &AttributeDef) -> bool {
    def.mutability == Mutability::ReadOnly
        || def.mutability == Mutability::WriteOnly
        || def.returned == Returned::Never
}

fn compare_attr(
    def: Option<&AttributeDef>,
    name: &str,
    sent: &Value,
    got: Option<&Value>,
    problems: &mut Vec<String>,
) {
    let Some(def) = def else { return };
    if not_echoed(def) || sent.is_null() {
        return;
    }
    let Some(got) = got.filter(|g| !g.is_null()) else {
        problems.push(format!("{name} missing"));
        return;
    };
    match (def.attr_type, def.multi_valued, sent, got) {
        (AttrType::Complex, true, Value::Array(items), Value::Array(have)) => {
            for item in items {
                if !have.iter().any(|h| complex_matches(def, item, h)) {
                    problems.push(format!("{name}: no returned value matches {}", short(item)));
                }
            }
        }
        (AttrType::Complex, false, s, g) => {
            if !complex_matches(def, s, g) {
                problems.push(format!("{name}: sent {} got {}", short(s), short(g)));
            }
        }
        (_, true, Value::Array(items), Value::Array(have)) => {
            for item in items {
                if !have
                    .iter()
                    .any(|h| value::equals(Some(def), item, h) || item == h)
                {
                    problems.push(format!("{name}: {} missing", short(item)));
                }
            }
        }
        (_, _, s, g) => {
            if !(value::equals(Some(def), s, g) || s == g) {
                problems.push(format!("{name}: sent {} got {}", short(s), short(g)));
            }
        }
    }
}

fn complex_matches(def: &AttributeDef, sent: &Value, got: &Value) -> bool {
    let (Some(s), Some(g)) = (sent.as_object(), got.as_object()) else {
        return false;
    };
    s.iter().all(|(k, v)| {
        let Some(sub) = def.sub(k) else { return true };
        if not_echoed(sub) || v.is_null() {
            return true;
        }
        get_ci(g, k).is_some_and(|gv| value::equals(Some(sub), v, gv) || v == gv)
    })
}

fn resources(body: Option<&Value>) -> Result<&Vec<Value>, String> {
    body.and_then(|b| b.get("Resources"))
        .and_then(Value::as_array)
        .ok_or_else(|| "no Resources array in the body".to_string())
}

fn all_match(f: &str, body: Option<&Value>, rt: Option<&ResourceType>) -> Result<(), String> {
    let parsed = filter::parse(f)
        .map_err(|e| format!("the expectation's filter is invalid: {}", e.detail))?;
    let items = resources(body)?;
    for (i, r) in items.iter().enumerate() {
        let Some(t) = type_of(r, rt) else {
            return Err(format!("Resources[{i}]: cannot tell its resource type"));
        };
        match filter::matches(t, &parsed, r) {
            Ok(true) => {}
            Ok(false) => {
                let label = r.get("id").map(short).unwrap_or_default();
                return Err(format!("Resources[{i}] (id {label}) does not satisfy it"));
            }
            Err(e) => return Err(format!("Resources[{i}]: {}", e.detail)),
        }
    }
    Ok(())
}

/// The value a resource sorts by (RFC 7644 §3.4.2.3: multi-valued attributes by their primary
/// value, else the first).
fn sort_key<'a>(rt: &ResourceType, r: &'a Value, attr: &str) -> Option<&'a Value> {
    let resolved = rt.resolve_str(attr)?;
    let top = value::top_value(r, &resolved)?;
    let item = match top {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| items.first())?,
        v => v,
    };
    match (resolved.sub, item) {
        (Some(sub), Value::Object(o)) => get_ci(o, &sub.name),
        (None, Value::Object(o)) if resolved.attr.attr_type == AttrType::Complex => {
            get_ci(o, "value")
        }
        (_, v) => Some(v),
    }
}

fn sorted_by(
    attr: &str,
    descending: bool,
    body: Option<&Value>,
    rt: Option<&ResourceType>,
) -> Result<(), String> {
    let rt = rt.ok_or("cannot tell the resource type (set scim.resource_type)")?;
    let def = rt
        .resolve_str(attr)
        .map(|r| r.leaf())
        .ok_or_else(|| format!("unknown attribute {attr}"))?;
    let items = resources(body)?;
    for (i, pair) in items.windows(2).enumerate() {
        let (a, b) = (sort_key(rt, &pair[0], attr), sort_key(rt, &pair[1], attr));
        // Resources without a value sort last ascending, first descending (RFC 7644 §3.4.2.3).
        let ord = match (a, b) {
            (Some(x), Some(y)) => value::compare(Some(def), x, y).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let ord = if descending { ord.reverse() } else { ord };
        if ord == Ordering::Greater {
            return Err(format!(
                "Resources[{i}] ({}) comes before Resources[{}] ({})",
                a.map(short).unwrap_or_else(|| "no value".into()),
                i + 1,
                b.map(short).unwrap_or_else(|| "no value".into())
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::template::RunContext;
    use serde_json::json;

    fn templates() -> Templates {
        Templates::new(RunContext {
            prefix: "p".into(),
            domain: "example.com".into(),
            run_id: "r".into(),
            base_url: "http://x".into(),
        })
    }

    fn pred(v: Value) -> Predicate {
        serde_json::from_value(v).unwrap()
    }

    fn eval(p: Value, nodes: &[Value]) -> Result<(), String> {
        let t = templates();
        let scope = Map::new();
        let schemas = SchemaSet::builtin().unwrap();
        let pos = |_: &serde_saphyr::Location| String::new();
        let ctx = Ctx {
            templates: &t,
            scope: &scope,
            schemas: &schemas,
            sent: None,
            path: "/Users",
            source: String::new(),
            pos: &pos,
        };
        eval_predicate(&pred(p), nodes, &ctx)
    }

    #[test]
    fn predicates_hold_and_fail_as_documented() {
        assert!(eval(json!({"equals": "a"}), &[json!("a")]).is_ok());
        assert!(eval(json!({"equals": "a"}), &[json!("A")]).is_err());
        assert!(eval(json!({"equals": "a", "ignore_case": true}), &[json!("A")]).is_ok());
        assert!(eval(json!({"equals": 1}), &[json!(1.0)]).is_ok());
        assert!(eval(json!({"not_equals": "a"}), &[json!("b")]).is_ok());
        assert!(eval(json!({"not_equals": "a"}), &[json!("a")]).is_err());
        assert!(eval(json!({"contains": "x"}), &[json!(["y", "x"])]).is_ok());
        assert!(eval(
            json!({"contains": {"type": "work"}}),
            &[json!([{"type": "work", "value": "v"}])]
        )
        .is_ok());
        assert!(eval(json!({"contains": "ell"}), &[json!("hello")]).is_ok());
        assert!(eval(json!({"matches": "^ab+c$"}), &[json!("abbc")]).is_ok());
        assert!(eval(json!({"matches": "^ab+c$"}), &[json!(3)]).is_err());
        assert!(eval(json!({"type": "integer"}), &[json!(3)]).is_ok());
        assert!(eval(json!({"type": "integer"}), &[json!("3")]).is_err());
        assert!(eval(json!({"exists": true}), &[]).is_err());
        assert!(eval(json!({"exists": false}), &[]).is_ok());
        assert!(eval(json!({"exists": false}), &[json!(null)]).is_err());
        assert!(eval(json!({"length": 2}), &[json!([1, 2])]).is_ok());
        assert!(eval(json!({"length": {"min": 3}}), &[json!([1, 2])]).is_err());
        // Several nodes are compared as one array.
        assert!(eval(json!({"length": 3}), &[json!(1), json!(2), json!(3)]).is_ok());
        // Nothing selected fails every value predicate.
        assert!(eval(json!({"equals": "a"}), &[]).is_err());
    }

    #[test]
    fn optional_header_predicates_apply_only_to_a_present_header() {
        let expect: Expect = serde_saphyr::from_str(
            "headers: {Retry-After: {matches: '^[0-9]+$', optional: true}, ETag: {exists: true}}",
        )
        .unwrap();
        let t = templates();
        let scope = Map::new();
        let schemas = SchemaSet::builtin().unwrap();
        let pos = |_: &serde_saphyr::Location| String::new();
        let ctx = Ctx {
            templates: &t,
            scope: &scope,
            schemas: &schemas,
            sent: None,
            path: "/Users",
            source: String::new(),
            pos: &pos,
        };
        let with = |retry_after: Option<&str>| {
            let mut headers = reqwest::header::HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert("retry-after", v.parse().unwrap());
            }
            let resp = HttpResponse {
                status: 429,
                headers,
                body: Vec::new(),
                duration: std::time::Duration::ZERO,
            };
            let checks = check_step(&expect, &resp, &ctx);
            let retry = checks.iter().find(|c| c.expected.contains("Retry-After"));
            retry.map(|c| c.passed)
        };
        assert_eq!(with(None), Some(true), "a missing optional header passes");
        assert_eq!(with(Some("120")), Some(true));
        assert_eq!(with(Some("Wed, 21 Oct 2015 07:28:00 GMT")), Some(false));
        // Without optional, a missing header still fails (the ETag check above).
        let resp = HttpResponse {
            status: 200,
            headers: reqwest::header::HeaderMap::new(),
            body: Vec::new(),
            duration: std::time::Duration::ZERO,
        };
        let etag = check_step(&expect, &resp, &ctx)
            .into_iter()
            .find(|c| c.expected.contains("ETag"))
            .unwrap();
        assert!(!etag.passed);
    }

    #[test]
    fn matches_sent_follows_attribute_rules() {
        let rt = &Registry::builtin().user;
        let sent = json!({"schemas": [crate::scim::schema::USER_URN], "userName": "Bob", "password": "x", "emails": [{"value": "b@x", "type": "work"}], "id": "mine"});
        let got = json!({"id": "1", "userName": "bob", "emails": [{"value": "b@x", "type": "work", "primary": false}, {"value": "c@x"}]});
        assert_eq!(matches_sent(rt, &sent, &got), Ok(()));
        let wrong = json!({"id": "1", "userName": "bob", "emails": [{"value": "c@x"}]});
        assert!(matches_sent(rt, &sent, &wrong).is_err());
        let missing = json!({"id": "1", "emails": [{"value": "b@x", "type": "work"}]});
        assert!(matches_sent(rt, &sent, &missing)
            .unwrap_err()
            .contains("userName missing"));
    }

    #[test]
    fn sorted_by_and_all_match_use_the_scim_core() {
        let rt = Some(&Registry::builtin().user);
        let body = json!({"Resources": [{"userName": "alice"}, {"userName": "Bob"}, {"userName": "carol"}, {}]});
        assert!(sorted_by("userName", false, Some(&body), rt).is_ok());
        assert!(sorted_by("userName", true, Some(&body), rt).is_err());
        let list = json!({"Resources": [{"schemas": [crate::scim::schema::USER_URN], "userName": "pa"}, {"schemas": [crate::scim::schema::USER_URN], "userName": "PB"}]});
        assert!(all_match("userName sw \"p\"", Some(&list), rt).is_ok());
        assert!(all_match("userName eq \"pa\"", Some(&list), rt).is_err());
    }
}
