//! What every reporter shares: the failure text (the terminal and JUnit print the same words),
//! the verdict counts, secret redaction, control-character scrubbing and atomic file writes.
//!
//! Everything a target sends back is data we do not control, so each string goes through
//! [`scrub`] before a terminal or an XML file sees it, and header maps through [`redacted`].

use crate::report::ReportError;
use crate::results::{Level, Outcome, RunResult, Severity, StepResult, TestResult};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Output width the terminal layout aims at; long values are clipped to fit.
pub(crate) const WIDTH: usize = 100;
/// How many lines of a body (or of a multi-line actual value) a failure shows.
pub(crate) const BODY_LINES: usize = 20;
/// Headers whose value never reaches a report, whatever the runner already redacted.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];
pub(crate) const REDACTED: &str = "[redacted]";
/// Response headers worth showing next to a failure, in this order.
const SHOWN_HEADERS: [&str; 5] = [
    "content-type",
    "location",
    "etag",
    "www-authenticate",
    "retry-after",
];

/// Replaces secret header values in place (defence in depth: the runner redacts first).
pub(crate) fn redact_headers(headers: &mut BTreeMap<String, String>) {
    for (name, value) in headers.iter_mut() {
        if SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            *value = REDACTED.to_owned();
        }
    }
}

/// `https://user:pass@host/…` → `https://[redacted]@host/…`: credentials in a URL are as
/// secret as a header.
pub(crate) fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{REDACTED}{}", &url[..scheme_end], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

/// A copy of the run with secret headers and URL credentials redacted.
pub(crate) fn redacted(run: &RunResult) -> RunResult {
    let mut run = run.clone();
    run.target = redact_url(&run.target).into_owned();
    for test in &mut run.tests {
        redact_test(test);
    }
    run
}

pub(crate) fn redact_test(test: &mut TestResult) {
    for step in &mut test.steps {
        step.request.url = redact_url(&step.request.url).into_owned();
        redact_headers(&mut step.request.headers);
        if let Some(response) = &mut step.response {
            redact_headers(&mut response.headers);
        }
    }
}

