//! The PATCH matrix: each op × path kind × attribute kind, errors with their scimType, atomicity,
//! and the Entra/Okta request shapes of `idp-dialects.md`.

use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{Mutability, Registry, ENTERPRISE_URN, GROUP_URN, USER_URN};
use serde_json::json;

fn user_rt() -> &'static ResourceType {
    &Registry::builtin().user
}

fn group_rt() -> &'static ResourceType {
    &Registry::builtin().group
}

fn user() -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "active": true,
        "emails": [
            {"value": "b@work.example", "type": "work", "primary": true},
            {"value": "b@home.example", "type": "home"}
        ],
        "addresses": [
            {"streetAddress": "1 Work St", "locality": "W", "type": "work"},
            {"streetAddress": "2 Home Rd", "type": "home"}
        ],
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP_URN],
        "displayName": "g",
        "members": [
            {"value": "u1", "display": "One", "type": "User"},
            {"value": "u2", "type": "User"}
        ],
    })
}

fn req(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": ops})
}

fn run(rt: &ResourceType, res: &Value, ops: Value) -> ScimResult<(Value, bool)> {
    let before = res.clone();
    let out = apply_with_change(rt, res, &req(ops));
    assert_eq!(*res, before, "the input resource must never change");
    out
}

/// Applies and expects success.
fn ok(rt: &ResourceType, res: &Value, ops: Value) -> Value {
    match run(rt, res, ops.clone()) {
        Ok((v, _)) => v,
        Err(e) => panic!("{ops} failed: {e}"),
    }
}

/// Applies and expects a 400 with this scimType.
fn fails(rt: &ResourceType, res: &Value, ops: Value, t: ScimType) -> String {
    match run(rt, res, ops.clone()) {
        Ok((v, _)) => panic!("{ops} should fail with {t:?}, got {v}"),
        Err(e) => {
            assert_eq!((e.status, e.scim_type), (400, Some(t)), "{ops}: {e}");
            e.detail
        }
    }
}

fn unchanged(rt: &ResourceType, res: &Value, ops: Value) {
    let (v, changed) = run(rt, res, ops.clone()).unwrap_or_else(|e| panic!("{ops} failed: {e}"));
    assert!(!changed, "{ops} changed the resource to {v}");
    assert_eq!(v, *res);
}

// ---- envelope ----------------------------------------------------------------------------------

#[test]
fn envelope_errors_are_invalid_syntax() {
    let op = json!({"op": "replace", "path": "nickName", "value": "n"});
    for body in [
        json!({"Operations": [op]}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "Operations": [op]}),
        json!({"schemas": [PATCH_OP_URN]}),
        json!({"schemas": [PATCH_OP_URN], "Operations": []}),
        json!({"schemas": [PATCH_OP_URN], "Operations": op}),
        json!({"schemas": [PATCH_OP_URN], "Operations": ["replace"]}),
        json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "move", "path": "nickName"}]}),
        json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "test", "path": "nickName", "value": "n"}]}),
        json!({"schemas": [PATCH_OP_URN], "Operations": [{"path": "nickName", "value": "n"}]}),
        json!([op]),
    ] {
        let e = apply(user_rt(), &user(), &body).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{body}");
    }
}

#[test]
fn op_names_are_case_insensitive_and_keys_too() {
    let out = apply(
        user_rt(),
        &user(),
        &json!({"SCHEMAS": [PATCH_OP_URN.to_uppercase()], "operations": [
            {"op": "Add", "path": "nickName", "value": "a"},
            {"OP": "REPLACE", "Path": "title", "Value": "t"},
            {"op": "Remove", "path": "displayName"}]}),
    )
    .unwrap();
    assert_eq!(
        (out["nickName"].as_str(), out["title"].as_str()),
        (Some("a"), Some("t"))
    );
    assert!(out.get("displayName").is_none());
}

#[test]
fn add_and_replace_need_a_value() {
    let u = user();
    fails(
        user_rt(),
        &u,
        json!([{"op": "add", "path": "nickName"}]),
        ScimType::InvalidValue,
    );
    fails(
        user_rt(),
        &u,
        json!([{"op": "add", "path": "nickName", "value": null}]),
        ScimType::InvalidValue,
    );
    fails(
        user_rt(),
        &u,
        json!([{"op": "replace", "path": "nickName"}]),
        ScimType::InvalidValue,
    );
    fails(
        user_rt(),
        &u,
        json!([{"op": "add", "value": "x"}]),
        ScimType::InvalidValue,
    );
}

// ---- paths -------------------------------------------------------------------------------------

