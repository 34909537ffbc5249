//! HTTP handlers for /Users, /Groups, /.search and /Me: request parsing, conditional headers and
//! status codes around the operations in `resources`.

use super::contract::Contract;
use super::faults::Fault;
use super::http::{base_url, error_response, finish, Outcome, ScimBody, ScimResponse};
use super::limits;
use super::query_faults;
use super::resource_faults;
use super::resources::{etag, etag_matches, Ctx, ListQuery, Projection};
use super::store::{Record, Tx};
use super::AppState;
use crate::scim::error::ScimError;
use crate::scim::schema::{ResourceType, SEARCH_REQUEST_URN};
use crate::scim::value::get_ci;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Which resource type a route serves.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn rt(self, state: &AppState) -> &ResourceType {
        match self {
            Kind::User => &state.registry.user,
            Kind::Group => &state.registry.group,
        }
    }
}

type Params = Query<HashMap<String, String>>;

/// Runs store work off the async runtime; the closure gets the state and a request context.
pub async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    f: impl FnOnce(&Ctx<'_>) -> T + Send + 'static,
) -> Result<T, ScimError> {
    let state = state.clone();
    let base = base_url(&state, headers);
    tokio::task::spawn_blocking(move || {
        let ctx = Ctx {
            state: &state,
            base_url: base,
        };
        f(&ctx)
    })
    .await
    .map_err(|e| ScimError::internal(format!("request worker failed: {e}")))
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name)
        .or_else(|| {
            q.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .map(String::as_str)
}

fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect()
}

/// An `attributes` / `excludedAttributes` list, at most [`limits::MAX_ATTRIBUTE_NAMES`] long.
fn attr_list(name: &str, s: Option<&str>) -> Result<Vec<String>, ScimError> {
    let names = s.map(split_names).unwrap_or_default();
    limits::check_attribute_names(name, &names)?;
    Ok(names)
}

/// An integer, saturated to the i64 range: RFC 7644 §3.4.2.4 bounds startIndex and count only
/// from below, so `count=99999999999999999999` is a (large) count, not a syntax error. What is
/// not an integer at all is 400 invalidValue.
fn parse_int(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(if negative {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn int_param(name: &str, v: Option<&str>) -> Result<Option<i64>, ScimError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_int(s).map(Some).ok_or_else(|| {
            ScimError::invalid_value(format!("{name} must be an integer, not {s:?}"))
        }),
    }
}

fn projection(q: &HashMap<String, String>) -> Result<Projection, ScimError> {
    Ok(Projection {
        attributes: attr_list("attributes", param(q, "attributes"))?,
        excluded: attr_list("excludedAttributes", param(q, "excludedAttributes"))?,
    })
}

fn list_query(q: &HashMap<String, String>) -> Result<ListQuery, ScimError> {
    Ok(ListQuery {
        filter: param(q, "filter").map(String::from),
        sort_by: param(q, "sortBy").map(String::from),
        sort_order: param(q, "sortOrder").map(String::from),
        start_index: int_param("startIndex", param(q, "startIndex"))?,
        count: int_param("count", param(q, "count"))?,
        attributes: attr_list("attributes", param(q, "attributes"))?,
        excluded: attr_list("excludedAttributes", param(q, "excludedAttributes"))?,
    })
}

/// Reads a SearchRequest body (RFC 7644 §3.4.3) into the same query a GET would make.
fn search_query(body: &Value) -> Result<ListQuery, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
    let schemas_ok = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST_URN)));
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "a SearchRequest must list {SEARCH_REQUEST_URN} in schemas"
        )));
    }
    let string = |k: &str| -> Result<Option<String>, ScimError> {
        match get_ci(obj, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
        }
    };
    let list = |k: &str| -> Result<Vec<String>, ScimError> {
        let names = match get_ci(obj, k) {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| ScimError::invalid_value(format!("{k} must list strings")))
                })
                .collect::<Result<_, _>>()?,
            Some(Value::String(s)) => split_names(s),
            Some(_) => {
                return Err(ScimError::invalid_value(format!(
                    "{k} must be an array of strings"
                )))
            }
        };
        limits::check_attribute_names(k, &names)?;
        Ok(names)
    };
    let int = |k: &str| -> Result<Option<i64>, ScimError> {
        match get_ci(obj, k) {
            None | Some(Value::Null) => Ok(None),
            // Integers beyond i64 saturate as in a query string; fractions are refused.
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_u64().map(|_| i64::MAX))
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{k} must be an integer"))),
            Some(Value::String(s)) => int_param(k, Some(s)),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be an integer"))),
        }
    };
    Ok(ListQuery {
        filter: string("filter")?,
        sort_by: string("sortBy")?,
        sort_order: string("sortOrder")?,
        start_index: int("startIndex")?,
        count: int("count")?,
        attributes: list("attributes")?,
        excluded: list("excludedAttributes")?,
    })
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn respond(state: &Arc<AppState>, outcome: Result<Outcome, ScimError>) -> Response {
    finish(state, outcome.and_then(|o| o))
}

