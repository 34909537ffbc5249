//! Results of a conformance run as plain, serialisable data, and the events that carry them.
//!
//! The runner only emits `RunEvent`s; every reporter (terminal, JUnit, JSON, HTML) consumes the
//! same stream, so what the terminal showed and what the files say cannot disagree. The JSON
//! report is this model serialised (`schemas/report.schema.json` pins its shape).

use serde::Serialize;
use std::collections::BTreeMap;

/// Requirement strength, from the catalog's keyword (RFC 2119).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Ordered weakest first so `max()` over a test's requirements gives its severity.
    May,
    Should,
    Must,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }

    /// What a failed check at this level means for the user.
    pub fn severity(self) -> Severity {
        match self {
            Level::Must => Severity::Failure,
            Level::Should => Severity::Warning,
            Level::May => Severity::Info,
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().trim_end_matches('†').to_ascii_uppercase().as_str() {
            "MUST" => Some(Level::Must),
            "SHOULD" => Some(Level::Should),
            "MAY" => Some(Level::May),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Failure,
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// A check did not hold: the server broke the cited rule.
    Fail,
    /// The test could not check (connection failure, timeout, template error): says nothing
    /// about conformance.
    Error,
    /// A gate was not met; `skip_reason` says which.
    Skip,
}

/// A requirement a test cites, resolved against the requirements table.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementRef {
    pub id: String,
    pub level: Level,
    /// One line, in our own words.
    pub summary: String,
}

/// One check inside a step (a status, a header, a JSONPath predicate, a schema, a SCIM rule).
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// `status`, `header`, `jsonpath`, `schema`, `scim.error`, `scim.matches_sent`, …
    pub kind: String,
    /// What was expected, readable: `status 201`, `$.id is a string`.
    pub expected: String,
    pub passed: bool,
    /// What was found instead, when the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Suite file position of the expectation (`suites/x.yaml:12:9`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The request as sent, with secrets redacted.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// Body excerpt (truncated), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The response as received (excerpt), with secrets redacted.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub name: String,
    /// Suite file position of the step.
    pub source: String,
    pub request: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRecord>,
    pub checks: Vec<CheckResult>,
    /// Why the step could not be checked (then the test's outcome is `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `suite-id/test-id`, unique in a run.
    pub id: String,
    pub suite: String,
    pub suite_title: String,
    /// Suite file and the test's position in it (`suites/users.yaml:40:5`).
    pub source: String,
    pub title: String,
    pub area: Option<String>,
    pub tags: Vec<String>,
    pub requirements: Vec<RequirementRef>,
    /// The strongest level among `requirements`.
    pub level: Level,
    pub outcome: Outcome,
    /// One line saying what went wrong (first failed check or the error), or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepResult>,
}

impl TestResult {
    /// Failure, warning or info: only meaningful when the outcome is `fail`.
    pub fn severity(&self) -> Severity {
        self.level.severity()
    }
}

/// What discovery learned about the target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// SPC feature → advertised `supported`.
    pub features: BTreeMap<String, bool>,
    pub resource_types: Vec<String>,
    /// User schema extensions listed by /ResourceTypes.
    pub extensions: Vec<String>,
    /// Probe → available.
    pub probes: BTreeMap<String, bool>,
    /// Problems met during discovery itself (unreachable endpoint, invalid JSON).
    pub problems: Vec<String>,
}

/// A mismatch between what the target advertises and what it does.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureFinding {
    pub feature: String,
    /// `advertised_but_broken` or `working_but_not_advertised`.
    pub kind: String,
    pub detail: String,
}

/// What the run created on the target and what it removed again.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupSummary {
    pub created: usize,
    pub deleted: usize,
    /// URLs of resources the run created but could not delete.
    pub left_behind: Vec<String>,
    /// The ledger file, for `scimtest cleanup --ledger`.
    pub ledger: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total: usize,
    pub passed: usize,
    /// Failed tests by severity.
    pub failures: usize,
    pub warnings: usize,
    pub infos: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Stats {
    pub fn from_tests(tests: &[TestResult]) -> Stats {
        let mut s = Stats {
            total: tests.len(),
            ..Stats::default()
        };
        for t in tests {
            match t.outcome {
                Outcome::Pass => s.passed += 1,
                Outcome::Error => s.errors += 1,
                Outcome::Skip => s.skipped += 1,
                Outcome::Fail => match t.severity() {
                    Severity::Failure => s.failures += 1,
                    Severity::Warning => s.warnings += 1,
                    Severity::Info => s.infos += 1,
                },
            }
        }
        s
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub tool: String,
    pub version: String,
    pub run_id: String,
    /// Base URL of the target (credentials never appear here).
    pub target: String,
    /// True when the run started the embedded reference server.
    pub embedded_target: bool,
    pub profile: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub discovery: Discovery,
    pub feature_findings: Vec<FeatureFinding>,
    pub tests: Vec<TestResult>,
    pub stats: Stats,
    pub cleanup: CleanupSummary,
    /// The level at which failures fail the run (`MUST` or `SHOULD`).
    pub fail_on: Level,
    /// Whether the run passed at `fail_on`.
    pub passed: bool,
}

/// What reporters receive, in order: `Started`, then `TestStarted`/`TestFinished` pairs (in
/// completion order when tests run concurrently), then `Finished` with the whole result.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Started { target: String, total: usize },
    TestStarted { id: String },
    TestFinished(Box<TestResult>),
    CleanupStarted { resources: usize },
    Finished(Box<RunResult>),
}
