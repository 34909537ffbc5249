//! What goose's metrics do not keep and a SCIM load report needs: errors by status and
//! `scimType`, 429s with their `Retry-After`, and a per-second timeline for the charts and the
//! live progress line. Recorded by every request, so kept to a few counters under one short lock.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Sub-buckets per power of two of the per-second latency histograms.
const SUB: u32 = 8;
/// Buckets covering 1 µs .. 2^36 µs (19 hours): more than any timeout.
const BUCKETS: usize = (36 * SUB) as usize;

/// A coarse latency histogram for one second of the run (~12% bucket width). Hand-written
/// because one per second must stay small: an `hdrhistogram` of the same range takes over 10 KB,
/// which over an hour-long run would grow memory with the run's length; this one is 1.1 KB.
#[derive(Clone)]
struct SecondHistogram {
    counts: Box<[u32; BUCKETS]>,
}

impl SecondHistogram {
    fn new() -> Self {
        SecondHistogram {
            counts: Box::new([0; BUCKETS]),
        }
    }

    fn index(us: u64) -> usize {
        let us = us.max(1) as f64;
        ((us.log2() * f64::from(SUB)) as usize).min(BUCKETS - 1)
    }

    /// The middle of bucket `i`, in milliseconds.
    fn value_ms(i: usize) -> f64 {
        2f64.powf((i as f64 + 0.5) / f64::from(SUB)) / 1000.0
    }

    fn record(&mut self, us: u64) {
        self.counts[Self::index(us)] += 1;
    }

    fn percentile_ms(&self, percent: f64) -> Option<f64> {
        let total: u64 = self.counts.iter().map(|&c| u64::from(c)).sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * percent / 100.0).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(Self::value_ms(i));
            }
        }
        None
    }
}

struct Second {
    requests: u64,
    errors: u64,
    latency: SecondHistogram,
}

/// One second of the run in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimelinePoint {
    /// Seconds since the load started (the end of this second).
    pub t_s: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// One kind of failed response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ErrorKey {
    pub transaction: String,
    /// The HTTP status, or 0 when no response came (connection refused, timeout).
    pub status: u16,
    /// The SCIM error's `scimType`, when the body was a SCIM error that had one.
    pub scim_type: Option<String>,
    /// Why it counts as a failure when the status alone does not say (an unexpected status, a
    /// capture that found nothing, a transport error).
    pub reason: String,
}

#[derive(Default)]
struct Tables {
    seconds: Vec<Second>,
    errors: BTreeMap<ErrorKey, u64>,
    /// Retry-After values of 429 responses, in seconds (`None`: header missing or unreadable).
    retry_after: Vec<Option<f64>>,
}

/// Counters shared by every virtual user.
pub struct Stats {
    started: Instant,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    tables: Mutex<Tables>,
}

/// 429s in the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RateLimited {
    pub count: u64,
    /// How many 429s had no usable Retry-After header.
    pub without_retry_after: u64,
    pub retry_after_s_min: Option<f64>,
    pub retry_after_s_max: Option<f64>,
    pub retry_after_s_mean: Option<f64>,
}

/// At most this many 429s keep their Retry-After value (the summary stays exact for the count).
const RETRY_AFTER_KEPT: usize = 100_000;

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            tables: Mutex::new(Tables::default()),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request: its latency in µs and, when it failed, why.
    pub fn record(&self, latency_us: u64, failure: Option<ErrorKey>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let second = self.started.elapsed().as_secs() as usize;
        let mut t = self.tables();
        while t.seconds.len() <= second {
            t.seconds.push(Second {
                requests: 0,
                errors: 0,
                latency: SecondHistogram::new(),
            });
        }
        let s = &mut t.seconds[second];
        s.requests += 1;
        s.latency.record(latency_us);
        if let Some(key) = failure {
            s.errors += 1;
            self.errors.fetch_add(1, Ordering::Relaxed);
            *t.errors.entry(key).or_default() += 1;
        }
    }

    /// A step that failed before sending (a template error, a variable missing).
    pub fn record_unsent(&self, key: ErrorKey) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.tables().errors.entry(key).or_default() += 1;
    }

    /// A 429 and its Retry-After header (delta-seconds or an HTTP date).
    pub fn record_429(&self, retry_after: Option<&str>) {
        let secs = retry_after.and_then(parse_retry_after);
        let mut t = self.tables();
        if t.retry_after.len() < RETRY_AFTER_KEPT {
            t.retry_after.push(secs);
        }
    }

    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Requests in the last whole second (for the progress line).
    pub fn last_second_rate(&self) -> u64 {
        let now = self.started.elapsed().as_secs() as usize;
        let t = self.tables();
        now.checked_sub(1)
            .and_then(|i| t.seconds.get(i))
            .map_or(0, |s| s.requests)
    }

    pub fn timeline(&self) -> Vec<TimelinePoint> {
        let t = self.tables();
        t.seconds
            .iter()
            .enumerate()
            .map(|(i, s)| TimelinePoint {
                t_s: i as u64 + 1,
                requests: s.requests,
                errors: s.errors,
                p50_ms: s.latency.percentile_ms(50.0).map(round3),
                p95_ms: s.latency.percentile_ms(95.0).map(round3),
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<(ErrorKey, u64)> {
        self.tables()
            .errors
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub fn rate_limited(&self, count: u64) -> RateLimited {
        let t = self.tables();
        let known: Vec<f64> = t.retry_after.iter().flatten().copied().collect();
        let missing = t.retry_after.iter().filter(|v| v.is_none()).count() as u64;
        RateLimited {
            count,
            without_retry_after: missing,
            retry_after_s_min: known.iter().copied().reduce(f64::min),
            retry_after_s_max: known.iter().copied().reduce(f64::max),
            retry_after_s_mean: (!known.is_empty())
                .then(|| round3(known.iter().sum::<f64>() / known.len() as f64)),
        }
    }
}

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
fn parse_retry_after(v: &str) -> Option<f64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n as f64);
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some((delta.num_milliseconds().max(0) as f64) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_histogram_percentiles_are_within_a_bucket() {
        let mut h = SecondHistogram::new();
        for us in 1..=1000u64 {
            h.record(us * 1000); // 1..1000 ms
        }
        let p50 = h.percentile_ms(50.0).unwrap();
        let p95 = h.percentile_ms(95.0).unwrap();
        assert!((p50 / 500.0 - 1.0).abs() < 0.1, "{p50}");
        assert!((p95 / 950.0 - 1.0).abs() < 0.1, "{p95}");
        assert!(SecondHistogram::new().percentile_ms(50.0).is_none());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(7.0));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let s = parse_retry_after(&later).unwrap();
        assert!((28.0..=30.5).contains(&s), "{s}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn errors_and_429s_are_summarised() {
        let s = Stats::new();
        s.record(1000, None);
        let key = ErrorKey {
            transaction: "create".into(),
            status: 409,
            scim_type: Some("uniqueness".into()),
            reason: "status 409".into(),
        };
        s.record(2000, Some(key.clone()));
        s.record(2000, Some(key.clone()));
        s.record_429(Some("2"));
        s.record_429(None);
        assert_eq!(s.errors(), vec![(key, 2)]);
        let rl = s.rate_limited(2);
        assert_eq!((rl.count, rl.without_retry_after), (2, 1));
        assert_eq!(rl.retry_after_s_max, Some(2.0));
        assert_eq!(s.timeline()[0].requests, 3);
    }
}
