//! Compiling a parsed query's expressions into [`CExpr`] against the tables' columns:
//! functions (`TO_CHAR`, `TO_DATE`, `BUILTIN.*`, …) and Oracle date formats.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    ToChar,
    ToTimestamp,
    ToDate,
    Nvl,
    Upper,
    Lower,
}

#[derive(Debug, Clone)]
pub(super) enum CExpr {
    Col {
        slot: usize,
        col: Col,
    },
    Builtin {
        slot: usize,
        col: Col,
        consolidated: bool,
    },
    Const(Val<'static>),
    Func(Func, Vec<CExpr>),
    Cmp(CmpOp, Box<CExpr>, Box<CExpr>),
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    Not(Box<CExpr>),
    In(Box<CExpr>, Vec<CExpr>, bool),
    IsNull(Box<CExpr>, bool),
    Like(Box<CExpr>, Box<CExpr>, bool),
    Concat(Box<CExpr>, Box<CExpr>),
}

/// Oracle date format → chrono format. Supports YYYY MM DD HH24 HH MI SS and separators.
pub(super) fn oracle_format(fmt: &str) -> Result<String, ExecError> {
    let up = fmt.to_ascii_uppercase();
    let mut out = String::new();
    let mut rest = up.as_str();
    while !rest.is_empty() {
        let (tok, chrono) = [
            ("YYYY", "%Y"),
            ("HH24", "%H"),
            ("HH", "%I"),
            ("MM", "%m"),
            ("DD", "%d"),
            ("MI", "%M"),
            ("SS", "%S"),
        ]
        .into_iter()
        .find(|(t, _)| rest.starts_with(t))
        .unwrap_or(("", ""));
        if !tok.is_empty() {
            out.push_str(chrono);
            rest = &rest[tok.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if matches!(c, '-' | ':' | ' ' | '/' | '.' | ',' | 'T') {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            return fail(format!(
                "Invalid date format '{fmt}': unsupported element at '{rest}'"
            ));
        }
    }
    Ok(out)
}

pub(super) fn parse_ts(text: &str, fmt: &str, date_only: bool) -> Result<NaiveDateTime, ExecError> {
    let cf = oracle_format(fmt)?;
    let bad = || {
        ExecError(format!(
            "Invalid date/time literal '{text}' for format '{fmt}'"
        ))
    };
    if let Ok(t) = NaiveDateTime::parse_from_str(text, &cf) {
        return Ok(t);
    }
    if date_only || !cf.contains("%H") {
        let d = NaiveDate::parse_from_str(text, &cf).map_err(|_| bad())?;
        return d.and_hms_opt(0, 0, 0).ok_or_else(bad);
    }
    Err(bad())
}

pub(super) struct Compiler<'q> {
    pub(super) slots: Vec<(Table, String)>,
    pub(super) _q: std::marker::PhantomData<&'q ()>,
}

impl Compiler<'_> {
    pub(super) fn column(
        &self,
        qualifier: &Option<String>,
        name: &str,
    ) -> Result<(usize, Col), ExecError> {
        match qualifier {
            Some(q) => {
                let slot = self
                    .slots
                    .iter()
                    .position(|(_, alias)| alias == q)
                    .ok_or_else(|| ExecError(format!("Unknown identifier '{q}.{name}'")))?;
                let table = self.slots[slot].0;
                let col = resolve(table, name).ok_or_else(|| {
                    ExecError(format!(
                        "Field '{name}' for record '{}' was not found. Reason: UNKNOWN_FIELD",
                        table.name()
                    ))
                })?;
                Ok((slot, col))
            }
            None => self
                .slots
                .iter()
                .enumerate()
                .find_map(|(i, (t, _))| resolve(*t, name).map(|c| (i, c)))
                .ok_or_else(|| ExecError(format!("Unknown identifier '{name}'"))),
        }
    }

    pub(super) fn compile(&self, e: &Expr) -> Result<CExpr, ExecError> {
        let c = match e {
            Expr::Column { qualifier, name } => {
                let (slot, col) = self.column(qualifier, name)?;
                CExpr::Col { slot, col }
            }
            Expr::Str(s) => CExpr::Const(Val::Str(Cow::Owned(s.clone()))),
            Expr::Num(n) => CExpr::Const(Val::Num(
                n.parse()
                    .map_err(|_| ExecError(format!("Invalid number '{n}'")))?,
            )),
            Expr::Null => CExpr::Const(Val::Null),
            Expr::Func { name, args } => {
                if name == "builtin.cf" || name == "builtin.df" {
                    let [Expr::Column {
                        qualifier,
                        name: cname,
                    }] = args.as_slice()
                    else {
                        return fail(format!(
                            "{} takes exactly one field argument",
                            name.to_uppercase()
                        ));
                    };
                    let (slot, col) = self.column(qualifier, cname)?;
                    return Ok(CExpr::Builtin {
                        slot,
                        col,
                        consolidated: name == "builtin.cf",
                    });
                }
                let (func, arity) = match name.as_str() {
                    "to_char" => (Func::ToChar, 1..=2),
                    "to_timestamp" => (Func::ToTimestamp, 1..=2),
                    "to_date" => (Func::ToDate, 1..=2),
                    "nvl" => (Func::Nvl, 2..=2),
                    "upper" => (Func::Upper, 1..=1),
                    "lower" => (Func::Lower, 1..=1),
                    other => return fail(format!("Unknown function '{}'", other.to_uppercase())),
                };
                if !arity.contains(&args.len()) {
                    return fail(format!(
                        "Wrong number of arguments for {}",
                        name.to_uppercase()
                    ));
                }
                let args = args
                    .iter()
                    .map(|a| self.compile(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let folded = CExpr::Func(func, args);
                // Constant-fold (TO_TIMESTAMP('…','…') becomes a timestamp once).
                if let CExpr::Func(_, a) = &folded {
                    if a.iter().all(|x| matches!(x, CExpr::Const(_))) {
                        let v = eval(&folded, &[])?.into_static();
                        return Ok(CExpr::Const(v));
                    }
                }
                folded
            }
            Expr::Cmp { op, left, right } => CExpr::Cmp(
                *op,
                Box::new(self.compile(left)?),
                Box::new(self.compile(right)?),
            ),
            Expr::And(a, b) => CExpr::And(Box::new(self.compile(a)?), Box::new(self.compile(b)?)),
            Expr::Or(a, b) => CExpr::Or(Box::new(self.compile(a)?), Box::new(self.compile(b)?)),
            Expr::Not(a) => CExpr::Not(Box::new(self.compile(a)?)),
            Expr::In {
                expr,
                list,
                negated,
            } => CExpr::In(
                Box::new(self.compile(expr)?),
                list.iter()
                    .map(|x| self.compile(x))
                    .collect::<Result<_, _>>()?,
                *negated,
            ),
            Expr::IsNull { expr, negated } => {
                CExpr::IsNull(Box::new(self.compile(expr)?), *negated)
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => CExpr::Like(
                Box::new(self.compile(expr)?),
                Box::new(self.compile(pattern)?),
                *negated,
            ),
            Expr::Concat(a, b) => {
                CExpr::Concat(Box::new(self.compile(a)?), Box::new(self.compile(b)?))
            }
        };
        Ok(c)
    }
}
