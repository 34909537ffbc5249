//! Property: `apply` never panics, whatever the PATCH body, and what it returns is already in
//! canonical form (re-validating it changes nothing).

use super::*;
use crate::scim::schema::{Registry, ENTERPRISE_URN, GROUP_URN, USER_URN};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::json;

/// Generated PATCH bodies per run.
pub const CASES: u32 = 3000;

const KEYS: &[&str] = &[
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "givenName",
    "familyName",
    "userName",
    "nickName",
    "emails",
    "members",
    "active",
    "name",
    "id",
    "meta",
    "manager",
    "groups",
    "password",
    "name.givenName",
    "displayName",
    ENTERPRISE_URN,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
];

const GROUP_PATHS: &[&str] = &[
    "displayName",
    "members",
    "members[value eq \"u1\"]",
    "members[value eq \"u2\"].display",
    "members[type eq \"User\"]",
    "members[value eq \"u9\"]",
    "members.value",
    "externalId",
    "id",
    "meta",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "members[value sw \"u\"].type",
];

const USER_PATHS: &[&str] = &[
    "userName",
    "nickName",
    "active",
    "name",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.primary",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[value pr].primary",
    "emails[type eq \"work\" and primary eq true].display",
    "addresses[type eq \"home\"].locality",
    "members",
    "members[value eq \"u1\"]",
    "members[value eq \"u1\"].display",
    "members.value",
    "displayName",
    "id",
    "meta.created",
    "groups",
    "password",
    "manager",
    "x509Certificates[value pr].value",
    ENTERPRISE_URN,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"home\"]",
    "emails[",
    "a..b",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z0-9@. ]{0,10}".prop_map(Value::String),
        select(vec![
            "true",
            "False",
            "u1",
            "u2",
            "work",
            "home",
            "2024-01-01T00:00:00Z",
            "QUJD"
        ])
        .prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![select(KEYS).prop_map(String::from), "[a-zA-Z$.:]{1,8}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Values that fit some attribute, so that operations get past type checks.
fn plausible() -> impl Strategy<Value = Value> {
    select(vec![
        json!("x"),
        json!("False"),
        json!(true),
        json!("2024-01-01T00:00:00Z"),
        json!([{"value": "u3"}]),
        json!([{"value": "u1", "display": "D", "$ref": null}]),
        json!({"value": "v", "type": "work", "primary": true}),
        json!([{"value": "e@x", "type": "home", "primary": "true"}]),
        json!({"givenName": "G"}),
        json!({"employeeNumber": "2", "manager": "m2"}),
        json!([]),
        json!({}),
        json!({"nickName": "n", "name.givenName": "G", "emails[type eq \"work\"].value": "w@x", "active": "false"}),
        json!({"id": "id1", "displayName": "x", "members": [{"value": "u9"}]}),
    ])
}

fn operation(paths: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        40 => select(vec!["add", "Add", "replace", "REPLACE", "remove", "Remove"]).prop_map(Value::from),
        1 => select(vec!["move", "test"]).prop_map(Value::from),
        1 => json_value(),
    ];
    let path = prop_oneof![
        30 => select(paths).prop_map(Value::from),
        3 => "[a-zA-Z0-9:.\\[\\]\" =]{0,30}".prop_map(Value::String),
        1 => json_value(),
    ];
    let path = proptest::option::weighted(0.85, path);
    let value = proptest::option::weighted(0.9, prop_oneof![3 => plausible(), 2 => json_value()]);
    (op, path, value).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), op);
        if let Some(p) = path {
            o.insert("path".into(), p);
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

fn request(paths: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        20 => prop::collection::vec(operation(paths), 1..4)
            .prop_map(|ops| json!({"schemas": [PATCH_OP_URN], "Operations": ops})),
        1 => prop::collection::vec(operation(paths), 0..2)
            .prop_map(|ops| json!({"schemas": [PATCH_OP_URN], "Operations": ops})),
        1 => json_value(),
    ]
}

fn resources() -> Vec<(&'static ResourceType, Value)> {
    let reg = Registry::builtin();
    vec![
        (
            &reg.user,
            json!({
                "schemas": [USER_URN, ENTERPRISE_URN],
                "id": "id1",
                "userName": "u",
                "name": {"givenName": "G"},
                "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "type": "home"}],
                "addresses": [{"type": "home", "locality": "L"}],
                ENTERPRISE_URN: {"employeeNumber": "1", "manager": {"value": "m", "displayName": "M"}},
            }),
        ),
        (
            &reg.group,
            json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": "u1", "display": "One"}, {"value": "u2"}]}),
        ),
    ]
}

proptest! {
    #![proptest_config(Config { cases: CASES, ..Config::default() })]

    #[test]
    fn apply_never_panics_and_returns_canonical_resources(
        (which, body) in (0usize..2).prop_flat_map(|w| (Just(w), request([USER_PATHS, GROUP_PATHS][w])))
    ) {
        let (rt, res) = resources().swap_remove(which);
        match apply(rt, &res, &body) {
            Ok(out) => {
                let again = resource::validate(rt, &out);
                prop_assert_eq!(again.as_ref().ok(), Some(&out), "not canonical: {:?}", again);
            }
            Err(e) => prop_assert_eq!(e.status, 400, "{}", e),
        }
    }
}
