//! The `run`, `lint` and `cleanup` commands: argument handling, reporters and exit codes around
//! the runner.

use crate::cli::{CleanupArgs, CoverageArgs, FailOn, LintArgs, RunArgs};
use crate::exec::http::Target;
use crate::exec::ledger::Ledger;
use crate::exec::runner::{self, RunError, RunOptions};
use crate::exit;
use crate::report::{self, Fanout, Format, Reporter, TerminalOptions};
use crate::results::Level;
use std::process::ExitCode;

/// `Name: value` → (name, value).
fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .filter(|(n, _)| !n.is_empty())
                .ok_or_else(|| {
                    format!(
                        "--header must look like `Name: value`, got {:?}",
                        h.split(':').next().unwrap_or("")
                    )
                })
        })
        .collect()
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        ExitCode::from(exit::RUNTIME)
    })
}

fn print_suite_errors(errors: &[crate::suite::diagnostics::SuiteError]) {
    for e in errors {
        eprintln!("{e}\n");
    }
    eprintln!("{} problem(s) in the suite files", errors.len());
}

pub fn run(args: RunArgs) -> ExitCode {
    let headers = match parse_headers(&args.headers) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if args.url.is_some() && !args.server_faults.is_empty() {
        eprintln!("error: --server-fault applies to the embedded server only (drop --url)");
        return ExitCode::from(exit::USAGE);
    }
    if let Some(u) = &args.url {
        if u.starts_with("http://") && !is_loopback(u) {
            eprintln!(
                "warning: {u} is plain http to a non-loopback host: the token travels unencrypted"
            );
        }
    }
    let formats = if args.formats.is_empty() {
        Format::ALL.to_vec()
    } else {
        args.formats.clone()
    };
    let reporters = match report::build(&formats, &args.report_dir, TerminalOptions::from_env()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let opts = RunOptions {
        url: args.url,
        token: args.token,
        headers,
        profile: args.profile,
        suites_dir: args.suites,
        filters: args.filters,
        jobs: args.jobs,
        timeout: args.timeout,
        fail_on: match args.fail_on {
            FailOn::Must => Level::Must,
            FailOn::Should => Level::Should,
        },
        report_dir: args.report_dir,
        tls: args.tls.options(),
        strict: args.strict,
        embedded_faults: args.server_faults,
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    let mut fanout = Fanout::new(reporters);
    let outcome = rt.block_on(async {
        let mut emit = |e: crate::results::RunEvent| {
            let _ = fanout.event(&e);
        };
        runner::run(&opts, &mut emit).await
    });
    for e in fanout.errors() {
        eprintln!("error: {e}");
    }
    match outcome {
        Ok(result) if result.passed => ExitCode::from(exit::OK),
        Ok(result)
            if result.stats.errors > 0
                && !result.tests.iter().any(|t| {
                    t.outcome == crate::results::Outcome::Fail && t.level >= opts.fail_on
                }) =>
        {
            ExitCode::from(exit::RUNTIME)
        }
        Ok(_) => ExitCode::from(exit::CHECKS_FAILED),
        Err(RunError::Suites(errors)) => {
            print_suite_errors(&errors);
            ExitCode::from(exit::USAGE)
        }
        Err(RunError::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(exit::USAGE)
        }
        Err(RunError::Unreachable(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(exit::RUNTIME)
        }
        Err(RunError::Runtime(m)) if m == "interrupted" => ExitCode::from(exit::INTERRUPTED),
        Err(RunError::Runtime(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}

fn is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(String::from))
        .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]")
}

pub fn lint(args: LintArgs) -> ExitCode {
    let load_errors = crate::load::check_dir(&args.path.join("load"));
    let scenarios = crate::load::scenario::list(&args.path.join("load")).len();
    match runner::load_and_check(&args.path, &args.profile) {
        Ok((_, suites, _)) if load_errors.is_empty() => {
            let tests: usize = suites.iter().map(|s| s.suite.tests.len()).sum();
            println!(
                "{} suite file(s), {tests} test(s), {scenarios} load scenario(s): no problems",
                suites.len()
            );
            ExitCode::from(exit::OK)
        }
        Ok(_) => {
            print_suite_errors(&load_errors);
            ExitCode::from(exit::USAGE)
        }
        Err(RunError::Suites(mut errors)) => {
            errors.extend(load_errors);
            print_suite_errors(&errors);
            ExitCode::from(exit::USAGE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::USAGE)
        }
    }
}

pub fn cleanup(args: CleanupArgs) -> ExitCode {
    let headers = match parse_headers(&args.headers) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let target = match Target::new(
        &args.url,
        args.token.as_deref(),
        &headers,
        args.timeout,
        &args.tls.options(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let ledger = match Ledger::open(&args.ledger) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot read the ledger {}: {e}",
                args.ledger.display()
            );
            return ExitCode::from(exit::USAGE);
        }
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    let pending = ledger.pending_count();
    let bar = indicatif::ProgressBar::new(pending as u64);
    let outcome = rt.block_on(ledger.cleanup(&target, 4, &|done, _| bar.set_position(done as u64)));
    bar.finish_and_clear();
    println!(
        "cleanup: {} pending, {} deleted now, {} left behind",
        pending,
        pending - outcome.left_behind.len(),
        outcome.left_behind.len()
    );
    for l in &outcome.left_behind {
        println!("  left: {l}");
    }
    if outcome.left_behind.is_empty() {
        ExitCode::from(exit::OK)
    } else {
        ExitCode::from(exit::RUNTIME)
    }
}

pub fn coverage(args: CoverageArgs) -> ExitCode {
    let headers = match parse_headers(&args.headers) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let (profile, suites, _) = match runner::load_and_check(&args.suites, &args.profile) {
        Ok(x) => x,
        Err(RunError::Suites(errors)) => {
            print_suite_errors(&errors);
            return ExitCode::from(exit::USAGE);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    let mut configured: std::collections::BTreeSet<String> =
        args.configured.iter().cloned().collect();
    if args.url.is_none() {
        // The embedded server always requires its bearer token.
        configured.insert("auth-required".into());
    }
    let result = rt.block_on(async {
        let (server, url, token) = match &args.url {
            Some(u) => (None, u.clone(), args.token.clone()),
            None => {
                let token = uuid::Uuid::new_v4().simple().to_string();
                let srv =
                    crate::server::start(crate::server::ServerConfig::ephemeral(token.clone()))
                        .await
                        .map_err(|e| e.to_string())?;
                let url = srv.base_url.clone();
                (Some(srv), url, Some(token))
            }
        };
        let target = Target::new(
            &url,
            token.as_deref(),
            &headers,
            args.timeout,
            &args.tls.options(),
        )?;
        let offer = crate::coverage::offer(&target, configured).await;
        if let Some(s) = server {
            let _ = s.stop().await;
        }
        let label = if args.url.is_some() {
            url
        } else {
            "embedded reference server".to_string()
        };
        Ok::<_, String>((offer?, label))
    });
    let (offer, label) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let cov = crate::coverage::compute(
        &suites,
        &profile,
        crate::suite::requirements::Requirements::builtin(),
        &offer,
        &label,
    );
    if args.json {
        match serde_json::to_string_pretty(&cov) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(exit::RUNTIME);
            }
        }
    } else {
        print!("{}", crate::coverage::render(&cov, args.uncovered));
    }
    let pct = |l: &str| cov.total.get(l).map(|c| c.percent()).unwrap_or(100.0);
    let mut below = Vec::new();
    if let Some(m) = args.min_must.filter(|m| pct("MUST") < *m) {
        below.push(format!("MUST {:.1}% < {m}%", pct("MUST")));
    }
    if let Some(m) = args.min_should.filter(|m| pct("SHOULD") < *m) {
        below.push(format!("SHOULD {:.1}% < {m}%", pct("SHOULD")));
    }
    if below.is_empty() {
        ExitCode::from(exit::OK)
    } else {
        eprintln!("coverage below target: {}", below.join(", "));
        ExitCode::from(exit::CHECKS_FAILED)
    }
}

/// `scimtest load` and `scimtest load merge`.
pub fn load(args: crate::cli::LoadArgs) -> ExitCode {
    use crate::load::{self, LoadError, LoadOptions};
    if let Some(crate::cli::LoadCommand::Merge(m)) = args.merge {
        return load_merge(m);
    }
    let Some(scenario) = args.scenario.clone() else {
        eprintln!("error: --scenario NAME|FILE is required (see `scimtest load --help`)");
        return ExitCode::from(exit::USAGE);
    };
    let headers = match parse_headers(&args.headers) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if args.url.is_some() && (args.server_error_rate > 0.0 || !args.server_latency.is_zero()) {
        eprintln!("error: --server-latency and --server-error-rate apply to the embedded server only (drop --url)");
        return ExitCode::from(exit::USAGE);
    }
    if !(0.0..=1.0).contains(&args.server_error_rate) {
        eprintln!("error: --server-error-rate is a fraction between 0 and 1");
        return ExitCode::from(exit::USAGE);
    }
    if let Some(u) = &args.url {
        if u.starts_with("http://") && !is_loopback(u) {
            eprintln!(
                "warning: {u} is plain http to a non-loopback host: the token travels unencrypted"
            );
        }
    }
    let opts = LoadOptions {
        url: args.url,
        token: args.token,
        headers,
        scenario,
        suites_dir: args.suites,
        users: args.users,
        rate: args.rate,
        ramp: args.ramp,
        duration: args.duration,
        iterations: args.iterations,
        thresholds: args.thresholds,
        abort_on_fail: args.abort_on_fail,
        report_dir: args.report_dir,
        tls: args.tls.options(),
        timeout: args.timeout,
        shard: args.shard,
        domain: args.domain,
        server_latency: args.server_latency,
        server_error_rate: args.server_error_rate,
        cleanup_concurrency: args.cleanup_concurrency,
        progress: !args.quiet,
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    match rt.block_on(load::run(&opts)) {
        Ok(result) => {
            print_quietly(&load::summary(&result.report));
            for p in &result.written {
                print_quietly(&format!("report: {}\n", p.display()));
            }
            if result.interrupted {
                ExitCode::from(exit::INTERRUPTED)
            } else if !result.report.passed() {
                ExitCode::from(exit::CHECKS_FAILED)
            } else if result.report.cleanup.left_behind > 0 {
                ExitCode::from(exit::RUNTIME)
            } else {
                ExitCode::from(exit::OK)
            }
        }
        Err(LoadError::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(exit::USAGE)
        }
        Err(LoadError::Scenario(errors)) => {
            print_suite_errors(&errors);
            ExitCode::from(exit::USAGE)
        }
        Err(LoadError::Unreachable(m)) => {
            eprintln!("error: target unreachable: {m}");
            ExitCode::from(exit::RUNTIME)
        }
        Err(LoadError::Runtime(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}

fn load_merge(args: crate::cli::MergeArgs) -> ExitCode {
    use crate::load::{self, report, threshold};
    let rules = match args
        .thresholds
        .iter()
        .map(|t| threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let mut reports = Vec::new();
    for f in &args.files {
        let parsed = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<report::LoadReport>(&t).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: not a scimtest load.json: {e}", f.display());
                return ExitCode::from(exit::USAGE);
            }
        }
    }
    let merged = match report::merge(reports, &rules) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    print_quietly(&load::summary(&merged));
    match load::write_reports(&merged, &args.report_dir) {
        Ok(written) => {
            for p in written {
                print_quietly(&format!("report: {}\n", p.display()));
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    }
    if merged.passed() {
        ExitCode::from(exit::OK)
    } else {
        ExitCode::from(exit::CHECKS_FAILED)
    }
}

/// Writes to stdout, ignoring a closed pipe (`scimtest load … | head`): the exit code and the
/// report files still carry the verdict.
fn print_quietly(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