/// Makes text safe for a terminal and for XML 1.0: control characters (ESC sequences, NUL,
/// bare CR) become visible `\u{1b}` escapes instead of acting on the terminal or breaking the
/// XML; newline and tab stay; the two non-characters XML forbids become U+FFFD.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_nonchar(c);
    if !text.contains(bad) {
        return Cow::Borrowed(text);
    }
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_nonchar(c) {
            out.push('\u{FFFD}');
        } else if bad(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_nonchar(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub(crate) fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

/// One line: newlines folded, scrubbed, clipped.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&scrub(&flat), max).into_owned()
}

/// A body as readable lines: JSON pretty-printed (servers often send one long line), at most
/// `max_lines` lines, each clipped to `width`, with a note saying how much was left out.
pub(crate) fn excerpt_lines(body: &str, max_lines: usize, width: usize) -> Vec<String> {
    let pretty = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    let text = pretty.as_deref().unwrap_or(body);
    let text = scrub(text);
    let all: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = all
        .iter()
        .take(max_lines)
        .map(|l| clip(l, width).into_owned())
        .collect();
    if all.len() > max_lines {
        out.push(format!("… {} more lines", all.len() - max_lines));
    }
    out
}

/// JSON bodies pretty-printed, anything else as received (HTML report: no line limit, the
/// runner already truncated the excerpt).
pub(crate) fn pretty_body(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// Whether this test fails the run: a failed check at or above the run's `fail_on` level.
pub(crate) fn fails_run(test: &TestResult, fail_on: Level) -> bool {
    test.outcome == Outcome::Fail && test.level >= fail_on
}

/// Short status word, shared by every report so they read alike.
pub(crate) fn label(test: &TestResult) -> &'static str {
    match test.outcome {
        Outcome::Pass => "PASS",
        Outcome::Error => "ERROR",
        Outcome::Skip => "SKIP",
        Outcome::Fail => match test.severity() {
            Severity::Failure => "FAIL",
            Severity::Warning => "WARN",
            Severity::Info => "INFO",
        },
    }
}

pub(crate) fn severity_str(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => "failure",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Counts relative to the run's `fail_on`: `failed` are the failures that fail the run;
/// failures below the threshold show as warnings (SHOULD) or infos (MAY).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub passed: usize,
    pub failed: usize,
    pub warnings: usize,
    pub infos: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Verdict {
    pub fn of(run: &RunResult) -> Verdict {
        let mut v = Verdict::default();
        for t in &run.tests {
            match t.outcome {
                Outcome::Pass => v.passed += 1,
                Outcome::Error => v.errors += 1,
                Outcome::Skip => v.skipped += 1,
                Outcome::Fail if t.level >= run.fail_on => v.failed += 1,
                Outcome::Fail if t.level == Level::Should => v.warnings += 1,
                Outcome::Fail => v.infos += 1,
            }
        }
        v
    }

    /// `61 passed, 2 failed, 1 warning, 1 skipped`: passed and failed always, the rest when
    /// non-zero.
    pub fn counts(&self) -> String {
        let mut parts = vec![
            format!("{} passed", self.passed),
            format!("{} failed", self.failed),
        ];
        let extra = [
            (self.warnings, "warning", "warnings"),
            (self.infos, "info", "infos"),
            (self.errors, "error", "errors"),
            (self.skipped, "skipped", "skipped"),
        ];
        for (n, one, many) in extra {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        parts.join(", ")
    }
}

/// Skip reasons with how many tests each one skipped, most frequent first.
pub(crate) fn skip_groups(run: &RunResult) -> Vec<(String, usize)> {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for t in run.tests.iter().filter(|t| t.outcome == Outcome::Skip) {
        let reason = t.message.as_deref().unwrap_or("no reason given");
        *groups.entry(one_line(reason, 200)).or_default() += 1;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    groups
}

/// `kind: expected, got actual` for the first failed check, else the test's own message.
pub(crate) fn first_failure(test: &TestResult) -> String {
    let check = test
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .find(|c| !c.passed);
    match check {
        Some(c) => {
            let mut line = format!("{}: expected {}", c.kind, c.expected);
            if let Some(actual) = &c.actual {
                let _ = write!(line, ", got {actual}");
            }
            one_line(&line, 300)
        }
        None => {
            let step_error = test.steps.iter().find_map(|s| s.error.as_deref());
            let text = test.message.as_deref().or(step_error).unwrap_or("failed");
            one_line(text, 300)
        }
    }
}

/// ANSI styling, or none: the same code produces the coloured terminal text and the plain
/// text JUnit carries, so the two cannot drift apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    pub color: bool,
}

impl Paint {
    pub const PLAIN: Paint = Paint { color: false };

    fn sgr(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn red(self, t: &str) -> String {
        self.sgr("31", t)
    }
    pub fn green(self, t: &str) -> String {
        self.sgr("32", t)
    }
    pub fn yellow(self, t: &str) -> String {
        self.sgr("33", t)
    }
    pub fn cyan(self, t: &str) -> String {
        self.sgr("36", t)
    }
    pub fn bold(self, t: &str) -> String {
        self.sgr("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.sgr("2", t)
    }

    /// The status word, coloured by what it means.
    pub fn label(self, test: &TestResult) -> String {
        let word = format!("{:<5}", label(test));
        match test.outcome {
            Outcome::Pass => self.green(&word),
            Outcome::Skip => self.dim(&word),
            Outcome::Error => self.red(&word),
            Outcome::Fail => match test.severity() {
                Severity::Failure => self.bold(&self.red(&word)),
                Severity::Warning => self.yellow(&word),
                Severity::Info => self.cyan(&word),
            },
        }
    }
}

/// The full story of a non-passing test, as the terminal prints it and JUnit stores it:
/// header, requirements, then per step the failed checks (expected, actual, suite position),
/// the request line and the response excerpt. Lines stay within [`WIDTH`] columns.
pub(crate) fn failure_detail(test: &TestResult, paint: Paint) -> String {
    let mut out = String::new();
    let id = one_line(&test.id, 60);
    // "LABEL [LEVEL] id — title": the title gets what is left of the line.
    let used = 5 + 2 + test.level.as_str().len() + 2 + id.chars().count() + 3;
    let title = one_line(&test.title, WIDTH.saturating_sub(used).max(10));
    let _ = writeln!(
        out,
        "{} [{}] {} — {}",
        paint.label(test),
        test.level.as_str(),
        paint.bold(&id),
        title
    );
    let at = format!("at {}", one_line(&test.source, WIDTH - 5));
    let _ = writeln!(out, "  {}", paint.dim(&at));
    if !test.requirements.is_empty() {
        let _ = writeln!(out, "  requirements:");
        for r in &test.requirements {
            let id = one_line(&r.id, 40);
            let head = format!("    {id:<24} {:<6} ", r.level.as_str());
            let room = WIDTH.saturating_sub(head.chars().count()).max(20);
            let _ = writeln!(out, "{head}{}", one_line(&r.summary, room));
        }
    }
    let mut shown_step = false;
    for step in &test.steps {
        let failed = step.checks.iter().any(|c| !c.passed);
        if failed || step.error.is_some() {
            write_step(&mut out, step, paint);
            shown_step = true;
        }
    }
    if !shown_step {
        if let Some(message) = &test.message {
            let _ = writeln!(out, "  {}", one_line(message, WIDTH - 2));
        }
    }
    out
}

fn write_step(out: &mut String, step: &StepResult, paint: Paint) {
    // Runners may already call their steps "step 1: …".
    let name = one_line(&step.name, 40);
    let prefix = if name.to_ascii_lowercase().starts_with("step") {
        ""
    } else {
        "step "
    };
    let _ = writeln!(
        out,
        "  {prefix}{} {}",
        paint.bold(&name),
        paint.dim(&format!("({})", one_line(&step.source, 45)))
    );
    if let Some(error) = &step.error {
        let _ = writeln!(
            out,
            "    {} {}",
            paint.red("! error:"),
            one_line(error, WIDTH - 13)
        );
    }
    for check in step.checks.iter().filter(|c| !c.passed) {
        let head = format!("    ✗ {}: ", one_line(&check.kind, 30));
        let room = WIDTH.saturating_sub(head.chars().count() + 9).max(20);
        let _ = writeln!(
            out,
            "{}expected {}",
            paint.red(&head),
            one_line(&check.expected, room)
        );
        if let Some(actual) = &check.actual {
            let lines = excerpt_lines(actual, BODY_LINES, WIDTH - 17);
            for (i, line) in lines.iter().enumerate() {
                let lead = if i == 0 {
                    "        actual   "
                } else {
                    "                 "
                };
                let _ = writeln!(out, "{lead}{line}");
            }
        }
        if let Some(source) = &check.source {
            let _ = writeln!(
                out,
                "        {}",
                paint.dim(&format!("at {}", one_line(source, 80)))
            );
        }
    }
    let req = &step.request;
    let _ = writeln!(
        out,
        "    request  {} {}",
        one_line(&req.method, 10),
        one_line(&req.url, WIDTH - 24)
    );
    let Some(resp) = &step.response else {
        let _ = writeln!(out, "    response {}", paint.dim("(none)"));
        return;
    };
    let _ = writeln!(
        out,
        "    response {} in {} ms",
        resp.status, resp.duration_ms
    );
    let mut headers = resp.headers.clone();
    redact_headers(&mut headers);
    for (name, value) in shown_headers(&headers, step) {
        let head = format!("      {}: ", one_line(name, 40));
        let room = WIDTH.saturating_sub(head.chars().count()).max(20);
        let _ = writeln!(out, "{}{}", paint.dim(&head), one_line(value, room));
    }
    if let Some(body) = &resp.body {
        for line in excerpt_lines(body, BODY_LINES, WIDTH - 6) {
            let _ = writeln!(out, "      {line}");
        }
    }
}

/// A few telling headers: the usual suspects, plus any a failed check names.
fn shown_headers<'a>(
    headers: &'a BTreeMap<String, String>,
    step: &StepResult,
) -> Vec<(&'a String, &'a String)> {
    let named_by_check = |name: &str| {
        let name = name.to_ascii_lowercase();
        step.checks
            .iter()
            .filter(|c| !c.passed)
            .any(|c| c.expected.to_ascii_lowercase().contains(&name))
    };
    let mut shown: Vec<_> = SHOWN_HEADERS
        .iter()
        .filter_map(|want| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(want)))
        .collect();
    for (name, value) in headers {
        let already = shown.iter().any(|(n, _)| *n == name);
        if !already && named_by_check(name) {
            shown.push((name, value));
        }
    }
    shown.truncate(6);
    shown
}

/// `240ms`, `3.2s`, `2m05s`.
pub(crate) fn duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1_000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Writes through a temporary sibling and a rename, so CI never picks up half a report.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn scrub_escapes_controls_and_keeps_layout() {
        assert_eq!(scrub("a\tb\nc"), "a\tb\nc");
        assert_eq!(scrub("x\x1b[31my"), "x\\u{1b}[31my");
        assert_eq!(scrub("nul\0"), "nul\\u{0}");
        assert_eq!(scrub("crlf\r\nbare\r"), "crlf\nbare\\u{d}");
        assert_eq!(scrub("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(scrub("\u{FFFF}"), "\u{FFFD}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(240), "240ms");
        assert_eq!(duration(3_240), "3.2s");
        assert_eq!(duration(125_000), "2m05s");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn excerpt_pretty_prints_json_and_truncates() {
        let body = serde_json::json!({ "items": (0..40).collect::<Vec<_>>() }).to_string();
        let lines = excerpt_lines(&body, 20, 80);
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[0], "{");
        assert!(lines[20].starts_with("… 24 more lines"), "{lines:?}");
    }

    #[test]
    fn verdict_counts_relative_to_fail_on() {
        let mut run = fixtures::run();
        let v = Verdict::of(&run);
        assert_eq!((v.passed, v.failed, v.warnings, v.infos), (2, 1, 1, 1));
        assert_eq!((v.errors, v.skipped), (1, 2));
        assert_eq!(
            v.counts(),
            "2 passed, 1 failed, 1 warning, 1 info, 1 error, 2 skipped"
        );
        run.fail_on = Level::Should;
        let v = Verdict::of(&run);
        assert_eq!((v.failed, v.warnings, v.infos), (2, 0, 1));
    }

    #[test]
    fn redaction_covers_request_and_response_headers() {
        let run = redacted(&fixtures::run());
        let text = serde_json::to_string(&run).unwrap_or_default();
        assert!(!text.contains(fixtures::SECRET), "secret leaked");
        assert!(text.contains(REDACTED));
    }

    #[test]
    fn url_credentials_are_redacted() {
        assert_eq!(
            redact_url("https://u:p@x.test/scim?a=b@c"),
            "https://[redacted]@x.test/scim?a=b@c"
        );
        assert_eq!(redact_url("https://x.test/a@b"), "https://x.test/a@b");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn detail_lines_fit_the_width() {
        let run = fixtures::run();
        for t in &run.tests {
            for line in failure_detail(t, Paint::PLAIN).lines() {
                assert!(line.chars().count() <= WIDTH, "too wide: {line}");
            }
        }
    }
}
