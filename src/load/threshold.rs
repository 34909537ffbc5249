//! `--threshold` rules: `p95<300ms`, `errors<1%`, `rps>=200`, optionally `for TRANSACTION`.
//!
//! A live run hands the rules to goose (its `--threshold` rules judge them and may stop the
//! run); this module translates our spelling into goose's, and judges rules itself only where
//! goose cannot: on a report merged from shards, and on latencies adjusted for coordinated
//! omission under the open model (goose judges measured times).

use super::report::{LoadReport, Timing};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Percentile(f64),
    Avg,
    Max,
    /// Failed requests as a percent of all.
    Errors,
    Rps,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As the user wrote it.
    pub text: String,
    pub metric: Metric,
    pub op: Op,
    /// Milliseconds for times, a percent for errors, requests/s for rps.
    pub limit: f64,
    /// A transaction (step) name; `None` for the whole run.
    pub transaction: Option<String>,
}

/// A rule's verdict in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub rule: String,
    /// `run` or the transaction's name.
    pub scope: String,
    /// What was observed, as shown (`812ms`, `0.4%`, `213.5/s`, `no samples`).
    pub observed: String,
    pub value: Option<f64>,
    pub passed: bool,
    /// This rule failing stopped the run (`--abort-on-fail`).
    pub aborted: bool,
    /// Who judged: `goose` (live run, measured times), `scimtest (merged)` (a merged report), or
    /// `scimtest (adjusted)` (latency adjusted for coordinated omission failed a rule goose
    /// passed on measured times).
    pub judged_by: String,
}

/// Parses a rule; the error says what is wrong and shows a correct one.
pub fn parse(text: &str) -> Result<Rule, String> {
    let rule = text.trim();
    let bad = |why: &str| {
        format!(
            "threshold {rule:?}: {why} (e.g. p95<300ms, errors<1%, rps>=200, p99<1s for create)"
        )
    };
    let (head, transaction) = match rule.split_once(" for ") {
        Some((h, t)) if !t.trim().is_empty() => (h.trim(), Some(t.trim().to_string())),
        Some(_) => return Err(bad("`for` needs a transaction name")),
        None => (rule, None),
    };
    let at = head
        .find(['<', '>'])
        .ok_or_else(|| bad("no operator; use <, <=, > or >="))?;
    let name = head[..at].trim();
    let rest = &head[at..];
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else {
        return Err(bad("no operator"));
    };
    let value = value.trim();
    let metric = match name {
        "avg" => Metric::Avg,
        "max" => Metric::Max,
        "errors" | "error-rate" | "error_rate" => Metric::Errors,
        "rps" => Metric::Rps,
        p if p.starts_with('p') => match p[1..].parse::<f64>() {
            Ok(n) if n > 0.0 && n < 100.0 => Metric::Percentile(n),
            _ => return Err(bad("a percentile is p1..p99.9")),
        },
        other => {
            return Err(bad(&format!(
                "unknown metric {other:?}; use pNN, avg, max, errors or rps"
            )))
        }
    };
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let limit = match metric {
        Metric::Percentile(_) | Metric::Avg | Metric::Max => {
            let ms = if let Some(n) = value.strip_suffix("ms") {
                number(n)
            } else if let Some(n) = value.strip_suffix("us") {
                number(n).map(|n| n / 1000.0)
            } else if let Some(n) = value.strip_suffix('s') {
                number(n).map(|n| n * 1000.0)
            } else {
                number(value)
            };
            ms.ok_or_else(|| bad("a time is a number with ms, s or us"))?
        }
        Metric::Errors => number(value.strip_suffix('%').unwrap_or(value))
            .filter(|p| *p <= 100.0)
            .ok_or_else(|| bad("an error rate is a percent, 0..100"))?,
        Metric::Rps => number(value.strip_suffix("/s").unwrap_or(value))
            .ok_or_else(|| bad("a rate is a number of requests per second"))?,
    };
    Ok(Rule {
        text: rule.to_string(),
        metric,
        op,
        limit,
        transaction,
    })
}

