use super::*;
use serde_json::json;

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn set() -> SchemaSet {
    match SchemaSet::builtin() {
        Ok(s) => s,
        Err(e) => panic!("builtin schemas must compile: {e}"),
    }
}

#[track_caller]
fn pass(set: &SchemaSet, name: &str, instance: &Value) {
    if let Err(v) = set.validate(name, instance) {
        panic!(
            "{name} should accept {instance:#}\nbut reported:\n{}",
            v.join("\n")
        );
    }
}

/// Fails, and one violation sits at `pointer`.
#[track_caller]
fn fail_at(set: &SchemaSet, name: &str, instance: &Value, pointer: &str) -> Vec<String> {
    match set.validate(name, instance) {
        Ok(()) => panic!("{name} should reject {instance:#}"),
        Err(v) => {
            let prefix = format!("{pointer}: ");
            assert!(
                v.iter().any(|l| l.starts_with(&prefix)),
                "{name}: expected a violation at {pointer}, got:\n{}",
                v.join("\n")
            );
            v
        }
    }
}

fn user() -> Value {
    json!({
        "schemas": [CORE_USER, ENT],
        "id": "5b1e0f3c-7d7a-4c1e-9a51-1f2e3d4c5b6a",
        "externalId": "hr-00417",
        "userName": "mara.quint",
        "name": {"formatted": "Dr. Mara Quint", "familyName": "Quint", "givenName": "Mara", "honorificPrefix": "Dr."},
        "displayName": "Mara Quint",
        "nickName": null,
        "profileUrl": "https://people.example.org/mara",
        "title": "Archivist",
        "userType": "Employee",
        "preferredLanguage": "de-CH, en;q=0.8",
        "locale": "de-CH",
        "timezone": "Europe/Zurich",
        "active": true,
        "emails": [
            {"value": "mara@example.org", "type": "work", "primary": true},
            {"value": "mq@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "tel:+41-44-555-0199", "type": "work"}],
        "ims": [],
        "photos": [{"value": "https://photos.example.org/mara.png", "type": "thumbnail"}],
        "addresses": [{"streetAddress": "Seestrasse 9", "locality": "Zurich", "postalCode": "8002", "country": "CH", "type": "work", "primary": true}],
        "groups": [{"value": "g-17", "$ref": "../Groups/g-17", "display": "Archive"}],
        "x509Certificates": [{"value": "MIIBszCCAVmgAwIBAgIU"}],
        "meta": {
            "resourceType": "User",
            "created": "2021-03-04T05:06:07Z",
            "lastModified": "2021-03-04T05:06:07.250+01:00",
            "location": "https://scim.example.org/v2/Users/5b1e0f3c-7d7a-4c1e-9a51-1f2e3d4c5b6a",
            "version": "W/\"e180ee84f0671b1\""
        },
        ENT: {
            "employeeNumber": "417",
            "costCenter": "CC-3",
            "department": "Records",
            "manager": {"value": "0c9e", "$ref": "../Users/0c9e", "displayName": "Ines Brack"}
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g-17",
        "displayName": "Archive",
        "members": [{"value": "5b1e0f3c", "$ref": "https://scim.example.org/v2/Users/5b1e0f3c", "display": "Mara Quint", "type": "User"}],
        "meta": {"resourceType": "Group", "created": "2021-03-04T05:06:07Z", "lastModified": "2021-03-05T00:00:00Z", "location": "https://scim.example.org/v2/Groups/g-17"}
    })
}

fn error(status: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status,
        "scimType": "uniqueness",
        "detail": "userName is already taken"
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources
    })
}

fn bulk_response(status: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {"method": "POST", "bulkId": "q1", "location": "https://scim.example.org/v2/Users/92b7", "version": "W/\"1\"", "status": status},
            {"method": "POST", "bulkId": "q2", "status": "400", "response": error(json!("400"))},
            {"method": "DELETE", "location": "https://scim.example.org/v2/Users/0000", "status": {"code": "404"},
             "response": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "no such user"}},
            {"method": "PATCH", "location": "https://scim.example.org/v2/Groups/g-17", "status": {"code": "200", "description": "ok"}}
        ]
    })
}

fn spc() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://docs.example.org/scim",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": 500, "maxPayloadSize": 2097152},
        "filter": {"supported": true, "maxResults": 100},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer", "description": "RFC 6750 bearer tokens", "specUri": "https://www.rfc-editor.org/rfc/rfc6750", "primary": true}],
        "pagination": {"cursor": false, "index": true}
    })
}

