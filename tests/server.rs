//! The reference server end to end over HTTP: every endpoint, error shape and protocol detail of
//! the foundation issue, against an in-process server on 127.0.0.1:0.

mod common;

use common::{patch_body, start, start_with, TOKEN};
use scimtest::server::contract::Contract;
use scimtest::server::ServerConfig;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn assert_error(r: &common::Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["schemas"][0], ERROR, "{}", r.text);
    assert_eq!(r.body["status"], status.to_string(), "{}", r.text);
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.text);
    }
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/scim+json"));
}

#[tokio::test]
async fn discovery_endpoints_describe_what_the_server_does() {
    let s = start().await;
    let spc = s.req("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, 200);
    for f in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        assert!(spc.body[f]["supported"].is_boolean(), "{f}");
    }
    assert_eq!(spc.body["filter"]["maxResults"], 200);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let rts = s.req("GET", "/ResourceTypes", None).await;
    assert_eq!(rts.body["totalResults"], 2);
    let user_rt = s.req("GET", "/ResourceTypes/User", None).await;
    assert_eq!(user_rt.body["endpoint"], "/Users");
    assert_eq!(user_rt.body["schemaExtensions"][0]["schema"], ENT);

    let schemas = s.req("GET", "/Schemas", None).await;
    assert_eq!(schemas.body["totalResults"], 3);
    let user_schema = s.req("GET", &format!("/Schemas/{USER}"), None).await;
    assert_eq!(user_schema.body["id"], USER);
    let attrs = user_schema.body["attributes"].as_array().unwrap();
    let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_schema.body["meta"]["resourceType"], "Schema");

    assert_error(&s.req("GET", "/Schemas/urn:nope", None).await, 404, None);
    assert_error(&s.req("GET", "/ResourceTypes/Nope", None).await, 404, None);
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        assert_error(&s.req("POST", path, Some(json!({}))).await, 405, None);
        assert_error(&s.req("DELETE", path, None).await, 405, None);
    }
    assert_error(
        &s.req("GET", "/Schemas?filter=id%20pr", None).await,
        403,
        None,
    );
    s.stop().await;
}

