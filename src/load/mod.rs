//! `scimtest load`: goose-driven provisioning load with thresholds that gate CI.
//!
//! Data flow: scenario files (`scenario`) → compiled plan (`plan`) → goose attack (`attack`, the
//! only module that knows goose) with our counters (`stats`) → report (`report`, `threshold`)
//! → reporters (JSON, HTML, JUnit, terminal) → cleanup of everything the load created.

pub mod attack;
pub mod html;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod threshold;

use crate::exec::http::{Target, TlsOptions};
use crate::exec::ledger::Ledger;
use crate::exec::template::RunContext;
use crate::server::{self, ServerConfig};
use crate::suite::diagnostics::SuiteError;
use attack::{Shared, Workload};
use report::{Cleanup, Errors, LoadReport, Model, Shard, Timing, TransactionRow};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use threshold::Verdict;

/// Everything `scimtest load` was asked to do.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub url: Option<String>,
    pub token: Option<String>,
    pub headers: Vec<(String, String)>,
    /// A name under `SUITES/load/` or a file.
    pub scenario: String,
    pub suites_dir: PathBuf,
    pub users: usize,
    pub rate: Option<usize>,
    pub ramp: Option<Duration>,
    pub duration: Option<Duration>,
    pub iterations: Option<usize>,
    pub thresholds: Vec<String>,
    pub abort_on_fail: bool,
    pub report_dir: PathBuf,
    pub tls: TlsOptions,
    pub timeout: Duration,
    pub shard: Option<(usize, usize)>,
    pub domain: String,
    /// The embedded server's injected latency and error rate (tests, demos).
    pub server_latency: Duration,
    pub server_error_rate: f64,
    pub cleanup_concurrency: usize,
    /// Live progress on stderr.
    pub progress: bool,
}

#[derive(Debug)]
pub enum LoadError {
    Usage(String),
    Scenario(Vec<SuiteError>),
    Unreachable(String),
    Runtime(String),
}

/// The finished load.
pub struct LoadResult {
    pub report: LoadReport,
    pub interrupted: bool,
    /// Files written under the report directory.
    pub written: Vec<PathBuf>,
}

