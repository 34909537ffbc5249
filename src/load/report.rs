//! The load report (`reports/load.json`, pinned by `schemas/load-report.schema.json`), built
//! from goose's metrics and our own counters, and merged across shards.
//!
//! Latencies are carried as goose's log-linear histograms (bucket floor in µs → count), so
//! `scimtest load merge` adds histograms and reads percentiles off the sum — never averaging
//! percentiles — with goose's own percentile code, so one process's numbers and a merge of one
//! file agree exactly.

use super::stats::{round3, ErrorKey, RateLimited, TimelinePoint};
use super::threshold::Verdict;
use goose::metrics::GooseRequestMetricTimingData;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub min: f64,
    pub avg: f64,
}

/// A latency distribution: goose's histogram plus its exact count, fastest, slowest and total.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub count: u64,
    pub min_us: u64,
    pub max_us: u64,
    pub total_us: u64,
    /// Bucket floor in µs → how many times fell in it (goose's buckets: at most 0.78% wide).
    pub histogram_us: BTreeMap<u64, u64>,
}

impl Timing {
    /// From goose's timing data (through its serde form, which is public and stable in 0.19).
    pub fn from_goose(d: &GooseRequestMetricTimingData) -> Timing {
        let v = serde_json::to_value(d).unwrap_or(Value::Null);
        let histogram_us = v
            .get("times_us")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, c)| Some((k.parse().ok()?, c.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        Timing {
            count: d.counter as u64,
            min_us: d.minimum_time_us,
            max_us: d.maximum_time_us,
            total_us: d.total_time_us,
            histogram_us,
        }
    }

    fn to_goose(&self) -> Option<GooseRequestMetricTimingData> {
        serde_json::from_value(json!({
            "times_us": self.histogram_us,
            "minimum_time_us": self.min_us,
            "maximum_time_us": self.max_us,
            "total_time_us": self.total_us,
            "counter": self.count,
        }))
        .ok()
    }

    pub fn merge(&mut self, other: &Timing) {
        if other.count == 0 {
            return;
        }
        self.min_us = if self.count == 0 {
            other.min_us
        } else {
            self.min_us.min(other.min_us)
        };
        self.max_us = self.max_us.max(other.max_us);
        self.count += other.count;
        self.total_us += other.total_us;
        for (k, c) in &other.histogram_us {
            *self.histogram_us.entry(*k).or_default() += c;
        }
    }

    pub fn percentile_ms(&self, percent: f64) -> f64 {
        match self.to_goose() {
            Some(g) if self.count > 0 => g.percentile_us((percent / 100.0) as f32) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_us as f64 / self.count as f64 / 1000.0
        }
    }

    pub fn latency(&self) -> Latency {
        Latency {
            p50: round3(self.percentile_ms(50.0)),
            p90: round3(self.percentile_ms(90.0)),
            p95: round3(self.percentile_ms(95.0)),
            p99: round3(self.percentile_ms(99.0)),
            max: round3(self.max_us as f64 / 1000.0),
            min: round3(self.min_us as f64 / 1000.0),
            avg: round3(self.avg_ms()),
        }
    }
}

/// Which workload model ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    /// `closed` (N users, each sending as fast as answers come) or `open` (a target request
    /// rate, goose's request throttle).
    pub kind: String,
    pub users: usize,
    pub rate_rps: Option<usize>,
    pub ramp_s: Option<f64>,
    pub duration_limit_s: Option<f64>,
    /// Per virtual user.
    pub iterations_limit: Option<usize>,
    /// goose's coordinated-omission mitigation: `average` under the open model, `disabled`
    /// under the closed one.
    pub co_mitigation: String,
    /// Which numbers in this report include synthetic samples for coordinated omission.
    pub adjusted: Vec<String>,
    /// Requests synthesised by goose's mitigation (0 when disabled).
    pub synthetic_requests: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// One transaction (scenario step) of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransactionRow {
    pub name: String,
    pub method: String,
    pub requests: u64,
    pub failures: u64,
    pub throughput_rps: f64,
    /// Adjusted for coordinated omission under the open model, else measured.
    pub latency_ms: Latency,
    pub measured: Timing,
    /// Present under the open model: measured plus goose's synthetic samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted: Option<Timing>,
    /// Status code → count.
    pub statuses: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorRow {
    pub transaction: String,
    /// 0: no response (connection, timeout) or not sent (template).
    pub status: u16,
    pub scim_type: Option<String>,
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Errors {
    /// Failed requests as a percent of all requests.
    pub rate_percent: f64,
    pub by_status: BTreeMap<String, u64>,
    pub by_scim_type: BTreeMap<String, u64>,
    pub rows: Vec<ErrorRow>,
    pub rate_limited: RateLimited,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Cleanup {
    pub created: u64,
    pub deleted: u64,
    pub left_behind: u64,
    /// URLs (and why) of what could not be deleted.
    pub left_behind_urls: Vec<String>,
    /// The journal of everything created, for `scimtest cleanup --ledger`.
    pub ledger: Option<String>,
}

/// `reports/load.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    pub format_version: u32,
    pub tool: String,
    pub scenario: String,
    pub title: String,
    /// The base URL (never credentials).
    pub target: String,
    pub embedded_server: bool,
    pub model: Model,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Set on a merged report: how many files it combines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<usize>,
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    /// `iterations`, `duration`, `interrupted`, `threshold` or `merged`.
    pub ended_by: String,
    pub requests: u64,
    pub failures: u64,
    pub throughput_rps: f64,
    /// Adjusted for coordinated omission under the open model (see `model.adjusted`).
    pub latency_ms: Latency,
    /// What was measured, without synthetic samples.
    pub latency_measured_ms: Latency,
    pub errors: Errors,
    pub transactions: Vec<TransactionRow>,
    pub thresholds: Vec<Verdict>,
    /// `pass` when every threshold passed (or none was given), else `fail`.
    pub verdict: String,
    pub cleanup: Cleanup,
    /// Per second: requests, errors, p50/p95 latency (measured).
    pub timeline: Vec<TimelinePoint>,
}

impl LoadReport {
    /// The whole run's timing: every transaction's together.
    pub fn timing(&self, adjusted: bool) -> Timing {
        let mut t = Timing::default();
        for x in &self.transactions {
            let part = if adjusted {
                x.adjusted.as_ref().unwrap_or(&x.measured)
            } else {
                &x.measured
            };
            t.merge(part);
        }
        t
    }

    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.passed)
    }

