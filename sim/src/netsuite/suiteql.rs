//! SuiteQL subset parser for the NetSuite simulator: tokenizer + recursive descent.
//!
//! Grammar (case-insensitive keywords; enough for the connector profile's queries, see
//! ERP-NOTES.md §N3 (in the specs, see `docs/specs.md`)):
//!
//! ```text
//! query    := SELECT item (',' item)* FROM table (join)* [WHERE expr] [ORDER BY order (',' order)*] [';']
//! item     := expr [[AS] alias]
//! table    := ident [[AS] alias]
//! join     := [INNER | LEFT [OUTER]] JOIN table ON expr
//! order    := expr [ASC | DESC]
//! expr     := and (OR and)*
//! and      := not (AND not)*
//! not      := NOT not | cmp
//! cmp      := sum [ (=|<>|!=|<|<=|>|>=) sum | [NOT] IN '(' expr (',' expr)* ')'
//!                 | IS [NOT] NULL | [NOT] LIKE sum ]
//! sum      := atom ('||' atom)*
//! atom     := literal | NULL | name ['.' name] | func '(' [expr (',' expr)*] ')' | '(' expr ')' | '-' number
//! func     := name | BUILTIN '.' name
//! ```
//!
//! This module only parses; it never touches the simulator's data. It has its own error
//! type with the byte position, and must never panic on any input (it will be fuzzed).

use std::fmt;

/// A parse failure, with the byte offset where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct SuiteQlError {
    pub message: String,
    pub position: usize,
}

fn err<T>(message: impl Into<String>, position: usize) -> Result<T, SuiteQlError> {
    Err(SuiteQlError {
        message: message.into(),
        position,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, SuiteQlError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                pos: start,
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let text = &src[start..i];
            if text.matches('.').count() > 1 || text.ends_with('.') {
                return err(format!("malformed number '{text}'"), start);
            }
            out.push(Token {
                tok: Tok::Num(text.to_string()),
                pos: start,
            });
            continue;
        }
        if c == b'\'' {
            i += 1;
            let mut s = String::new();
            loop {
                match src[i..].find('\'') {
                    None => return err("unterminated string literal", start),
                    Some(k) => {
                        s.push_str(&src[i..i + k]);
                        i += k + 1;
                        if bytes.get(i) == Some(&b'\'') {
                            s.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                pos: start,
            });
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let sym: &'static str = match two {
            "<=" => "<=",
            ">=" => ">=",
            "<>" => "<>",
            "!=" => "!=",
            "||" => "||",
            _ => match c {
                b'=' => "=",
                b'<' => "<",
                b'>' => ">",
                b'(' => "(",
                b')' => ")",
                b',' => ",",
                b'.' => ".",
                b'*' => "*",
                b';' => ";",
                b'-' => "-",
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return err(format!("unexpected character '{ch}'"), start);
                }
            },
        };
        i += sym.len();
        out.push(Token {
            tok: Tok::Sym(sym),
            pos: start,
        });
    }
    out.push(Token {
        tok: Tok::End,
        pos: src.len(),
    });
    Ok(out)
}

/// A parsed SELECT statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: TableRef,
    pub joins: Vec<Join>,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    /// Lowercased alias.
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    /// Lowercased table name.
    pub table: String,
    /// Lowercased alias.
    pub alias: Option<String>,
}

impl TableRef {
    /// The name columns are qualified with (alias, else table name).
    pub fn qualifier(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.table)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub table: TableRef,
    pub on: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `[qualifier.]name`, lowercased.
    Column {
        qualifier: Option<String>,
        name: String,
    },
    Str(String),
    Num(String),
    Null,
    /// Lowercased function name (`to_char`, `builtin.cf`, …).
    Func {
        name: String,
        args: Vec<Expr>,
    },
    Cmp {
        op: CmpOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    Concat(Box<Expr>, Box<Expr>),
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        })
    }
}

const RESERVED: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "join", "left", "inner", "outer", "on",
    "as", "order", "by", "asc", "desc", "is", "null", "like", "right", "full", "group", "having",
    "union",
];