#[test]
fn bad_and_unknown_paths_are_invalid_path() {
    let u = user();
    for path in [
        "noSuchAttr",
        "name.noSuch",
        "userName.sub",
        "emails[type eq",
        "name..givenName",
        "emails[0].value",
        "/emails/0",
        "name[givenName eq \"x\"]",
        "emails[type eq \"work\"].noSuch",
        "urn:example:unknown:1.0:User:title",
        "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
        "emails[type eq \"work\"].$ref",
        "emails[type eq \"work\"]x",
    ] {
        fails(
            user_rt(),
            &u,
            json!([{"op": "replace", "path": path, "value": "x"}]),
            ScimType::InvalidPath,
        );
    }
    fails(
        user_rt(),
        &u,
        json!([{"op": "replace", "path": 5, "value": "x"}]),
        ScimType::InvalidPath,
    );
}

#[test]
fn broken_value_filters_are_invalid_filter() {
    let u = user();
    for path in ["emails[type zz \"work\"]", "emails[nosub eq \"x\"].value"] {
        fails(
            user_rt(),
            &u,
            json!([{"op": "replace", "path": path, "value": "x"}]),
            ScimType::InvalidFilter,
        );
    }
}

#[test]
fn paths_are_case_insensitive_and_may_carry_the_core_urn() {
    let out = ok(
        user_rt(),
        &user(),
        json!([
            {"op": "replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:NAME.GIVENNAME", "value": "G"},
            {"op": "add", "path": "NICKNAME", "value": "N"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"home\"].display", "value": "H"}
        ]),
    );
    assert_eq!(out["emails"][1]["display"], "H");
    assert_eq!(
        out["name"],
        json!({"givenName": "G", "familyName": "Jensen"})
    );
    assert_eq!(out["nickName"], "N");
}

// ---- add ---------------------------------------------------------------------------------------

#[test]
fn add_simple_sets_or_replaces() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "title", "value": "t"}]),
    );
    assert_eq!(out["title"], "t");
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "displayName", "value": "x"}]),
    );
    assert_eq!(out["displayName"], "x");
}

#[test]
fn add_complex_merges_sub_attributes() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "name", "value": {"givenName": "G"}}]),
    );
    assert_eq!(
        out["name"],
        json!({"givenName": "G", "familyName": "Jensen"})
    );
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "name.middleName", "value": "M"}]),
    );
    assert_eq!(out["name"]["middleName"], "M");
}

#[test]
fn add_multi_valued_appends_without_duplicates() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "e3@x"}]}]),
    );
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
    assert_eq!(out["emails"][2], json!({"value": "e3@x"}));
    unchanged(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "B@WORK.example", "type": "work"}]}]),
    );
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "u3"}]}]),
    );
    assert_eq!(out["members"][2], json!({"value": "u3"}));
    // A lone object counts as one value.
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "add", "path": "members", "value": {"value": "u3"}}]),
    );
    assert_eq!(out["members"].as_array().unwrap().len(), 3);
}

#[test]
fn adding_an_existing_member_changes_nothing_even_with_another_display() {
    unchanged(
        group_rt(),
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
    );
    unchanged(
        group_rt(),
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "Other"}]}]),
    );
}

#[test]
fn add_through_a_value_filter() {
    // Matched: the sub-attribute is set on the record.
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "new@w"}]),
    );
    assert_eq!(out["emails"][0]["value"], "new@w");
    // Unmatched eq filter: a record is created from the filter terms (Entra).
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "555"}]),
    );
    assert_eq!(
        out["phoneNumbers"],
        json!([{"value": "555", "type": "work"}])
    );
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"other\"]", "value": {"value": "o@x", "primary": true}}]),
    );
    assert_eq!(
        out["emails"][2],
        json!({"type": "other", "value": "o@x", "primary": true})
    );
    assert_eq!(out["emails"][0]["primary"], false);
    // Matched without sub-attribute: merged into the record.
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
    );
    assert_eq!(
        out["emails"][1],
        json!({"value": "b@home.example", "type": "home", "display": "Home"})
    );
    // Unmatched and not a plain eq conjunction: nothing to create.
    fails(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails[value co \"zzz\"].type", "value": "work"}]),
        ScimType::NoTarget,
    );
}

#[test]
fn add_extension_attribute_lists_the_extension_urn() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1"}]),
    );
    assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "1"}));
    assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": ENTERPRISE_URN, "value": {"Department": "d", "manager": {"value": "m", "displayName": "ignored"}}}]),
    );
    assert_eq!(
        out[ENTERPRISE_URN],
        json!({"department": "d", "manager": {"value": "m"}})
    );
    fails(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": ENTERPRISE_URN, "value": "x"}]),
        ScimType::InvalidValue,
    );
}