/// Every problem in the load scenarios of `dir` (shape, templates, JSONPaths), for `scimtest
/// lint`: what `scimtest load` would refuse before sending anything.
pub fn check_dir(dir: &std::path::Path) -> Vec<SuiteError> {
    let mut errors = Vec::new();
    for (_, path) in scenario::list(dir) {
        match scenario::load(&path) {
            Ok(set) => {
                let run = RunContext {
                    prefix: "scimtest-lint".into(),
                    domain: "example.com".into(),
                    run_id: "lint".into(),
                    base_url: "http://127.0.0.1/scim/v2".into(),
                };
                if let Err(e) = plan::compile(&set, run) {
                    errors.extend(e);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    errors
}

/// Where the run is, for what a signal does: stop the attack, or abandon cleanup.
const PHASE_ATTACK: u8 = 0;
const PHASE_CLEANUP: u8 = 1;

pub async fn run(opts: &LoadOptions) -> Result<LoadResult, LoadError> {
    let path = scenario::resolve(&opts.scenario, &opts.suites_dir.join("load"))
        .map_err(LoadError::Usage)?;
    let set = scenario::load(&path).map_err(LoadError::Scenario)?;
    let rules = opts
        .thresholds
        .iter()
        .map(|t| threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LoadError::Usage)?;

    let (embedded, base_url, token) = match &opts.url {
        Some(u) => (None, u.clone(), opts.token.clone()),
        None => {
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut cfg = ServerConfig::ephemeral(token.clone());
            cfg.latency = opts.server_latency;
            cfg.error_rate = opts.server_error_rate;
            let srv = server::start(cfg).await.map_err(|e| {
                LoadError::Runtime(format!("cannot start the embedded server: {e}"))
            })?;
            let url = srv.base_url.clone();
            (Some(srv), url, Some(token))
        }
    };
    let result = run_against(
        opts,
        set,
        rules,
        &base_url,
        token.as_deref(),
        embedded.is_some(),
    )
    .await;
    if let Some(srv) = embedded {
        let _ = srv.stop().await;
    }
    result
}

async fn run_against(
    opts: &LoadOptions,
    set: scenario::ScenarioSet,
    rules: Vec<threshold::Rule>,
    base_url: &str,
    token: Option<&str>,
    embedded: bool,
) -> Result<LoadResult, LoadError> {
    let target = Target::new(base_url, token, &opts.headers, opts.timeout, &opts.tls)
        .map_err(LoadError::Usage)?;
    // One request before goose starts: an unreachable target is exit 3 with a clear message,
    // not a run of connection errors.
    let probe = target
        .url("/ServiceProviderConfig")
        .map_err(LoadError::Usage)?;
    if let Err(e) = target
        .send(
            "GET",
            probe,
            &BTreeMap::new(),
            None,
            crate::suite::model::Auth::Default,
        )
        .await
    {
        return Err(LoadError::Unreachable(format!("{base_url}: {e}")));
    }

    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let prefix = match opts.shard {
        Some((i, n)) => format!("scimtest-{run_id}-s{i}of{n}"),
        None => format!("scimtest-{run_id}"),
    };
    let plan = plan::compile(
        &set,
        RunContext {
            prefix,
            domain: opts.domain.clone(),
            run_id: run_id.clone(),
            base_url: target.base_url.to_string(),
        },
    )
    .map_err(LoadError::Scenario)?;
    let methods: BTreeMap<String, String> = plan
        .steps()
        .map(|s| (s.name.clone(), s.method.to_string()))
        .collect();
    let goose_rules = rules
        .iter()
        .map(|r| r.to_goose(|name| methods.get(name).cloned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LoadError::Usage)?;

    std::fs::create_dir_all(&opts.report_dir).map_err(|e| {
        LoadError::Usage(format!("cannot create {}: {e}", opts.report_dir.display()))
    })?;
    let ledger_path = opts.report_dir.join("load-ledger.jsonl");
    let ledger = Ledger::create(&ledger_path)
        .map_err(|e| LoadError::Runtime(format!("cannot write {}: {e}", ledger_path.display())))?;

    let workload = Workload {
        users: opts.users.max(1),
        rate: opts.rate,
        ramp: opts.ramp,
        duration: opts.duration,
        iterations: opts.iterations,
        thresholds: goose_rules,
        abort_on_fail: opts.abort_on_fail,
    };
    let shared = Arc::new(Shared {
        plan,
        target,
        ledger,
        stats: stats::Stats::new(),
        timeout: opts.timeout,
        tls: opts.tls.clone(),
        shard: opts.shard,
        scenario_error: std::sync::Mutex::new(None),
    });

    let signals =
        install_signal_handler(&ledger_path.display().to_string()).map_err(LoadError::Runtime)?;

    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let progress = Progress::start(opts.progress, shared.clone());
    let outcome = attack::execute(shared.clone(), &workload).await;
    let duration_s = started.elapsed().as_secs_f64();
    let ended_at = chrono::Utc::now();
    progress.finish();
    signals.phase.store(PHASE_CLEANUP, Ordering::SeqCst);
    let cleaned = cleanup(&shared, opts).await;
    let outcome = outcome.map_err(LoadError::Runtime)?;
    let was_interrupted = signals.interrupted.load(Ordering::SeqCst);
    if let Some(e) = shared.scenario_error() {
        return Err(LoadError::Scenario(vec![SuiteError {
            file: PathBuf::from(&opts.scenario),
            line: 0,
            column: 0,
            message: format!(
                "{e} (the load stopped; cleanup ran: {} created, {} deleted, {} left behind)",
                cleaned.created,
                cleaned.deleted,
                cleaned.left_behind.len()
            ),
            help: None,
            snippet: None,
        }]));
    }

    let mut report = build_report(
        opts,
        &shared,
        &workload,
        &rules,
        outcome,
        Timestamps {
            started_at,
            ended_at,
            duration_s,
        },
        was_interrupted,
        base_url,
        embedded,
    );
    report.cleanup = Cleanup {
        created: cleaned.created as u64,
        deleted: cleaned.deleted as u64,
        left_behind: cleaned.left_behind.len() as u64,
        // The count is exact; the list stops at 1,000 (the ledger has them all).
        left_behind_urls: cleaned
            .left_behind
            .iter()
            .take(1000)
            .map(|u| shared.target.redact(u))
            .collect(),
        ledger: Some(ledger_path.display().to_string()),
    };
    report.derive();
    let written = write_reports(&report, &opts.report_dir).map_err(LoadError::Runtime)?;
    Ok(LoadResult {
        report,
        interrupted: was_interrupted,
        written,
    })
}

struct Timestamps {
    started_at: chrono::DateTime<chrono::Utc>,
    ended_at: chrono::DateTime<chrono::Utc>,
    duration_s: f64,
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    opts: &LoadOptions,
    shared: &Shared,
    w: &Workload,
    rules: &[threshold::Rule],
    outcome: attack::Outcome,
    at: Timestamps,
    interrupted: bool,
    base_url: &str,
    embedded: bool,
) -> LoadReport {
    let open = w.open();
    let m = &outcome.metrics;
    let mut transactions: Vec<TransactionRow> = Vec::new();
    // Steps in plan order; goose keys its request metrics "METHOD name".
    for step in shared.plan.steps() {
        let key = format!("{} {}", step.method, step.name);
        let Some(agg) = m.requests.get(&key) else {
            continue;
        };
        transactions.push(TransactionRow {
            name: step.name.clone(),
            method: step.method.to_string(),
            // goose counts its synthetic samples as requests; these count what was sent.
            requests: agg.raw_data.counter as u64,
            failures: (agg.fail_count as u64).min(agg.raw_data.counter as u64),
            throughput_rps: 0.0,
            latency_ms: Default::default(),
            measured: Timing::from_goose(&agg.raw_data),
            adjusted: if open {
                agg.coordinated_omission_data
                    .as_ref()
                    .map(Timing::from_goose)
            } else {
                None
            },
            statuses: agg
                .status_code_counts
                .iter()
                .map(|(k, v)| (k.to_string(), *v as u64))
                .collect(),
        });
    }
    let synthetic = m
        .coordinated_omission_metrics
        .as_ref()
        .map_or(0, |c| c.synthetic_requests);
    let aborted = outcome.thresholds.iter().any(|t| t.aborted);
    let ended_by = if interrupted {
        "interrupted"
    } else if aborted {
        "threshold"
    } else if outcome.duration_reached {
        "duration"
    } else if w.iterations.is_some() {
        "iterations"
    } else {
        "duration"
    };
    let rate_limited_count = shared
        .stats
        .errors()
        .iter()
        .filter(|(k, _)| k.status == 429)
        .map(|(_, c)| *c)
        .sum();
    let mut report = LoadReport {
        format_version: report::FORMAT_VERSION,
        tool: concat!("scimtest ", env!("CARGO_PKG_VERSION")).into(),
        scenario: shared.plan.id.clone(),
        title: shared.plan.title.clone(),
        target: shared.target.redact(base_url),
        embedded_server: embedded,
        model: Model {
            kind: if open { "open" } else { "closed" }.into(),
            users: w.users,
            rate_rps: w.rate,
            ramp_s: w.ramp.map(|r| r.as_secs_f64()),
            duration_limit_s: w.duration.map(|d| d.as_secs_f64()),
            iterations_limit: w.iterations,
            co_mitigation: if open { "average" } else { "disabled" }.into(),
            adjusted: if open {
                vec![
                    "latency_ms".into(),
                    "transactions[].latency_ms".into(),
                    "thresholds on latency".into(),
                ]
            } else {
                vec![]
            },
            synthetic_requests: synthetic,
        },
        shard: opts.shard.map(|(index, count)| Shard { index, count }),
        merged_from: None,
        started_at: at
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ended_at: at
            .ended_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_s: stats::round3(at.duration_s),
        ended_by: ended_by.into(),
        requests: 0,
        failures: 0,
        throughput_rps: 0.0,
        latency_ms: Default::default(),
        latency_measured_ms: Default::default(),
        errors: Errors {
            rows: report::error_rows(shared.stats.errors()),
            rate_limited: shared.stats.rate_limited(rate_limited_count),
            ..Default::default()
        },
        transactions,
        thresholds: vec![],
        verdict: String::new(),
        cleanup: Cleanup::default(),
        timeline: shared.stats.timeline(),
    };
    report.derive();
    // goose judged the rules (on measured times); under the open model a latency rule it passed
    // is judged again on the adjusted figures, and the stricter verdict stands.
    report.thresholds = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let g = outcome.thresholds.get(i);
            let from_goose = Verdict {
                rule: r.text.clone(),
                scope: r.scope(),
                observed: g.map_or("not judged".into(), |g| g.observed.clone()),
                value: g.and_then(|g| g.value).map(stats::round3),
                passed: g.is_some_and(|g| g.passed),
                aborted: g.is_some_and(|g| g.aborted),
                judged_by: "goose".into(),
            };
            if open && r.is_latency() && from_goose.passed {
                let adjusted = r.judge(&report, true, "scimtest (adjusted)");
                if !adjusted.passed {
                    return adjusted;
                }
            }
            from_goose
        })
        .collect();
    report.derive();
    report
}

/// Deletes everything the load created, a bounded number at a time, with progress.
async fn cleanup(shared: &Shared, opts: &LoadOptions) -> crate::exec::ledger::CleanupOutcome {
    let total = shared.ledger.pending_count();
    let bar = if opts.progress && total > 0 {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("cleanup {bar:30} {pos}/{len} deleted")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let progress = |done: usize, _total: usize| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let out = shared
        .ledger
        .cleanup(&shared.target, opts.cleanup_concurrency.max(1), &progress)
        .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out
}

/// What a signal does, shared with the process-wide handler.
struct SignalState {
    phase: AtomicU8,
    interrupted: std::sync::atomic::AtomicBool,
    ledger: std::sync::Mutex<String>,
}

static SIGNALS: std::sync::OnceLock<Result<SignalState, String>> = std::sync::OnceLock::new();

/// SIGINT/SIGTERM/SIGHUP: the first stops the attack (goose's killswitch) and goes on to
/// cleanup; one during cleanup leaves at once, naming the ledger for `scimtest cleanup`.
///
/// Installed with the `ctrlc` crate that goose itself uses, before goose starts: goose's own
/// handler (which exits on the second signal, skipping our cleanup) then fails to install. A
/// tokio signal handler would not do: `ctrlc::set_handler` overwrites it.
fn install_signal_handler(ledger: &str) -> Result<&'static SignalState, String> {
    let state = SIGNALS.get_or_init(|| {
        ctrlc::set_handler(|| {
            let Some(Ok(s)) = SIGNALS.get() else { return };
            if s.phase.load(Ordering::SeqCst) == PHASE_ATTACK
                && !s.interrupted.swap(true, Ordering::SeqCst)
            {
                eprintln!("\nscimtest: interrupted; stopping the load, then cleaning up (again to abandon cleanup)");
                goose::trigger_killswitch("interrupted (SIGINT/SIGTERM)");
            } else {
                let ledger = s.ledger.lock().map(|l| l.clone()).unwrap_or_default();
                eprintln!("\nscimtest: interrupted again; resources left are listed in {ledger} (run `scimtest cleanup --ledger {ledger}`)");
                std::process::exit(i32::from(crate::exit::INTERRUPTED));
            }
        })
        .map_err(|e| format!("cannot install the signal handler: {e}"))?;
        Ok(SignalState {
            phase: AtomicU8::new(PHASE_ATTACK),
            interrupted: std::sync::atomic::AtomicBool::new(false),
            ledger: std::sync::Mutex::new(String::new()),
        })
    });
    let s = state.as_ref().map_err(Clone::clone)?;
    s.phase.store(PHASE_ATTACK, Ordering::SeqCst);
    s.interrupted.store(false, Ordering::SeqCst);
    if let Ok(mut l) = s.ledger.lock() {
        *l = ledger.to_string();
    }
    Ok(s)
}

/// Live progress on stderr: a spinner line on a terminal, a plain line every 5 s otherwise.
struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn start(enabled: bool, shared: Arc<Shared>) -> Progress {
        if !enabled {
            return Progress {
                task: None,
                bar: None,
            };
        }
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = tty.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        let b = bar.clone();
        let task = tokio::spawn(async move {
            let every = if tty {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = &shared.stats;
                let line = format!(
                    "{} requests, {}/s, {} errors, {} created",
                    s.requests.load(Ordering::Relaxed),
                    s.last_second_rate(),
                    s.errors.load(Ordering::Relaxed),
                    shared.ledger.created()
                );
                match &b {
                    Some(b) => b.set_message(line),
                    None => eprintln!("load {:>6.1}s  {line}", s.elapsed_s()),
                }
            }
        });
        Progress {
            task: Some(task),
            bar,
        }
    }

    fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Writes load.json, load.html and load-junit.xml.
pub fn write_reports(report: &LoadReport, dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        Ok(p)
    };
    let json = serde_json::to_vec_pretty(report).map_err(|e| format!("load.json: {e}"))?;
    Ok(vec![
        write("load.json", &json)?,
        write("load.html", html::render(report).as_bytes())?,
        write("load-junit.xml", &report::junit(report)?)?,
    ])
}

/// The summary printed at the end.
pub fn summary(report: &LoadReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let m = &report.model;
    let model = match m.rate_rps {
        Some(r) => format!("open model, {r} requests/s target, {} users", m.users),
        None => format!("closed model, {} users", m.users),
    };
    let _ = writeln!(
        out,
        "\nscimtest load · {} · {model} · {:.1} s (ended by {})",
        report.scenario, report.duration_s, report.ended_by
    );
    let _ = writeln!(
        out,
        "  {:<28} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "transaction",
        "requests",
        "failed",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p95 ms",
        "p99 ms",
        "max ms"
    );
    let row = |out: &mut String, name: &str, req: u64, fail: u64, rps: f64, l: &report::Latency| {
        let _ = writeln!(
            out,
            "  {:<28} {:>9} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            name, req, fail, rps, l.p50, l.p90, l.p95, l.p99, l.max
        );
    };
    for x in &report.transactions {
        row(
            &mut out,
            &format!("{} {}", x.method, x.name),
            x.requests,
            x.failures,
            x.throughput_rps,
            &x.latency_ms,
        );
    }
    row(
        &mut out,
        "all",
        report.requests,
        report.failures,
        report.throughput_rps,
        &report.latency_ms,
    );
    if !m.adjusted.is_empty() {
        let _ = writeln!(
            out,
            "  latencies adjusted for coordinated omission ({} synthetic samples); measured p95 {:.2} ms",
            m.synthetic_requests, report.latency_measured_ms.p95
        );
    }
    if !report.errors.rows.is_empty() {
        let _ = writeln!(
            out,
            "errors ({:.2}% of requests):",
            report.errors.rate_percent
        );
        for e in report.errors.rows.iter().take(20) {
            let status = if e.status == 0 {
                "no response".to_string()
            } else {
                e.status.to_string()
            };
            let st = e
                .scim_type
                .as_deref()
                .map(|t| format!(" scimType={t}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:>7} × {status}{st} in {} ({})",
                e.count, e.transaction, e.reason
            );
        }
    }
    let rl = &report.errors.rate_limited;
    if rl.count > 0 {
        let _ = writeln!(
            out,
            "429 Too Many Requests: {} (Retry-After max {} s, {} without one)",
            rl.count,
            rl.retry_after_s_max.map_or("-".into(), |v| v.to_string()),
            rl.without_retry_after
        );
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "thresholds:");
        for v in &report.thresholds {
            let mark = match (v.passed, v.aborted) {
                (true, _) => "PASS",
                (false, true) => "FAIL (stopped the run)",
                (false, false) => "FAIL",
            };
            let _ = writeln!(
                out,
                "  {mark:<5} {:<24} observed {} [{}]",
                v.rule, v.observed, v.judged_by
            );
        }
    }
    let c = &report.cleanup;
    let _ = writeln!(
        out,
        "cleanup: {} created, {} deleted, {} left behind",
        c.created, c.deleted, c.left_behind
    );
    for u in c.left_behind_urls.iter().take(10) {
        let _ = writeln!(out, "  left: {u}");
    }
    out
}