impl Rule {
    /// The rule as goose spells it: `error-rate` for `errors`, and a transaction named by
    /// goose's request key (`POST create`).
    pub fn to_goose(&self, method_of: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let metric = match self.metric {
            Metric::Percentile(p) => format!("p{p}"),
            Metric::Avg => "avg".into(),
            Metric::Max => "max".into(),
            Metric::Errors => "error-rate".into(),
            Metric::Rps => "rps".into(),
        };
        let op = match self.op {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        };
        let value = match self.metric {
            Metric::Errors => format!("{}%", self.limit),
            Metric::Rps => format!("{}", self.limit),
            _ => format!("{}us", (self.limit * 1000.0).round()),
        };
        let scope = match &self.transaction {
            Some(t) => {
                let m = method_of(t).ok_or_else(|| {
                    format!(
                        "threshold {:?}: no step named {t:?} in this scenario",
                        self.text
                    )
                })?;
                format!(" for {m} {t}")
            }
            None => String::new(),
        };
        let text = format!("{metric}{op}{value}{scope}");
        // goose's own parser has the last word on what it accepts.
        text.parse::<goose::threshold::Threshold>()
            .map_err(|e| format!("threshold {:?}: {e}", self.text))?;
        Ok(text)
    }

    pub fn scope(&self) -> String {
        self.transaction.clone().unwrap_or_else(|| "run".into())
    }

    pub fn is_latency(&self) -> bool {
        matches!(
            self.metric,
            Metric::Percentile(_) | Metric::Avg | Metric::Max
        )
    }

    fn passes(&self, observed: f64) -> bool {
        match self.op {
            Op::Lt => observed < self.limit,
            Op::Le => observed <= self.limit,
            Op::Gt => observed > self.limit,
            Op::Ge => observed >= self.limit,
        }
    }

    /// Judges the rule on a report; `adjusted` reads latency adjusted for coordinated
    /// omission where the report has it.
    pub fn judge(&self, report: &LoadReport, adjusted: bool, judged_by: &str) -> Verdict {
        let (timing, requests, failures): (Option<Timing>, u64, u64) = match &self.transaction {
            Some(t) => match report.transactions.iter().find(|x| &x.name == t) {
                Some(x) => (
                    Some(if adjusted {
                        x.adjusted.clone().unwrap_or_else(|| x.measured.clone())
                    } else {
                        x.measured.clone()
                    }),
                    x.requests,
                    x.failures,
                ),
                None => (None, 0, 0),
            },
            None => (
                Some(report.timing(adjusted)),
                report.requests,
                report.failures,
            ),
        };
        let observed = match self.metric {
            Metric::Errors if requests > 0 => {
                Some((failures as f64 / requests as f64 * 100.0, "%"))
            }
            Metric::Rps if requests > 0 && report.duration_s >= 1.0 => {
                Some((requests as f64 / report.duration_s, "/s"))
            }
            Metric::Percentile(p) => timing
                .as_ref()
                .filter(|t| t.count > 0)
                .map(|t| (t.percentile_ms(p), "ms")),
            Metric::Avg => timing
                .as_ref()
                .filter(|t| t.count > 0)
                .map(|t| (t.avg_ms(), "ms")),
            Metric::Max => timing
                .as_ref()
                .filter(|t| t.count > 0)
                .map(|t| (t.max_us as f64 / 1000.0, "ms")),
            _ => None,
        };
        match observed {
            Some((v, unit)) => Verdict {
                rule: self.text.clone(),
                scope: self.scope(),
                observed: format!("{}{unit}", super::stats::round3(v)),
                value: Some(super::stats::round3(v)),
                passed: self.passes(v),
                aborted: false,
                judged_by: judged_by.into(),
            },
            None => Verdict {
                rule: self.text.clone(),
                scope: self.scope(),
                observed: "no samples".into(),
                value: None,
                passed: false,
                aborted: false,
                judged_by: judged_by.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_translate_to_goose() {
        let r = parse("p95<300ms").unwrap();
        assert_eq!(r.metric, Metric::Percentile(95.0));
        assert_eq!(r.limit, 300.0);
        assert_eq!(r.to_goose(|_| None).unwrap(), "p95<300000us");
        let e = parse("errors<1%").unwrap();
        assert_eq!(e.to_goose(|_| None).unwrap(), "error-rate<1%");
        let t = parse("p99<1s for create").unwrap();
        assert_eq!(t.limit, 1000.0);
        assert_eq!(
            t.to_goose(|n| (n == "create").then(|| "POST".to_string()))
                .unwrap(),
            "p99<1000000us for POST create"
        );
        assert!(t.to_goose(|_| None).unwrap_err().contains("no step named"));
        assert_eq!(
            parse("rps>=200").unwrap().to_goose(|_| None).unwrap(),
            "rps>=200"
        );
        for bad in [
            "p95",
            "p100<1s",
            "lat<1s",
            "errors<200%",
            "p95<fast",
            "p95<1s for ",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // A rule goose knows can never pass is refused by goose's parser.
        assert!(parse("errors<0%").unwrap().to_goose(|_| None).is_err());
    }
}
