//! The live terminal reporter: a progress bar while the run lasts (or, without a TTY, one line
//! per finished non-passing test, which is what CI logs want), then the summary.
//!
//! The summary goes to stdout, the bar to stderr, so `scimtest run > out.txt` captures the
//! summary without bar redraws. The text of each failure is [`common::failure_detail`], the
//! same text JUnit stores. The last line is always the plain `N passed, N failed` that CI
//! scripts grep for, with `failed` counting failures at the run's `fail_on` level.

use crate::report::common::{self, Paint, Verdict, WIDTH};
use crate::report::{ReportError, Reporter};
use crate::results::{Outcome, RunEvent, RunResult, Stats, TestResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

/// How the terminal reporter presents itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalOptions {
    /// ANSI colours in the output.
    pub color: bool,
    /// An indicatif bar on stderr instead of one line per non-passing test.
    pub progress: bool,
}

impl TerminalOptions {
    /// Decides from the environment: colour only on a TTY and without `NO_COLOR`
    /// (<https://no-color.org>: set and non-empty); the bar only when both stdout and stderr
    /// are TTYs and `CI` is unset, since CI log viewers render bar redraws as garbage.
    pub fn from_env() -> Self {
        Self::decide(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("CI").as_deref(),
        )
    }

    /// The pure part of [`from_env`](Self::from_env), testable without touching the process
    /// environment.
    fn decide(
        stdout_tty: bool,
        stderr_tty: bool,
        no_color: Option<&OsStr>,
        ci: Option<&OsStr>,
    ) -> Self {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        TerminalOptions {
            color: stdout_tty && !no_color,
            progress: stdout_tty && stderr_tty && ci.is_none(),
        }
    }
}

/// Follows the run on the terminal; see the module doc.
pub struct TerminalReporter {
    out: Box<dyn Write + Send>,
    paint: Paint,
    progress: bool,
    bar: Option<ProgressBar>,
}

impl TerminalReporter {
    /// Writes to stdout (and the bar, when `progress`, to stderr).
    pub fn new(color: bool, progress: bool) -> Self {
        TerminalReporter {
            out: Box::new(std::io::stdout()),
            paint: Paint { color },
            progress,
            bar: None,
        }
    }

    /// Colour and progress decided by [`TerminalOptions::from_env`].
    pub fn from_env() -> Self {
        Self::with_options(TerminalOptions::from_env())
    }

    pub fn with_options(options: TerminalOptions) -> Self {
        Self::new(options.color, options.progress)
    }

    /// Writes everything to `out`, without a bar (tests render into a `Vec<u8>`).
    pub fn with_writer(out: Box<dyn Write + Send>, color: bool) -> Self {
        TerminalReporter {
            out,
            paint: Paint { color },
            progress: false,
            bar: None,
        }
    }

    fn line(&mut self, text: &str) -> std::io::Result<()> {
        match &self.bar {
            Some(bar) => {
                bar.println(text);
                Ok(())
            }
            None => {
                writeln!(self.out, "{text}")?;
                self.out.flush()
            }
        }
    }

    fn start_bar(&mut self, total: usize) {
        let template = if self.paint.color {
            "[{bar:30.cyan/blue}] {pos:>3}/{len} {wide_msg}"
        } else {
            "[{bar:30}] {pos:>3}/{len} {wide_msg}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(style);
        self.bar = Some(bar);
    }

    fn handle(&mut self, event: &RunEvent) -> std::io::Result<()> {
        match event {
            RunEvent::Started { target, total } => {
                let text = format!(
                    "scimtest: running {total} tests against {}",
                    common::one_line(&common::redact_url(target), WIDTH - 40)
                );
                writeln!(self.out, "{}", self.paint.bold(&text))?;
                self.out.flush()?;
                if self.progress {
                    self.start_bar(*total);
                }
            }
            RunEvent::TestStarted { id } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(common::one_line(id, 60));
                }
            }
            RunEvent::TestFinished(test) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                if test.outcome != Outcome::Pass {
                    let text = progress_line(test, self.paint);
                    self.line(&text)?;
                }
            }
            RunEvent::CleanupStarted { resources } => match &self.bar {
                Some(bar) => bar.set_message(format!("cleanup: {resources} resources")),
                None => self.line(&format!("cleaning up {resources} resources…"))?,
            },
            RunEvent::Finished(run) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.out
                    .write_all(summary(run, self.paint.color).as_bytes())?;
                self.out.flush()?;
            }
        }
        Ok(())
    }
}

impl Reporter for TerminalReporter {
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        self.handle(event).map_err(|source| ReportError::Io {
            path: "<stdout>".into(),
            source,
        })
    }
}

