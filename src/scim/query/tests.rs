use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{Registry, ENTERPRISE_URN, USER_URN};
use serde_json::json;

fn rt() -> &'static ResourceType {
    &Registry::builtin().user
}

fn full_user() -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": "id1",
        "externalId": "ext",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "nickName": "nick",
        "password": "secret",
        "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "type": "home"}],
        "groups": [{"value": "g1", "display": "G"}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
        ENTERPRISE_URN: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "Boss"}},
    })
}

fn names(list: &str) -> Vec<String> {
    parse_attribute_list(list)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn attribute_lists_split_at_commas() {
    assert_eq!(
        parse_attribute_list(" userName, name.givenName,,"),
        ["userName", "name.givenName"]
    );
    assert!(parse_attribute_list("").is_empty());
}

#[test]
fn default_projection_drops_never_returned_only() {
    let out = project(rt(), &full_user(), &[], &[]);
    let mut expected = full_user();
    expected.as_object_mut().unwrap().remove("password");
    assert_eq!(out, expected);
}

#[test]
fn attributes_keep_always_returned_plus_the_named_ones() {
    let out = project(rt(), &full_user(), &names("userName"), &[]);
    assert_eq!(
        out,
        json!({"schemas": [USER_URN, ENTERPRISE_URN], "id": "id1", "userName": "bjensen"})
    );
    let out = project(
        rt(),
        &full_user(),
        &names("userName,displayName,emails"),
        &[],
    );
    assert_eq!(
        keys(&out),
        ["schemas", "id", "userName", "displayName", "emails"]
    );
    let out = project(rt(), &full_user(), &names("nosuch"), &[]);
    assert_eq!(keys(&out), ["schemas", "id"]);
}

#[test]
fn sub_attribute_paths_select_sub_attributes() {
    let out = project(rt(), &full_user(), &names("name.givenName"), &[]);
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
    let out = project(rt(), &full_user(), &names("name"), &[]);
    assert_eq!(out["name"], full_user()["name"]);
    let out = project(rt(), &full_user(), &names("emails.value"), &[]);
    assert_eq!(out["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
    let out = project(
        rt(),
        &full_user(),
        &names("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:NAME.GIVENNAME"),
        &[],
    );
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
}

#[test]
fn never_returned_stays_out_even_when_named() {
    let out = project(rt(), &full_user(), &names("password,userName"), &[]);
    assert!(out.get("password").is_none());
}

#[test]
fn excluded_attributes_never_drop_always_returned_ones() {
    let out = project(
        rt(),
        &full_user(),
        &[],
        &names("displayName,emails,id,schemas"),
    );
    assert!(out.get("displayName").is_none() && out.get("emails").is_none());
    assert_eq!(out["id"], "id1");
    assert!(out.get("schemas").is_some() && out.get("userName").is_some());
    let out = project(rt(), &full_user(), &[], &names("name.givenName"));
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    // Both given: select, then exclude.
    let out = project(
        rt(),
        &full_user(),
        &names("userName,displayName"),
        &names("displayName"),
    );
    assert_eq!(keys(&out), ["schemas", "id", "userName"]);
}

#[test]
fn extension_attributes_by_urn_qualified_name() {
    let emp = format!("{ENTERPRISE_URN}:employeeNumber");
    let out = project(rt(), &full_user(), std::slice::from_ref(&emp), &[]);
    assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "7"}));
    let out = project(rt(), &full_user(), &[], &[emp]);
    assert_eq!(
        out[ENTERPRISE_URN],
        json!({"manager": {"value": "m", "displayName": "Boss"}})
    );
    let out = project(
        rt(),
        &full_user(),
        &[format!("{ENTERPRISE_URN}:manager.value")],
        &[],
    );
    assert_eq!(out[ENTERPRISE_URN], json!({"manager": {"value": "m"}}));
    let out = project(rt(), &full_user(), &[ENTERPRISE_URN.to_lowercase()], &[]);
    assert_eq!(out[ENTERPRISE_URN], full_user()[ENTERPRISE_URN]);
    let out = project(rt(), &full_user(), &[], &[ENTERPRISE_URN.to_string()]);
    assert!(out.get(ENTERPRISE_URN).is_none());
}

#[test]
fn returned_request_attributes_only_when_named() {
    let mut custom = rt().clone();
    if let Some(a) = custom
        .schema
        .attributes
        .iter_mut()
        .find(|a| a.name == "nickName")
    {
        a.returned = Returned::Request;
    }
    assert!(project(&custom, &full_user(), &[], &[])
        .get("nickName")
        .is_none());
    assert_eq!(
        project(&custom, &full_user(), &names("nickName"), &[])["nickName"],
        "nick"
    );
}

fn users(names: &[(&str, Value)]) -> Vec<Value> {
    names
        .iter()
        .map(|(id, extra)| {
            let mut u = json!({"schemas": [USER_URN], "id": id});
            for (k, v) in extra.as_object().unwrap() {
                u[k] = v.clone();
            }
            u
        })
        .collect()
}

