//! Command-line interface (clap derive). Each subcommand is added when it really works.

use crate::report::Format;
use crate::server::contract::Contract;
use crate::server::faults::{self, Fault, Faults};
use crate::server::store::SyncMode;
use crate::server::{self, ServerConfig};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "scimtest",
    version,
    about = "Conformance and load harness for SCIM 2.0 service providers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a SCIM service provider against the conformance suites (default target: the
    /// embedded reference server).
    #[command(after_help = crate::exit::HELP)]
    Run(RunArgs),
    /// Check suite files without running them: unknown keys, requirement IDs, schema and fault
    /// names, JSONPath, templates, variables used before they are captured.
    Lint(LintArgs),
    /// Delete what an interrupted run left behind, from its ledger file.
    Cleanup(CleanupArgs),
    /// Which requirements the suites check, by area and level, counting the rows whose gate the
    /// target meets (default target: the embedded reference server).
    Coverage(CoverageArgs),
    /// Put provisioning load on a SCIM service provider (goose-driven scenarios from
    /// SUITES/load/), with thresholds that gate CI (default target: the embedded reference
    /// server). `scimtest load merge FILES...` combines shard reports.
    #[command(after_help = crate::exit::LOAD_HELP, args_conflicts_with_subcommands = true)]
    Load(LoadArgs),
    /// Run the embedded reference SCIM server (axum + SQLite).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub merge: Option<LoadCommand>,
    /// Base URL of the SCIM service provider. Without it, the embedded reference server is
    /// started on a free loopback port.
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token for the target.
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Extra request header `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A scenario under SUITES/load/ (bulk-create, lifecycle, group-push, import-paging,
    /// sync-cycle, mixed) or a scenario file.
    #[arg(long, value_name = "NAME|FILE", required = false)]
    pub scenario: Option<String>,
    /// Folder holding load/ scenarios.
    #[arg(long, default_value = "suites")]
    pub suites: PathBuf,
    /// Concurrent virtual users (closed model), or the users that share the --rate.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Open model: the request rate to hold across all users, e.g. 25/s (Entra's per-tenant
    /// rate). Latencies are then adjusted for coordinated omission.
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    pub rate: Option<usize>,
    /// Start the users evenly over this time (e.g. 10s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ramp: Option<Duration>,
    /// Stop after this long (default 30s when --iterations is not given either).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Each user runs its scenario this many times (with --duration: whichever ends first).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Pass/fail rule, repeatable: p95<300ms, errors<1%, rps>=200, max<2s, avg<100ms, each
    /// optionally `for STEP` (e.g. 'p99<1s for create').
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Stop the run at the first threshold that fails (checked every second once all users run).
    #[arg(long)]
    pub abort_on_fail: bool,
    /// This process is shard I of N (1-based): its data is disjoint from the other shards'.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Email domain of generated userNames.
    #[arg(long, default_value = "example.com")]
    pub domain: String,
    /// Where load.json, load.html, load-junit.xml and load-ledger.jsonl go.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// How many deletes run at once during cleanup.
    #[arg(long, default_value_t = 8)]
    pub cleanup_concurrency: usize,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Embedded server only: add this latency to every response (e.g. 50ms).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub server_latency: Duration,
    /// Embedded server only: answer this fraction of requests with a 503 (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub server_error_rate: f64,
    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Combine the load.json files of several shards into one report (histograms merged,
    /// percentiles read off the merge; thresholds judged again).
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// load.json files, one per shard.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Rules to judge the merged result by (default: the shards' rules).
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Where the merged load.json, load.html and load-junit.xml go.
    #[arg(long, default_value = "reports/merged")]
    pub report_dir: PathBuf,
}

/// `25/s` or `25` → 25.
fn parse_rate(s: &str) -> Result<usize, String> {
    let n = s.trim().trim_end_matches("/s").trim();
    match n.parse::<usize>() {
        Ok(r) if r > 0 => Ok(r),
        _ => Err(format!(
            "{s:?}: a rate is a whole number of requests per second, e.g. 25/s"
        )),
    }
}

/// `2/4` → (2, 4), 1-based.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{s:?}: a shard is I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Base URL of the SCIM service provider (e.g. https://idp.example.com/scim/v2). Without it,
    /// the embedded reference server is started on a free loopback port and tested.
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token for the target.
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Extra request header `Name: value` (repeatable), e.g. for other authentication schemes.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Profile under SUITES/profiles/ (rfc, asana, okta, entra…).
    #[arg(long, default_value = "rfc")]
    pub profile: String,
    /// Folder of suite files.
    #[arg(long, default_value = "suites")]
    pub suites: PathBuf,
    /// Run only tests whose `suite/test` id, suite id, test id or tag matches (`*` wildcards;
    /// repeatable).
    #[arg(long = "filter", value_name = "PATTERN")]
    pub filters: Vec<String>,
    /// Tests run concurrently.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Timeout of each request (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Lowest requirement level whose failures fail the run.
    #[arg(long, value_enum, default_value = "must")]
    pub fail_on: FailOn,
    /// Grade derived MUST rows (MUST†, no upper-case keyword in the RFC) as failures rather than
    /// warnings.
    #[arg(long)]
    pub strict: bool,
    /// Folder for junit.xml, results.json, report.html and the cleanup ledger.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// Reports to produce (repeatable) [default: all].
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Start the embedded server with this fault switched on (repeatable; for demonstrating
    /// that checks fail). Only without --url.
    #[arg(long = "server-fault", value_name = "NAME", hide = true)]
    pub server_faults: Vec<Fault>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FailOn {
    Must,
    Should,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Suite folder to check.
    #[arg(default_value = "suites")]
    pub path: PathBuf,
    /// Profile to resolve (checks it exists and parses).
    #[arg(long, default_value = "rfc")]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Target whose advertised features decide which rows apply [default: embedded server].
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    #[arg(long, default_value = "suites")]
    pub suites: PathBuf,
    #[arg(long, default_value = "rfc")]
    pub profile: String,
    /// `CFG:` items the deployment has (e.g. auth-required), so their rows count.
    #[arg(long = "config", value_name = "ITEM")]
    pub configured: Vec<String>,
    /// List every applicable row no test covers.
    #[arg(long)]
    pub uncovered: bool,
    /// Fail (exit 1) when MUST coverage is below this percentage.
    #[arg(long, value_name = "PCT")]
    pub min_must: Option<f64>,
    /// Fail (exit 1) when SHOULD coverage is below this percentage.
    #[arg(long, value_name = "PCT")]
    pub min_should: Option<f64>,
    /// Print the matrix as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The ledger a run wrote (default reports/ledger.jsonl).
    #[arg(long, default_value = "reports/ledger.jsonl")]
    pub ledger: PathBuf,
    /// Base URL of the target the ledger belongs to (its entries must be on this origin).
    #[arg(long)]
    pub url: String,
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// TLS options shared by the commands that talk to a target.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Accept any TLS certificate (never for production tenants).
    #[arg(long)]
    pub insecure: bool,
    /// Trust these CA certificates too (PEM file).
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Client certificate for mutual TLS (PEM file; with --key).
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of the client certificate (PEM file; with --cert).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl TlsArgs {
    pub fn options(&self) -> crate::exec::http::TlsOptions {
        crate::exec::http::TlsOptions {
            insecure: self.insecure,
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// SQLite database file (created if missing).
    #[arg(long, default_value = "scim.db", conflicts_with = "memory")]
    pub db: PathBuf,
    /// Keep everything in memory; nothing survives the process.
    #[arg(long)]
    pub memory: bool,
    /// How hard each commit is pushed to disk: `normal` survives kill -9, `full` also a power cut.
    #[arg(long, value_enum, default_value = "normal")]
    pub sync: SyncMode,
    /// Bearer token clients must send. A random one is generated (and printed) if omitted.
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Path under which the SCIM endpoints live [default: /scim/v2, or /api/1.0/scim for asana].
    #[arg(long)]
    pub base_path: Option<String>,
    /// Which contract to play.
    #[arg(long, value_enum, default_value = "rfc")]
    pub contract: Contract,
    /// Email domain users must belong to (asana contract).
    #[arg(long, default_value = "example.com")]
    pub domain: String,
    /// Break one rule on purpose (repeatable); see --list-faults.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,
    /// Print every fault switch with the rule it breaks, then exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Delay every request by this many milliseconds (load demos).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// Answer this share of requests (0..1) with 503 (load demos).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Largest request body accepted, in bytes (also the advertised Bulk maxPayloadSize).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body: usize,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Run(args) => crate::commands::run(args),
        Command::Lint(args) => crate::commands::lint(args),
        Command::Cleanup(args) => crate::commands::cleanup(args),
        Command::Coverage(args) => crate::commands::coverage(args),
        Command::Load(args) => {
            init_logging_quiet();
            crate::commands::load(args)
        }
    }
}

/// Our logger, installed before goose would install its own (goose logs through the `log`
/// crate; tracing-subscriber takes those records), at warn unless RUST_LOG says otherwise.
fn init_logging_quiet() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn serve(args: ServeArgs) -> ExitCode {
    if args.list_faults {
        print!("{}", faults::listing());
        return ExitCode::SUCCESS;
    }
    init_logging();
    let token = match args.token.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => {
            let t = uuid::Uuid::new_v4().simple().to_string();
            eprintln!("no --token given; generated one for this run: {t}");
            t
        }
    };
    let mut config = ServerConfig::ephemeral(token);
    config.listen = args.listen;
    config.db = (!args.memory).then_some(args.db);
    config.sync = args.sync;
    config.contract = args.contract;
    config.base_path = args
        .base_path
        .unwrap_or_else(|| args.contract.default_base_path().to_string());
    config.domain = args.domain;
    config.faults = Faults::new(args.faults);
    config.latency = Duration::from_millis(args.latency);
    config.error_rate = args.error_rate;
    config.max_body = args.max_body;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let faults: Vec<String> = config.faults.iter().map(|f| f.to_string()).collect();
        let db = config
            .db
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "memory".into());
        let server = match server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "scimtest reference server listening at {} (database: {db})",
            server.base_url
        );
        if !faults.is_empty() {
            eprintln!("faults on: {}", faults.join(", "));
        }
        shutdown_signal().await;
        eprintln!("shutting down");
        match server.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