fn is_reserved(s: &str) -> bool {
    RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i].pos
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].tok.clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SuiteQlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            err(
                format!(
                    "expected {} but found {}",
                    kw.to_uppercase(),
                    self.describe()
                ),
                self.pos(),
            )
        }
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), SuiteQlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            err(
                format!("expected '{s}' but found {}", self.describe()),
                self.pos(),
            )
        }
    }
    fn describe(&self) -> String {
        match self.peek() {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Sym(s) => format!("'{s}'"),
            Tok::End => "end of query".to_string(),
        }
    }
    fn ident(&mut self, what: &str) -> Result<String, SuiteQlError> {
        match self.peek().clone() {
            Tok::Ident(s) if !is_reserved(&s) => {
                self.bump();
                Ok(s.to_ascii_lowercase())
            }
            _ => err(
                format!("expected {what} but found {}", self.describe()),
                self.pos(),
            ),
        }
    }

    fn query(&mut self) -> Result<Query, SuiteQlError> {
        self.expect_kw("select")?;
        let mut select = Vec::new();
        loop {
            if self.is_sym("*") {
                return err(
                    "SELECT * is not supported by this simulator; name the columns",
                    self.pos(),
                );
            }
            let expr = self.expr()?;
            let alias = self.alias()?;
            select.push(SelectItem { expr, alias });
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_kw("from")?;
        let from = self.table()?;
        let mut joins = Vec::new();
        loop {
            let kind = if self.eat_kw("left") {
                self.eat_kw("outer");
                JoinKind::Left
            } else if self.eat_kw("inner") || self.is_kw("join") {
                JoinKind::Inner
            } else if self.is_kw("right") || self.is_kw("full") {
                return err(
                    "only [INNER] JOIN and LEFT [OUTER] JOIN are supported",
                    self.pos(),
                );
            } else {
                break;
            };
            self.expect_kw("join")?;
            let table = self.table()?;
            self.expect_kw("on")?;
            let on = self.expr()?;
            joins.push(Join { kind, table, on });
        }
        let filter = if self.eat_kw("where") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("order") {
            self.expect_kw("by")?;
            loop {
                let expr = self.expr()?;
                let descending = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                order_by.push(OrderItem { expr, descending });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.eat_sym(";");
        if *self.peek() != Tok::End {
            return err(
                format!("unexpected {} after the end of the query", self.describe()),
                self.pos(),
            );
        }
        Ok(Query {
            select,
            from,
            joins,
            filter,
            order_by,
        })
    }

    fn alias(&mut self) -> Result<Option<String>, SuiteQlError> {
        if self.eat_kw("as") {
            return Ok(Some(self.ident("an alias")?));
        }
        match self.peek() {
            Tok::Ident(s) if !is_reserved(s) => Ok(Some(self.ident("an alias")?)),
            _ => Ok(None),
        }
    }

    fn table(&mut self) -> Result<TableRef, SuiteQlError> {
        let table = self.ident("a table name")?;
        let alias = self.alias()?;
        Ok(TableRef { table, alias })
    }

    fn enter(&mut self) -> Result<(), SuiteQlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("expression nested too deeply", self.pos());
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, SuiteQlError> {
        self.enter()?;
        let mut left = self.and()?;
        while self.eat_kw("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SuiteQlError> {
        let mut left = self.not()?;
        while self.eat_kw("and") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SuiteQlError> {
        if self.eat_kw("not") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, SuiteQlError> {
        let left = self.sum()?;
        let op = match self.peek() {
            Tok::Sym("=") => Some(CmpOp::Eq),
            Tok::Sym("<>") | Tok::Sym("!=") => Some(CmpOp::Ne),
            Tok::Sym("<") => Some(CmpOp::Lt),
            Tok::Sym("<=") => Some(CmpOp::Le),
            Tok::Sym(">") => Some(CmpOp::Gt),
            Tok::Sym(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let right = self.sum()?;
            return Ok(Expr::Cmp {
                op,
                left: Box::new(left),
                right: Box::new(right),
            });
        }
        if self.eat_kw("is") {
            let negated = self.eat_kw("not");
            self.expect_kw("null")?;
            return Ok(Expr::IsNull {
                expr: Box::new(left),
                negated,
            });
        }
        let negated = self.eat_kw("not");
        if self.eat_kw("in") {
            self.expect_sym("(")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            return Ok(Expr::In {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.eat_kw("like") {
            let pattern = self.sum()?;
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                negated,
            });
        }
        if negated {
            return err(
                format!(
                    "expected IN or LIKE after NOT but found {}",
                    self.describe()
                ),
                self.pos(),
            );
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Expr, SuiteQlError> {
        let mut left = self.atom()?;
        while self.eat_sym("||") {
            let right = self.atom()?;
            left = Expr::Concat(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, SuiteQlError> {
        let pos = self.pos();
        match self.bump() {
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Sym("-") => match self.bump() {
                Tok::Num(n) => Ok(Expr::Num(format!("-{n}"))),
                _ => err("expected a number after '-'", pos),
            },
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Ok(Expr::Null),
            Tok::Ident(s) if !is_reserved(&s) => {
                let first = s.to_ascii_lowercase();
                let mut name = first.clone();
                let mut qualifier = None;
                if self.eat_sym(".") {
                    let second = self.ident("a column name after '.'")?;
                    qualifier = Some(first);
                    name = second;
                }
                if self.eat_sym("(") {
                    let fname = match qualifier {
                        Some(q) => format!("{q}.{name}"),
                        None => name,
                    };
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_sym(",") {
                                break;
                            }
                        }
                        self.expect_sym(")")?;
                    }
                    return Ok(Expr::Func { name: fname, args });
                }
                Ok(Expr::Column { qualifier, name })
            }
            Tok::Ident(s) => err(format!("unexpected keyword '{}'", s.to_uppercase()), pos),
            Tok::Sym(s) => err(format!("unexpected '{s}'"), pos),
            Tok::End => err("unexpected end of query", pos),
        }
    }
}

/// Parse one SuiteQL SELECT statement.
pub fn parse(src: &str) -> Result<Query, SuiteQlError> {
    if src.len() > 100_000 {
        return err("query text longer than 100000 characters", 0);
    }
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    p.query()
}

/// Split an expression into its top-level AND conjuncts.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::And(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            other => out.push(other),
        }
    }
    walk(e, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_profile_query_shape() {
        let q = parse(
            "SELECT t.id, BUILTIN.CF(t.status) AS status, TO_CHAR(t.lastmodifieddate,'YYYY-MM-DD HH24:MI:SS') lastmod \
             FROM transaction t JOIN transactionline ml ON ml.transaction = t.id AND ml.mainline = 'T' \
             LEFT OUTER JOIN transactionShippingAddress sa ON sa.nkey = t.shippingaddress \
             WHERE t.type = 'ItemShip' AND BUILTIN.CF(t.status) IN ('ItemShip:A','ItemShip:B') \
             AND (t.lastmodifieddate > TO_TIMESTAMP('2026-11-21 10:15:03','YYYY-MM-DD HH24:MI:SS') \
               OR (t.lastmodifieddate = TO_TIMESTAMP('2026-11-21 10:15:03','YYYY-MM-DD HH24:MI:SS') AND t.id > 5123)) \
             ORDER BY t.lastmodifieddate, t.id DESC;",
        )
        .unwrap();
        assert_eq!(q.select.len(), 3);
        assert_eq!(q.select[2].alias.as_deref(), Some("lastmod"));
        assert_eq!(q.from.qualifier(), "t");
        assert_eq!(q.joins.len(), 2);
        assert_eq!(q.joins[1].kind, JoinKind::Left);
        assert_eq!(q.joins[1].table.table, "transactionshippingaddress");
        assert_eq!(conjuncts(q.filter.as_ref().unwrap()).len(), 3);
        assert!(q.order_by[1].descending);
        assert!(matches!(&q.select[1].expr, Expr::Func { name, .. } if name == "builtin.cf"));
    }

    #[test]
    fn string_escapes_and_comments() {
        let q = parse("select 'O''Brien' as n from transaction -- trailing\n").unwrap();
        assert_eq!(q.select[0].expr, Expr::Str("O'Brien".into()));
    }

    #[test]
    fn errors_carry_positions() {
        for (bad, pos) in [
            ("SELECT FROM transaction", 7),
            ("SELECT id FROM", 14),
            ("SELECT id FROM transaction WHERE id = 'x", 38),
            ("SELECT id FROM transaction t WHERE t.id >", 41),
            ("SELECT id FROM transaction extra junk", 33),
            ("SELECT * FROM transaction", 7),
            ("SELECT id FROM transaction WHERE id # 3", 36),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.position, pos, "{bad}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let q = format!(
            "SELECT id FROM transaction WHERE {}1=1{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(parse(&q).is_err());
        let q = format!("SELECT id FROM transaction WHERE {}1=1", "NOT ".repeat(500));
        assert!(parse(&q).is_err());
    }

    #[test]
    fn never_panics_on_prefixes() {
        let src = "SELECT t.id, BUILTIN.DF(t.entity) e FROM transaction t LEFT JOIN x y ON y.a = t.b WHERE NOT t.id IN (1, -2.5) OR t.c IS NOT NULL AND t.d LIKE 'a%' || 'b' ORDER BY 1 DESC";
        for i in 0..src.len() {
            let _ = parse(&src[..i]);
        }
        assert!(parse(src).is_ok());
        let _ = parse("'ünïcödé' ∑ SELECT");
    }
}
