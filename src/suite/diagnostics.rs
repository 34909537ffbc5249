//! Suite errors that point at the file, line and column, with a "did you mean" where a close
//! known name exists (hurl and nextest show the value of both).

use serde_saphyr::Location;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a suite file.
#[derive(Debug, Clone)]
pub struct SuiteError {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    /// A suggestion, e.g. "did you mean `status`?".
    pub help: Option<String>,
    /// The offending source line, for context.
    pub snippet: Option<String>,
}

impl SuiteError {
    pub fn at(file: &Path, source: &str, loc: Location, message: impl Into<String>) -> Self {
        Self::at_line_col(file, source, loc.line(), loc.column(), message)
    }

    pub fn at_line_col(
        file: &Path,
        source: &str,
        line: u64,
        column: u64,
        message: impl Into<String>,
    ) -> Self {
        let snippet = usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| source.lines().nth(l))
            .map(String::from);
        SuiteError {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: None,
            snippet,
        }
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// `file:line:col`
    pub fn position(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.position())?;
        if let Some(s) = &self.snippet {
            let col = usize::try_from(self.column).unwrap_or(1).max(1);
            write!(f, "\n   |\n   | {s}\n   | {}^", " ".repeat(col - 1))?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n   = help: {h}")?;
        }
        Ok(())
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_and_rendering() {
        assert_eq!(
            closest("stauts", ["status", "headers", "schema"]),
            Some("status")
        );
        assert_eq!(closest("zzzzzz", ["status"]), None);
        let e = SuiteError::at_line_col(
            Path::new("suites/a.yaml"),
            "a: 1\n  stauts: 2\n",
            2,
            3,
            "unknown field `stauts`",
        )
        .with_help(did_you_mean("stauts", ["status"]));
        let text = e.to_string();
        assert!(text.contains("suites/a.yaml:2:3"), "{text}");
        assert!(text.contains("did you mean `status`?"), "{text}");
        assert!(text.contains("  ^"), "{text}");
    }
}