fn schema_doc() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": "urn:example:params:scim:schemas:badge:1.0:Badge",
        "name": "Badge",
        "description": "Door badges",
        "attributes": [
            {"name": "serial", "type": "string", "multiValued": false, "required": true, "caseExact": true, "mutability": "immutable", "returned": "always", "uniqueness": "global"},
            {"name": "holder", "type": "complex", "multiValued": false, "subAttributes": [
                {"name": "value", "type": "string"},
                {"name": "$ref", "type": "reference", "referenceTypes": ["User"]}
            ]},
            {"name": "issued", "type": "dateTime"},
            {"name": "photo", "type": "binary"},
            {"name": "kind", "canonicalValues": ["visitor", "staff"]}
        ],
        "meta": {"resourceType": "Schema", "location": "/v2/Schemas/urn:example:params:scim:schemas:badge:1.0:Badge"}
    })
}

#[test]
fn every_builtin_schema_compiles_and_is_named() {
    let set = set();
    let names = set.names();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for expected in [
        "BulkRequest",
        "BulkResponse",
        "EnterpriseUser",
        "Error",
        "Group",
        "ListResponse",
        "PatchOp",
        "Resource",
        "ResourceType",
        "Schema",
        "ServiceProviderConfig",
        "User",
        "asana/Group",
        "asana/User",
    ] {
        assert!(set.contains(expected), "{expected} missing from {names:?}");
    }
    assert_eq!(names.len(), BUILTIN.len());
    assert!(!set.contains("user"), "names are exact");
}

#[test]
fn builtin_ids_match_their_file_names() {
    for (name, text) in BUILTIN {
        let doc: Value = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(
            doc["$id"],
            json!(format!("{BASE_URI}{name}{SUFFIX}")),
            "{name}"
        );
        assert_eq!(
            doc["$schema"],
            json!("https://json-schema.org/draft/2020-12/schema"),
            "{name}"
        );
    }
}

#[test]
fn conforming_resources_pass() {
    let set = set();
    pass(&set, "User", &user());
    pass(&set, "Resource", &user());
    pass(
        &set,
        "User",
        &json!({"schemas": [CORE_USER], "id": "1", "userName": "x"}),
    );
    pass(&set, "EnterpriseUser", &user()[ENT]);
    pass(&set, "Group", &group());
    pass(
        &set,
        "Group",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "Empty", "members": []}),
    );
    // RFC 7643 §2.5: null and [] mean unassigned; xsd:dateTime may omit the zone.
    let mut u = user();
    u["emails"] = Value::Null;
    u["title"] = Value::Null;
    u["meta"]["created"] = json!("2021-03-04T05:06:07");
    pass(&set, "User", &u);
    // Service providers may add attributes and extensions of their own.
    let mut u = user();
    u["x-custom"] = json!(42);
    u["urn:example:params:scim:schemas:extension:acme:1.0:User"] = json!({"badge": "7"});
    pass(&set, "User", &u);
}

#[test]
fn conforming_messages_pass() {
    let set = set();
    pass(&set, "ListResponse", &list(vec![user(), group()]));
    pass(
        &set,
        "ListResponse",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []}),
    );
    // A count=0 page: totalResults only (RFC 7644 §3.4.2.4).
    pass(
        &set,
        "ListResponse",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 12}),
    );
    pass(&set, "Error", &error(json!("409")));
    pass(
        &set,
        "Error",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "500"}),
    );
    pass(&set, "BulkResponse", &bulk_response(json!("201")));
    pass(&set, "ServiceProviderConfig", &spc());
    pass(&set, "Schema", &schema_doc());
    pass(
        &set,
        "ResourceType",
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENT, "required": false}],
            "meta": {"location": "https://scim.example.org/v2/ResourceTypes/User", "resourceType": "ResourceType"}
        }),
    );
    pass(
        &set,
        "PatchOp",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "add", "path": "emails", "value": [{"value": "new@example.org", "type": "other"}]},
                {"op": "remove", "path": "members[value eq \"5b1e\"]"},
                {"op": "replace", "value": {"displayName": "Renamed", "active": false}}
            ]
        }),
    );
    pass(
        &set,
        "BulkRequest",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "failOnErrors": 2,
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [CORE_USER], "userName": "ola"}},
                {"method": "PUT", "path": "/Users/92b7", "version": "W/\"3\"", "data": {"schemas": [CORE_USER], "userName": "ola2"}},
                {"method": "PATCH", "path": "/Groups/g-17", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]}]}},
                {"method": "DELETE", "path": "/Users/0000"}
            ]
        }),
    );
}

#[test]
fn numeric_id_is_rejected() {
    let set = set();
    let mut u = user();
    u["id"] = json!(2819);
    fail_at(&set, "User", &u, "/id");
    let mut g = group();
    g["id"] = json!(1);
    fail_at(&set, "Group", &g, "/id");
    fail_at(&set, "asana/Group", &g, "/id");
}

