//! Hand-built results for the reporter tests: one realistic run with every outcome, and a
//! hostile one whose strings try to break out of HTML, XML and the terminal.

use crate::results::{
    CheckResult, CleanupSummary, Discovery, FeatureFinding, Level, Outcome, RequestRecord,
    RequirementRef, ResponseRecord, RunResult, Stats, StepResult, TestResult,
};
use std::collections::BTreeMap;

/// A bearer token planted in request and response headers; no report may contain it.
pub(crate) const SECRET: &str = "s3cr3t-bearer-token";

fn req(id: &str, level: Level, summary: &str) -> RequirementRef {
    RequirementRef {
        id: id.into(),
        level,
        summary: summary.into(),
    }
}

fn check(kind: &str, expected: &str, actual: Option<&str>, source: &str) -> CheckResult {
    CheckResult {
        kind: kind.into(),
        expected: expected.into(),
        passed: actual.is_none(),
        actual: actual.map(Into::into),
        source: Some(source.into()),
    }
}

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn step(
    name: &str,
    method: &str,
    path: &str,
    status: Option<u16>,
    checks: Vec<CheckResult>,
) -> StepResult {
    let auth = format!("Bearer {SECRET}");
    StepResult {
        name: name.into(),
        source: format!("suites/core/{name}.yaml:12:7"),
        request: RequestRecord {
            method: method.into(),
            url: format!("https://scim.example.test/scim/v2{path}"),
            headers: headers(&[
                ("Authorization", &auth),
                ("Content-Type", "application/scim+json"),
            ]),
            body: (method == "POST").then(|| r#"{"userName":"bjensen"}"#.into()),
        },
        response: status.map(|status| ResponseRecord {
            status,
            headers: headers(&[
                ("Content-Type", "application/scim+json"),
                ("ETag", "W/\"3694e05e9dff590\""),
                ("authorization", &auth),
                ("X-Request-Id", "42"),
            ]),
            body: Some(
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": "2819c223-7f76-453a-919d-413861904646",
                    "userName": "bjensen",
                    "meta": { "resourceType": "User", "version": "W/\"3694e05e9dff590\"" },
                    "emails": (0..12).map(|i| serde_json::json!({"value": format!("b{i}@example.com")})).collect::<Vec<_>>(),
                })
                .to_string(),
            ),
            duration_ms: 12,
        }),
        checks,
        error: None,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a test builder, read at the call sites"
)]
fn test(
    suite: &str,
    name: &str,
    title: &str,
    area: &str,
    requirements: Vec<RequirementRef>,
    outcome: Outcome,
    message: Option<&str>,
    steps: Vec<StepResult>,
) -> TestResult {
    let level = requirements
        .iter()
        .map(|r| r.level)
        .max()
        .unwrap_or(Level::Must);
    TestResult {
        id: format!("{suite}/{name}"),
        suite: suite.into(),
        suite_title: format!("{} resources", suite.to_uppercase()),
        source: format!("suites/core/{suite}.yaml:40:5"),
        title: title.into(),
        area: Some(area.into()),
        tags: vec!["core".into()],
        requirements,
        level,
        outcome,
        message: message.map(Into::into),
        duration_ms: 15,
        steps,
    }
}

