//! Property tests of response checking: `assert::check_step` never panics, whatever the server
//! answered — any status, headers with non-UTF-8 values, arbitrary bytes, arbitrary or deeply
//! nested JSON, SCIM-shaped bodies with every member of the wrong type — against expectations of
//! every kind, and it always returns one check per expectation.

use super::assert::{check_step, Ctx};
use super::http::HttpResponse;
use super::schema_check::SchemaSet;
use super::template::{RunContext, Templates};
use crate::suite::model::Expect;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// Responses tried by each property test.
pub const CASES: u32 = 3000;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Expectation sets covering every kind of check (55 checks in all), including ones whose own
/// text is broken (an undefined template variable, an invalid filter, an unknown attribute or
/// resource type, an invalid JSONPath or regular expression).
const EXPECTATIONS: &[&str] = &[
    "status: 200",
    "status: 4xx",
    "status: [200, 201, 204]",
    r#"headers:
  Content-Type: {contains: json, ignore_case: true}
  ETag: {exists: true, matches: '^W/"'}
  Location: {matches: '^https?://', not_equals: "{{ base_url }}"}
  X-Count: {type: string, length: {min: 1, max: 5}}
  X-Nope: {exists: false}
  Retry-After: {matches: '^[0-9]+$', optional: true}
  Content-Length: {equals: 0}"#,
    "schema: User",
    "schema: ListResponse",
    "schema: Error",
    "schema: NoSuchSchema",
    r#"jsonpath:
  - {path: $.id, type: string, exists: true}
  - {path: $.Resources, length: {min: 0, max: 3}}
  - {path: '$.Resources[*].emails[?@.primary == true].value', count: {max: 1}}
  - {path: $.userName, equals: "{{ prefix }}-x", ignore_case: true}
  - {path: $..value, every: {type: string, matches: '@'}}
  - {path: $.Resources, every: {contains: {active: true}}}
  - {path: $.totalResults, not_equals: 0, type: integer}
  - {path: $.schemas, contains: 'urn:ietf:params:scim:api:messages:2.0:ListResponse'}
  - {path: $.x, equals: null}
  - {path: '$[0]', length: 3}
  - {path: $.detail, matches: '(a+)+$', contains: a}
  - {path: '$.members[*]', count: 2, every: {exists: true, type: object}}
  - {path: "$.{{ undefined_var }}", exists: false}
  - {path: $.meta.version, equals: "{{ etag }}"}
  - {path: '$[', exists: true}
  - {path: $.emails, contains: {type: work}, every: {length: 2}}
  - {path: $.a.b.c, every: {equals: [1, {x: null}]}}
  - {path: $.name, contains: "{{ random_string(length=3, class='cjk') }}"}
  - {path: $.status, matches: '['}"#,
    "scim: {error: any}",
    "scim: {error: invalidValue}",
    "scim: {error: 'invalidValue|none'}",
    "scim: {matches_sent: true}",
    "scim: {matches_sent: true, resource_type: Group}",
    r#"scim: {all_match: 'userName sw "a" or emails[type eq "work"]'}"#,
    "scim: {all_match: 'meta.created gt \"2020-01-01T00:00:00Z\" and not (active eq false)', resource_type: User}",
    "scim: {all_match: '{{ undefined }}'}",
    "scim: {all_match: 'not a filter (('}",
    "scim: {sorted_by: {attribute: userName}}",
    "scim: {sorted_by: {attribute: meta.created, descending: true}, resource_type: Group}",
    "scim: {sorted_by: {attribute: emails}, resource_type: User}",
    "scim: {sorted_by: {attribute: nosuch}, resource_type: User}",
    "scim: {sorted_by: {attribute: userName}, resource_type: Nope}",
    r#"status: 201
headers: {Location: {exists: true}}
schema: Group
jsonpath:
  - {path: $.members, length: 1, every: {contains: {type: User}}}
scim: {error: any, matches_sent: true, all_match: 'displayName pr', sorted_by: {attribute: displayName}}"#,
];