#[test]
fn pathless_add_merges_each_attribute() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "value": {"nickName": "n", "emails": [{"value": "e3@x"}], "displayName": "D"}}]),
    );
    assert_eq!(out["nickName"], "n");
    assert_eq!(out["displayName"], "D");
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
}

// ---- replace -----------------------------------------------------------------------------------

#[test]
fn replace_simple_and_unassigned() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "displayName", "value": "y"}]),
    );
    assert_eq!(out["displayName"], "y");
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "title", "value": "t"}]),
    );
    assert_eq!(out["title"], "t");
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "displayName", "value": null}]),
    );
    assert!(out.get("displayName").is_none());
}

#[test]
fn replace_complex_keeps_unnamed_sub_attributes() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "G2"}}]),
    );
    assert_eq!(
        out["name"],
        json!({"givenName": "G2", "familyName": "Jensen"})
    );
}

#[test]
fn replace_multi_valued_without_filter_replaces_all() {
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]}]),
    );
    assert_eq!(out["members"], json!([{"value": "u3"}, {"value": "u4"}]));
}

#[test]
fn replace_through_a_value_filter() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "X"}}]),
    );
    assert_eq!(
        out["addresses"][0],
        json!({"streetAddress": "X", "type": "work"})
    );
    assert_eq!(out["addresses"][1], user()["addresses"][1]);
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 X"}]),
    );
    assert_eq!(
        out["addresses"][0],
        json!({"streetAddress": "1010 X", "locality": "W", "type": "work"})
    );
    for path in [
        "emails[type eq \"nosuch\"].value",
        "emails[type eq \"nosuch\"]",
    ] {
        fails(
            user_rt(),
            &user(),
            json!([{"op": "replace", "path": path, "value": "x"}]),
            ScimType::NoTarget,
        );
    }
}

#[test]
fn member_sub_attributes_are_immutable() {
    let g = group();
    for (path, value) in [
        ("members[value eq \"u1\"].value", json!("x")),
        ("members[value eq \"u1\"].display", json!("x")),
        ("members[value eq \"u1\"]", json!({"value": "u9"})),
        ("members.value", json!("x")),
    ] {
        fails(
            group_rt(),
            &g,
            json!([{"op": "replace", "path": path, "value": value}]),
            ScimType::Mutability,
        );
    }
    fails(
        group_rt(),
        &g,
        json!([{"op": "remove", "path": "members[value eq \"u1\"].display"}]),
        ScimType::Mutability,
    );
    // Setting an immutable sub-attribute that is still unset is allowed.
    let out = ok(
        group_rt(),
        &g,
        json!([{"op": "add", "path": "members[value eq \"u2\"].display", "value": "Two"}]),
    );
    assert_eq!(out["members"][1]["display"], "Two");
}

// ---- remove ------------------------------------------------------------------------------------

#[test]
fn remove_needs_a_path() {
    fails(
        user_rt(),
        &user(),
        json!([{"op": "remove"}]),
        ScimType::NoTarget,
    );
}

#[test]
fn remove_single_multi_and_sub_attributes() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "displayName"}]),
    );
    assert!(out.get("displayName").is_none());
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "emails"}]),
    );
    assert!(out.get("emails").is_none());
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members"}]),
    );
    assert_eq!(out, json!({"schemas": [GROUP_URN], "displayName": "g"}));
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "name.givenName"}]),
    );
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
    );
    assert!(out.get("name").is_none());
    unchanged(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "nickName"}]),
    );
}

#[test]
fn remove_through_a_value_filter() {
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
    );
    assert_eq!(out["members"], json!([{"value": "u2", "type": "User"}]));
    let out = ok(
        group_rt(),
        &out,
        json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
    );
    assert!(out.get("members").is_none());
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"work.example\"]"}]),
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "b@home.example", "type": "home"}])
    );
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].type"}]),
    );
    assert_eq!(
        out["emails"][0],
        json!({"value": "b@work.example", "primary": true})
    );
    // No match: success without change (RFC 7644 §3.5.2.2 prose).
    unchanged(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
    );
}

#[test]
fn remove_members_with_a_value_list_removes_only_those() {
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]),
    );
    assert_eq!(out["members"], json!([{"value": "u2", "type": "User"}]));
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}, {"value": "U2"}]}]),
    );
    assert!(out.get("members").is_none());
    unchanged(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members", "value": [{"value": "nobody"}]}]),
    );
    unchanged(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members", "value": []}]),
    );
}

