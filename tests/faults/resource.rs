//! Probes for the faults of the resource suites (schemas and discovery, resource structure, Bulk,
//! errors, i18n). `probe` in `faults.rs` hands these faults over; each probe passes on the correct
//! server and fails with its fault on.

use super::{ensure, urlencode, Check};
use crate::common::Server;
use scimtest::server::faults::Fault;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn bulk(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

/// Every `name` of every attribute definition, sub-attributes included.
fn attribute_names(attrs: &Value, out: &mut Vec<String>) {
    for a in attrs.as_array().into_iter().flatten() {
        out.extend(a["name"].as_str().map(String::from));
        attribute_names(&a["subAttributes"], out);
    }
}

fn attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == name))
        .unwrap_or(&Value::Null)
}

pub async fn probe(fault: Fault, s: &Server, p: &str) -> Check {
    let f = |q: &str| format!("/Users?filter={}", urlencode(q));
    let user_schema_path = format!("/Schemas/{USER}");
    let user_schema = || s.req("GET", &user_schema_path, None);
    match fault {
        Fault::SchemaDottedNames => {
            let r = s.req("GET", "/Schemas", None).await;
            let mut names = Vec::new();
            for schema in r.body["Resources"].as_array().into_iter().flatten() {
                attribute_names(&schema["attributes"], &mut names);
            }
            let bad: Vec<&String> = names
                .iter()
                .filter(|n| {
                    *n != "$ref"
                        && !(n.starts_with(|c: char| c.is_ascii_alphabetic())
                            && n.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "$-_".contains(c)))
                })
                .collect();
            ensure(
                !names.is_empty() && bad.is_empty(),
                format!("names outside ATTRNAME: {bad:?}"),
            )
        }
        Fault::SchemaCharacteristicsOmitted => {
            let r = user_schema().await;
            let pw = attribute(&r.body, "password");
            ensure(
                pw["mutability"] == "writeOnly" && pw["returned"] == "never",
                format!("password definition: {pw}"),
            )
        }
        Fault::SchemaNestedComplex => {
            let r = user_schema().await;
            let subs = &attribute(&r.body, "addresses")["subAttributes"];
            let complex = subs
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["type"] == "complex");
            ensure(!complex, format!("addresses sub-attributes: {subs}"))
        }
        Fault::SchemaTypesCapitalized => {
            let r = user_schema().await;
            let t = &attribute(&r.body, "userName")["type"];
            ensure(t == "string", format!("userName type {t}"))
        }
        Fault::SchemaComplexNoSubAttributes => {
            let r = user_schema().await;
            let n = attribute(&r.body, "name")["subAttributes"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0);
            ensure(n > 0, format!("name lists {n} sub-attributes"))
        }
        Fault::SchemaExtensionRedefines => {
            let r = s.req("GET", &format!("/Schemas/{ENT}"), None).await;
            let d = attribute(&r.body, "displayName");
            ensure(d.is_null(), format!("enterprise schema defines {d}"))
        }
        Fault::ResourceTypeEndpointSingular => {
            let r = s.req("GET", "/ResourceTypes/User", None).await;
            ensure(
                r.body["endpoint"] == "/Users",
                format!("endpoint {}", r.body["endpoint"]),
            )
        }
        Fault::DiscoveryQueryApplied => {
            let paged = s.req("GET", "/Schemas?startIndex=2&count=1", None).await;
            let filtered = s
                .req(
                    "GET",
                    &format!("/Schemas?filter={}", urlencode("id pr")),
                    None,
                )
                .await;
            ensure(
                paged.body["totalResults"] == 3 && filtered.status == 403,
                format!(
                    "paged totalResults {}, filtered {}",
                    paged.body["totalResults"], filtered.status
                ),
            )
        }
        Fault::SpcRequiresAuth => {
            let r = s
                .client
                .get(format!("{}/ServiceProviderConfig", s.base))
                .send()
                .await
                .expect("request sent");
            ensure(
                r.status() == 200,
                format!("unauthenticated GET answered {}", r.status()),
            )
        }
        Fault::Scim1Urns => {
            let r = s.req("GET", "/ServiceProviderConfig", None).await;
            ensure(
                r.body["schemas"][0]
                    == "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
                format!("schemas {}", r.body["schemas"]),
            )
        }
        Fault::VersionSegmentIgnored => {
            let url = format!("{}/Users", s.base.replace("/v2", "/v99"));
            let r = s.req("GET", &url, None).await;
            ensure(r.status == 404, format!("GET {url} answered {}", r.status))
        }
        Fault::JsonAccept406 => {
            let r = s
                .req_h("GET", "/Users", None, &[("accept", "application/json")])
                .await;
            ensure(
                r.status == 200,
                format!("Accept: application/json got {}", r.status),
            )
        }
        Fault::Utf8Mangled => {
            let text = "Zoë 山田 🍕";
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}utf8"), "displayName": text})))
                .await;
            let g = s.req("GET", &format!("/Users/{}", r.id()), None).await;
            ensure(
                g.body["displayName"] == text,
                format!("displayName {}", g.body["displayName"]),
            )
        }
        Fault::MeNotFound => {
            let r = s.req("GET", "/Me", None).await;
            ensure(r.status == 501, format!("GET /Me answered {}", r.status))
        }
        Fault::AttributeNamesCaseSensitive => {
            let r = s
                .req(
                    "POST",
                    "/Users",
                    Some(json!({"schemas": [USER], "UserName": format!("{p}case")})),
                )
                .await;
            ensure(
                r.status == 201,
                format!("POST with UserName answered {}", r.status),
            )
        }
        Fault::UrnPrefixUnsupported => {
            let id = s.create_user(&format!("{p}urn")).await.id();
            let r = s
                .req(
                    "GET",
                    &format!("/Users/{id}?attributes={USER}:userName"),
                    None,
                )
                .await;
            ensure(
                r.body["userName"].is_string() && r.body["displayName"].is_null(),
                format!("projected user: {}", r.text),
            )
        }
        Fault::BinaryReencoded => {
            let cert = "++++/+A+Dw==";
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}bin"), "x509Certificates": [{"value": cert}]})))
                .await;
            let v = &r.body["x509Certificates"][0]["value"];
            ensure(v == cert, format!("certificate came back as {v}"))
        }
        Fault::RefWrongEndpoint => {
            let u = s.create_user(&format!("{p}ref")).await.id();
            let g = s.create_group(&format!("{p}refgrp"), &[&u]).await;
            let r = g.body["members"][0]["$ref"]
                .as_str()
                .unwrap_or("")
                .to_string();
            ensure(
                r.ends_with(&format!("/Users/{u}")),
                format!("member $ref {r}"),
            )
        }
        Fault::SingleValueUnwrapped => {
            let r = s.create_user(&format!("{p}single")).await;
            ensure(
                r.body["emails"].is_array(),
                format!("emails {}", r.body["emails"]),
            )
        }
        Fault::MultiplePrimaryKept => {
            let emails = json!([
                {"value": format!("{p}a@example.com"), "primary": true},
                {"value": format!("{p}b@example.com"), "primary": true},
            ]);
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}prim"), "emails": emails})))
                .await;
            ensure(
                r.status == 400,
                format!("two primaries answered {}", r.status),
            )
        }
        Fault::PrimaryDefaultTrue => {
            let name = format!("{p}noprim");
            s.req("POST", "/Users", Some(json!({"schemas": [USER], "userName": name, "emails": [{"value": format!("{p}x@example.com")}]})))
                .await;
            let r = s
                .req(
                    "GET",
                    &f(&format!(
                        "emails.primary eq true and userName eq \"{name}\""
                    )),
                    None,
                )
                .await;
            ensure(
                r.body["totalResults"] == 0,
                format!("matched {}", r.body["totalResults"]),
            )
        }
        Fault::DuplicateValuesKept => {
            let e = json!({"value": format!("{p}dup@example.com"), "type": "work"});
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}dupv"), "emails": [e, e]})))
                .await;
            let n = r.body["emails"].as_array().map(Vec::len).unwrap_or(0);
            ensure(n == 1, format!("{n} emails stored"))
        }
        Fault::ResourceSchemasMissing => {
            let r = s.create_user(&format!("{p}schemas")).await;
            ensure(
                r.body["schemas"][0] == USER,
                format!("schemas {}", r.body["schemas"]),
            )
        }
        Fault::UndeclaredSchemaKept => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER, "urn:example:bogus:1.0"], "userName": format!("{p}bogus")})))
                .await;
            ensure(
                r.body["schemas"] == json!([USER]),
                format!("schemas {}", r.body["schemas"]),
            )
        }
        Fault::SchemasOrderSensitive => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [ENT, USER], "userName": format!("{p}order"), ENT: {"employeeNumber": "1"}})))
                .await;
            ensure(
                r.status == 201,
                format!("[ent, core] answered {}", r.status),
            )
        }
        Fault::SchemasOptional => {
            let r = s
                .req(
                    "POST",
                    "/Users",
                    Some(json!({"userName": format!("{p}noschemas")})),
                )
                .await;
            ensure(r.status == 400, format!("no schemas answered {}", r.status))
        }
        Fault::NaturalKeyIds => {
            let name = format!("{p}natural");
            let r = s.create_user(&name).await;
            ensure(r.id() != name, format!("id {}", r.id()))
        }
        Fault::BulkIdAsId => {
            let r = s
                .req("POST", "/Bulk", Some(bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "bulkIdProbe", "data": user(&format!("{p}bulkid"))}]))))
                .await;
            let loc = r.body["Operations"][0]["location"].as_str().unwrap_or("");
            ensure(
                !loc.is_empty() && !loc.contains("bulkId"),
                format!("location {loc}"),
            )
        }
        Fault::ExternalIdInvented => {
            let r = s.create_user(&format!("{p}noext")).await;
            ensure(
                r.body["externalId"].is_null(),
                format!("externalId {}", r.body["externalId"]),
            )
        }
        Fault::ExternalIdLowercased => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}ext"), "externalId": "MiXed-Ext"})))
                .await;
            ensure(
                r.body["externalId"] == "MiXed-Ext",
                format!("externalId {}", r.body["externalId"]),
            )
        }
        Fault::LastModifiedFromClient => {
            let name = format!("{p}lastmod");
            let id = s.create_user(&name).await.id();
            let body = json!({"schemas": [USER], "userName": name, "meta": {"lastModified": "2000-01-01T00:00:00Z"}});
            let r = s.req("PUT", &format!("/Users/{id}"), Some(body)).await;
            let lm = &r.body["meta"]["lastModified"];
            ensure(
                lm.as_str().is_some_and(|t| !t.starts_with("2000")),
                format!("lastModified {lm}"),
            )
        }
        Fault::MetaVersionMismatch => {
            let id = s.create_user(&format!("{p}version")).await.id();
            let r = s.req("GET", &format!("/Users/{id}"), None).await;
            let etag = r.header("etag").unwrap_or("").to_string();
            ensure(
                r.body["meta"]["version"] == etag.as_str(),
                format!("meta.version {} vs ETag {etag}", r.body["meta"]["version"]),
            )
        }
        Fault::ExtensionFlattened => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER, ENT], "userName": format!("{p}nested"), ENT: {"employeeNumber": "7"}})))
                .await;
            ensure(
                r.body[ENT]["employeeNumber"] == "7" && r.body["employeeNumber"].is_null(),
                format!("created user: {}", r.text),
            )
        }
        Fault::PasswordChangeRefused => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}pw"), "password": "Old-pass-1"})))
                .await;
            let ops = json!([{"op": "replace", "path": "password", "value": "New-pass-2"}]);
            let r = s
                .req(
                    "PATCH",
                    &format!("/Users/{}", r.id()),
                    Some(crate::common::patch_body(ops)),
                )
                .await;
            ensure(
                r.status == 200,
                format!("password change answered {} {}", r.status, r.text),
            )
        }
        Fault::EmailDomainKept => {
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER], "userName": format!("{p}mail"), "emails": [{"value": format!("{p}@EXAMPLE.COM")}]})))
                .await;
            let v = r.body["emails"][0]["value"].as_str().unwrap_or("");
            ensure(v.ends_with("@example.com"), format!("email {v}"))
        }
        Fault::ManagerDisplayKept => {
            let m = s.create_user(&format!("{p}boss")).await.id();
            let r = s
                .req("POST", "/Users", Some(json!({"schemas": [USER, ENT], "userName": format!("{p}report"), ENT: {"manager": {"value": m, "displayName": "bogus"}}})))
                .await;
            let d = &r.body[ENT]["manager"]["displayName"];
            ensure(d != "bogus", format!("manager.displayName {d}"))
        }
        Fault::LocationWithQuery => {
            let id = s.create_user(&format!("{p}loc")).await.id();
            let r = s
                .req(
                    "GET",
                    &format!("/Users/{id}?attributes=userName,meta"),
                    None,
                )
                .await;
            let l = r.body["meta"]["location"].as_str().unwrap_or("?");
            ensure(!l.contains('?'), format!("meta.location {l}"))
        }
        Fault::BulkResponseUrn
        | Fault::BulkIdNotEchoed
        | Fault::BulkNoLocation
        | Fault::BulkStatus200 => {
            let r = s
                .req("POST", "/Bulk", Some(bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "u1", "data": user(&format!("{p}bulk"))}]))))
                .await;
            let op = &r.body["Operations"][0];
            ensure(
                r.body["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
                    && op["bulkId"] == "u1"
                    && op["status"] == "201"
                    && op["location"].is_string(),
                format!("bulk response {}", r.text),
            )
        }
        Fault::BulkFailFast | Fault::BulkErrorNoResponse => {
            let ops = json!([
                {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER]}},
                {"method": "POST", "path": "/Users", "bulkId": "good", "data": user(&format!("{p}afterbad"))},
            ]);
            let r = s.req("POST", "/Bulk", Some(bulk(ops))).await;
            let ops = &r.body["Operations"];
            ensure(
                r.status == 200
                    && ops.as_array().map(Vec::len) == Some(2)
                    && ops[0]["response"]["status"] == "400",
                format!("bulk answered {} {}", r.status, r.text),
            )
        }
        Fault::BulkIdOptional => {
            let r = s
                .req("POST", "/Bulk", Some(bulk(json!([{"method": "POST", "path": "/Users", "data": user(&format!("{p}nobulkid"))}]))))
                .await;
            let st = &r.body["Operations"][0]["status"];
            ensure(st == "400", format!("POST without bulkId: status {st}"))
        }
        Fault::BulkMaxOperationsIgnored => {
            let ops: Vec<Value> = (0..1001)
                .map(|i| json!({"method": "DELETE", "path": format!("/Users/{p}missing{i}")}))
                .collect();
            let r = s.req("POST", "/Bulk", Some(bulk(Value::Array(ops)))).await;
            ensure(
                r.status == 413,
                format!("1001 operations answered {}", r.status),
            )
        }
        Fault::NoPrecis => {
            let nfc = s.create_user(&format!("{p}caf\u{e9}")).await;
            let nfd = s.create_user(&format!("{p}cafe\u{301}")).await;
            ensure(
                nfc.status == 201 && nfd.status == 409,
                format!("NFC create {}, NFD create {}", nfc.status, nfd.status),
            )
        }
        Fault::FilterUnescaped => {
            s.create_user(&format!("{p}victim")).await;
            let q = format!("userName eq \"{p}nobody\\\" or userName sw \\\"{p}\"");
            let r = s.req("GET", &f(&q), None).await;
            ensure(
                r.status == 200 && r.body["totalResults"] == 0,
                format!("injection answered {} {}", r.status, r.body["totalResults"]),
            )
        }
        other => Err(format!("{other} is not a resource-suite fault")),
    }
}
