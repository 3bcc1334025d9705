//! Expressions: the small, obvious value language of mapping files. No scripting.
//!
//! | YAML                                         | meaning                                        |
//! |----------------------------------------------|------------------------------------------------|
//! | `ShippingSettings.ShipToAddress.City`        | a field path (plain text is always a path)     |
//! | `Orders[0].OrderNbr`, `custom.Document.UsrX` | indexes and custom fields                      |
//! | `$.ShipmentNbr`                              | from the record root inside a `for_each`       |
//! | `"SO {{Orders[0].OrderNbr}}"`                | a template (text containing `{{…}}`)           |
//! | `7`, `true`, `{literal: "02"}`               | fixed values (text must use `literal:`)        |
//! | `{path: X, default: Y}`                      | `default:` when the value is empty             |
//! | `{lookup: ship_via, key: ShipVia, missing: error}` | table lookup (`missing: error\|empty\|keep`) |
//! | `{first_non_empty: [A, B, {literal: C}]}`    | the first non-empty value                      |
//! | `{when: {field: X, equals: Y}, then: A, else: B}` | conditional on a field (`in: [..]`, `empty: true`) |
//! | modifiers `truncate: 35`, `upper: true`, `digits_only: true`, `trim: true` | applied after `default:`, in the order trim, digits_only, upper, truncate |
//!
//! Paths are compiled once at load (`FieldPath`) and resolved against `serde_json::Value`
//! without allocation; values are borrowed from the record where possible ([`Val`]).

use std::borrow::Cow;
use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use super::spec::LineIndex;
use super::MappingError;

mod parse;

pub use parse::{yaml_to_json, Compiler};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(Box<str>),
    Index(usize),
}

/// A compiled field path (`Orders[0].OrderNbr`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    /// As written (without a leading `$.`).
    pub text: String,
    /// Written with `$.`: resolves from the record root even inside a `for_each`.
    pub absolute: bool,
    segs: Vec<Seg>,
}

impl FieldPath {
    /// Parse `A.B[0].C` (optionally `$.`-prefixed). Error text says what is wrong.
    pub fn parse(s: &str) -> Result<FieldPath, String> {
        let (absolute, body) = match s.strip_prefix("$.") {
            Some(b) => (true, b),
            None => (false, s),
        };
        if body.is_empty() {
            return Err("empty field path".into());
        }
        let mut segs = Vec::new();
        for part in body.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return Err(format!(
                    "`{s}` is not a field path (segment `{part}`); paths look like `A.B[0].C`"
                ));
            }
            segs.push(Seg::Key(name.into()));
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("`{s}`: missing `]`"))?;
                let n: usize = rest[1..close]
                    .parse()
                    .map_err(|_| format!("`{s}`: index must be a number, like `[0]`"))?;
                segs.push(Seg::Index(n));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("`{s}`: unexpected `{rest}` after an index"));
                }
            }
        }
        Ok(FieldPath {
            text: body.to_string(),
            absolute,
            segs,
        })
    }

    /// Resolve against a JSON value; `None` when any step is missing.
    #[inline]
    pub fn get<'a>(&self, v: &'a Json) -> Option<&'a Json> {
        let mut cur = v;
        for s in &self.segs {
            cur = match s {
                Seg::Key(k) => {
                    let o = cur.as_object()?;
                    // ERP records are small objects: a scan (length compared first) beats
                    // hashing the key (measured: SipHash was ~20% of mapping time).
                    if o.len() <= 32 {
                        o.iter().find(|(name, _)| name.as_str() == &**k)?.1
                    } else {
                        o.get(&**k)?
                    }
                }
                Seg::Index(i) => cur.as_array()?.get(*i)?,
            };
        }
        Some(cur)
    }

    #[inline]
    pub fn resolve<'a>(&self, scope: &Scope<'a>) -> Option<&'a Json> {
        match scope.elem {
            Some(e) if !self.absolute => self.get(e),
            _ => self.get(scope.root),
        }
    }

    /// Whether the path names something that exists in `v`: every key present (the value
    /// may be null); an index past the end of an existing array counts as existing.
    pub fn exists_in(&self, v: &Json) -> bool {
        let mut cur = v;
        for s in &self.segs {
            match s {
                Seg::Key(k) => match cur.as_object().and_then(|o| o.get(&**k)) {
                    Some(n) => cur = n,
                    None => return false,
                },
                Seg::Index(i) => match cur.as_array() {
                    Some(a) => match a.get(*i) {
                        Some(n) => cur = n,
                        None => return true,
                    },
                    None => return cur.is_null(),
                },
            }
        }
        true
    }
}