/// One line for a finished non-passing test: `FAIL  [MUST] id — what went wrong`.
fn progress_line(test: &TestResult, paint: Paint) -> String {
    let what = match test.outcome {
        Outcome::Fail => common::first_failure(test),
        _ => test.message.clone().unwrap_or_default(),
    };
    let id = common::one_line(&test.id, 60);
    let used = 5 + 2 + test.level.as_str().len() + 2 + id.chars().count() + 3;
    let what = common::one_line(&what, WIDTH.saturating_sub(used).max(20));
    format!(
        "{} [{}] {id} — {what}",
        paint.label(test),
        test.level.as_str()
    )
}

/// The end-of-run text: problems in detail, skips by reason, feature findings, a table by
/// area and severity, cleanup, the verdict, and the plain closing line.
pub fn summary(run: &RunResult, color: bool) -> String {
    let paint = Paint { color };
    let run = common::redacted(run);
    let mut out = String::new();
    let fail_on = run.fail_on;
    let failed_here = |t: &&TestResult| common::fails_run(t, fail_on);
    let below = |t: &&TestResult, level| {
        t.outcome == Outcome::Fail && !common::fails_run(t, fail_on) && t.level == level
    };
    let groups: [(String, Vec<&TestResult>); 4] = [
        (
            format!("Failures (fail the run at {})", fail_on.as_str()),
            run.tests.iter().filter(failed_here).collect(),
        ),
        (
            "Errors (could not check)".to_owned(),
            run.tests
                .iter()
                .filter(|t| t.outcome == Outcome::Error)
                .collect(),
        ),
        (
            "Warnings (SHOULD)".to_owned(),
            run.tests
                .iter()
                .filter(|t| below(t, crate::results::Level::Should))
                .collect(),
        ),
        (
            "Infos (MAY)".to_owned(),
            run.tests
                .iter()
                .filter(|t| below(t, crate::results::Level::May))
                .collect(),
        ),
    ];
    for (heading, tests) in &groups {
        if tests.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("{heading}: {}", tests.len()))
        );
        for test in tests {
            let _ = writeln!(out);
            out.push_str(&common::failure_detail(test, paint));
        }
    }

    let skips = common::skip_groups(&run);
    if !skips.is_empty() {
        let total: usize = skips.iter().map(|(_, n)| n).sum();
        let _ = writeln!(out, "\n{}", paint.bold(&format!("Skipped: {total}")));
        for (reason, n) in skips {
            let _ = writeln!(out, "  {n:>4}  {}", common::clip(&reason, WIDTH - 8));
        }
    }

    write_findings(&mut out, &run, paint);
    write_table(&mut out, &run, paint);
    write_cleanup(&mut out, &run);

    let verdict = Verdict::of(&run);
    let word = if run.passed {
        paint.bold(&paint.green("PASSED"))
    } else {
        paint.bold(&paint.red("FAILED"))
    };
    let _ = writeln!(
        out,
        "scimtest: {} in {} — {word} (fail-on {})",
        verdict.counts(),
        common::duration(run.duration_ms),
        fail_on.as_str()
    );
    // The one line CI parses: never coloured, always last.
    let _ = writeln!(out, "{} passed, {} failed", verdict.passed, verdict.failed);
    out
}

fn write_findings(out: &mut String, run: &RunResult, paint: Paint) {
    if !run.feature_findings.is_empty() {
        let heading = format!("Feature findings: {}", run.feature_findings.len());
        let _ = writeln!(out, "\n{}", paint.bold(&heading));
        let kinds = [
            ("advertised_but_broken", "advertised but broken"),
            ("working_but_not_advertised", "working but not advertised"),
        ];
        let known = |k: &str| kinds.iter().any(|(key, _)| *key == k);
        let other: Vec<_> = run
            .feature_findings
            .iter()
            .filter(|f| !known(&f.kind))
            .collect();
        for (key, title) in kinds {
            let found: Vec<_> = run
                .feature_findings
                .iter()
                .filter(|f| f.kind == key)
                .collect();
            if !found.is_empty() {
                let _ = writeln!(out, "  {title}:");
            }
            for f in found {
                let line = format!("{}: {}", common::one_line(&f.feature, 30), f.detail);
                let _ = writeln!(out, "    {}", common::one_line(&line, WIDTH - 4));
            }
        }
        for f in other {
            let line = format!("{} ({}): {}", f.feature, f.kind, f.detail);
            let _ = writeln!(out, "  {}", common::one_line(&line, WIDTH - 2));
        }
    }
    if !run.discovery.problems.is_empty() {
        let heading = format!("Discovery problems: {}", run.discovery.problems.len());
        let _ = writeln!(out, "\n{}", paint.bold(&heading));
        for p in &run.discovery.problems {
            let _ = writeln!(out, "  {}", common::one_line(p, WIDTH - 2));
        }
    }
}

