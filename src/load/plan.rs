//! Scenario files → an executable plan: every template compiled once, every JSONPath parsed
//! once, methods and status expectations resolved, so a request costs a render and a send.

use super::scenario::{LoadCapture, LoadStep, LoadedScenario, ScenarioSet};
use crate::exec::template::{Compiled, RunContext, Templates};
use crate::suite::diagnostics::SuiteError;
use crate::suite::model::{Auth, StatusSpec};
use reqwest::Method;
use serde_json::Value;
use serde_json_path::JsonPath;

/// One step, ready to send.
pub struct StepPlan {
    /// The name goose keys its metrics by (`create`, or `lifecycle/create` in a mix).
    pub name: String,
    pub method: Method,
    pub when: Option<Compiled>,
    pub repeat: usize,
    pub path: Compiled,
    pub query: Vec<(String, Compiled)>,
    pub headers: Vec<(String, Compiled)>,
    pub body: Option<Compiled>,
    pub raw_body: Option<Compiled>,
    pub auth: Auth,
    /// `None`: any 2xx.
    pub status: Option<StatusSpec>,
    pub captures: Vec<CapturePlan>,
    /// No template anywhere in the request: no per-request context is built.
    pub literal: bool,
    /// The URL of a literal path without query, resolved once on first use.
    pub fixed_url: std::sync::OnceLock<reqwest::Url>,
}

pub struct CapturePlan {
    pub var: String,
    pub path: JsonPath,
    /// Append to a list kept for the virtual user's life instead of setting the variable.
    pub append: bool,
}

pub struct ScenarioPlan {
    pub id: String,
    pub weight: usize,
    pub vars: Vec<(String, Compiled)>,
    pub setup: Vec<StepPlan>,
    pub steps: Vec<StepPlan>,
}

/// The whole load: its scenarios and the template engine they were compiled in.
pub struct Plan {
    /// The scenario asked for (a mix's own id, or the one scenario).
    pub id: String,
    pub title: String,
    pub templates: Templates,
    pub scenarios: Vec<ScenarioPlan>,
}

impl Plan {
    /// Every step of every scenario (setup first), for reports and threshold names.
    pub fn steps(&self) -> impl Iterator<Item = &StepPlan> {
        self.scenarios
            .iter()
            .flat_map(|s| s.setup.iter().chain(&s.steps))
    }
}

/// Compiles a scenario set. Template syntax errors and bad JSONPaths name file:line:col.
pub fn compile(set: &ScenarioSet, run: RunContext) -> Result<Plan, Vec<SuiteError>> {
    let mut templates = Templates::new(run);
    let mut errors = Vec::new();
    let mixed = set.members.len() > 1 || set.root.file.steps.is_empty();
    let mut scenarios = Vec::new();
    for (weight, member) in &set.members {
        let id = member.file.id.value.clone();
        let prefix = if mixed {
            format!("{id}/")
        } else {
            String::new()
        };
        let mut vars = Vec::new();
        for (k, v) in &member.file.vars {
            match templates.compile(v) {
                Ok(c) => vars.push((k.clone(), c)),
                Err(e) => {
                    errors.push(member.error(member.file.id.referenced, format!("vars.{k}: {e}")))
                }
            }
        }
        let mut compile_steps = |steps: &[serde_saphyr::Spanned<LoadStep>]| {
            steps
                .iter()
                .filter_map(
                    |s| match compile_step(&mut templates, member, &s.value, &prefix) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    },
                )
                .collect::<Vec<_>>()
        };
        let setup = compile_steps(&member.file.setup);
        let steps = compile_steps(&member.file.steps);
        scenarios.push(ScenarioPlan {
            id,
            weight: *weight,
            vars,
            setup,
            steps,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        id: set.root.file.id.value.clone(),
        title: set.root.file.title.clone(),
        templates,
        scenarios,
    })
}

fn compile_step(
    t: &mut Templates,
    file: &LoadedScenario,
    step: &LoadStep,
    prefix: &str,
) -> Result<StepPlan, SuiteError> {
    let r = &step.request;
    let at = |loc, msg: String| file.error(loc, msg);
    let method = Method::from_bytes(r.method.value.to_ascii_uppercase().as_bytes())
        .ok()
        .filter(|m| {
            matches!(
                *m,
                Method::GET
                    | Method::POST
                    | Method::PUT
                    | Method::PATCH
                    | Method::DELETE
                    | Method::HEAD
            )
        })
        .ok_or_else(|| {
            at(
                r.method.referenced,
                format!(
                    "method {:?}: use GET, POST, PUT, PATCH, DELETE or HEAD",
                    r.method.value
                ),
            )
        })?;
    let compile_str = |t: &mut Templates, s: &str| t.compile(&Value::String(s.to_string()));
    let name_loc = step.name.referenced;
    let path = compile_str(t, &r.path.value).map_err(|e| at(r.path.referenced, e))?;
    let when = match &step.when {
        Some(w) => Some(compile_str(t, w).map_err(|e| at(name_loc, format!("when: {e}")))?),
        None => None,
    };
    let mut query = Vec::new();
    for (k, v) in &r.query {
        query.push((
            k.clone(),
            t.compile(v)
                .map_err(|e| at(name_loc, format!("query.{k}: {e}")))?,
        ));
    }
    let mut headers = Vec::new();
    for (k, v) in &r.headers {
        headers.push((
            k.clone(),
            compile_str(t, v).map_err(|e| at(name_loc, format!("headers.{k}: {e}")))?,
        ));
    }
    let body = match &r.body {
        Some(b) => Some(
            t.compile(b)
                .map_err(|e| at(name_loc, format!("body: {e}")))?,
        ),
        None => None,
    };
    let raw_body = match &r.raw_body {
        Some(b) => Some(compile_str(t, b).map_err(|e| at(name_loc, format!("raw_body: {e}")))?),
        None => None,
    };
    if let Some(bad) = step
        .expect
        .status
        .as_ref()
        .and_then(StatusSpec::invalid_class)
    {
        return Err(at(name_loc, format!("status class {bad:?}: use 1xx..5xx")));
    }
    let mut captures = Vec::new();
    for (var, c) in &step.capture {
        let (text, append) = match &c.value {
            LoadCapture::JsonPath(p) => (p, false),
            LoadCapture::Append(a) => (&a.append, true),
        };
        let path = JsonPath::parse(text).map_err(|e| {
            at(
                c.referenced,
                format!("capture {var}: bad JSONPath {text:?}: {e}"),
            )
        })?;
        captures.push(CapturePlan {
            var: var.clone(),
            path,
            append,
        });
    }
    let literal = path.is_literal()
        && when.as_ref().is_none_or(Compiled::is_literal)
        && query.iter().all(|(_, c)| c.is_literal())
        && headers.iter().all(|(_, c)| c.is_literal())
        && body.as_ref().is_none_or(Compiled::is_literal)
        && raw_body.as_ref().is_none_or(Compiled::is_literal);
    Ok(StepPlan {
        literal,
        fixed_url: std::sync::OnceLock::new(),
        name: format!("{prefix}{}", step.name.value),
        method,
        when,
        repeat: step.repeat,
        path,
        query,
        headers,
        body,
        raw_body,
        auth: r.auth,
        status: step.expect.status.clone(),
        captures,
    })
}