/// Variables usable in write-back templates (`{{$tracking}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Tracking,
    Ext,
    Number,
    RecordId,
}

/// Values of [`Var`]s for one evaluation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vars<'a> {
    pub tracking: &'a str,
    pub ext: &'a str,
    pub number: &'a str,
    pub record_id: &'a str,
}

/// Where an expression is evaluated: the record and, inside `for_each`, the element.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub root: &'a Json,
    pub elem: Option<&'a Json>,
    pub vars: Option<Vars<'a>>,
}

impl<'a> Scope<'a> {
    pub fn root(root: &'a Json) -> Scope<'a> {
        Scope {
            root,
            elem: None,
            vars: None,
        }
    }
    pub fn elem(&self, elem: &'a Json) -> Scope<'a> {
        Scope {
            root: self.root,
            elem: Some(elem),
            vars: self.vars,
        }
    }
}

/// An evaluated value, borrowed from the record or the mapping where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    Json(&'a Json),
}

impl<'a> Val<'a> {
    fn from_json(j: &'a Json) -> Val<'a> {
        match j {
            Json::Null => Val::Null,
            Json::String(s) => Val::Str(Cow::Borrowed(s.as_str())),
            other => Val::Json(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Val::Null => true,
            Val::Str(s) => s.trim().is_empty(),
            Val::Json(j) => match j {
                Json::Array(a) => a.is_empty(),
                Json::Object(o) => o.is_empty(),
                _ => false,
            },
        }
    }

    /// Text form (numbers as JSON prints them, null as empty).
    pub fn as_str(&self) -> Cow<'a, str> {
        match self {
            Val::Null => Cow::Borrowed(""),
            Val::Str(s) => s.clone(),
            Val::Json(Json::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Json(j) => Cow::Owned(j.to_string()),
        }
    }

    /// Trimmed owned text, `None` when empty.
    pub fn text(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        Some(self.as_str().trim().to_string())
    }

    /// Decimal: `None` when empty, `Some(Err)` when present but not a number.
    pub fn decimal(&self) -> Option<Result<Decimal, ()>> {
        match self {
            Val::Null => None,
            Val::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    None
                } else {
                    Some(parse_decimal(t))
                }
            }
            Val::Json(Json::Number(n)) => Some(number_to_decimal(n)),
            Val::Json(_) => Some(Err(())),
        }
    }