/// Counts per area and in total, by the model's severities (the same numbers as `stats`).
fn write_table(out: &mut String, run: &RunResult, paint: Paint) {
    let mut areas: BTreeMap<String, Vec<TestResult>> = BTreeMap::new();
    for t in &run.tests {
        let area = t
            .area
            .as_deref()
            .map_or_else(|| "(no area)".to_owned(), |a| common::one_line(a, 28));
        areas.entry(area).or_default().push(t.clone());
    }
    let _ = writeln!(out, "\n{}", paint.bold("Summary by area and severity:"));
    let _ = writeln!(
        out,
        "  {:<28}  {:>6}  {:>8}  {:>8}  {:>5}  {:>6}  {:>7}",
        "area", "passed", "failures", "warnings", "infos", "errors", "skipped"
    );
    let row = |out: &mut String, name: &str, s: &Stats| {
        let cell = |n: usize, width: usize, hot: fn(Paint, &str) -> String| {
            let text = format!("{n:>width$}");
            if n > 0 {
                hot(paint, &text)
            } else {
                text
            }
        };
        let _ = writeln!(
            out,
            "  {:<28}  {}  {}  {}  {}  {}  {}",
            common::clip(name, 28),
            cell(s.passed, 6, Paint::green),
            cell(s.failures, 8, Paint::red),
            cell(s.warnings, 8, Paint::yellow),
            cell(s.infos, 5, Paint::cyan),
            cell(s.errors, 6, Paint::red),
            cell(s.skipped, 7, Paint::dim),
        );
    };
    for (area, tests) in &areas {
        row(out, area, &Stats::from_tests(tests));
    }
    row(out, "total", &Stats::from_tests(&run.tests));
}

