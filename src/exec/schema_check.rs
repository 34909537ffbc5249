//! JSON Schema checks of SCIM payloads: the `schema: User` expectation of the runner.
//!
//! The shipped schemas (`schemas/*.schema.json`, draft 2020-12) are compiled into the binary, so
//! the runner works from any directory; users may add their own with [`SchemaSet::load_dir`].
//! Every document is registered under its `$id`, so relative `$ref`s between files resolve
//! locally. Nothing is ever fetched: the crate is built without its HTTP/file resolvers and the
//! validators run offline, and a `$ref` to a document that is not loaded is a [`SchemaError`]
//! naming the file. `format` is asserted (not only annotated), so `meta.created` must be a real
//! date-time.

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Retrieve, Uri, ValidationError, Validator};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the shipped schemas live; their `$id`s sit under it and user schemas may `$ref` them by
/// absolute URI (e.g. `https://scimtest.dev/schemas/User.schema.json`).
pub const BASE_URI: &str = "https://scimtest.dev/schemas/";

/// Most violations reported for one instance: beyond that, more lines only bury the first cause.
pub const MAX_VIOLATIONS: usize = 20;

const SUFFIX: &str = ".schema.json";

/// The shipped schemas as (name, contents). `Resource` holds the building blocks the others
/// reference, and is itself usable for any (also projected) resource.
const BUILTIN: &[(&str, &str)] = &[
    (
        "BulkRequest",
        include_str!("../../schemas/BulkRequest.schema.json"),
    ),
    (
        "BulkResponse",
        include_str!("../../schemas/BulkResponse.schema.json"),
    ),
    (
        "EnterpriseUser",
        include_str!("../../schemas/EnterpriseUser.schema.json"),
    ),
    ("Error", include_str!("../../schemas/Error.schema.json")),
    ("Group", include_str!("../../schemas/Group.schema.json")),
    (
        "ListResponse",
        include_str!("../../schemas/ListResponse.schema.json"),
    ),
    ("PatchOp", include_str!("../../schemas/PatchOp.schema.json")),
    (
        "Resource",
        include_str!("../../schemas/Resource.schema.json"),
    ),
    (
        "ResourceType",
        include_str!("../../schemas/ResourceType.schema.json"),
    ),
    ("Schema", include_str!("../../schemas/Schema.schema.json")),
    (
        "ServiceProviderConfig",
        include_str!("../../schemas/ServiceProviderConfig.schema.json"),
    ),
    ("User", include_str!("../../schemas/User.schema.json")),
    (
        "asana/Group",
        include_str!("../../schemas/asana/Group.schema.json"),
    ),
    (
        "asana/User",
        include_str!("../../schemas/asana/User.schema.json"),
    ),
];

/// Why a schema could not be loaded or compiled; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file} is not valid JSON: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: invalid $id: {message}")]
    Id { file: String, message: String },
    #[error("{file}: the schema name {name:?} is already taken by {other}")]
    DuplicateName {
        name: String,
        file: String,
        other: String,
    },
    #[error("{file}: $id {id} is already used by {other}")]
    DuplicateId {
        id: String,
        file: String,
        other: String,
    },
    #[error(
        "{file}: $ref {reference:?} resolves to {target}, which is not a loaded schema \
         (references are resolved offline, against the loaded schemas' $id)"
    )]
    UnresolvedRef {
        file: String,
        reference: String,
        target: String,
    },
    #[error("{file}: {message}")]
    Compile { file: String, message: String },
}

/// One registered document.
struct Source {
    /// What `validate` is called with: the path below the schema directory, without the suffix.
    name: String,
    /// For messages: `schemas/User.schema.json` (shipped) or the path it was read from.
    file: String,
    /// The absolute `$id` the document is registered under.
    id: String,
    document: Value,
}

/// A compiled set of JSON Schemas addressed by name ("User", "asana/User", …).
pub struct SchemaSet {
    sources: Vec<Source>,
    validators: BTreeMap<String, Validator>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("names", &self.names())
            .finish()
    }
}

/// Refuses every retrieval: a reference must name a loaded schema.
struct Offline;

impl Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("{uri} is not a loaded schema and nothing is fetched").into())
    }
}

