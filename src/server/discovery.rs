//! Discovery endpoints (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes, /Schemas.
//! Their content comes from the same registry and configuration the server enforces.

use super::contract::Contract;
use super::faults::Fault;
use super::http::{base_url, error_response, ScimPath, ScimResponse};
use super::resource_faults;
use super::AppState;
use crate::scim::error::ScimError;
use crate::scim::schema::{ResourceType, LIST_RESPONSE_URN, RESOURCE_TYPE_URN, SPC_URN};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// What the server advertises; `list()` honours `max_results`, `/Bulk` the bulk limits.
pub fn service_provider_config(state: &AppState, base: &str) -> Value {
    let asana = state.config.contract == Contract::Asana;
    let mut spc = json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://github.com/scimtest/scimtest",
        "patch": {"supported": true},
        "bulk": {
            "supported": !asana,
            "maxOperations": if asana { 0 } else { state.config.bulk_max_operations },
            "maxPayloadSize": if asana { 0 } else { state.config.max_body },
        },
        "filter": {"supported": true, "maxResults": state.config.max_results},
        "changePassword": {"supported": !asana},
        "sort": {"supported": !asana},
        "etag": {"supported": !asana},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token (RFC 6750) given to `scimtest serve --token`.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    // `spc-missing-etag`: the RFC 7643 §8.7.2 listing leaves etag out although §5 requires it,
    // and servers that copy the listing do the same.
    if state.faults.on(Fault::SpcMissingEtag) {
        if let Some(m) = spc.as_object_mut() {
            m.remove("etag");
        }
    }
    resource_faults::service_provider_config(&state.faults, &mut spc);
    spc
}

fn resource_type_doc(state: &AppState, rt: &ResourceType, base: &str) -> Value {
    let extensions: Vec<Value> = rt
        .extensions
        .iter()
        .map(|(s, required)| json!({"schema": s.id, "required": required}))
        .collect();
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": format!("{} accounts", rt.name),
        "schema": rt.schema.id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name)},
    });
    if !extensions.is_empty() {
        doc["schemaExtensions"] = Value::Array(extensions);
    }
    resource_faults::resource_type_doc(&state.faults, &mut doc);
    doc
}

fn schema_doc(state: &AppState, doc: &Value, base: &str) -> Value {
    let mut doc = doc.clone();
    resource_faults::schema_doc(&state.faults, &mut doc);
    if let Some(id) = doc.get("id").and_then(Value::as_str).map(String::from) {
        doc["meta"] = json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")});
    }
    doc
}

/// `discovery-bare-arrays`: RFC 7643 §8.6/§8.7 show these listings as bare JSON arrays, and
/// servers built from those examples answer that way instead of with a ListResponse.
fn discovery_list(state: &AppState, items: Vec<Value>) -> Value {
    if state.faults.on(Fault::DiscoveryBareArrays) {
        return Value::Array(items);
    }
    list_response(items)
}

fn list_response(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

/// RFC 7644 §4: discovery endpoints do not filter; a filter SHOULD get 403.
fn refuse_filter(state: &AppState, q: &HashMap<String, String>) -> Option<Response> {
    if state.faults.on(Fault::DiscoveryQueryApplied) {
        return None;
    }
    q.keys().any(|k| k.eq_ignore_ascii_case("filter")).then(|| {
        error_response(
            state,
            &ScimError::new(
                403,
                None,
                "filtering is not supported on discovery endpoints",
            ),
        )
    })
}

pub async fn spc(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    ScimResponse::ok(service_provider_config(&state, &base)).render(&state)
}

pub async fn resource_types(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_filter(&state, &q) {
        return r;
    }
    let base = base_url(&state, &headers);
    let items = state
        .registry
        .resource_types()
        .iter()
        .map(|rt| resource_type_doc(&state, rt, &base))
        .collect();
    let items = resource_faults::discovery_page(&state.faults, &q, items);
    ScimResponse::ok(discovery_list(&state, items)).render(&state)
}

pub async fn resource_type(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath,
) -> Response {
    let base = base_url(&state, &headers);
    match state
        .registry
        .resource_types()
        .iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(&id))
    {
        Some(rt) => ScimResponse::ok(resource_type_doc(&state, rt, &base)).render(&state),
        None => error_response(
            &state,
            &ScimError::not_found(format!("no ResourceType {id:?}")),
        ),
    }
}

pub async fn schemas(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_filter(&state, &q) {
        return r;
    }
    let base = base_url(&state, &headers);
    let items = state
        .registry
        .schemas()
        .iter()
        .map(|s| schema_doc(&state, &s.document, &base))
        .collect();
    let items = resource_faults::discovery_page(&state.faults, &q, items);
    ScimResponse::ok(discovery_list(&state, items)).render(&state)
}

pub async fn schema(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath,
) -> Response {
    let base = base_url(&state, &headers);
    // `schema-id-ignored`: /Schemas/{id} routed to the listing handler, the id never looked at.
    if state.faults.on(Fault::SchemaIdIgnored) {
        let items = state
            .registry
            .schemas()
            .iter()
            .map(|s| schema_doc(&state, &s.document, &base))
            .collect();
        return ScimResponse::ok(discovery_list(&state, items)).render(&state);
    }
    match state.registry.schema(&id) {
        Some(s) => ScimResponse::ok(schema_doc(&state, &s.document, &base)).render(&state),
        None => error_response(&state, &ScimError::not_found(format!("no Schema {id:?}"))),
    }
}
