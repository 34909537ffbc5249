//! goose by itself with a bare scenario (one GET per iteration, nothing of scimtest's): the
//! generator ceiling `benches/load.sh` compares `scimtest load` with, on the same machine in the
//! same run. Configured from the environment so goose never reads our arguments:
//! GOOSE_BARE_URL (http://127.0.0.1:PORT/path), GOOSE_BARE_USERS, GOOSE_BARE_SECS, and
//! GOOSE_BARE_OUT, where it writes {requests, duration_s, p50_ms, p99_ms, errors} as JSON.

use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::time::Instant;

/// The path every request GETs.
static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn get(user: &mut GooseUser) -> TransactionResult {
    let _ = user.get(PATH.get().map_or("/", String::as_str)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let url = reqwest::Url::parse(&env("GOOSE_BARE_URL", "http://127.0.0.1:8080/"))?;
    let _ = PATH.set(url.path().to_string());
    let users: usize = env("GOOSE_BARE_USERS", "16").parse()?;
    let mut c = GooseConfiguration::default();
    c.host = Some(url.origin().ascii_serialization());
    c.users = Some(users);
    c.increase_rate = Some((users * 1000).to_string());
    c.run_time = Some(env("GOOSE_BARE_SECS", "8"));
    c.no_reset_metrics = true;
    c.no_telnet = true;
    c.no_print_metrics = true;
    c.no_error_summary = true;
    c.quiet = 1;
    let started = Instant::now();
    let metrics = GooseAttack::initialize_with_config(c)?
        .register_scenario(scenario!("bare").register_transaction(transaction!(get)))
        .execute()
        .await?;
    let secs = started.elapsed().as_secs_f64();
    let mut requests = 0;
    let mut errors = 0;
    let mut p50 = 0.0;
    let mut p99 = 0.0;
    for agg in metrics.requests.values() {
        requests += agg.raw_data.counter;
        errors += agg.fail_count;
        p50 = agg.raw_data.percentile_us(0.5) as f64 / 1000.0;
        p99 = agg.raw_data.percentile_us(0.99) as f64 / 1000.0;
    }
    let out = serde_json::json!({
        "requests": requests, "duration_s": secs, "p50_ms": p50, "p99_ms": p99, "errors": errors
    });
    std::fs::write(env("GOOSE_BARE_OUT", "goose-bare.json"), out.to_string())?;
    Ok(())
}