#[test]
fn remove_of_required_or_read_only_is_mutability() {
    fails(
        user_rt(),
        &user(),
        json!([{"op": "remove", "path": "userName"}]),
        ScimType::Mutability,
    );
    fails(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "userName", "value": null}]),
        ScimType::Mutability,
    );
    fails(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "displayName"}]),
        ScimType::Mutability,
    );
    for path in ["id", "meta", "meta.created", "groups"] {
        fails(
            user_rt(),
            &user(),
            json!([{"op": "remove", "path": path}]),
            ScimType::Mutability,
        );
    }
}

#[test]
fn emptying_a_required_attribute_otherwise_is_invalid_value() {
    fails(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "userName", "value": ""}]),
        ScimType::InvalidValue,
    );
}

#[test]
fn remove_extension_and_its_urn() {
    let mut u = user();
    u["schemas"] = json!([USER_URN, ENTERPRISE_URN]);
    u[ENTERPRISE_URN] = json!({"employeeNumber": "7"});
    let out = ok(
        user_rt(),
        &u,
        json!([{"op": "remove", "path": ENTERPRISE_URN}]),
    );
    assert_eq!(out, user());
    let out = ok(
        user_rt(),
        &u,
        json!([{"op": "remove", "path": format!("{ENTERPRISE_URN}:employeeNumber")}]),
    );
    assert_eq!(out, user());
}

// ---- mutability --------------------------------------------------------------------------------

#[test]
fn read_only_targets_are_mutability() {
    let u = user();
    for (op, path, value) in [
        ("replace", "id", json!("x")),
        ("replace", "meta.created", json!("2020-01-01T00:00:00Z")),
        ("add", "groups", json!([{"value": "g1"}])),
        ("replace", "groups[value eq \"g1\"].display", json!("x")),
        (
            "replace",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
            json!("x"),
        ),
    ] {
        fails(
            user_rt(),
            &u,
            json!([{"op": op, "path": path, "value": value}]),
            ScimType::Mutability,
        );
    }
}

#[test]
fn immutable_top_level_attribute_rules() {
    let mut rt = user_rt().clone();
    if let Some(a) = rt
        .schema
        .attributes
        .iter_mut()
        .find(|a| a.name == "nickName")
    {
        a.mutability = Mutability::Immutable;
    }
    let unset = user();
    let set = ok(
        &rt,
        &unset,
        json!([{"op": "add", "path": "nickName", "value": "n"}]),
    );
    assert_eq!(set["nickName"], "n");
    unchanged(
        &rt,
        &set,
        json!([{"op": "add", "path": "nickName", "value": "n"}]),
    );
    fails(
        &rt,
        &set,
        json!([{"op": "replace", "path": "nickName", "value": "m"}]),
        ScimType::Mutability,
    );
    fails(
        &rt,
        &set,
        json!([{"op": "remove", "path": "nickName"}]),
        ScimType::Mutability,
    );
}

// ---- primary, types ----------------------------------------------------------------------------

#[test]
fn marking_one_value_primary_clears_the_others() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "emails[value eq \"b@home.example\"].primary", "value": true}]),
    );
    assert_eq!(
        (
            out["emails"][0]["primary"].clone(),
            out["emails"][1]["primary"].clone()
        ),
        (json!(false), json!(true))
    );
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "e3@x", "primary": "True"}]}]),
    );
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][2]["primary"], true);
    for ops in [
        json!([{"op": "replace", "path": "emails", "value": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}]),
        json!([{"op": "replace", "path": "emails.primary", "value": true}]),
        json!([{"op": "replace", "path": "emails[value pr].primary", "value": true}]),
    ] {
        fails(user_rt(), &user(), ops, ScimType::InvalidValue);
    }
}

#[test]
fn wrong_value_types_are_invalid_value() {
    let u = user();
    for (path, value) in [
        ("active", json!("yes")),
        ("emails", json!("x")),
        ("name", json!("plain")),
        ("name.givenName", json!(1)),
        ("emails[type eq \"work\"].primary", json!("maybe")),
    ] {
        fails(
            user_rt(),
            &u,
            json!([{"op": "replace", "path": path, "value": value}]),
            ScimType::InvalidValue,
        );
    }
}

// ---- atomicity and ordering --------------------------------------------------------------------

#[test]
fn a_failing_operation_discards_the_earlier_ones() {
    let detail = fails(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "displayName", "value": "new"}, {"op": "replace", "path": "id", "value": "x"}]),
        ScimType::Mutability,
    );
    assert!(detail.starts_with("Operations[1]"), "{detail}");
}

