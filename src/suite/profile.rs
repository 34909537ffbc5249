//! Profiles (`suites/profiles/NAME.yaml`): which suites and tests a run includes and the
//! settings a vendor contract needs (the email domain of generated users).

use super::diagnostics::{did_you_mean, SuiteError};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    /// Suite id patterns; `*` matches any run of characters.
    #[serde(default = "all")]
    pub suites: Vec<String>,
    #[serde(default)]
    pub exclude_tags: Vec<String>,
    /// Test id patterns (`suite/test`, `*` wildcards) left out: checks of an included suite that
    /// fall outside a vendor contract (e.g. an RFC test relying on an attribute Asana does not
    /// accept). They win over a test's own `profiles` list.
    #[serde(default)]
    pub exclude_tests: Vec<String>,
    #[serde(default = "default_domain")]
    pub domain: String,
    /// Cap on requests per second for the whole run (an identity provider's own pace, e.g.
    /// Entra ID's 25 per tenant).
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// The contract the embedded reference server plays when the run has no `--url`.
    #[serde(default)]
    pub contract: Option<crate::server::contract::Contract>,
}

fn all() -> Vec<String> {
    vec!["*".into()]
}

fn default_domain() -> String {
    "example.com".into()
}

impl Profile {
    /// Loads `dir/profiles/NAME.yaml`; an unknown name lists the available ones.
    pub fn load(suites_dir: &Path, name: &str) -> Result<Profile, SuiteError> {
        let dir = suites_dir.join("profiles");
        let path = dir.join(format!("{name}.yaml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(_) => {
                let known: Vec<String> = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| {
                        e.path()
                            .file_stem()
                            .and_then(|s| s.to_str())
                            .map(String::from)
                    })
                    .collect();
                let help = did_you_mean(name, known.iter().map(String::as_str))
                    .or_else(|| Some(format!("available profiles: {}", known.join(", "))));
                return Err(SuiteError::at_line_col(
                    &path,
                    "",
                    0,
                    0,
                    format!("no profile named `{name}`"),
                )
                .with_help(help));
            }
        };
        serde_saphyr::from_str::<Profile>(&text).map_err(|e| {
            let (l, c) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            SuiteError::at_line_col(
                &path,
                &text,
                l,
                c,
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid profile")
                    .to_string(),
            )
        })
    }

    pub fn includes_suite(&self, id: &str) -> bool {
        self.suites.iter().any(|p| glob_match(p, id))
    }

    /// Whether the profile runs test `id` (`suite/test`) with these tags (suite tags included)
    /// and `profiles` list.
    pub fn includes_test(&self, id: &str, tags: &[String], profiles: &[String]) -> bool {
        if self.exclude_tests.iter().any(|p| glob_match(p, id)) {
            return false;
        }
        let tagged_out = tags.iter().any(|t| self.exclude_tags.contains(t));
        let listed = profiles.is_empty() || profiles.iter().any(|p| p == &self.name);
        listed && (!tagged_out || profiles.iter().any(|p| p == &self.name))
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("users-*", "users-create"));
        assert!(!glob_match("users-*", "groups-create"));
        assert!(glob_match("*create*", "users-create-x"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn excluded_tests_are_left_out_whatever_their_profiles() {
        let p: Profile = serde_saphyr::from_str(
            "name: v\nexclude_tags: [x]\nexclude_tests: [\"s/out-*\", \"other/t\"]\n",
        )
        .unwrap();
        let none: Vec<String> = vec![];
        assert!(p.includes_test("s/in", &none, &none));
        assert!(!p.includes_test("s/out-1", &none, &none));
        assert!(!p.includes_test("s/out-1", &none, &["v".into()]));
        assert!(!p.includes_test("other/t", &none, &none));
        assert!(!p.includes_test("s/in", &["x".into()], &none));
        assert!(p.includes_test("s/in", &["x".into()], &["v".into()]));
    }
}