impl SchemaSet {
    /// The schemas shipped in `schemas/` (compiled into the binary with include_str!, so the
    /// binary works from any directory).
    pub fn builtin() -> Result<SchemaSet, SchemaError> {
        let mut sources = Vec::with_capacity(BUILTIN.len());
        for (name, text) in BUILTIN {
            let file = format!("schemas/{name}{SUFFIX}");
            let document: Value =
                serde_json::from_str(text).map_err(|source| SchemaError::Json {
                    file: file.clone(),
                    source,
                })?;
            let fallback = format!("{BASE_URI}{name}{SUFFIX}");
            let id = absolute_id(&document, &fallback, &file)?;
            sources.push(Source {
                name: (*name).to_string(),
                file,
                id,
                document,
            });
        }
        let mut set = SchemaSet {
            sources: Vec::new(),
            validators: BTreeMap::new(),
        };
        set.add(sources)?;
        Ok(set)
    }

    /// Adds every `*.schema.json` under `dir` (recursively; name = relative path without
    /// `.schema.json`), so users can add their own. A file without `$id` is identified by its
    /// `file://` URI; its relative `$ref`s resolve against that. On error nothing is added.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), SchemaError> {
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files)?;
        files.sort();
        let mut sources = Vec::with_capacity(files.len());
        for (name, path) in files {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Read {
                path: path.clone(),
                source,
            })?;
            let mut document: Value =
                serde_json::from_str(&text).map_err(|source| SchemaError::Json {
                    file: file.clone(),
                    source,
                })?;
            let canonical = std::fs::canonicalize(&path).map_err(|source| SchemaError::Read {
                path: path.clone(),
                source,
            })?;
            let id = absolute_id(&document, &file_uri(&canonical), &file)?;
            if let Value::Object(map) = &mut document {
                // Registered and compiled under the same absolute URI, whatever the file said.
                map.insert("$id".into(), Value::String(id.clone()));
            }
            sources.push(Source {
                name,
                file,
                id,
                document,
            });
        }
        self.add(sources)
    }

    /// Every schema name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.validators.keys().cloned().collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    /// Ok(()) or every violation as "<instance JSON pointer>: <message>" (at most
    /// [`MAX_VIOLATIONS`] lines, sorted by pointer; the last line counts what was left out).
    /// The whole instance is shown as `(root)`. Values under a `password` key and long values
    /// are masked, so reports never echo a secret or a whole resource. An unknown `name` is one
    /// violation saying so (suites are expected to check names with [`SchemaSet::contains`]).
    pub fn validate(&self, name: &str, instance: &Value) -> Result<(), Vec<String>> {
        let Some(validator) = self.validators.get(name) else {
            return Err(vec![format!(
                "(root): unknown schema {name:?} (known: {})",
                self.names().join(", ")
            )]);
        };
        if validator.is_valid(instance) {
            return Ok(());
        }
        let mut lines: Vec<(String, String)> = validator
            .iter_errors(instance)
            .map(|e| (pointer(&e), self.message(&e)))
            .collect();
        lines.sort();
        lines.dedup();
        let total = lines.len();
        let mut out: Vec<String> = lines
            .into_iter()
            .take(if total > MAX_VIOLATIONS {
                MAX_VIOLATIONS - 1
            } else {
                total
            })
            .map(|(p, m)| format!("{p}: {m}"))
            .collect();
        if total > out.len() {
            out.push(format!(
                "(root): {} more violations not shown",
                total - out.len()
            ));
        }
        Err(out)
    }

    /// Registers `new` beside the loaded documents and compiles them; all or nothing.
    fn add(&mut self, new: Vec<Source>) -> Result<(), SchemaError> {
        let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
        let mut names: BTreeMap<&str, &str> = BTreeMap::new();
        for s in self.sources.iter().chain(&new) {
            if let Some(other) = names.insert(&s.name, &s.file) {
                return Err(SchemaError::DuplicateName {
                    name: s.name.clone(),
                    file: s.file.clone(),
                    other: other.to_string(),
                });
            }
            if let Some(other) = ids.insert(&s.id, &s.file) {
                return Err(SchemaError::DuplicateId {
                    id: s.id.clone(),
                    file: s.file.clone(),
                    other: other.to_string(),
                });
            }
        }
        // Embedded resources (`$id` below the root) are reference targets too.
        let mut known: BTreeSet<String> = BTreeSet::new();
        for s in self.sources.iter().chain(&new) {
            let base = parse_uri(&s.id, &s.file)?;
            collect_ids(&s.document, &base, &mut known);
        }
        for s in &new {
            let base = parse_uri(&s.id, &s.file)?;
            check_refs(&s.document, &base, &known, &s.file)?;
        }

        let all: Vec<&Source> = self.sources.iter().chain(&new).collect();
        let registry = Registry::new()
            .retriever(Offline)
            .draft(Draft::Draft202012)
            .extend(all.iter().map(|s| (s.id.as_str(), &s.document)))
            .and_then(|b| b.prepare())
            .map_err(|e| SchemaError::Compile {
                file: new
                    .first()
                    .map_or_else(|| "schemas".to_string(), |s| s.file.clone()),
                message: format!("cannot index the schemas: {e}"),
            })?;
        let options = jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_registry(&registry);
        let mut compiled = Vec::with_capacity(new.len());
        for s in &new {
            let validator = options
                .build(&s.document)
                .map_err(|e| SchemaError::Compile {
                    file: s.file.clone(),
                    message: e.to_string(),
                })?;
            compiled.push((s.name.clone(), validator));
        }
        // The validators own what they need; the registry borrows `new`, which moves next.
        drop(options);
        drop(registry);
        self.validators.extend(compiled);
        self.sources.extend(new);
        Ok(())
    }
}