fn write_cleanup(out: &mut String, run: &RunResult) {
    let c = &run.cleanup;
    let mut line = format!("\ncleanup: created {}, deleted {}, ", c.created, c.deleted);
    if c.left_behind.is_empty() {
        line.push_str("nothing left behind");
    } else {
        let _ = write!(line, "{} left behind", c.left_behind.len());
    }
    if let Some(ledger) = &c.ledger {
        let _ = write!(line, " (ledger: {})", common::one_line(ledger, 60));
    }
    let _ = writeln!(out, "{line}");
    const SHOWN: usize = 10;
    for url in c.left_behind.iter().take(SHOWN) {
        let _ = writeln!(out, "  left behind: {}", common::one_line(url, WIDTH - 15));
    }
    if c.left_behind.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more", c.left_behind.len() - SHOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back after handing it to the reporter.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Plays a whole run through a reporter, as the runner would.
    fn play(run: &RunResult, color: bool) -> String {
        let buf = Shared::default();
        let mut reporter = TerminalReporter::with_writer(Box::new(buf.clone()), color);
        let events = std::iter::once(RunEvent::Started {
            target: run.target.clone(),
            total: run.tests.len(),
        })
        .chain(run.tests.iter().flat_map(|t| {
            [
                RunEvent::TestStarted { id: t.id.clone() },
                RunEvent::TestFinished(Box::new(t.clone())),
            ]
        }))
        .chain([
            RunEvent::CleanupStarted { resources: 4 },
            RunEvent::Finished(Box::new(run.clone())),
        ]);
        for event in events {
            reporter.event(&event).unwrap();
        }
        buf.text()
    }

    #[test]
    fn key_lines_of_a_mixed_run() {
        let out = play(&fixtures::run(), false);
        let expected = [
            "scimtest: running 8 tests against https://scim.example.test/scim/v2",
            // live lines, one per non-passing test
            "FAIL  [MUST] users/create-returns-201 — status: expected status 201, got 200",
            "SKIP  [MUST] bulk/post-bulk — feature not advertised: bulk",
            "cleaning up 4 resources…",
            // detail
            "Failures (fail the run at MUST): 1",
            "FAIL  [MUST] users/create-returns-201 — Creating a user answers 201 Created",
            "  at suites/core/users.yaml:40:5",
            "    RFC7644-3.3-201          MUST   A successful POST answers 201 Created",
            "    RFC7644-3.3-location     SHOULD The Location header names the new resource",
            "  step create-user (suites/core/create-user.yaml:12:7)",
            "    ✗ status: expected status 201",
            "        actual   200",
            "        at suites/core/users.yaml:52:9",
            "    request  POST https://scim.example.test/scim/v2/Users",
            "    response 200 in 12 ms",
            "      Content-Type: application/scim+json",
            "Errors (could not check): 1",
            "    ! error: connection refused (os error 111)",
            "    response (none)",
            "Warnings (SHOULD): 1",
            "      X-Request-Id: 42",
            "Infos (MAY): 1",
            "        actual   [",
            "                   \"zed\",",
            "Skipped: 2",
            "     2  feature not advertised: bulk",
            "  advertised but broken:",
            "    sort: sortBy is ignored",
            "  working but not advertised:",
            "  area                          passed  failures  warnings  infos  errors  skipped",
            "  users                              1         1         1      0       0        0",
            "  total                              2         1         1      1       1        2",
            "cleanup: created 4, deleted 3, 1 left behind (ledger: reports/ledger-run-20250101-0001.jsonl)",
            "  left behind: https://scim.example.test/scim/v2/Users/left-1",
            "scimtest: 2 passed, 1 failed, 1 warning, 1 info, 1 error, 2 skipped in 3.2s — FAILED (fail-on MUST)",
        ];
        let lines: Vec<&str> = out.lines().collect();
        for want in expected {
            assert!(lines.contains(&want), "missing line {want:?} in:\n{out}");
        }
        assert_eq!(lines.last(), Some(&"2 passed, 1 failed"));
        let closing = lines.iter().filter(|l| is_closing_line(l)).count();
        assert_eq!(closing, 1, "exactly one plain closing line");
        assert!(!out.contains('\u{1b}'), "no colour asked for");
        assert!(!out.contains("PASS "), "passing tests get no live line");
    }

    fn is_closing_line(line: &str) -> bool {
        let words: Vec<&str> = line.split(' ').collect();
        matches!(words.as_slice(), [p, "passed,", f, "failed"]
            if p.parse::<usize>().is_ok() && f.parse::<usize>().is_ok())
    }

    #[test]
    fn body_excerpt_is_truncated_to_twenty_lines() {
        let out = summary(&fixtures::run(), false);
        assert!(out.contains("      … "), "{out}");
        assert!(out.contains("more lines"));
    }

    #[test]
    fn readable_at_100_columns() {
        for run in [fixtures::run(), fixtures::hostile()] {
            let out = play(&run, false);
            for line in out.lines() {
                assert!(
                    line.chars().count() <= WIDTH,
                    "{} cols: {line}",
                    line.chars().count()
                );
            }
        }
    }

    #[test]
    fn fail_on_should_counts_should_failures() {
        let mut run = fixtures::run();
        run.fail_on = crate::results::Level::Should;
        let out = summary(&run, false);
        assert!(
            out.contains("Failures (fail the run at SHOULD): 2"),
            "{out}"
        );
        assert!(!out.contains("Warnings (SHOULD)"));
        assert!(out.ends_with("2 passed, 2 failed\n"));
    }

    #[test]
    fn colour_only_when_asked_and_closing_line_stays_plain() {
        let out = play(&fixtures::run(), true);
        assert!(out.contains("\u{1b}[31m"));
        assert_eq!(out.lines().last(), Some("2 passed, 1 failed"));
    }

    #[test]
    fn authorization_is_never_printed() {
        let mut run = fixtures::run();
        // A check naming the header makes the reporter show it.
        run.tests[2].steps[0].checks[0].expected = "header Authorization is absent".into();
        let out = play(&run, false);
        assert!(!out.contains(fixtures::SECRET), "{out}");
        assert!(out.contains("authorization: [redacted]"), "{out}");
    }

    #[test]
    fn hostile_strings_cannot_drive_the_terminal() {
        let out = play(&fixtures::hostile(), false);
        assert!(!out.contains('\u{1b}'));
        assert!(!out.contains('\0'));
        assert!(out.contains("\\u{1b}[2J"));
    }

    #[test]
    fn environment_decides_colour_and_progress() {
        let d = TerminalOptions::decide;
        let on = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert_eq!(
            d(true, true, None, None),
            TerminalOptions {
                color: true,
                progress: true
            }
        );
        assert_eq!(
            d(true, true, on, None),
            TerminalOptions {
                color: false,
                progress: true
            }
        );
        assert_eq!(
            d(true, true, empty, None),
            TerminalOptions {
                color: true,
                progress: true
            }
        );
        assert_eq!(
            d(true, true, None, on),
            TerminalOptions {
                color: true,
                progress: false
            }
        );
        assert_eq!(
            d(false, true, None, None),
            TerminalOptions {
                color: false,
                progress: false
            }
        );
        assert_eq!(
            d(true, false, None, None),
            TerminalOptions {
                color: true,
                progress: false
            }
        );
    }
}