/// A rendered resource with its ETag: the body of GET, PUT and PATCH responses.
fn resource_response(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    rt: &ResourceType,
    rec: &Record,
    p: &Projection,
) -> Outcome {
    let mut r = ScimResponse::ok(ctx.render(tx, rt, rec, p)?);
    r.etag = Some(etag(rec.version));
    Ok(r)
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if state.faults.on(Fault::UnknownParamsRefused) {
        if let Some(name) = query_faults::unknown_param(&q) {
            let e = ScimError::invalid_value(format!("unknown query parameter {name:?}"));
            return error_response(&state, &e);
        }
    }
    let mut query = match list_query(&q) {
        Ok(q) => q,
        Err(e) => return error_response(&state, &e),
    };
    // Resource-suite faults that misread names and filters (see `resource_faults`).
    resource_faults::attribute_names(&state.faults, kind.rt(&state), &mut query.attributes);
    resource_faults::attribute_names(&state.faults, kind.rt(&state), &mut query.excluded);
    resource_faults::filter_text(&state.faults, &mut query.filter);
    let (sort_by, filter) = (query.sort_by.as_deref(), query.filter.as_deref());
    if let Err(e) = resource_faults::sort_and_filter(&state.faults, sort_by, filter) {
        return error_response(&state, &e);
    }
    // `unfiltered-list-refused`: "filter required", with the wrong scimType (tooMany is right).
    if state.faults.on(Fault::UnfilteredListRefused)
        && query.filter.as_deref().is_none_or(|f| f.trim().is_empty())
    {
        let e = ScimError::invalid_filter("a filter is required to list resources");
        return error_response(&state, &e);
    }
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        let body = ctx.state.store.read(|tx| ctx.list(tx, &[rt], &query))?;
        Ok(ScimResponse::ok(body))
    })
    .await;
    respond(&state, out).await
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    kind: Option<Kind>,
    headers: HeaderMap,
    body: ScimBody,
) -> Response {
    if state.faults.on(Fault::SearchMissing) {
        return error_response(
            &state,
            &ScimError::not_found("no SCIM endpoint at /.search"),
        );
    }
    let body = if state.faults.on(Fault::SearchSchemasUnchecked) {
        query_faults::with_search_urn(&body.0)
    } else {
        body.0
    };
    let query = match search_query(&body) {
        Ok(q) => q,
        Err(e) => return error_response(&state, &e),
    };
    // `search-members-ignored`: a server that reads only `filter` from the body.
    let query = if state.faults.on(Fault::SearchMembersIgnored) {
        ListQuery {
            filter: query.filter,
            ..ListQuery::default()
        }
    } else {
        query
    };
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let types: Vec<&ResourceType> = match kind {
            Some(k) => vec![k.rt(ctx.state)],
            // `root-search-users-only` forgets every type but User.
            None if ctx.state.faults.on(Fault::RootSearchUsersOnly) => {
                vec![&ctx.state.registry.user]
            }
            None => vec![&ctx.state.registry.user, &ctx.state.registry.group],
        };
        let body = ctx.state.store.read(|tx| ctx.list(tx, &types, &query))?;
        Ok(ScimResponse::ok(body))
    })
    .await;
    respond(&state, out).await
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let mut p = match projection(&q) {
        Ok(p) => p,
        Err(e) => return error_response(&state, &e),
    };
    resource_faults::attribute_names(&state.faults, kind.rt(&state), &mut p.attributes);
    resource_faults::attribute_names(&state.faults, kind.rt(&state), &mut p.excluded);
    let if_none_match = header_str(&headers, header::IF_NONE_MATCH).map(String::from);
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        ctx.state.store.read(|tx| {
            let rec = match ctx.get(tx, rt, &id) {
                Err(e) if e.status == 404 && ctx.state.faults.on(Fault::UnknownIdEmpty) => {
                    return Ok(ScimResponse::ok(serde_json::json!({})));
                }
                other => other?,
            };
            if let Some(h) = &if_none_match {
                if etag_matches(h, rec.version) && !ctx.state.faults.on(Fault::IgnoreIfNoneMatch) {
                    let mut r = ScimResponse::status(StatusCode::NOT_MODIFIED);
                    r.etag = Some(etag(rec.version));
                    return Ok(r);
                }
            }
            let mut r = resource_response(ctx, tx, rt, &rec, &p)?;
            if let Some(body) = r.body.as_mut() {
                resource_faults::location_with_query(&ctx.state.faults, &q, body);
            }
            Ok(r)
        })
    })
    .await;
    respond(&state, out).await
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    headers: HeaderMap,
    Query(q): Params,
    body: ScimBody,
) -> Response {
    let p = match projection(&q) {
        Ok(p) => p,
        Err(e) => return error_response(&state, &e),
    };
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        if matches!(kind, Kind::User) && ctx.state.faults.on(Fault::UniquenessRace) {
            // `uniqueness-race`: check, pause, insert, in separate transactions and without the
            // unique index: two racing creates both pass the check.
            if ctx
                .state
                .store
                .read(|tx| ctx.user_name_taken(tx, &body.0))?
            {
                return Err(ScimError::uniqueness("userName is already taken"));
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        ctx.state.store.transact(|tx| {
            let rec = ctx.create(tx, rt, &body.0)?;
            let rendered = ctx.render(tx, rt, &rec, &p)?;
            let status = if ctx.state.faults.on(Fault::Create200) {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok(ScimResponse {
                status,
                body: Some(rendered),
                etag: Some(etag(rec.version)),
                location: Some(ctx.location(rt, &rec.id)),
            })
        })
    })
    .await;
    respond(&state, out).await
}

pub async fn replace(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
    body: ScimBody,
) -> Response {
    let p = match projection(&q) {
        Ok(p) => p,
        Err(e) => return error_response(&state, &e),
    };
    let if_match = header_str(&headers, header::IF_MATCH).map(String::from);
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        ctx.state.store.transact(|tx| {
            let rec = ctx.replace(tx, rt, &id, &body.0, if_match.as_deref())?;
            resource_response(ctx, tx, rt, &rec, &p)
        })
    })
    .await;
    respond(&state, out).await
}