#[test]
fn operations_apply_in_order() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "add", "path": "nickName", "value": "a"}, {"op": "replace", "path": "nickName", "value": "b"}]),
    );
    assert_eq!(out["nickName"], "b");
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
    );
    assert_eq!(out["members"], json!([{"value": "u1"}]));
}

#[test]
fn change_is_reported() {
    let (_, changed) = run(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "nickName", "value": "n"}]),
    )
    .unwrap();
    assert!(changed);
    unchanged(
        user_rt(),
        &user(),
        json!([{"op": "replace", "path": "displayName", "value": "Babs"}]),
    );
}

// ---- IdP dialects ------------------------------------------------------------------------------

#[test]
fn entra_string_booleans_and_capitalised_ops() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(out["active"], false);
    let out = ok(
        &Registry::builtin().user,
        &out,
        json!([{"op": "replace", "path": "active", "value": "true"}]),
    );
    assert_eq!(out["active"], true);
}

#[test]
fn entra_member_add_with_null_ref() {
    let out = ok(
        group_rt(),
        &group(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648"}]}]),
    );
    assert_eq!(out["members"][2], json!({"value": "f648"}));
}

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "Replace", "value": {
            "name.givenName": "G",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "9",
            "emails[type eq \"work\"].value": "w@x",
            "active": "False",
            "displayName": "D",
        }}]),
    );
    assert_eq!(out["name"]["givenName"], "G");
    assert_eq!(out[ENTERPRISE_URN]["employeeNumber"], "9");
    assert_eq!(out["emails"][0]["value"], "w@x");
    assert_eq!(out["active"], false);
    assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
}

#[test]
fn entra_manager_shapes() {
    for (path, value) in [
        (
            "manager",
            json!([{"$ref": "http://x/Users/m1", "value": "m1"}]),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            json!("m1"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            json!("m1"),
        ),
    ] {
        let out = ok(
            user_rt(),
            &user(),
            json!([{"op": "Add", "path": path, "value": value}]),
        );
        assert_eq!(out[ENTERPRISE_URN]["manager"]["value"], "m1", "{path}");
    }
}

#[test]
fn okta_pathless_replace_resending_id() {
    let g = group();
    // The stored data holds no id: nothing to compare with, so the key is ignored.
    let out = ok(
        group_rt(),
        &g,
        json!([{"op": "replace", "value": {"id": "g1", "displayName": "renamed"}}]),
    );
    assert_eq!(out["displayName"], "renamed");
    let mut with_id = g.clone();
    with_id["id"] = json!("g1");
    ok(
        group_rt(),
        &with_id,
        json!([{"op": "replace", "value": {"id": "g1", "displayName": "renamed"}}]),
    );
    fails(
        group_rt(),
        &with_id,
        json!([{"op": "replace", "value": {"id": "g2"}}]),
        ScimType::Mutability,
    );
}

#[test]
fn okta_group_push_shapes() {
    let g = group();
    let out = ok(
        group_rt(),
        &g,
        json!([
            {"op": "replace", "value": {"id": "g1", "displayName": "g"}},
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u3", "display": "Three"}]}
        ]),
    );
    assert_eq!(
        out["members"],
        json!([{"value": "u2", "type": "User"}, {"value": "u3", "display": "Three"}])
    );
    let out = ok(
        group_rt(),
        &g,
        json!([{"op": "replace", "path": "members", "value": []}]),
    );
    assert!(out.get("members").is_none());
    let out = ok(
        group_rt(),
        &g,
        json!([{"op": "replace", "value": {"members": [], "id": "g1", "displayName": "g"}}]),
    );
    assert!(out.get("members").is_none());
    let out = ok(
        group_rt(),
        &g,
        json!([{"op": "replace", "value": {"members": [{"value": "u9"}]}}]),
    );
    assert_eq!(out["members"], json!([{"value": "u9"}]));
}

#[test]
fn okta_deactivate_and_password() {
    let out = ok(
        user_rt(),
        &user(),
        json!([{"op": "replace", "value": {"active": false, "password": "pw"}}]),
    );
    assert_eq!(
        (out["active"].clone(), out["password"].clone()),
        (json!(false), json!("pw"))
    );
}

#[test]
fn pathless_ignores_unknown_keys_and_schemas() {
    unchanged(
        user_rt(),
        &user(),
        json!([{"op": "replace", "value": {"schemas": ["x"], "favouriteColour": "blue", "groups": []}}]),
    );
}
