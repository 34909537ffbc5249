//! Every fault switch breaks its rule, and the correct server keeps every rule.
//!
//! Each fault has one probe: a small check of the rule the fault breaks. The probe must pass on
//! the correct server and fail on the server with that one fault switched on. The match below is
//! exhaustive, so a new fault cannot be added without its probe.

mod common;
#[path = "faults/resource.rs"]
mod resource_probes;

use common::{patch_body, start, start_faulty, Server};
use scimtest::server::contract::Contract;
use scimtest::server::faults::{Fault, Faults};
use scimtest::server::ServerConfig;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

type Check = Result<(), String>;

fn ensure(cond: bool, msg: impl Into<String>) -> Check {
    if cond {
        Ok(())
    } else {
        Err(msg.into())
    }
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["userName"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn probe(fault: Fault, s: &Server, p: &str) -> Check {
    let f = |q: &str| format!("/Users?filter={}", urlencode(q));
    match fault {
        // The resource suites' faults (schemas, discovery, resources, Bulk, errors, i18n).
        Fault::SchemaDottedNames
        | Fault::SchemaCharacteristicsOmitted
        | Fault::SchemaNestedComplex
        | Fault::SchemaTypesCapitalized
        | Fault::SchemaComplexNoSubAttributes
        | Fault::SchemaExtensionRedefines
        | Fault::ResourceTypeEndpointSingular
        | Fault::DiscoveryQueryApplied
        | Fault::SpcRequiresAuth
        | Fault::Scim1Urns
        | Fault::VersionSegmentIgnored
        | Fault::JsonAccept406
        | Fault::Utf8Mangled
        | Fault::MeNotFound
        | Fault::AttributeNamesCaseSensitive
        | Fault::UrnPrefixUnsupported
        | Fault::BinaryReencoded
        | Fault::RefWrongEndpoint
        | Fault::SingleValueUnwrapped
        | Fault::MultiplePrimaryKept
        | Fault::PrimaryDefaultTrue
        | Fault::DuplicateValuesKept
        | Fault::ResourceSchemasMissing
        | Fault::UndeclaredSchemaKept
        | Fault::SchemasOrderSensitive
        | Fault::SchemasOptional
        | Fault::NaturalKeyIds
        | Fault::BulkIdAsId
        | Fault::ExternalIdInvented
        | Fault::ExternalIdLowercased
        | Fault::LastModifiedFromClient
        | Fault::MetaVersionMismatch
        | Fault::ExtensionFlattened
        | Fault::PasswordChangeRefused
        | Fault::EmailDomainKept
        | Fault::ManagerDisplayKept
        | Fault::LocationWithQuery
        | Fault::BulkResponseUrn
        | Fault::BulkFailFast
        | Fault::BulkIdNotEchoed
        | Fault::BulkIdOptional
        | Fault::BulkNoLocation
        | Fault::BulkStatus200
        | Fault::BulkErrorNoResponse
        | Fault::BulkMaxOperationsIgnored
        | Fault::NoPrecis
        | Fault::FilterUnescaped => resource_probes::probe(fault, s, p).await,
        Fault::NumericId => {
            let r = s.create_user(&format!("{p}a")).await;
            ensure(
                r.body["id"].is_string(),
                format!("id is not a string: {}", r.body["id"]),
            )
        }
        Fault::NoLocation => {
            let r = s.create_user(&format!("{p}a")).await;
            let loc = r.header("location").map(String::from);
            ensure(
                loc.is_some() && loc.as_deref() == r.body["meta"]["location"].as_str(),
                format!(
                    "Location {loc:?} vs meta.location {}",
                    r.body["meta"]["location"]
                ),
            )
        }
        Fault::Create200 => {
            let r = s.create_user(&format!("{p}a")).await;
            ensure(r.status == 201, format!("POST answered {}", r.status))
        }
        Fault::FilterIgnored => {
            s.create_user(&format!("{p}a")).await;
            s.create_user(&format!("{p}b")).await;
            let r = s
                .req("GET", &f(&format!("userName eq \"{p}a\"")), None)
                .await;
            ensure(
                names(&r.body) == [format!("{p}a")],
                format!("filter returned {:?}", names(&r.body)),
            )
        }
        Fault::FilterCaseSensitive => {
            s.create_user(&format!("{p}CaseUser")).await;
            let r = s
                .req(
                    "GET",
                    &f(&format!("userName eq \"{}caseuser\"", p.to_uppercase())),
                    None,
                )
                .await;
            ensure(
                r.body["totalResults"] == 1,
                format!("case-insensitive eq found {}", r.body["totalResults"]),
            )
        }
        Fault::InvalidFilterAccepted => {
            let r = s.req("GET", &f("userName eq"), None).await;
            ensure(
                r.status == 400 && r.body["scimType"] == "invalidFilter",
                format!("invalid filter answered {} {}", r.status, r.text),
            )
        }
        Fault::UsernameCaseSensitive => {
            s.create_user(&format!("{p}Bob")).await;
            let r = s.create_user(&format!("{p}bob")).await;
            ensure(
                r.status == 409 && r.body["scimType"] == "uniqueness",
                format!("second create: {}", r.status),
            )
        }
        Fault::DuplicateUsername => {
            s.create_user(&format!("{p}dup")).await;
            let r = s.create_user(&format!("{p}dup")).await;
            ensure(
                r.status == 409 && r.body["scimType"] == "uniqueness",
                format!("second create: {}", r.status),
            )
        }
        Fault::ErrorStatusNumber => {
            let r = s.req("GET", "/Users/does-not-exist", None).await;
            ensure(
                r.body["status"] == "404",
                format!("status member is {}", r.body["status"]),
            )
        }
        Fault::ErrorPlainText => {
            let r = s.req("GET", "/Users/does-not-exist", None).await;
            ensure(
                r.body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error",
                format!("error body: {}", r.text),
            )
        }
        Fault::NoScimType => {
            let r = s.req("GET", &f("userName eq"), None).await;
            ensure(
                r.body["scimType"] == "invalidFilter",
                format!("error body: {}", r.text),
            )
        }
        Fault::PatchRemoveFilterAll => {
            let u1 = s.create_user(&format!("{p}m1")).await.id();
            let u2 = s.create_user(&format!("{p}m2")).await.id();
            let g = s.create_group(&format!("{p}g"), &[&u1, &u2]).await.id();
            let ops = json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]);
            s.req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            let left: Vec<&str> = r.body["members"]
                .as_array()
                .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
                .unwrap_or_default();
            ensure(left == [u2.as_str()], format!("members left: {left:?}"))
        }
        Fault::PatchNotAtomic => {
            let id = s.create_user(&format!("{p}atomic")).await.id();
            let ops = json!([
                {"op": "replace", "path": "displayName", "value": "changed"},
                {"op": "remove"}
            ]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let after = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                r.status == 400 && after.body["displayName"] == format!("Display {p}atomic"),
                format!(
                    "PATCH {} left displayName {}",
                    r.status, after.body["displayName"]
                ),
            )
        }
        Fault::PatchOpCaseSensitive => {
            let id = s.create_user(&format!("{p}ops")).await.id();
            let ops = json!([{"op": "Replace", "path": "displayName", "value": "Capital"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["displayName"] == "Capital",
                format!("PATCH Replace: {} {}", r.status, r.text),
            )
        }
        Fault::IgnoreIfMatch => {
            let id = s.create_user(&format!("{p}etag")).await.id();
            let ops = json!([{"op": "replace", "path": "displayName", "value": "x"}]);
            let r = s
                .req_h(
                    "PATCH",
                    &format!("/Users/{id}"),
                    Some(patch_body(ops)),
                    &[("If-Match", "W/\"999\"")],
                )
                .await;
            ensure(
                r.status == 412,
                format!("stale If-Match answered {}", r.status),
            )
        }
        Fault::IgnoreIfNoneMatch => {
            let r = s.create_user(&format!("{p}inm")).await;
            let v = r.body["meta"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let g = s
                .req_h(
                    "GET",
                    &format!("/Users/{}", r.id()),
                    None,
                    &[("If-None-Match", &v)],
                )
                .await;
            ensure(
                g.status == 304,
                format!("If-None-Match current version answered {}", g.status),
            )
        }
        Fault::NoEtag => {
            let id = s.create_user(&format!("{p}et")).await.id();
            let r = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                r.header("etag").is_some()
                    && r.header("etag") == r.body["meta"]["version"].as_str(),
                format!(
                    "ETag {:?} vs meta.version {}",
                    r.header("etag"),
                    r.body["meta"]["version"]
                ),
            )
        }
        Fault::VersionUnchanged => {
            let c = s.create_user(&format!("{p}ver")).await;
            let ops = json!([{"op": "replace", "path": "displayName", "value": "v2"}]);
            let r = s
                .req(
                    "PATCH",
                    &format!("/Users/{}", c.id()),
                    Some(patch_body(ops)),
                )
                .await;
            ensure(
                r.body["meta"]["version"] != c.body["meta"]["version"],
                "version did not change",
            )
        }
        Fault::PasswordReturned => {
            let r = s.req("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}pw"), "password": "s3cret-Pa55"}))).await;
            let g = s.req("GET", &format!("/Users/{}", r.id()), None).await;
            ensure(
                r.status == 201 && !r.text.contains("s3cret") && !g.text.contains("s3cret"),
                "password was returned",
            )
        }
        Fault::WrongContentType => {
            let r = s.req("GET", "/Users", None).await;
            ensure(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("application/scim+json")),
                format!("Content-Type {:?}", r.header("content-type")),
            )
        }
        Fault::NoAuth => {
            let r = s
                .client
                .get(format!("{}/Users", s.base))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            ensure(
                r.status() == 401,
                format!("no token answered {}", r.status()),
            )
        }
        Fault::NoWwwAuthenticate => {
            let r = s
                .client
                .get(format!("{}/Users", s.base))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            ensure(
                r.headers().contains_key("www-authenticate"),
                "401 without WWW-Authenticate",
            )
        }
        Fault::DeleteIgnored => {
            let id = s.create_user(&format!("{p}del")).await.id();
            let d = s.req("DELETE", &format!("/Users/{id}"), None).await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                d.status.is_success() && g.status == 404,
                format!("after DELETE {} GET answered {}", d.status, g.status),
            )
        }
        Fault::SortIgnored => {
            s.create_user(&format!("{p}zeta")).await;
            s.create_user(&format!("{p}alpha")).await;
            let r = s
                .req(
                    "GET",
                    &format!("{}&sortBy=userName", f(&format!("userName sw \"{p}\""))),
                    None,
                )
                .await;
            ensure(
                names(&r.body) == [format!("{p}alpha"), format!("{p}zeta")],
                format!("order {:?}", names(&r.body)),
            )
        }
        Fault::CountIgnored | Fault::StartIndexZeroBased | Fault::TotalResultsPage => {
            for n in ["a", "b", "c"] {
                s.create_user(&format!("{p}{n}")).await;
            }
            let r = s
                .req(
                    "GET",
                    &format!(
                        "{}&startIndex=1&count=1",
                        f(&format!("userName sw \"{p}\""))
                    ),
                    None,
                )
                .await;
            ensure(
                names(&r.body) == [format!("{p}a")]
                    && r.body["totalResults"] == 3
                    && r.body["itemsPerPage"] == 1,
                format!("page {:?} total {}", names(&r.body), r.body["totalResults"]),
            )
        }
        Fault::AttributesIgnored => {
            let id = s.create_user(&format!("{p}attr")).await.id();
            let r = s
                .req("GET", &format!("/Users/{id}?attributes=userName"), None)
                .await;
            ensure(
                r.body.get("displayName").is_none() && r.body["userName"].is_string(),
                format!("body {}", r.text),
            )
        }
        Fault::ExcludedDropsAlways => {
            let id = s.create_user(&format!("{p}excl")).await.id();
            let r = s
                .req(
                    "GET",
                    &format!("/Users/{id}?excludedAttributes=id,displayName"),
                    None,
                )
                .await;
            ensure(
                r.body["id"] == id.as_str() && r.body.get("displayName").is_none(),
                format!("body {}", r.text),
            )
        }
        Fault::NoMeta => {
            let r = s.create_user(&format!("{p}meta")).await;
            let m = &r.body["meta"];
            ensure(
                [
                    "resourceType",
                    "created",
                    "lastModified",
                    "location",
                    "version",
                ]
                .iter()
                .all(|k| m[k].is_string()),
                format!("meta {m}"),
            )
        }
        Fault::ReadOnlyHonoured => {
            let r = s.req("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "client-chosen", "userName": format!("{p}ro")}))).await;
            ensure(
                r.status == 201 && r.id() != "client-chosen",
                format!("created with id {}", r.id()),
            )
        }
        Fault::PutMerges => {
            let id = s.create_user(&format!("{p}put")).await.id();
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}put")});
            s.req("PUT", &format!("/Users/{id}"), Some(body)).await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                g.body.get("displayName").is_none(),
                format!("after PUT without displayName: {}", g.body["displayName"]),
            )
        }
        Fault::UnknownIdEmpty => {
            let r = s.req("GET", "/Users/no-such-id", None).await;
            ensure(r.status == 404, format!("unknown id answered {}", r.status))
        }
        Fault::ListNoSchemas => {
            let r = s.req("GET", "/Users", None).await;
            ensure(
                r.body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:ListResponse",
                format!("body {}", r.text),
            )
        }
        Fault::UserGroupsMissing => {
            let u = s.create_user(&format!("{p}member")).await.id();
            let g = s.create_group(&format!("{p}grp"), &[&u]).await.id();
            let r = s.req("GET", &format!("/Users/{u}"), None).await;
            ensure(
                r.body["groups"][0]["value"] == g.as_str(),
                format!("groups {}", r.body["groups"]),
            )
        }
        Fault::DiscoveryWritable => {
            let r = s
                .req("POST", "/ServiceProviderConfig", Some(json!({})))
                .await;
            ensure(
                r.status == 405,
                format!("POST /ServiceProviderConfig answered {}", r.status),
            )
        }
        Fault::NoBodyLimit => {
            let big = "x".repeat(2 * 1024 * 1024);
            let r = s.req("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}big"), "nickName": big}))).await;
            ensure(r.status == 413, format!("2 MiB body answered {}", r.status))
        }
        Fault::BulkIdUnresolved | Fault::BulkFailOnErrorsIgnored => {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}bulk")}},
                    {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("{p}bg"), "members": [{"value": "bulkId:u1"}]}},
                    {"method": "DELETE", "path": "/Users/no-such-id"},
                    {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}after")}}
                ]
            });
            let r = s.req("POST", "/Bulk", Some(body)).await;
            let ops = r.body["Operations"].as_array().cloned().unwrap_or_default();
            let statuses: Vec<&str> = ops.iter().filter_map(|o| o["status"].as_str()).collect();
            let user_loc = ops
                .first()
                .and_then(|o| o["location"].as_str())
                .unwrap_or_default()
                .to_string();
            let group_loc = ops
                .get(1)
                .and_then(|o| o["location"].as_str())
                .unwrap_or_default()
                .to_string();
            let g = s.req("GET", &group_loc, None).await;
            let member_ref = g.body["members"][0]["$ref"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            ensure(
                statuses == ["201", "201", "404"] && member_ref == user_loc,
                format!("statuses {statuses:?}, member $ref {member_ref:?} vs user {user_loc:?}"),
            )
        }
        Fault::SearchMissing => {
            s.create_user(&format!("{p}search")).await;
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("userName eq \"{p}search\"")});
            let r = s.req("POST", "/Users/.search", Some(body)).await;
            ensure(
                r.status == 200 && r.body["totalResults"] == 1,
                format!("/.search answered {} {}", r.status, r.text),
            )
        }
        Fault::MembersLostOnRace => {
            let g = s.create_group(&format!("{p}race"), &[]).await.id();
            let mut users = Vec::new();
            for i in 0..8 {
                users.push(s.create_user(&format!("{p}r{i}")).await.id());
            }
            let futs = users.iter().map(|u| {
                let ops = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
                let path = format!("/Groups/{g}");
                async move { s.req("PATCH", &path, Some(patch_body(ops))).await }
            });
            futures::future::join_all(futs).await;
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            let n = r.body["members"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 8, format!("{n} of 8 concurrently added members kept"))
        }
        Fault::Delete200 => {
            let id = s.create_user(&format!("{p}d204")).await.id();
            let d = s.req("DELETE", &format!("/Users/{id}"), None).await;
            ensure(
                d.status == 204 && d.text.is_empty(),
                format!("DELETE answered {}", d.status),
            )
        }
        Fault::SpcMissingEtag => {
            let r = s.req("GET", "/ServiceProviderConfig", None).await;
            ensure(
                r.body["etag"]["supported"].is_boolean(),
                format!("etag member: {}", r.body["etag"]),
            )
        }
        Fault::DiscoveryBareArrays => {
            let list = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
            let rt = s.req("GET", "/ResourceTypes", None).await;
            let sc = s.req("GET", "/Schemas", None).await;
            ensure(
                rt.body["schemas"][0] == list && sc.body["schemas"][0] == list,
                format!(
                    "/ResourceTypes {} / /Schemas {}",
                    rt.body["schemas"], sc.body["schemas"]
                ),
            )
        }
        Fault::SchemaIdIgnored => {
            let urn = "urn:ietf:params:scim:schemas:core:2.0:User";
            let one = s.req("GET", &format!("/Schemas/{urn}"), None).await;
            let unknown = s.req("GET", "/Schemas/urn:example:unknown:1.0", None).await;
            ensure(
                one.body["id"] == urn && unknown.status == 404,
                format!(
                    "/Schemas/{urn} id {}, unknown schema answered {}",
                    one.body["id"], unknown.status
                ),
            )
        }
        Fault::AnyTokenAccepted => {
            let r = s
                .client
                .get(format!("{}/Users", s.base))
                .bearer_auth("not-the-token")
                .send()
                .await
                .map_err(|e| e.to_string())?;
            ensure(
                r.status() == 401,
                format!("wrong token answered {}", r.status()),
            )
        }
        Fault::ScimJson415 => {
            // create_user labels its body application/scim+json.
            let r = s.create_user(&format!("{p}media")).await;
            ensure(
                r.status == 201,
                format!("scim+json body answered {}", r.status),
            )
        }
        Fault::UsernameOptional => {
            let urn = "urn:ietf:params:scim:schemas:core:2.0:User";
            let missing = s
                .req(
                    "POST",
                    "/Users",
                    Some(json!({"schemas": [urn], "displayName": "x"})),
                )
                .await;
            let empty = s
                .req(
                    "POST",
                    "/Users",
                    Some(json!({"schemas": [urn], "userName": ""})),
                )
                .await;
            ensure(
                missing.status == 400 && empty.status == 400,
                format!(
                    "no userName answered {}, empty userName {}",
                    missing.status, empty.status
                ),
            )
        }
        Fault::PutCreates => {
            let path = format!("/Users/{p}-{}", uuid::Uuid::new_v4());
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{p}upsert")});
            let put = s.req("PUT", &path, Some(body)).await;
            let get = s.req("GET", &path, None).await;
            ensure(
                put.status == 404 && get.status == 404,
                format!(
                    "PUT to an unknown id answered {}, then GET {}",
                    put.status, get.status
                ),
            )
        }
        Fault::PatchAddReplaces => {
            let id = s.create_user(&format!("{p}add")).await.id();
            let ops = json!([{"op": "add", "path": "emails", "value": [{"value": format!("{p}second@example.org"), "type": "home"}]}]);
            s.req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let r = s.req("GET", &format!("/Users/{id}"), None).await;
            let n = r.body["emails"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 2, format!("{n} emails after adding a second one"))
        }
        Fault::PatchReadOnlyIgnored => {
            let id = s.create_user(&format!("{p}ro")).await.id();
            let ops = json!([{"op": "replace", "path": "id", "value": "other"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 400 && r.body["scimType"] == "mutability",
                format!("PATCH replace id answered {} {}", r.status, r.text),
            )
        }
        Fault::PatchReplaceUnsetNoTarget => {
            // create_user sets no title.
            let id = s.create_user(&format!("{p}title")).await.id();
            let ops = json!([{"op": "replace", "path": "title", "value": "Engineer"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["title"] == "Engineer",
                format!("replace of an unset title answered {} {}", r.status, r.text),
            )
        }
        Fault::GroupDisplayNameOptional => {
            let r = s
                .req(
                    "POST",
                    "/Groups",
                    Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})),
                )
                .await;
            ensure(
                r.status == 400,
                format!("group without displayName answered {}", r.status),
            )
        }
        Fault::UniquenessRace => {
            let name = format!("{p}racer");
            let futs = (0..6).map(|_| s.create_user(&name));
            let replies = futures::future::join_all(futs).await;
            let created = replies.iter().filter(|r| r.status == 201).count();
            ensure(
                created == 1,
                format!("{created} of 6 parallel creates of one userName succeeded"),
            )
        }
        Fault::ExtensionDropped => {
            let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
            let r = s
                .req(
                    "POST",
                    "/Users",
                    Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent], "userName": format!("{p}ext"), ent: {"employeeNumber": "42"}})),
                )
                .await;
            ensure(
                r.body[ent]["employeeNumber"] == "42",
                format!("created user: {}", r.text),
            )
        }
        Fault::ImmutableCreateOnly => {
            let u = s.create_user(&format!("{p}imm")).await.id();
            let g = s.create_group(&format!("{p}empty"), &[]).await.id();
            let ops = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
            let r = s
                .req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["members"][0]["value"] == u.as_str(),
                format!("add of the first member answered {} {}", r.status, r.text),
            )
        }
        Fault::ImmutableChangeable => {
            let u1 = s.create_user(&format!("{p}m1")).await.id();
            let u2 = s.create_user(&format!("{p}m2")).await.id();
            let g = s.create_group(&format!("{p}one"), &[&u1]).await.id();
            let path = format!("members[value eq \"{u1}\"].value");
            let ops = json!([{"op": "replace", "path": path, "value": u2}]);
            let r = s
                .req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 400 && r.body["scimType"] == "mutability",
                format!("changing members.value answered {} {}", r.status, r.text),
            )
        }
        Fault::PatchSchemasStale => {
            let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
            let id = s.create_user(&format!("{p}ext")).await.id();
            let ops = json!([{"op": "add", "path": format!("{ent}:employeeNumber"), "value": "7"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let listed = r.body["schemas"]
                .as_array()
                .is_some_and(|a| a.iter().any(|u| u == ent));
            ensure(
                listed,
                format!("schemas after the add: {}", r.body["schemas"]),
            )
        }
        Fault::PatchOpsReordered => {
            let id = s.create_user(&format!("{p}order")).await.id();
            let ops = json!([
                {"op": "remove", "path": "emails"},
                {"op": "add", "path": "emails", "value": [{"value": format!("{p}new@example.org")}]}
            ]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let n = r.body["emails"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 1, format!("{n} emails after remove then add of one"))
        }
        Fault::PrimaryNotCleared => {
            let id = s.create_user(&format!("{p}prim")).await.id();
            let ops = json!([{"op": "add", "path": "emails", "value": [{"value": format!("{p}home@example.org"), "type": "home", "primary": true}]}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let primaries = r.body["emails"]
                .as_array()
                .map(|a| a.iter().filter(|e| e["primary"] == true).count())
                .unwrap_or(0);
            ensure(
                primaries == 1,
                format!("{primaries} primary emails: {}", r.text),
            )
        }
        Fault::PatchAddSingleIgnored => {
            let id = s.create_user(&format!("{p}nick")).await.id();
            let ops = json!([{"op": "add", "path": "nickName", "value": "nick"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.body["nickName"] == "nick",
                format!("after add nickName: {}", r.text),
            )
        }
        Fault::PatchNoopBumpsVersion => {
            let c = s.create_user(&format!("{p}noop")).await;
            let (id, before) = (c.id(), c.header("etag").map(String::from));
            let ops =
                json!([{"op": "replace", "path": "displayName", "value": c.body["displayName"]}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                before.is_some() && r.header("etag") == before.as_deref(),
                format!("ETag {before:?} became {:?}", r.header("etag")),
            )
        }
        Fault::PatchAddDuplicates => {
            let name = format!("{p}dupmail");
            let id = s.create_user(&name).await.id();
            let ops = json!([{"op": "add", "path": "emails", "value": [{"value": format!("{name}@example.com"), "type": "work"}]}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let n = r.body["emails"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 1, format!("{n} emails after adding the one present"))
        }
        Fault::PatchRemovePlainIgnored => {
            let id = s.create_user(&format!("{p}rm")).await.id();
            let ops = json!([{"op": "remove", "path": "displayName"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["displayName"].is_null(),
                format!("after remove displayName: {} {}", r.status, r.text),
            )
        }
        Fault::PatchReplaceAppends => {
            let id = s.create_user(&format!("{p}swap")).await.id();
            let ops = json!([{"op": "replace", "path": "emails", "value": [{"value": format!("{p}only@example.org")}]}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let n = r.body["emails"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 1, format!("{n} emails after replacing them with one"))
        }
        Fault::PatchReplaceComplexClears => {
            let name = format!("{p}cplx");
            let id = s.create_user(&name).await.id();
            let ops = json!([{"op": "replace", "path": "name", "value": {"givenName": "Other"}}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.body["name"]["givenName"] == "Other"
                    && r.body["name"]["familyName"] == name.as_str(),
                format!("name after replacing givenName: {}", r.body["name"]),
            )
        }
        Fault::PatchReplaceFilterIgnored => {
            // create_user has one email, of type work: a filter on home matches nothing.
            let id = s.create_user(&format!("{p}flt")).await.id();
            let ops = json!([{"op": "replace", "path": "emails[type eq \"home\"].display", "value": "Home"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 400 && r.body["scimType"] == "noTarget",
                format!(
                    "replace through an unmatched filter answered {} {}",
                    r.status, r.text
                ),
            )
        }
        Fault::PatchEnvelopeLax => {
            let id = s.create_user(&format!("{p}env")).await.id();
            let body = json!({"Operations": [{"op": "replace", "path": "nickName", "value": "x"}]});
            let r = s.req("PATCH", &format!("/Users/{id}"), Some(body)).await;
            ensure(
                r.status == 400,
                format!("PATCH without the PatchOp URN answered {}", r.status),
            )
        }
        Fault::PutReadOnlyApplied => {
            let name = format!("{p}putro");
            let id = s.create_user(&name).await.id();
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "groups": [{"value": "not-a-group"}]});
            s.req("PUT", &format!("/Users/{id}"), Some(body)).await;
            let r = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                r.body["groups"].is_null(),
                format!("groups after a PUT sending groups: {}", r.body["groups"]),
            )
        }
        Fault::FilterNamesLiteral => {
            s.create_user(&format!("{p}lit")).await;
            let upper = s
                .req("GET", &f(&format!("USERNAME eq \"{p}lit\"")), None)
                .await;
            let urn = format!("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"{p}lit\"");
            let qualified = s.req("GET", &f(&urn), None).await;
            ensure(
                upper.body["totalResults"] == 1 && qualified.body["totalResults"] == 1,
                format!(
                    "USERNAME: {} / URN-qualified: {}",
                    upper.text, qualified.text
                ),
            )
        }
        Fault::FilterIgnoresCaseExact => {
            let body = json!({"schemas": [USER], "userName": format!("{p}ce"), "externalId": format!("EXT-{p}")});
            s.req("POST", "/Users", Some(body)).await;
            let r = s
                .req("GET", &f(&format!("externalId eq \"ext-{p}\"")), None)
                .await;
            ensure(
                r.body["totalResults"] == 0,
                format!("externalId in other case found {}", r.body["totalResults"]),
            )
        }
        Fault::FilterPrEmpty => {
            let body = json!({"schemas": [USER], "userName": format!("{p}pr"), "title": ""});
            s.req("POST", "/Users", Some(body)).await;
            let r = s
                .req(
                    "GET",
                    &f(&format!("userName eq \"{p}pr\" and title pr")),
                    None,
                )
                .await;
            ensure(
                r.body["totalResults"] == 0,
                format!("title \"\" counted as present: {}", r.text),
            )
        }
        Fault::FilterDatetimeAsString => {
            s.create_user(&format!("{p}dt")).await;
            // (now - 10 h) at -13:00 is now + 3 h; as text it sorts before "now".
            let later = (chrono::Utc::now() - chrono::Duration::hours(10))
                .format("%Y-%m-%dT%H:%M:%S-13:00");
            let r = s
                .req(
                    "GET",
                    &f(&format!(
                        "userName eq \"{p}dt\" and meta.created lt \"{later}\""
                    )),
                    None,
                )
                .await;
            ensure(
                r.body["totalResults"] == 1,
                format!("created before {later}: {}", r.text),
            )
        }
        Fault::FilterBooleanOrderSilent => {
            let r = s.req("GET", &f("active gt true"), None).await;
            ensure(
                r.status == 400 && r.body["scimType"] == "invalidFilter",
                format!("active gt true answered {} {}", r.status, r.text),
            )
        }
        Fault::FilterLeftToRight => {
            s.create_user(&format!("{p}a")).await;
            let q =
                format!("userName eq \"{p}a\" or userName eq \"{p}b\" and userName eq \"{p}c\"");
            let r = s.req("GET", &f(&q), None).await;
            ensure(
                names(&r.body) == [format!("{p}a")],
                format!("a or b and c returned {:?}", names(&r.body)),
            )
        }
        Fault::FilterFirstValueOnly | Fault::ValuePathAnyElement => {
            let body = json!({"schemas": [USER], "userName": format!("{p}mv"), "emails": [
                {"value": format!("{p}w@example.com"), "type": "work"},
                {"value": format!("{p}h@example.com"), "type": "home"},
            ]});
            s.req("POST", "/Users", Some(body)).await;
            let second = s
                .req(
                    "GET",
                    &f(&format!("emails.value eq \"{p}h@example.com\"")),
                    None,
                )
                .await;
            let crossed = s
                .req(
                    "GET",
                    &f(&format!(
                        "emails[type eq \"work\" and value eq \"{p}h@example.com\"]"
                    )),
                    None,
                )
                .await;
            ensure(
                second.body["totalResults"] == 1 && crossed.body["totalResults"] == 0,
                format!(
                    "second value: {}; crossed value path: {}",
                    second.text, crossed.text
                ),
            )
        }
        Fault::SortFirstValue | Fault::SortMissingFirst | Fault::SortCaseSensitive => {
            // a: emails m, b (primary), title T; B: email c, no title.
            let a = json!({"schemas": [USER], "userName": format!("{p}a"), "title": "T", "emails": [
                {"value": format!("{p}m@example.com")},
                {"value": format!("{p}b@example.com"), "primary": true},
            ]});
            let b = json!({"schemas": [USER], "userName": format!("{p}B"), "emails": [
                {"value": format!("{p}c@example.com")},
            ]});
            s.req("POST", "/Users", Some(a)).await;
            s.req("POST", "/Users", Some(b)).await;
            let sorted = |by: &str| format!("{}&sortBy={by}", f(&format!("userName sw \"{p}\"")));
            let mut orders = Vec::new();
            for by in ["emails.value", "title", "userName"] {
                orders.push(names(&s.req("GET", &sorted(by), None).await.body));
            }
            let want = vec![format!("{p}a"), format!("{p}B")];
            ensure(
                orders.iter().all(|o| *o == want),
                format!("orders by emails.value, title, userName: {orders:?}"),
            )
        }
        Fault::PagingOutOfRangeRefused => {
            s.create_user(&format!("{p}pg")).await;
            let base = f(&format!("userName sw \"{p}\""));
            let mut statuses = Vec::new();
            for q in ["startIndex=0", "count=-1", "startIndex=50"] {
                statuses.push(s.req("GET", &format!("{base}&{q}"), None).await.status);
            }
            ensure(
                statuses.iter().all(|s| *s == 200),
                format!("statuses {statuses:?}"),
            )
        }
        Fault::SearchSchemasUnchecked => {
            let body = json!({"filter": format!("userName eq \"{p}x\"")});
            let r = s.req("POST", "/Users/.search", Some(body)).await;
            ensure(
                r.status == 400 && r.body["scimType"] == "invalidSyntax",
                format!("search without schemas answered {} {}", r.status, r.text),
            )
        }
        Fault::UnknownParamsRefused => {
            let r = s.req("GET", "/Users?count=1&scimtestUnknown=1", None).await;
            ensure(r.status == 200, format!("answered {} {}", r.status, r.text))
        }
        Fault::UnfilteredListRefused => {
            let r = s.req("GET", "/Users?count=1", None).await;
            ensure(r.status == 200, format!("answered {} {}", r.status, r.text))
        }
        Fault::RootQueryStrict | Fault::RootSearchUsersOnly | Fault::SearchMembersIgnored => {
            s.create_user(&format!("{p}u1")).await;
            s.create_user(&format!("{p}u2")).await;
            s.create_group(&format!("{p}grp"), &[]).await;
            let search = |filter: String, count: Option<u32>| {
                let mut b = json!({"schemas": [SEARCH], "filter": filter});
                if let Some(c) = count {
                    b["count"] = json!(c);
                }
                b
            };
            let strict = s
                .req(
                    "POST",
                    "/.search",
                    Some(search(format!("userName eq \"{p}u1\""), None)),
                )
                .await;
            let groups = s
                .req(
                    "POST",
                    "/.search",
                    Some(search(format!("displayName eq \"{p}grp\""), None)),
                )
                .await;
            let paged = s
                .req(
                    "POST",
                    "/Users/.search",
                    Some(search(format!("userName sw \"{p}u\""), Some(1))),
                )
                .await;
            ensure(
                strict.body["totalResults"] == 1
                    && groups.body["totalResults"] == 1
                    && paged.body["Resources"].as_array().map(Vec::len) == Some(1),
                format!(
                    "root userName: {}; root group: {}; count=1: {}",
                    strict.text, groups.text, paged.text
                ),
            )
        }
        Fault::MembersDroppedOnCreate => {
            let u = s.create_user(&format!("{p}mem")).await.id();
            let g = s.create_group(&format!("{p}withmember"), &[&u]).await.id();
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            ensure(
                r.body["members"][0]["value"] == u.as_str(),
                format!("members {}", r.body["members"]),
            )
        }
        // ---- probes of the vendor-profile faults (asana-* run on a server playing Asana) ----
        Fault::AsanaReactivationAllowed => {
            let id = asana_user(s, &format!("{p}react")).await.id();
            let active =
                |v: bool| patch_body(json!([{"op": "replace", "path": "active", "value": v}]));
            s.req("PATCH", &format!("/Users/{id}"), Some(active(false)))
                .await;
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(active(true)))
                .await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                r.status == 400 && g.body["active"] == false,
                format!(
                    "reactivation answered {}, active is {}",
                    r.status, g.body["active"]
                ),
            )
        }
        Fault::AsanaTeamDeleteAllowed => {
            let g = s.create_group(&format!("{p}team"), &[]).await.id();
            let d = s.req("DELETE", &format!("/Groups/{g}"), None).await;
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            ensure(
                d.status == 405 && r.status == 200,
                format!("DELETE team answered {}, then GET {}", d.status, r.status),
            )
        }
        Fault::AsanaAnyDomain => {
            let body = json!({"schemas": [USER], "userName": format!("{p}x@elsewhere.test")});
            let r = s.req("POST", "/Users", Some(body)).await;
            let bare = json!({"schemas": [USER], "userName": format!("{p}bare")});
            let b = s.req("POST", "/Users", Some(bare)).await;
            ensure(
                r.status == 400 && b.status == 400,
                format!(
                    "other domain answered {}, no @ answered {}",
                    r.status, b.status
                ),
            )
        }
        Fault::AsanaDeleteErases => {
            let id = asana_user(s, &format!("{p}zombie")).await.id();
            let d = s.req("DELETE", &format!("/Users/{id}"), None).await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                d.status == 204 && g.status == 200 && g.body["active"] == false,
                format!("after DELETE {}: GET {} {}", d.status, g.status, g.text),
            )
        }
        Fault::AsanaFormattedRecomputed => {
            let body = json!({"schemas": [USER], "userName": format!("{p}fmt@{ASANA_DOMAIN}"),
                "name": {"formatted": "Ada Lovelace", "givenName": "Grace", "familyName": "Hopper"}});
            let r = s.req("POST", "/Users", Some(body)).await;
            ensure(
                r.body["name"]["formatted"] == "Ada Lovelace",
                format!("name {}", r.body["name"]),
            )
        }
        Fault::AsanaPreferredLanguageUpdatable => {
            let id = asana_user(s, &format!("{p}lang")).await.id();
            let ops = json!([{"op": "replace", "path": "preferredLanguage", "value": "fr"}]);
            s.req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                g.body["preferredLanguage"] == "en",
                format!("preferredLanguage {}", g.body["preferredLanguage"]),
            )
        }
        Fault::AsanaGroupPatch200 => {
            let u = asana_user(s, &format!("{p}member")).await.id();
            let g = s.create_group(&format!("{p}team204"), &[]).await.id();
            let ops = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
            let r = s
                .req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 204 && r.text.is_empty(),
                format!("team PATCH answered {}", r.status),
            )
        }
        Fault::AsanaUnsupportedFilterIgnored => {
            asana_user(s, &format!("{p}filtered")).await;
            let r = s.req("GET", &f("title pr"), None).await;
            ensure(
                r.status == 400 && r.body["scimType"] == "invalidFilter",
                format!("title pr answered {} {}", r.status, r.text),
            )
        }
        Fault::LocationWrongBase => {
            let r = s.create_user(&format!("{p}loc")).await;
            let loc = r.header("location").unwrap_or_default().to_string();
            let g = s.req("GET", &loc, None).await;
            ensure(
                loc.starts_with(&format!("{}/Users/", s.base)) && g.status == 200,
                format!("Location {loc:?} (GET answered {})", g.status),
            )
        }
        Fault::MembersRemoveValueArrayIgnored => {
            let u1 = s.create_user(&format!("{p}va1")).await.id();
            let u2 = s.create_user(&format!("{p}va2")).await.id();
            let g = s.create_group(&format!("{p}va"), &[&u1, &u2]).await.id();
            let ops = json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]);
            s.req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            ensure(
                r.body["members"].as_array().map(Vec::len) == Some(1)
                    && r.body["members"][0]["value"] == u2.as_str(),
                format!("members left: {}", r.body["members"]),
            )
        }
        Fault::BooleanStringsRejected => {
            let id = s.create_user(&format!("{p}strbool")).await.id();
            let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["active"] == false,
                format!("active \"False\" answered {} {}", r.status, r.text),
            )
        }
        Fault::PatchDottedKeysIgnored => {
            let id = s.create_user(&format!("{p}dotted")).await.id();
            let ops = json!([{"op": "replace", "value": {"name.givenName": "Dotted"}}]);
            let r = s
                .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["name"]["givenName"] == "Dotted",
                format!("dotted key answered {} {}", r.status, r.body["name"]),
            )
        }
        Fault::MemberRefNullRejected => {
            let u = s.create_user(&format!("{p}refnull")).await.id();
            let g = s.create_group(&format!("{p}refnull"), &[]).await.id();
            let ops =
                json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u}]}]);
            let r = s
                .req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["members"][0]["value"] == u.as_str(),
                format!("$ref null add answered {} {}", r.status, r.text),
            )
        }
        Fault::PatchReadonlyResendRejected => {
            let g = s.create_group(&format!("{p}push"), &[]).await.id();
            let ops =
                json!([{"op": "replace", "value": {"id": g, "displayName": format!("{p}pushed")}}]);
            let r = s
                .req("PATCH", &format!("/Groups/{g}"), Some(patch_body(ops)))
                .await;
            ensure(
                r.status == 200 && r.body["displayName"] == format!("{p}pushed"),
                format!("rename re-sending id answered {} {}", r.status, r.text),
            )
        }
        Fault::ReadonlyInBodyRejected => {
            let body = json!({"schemas": [USER], "userName": format!("{p}okta"), "groups": [],
                "meta": {"resourceType": "User"}});
            let r = s.req("POST", "/Users", Some(body)).await;
            ensure(
                r.status == 201,
                format!(
                    "create with groups [] and meta answered {} {}",
                    r.status, r.text
                ),
            )
        }
        Fault::ActiveIgnored => {
            let id = s.create_user(&format!("{p}deact")).await.id();
            let ops = json!([{"op": "replace", "value": {"active": false}}]);
            s.req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                g.body["active"] == false,
                format!("active after deactivation: {}", g.body["active"]),
            )
        }
        Fault::FormattedNamePrecedence => {
            let body = json!({"schemas": [USER], "userName": format!("{p}parts"),
                "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"}});
            let id = s.req("POST", "/Users", Some(body)).await.id();
            let ops = json!([{"op": "Replace", "path": "name.givenName", "value": "Grace"}]);
            s.req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
                .await;
            let g = s.req("GET", &format!("/Users/{id}"), None).await;
            ensure(
                g.body["name"]["givenName"] == "Grace",
                format!("name after the update: {}", g.body["name"]),
            )
        }
        Fault::RetryAfterHttpDate => {
            let futs = (0..30).map(|_| s.req("GET", "/ServiceProviderConfig", None));
            let replies = futures::future::join_all(futs).await;
            let bad: Vec<String> = replies
                .iter()
                .filter(|r| r.status == 429)
                .filter_map(|r| r.header("retry-after").map(String::from))
                .filter(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            ensure(bad.is_empty(), format!("429 with Retry-After {bad:?}"))
        }
        Fault::PlainJson415 => {
            let body = json!({"schemas": [USER], "userName": format!("{p}plainjson")});
            let r = s
                .client
                .post(format!("{}/Users", s.base))
                .bearer_auth(common::TOKEN)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            ensure(
                r.status() == 201,
                format!("application/json body answered {}", r.status()),
            )
        }
    }
}

