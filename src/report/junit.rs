//! The JUnit XML report (`junit.xml`), written with the `junit-report` crate when the run
//! finishes.
//!
//! # Mapping
//!
//! - One `<testsuite>` per suite (`name` = suite id, `package` = suite title, and the title
//!   again in the suite's `<system-out>`), one `<testcase>` per test (`name` = test id,
//!   `classname` = suite id, `file` = suite file, `time` in seconds).
//! - A failure that fails the run — level at or above the run's `fail_on` — is a `<failure>`:
//!   `type` = severity (`failure`, or `warning` when `fail_on` is SHOULD), `message` = the
//!   first failed check, text = the same detail the terminal prints, without colour.
//! - A failure *below* `fail_on` (SHOULD under the default MUST, MAY always) is a passing
//!   testcase whose `<system-out>` starts with `WARNING:` or `INFO:` and carries the detail.
//!   CI then goes red exactly when the exit code says the run failed, and the finding stays
//!   one click away.
//! - A test that could not check is an `<error>` (type `error`), never a `<failure>`: it says
//!   nothing about conformance.
//! - A skip is `<skipped>` with the gate as message.
//!
//! # Where the requirements go
//!
//! `junit-report` writes no `<properties>`, so requirement IDs, levels and summaries go in
//! the testcase's `<system-out>` (every testcase, passing ones too, so coverage is visible)
//! and open the failure text. Not in the name: GitLab, Jenkins and GitHub test reporters
//! track history by classname + name, and a name that changes whenever the catalog does
//! would break flaky/new-failure tracking. All three show the failure text (GitLab "trace",
//! Jenkins "stack trace", GitHub annotations), and GitLab and Jenkins show `system-out` in the
//! test details.
//!
//! # Hostile text
//!
//! The crate escapes attributes but writes text as raw CDATA, so every string is scrubbed of
//! XML-invalid characters first, and each `]]>` in CDATA text is split across two CDATA
//! sections (`]]]]><![CDATA[>`), which an XML parser reads back as the original text.

use crate::report::common::{self, Paint};
use crate::report::{ReportError, Reporter};
use crate::results::{Outcome, RunEvent, RunResult, TestResult};
use junit_report::{Duration, OffsetDateTime, Report, TestCase, TestSuite};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes `junit.xml` on [`RunEvent::Finished`].
pub struct JunitReporter {
    path: PathBuf,
}

impl JunitReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JunitReporter { path: path.into() }
    }
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let RunEvent::Finished(run) = event {
            common::write_atomic(&self.path, &render(run)?)?;
        }
        Ok(())
    }
}

/// The whole report as XML bytes.
pub fn render(run: &RunResult) -> Result<Vec<u8>, ReportError> {
    let run = common::redacted(run);
    let timestamp = started_at(&run.started_at);
    let mut report = Report::new();
    let mut suites: Vec<TestSuite> = Vec::new();
    // Suites in order of first appearance; tests keep the run's order inside a suite.
    for test in &run.tests {
        let idx = match suites.iter().position(|s| s.name == attr(&test.suite)) {
            Some(idx) => idx,
            None => {
                let mut suite = TestSuite::new(&attr(&test.suite));
                suite.package = attr(&test.suite_title);
                suite.set_system_out(&cdata(&format!("{}: {}\n", test.suite, test.suite_title)));
                if let Some(ts) = timestamp {
                    suite.set_timestamp(ts);
                }
                suites.push(suite);
                suites.len() - 1
            }
        };
        suites[idx].add_testcase(testcase(test, &run));
    }
    report.add_testsuites(suites);
    let mut out = Vec::new();
    report
        .write_xml(&mut out)
        .map_err(|e| ReportError::Render {
            what: "JUnit",
            detail: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}

fn testcase(test: &TestResult, run: &RunResult) -> TestCase {
    let name = attr(&test.id);
    let time = Duration::milliseconds(i64::try_from(test.duration_ms).unwrap_or(i64::MAX));
    let severity = common::severity_str(test.severity());
    let mut out = requirements_text(test);
    let mut case = match test.outcome {
        Outcome::Pass => TestCase::success(&name, time),
        Outcome::Fail if common::fails_run(test, run.fail_on) => {
            let mut case =
                TestCase::failure(&name, time, severity, &attr(&common::first_failure(test)));
            set_cause(&mut case, &common::failure_detail(test, Paint::PLAIN));
            case
        }
        Outcome::Fail => {
            let head = format!(
                "{}: {} failure below fail-on {}; does not fail the run\n{}\n",
                severity.to_uppercase(),
                test.level.as_str(),
                run.fail_on.as_str(),
                common::failure_detail(test, Paint::PLAIN)
            );
            out.insert_str(0, &head);
            TestCase::success(&name, time)
        }
        Outcome::Error => {
            let message = test
                .message
                .as_deref()
                .unwrap_or("the test could not check");
            let mut case = TestCase::error(&name, time, "error", &attr(message));
            set_cause(&mut case, &common::failure_detail(test, Paint::PLAIN));
            case
        }
        Outcome::Skip => {
            let reason = test.message.as_deref().unwrap_or("skipped");
            let mut case = TestCase::skipped_with_cause(&name, "skip", &attr(reason));
            case.time = time;
            case
        }
    };
    case.set_classname(&attr(&test.suite));
    case.set_filepath(&attr(file_of(&test.source)));
    case.set_system_out(&cdata(&out));
    case
}

/// `requirements:` block plus the test's title and source, for `<system-out>`.
fn requirements_text(test: &TestResult) -> String {
    let mut out = format!("{}\nat {}\nrequirements:\n", test.title, test.source);
    for r in &test.requirements {
        let _ = writeln!(out, "  {} {} — {}", r.id, r.level.as_str(), r.summary);
    }
    out
}

fn set_cause(case: &mut TestCase, text: &str) {
    let text = cdata(text);
    match &mut case.result {
        junit_report::TestResult::Failure { cause, .. }
        | junit_report::TestResult::Error { cause, .. } => *cause = Some(text),
        _ => {}
    }
}

/// `suites/users.yaml:40:5` → `suites/users.yaml`: the `file` attribute is a path.
fn file_of(source: &str) -> &str {
    let mut path = source;
    for _ in 0..2 {
        match path.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                path = head;
            }
            _ => break,
        }
    }
    path
}