/// The document's `$id` resolved against `fallback` (the URI it was found at), or `fallback`.
fn absolute_id(document: &Value, fallback: &str, file: &str) -> Result<String, SchemaError> {
    let base = parse_uri(fallback, file)?;
    match document.get("$id") {
        None => Ok(strip_fragment(base.as_str()).to_string()),
        Some(Value::String(id)) => jsonschema::uri::resolve_against(&base.borrow(), id)
            .map(|u| strip_fragment(u.as_str()).to_string())
            .map_err(|e| SchemaError::Id {
                file: file.to_string(),
                message: e.to_string(),
            }),
        Some(other) => Err(SchemaError::Id {
            file: file.to_string(),
            message: format!("expected a string, found {other}"),
        }),
    }
}

fn parse_uri(uri: &str, file: &str) -> Result<Uri<String>, SchemaError> {
    jsonschema::uri::from_str(uri).map_err(|e| SchemaError::Id {
        file: file.to_string(),
        message: e.to_string(),
    })
}

fn strip_fragment(uri: &str) -> &str {
    uri.split_once('#').map_or(uri, |(doc, _)| doc)
}

/// Keywords whose values are data, not subschemas: a `$ref` key inside them is not a reference.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "examples", "default"];

/// Called by [`walk`] with each schema object and the base URI in force there.
type Visit<'a, 'f> =
    dyn FnMut(&'a serde_json::Map<String, Value>, &Uri<String>) -> Result<(), SchemaError> + 'f;

/// Visits every subschema object with the base URI in force there.
fn walk<'a>(
    value: &'a Value,
    base: &Uri<String>,
    visit: &mut Visit<'a, '_>,
) -> Result<(), SchemaError> {
    match value {
        Value::Object(map) => {
            let here = match map.get("$id").and_then(Value::as_str) {
                Some(id) => jsonschema::uri::resolve_against(&base.borrow(), id)
                    .unwrap_or_else(|_| base.clone()),
                None => base.clone(),
            };
            visit(map, &here)?;
            for (key, child) in map {
                if !DATA_KEYWORDS.contains(&key.as_str()) {
                    walk(child, &here, visit)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| walk(v, base, visit)),
        _ => Ok(()),
    }
}

fn collect_ids(document: &Value, base: &Uri<String>, known: &mut BTreeSet<String>) {
    let _ = walk(document, base, &mut |_, here| {
        known.insert(strip_fragment(here.as_str()).to_string());
        Ok(())
    });
}

/// Every `$ref`/`$dynamicRef` must land in a loaded document (or a draft meta-schema, which the
/// crate ships); otherwise say which file and which reference, instead of a resolver error.
fn check_refs(
    document: &Value,
    base: &Uri<String>,
    known: &BTreeSet<String>,
    file: &str,
) -> Result<(), SchemaError> {
    walk(document, base, &mut |map, here| {
        for key in ["$ref", "$dynamicRef"] {
            let Some(reference) = map.get(key).and_then(Value::as_str) else {
                continue;
            };
            let target =
                jsonschema::uri::resolve_against(&here.borrow(), reference).map_err(|e| {
                    SchemaError::Compile {
                        file: file.to_string(),
                        message: format!("{key} {reference:?}: {e}"),
                    }
                })?;
            let doc = strip_fragment(target.as_str());
            let meta = doc.starts_with("https://json-schema.org/")
                || doc.starts_with("http://json-schema.org/");
            if !meta && !known.contains(doc) {
                return Err(SchemaError::UnresolvedRef {
                    file: file.to_string(),
                    reference: reference.to_string(),
                    target: doc.to_string(),
                });
            }
        }
        Ok(())
    })
}

/// `*.schema.json` files below `dir` as (name relative to `root`, path). Symlinked directories
/// are not followed, so a link cycle cannot loop.
fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), SchemaError> {
    let read_err = |source| SchemaError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(read_err)?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
            continue;
        }
        let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !is_file || !file_name.ends_with(SUFFIX) || file_name.len() == SUFFIX.len() {
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let relative: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let joined = relative.join("/");
        let name = joined.strip_suffix(SUFFIX).unwrap_or(&joined).to_string();
        out.push((name, path));
    }
    Ok(())
}

