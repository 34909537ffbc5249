//! Templates in suite files: `{{ … }}` expressions over variables, captures and generators,
//! rendered with minijinja.
//!
//! A string that is exactly one `{{ expr }}` keeps the JSON type of its value (a captured number
//! stays a number, `{{ false }}` a boolean); any other string is interpolated into a string.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Names every template can use without defining them.
pub const BUILTIN_VARS: [&str; 4] = ["prefix", "domain", "run_id", "base_url"];

/// Run-wide inputs of the generators.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Every name the run creates starts with this (`scimtest-<run id>`), so its resources are
    /// recognisable and filters can be scoped to them.
    pub prefix: String,
    /// Email domain for generated userNames.
    pub domain: String,
    pub run_id: String,
    pub base_url: String,
}

/// The template engine of one run.
pub struct Templates {
    env: Environment<'static>,
    run: RunContext,
    /// How many values [`Templates::compile`] registered (their template names).
    compiled: usize,
}

impl Compiled {
    /// Whether rendering it needs no context (no template anywhere inside).
    pub fn is_literal(&self) -> bool {
        match self {
            Compiled::Literal(_) => true,
            Compiled::Expr(_) | Compiled::Interp(_) => false,
            Compiled::Array(a) => a.iter().all(Compiled::is_literal),
            Compiled::Object(o) => o.iter().all(|(k, v)| k.is_literal() && v.is_literal()),
        }
    }
}

/// A JSON value with its template strings compiled (see [`Templates::compile`]).
#[derive(Debug, Clone)]
pub enum Compiled {
    Literal(Value),
    /// A string that is one `{{ expr }}`: keeps the JSON type of its value.
    Expr(String),
    /// Any other template string: interpolated.
    Interp(String),
    Array(Vec<Compiled>),
    Object(Vec<(Compiled, Compiled)>),
}

fn random_string(len: usize, class: &str) -> Result<String, Error> {
    let pool: &[char] = match class {
        "alnum" => return Ok(Alphanumeric.sample_string(&mut rand::rng(), len)),
        "latin" => &['á', 'é', 'í', 'ó', 'ú', 'ñ', 'ç', 'ø', 'å', 'ß', 'Ž', 'Ł', 'Ő'],
        "cjk" => &['山', '田', '太', '郎', '花', '子', '李', '王', '张', '한', '국', 'の'],
        "emoji" => &['😀', '🎉', '🚀', '🌍', '🔥', '🍕', '👩', '🏳'],
        "combining" => &['e', '\u{301}', 'a', '\u{308}', 'n', '\u{303}'],
        "mixed" => &['a', 'Z', '7', 'é', 'ß', '山', '한', '😀', '\u{301}', ' ', '-', '\''],
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("random_string: unknown class {other:?} (alnum, latin, cjk, emoji, combining, mixed)"),
            ))
        }
    };
    let mut rng = rand::rng();
    Ok((0..len)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect())
}

