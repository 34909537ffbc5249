use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{Registry, ENTERPRISE_URN, GROUP_URN, USER_URN};
use serde_json::json;

fn user() -> &'static ResourceType {
    &Registry::builtin().user
}

fn group() -> &'static ResourceType {
    &Registry::builtin().group
}

fn err_type(r: ScimResult<Value>) -> (Option<ScimType>, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => {
            assert_eq!(e.status, 400);
            (e.scim_type, e.detail)
        }
    }
}

#[test]
fn keys_are_rewritten_to_schema_spelling_at_every_level() {
    let out = canonicalize(
        user(),
        &json!({
            "SCHEMAS": [USER_URN],
            "UserName": "bjensen",
            "DISPLAYNAME": "Babs",
            "NAME": {"GivenName": "Barbara", "familyname": "Jensen"},
            "Emails": [{"VALUE": "b@x.org", "Type": "work", "PRIMARY": true}],
        }),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": [USER_URN],
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs",
            "emails": [{"value": "b@x.org", "type": "work", "primary": true}],
        })
    );
}

#[test]
fn extension_objects_and_urn_qualified_keys_end_up_in_one_container() {
    let out = canonicalize(
        user(),
        &json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "userName": "u",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"EmployeeNumber": "42"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
            "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "nick",
        }),
    )
    .unwrap();
    assert_eq!(out["nickName"], "nick");
    assert_eq!(
        out[ENTERPRISE_URN],
        json!({"employeeNumber": "42", "department": "R&D"})
    );
    assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    assert!(out.get("department").is_none());
}

#[test]
fn schemas_lists_extensions_only_when_they_hold_data() {
    let out = canonicalize(
        user(),
        &json!({"schemas": [ENTERPRISE_URN, USER_URN], "userName": "u"}),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER_URN]));
    let out = canonicalize(
        user(),
        &json!({"schemas": [USER_URN], "userName": "u", ENTERPRISE_URN: {"division": "d"}}),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
}

#[test]
fn schemas_must_name_the_core_urn_but_unknown_urns_are_dropped() {
    let (t, _) = err_type(canonicalize(user(), &json!({"userName": "u"})));
    assert_eq!(t, Some(ScimType::InvalidValue));
    let (t, _) = err_type(canonicalize(
        user(),
        &json!({"schemas": [GROUP_URN], "userName": "u"}),
    ));
    assert_eq!(t, Some(ScimType::InvalidValue));
    let (t, _) = err_type(canonicalize(
        user(),
        &json!({"schemas": USER_URN, "userName": "u"}),
    ));
    assert_eq!(t, Some(ScimType::InvalidValue));
    // Entra: an extra Group schema, and a malformed enterprise URN in its documented examples.
    let out = canonicalize(
        group(),
        &json!({
            "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "g",
        }),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([GROUP_URN]));
    let out = canonicalize(
        user(),
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:user", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"], "userName": "u"}),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER_URN]));
}

#[test]
fn non_object_body_is_invalid_syntax() {
    let (t, _) = err_type(canonicalize(user(), &json!([1])));
    assert_eq!(t, Some(ScimType::InvalidSyntax));
}

#[test]
fn unknown_attributes_are_dropped() {
    let out = canonicalize(
        user(),
        &json!({
            "schemas": [USER_URN],
            "userName": "u",
            "favouriteColour": "blue",
            "name": {"givenName": "G", "nickname2": "x"},
            "urn:example:custom:1.0:User": {"a": 1},
        }),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"schemas": [USER_URN], "userName": "u", "name": {"givenName": "G"}})
    );
}