#[tokio::test]
async fn every_endpoint_requires_the_token() {
    let s = start().await;
    let id = s.create_user("authcheck").await.id();
    // GET /ServiceProviderConfig is the one public read (RFC 7643 §5: authenticationSchemes are
    // discoverable before authenticating); writing to it still needs the token.
    let spc = s
        .client
        .get(format!("{}/ServiceProviderConfig", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(spc.status(), 200);
    let spc: Value = spc.json().await.unwrap();
    assert!(spc["authenticationSchemes"].is_array(), "{spc}");
    let paths = [
        ("POST", "/ServiceProviderConfig".to_string()),
        ("GET", "/ResourceTypes".into()),
        ("GET", "/Schemas".into()),
        ("GET", "/Users".into()),
        ("POST", "/Users".into()),
        ("GET", format!("/Users/{id}")),
        ("PUT", format!("/Users/{id}")),
        ("PATCH", format!("/Users/{id}")),
        ("DELETE", format!("/Users/{id}")),
        ("GET", "/Groups".into()),
        ("POST", "/Users/.search".into()),
        ("POST", "/.search".into()),
        ("POST", "/Bulk".into()),
        ("GET", "/Nowhere".into()),
    ];
    for (method, path) in &paths {
        for auth in [None, Some("Bearer wrong-token"), Some("Basic dXNlcjpwYXNz")] {
            let mut rb = s
                .client
                .request(method.parse().unwrap(), format!("{}{path}", s.base));
            if let Some(a) = auth {
                rb = rb.header("authorization", a);
            }
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {auth:?}");
            assert!(
                r.headers().get("www-authenticate").is_some(),
                "{method} {path}"
            );
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["schemas"][0], ERROR);
            assert_eq!(body["status"], "401");
        }
    }
    // The user is untouched by all those refused writes.
    assert_eq!(
        s.req("GET", &format!("/Users/{id}"), None).await.status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn user_lifecycle_with_meta_location_and_etags() {
    let s = start().await;
    let c = s.create_user("lifecycle").await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert!(c
        .header("content-type")
        .unwrap()
        .starts_with("application/scim+json"));
    let id = c.id();
    let loc = c.header("location").unwrap().to_string();
    assert_eq!(c.body["meta"]["location"], loc.as_str());
    assert!(loc.ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(c.body["meta"]["resourceType"], "User");
    assert_eq!(c.body["meta"]["created"], c.body["meta"]["lastModified"]);
    assert_eq!(c.header("etag"), c.body["meta"]["version"].as_str());
    assert_eq!(c.body["schemas"][0], USER);

    let g = s.req("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["userName"], "lifecycle");
    let etag = g.header("etag").unwrap().to_string();

    // If-None-Match with the current version → 304; with another → 200.
    let nm = s
        .req_h(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(nm.status, 304);
    let nm2 = s
        .req_h(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("If-None-Match", "W/\"nope\"")],
        )
        .await;
    assert_eq!(nm2.status, 200);

    // PUT replaces; a stale If-Match is refused with 412 and changes nothing.
    let put = json!({"schemas": [USER], "userName": "lifecycle", "nickName": "Lc"});
    let stale = s
        .req_h(
            "PUT",
            &format!("/Users/{id}"),
            Some(put.clone()),
            &[("If-Match", "W/\"999\"")],
        )
        .await;
    assert_error(&stale, 412, None);
    let p = s
        .req_h(
            "PUT",
            &format!("/Users/{id}"),
            Some(put),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["nickName"], "Lc");
    assert!(
        p.body.get("displayName").is_none(),
        "PUT clears what it does not send"
    );
    assert_ne!(p.header("etag").unwrap(), etag);
    assert_eq!(p.body["meta"]["created"], c.body["meta"]["created"]);

    let ops = json!([{"op": "replace", "path": "displayName", "value": "Patched"}]);
    let pa = s
        .req("PATCH", &format!("/Users/{id}"), Some(patch_body(ops)))
        .await;
    assert_eq!(pa.status, 200, "{}", pa.text);
    assert_eq!(pa.body["displayName"], "Patched");

    let d = s.req("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(d.status, 204);
    assert!(d.text.is_empty());
    assert_error(
        &s.req("GET", &format!("/Users/{id}"), None).await,
        404,
        None,
    );
    assert_error(
        &s.req("DELETE", &format!("/Users/{id}"), None).await,
        404,
        None,
    );
    assert_error(
        &s.req(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_body(
                json!([{"op": "add", "path": "title", "value": "x"}]),
            )),
        )
        .await,
        404,
        None,
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_get_scim_errors() {
    let s = start().await;
    // Malformed JSON, wrong types, missing required attributes.
    let raw = s
        .client
        .post(format!("{}/Users", s.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    let missing = s
        .req(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "displayName": "x"})),
        )
        .await;
    assert_error(&missing, 400, Some("invalidValue"));
    let wrong_type = s
        .req(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "t", "active": 3})),
        )
        .await;
    assert_error(&wrong_type, 400, Some("invalidValue"));
    // application/json is accepted, text/plain is not.
    let json_ct = s
        .client
        .post(format!("{}/Users", s.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"schemas": [USER], "userName": "plainjson"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(json_ct.status(), 201);
    let text_ct = s
        .client
        .post(format!("{}/Users", s.base))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(text_ct.status(), 415);
    // Over the body limit: 413 as a SCIM Error.
    let big = s
        .req(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "big", "nickName": "x".repeat(1_100_000)})),
        )
        .await;
    assert_error(&big, 413, None);
    // Unknown paths and /Me.
    assert_error(&s.req("GET", "/Nowhere", None).await, 404, None);
    assert_error(&s.req("GET", "/Me", None).await, 501, None);
    // Invalid filter, sortOrder, startIndex.
    assert_error(
        &s.req("GET", "/Users?filter=userName%20eq", None).await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &s.req("GET", "/Users?sortBy=userName&sortOrder=sideways", None)
            .await,
        400,
        Some("invalidValue"),
    );
    assert_error(
        &s.req("GET", "/Users?startIndex=abc", None).await,
        400,
        Some("invalidValue"),
    );
    // Uniqueness is case-insensitive.
    s.create_user("Unique.Person").await;
    assert_error(
        &s.create_user("unique.person").await,
        409,
        Some("uniqueness"),
    );
    s.stop().await;
}

#[tokio::test]
async fn password_is_write_only_and_read_only_attributes_are_ignored() {
    let s = start().await;
    let c = s
        .req(
            "POST",
            "/Users",
            Some(json!({
                "schemas": [USER], "userName": "pwuser", "password": "Hunter2-Secret",
                "id": "mine", "meta": {"created": "1999-01-01T00:00:00Z"},
                "groups": [{"value": "g"}]
            })),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert!(!c.text.contains("Hunter2"));
    assert_ne!(c.id(), "mine");
    assert_ne!(c.body["meta"]["created"], "1999-01-01T00:00:00Z");
    assert!(c.body.get("groups").is_none());
    let g = s
        .req(
            "GET",
            &format!("/Users/{}?attributes=password", c.id()),
            None,
        )
        .await;
    assert!(!g.text.contains("Hunter2"));
    let l = s.req("GET", "/Users?filter=password%20pr", None).await;
    assert!(!l.text.contains("Hunter2"));
    s.stop().await;
}

#[tokio::test]
async fn groups_members_and_derived_user_groups() {
    let s = start().await;
    let a = s.create_user("member.a").await.id();
    let b = s.create_user("member.b").await.id();
    let inner = s.create_group("Inner", &[&a]).await;
    assert_eq!(inner.status, 201, "{}", inner.text);
    let m = &inner.body["members"][0];
    assert_eq!(m["value"], a.as_str());
    assert_eq!(m["type"], "User");
    assert_eq!(m["display"], "Display member.a");
    assert!(m["$ref"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Users/{a}")));
    let outer = s.create_group("Outer", &[&inner.id(), &b]).await;
    assert_eq!(outer.status, 201, "{}", outer.text);

    let ua = s.req("GET", &format!("/Users/{a}"), None).await;
    let groups = ua.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0]["value"], inner.id().as_str());
    assert_eq!(groups[0]["type"], "direct");
    assert_eq!(groups[1]["value"], outer.id().as_str());
    assert_eq!(groups[1]["type"], "indirect");

    // groups is readOnly: a PATCH aimed at it is refused.
    let bad = s
        .req(
            "PATCH",
            &format!("/Users/{a}"),
            Some(patch_body(
                json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]),
            )),
        )
        .await;
    assert_error(&bad, 400, Some("mutability"));

    // A display the client sets on a member is kept (members sub-attributes are immutable, not
    // readOnly: RFC 7643 §2.4, §4.2).
    let named = s
        .req("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Named", "members": [{"value": a, "display": "Client Name"}]})))
        .await;
    assert_eq!(
        named.body["members"][0]["display"], "Client Name",
        "{}",
        named.text
    );

    // Members that do not exist are refused.
    assert_error(
        &s.create_group("Ghosts", &["no-such-user"]).await,
        400,
        Some("invalidValue"),
    );

    // Deleting a user removes it from the groups that listed it.
    s.req("DELETE", &format!("/Users/{b}"), None).await;
    let o = s.req("GET", &format!("/Groups/{}", outer.id()), None).await;
    let left: Vec<&str> = o.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(left, [inner.id().as_str()]);

    // Group without displayName → 400 (RFC 7643 §4.2 REQUIRED).
    assert_error(
        &s.req("POST", "/Groups", Some(json!({"schemas": [GROUP]})))
            .await,
        400,
        Some("invalidValue"),
    );
    s.stop().await;
}