    /// Yes/no: `None` when empty or not recognisable.
    pub fn flag(&self) -> Option<bool> {
        match self {
            Val::Json(Json::Bool(b)) => Some(*b),
            Val::Json(Json::Number(n)) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
            Val::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "1" => Some(true),
                "false" | "f" | "no" | "n" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

fn parse_decimal(t: &str) -> Result<Decimal, ()> {
    use std::str::FromStr;
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| ())
}

fn number_to_decimal(n: &serde_json::Number) -> Result<Decimal, ()> {
    if let Some(i) = n.as_i64() {
        return Ok(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Decimal::from(u));
    }
    // Shortest round-trip text of the float, so 7.1 stays 7.1.
    parse_decimal(&n.to_string())
}

/// What a lookup does with a key not in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Record error `lookup_missing` naming the table and the key.
    Error,
    /// Empty value (then `default:` may apply).
    Empty,
    /// The key itself.
    Keep,
}

/// A named lookup table from the `lookups:` section.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub map: HashMap<String, Json>,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(String),
    In(Vec<String>),
    Empty(bool),
}

/// A condition on one field (`when:`, `cancelled:`).
#[derive(Debug, Clone)]
pub struct Cond {
    pub field: FieldPath,
    test: Test,
}

impl Cond {
    pub fn eval(&self, scope: &Scope<'_>) -> bool {
        let v = self
            .field
            .resolve(scope)
            .map(Val::from_json)
            .unwrap_or(Val::Null);
        match &self.test {
            Test::Empty(want) => v.is_empty() == *want,
            Test::Equals(s) => !v.is_empty() && v.as_str().trim() == s,
            Test::In(list) => {
                if v.is_empty() {
                    return false;
                }
                let s = v.as_str();
                let t = s.trim();
                list.iter().any(|x| x == t)
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Path(FieldPath),
    Var(Var),
}

#[derive(Debug, Clone)]
enum Src {
    Path(FieldPath),
    Lit(Json),
    Template(Vec<Part>),
    FirstNonEmpty(Vec<Expr>),
    Lookup {
        table: usize,
        key: Box<Expr>,
        missing: Missing,
    },
    When {
        cond: Cond,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Expr {
    src: Src,
    default: Option<Box<Expr>>,
    truncate: Option<usize>,
    upper: bool,
    digits_only: bool,
    trim: bool,
    /// Line in the mapping file.
    pub line: usize,
    /// Key path in the mapping file (`ship_to.name`).
    pub key: String,
}

/// Evaluation failure (only lookups with `missing: error` fail).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub table: String,
    pub key_value: String,
    pub line: usize,
    pub mapping_key: String,
    pub field: Option<String>,
}

impl Expr {
    /// The ERP field this expression mainly reads (for error messages).
    pub fn primary(&self) -> Option<&str> {
        match &self.src {
            Src::Path(p) => Some(&p.text),
            Src::Lit(_) => self.default.as_ref().and_then(|d| d.primary()),
            Src::Template(parts) => parts.iter().find_map(|p| match p {
                Part::Path(p) => Some(p.text.as_str()),
                _ => None,
            }),
            Src::FirstNonEmpty(list) => list.iter().find_map(|e| e.primary()),
            Src::Lookup { key, .. } => key.primary(),
            Src::When { then, cond, .. } => then.primary().or(Some(&cond.field.text)),
        }
    }

    /// True when the expression is a fixed literal (no record field involved).
    pub fn is_literal(&self) -> bool {
        matches!(self.src, Src::Lit(_)) && self.default.is_none()
    }

    /// Evaluate against a record (and element). Tables come from the mapping.
    pub fn eval<'a>(
        &'a self,
        scope: &Scope<'a>,
        tables: &'a [Table],
    ) -> Result<Val<'a>, EvalError> {
        let mut v = match &self.src {
            Src::Path(p) => p.resolve(scope).map(Val::from_json).unwrap_or(Val::Null),
            Src::Lit(j) => Val::from_json(j),
            Src::Template(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Path(p) => {
                            if let Some(j) = p.resolve(scope) {
                                out.push_str(Val::from_json(j).as_str().trim());
                            }
                        }
                        Part::Var(var) => {
                            if let Some(vars) = &scope.vars {
                                out.push_str(match var {
                                    Var::Tracking => vars.tracking,
                                    Var::Ext => vars.ext,
                                    Var::Number => vars.number,
                                    Var::RecordId => vars.record_id,
                                });
                            }
                        }
                    }
                }
                Val::Str(Cow::Owned(out))
            }
            Src::FirstNonEmpty(list) => {
                let mut found = Val::Null;
                for e in list {
                    let v = e.eval(scope, tables)?;
                    if !v.is_empty() {
                        found = v;
                        break;
                    }
                }
                found
            }
            Src::Lookup {
                table,
                key,
                missing,
            } => {
                let k = key.eval(scope, tables)?;
                let t = &tables[*table];
                if k.is_empty() {
                    Val::Null
                } else {
                    let ks = k.as_str();
                    match t.map.get(ks.trim()) {
                        Some(j) => Val::from_json(j),
                        None => match missing {
                            Missing::Empty => Val::Null,
                            Missing::Keep => k,
                            Missing::Error => {
                                return Err(EvalError {
                                    table: t.name.clone(),
                                    key_value: ks.trim().to_string(),
                                    line: self.line,
                                    mapping_key: self.key.clone(),
                                    field: key.primary().map(str::to_string),
                                })
                            }
                        },
                    }
                }
            }
            Src::When {
                cond,
                then,
                otherwise,
            } => {
                if cond.eval(scope) {
                    then.eval(scope, tables)?
                } else if let Some(o) = otherwise {
                    o.eval(scope, tables)?
                } else {
                    Val::Null
                }
            }
        };
        if v.is_empty() {
            if let Some(d) = &self.default {
                v = d.eval(scope, tables)?;
            }
        }
        if (self.trim || self.digits_only || self.upper || self.truncate.is_some()) && !v.is_empty()
        {
            let mut s: String = v.as_str().into_owned();
            if self.trim {
                s = s.trim().to_string();
            }
            if self.digits_only {
                s.retain(|c| c.is_ascii_digit());
            }
            if self.upper {
                s = s.to_uppercase();
            }
            if let Some(n) = self.truncate {
                s = truncate_chars(s.trim(), n).trim_end().to_string();
            }
            v = Val::Str(Cow::Owned(s));
        }
        Ok(v)
    }
}

/// The first `n` characters (not bytes) of `s`.
pub fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A field path used by the mapping, kept so fixtures can prove it exists in real records.
#[derive(Debug, Clone)]
pub struct PathUse {
    pub path: FieldPath,
    pub line: usize,
    pub key: String,
    /// The `for_each` array the path is relative to (`None` = record root).
    pub scope: Option<FieldPath>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(src: &str) -> (Option<Expr>, Vec<MappingError>, Vec<Table>) {
        let lines = LineIndex::build(src);
        let mut c = Compiler::new("t.yaml", &lines);
        let tables = vec![Table {
            name: "ship_via".into(),
            map: [("UPSGROUND".to_string(), json!("03"))]
                .into_iter()
                .collect(),
        }];
        c.table_names.insert("ship_via".into(), 0);
        let doc: Yaml = serde_norway::from_str(src).unwrap();
        let e = c.expr(doc.get("e").unwrap(), "e");
        (e, c.errors, tables)
    }

