//! Every fault switch breaks its rule, and the correct server keeps every rule.
//!
//! Each fault has one probe: a small check of the rule the fault breaks. The probe must pass on
//! the correct server and fail on the server with that one fault switched on. The match below is
//! exhaustive, so a new fault cannot be added without its probe.

mod common;

use common::{patch_body, start, start_faulty, Server};
use scimtest::server::faults::Fault;
use serde_json::{json, Value};

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
        Fault::MembersDroppedOnCreate => {
            let u = s.create_user(&format!("{p}mem")).await.id();
            let g = s.create_group(&format!("{p}withmember"), &[&u]).await.id();
            let r = s.req("GET", &format!("/Groups/{g}"), None).await;
            ensure(
                r.body["members"][0]["value"] == u.as_str(),
                format!("members {}", r.body["members"]),
            )
        }
    }
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
    let mut failures = Vec::new();
    for (i, fault) in Fault::ALL.iter().enumerate() {
        if let Err(e) = probe(*fault, &s, &format!("ok{i}x")).await {
            failures.push(format!("{fault}: {e}"));
        }
    }
    s.stop().await;
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
        let s = start_faulty(&[*fault]).await;
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
