//! Evaluating compiled expressions on a row: comparison with SQL's three-valued logic,
//! `LIKE`, and the value of every expression kind.

use super::*;

pub(super) fn cmp_vals(a: &Val, b: &Val) -> Result<Option<Ordering>, ExecError> {
    Ok(match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Str(x), Val::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Val::Ts(x), Val::Ts(y)) => Some(x.cmp(y)),
        (Val::Num(x), Val::Str(s)) => match s.trim().parse::<f64>() {
            Ok(y) => x.partial_cmp(&y),
            Err(_) => return fail(format!("Invalid number: '{s}'")),
        },
        (Val::Str(s), Val::Num(y)) => match s.trim().parse::<f64>() {
            Ok(x) => x.partial_cmp(y),
            Err(_) => return fail(format!("Invalid number: '{s}'")),
        },
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (x, y) => {
            return fail(format!(
                "Invalid or unsupported search: cannot compare {} with {}; wrap date literals in TO_DATE/TO_TIMESTAMP",
                x.type_name(),
                y.type_name()
            ))
        }
    })
}

pub(super) fn truth(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        _ => None,
    }
}

pub(super) fn like(text: &str, pattern: &str) -> bool {
    // % = any run, _ = one character.
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

pub(super) fn eval<'a>(e: &'a CExpr, rows: &[Option<Row<'a>>]) -> Result<Val<'a>, ExecError> {
    Ok(match e {
        CExpr::Col { slot, col } => match rows.get(*slot).copied().flatten() {
            Some(r) => column(r, *col),
            None => Val::Null,
        },
        CExpr::Builtin {
            slot,
            col,
            consolidated: cf,
        } => match rows.get(*slot).copied().flatten() {
            Some(r) if *cf => consolidated(r, *col),
            Some(r) => display(r, *col),
            None => Val::Null,
        },
        CExpr::Const(v) => match v {
            Val::Str(s) => Val::Str(Cow::Borrowed(s.as_ref())),
            other => other.clone(),
        },
        CExpr::Func(f, args) => {
            let a = args
                .iter()
                .map(|x| eval(x, rows))
                .collect::<Result<Vec<_>, _>>()?;
            let fmt_arg = |i: usize, default: &str| -> Result<String, ExecError> {
                match a.get(i) {
                    None => Ok(default.to_string()),
                    Some(Val::Str(s)) => Ok(s.to_string()),
                    Some(v) => fail(format!("Invalid format argument of type {}", v.type_name())),
                }
            };
            match f {
                Func::ToChar => match &a[0] {
                    Val::Null => Val::Null,
                    Val::Ts(t) => {
                        let cf = oracle_format(&fmt_arg(1, "MM/DD/YYYY")?)?;
                        Val::Str(Cow::Owned(t.format(&cf).to_string()))
                    }
                    v => v
                        .render()
                        .map(|s| Val::Str(Cow::Owned(s)))
                        .unwrap_or(Val::Null),
                },
                Func::ToTimestamp | Func::ToDate => match &a[0] {
                    Val::Null => Val::Null,
                    Val::Str(s) => {
                        let default = if *f == Func::ToDate {
                            "MM/DD/YYYY"
                        } else {
                            "MM/DD/YYYY HH24:MI:SS"
                        };
                        Val::Ts(parse_ts(s, &fmt_arg(1, default)?, *f == Func::ToDate)?)
                    }
                    Val::Ts(t) => Val::Ts(*t),
                    v => return fail(format!("Cannot convert {} to a date", v.type_name())),
                },
                Func::Nvl => {
                    let mut it = a.into_iter();
                    let first = it.next().unwrap_or(Val::Null);
                    if first == Val::Null {
                        it.next().unwrap_or(Val::Null)
                    } else {
                        first
                    }
                }
                Func::Upper | Func::Lower => match &a[0] {
                    Val::Null => Val::Null,
                    v => {
                        let s = v.render().unwrap_or_default();
                        Val::Str(Cow::Owned(if *f == Func::Upper {
                            s.to_uppercase()
                        } else {
                            s.to_lowercase()
                        }))
                    }
                },
            }
        }
        CExpr::Cmp(op, l, r) => {
            let (l, r) = (eval(l, rows)?, eval(r, rows)?);
            match cmp_vals(&l, &r)? {
                None => Val::Null,
                Some(o) => Val::Bool(match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                }),
            }
        }
        CExpr::And(a, b) => {
            let x = truth(&eval(a, rows)?);
            if x == Some(false) {
                return Ok(Val::Bool(false));
            }
            match (x, truth(&eval(b, rows)?)) {
                (_, Some(false)) => Val::Bool(false),
                (Some(true), Some(true)) => Val::Bool(true),
                _ => Val::Null,
            }
        }
        CExpr::Or(a, b) => {
            let x = truth(&eval(a, rows)?);
            if x == Some(true) {
                return Ok(Val::Bool(true));
            }
            match (x, truth(&eval(b, rows)?)) {
                (_, Some(true)) => Val::Bool(true),
                (Some(false), Some(false)) => Val::Bool(false),
                _ => Val::Null,
            }
        }
        CExpr::Not(a) => match truth(&eval(a, rows)?) {
            Some(b) => Val::Bool(!b),
            None => Val::Null,
        },
        CExpr::In(x, list, negated) => {
            let v = eval(x, rows)?;
            if v == Val::Null {
                return Ok(Val::Null);
            }
            let mut found = false;
            for item in list {
                if cmp_vals(&v, &eval(item, rows)?)? == Some(Ordering::Equal) {
                    found = true;
                    break;
                }
            }
            Val::Bool(found != *negated)
        }
        CExpr::IsNull(x, negated) => Val::Bool((eval(x, rows)? == Val::Null) != *negated),
        CExpr::Like(x, p, negated) => match (eval(x, rows)?, eval(p, rows)?) {
            (Val::Null, _) | (_, Val::Null) => Val::Null,
            (a, b) => Val::Bool(
                like(
                    &a.render().unwrap_or_default(),
                    &b.render().unwrap_or_default(),
                ) != *negated,
            ),
        },
        CExpr::Concat(a, b) => {
            let mut s = eval(a, rows)?.render().unwrap_or_default();
            s.push_str(&eval(b, rows)?.render().unwrap_or_default());
            Val::Str(Cow::Owned(s))
        }
    })
}

pub(super) fn as_id(v: &Val) -> Option<u64> {
    match v {
        Val::Num(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
        Val::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}
