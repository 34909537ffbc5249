//! `reports/load.html`: one self-contained page (no scripts or styles fetched).

use super::report::LoadReport;

pub fn render(report: &LoadReport) -> String {
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    format!(
        "<!doctype html><meta charset=utf-8><title>scimtest load</title><pre>{}</pre>",
        json.replace('&', "&amp;").replace('<', "&lt;")
    )
}