#[tokio::test]
async fn list_filter_sort_page_project_and_search() {
    let s = start().await;
    for (n, title) in [
        ("carol", "Engineer"),
        ("alice", "Manager"),
        ("bob", "Engineer"),
        ("dave", ""),
    ] {
        let body = json!({"schemas": [USER], "userName": format!("list.{n}"), "title": title, "active": n != "dave",
            "emails": [{"value": format!("{n}@work.example"), "type": "work"}, {"value": format!("{n}@home.example"), "type": "home"}],
            ENT: {"employeeNumber": format!("E-{n}")}});
        assert_eq!(s.req("POST", "/Users", Some(body)).await.status, 201);
    }
    let srv = &s;
    let get = |q: &str| {
        let url = format!("/Users?{q}");
        async move { srv.req("GET", &url, None).await }
    };
    let users = |r: &common::Reply| -> Vec<String> {
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let r =
        get("filter=title%20eq%20%22engineer%22%20and%20active%20eq%20true&sortBy=userName").await;
    assert_eq!(users(&r), ["list.bob", "list.carol"], "{}", r.text);
    let r = get(&format!(
        "filter={}",
        "emails%5Btype%20eq%20%22home%22%20and%20value%20sw%20%22a%22%5D"
    ))
    .await;
    assert_eq!(users(&r), ["list.alice"], "{}", r.text);
    let r = get(&format!(
        "filter={}%3AemployeeNumber%20eq%20%22E-dave%22",
        ENT
    ))
    .await;
    assert_eq!(users(&r), ["list.dave"], "{}", r.text);
    let r = get("filter=userName%20sw%20%22list.%22&sortBy=userName&sortOrder=descending&startIndex=2&count=2").await;
    assert_eq!(users(&r), ["list.carol", "list.bob"]);
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    let r = get("count=0").await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["Resources"].as_array().map(Vec::len).unwrap_or(0), 0);
    let r = get("startIndex=0&count=1").await;
    assert_eq!(r.body["startIndex"], 1);
    let r = get("attributes=userName&filter=userName%20eq%20%22list.bob%22").await;
    let u = &r.body["Resources"][0];
    assert!(
        u["id"].is_string()
            && u["userName"].is_string()
            && u.get("title").is_none()
            && u.get("meta").is_none(),
        "{u}"
    );
    let r = get("excludedAttributes=emails,id&filter=userName%20eq%20%22LIST.BOB%22").await;
    let u = &r.body["Resources"][0];
    assert!(
        u["id"].is_string() && u.get("emails").is_none() && u["title"] == "Engineer",
        "{u}"
    );

    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "title eq \"Manager\"", "attributes": ["userName"]});
    let r = s.req("POST", "/Users/.search", Some(search.clone())).await;
    assert_eq!(users(&r), ["list.alice"], "{}", r.text);
    let r = s.req("POST", "/.search", Some(search)).await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    let bad = s
        .req("POST", "/Users/.search", Some(json!({"filter": "x eq 1"})))
        .await;
    assert_error(&bad, 400, Some("invalidSyntax"));
    s.stop().await;
}