#[test]
fn wrong_types_are_invalid_value_naming_the_attribute() {
    let cases = [
        (json!({"active": "yes"}), "active"),
        (json!({"active": 1}), "active"),
        (json!({"emails": "x"}), "emails"),
        (json!({"emails": [{"value": 5}]}), "emails.value"),
        (json!({"name": "Barbara"}), "name"),
        (json!({"name": [{"givenName": "x"}]}), "name"),
        (json!({"userName": ["u"]}), "userName"),
        (json!({"nickName": 7}), "nickName"),
        (json!({"profileUrl": true}), "profileUrl"),
        (
            json!({"x509Certificates": [{"value": "not base64!"}]}),
            "x509Certificates.value",
        ),
        (json!({"meta": {"created": "yesterday"}}), "meta.created"),
        (json!({ENTERPRISE_URN: "x"}), ENTERPRISE_URN),
        (
            json!({ENTERPRISE_URN: {"manager": {"value": 1.5}}}),
            "manager.value",
        ),
    ];
    for (extra, attr) in cases {
        let mut body = json!({"schemas": [USER_URN], "userName": "u"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (t, detail) = err_type(canonicalize(user(), &body));
        assert_eq!(t, Some(ScimType::InvalidValue), "{body}");
        assert!(detail.contains(attr), "{detail:?} should name {attr}");
    }
}

#[test]
fn well_typed_values_of_every_type_pass() {
    let out = canonicalize(
        user(),
        &json!({
            "schemas": [USER_URN],
            "userName": "u",
            "active": true,
            "profileUrl": "https://x.example/u",
            "x509Certificates": [{"value": "TUlJRA=="}],
            "meta": {"created": "2024-01-02T03:04:05Z"},
        }),
    )
    .unwrap();
    assert_eq!(out["x509Certificates"][0]["value"], "TUlJRA==");
    assert_eq!(out["meta"]["created"], "2024-01-02T03:04:05Z");
}

#[test]
fn boolean_strings_in_any_case_become_booleans() {
    for (s, b) in [
        ("False", false),
        ("false", false),
        ("TRUE", true),
        ("True", true),
    ] {
        let out = canonicalize(
            user(),
            &json!({"schemas": [USER_URN], "userName": "u", "active": s, "roles": [{"value": "r", "primary": s}]}),
        )
        .unwrap();
        assert_eq!(out["active"], json!(b));
        assert_eq!(out["roles"][0]["primary"], json!(b));
    }
}

#[test]
fn null_empty_array_and_empty_object_are_unassigned() {
    let out = canonicalize(
        user(),
        &json!({
            "schemas": [USER_URN], "userName": "u",
            "nickName": null, "emails": [], "name": {}, "addresses": [null], "title": null,
            ENTERPRISE_URN: {"manager": null},
        }),
    )
    .unwrap();
    assert_eq!(out, json!({"schemas": [USER_URN], "userName": "u"}));
}

#[test]
fn entra_manager_shapes_are_accepted() {
    let as_array = canonicalize(
        user(),
        &json!({"schemas": [USER_URN], "userName": "u", ENTERPRISE_URN: {"manager": [{"value": "m1", "$ref": null}]}}),
    )
    .unwrap();
    assert_eq!(as_array[ENTERPRISE_URN]["manager"], json!({"value": "m1"}));
    let as_string = canonicalize(
        user(),
        &json!({"schemas": [USER_URN], "userName": "u", ENTERPRISE_URN: {"manager": "m1"}}),
    )
    .unwrap();
    assert_eq!(as_string, as_array);
}

#[test]
fn two_primaries_are_invalid_value() {
    let (t, detail) = err_type(canonicalize(
        user(),
        &json!({"schemas": [USER_URN], "userName": "u", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": "True"}]}),
    ));
    assert_eq!(t, Some(ScimType::InvalidValue));
    assert!(detail.contains("emails"));
}

#[test]
fn repeated_values_are_merged_into_the_first() {
    let out = canonicalize(
        user(),
        &json!({"schemas": [USER_URN], "userName": "u", "emails": [
            {"value": "a@x", "type": "work"}, {"value": "A@X", "type": "work", "primary": true},
            {"value": "a@x", "type": "home"}]}),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "a@x", "type": "work", "primary": true}, {"value": "a@x", "type": "home"}])
    );
}

#[test]
fn create_drops_read_only_without_checking_them() {
    let out = prepare_create(
        user(),
        &json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "client-chosen",
            "meta": {"resourceType": "Group", "created": "not a date"},
            "groups": "junk",
            "userName": "u",
            ENTERPRISE_URN: {"manager": {"value": "m", "displayName": "bogus"}},
        }),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "u", ENTERPRISE_URN: {"manager": {"value": "m"}}})
    );
}

#[test]
fn create_requires_user_name_and_group_display_name() {
    for body in [
        json!({"schemas": [USER_URN]}),
        json!({"schemas": [USER_URN], "userName": ""}),
    ] {
        let (t, detail) = err_type(prepare_create(user(), &body));
        assert_eq!(t, Some(ScimType::InvalidValue));
        assert!(detail.contains("userName"));
    }
    let (t, detail) = err_type(prepare_create(
        group(),
        &json!({"schemas": [GROUP_URN], "members": []}),
    ));
    assert_eq!(t, Some(ScimType::InvalidValue));
    assert!(detail.contains("displayName"));
    let g = prepare_create(
        group(),
        &json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": "u1", "$ref": null}]}),
    )
    .unwrap();
    assert_eq!(
        g,
        json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": "u1"}]})
    );
}

#[test]
fn create_orders_attributes_by_schema() {
    let out = prepare_create(
        user(),
        &json!({ENTERPRISE_URN: {"department": "d"}, "title": "t", "userName": "u", "externalId": "e", "schemas": [USER_URN]}),
    )
    .unwrap();
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["schemas", "externalId", "userName", "title", ENTERPRISE_URN]
    );
}

