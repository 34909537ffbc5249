//! Load scenario files (`suites/load/*.yaml`): what one virtual user does, written in the same
//! request and template language as the conformance suites (`docs/load.md` documents it).
//!
//! A scenario is either a list of `steps` (one iteration; each step becomes one goose
//! transaction, named by the step) with optional per-user `setup`, or a `mix` of other scenarios
//! with weights. Every struct denies unknown keys so a typo is an error at file:line:col.

use crate::suite::diagnostics::SuiteError;
use crate::suite::load::parse_yaml;
use crate::suite::model::{Request, StatusSpec};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub id: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Evaluated at the start of every iteration, in order (later entries see earlier ones).
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Run once by each virtual user before its first iteration (e.g. the users a group push
    /// adds). Timed under their own names, like any step.
    #[serde(default)]
    pub setup: Vec<Spanned<LoadStep>>,
    /// One iteration.
    #[serde(default)]
    pub steps: Vec<Spanned<LoadStep>>,
    /// Instead of steps: other scenarios (by id) and how many virtual users each gets, relative
    /// to the others.
    #[serde(default)]
    pub mix: Vec<Spanned<MixEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntry {
    pub scenario: String,
    #[serde(default = "one")]
    pub weight: usize,
}

fn one() -> usize {
    1
}

/// One request of a scenario: a goose transaction and the request name its metrics carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadStep {
    /// The transaction and request name in every report (`create`, `add-members`…); unique in
    /// the scenario.
    pub name: Spanned<String>,
    /// A template evaluating to a boolean: the step is skipped (no request) when false, e.g. the
    /// create-or-patch choice of an Entra sync cycle.
    #[serde(default)]
    pub when: Option<String>,
    /// Send the request this many times in a row (`{{ i }}` is the 0-based index).
    #[serde(default = "one")]
    pub repeat: usize,
    pub request: Request,
    #[serde(default)]
    pub expect: LoadExpect,
    /// Variable name → where to read it from the response.
    #[serde(default)]
    pub capture: BTreeMap<String, Spanned<LoadCapture>>,
}

/// What makes a response a success. Kept to what costs next to nothing per request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadExpect {
    /// Default: any 2xx.
    #[serde(default)]
    pub status: Option<StatusSpec>,
}

/// Where a captured variable comes from. A path that selects nothing captures `null`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LoadCapture {
    /// A JSONPath into the response body.
    JsonPath(String),
    /// `{append: JSONPATH}`: push the selected value onto a list kept for the virtual user's
    /// whole life (setup steps collect member ids this way).
    Append(AppendCapture),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendCapture {
    pub append: String,
}

/// A parsed scenario file and where it came from.
#[derive(Debug)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub source: String,
    pub file: ScenarioFile,
}

impl LoadedScenario {
    pub fn error(&self, loc: serde_saphyr::Location, message: impl Into<String>) -> SuiteError {
        SuiteError::at(&self.path, &self.source, loc, message)
    }
}

/// Reads and parses one scenario file.
pub fn read(path: &Path) -> Result<LoadedScenario, SuiteError> {
    let source = std::fs::read_to_string(path).map_err(|e| SuiteError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read the scenario file: {e}"),
        help: None,
        snippet: None,
    })?;
    let file = parse_yaml::<ScenarioFile>(path, &source)?;
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        source,
        file,
    })
}

/// The scenario files in `dir`, by id (file stem), sorted.
pub fn list(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    out.sort();
    out
}

/// `NAME` (a file in `dir`) or a path to a file.
pub fn resolve(name_or_file: &str, dir: &Path) -> Result<PathBuf, String> {
    let as_path = Path::new(name_or_file);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let known = list(dir);
    if let Some((_, p)) = known.iter().find(|(id, _)| id == name_or_file) {
        return Ok(p.clone());
    }
    let names: Vec<&str> = known.iter().map(|(id, _)| id.as_str()).collect();
    let hint = crate::suite::diagnostics::did_you_mean(name_or_file, names.iter().copied())
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Err(format!(
        "no scenario {name_or_file:?} in {} and no such file{hint}; known: {}",
        dir.display(),
        names.join(", ")
    ))
}

/// A scenario with every `mix` entry read too (one level: a mix of mixes is refused).
#[derive(Debug)]
pub struct ScenarioSet {
    pub root: LoadedScenario,
    /// (weight, scenario) — just the root with weight 1 when it has steps.
    pub members: Vec<(usize, LoadedScenario)>,
}

