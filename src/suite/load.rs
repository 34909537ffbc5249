//! Finding, parsing and checking suite files. Parsing gives the model; `check` (what
//! `scimtest lint` runs) finds what the types cannot: unknown requirement IDs, schema and fault
//! names, bad JSONPath, template syntax, variables used before they are captured.

use super::diagnostics::{did_you_mean, SuiteError};
use super::model::{Capture, Step, SuiteFile};
use super::requirements::Requirements;
use crate::exec::template::{Templates, BUILTIN_VARS};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// A parsed suite with where it came from.
#[derive(Debug)]
pub struct LoadedSuite {
    /// As given (relative to the working directory when the user gave a relative folder).
    pub path: PathBuf,
    pub source: String,
    pub suite: SuiteFile,
}

impl LoadedSuite {
    /// `file:line:col` of a location in this suite.
    pub fn pos(&self, loc: &serde_saphyr::Location) -> String {
        format!("{}:{}:{}", self.path.display(), loc.line(), loc.column())
    }
}

/// Folders under a suites directory that hold other things than conformance suites.
const NOT_SUITES: [&str; 2] = ["profiles", "load"];

/// Every `*.yaml`/`*.yml` suite file below `dir`, sorted, skipping `profiles/` and `load/`.
pub fn find_suite_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if d == dir && NOT_SUITES.contains(&name) {
                    continue;
                }
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Parses one suite file; a YAML or shape error names file:line:col.
pub fn parse_suite(path: &Path, source: String) -> Result<LoadedSuite, SuiteError> {
    let suite = parse_yaml::<SuiteFile>(path, &source)?;
    Ok(LoadedSuite {
        path: path.to_path_buf(),
        source,
        suite,
    })
}

/// Parses any of our YAML formats (suites, load scenarios); a YAML or shape error names
/// file:line:col with a "did you mean" for a misspelt key.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    source: &str,
) -> Result<T, SuiteError> {
    match serde_saphyr::from_str::<T>(source) {
        Ok(v) => Ok(v),
        Err(e) => {
            let (line, col) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let message = first_line(&e.to_string());
            let help = unknown_field_help(&message);
            Err(SuiteError::at_line_col(path, source, line, col, message).with_help(help))
        }
    }
}

/// serde-saphyr's rendered error starts with `error: line L column C: <message>`; keep the message.
fn first_line(rendered: &str) -> String {
    let line = rendered.lines().next().unwrap_or(rendered);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// "unknown field `stauts`, expected one of a, b" → "did you mean `status`?"
fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected one of ")?.1;
    let names: Vec<&str> = expected.split(", ").map(|s| s.trim_matches('`')).collect();
    did_you_mean(field, names).or_else(|| Some(format!("expected one of {expected}")))
}

/// Loads every suite below `dir`: the suites, or every error found (all files are read so the
/// user sees all problems at once).
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedSuite>, Vec<SuiteError>> {
    let files = find_suite_files(dir).map_err(|e| {
        vec![SuiteError::at_line_col(
            dir,
            "",
            0,
            0,
            format!("cannot read the suites folder: {e}"),
        )]
    })?;
    if files.is_empty() {
        return Err(vec![SuiteError::at_line_col(
            dir,
            "",
            0,
            0,
            "no suite files (*.yaml) found",
        )]);
    }
    load_files(&files)
}