/// The organisation domain of the asana servers these probes start.
const ASANA_DOMAIN: &str = "acme.test";

/// The contract a fault's probe runs under: the asana-only faults need the server playing Asana.
fn contract_of(fault: Fault) -> Contract {
    if fault.name().starts_with("asana-") {
        Contract::Asana
    } else {
        Contract::Rfc
    }
}

/// A server playing `contract` (Asana: its base path and the domain above) with `faults` on.
async fn start_as(contract: Contract, faults: &[Fault]) -> Server {
    let mut c = ServerConfig::ephemeral(common::TOKEN);
    c.faults = Faults::new(faults.iter().copied());
    if contract == Contract::Asana {
        c.contract = Contract::Asana;
        c.base_path = Contract::Asana.default_base_path().into();
        c.domain = ASANA_DOMAIN.into();
    }
    common::start_with(c).await
}

/// A user as Asana's API reference creates one: email userName in the domain, formatted name.
async fn asana_user(s: &Server, local: &str) -> common::Reply {
    let user_name = format!("{local}@{ASANA_DOMAIN}");
    let body = json!({"schemas": [USER], "userName": user_name, "name": {"formatted": "Ada Lovelace"},
        "emails": [{"primary": true, "value": user_name}], "preferredLanguage": "en", "active": true});
    s.req("POST", "/Users", Some(body)).await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_server_keeps_every_rule() {
    let s = start().await;
    let asana = start_as(Contract::Asana, &[]).await;
    let mut failures = Vec::new();
    for (i, fault) in Fault::ALL.iter().enumerate() {
        let server = match contract_of(*fault) {
            Contract::Asana => &asana,
            Contract::Rfc => &s,
        };
        if let Err(e) = probe(*fault, server, &format!("ok{i}x")).await {
            failures.push(format!("{fault}: {e}"));
        }
    }
    s.stop().await;
    asana.stop().await;
    assert!(
        failures.is_empty(),
        "probes failed on the correct server:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_breaks_its_rule() {
    let mut survived = Vec::new();
    for fault in Fault::ALL {
        let s = match contract_of(*fault) {
            Contract::Rfc => start_faulty(&[*fault]).await,
            contract => start_as(contract, &[*fault]).await,
        };
        if probe(*fault, &s, "f").await.is_ok() {
            survived.push(fault.name());
        }
        s.stop().await;
    }
    assert!(
        survived.is_empty(),
        "probes passed although their fault was on: {survived:?}"
    );
}
