//! The one module that talks to goose (pinned at =0.19.0: its API changes every minor release).
//!
//! goose runs as a library: its configuration is built here in code and handed to
//! `GooseAttack::initialize_with_config`, so it never reads our process arguments; its telnet
//! and WebSocket controllers stay off (the telnet one would bind 127.0.0.1:5116); its metrics
//! tables are not printed (our reporters write the results); and the caller installs its logger
//! and its signal handlers before `execute`, so goose's own fail to install and ours stay in
//! charge. Each plan step becomes one goose transaction making one named request.

use super::plan::{Plan, ScenarioPlan, StepPlan};
use super::stats::{ErrorKey, Stats};
use crate::exec::http::{Target, TlsOptions};
use crate::exec::ledger::Ledger;
use crate::suite::model::Auth;
use goose::config::GooseConfiguration;
use goose::goose::{
    GooseRequest, GooseUser, Scenario, Transaction, TransactionError, TransactionFunction,
    TransactionResult,
};
use goose::metrics::{GooseCoordinatedOmissionMitigation, GooseMetrics};
use goose::{GooseAttack, GooseError, GooseScheduler};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Method;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// What every virtual user shares.
pub struct Shared {
    pub plan: Plan,
    pub target: Target,
    pub ledger: Ledger,
    pub stats: Stats,
    pub timeout: Duration,
    pub tls: TlsOptions,
    /// `--shard I/N` as (I, N); part of every generated name so shards never collide.
    pub shard: Option<(usize, usize)>,
    /// The first template or URL error: it stops the run (it would repeat every iteration).
    pub scenario_error: std::sync::Mutex<Option<String>>,
}

impl Shared {
    /// Records the first scenario error and trips goose's killswitch.
    fn stopped_by_scenario_error(&self, why: &str) {
        let mut first = self
            .scenario_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(why.to_string());
            goose::trigger_killswitch("a scenario error");
        }
    }

    /// The scenario error that stopped the run, if one did.
    pub fn scenario_error(&self) -> Option<String> {
        self.scenario_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// How the load is shaped.
#[derive(Debug, Clone)]
pub struct Workload {
    pub users: usize,
    /// Open model: the target request rate across all users (goose's request throttle).
    pub rate: Option<usize>,
    pub ramp: Option<Duration>,
    pub duration: Option<Duration>,
    /// Per virtual user.
    pub iterations: Option<usize>,
    /// goose threshold rules, as goose spells them.
    pub thresholds: Vec<String>,
    /// Stop the run at the first threshold that fails (goose's threshold abort).
    pub abort_on_fail: bool,
}

impl Workload {
    pub fn open(&self) -> bool {
        self.rate.is_some()
    }
}

/// How the attack ended, with goose's metrics.
pub struct Outcome {
    pub metrics: GooseMetrics,
    /// goose's own verdict per threshold, in the order given.
    pub thresholds: Vec<goose::threshold::ThresholdResult>,
    /// The duration timer tripped goose's killswitch before the iterations were done.
    pub duration_reached: bool,
}

/// The configuration goose runs with, built in code.
fn configuration(target: &Target, w: &Workload) -> GooseConfiguration {
    let mut c = GooseConfiguration::default();
    // goose wants scheme://host:port; every request carries a full URL built by our Target.
    c.host = Some(target.base_url.origin().ascii_serialization());
    c.users = Some(w.users.max(1));
    match w.ramp.filter(|r| !r.is_zero() && w.users >= 2) {
        Some(r) => c.increase_time = Some(r.as_secs().max(1).to_string()),
        // Without a ramp every user starts at once (goose's default is one per second).
        None => c.increase_rate = Some((w.users.max(1) * 1000).to_string()),
    }
    match (w.iterations, w.duration) {
        (Some(n), _) => c.iterations = Some(n),
        (None, d) => {
            c.run_time = Some(d.map_or(30, |d| d.as_secs().max(1)).to_string());
            // Count the ramp's requests too, so the report's requests match what was created
            // (goose refuses this flag with iterations, where it does not reset anyway).
            c.no_reset_metrics = true;
        }
    }
    c.throttle_requests = w.rate;
    c.co_mitigation = Some(if w.open() {
        GooseCoordinatedOmissionMitigation::Average
    } else {
        GooseCoordinatedOmissionMitigation::Disabled
    });
    c.threshold = w.thresholds.clone();
    c.no_threshold_abort = !w.abort_on_fail;
    c.no_telnet = true;
    c.no_print_metrics = true;
    c.no_error_summary = true;
    c.quiet = 1;
    c.timeout = None;
    c
}

/// Runs the attack to its end (iterations, duration, or the killswitch: Ctrl-C or a threshold).
pub async fn execute(shared: Arc<Shared>, w: &Workload) -> Result<Outcome, String> {
    // goose keeps its killswitch and metrics channels in process-wide state: one attack at a
    // time per process.
    static RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }
    if RUNNING.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err("another load is running in this process; goose runs one at a time".into());
    }
    let _running = Running;
    let config = configuration(&shared.target, w);
    let mut attack = GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e}"))?
        .set_scheduler(GooseScheduler::RoundRobin);
    for (si, sc) in shared.plan.scenarios.iter().enumerate() {
        attack = attack.register_scenario(scenario(&shared, si, sc)?);
    }
    // goose refuses iterations and a run time together: run the iterations and trip its
    // killswitch from a timer.
    let timer = match (w.iterations, w.duration) {
        (Some(_), Some(d)) => {
            let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let f = fired.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(d).await;
                f.store(true, std::sync::atomic::Ordering::SeqCst);
                goose::trigger_killswitch("--duration reached");
            });
            Some((task, fired))
        }
        _ => None,
    };
    let result = attack.execute().await;
    let duration_reached = match timer {
        Some((task, fired)) => {
            task.abort();
            fired.load(std::sync::atomic::Ordering::SeqCst)
        }
        None => false,
    };
    let metrics = match result {
        Ok(m) => m,
        Err(GooseError::ThresholdsFailed { metrics, .. }) => *metrics.0,
        Err(e) => return Err(format!("goose: {e}")),
    };
    Ok(Outcome {
        thresholds: metrics.thresholds.clone(),
        metrics,
        duration_reached,
    })
}