/// Attribute text: XML-valid characters on one line (the crate escapes `<&"`; parsers would
/// turn newlines into spaces anyway).
pub(crate) fn attr(text: &str) -> String {
    common::scrub(text).replace(['\n', '\t'], " ")
}

/// CDATA text: XML-valid characters, and `]]>` split so it cannot close the section early.
fn cdata(text: &str) -> String {
    common::scrub(text).replace("]]>", "]]]]><![CDATA[>")
}

/// The run's start (RFC 3339) as the suites' timestamp; `None` keeps the crate's "now".
fn started_at(text: &str) -> Option<OffsetDateTime> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    OffsetDateTime::from_unix_timestamp(parsed.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn xml(run: &RunResult) -> String {
        String::from_utf8(render(run).unwrap()).unwrap()
    }

    /// Counts `<name` openings (`<testsuite` must not count `<testsuites`).
    fn count(xml: &str, name: &str) -> usize {
        xml.match_indices(&format!("<{name}"))
            .filter(|(i, _)| {
                let next = xml[i + name.len() + 1..].chars().next();
                matches!(next, Some(' ' | '>' | '/'))
            })
            .count()
    }

    #[test]
    fn structure_of_a_mixed_run() {
        let out = xml(&fixtures::run());
        check_well_formed(&out).unwrap();
        assert_eq!(count(&out, "testsuites"), 1);
        assert_eq!(
            count(&out, "testsuite"),
            5,
            "discovery, users, filter, groups, bulk"
        );
        assert_eq!(count(&out, "testcase"), 8);
        assert_eq!(
            count(&out, "failure"),
            1,
            "only the MUST failure at fail-on MUST"
        );
        assert_eq!(count(&out, "error"), 1);
        assert_eq!(count(&out, "skipped"), 2);
        assert!(out.contains(r#"<testcase name="users/create-returns-201" time="0.015" classname="users" file="suites/core/users.yaml">"#), "{out}");
        assert!(out.contains(
            r#"<failure type="failure" message="status: expected status 201, got 200">"#
        ));
        assert!(out.contains(r#"<testsuite id="1" name="users" package="USERS resources""#));
        assert!(out.contains(r#"timestamp="2025-01-01T12:00:00Z""#));
        assert!(out.contains(r#"<skipped type="skip" message="feature not advertised: bulk"/>"#));
        assert!(out.contains(r#"<error type="error" message="connection refused (os error 111)">"#));
        // failure text = the terminal's detail, uncoloured
        assert!(out.contains("    ✗ status: expected status 201\n        actual   200\n"));
        // below-threshold findings ride along as passing testcases
        assert!(out.contains("WARNING: SHOULD failure below fail-on MUST; does not fail the run"));
        assert!(out.contains("INFO: MAY failure below fail-on MUST"));
        // requirements on every testcase, passes included
        assert!(out.contains("  RFC7644-4-spc MUST — The SPC endpoint answers 200 with the config"));
    }

    #[test]
    fn fail_on_should_turns_should_failures_into_failures() {
        let mut run = fixtures::run();
        run.fail_on = crate::results::Level::Should;
        let out = xml(&run);
        assert_eq!(count(&out, "failure"), 2);
        assert!(out.contains(r#"<failure type="warning" message="header: expected header X-Request-Id is absent, got 42">"#));
    }

    #[test]
    fn hostile_strings_keep_the_xml_well_formed() {
        let run = fixtures::hostile();
        let out = xml(&run);
        check_well_formed(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        // Markup in attributes is escaped; in CDATA it is text. The original text survives the CDATA split, as a parser reads it back.
        let texts = cdata_texts(&out);
        let evil_after_scrub = common::scrub(&fixtures::HOSTILE.join(" ")).into_owned();
        assert!(
            texts.iter().any(|t| t.contains(&evil_after_scrub)),
            "{texts:?}"
        );
    }

    #[test]
    fn secrets_never_reach_the_file() {
        let out = xml(&fixtures::run());
        assert!(!out.contains(fixtures::SECRET));
    }

    #[test]
    fn file_of_strips_positions_only() {
        assert_eq!(file_of("suites/a.yaml:40:5"), "suites/a.yaml");
        assert_eq!(file_of("suites/a.yaml"), "suites/a.yaml");
        assert_eq!(file_of("C:/x/a.yaml:3"), "C:/x/a.yaml");
    }

    #[test]
    fn the_checker_rejects_what_it_must() {
        assert!(check_well_formed("<a><b></a>").is_err());
        assert!(check_well_formed("<a><![CDATA[x]]>]]></a>").is_err());
        assert!(check_well_formed("<a>\u{1b}</a>").is_err());
        assert!(check_well_formed("<a x=\"<\"/>").is_err());
        assert!(check_well_formed("<a>&bogus;</a>").is_err());
        assert!(check_well_formed(
            "<?xml version=\"1.0\"?><a x=\"&amp;\"><![CDATA[]]]]><![CDATA[>]]></a>"
        )
        .is_ok());
    }

    /// The text of every CDATA section, adjacent sections joined as a parser would.
    fn cdata_texts(xml: &str) -> Vec<String> {
        let mut texts = Vec::new();
        let mut rest = xml;
        let mut current: Option<String> = None;
        while let Some(start) = rest.find("<![CDATA[") {
            let body = &rest[start + 9..];
            let end = body.find("]]>").unwrap_or(body.len());
            match current.as_mut() {
                Some(text) if start == 0 => text.push_str(&body[..end]),
                _ => texts.extend(current.replace(body[..end].to_owned())),
            }
            rest = body.get(end + 3..).unwrap_or("");
        }
        texts.extend(current);
        texts
    }

    /// A small well-formedness check, enough for what junit-report emits: XML 1.0 characters,
    /// balanced tags, quoted attributes without `<`, known entities, `]]>` only as a CDATA end.
    fn check_well_formed(xml: &str) -> Result<(), String> {
        let valid = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
        if let Some(c) = xml.chars().find(|c| !valid(*c)) {
            return Err(format!("invalid character {c:?}"));
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = xml;
        while !rest.is_empty() {
            if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let end = body.find("]]>").ok_or("unterminated CDATA")?;
                rest = &body[end + 3..];
            } else if let Some(body) = rest.strip_prefix("<?") {
                let end = body.find("?>").ok_or("unterminated declaration")?;
                rest = &body[end + 2..];
            } else if let Some(body) = rest.strip_prefix("</") {
                let end = body.find('>').ok_or("unterminated end tag")?;
                let name = body[..end].trim();
                if stack.pop() != Some(name) {
                    return Err(format!("unbalanced </{name}>"));
                }
                rest = &body[end + 1..];
            } else if let Some(body) = rest.strip_prefix('<') {
                let end = body.find('>').ok_or("unterminated tag")?;
                let tag = &body[..end];
                let (tag, empty) = match tag.strip_suffix('/') {
                    Some(t) => (t, true),
                    None => (tag, false),
                };
                let name = tag.split(' ').next().unwrap_or("");
                check_attributes(&tag[name.len()..])?;
                if !empty {
                    stack.push(name);
                }
                rest = &body[end + 1..];
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                if text.contains("]]>") {
                    return Err("]]> in text".into());
                }
                check_entities(text)?;
                if !stack.is_empty() || text.trim().is_empty() {
                    rest = &rest[end..];
                } else {
                    return Err(format!("text outside the root: {text:?}"));
                }
            }
        }
        match stack.is_empty() {
            true => Ok(()),
            false => Err(format!("unclosed {stack:?}")),
        }
    }

    fn check_attributes(mut attrs: &str) -> Result<(), String> {
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                return Ok(());
            }
            let eq = attrs
                .find("=\"")
                .ok_or(format!("bad attribute {attrs:?}"))?;
            let value = &attrs[eq + 2..];
            let close = value.find('"').ok_or("unterminated attribute")?;
            if value[..close].contains('<') {
                return Err("< in attribute".into());
            }
            check_entities(&value[..close])?;
            attrs = &value[close + 1..];
        }
    }

    fn check_entities(text: &str) -> Result<(), String> {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
            let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
                || entity.starts_with("&#");
            if !known {
                return Err(format!("bad entity {entity:?}"));
            }
        }
        Ok(())
    }
}
