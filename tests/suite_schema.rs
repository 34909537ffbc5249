//! `schemas/suite.schema.json` (the editor schema for suite files) against the real suites and
//! the real loader, so the schema and `src/suite/model.rs` cannot drift apart unnoticed:
//!
//! * every suite under `suites/` (not `profiles/` or `load/`) satisfies the schema;
//! * the keys of every closed object and the values of every enum in the schema are exactly
//!   the ones the model's own "unknown field / unknown variant" errors list;
//! * the fault and schema-name enums equal what `scimtest lint` knows, and every requirement id
//!   of the catalog fits the id pattern;
//! * a document using every key is accepted by the schema, the parser and lint alike;
//! * wrong documents are rejected by the schema (and by the parser or lint where they are).
//!
//! No network: the schema is compiled with the `jsonschema` crate without its resolvers.

mod common;

use scimtest::exec::schema_check::SchemaSet;
use scimtest::exec::template::{RunContext, Templates};
use scimtest::server::faults::Fault;
use scimtest::suite::load::{self, Known};
use scimtest::suite::requirements::Requirements;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_document() -> Value {
    common::schema_document("schemas/suite.schema.json")
}

fn validator() -> jsonschema::Validator {
    common::schema_validator("schemas/suite.schema.json")
}

use common::violations;

fn yaml_to_json(source: &str) -> Value {
    serde_saphyr::from_str::<Value>(source).unwrap_or_else(|e| panic!("not YAML: {e}\n{source}"))
}

fn templates() -> Templates {
    Templates::new(RunContext {
        prefix: "lint".into(),
        domain: "example.com".into(),
        run_id: "lint".into(),
        base_url: "http://lint".into(),
    })
}

/// What the loader says about `source`: Err(parse error), or Ok(what `scimtest lint` reports).
fn loader(source: &str) -> Result<Vec<String>, String> {
    let suite = load::parse_suite(Path::new("inline.yaml"), source.to_string())
        .map_err(|e| e.to_string())?;
    let schemas = SchemaSet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let templates = templates();
    let known = Known {
        requirements: Requirements::builtin(),
        schemas: schemas.names().into_iter().collect(),
        faults: Fault::ALL.iter().map(|f| f.name().to_string()).collect(),
        templates: &templates,
    };
    Ok(load::check(&[suite], &known)
        .iter()
        .map(|e| e.to_string())
        .collect())
}

/// Every problem the loader (parser, then lint) finds in `source`.
fn loader_problems(source: &str) -> Vec<String> {
    match loader(source) {
        Ok(lint) => lint,
        Err(parse) => vec![parse],
    }
}

/// The schema object at a JSON pointer.
fn at<'a>(doc: &'a Value, pointer: &str) -> &'a Value {
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("schema has nothing at {pointer}"))
}

fn property_names(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties in {schema}"))
        .keys()
        .cloned()
        .collect()
}

fn enum_values(schema: &Value) -> BTreeSet<String> {
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum in {schema}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("non-string enum value {v}"))
                .to_string()
        })
        .collect()
}

