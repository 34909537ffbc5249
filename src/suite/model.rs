//! The suite file format: what a YAML suite under `suites/` may say.
//!
//! Every struct denies unknown keys, so a typo is an error that names file:line:col rather than
//! a silently ignored expectation. Nodes an error may need to point at are `Spanned`.
//! `docs/suite-format.md` documents the format for suite authors.

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// One suite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Unique across all suites, e.g. `users-create`.
    pub id: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Area of the requirements catalog the suite covers (GEN, AUTH, CRT, …), for summaries.
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Gates for every test of the suite.
    #[serde(default)]
    pub requires: Requires,
    /// Variables (templates) evaluated in order before each test, visible to all its steps.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Steps run before each test (each test gets its own fixtures, so tests stay independent).
    #[serde(default)]
    pub fixtures: Vec<Spanned<Step>>,
    pub tests: Vec<Spanned<Test>>,
}

/// Conditions that must hold on the target, else the test is skipped with a reason.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// Resource type names from /ResourceTypes, e.g. `User`, `Group`.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// ServiceProviderConfig features whose `supported` must be true.
    #[serde(default)]
    pub features: Vec<Feature>,
    /// Optional features without an SPC flag, detected by a probe request.
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// Schema extensions some resource type must list (`enterprise`).
    #[serde(default)]
    pub extensions: Vec<Extension>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Feature {
    Patch,
    Bulk,
    Filter,
    Sort,
    Etag,
    ChangePassword,
}

impl Feature {
    pub const ALL: [Feature; 6] = [
        Feature::Patch,
        Feature::Bulk,
        Feature::Filter,
        Feature::Sort,
        Feature::Etag,
        Feature::ChangePassword,
    ];

    /// The member name in /ServiceProviderConfig.
    pub fn spc_key(self) -> &'static str {
        match self {
            Feature::Patch => "patch",
            Feature::Bulk => "bulk",
            Feature::Filter => "filter",
            Feature::Sort => "sort",
            Feature::Etag => "etag",
            Feature::ChangePassword => "changePassword",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// POST /{type}/.search answers a query.
    Search,
    /// POST /.search at the root answers a query.
    RootSearch,
    /// GET /Me is offered.
    Me,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extension {
    Enterprise,
}

/// One test: a sequence of steps, citing the requirements it checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test {
    /// Unique within the suite.
    pub id: Spanned<String>,
    pub title: String,
    /// Requirement IDs of the catalog (`P-3.3-01`, `C-4.1.1-02`, or vendor rules like `ASANA-03`).
    /// The strongest level among them is the test's severity.
    pub requirements: Vec<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub requires: Requires,
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Fault switches of the reference server under which this test must fail: the proof that
    /// the check can fail (`tests/suite_faults.rs` runs every test under each fault it names).
    #[serde(default)]
    pub faults: Vec<Spanned<String>>,
    /// Profiles the test belongs to; empty means every profile that includes its suite.
    #[serde(default)]
    pub profiles: Vec<String>,
    pub steps: Vec<Spanned<Step>>,
}

/// A request, what to expect of its response, and what to capture from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    /// Send this many copies of the request at once (races). `{{ copy }}` is the copy's index
    /// (0-based) in its templates; `expect` applies to every response and `expect.tally` to all
    /// of them together. A parallel step cannot capture.
    #[serde(default)]
    pub parallel: Option<Spanned<usize>>,
    pub request: Request,
    #[serde(default)]
    pub expect: Expect,
    /// Variable name → where to read it from the response.
    #[serde(default)]
    pub capture: BTreeMap<String, Spanned<Capture>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: Spanned<String>,
    /// Relative to the base URL (`/Users/{{ id }}`), or an absolute URL on the same origin
    /// (`{{ location }}`).
    pub path: Spanned<String>,
    #[serde(default)]
    pub query: Map<String, Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body written as YAML; every string in it is a template.
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent byte for byte (after templating), for malformed-input tests.
    #[serde(default)]
    pub raw_body: Option<String>,
    /// Which credentials to send: the run's (default), none, or a deliberately wrong token.
    #[serde(default)]
    pub auth: Auth,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    #[default]
    Default,
    None,
    Invalid,
}

/// What the response must look like. Every expectation given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<Spanned<StatusSpec>>,
    /// Parallel steps: how many responses had each status (`"201": 1`, `"409": 9`, `"2xx": 10`);
    /// every response must be counted under exactly one key.
    #[serde(default)]
    pub tally: Option<Spanned<BTreeMap<String, usize>>>,
    /// Header name (case-insensitive) → predicate on its value.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<Predicate>>,
    /// A JSON Schema by name (`User`, `ListResponse`, `asana/User`, …) the body must satisfy.
    #[serde(default)]
    pub schema: Option<Spanned<String>>,
    /// JSONPath (RFC 9535) assertions, checked in file order.
    #[serde(default)]
    pub jsonpath: Vec<Spanned<PathAssertion>>,
    /// Assertions that need SCIM knowledge (the SCIM core is the oracle).
    #[serde(default)]
    pub scim: Option<Spanned<ScimExpect>>,
}

/// One status code or a set of acceptable ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(u16),
    /// A class: `2xx`, `4xx`, `5xx`.
    Class(String),
    Any(Vec<u16>),
}

