//! The expression compiler (parser): YAML value → [`Expr`] / [`Cond`], every problem
//! collected in [`Compiler::errors`] with file, line and fix. Evaluation is in `expr.rs`.

use super::*;

/// Compiles expressions, collecting every problem.
pub struct Compiler<'t> {
    pub file: &'t str,
    pub lines: &'t LineIndex,
    pub errors: Vec<MappingError>,
    pub table_names: HashMap<String, usize>,
    pub paths: Vec<PathUse>,
    /// Current `for_each` array (paths are relative to its element).
    pub scope: Option<FieldPath>,
    /// Template variables (`{{$tracking}}`) allowed here.
    pub allow_vars: bool,
}

const SOURCES: &[&str] = &[
    "path",
    "literal",
    "template",
    "first_non_empty",
    "lookup",
    "when",
];
const MODIFIERS: &[&str] = &["default", "truncate", "upper", "digits_only", "trim"];
const EXTRA: &[&str] = &["key", "missing", "then", "else"];

impl<'t> Compiler<'t> {
    pub fn new(file: &'t str, lines: &'t LineIndex) -> Compiler<'t> {
        Compiler {
            file,
            lines,
            errors: Vec::new(),
            table_names: HashMap::new(),
            paths: Vec::new(),
            scope: None,
            allow_vars: false,
        }
    }

    pub fn err(&mut self, key: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(MappingError {
            file: self.file.to_string(),
            line: self.lines.line_of(key),
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Compile a field path written as text (e.g. `for_each`, `cancelled.field`).
    pub fn path(&mut self, text: &str, key: &str) -> Option<FieldPath> {
        match FieldPath::parse(text.trim()) {
            Ok(p) => {
                self.paths.push(PathUse {
                    path: p.clone(),
                    line: self.lines.line_of(key),
                    key: key.to_string(),
                    scope: if p.absolute { None } else { self.scope.clone() },
                });
                Some(p)
            }
            Err(e) => {
                self.err(
                    key,
                    e,
                    "write a field path such as `ShippingSettings.ShipToAddress.City`",
                );
                None
            }
        }
    }

    /// Compile one expression at mapping key `key`.
    pub fn expr(&mut self, v: &Yaml, key: &str) -> Option<Expr> {
        let line = self.lines.line_of(key);
        let bare = |src| Expr {
            src,
            default: None,
            truncate: None,
            upper: false,
            digits_only: false,
            trim: false,
            line,
            key: key.to_string(),
        };
        match v {
            Yaml::String(s) => {
                if s.contains("{{") {
                    self.template(s, key)
                        .map(|parts| bare(Src::Template(parts)))
                } else {
                    match FieldPath::parse(s.trim()) {
                        Ok(p) => {
                            self.record_path(&p, key);
                            Some(bare(Src::Path(p)))
                        }
                        Err(e) => {
                            self.err(
                                key,
                                e,
                                format!("plain text is a field path; for fixed text write `{{literal: \"{s}\"}}`"),
                            );
                            None
                        }
                    }
                }
            }
            Yaml::Number(_) | Yaml::Bool(_) | Yaml::Null => Some(bare(Src::Lit(yaml_to_json(v)))),
            Yaml::Mapping(m) => self.map_expr(m, key, line),
            Yaml::Sequence(_) => {
                self.err(
                    key,
                    "a list is not an expression",
                    "use `{first_non_empty: [A, B]}` to try several fields",
                );
                None
            }
            Yaml::Tagged(_) => {
                self.err(key, "YAML tags are not supported here", "remove the `!tag`");
                None
            }
        }
    }

    pub(super) fn record_path(&mut self, p: &FieldPath, key: &str) {
        self.paths.push(PathUse {
            path: p.clone(),
            line: self.lines.line_of(key),
            key: key.to_string(),
            scope: if p.absolute { None } else { self.scope.clone() },
        });
    }

    pub(super) fn template(&mut self, s: &str, key: &str) -> Option<Vec<Part>> {
        let mut parts = Vec::new();
        let mut rest = s;
        let mut ok = true;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                self.err(
                    key,
                    format!("template `{s}` has `{{{{` without `}}}}`"),
                    "close every `{{` with `}}`",
                );
                return None;
            };
            let inner = after[..close].trim();
            if let Some(var) = inner.strip_prefix('$').filter(|v| !v.starts_with('.')) {
                let var = match var {
                    "tracking" => Some(Var::Tracking),
                    "ext" => Some(Var::Ext),
                    "number" => Some(Var::Number),
                    "record_id" => Some(Var::RecordId),
                    _ => None,
                };
                match var {
                    Some(v) if self.allow_vars => parts.push(Part::Var(v)),
                    Some(_) => {
                        ok = false;
                        self.err(
                            key,
                            format!(
                                "`{{{{{inner}}}}}` is only available in write_back.label_file_name"
                            ),
                            "use a record field path here",
                        );
                    }
                    None => {
                        ok = false;
                        self.err(
                            key,
                            format!("unknown template variable `{inner}`"),
                            "variables are $tracking, $ext, $number, $record_id",
                        );
                    }
                }
            } else {
                match FieldPath::parse(inner) {
                    Ok(p) => {
                        self.record_path(&p, key);
                        parts.push(Part::Path(p));
                    }
                    Err(e) => {
                        ok = false;
                        self.err(key, e, "inside `{{…}}` write a field path");
                    }
                }
            }
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        ok.then_some(parts)
    }

    pub(super) fn map_expr(
        &mut self,
        m: &serde_norway::Mapping,
        key: &str,
        line: usize,
    ) -> Option<Expr> {
        let mut src_keys = Vec::new();
        let mut ok = true;
        for (k, _) in m {
            let Some(k) = k.as_str() else {
                self.err(
                    key,
                    "expression keys must be text",
                    "use keys like `path:`, `literal:`",
                );
                return None;
            };
            if SOURCES.contains(&k) {
                src_keys.push(k.to_string());
            } else if !MODIFIERS.contains(&k) && !EXTRA.contains(&k) {
                ok = false;
                self.err(
                    &format!("{key}.{k}"),
                    format!("unknown expression key `{k}`"),
                    format!(
                        "use one of {} plus modifiers {}",
                        SOURCES.join(", "),
                        MODIFIERS.join(", ")
                    ),
                );
            }
        }
        if src_keys.len() != 1 {
            self.err(
                key,
                if src_keys.is_empty() {
                    "expression has no value source".to_string()
                } else {
                    format!("expression has several sources: {}", src_keys.join(", "))
                },
                format!("give exactly one of {}", SOURCES.join(", ")),
            );
            return None;
        }
        let get = |k: &str| m.get(Yaml::String(k.to_string()));
        let sk = src_keys[0].as_str();
        let sub = format!("{key}.{sk}");
        let src_v = get(sk).expect("present");
        let src = match sk {
            "path" => match src_v.as_str() {
                Some(s) => self.path(s, &sub).map(Src::Path),
                None => {
                    self.err(&sub, "`path:` must be text", "write `path: A.B.C`");
                    None
                }
            },
            "literal" => Some(Src::Lit(yaml_to_json(src_v))),
            "template" => match src_v.as_str() {
                Some(s) => self.template(s, &sub).map(Src::Template),
                None => {
                    self.err(
                        &sub,
                        "`template:` must be text",
                        "write `template: \"SO {{OrderNbr}}\"`",
                    );
                    None
                }
            },
            "first_non_empty" => match src_v.as_sequence() {
                Some(list) if !list.is_empty() => {
                    let mut out = Vec::new();
                    for (i, e) in list.iter().enumerate() {
                        if let Some(x) = self.expr(e, &format!("{sub}[{i}]")) {
                            out.push(x);
                        }
                    }
                    (out.len() == list.len()).then_some(Src::FirstNonEmpty(out))
                }
                _ => {
                    self.err(
                        &sub,
                        "`first_non_empty:` needs a non-empty list",
                        "write `first_non_empty: [A, B]`",
                    );
                    None
                }
            },
            "lookup" => {
                let table = match src_v.as_str() {
                    Some(name) => match self.table_names.get(name) {
                        Some(i) => Some(*i),
                        None => {
                            let known: Vec<&str> =
                                self.table_names.keys().map(|s| s.as_str()).collect();
                            self.err(
                                &sub,
                                format!("lookup table `{name}` is not defined"),
                                format!(
                                    "define it under `lookups:` (defined: {})",
                                    if known.is_empty() {
                                        "none".to_string()
                                    } else {
                                        known.join(", ")
                                    }
                                ),
                            );
                            None
                        }
                    },
                    None => {
                        self.err(
                            &sub,
                            "`lookup:` must name a table",
                            "write `lookup: ship_via`",
                        );
                        None
                    }
                };
                let k = match get("key") {
                    Some(kv) => self.expr(kv, &format!("{key}.key")),
                    None => {
                        self.err(key, "`lookup:` needs `key:`", "add `key: FieldPath`");
                        None
                    }
                };
                let missing = match get("missing").map(|v| v.as_str()) {
                    None => Some(Missing::Error),
                    Some(Some("error")) => Some(Missing::Error),
                    Some(Some("empty")) => Some(Missing::Empty),
                    Some(Some("keep")) => Some(Missing::Keep),
                    Some(_) => {
                        self.err(
                            &format!("{key}.missing"),
                            "unknown `missing:` policy",
                            "use `error`, `empty` or `keep`",
                        );
                        None
                    }
                };
                match (table, k, missing) {
                    (Some(table), Some(k), Some(missing)) => Some(Src::Lookup {
                        table,
                        key: Box::new(k),
                        missing,
                    }),
                    _ => None,
                }
            }
            "when" => {
                let cond = self.cond(src_v, &sub);
                let then = match get("then") {
                    Some(t) => self.expr(t, &format!("{key}.then")),
                    None => {
                        self.err(key, "`when:` needs `then:`", "add `then: <expression>`");
                        None
                    }
                };
                let otherwise = match get("else") {
                    Some(e) => self
                        .expr(e, &format!("{key}.else"))
                        .map(|x| Some(Box::new(x))),
                    None => Some(None),
                };
                match (cond, then, otherwise) {
                    (Some(cond), Some(then), Some(otherwise)) => Some(Src::When {
                        cond,
                        then: Box::new(then),
                        otherwise,
                    }),
                    _ => None,
                }
            }
            _ => unreachable!(),
        };
        for extra in EXTRA {
            let allowed = matches!(
                (sk, *extra),
                ("lookup", "key") | ("lookup", "missing") | ("when", "then") | ("when", "else")
            );
            if !allowed && get(extra).is_some() {
                ok = false;
                self.err(
                    &format!("{key}.{extra}"),
                    format!("`{extra}:` does not go with `{sk}:`"),
                    "remove it",
                );
            }
        }
        let default = match get("default") {
            Some(d) => match self.expr(d, &format!("{key}.default")) {
                Some(x) => Some(Box::new(x)),
                None => {
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let truncate = match get("truncate") {
            Some(t) => match t.as_u64() {
                Some(n) if n > 0 => Some(n as usize),
                _ => {
                    ok = false;
                    self.err(
                        &format!("{key}.truncate"),
                        "`truncate:` must be a positive number",
                        "write `truncate: 35`",
                    );
                    None
                }
            },
            None => None,
        };
        let mut flag = |name: &str, this: &mut Self| -> bool {
            match get(name) {
                None => false,
                Some(Yaml::Bool(b)) => *b,
                Some(_) => {
                    ok = false;
                    this.err(
                        &format!("{key}.{name}"),
                        format!("`{name}:` must be true or false"),
                        format!("write `{name}: true`"),
                    );
                    false
                }
            }
        };
        let upper = flag("upper", self);
        let digits_only = flag("digits_only", self);
        let trim = flag("trim", self);
        let src = src?;
        ok.then(|| Expr {
            src,
            default,
            truncate,
            upper,
            digits_only,
            trim,
            line,
            key: key.to_string(),
        })
    }

    /// Compile a condition (`{field: X, equals: Y}` / `in: [..]` / `empty: bool`).
    pub fn cond(&mut self, v: &Yaml, key: &str) -> Option<Cond> {
        let spec: crate::mapping::spec::CondSpec = match serde_path_to_error::deserialize(v.clone())
        {
            Ok(s) => s,
            Err(e) => {
                let at = e.path().to_string();
                let k = if at == "." {
                    key.to_string()
                } else {
                    format!("{key}.{at}")
                };
                self.err(&k, format!("condition: {}", e.inner()), "write `{field: X, equals: Y}`, `{field: X, in: [A, B]}` or `{field: X, empty: true}`");
                return None;
            }
        };
        let field = self.path(&spec.field, &format!("{key}.field"))?;
        let scalar = |v: &Yaml| -> String {
            match v {
                Yaml::String(s) => s.clone(),
                other => yaml_to_json(other).to_string(),
            }
        };
        let tests =
            spec.equals.is_some() as u8 + spec.in_.is_some() as u8 + spec.empty.is_some() as u8;
        if tests != 1 {
            self.err(
                key,
                "a condition needs exactly one of `equals:`, `in:`, `empty:`",
                "write `{field: X, equals: Y}`",
            );
            return None;
        }
        let test = if let Some(e) = &spec.equals {
            Test::Equals(scalar(e))
        } else if let Some(list) = &spec.in_ {
            Test::In(list.iter().map(scalar).collect())
        } else {
            Test::Empty(spec.empty.unwrap_or(true))
        };
        Some(Cond { field, test })
    }
}

/// YAML scalar/collection → JSON (for literals and lookup values).
pub fn yaml_to_json(v: &Yaml) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}