fn scenario(shared: &Arc<Shared>, si: usize, sc: &ScenarioPlan) -> Result<Scenario, String> {
    let mut s = Scenario::new(&sc.id)
        .set_weight(sc.weight)
        .map_err(|e| format!("goose: {e}"))?;
    let sh = shared.clone();
    let start: TransactionFunction = Arc::new(move |user| {
        let sh = sh.clone();
        Box::pin(async move { start_user(user, &sh, si).await })
    });
    s = s.register_transaction(Transaction::new(start).set_name("setup").set_on_start());
    for (ti, step) in sc.steps.iter().enumerate() {
        let sh = shared.clone();
        let f: TransactionFunction = Arc::new(move |user| {
            let sh = sh.clone();
            Box::pin(async move { iteration_step(user, &sh, si, ti).await })
        });
        s = s.register_transaction(Transaction::new(f).set_name(&step.name));
    }
    Ok(s)
}

/// A virtual user's variables.
#[derive(Clone, Default)]
struct Vu {
    /// Kept for the user's life: setup captures, `append` lists, `vu`, `shard`.
    life: Map<String, Value>,
    /// This iteration's `vars` and captures.
    iter: Map<String, Value>,
    iteration: u64,
    /// A step of this iteration failed: the rest of it is skipped (it would act on nothing).
    broken: bool,
    /// The scenario's setup has succeeded.
    ready: bool,
}

fn take_vu(user: &mut GooseUser) -> Vu {
    user.get_session_data_mut::<Vu>()
        .map(std::mem::take)
        .unwrap_or_default()
}

fn custom(msg: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(msg))
}

/// on_start: the user's own HTTP client (TLS as asked, credentials as default headers marked
/// sensitive), its variables, then the scenario's setup steps.
async fn start_user(user: &mut GooseUser, sh: &Shared, si: usize) -> TransactionResult {
    let builder = crate::exec::http::client_builder(sh.timeout, &sh.tls)
        .map_err(custom)?
        .default_headers(sh.target.credential_headers())
        .pool_max_idle_per_host(4);
    user.set_client_builder(builder).await.map_err(Box::new)?;
    let mut vu = Vu::default();
    vu.life
        .insert("vu".into(), Value::from(user.weighted_users_index));
    if let Some((i, n)) = sh.shard {
        vu.life.insert("shard".into(), Value::from(i));
        vu.life.insert("shards".into(), Value::from(n));
    }
    let result = setup(user, sh, si, &mut vu).await;
    user.set_session_data(vu);
    result
}

/// The scenario's setup steps; the user is ready once they all succeeded. A user whose setup
/// failed (a 503 under load) tries it again at its next iteration instead of iterating on
/// nothing; what the failed attempt created is in the ledger and gets cleaned up.
async fn setup(user: &mut GooseUser, sh: &Shared, si: usize, vu: &mut Vu) -> TransactionResult {
    for step in &sh.plan.scenarios[si].setup {
        if goose::is_killswitch_triggered() {
            return Ok(());
        }
        run_step(user, sh, step, vu, true).await?;
    }
    vu.ready = true;
    Ok(())
}