#[tokio::test]
async fn concurrent_creates_and_member_adds_are_safe() {
    let s = start().await;
    let futs = (0..12).map(|_| s.create_user("race.same"));
    let replies = futures::future::join_all(futs).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == 409 && r.body["scimType"] == "uniqueness")
        .count();
    assert_eq!((created, conflicts), (1, 11));

    let g = s.create_group("race.group", &[]).await.id();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(s.create_user(&format!("race.m{i}")).await.id());
    }
    let srv = &s;
    let futs = ids.iter().map(|u| {
        let path = format!("/Groups/{g}");
        let body = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        async move { srv.req("PATCH", &path, Some(body)).await }
    });
    let replies = futures::future::join_all(futs).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let r = s.req("GET", &format!("/Groups/{g}"), None).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 20);
    s.stop().await;
}

#[tokio::test]
async fn bulk_resolves_references_and_honours_limits() {
    let s = start().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            // The group comes first and references a user created later in the request.
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "bulk.group", "members": [{"type": "User", "value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "bulk.user"}},
            {"method": "PATCH", "path": "/Users/bulkId:u", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "Bulked"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"schemas": [USER], "userName": "BULK.USER"}}
        ]
    });
    let r = s.req("POST", "/Bulk", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let ops = r.body["Operations"].as_array().unwrap();
    let status: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["201", "201", "200", "409"], "{}", r.text);
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
    let user = s
        .req("GET", ops[1]["location"].as_str().unwrap(), None)
        .await;
    assert_eq!(user.body["title"], "Bulked");
    assert_eq!(user.body["groups"][0]["display"], "bulk.group");

    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let r = s.req("POST", "/Bulk", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": too_many}))).await;
    assert_error(&r, 413, None);
    let r = s
        .req("POST", "/Bulk", Some(json!({"Operations": []})))
        .await;
    assert_error(&r, 400, Some("invalidSyntax"));
    s.stop().await;
}