impl Templates {
    pub fn new(run: RunContext) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let counter = Arc::new(AtomicU64::new(0));
        let (p, d, c) = (run.prefix.clone(), run.domain.clone(), counter.clone());
        env.add_function("user_name", move || -> String {
            let n = c.fetch_add(1, Ordering::Relaxed);
            let tail = Alphanumeric
                .sample_string(&mut rand::rng(), 4)
                .to_lowercase();
            format!("{p}-u{n}{tail}@{d}")
        });
        let (p, c) = (run.prefix.clone(), counter.clone());
        env.add_function("unique", move |label: Option<String>| -> String {
            let n = c.fetch_add(1, Ordering::Relaxed);
            let tail = Alphanumeric
                .sample_string(&mut rand::rng(), 4)
                .to_lowercase();
            format!("{p}-{}{n}{tail}", label.unwrap_or_else(|| "n".into()))
        });
        env.add_function("random_string", |kwargs: Kwargs| -> Result<String, Error> {
            let len: Option<usize> = kwargs.get("length")?;
            let class: Option<String> = kwargs.get("class")?;
            kwargs.assert_all_used()?;
            random_string(
                len.unwrap_or(8).min(4096),
                class.as_deref().unwrap_or("alnum"),
            )
        });
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("now", |offset: Option<i64>| -> String {
            let t = chrono::Utc::now() + chrono::Duration::seconds(offset.unwrap_or(0));
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        env.add_function("random_int", |lo: i64, hi: i64| -> Result<i64, Error> {
            if lo > hi {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("random_int({lo}, {hi}): the low end is above the high end"),
                ));
            }
            Ok(rand::rng().random_range(lo..=hi))
        });
        // `[{"value": id}, …]` from a list of ids: the members of a Group PATCH, which the
        // template language cannot build with a comprehension.
        env.add_function("members", |ids: Vec<minijinja::Value>| {
            minijinja::Value::from(
                ids.into_iter()
                    .map(|id| {
                        minijinja::Value::from(std::collections::BTreeMap::from([("value", id)]))
                    })
                    .collect::<Vec<_>>(),
            )
        });
        // `tojson`, except that an undefined value is an error: it would be sent as null and
        // hide a typo in the scenario (strict mode only catches undefined values printed bare).
        env.add_filter(
            "defined_json",
            |v: minijinja::Value| -> Result<String, Error> {
                if v.is_undefined() {
                    return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
                }
                serde_json::to_string(&v)
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
            },
        );
        Templates {
            env,
            run,
            compiled: 0,
        }
    }

    /// Compiles every template string inside `v` once, for values rendered many times (load
    /// scenarios send the same body thousands of times a second; compiling each time would cost
    /// more than the request).
    pub fn compile(&mut self, v: &Value) -> Result<Compiled, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                let name = format!("#{}", self.compiled);
                self.compiled += 1;
                let (kind, source) = match whole_expression(s) {
                    Some(expr) => (true, format!("{{{{ ({expr}) | defined_json }}}}")),
                    None => (false, s.clone()),
                };
                self.env
                    .add_template_owned(name.clone(), source)
                    .map_err(describe)?;
                if kind {
                    Compiled::Expr(name)
                } else {
                    Compiled::Interp(name)
                }
            }
            Value::Array(a) => Compiled::Array(
                a.iter()
                    .map(|x| self.compile(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => Compiled::Object(
                o.iter()
                    .map(|(k, x)| Ok((self.compile(&Value::String(k.clone()))?, self.compile(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => Compiled::Literal(other.clone()),
        })
    }

    /// Renders a compiled value in a context made once per request by [`Templates::context`].
    pub fn render_compiled(&self, c: &Compiled, ctx: &minijinja::Value) -> Result<Value, String> {
        Ok(match c {
            Compiled::Literal(v) => v.clone(),
            Compiled::Interp(name) => Value::String(self.render_named(name, ctx)?),
            Compiled::Expr(name) => {
                let json = self.render_named(name, ctx)?;
                serde_json::from_str(&json).map_err(|e| format!("template value: {e}"))?
            }
            Compiled::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_compiled(x, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Compiled::Object(o) => {
                let mut out = Map::with_capacity(o.len());
                for (k, x) in o {
                    let key = match self.render_compiled(k, ctx)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.render_compiled(x, ctx)?);
                }
                Value::Object(out)
            }
        })
    }

    /// A compiled value rendered to a string (paths, headers, query values).
    pub fn render_compiled_string(
        &self,
        c: &Compiled,
        ctx: &minijinja::Value,
    ) -> Result<String, String> {
        Ok(match self.render_compiled(c, ctx)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    fn render_named(&self, name: &str, ctx: &minijinja::Value) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(describe)
    }

    /// The context of one request from layered scopes (later layers win), without copying the
    /// scopes into one map first.
    pub fn context_layers(&self, layers: &[&Map<String, Value>]) -> minijinja::Value {
        let builtins = [
            ("prefix", &self.run.prefix),
            ("domain", &self.run.domain),
            ("run_id", &self.run.run_id),
            ("base_url", &self.run.base_url),
        ];
        let map: std::collections::BTreeMap<String, minijinja::Value> = builtins
            .into_iter()
            .map(|(k, v)| (k.to_string(), minijinja::Value::from(v.as_str())))
            .chain(
                layers
                    .iter()
                    .flat_map(|l| l.iter().map(|(k, v)| (k.clone(), to_jinja(v)))),
            )
            .collect();
        minijinja::Value::from(map)
    }

    /// The context templates see: `scope` plus the run-wide names.
    pub fn context(&self, scope: &Map<String, Value>) -> minijinja::Value {
        let mut ctx = scope.clone();
        ctx.insert("prefix".into(), Value::String(self.run.prefix.clone()));
        ctx.insert("domain".into(), Value::String(self.run.domain.clone()));
        ctx.insert("run_id".into(), Value::String(self.run.run_id.clone()));
        ctx.insert("base_url".into(), Value::String(self.run.base_url.clone()));
        to_jinja(&Value::Object(ctx))
    }

    /// Renders one string template.
    pub fn render_str(&self, s: &str, scope: &Map<String, Value>) -> Result<Value, String> {
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(expr) = whole_expression(s) {
            let compiled = self.env.compile_expression(expr).map_err(describe)?;
            let v = compiled.eval(self.context(scope)).map_err(describe)?;
            // A bare undefined name evaluates to `undefined` without an error even in strict
            // mode; sending `null` in its place would hide a typo in the suite.
            if v.is_undefined() {
                return Err(format!("template error: `{expr}` is undefined"));
            }
            return serde_json::to_value(&v).map_err(|e| format!("template value: {e}"));
        }
        self.env
            .render_str(s, self.context(scope))
            .map(Value::String)
            .map_err(describe)
    }

    /// Renders every string inside a JSON value (keys too).
    pub fn render_value(&self, v: &Value, scope: &Map<String, Value>) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => self.render_str(s, scope)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_value(x, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    let key = match self.render_str(k, scope)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.render_value(x, scope)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Renders to a string (for paths, headers, query values).
    pub fn render_string(&self, s: &str, scope: &Map<String, Value>) -> Result<String, String> {
        Ok(match self.render_str(s, scope)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Syntax check plus the variables a template reads, for `lint` (undefined captures).
    pub fn variables(&self, s: &str) -> Result<HashSet<String>, String> {
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(HashSet::new());
        }
        if let Some(expr) = whole_expression(s) {
            let e = self.env.compile_expression(expr).map_err(describe)?;
            return Ok(e.undeclared_variables(false));
        }
        let t = self.env.template_from_str(s).map_err(describe)?;
        Ok(t.undeclared_variables(false))
    }

    /// Whether `name` is a function (one of ours, or a minijinja global such as `range`) rather
    /// than a variable.
    pub fn is_function(name: &str) -> bool {
        matches!(
            name,
            "user_name"
                | "unique"
                | "random_int"
                | "members"
                | "random_string"
                | "uuid"
                | "now"
                | "range"
                | "dict"
                | "namespace"
        )
    }
}

/// JSON → template value. Written out because minijinja 3 dropped `Value::from_serialize`.
fn to_jinja(v: &Value) -> minijinja::Value {
    match v {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => minijinja::Value::from(i),
            (_, Some(u), _) => minijinja::Value::from(u),
            (_, _, Some(f)) => minijinja::Value::from(f),
            _ => minijinja::Value::from(n.to_string()),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(a) => minijinja::Value::from(a.iter().map(to_jinja).collect::<Vec<_>>()),
        Value::Object(o) => {
            minijinja::Value::from_pairs(o.iter().map(|(k, v)| (k.as_str(), to_jinja(v))))
        }
    }
}

/// `{{ expr }}` with nothing around it and no second tag inside.
fn whole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

fn describe(e: Error) -> String {
    match e.detail() {
        Some(d) => format!("template error: {d}"),
        None => format!("template error: {e}"),
    }
}

/// Evaluates a `vars:` block in order into `scope` (later entries see earlier ones).
pub fn eval_vars(
    t: &Templates,
    vars: &Map<String, Value>,
    scope: &mut Map<String, Value>,
) -> Result<(), String> {
    for (k, v) in vars {
        let value = t
            .render_value(v, scope)
            .map_err(|e| format!("vars.{k}: {e}"))?;
        scope.insert(k.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t() -> Templates {
        Templates::new(RunContext {
            prefix: "scimtest-r1".into(),
            domain: "example.com".into(),
            run_id: "r1".into(),
            base_url: "http://x/scim/v2".into(),
        })
    }

    #[test]
    fn whole_expressions_keep_types_and_strings_interpolate() {
        let t = t();
        let mut scope = Map::new();
        scope.insert("n".into(), json!(3));
        scope.insert("id".into(), json!("abc"));
        assert_eq!(t.render_str("{{ n }}", &scope).unwrap(), json!(3));
        assert_eq!(t.render_str("{{ false }}", &scope).unwrap(), json!(false));
        assert_eq!(
            t.render_str("/Users/{{ id }}", &scope).unwrap(),
            json!("/Users/abc")
        );
        assert_eq!(t.render_str("plain", &scope).unwrap(), json!("plain"));
        let u = t.render_string("{{ user_name() }}", &scope).unwrap();
        assert!(
            u.starts_with("scimtest-r1-u") && u.ends_with("@example.com"),
            "{u}"
        );
        let body = t
            .render_value(&json!({"userName": "{{ id }}", "x": ["{{ n }}"]}), &scope)
            .unwrap();
        assert_eq!(body, json!({"userName": "abc", "x": [3]}));
        assert!(t.render_str("{{ nosuch }}", &scope).is_err());
        let cjk = t
            .render_string("{{ random_string(length=5, class='cjk') }}", &scope)
            .unwrap();
        assert_eq!(cjk.chars().count(), 5);
        assert!(t
            .render_str("{{ random_string(class='nope') }}", &scope)
            .is_err());
    }

    #[test]
    fn compiled_values_render_like_interpreted_ones() {
        let mut t = t();
        let body = json!({
            "userName": "{{ name }}",
            "n": "{{ n + 1 }}",
            "{{ key }}": ["x-{{ n }}", 7],
            "members": "{{ members(ids[0:2]) }}"
        });
        let c = t.compile(&body).unwrap();
        let mut scope = Map::new();
        scope.insert("name".into(), json!("ann"));
        scope.insert("n".into(), json!(3));
        scope.insert("key".into(), json!("k"));
        scope.insert("ids".into(), json!(["a", "b", "c"]));
        let ctx = t.context_layers(&[&scope]);
        assert_eq!(
            t.render_compiled(&c, &ctx).unwrap(),
            json!({"userName": "ann", "n": 4, "k": ["x-3", 7], "members": [{"value": "a"}, {"value": "b"}]})
        );
        let missing = t.compile(&json!("{{ nosuch }}")).unwrap();
        assert!(t.render_compiled(&missing, &ctx).is_err());
        let r = t.compile(&json!("{{ random_int(2, 2) }}")).unwrap();
        assert_eq!(t.render_compiled(&r, &ctx).unwrap(), json!(2));
    }

    #[test]
    fn variables_are_reported_for_lint() {
        let t = t();
        let vars = t.variables("/Users/{{ user_id }}?x={{ prefix }}").unwrap();
        assert!(vars.contains("user_id") && vars.contains("prefix"));
        assert!(t.variables("{{ unclosed").is_err());
    }
}