struct Fixture {
    expects: Vec<Expect>,
    templates: Templates,
    scope: Map<String, Value>,
    schemas: SchemaSet,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        expects: EXPECTATIONS
            .iter()
            .map(|y| {
                serde_saphyr::from_str::<Expect>(y)
                    .unwrap_or_else(|e| panic!("expectation {y:?} does not parse: {e}"))
            })
            .collect(),
        templates: Templates::new(RunContext {
            prefix: "p".into(),
            domain: "example.com".into(),
            run_id: "r".into(),
            base_url: "http://127.0.0.1:1/scim/v2".into(),
        }),
        scope: [
            ("etag".to_string(), json!("W/\"1\"")),
            ("id".to_string(), json!(42)),
        ]
        .into_iter()
        .collect(),
        schemas: SchemaSet::builtin().expect("builtin schemas"),
    })
}

/// The number of checks `check_step` should produce for `e`: one per expectation item.
fn expected_checks(e: &Expect) -> usize {
    let scim = e.scim.as_ref().map_or(0, |s| {
        let s = &s.value;
        usize::from(s.error.is_some())
            + usize::from(s.matches_sent)
            + usize::from(s.all_match.is_some())
            + usize::from(s.sorted_by.is_some())
    });
    usize::from(e.status.is_some())
        + e.headers.len()
        + usize::from(e.schema.is_some())
        + e.jsonpath.len()
        + scim
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "id",
    "userName",
    "displayName",
    "emails",
    "value",
    "type",
    "primary",
    "active",
    "Resources",
    "totalResults",
    "meta",
    "created",
    "version",
    "schemas",
    "status",
    "scimType",
    "detail",
    "members",
    "name",
    "familyName",
    "x",
    "$ref",
    "",
];

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        "\\PC{0,16}".prop_map(Value::String),
        select(
            &[
                "a@x",
                "work",
                "User",
                "Group",
                "400",
                "invalidValue",
                "urn:ietf:params:scim:api:messages:2.0:Error",
                "urn:ietf:params:scim:api:messages:2.0:ListResponse",
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "2024-02-30T25:00:00Z",
                "2021-01-01T00:00:00Z",
                "W/\"1\"",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
                "",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Bodies shaped like SCIM answers, with arbitrary values where the members go.
fn arb_scim_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        (prop::collection::vec(arb_json(), 0..4), arb_leaf()).prop_map(|(items, total)| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": total,
                "Resources": items,
            })
        }),
        (arb_leaf(), arb_leaf(), arb_leaf()).prop_map(|(status, t, d)| json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status,
            "scimType": t,
            "detail": d,
        })),
        (arb_leaf(), arb_json(), arb_json(), arb_leaf()).prop_map(
            |(id, emails, members, created)| json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": id,
                "userName": "p-x",
                "emails": emails,
                "members": members,
                "meta": {"created": created, "version": "W/\"1\"", "resourceType": "User"},
            })
        ),
    ]
}

/// JSON nested `depth` levels deep (past serde_json's limit of 128 it no longer parses).
fn deep_text(depth: usize, object: bool) -> Vec<u8> {
    let (open, close) = if object {
        ("{\"value\":", "}")
    } else {
        ("[", "]")
    };
    format!("{}\"x@y\"{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..256),
        3 => arb_json().prop_map(|v| v.to_string().into_bytes()),
        4 => arb_scim_body().prop_map(|v| v.to_string().into_bytes()),
        1 => (1usize..200, any::<bool>()).prop_map(|(d, o)| deep_text(d, o)),
        1 => Just(Vec::new()),
        1 => (arb_scim_body(), any::<usize>()).prop_map(|(v, cut)| {
            let mut b = v.to_string().into_bytes();
            b.truncate(cut % (b.len() + 1));
            b
        }),
    ]
}