#[tokio::test]
async fn enterprise_extension_round_trips() {
    let s = start().await;
    let mgr = s.create_user("ent.manager").await.id();
    let c = s
        .req("POST", "/Users", Some(json!({
            "schemas": [USER, ENT], "userName": "ent.user",
            ENT: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": mgr, "displayName": "bogus"}}
        })))
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert_eq!(c.body[ENT]["employeeNumber"], "701984");
    assert_eq!(c.body[ENT]["manager"]["displayName"], "Display ent.manager");
    assert!(c.body["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == ENT));
    let ops = json!([{"op": "replace", "path": format!("{ENT}:department"), "value": "Sales"}]);
    let p = s
        .req(
            "PATCH",
            &format!("/Users/{}", c.id()),
            Some(patch_body(ops)),
        )
        .await;
    assert_eq!(p.body[ENT]["department"], "Sales", "{}", p.text);
    s.stop().await;
}

async fn asana() -> common::Server {
    let mut c = ServerConfig::ephemeral(TOKEN);
    c.contract = Contract::Asana;
    c.base_path = Contract::Asana.default_base_path().into();
    c.domain = "acme.test".into();
    start_with(c).await
}

#[tokio::test]
async fn asana_contract_rules() {
    let s = asana().await;
    assert!(s.base.ends_with("/api/1.0/scim"));
    let user = |name: &str| json!({"schemas": [USER], "userName": name, "name": {"formatted": "Ada Lovelace"}, "preferredLanguage": "en", "nickName": "dropped"});
    // userName must be an email in the domain.
    assert_error(
        &s.req("POST", "/Users", Some(user("ada"))).await,
        400,
        Some("invalidValue"),
    );
    assert_error(
        &s.req("POST", "/Users", Some(user("ada@other.test"))).await,
        400,
        Some("invalidValue"),
    );
    let c = s.req("POST", "/Users", Some(user("ada@acme.test"))).await;
    assert_eq!(c.status, 201, "{}", c.text);
    let id = c.id();
    // Formatted name wins; unsupported attributes are dropped.
    assert_eq!(c.body["name"]["givenName"], "Ada");
    assert_eq!(c.body["name"]["familyName"], "Lovelace");
    assert!(c.body.get("nickName").is_none());
    // Filters: only userName eq for users.
    let ok = s
        .req(
            "GET",
            "/Users?filter=userName%20eq%20%22ada%40acme.test%22",
            None,
        )
        .await;
    assert_eq!(ok.body["totalResults"], 1);
    assert_error(
        &s.req("GET", "/Users?filter=title%20pr", None).await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &s.req("GET", "/Groups?filter=id%20pr", None).await,
        400,
        Some("invalidFilter"),
    );
    // PATCH of givenName/familyName is refused; formatted works.
    let bad = s
        .req(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "name.givenName", "value": "X"}]),
            )),
        )
        .await;
    assert_error(&bad, 400, Some("invalidPath"));
    let ok = s.req("PATCH", &format!("/Users/{id}"), Some(patch_body(json!([{"op": "replace", "path": "name.formatted", "value": "Ada King"}, {"op": "replace", "path": "preferredLanguage", "value": "fr"}])))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["name"]["familyName"], "King");
    assert_eq!(
        ok.body["preferredLanguage"], "en",
        "preferredLanguage is set only on create"
    );
    // Deprovision by PATCH active=false; reactivation is refused.
    let off = s
        .req(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await;
    assert_eq!(off.body["active"], false);
    let on = s
        .req(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "active", "value": true}]),
            )),
        )
        .await;
    assert_error(&on, 400, Some("invalidValue"));
    // DELETE deprovisions rather than erases.
    let other = s
        .req("POST", "/Users", Some(user("bob@acme.test")))
        .await
        .id();
    assert_eq!(
        s.req("DELETE", &format!("/Users/{other}"), None)
            .await
            .status,
        204
    );
    let g = s.req("GET", &format!("/Users/{other}"), None).await;
    assert_eq!(g.body["active"], false);
    // Teams: PATCH answers 204, DELETE is refused, names are unique.
    let team = s
        .req(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Marketing"})),
        )
        .await;
    assert_eq!(team.status, 201, "{}", team.text);
    let add = s
        .req(
            "PATCH",
            &format!("/Groups/{}", team.id()),
            Some(patch_body(
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )),
        )
        .await;
    assert_eq!(add.status, 204);
    assert_error(
        &s.req("DELETE", &format!("/Groups/{}", team.id()), None)
            .await,
        405,
        None,
    );
    assert_error(
        &s.req(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "marketing"})),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    let spc = s.req("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_error(&s.req("POST", "/Bulk", Some(json!({}))).await, 501, None);
    s.stop().await;
}

#[tokio::test]
async fn user_names_are_prepared_before_uniqueness_and_filters() {
    let s = start().await;
    assert_eq!(s.create_user("caf\u{e9}.user").await.status, 201);
    // NFD spelling (e + combining acute) and fullwidth spelling collide with the stored ones.
    assert_error(
        &s.create_user("cafe\u{301}.user").await,
        409,
        Some("uniqueness"),
    );
    assert_eq!(s.create_user("wide.user").await.status, 201);
    assert_error(
        &s.create_user("\u{FF57}\u{FF49}\u{FF44}\u{FF45}.user").await,
        409,
        Some("uniqueness"),
    );
    let r = s
        .req(
            "GET",
            "/Users?filter=userName%20eq%20%22cafe%CC%81.user%22",
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    s.stop().await;
}