fn ids(v: &[Value]) -> Vec<&str> {
    v.iter().map(|u| u["id"].as_str().unwrap()).collect()
}

#[test]
fn sorts_strings_by_case_exactness() {
    let mut v = users(&[
        ("1", json!({"userName": "c", "externalId": "a"})),
        ("2", json!({"userName": "a", "externalId": "B"})),
        ("3", json!({"userName": "B", "externalId": "c"})),
    ]);
    sort(rt(), &mut v, "userName", false).unwrap();
    assert_eq!(ids(&v), ["2", "3", "1"]);
    sort(rt(), &mut v, "userName", true).unwrap();
    assert_eq!(ids(&v), ["1", "3", "2"]);
    sort(rt(), &mut v, "externalId", false).unwrap();
    assert_eq!(ids(&v), ["2", "1", "3"]);
}

#[test]
fn missing_values_last_ascending_first_descending() {
    let mut v = users(&[
        ("1", json!({"title": "b"})),
        ("2", json!({})),
        ("3", json!({"title": "a"})),
    ]);
    sort(rt(), &mut v, "title", false).unwrap();
    assert_eq!(ids(&v), ["3", "1", "2"]);
    sort(rt(), &mut v, "title", true).unwrap();
    assert_eq!(ids(&v), ["2", "1", "3"]);
}

#[test]
fn multi_valued_sorts_by_primary_then_first_value() {
    let mut v = users(&[
        (
            "1",
            json!({"emails": [{"value": "a@x"}, {"value": "z@x", "primary": true}]}),
        ),
        ("2", json!({"emails": [{"value": "m@x"}, {"value": "b@x"}]})),
    ]);
    sort(rt(), &mut v, "emails.value", false).unwrap();
    assert_eq!(ids(&v), ["2", "1"]);
    // A complex attribute without sub-attribute sorts by its `value`.
    sort(rt(), &mut v, "Emails", true).unwrap();
    assert_eq!(ids(&v), ["1", "2"]);
}

#[test]
fn sorts_sub_attributes_urn_paths_and_datetimes() {
    let mut v = users(&[
        (
            "1",
            json!({"name": {"familyName": "Zed"}, "meta": {"created": "2024-01-01T10:00:00+02:00"}, ENTERPRISE_URN: {"employeeNumber": "2"}}),
        ),
        (
            "2",
            json!({"name": {"familyName": "abel"}, "meta": {"created": "2024-01-01T09:00:00Z"}, ENTERPRISE_URN: {"employeeNumber": "1"}}),
        ),
    ]);
    sort(rt(), &mut v, "name.familyName", false).unwrap();
    assert_eq!(ids(&v), ["2", "1"]);
    // 10:00+02:00 is 08:00Z: earlier, whatever the strings say.
    sort(rt(), &mut v, "meta.created", false).unwrap();
    assert_eq!(ids(&v), ["1", "2"]);
    sort(
        rt(),
        &mut v,
        &format!("{ENTERPRISE_URN}:employeeNumber"),
        false,
    )
    .unwrap();
    assert_eq!(ids(&v), ["2", "1"]);
}

#[test]
fn sort_is_stable_and_total_on_mixed_data() {
    let mut v = users(&[
        ("1", json!({"active": true})),
        ("2", json!({"active": "junk"})),
        ("3", json!({"active": true})),
        ("4", json!({"active": false})),
        ("5", json!({"active": 3})),
    ]);
    sort(rt(), &mut v, "active", false).unwrap();
    assert_eq!(ids(&v), ["4", "1", "3", "5", "2"]);
}

#[test]
fn unusable_sort_attributes_are_invalid_value() {
    for by in ["nosuch", "name", "password", "urn:x:y:z"] {
        let e = sort(rt(), &mut [full_user()], by, false).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{by}");
    }
}

#[test]
fn paging_follows_rfc_7644_section_3_4_2_4() {
    assert_eq!(page(10, None, None, 100), (0, 10));
    assert_eq!(page(10, Some(0), None, 100), (0, 10));
    assert_eq!(page(10, Some(-5), Some(2), 100), (0, 2));
    assert_eq!(page(10, Some(3), Some(2), 100), (2, 2));
    assert_eq!(page(10, Some(9), Some(5), 100), (8, 2));
    assert_eq!(page(10, Some(15), Some(5), 100), (10, 0));
    assert_eq!(page(10, None, Some(-1), 100), (0, 0));
    assert_eq!(page(10, None, Some(0), 100), (0, 0));
    assert_eq!(page(10, None, None, 4), (0, 4));
    assert_eq!(page(10, None, Some(50), 4), (0, 4));
    assert_eq!(page(0, Some(1), Some(10), 4), (0, 0));
    assert_eq!(
        page(10, Some(i64::MAX), Some(i64::MAX), usize::MAX),
        (10, 0)
    );
    assert_eq!(page(10, Some(i64::MIN), Some(i64::MIN), 100), (0, 0));
    assert_eq!(
        (
            start_index(None),
            start_index(Some(-3)),
            start_index(Some(7))
        ),
        (1, 1, 7)
    );
}
