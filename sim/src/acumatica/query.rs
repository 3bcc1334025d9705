//! The simulator's reading of the contract-based REST query parameters: `$filter` (the OData
//! v3 subset a connector needs), `$expand`, `$select`, `$custom`, `$top`, `$skip`.
//!
//! Spec: ERP-NOTES.md §A3 (ACU-DOC IntegrationDev_RESTExample_Parameter_filter and the
//! endpoint definitions' `components/parameters`). Records here are in **wire form**
//! (`{"value": …}` wrapped); nothing in this file knows the connector.
//!
//! Supported `$filter`: `eq ne gt ge lt le`, `and`, `or`, `not`, parentheses, string
//! literals `'…'` (with `''` escapes), `datetimeoffset'…'`, `datetime'…'`, `date'…'`,
//! `true`/`false`/`null`, numbers, and field paths with `/` or `.` (`ShippingSettings/ShipToAddress/Country`).
//! An unencoded `+` in a date-time arrives as a space and is rejected, as on a real instance.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Value};

/// Parsed query options of one request.
#[derive(Debug, Default, Clone)]
pub struct QueryOpts {
    pub filter: Option<Expr>,
    pub expand: Vec<String>,
    pub select: Vec<String>,
    pub custom: Vec<(String, String)>,
    pub top: Option<usize>,
    pub skip: usize,
}

impl QueryOpts {
    /// Parse a raw (URL-encoded) query string.
    pub fn parse(raw: Option<&str>) -> Result<QueryOpts, String> {
        let mut q = QueryOpts::default();
        let Some(raw) = raw else { return Ok(q) };
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let list = || -> Vec<String> {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            match k.as_ref() {
                "$filter" => q.filter = Some(parse_filter(&v)?),
                "$expand" => q.expand = list(),
                "$select" => q.select = list(),
                "$custom" => {
                    for item in list() {
                        let (view, field) = item
                            .split_once('.')
                            .ok_or_else(|| format!("$custom item '{item}' must be View.Field"))?;
                        q.custom.push((view.to_string(), field.to_string()));
                    }
                }
                "$top" => q.top = Some(v.parse().map_err(|_| "$top must be a whole number")?),
                "$skip" => q.skip = v.parse().map_err(|_| "$skip must be a whole number")?,
                _ => {}
            }
        }
        Ok(q)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    DateTime(DateTime<FixedOffset>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Vec<String>),
    Lit(Lit),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp(Operand, Op, Operand),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Lit(Lit),
}

fn parse_datetime(text: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Ok(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .fixed_offset());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(d.and_utc().fixed_offset());
    }
    Err(format!(
        "'{text}' is not a valid date-time (was a '+' sent unencoded? it arrives as a space)"
    ))
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '\'' {
            let (text, next) = read_quoted(&chars, i)?;
            out.push(Tok::Lit(Lit::Str(text)));
            i = next;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let t: String = chars[start..i].iter().collect();
            out.push(Tok::Lit(Lit::Num(
                t.parse().map_err(|_| format!("bad number '{t}'"))?,
            )));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == '\'' {
                let (text, next) = read_quoted(&chars, i)?;
                i = next;
                match word.as_str() {
                    "datetimeoffset" | "datetime" | "date" => {
                        out.push(Tok::Lit(Lit::DateTime(parse_datetime(&text)?)))
                    }
                    other => return Err(format!("unknown literal type '{other}'")),
                }
            } else {
                match word.as_str() {
                    "true" => out.push(Tok::Lit(Lit::Bool(true))),
                    "false" => out.push(Tok::Lit(Lit::Bool(false))),
                    "null" => out.push(Tok::Lit(Lit::Null)),
                    _ => out.push(Tok::Word(word)),
                }
            }
        } else {
            return Err(format!("unexpected character '{c}' in $filter"));
        }
    }
    Ok(out)
}

fn read_quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut i = start + 1;
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => return Err("unterminated string literal in $filter".into()),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

/// Parse a `$filter` expression.
pub fn parse_filter(s: &str) -> Result<Expr, String> {
    let toks = tokenize(s)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected '{:?}' in $filter", p.toks[p.pos]));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x == w)
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.toks.get(self.pos) != Some(&Tok::RParen) {
                return Err("missing ')' in $filter".into());
            }
            self.pos += 1;
            return Ok(e);
        }
        let a = self.operand()?;
        let op = match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => return Err(format!("unsupported operator '{other}' in $filter")),
            },
            _ => return Err("expected a comparison operator in $filter".into()),
        };
        self.pos += 1;
        let b = self.operand()?;
        Ok(Expr::Cmp(a, op, b))
    }
    fn operand(&mut self) -> Result<Operand, String> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of $filter")?;
        self.pos += 1;
        match t {
            Tok::Lit(l) => Ok(Operand::Lit(l)),
            Tok::Word(w) if !matches!(w.as_str(), "and" | "or" | "not") => Ok(Operand::Path(
                w.split(['/', '.']).map(str::to_string).collect(),
            )),
            other => Err(format!("unexpected '{other:?}' in $filter")),
        }
    }
}