/// The names after "expected" in a serde error ("expected one of a, b, c" / "expected `a` or `b`").
fn expected_names(message: &str) -> BTreeSet<String> {
    let (_, tail) = message
        .split_once("expected ")
        .unwrap_or_else(|| panic!("the loader's message lists no expected names: {message}"));
    let tail = tail.strip_prefix("one of ").unwrap_or(tail);
    tail.split(", ")
        .flat_map(|p| p.split(" or "))
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The loader's parse error for `source` (which must not parse).
fn parse_error(source: &str) -> String {
    match load::parse_suite(Path::new("probe.yaml"), source.to_string()) {
        Ok(_) => panic!("the loader accepted a document meant to be wrong:\n{source}"),
        Err(e) => e.message,
    }
}

/// A one-test suite whose only step is `step` (the text of one YAML sequence item).
fn suite_with_step(step: &str) -> String {
    format!(
        "id: s\ntitle: T\ntests:\n  - id: t\n    title: x\n    requirements: [P-3.3-01]\n    faults: [no-location]\n    steps:\n      - {step}\n"
    )
}

#[test]
fn schema_is_a_valid_2020_12_schema() {
    let doc = schema_document();
    assert_eq!(
        doc["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    validator();
}

#[test]
fn every_suite_file_satisfies_the_schema() {
    let v = validator();
    let dir = root().join("suites");
    let files = load::find_suite_files(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    assert!(!files.is_empty(), "no suite files under {}", dir.display());
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f);
        let first = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        assert!(
            first != "profiles" && first != "load",
            "{} is not a suite file",
            f.display()
        );
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        let doc = match serde_saphyr::from_str::<Value>(&text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{}: not YAML: {e}", f.display()));
                continue;
            }
        };
        for p in violations(&v, &doc) {
            problems.push(format!("{}: {p}", f.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "{} suite file(s) checked; the schema rejects:\n{}\n(if the suite is right, update schemas/suite.schema.json and docs/suite-format.md)",
        files.len(),
        problems.join("\n")
    );
}

/// For each closed object of the model: a document with an unknown key at that place, and the
/// schema object that describes the place. The loader's error lists the model's field names.
#[test]
fn closed_objects_have_exactly_the_model_fields() {
    let request = "request: {method: GET, path: /Users}";
    let cases: Vec<(&str, String, &str)> = vec![
        ("SuiteFile", "id: s\ntitle: T\ntests: []\nzz_unknown: 1\n".into(), ""),
        ("Requires", "id: s\ntitle: T\nrequires: {zz_unknown: 1}\ntests: []\n".into(), "/$defs/requires"),
        (
            "Test",
            "id: s\ntitle: T\ntests:\n  - {id: t, title: x, requirements: [P-3.3-01], steps: [], zz_unknown: 1}\n".into(),
            "/$defs/test",
        ),
        ("Step", suite_with_step(&format!("{{{request}, zz_unknown: 1}}")), "/$defs/step"),
        ("Request", suite_with_step("request: {method: GET, path: /Users, zz_unknown: 1}"), "/$defs/request"),
        ("Expect", suite_with_step(&format!("{{{request}, expect: {{zz_unknown: 1}}}}")), "/$defs/expect"),
        (
            "PathAssertion",
            suite_with_step(&format!("{{{request}, expect: {{jsonpath: [{{path: $.a, zz_unknown: 1}}]}}}}")),
            "/$defs/pathAssertion",
        ),
        (
            "Predicate (headers)",
            suite_with_step(&format!("{{{request}, expect: {{headers: {{ETag: {{zz_unknown: 1}}}}}}}}")),
            "/$defs/predicate",
        ),
        (
            "Predicate (every)",
            suite_with_step(&format!("{{{request}, expect: {{jsonpath: [{{path: $.a, every: {{zz_unknown: 1}}}}]}}}}")),
            "/$defs/predicate",
        ),
        ("ScimExpect", suite_with_step(&format!("{{{request}, expect: {{scim: {{zz_unknown: 1}}}}}}")), "/$defs/scim"),
        (
            "SortSpec",
            suite_with_step(&format!("{{{request}, expect: {{scim: {{sorted_by: {{attribute: userName, zz_unknown: 1}}}}}}}}")),
            "/$defs/sortSpec",
        ),
    ];
    let doc = schema_document();
    let v = validator();
    let mut drift = Vec::new();
    for (name, source, pointer) in &cases {
        let message = parse_error(source);
        assert!(
            message.contains("zz_unknown"),
            "{name}: unexpected loader error: {message}"
        );
        let model = expected_names(&message);
        let schema_obj = at(&doc, pointer);
        assert_eq!(
            schema_obj["additionalProperties"],
            json!(false),
            "{name}: the schema object must be closed"
        );
        let schema = property_names(schema_obj);
        if model != schema {
            drift.push(format!(
                "{name}: only in the model {:?}, only in the schema {:?}",
                model.difference(&schema).collect::<Vec<_>>(),
                schema.difference(&model).collect::<Vec<_>>()
            ));
        }
        assert!(
            !violations(&v, &yaml_to_json(source)).is_empty(),
            "{name}: the schema accepts an unknown key"
        );
    }
    assert!(
        drift.is_empty(),
        "schema and model disagree on keys:\n{}",
        drift.join("\n")
    );
}

#[test]
fn enums_have_exactly_the_model_variants() {
    let request = "request: {method: GET, path: /Users}";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "Feature",
            "id: s\ntitle: T\nrequires: {features: [zz_unknown]}\ntests: []\n".into(),
            "/$defs/feature",
        ),
        (
            "Probe",
            "id: s\ntitle: T\nrequires: {probes: [zz_unknown]}\ntests: []\n".into(),
            "/$defs/probe",
        ),
        (
            "Extension",
            "id: s\ntitle: T\nrequires: {extensions: [zz_unknown]}\ntests: []\n".into(),
            "/$defs/extension",
        ),
        (
            "Auth",
            suite_with_step("request: {method: GET, path: /Users, auth: zz_unknown}"),
            "/$defs/request/properties/auth",
        ),
        (
            "JsonType",
            suite_with_step(&format!(
                "{{{request}, expect: {{jsonpath: [{{path: $.a, type: zz_unknown}}]}}}}"
            )),
            "/$defs/jsonType",
        ),
    ];
    let doc = schema_document();
    for (name, source, pointer) in &cases {
        let message = parse_error(source);
        assert!(
            message.contains("zz_unknown"),
            "{name}: unexpected loader error: {message}"
        );
        assert_eq!(
            expected_names(&message),
            enum_values(at(&doc, pointer)),
            "{name}: schema enum and model variants differ"
        );
    }
}

#[test]
fn name_lists_match_what_lint_knows() {
    let doc = schema_document();
    let faults: BTreeSet<String> = Fault::ALL.iter().map(|f| f.name().to_string()).collect();
    let in_schema = enum_values(at(&doc, "/$defs/faultName"));
    assert_eq!(
        in_schema,
        faults,
        "update $defs/faultName in schemas/suite.schema.json: missing {:?}, stale {:?}",
        faults.difference(&in_schema).collect::<Vec<_>>(),
        in_schema.difference(&faults).collect::<Vec<_>>()
    );

    let schemas: BTreeSet<String> = SchemaSet::builtin()
        .unwrap_or_else(|e| panic!("{e}"))
        .names()
        .into_iter()
        .collect();
    let in_schema = enum_values(at(&doc, "/$defs/schemaName"));
    assert_eq!(
        in_schema,
        schemas,
        "update $defs/schemaName in schemas/suite.schema.json (and the list in docs/suite-format.md): missing {:?}, stale {:?}",
        schemas.difference(&in_schema).collect::<Vec<_>>(),
        in_schema.difference(&schemas).collect::<Vec<_>>()
    );

    // Every catalog id fits the requirement-id pattern.
    let ids: Vec<&str> = Requirements::builtin()
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert!(!ids.is_empty());
    let suite = json!({
        "id": "s", "title": "T",
        "tests": [{"id": "t", "title": "x", "requirements": ids, "steps": []}]
    });
    let v = validator();
    let problems = violations(&v, &suite);
    assert!(
        problems.is_empty(),
        "catalog ids the schema's pattern refuses:\n{}",
        problems.join("\n")
    );

    // Each method the schema offers passes lint; one it does not offer fails lint.
    for m in enum_values(at(&doc, "/$defs/request/properties/method")) {
        let src = suite_with_step(&format!("request: {{method: {m}, path: /Users}}"));
        assert_eq!(
            loader_problems(&src),
            Vec::<String>::new(),
            "lint refuses method {m}"
        );
    }
    let src = suite_with_step("request: {method: OPTIONS, path: /Users}");
    assert!(
        !loader_problems(&src).is_empty(),
        "lint accepts OPTIONS, but the schema does not offer it"
    );
}

/// Uses every key of the format at least once; schema, parser and lint must all accept it.
const EVERY_KEY: &str = r#"
id: every-key
title: A suite that uses every key
description: Not a real suite.
area: CRT
tags: [demo]
requires:
  resource_types: [User, Group]
  features: [patch, bulk, filter, sort, etag, changePassword]
  probes: [search, root_search, me]
  extensions: [enterprise]
vars:
  name: "{{ user_name() }}"
  label: "{{ unique('grp') }}"
  count: "{{ 2 }}"
fixtures:
  - name: create a user
    request:
      method: POST
      path: /Users
      body:
        schemas: [urn:ietf:params:scim:schemas:core:2.0:User]
        userName: "{{ name }}"
    expect:
      status: 201
    capture:
      uid: $.id
      loc: {header: Location}
tests:
  - id: all-expectations
    title: Every expectation once
    requirements: [P-3.3-01, C-4.1.1-02]
    tags: [extra]
    requires: {resource_types: [User]}
    vars:
      other: "{{ random_string(length=4, class='latin') }}"
    faults: [no-location, create-200]
    profiles: [rfc]
    steps:
      - request:
          method: GET
          path: "{{ loc }}"
          query: {attributes: userName, count: "{{ count }}"}
          headers: {Accept: application/scim+json}
          auth: default
        expect:
          status: [200, 203]
          headers:
            Content-Type: {matches: "^application/scim\\+json", exists: true}
            ETag: {type: string, length: {min: 1}, not_equals: "", contains: W, ignore_case: true}
          schema: User
          jsonpath:
            - path: $.userName
              equals: "{{ name }}"
              ignore_case: true
              type: string
              length: {min: 3, max: 200}
              exists: true
            - path: $.schemas
              contains: urn:ietf:params:scim:schemas:core:2.0:User
              length: 1
              every: {type: string, matches: "^urn:", exists: true, equals: urn:ietf:params:scim:schemas:core:2.0:User, not_equals: x, contains: urn, length: {max: 100}, ignore_case: false}
            - path: $.nickName
              exists: false
              not_equals: nobody
        capture:
          again: $.userName
      - request: {method: PUT, path: "/Users/{{ uid }}", body: {userName: "{{ again }}"}}
        expect:
          scim: {matches_sent: true, resource_type: User}
      - request: {method: GET, path: /Users, query: {filter: 'userName eq "{{ name }}"', sortBy: userName}}
        expect:
          scim:
            all_match: 'userName eq "{{ name }}"'
            sorted_by: {attribute: userName, descending: false}
      - request: {method: POST, path: /Users, raw_body: "{not json", headers: {Content-Type: application/json}, auth: none}
        expect:
          status: 401
          scim: {error: any}
      - request: {method: DELETE, path: "/Users/{{ uid }}", auth: invalid}
        expect: {status: 401}
      - {request: {method: PATCH, path: "/Users/{{ uid }}", body: null}}
      - {request: {method: HEAD, path: /Users}}
"#;

#[test]
fn a_document_with_every_key_is_accepted_by_schema_parser_and_lint() {
    let v = validator();
    let problems = violations(&v, &yaml_to_json(EVERY_KEY));
    assert!(
        problems.is_empty(),
        "the schema rejects a valid suite:\n{}",
        problems.join("\n")
    );
    let problems = loader_problems(EVERY_KEY);
    assert!(
        problems.is_empty(),
        "the loader rejects the every-key suite:\n{}",
        problems.join("\n")
    );
}

/// Who else refuses a document the schema must refuse.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AlsoRefusedBy {
    /// The model cannot parse it.
    Parser,
    /// It parses, and `scimtest lint` reports it.
    Lint,
    /// The loader takes it, but it silently checks nothing or hides a typo: the schema is
    /// stricter on purpose (see docs/suite-format.md, "Editor support").
    SchemaOnly,
}

#[test]
fn wrong_documents_are_rejected() {
    use AlsoRefusedBy::*;
    let req = "request: {method: GET, path: /Users}";
    let cases: Vec<(&str, String, AlsoRefusedBy)> = vec![
        (
            "unknown key in expect",
            suite_with_step(&format!("{{{req}, expect: {{stauts: 200}}}}")),
            Parser,
        ),
        (
            "bad auth value",
            suite_with_step("request: {method: GET, path: /Users, auth: bearer}"),
            Parser,
        ),
        (
            "status as a string",
            suite_with_step(&format!("{{{req}, expect: {{status: \"200\"}}}}")),
            Lint,
        ),
        (
            "status list with a string",
            suite_with_step(&format!("{{{req}, expect: {{status: [200, \"201\"]}}}}")),
            Parser,
        ),
        (
            "status out of range",
            suite_with_step(&format!("{{{req}, expect: {{status: 70000}}}}")),
            Parser,
        ),
        (
            "negative length",
            suite_with_step(&format!(
                "{{{req}, expect: {{jsonpath: [{{path: $.a, length: -1}}]}}}}"
            )),
            Parser,
        ),
        (
            "missing request",
            suite_with_step("expect: {status: 200}"),
            Parser,
        ),
        (
            "missing path",
            suite_with_step("request: {method: GET}"),
            Parser,
        ),
        (
            "test without title",
            "id: s\ntitle: T\ntests: [{id: t, requirements: [P-3.3-01], steps: []}]\n".into(),
            Parser,
        ),
        ("suite without tests", "id: s\ntitle: T\n".into(), Parser),
        (
            "unknown feature",
            "id: s\ntitle: T\nrequires: {features: [change_password]}\ntests: []\n".into(),
            Parser,
        ),
        (
            "capture of a number",
            suite_with_step(&format!("{{{req}, capture: {{a: 5}}}}")),
            Parser,
        ),
        (
            "nested every",
            suite_with_step(&format!(
                "{{{req}, expect: {{jsonpath: [{{path: $.a, every: {{every: {{}}}}}}]}}}}"
            )),
            Parser,
        ),
        (
            "tags: null",
            "id: s\ntitle: T\ntags: null\ntests: []\n".into(),
            Parser,
        ),
        (
            "lower-case method",
            suite_with_step("request: {method: get, path: /Users}"),
            Lint,
        ),
        (
            "unknown fault",
            suite_with_step(&format!("{{{req}}}")).replace("no-location", "no-locaton"),
            Lint,
        ),
        (
            "unknown schema name",
            suite_with_step(&format!("{{{req}, expect: {{schema: Usr}}}}")),
            Lint,
        ),
        (
            "no requirement",
            suite_with_step(&format!("{{{req}}}")).replace("[P-3.3-01]", "[]"),
            Lint,
        ),
        (
            "body and raw_body",
            suite_with_step("request: {method: POST, path: /Users, body: {a: 1}, raw_body: x}"),
            Lint,
        ),
        (
            "type: null unquoted",
            suite_with_step(&format!(
                "{{{req}, expect: {{jsonpath: [{{path: $.a, type: null}}]}}}}"
            )),
            SchemaOnly,
        ),
        (
            "status: null",
            suite_with_step(&format!("{{{req}, expect: {{status: null}}}}")),
            SchemaOnly,
        ),
        (
            "typo in length bounds",
            suite_with_step(&format!(
                "{{{req}, expect: {{jsonpath: [{{path: $.a, length: {{min: 1, mx: 3}}}}]}}}}"
            )),
            Parser,
        ),
        (
            "extra key in a header capture",
            suite_with_step(&format!(
                "{{{req}, capture: {{a: {{header: ETag, path: $.id}}}}}}"
            )),
            SchemaOnly,
        ),
    ];
    let v = validator();
    let mut wrong = Vec::new();
    for (name, source, also) in &cases {
        if violations(&v, &yaml_to_json(source)).is_empty() {
            wrong.push(format!("the schema accepts: {name}"));
        }
        let refused_by = match loader(source) {
            Err(_) => Some(Parser),
            Ok(lint) if !lint.is_empty() => Some(Lint),
            Ok(_) => None,
        };
        if *also != SchemaOnly && refused_by != Some(*also) {
            wrong.push(format!(
                "{name}: expected the {also:?} to refuse it, refused by {refused_by:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