    /// Recomputes every derived figure (throughputs, percentiles, error summaries) from the
    /// counts and histograms.
    pub fn derive(&mut self) {
        let secs = self.duration_s.max(1e-9);
        for x in &mut self.transactions {
            x.throughput_rps = round3(x.requests as f64 / secs);
            x.latency_ms = x.adjusted.as_ref().unwrap_or(&x.measured).latency();
        }
        self.requests = self.transactions.iter().map(|x| x.requests).sum();
        self.failures = self.transactions.iter().map(|x| x.failures).sum();
        self.throughput_rps = round3(self.requests as f64 / secs);
        self.latency_ms = self.timing(true).latency();
        self.latency_measured_ms = self.timing(false).latency();
        self.errors.rate_percent = if self.requests == 0 {
            0.0
        } else {
            round3(self.failures as f64 / self.requests as f64 * 100.0)
        };
        let mut by_status = BTreeMap::new();
        let mut by_type = BTreeMap::new();
        for r in &self.errors.rows {
            *by_status.entry(r.status.to_string()).or_default() += r.count;
            if let Some(t) = &r.scim_type {
                *by_type.entry(t.clone()).or_default() += r.count;
            }
        }
        self.errors.by_status = by_status;
        self.errors.by_scim_type = by_type;
        self.verdict = if self.passed() { "pass" } else { "fail" }.into();
    }
}

/// Error rows from our counters.
pub fn error_rows(errors: Vec<(ErrorKey, u64)>) -> Vec<ErrorRow> {
    errors
        .into_iter()
        .map(|(k, count)| ErrorRow {
            transaction: k.transaction,
            status: k.status,
            scim_type: k.scim_type,
            reason: k.reason,
            count,
        })
        .collect()
}

