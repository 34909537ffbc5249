//! `reports/load.html`: one self-contained page a CI artifact viewer can open offline — inline
//! CSS, inline SVG charts, no scripts, no fetched fonts, styles or images.
//!
//! Every string taken from the report passes through [`esc`]: the target URL, the scenario
//! title, rule texts and error reasons come from users and from the server under test, and a
//! hostile server must not be able to put markup into a page someone opens from CI. A
//! Content-Security-Policy that forbids scripts and fetches backs that up.

use super::report::{Latency, LoadReport, Model};
use super::stats::TimelinePoint;
use std::fmt::Write;

/// The whole page.
pub fn render(report: &LoadReport) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{} · scimtest load · {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        verdict_word(report),
        esc(&report.scenario)
    );
    header(&mut out, report);
    banner(&mut out, report);
    thresholds(&mut out, report);
    totals(&mut out, report);
    transactions(&mut out, report);
    charts(&mut out, report);
    errors(&mut out, report);
    cleanup(&mut out, report);
    let _ = write!(
        out,
        "<footer>{} · load.json format {}</footer>\n</main>\n</body>\n</html>\n",
        esc(&report.tool),
        report.format_version
    );
    out
}

/// HTML-escapes text for element content and quoted attribute values alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;background:#f6f8fa;margin:0}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em}
.subtitle{color:#57606a;margin:0 0 1em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1.2em;margin:0}
dt{color:#57606a}dd{margin:0}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:12px 0}
.banner{font-size:1.2em;border-width:2px}
.banner strong{font-size:1.3em;margin-right:.4em}
.pass{background:#dafbe1;border-color:#1a7f37;color:#0f5323}
.fail{background:#ffebe9;border-color:#cf222e;color:#82071e}
.warn{color:#9a6700}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right}
td.ok{color:#1a7f37;font-weight:600}td.bad{color:#cf222e;font-weight:600}
.note{color:#57606a;font-size:.9em;margin:.4em 0 0}
code,.url{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
svg{width:100%;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
svg .title{font-size:13px;font-weight:600;fill:#1f2328}
svg .axis{stroke:#57606a;stroke-width:1}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .line{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg .req{stroke:#0969da;fill:#0969da}svg .err{stroke:#cf222e;fill:#cf222e}
svg .p50{stroke:#1a7f37;fill:#1a7f37}svg .p95{stroke:#bf8700;fill:#bf8700}
svg polyline.line{fill:none}
footer{color:#57606a;font-size:.85em;margin-top:2em}
";

/// `PASS` or `FAIL` in words, so the outcome never depends on seeing the colour.
fn verdict_word(r: &LoadReport) -> &'static str {
    if r.verdict == "pass" {
        "PASS"
    } else {
        "FAIL"
    }
}

fn header(out: &mut String, r: &LoadReport) {
    let _ = write!(
        out,
        "<header>\n<h1>scimtest load · {}</h1>\n<p class=\"subtitle\">{}</p>\n<section>\n<dl>\n",
        esc(&r.scenario),
        esc(&r.title)
    );
    let target = if r.embedded_server {
        format!(
            "<span class=\"url\">{}</span> (embedded reference server)",
            esc(&r.target)
        )
    } else {
        format!("<span class=\"url\">{}</span>", esc(&r.target))
    };
    dl_row(out, "Target", &target);
    dl_row(out, "Model", &model_text(&r.model));
    dl_row(out, "Coordinated omission", &co_text(r));
    dl_row(out, "Ended by", &ended_by_text(r));
    dl_row(out, "Started", &esc(&r.started_at));
    dl_row(out, "Ended", &esc(&r.ended_at));
    dl_row(out, "Duration", &format!("{} s", num(r.duration_s, 3)));
    if let Some(s) = &r.shard {
        dl_row(
            out,
            "Shard",
            &format!(
                "{} of {} (this report covers one shard only; merge them with <code>scimtest load merge</code>)",
                s.index, s.count
            ),
        );
    }
    if let Some(n) = r.merged_from {
        dl_row(
            out,
            "Merged from",
            &format!("{n} shard report{}", if n == 1 { "" } else { "s" }),
        );
    }
    out.push_str("</dl>\n</section>\n</header>\n");
}

/// `value_html` is already escaped.
fn dl_row(out: &mut String, label: &str, value_html: &str) {
    let _ = writeln!(out, "<dt>{label}</dt><dd>{value_html}</dd>");
}

fn model_text(m: &Model) -> String {
    let mut s = match m.kind.as_str() {
        "open" => format!(
            "open: a target of {} requests/s shared by {} users",
            m.rate_rps.map_or("?".to_string(), |r| r.to_string()),
            m.users
        ),
        "closed" => format!(
            "closed: {} users, each sending its next request when the previous answer arrives",
            m.users
        ),
        other => format!("{} ({} users)", esc(other), m.users),
    };
    if let Some(r) = m.ramp_s {
        let _ = write!(s, "; ramp-up {} s", num(r, 1));
    }
    if let Some(d) = m.duration_limit_s {
        let _ = write!(s, "; duration limit {} s", num(d, 1));
    }
    if let Some(i) = m.iterations_limit {
        let _ = write!(s, "; {i} iterations per user");
    }
    s
}

/// Says which numbers include goose's synthetic samples, so nobody compares an adjusted p95
/// with a measured one unawares.
fn co_text(r: &LoadReport) -> String {
    let m = &r.model;
    if m.adjusted.is_empty() {
        let mut s = format!(
            "no adjustment: every latency is measured (mitigation {})",
            esc(&m.co_mitigation)
        );
        if r.transactions.iter().any(|x| x.adjusted.is_some()) {
            s.push_str(" <span class=\"warn\">— yet some transactions carry adjusted latencies (shards of different models merged?)</span>");
        }
        return s;
    }
    let which: Vec<String> = m
        .adjusted
        .iter()
        .map(|a| format!("<code>{}</code>", esc(a)))
        .collect();
    format!(
        "adjusted (goose mitigation <code>{}</code>, {} synthetic samples): {}; the measured figures are shown beside them",
        esc(&m.co_mitigation),
        m.synthetic_requests,
        which.join(", ")
    )
}

fn ended_by_text(r: &LoadReport) -> String {
    match r.ended_by.as_str() {
        "iterations" => "iterations: every user finished its iterations".into(),
        "duration" => "duration: the time limit was reached".into(),
        "interrupted" => "<span class=\"warn\">interrupted</span> (a signal stopped the load)".into(),
        "threshold" => {
            "<span class=\"warn\">threshold</span>: a failing threshold stopped the load (--abort-on-fail)"
                .into()
        }
        "merged" => "merged: shard reports combined".into(),
        other => esc(other),
    }
}

fn banner(out: &mut String, r: &LoadReport) {
    let failed = r.thresholds.iter().filter(|v| !v.passed).count();
    let total = r.thresholds.len();
    let class = if r.verdict == "pass" { "pass" } else { "fail" };
    let why = if total == 0 {
        if r.verdict == "pass" {
            "no thresholds were given".to_string()
        } else {
            format!("verdict {}", esc(&r.verdict))
        }
    } else if failed == 0 {
        format!("all {total} thresholds held")
    } else {
        format!("{failed} of {total} thresholds failed")
    };
    let _ = write!(
        out,
        "<section class=\"banner {class}\" role=\"status\"><strong>{}</strong> {why}",
        verdict_word(r)
    );
    if r.ended_by == "interrupted" {
        out.push_str(" · the load was interrupted");
    }
    if r.cleanup.left_behind > 0 {
        let _ = write!(
            out,
            " · {} resources left behind by cleanup",
            r.cleanup.left_behind
        );
    }
    out.push_str("</section>\n");
}

fn thresholds(out: &mut String, r: &LoadReport) {
    out.push_str("<h2>Thresholds</h2>\n");
    if r.thresholds.is_empty() {
        out.push_str("<p class=\"note\">None were given (<code>--threshold</code>), so the run passes.</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<tr><th>Verdict</th><th>Rule</th><th>Scope</th><th class=\"n\">Observed</th><th>Judged by</th></tr>\n",
    );
    for v in &r.thresholds {
        let (class, word) = match (v.passed, v.aborted) {
            (true, _) => ("ok", "PASS"),
            (false, true) => ("bad", "FAIL (stopped the run)"),
            (false, false) => ("bad", "FAIL"),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"{class}\">{word}</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&v.rule),
            esc(&v.scope),
            esc(&v.observed),
            esc(&v.judged_by)
        );
    }
    out.push_str("</table>\n");
}

fn totals(out: &mut String, r: &LoadReport) {
    out.push_str("<h2>Totals</h2>\n<section>\n<dl>\n");
    dl_row(out, "Requests", &thousands(r.requests));
    dl_row(
        out,
        "Failures",
        &format!(
            "{} ({} % of requests)",
            thousands(r.failures),
            num(r.errors.rate_percent, 3)
        ),
    );
    dl_row(
        out,
        "Throughput",
        &format!("{} requests/s", num(r.throughput_rps, 1)),
    );
    out.push_str("</dl>\n</section>\n");
    // By the data, not only the model: `latency_ms` reads adjusted histograms wherever a
    // transaction has one.
    let adjusted =
        !r.model.adjusted.is_empty() || r.transactions.iter().any(|x| x.adjusted.is_some());
    latency_table(
        out,
        &[
            (
                if adjusted {
                    "all requests, adjusted for coordinated omission"
                } else {
                    "all requests, measured"
                },
                &r.latency_ms,
            ),
            ("all requests, measured", &r.latency_measured_ms),
        ][..if r.latency_measured_ms != r.latency_ms {
            2
        } else {
            1
        }],
    );
}

fn latency_table(out: &mut String, rows: &[(&str, &Latency)]) {
    out.push_str(
        "<table>\n<tr><th>Latency (ms)</th><th class=\"n\">p50</th><th class=\"n\">p90</th><th class=\"n\">p95</th><th class=\"n\">p99</th><th class=\"n\">max</th><th class=\"n\">min</th><th class=\"n\">avg</th></tr>\n",
    );
    for (label, l) in rows {
        let _ = writeln!(
            out,
            "<tr><td>{label}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            ms(l.p50),
            ms(l.p90),
            ms(l.p95),
            ms(l.p99),
            ms(l.max),
            ms(l.min),
            ms(l.avg)
        );
    }
    out.push_str("</table>\n");
}

fn transactions(out: &mut String, r: &LoadReport) {
    out.push_str("<h2>Transactions</h2>\n");
    if r.transactions.is_empty() {
        out.push_str("<p class=\"note\">No request was sent.</p>\n");
        return;
    }
    // A measured p95 column only where some latencies are adjusted: it is the figure goose
    // judged thresholds on.
    let any_adjusted = r.transactions.iter().any(|x| x.adjusted.is_some());
    let _ = write!(
        out,
        "<table>\n<tr><th>Transaction</th><th class=\"n\">Requests</th><th class=\"n\">Failures</th><th class=\"n\">req/s</th>\
         <th class=\"n\">p50 ms</th><th class=\"n\">p90 ms</th><th class=\"n\">p95 ms</th><th class=\"n\">p99 ms</th><th class=\"n\">max ms</th>{}<th>Statuses</th></tr>\n",
        if any_adjusted {
            "<th class=\"n\">measured p95 ms</th>"
        } else {
            ""
        }
    );
    for x in &r.transactions {
        let l = &x.latency_ms;
        let measured = if any_adjusted {
            format!("<td class=\"n\">{}</td>", ms(x.measured.latency().p95))
        } else {
            String::new()
        };
        let statuses: Vec<String> = x
            .statuses
            .iter()
            .map(|(s, c)| format!("{} × {}", status_text(s), thousands(*c)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td><code>{} {}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{measured}<td>{}</td></tr>",
            esc(&x.method),
            esc(&x.name),
            thousands(x.requests),
            thousands(x.failures),
            num(x.throughput_rps, 1),
            ms(l.p50),
            ms(l.p90),
            ms(l.p95),
            ms(l.p99),
            ms(l.max),
            statuses.join(", ")
        );
    }
    out.push_str("</table>\n");
    if any_adjusted {
        out.push_str("<p class=\"note\">Latency columns are adjusted for coordinated omission; \"measured p95\" leaves goose's synthetic samples out.</p>\n");
    }
}

/// A status code from a map key; `0` means no response came.
fn status_text(s: &str) -> String {
    if s == "0" {
        "no response".into()
    } else {
        esc(s)
    }
}

fn errors(out: &mut String, r: &LoadReport) {
    let e = &r.errors;
    out.push_str("<h2>Errors</h2>\n");
    if e.rows.is_empty() {
        out.push_str("<p class=\"note\">No failed requests.</p>\n");
    } else {
        // Most frequent first: the top rows are the ones worth reading.
        let mut rows: Vec<_> = e.rows.iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
        out.push_str(
            "<table>\n<tr><th>Transaction</th><th>Status</th><th>scimType</th><th>Reason</th><th class=\"n\">Count</th></tr>\n",
        );
        for row in rows {
            let status = if row.status == 0 {
                "no response".to_string()
            } else {
                row.status.to_string()
            };
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{status}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&row.transaction),
                row.scim_type.as_deref().map_or(String::new(), esc),
                esc(&row.reason),
                thousands(row.count)
            );
        }
        out.push_str("</table>\n");
        let by_status: Vec<String> = e
            .by_status
            .iter()
            .map(|(s, c)| format!("{} × {}", status_text(s), thousands(*c)))
            .collect();
        let _ = write!(
            out,
            "<p class=\"note\">{} % of requests failed. By status: {}.",
            num(e.rate_percent, 3),
            by_status.join(", ")
        );
        if !e.by_scim_type.is_empty() {
            let by_type: Vec<String> = e
                .by_scim_type
                .iter()
                .map(|(t, c)| format!("{} × {}", esc(t), thousands(*c)))
                .collect();
            let _ = write!(out, " By scimType: {}.", by_type.join(", "));
        }
        out.push_str("</p>\n");
    }
    let rl = &e.rate_limited;
    out.push_str("<h2>Rate limiting (429)</h2>\n");
    if rl.count == 0 {
        out.push_str("<p class=\"note\">No 429 Too Many Requests answers.</p>\n");
        return;
    }
    let secs = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{} s", num(v, 3)));
    let _ = writeln!(
        out,
        "<section><dl>\n<dt>429 answers</dt><dd>{}</dd>\n<dt>Retry-After</dt><dd>min {}, mean {}, max {}</dd>\n\
         <dt>Without a usable Retry-After</dt><dd>{}</dd>\n</dl></section>",
        thousands(rl.count),
        secs(rl.retry_after_s_min),
        secs(rl.retry_after_s_mean),
        secs(rl.retry_after_s_max),
        thousands(rl.without_retry_after)
    );
}

/// At most this many left-behind URLs are listed; load.json has them all.
const LEFT_BEHIND_SHOWN: usize = 200;

fn cleanup(out: &mut String, r: &LoadReport) {
    let c = &r.cleanup;
    out.push_str("<h2>Cleanup</h2>\n<section>\n<dl>\n");
    dl_row(out, "Created", &thousands(c.created));
    dl_row(out, "Deleted", &thousands(c.deleted));
    let left = if c.left_behind > 0 {
        format!("<span class=\"warn\">{}</span>", thousands(c.left_behind))
    } else {
        "0".into()
    };
    dl_row(out, "Left behind", &left);
    if let Some(l) = &c.ledger {
        dl_row(
            out,
            "Ledger",
            &format!("<span class=\"url\">{}</span>", esc(l)),
        );
    }
    out.push_str("</dl>\n");
    if !c.left_behind_urls.is_empty() {
        // Folded: a failed cleanup can leave thousands, and the rest of the page matters more.
        let _ = writeln!(
            out,
            "<details><summary>{} URLs (and why) of what could not be deleted</summary>\n<ul>",
            thousands(c.left_behind_urls.len() as u64)
        );
        for u in c.left_behind_urls.iter().take(LEFT_BEHIND_SHOWN) {
            let _ = writeln!(out, "<li class=\"url\">{}</li>", esc(u));
        }
        out.push_str("</ul>\n");
        if c.left_behind_urls.len() > LEFT_BEHIND_SHOWN {
            let _ = writeln!(
                out,
                "<p class=\"note\">… and {} more (see load.json).</p>",
                c.left_behind_urls.len() - LEFT_BEHIND_SHOWN
            );
        }
        out.push_str("</details>\n");
        if let Some(l) = &c.ledger {
            let _ = writeln!(
                out,
                "<p class=\"note\">Retry with <code>scimtest cleanup --ledger {}</code>.</p>",
                esc(l)
            );
        }
    }
    out.push_str("</section>\n");
}

fn charts(out: &mut String, r: &LoadReport) {
    out.push_str("<h2>Over time</h2>\n<section>\n");
    let tl = &r.timeline;
    let t = |p: &TimelinePoint| p.t_s as f64;
    out.push_str(&line_chart(
        "Throughput",
        "per second",
        &[
            Series {
                label: "requests/s",
                class: "req",
                points: tl.iter().map(|p| (t(p), Some(p.requests as f64))).collect(),
            },
            Series {
                label: "errors/s",
                class: "err",
                points: tl.iter().map(|p| (t(p), Some(p.errors as f64))).collect(),
            },
        ],
    ));
    out.push_str(&line_chart(
        "Latency",
        "ms",
        &[
            Series {
                label: "p50",
                class: "p50",
                points: tl.iter().map(|p| (t(p), p.p50_ms)).collect(),
            },
            Series {
                label: "p95",
                class: "p95",
                points: tl.iter().map(|p| (t(p), p.p95_ms)).collect(),
            },
        ],
    ));
    out.push_str("<p class=\"note\">One point per second of the load (the last second may be partial). Per-second latencies are measured, from coarse histograms (about 12 % wide); seconds without an answer are gaps.");
    if r.merged_from.is_some() {
        out.push_str(" In a merged report each second shows the slower shard's latency.");
    }
    out.push_str("</p>\n</section>\n");
}

/// One line of a chart: (seconds, value) pairs; `None` values are gaps.
struct Series<'a> {
    label: &'a str,
    /// CSS class giving the colour.
    class: &'a str,
    points: Vec<(f64, Option<f64>)>,
}

const W: f64 = 760.0;
const H: f64 = 250.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 42.0;

/// An SVG line chart from 0 s to the last second, y from 0 to a round number above the largest
/// value. Lines break at gaps (a `None` or a missing second); a point with no neighbour is a
/// dot, so a one-second run still shows.
fn line_chart(title: &str, y_label: &str, series: &[Series]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} over time\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title>{} over time</title>\n<text class=\"title\" x=\"{LEFT}\" y=\"16\">{}</text>\n",
        esc(title),
        esc(title),
        esc(title)
    );
    // Legend, right of the title.
    for (i, se) in series.iter().enumerate() {
        let x = LEFT + 140.0 + i as f64 * 120.0;
        let _ = writeln!(
            s,
            "<line class=\"line {}\" x1=\"{x}\" y1=\"12\" x2=\"{}\" y2=\"12\"/><text x=\"{}\" y=\"16\">{}</text>",
            se.class,
            x + 18.0,
            x + 24.0,
            esc(se.label)
        );
    }
    let valid = |v: &Option<f64>| v.filter(|y| y.is_finite() && *y >= 0.0);
    let x_max = series
        .iter()
        .flat_map(|se| se.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let y_max = series
        .iter()
        .flat_map(|se| se.points.iter().filter_map(|p| valid(&p.1)))
        .fold(0.0, f64::max);
    let any = series
        .iter()
        .any(|se| se.points.iter().any(|p| valid(&p.1).is_some()));
    let (x_top, x_step) = nice_axis(x_max.max(1.0), true);
    let (y_top, y_step) = nice_axis(y_max, false);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + x / x_top * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_top * plot_h;

    // Grid and y ticks.
    for i in 0..=((y_top / y_step).round() as usize) {
        let v = i as f64 * y_step;
        let y = sy(v);
        let _ = writeln!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick(v)
        );
    }
    // x ticks.
    for i in 0..=((x_top / x_step).round() as usize) {
        let v = i as f64 * x_step;
        let x = sx(v);
        let _ = writeln!(
            s,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h,
            TOP + plot_h + 4.0,
            TOP + plot_h + 16.0,
            tick(v)
        );
    }
    // Axes and their labels.
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">seconds since the load started</text>\n\
         <text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        TOP + plot_h,
        TOP + plot_h,
        W - RIGHT,
        TOP + plot_h,
        LEFT + plot_w / 2.0,
        H - 6.0,
        TOP + plot_h / 2.0,
        esc(y_label)
    );
    if !any {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no samples</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    for se in series {
        for run in runs(&se.points, valid) {
            if let [(x, y)] = run.as_slice() {
                let _ = writeln!(
                    s,
                    "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"/>",
                    se.class,
                    sx(*x),
                    sy(*y)
                );
            } else {
                let pts: Vec<String> = run
                    .iter()
                    .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                    .collect();
                let _ = writeln!(
                    s,
                    "<polyline class=\"line {}\" points=\"{}\"/>",
                    se.class,
                    pts.join(" ")
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Splits points into runs of consecutive seconds that all have a value.
fn runs(
    points: &[(f64, Option<f64>)],
    valid: impl Fn(&Option<f64>) -> Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for (x, y) in points {
        match valid(y) {
            Some(y) if x.is_finite() => {
                if cur.last().is_some_and(|(px, _)| x - px > 1.0) {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push((*x, y));
            }
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A round axis end and tick step (1, 2 or 5 × 10ⁿ) giving about four ticks; `whole` keeps
/// the step at least 1 (seconds).
fn nice_axis(max: f64, whole: bool) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, if whole { 1.0 } else { 0.25 });
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let mut step = mag
        * if norm <= 1.0 {
            1.0
        } else if norm <= 2.0 {
            2.0
        } else if norm <= 5.0 {
            5.0
        } else {
            10.0
        };
    if whole {
        step = step.max(1.0).round();
    }
    let top = ((max / step).ceil() * step).max(step);
    (top, step)
}

/// A tick label: at most three decimals, trailing zeros dropped.
fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn num(v: f64, places: usize) -> String {
    if v.is_finite() {
        format!("{v:.places$}")
    } else {
        "–".into()
    }
}

/// Milliseconds with as many decimals as are meaningful at that size.
fn ms(v: f64) -> String {
    num(
        v,
        if v < 10.0 {
            2
        } else if v < 1000.0 {
            1
        } else {
            0
        },
    )
}

/// `7972` → `7,972`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const EVIL: &str = "<script>alert(1)</script>\"'&";

    /// A trimmed copy of a real closed-model report (`load --scenario bulk-create`).
    fn base() -> Value {
        json!({
            "format_version": 1,
            "tool": "scimtest 0.1.0",
            "scenario": "bulk-create",
            "title": "Bulk user creation (an Okta import pushing new users)",
            "target": "http://127.0.0.1:38213/scim/v2",
            "embedded_server": true,
            "model": {
                "kind": "closed", "users": 4, "rate_rps": null, "ramp_s": null,
                "duration_limit_s": 3.0, "iterations_limit": null, "co_mitigation": "disabled",
                "adjusted": [], "synthetic_requests": 0
            },
            "started_at": "2026-11-23T18:09:02.956Z",
            "ended_at": "2026-11-23T18:09:06.021Z",
            "duration_s": 3.065,
            "ended_by": "duration",
            "requests": 7972,
            "failures": 0,
            "throughput_rps": 2612.9,
            "latency_ms": {"p50": 1.03, "p90": 2.29, "p95": 4.02, "p99": 6.75, "max": 24.12, "min": 0.38, "avg": 1.3},
            "latency_measured_ms": {"p50": 1.03, "p90": 2.29, "p95": 4.02, "p99": 6.75, "max": 24.12, "min": 0.38, "avg": 1.3},
            "errors": {
                "rate_percent": 0.0, "by_status": {}, "by_scim_type": {}, "rows": [],
                "rate_limited": {"count": 0, "without_retry_after": 0, "retry_after_s_min": null,
                                 "retry_after_s_max": null, "retry_after_s_mean": null}
            },
            "transactions": [{
                "name": "create", "method": "POST", "requests": 7972, "failures": 0,
                "throughput_rps": 2612.9,
                "latency_ms": {"p50": 1.03, "p90": 2.29, "p95": 4.02, "p99": 6.75, "max": 24.12, "min": 0.38, "avg": 1.3},
                "measured": {"count": 7972, "min_us": 379, "max_us": 24120, "total_us": 10363600,
                             "histogram_us": {"376": 7000, "4016": 972}},
                "statuses": {"201": 7972}
            }],
            "thresholds": [
                {"rule": "p95<300ms", "scope": "run", "observed": "4.02ms", "value": 4.02,
                 "passed": true, "aborted": false, "judged_by": "goose"},
                {"rule": "errors<1%", "scope": "run", "observed": "0%", "value": 0.0,
                 "passed": true, "aborted": false, "judged_by": "goose"}
            ],
            "verdict": "pass",
            "cleanup": {"created": 7972, "deleted": 7972, "left_behind": 0,
                        "left_behind_urls": [], "ledger": "/tmp/lr/load-ledger.jsonl"},
            "timeline": [
                {"t_s": 1, "requests": 2600, "errors": 0, "p50_ms": 1.387, "p95_ms": 5.087},
                {"t_s": 2, "requests": 2700, "errors": 0, "p50_ms": 1.069, "p95_ms": 3.597},
                {"t_s": 3, "requests": 2600, "errors": 0, "p50_ms": 1.272, "p95_ms": 5.087},
                {"t_s": 4, "requests": 72, "errors": 0, "p50_ms": 0.981, "p95_ms": 3.597}
            ]
        })
    }

    fn report(v: Value) -> LoadReport {
        serde_json::from_value(v).expect("a LoadReport")
    }

    /// Every string the page shows from the report, set to hostile markup.
    fn hostile() -> LoadReport {
        let mut v = base();
        for key in [
            "scenario",
            "title",
            "target",
            "started_at",
            "ended_at",
            "tool",
        ] {
            v[key] = json!(EVIL);
        }
        v["ended_by"] = json!(EVIL);
        v["verdict"] = json!("fail");
        v["model"]["kind"] = json!(EVIL);
        v["model"]["co_mitigation"] = json!(EVIL);
        v["model"]["adjusted"] = json!([EVIL]);
        v["shard"] = json!({"index": 1, "count": 2});
        v["transactions"][0]["name"] = json!(EVIL);
        v["transactions"][0]["method"] = json!(EVIL);
        v["transactions"][0]["statuses"] = json!({EVIL: 3});
        v["thresholds"] = json!([{
            "rule": EVIL, "scope": EVIL, "observed": EVIL, "value": null,
            "passed": false, "aborted": true, "judged_by": EVIL
        }]);
        v["errors"]["rows"] = json!([{
            "transaction": EVIL, "status": 0, "scim_type": EVIL, "reason": EVIL, "count": 3
        }]);
        v["errors"]["by_status"] = json!({EVIL: 3});
        v["errors"]["by_scim_type"] = json!({EVIL: 3});
        v["cleanup"]["left_behind"] = json!(1);
        v["cleanup"]["left_behind_urls"] = json!([EVIL]);
        v["cleanup"]["ledger"] = json!(EVIL);
        report(v)
    }

    #[test]
    fn strings_from_the_report_are_escaped() {
        let html = render(&hostile());
        assert!(
            !html.to_ascii_lowercase().contains("<script"),
            "raw <script in the page"
        );
        assert!(!html.contains(EVIL));
        assert!(!html.contains("\"'&"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        // The hostile strings did reach the page (escaped), in every section.
        assert!(html.matches("&lt;script&gt;").count() >= 15, "{html}");
        assert!(html.contains("no response"));
    }

    #[test]
    fn esc_covers_the_five_characters() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("plain ü"), "plain ü");
    }

    #[test]
    fn empty_and_one_point_timelines_render() {
        let mut v = base();
        v["timeline"] = json!([]);
        let html = render(&report(v));
        assert_eq!(html.matches("<svg").count(), 2);
        assert_eq!(html.matches("no samples").count(), 2);
        assert!(!html.contains("NaN") && !html.contains("inf"));

        let mut v = base();
        v["timeline"] =
            json!([{"t_s": 1, "requests": 5, "errors": 1, "p50_ms": 2.0, "p95_ms": null}]);
        let html = render(&report(v));
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(!html.contains("no samples"));
        // requests, errors and p50 are one dot each; p95 has no value at all.
        assert_eq!(html.matches("<circle").count(), 3);
        assert!(!html.contains("<polyline"));
        assert!(!html.contains("NaN") && !html.contains("inf"));
    }

    #[test]
    fn latency_gaps_break_the_line() {
        let mut v = base();
        v["timeline"] = json!([
            {"t_s": 1, "requests": 5, "errors": 0, "p50_ms": 2.0, "p95_ms": 3.0},
            {"t_s": 2, "requests": 0, "errors": 0, "p50_ms": null, "p95_ms": null},
            {"t_s": 3, "requests": 5, "errors": 0, "p50_ms": 2.0, "p95_ms": 3.0},
            {"t_s": 4, "requests": 5, "errors": 0, "p50_ms": 2.5, "p95_ms": 4.0}
        ]);
        let html = render(&report(v));
        // requests and errors: one line each; p50 and p95: a dot and a line each.
        assert_eq!(html.matches("<polyline").count(), 4);
        assert_eq!(html.matches("<circle").count(), 2);
    }

    #[test]
    fn the_verdict_is_in_words() {
        let html = render(&report(base()));
        assert!(html.contains("<strong>PASS</strong> all 2 thresholds held"));
        assert!(html.contains("<title>PASS"));

        let mut v = base();
        v["verdict"] = json!("fail");
        v["thresholds"][0]["passed"] = json!(false);
        v["thresholds"][0]["aborted"] = json!(true);
        v["ended_by"] = json!("threshold");
        let html = render(&report(v));
        assert!(html.contains("<strong>FAIL</strong> 1 of 2 thresholds failed"));
        assert!(html.contains("FAIL (stopped the run)"));
        assert!(html.contains("<title>FAIL"));

        let mut v = base();
        v["thresholds"] = json!([]);
        assert!(render(&report(v)).contains("<strong>PASS</strong> no thresholds were given"));
    }

    #[test]
    fn adjusted_latencies_show_the_measured_ones_too() {
        let mut v = base();
        v["model"]["kind"] = json!("open");
        v["model"]["rate_rps"] = json!(200);
        v["model"]["co_mitigation"] = json!("average");
        v["model"]["adjusted"] = json!(["latency_ms"]);
        v["model"]["synthetic_requests"] = json!(12);
        v["latency_ms"]["p95"] = json!(40.0);
        v["transactions"][0]["adjusted"] = v["transactions"][0]["measured"].clone();
        let html = render(&report(v));
        assert!(html.contains("open: a target of 200 requests/s shared by 4 users"));
        assert!(html.contains("12 synthetic samples"));
        assert!(html.contains("all requests, adjusted for coordinated omission"));
        assert!(html.contains("all requests, measured"));
        assert!(html.contains("measured p95 ms"));
    }

    #[test]
    fn axes_are_round() {
        assert_eq!(nice_axis(0.0, false), (1.0, 0.25));
        assert_eq!(nice_axis(1.0, true), (1.0, 1.0));
        assert_eq!(nice_axis(4.0, true), (4.0, 1.0));
        assert_eq!(nice_axis(2700.0, false), (3000.0, 1000.0));
        assert_eq!(nice_axis(5.087, false), (6.0, 2.0));
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(3000.0), "3000");
        assert_eq!(thousands(7972), "7,972");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
