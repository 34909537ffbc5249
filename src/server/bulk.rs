//! POST /Bulk (RFC 7644 §3.7): operations run one by one through the same resource operations as
//! the single-resource endpoints, each in its own transaction; `bulkId:` references are replaced
//! by the ids of resources created earlier in the request, in as many passes as the references need.

use super::contract::Contract;
use super::faults::{Fault, Faults};
use super::http::{error_response, finish, Outcome, ScimBody, ScimResponse};
use super::resources::{etag, Ctx};
use super::routes::blocking;
use super::AppState;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{ResourceType, BULK_REQUEST_URN, BULK_RESPONSE_URN};
use crate::scim::value::get_ci;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: ScimBody,
) -> Response {
    if state.config.contract == Contract::Asana {
        return error_response(
            &state,
            &ScimError::new(501, None, "Bulk is not supported (Asana contract)"),
        );
    }
    let out = blocking(&state, &headers, move |ctx| run(ctx, &body.0)).await;
    finish(&state, out.and_then(|o| o))
}

struct Op {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// The operations (each parsed on its own, so one bad operation fails alone) and failOnErrors.
type ParsedRequest = (Vec<Result<Op, ScimError>>, Option<usize>);

fn parse_ops(body: &Value, max: usize) -> ScimResult<ParsedRequest> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest must be a JSON object"))?;
    let schemas_ok = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(BULK_REQUEST_URN)));
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "a BulkRequest must list {BULK_REQUEST_URN} in schemas"
        )));
    }
    let fail_on_errors = match get_ci(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(ScimError::invalid_value(
                    "failOnErrors must be an integer of at least 1",
                ))
            }
        },
    };
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest needs an Operations array"))?;
    if ops.len() > max {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "{} operations exceed maxOperations {max} advertised in /ServiceProviderConfig",
                ops.len()
            ),
        ));
    }
    let parsed = ops
        .iter()
        .map(|op| {
            let o = op
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
            let s = |k: &str| get_ci(o, k).and_then(Value::as_str).map(String::from);
            let method = s("method")
                .ok_or_else(|| ScimError::invalid_syntax("operation without a method"))?;
            let path =
                s("path").ok_or_else(|| ScimError::invalid_syntax("operation without a path"))?;
            Ok(Op {
                method: method.to_ascii_uppercase(),
                bulk_id: s("bulkId"),
                version: s("version"),
                path,
                data: get_ci(o, "data").cloned(),
            })
        })
        .collect();
    Ok((parsed, fail_on_errors))
}

/// Every `bulkId:X` string inside a value.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.push(id.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        Value::Object(o) => o.values().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// The bulkId a path refers to (`/Users/bulkId:u1`), if any.
fn path_reference(path: &str) -> Option<String> {
    path.rsplit('/')
        .next()?
        .strip_prefix("bulkId:")
        .map(String::from)
}

fn substitute_path(path: &str, ids: &HashMap<String, String>) -> String {
    match (path.rsplit_once('/'), path_reference(path)) {
        (Some((head, _)), Some(b)) if ids.contains_key(&b) => format!("{head}/{}", ids[&b]),
        _ => path.to_string(),
    }
}

fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

fn route<'a>(ctx: &'a Ctx<'_>, path: &str) -> ScimResult<(&'a ResourceType, Option<String>)> {
    let trimmed = path.trim_end_matches('/');
    for rt in ctx.state.registry.resource_types() {
        if let Some(rest) = trimmed.strip_prefix(rt.endpoint.as_str()) {
            if rest.is_empty() {
                return Ok((rt, None));
            }
            if let Some(id) = rest
                .strip_prefix('/')
                .filter(|id| !id.is_empty() && !id.contains('/'))
            {
                return Ok((rt, Some(id.to_string())));
            }
        }
    }
    Err(ScimError::invalid_path(format!(
        "bulk path {path:?} names no resource endpoint"
    )))
}