/// Loads a scenario and what it mixes, checking the shape: steps or mix, unique step names,
/// weights ≥ 1. Every error names file:line:col.
pub fn load(path: &Path) -> Result<ScenarioSet, Vec<SuiteError>> {
    let root = read(path).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mut members = Vec::new();
    let f = &root.file;
    match (f.steps.is_empty(), f.mix.is_empty()) {
        (true, true) => {
            errors.push(root.error(f.id.referenced, "a scenario needs `steps` or `mix`"))
        }
        (false, false) => errors.push(root.error(
            f.id.referenced,
            "a scenario has either `steps` or `mix`, not both",
        )),
        _ => {}
    }
    errors.extend(check_steps(&root));
    if !f.mix.is_empty() {
        let dir = path.parent().unwrap_or(Path::new("."));
        for entry in &f.mix {
            if entry.value.weight == 0 {
                errors.push(root.error(entry.referenced, "a weight must be at least 1"));
                continue;
            }
            match resolve(&entry.value.scenario, dir) {
                Ok(p) => match read(&p) {
                    Ok(member) if !member.file.mix.is_empty() => errors.push(root.error(
                        entry.referenced,
                        format!(
                            "{} is itself a mix; mix scenarios with steps",
                            entry.value.scenario
                        ),
                    )),
                    Ok(member) if member.file.steps.is_empty() => errors.push(root.error(
                        entry.referenced,
                        format!("{} has no steps", entry.value.scenario),
                    )),
                    Ok(member) => {
                        errors.extend(check_steps(&member));
                        members.push((entry.value.weight, member));
                    }
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(root.error(entry.referenced, e)),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if f.mix.is_empty() {
        members.push((1, read(path).map_err(|e| vec![e])?));
    }
    Ok(ScenarioSet { root, members })
}

/// Unique step names, repeat ≥ 1, one capture per request at most `repeat` times.
fn check_steps(s: &LoadedScenario) -> Vec<SuiteError> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for step in s.file.setup.iter().chain(&s.file.steps) {
        let name = &step.value.name;
        if name.value.trim().is_empty() {
            errors.push(s.error(name.referenced, "a step name cannot be empty"));
        } else if !seen.insert(name.value.clone()) {
            errors.push(s.error(
                name.referenced,
                format!(
                    "step name {:?} is used twice; names key the metrics",
                    name.value
                ),
            ));
        }
        if step.value.repeat == 0 {
            errors.push(s.error(step.referenced, "`repeat` must be at least 1"));
        }
        if step.value.request.raw_body.is_some() && step.value.request.body.is_some() {
            errors.push(s.error(
                step.value.request.method.referenced,
                "give `body` or `raw_body`, not both",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<ScenarioFile, SuiteError> {
        parse_yaml::<ScenarioFile>(Path::new("x.yaml"), src)
    }

    #[test]
    fn a_typo_is_an_error_with_position_and_suggestion() {
        let e = parse("id: a\ntitle: t\nsteps:\n  - name: c\n    reqest: {}\n").unwrap_err();
        assert_eq!((e.line, e.column), (5, 5), "{e}");
        assert!(e.help.as_deref().unwrap_or("").contains("request"), "{e}");
    }

    #[test]
    fn shape_errors_name_their_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p
        };
        let both = write(
            "both.yaml",
            "id: both\ntitle: t\nsteps:\n  - name: a\n    request: {method: GET, path: /Users}\nmix:\n  - {scenario: x}\n",
        );
        let e = load(&both).unwrap_err();
        assert!(e[0].message.contains("not both"), "{}", e[0]);
        let twice = write(
            "twice.yaml",
            "id: twice\ntitle: t\nsteps:\n  - name: a\n    request: {method: GET, path: /Users}\n  - name: a\n    request: {method: GET, path: /Users}\n",
        );
        let e = load(&twice).unwrap_err();
        assert_eq!(e[0].line, 6, "{}", e[0]);
        let mix = write(
            "mix.yaml",
            "id: mix\ntitle: t\nmix:\n  - {scenario: nosuch}\n",
        );
        let e = load(&mix).unwrap_err();
        assert!(e[0].message.contains("nosuch"), "{}", e[0]);
        assert_eq!(e[0].line, 4);
    }

    #[test]
    fn the_shipped_scenarios_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/load");
        let all = list(&dir);
        for want in [
            "bulk-create",
            "lifecycle",
            "group-push",
            "import-paging",
            "sync-cycle",
            "mixed",
        ] {
            assert!(all.iter().any(|(id, _)| id == want), "missing {want}");
        }
        for (id, path) in all {
            let set = load(&path).unwrap_or_else(|e| panic!("{id}: {}", e[0]));
            assert_eq!(set.root.file.id.value, id, "id must match the file name");
            // Templates and JSONPaths compile too.
            let run = crate::exec::template::RunContext {
                prefix: "scimtest-t".into(),
                domain: "example.com".into(),
                run_id: "t".into(),
                base_url: "http://127.0.0.1:1/scim/v2".into(),
            };
            if let Err(e) = super::super::plan::compile(&set, run) {
                panic!("{id}: {}", e[0]);
            }
        }
    }
}
