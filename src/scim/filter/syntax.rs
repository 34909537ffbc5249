//! The text side of parsing: the `not(` spelling scim_v2 lacks, and turning its lalrpop errors
//! into a 400 invalidFilter whose detail points at a 1-based column of the caller's string.

use crate::scim::error::ScimError;
use scim_v2::filter::{FilterActionError, ParseError, MAX_FILTER_DEPTH, MAX_FILTER_TERMS};

/// The filter text handed to scim_v2, plus what is needed to map its byte offsets back.
pub(super) struct Prepared {
    pub text: String,
    /// Byte offset in the caller's string where the trimmed text starts (scim_v2 trims too).
    lead: usize,
    /// Offsets in `text` of the spaces we inserted, ascending.
    inserted: Vec<usize>,
}

impl Prepared {
    /// Trims `s` and inserts a space after each `not` keyword that is immediately followed by `(`.
    ///
    /// RFC 7644's ABNF writes `*1"not" "(" FILTER ")"`, so `not(x pr)` is legal, but scim_v2 1.0
    /// only lexes `not` together with trailing whitespace and offers no switch for it. Inserting
    /// the space here is the smallest bridge. A `not` is touched only at the start of a token (not
    /// in `cannot(`, whose `n` follows a name character) and never inside a string literal (so
    /// `notes eq "not("` is unchanged).
    pub fn new(s: &str) -> Prepared {
        let trimmed = s.trim();
        let lead = s.len() - s.trim_start().len();
        let bytes = trimmed.as_bytes();
        let mut text = String::with_capacity(trimmed.len() + 4);
        let mut inserted = Vec::new();
        let mut copied = 0;
        let mut in_string = false;
        let mut escaped = false;
        // Byte-wise scan: every byte we look for is ASCII, and UTF-8 continuation bytes never are,
        // so each offset we slice at is a char boundary.
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
            } else if b == b'"' {
                in_string = true;
            } else if bytes
                .get(i..i + 3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"not"))
                && bytes.get(i + 3) == Some(&b'(')
                && (i == 0 || !is_name_byte(bytes[i - 1]))
            {
                text.push_str(&trimmed[copied..i + 3]);
                inserted.push(text.len());
                text.push(' ');
                copied = i + 3;
            }
        }
        text.push_str(&trimmed[copied..]);
        Prepared {
            text,
            lead,
            inserted,
        }
    }

    /// The byte offset in the caller's string of byte offset `p` of `self.text`.
    fn original_offset(&self, p: usize) -> usize {
        self.lead + p - self.inserted.partition_point(|&q| q < p)
    }
}

/// Characters that can precede `not` inside one attribute-path token.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// The 1-based character column of byte offset `byte` in `s`.
fn column(s: &str, byte: usize) -> usize {
    s.char_indices().take_while(|&(i, _)| i < byte).count() + 1
}

/// Builds the 400 invalidFilter for a scim_v2 parse error on `prep` (prepared from `original`).
pub(super) fn error(original: &str, prep: &Prepared, err: ParseError) -> ScimError {
    let at = |p: usize| column(original, prep.original_offset(p));
    let detail = match err {
        ParseError::InvalidToken { location } => {
            let found = prep.text.get(location..).and_then(|r| r.chars().next());
            match found {
                Some('"') => format!(
                    "invalid filter at column {}: unterminated string (a string ends with an unescaped \")",
                    at(location)
                ),
                Some(c) => format!("invalid filter at column {}: unexpected character {c:?}", at(location)),
                None => format!("invalid filter at column {}: unexpected end of filter", at(location)),
            }
        }
        ParseError::UnrecognizedEof { location, expected } => {
            if prep.text.is_empty() {
                "invalid filter: the filter is empty".to_string()
            } else {
                format!(
                    "invalid filter at column {}: unexpected end of filter, expected {}",
                    at(location),
                    expected_phrase(&expected)
                )
            }
        }
        ParseError::UnrecognizedToken {
            token: (start, _, end),
            expected,
        } => {
            let (start, token) = token_text(&prep.text, start, end);
            let mut detail = format!(
                "invalid filter at column {}: unexpected {token:?}, expected {}",
                at(start),
                expected_phrase(&expected)
            );
            if is_keyword(token) {
                // scim_v2 lexes `and`, `eq`… as keywords only with whitespace on both sides.
                detail.push_str(&format!(
                    " (\"{token}\" needs a space on both sides and an operand after it)"
                ));
            }
            detail
        }
        ParseError::ExtraToken {
            token: (start, _, end),
        } => {
            let (start, token) = token_text(&prep.text, start, end);
            format!(
                "invalid filter at column {}: unexpected {token:?} after a complete filter",
                at(start)
            )
        }
        ParseError::User { error } => user_error(original, prep, error),
    };
    ScimError::invalid_filter(detail)
}