/// The plain value at a field path of a wire record (`{"value": x}` unwrapped).
pub fn field_value<'a>(rec: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = rec;
    for seg in path {
        cur = cur.get(seg)?;
    }
    match cur {
        Value::Object(m) if m.contains_key("value") || m.is_empty() => m.get("value"),
        other => Some(other),
    }
}

/// An operand's value for one record, borrowed from the filter or the record: a list
/// request compares every stored shipment, so nothing is copied per comparison.
enum Val<'a> {
    Str(std::borrow::Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    DateTime(DateTime<FixedOffset>),
}

fn operand_lit<'a>(o: &'a Operand, rec: &'a Value) -> Val<'a> {
    match o {
        Operand::Lit(l) => match l {
            Lit::Str(s) => Val::Str(s.as_str().into()),
            Lit::Num(n) => Val::Num(*n),
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Null => Val::Null,
            Lit::DateTime(d) => Val::DateTime(*d),
        },
        Operand::Path(p) => match field_value(rec, p) {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Bool(b)) => Val::Bool(*b),
            Some(Value::Number(n)) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Some(Value::String(s)) => Val::Str(s.as_str().into()),
            Some(other) => Val::Str(other.to_string().into()),
        },
    }
}

fn compare(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    use Val::*;
    match (a, b) {
        (Null, Null) => Some(std::cmp::Ordering::Equal),
        (Null, _) | (_, Null) => None,
        (Str(x), Str(y)) => Some(x.cmp(y)),
        (Num(x), Num(y)) => x.partial_cmp(y),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (DateTime(x), DateTime(y)) => Some(x.cmp(y)),
        (Str(s), DateTime(d)) => parse_datetime(s).ok().map(|x| x.cmp(d)),
        (DateTime(d), Str(s)) => parse_datetime(s).ok().map(|y| d.cmp(&y)),
        _ => None,
    }
}

/// Does a wire record satisfy the filter?
pub fn matches(e: &Expr, rec: &Value) -> bool {
    match e {
        Expr::And(a, b) => matches(a, rec) && matches(b, rec),
        Expr::Or(a, b) => matches(a, rec) || matches(b, rec),
        Expr::Not(a) => !matches(a, rec),
        Expr::Cmp(a, op, b) => {
            let (x, y) = (operand_lit(a, rec), operand_lit(b, rec));
            let ord = compare(&x, &y);
            use std::cmp::Ordering::*;
            match op {
                Op::Eq => ord == Some(Equal),
                Op::Ne => ord != Some(Equal),
                Op::Gt => ord == Some(Greater),
                Op::Ge => matches!(ord, Some(Greater | Equal)),
                Op::Lt => ord == Some(Less),
                Op::Le => matches!(ord, Some(Less | Equal)),
            }
        }
    }
}

/// Shape a stored (full) wire record for a response: contract v4 returns detail arrays and
/// linked entities only when `$expand`ed, custom fields only when asked with `$custom`, and
/// only the `$select`ed fields when `$select` is given.
pub fn shape(rec: &Value, q: &QueryOpts, include_files: bool) -> Value {
    let Value::Object(m) = rec else {
        return rec.clone();
    };
    let expanded = |name: &str| {
        q.expand.iter().any(|e| {
            e.strip_prefix(name)
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
        })
    };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "custom" => continue,
            "files" => {
                if include_files || expanded("files") {
                    out.insert(k.clone(), v.clone());
                }
                continue;
            }
            _ => {}
        }
        let is_detail = v.is_array();
        let is_linked = v.is_object() && !is_wrapper(v);
        if is_detail {
            if !expanded(k) {
                continue;
            }
            let items: Vec<Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| shape_child(item, q, k))
                .collect();
            out.insert(k.clone(), Value::Array(items));
        } else if is_linked {
            if !expanded(k) {
                continue;
            }
            out.insert(k.clone(), shape_linked(v, q, k));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("custom".into(), custom_for(m.get("custom"), q));
    let mut v = Value::Object(out);
    if !q.select.is_empty() {
        let paths: Vec<Vec<&str>> = q.select.iter().map(|s| s.split('/').collect()).collect();
        select(&mut v, &paths);
    }
    v
}

fn shape_child(item: &Value, q: &QueryOpts, _prefix: &str) -> Value {
    let mut item = item.clone();
    if let Value::Object(m) = &mut item {
        let c = custom_for(m.get("custom"), q);
        m.insert("custom".into(), c);
    }
    item
}

fn shape_linked(v: &Value, q: &QueryOpts, prefix: &str) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, child) in m {
        if k == "custom" {
            continue;
        }
        if child.is_object() && !is_wrapper(child) {
            let path = format!("{prefix}/{k}");
            if q.expand.iter().any(|e| {
                e.strip_prefix(path.as_str())
                    .is_some_and(|r| r.is_empty() || r.starts_with('/'))
            }) {
                out.insert(k.clone(), shape_linked(child, q, &path));
            }
        } else {
            out.insert(k.clone(), child.clone());
        }
    }
    out.insert("custom".into(), custom_for(m.get("custom"), q));
    Value::Object(out)
}