pub async fn patch(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
    body: ScimBody,
) -> Response {
    let p = match projection(&q) {
        Ok(p) => p,
        Err(e) => return error_response(&state, &e),
    };
    // Checked here too (Ctx::patch checks it for Bulk) so the fault paths below see only
    // requests within the limits.
    if let Err(e) = limits::check_patch(&body.0) {
        return error_response(&state, &e);
    }
    let if_match = header_str(&headers, header::IF_MATCH).map(String::from);
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        let members_race =
            ctx.state.faults.on(Fault::MembersLostOnRace) && matches!(kind, Kind::Group);
        if members_race {
            return patch_with_race(ctx, rt, &id, &body.0, &p);
        }
        let result = ctx.state.store.transact(|tx| {
            let rec = ctx.patch(tx, rt, &id, &body.0, if_match.as_deref())?;
            // Asana answers a group PATCH with 204 No Content.
            // (`asana-group-patch-200`: 200 with the team instead.)
            if ctx.state.config.contract == Contract::Asana
                && matches!(kind, Kind::Group)
                && !ctx.state.faults.on(Fault::AsanaGroupPatch200)
            {
                let mut r = ScimResponse::status(StatusCode::NO_CONTENT);
                r.etag = Some(etag(rec.version));
                return Ok(r);
            }
            resource_response(ctx, tx, rt, &rec, &p)
        });
        if result.is_err() && ctx.state.faults.on(Fault::PatchNotAtomic) {
            ctx.state
                .store
                .transact(|tx| ctx.patch_prefix(tx, rt, &id, &body.0))?;
        }
        result
    })
    .await;
    respond(&state, out).await
}

/// `members-lost-on-race`: read in one transaction, pause, write in another — the classic lost
/// update the single-transaction path prevents.
fn patch_with_race(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    id: &str,
    body: &Value,
    p: &Projection,
) -> Outcome {
    let before = ctx.state.store.read(|tx| ctx.get(tx, rt, id))?;
    let new_data = crate::scim::patch::apply(rt, &before.data, body)?;
    std::thread::sleep(std::time::Duration::from_millis(20));
    ctx.state.store.transact(|tx| {
        let current = ctx.get(tx, rt, id)?;
        let rec = ctx.store_update(tx, rt, &current, new_data)?;
        resource_response(ctx, tx, rt, &rec, p)
    })
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    kind: Kind,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let if_match = header_str(&headers, header::IF_MATCH).map(String::from);
    let out = blocking(&state, &headers, move |ctx| -> Outcome {
        let rt = kind.rt(ctx.state);
        ctx.state
            .store
            .transact(|tx| ctx.delete(tx, rt, &id, if_match.as_deref()))?;
        if ctx.state.faults.on(Fault::Delete200) {
            return Ok(ScimResponse::ok(serde_json::json!({"deleted": id})));
        }
        Ok(ScimResponse::status(StatusCode::NO_CONTENT))
    })
    .await;
    respond(&state, out).await
}

/// /Me is optional (RFC 7644 §3.11); a server that does not offer it answers 501.
pub async fn me(State(state): State<Arc<AppState>>) -> Response {
    // `me-404`: the unimplemented endpoint answered as if it did not exist.
    let status = if state.faults.on(Fault::MeNotFound) {
        404
    } else {
        501
    };
    let err = ScimError::new(
        status,
        None,
        "/Me is not supported: the bearer token is not tied to a User",
    );
    error_response(&state, &err).into_response()
}
