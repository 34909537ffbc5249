//! Reporters: consumers of the run's event stream (`results::RunEvent`).
//!
//! The terminal reporter follows the run live; the file reporters (JUnit, JSON, HTML) write
//! when the run finishes. All of them read the same `RunResult`, so they agree.

use crate::results::RunEvent;
use std::path::{Path, PathBuf};

mod common;
#[cfg(test)]
mod fixtures;
pub mod html;
pub mod json;
pub mod junit;
pub mod terminal;

pub use html::HtmlReporter;
pub use json::JsonReporter;
pub use junit::JunitReporter;
pub use terminal::{TerminalOptions, TerminalReporter};

/// File names inside the report directory.
pub const JUNIT_FILE: &str = "junit.xml";
pub const JSON_FILE: &str = "results.json";
pub const HTML_FILE: &str = "report.html";

/// Which reports to produce (`--format`, repeatable; default all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    Terminal,
    Junit,
    Json,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Terminal, Format::Junit, Format::Json, Format::Html];
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render the {what} report: {detail}")]
    Render { what: &'static str, detail: String },
}

/// A consumer of run events.
pub trait Reporter: Send {
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError>;
}

/// The reporters for `formats` (duplicates ignored), files going to `dir`.
///
/// Creates `dir` when a file report is chosen, so an unwritable directory fails before the
/// run rather than after it (hence a `Result`).
pub fn build(
    formats: &[Format],
    dir: &Path,
    terminal: TerminalOptions,
) -> Result<Vec<Box<dyn Reporter>>, ReportError> {
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    if formats.iter().any(|f| *f != Format::Terminal) {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(formats
        .into_iter()
        .map(|format| -> Box<dyn Reporter> {
            match format {
                Format::Terminal => Box::new(TerminalReporter::with_options(terminal)),
                Format::Junit => Box::new(JunitReporter::new(dir.join(JUNIT_FILE))),
                Format::Json => Box::new(JsonReporter::new(dir.join(JSON_FILE))),
                Format::Html => Box::new(HtmlReporter::new(dir.join(HTML_FILE))),
            }
        })
        .collect())
}

/// Forwards each event to every reporter. One reporter failing (a full disk, a closed
/// stdout) neither stops the run nor starves the others: errors are collected, the first per
/// reporter, for the caller to print when the run ends.
#[derive(Default)]
pub struct Fanout {
    reporters: Vec<Box<dyn Reporter>>,
    errors: Vec<Option<ReportError>>,
}

impl Fanout {
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> Self {
        let errors = reporters.iter().map(|_| None).collect();
        Fanout { reporters, errors }
    }

    pub fn push(&mut self, reporter: Box<dyn Reporter>) {
        self.reporters.push(reporter);
        self.errors.push(None);
    }

    /// Errors so far, in reporter order.
    pub fn errors(&self) -> impl Iterator<Item = &ReportError> {
        self.errors.iter().flatten()
    }

    pub fn into_errors(self) -> Vec<ReportError> {
        self.errors.into_iter().flatten().collect()
    }
}

impl Reporter for Fanout {
    /// Always `Ok`: failures are kept for [`Fanout::errors`].
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        for (reporter, slot) in self.reporters.iter_mut().zip(self.errors.iter_mut()) {
            if let Err(e) = reporter.event(event) {
                slot.get_or_insert(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunResult;

    fn finish(run: RunResult) -> RunEvent {
        RunEvent::Finished(Box::new(run))
    }

    #[test]
    fn build_writes_the_chosen_files_into_a_new_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("reports/nested");
        let formats = [Format::Html, Format::Json, Format::Junit, Format::Json];
        let reporters = build(
            &formats,
            &dir,
            TerminalOptions {
                color: false,
                progress: false,
            },
        )
        .unwrap();
        assert_eq!(reporters.len(), 3, "duplicates ignored");
        let mut fanout = Fanout::new(reporters);
        fanout
            .event(&RunEvent::Started {
                target: "t".into(),
                total: 0,
            })
            .unwrap();
        assert!(
            !dir.join(JSON_FILE).exists(),
            "files are written at the end"
        );
        fanout.event(&finish(fixtures::run())).unwrap();
        assert_eq!(fanout.errors().count(), 0);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [JUNIT_FILE, HTML_FILE, JSON_FILE],
            "no temporary files left"
        );
    }

    #[test]
    fn terminal_only_creates_no_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("never");
        let reporters = build(
            &[Format::Terminal],
            &dir,
            TerminalOptions {
                color: false,
                progress: false,
            },
        )
        .unwrap();
        assert_eq!(reporters.len(), 1);
        assert!(!dir.exists());
    }

    struct Broken(usize);
    impl Reporter for Broken {
        fn event(&mut self, _: &RunEvent) -> Result<(), ReportError> {
            self.0 += 1;
            Err(ReportError::Render {
                what: "test",
                detail: format!("call {}", self.0),
            })
        }
    }

    #[test]
    fn fanout_keeps_going_and_keeps_the_first_error_per_reporter() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(JSON_FILE);
        let mut fanout = Fanout::new(vec![
            Box::new(Broken(0)),
            Box::new(JsonReporter::new(&path)),
        ]);
        fanout
            .event(&RunEvent::TestStarted { id: "a".into() })
            .unwrap();
        fanout.event(&finish(fixtures::run())).unwrap();
        assert!(path.exists(), "the healthy reporter still wrote");
        let errors = fanout.into_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "cannot render the test report: call 1"
        );
    }

    #[test]
    fn unwritable_dir_is_an_error_before_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = build(
            &[Format::Json],
            &file.join("sub"),
            TerminalOptions {
                color: false,
                progress: false,
            },
        );
        assert!(matches!(err, Err(ReportError::Io { .. })));
    }
}