/// Is this object a value wrapper (`{"value": …}`, `{}`, `{"value":…,"error":…}`)?
pub fn is_wrapper(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().all(|k| k == "value" || k == "error"),
        _ => false,
    }
}

fn custom_for(stored: Option<&Value>, q: &QueryOpts) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(views)) = stored {
        for (view, field) in &q.custom {
            if let Some(val) = views.get(view).and_then(|f| f.get(field)) {
                out.entry(view.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("inserted as object")
                    .insert(field.clone(), val.clone());
            }
        }
    }
    Value::Object(out)
}

const ALWAYS_KEPT: &[&str] = &[
    "id",
    "rowNumber",
    "note",
    "custom",
    "files",
    "error",
    "_links",
];

fn select(v: &mut Value, paths: &[Vec<&str>]) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| select(i, paths)),
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if ALWAYS_KEPT.contains(&k.as_str()) {
                    continue;
                }
                let sub: Vec<Vec<&str>> = paths
                    .iter()
                    .filter(|p| p.first() == Some(&k.as_str()))
                    .map(|p| p[1..].to_vec())
                    .collect();
                if sub.is_empty() {
                    m.remove(&k);
                } else if sub.iter().any(|p| p.is_empty()) {
                    // selected as a whole
                } else if let Some(child) = m.get_mut(&k) {
                    select(child, &sub);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec() -> Value {
        json!({"id":"g1","ShipmentNbr":{"value":"000001"},"Status":{"value":"Open"},"Hold":{"value":false},
               "ShipVia":{"value":"UPSGROUND"},"LastModifiedDateTime":{"value":"2026-11-20T08:00:01.12+00:00"},
               "TrackingNbr":{},
               "ShippingSettings":{"ShipToAddressOverride":{"value":true},
                   "ShipToAddress":{"Country":{"value":"US"},"custom":{}}},
               "Packages":[{"id":"p1","TrackingNbr":{},"custom":{}}],
               "custom":{"Document":{"UsrCustomerPO":{"type":"CustomStringField","value":"PO-1"}}}})
    }

    #[test]
    fn filter_evaluates_the_connector_subset() {
        let r = rec();
        for (f, want) in [
            ("Status eq 'Open' and Hold eq false", true),
            (
                "(ShipVia eq 'UPSGROUND' or ShipVia eq 'UPS2DAY') and Status ne 'Confirmed'",
                true,
            ),
            (
                "LastModifiedDateTime ge datetimeoffset'2026-11-20T08:00:01.120+00:00'",
                true,
            ),
            (
                "LastModifiedDateTime gt datetimeoffset'2026-11-20T08:00:01.120+00:00'",
                false,
            ),
            (
                "LastModifiedDateTime lt datetimeoffset'2026-11-20T09:00:01+01:00'",
                false,
            ),
            ("ShippingSettings/ShipToAddress/Country eq 'US'", true),
            ("ShippingSettings.ShipToAddress.Country eq 'CA'", false),
            ("TrackingNbr eq null", true),
            ("not (Hold eq true)", true),
            ("ShipmentNbr eq 'O''Brien'", false),
        ] {
            assert_eq!(matches(&parse_filter(f).unwrap(), &r), want, "{f}");
        }
    }

    #[test]
    fn unencoded_plus_is_rejected_like_a_real_instance() {
        let q = QueryOpts::parse(Some(
            "$filter=LastModifiedDateTime%20gt%20datetimeoffset'2024-07-15T10:31:28.402+03:00'",
        ));
        assert!(q.unwrap_err().contains("date-time"));
        let q = QueryOpts::parse(Some(
            "$filter=LastModifiedDateTime%20gt%20datetimeoffset'2024-07-15T10%3A31%3A28.402%2B03%3A00'",
        ))
        .unwrap();
        assert!(q.filter.is_some());
    }

    #[test]
    fn expand_custom_and_select_shape_the_record() {
        let r = rec();
        let bare = shape(&r, &QueryOpts::default(), false);
        assert!(bare.get("Packages").is_none());
        assert!(bare.get("ShippingSettings").is_none());
        assert_eq!(bare["custom"], json!({}));
        let q = QueryOpts::parse(Some(
            "$expand=Packages,ShippingSettings/ShipToAddress&$custom=Document.UsrCustomerPO",
        ))
        .unwrap();
        let full = shape(&r, &q, false);
        assert_eq!(full["Packages"][0]["id"], "p1");
        assert_eq!(
            full["ShippingSettings"]["ShipToAddress"]["Country"]["value"],
            "US"
        );
        assert_eq!(full["custom"]["Document"]["UsrCustomerPO"]["value"], "PO-1");
        let q = QueryOpts::parse(Some("$select=ShipmentNbr,Status")).unwrap();
        let sel = shape(&r, &q, false);
        assert!(sel.get("ShipVia").is_none());
        assert_eq!(sel["Status"]["value"], "Open");
        assert_eq!(sel["id"], "g1");
    }
}
