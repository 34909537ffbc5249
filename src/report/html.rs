//! The HTML report (`report.html`): one self-contained file, template and stylesheet beside
//! this module (`html/report.html.j2`, `html/report.css`, compiled in with `include_str!`).
//!
//! Everything a target sends back is hostile until proven otherwise, so:
//! - data only ever enters as template *values*, never as template source, so `{{ 7*7 }}` in
//!   a body stays text;
//! - auto-escaping is on for every template whatever its name, and the formatter also escapes
//!   `{` and `}` (a report opened inside a client-side templating page cannot be evaluated)
//!   and scrubs control characters;
//! - the page needs no JavaScript (filters are CSS radio buttons), and its Content Security
//!   Policy forbids every script, so even a missed escape could not run one.

use crate::report::common::{self, Verdict};
use crate::report::{ReportError, Reporter};
use crate::results::{
    FeatureFinding, Outcome, RunEvent, RunResult, Severity, Stats, StepResult, TestResult,
};
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, HtmlEscape, Output, State, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

const TEMPLATE_NAME: &str = "report.html.j2";
const TEMPLATE: &str = include_str!("html/report.html.j2");
const CSS: &str = include_str!("html/report.css");

/// Writes `report.html` on [`RunEvent::Finished`].
pub struct HtmlReporter {
    path: PathBuf,
}

impl HtmlReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        HtmlReporter { path: path.into() }
    }
}

impl Reporter for HtmlReporter {
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let RunEvent::Finished(run) = event {
            common::write_atomic(&self.path, render(run)?.as_bytes())?;
        }
        Ok(())
    }
}

/// What the template sees: the (redacted) run plus what is easier to compute in Rust.
#[derive(Serialize)]
struct Page<'a> {
    run: &'a RunResult,
    counts: String,
    duration: String,
    areas: Vec<(String, Stats)>,
    tests: Vec<TestView<'a>>,
    problems: usize,
    run_failures: usize,
    skips: Vec<SkipGroup>,
    broken: Vec<&'a FeatureFinding>,
    unadvertised: Vec<&'a FeatureFinding>,
    other_findings: Vec<&'a FeatureFinding>,
}

#[derive(Serialize)]
struct TestView<'a> {
    t: &'a TestResult,
    label: &'static str,
    /// Row class, used by the CSS filters: pass, fail (fails the run), warn, info, error, skip.
    class: &'static str,
    severity: &'static str,
    /// Steps worth expanding: only those of failed or errored tests.
    steps: Vec<StepView<'a>>,
}

#[derive(Serialize)]
struct StepView<'a> {
    s: &'a StepResult,
    request_body: Option<String>,
    response_body: Option<String>,
}

#[derive(Serialize)]
struct SkipGroup {
    reason: String,
    ids: Vec<String>,
}

/// The whole page.
pub fn render(run: &RunResult) -> Result<String, ReportError> {
    let run = common::redacted(run);
    let err = |e: minijinja::Error| ReportError::Render {
        what: "HTML",
        detail: format!("{e:#}"),
    };
    let env = environment().map_err(err)?;
    let page = page(&run);
    let ctx = minijinja::context! {
        css => Value::from_safe_string(CSS.to_owned()),
        ..Value::from(Serde(&page)),
    };
    env.get_template(TEMPLATE_NAME)
        .and_then(|t| t.render(ctx))
        .map_err(err)
}

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // Every template is HTML, whatever its name says.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A typo in the template is an error in the tests, not a silently empty cell.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_formatter(formatter);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    Ok(env)
}

