//! The run: load and check suites, start the embedded server when no URL is given, discover,
//! plan (gates, profile, --filter), execute tests concurrently, clean up, and emit events for the
//! reporters. Nothing here prints; reporters do.

use super::assert;
use super::discovery::{self, Unreachable};
use super::http::{excerpt, Target, TlsOptions};
use super::ledger::Ledger;
use super::schema_check::SchemaSet;
use super::template::{eval_vars, RunContext, Templates};
use crate::results::{
    CheckResult, CleanupSummary, Discovery, FeatureFinding, Level, Outcome, RequestRecord,
    RequirementRef, ResponseRecord, RunEvent, RunResult, Stats, StepResult, TestResult,
};
use crate::server::faults::Fault;
use crate::server::{self, ServerConfig};
use crate::suite::diagnostics::SuiteError;
use crate::suite::load::{self, Known, LoadedSuite};
use crate::suite::model::{Capture, Feature, Requires, Step};
use crate::suite::profile::{glob_match, Profile};
use crate::suite::requirements::Requirements;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Everything `scimtest run` can be told.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// None: start the embedded reference server and run against it.
    pub url: Option<String>,
    pub token: Option<String>,
    pub headers: Vec<(String, String)>,
    pub profile: String,
    pub suites_dir: PathBuf,
    pub filters: Vec<String>,
    pub jobs: usize,
    pub timeout: Duration,
    pub fail_on: Level,
    pub report_dir: PathBuf,
    pub tls: TlsOptions,
    /// Derived MUST rows (MUST†: no upper-case keyword in the RFC sentence) fail the run like
    /// MUST; by default they grade as SHOULD, as the requirements catalog advises.
    pub strict: bool,
    /// Faults for the embedded server (used by our own tests to prove checks can fail).
    pub embedded_faults: Vec<Fault>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{} problem(s) in the suites", .0.len())]
    Suites(Vec<SuiteError>),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Runtime(String),
}

/// What the test tasks share.
struct Shared {
    target: Target,
    templates: Templates,
    schemas: SchemaSet,
    ledger: Ledger,
    requirements: &'static Requirements,
    strict: bool,
    suites: Vec<LoadedSuite>,
    interrupted: AtomicBool,
}