pub fn load_files(files: &[PathBuf]) -> Result<Vec<LoadedSuite>, Vec<SuiteError>> {
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(src) => match parse_suite(f, src) {
                Ok(s) => suites.push(s),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(SuiteError::at_line_col(
                f,
                "",
                0,
                0,
                format!("cannot read: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(suites)
    } else {
        Err(errors)
    }
}

/// What `check` validates names against.
pub struct Known<'a> {
    pub requirements: &'a Requirements,
    pub schemas: BTreeSet<String>,
    pub faults: BTreeSet<String>,
    pub templates: &'a Templates,
}

/// Semantic checks over all suites together.
pub fn check(suites: &[LoadedSuite], known: &Known<'_>) -> Vec<SuiteError> {
    let mut errors = Vec::new();
    let mut suite_ids: BTreeSet<String> = BTreeSet::new();
    for s in suites {
        let suite = &s.suite;
        let err = |loc: &serde_saphyr::Location, msg: String, help: Option<String>| {
            SuiteError::at(&s.path, &s.source, *loc, msg).with_help(help)
        };
        if !suite_ids.insert(suite.id.value.clone()) {
            errors.push(err(
                &suite.id.referenced,
                format!("duplicate suite id `{}`", suite.id.value),
                None,
            ));
        }
        let mut base_vars: HashSet<String> = BUILTIN_VARS.iter().map(|s| s.to_string()).collect();
        check_vars(
            s,
            &suite.vars,
            &mut base_vars,
            &suite.id.referenced,
            known,
            &mut errors,
        );
        let mut test_ids = BTreeSet::new();
        for t in &suite.tests {
            let test = &t.value;
            if !test_ids.insert(test.id.value.clone()) {
                errors.push(err(
                    &test.id.referenced,
                    format!(
                        "duplicate test id `{}` in suite `{}`",
                        test.id.value, suite.id.value
                    ),
                    None,
                ));
            }
            if test.requirements.is_empty() {
                errors.push(err(
                    &test.id.referenced,
                    format!("test `{}` cites no requirement", test.id.value),
                    Some("add `requirements: [ID, …]` from suites/requirements.tsv".into()),
                ));
            }
            for r in &test.requirements {
                if known.requirements.get(&r.value).is_none() {
                    let help = known
                        .requirements
                        .suggest(&r.value)
                        .map(|c| format!("did you mean `{c}`?"));
                    errors.push(err(
                        &r.referenced,
                        format!("unknown requirement id `{}`", r.value),
                        help,
                    ));
                }
            }
            for f in &test.faults {
                if !known.faults.contains(&f.value) {
                    let help = did_you_mean(&f.value, known.faults.iter().map(String::as_str));
                    errors.push(err(
                        &f.referenced,
                        format!("unknown fault `{}`", f.value),
                        help,
                    ));
                }
            }
            // The order the runner uses: suite vars, test vars, fixtures, steps.
            let mut vars = base_vars.clone();
            check_vars(
                s,
                &test.vars,
                &mut vars,
                &test.id.referenced,
                known,
                &mut errors,
            );
            for f in &suite.fixtures {
                check_step(s, f, &mut vars, known, &mut errors);
            }
            for step in &test.steps {
                check_step(s, step, &mut vars, known, &mut errors);
            }
        }
    }
    // Fixtures are checked once per test (they may read test vars): report each problem once.
    let mut seen = BTreeSet::new();
    errors.retain(|e| seen.insert((e.position(), e.message.clone())));
    errors
}

fn check_vars(
    s: &LoadedSuite,
    vars: &serde_json::Map<String, Value>,
    defined: &mut HashSet<String>,
    at: &serde_saphyr::Location,
    known: &Known<'_>,
    errors: &mut Vec<SuiteError>,
) {
    for (k, v) in vars {
        check_templates_in(s, v, defined, at, known, errors);
        defined.insert(k.clone());
    }
}

fn check_template(
    s: &LoadedSuite,
    text: &str,
    defined: &HashSet<String>,
    at: &serde_saphyr::Location,
    known: &Known<'_>,
    errors: &mut Vec<SuiteError>,
) {
    match known.templates.variables(text) {
        Err(e) => errors.push(SuiteError::at(
            &s.path,
            &s.source,
            *at,
            format!("{e} in `{text}`"),
        )),
        Ok(used) => {
            let mut used: Vec<_> = used.into_iter().collect();
            used.sort();
            for name in used {
                if !defined.contains(&name) && !Templates::is_function(&name) {
                    let help = did_you_mean(&name, defined.iter().map(String::as_str));
                    errors.push(
                        SuiteError::at(&s.path, &s.source, *at, format!("`{name}` is used before it is defined (no var or earlier capture has that name)"))
                            .with_help(help),
                    );
                }
            }
        }
    }
}

fn check_templates_in(
    s: &LoadedSuite,
    v: &Value,
    defined: &HashSet<String>,
    at: &serde_saphyr::Location,
    known: &Known<'_>,
    errors: &mut Vec<SuiteError>,
) {
    match v {
        Value::String(t) => check_template(s, t, defined, at, known, errors),
        Value::Array(a) => a
            .iter()
            .for_each(|x| check_templates_in(s, x, defined, at, known, errors)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            check_template(s, k, defined, at, known, errors);
            check_templates_in(s, x, defined, at, known, errors);
        }),
        _ => {}
    }
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fn check_step(
    s: &LoadedSuite,
    step: &Spanned<Step>,
    scope: &mut HashSet<String>,
    known: &Known<'_>,
    errors: &mut Vec<SuiteError>,
) {
    let at = step.referenced;
    let st = &step.value;
    let req = &st.request;
    // What this step's templates may read: the variables so far, plus `copy` in a parallel
    // step. Captures are added to `scope` at the end, for the steps after this one.
    let mut visible = scope.clone();
    if st.parallel.is_some() {
        visible.insert("copy".into());
    }
    let defined = &visible;
    if let Some(p) = &st.parallel {
        if p.value == 0 || p.value > 1000 {
            errors.push(SuiteError::at(
                &s.path,
                &s.source,
                p.referenced,
                "parallel takes 1 to 1000 copies",
            ));
        }
        if !st.capture.is_empty() {
            errors.push(SuiteError::at(
                &s.path,
                &s.source,
                p.referenced,
                "a parallel step cannot capture (which copy's value would it be?)",
            ));
        }
    }
    if let Some(t) = &st.expect.tally {
        if st.parallel.is_none() {
            errors.push(SuiteError::at(
                &s.path,
                &s.source,
                t.referenced,
                "`tally` counts the responses of a `parallel` step; this step is not parallel",
            ));
        }
        for k in t.value.keys() {
            if crate::suite::model::tally_key_accepts(k, 200).is_none() {
                errors.push(SuiteError::at(
                    &s.path,
                    &s.source,
                    t.referenced,
                    format!("tally key `{k}` is neither a status code nor a class like 4xx"),
                ));
            }
        }
        if let Some(p) = &st.parallel {
            let total: usize = t.value.values().sum();
            if total != p.value {
                errors.push(SuiteError::at(
                    &s.path,
                    &s.source,
                    t.referenced,
                    format!(
                        "tally counts {total} responses but the step sends {}",
                        p.value
                    ),
                ));
            }
        }
    }
    if !METHODS.contains(&req.method.value.as_str()) {
        let help = did_you_mean(&req.method.value, METHODS);
        errors.push(
            SuiteError::at(
                &s.path,
                &s.source,
                req.method.referenced,
                format!("unknown method `{}`", req.method.value),
            )
            .with_help(help),
        );
    }
    check_template(
        s,
        &req.path.value,
        defined,
        &req.path.referenced,
        known,
        errors,
    );
    check_templates_in(
        s,
        &Value::Object(req.query.clone()),
        defined,
        &at,
        known,
        errors,
    );
    for v in req.headers.values() {
        check_template(s, v, defined, &at, known, errors);
    }
    if let Some(b) = &req.body {
        check_templates_in(s, b, defined, &at, known, errors);
    }
    if let Some(b) = &req.raw_body {
        check_template(s, b, defined, &at, known, errors);
    }
    if req.body.is_some() && req.raw_body.is_some() {
        errors.push(SuiteError::at(
            &s.path,
            &s.source,
            at,
            "a request has either `body` or `raw_body`, not both",
        ));
    }
    let ex = &st.expect;
    if let Some(bad) = ex.status.as_ref().and_then(|s| s.value.invalid_class()) {
        errors.push(SuiteError::at(
            &s.path,
            &s.source,
            ex.status.as_ref().map(|s| s.referenced).unwrap_or(at),
            format!("invalid status class `{bad}`: use a code, a list of codes, or 1xx..5xx"),
        ));
    }
    if let Some(name) = &ex.schema {
        if !known.schemas.contains(&name.value) {
            let help = did_you_mean(&name.value, known.schemas.iter().map(String::as_str));
            errors.push(
                SuiteError::at(
                    &s.path,
                    &s.source,
                    name.referenced,
                    format!("unknown schema `{}`", name.value),
                )
                .with_help(help),
            );
        }
    }
    for pa in &ex.jsonpath {
        if let Err(e) = serde_json_path::JsonPath::parse(&pa.value.path) {
            errors.push(SuiteError::at(
                &s.path,
                &s.source,
                pa.referenced,
                format!("invalid JSONPath `{}`: {e}", pa.value.path),
            ));
        }
        if let Some(re) = &pa.value.matches {
            if let Err(e) = regex_lite::Regex::new(re) {
                errors.push(SuiteError::at(
                    &s.path,
                    &s.source,
                    pa.referenced,
                    format!("invalid regular expression `{re}`: {e}"),
                ));
            }
        }
        for v in [&pa.value.equals, &pa.value.not_equals, &pa.value.contains]
            .into_iter()
            .flatten()
        {
            check_templates_in(s, v, defined, &pa.referenced, known, errors);
        }
    }
    for h in ex.headers.values() {
        for v in [&h.value.equals, &h.value.not_equals, &h.value.contains]
            .into_iter()
            .flatten()
        {
            check_templates_in(s, v, defined, &h.referenced, known, errors);
        }
    }
    if let Some(sc) = &ex.scim {
        const KEYWORDS: [&str; 12] = [
            "invalidFilter",
            "tooMany",
            "uniqueness",
            "mutability",
            "invalidSyntax",
            "invalidPath",
            "noTarget",
            "invalidValue",
            "invalidVers",
            "sensitive",
            "any",
            "none",
        ];
        for k in sc
            .value
            .error
            .iter()
            .flat_map(|e| e.split('|'))
            .map(str::trim)
        {
            if !KEYWORDS.contains(&k) {
                let help = did_you_mean(k, KEYWORDS);
                errors.push(
                    SuiteError::at(
                        &s.path,
                        &s.source,
                        sc.referenced,
                        format!("`{k}` is not a scimType of RFC 7644 Table 9 (nor `any`/`none`)"),
                    )
                    .with_help(help),
                );
            }
        }
        if let Some(f) = &sc.value.all_match {
            check_template(s, f, defined, &sc.referenced, known, errors);
        }
    }
    for (name, cap) in &st.capture {
        let path = match &cap.value {
            Capture::JsonPath(p) => Some(p),
            Capture::All(a) => Some(&a.all),
            Capture::Header(_) => None,
        };
        if let Some(p) = path {
            if let Err(e) = serde_json_path::JsonPath::parse(p) {
                errors.push(SuiteError::at(
                    &s.path,
                    &s.source,
                    cap.referenced,
                    format!("capture `{name}`: invalid JSONPath `{p}`: {e}"),
                ));
            }
        }
        scope.insert(name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_name_the_position_and_suggest() {
        let src = "id: s\ntitle: T\ntests:\n  - id: t\n    title: x\n    requirements: [P-3.3-01]\n    steps:\n      - request: {method: GET, path: /Users}\n        expect:\n          stauts: 200\n";
        let e = parse_suite(Path::new("suites/s.yaml"), src.into()).unwrap_err();
        assert_eq!((e.line, e.column), (10, 11), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `status`?"));
        assert!(e.to_string().contains("suites/s.yaml:10:11"));
    }
}