fn run(ctx: &Ctx<'_>, body: &Value) -> Outcome {
    // `bulk-max-operations-ignored`: the advertised limit is never checked.
    let max = if ctx.state.faults.on(Fault::BulkMaxOperationsIgnored) {
        usize::MAX
    } else {
        ctx.state.config.bulk_max_operations
    };
    let (ops, fail_on_errors) = parse_ops(body, max)?;
    let faults = &ctx.state.faults;
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut ids: HashMap<String, String> = HashMap::new();
    let declared: Vec<String> = ops
        .iter()
        .filter_map(|o| o.as_ref().ok()?.bulk_id.clone())
        .collect();
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let resolve = !ctx.state.faults.on(Fault::BulkIdUnresolved);
    let stop_counting = ctx.state.faults.on(Fault::BulkFailOnErrorsIgnored);

    'passes: loop {
        let mut progressed = false;
        let mut still = Vec::new();
        for &i in &pending {
            if fail_on_errors.is_some_and(|n| errors >= n) && !stop_counting {
                break 'passes;
            }
            let op = match &ops[i] {
                Ok(op) => op,
                Err(e) if faults.on(Fault::BulkFailFast) => return Err(e.clone()),
                Err(e) => {
                    results[i] = Some(op_error(faults, None, None, e));
                    errors += 1;
                    progressed = true;
                    continue;
                }
            };
            let mut refs = Vec::new();
            if let Some(d) = &op.data {
                references(d, &mut refs);
            }
            refs.extend(path_reference(&op.path));
            if resolve
                && refs
                    .iter()
                    .any(|r| !ids.contains_key(r) && declared.contains(r))
            {
                still.push(i);
                continue;
            }
            progressed = true;
            let result = run_one(ctx, op, &ids, resolve);
            match result {
                Ok((status, location, version, id)) => {
                    if let (Some(b), Some(id)) = (&op.bulk_id, id) {
                        ids.insert(b.clone(), id);
                    }
                    let mut r = Map::new();
                    r.insert("method".into(), json!(op.method));
                    if let Some(b) = op
                        .bulk_id
                        .as_ref()
                        .filter(|_| !faults.on(Fault::BulkIdNotEchoed))
                    {
                        r.insert("bulkId".into(), json!(b));
                    }
                    if let Some(v) = version {
                        r.insert("version".into(), json!(v));
                    }
                    if let Some(l) = location.filter(|_| !faults.on(Fault::BulkNoLocation)) {
                        r.insert("location".into(), json!(l));
                    }
                    // `bulk-status-200`: every success reported as a plain 200.
                    let status = if faults.on(Fault::BulkStatus200) {
                        200
                    } else {
                        status
                    };
                    r.insert("status".into(), json!(status.to_string()));
                    results[i] = Some(Value::Object(r));
                }
                // `bulk-fail-fast`: the first failure becomes the answer to the whole request.
                Err(e) if faults.on(Fault::BulkFailFast) => return Err(e),
                Err(e) => {
                    errors += 1;
                    let location = failed_location(ctx, op, &ids);
                    results[i] = Some(op_error(faults, Some(op), location, &e));
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if !progressed {
            // What is left references bulkIds that never resolve (circular, or their POST failed).
            for &i in &pending {
                let op = ops[i].as_ref().ok();
                let e = ScimError::new(
                    409,
                    Some(crate::scim::error::ScimType::InvalidValue),
                    "bulkId reference could not be resolved",
                );
                let location = op.and_then(|o| failed_location(ctx, o, &ids));
                results[i] = Some(op_error(faults, op, location, &e));
            }
            break;
        }
    }
    let operations: Vec<Value> = results.into_iter().flatten().collect();
    // `bulk-response-urn`: the request's URN copied into the response.
    let urn = if faults.on(Fault::BulkResponseUrn) {
        BULK_REQUEST_URN
    } else {
        BULK_RESPONSE_URN
    };
    Ok(ScimResponse::ok(
        json!({"schemas": [urn], "Operations": operations}),
    ))
}

/// RFC 7644 §3.7: every operation result carries `location`, except a failed POST (nothing
/// was created, so there is nothing to point at).
fn failed_location(ctx: &Ctx<'_>, op: &Op, ids: &HashMap<String, String>) -> Option<String> {
    (op.method != "POST").then(|| format!("{}{}", ctx.base_url, substitute_path(&op.path, ids)))
}

fn op_error(faults: &Faults, op: Option<&Op>, location: Option<String>, e: &ScimError) -> Value {
    let mut r = Map::new();
    if let Some(op) = op {
        r.insert("method".into(), json!(op.method));
        if let Some(b) = &op.bulk_id {
            r.insert("bulkId".into(), json!(b));
        }
    }
    if let Some(l) = location {
        r.insert("location".into(), json!(l));
    }
    r.insert("status".into(), json!(e.status.to_string()));
    // `bulk-error-no-response`: the status alone, without the SCIM Error.
    if !faults.on(Fault::BulkErrorNoResponse) {
        r.insert("response".into(), e.to_body());
    }
    Value::Object(r)
}

type OpResult = (u16, Option<String>, Option<String>, Option<String>);

fn run_one(
    ctx: &Ctx<'_>,
    op: &Op,
    ids: &HashMap<String, String>,
    resolve: bool,
) -> ScimResult<OpResult> {
    let mut path = op.path.clone();
    let mut data = op.data.clone().unwrap_or(Value::Null);
    if resolve {
        path = substitute_path(&path, ids);
        substitute(&mut data, ids);
    }
    let (rt, id) = route(ctx, &path)?;
    let store = &ctx.state.store;
    let if_match = op.version.as_deref();
    match (op.method.as_str(), id) {
        ("POST", None) => {
            let faults = &ctx.state.faults;
            if op.bulk_id.is_none() && !faults.on(Fault::BulkIdOptional) {
                return Err(ScimError::invalid_syntax("a bulk POST needs a bulkId"));
            }
            // `bulkid-as-id`: the client's bulkId becomes the new resource's id.
            let chosen = op
                .bulk_id
                .as_deref()
                .filter(|_| faults.on(Fault::BulkIdAsId));
            let rec = store.transact(|tx| match chosen {
                Some(id) => ctx.insert_new(tx, rt, &data, Some(id)),
                None => ctx.create(tx, rt, &data),
            })?;
            Ok((
                201,
                Some(ctx.location(rt, &rec.id)),
                Some(etag(rec.version)),
                Some(rec.id),
            ))
        }
        ("PUT", Some(id)) => {
            let rec = store.transact(|tx| ctx.replace(tx, rt, &id, &data, if_match))?;
            Ok((
                200,
                Some(ctx.location(rt, &rec.id)),
                Some(etag(rec.version)),
                None,
            ))
        }
        ("PATCH", Some(id)) => {
            let rec = store.transact(|tx| ctx.patch(tx, rt, &id, &data, if_match))?;
            Ok((
                200,
                Some(ctx.location(rt, &rec.id)),
                Some(etag(rec.version)),
                None,
            ))
        }
        ("DELETE", Some(id)) => {
            store.transact(|tx| ctx.delete(tx, rt, &id, if_match))?;
            Ok((204, Some(ctx.location(rt, &id)), None, None))
        }
        (m, _) => Err(ScimError::invalid_syntax(format!(
            "method {m} is not valid for bulk path {path:?}"
        ))),
    }
}
