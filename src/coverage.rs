//! `scimtest coverage`: which rows of the requirements table the suites check, by area and
//! level, counting only rows whose gate the target meets (a row about `/Me` says nothing about
//! a server without `/Me`).

use crate::exec::discovery;
use crate::exec::http::Target;
use crate::results::{Discovery, Level};
use crate::scim::schema::{AttrType, AttributeDef, Mutability, Returned, SchemaDef, Uniqueness};
use crate::suite::load::LoadedSuite;
use crate::suite::profile::Profile;
use crate::suite::requirements::{Requirement, Requirements};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What the target offers, for deciding which rows apply.
pub struct Offer {
    pub discovery: Discovery,
    pub schemas: Vec<SchemaDef>,
    /// Required extensions listed by /ResourceTypes.
    pub required_extension: bool,
    /// `CFG:` items the user says are configured (`--config auth-required`).
    pub configured: BTreeSet<String>,
}

/// Reads what coverage needs from a target: discovery plus the /Schemas documents.
pub async fn offer(target: &Target, configured: BTreeSet<String>) -> Result<Offer, String> {
    let discovery = discovery::discover(target, "scimtest-coverage")
        .await
        .map_err(|e| e.0)?;
    let mut schemas = Vec::new();
    let mut required_extension = false;
    let get = |path: &'static str| async move {
        let url = target.url(path).ok()?;
        let r = target
            .send(
                "GET",
                url,
                &BTreeMap::new(),
                None,
                crate::suite::model::Auth::Default,
            )
            .await
            .ok()?;
        r.json()
    };
    if let Some(list) = get("/Schemas").await {
        for doc in list
            .get("Resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Ok(s) = SchemaDef::parse(&doc.to_string()) {
                schemas.push(s);
            }
        }
    }
    if let Some(list) = get("/ResourceTypes").await {
        required_extension = list
            .get("Resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|rt| {
                rt.get("schemaExtensions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .any(|e| e.get("required").and_then(Value::as_bool) == Some(true));
    }
    Ok(Offer {
        discovery,
        schemas,
        required_extension,
        configured,
    })
}

fn any_attr(schemas: &[SchemaDef], pred: &dyn Fn(&AttributeDef) -> bool) -> bool {
    fn walk(a: &AttributeDef, pred: &dyn Fn(&AttributeDef) -> bool) -> bool {
        pred(a) || a.sub_attributes.iter().any(|s| walk(s, pred))
    }
    schemas
        .iter()
        .flat_map(|s| &s.attributes)
        .any(|a| walk(a, pred))
}

/// Whether one gate term (`SPC:patch`, `RT:User`, `PROBE:/Me`, …) holds.
fn term_met(term: &str, o: &Offer) -> bool {
    let d = &o.discovery;
    let feature = |f: &str| d.features.get(f).copied().unwrap_or(false);
    let probe = |p: &str| d.probes.get(p).copied().unwrap_or(false);
    let term = term.trim();
    if term == "—" || term == "-" || term.is_empty() || term == "SP defaults observed" {
        return true;
    }
    if let Some(all) = term.split_once(" + ") {
        return term_met(all.0, o) && term_met(all.1, o);
    }
    if term.contains(" / ") {
        return term.split(" / ").any(|t| term_met(t, o));
    }
    match term.split_once(':') {
        Some(("SPC", f)) => feature(f),
        Some(("RT", "other")) => d.resource_types.iter().any(|t| t != "User" && t != "Group"),
        Some(("RT", t)) => d.resource_types.iter().any(|x| x.eq_ignore_ascii_case(t)),
        Some(("EXT", "ent")) => d
            .extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case(crate::scim::schema::ENTERPRISE_URN)),
        Some(("PROBE", ".search")) => probe("search"),
        Some(("PROBE", "root-query")) => probe("root_search"),
        Some(("PROBE", "/Me")) => probe("me"),
        // Bracketed value paths are part of the filter grammar a filtering server parses.
        Some(("PROBE", "valuePath")) => feature("filter"),
        Some(("CFG", item)) => o.configured.contains(item),
        Some(("SCH", cond)) => {
            let s = &o.schemas;
            match cond {
                "immutable attribute" => any_attr(s, &|a| a.mutability == Mutability::Immutable),
                "writeOnly attribute" => any_attr(s, &|a| a.mutability == Mutability::WriteOnly),
                "returned=request" => any_attr(s, &|a| a.returned == Returned::Request),
                "returned=never" => any_attr(s, &|a| a.returned == Returned::Never),
                "integer attribute" => any_attr(s, &|a| a.attr_type == AttrType::Integer),
                "uniqueness≠none" => any_attr(s, &|a| a.uniqueness != Uniqueness::None),
                "x509Certificates" => any_attr(s, &|a| a.name == "x509Certificates"),
                "User.groups" => any_attr(s, &|a| a.name == "groups"),
                _ => false,
            }
        }
        _ if term == "RT with schemaExtensions" => !d.extensions.is_empty(),
        _ if term == "RT with a required extension" => o.required_extension,
        _ => false,
    }
}