    fn eval(src: &str, rec: &Json) -> Result<Option<String>, EvalError> {
        let (e, errs, tables) = compile(src);
        assert!(errs.is_empty(), "{errs:?}");
        let e = e.unwrap();
        e.eval(&Scope::root(rec), &tables).map(|v| v.text())
    }

    #[test]
    fn paths_templates_and_modifiers() {
        let rec = json!({"A": {"B": " x "}, "Orders": [{"OrderNbr": "SO1"}], "N": 7.5,
                         "P": "(404) 555-0100", "Long": "abcdefghij", "E": ""});
        assert_eq!(eval("e: A.B", &rec).unwrap().as_deref(), Some("x"));
        assert_eq!(
            eval("e: \"SO {{Orders[0].OrderNbr}}\"", &rec)
                .unwrap()
                .as_deref(),
            Some("SO SO1")
        );
        assert_eq!(eval("e: N", &rec).unwrap().as_deref(), Some("7.5"));
        assert_eq!(
            eval("e: {path: P, digits_only: true}", &rec)
                .unwrap()
                .as_deref(),
            Some("4045550100")
        );
        assert_eq!(
            eval("e: {path: Long, truncate: 3, upper: true}", &rec)
                .unwrap()
                .as_deref(),
            Some("ABC")
        );
        assert_eq!(
            eval("e: {path: E, default: {literal: D}}", &rec)
                .unwrap()
                .as_deref(),
            Some("D")
        );
        assert_eq!(
            eval("e: {first_non_empty: [E, Missing, A.B]}", &rec)
                .unwrap()
                .as_deref(),
            Some("x")
        );
        assert_eq!(
            eval(
                "e: {when: {field: N, equals: 7.5}, then: {literal: y}, else: {literal: n}}",
                &rec
            )
            .unwrap()
            .as_deref(),
            Some("y")
        );
        assert_eq!(
            eval(
                "e: {when: {field: A.B, in: [z, x]}, then: {literal: y}}",
                &rec
            )
            .unwrap()
            .as_deref(),
            Some("y")
        );
        assert_eq!(
            eval(
                "e: {when: {field: E, empty: true}, then: {literal: y}}",
                &rec
            )
            .unwrap()
            .as_deref(),
            Some("y")
        );
    }

    #[test]
    fn lookup_policies() {
        let rec = json!({"V": "UPSGROUND", "W": "OTHER"});
        assert_eq!(
            eval("e: {lookup: ship_via, key: V}", &rec)
                .unwrap()
                .as_deref(),
            Some("03")
        );
        let err = eval("e: {lookup: ship_via, key: W}", &rec).unwrap_err();
        assert_eq!(err.key_value, "OTHER");
        assert_eq!(
            eval("e: {lookup: ship_via, key: W, missing: keep}", &rec)
                .unwrap()
                .as_deref(),
            Some("OTHER")
        );
        assert_eq!(
            eval(
                "e: {lookup: ship_via, key: W, missing: empty, default: {literal: '03'}}",
                &rec
            )
            .unwrap()
            .as_deref(),
            Some("03")
        );
    }

    #[test]
    fn bad_expressions_are_reported() {
        let (_, errs, _) = compile("e:\n  lookup: nope\n  key: X\n  bogus: 1\n");
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| format!("{}:{} {}", e.key, e.line, e.message))
            .collect();
        assert!(msgs.iter().any(|m| m.contains("e.bogus:4")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("`nope` is not defined")),
            "{msgs:?}"
        );
        let (_, errs, _) = compile("e: \"02\"\n");
        assert!(errs[0].fix.contains("literal"));
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate_chars("Müller Zoë", 8), "Müller Z");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }

    #[test]
    fn exists_in_accepts_null_and_short_arrays() {
        let rec = json!({"A": null, "L": [], "O": {"X": 1}});
        assert!(FieldPath::parse("A").unwrap().exists_in(&rec));
        assert!(FieldPath::parse("L[0].Z").unwrap().exists_in(&rec));
        assert!(FieldPath::parse("O.X").unwrap().exists_in(&rec));
        assert!(!FieldPath::parse("O.Y").unwrap().exists_in(&rec));
        assert!(!FieldPath::parse("Q").unwrap().exists_in(&rec));
    }
}
