//! The requirements table: every testable rule a suite may cite, with its level and a one-line
//! summary in our own words. Kept as data (`suites/requirements.tsv`, compiled in) so `lint`,
//! the reports and coverage work without the catalog beside the project.

use crate::results::Level;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const BUILTIN: &str = include_str!("../../suites/requirements.tsv");

#[derive(Debug, Clone)]
pub struct Requirement {
    pub id: String,
    pub level: Level,
    /// True when the obligation is derived (no upper-case keyword in the RFC sentence).
    pub derived: bool,
    /// Catalog area (GEN, AUTH, CRT, …) or a vendor name for vendor rules.
    pub area: String,
    /// What must be advertised or configured before the rule applies (`—` for always).
    pub gate: String,
    pub summary: String,
}

#[derive(Debug, Default)]
pub struct Requirements {
    by_id: BTreeMap<String, Requirement>,
}

impl Requirements {
    /// Parses the tab-separated table: a header line, then
    /// `id level derived area gate summary` per line; `#` lines are comments.
    pub fn parse(text: &str) -> Result<Requirements, String> {
        let mut by_id = BTreeMap::new();
        for (n, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            let [id, level, derived, area, gate, summary] = cells[..] else {
                return Err(format!(
                    "requirements table line {}: expected 6 tab-separated columns, found {}",
                    n + 1,
                    cells.len()
                ));
            };
            let level = Level::parse(level).ok_or_else(|| {
                format!("requirements table line {}: unknown level {level:?}", n + 1)
            })?;
            let req = Requirement {
                id: id.to_string(),
                level,
                derived: derived == "yes",
                area: area.to_string(),
                gate: gate.to_string(),
                summary: summary.to_string(),
            };
            if by_id.insert(id.to_string(), req).is_some() {
                return Err(format!(
                    "requirements table line {}: duplicate id {id}",
                    n + 1
                ));
            }
        }
        Ok(Requirements { by_id })
    }

    /// The table shipped with scimtest. It is compiled in and covered by tests, so a parse
    /// failure is a build defect.
    pub fn builtin() -> &'static Requirements {
        static TABLE: OnceLock<Requirements> = OnceLock::new();
        TABLE.get_or_init(|| match Requirements::parse(BUILTIN) {
            Ok(t) => t,
            Err(e) => panic!("built-in requirements table is invalid: {e}"),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The closest known id, for "did you mean".
    pub fn suggest(&self, id: &str) -> Option<&str> {
        super::diagnostics::closest(id, self.by_id.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_with_catalog_counts() {
        let t = Requirements::builtin();
        assert!(t.len() >= 294);
        assert_eq!(t.get("P-3.3-01").map(|r| r.level), Some(Level::Must));
        assert!(t.iter().all(|r| !r.summary.is_empty()));
        assert_eq!(t.suggest("P-3.3-1"), Some("P-3.3-01"));
    }
}