#[test]
fn resource_structure_violations_are_pinned() {
    let set = set();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "/emails",
            Box::new(|u| u["emails"] = json!("mara@example.org")),
        ),
        ("/active", Box::new(|u| u["active"] = json!("yes"))),
        (
            "/meta/created",
            Box::new(|u| u["meta"]["created"] = json!("yesterday")),
        ),
        (
            "/meta/created",
            Box::new(|u| u["meta"]["created"] = json!("2021-02-30T10:00:00Z")),
        ),
        (
            "/meta/lastModified",
            Box::new(|u| u["meta"]["lastModified"] = json!("2021-03-04 05:06:07")),
        ),
        (
            "/meta/version",
            Box::new(|u| u["meta"]["version"] = json!("w/\"1\"")),
        ),
        (
            "/meta/resourceType",
            Box::new(|u| u["meta"]["resourceType"] = json!("Group")),
        ),
        (
            "/emails/0/primary",
            Box::new(|u| u["emails"][0]["primary"] = json!("true")),
        ),
        (
            "/emails",
            Box::new(|u| u["emails"][1]["primary"] = json!(true)),
        ),
        ("/id", Box::new(|u| u["id"] = json!("x-bulkId-1"))),
        ("/id", Box::new(|u| u["id"] = json!(""))),
        ("/userName", Box::new(|u| u["userName"] = json!(""))),
        ("/name", Box::new(|u| u["name"] = json!("Mara Quint"))),
        ("/schemas", Box::new(|u| u["schemas"] = json!([ENT]))),
        ("/schemas", Box::new(|u| u["schemas"] = json!([CORE_USER]))),
        (
            "/schemas",
            Box::new(|u| u["schemas"] = json!([CORE_USER, ENT, CORE_USER])),
        ),
        (
            "/x509Certificates/0/value",
            Box::new(|u| u["x509Certificates"][0]["value"] = json!("not base64!")),
        ),
        (
            "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value",
            Box::new(|u| u[ENT]["manager"]["value"] = json!(7)),
        ),
        (
            "/urn:example:params:scim:schemas:extension:acme:1.0:User",
            Box::new(|u| {
                u["urn:example:params:scim:schemas:extension:acme:1.0:User"] = json!("flat")
            }),
        ),
    ];
    for (pointer, mutate) in cases {
        let mut u = user();
        mutate(&mut u);
        fail_at(&set, "User", &u, pointer);
    }
    let mut u = user();
    if let Some(o) = u.as_object_mut() {
        o.remove("userName");
    }
    let v = fail_at(&set, "User", &u, "(root)");
    assert!(
        v.iter()
            .any(|l| l.contains("\"userName\" is a required property")),
        "{v:?}"
    );
}

#[test]
fn password_is_never_returned_and_never_echoed() {
    let set = set();
    let mut u = user();
    u["password"] = json!("hunter2-Secret");
    let v = fail_at(&set, "User", &u, "/password");
    assert!(v.iter().all(|l| !l.contains("hunter2")), "{v:?}");
    assert!(
        v.iter().any(|l| l == "/password: must not be present"),
        "{v:?}"
    );
    // Even a null password key is a leak of the attribute's existence in the output.
    u["password"] = Value::Null;
    fail_at(&set, "User", &u, "/password");
}

