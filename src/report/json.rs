//! The JSON report (`results.json`): the `RunResult` serialised, pretty, with secret headers
//! redacted once more. `schemas/report.schema.json` pins its shape; a test validates a real
//! report against it, so a model change that forgets the schema fails `cargo test`.

use crate::report::common;
use crate::report::{ReportError, Reporter};
use crate::results::{RunEvent, RunResult};
use std::path::PathBuf;

/// The checked-in schema, for tools that want to validate `results.json` themselves.
pub const SCHEMA: &str = include_str!("../../schemas/report.schema.json");

/// Writes `results.json` on [`RunEvent::Finished`].
pub struct JsonReporter {
    path: PathBuf,
}

impl JsonReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonReporter { path: path.into() }
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let RunEvent::Finished(run) = event {
            common::write_atomic(&self.path, render(run)?.as_bytes())?;
        }
        Ok(())
    }
}

/// The report text, ending with a newline.
pub fn render(run: &RunResult) -> Result<String, ReportError> {
    let mut text =
        serde_json::to_string_pretty(&common::redacted(run)).map_err(|e| ReportError::Render {
            what: "JSON",
            detail: e.to_string(),
        })?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;
    use serde_json::{json, Value};

    fn validator() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        jsonschema::draft202012::meta::validate(&schema).unwrap();
        jsonschema::draft202012::new(&schema).unwrap()
    }

    fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
        v.iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    #[test]
    fn written_report_validates_against_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let mut reporter = JsonReporter::new(&path);
        for run in [fixtures::run(), fixtures::hostile()] {
            reporter.event(&RunEvent::Finished(Box::new(run))).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let instance: Value = serde_json::from_str(&text).unwrap();
            let errs = errors(&validator(), &instance);
            assert!(errs.is_empty(), "{errs:#?}");
            assert!(!text.contains(fixtures::SECRET));
        }
        let instance: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(instance["stats"]["total"], 8);
        assert_eq!(
            instance["tests"][2]["steps"][0]["request"]["headers"]["Authorization"],
            "[redacted]"
        );
    }

    #[test]
    fn the_schema_rejects_drift() {
        let v = validator();
        let good: Value = serde_json::from_str(&render(&fixtures::run()).unwrap()).unwrap();
        type Mutation = (&'static str, fn(&mut Value));
        let mutations: [Mutation; 5] = [
            ("unknown outcome", |r| {
                r["tests"][0]["outcome"] = json!("flaky")
            }),
            ("unknown level", |r| r["tests"][0]["level"] = json!("must")),
            ("missing key", |r| {
                r["tests"][0]
                    .as_object_mut()
                    .map(|o| o.remove("requirements"));
            }),
            ("extra key", |r| r["stats"]["flaky"] = json!(0)),
            ("wrong type", |r| r["cleanup"]["created"] = json!("4")),
        ];
        for (what, mutate) in mutations {
            let mut bad = good.clone();
            mutate(&mut bad);
            assert!(!errors(&v, &bad).is_empty(), "schema accepted: {what}");
        }
    }
}