/// The default HTML escaping, plus scrubbed control characters and escaped braces.
fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), minijinja::Error> {
    let plain = value.is_safe()
        || value.is_undefined()
        || value.is_none()
        || value.is_number()
        || value.kind() == minijinja::value::ValueKind::Bool
        || *state.auto_escape() != AutoEscape::Html;
    if plain {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let escaped = HtmlEscape(&common::scrub(&text))
        .to_string()
        .replace('{', "&#123;")
        .replace('}', "&#125;");
    out.write_str(&escaped).map_err(minijinja::Error::from)
}

fn page(run: &RunResult) -> Page<'_> {
    let mut areas: BTreeMap<String, Vec<TestResult>> = BTreeMap::new();
    for t in &run.tests {
        let area = t.area.clone().unwrap_or_else(|| "(no area)".to_owned());
        areas.entry(area).or_default().push(t.clone());
    }
    let mut areas: Vec<(String, Stats)> = areas
        .into_iter()
        .map(|(a, tests)| (a, Stats::from_tests(&tests)))
        .collect();
    areas.push(("total".to_owned(), Stats::from_tests(&run.tests)));

    let tests: Vec<TestView<'_>> = run.tests.iter().map(|t| test_view(t, run)).collect();
    let problems = tests
        .iter()
        .filter(|v| !matches!(v.class, "pass" | "skip"))
        .count();
    let run_failures = tests.iter().filter(|v| v.class == "fail").count();

    let mut skips: Vec<SkipGroup> = Vec::new();
    for t in run.tests.iter().filter(|t| t.outcome == Outcome::Skip) {
        let reason = t
            .message
            .clone()
            .unwrap_or_else(|| "no reason given".to_owned());
        match skips.iter_mut().find(|g| g.reason == reason) {
            Some(g) => g.ids.push(t.id.clone()),
            None => skips.push(SkipGroup {
                reason,
                ids: vec![t.id.clone()],
            }),
        }
    }
    skips.sort_by(|a, b| {
        b.ids
            .len()
            .cmp(&a.ids.len())
            .then_with(|| a.reason.cmp(&b.reason))
    });

    let of_kind = |k: &str| {
        run.feature_findings
            .iter()
            .filter(|f| f.kind == k)
            .collect()
    };
    let other_findings = run
        .feature_findings
        .iter()
        .filter(|f| {
            !matches!(
                f.kind.as_str(),
                "advertised_but_broken" | "working_but_not_advertised"
            )
        })
        .collect();
    Page {
        run,
        counts: Verdict::of(run).counts(),
        duration: common::duration(run.duration_ms),
        areas,
        tests,
        problems,
        run_failures,
        skips,
        broken: of_kind("advertised_but_broken"),
        unadvertised: of_kind("working_but_not_advertised"),
        other_findings,
    }
}

fn test_view<'a>(t: &'a TestResult, run: &RunResult) -> TestView<'a> {
    let class = match t.outcome {
        Outcome::Pass => "pass",
        Outcome::Skip => "skip",
        Outcome::Error => "error",
        Outcome::Fail if common::fails_run(t, run.fail_on) => "fail",
        Outcome::Fail if t.severity() == Severity::Warning => "warn",
        Outcome::Fail => "info",
    };
    let steps = match t.outcome {
        Outcome::Fail | Outcome::Error => t
            .steps
            .iter()
            .map(|s| StepView {
                s,
                request_body: s.request.body.as_deref().map(common::pretty_body),
                response_body: s
                    .response
                    .as_ref()
                    .and_then(|r| r.body.as_deref())
                    .map(common::pretty_body),
            })
            .collect(),
        _ => Vec::new(),
    };
    TestView {
        t,
        label: common::label(t),
        class,
        severity: if t.outcome == Outcome::Fail {
            common::severity_str(t.severity())
        } else {
            ""
        },
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn renders_a_mixed_run() {
        let html = render(&fixtures::run()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        for want in [
            "scimtest FAILED",
            "2 passed, 1 failed, 1 warning, 1 info, 1 error, 2 skipped",
            "https:&#x2f;&#x2f;scim.example.test&#x2f;scim&#x2f;v2",
            "<tr class=\"row fail\">",
            "<tr class=\"row warn\">",
            "<tr class=\"row info\">",
            "<tr class=\"row error\">",
            "<tr class=\"row skip\">",
            "RFC7644-3.3-201",
            "A successful POST answers 201 Created",
            "<details>",
            "feature not advertised: bulk",
            "sortBy is ignored",
            "reports&#x2f;ledger-run-20250101-0001.jsonl",
        ] {
            assert!(html.contains(want), "missing {want:?}");
        }
        assert_eq!(html.matches("<tr class=\"row ").count(), 8);
        // fail, warn, info and error rows expand; so does the one skip group
        assert_eq!(html.matches("<details>").count(), 5);
        assert!(!html.contains(fixtures::SECRET));
        assert!(html.contains("[redacted]"));
    }

    #[test]
    fn self_contained_and_script_free() {
        let html = render(&fixtures::run()).unwrap();
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("src="));
        assert!(html.contains("script-src 'none'"));
        assert!(html.contains("<style>"));
    }

    #[test]
    fn hostile_strings_are_escaped() {
        let html = render(&fixtures::hostile()).unwrap();
        for raw in fixtures::HOSTILE {
            assert!(!html.contains(raw), "unescaped {raw:?}");
        }
        assert!(!html.contains("<img"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        assert!(
            !html.contains("49"),
            "template syntax in data must not be evaluated"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(html.contains("&#123;&#123; 7*7 &#125;&#125;"));
        assert!(!html.contains('\u{1b}'));
        assert!(!html.contains('\0'));
    }

    #[test]
    fn no_template_value_is_left_undefined() {
        // SemiStrict makes a misspelt field an error: render every shape the template knows.
        let mut run = fixtures::run();
        run.passed = true;
        run.cleanup = Default::default();
        run.feature_findings.clear();
        run.tests.iter_mut().for_each(|t| t.area = None);
        render(&run).unwrap();
        render(&fixtures::hostile()).unwrap();
    }
}