impl StatusSpec {
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::Class(c) => class_digit(c).is_some_and(|d| status / 100 == d),
            StatusSpec::Any(v) => v.contains(&status),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            StatusSpec::One(s) => s.to_string(),
            StatusSpec::Class(c) => c.clone(),
            StatusSpec::Any(v) => v
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }

    /// A class string that is not `1xx`..`5xx` (reported by lint).
    pub fn invalid_class(&self) -> Option<&str> {
        match self {
            StatusSpec::Class(c) if class_digit(c).is_none() => Some(c),
            _ => None,
        }
    }
}

/// Whether a tally key (`"201"` or `"4xx"`) counts this status.
pub fn tally_key_accepts(key: &str, status: u16) -> Option<bool> {
    match key.parse::<u16>() {
        Ok(code) => Some(code == status),
        Err(_) => class_digit(key).map(|d| status / 100 == d),
    }
}

/// `4xx` → 4.
fn class_digit(c: &str) -> Option<u16> {
    let b = c.as_bytes();
    match b {
        [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Some(u16::from(d - b'0')),
        _ => None,
    }
}

/// `Some(Value::Null)` for an explicit YAML `null`, so `equals: null` checks for null instead of
/// silently checking nothing.
fn explicit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `- path: $.id` plus predicate keys.
///
/// The predicate keys repeat `Predicate`'s on purpose: `#[serde(flatten)]` cannot be combined
/// with `deny_unknown_fields`, and a typo must stay an error with a position. `predicate()`
/// turns the shared part back into a `Predicate` so the checks are written once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathAssertion {
    pub path: String,
    #[serde(default, deserialize_with = "explicit")]
    pub equals: Option<Value>,
    #[serde(default, deserialize_with = "explicit")]
    pub not_equals: Option<Value>,
    /// Array: has an item equal to this; string: has this substring; object: has these members.
    #[serde(default, deserialize_with = "explicit")]
    pub contains: Option<Value>,
    /// Regular expression the (string) value matches.
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default, rename = "type")]
    pub json_type: Option<JsonType>,
    /// true: the path selects at least one node; false: it selects none.
    #[serde(default)]
    pub exists: Option<bool>,
    /// Length of the selected value (array items, string characters, object members); when
    /// several nodes are selected, the number of nodes.
    #[serde(default)]
    pub length: Option<LengthSpec>,
    /// How many nodes the path selects (unlike `length`, never the size of one selected value).
    #[serde(default)]
    pub count: Option<LengthSpec>,
    /// The predicate holds for every selected node (or every item of a single selected array).
    #[serde(default)]
    pub every: Option<Box<Predicate>>,
    /// Compare strings ignoring case (for caseExact=false attributes).
    #[serde(default)]
    pub ignore_case: bool,
}

/// A predicate on one value (headers, `every` items). All keys given must hold.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    #[serde(default, deserialize_with = "explicit")]
    pub equals: Option<Value>,
    #[serde(default, deserialize_with = "explicit")]
    pub not_equals: Option<Value>,
    #[serde(default, deserialize_with = "explicit")]
    pub contains: Option<Value>,
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default, rename = "type")]
    pub json_type: Option<JsonType>,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub length: Option<LengthSpec>,
    #[serde(default)]
    pub ignore_case: bool,
    /// Header predicates: a missing header passes, and the other keys apply only when it is
    /// there (`Retry-After`, which only a 429 or 503 carries). No effect in `every` items.
    #[serde(default)]
    pub optional: bool,
}

impl PathAssertion {
    /// The predicate part, for code shared with header and `every` checks.
    pub fn predicate(&self) -> Predicate {
        Predicate {
            equals: self.equals.clone(),
            not_equals: self.not_equals.clone(),
            contains: self.contains.clone(),
            matches: self.matches.clone(),
            json_type: self.json_type,
            exists: self.exists,
            length: self.length.clone(),
            ignore_case: self.ignore_case,
            optional: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

/// An exact length or bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LengthSpec {
    Exactly(usize),
    Bounds(LengthBounds),
}

/// `{min, max}`, both optional and inclusive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthBounds {
    #[serde(default)]
    pub min: Option<usize>,
    #[serde(default)]
    pub max: Option<usize>,
}

/// SCIM-aware expectations.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimExpect {
    /// The body is a SCIM Error (RFC 7644 §3.12) whose `status` equals the HTTP status, and, when
    /// given, whose scimType is this keyword (`any` accepts any or none).
    #[serde(default)]
    pub error: Option<String>,
    /// The returned resource carries what this step's request body sent, modulo server-assigned
    /// attributes, writeOnly/returned=never ones and caseExact=false case differences.
    #[serde(default)]
    pub matches_sent: bool,
    /// Every resource in `Resources` satisfies this SCIM filter (evaluated by the SCIM core).
    #[serde(default)]
    pub all_match: Option<String>,
    /// `Resources` is ordered by this attribute.
    #[serde(default)]
    pub sorted_by: Option<SortSpec>,
    /// Resource type for attribute rules (`User`/`Group`); inferred from the path when omitted.
    #[serde(default)]
    pub resource_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortSpec {
    pub attribute: String,
    #[serde(default)]
    pub descending: bool,
}

/// Where a captured variable comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Capture {
    /// A JSONPath into the response body; the single selected node's value.
    JsonPath(String),
    Header(HeaderCapture),
    All(AllCapture),
}

/// `{all: JSONPATH}`: every selected node, as an array (e.g. all locations of a Bulk response).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllCapture {
    pub all: String,
}

/// `{header: NAME}`: the value of a response header.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderCapture {
    pub header: String,
}
