//! Property tests of the suite loader: `parse_suite` never panics, whatever the file holds, and
//! every error it reports points inside the file (or at 0:0 for a whole-file error).
//!
//! Three kinds of input: arbitrary Unicode strings; "token soup" made of YAML punctuation and
//! suite keys; and mutations of a valid suite (keys deleted or renamed, values swapped for other
//! types, random scalars, deep nesting), written out as YAML with block and flow styles, quoted
//! and plain scalars, anchors, aliases and merge keys.

use super::diagnostics::SuiteError;
use super::load::parse_suite;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::{json, Value};
use std::path::Path;

/// Inputs tried by each property test.
pub const CASES: u32 = 3000;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// The lines of `source` as YAML counts them: `\n`, `\r\n` and a lone `\r` each end one.
fn yaml_lines(source: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&source[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&source[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push(&source[start..]);
    lines
}

/// Whether an error's position is inside `source`: a line that exists (or the one after the last
/// line break, where end-of-input errors point) and a column at most one past that line's end.
fn position_ok(e: &SuiteError, source: &str) -> Result<(), String> {
    if (e.line, e.column) == (0, 0) {
        return Ok(());
    }
    let lines = yaml_lines(source);
    let line = usize::try_from(e.line).unwrap_or(usize::MAX);
    let Some(text) = line.checked_sub(1).and_then(|l| lines.get(l)) else {
        return Err(format!(
            "line {} of a {}-line input: {}",
            e.line,
            lines.len(),
            e.message
        ));
    };
    let width = text.chars().count() + 1;
    if e.column < 1 || e.column > width as u64 + 1 {
        return Err(format!(
            "column {} on line {} ({} characters): {}",
            e.column,
            e.line,
            width - 1,
            e.message
        ));
    }
    Ok(())
}

fn load(source: &str) -> Result<(), String> {
    match parse_suite(Path::new("suites/prop.yaml"), source.to_string()) {
        Ok(_) => Ok(()),
        Err(e) => {
            position_ok(&e, source)?;
            // Rendering must not panic either (it slices the snippet at the column).
            let _ = e.to_string();
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Token soup
// ---------------------------------------------------------------------------------------------

const TOKENS: &[&str] = &[
    "id: s\n",
    "title: T\n",
    "tests:\n",
    "  - id: t\n",
    "    title: x\n",
    "    requirements: [P-3.3-01]\n",
    "    steps:\n",
    "      - request: {method: GET, path: /Users}\n",
    "        expect:\n",
    "          status: 200\n",
    "          jsonpath:\n",
    "            - {path: $.id, type: string}\n",
    "        capture: {id: $.id}\n",
    "vars: {a: \"{{ unique() }}\"}\n",
    "fixtures:\n",
    "- ",
    "  ",
    "    ",
    "\t",
    "\n",
    "\r\n",
    ": ",
    ":",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: *a\n",
    "!!str ",
    "!!binary ",
    "!custom ",
    "!<tag:yaml.org,2002:int> ",
    "'",
    "\"",
    "\\",
    "\\u",
    "#",
    "# comment\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "|\n",
    ">-\n",
    "|+2\n",
    "status: [200, 201]\n",
    "status: 2xx\n",
    "status: 9xx\n",
    "status: -1\n",
    "status: 99999999999999999999\n",
    "length: {min: 1, max: 0}\n",
    "every: {type: string}\n",
    "scim: {error: any, matches_sent: true}\n",
    "auth: none\n",
    "raw_body: \"{\"\n",
    "equals: null\n",
    "é",
    "😀",
    "\u{feff}",
    "\u{0}",
    "\u{85}",
    "\u{2028}",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    ".inf",
    "x",
    "requirements",
    "steps",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(select(TOKENS), 0..60).prop_map(|t| t.concat())
}

// ---------------------------------------------------------------------------------------------
// Mutated suites written as YAML
// ---------------------------------------------------------------------------------------------

/// A valid suite exercising most of the format.
fn base_suite() -> Value {
    json!({
        "id": "prop-suite",
        "title": "Property suite",
        "description": "x",
        "area": "GEN",
        "tags": ["a", "b"],
        "requires": {"resource_types": ["User"], "features": ["patch", "etag"], "probes": ["search"], "extensions": ["enterprise"]},
        "vars": {"base": "{{ unique('p') }}", "n": 3},
        "fixtures": [{
            "name": "make",
            "request": {"method": "POST", "path": "/Users", "body": {"userName": "{{ base }}", "emails": [{"value": "a@x", "primary": true}]}},
            "expect": {"status": [200, 201]},
            "capture": {"id": "$.id", "etag": {"header": "ETag"}},
        }],
        "tests": [{
            "id": "t1",
            "title": "one",
            "requirements": ["P-3.3-01", "C-2.3-01"],
            "tags": ["x"],
            "faults": ["numeric-id"],
            "profiles": ["rfc"],
            "vars": {"v": 1},
            "steps": [{
                "request": {
                    "method": "GET",
                    "path": "/Users/{{ id }}",
                    "query": {"attributes": "userName", "count": 2},
                    "headers": {"If-None-Match": "{{ etag }}"},
                    "auth": "default",
                },
                "expect": {
                    "status": "2xx",
                    "headers": {"Content-Type": {"contains": "json", "ignore_case": true}},
                    "schema": "User",
                    "jsonpath": [
                        {"path": "$.id", "type": "string", "exists": true},
                        {"path": "$.emails", "length": {"min": 1}, "count": 1, "every": {"type": "object"}},
                        {"path": "$.userName", "equals": "{{ base }}", "not_equals": null, "matches": "^p"},
                    ],
                    "scim": {"error": "any", "matches_sent": false, "all_match": "userName pr", "sorted_by": {"attribute": "userName", "descending": true}, "resource_type": "User"},
                },
            }, {
                "request": {"method": "PATCH", "path": "/Users/{{ id }}", "raw_body": "{\"Operations\": []}", "auth": "invalid"},
                "expect": {"status": 401},
            }],
        }],
    })
}

/// What to do at one node of the tree.
#[derive(Debug, Clone)]
enum Mutation {
    Delete,
    Replace(Value),
    /// Wrap the node in an array (a scalar where a list is expected and vice versa).
    WrapInArray,
    /// The first element or member instead of the container.
    Unwrap,
    RenameKey(String),
    /// The node buried under this many levels of arrays and maps.
    Bury(usize),
    Duplicate,
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        "\\PC{0,12}".prop_map(Value::String),
        select(
            &[
                "GET",
                "get",
                "2xx",
                "4XX",
                "200",
                "-1",
                "",
                " ",
                "true",
                "null",
                "~",
                "*a",
                "&a",
                "$.",
                "$[",
                "{{",
                "{{ nope }}",
                "{% if %}",
                "[",
                "a: b",
                "- x",
                "User",
                "patch",
                "none",
                "enterprise",
                "P-3.3-01",
                "#x",
                "'",
                "\"",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    select(&["id", "title", "steps", "request", "expect", "status", "x", ""][..]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::Delete),
        3 => arb_value().prop_map(Mutation::Replace),
        1 => Just(Mutation::WrapInArray),
        1 => Just(Mutation::Unwrap),
        2 => select(&["ID", "title ", "stauts", "expect", "jsonpath", "<<", "? x", "", "tests"][..])
            .prop_map(|k| Mutation::RenameKey(k.to_string())),
        1 => (1usize..80).prop_map(Mutation::Bury),
        1 => Just(Mutation::Duplicate),
    ]
}

/// The number of nodes in `v` (itself included).
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies `m` to the `target`-th node (pre-order) of the tree under `v`; `key` is the node's
/// name in its parent map, if it has one.
fn mutate_at(v: &mut Value, target: &mut usize, m: &Mutation) -> bool {
    // The node itself: only changes that need no parent.
    if *target == 0 {
        match m {
            Mutation::Replace(r) => *v = r.clone(),
            Mutation::WrapInArray => *v = Value::Array(vec![v.take()]),
            Mutation::Unwrap => {
                let first = match v {
                    Value::Array(a) => a.first().cloned(),
                    Value::Object(o) => o.values().next().cloned(),
                    _ => None,
                };
                if let Some(f) = first {
                    *v = f;
                }
            }
            Mutation::Bury(n) => {
                for i in 0..*n {
                    *v = if i % 2 == 0 {
                        Value::Array(vec![v.take()])
                    } else {
                        json!({ "x": v.take() })
                    };
                }
            }
            _ => return false,
        }
        return true;
    }
    *target -= 1;
    match v {
        Value::Array(a) => {
            for i in 0..a.len() {
                let size = count_nodes(&a[i]);
                if *target >= size {
                    *target -= size;
                    continue;
                }
                if *target == 0 {
                    match m {
                        Mutation::Delete => {
                            a.remove(i);
                            return true;
                        }
                        Mutation::Duplicate => {
                            let dup = a[i].clone();
                            a.insert(i, dup);
                            return true;
                        }
                        _ => {}
                    }
                }
                return mutate_at(&mut a[i], target, m);
            }
            false
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                let size = count_nodes(&o[&k]);
                if *target >= size {
                    *target -= size;
                    continue;
                }
                if *target == 0 {
                    match m {
                        Mutation::Delete => {
                            o.remove(&k);
                            return true;
                        }
                        Mutation::RenameKey(new) => {
                            if let Some(x) = o.remove(&k) {
                                o.insert(new.clone(), x);
                            }
                            return true;
                        }
                        Mutation::Duplicate => {
                            let dup = o[&k].clone();
                            o.insert(format!("{k}_"), dup);
                            return true;
                        }
                        _ => {}
                    }
                }
                return o.get_mut(&k).is_some_and(|x| mutate_at(x, target, m));
            }
            false
        }
        _ => false,
    }
}

/// Choices for writing a tree out as YAML, consumed in order (cycled).
struct Style {
    choices: Vec<u8>,
    next: usize,
    anchors: usize,
    /// Anchors whose node is complete: aliases point only at these (an alias inside its own
    /// anchor is a recursive structure, refused for a reason of no interest here).
    closed: Vec<usize>,
    /// Whether anchors, aliases and merge keys may be written.
    aliases: bool,
}

impl Style {
    /// A complete anchor to alias (`closed` must not be empty).
    fn alias(&mut self) -> usize {
        let i = self.pick(self.closed.len().min(250) as u8) as usize;
        self.closed[i]
    }

    fn pick(&mut self, n: u8) -> u8 {
        let c = self
            .choices
            .get(self.next % self.choices.len().max(1))
            .copied();
        self.next += 1;
        c.unwrap_or(0) % n.max(1)
    }
}

fn is_plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/' | '$'))
        && !s.starts_with([' ', '-'])
        && !s.ends_with(' ')
}

fn scalar(v: &Value, st: &mut Style) -> String {
    match v {
        Value::String(s) => match st.pick(6) {
            // Plain: may read back as another type ("200", "true", "null"), which is the point.
            0 | 1 if is_plain_safe(s) => s.clone(),
            2 => format!("'{}'", s.replace('\'', "''").replace('\n', " ")),
            _ => serde_json::to_string(s).unwrap_or_default(),
        },
        Value::Null => ["null", "~", ""][st.pick(3) as usize].to_string(),
        other => other.to_string(),
    }
}

fn key(k: &str, st: &mut Style) -> String {
    if is_plain_safe(k) && st.pick(4) != 0 {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

fn is_collection(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty()) || matches!(v, Value::Object(o) if !o.is_empty())
}

/// Writes `v` (a non-empty collection) as block YAML indented by `ind`.
fn block(v: &Value, ind: usize, st: &mut Style, out: &mut String) {
    let pad = " ".repeat(ind);
    let child = |x: &Value, st: &mut Style, out: &mut String, nested: usize| {
        if is_collection(x) && st.pick(5) != 0 {
            // Anchor some collections; alias a later scalar slot to one.
            let anchor = (st.aliases && st.pick(8) == 0).then(|| {
                st.anchors += 1;
                out.push_str(&format!(" &a{}", st.anchors));
                st.anchors
            });
            out.push('\n');
            block(x, nested, st, out);
            st.closed.extend(anchor);
        } else if !st.closed.is_empty() && st.pick(20) == 0 {
            let a = st.alias();
            out.push_str(&format!(" *a{a}\n"));
        } else {
            let flow = if is_collection(x) {
                serde_json::to_string(x).unwrap_or_default()
            } else {
                scalar(x, st)
            };
            out.push(' ');
            out.push_str(&flow);
            out.push('\n');
        }
    };
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                out.push_str(&pad);
                out.push_str(&key(k, st));
                out.push(':');
                child(x, st, out, ind + 2);
                if !st.closed.is_empty() && st.pick(40) == 0 {
                    let a = st.alias();
                    out.push_str(&format!("{pad}<<: *a{a}\n"));
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                out.push_str(&pad);
                out.push('-');
                child(x, st, out, ind + 2);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other, st));
            out.push('\n');
        }
    }
}

fn to_yaml(v: &Value, choices: Vec<u8>, aliases: bool) -> String {
    let mut st = Style {
        choices,
        next: 0,
        anchors: 0,
        closed: vec![],
        aliases,
    };
    let mut out = String::new();
    if is_collection(v) {
        block(v, 0, &mut st, &mut out);
    } else {
        out = scalar(v, &mut st);
    }
    out
}

/// A raw text edit after writing: what no tree mutation produces.
#[derive(Debug, Clone)]
enum TextEdit {
    None,
    Truncate(usize),
    Insert(usize, &'static str),
    TabIndent(usize),
}

fn arb_text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        6 => Just(TextEdit::None),
        1 => any::<usize>().prop_map(TextEdit::Truncate),
        2 => (any::<usize>(), select(&["\t", "\n", "  ", "---\n", "&x ", "*x", "'", "\"", "{", "- ", ": ", "\u{0}", "é"][..]))
            .prop_map(|(at, s)| TextEdit::Insert(at, s)),
        1 => any::<usize>().prop_map(TextEdit::TabIndent),
    ]
}

fn apply_text_edit(mut s: String, e: &TextEdit) -> String {
    let boundary = |s: &str, at: usize| {
        let mut at = at % (s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match e {
        TextEdit::None => {}
        TextEdit::Truncate(at) => {
            let at = boundary(&s, *at);
            s.truncate(at);
        }
        TextEdit::Insert(at, text) => {
            let at = boundary(&s, *at);
            s.insert_str(at, text);
        }
        TextEdit::TabIndent(line) => {
            let mut lines: Vec<String> = s.split('\n').map(String::from).collect();
            let n = lines.len();
            let l = &mut lines[line % n];
            let trimmed = l.trim_start_matches(' ').to_string();
            if trimmed.len() != l.len() {
                *l = format!("\t{trimmed}");
            }
            s = lines.join("\n");
        }
    }
    s
}

fn mutated_suite() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((any::<usize>(), arb_mutation()), 0..4),
        prop::collection::vec(any::<u8>(), 1..64),
        arb_text_edit(),
    )
        .prop_map(|(mutations, choices, edit)| {
            let mut v = base_suite();
            for (at, m) in &mutations {
                let mut target = at % count_nodes(&v);
                mutate_at(&mut v, &mut target, m);
            }
            apply_text_edit(to_yaml(&v, choices, true), &edit)
        })
}

#[test]
fn the_base_suite_and_its_yaml_renderings_load() {
    let v = base_suite();
    // The writer's styles (block, flow, quoted, plain) yield YAML the loader accepts.
    for c in [0u8, 1, 2, 3, 4, 5] {
        let yaml = to_yaml(&v, vec![c, 1, 4, 2], false);
        if let Err(e) = parse_suite(Path::new("base.yaml"), yaml.clone()) {
            panic!("{e}\n---\n{yaml}");
        }
    }
}

#[test]
fn alias_bombs_are_refused_quickly() {
    // Nine levels of nine aliases each: 387 million nodes if expanded.
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        s.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 9].join(", ")
        ));
    }
    s.push_str("id: bomb\ntitle: b\ntests: []\n");
    let start = std::time::Instant::now();
    let r = parse_suite(Path::new("bomb.yaml"), s.clone());
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    let e = r.expect_err("an alias bomb is not a suite");
    position_ok(&e, &s).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,200}|(?s).{0,200}") {
        if let Err(e) = load(&s) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn token_soup_never_panics(s in token_soup()) {
        if let Err(e) = load(&s) {
            return Err(TestCaseError::fail(format!("{e}\n---\n{s}")));
        }
    }

    #[test]
    fn mutated_suites_never_panic(s in mutated_suite()) {
        if let Err(e) = load(&s) {
            return Err(TestCaseError::fail(format!("{e}\n---\n{s}")));
        }
    }
}

#[test]
fn mutations_reach_every_node() {
    // The generator's own sanity: deleting node k for every k changes the tree each time.
    let v = base_suite();
    let total = count_nodes(&v);
    let mut changed = 0;
    for k in 1..total {
        let mut w = v.clone();
        let mut target = k;
        if mutate_at(&mut w, &mut target, &Mutation::Delete) && w != v {
            changed += 1;
        }
    }
    assert_eq!(changed, total - 1);
}
