//! Asana's own documents against the RFC: the plain `rfc` profile must flag where Asana's API
//! reference deviates from RFC 7643, and only there.
//!
//! The response examples are copied verbatim into `tests/fixtures/asana/` (the reference lives in
//! `shared/seeds/`, outside the repository). One example breaks the RFC: the 201 answer to
//! POST /Groups carries `"id": 1`, a JSON number, where RFC 7643 §3.1 makes `id` a string: the
//! service provider's identifier of the resource, caseExact, readOnly, returned always, compared
//! as text (filters on id are case-sensitive string matches, §3.1 and RFC 7644 §3.4.2.2). A client
//! that keeps ids as strings — as Okta and Entra ID do, and as the same document's other examples
//! (`"id": "1"`) do — would not recognise the team it just created. Everything else in the
//! examples fits the RFC schemas.

use scimtest::exec::schema_check::SchemaSet;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/asana/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn schemas() -> SchemaSet {
    SchemaSet::builtin().expect("the shipped schemas load")
}

#[test]
fn the_numeric_group_id_of_post_groups_breaks_rfc_7643_section_3_1() {
    let set = schemas();
    let created = fixture("post-groups-201.json");
    assert!(
        created["id"].is_number(),
        "the example is quoted as published"
    );

    // The RFC Group schema refuses it, and the only violation is the id.
    let errors = set
        .validate("Group", &created)
        .expect_err("the RFC Group schema accepts a numeric id");
    assert!(
        !errors.is_empty() && errors.iter().all(|e| e.starts_with("/id")),
        "expected only /id to be refused, got {errors:?}"
    );
    // The asana profile's narrower schema is no laxer: it wants the RFC's string too.
    assert!(set.validate("asana/Group", &created).is_err());

    // With the id as a string, the very same body is a valid RFC Group.
    let mut fixed = created.clone();
    fixed["id"] = Value::String("1".into());
    set.validate("Group", &fixed)
        .unwrap_or_else(|e| panic!("the example with a string id is refused: {e:?}"));
    set.validate("asana/Group", &fixed)
        .unwrap_or_else(|e| panic!("asana/Group refuses the example with a string id: {e:?}"));
}

#[test]
fn the_other_examples_fit_the_rfc_schemas() {
    let set = schemas();

    // GET /Groups?filter=displayName eq "Marketing": a ListResponse of one Group, id a string.
    let list = fixture("get-groups-200.json");
    set.validate("ListResponse", &list)
        .unwrap_or_else(|e| panic!("GET /Groups example: {e:?}"));
    for team in list["Resources"].as_array().expect("Resources") {
        set.validate("Group", team)
            .unwrap_or_else(|e| panic!("GET /Groups resource: {e:?}"));
    }

    // POST /Users 201: a User with the enterprise extension (userType is Asana's own attribute,
    // which RFC 7643 §3 lets a server return as an attribute of no schema; the schema allows it).
    let user = fixture("post-users-201.json");
    set.validate("User", &user)
        .unwrap_or_else(|e| panic!("POST /Users example: {e:?}"));
    set.validate(
        "EnterpriseUser",
        &user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    )
    .unwrap_or_else(|e| panic!("POST /Users enterprise extension: {e:?}"));
}