/// Header values may hold any byte but controls (HTTP's obs-text is not UTF-8).
fn arb_header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        prop::collection::vec(
            any::<u8>().prop_filter("no controls", |b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)),
            0..40
        ),
        select(
            &[
                "application/scim+json",
                "W/\"1\"",
                "http://x/Users/1",
                "12",
                "abc",
                ""
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
    .prop_map(|b| HeaderValue::from_bytes(&b).expect("legal header bytes"))
}

fn arb_headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(
        (
            select(
                &[
                    "content-type",
                    "etag",
                    "location",
                    "x-count",
                    "retry-after",
                    "content-length",
                    "x-nope",
                    "www-authenticate",
                ][..],
            ),
            arb_header_value(),
        ),
        0..8,
    )
    .prop_map(|hs| {
        let mut map = HeaderMap::new();
        for (name, value) in hs {
            map.append(HeaderName::from_static(name), value);
        }
        map
    })
}

fn arb_response() -> impl Strategy<Value = HttpResponse> {
    (any::<u16>(), arb_headers(), arb_body()).prop_map(|(status, headers, body)| HttpResponse {
        status,
        headers,
        body,
        duration: Duration::ZERO,
    })
}

/// What the step sent (for `matches_sent`): nothing, a valid resource, or anything.
fn arb_sent() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "p-x",
            "emails": [{"value": "a@x", "type": "work"}],
            "members": [{"value": "u1"}],
            "displayName": "G",
        }))),
        arb_json().prop_map(Some),
    ]
}

fn run(resp: &HttpResponse, sent: Option<&Value>, path: &str) -> Result<(), TestCaseError> {
    let f = fixture();
    let pos = |l: &serde_saphyr::Location| format!("p.yaml:{}:{}", l.line(), l.column());
    let ctx = Ctx {
        templates: &f.templates,
        scope: &f.scope,
        schemas: &f.schemas,
        sent,
        path,
        source: "p.yaml:1:1".into(),
        pos: &pos,
    };
    for (e, text) in f.expects.iter().zip(EXPECTATIONS) {
        let checks = check_step(e, resp, &ctx);
        prop_assert_eq!(
            checks.len(),
            expected_checks(e),
            "one check per expectation item for {}",
            text
        );
        for c in &checks {
            prop_assert!(c.source.is_some());
            prop_assert_eq!(c.passed, c.actual.is_none(), "{:?}", c);
        }
    }
    Ok(())
}

#[test]
fn every_expectation_parses_and_a_matching_answer_passes_the_basic_ones() {
    let f = fixture();
    assert_eq!(f.expects.len(), EXPECTATIONS.len());
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/scim+json"),
    );
    let resp = HttpResponse {
        status: 200,
        headers,
        body: br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"userName":"abc","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}]}"#.to_vec(),
        duration: Duration::ZERO,
    };
    let pos = |_: &serde_saphyr::Location| String::new();
    let ctx = Ctx {
        templates: &f.templates,
        scope: &f.scope,
        schemas: &f.schemas,
        sent: None,
        path: "/Users",
        source: String::new(),
        pos: &pos,
    };
    // Some expectations hold for this answer: the generator does not only exercise checks that
    // can never pass.
    for text in [
        "status: 200",
        "schema: ListResponse",
        r#"scim: {all_match: 'userName sw "a" or emails[type eq "work"]'}"#,
        "scim: {sorted_by: {attribute: userName}}",
    ] {
        let i = EXPECTATIONS.iter().position(|e| *e == text).expect(text);
        let checks = check_step(&f.expects[i], &resp, &ctx);
        assert!(checks.iter().all(|c| c.passed), "{text}: {checks:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn check_step_never_panics_on_any_answer(
        resp in arb_response(),
        sent in arb_sent(),
        path in select(&["/Users", "/Groups/x", "/.search", "/Bulk", "", "/Users?filter=x"][..]),
    ) {
        run(&resp, sent.as_ref(), path)?;
    }

    #[test]
    fn check_step_never_panics_on_scim_shaped_json(
        status in select(&[200u16, 201, 204, 400, 404, 409, 500][..]),
        headers in arb_headers(),
        body in arb_scim_body(),
        sent in arb_sent(),
    ) {
        let resp = HttpResponse {
            status,
            headers,
            body: body.to_string().into_bytes(),
            duration: Duration::ZERO,
        };
        run(&resp, sent.as_ref(), "/Users")?;
    }
}