/// Whether a row applies to the target (every comma-separated term holds).
pub fn applies(req: &Requirement, o: &Offer) -> bool {
    req.gate.split(", ").all(|t| term_met(t, o))
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Cell {
    pub covered: usize,
    pub applicable: usize,
}

impl Cell {
    pub fn percent(&self) -> f64 {
        if self.applicable == 0 {
            100.0
        } else {
            100.0 * self.covered as f64 / self.applicable as f64
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Uncovered {
    pub id: String,
    pub level: Level,
    pub area: String,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub profile: String,
    pub target: String,
    /// area → level → cell
    pub by_area: BTreeMap<String, BTreeMap<String, Cell>>,
    pub total: BTreeMap<String, Cell>,
    /// Rows left out because the target does not meet their gate, by gate.
    pub not_applicable: BTreeMap<String, usize>,
    pub uncovered: Vec<Uncovered>,
    /// Cited ids that are not in the table (lint reports them too).
    pub unknown_citations: Vec<String>,
    /// Vendor rules (ids not from the RFC catalog, e.g. `ASANA-03`), kept out of the RFC
    /// matrix: covered / total per vendor area.
    pub vendor: BTreeMap<String, Cell>,
}

/// Rows of the RFC catalog (`P-…` from RFC 7644, `C-…` from RFC 7643).
fn is_rfc_row(id: &str) -> bool {
    id.starts_with("P-") || id.starts_with("C-")
}

/// Computes the matrix for the tests the profile includes.
pub fn compute(
    suites: &[LoadedSuite],
    profile: &Profile,
    reqs: &Requirements,
    o: &Offer,
    target: &str,
) -> Coverage {
    let mut cited: BTreeSet<String> = BTreeSet::new();
    for s in suites
        .iter()
        .filter(|s| profile.includes_suite(&s.suite.id.value))
    {
        for t in &s.suite.tests {
            let mut tags = s.suite.tags.clone();
            tags.extend(t.value.tags.iter().cloned());
            let id = format!("{}/{}", s.suite.id.value, t.value.id.value);
            if profile.includes_test(&id, &tags, &t.value.profiles) {
                cited.extend(t.value.requirements.iter().map(|r| r.value.clone()));
            }
        }
    }
    let mut c = Coverage {
        profile: profile.name.clone(),
        target: target.to_string(),
        by_area: BTreeMap::new(),
        total: BTreeMap::new(),
        not_applicable: BTreeMap::new(),
        uncovered: Vec::new(),
        unknown_citations: cited
            .iter()
            .filter(|id| reqs.get(id).is_none())
            .cloned()
            .collect(),
        vendor: BTreeMap::new(),
    };
    for r in reqs.iter() {
        if !is_rfc_row(&r.id) {
            let cell = c.vendor.entry(r.area.clone()).or_default();
            cell.applicable += 1;
            if cited.contains(&r.id) {
                cell.covered += 1;
            }
            continue;
        }
        if !applies(r, o) {
            *c.not_applicable.entry(r.gate.clone()).or_default() += 1;
            continue;
        }
        let level = r.level.as_str().to_string();
        let covered = cited.contains(&r.id);
        for cell in [
            c.by_area
                .entry(r.area.clone())
                .or_default()
                .entry(level.clone())
                .or_default(),
            c.total.entry(level).or_default(),
        ] {
            cell.applicable += 1;
            if covered {
                cell.covered += 1;
            }
        }
        if !covered {
            c.uncovered.push(Uncovered {
                id: r.id.clone(),
                level: r.level,
                area: r.area.clone(),
                summary: r.summary.clone(),
            });
        }
    }
    c
}

/// The terminal table.
pub fn render(c: &Coverage, list_uncovered: bool) -> String {
    let levels = ["MUST", "SHOULD", "MAY"];
    let cell = |m: Option<&Cell>| match m {
        Some(x) if x.applicable > 0 => {
            format!("{:>4}/{:<4}{:>5.0}%", x.covered, x.applicable, x.percent())
        }
        _ => format!("{:>15}", "—"),
    };
    let mut out = format!(
        "Coverage of the requirements table by the `{}` profile (target: {})\n\n{:<8}{:>15}{:>15}{:>15}\n",
        c.profile, c.target, "area", "MUST", "SHOULD", "MAY"
    );
    for (area, row) in &c.by_area {
        out.push_str(&format!("{area:<8}"));
        for l in levels {
            out.push_str(&cell(row.get(l)));
        }
        out.push('\n');
    }
    out.push_str(&format!("{:<8}", "total"));
    for l in levels {
        out.push_str(&cell(c.total.get(l)));
    }
    out.push('\n');
    for (area, v) in &c.vendor {
        out.push_str(&format!(
            "vendor rules {area}: {}/{} covered\n",
            v.covered, v.applicable
        ));
    }
    let gated: usize = c.not_applicable.values().sum();
    if gated > 0 {
        let mut by_gate: Vec<String> = c
            .not_applicable
            .iter()
            .map(|(g, n)| format!("{g} ({n})"))
            .collect();
        by_gate.sort();
        out.push_str(&format!(
            "\n{gated} row(s) do not apply to this target: {}\n",
            by_gate.join(", ")
        ));
    }
    if !c.unknown_citations.is_empty() {
        out.push_str(&format!(
            "\ncited but not in the table: {}\n",
            c.unknown_citations.join(", ")
        ));
    }
    if list_uncovered && !c.uncovered.is_empty() {
        out.push_str("\nNot covered:\n");
        for u in &c.uncovered {
            out.push_str(&format!(
                "  {:<14} {:<6} {:<5} {}\n",
                u.id,
                u.level.as_str(),
                u.area,
                u.summary
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    fn offer() -> Offer {
        let mut d = Discovery::default();
        for (f, on) in [
            ("patch", true),
            ("filter", true),
            ("sort", false),
            ("bulk", true),
            ("etag", true),
        ] {
            d.features.insert(f.into(), on);
        }
        d.resource_types = vec!["User".into(), "Group".into()];
        d.extensions = vec![crate::scim::schema::ENTERPRISE_URN.into()];
        d.probes.insert("search".into(), true);
        d.probes.insert("me".into(), false);
        Offer {
            discovery: d,
            schemas: Registry::builtin().schemas().into_iter().cloned().collect(),
            required_extension: false,
            configured: ["auth-required".to_string()].into_iter().collect(),
        }
    }

    #[test]
    fn gates_follow_what_the_target_offers() {
        let o = offer();
        for (gate, want) in [
            ("—", true),
            ("SPC:patch", true),
            ("SPC:sort", false),
            ("RT:User + RT:Group", true),
            ("RT:other", false),
            ("RT:Group / EXT:ent", true),
            ("PROBE:/Me", false),
            ("PROBE:.search", true),
            ("SPC:patch, SPC:sort", false),
            ("CFG:auth-required", true),
            ("CFG:expired-token", false),
            ("SCH:immutable attribute", true),
            ("SCH:returned=never", true),
            ("SCH:integer attribute", false),
            ("RT with schemaExtensions", true),
            ("RT with a required extension", false),
        ] {
            let r = Requirement {
                id: "X".into(),
                level: Level::Must,
                derived: false,
                area: "A".into(),
                gate: gate.into(),
                summary: String::new(),
            };
            assert_eq!(applies(&r, &o), want, "{gate}");
        }
    }
}