/// Loads the profile and the suites and checks them (what `scimtest lint` reports too).
pub fn load_and_check(
    suites_dir: &std::path::Path,
    profile: &str,
) -> Result<(Profile, Vec<LoadedSuite>, SchemaSet), RunError> {
    let profile = Profile::load(suites_dir, profile).map_err(|e| RunError::Suites(vec![e]))?;
    let suites = load::load_dir(suites_dir).map_err(RunError::Suites)?;
    let schemas = SchemaSet::builtin().map_err(|e| RunError::Runtime(e.to_string()))?;
    let templates = Templates::new(RunContext {
        prefix: "lint".into(),
        domain: profile.domain.clone(),
        run_id: "lint".into(),
        base_url: "http://lint".into(),
    });
    let known = Known {
        requirements: Requirements::builtin(),
        schemas: schemas.names().into_iter().collect(),
        faults: Fault::ALL.iter().map(|f| f.name().to_string()).collect(),
        templates: &templates,
    };
    let errors = load::check(&suites, &known);
    if !errors.is_empty() {
        return Err(RunError::Suites(errors));
    }
    Ok((profile, suites, schemas))
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Runs the suites and returns the whole result; `emit` receives every event as it happens.
pub async fn run(
    opts: &RunOptions,
    emit: &mut (dyn FnMut(RunEvent) + Send),
) -> Result<RunResult, RunError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (profile, suites, schemas) = load_and_check(&opts.suites_dir, &opts.profile)?;

    // The target: the given URL, or the embedded reference server on a free loopback port.
    let (embedded, base_url, token) = match &opts.url {
        Some(u) => (None, u.clone(), opts.token.clone()),
        None => {
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut cfg = ServerConfig::ephemeral(token.clone());
            cfg.faults = server::faults::Faults::new(opts.embedded_faults.iter().copied());
            if let Some(contract) = profile.contract {
                // A vendor profile is demonstrated against the server playing that contract.
                cfg.contract = contract;
                cfg.base_path = contract.default_base_path().to_string();
                cfg.domain = profile.domain.clone();
            }
            let srv = server::start(cfg)
                .await
                .map_err(|e| RunError::Runtime(format!("cannot start the embedded server: {e}")))?;
            let url = srv.base_url.clone();
            (Some(srv), url, Some(token))
        }
    };
    let result = run_against(
        opts,
        &profile,
        suites,
        schemas,
        &base_url,
        token.as_deref(),
        embedded.is_some(),
        started,
        started_at,
        emit,
    )
    .await;
    if let Some(srv) = embedded {
        let _ = srv.stop().await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_against(
    opts: &RunOptions,
    profile: &Profile,
    suites: Vec<LoadedSuite>,
    schemas: SchemaSet,
    base_url: &str,
    token: Option<&str>,
    embedded: bool,
    started: Instant,
    started_at: String,
    emit: &mut (dyn FnMut(RunEvent) + Send),
) -> Result<RunResult, RunError> {
    let target = Target::new(base_url, token, &opts.headers, opts.timeout, &opts.tls)
        .map(|t| match profile.rate_limit {
            Some(r) => t.with_rate_limit(r),
            None => t,
        })
        .map_err(RunError::Usage)?;
    let run_id = short_id();
    let prefix = format!("scimtest-{run_id}");
    let templates = Templates::new(RunContext {
        prefix: prefix.clone(),
        domain: profile.domain.clone(),
        run_id: run_id.clone(),
        base_url: target.base_url.to_string(),
    });
    let discovery = discovery::discover(&target, &prefix)
        .await
        .map_err(|Unreachable(m)| RunError::Unreachable(m))?;
    let ledger_path = opts.report_dir.join("ledger.jsonl");
    let ledger = Ledger::create(&ledger_path).map_err(|e| {
        RunError::Runtime(format!(
            "cannot write the ledger {}: {e}",
            ledger_path.display()
        ))
    })?;

    // Plan: what runs, what is skipped and why.
    let mut planned: Vec<(usize, usize)> = Vec::new();
    let mut skipped: Vec<TestResult> = Vec::new();
    for (si, s) in suites.iter().enumerate() {
        if !profile.includes_suite(&s.suite.id.value) {
            continue;
        }
        for (ti, t) in s.suite.tests.iter().enumerate() {
            let test = &t.value;
            let mut tags = s.suite.tags.clone();
            tags.extend(test.tags.iter().cloned());
            let id = format!("{}/{}", s.suite.id.value, test.id.value);
            if !profile.includes_test(&id, &tags, &test.profiles)
                || !selected(&opts.filters, &s.suite.id.value, &test.id.value, &tags)
            {
                continue;
            }
            let requires = merged(&s.suite.requires, &test.requires);
            match discovery::unmet(&requires, &discovery) {
                Some(reason) => skipped.push(skeleton(
                    s,
                    t,
                    Requirements::builtin(),
                    opts.strict,
                    Outcome::Skip,
                    Some(format!("skipped: {reason}")),
                )),
                None => planned.push((si, ti)),
            }
        }
    }
    if planned.is_empty() && skipped.is_empty() {
        return Err(RunError::Usage(format!(
            "no test selected (profile `{}`, filters {:?})",
            profile.name, opts.filters
        )));
    }
    emit(RunEvent::Started {
        target: target.base_url.to_string(),
        total: planned.len() + skipped.len(),
    });
    let shared = Arc::new(Shared {
        target,
        templates,
        schemas,
        ledger,
        requirements: Requirements::builtin(),
        strict: opts.strict,
        suites,
        interrupted: AtomicBool::new(false),
    });
    let mut tests: Vec<TestResult> = Vec::new();
    for s in skipped {
        emit(RunEvent::TestStarted { id: s.id.clone() });
        emit(RunEvent::TestFinished(Box::new(s.clone())));
        tests.push(s);
    }

    // Execute, `jobs` at a time; the first Ctrl-C stops issuing tests and goes to cleanup.
    let mut queue = planned.into_iter();
    let mut set: JoinSet<TestResult> = JoinSet::new();
    let jobs = opts.jobs.max(1);
    let ctrl_c = interrupt_signal();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        while !interrupted && set.len() < jobs {
            let Some((si, ti)) = queue.next() else { break };
            let sh = shared.clone();
            let id = format!(
                "{}/{}",
                sh.suites[si].suite.id.value, sh.suites[si].suite.tests[ti].value.id.value
            );
            emit(RunEvent::TestStarted { id });
            set.spawn(async move { run_test(&sh, si, ti).await });
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            joined = set.join_next() => {
                if let Some(Ok(r)) = joined {
                    emit(RunEvent::TestFinished(Box::new(r.clone())));
                    tests.push(r);
                }
            }
            _ = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                shared.interrupted.store(true, Ordering::SeqCst);
                set.abort_all();
                let ledger = shared.ledger.path().display().to_string();
                // A second Ctrl-C exits at once and leaves the ledger for `scimtest cleanup`.
                tokio::spawn(async move {
                    interrupt_signal().await;
                    eprintln!("\nscimtest: interrupted again; resources left are listed in {ledger} (run `scimtest cleanup --ledger {ledger}`)");
                    std::process::exit(130);
                });
            }
        }
    }
    for (si, ti) in queue {
        let s = &shared.suites[si];
        tests.push(skeleton(
            s,
            &s.suite.tests[ti],
            shared.requirements,
            shared.strict,
            Outcome::Skip,
            Some("skipped: run interrupted".into()),
        ));
    }

    // Clean up everything the run created.
    emit(RunEvent::CleanupStarted {
        resources: shared.ledger.pending_count(),
    });
    let outcome = shared.ledger.cleanup(&shared.target, 4, &|_, _| {}).await;
    let cleanup = CleanupSummary {
        created: outcome.created,
        deleted: outcome.deleted,
        left_behind: outcome.left_behind,
        ledger: Some(shared.ledger.path().display().to_string()),
    };

    let order: BTreeMap<String, usize> = shared
        .suites
        .iter()
        .flat_map(|s| {
            s.suite
                .tests
                .iter()
                .map(move |t| format!("{}/{}", s.suite.id.value, t.value.id.value))
        })
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    tests.sort_by_key(|t| order.get(&t.id).copied().unwrap_or(usize::MAX));
    let feature_findings = findings(&shared, &discovery, &tests).await;
    let stats = Stats::from_tests(&tests);
    let failed_at_level = tests
        .iter()
        .any(|t| t.outcome == Outcome::Fail && t.level >= opts.fail_on);
    let passed = !failed_at_level && stats.errors == 0 && !interrupted;
    let result = RunResult {
        tool: "scimtest".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        run_id,
        target: shared.target.base_url.to_string(),
        embedded_target: embedded,
        profile: profile.name.clone(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        discovery,
        feature_findings,
        tests,
        stats,
        cleanup,
        fail_on: opts.fail_on,
        passed,
    };
    emit(RunEvent::Finished(Box::new(result.clone())));
    if interrupted {
        return Err(RunError::Runtime("interrupted".into()));
    }
    Ok(result)
}

/// SIGINT (Ctrl-C) or SIGTERM (what CI systems and `timeout` send).
async fn interrupt_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--filter` patterns match `suite/test`, the suite id, the test id or a tag.
fn selected(filters: &[String], suite: &str, test: &str, tags: &[String]) -> bool {
    if filters.is_empty() {
        return true;
    }
    let full = format!("{suite}/{test}");
    filters.iter().any(|f| {
        glob_match(f, &full)
            || glob_match(f, suite)
            || glob_match(f, test)
            || tags.iter().any(|t| glob_match(f, t))
    })
}

fn merged(a: &Requires, b: &Requires) -> Requires {
    let mut r = a.clone();
    r.resource_types.extend(b.resource_types.iter().cloned());
    r.features.extend(b.features.iter().copied());
    r.probes.extend(b.probes.iter().copied());
    r.extensions.extend(b.extensions.iter().copied());
    r
}

/// A result with no steps (skipped, or about to be filled in).
fn skeleton(
    s: &LoadedSuite,
    t: &Spanned<crate::suite::model::Test>,
    reqs: &Requirements,
    strict: bool,
    outcome: Outcome,
    message: Option<String>,
) -> TestResult {
    let test = &t.value;
    let requirements: Vec<RequirementRef> = test
        .requirements
        .iter()
        .map(|r| match reqs.get(&r.value) {
            Some(q) => RequirementRef {
                id: q.id.clone(),
                level: q.level,
                summary: q.summary.clone(),
            },
            None => RequirementRef {
                id: r.value.clone(),
                level: Level::Must,
                summary: String::new(),
            },
        })
        .collect();
    // The test's severity: its strongest cited level, where a derived MUST counts as SHOULD
    // unless --strict (a rule read off a definition, not stated with MUST, should not fail a
    // vendor's run by default).
    let level = test
        .requirements
        .iter()
        .map(|r| match reqs.get(&r.value) {
            Some(q) if q.level == Level::Must && q.derived && !strict => Level::Should,
            Some(q) => q.level,
            None => Level::Must,
        })
        .max()
        .unwrap_or(Level::Must);
    let mut tags = s.suite.tags.clone();
    tags.extend(test.tags.iter().cloned());
    TestResult {
        id: format!("{}/{}", s.suite.id.value, test.id.value),
        suite: s.suite.id.value.clone(),
        suite_title: s.suite.title.clone(),
        source: s.pos(&t.referenced),
        title: test.title.clone(),
        area: s.suite.area.clone(),
        tags,
        requirements,
        level,
        outcome,
        message,
        duration_ms: 0,
        steps: Vec::new(),
    }
}

/// Runs one test: its vars, the suite's fixtures, then its steps, stopping at the first step
/// that fails or cannot be checked.
async fn run_test(sh: &Shared, si: usize, ti: usize) -> TestResult {
    let s = &sh.suites[si];
    let t = &s.suite.tests[ti];
    let started = Instant::now();
    let mut result = skeleton(s, t, sh.requirements, sh.strict, Outcome::Pass, None);
    let mut scope = Map::new();
    if let Err(e) = eval_vars(&sh.templates, &s.suite.vars, &mut scope)
        .and_then(|_| eval_vars(&sh.templates, &t.value.vars, &mut scope))
    {
        result.outcome = Outcome::Error;
        result.message = Some(e);
        return result;
    }
    let fixtures = s.suite.fixtures.iter().map(|f| (f, true));
    let steps = t.value.steps.iter().map(|f| (f, false));
    for (n, (step, is_fixture)) in fixtures.chain(steps).enumerate() {
        if sh.interrupted.load(Ordering::SeqCst) {
            result.outcome = Outcome::Error;
            result.message = Some("interrupted".into());
            break;
        }
        let (record, verdict) = run_step(sh, s, step, n, &mut scope).await;
        result.steps.push(record);
        match verdict {
            StepVerdict::Ok => {}
            StepVerdict::Failed(msg) if is_fixture => {
                result.outcome = Outcome::Error;
                result.message = Some(format!("fixture failed, nothing was checked: {msg}"));
                break;
            }
            StepVerdict::Failed(msg) => {
                result.outcome = Outcome::Fail;
                result.message = Some(msg);
                break;
            }
            StepVerdict::Error(msg) => {
                result.outcome = Outcome::Error;
                result.message = Some(msg);
                break;
            }
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

enum StepVerdict {
    Ok,
    Failed(String),
    Error(String),
}

/// A rendered request, ready to send.
struct Prepared {
    method: String,
    url: reqwest::Url,
    path: String,
    headers: BTreeMap<String, String>,
    body: Option<Vec<u8>>,
    sent_json: Option<Value>,
}

/// Renders a step's request templates against `scope`.
fn prepare(sh: &Shared, st: &Step, scope: &Map<String, Value>) -> Result<Prepared, String> {
    let t = &sh.templates;
    let path = t.render_string(&st.request.path.value, scope)?;
    let mut url = sh.target.url(&path)?;
    if !st.request.query.is_empty() {
        let mut pairs = Vec::new();
        for (k, v) in &st.request.query {
            match t
                .render_value(v, scope)
                .map_err(|e| format!("query {k}: {e}"))?
            {
                Value::String(s) => pairs.push((k.clone(), s)),
                other => pairs.push((k.clone(), other.to_string())),
            }
        }
        url.query_pairs_mut().extend_pairs(pairs);
    }
    let mut headers = BTreeMap::new();
    for (k, v) in &st.request.headers {
        let v = t
            .render_string(v, scope)
            .map_err(|e| format!("header {k}: {e}"))?;
        headers.insert(k.clone(), v);
    }
    let sent_json = match &st.request.body {
        Some(b) => Some(t.render_value(b, scope).map_err(|e| format!("body: {e}"))?),
        None => None,
    };
    let body = match (&sent_json, &st.request.raw_body) {
        (Some(v), _) => Some(v.to_string().into_bytes()),
        (None, Some(raw)) => Some(
            t.render_string(raw, scope)
                .map_err(|e| format!("raw_body: {e}"))?
                .into_bytes(),
        ),
        (None, None) => None,
    };
    if body.is_some()
        && !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        headers.insert("Content-Type".into(), "application/scim+json".into());
    }
    Ok(Prepared {
        method: st.request.method.value.to_ascii_uppercase(),
        url,
        path,
        headers,
        body,
        sent_json,
    })
}

fn request_record(sh: &Shared, st: &Step, p: &Prepared) -> RequestRecord {
    RequestRecord {
        method: p.method.clone(),
        url: sh.target.redact(p.url.as_str()),
        headers: sh
            .target
            .record_request_headers(&p.headers, st.request.auth),
        body: p.body.as_deref().and_then(|b| excerpt(&sh.target, b, 2000)),
    }
}

fn response_record(sh: &Shared, resp: &super::http::HttpResponse) -> ResponseRecord {
    ResponseRecord {
        status: resp.status,
        headers: sh.target.record_headers(&resp.headers),
        body: excerpt(&sh.target, &resp.body, 4000),
        duration_ms: resp.duration.as_millis() as u64,
    }
}

/// The step's checks on one response, with secrets redacted from their texts (a server may echo
/// the credentials back).
fn check_response(
    sh: &Shared,
    s: &LoadedSuite,
    st: &Step,
    p: &Prepared,
    resp: &super::http::HttpResponse,
    scope: &Map<String, Value>,
    source: &str,
) -> Vec<CheckResult> {
    let pos = |loc: &serde_saphyr::Location| s.pos(loc);
    let ctx = assert::Ctx {
        templates: &sh.templates,
        scope,
        schemas: &sh.schemas,
        sent: p.sent_json.as_ref(),
        path: &p.path,
        source: source.to_string(),
        pos: &pos,
    };
    let mut checks = assert::check_step(&st.expect, resp, &ctx);
    for c in &mut checks {
        c.expected = sh.target.redact(&c.expected);
        c.actual = c.actual.take().map(|a| sh.target.redact(&a));
    }
    checks
}

fn first_failure(checks: &[CheckResult]) -> Option<String> {
    checks.iter().find(|c| !c.passed).map(|c| {
        format!(
            "expected {}, got {} ({})",
            c.expected,
            c.actual.clone().unwrap_or_default(),
            c.source.clone().unwrap_or_default()
        )
    })
}

async fn run_step(
    sh: &Shared,
    s: &LoadedSuite,
    step: &Spanned<Step>,
    n: usize,
    scope: &mut Map<String, Value>,
) -> (StepResult, StepVerdict) {
    let st = &step.value;
    let source = s.pos(&step.referenced);
    let name = st.name.clone().unwrap_or_else(|| {
        format!(
            "step {}: {} {}",
            n + 1,
            st.request.method.value,
            st.request.path.value
        )
    });
    let mut record = StepResult {
        name,
        source: source.clone(),
        request: RequestRecord {
            method: st.request.method.value.clone(),
            url: st.request.path.value.clone(),
            headers: BTreeMap::new(),
            body: None,
        },
        response: None,
        checks: Vec::new(),
        error: None,
    };
    let err = |mut record: StepResult, msg: String| {
        record.error = Some(msg.clone());
        (record, StepVerdict::Error(format!("{msg} ({source})")))
    };
    if let Some(copies) = &st.parallel {
        return run_parallel(sh, s, st, copies.value, scope, record, &source).await;
    }
    let p = match prepare(sh, st, scope) {
        Ok(p) => p,
        Err(e) => return err(record, e),
    };
    record.request = request_record(sh, st, &p);
    let resp = match sh
        .target
        .send(
            &p.method,
            p.url.clone(),
            &p.headers,
            p.body.clone(),
            st.request.auth,
        )
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return err(
                record,
                format!("{} {}: {e}", p.method, sh.target.redact(p.url.as_str())),
            )
        }
    };
    record.response = Some(response_record(sh, &resp));
    journal(sh, &p.method, &p.url, &resp);

    // Check, then capture.
    let checks = check_response(sh, s, st, &p, &resp, scope, &source);
    let failed = first_failure(&checks);
    record.checks = checks;
    if let Some(msg) = failed {
        return (record, StepVerdict::Failed(msg));
    }
    let body = resp.json();
    for (name, cap) in &st.capture {
        let select = |p: &str| -> Result<Vec<Value>, String> {
            let b = body.as_ref().ok_or("the body is not JSON")?;
            let path = serde_json_path::JsonPath::parse(p)
                .map_err(|e| format!("invalid JSONPath: {e}"))?;
            Ok(path.query(b).all().into_iter().cloned().collect())
        };
        let value = match &cap.value {
            Capture::Header(h) => resp
                .header(&h.header)
                .map(|v| Value::String(v.to_string()))
                .ok_or_else(|| format!("no {} header", h.header)),
            Capture::All(a) => select(&a.all).map(Value::Array),
            Capture::JsonPath(p) => select(p).and_then(|nodes| match nodes.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(format!("{p} selects nothing")),
                many => Err(format!(
                    "{p} selects {} nodes; a capture needs exactly one (or use `all:`)",
                    many.len()
                )),
            }),
        };
        match value {
            Ok(v) => {
                scope.insert(name.clone(), v);
            }
            Err(why) => {
                let msg = format!("capture `{name}`: {why} ({})", s.pos(&cap.referenced));
                record.error = Some(msg.clone());
                return (record, StepVerdict::Failed(msg));
            }
        }
    }
    (record, StepVerdict::Ok)
}

/// A race: `copies` renderings of the request sent at once. Every response gets the step's
/// checks; `expect.tally` counts them by status. The record shows the first failing copy (or
/// the first copy).
async fn run_parallel(
    sh: &Shared,
    s: &LoadedSuite,
    st: &Step,
    copies: usize,
    scope: &Map<String, Value>,
    mut record: StepResult,
    source: &str,
) -> (StepResult, StepVerdict) {
    let copies = copies.clamp(1, 1000);
    let mut prepared = Vec::with_capacity(copies);
    let mut scopes = Vec::with_capacity(copies);
    for i in 0..copies {
        let mut sc = scope.clone();
        sc.insert("copy".into(), Value::from(i));
        match prepare(sh, st, &sc) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                record.error = Some(format!("copy {i}: {e}"));
                return (
                    record.clone(),
                    StepVerdict::Error(format!("copy {i}: {e} ({source})")),
                );
            }
        }
        scopes.push(sc);
    }
    let sends = prepared.iter().map(|p| {
        sh.target.send(
            &p.method,
            p.url.clone(),
            &p.headers,
            p.body.clone(),
            st.request.auth,
        )
    });
    let responses = futures::future::join_all(sends).await;
    let mut statuses = Vec::with_capacity(copies);
    let mut all_checks: Vec<CheckResult> = Vec::new();
    let mut shown: Option<usize> = None;
    for (i, (p, r)) in prepared.iter().zip(&responses).enumerate() {
        match r {
            Ok(resp) => {
                journal(sh, &p.method, &p.url, resp);
                statuses.push(resp.status);
                let mut checks = check_response(sh, s, st, p, resp, &scopes[i], source);
                if checks.iter().any(|c| !c.passed) && shown.is_none() {
                    shown = Some(i);
                }
                checks.retain(|c| !c.passed || i == 0);
                for c in &mut checks {
                    c.expected = format!("copy {i}: {}", c.expected);
                }
                all_checks.extend(checks);
            }
            Err(e) => {
                let msg = format!(
                    "copy {i}: {} {}: {e}",
                    p.method,
                    sh.target.redact(p.url.as_str())
                );
                record.request = request_record(sh, st, p);
                record.error = Some(msg.clone());
                return (record, StepVerdict::Error(format!("{msg} ({source})")));
            }
        }
    }
    if let Some(t) = &st.expect.tally {
        let mut counts: BTreeMap<String, usize> = t.value.keys().map(|k| (k.clone(), 0)).collect();
        let mut uncounted = Vec::new();
        for st in &statuses {
            match t
                .value
                .keys()
                .find(|k| crate::suite::model::tally_key_accepts(k, *st) == Some(true))
            {
                Some(k) => *counts.entry(k.clone()).or_default() += 1,
                None => uncounted.push(*st),
            }
        }
        let ok = counts == t.value && uncounted.is_empty();
        let describe = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{v}× {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut actual = describe(&counts);
        if !uncounted.is_empty() {
            actual.push_str(&format!(", uncounted: {uncounted:?}"));
        }
        all_checks.push(CheckResult {
            kind: "tally".into(),
            expected: format!("{} parallel responses: {}", copies, describe(&t.value)),
            passed: ok,
            actual: (!ok).then_some(actual),
            source: Some(s.pos(&t.referenced)),
        });
    }
    let idx = shown.unwrap_or(0);
    record.request = request_record(sh, st, &prepared[idx]);
    if let Some(Ok(resp)) = responses.get(idx) {
        record.response = Some(response_record(sh, resp));
    }
    let failed = first_failure(&all_checks);
    record.checks = all_checks;
    match failed {
        Some(msg) => (record, StepVerdict::Failed(msg)),
        None => (record, StepVerdict::Ok),
    }
}

/// Journals what a response says the run created or deleted.
fn journal(sh: &Shared, method: &str, url: &reqwest::Url, resp: &super::http::HttpResponse) {
    let path = url.path();
    // Any 2xx to a POST that is not a query or a Bulk request may have created something: a
    // server answering 200 instead of 201 must not make the run leak what it created.
    if method == "POST"
        && (200..300).contains(&resp.status)
        && !path.ends_with("/.search")
        && !path.ends_with("/Bulk")
    {
        let body = resp.json();
        // The resource's own URL on the target's origin: Location, else meta.location, else the
        // collection URL plus the id. A Location on another origin is not trusted (we never
        // send credentials there), so the id-based URL is used for cleanup instead.
        let by_id = body.as_ref().and_then(|b| b.get("id")).map(|id| {
            let id = id
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| id.to_string());
            format!(
                "{}/{}",
                url.as_str()
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/'),
                id
            )
        });
        let candidates = [
            resp.header("location").map(String::from),
            body.as_ref()
                .and_then(|b| b.pointer("/meta/location"))
                .and_then(Value::as_str)
                .map(String::from),
            by_id,
        ];
        if let Some(l) = candidates
            .into_iter()
            .flatten()
            .find(|l| sh.target.url(l).is_ok())
        {
            sh.ledger.record_created(&l);
        }
    }
    if method == "POST" && path.ends_with("/Bulk") && resp.status == 200 {
        for op in resp
            .json()
            .and_then(|b| b.get("Operations").cloned())
            .and_then(|o| o.as_array().cloned())
            .unwrap_or_default()
        {
            let is_post = op
                .get("method")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("POST"));
            if is_post && op.get("status").and_then(Value::as_str) == Some("201") {
                if let Some(l) = op
                    .get("location")
                    .and_then(Value::as_str)
                    .filter(|l| sh.target.url(l).is_ok())
                {
                    sh.ledger.record_created(l);
                }
            }
        }
    }
    if method == "DELETE" && (200..300).contains(&resp.status) {
        sh.ledger.record_deleted(url.as_str());
    }
}

/// Features advertised but failing their tests, and features working though not advertised.
async fn findings(sh: &Shared, d: &Discovery, tests: &[TestResult]) -> Vec<FeatureFinding> {
    let mut out = Vec::new();
    for f in Feature::ALL {
        let key = f.spc_key();
        let advertised = d.features.get(key).copied().unwrap_or(false);
        if advertised {
            let failing: Vec<&str> = tests
                .iter()
                .filter(|t| t.outcome == Outcome::Fail)
                .filter(|t| requires_feature(sh, t, f))
                .map(|t| t.id.as_str())
                .collect();
            if !failing.is_empty() {
                out.push(FeatureFinding {
                    feature: key.into(),
                    kind: "advertised_but_broken".into(),
                    detail: format!(
                        "{key} is advertised, but {} test(s) needing it failed: {}",
                        failing.len(),
                        failing.join(", ")
                    ),
                });
            }
        }
    }
    // Cheap probes for two features a server may implement without saying so.
    for (f, query) in [
        (Feature::Filter, "filter=userName%20pr&count=1"),
        (Feature::Sort, "sortBy=userName&count=1"),
    ] {
        if d.features.get(f.spc_key()).copied().unwrap_or(false) {
            continue;
        }
        let Ok(url) = sh.target.url(&format!("/Users?{query}")) else {
            continue;
        };
        if let Ok(r) = sh
            .target
            .send(
                "GET",
                url,
                &BTreeMap::new(),
                None,
                crate::suite::model::Auth::Default,
            )
            .await
        {
            if r.status == 200 && r.json().is_some_and(|b| b.get("totalResults").is_some()) {
                out.push(FeatureFinding {
                    feature: f.spc_key().into(),
                    kind: "working_but_not_advertised".into(),
                    detail: format!("GET /Users?{query} answered 200, but ServiceProviderConfig says {} is not supported", f.spc_key()),
                });
            }
        }
    }
    out
}

/// Whether a failed test says something about feature `f`: it needs the feature AND it checks
/// the feature itself — a cited requirement from the feature's area (PAT for patch, BLK for
/// bulk, …). A PATCH test that fails on a missing WWW-Authenticate says nothing about PATCH.
fn requires_feature(sh: &Shared, t: &TestResult, f: Feature) -> bool {
    let area = match f {
        Feature::Patch => "PAT",
        Feature::Bulk => "BLK",
        Feature::Filter => "FLT",
        Feature::Sort => "SRT",
        Feature::Etag => "VER",
        Feature::ChangePassword => "USR",
    };
    let about_feature = t
        .requirements
        .iter()
        .any(|r| sh.requirements.get(&r.id).is_some_and(|q| q.area == area));
    about_feature && needs_feature(sh, t, f)
}

fn needs_feature(sh: &Shared, t: &TestResult, f: Feature) -> bool {
    sh.suites
        .iter()
        .filter(|s| s.suite.id.value == t.suite)
        .any(|s| {
            s.suite.requires.features.contains(&f)
                || s.suite.tests.iter().any(|x| {
                    format!("{}/{}", s.suite.id.value, x.value.id.value) == t.id
                        && x.value.requires.features.contains(&f)
                })
        })
}