async fn iteration_step(
    user: &mut GooseUser,
    sh: &Shared,
    si: usize,
    ti: usize,
) -> TransactionResult {
    let sc = &sh.plan.scenarios[si];
    let mut vu = take_vu(user);
    if ti == 0 && !vu.ready {
        if let Err(e) = setup(user, sh, si, &mut vu).await {
            vu.broken = true;
            user.set_session_data(vu);
            return Err(e);
        }
    }
    if ti == 0 {
        vu.iter.clear();
        vu.broken = false;
        vu.iteration += 1;
        vu.iter
            .insert("iteration".into(), Value::from(vu.iteration));
        for (k, c) in &sc.vars {
            let ctx = sh.plan.templates.context_layers(&[&vu.life, &vu.iter]);
            match sh.plan.templates.render_compiled(c, &ctx) {
                Ok(v) => {
                    vu.iter.insert(k.clone(), v);
                }
                Err(e) => {
                    vu.broken = true;
                    sh.stats
                        .record_unsent(unsent(&sc.steps[0].name, format!("vars.{k}: {e}")));
                    sh.stopped_by_scenario_error(&format!("vars.{k}: {e}"));
                    tokio::task::yield_now().await;
                    user.set_session_data(vu);
                    return Err(custom(format!("vars.{k}: {e}")));
                }
            }
        }
    }
    let result = if vu.broken {
        Ok(())
    } else {
        run_step(user, sh, &sc.steps[ti], &mut vu, false).await
    };
    if result.is_err() {
        vu.broken = true;
    }
    user.set_session_data(vu);
    result
}

fn unsent(step: &str, reason: String) -> ErrorKey {
    ErrorKey {
        transaction: step.to_string(),
        status: 0,
        scim_type: None,
        reason,
    }
}

/// One step: `repeat` requests (or none when `when` is false).
async fn run_step(
    user: &mut GooseUser,
    sh: &Shared,
    step: &StepPlan,
    vu: &mut Vu,
    setup: bool,
) -> TransactionResult {
    let t = &sh.plan.templates;
    for i in 0..step.repeat {
        if i > 0 && goose::is_killswitch_triggered() {
            break;
        }
        let ctx = if step.literal {
            minijinja::Value::UNDEFINED
        } else {
            let mut ctx_vars = Map::new();
            ctx_vars.insert("i".into(), Value::from(i));
            t.context_layers(&[&vu.life, &vu.iter, &ctx_vars])
        };
        let prepared = match prepare(sh, step, &ctx) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()),
            Err(e) => {
                // A template or URL error repeats on every iteration without sending anything:
                // a scenario bug. Stop the run rather than spin on it.
                sh.stats.record_unsent(unsent(&step.name, e.clone()));
                sh.stopped_by_scenario_error(&format!("step {}: {e}", step.name));
                tokio::task::yield_now().await;
                return Err(custom(format!("{}: {e}", step.name)));
            }
        };
        // Built on the user's own client from the parsed URL (goose's builder would parse the
        // URL again).
        let mut rb = user
            .client
            .request(step.method.clone(), prepared.url.clone())
            .header(ACCEPT, "application/scim+json");
        for (k, v) in prepared.headers {
            rb = rb.header(k, v);
        }
        if step.auth == Auth::Invalid {
            rb = rb.header(
                AUTHORIZATION,
                HeaderValue::from_static("Bearer scimtest-invalid-token"),
            );
        }
        if let Some(body) = prepared.body {
            rb = rb.header(CONTENT_TYPE, "application/scim+json").body(body);
        }
        let request = GooseRequest::builder()
            .set_request_builder(rb)
            .name(step.name.as_str())
            .build();
        let mut goose = user.request(request).await?;
        let latency = goose.request.response_time_micros();
        let response = match goose.response {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "transport"
                };
                sh.stats
                    .record(latency, Some(unsent(&step.name, reason.into())));
                return Err(Box::new(TransactionError::RequestFailed {
                    raw_request: Box::new(goose.request),
                }));
            }
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let _ = user.set_failure("body read failed", &mut goose.request, None, None);
                sh.stats.record(
                    latency,
                    Some(unsent(
                        &step.name,
                        format!(
                            "reading the body: {}",
                            if e.is_timeout() {
                                "timeout"
                            } else {
                                "transport"
                            }
                        ),
                    )),
                );
                return Err(custom(format!("{}: reading the body failed", step.name)));
            }
        };
        let expected = match &step.status {
            Some(spec) => spec.accepts(status),
            None => (200..300).contains(&status),
        };
        if !expected {
            if (200..300).contains(&status) {
                let _ = user.set_failure("unexpected status", &mut goose.request, None, None);
            }
            if status == 429 {
                sh.stats.record_429(retry_after.as_deref());
            }
            let scim_type = if body.first() == Some(&b'{') {
                serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("scimType").and_then(Value::as_str).map(String::from))
            } else {
                None
            };
            let want = step
                .status
                .as_ref()
                .map_or("2xx".to_string(), |s| s.describe());
            sh.stats.record(
                latency,
                Some(ErrorKey {
                    transaction: step.name.clone(),
                    status,
                    scim_type,
                    reason: format!("expected {want}"),
                }),
            );
            return Err(Box::new(TransactionError::RequestFailed {
                raw_request: Box::new(goose.request),
            }));
        }
        if !(200..300).contains(&status) {
            // An expected non-2xx (a lookup answering 404 on purpose) is a success.
            user.set_success(&mut goose.request)?;
        }
        // The body is parsed only when something reads it: captures, or a created resource
        // whose URL must come from its `id` (no usable Location header).
        let created = step.method == Method::POST && status == 201;
        // A Location under the target's base URL is taken as it is (parsing every one costs a
        // measurable share of a create); anything else goes through the origin check.
        let location_url = location.as_deref().and_then(|l| {
            if l.starts_with(sh.target.base_url.as_str()) {
                Some(l.to_string())
            } else {
                sh.target.url(l).ok().map(|u| u.to_string())
            }
        });
        let json = if !step.captures.is_empty() || (created && location_url.is_none()) {
            serde_json::from_slice::<Value>(&body).ok()
        } else {
            None
        };
        // Journal what the load created the moment the server confirms it, and what it deleted.
        if created {
            let url = location_url.or_else(|| created_url(&prepared.url, json.as_ref()));
            if let Some(url) = url {
                sh.ledger.record_created(&url);
            }
        } else if step.method == Method::DELETE && ((200..300).contains(&status) || status == 404) {
            sh.ledger.record_deleted(prepared.url.as_str());
        }
        for c in &step.captures {
            let node = json.as_ref().and_then(|j| c.path.query(j).first().cloned());
            match (node, c.append) {
                (Some(v), true) => match vu
                    .life
                    .entry(c.var.clone())
                    .or_insert_with(|| Value::Array(vec![]))
                {
                    Value::Array(a) => a.push(v),
                    other => *other = Value::Array(vec![v]),
                },
                (Some(v), false) => {
                    let scope = if setup { &mut vu.life } else { &mut vu.iter };
                    scope.insert(c.var.clone(), v);
                }
                (None, _) => {
                    let _ =
                        user.set_failure("capture found nothing", &mut goose.request, None, None);
                    sh.stats.record(
                        latency,
                        Some(unsent(
                            &step.name,
                            format!("capture {} found nothing", c.var),
                        )),
                    );
                    return Err(custom(format!(
                        "{}: capture {} found nothing",
                        step.name, c.var
                    )));
                }
            }
        }
        sh.stats.record(latency, None);
    }
    Ok(())
}