/// Combines shard reports into one: counts and histograms added, the span from the earliest
/// start to the latest end, percentiles read off the merged histograms, thresholds judged
/// again on the merged figures (`rules`; none → the shards' rule texts).
pub fn merge(
    reports: Vec<LoadReport>,
    rules: &[super::threshold::Rule],
) -> Result<LoadReport, String> {
    let mut iter = reports.into_iter();
    let mut out = iter.next().ok_or("nothing to merge")?;
    let mut count = 1usize;
    let mut timelines = vec![std::mem::take(&mut out.timeline)];
    let mut starts = vec![parse_time(&out.started_at)?];
    let mut ends = vec![parse_time(&out.ended_at)?];
    for r in iter {
        count += 1;
        if r.format_version != out.format_version {
            return Err(format!(
                "format_version {} and {} cannot be merged",
                out.format_version, r.format_version
            ));
        }
        if r.model.kind != out.model.kind {
            return Err(format!(
                "a {} model report and a {} model report cannot be merged (their latencies mean different things)",
                out.model.kind, r.model.kind
            ));
        }
        if r.scenario != out.scenario {
            return Err(format!(
                "scenario {:?} and {:?} cannot be merged (different loads)",
                out.scenario, r.scenario
            ));
        }
        starts.push(parse_time(&r.started_at)?);
        ends.push(parse_time(&r.ended_at)?);
        for x in r.transactions {
            match out.transactions.iter_mut().find(|y| y.name == x.name) {
                Some(y) => {
                    y.requests += x.requests;
                    y.failures += x.failures;
                    // A side without adjusted figures had no synthetic samples: its
                    // measured ones are its adjusted ones.
                    if y.adjusted.is_some() || x.adjusted.is_some() {
                        let mut a = y.adjusted.take().unwrap_or_else(|| y.measured.clone());
                        a.merge(x.adjusted.as_ref().unwrap_or(&x.measured));
                        y.adjusted = Some(a);
                    }
                    y.measured.merge(&x.measured);
                    for (k, c) in x.statuses {
                        *y.statuses.entry(k).or_default() += c;
                    }
                }
                None => out.transactions.push(x),
            }
        }
        for e in r.errors.rows {
            match out.errors.rows.iter_mut().find(|x| {
                x.transaction == e.transaction
                    && x.status == e.status
                    && x.scim_type == e.scim_type
                    && x.reason == e.reason
            }) {
                Some(x) => x.count += e.count,
                None => out.errors.rows.push(e),
            }
        }
        let rl = &mut out.errors.rate_limited;
        let o = &r.errors.rate_limited;
        let mean_sum = rl.retry_after_s_mean.unwrap_or(0.0)
            * (rl.count - rl.without_retry_after) as f64
            + o.retry_after_s_mean.unwrap_or(0.0) * (o.count - o.without_retry_after) as f64;
        rl.count += o.count;
        rl.without_retry_after += o.without_retry_after;
        rl.retry_after_s_min = min_opt(rl.retry_after_s_min, o.retry_after_s_min, f64::min);
        rl.retry_after_s_max = min_opt(rl.retry_after_s_max, o.retry_after_s_max, f64::max);
        let known = rl.count - rl.without_retry_after;
        rl.retry_after_s_mean = (known > 0).then(|| round3(mean_sum / known as f64));
        out.cleanup.created += r.cleanup.created;
        out.cleanup.deleted += r.cleanup.deleted;
        out.cleanup.left_behind += r.cleanup.left_behind;
        out.cleanup
            .left_behind_urls
            .extend(r.cleanup.left_behind_urls);
        out.model.synthetic_requests += r.model.synthetic_requests;
        out.model.users += r.model.users;
        if let (Some(a), Some(b)) = (out.model.rate_rps, r.model.rate_rps) {
            out.model.rate_rps = Some(a + b);
        }
        timelines.push(r.timeline);
        out.thresholds.extend(r.thresholds);
    }
    let start = starts.iter().min().copied().unwrap_or_default();
    let end = ends.iter().max().copied().unwrap_or_default();
    out.started_at = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    out.ended_at = end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    out.duration_s = round3(((end - start).num_milliseconds().max(0) as f64) / 1000.0);
    // Timelines line up by wall clock: each shard's seconds shift by its start.
    let mut merged: BTreeMap<u64, TimelinePoint> = BTreeMap::new();
    for (tl, s) in timelines.into_iter().zip(&starts) {
        let shift = ((*s - start).num_milliseconds().max(0) / 1000) as u64;
        for p in tl {
            let e = merged.entry(p.t_s + shift).or_insert(TimelinePoint {
                t_s: p.t_s + shift,
                requests: 0,
                errors: 0,
                p50_ms: None,
                p95_ms: None,
            });
            e.requests += p.requests;
            e.errors += p.errors;
            // Per-second percentiles cannot be combined exactly; the slower shard's is shown.
            e.p50_ms = min_opt(e.p50_ms, p.p50_ms, f64::max);
            e.p95_ms = min_opt(e.p95_ms, p.p95_ms, f64::max);
        }
    }
    out.timeline = merged.into_values().collect();
    out.shard = None;
    out.merged_from = Some(count);
    out.ended_by = "merged".into();
    let shard_rules: Vec<String> = {
        let mut seen = Vec::new();
        for v in &out.thresholds {
            if !seen.contains(&v.rule) {
                seen.push(v.rule.clone());
            }
        }
        seen
    };
    let rules: Vec<super::threshold::Rule> = if rules.is_empty() {
        shard_rules
            .iter()
            .filter_map(|r| super::threshold::parse(r).ok())
            .collect()
    } else {
        rules.to_vec()
    };
    out.derive();
    let open = out.transactions.iter().any(|x| x.adjusted.is_some());
    out.thresholds = rules
        .iter()
        .map(|r| r.judge(&out, open && r.is_latency(), "scimtest (merged)"))
        .collect();
    out.derive();
    Ok(out)
}