/// A token's text without the whitespace scim_v2 folds into keyword tokens, and where it starts.
fn token_text(text: &str, start: usize, end: usize) -> (usize, &str) {
    let raw = text.get(start..end).unwrap_or_default();
    let trimmed = raw.trim_start();
    (start + raw.len() - trimmed.len(), trimmed.trim_end())
}

fn is_keyword(token: &str) -> bool {
    const KEYWORDS: [&str; 13] = [
        "and", "or", "not", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr",
    ];
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(token))
}

/// Errors raised by scim_v2's grammar actions, which carry no location: we find one ourselves.
fn user_error(original: &str, prep: &Prepared, error: FilterActionError) -> String {
    let at = |p: usize| column(original, prep.original_offset(p));
    match error {
        FilterActionError::InvalidAttrPath(path) => located(
            find_outside_strings(&prep.text, &path).map(at),
            format!("attribute path {path:?} has more than one sub-attribute"),
        ),
        FilterActionError::InvalidAttrName(path) => located(
            find_outside_strings(&prep.text, &path).map(at),
            format!(
                "{path:?} is not an attribute path (a name starts with a letter, followed by \
                 letters, digits, \"-\" or \"_\")"
            ),
        ),
        FilterActionError::InvalidCompValue(e) => located(
            first_bad_string(&prep.text).map(at),
            // serde's own "at line 1 column N" counts within the literal; ours is clearer.
            format!(
                "invalid comparison value: {}",
                e.to_string().split(" at line ").next().unwrap_or_default()
            ),
        ),
        FilterActionError::DepthExceeded(_) => {
            format!("invalid filter: nested more than {MAX_FILTER_DEPTH} levels deep")
        }
        FilterActionError::TooManyTerms(_) => {
            format!("invalid filter: more than {MAX_FILTER_TERMS} comparisons")
        }
        other => format!("invalid filter: {other}"),
    }
}

fn located(column: Option<usize>, what: String) -> String {
    match column {
        Some(c) => format!("invalid filter at column {c}: {what}"),
        None => format!("invalid filter: {what}"),
    }
}

/// Start offsets of the string literals in `text`, each paired with its end (exclusive).
fn string_literals(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if b == b'\\' => escaped = true,
            Some(start) if b == b'"' => {
                out.push((start, i + 1));
                open = None;
            }
            Some(_) => {}
            None if b == b'"' => open = Some(i),
            None => {}
        }
    }
    out
}

/// The first occurrence of `needle` in `text` that is not inside a string literal.
fn find_outside_strings(text: &str, needle: &str) -> Option<usize> {
    let literals = string_literals(text);
    text.match_indices(needle)
        .map(|(i, _)| i)
        .find(|&i| !literals.iter().any(|&(s, e)| s < i && i < e))
}

/// The first string literal that is not valid JSON (a bad escape, a lone surrogate…).
fn first_bad_string(text: &str) -> Option<usize> {
    string_literals(text)
        .into_iter()
        .find(|&(s, e)| serde_json::from_str::<String>(&text[s..e]).is_err())
        .map(|(s, _)| s)
}

/// Turns lalrpop's expected-terminal list into words a SCIM client understands.
fn expected_phrase(expected: &[String]) -> String {
    let has = |t: &str| expected.iter().any(|e| e == t);
    let mut parts: Vec<&str> = Vec::new();
    if has("AttrNameTok") || has("AttrPathTok") {
        parts.push("an attribute path");
    }
    if has("\"not\"") {
        parts.push("\"not\"");
    }
    if has("\"(\"") {
        parts.push("\"(\"");
    }
    if [
        "\"eq\"", "\"ne\"", "\"co\"", "\"sw\"", "\"ew\"", "\"gt\"", "\"ge\"", "\"lt\"", "\"le\"",
    ]
    .iter()
    .any(|t| has(t))
    {
        parts.push("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)");
    } else if has("\"pr\"") {
        parts.push("\"pr\"");
    }
    if has("\"[\"") {
        parts.push("\"[\"");
    }
    if [
        "StringLit",
        "NumberLit",
        "\"true\"",
        "\"false\"",
        "\"null\"",
    ]
    .iter()
    .any(|t| has(t))
    {
        parts.push("a comparison value (a quoted string, a number, true, false or null)");
    }
    // Wherever one logical operator may follow, the other may too; lalrpop lists only those
    // its current (partly reduced) state can shift.
    if has("\"and\"") || has("\"or\"") {
        parts.push("\"and\"");
        parts.push("\"or\"");
    }
    if has("\")\"") {
        parts.push("\")\"");
    }
    if has("\"]\"") {
        parts.push("\"]\"");
    }
    match parts.split_last() {
        None => "the end of the filter".to_string(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