/// `file://` URI of an absolute path, percent-encoding what a URI path cannot hold.
fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:@!$&'()*+,;=".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

fn pointer(e: &ValidationError<'_>) -> String {
    let p = e.instance_path().as_str();
    if p.is_empty() {
        "(root)".to_string()
    } else {
        p.to_string()
    }
}

/// Longest instance value quoted verbatim in a message.
const MAX_QUOTED: usize = 80;

impl SchemaSet {
    /// The failing keyword's value and the schema object holding it, found through the
    /// keyword's absolute location (`<$id>#<pointer>`) in the registered documents.
    fn keyword_site(&self, e: &ValidationError<'_>) -> Option<(&Value, &Value)> {
        let location = e.absolute_keyword_location()?;
        let (doc, fragment) = location.as_str().split_once('#')?;
        let document = &self.sources.iter().find(|s| s.id == doc)?.document;
        let fragment = percent_decode(fragment);
        let (parent, _) = fragment.rsplit_once('/')?;
        Some((document.pointer(&fragment)?, document.pointer(parent)?))
    }

    /// The crate's message, made readable where it is not: a forbidden attribute says so, a
    /// failed `contains` of a constant names the constant, and a failed combinator (`anyOf`,
    /// `not`, `maxContains`) states the schema's `title` instead of its internals. Instance
    /// values are quoted only when short and free of passwords.
    fn message(&self, e: &ValidationError<'_>) -> String {
        let kind = e.kind();
        if matches!(kind, ValidationErrorKind::FalseSchema) {
            return "must not be present".to_string();
        }
        let instance: &Value = e.instance();
        let shown = quote(e.instance_path().as_str(), instance);
        let site = self.keyword_site(e);
        if let (ValidationErrorKind::Contains, Some((Value::Object(sub), _))) = (kind, site) {
            if let (Some(constant), 1) = (sub.get("const"), sub.len()) {
                return format!("{shown} does not contain {constant}");
            }
        }
        let combinator = matches!(
            kind,
            ValidationErrorKind::AnyOf { .. }
                | ValidationErrorKind::OneOfNotValid { .. }
                | ValidationErrorKind::Not { .. }
                | ValidationErrorKind::Contains
        );
        if combinator {
            if let Some(title) = site.and_then(|(_, parent)| parent.get("title")?.as_str()) {
                return format!("{shown} is not {title}");
            }
        }
        match shown {
            Quoted::Verbatim(_) => e.to_string(),
            Quoted::Masked(placeholder) => e.masked_with(placeholder).to_string(),
        }
    }
}

/// How an instance value may appear in a report.
enum Quoted {
    Verbatim(String),
    Masked(String),
}

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Quoted::Verbatim(s) | Quoted::Masked(s) => f.write_str(s),
        }
    }
}

fn quote(path: &str, instance: &Value) -> Quoted {
    let secret =
        path.split('/').any(|s| s.eq_ignore_ascii_case("password")) || mentions_password(instance);
    if secret {
        return Quoted::Masked("value (masked)".to_string());
    }
    let text = instance.to_string();
    if text.chars().count() <= MAX_QUOTED {
        return Quoted::Verbatim(text);
    }
    Quoted::Masked(match instance {
        Value::Object(o) => format!("object with {} members", o.len()),
        Value::Array(a) => format!("array of {} items", a.len()),
        scalar => {
            let cut: String = scalar.to_string().chars().take(MAX_QUOTED).collect();
            format!("{cut}…")
        }
    })
}

fn mentions_password(value: &Value) -> bool {
    match value {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("password") || mentions_password(v)),
        Value::Array(a) => a.iter().any(mentions_password),
        _ => false,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