fn min_opt(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("bad timestamp {s:?}: {e}"))
}

/// JUnit XML: one testsuite per load, one testcase per threshold (a failure when it failed),
/// plus one for cleanup (a failure when anything was left behind).
pub fn junit(report: &LoadReport) -> Result<Vec<u8>, String> {
    use crate::report::junit::attr;
    use junit_report::{Duration as JDuration, ReportBuilder, TestCase, TestSuiteBuilder};
    let class = attr(&format!("load.{}", report.scenario));
    // The run's time goes on the suite once, not on every threshold testcase.
    let duration = JDuration::ZERO;
    let mut cases = Vec::new();
    for v in &report.thresholds {
        let name = attr(&format!("threshold {} ({})", v.rule, v.scope));
        let mut case = if v.passed {
            TestCase::success(&name, duration)
        } else {
            let why = if v.aborted {
                "failed and stopped the run"
            } else {
                "failed"
            };
            TestCase::failure(
                &name,
                duration,
                "threshold",
                &attr(&format!(
                    "{} {why}: observed {} (judged by {})",
                    v.rule, v.observed, v.judged_by
                )),
            )
        };
        case.set_classname(&class);
        cases.push(case);
    }
    let mut cleanup = if report.cleanup.left_behind == 0 {
        TestCase::success("cleanup", JDuration::ZERO)
    } else {
        TestCase::failure(
            "cleanup",
            JDuration::ZERO,
            "cleanup",
            &format!("{} resources left behind", report.cleanup.left_behind),
        )
    };
    cleanup.set_classname(&class);
    cases.push(cleanup);
    let suite = TestSuiteBuilder::new(&attr(&format!("load {}", report.scenario)))
        .add_testcases(cases)
        .build();
    let mut out = Vec::new();
    ReportBuilder::new()
        .add_testsuite(suite)
        .build()
        .write_xml(&mut out)
        .map_err(|e| format!("junit: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(values_us: &[u64]) -> Timing {
        // goose's floor for times under 128 µs is the time itself; tests use such values.
        let mut t = Timing::default();
        for &v in values_us {
            t.merge(&Timing {
                count: 1,
                min_us: v,
                max_us: v,
                total_us: v,
                histogram_us: BTreeMap::from([(v, 1)]),
            });
        }
        t
    }

    #[test]
    fn merged_percentiles_come_from_the_summed_histogram() {
        // Shard A: 90 fast answers; shard B: 10 slow ones. Averaging p95s would say ~63µs.
        let a = timing(&[10; 90]);
        let b = timing(&[120; 10]);
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(m.count, 100);
        assert_eq!(m.percentile_ms(95.0), 0.12);
        assert_eq!(m.percentile_ms(50.0), 0.01);
        assert_eq!(m.max_us, 120);
        assert_eq!(m.min_us, 10);
    }
}