/// Two passes, a MUST failure, a SHOULD failure, a MAY failure, an error and two skips
/// sharing a reason; `fail_on` is MUST.
pub(crate) fn run() -> RunResult {
    let passed = |k, e| check(k, e, None, "suites/core/users.yaml:44:9");
    let mut error_step = step("create-group", "POST", "/Groups", None, vec![]);
    error_step.error = Some("connection refused (os error 111)".into());
    let tests = vec![
        test(
            "discovery",
            "spc-served",
            "ServiceProviderConfig is served",
            "discovery",
            vec![req(
                "RFC7644-4-spc",
                Level::Must,
                "The SPC endpoint answers 200 with the config",
            )],
            Outcome::Pass,
            None,
            vec![step(
                "get-spc",
                "GET",
                "/ServiceProviderConfig",
                Some(200),
                vec![passed("status", "status 200")],
            )],
        ),
        test(
            "users",
            "get-by-id",
            "A created user can be read back",
            "users",
            vec![req(
                "RFC7644-3.4.1-get",
                Level::Must,
                "GET on a resource URL returns it",
            )],
            Outcome::Pass,
            None,
            vec![step(
                "get-user",
                "GET",
                "/Users/2819c223",
                Some(200),
                vec![passed("status", "status 200")],
            )],
        ),
        test(
            "users",
            "create-returns-201",
            "Creating a user answers 201 Created",
            "users",
            vec![
                req(
                    "RFC7644-3.3-201",
                    Level::Must,
                    "A successful POST answers 201 Created",
                ),
                req(
                    "RFC7644-3.3-location",
                    Level::Should,
                    "The Location header names the new resource",
                ),
            ],
            Outcome::Fail,
            Some("status: expected status 201, got 200"),
            vec![step(
                "create-user",
                "POST",
                "/Users",
                Some(200),
                vec![
                    check(
                        "status",
                        "status 201",
                        Some("200"),
                        "suites/core/users.yaml:52:9",
                    ),
                    passed("jsonpath", "$.id is a string"),
                ],
            )],
        ),
        test(
            "users",
            "etag-on-get",
            "GET returns an ETag when versioning is on",
            "users",
            vec![req(
                "RFC7644-3.14-etag",
                Level::Should,
                "Versioned resources carry an ETag header",
            )],
            Outcome::Fail,
            Some("header: expected header X-Request-Id is absent, got 42"),
            vec![step(
                "get-user",
                "GET",
                "/Users/2819c223",
                Some(200),
                vec![check(
                    "header",
                    "header X-Request-Id is absent",
                    Some("42"),
                    "suites/core/users.yaml:80:9",
                )],
            )],
        ),
        test(
            "filter",
            "sort-by-username",
            "sortBy=userName orders the results",
            "filter",
            vec![req(
                "RFC7644-3.4.2.3-sort",
                Level::May,
                "Sorting, when supported, orders by the attribute",
            )],
            Outcome::Fail,
            Some("jsonpath: expected $.Resources[*].userName sorted ascending"),
            vec![step(
                "list-sorted",
                "GET",
                "/Users?sortBy=userName",
                Some(200),
                vec![check(
                    "jsonpath",
                    "$.Resources[*].userName sorted ascending",
                    Some("[\n  \"zed\",\n  \"amy\"\n]"),
                    "suites/core/filter.yaml:20:9",
                )],
            )],
        ),
        test(
            "groups",
            "create-group",
            "Creating a group answers 201",
            "groups",
            vec![req(
                "RFC7644-3.3-201",
                Level::Must,
                "A successful POST answers 201 Created",
            )],
            Outcome::Error,
            Some("connection refused (os error 111)"),
            vec![error_step],
        ),
        test(
            "bulk",
            "post-bulk",
            "POST /Bulk applies every operation",
            "bulk",
            vec![req(
                "RFC7644-3.7-bulk",
                Level::Must,
                "Bulk applies operations in order",
            )],
            Outcome::Skip,
            Some("feature not advertised: bulk"),
            vec![],
        ),
        test(
            "bulk",
            "fail-on-errors",
            "failOnErrors stops the bulk request",
            "bulk",
            vec![req(
                "RFC7644-3.7.3-fail",
                Level::Must,
                "failOnErrors stops after that many errors",
            )],
            Outcome::Skip,
            Some("feature not advertised: bulk"),
            vec![],
        ),
    ];
    let stats = Stats::from_tests(&tests);
    RunResult {
        tool: "scimtest".into(),
        version: "0.1.0".into(),
        run_id: "run-20250101-0001".into(),
        target: "https://scim.example.test/scim/v2".into(),
        embedded_target: false,
        profile: "default".into(),
        started_at: "2025-01-01T12:00:00Z".into(),
        duration_ms: 3_240,
        discovery: Discovery {
            features: [("patch".to_owned(), true), ("bulk".to_owned(), false)].into(),
            resource_types: vec!["User".into(), "Group".into()],
            extensions: vec!["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()],
            probes: [("etag".to_owned(), true)].into(),
            problems: vec![],
        },
        feature_findings: vec![
            FeatureFinding {
                feature: "sort".into(),
                kind: "advertised_but_broken".into(),
                detail: "sortBy is ignored".into(),
            },
            FeatureFinding {
                feature: "etag".into(),
                kind: "working_but_not_advertised".into(),
                detail: "ETags are returned but SPC says etag.supported=false".into(),
            },
        ],
        tests,
        stats,
        cleanup: CleanupSummary {
            created: 4,
            deleted: 3,
            left_behind: vec!["https://scim.example.test/scim/v2/Users/left-1".into()],
            ledger: Some("reports/ledger-run-20250101-0001.jsonl".into()),
        },
        fail_on: Level::Must,
        passed: false,
    }
}

/// Strings that try to escape every output format.
pub(crate) const HOSTILE: [&str; 5] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "]]>",
    "{{ 7*7 }}",
    "\u{1b}[2J\u{0}\u{FFFF}",
];

/// The realistic run with every free-text field replaced by all of [`HOSTILE`].
pub(crate) fn hostile() -> RunResult {
    let evil = HOSTILE.join(" ");
    let mut run = run();
    run.target = format!("https://x.test/{evil}");
    run.profile = evil.clone();
    for t in &mut run.tests {
        t.title = evil.clone();
        t.suite_title = evil.clone();
        t.id = format!("{}{evil}", t.id);
        t.message = Some(evil.clone());
        t.area = Some(evil.clone());
        t.tags.push(evil.clone());
        for r in &mut t.requirements {
            r.summary = evil.clone();
        }
        for s in &mut t.steps {
            s.name = evil.clone();
            s.request.url = format!("https://x.test/{evil}");
            s.request.headers.insert(evil.clone(), evil.clone());
            s.error = s.error.as_ref().map(|_| evil.clone());
            if let Some(r) = &mut s.response {
                r.body = Some(format!(
                    "{{\"detail\":\"{}\"}}\n{evil}",
                    evil.replace('"', "'")
                ));
                r.headers.insert("content-type".into(), evil.clone());
            }
            for c in &mut s.checks {
                c.expected = evil.clone();
                c.actual = c.actual.as_ref().map(|_| evil.clone());
            }
        }
    }
    for f in &mut run.feature_findings {
        f.detail = evil.clone();
        f.feature = evil.clone();
    }
    run.cleanup.left_behind.push(evil.clone());
    run.discovery.problems.push(evil);
    run
}