#[test]
fn message_violations_are_pinned() {
    let set = set();
    fail_at(&set, "Error", &error(json!(409)), "/status");
    fail_at(&set, "Error", &error(json!("4090")), "/status");
    let mut e = error(json!("400"));
    e["scimType"] = json!("invalidRequest");
    fail_at(&set, "Error", &e, "/scimType");
    let mut e = error(json!("400"));
    e["schemas"] = json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
    fail_at(&set, "Error", &e, "/schemas");

    let mut l = list(vec![user()]);
    if let Some(o) = l.as_object_mut() {
        o.remove("totalResults");
    }
    let v = fail_at(&set, "ListResponse", &l, "(root)");
    assert!(v.iter().any(|m| m.contains("totalResults")), "{v:?}");
    let mut l = list(vec![user()]);
    l["totalResults"] = json!(-1);
    fail_at(&set, "ListResponse", &l, "/totalResults");
    l["totalResults"] = json!("1");
    fail_at(&set, "ListResponse", &l, "/totalResults");
    let mut l = list(vec![user()]);
    l["startIndex"] = json!(0);
    fail_at(&set, "ListResponse", &l, "/startIndex");
    let mut l = list(vec![json!("not an object")]);
    l["itemsPerPage"] = json!(1);
    fail_at(&set, "ListResponse", &l, "/Resources/0");
    // A page that claims items must carry them.
    let l = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 3, "itemsPerPage": 1});
    fail_at(&set, "ListResponse", &l, "(root)");

    fail_at(
        &set,
        "BulkResponse",
        &bulk_response(json!(201)),
        "/Operations/0/status",
    );
    fail_at(
        &set,
        "BulkResponse",
        &bulk_response(json!({"code": 201})),
        "/Operations/0/status",
    );
    let mut b = bulk_response(json!("201"));
    if let Some(o) = b["Operations"][0].as_object_mut() {
        o.remove("location");
    }
    fail_at(&set, "BulkResponse", &b, "/Operations/0");
    let mut b = bulk_response(json!("201"));
    if let Some(o) = b["Operations"][1].as_object_mut() {
        o.remove("response");
    }
    fail_at(&set, "BulkResponse", &b, "/Operations/1");
    let mut b = bulk_response(json!("201"));
    b["Operations"][1]["response"]["status"] = json!(400);
    fail_at(&set, "BulkResponse", &b, "/Operations/1/response/status");
    let mut b = bulk_response(json!("201"));
    b["Operations"][0]["method"] = json!("post");
    fail_at(&set, "BulkResponse", &b, "/Operations/0/method");

    let patch = |op: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
    fail_at(
        &set,
        "PatchOp",
        &patch(json!({"op": "Replace", "path": "title", "value": "x"})),
        "/Operations/0/op",
    );
    fail_at(
        &set,
        "PatchOp",
        &patch(json!({"op": "add", "path": "title"})),
        "/Operations/0",
    );
    fail_at(
        &set,
        "PatchOp",
        &patch(json!({"op": "remove"})),
        "/Operations/0",
    );
    fail_at(
        &set,
        "PatchOp",
        &patch(json!({"op": "replace", "value": "x"})),
        "/Operations/0/value",
    );
    fail_at(
        &set,
        "PatchOp",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
        "/Operations",
    );
    let bulk = |op: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [op]});
    fail_at(
        &set,
        "BulkRequest",
        &bulk(json!({"method": "POST", "path": "/Users", "data": {}})),
        "/Operations/0",
    );
    fail_at(
        &set,
        "BulkRequest",
        &bulk(json!({"method": "PATCH", "path": "/Users/1", "data": {"Operations": []}})),
        "/Operations/0/data",
    );
}

#[test]
fn discovery_violations_are_pinned() {
    let set = set();
    let mut s = spc();
    if let Some(o) = s.as_object_mut() {
        o.remove("etag");
    }
    fail_at(&set, "ServiceProviderConfig", &s, "(root)");
    let mut s = spc();
    s["bulk"]["maxOperations"] = json!("500");
    fail_at(&set, "ServiceProviderConfig", &s, "/bulk/maxOperations");
    let mut s = spc();
    s["filter"] = json!({"supported": "true", "maxResults": 10});
    fail_at(&set, "ServiceProviderConfig", &s, "/filter/supported");
    let mut s = spc();
    s["authenticationSchemes"][0] = json!({"type": "httpbasic", "name": "Basic"});
    fail_at(
        &set,
        "ServiceProviderConfig",
        &s,
        "/authenticationSchemes/0",
    );

    let rt = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "name": "User", "endpoint": "/Users", "schema": CORE_USER, "schemaExtensions": [{"schema": ENT, "required": "no"}]});
    fail_at(&set, "ResourceType", &rt, "/schemaExtensions/0/required");

    let mut sc = schema_doc();
    sc["attributes"][1]["subAttributes"][0]["type"] = json!("complex");
    fail_at(&set, "Schema", &sc, "/attributes/1/subAttributes/0/type");
    let mut sc = schema_doc();
    sc["attributes"][0]["mutability"] = json!("readonly");
    fail_at(&set, "Schema", &sc, "/attributes/0/mutability");
    let mut sc = schema_doc();
    sc["attributes"][0]["name"] = json!("2fa");
    fail_at(&set, "Schema", &sc, "/attributes/0/name");
    let mut sc = schema_doc();
    sc["attributes"][0]["referenceTypes"] = json!(["User"]);
    fail_at(&set, "Schema", &sc, "/attributes/0/type");
    // The Schema meta-schema itself may nest complex attributes (RFC 7643 §8.7.2).
    let mut sc = schema_doc();
    sc["id"] = json!("urn:ietf:params:scim:schemas:core:2.0:Schema");
    sc["attributes"][1]["subAttributes"][0]["type"] = json!("complex");
    pass(&set, "Schema", &sc);
}