/// A request ready to build.
struct Prepared {
    url: reqwest::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Renders a step's templates; `None` when its `when` is false.
fn prepare(
    sh: &Shared,
    step: &StepPlan,
    ctx: &minijinja::Value,
) -> Result<Option<Prepared>, String> {
    let t = &sh.plan.templates;
    if let Some(w) = &step.when {
        match t.render_compiled(w, ctx)? {
            Value::Bool(true) => {}
            Value::Bool(false) | Value::Null => return Ok(None),
            Value::String(s) if s == "true" || s == "True" => {}
            Value::String(s) if s == "false" || s == "False" || s.is_empty() => return Ok(None),
            other => return Err(format!("`when` must be true or false, got {other}")),
        }
    }
    let mut url = if step.literal && step.query.is_empty() {
        match step.fixed_url.get() {
            Some(u) => u.clone(),
            None => {
                let u = sh.target.url(&t.render_compiled_string(&step.path, ctx)?)?;
                step.fixed_url.get_or_init(|| u).clone()
            }
        }
    } else {
        sh.target.url(&t.render_compiled_string(&step.path, ctx)?)?
    };
    if !step.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, c) in &step.query {
            pairs.append_pair(k, &t.render_compiled_string(c, ctx)?);
        }
    }
    let mut headers = Vec::with_capacity(step.headers.len());
    for (k, c) in &step.headers {
        headers.push((k.clone(), t.render_compiled_string(c, ctx)?));
    }
    let body = match (&step.body, &step.raw_body) {
        (Some(b), _) => Some(
            serde_json::to_vec(&t.render_compiled(b, ctx)?).map_err(|e| format!("body: {e}"))?,
        ),
        (None, Some(r)) => Some(t.render_compiled_string(r, ctx)?.into_bytes()),
        (None, None) => None,
    };
    Ok(Some(Prepared { url, headers, body }))
}

/// The URL of a resource a POST created without a usable Location: the collection URL plus
/// the body's `id`.
fn created_url(posted: &reqwest::Url, body: Option<&Value>) -> Option<String> {
    let id = body?.get("id")?.as_str()?;
    let mut u = posted.clone();
    u.set_query(None);
    u.path_segments_mut().ok()?.pop_if_empty().push(id);
    Some(u.to_string())
}