fn stored_user() -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": "id1",
        "userName": "u",
        "nickName": "n",
        "password": "secret",
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
        ENTERPRISE_URN: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "Boss"}},
    })
}

#[test]
fn replace_keeps_read_only_and_password_and_clears_the_rest() {
    let out = prepare_replace(
        user(),
        &stored_user(),
        &json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "other", "meta": {"created": "2000-01-01T00:00:00Z"},
            "userName": "u2",
            ENTERPRISE_URN: {"manager": {"value": "m2", "displayName": "bogus"}},
        }),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "id1",
            "userName": "u2",
            "password": "secret",
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
            ENTERPRISE_URN: {"manager": {"value": "m2", "displayName": "Boss"}},
        })
    );
}

#[test]
fn replace_sets_a_sent_password_and_requires_user_name() {
    let out = prepare_replace(
        user(),
        &stored_user(),
        &json!({"schemas": [USER_URN], "userName": "u", "password": "new"}),
    )
    .unwrap();
    assert_eq!(out["password"], "new");
    let (t, _) = err_type(prepare_replace(
        user(),
        &stored_user(),
        &json!({"schemas": [USER_URN], "nickName": "x"}),
    ));
    assert_eq!(t, Some(ScimType::InvalidValue));
}

#[test]
fn replace_enforces_immutable_values() {
    // The builtin schemas have no immutable top-level attribute; make one.
    let mut rt = user().clone();
    let nick = rt
        .schema
        .attributes
        .iter_mut()
        .find(|a| a.name == "nickName")
        .unwrap();
    nick.mutability = Mutability::Immutable;
    let body = |nick: Option<&str>| {
        let mut b = json!({"schemas": [USER_URN], "userName": "u"});
        if let Some(n) = nick {
            b["nickName"] = json!(n);
        }
        b
    };
    let (t, _) = err_type(prepare_replace(&rt, &stored_user(), &body(Some("changed"))));
    assert_eq!(t, Some(ScimType::Mutability));
    // Same value (case-insensitively, nickName is caseExact=false) or omitted: kept.
    assert_eq!(
        prepare_replace(&rt, &stored_user(), &body(Some("N"))).unwrap()["nickName"],
        "N"
    );
    assert_eq!(
        prepare_replace(&rt, &stored_user(), &body(None)).unwrap()["nickName"],
        "n"
    );
    // Unset: may be set.
    let mut unset = stored_user();
    unset.as_object_mut().unwrap().remove("nickName");
    assert_eq!(
        prepare_replace(&rt, &unset, &body(Some("new"))).unwrap()["nickName"],
        "new"
    );
}

#[test]
fn replace_of_group_members_ignores_immutable_sub_attributes_of_items() {
    let existing = json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": "u1", "display": "One"}]});
    let out = prepare_replace(
        group(),
        &existing,
        &json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": "u2"}]}),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "u2"}]));
}

#[test]
fn validate_keeps_read_only_and_checks_required() {
    let out = validate(user(), &stored_user()).unwrap();
    assert_eq!(out, stored_user());
    let mut broken = stored_user();
    broken.as_object_mut().unwrap().remove("userName");
    let (t, _) = err_type(validate(user(), &broken));
    assert_eq!(t, Some(ScimType::InvalidValue));
    // No `schemas` needed: it is derived.
    let out = validate(group(), &json!({"displayName": "g"})).unwrap();
    assert_eq!(out["schemas"], json!([GROUP_URN]));
}

#[test]
fn base64_check() {
    assert!(is_base64(""));
    assert!(is_base64("TQ=="));
    assert!(is_base64("TWE="));
    assert!(is_base64("TWFu"));
    assert!(!is_base64("TWF"));
    assert!(!is_base64("T==="));
    assert!(!is_base64("TW=u"));
    assert!(!is_base64("TW-_"));
}

#[test]
fn item_identity_follows_value_and_type() {
    let members = group().schema.attribute("members").unwrap();
    assert!(same_item(
        members,
        &json!({"value": "u1"}),
        &json!({"value": "u1", "type": "User", "display": "x"})
    ));
    assert!(!same_item(
        members,
        &json!({"value": "u1"}),
        &json!({"value": "u2"})
    ));
    let addresses = user().schema.attribute("addresses").unwrap();
    assert!(same_item(
        addresses,
        &json!({"locality": "A"}),
        &json!({"locality": "a"})
    ));
    assert!(!same_item(
        addresses,
        &json!({"locality": "A"}),
        &json!({"locality": "A", "region": "R"})
    ));
}