#[test]
fn asana_profile_narrows_the_rfc() {
    let set = set();
    let mut u = user();
    u["userName"] = json!("mara@example.org");
    pass(&set, "asana/User", &u);
    let mut bad = u.clone();
    bad["userName"] = json!("mara.quint");
    fail_at(&set, "asana/User", &bad, "/userName");
    let mut bad = u.clone();
    bad["addresses"][0]["country"] = json!("CHE");
    fail_at(&set, "asana/User", &bad, "/addresses/0/country");
    let mut bad = u.clone();
    bad["id"] = json!(1);
    fail_at(&set, "asana/User", &bad, "/id");
    // The base rules still apply through the profile.
    bad = u.clone();
    bad["password"] = json!("x");
    fail_at(&set, "asana/User", &bad, "/password");

    let team = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "11", "displayName": "Design", "members": [{"value": "1"}], "meta": {"resourceType": "Group"}});
    pass(&set, "asana/Group", &team);
    pass(&set, "Group", &team);
    let mut bad = team.clone();
    bad["members"][0] = json!({"display": "no id"});
    fail_at(&set, "asana/Group", &bad, "/members/0");
    bad = team.clone();
    bad["displayName"] = json!("");
    fail_at(&set, "asana/Group", &bad, "/displayName");
}

#[test]
fn report_is_capped_sorted_and_deterministic() {
    let set = set();
    let mut u = user();
    u["emails"] = json!((0..30).map(|i| json!({"value": i})).collect::<Vec<_>>());
    let first = set.validate("User", &u).err().unwrap_or_default();
    let second = set.validate("User", &u).err().unwrap_or_default();
    assert_eq!(first, second);
    assert_eq!(first.len(), MAX_VIOLATIONS, "{first:#?}");
    assert!(first[MAX_VIOLATIONS - 1].contains("more violations not shown"));
    let shown: Vec<&String> = first[..MAX_VIOLATIONS - 1].iter().collect();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(shown, sorted);
    // Long values are shortened, objects summarised.
    let mut u = user();
    u["active"] = json!("y".repeat(500));
    let v = set.validate("User", &u).err().unwrap_or_default();
    assert!(v.iter().all(|l| l.len() < 200), "{v:?}");
    let v = set
        .validate("User", &json!([1, 2]))
        .err()
        .unwrap_or_default();
    assert_eq!(
        v,
        vec!["(root): [1,2] is not of type \"object\"".to_string()]
    );
    let v = set
        .validate("User", &json!(vec![0; 100]))
        .err()
        .unwrap_or_default();
    assert!(
        v.iter()
            .any(|l| l.starts_with("(root): array of 100 items")),
        "{v:?}"
    );
    // A short object that holds a password is not quoted either.
    let v = set
        .validate("Error", &json!({"password": "hunter2"}))
        .err()
        .unwrap_or_default();
    assert!(
        !v.is_empty() && v.iter().all(|l| !l.contains("hunter2")),
        "{v:?}"
    );
}

#[test]
fn messages_say_what_was_expected() {
    let set = set();
    let mut u = user();
    u["schemas"] = json!(["User"]);
    u["meta"]["created"] = json!("yesterday");
    u["emails"][1]["primary"] = json!(true);
    let v = set.validate("User", &u).err().unwrap_or_default();
    for expected in [
        "/schemas: [\"User\"] does not contain \"urn:ietf:params:scim:schemas:core:2.0:User\"",
        "/schemas/0: \"User\" is not a \"uri\"",
        "/meta/created: \"yesterday\" is not an xsd:dateTime with date and time (RFC 7643 §2.3.5)",
    ] {
        assert!(
            v.iter().any(|l| l == expected),
            "{expected}\nnot in\n{}",
            v.join("\n")
        );
    }
    assert!(
        v.iter()
            .any(|l| l.starts_with("/emails: ") && l.contains("at most one of them primary")),
        "{v:?}"
    );
}

#[test]
fn schema_set_can_be_shared_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SchemaSet>();
}

#[test]
fn unknown_name_is_reported_not_panicked() {
    let v = set().validate("Usr", &json!({})).err().unwrap_or_default();
    assert_eq!(v.len(), 1);
    assert!(v[0].contains("unknown schema \"Usr\""), "{v:?}");
}

fn write(dir: &Path, rel: &str, body: &Value) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_default();
    }
    std::fs::write(&path, body.to_string()).unwrap_or_default();
}

fn temp() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

#[test]
fn load_dir_adds_user_schemas_that_reference_the_builtin_ones() {
    let dir = temp();
    // ListResponse of Users through $dynamicAnchor, addressed by absolute $id.
    write(
        dir.path(),
        "lists/UserList.schema.json",
        &json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.org/schemas/UserList.schema.json",
            "$ref": "https://scimtest.dev/schemas/ListResponse.schema.json",
            "$defs": {"item": {"$dynamicAnchor": "item", "$ref": "https://scimtest.dev/schemas/User.schema.json"}}
        }),
    );
    // No $id: identified by its file URI, and its relative $ref finds the sibling.
    write(
        dir.path(),
        "Badge.schema.json",
        &json!({"$ref": "parts/serial.schema.json", "required": ["serial"]}),
    );
    write(
        dir.path(),
        "parts/serial.schema.json",
        &json!({"properties": {"serial": {"type": "string", "pattern": "^B[0-9]+$"}}}),
    );
    write(dir.path(), "notes.json", &json!("ignored: wrong suffix"));

    let mut set = set();
    if let Err(e) = set.load_dir(dir.path()) {
        panic!("load_dir: {e}");
    }
    for name in ["lists/UserList", "Badge", "parts/serial", "User"] {
        assert!(set.contains(name), "{name} in {:?}", set.names());
    }
    assert!(!set.contains("notes"));
    pass(&set, "lists/UserList", &list(vec![user()]));
    let mut u = user();
    u["id"] = json!(5);
    fail_at(
        &set,
        "lists/UserList",
        &list(vec![u.clone()]),
        "/Resources/0/id",
    );
    // The plain ListResponse still takes any object.
    pass(&set, "ListResponse", &list(vec![u]));
    pass(&set, "Badge", &json!({"serial": "B12"}));
    fail_at(&set, "Badge", &json!({"serial": "12"}), "/serial");
}

#[test]
fn load_dir_errors_name_the_file_and_change_nothing() {
    let mut set = set();
    let before = set.names();

    let dir = temp();
    write(
        dir.path(),
        "Broken.schema.json",
        &json!({"$ref": "https://scimtest.dev/schemas/Nope.schema.json"}),
    );
    match set.load_dir(dir.path()) {
        Err(SchemaError::UnresolvedRef { file, target, .. }) => {
            assert!(file.ends_with("Broken.schema.json"), "{file}");
            assert_eq!(target, "https://scimtest.dev/schemas/Nope.schema.json");
        }
        other => panic!("expected UnresolvedRef, got {other:?}"),
    }
    let dir = temp();
    write(
        dir.path(),
        "Rel.schema.json",
        &json!({"$ref": "missing.schema.json#/x"}),
    );
    assert!(matches!(
        set.load_dir(dir.path()),
        Err(SchemaError::UnresolvedRef { .. })
    ));

    // A known document but a pointer into nothing.
    let dir = temp();
    write(
        dir.path(),
        "Deep.schema.json",
        &json!({"$ref": "https://scimtest.dev/schemas/Resource.schema.json#/$defs/nope"}),
    );
    let err = set.load_dir(dir.path()).err();
    assert!(
        matches!(&err, Some(SchemaError::Compile { file, .. }) if file.ends_with("Deep.schema.json")),
        "{err:?}"
    );

    let dir = temp();
    std::fs::write(dir.path().join("Bad.schema.json"), "{ not json").unwrap_or_default();
    let err = set.load_dir(dir.path()).err();
    assert!(
        matches!(&err, Some(SchemaError::Json { file, .. }) if file.ends_with("Bad.schema.json")),
        "{err:?}"
    );

    let dir = temp();
    write(dir.path(), "User.schema.json", &json!({"type": "object"}));
    assert!(matches!(
        set.load_dir(dir.path()),
        Err(SchemaError::DuplicateName { .. })
    ));

    let dir = temp();
    write(
        dir.path(),
        "Mine.schema.json",
        &json!({"$id": "https://scimtest.dev/schemas/User.schema.json"}),
    );
    assert!(matches!(
        set.load_dir(dir.path()),
        Err(SchemaError::DuplicateId { .. })
    ));

    let dir = temp();
    write(dir.path(), "Odd.schema.json", &json!({"type": "nope"}));
    let err = set.load_dir(dir.path()).err();
    assert!(
        matches!(&err, Some(SchemaError::Compile { file, .. }) if file.ends_with("Odd.schema.json")),
        "{err:?}"
    );
    assert!(err
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("Odd.schema.json"));

    assert!(matches!(
        set.load_dir(&dir.path().join("absent")),
        Err(SchemaError::Read { .. })
    ));
    assert_eq!(set.names(), before);
}

/// The reference server's real answers satisfy the schemas.
mod reference_server {
    use super::*;
    use crate::server::contract::Contract;
    use crate::server::{start, ServerConfig};

    const TOKEN: &str = "schema-check-token";

    struct Client {
        http: reqwest::Client,
        base: String,
    }

    impl Client {
        async fn call(
            &self,
            method: reqwest::Method,
            path: &str,
            body: Option<Value>,
        ) -> (u16, Value) {
            let url = if path.starts_with("http") {
                path.to_string()
            } else {
                format!("{}{path}", self.base)
            };
            let mut rb = self.http.request(method, url).bearer_auth(TOKEN);
            if let Some(b) = body {
                rb = rb
                    .header("content-type", "application/scim+json")
                    .body(b.to_string());
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => panic!("{path}: {e}"),
            };
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            (status, body)
        }
    }

    async fn serve(contract: Contract) -> (crate::server::RunningServer, Client) {
        let mut config = ServerConfig::ephemeral(TOKEN);
        config.contract = contract;
        config.base_path = contract.default_base_path().into();
        let server = match start(config).await {
            Ok(s) => s,
            Err(e) => panic!("server: {e}"),
        };
        let client = Client {
            http: reqwest::Client::new(),
            base: server.base_url.clone(),
        };
        (server, client)
    }

    #[track_caller]
    fn check(set: &SchemaSet, name: &str, what: &str, (status, body): &(u16, Value), want: u16) {
        assert_eq!(*status, want, "{what}: {body:#}");
        if let Err(v) = set.validate(name, body) {
            panic!("{what} fails {name}:\n{}\n{body:#}", v.join("\n"));
        }
    }

    #[tokio::test]
    async fn rfc_contract_responses_conform() {
        use reqwest::Method;
        let set = set();
        let (server, c) = serve(Contract::Rfc).await;

        let manager = c
            .call(
                Method::POST,
                "/Users",
                Some(json!({"schemas": [CORE_USER], "userName": "boss"})),
            )
            .await;
        check(&set, "User", "POST /Users (manager)", &manager, 201);
        let manager_id = manager.1["id"].as_str().unwrap_or_default().to_string();

        let created = c
            .call(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [CORE_USER, ENT],
                    "userName": "tess.ober",
                    "password": "Corr3ct-Horse",
                    "name": {"givenName": "Tess", "familyName": "Ober"},
                    "displayName": "Tess Ober",
                    "active": true,
                    "emails": [{"value": "tess@example.com", "type": "work", "primary": true}, {"value": "t@home.example"}],
                    "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
                    "addresses": [{"locality": "Oslo", "country": "NO", "type": "work"}],
                    ENT: {"employeeNumber": "88", "department": "Ops", "manager": {"value": manager_id}}
                })),
            )
            .await;
        check(
            &set,
            "User",
            "POST /Users with enterprise extension",
            &created,
            201,
        );
        assert!(created.1.get(ENT).is_some(), "{:#}", created.1);
        let uid = created.1["id"].as_str().unwrap_or_default().to_string();
        check(
            &set,
            "User",
            "GET /Users/{id}",
            &c.call(Method::GET, &format!("/Users/{uid}"), None).await,
            200,
        );

        let group = c
            .call(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Night shift", "members": [{"value": uid}]})),
            )
            .await;
        check(&set, "Group", "POST /Groups with a member", &group, 201);
        assert_eq!(group.1["members"][0]["value"], json!(uid));
        let gid = group.1["id"].as_str().unwrap_or_default().to_string();
        check(
            &set,
            "Group",
            "GET /Groups/{id}",
            &c.call(Method::GET, &format!("/Groups/{gid}"), None).await,
            200,
        );
        // The member's User now lists the group (readOnly groups attribute).
        check(
            &set,
            "User",
            "GET member",
            &c.call(Method::GET, &format!("/Users/{uid}"), None).await,
            200,
        );

        let patched = c
            .call(
                Method::PATCH,
                &format!("/Users/{uid}"),
                Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]})),
            )
            .await;
        assert!(patched.0 == 200 || patched.0 == 204, "{patched:?}");
        if patched.0 == 200 {
            check(&set, "User", "PATCH /Users/{id}", &patched, 200);
        }

        check(
            &set,
            "ListResponse",
            "GET /Users",
            &c.call(Method::GET, "/Users", None).await,
            200,
        );
        let filtered = c
            .call(
                Method::GET,
                "/Users?filter=userName%20eq%20%22tess.ober%22",
                None,
            )
            .await;
        check(&set, "ListResponse", "GET /Users?filter", &filtered, 200);
        for (i, item) in filtered.1["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Err(v) = set.validate("User", item) {
                panic!("Resources[{i}] fails User: {v:?}");
            }
        }
        check(
            &set,
            "ListResponse",
            "GET /Groups",
            &c.call(Method::GET, "/Groups", None).await,
            200,
        );
        check(
            &set,
            "ListResponse",
            "count=0",
            &c.call(Method::GET, "/Users?count=0", None).await,
            200,
        );
        check(&set, "ListResponse", "POST /.search", &c.call(Method::POST, "/Users/.search", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"tess\""}))).await, 200);

        check(
            &set,
            "Error",
            "GET unknown user",
            &c.call(
                Method::GET,
                "/Users/9d4b9f1e-0000-4000-8000-000000000000",
                None,
            )
            .await,
            404,
        );
        check(
            &set,
            "Error",
            "duplicate userName",
            &c.call(
                Method::POST,
                "/Users",
                Some(json!({"schemas": [CORE_USER], "userName": "tess.ober"})),
            )
            .await,
            409,
        );
        check(
            &set,
            "Error",
            "bad filter",
            &c.call(
                Method::GET,
                "/Users?filter=userName%20regex%20%22x%22",
                None,
            )
            .await,
            400,
        );

        let bulk = c
            .call(
                Method::POST,
                "/Bulk",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": [
                        {"method": "POST", "path": "/Users", "bulkId": "b1", "data": {"schemas": [CORE_USER], "userName": "bulk.one"}},
                        {"method": "POST", "path": "/Users", "bulkId": "b2", "data": {"schemas": [CORE_USER], "userName": "tess.ober"}},
                        {"method": "DELETE", "path": "/Users/9d4b9f1e-0000-4000-8000-000000000000"},
                        {"method": "PATCH", "path": format!("/Groups/{gid}"), "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:b1"}]}]}}
                    ]
                })),
            )
            .await;
        assert_eq!(bulk.0, 200, "{:#}", bulk.1);
        // RFC 7644 §3.7: every result carries `location` except a failed POST; the failed
        // DELETE of an unknown id must have one too.
        check(&set, "BulkResponse", "POST /Bulk", &bulk, 200);

        check(
            &set,
            "ServiceProviderConfig",
            "GET /ServiceProviderConfig",
            &c.call(Method::GET, "/ServiceProviderConfig", None).await,
            200,
        );
        for (endpoint, item_schema) in [("/ResourceTypes", "ResourceType"), ("/Schemas", "Schema")]
        {
            let listed = c.call(Method::GET, endpoint, None).await;
            check(&set, "ListResponse", endpoint, &listed, 200);
            let items = listed.1["Resources"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(!items.is_empty(), "{endpoint} lists nothing");
            for item in &items {
                if let Err(v) = set.validate(item_schema, item) {
                    panic!(
                        "{endpoint} entry fails {item_schema}:\n{}\n{item:#}",
                        v.join("\n")
                    );
                }
                // The single-resource endpoint answers the same document.
                let id = item["id"]
                    .as_str()
                    .or_else(|| item["name"].as_str())
                    .unwrap_or_default();
                let one = c.call(Method::GET, &format!("{endpoint}/{id}"), None).await;
                check(
                    &set,
                    item_schema,
                    &format!("GET {endpoint}/{id}"),
                    &one,
                    200,
                );
            }
        }
        check(
            &set,
            "Error",
            "unknown schema",
            &c.call(Method::GET, "/Schemas/urn:example:nope:1.0", None)
                .await,
            404,
        );

        let _ = server.stop().await;
    }

    #[tokio::test]
    async fn asana_contract_responses_conform() {
        use reqwest::Method;
        let set = set();
        let (server, c) = serve(Contract::Asana).await;
        let user = c
            .call(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [CORE_USER, ENT],
                    "userName": "ravi@example.com",
                    "name": {"formatted": "Ravi Tal"},
                    "emails": [{"value": "ravi@example.com", "primary": true}],
                    "active": true,
                    "title": "Designer",
                    "preferredLanguage": "en",
                    "addresses": [{"locality": "Lyon", "region": "ARA", "country": "FR"}],
                    "phoneNumbers": [{"value": "555-0101"}],
                    "userType": "enterprise",
                    ENT: {"department": "Brand", "division": "Product", "manager": {"value": "0"}}
                })),
            )
            .await;
        check(&set, "asana/User", "POST /Users (asana)", &user, 201);
        let uid = user.1["id"].as_str().unwrap_or_default().to_string();
        check(
            &set,
            "asana/User",
            "GET /Users/{id} (asana)",
            &c.call(Method::GET, &format!("/Users/{uid}"), None).await,
            200,
        );
        let team = c
            .call(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Brand", "members": [{"value": uid}]})),
            )
            .await;
        check(&set, "asana/Group", "POST /Groups (asana)", &team, 201);
        check(
            &set,
            "ListResponse",
            "GET /Users?filter (asana)",
            &c.call(
                Method::GET,
                "/Users?filter=userName%20eq%20%22ravi@example.com%22",
                None,
            )
            .await,
            200,
        );
        check(
            &set,
            "ServiceProviderConfig",
            "SPC (asana)",
            &c.call(Method::GET, "/ServiceProviderConfig", None).await,
            200,
        );
        check(&set, "Error", "POST /Bulk (asana)", &c.call(Method::POST, "/Bulk", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}))).await, 501);
        let _ = server.stop().await;
    }
}
