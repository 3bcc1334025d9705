//! SuiteQL execution for the NetSuite simulator: tables as views over the [`Store`],
//! a small planner (index lookups, keyset range scans) and an evaluator.
//!
//! Tables (lowercase; names as in `../shared/specs/ERP-NOTES.md` §N3):
//! * `transaction` — one row per item fulfillment (`type = 'ItemShip'`), `status` letter
//!   (`BUILTIN.CF` → `ItemShip:B`, `BUILTIN.DF` → `Packed`), `shipmethod` internal id
//!   (`BUILTIN.DF` → `UPS Ground`), `lastmodifieddate` (raw output is the account date
//!   preference `M/D/YYYY` without the time: use `TO_CHAR`), `custbody_ups_*`.
//! * `transactionline` — the mainline row (`mainline = 'T'`, `createdfrom`, `location`)
//!   and one row per item (`mainline = 'F'`, `item`, `memo`, `quantity`, `rate`, `custcol_*`).
//! * `transactionshippingaddress` — ship-to address by `nkey` (= `transaction.shippingaddress`).
//! * `itemfulfillmentpackage` — the lines of the package sublist the record carries
//!   (`package`, `packageUps`, `packageFedex` or `packageUsps`; `itemfulfillment`, `line`,
//!   `packageweight`, …; `line` is the 1-based position in that sublist). NetSuite's real SuiteQL exposure of package lines is
//!   **[UNVERIFIED]**; this table is the simulator's model, the connector profile names it.
//!
//! Speed: a full-scan plan's matching rows are cached per (plan without the keyset bound,
//! store generation); a keyset page is then a binary search plus a slice, so reading
//! 120,000 records by keyset costs one scan, not one scan per page.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime};

use super::store::{ship_method_name, Fulfillment, Store, CUSTBODY_FIELDS};
use super::suiteql::{conjuncts, CmpOp, Expr, JoinKind, Query};

/// A query that parses but cannot run (unknown table/column, type mismatch, bad format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, ExecError> {
    Err(ExecError(msg.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Transaction,
    Line,
    Addr,
    Package,
}

impl Table {
    fn from_name(name: &str) -> Option<Table> {
        match name {
            "transaction" => Some(Table::Transaction),
            "transactionline" => Some(Table::Line),
            "transactionshippingaddress" => Some(Table::Addr),
            "itemfulfillmentpackage" => Some(Table::Package),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Table::Transaction => "transaction",
            Table::Line => "transactionline",
            Table::Addr => "transactionShippingAddress",
            Table::Package => "itemfulfillmentpackage",
        }
    }
}

const ADDR_FIELDS: &[&str] = &[
    "addressee",
    "attention",
    "addr1",
    "addr2",
    "addr3",
    "city",
    "state",
    "zip",
    "country",
    "addrphone",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    TId,
    TTranid,
    TType,
    TStatus,
    TShipmethod,
    TShipcarrier,
    TEntity,
    TEmail,
    TCurrency,
    TOtherrefnum,
    TTrandate,
    TLastmod,
    TShipaddr,
    TCustom(usize),
    LTransaction,
    LSeq,
    LMainline,
    LCreatedfrom,
    LLocation,
    LItem,
    LMemo,
    LQuantity,
    LRate,
    LHs,
    LOrigin,
    LItemtype,
    ANkey,
    AField(usize),
    PParent,
    PLine,
    PWeight,
    PDescr,
    PLength,
    PWidth,
    PHeight,
    PDeclared,
    PTracking,
    PCarton,
}

fn resolve(table: Table, name: &str) -> Option<Col> {
    use Col::*;
    Some(match table {
        Table::Transaction => match name {
            "id" => TId,
            "tranid" => TTranid,
            "type" | "recordtype" => TType,
            "status" => TStatus,
            "shipmethod" => TShipmethod,
            "shipcarrier" => TShipcarrier,
            "entity" => TEntity,
            "email" => TEmail,
            "currency" => TCurrency,
            "otherrefnum" => TOtherrefnum,
            "trandate" => TTrandate,
            "lastmodifieddate" => TLastmod,
            "shippingaddress" => TShipaddr,
            n => TCustom(CUSTBODY_FIELDS.iter().position(|c| *c == n)?),
        },
        Table::Line => match name {
            "transaction" => LTransaction,
            "linesequencenumber" | "id" => LSeq,
            "mainline" => LMainline,
            "createdfrom" => LCreatedfrom,
            "location" => LLocation,
            "item" => LItem,
            "memo" => LMemo,
            "quantity" => LQuantity,
            "rate" => LRate,
            "custcol_hs_code" => LHs,
            "custcol_origin_country" => LOrigin,
            "itemtype" => LItemtype,
            _ => return None,
        },
        Table::Addr => match name {
            "nkey" => ANkey,
            n => AField(ADDR_FIELDS.iter().position(|c| *c == n)?),
        },
        Table::Package => match name {
            "itemfulfillment" => PParent,
            "line" => PLine,
            "packageweight" => PWeight,
            "packagedescr" => PDescr,
            "packagelength" => PLength,
            "packagewidth" => PWidth,
            "packageheight" => PHeight,
            "declaredvalue" => PDeclared,
            "packagetrackingnumber" => PTracking,
            "packagecartonnumber" => PCarton,
            _ => return None,
        },
    })
}

/// Which part of a fulfillment a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Txn,
    /// 0 = mainline, k = item line k.
    Line(u32),
    Addr,
    /// 0-based package index.
    Pkg(u32),
}

type RowId = (u64, Part);
type Row<'a> = (&'a Fulfillment, Part);

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    Num(f64),
    Ts(NaiveDateTime),
    Bool(bool),
}

impl Val<'_> {
    fn into_static(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Num(n) => Val::Num(n),
            Val::Ts(t) => Val::Ts(t),
            Val::Bool(b) => Val::Bool(b),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "NULL",
            Val::Str(_) => "text",
            Val::Num(_) => "number",
            Val::Ts(_) => "date/time",
            Val::Bool(_) => "boolean",
        }
    }

    /// The string NetSuite would send for this value (`None` = column omitted).
    fn render(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Str(s) => Some(s.to_string()),
            Val::Num(n) => Some(fmt_num(*n)),
            // The account's date preference (M/D/YYYY); the time is not shown.
            Val::Ts(t) => Some(t.format("%-m/%-d/%Y").to_string()),
            Val::Bool(b) => Some(if *b { "T" } else { "F" }.to_string()),
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn opt_str(s: &Option<String>) -> Val<'_> {
    match s {
        Some(s) => Val::Str(Cow::Borrowed(s.as_str())),
        None => Val::Null,
    }
}

fn opt_num(n: Option<f64>) -> Val<'static> {
    n.map(Val::Num).unwrap_or(Val::Null)
}

fn borrowed(s: &str) -> Val<'_> {
    Val::Str(Cow::Borrowed(s))
}

fn column<'a>(row: Row<'a>, col: Col) -> Val<'a> {
    use Col::*;
    let (f, part) = row;
    let item = |k: u32| {
        if k == 0 {
            None
        } else {
            f.items.get(k as usize - 1)
        }
    };
    let pkg = |k: u32| f.packages.get(k as usize);
    let part_no = match part {
        Part::Line(k) | Part::Pkg(k) => k,
        _ => 0,
    };
    match col {
        TId => Val::Num(f.id as f64),
        TTranid => borrowed(&f.tranid),
        TType => borrowed("ItemShip"),
        TStatus => Val::Str(Cow::Owned(f.status.to_string())),
        TShipmethod => Val::Num(f64::from(f.shipmethod)),
        TShipcarrier => borrowed(if f.shipmethod < 200 { "ups" } else { "nonups" }),
        TEntity => Val::Num(f.entity_id as f64),
        TEmail => opt_str(&f.email),
        TCurrency => Val::Num(if f.currency == "CAD" { 3.0 } else { 1.0 }),
        TOtherrefnum => opt_str(&f.otherrefnum),
        TTrandate => Val::Ts(f.trandate.and_hms_opt(0, 0, 0).unwrap_or_default()),
        TLastmod => Val::Ts(f.lastmodified),
        TShipaddr => Val::Num(f.address_nkey() as f64),
        TCustom(i) => f
            .custom
            .get(CUSTBODY_FIELDS[i])
            .map(opt_str)
            .unwrap_or(Val::Null),
        LTransaction | PParent => Val::Num(f.id as f64),
        LSeq => Val::Num(f64::from(part_no)),
        LMainline => borrowed(if part_no == 0 { "T" } else { "F" }),
        LCreatedfrom => Val::Num(f.createdfrom_id as f64),
        LLocation => f.location.parse::<f64>().map(Val::Num).unwrap_or(Val::Null),
        LItem => item(part_no)
            .map(|i| Val::Num(i.item_id as f64))
            .unwrap_or(Val::Null),
        LMemo => item(part_no)
            .map(|i| opt_str(&i.description))
            .unwrap_or(Val::Null),
        LQuantity => item(part_no)
            .map(|i| Val::Num(i.quantity))
            .unwrap_or(Val::Null),
        LRate => item(part_no).map(|i| Val::Num(i.rate)).unwrap_or(Val::Null),
        LHs => item(part_no)
            .map(|i| opt_str(&i.hs_code))
            .unwrap_or(Val::Null),
        LOrigin => item(part_no)
            .map(|i| opt_str(&i.origin_country))
            .unwrap_or(Val::Null),
        LItemtype => item(part_no)
            .map(|_| borrowed("InvtPart"))
            .unwrap_or(Val::Null),
        ANkey => Val::Num(f.address_nkey() as f64),
        AField(i) => {
            let a = &f.shipaddress;
            opt_str(match i {
                0 => &a.addressee,
                1 => &a.attention,
                2 => &a.addr1,
                3 => &a.addr2,
                4 => &a.addr3,
                5 => &a.city,
                6 => &a.state,
                7 => &a.zip,
                8 => &a.country,
                _ => &a.addrphone,
            })
        }
        PLine => Val::Num(f64::from(part_no + 1)),
        PWeight => pkg(part_no)
            .map(|p| Val::Num(p.weight))
            .unwrap_or(Val::Null),
        PDescr => pkg(part_no).map(|p| opt_str(&p.descr)).unwrap_or(Val::Null),
        PLength => pkg(part_no).map(|p| opt_num(p.length)).unwrap_or(Val::Null),
        PWidth => pkg(part_no).map(|p| opt_num(p.width)).unwrap_or(Val::Null),
        PHeight => pkg(part_no).map(|p| opt_num(p.height)).unwrap_or(Val::Null),
        PDeclared => pkg(part_no)
            .map(|p| opt_num(p.declared_value))
            .unwrap_or(Val::Null),
        PTracking => pkg(part_no)
            .map(|p| opt_str(&p.tracking))
            .unwrap_or(Val::Null),
        PCarton => pkg(part_no)
            .map(|p| opt_str(&p.carton))
            .unwrap_or(Val::Null),
    }
}

/// `BUILTIN.DF` (display text) of a column.
fn display<'a>(row: Row<'a>, col: Col) -> Val<'a> {
    let (f, part) = row;
    match col {
        Col::TStatus => borrowed(f.status_df()),
        Col::TShipmethod => borrowed(ship_method_name(f.shipmethod)),
        Col::TEntity => borrowed(&f.entity),
        Col::TCurrency => borrowed(&f.currency),
        Col::LCreatedfrom => borrowed(&f.createdfrom),
        Col::LLocation => borrowed(match f.location.as_str() {
            "1" => "MAIN",
            "2" => "WEST",
            _ => "",
        }),
        Col::LItem => match part {
            Part::Line(k) if k > 0 => f
                .items
                .get(k as usize - 1)
                .map(|i| borrowed(&i.item))
                .unwrap_or(Val::Null),
            _ => Val::Null,
        },
        c => column(row, c),
    }
}

/// `BUILTIN.CF` (consolidated form) of a column.
fn consolidated<'a>(row: Row<'a>, col: Col) -> Val<'a> {
    match col {
        Col::TStatus => Val::Str(Cow::Owned(row.0.status_cf())),
        c => column(row, c),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    ToChar,
    ToTimestamp,
    ToDate,
    Nvl,
    Upper,
    Lower,
}

#[derive(Debug, Clone)]
enum CExpr {
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
fn oracle_format(fmt: &str) -> Result<String, ExecError> {
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

fn parse_ts(text: &str, fmt: &str, date_only: bool) -> Result<NaiveDateTime, ExecError> {
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

struct Compiler<'q> {
    slots: Vec<(Table, String)>,
    _q: std::marker::PhantomData<&'q ()>,
}

impl Compiler<'_> {
    fn column(&self, qualifier: &Option<String>, name: &str) -> Result<(usize, Col), ExecError> {
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

    fn compile(&self, e: &Expr) -> Result<CExpr, ExecError> {
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

fn cmp_vals(a: &Val, b: &Val) -> Result<Option<Ordering>, ExecError> {
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

fn truth(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        _ => None,
    }
}

fn like(text: &str, pattern: &str) -> bool {
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

fn eval<'a>(e: &'a CExpr, rows: &[Option<Row<'a>>]) -> Result<Val<'a>, ExecError> {
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

fn as_id(v: &Val) -> Option<u64> {
    match v {
        Val::Num(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
        Val::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How the rows of a slot are found.
#[derive(Debug, Clone)]
enum Access {
    /// Every row of the table.
    Scan,
    /// Rows whose owning fulfillment id is one of these (literal `IN`/`=` on the key column).
    Keys(Vec<u64>),
}

struct Slot {
    table: Table,
    kind: JoinKind,
    on: Option<CExpr>,
    /// Key expression over earlier slots that gives this slot's owning fulfillment id.
    lookup: Option<CExpr>,
}

/// Is `col` the column that identifies the owning fulfillment of rows of `table`?
fn key_col(table: Table, col: Col) -> bool {
    matches!(
        (table, col),
        (Table::Transaction, Col::TId)
            | (Table::Line, Col::LTransaction)
            | (Table::Package, Col::PParent)
            | (Table::Addr, Col::ANkey)
    )
}

fn owner_from_key(table: Table, key: u64) -> u64 {
    match table {
        Table::Addr => key.wrapping_sub(900_000_000),
        _ => key,
    }
}

fn uses_only_slots_below(e: &CExpr, limit: usize) -> bool {
    match e {
        CExpr::Col { slot, .. } | CExpr::Builtin { slot, .. } => *slot < limit,
        CExpr::Const(_) => true,
        CExpr::Func(_, a) => a.iter().all(|x| uses_only_slots_below(x, limit)),
        CExpr::Cmp(_, a, b)
        | CExpr::And(a, b)
        | CExpr::Or(a, b)
        | CExpr::Like(a, b, _)
        | CExpr::Concat(a, b) => uses_only_slots_below(a, limit) && uses_only_slots_below(b, limit),
        CExpr::Not(a) | CExpr::IsNull(a, _) => uses_only_slots_below(a, limit),
        CExpr::In(a, l, _) => {
            uses_only_slots_below(a, limit) && l.iter().all(|x| uses_only_slots_below(x, limit))
        }
    }
}

fn all_rows(f: &Fulfillment, table: Table, out: &mut Vec<Part>) {
    match table {
        Table::Transaction => out.push(Part::Txn),
        Table::Addr => out.push(Part::Addr),
        Table::Line => out.extend((0..=f.items.len() as u32).map(Part::Line)),
        Table::Package => out.extend((0..f.packages.len() as u32).map(Part::Pkg)),
    }
}

/// The keyset lower bound found in WHERE, as a bound on `(lastmodifieddate, id)`.
type KeyBound = Bound<(NaiveDateTime, u64)>;

fn const_ts(e: &CExpr) -> Option<NaiveDateTime> {
    match e {
        CExpr::Const(Val::Ts(t)) => Some(*t),
        _ => None,
    }
}

fn is_col(e: &CExpr, want: Col) -> bool {
    matches!(e, CExpr::Col { slot: 0, col } if *col == want)
}

/// Recognise `lm > TS`, `lm >= TS` and `(lm > TS OR (lm = TS AND id > N))` on slot 0.
fn keyset_bound(e: &CExpr) -> Option<KeyBound> {
    match e {
        CExpr::Cmp(CmpOp::Gt, l, r) if is_col(l, Col::TLastmod) => {
            Some(Bound::Excluded((const_ts(r)?, u64::MAX)))
        }
        CExpr::Cmp(CmpOp::Ge, l, r) if is_col(l, Col::TLastmod) => {
            Some(Bound::Included((const_ts(r)?, 0)))
        }
        CExpr::Or(a, b) => {
            let CExpr::Cmp(CmpOp::Gt, l1, r1) = a.as_ref() else {
                return None;
            };
            let CExpr::And(x, y) = b.as_ref() else {
                return None;
            };
            let (CExpr::Cmp(CmpOp::Eq, l2, r2), CExpr::Cmp(CmpOp::Gt, l3, r3)) =
                (x.as_ref(), y.as_ref())
            else {
                return None;
            };
            if !(is_col(l1, Col::TLastmod) && is_col(l2, Col::TLastmod) && is_col(l3, Col::TId)) {
                return None;
            }
            let ts = const_ts(r1)?;
            if const_ts(r2)? != ts {
                return None;
            }
            let CExpr::Const(Val::Num(n)) = r3.as_ref() else {
                return None;
            };
            if *n < 0.0 || n.fract() != 0.0 {
                return None;
            }
            Some(Bound::Excluded((ts, *n as u64)))
        }
        _ => None,
    }
}

/// Literal key list from `col = lit` / `col IN (lits)` on slot 0's key column.
fn literal_keys(e: &CExpr, table: Table) -> Option<Vec<u64>> {
    match e {
        CExpr::Cmp(CmpOp::Eq, l, r) => match (l.as_ref(), r.as_ref()) {
            (CExpr::Col { slot: 0, col }, CExpr::Const(v)) if key_col(table, *col) => {
                Some(vec![as_id(v)?])
            }
            _ => None,
        },
        CExpr::In(x, list, false) => match x.as_ref() {
            CExpr::Col { slot: 0, col } if key_col(table, *col) => list
                .iter()
                .map(|i| match i {
                    CExpr::Const(v) => as_id(v),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
        _ => None,
    }
}

struct Plan {
    slots: Vec<Slot>,
    filter: Vec<CExpr>,
    access: Access,
    keyset: Option<KeyBound>,
    order: Vec<(CExpr, bool)>,
    /// The scan order already satisfies ORDER BY.
    presorted: bool,
    select: Vec<(String, CExpr)>,
    cache_key: String,
}

fn plan(q: &Query) -> Result<Plan, ExecError> {
    let mut names = Vec::new();
    for t in std::iter::once(&q.from).chain(q.joins.iter().map(|j| &j.table)) {
        let table = Table::from_name(&t.table).ok_or_else(|| {
            ExecError(format!(
                "Record '{}' was not found. Reason: UNKNOWN_RECORD",
                t.table
            ))
        })?;
        let qual = t.qualifier().to_string();
        if names.iter().any(|(_, q)| *q == qual) {
            return fail(format!("Duplicate table alias '{qual}'"));
        }
        names.push((table, qual));
    }
    let c = Compiler {
        slots: names.clone(),
        _q: std::marker::PhantomData,
    };
    let mut slots = vec![Slot {
        table: names[0].0,
        kind: JoinKind::Inner,
        on: None,
        lookup: None,
    }];
    for (k, j) in q.joins.iter().enumerate() {
        let slot = k + 1;
        let table = names[slot].0;
        let on = c.compile(&j.on)?;
        if !uses_only_slots_below(&on, slot + 1) {
            return fail(format!(
                "ON condition of '{}' refers to a table joined later",
                j.table.qualifier()
            ));
        }
        let mut lookup = None;
        for part in conjuncts(&j.on) {
            if let CExpr::Cmp(CmpOp::Eq, l, r) = c.compile(part)? {
                for (a, b) in [(&l, &r), (&r, &l)] {
                    if let CExpr::Col { slot: s, col } = a.as_ref() {
                        if *s == slot && key_col(table, *col) && uses_only_slots_below(b, slot) {
                            lookup = Some((**b).clone());
                        }
                    }
                }
            }
            if lookup.is_some() {
                break;
            }
        }
        slots.push(Slot {
            table,
            kind: j.kind,
            on: Some(on),
            lookup,
        });
    }
    let base = names[0].0;
    let order: Vec<(CExpr, bool)> = q
        .order_by
        .iter()
        .map(|o| Ok((c.compile(&o.expr)?, o.descending)))
        .collect::<Result<_, ExecError>>()?;
    let order_is_keyset = base == Table::Transaction
        && order.len() == 2
        && !order[0].1
        && !order[1].1
        && is_col(&order[0].0, Col::TLastmod)
        && is_col(&order[1].0, Col::TId);
    let presorted = order.is_empty()
        || (base == Table::Transaction
            && !order[0].1
            && is_col(&order[0].0, Col::TLastmod)
            && (order.len() == 1 || order_is_keyset));

    let mut filter = Vec::new();
    let mut residual_text = Vec::new();
    let mut access = Access::Scan;
    let mut keyset = None;
    if let Some(w) = &q.filter {
        for part in conjuncts(w) {
            let ce = c.compile(part)?;
            // A constant-true conjunct (`1 = 1`, the first keyset page) filters nothing.
            if uses_only_slots_below(&ce, 0) && truth(&eval(&ce, &[])?) == Some(true) {
                continue;
            }
            if matches!(access, Access::Scan) {
                if let Some(keys) = literal_keys(&ce, base) {
                    // The key lookup yields exactly the rows this conjunct admits.
                    access = Access::Keys(keys);
                    residual_text.push(format!("{part:?}"));
                    continue;
                }
            }
            if order_is_keyset && keyset.is_none() {
                if let Some(b) = keyset_bound(&ce) {
                    keyset = Some(b);
                    continue;
                }
            }
            residual_text.push(format!("{part:?}"));
            filter.push(ce);
        }
    }
    // A key lookup cannot use the keyset range: keep the bound as an ordinary filter.
    if let (Access::Keys(_), Some(_)) = (&access, &keyset) {
        keyset = None;
        filter.clear();
        residual_text.clear();
        if let Some(w) = &q.filter {
            let mut access_used = false;
            for part in conjuncts(w) {
                let ce = c.compile(part)?;
                residual_text.push(format!("{part:?}"));
                if !access_used && literal_keys(&ce, base).is_some() {
                    access_used = true;
                    continue;
                }
                filter.push(ce);
            }
        }
    }
    let mut select = Vec::new();
    let mut unnamed = 0;
    for item in &q.select {
        let name = match (&item.alias, &item.expr) {
            (Some(a), _) => a.clone(),
            (None, Expr::Column { name, .. }) => name.clone(),
            _ => {
                unnamed += 1;
                format!("expr{unnamed}")
            }
        };
        select.push((name, c.compile(&item.expr)?));
    }
    let cache_key = format!(
        "{:?}|{:?}|{}|{:?}",
        q.from,
        q.joins,
        residual_text.join("&"),
        q.order_by
    );
    Ok(Plan {
        slots,
        filter,
        access,
        keyset,
        order,
        presorted,
        select,
        cache_key,
    })
}

/// The matching rows of a plan, in result order (ignoring the keyset bound).
struct Matches {
    stride: usize,
    rows: Vec<Option<RowId>>,
    /// `(lastmodifieddate, id)` of each result row's base record (base = transaction).
    keys: Vec<(NaiveDateTime, u64)>,
}

impl Matches {
    fn len(&self) -> usize {
        self.rows.len() / self.stride.max(1)
    }
}

fn to_row(store: &Store, id: Option<RowId>) -> Option<Row<'_>> {
    let (fid, part) = id?;
    store.get(fid).map(|f| (f, part))
}

fn matches(store: &Store, p: &Plan) -> Result<Matches, ExecError> {
    let stride = p.slots.len();
    let mut out = Matches {
        stride,
        rows: Vec::new(),
        keys: Vec::new(),
    };
    let base = p.slots[0].table;
    let owners: Box<dyn Iterator<Item = &Fulfillment>> = match &p.access {
        Access::Scan if base == Table::Transaction => Box::new(
            store
                .by_modified
                .iter()
                .filter_map(|(_, id)| store.get(*id)),
        ),
        Access::Scan => Box::new(store.by_id.values()),
        Access::Keys(keys) => {
            let mut ids: Vec<u64> = keys.iter().map(|k| owner_from_key(base, *k)).collect();
            ids.sort_unstable();
            ids.dedup();
            Box::new(ids.into_iter().filter_map(|id| store.get(id)))
        }
    };
    let mut parts = Vec::new();
    let mut combos: Vec<Vec<Option<Row>>> = Vec::new();
    let mut next: Vec<Vec<Option<Row>>> = Vec::new();
    for f in owners {
        parts.clear();
        all_rows(f, base, &mut parts);
        combos.clear();
        combos.extend(parts.iter().map(|pt| vec![Some((f, *pt))]));
        for (k, slot) in p.slots.iter().enumerate().skip(1) {
            next.clear();
            for combo in combos.drain(..) {
                let mut cands: Vec<Row> = Vec::new();
                match &slot.lookup {
                    Some(key) => {
                        if let Some(owner) =
                            as_id(&eval(key, &combo)?).map(|k| owner_from_key(slot.table, k))
                        {
                            if let Some(g) = store.get(owner) {
                                let mut ps = Vec::new();
                                all_rows(g, slot.table, &mut ps);
                                cands.extend(ps.into_iter().map(|pt| (g, pt)));
                            }
                        }
                    }
                    None => {
                        for g in store.by_id.values() {
                            let mut ps = Vec::new();
                            all_rows(g, slot.table, &mut ps);
                            cands.extend(ps.into_iter().map(|pt| (g, pt)));
                        }
                    }
                }
                let mut any = false;
                for cand in cands {
                    let mut c2 = combo.clone();
                    c2.push(Some(cand));
                    let ok = match &slot.on {
                        Some(on) => truth(&eval(on, &c2)?) == Some(true),
                        None => true,
                    };
                    if ok {
                        any = true;
                        next.push(c2);
                    }
                }
                if !any && slot.kind == JoinKind::Left {
                    let mut c2 = combo;
                    c2.push(None);
                    next.push(c2);
                }
                let _ = k;
            }
            std::mem::swap(&mut combos, &mut next);
        }
        'row: for combo in combos.drain(..) {
            for cond in &p.filter {
                if truth(&eval(cond, &combo)?) != Some(true) {
                    continue 'row;
                }
            }
            for r in &combo {
                out.rows.push(r.map(|(g, pt)| (g.id, pt)));
            }
            out.keys.push((f.lastmodified, f.id));
        }
    }
    if !p.presorted {
        let n = out.len();
        let mut keyed: Vec<(Vec<Val>, usize)> = Vec::with_capacity(n);
        for i in 0..n {
            let combo: Vec<Option<Row>> = out.rows[i * stride..(i + 1) * stride]
                .iter()
                .map(|r| to_row(store, *r))
                .collect();
            let mut k = Vec::with_capacity(p.order.len());
            for (e, _) in &p.order {
                k.push(eval(e, &combo)?.into_static());
            }
            keyed.push((k, i));
        }
        // Oracle refuses to order a column holding different datatypes; checking first
        // also keeps the comparator a total order (sort_by may panic otherwise).
        for col in 0..p.order.len() {
            let mut seen: Option<&'static str> = None;
            for (k, _) in &keyed {
                let t = k[col].type_name();
                if t == "NULL" {
                    continue;
                }
                match seen {
                    None => seen = Some(t),
                    Some(s) if s != t => {
                        return fail(format!(
                            "ORDER BY expression {} mixes {s} and {t} values",
                            col + 1
                        ))
                    }
                    _ => {}
                }
            }
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for ((x, y), (_, desc)) in a.iter().zip(b.iter()).zip(p.order.iter()) {
                let o = match (x, y) {
                    (Val::Null, Val::Null) => Ordering::Equal,
                    // Oracle: NULLs sort last ascending, first descending.
                    (Val::Null, _) => Ordering::Greater,
                    (_, Val::Null) => Ordering::Less,
                    (Val::Num(m), Val::Num(n)) => m.total_cmp(n),
                    (Val::Str(m), Val::Str(n)) => m.cmp(n),
                    (Val::Ts(m), Val::Ts(n)) => m.cmp(n),
                    (Val::Bool(m), Val::Bool(n)) => m.cmp(n),
                    _ => Ordering::Equal,
                };
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        let mut rows = Vec::with_capacity(out.rows.len());
        let mut keys = Vec::with_capacity(n);
        for (_, i) in keyed {
            rows.extend_from_slice(&out.rows[i * stride..(i + 1) * stride]);
            keys.push(out.keys[i]);
        }
        out.rows = rows;
        out.keys = keys;
    }
    Ok(out)
}

/// One page of a SuiteQL result.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Rows with lowercase keys and string values (NULL columns omitted, as NetSuite does).
    pub items: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Rows matching the query in total.
    pub total: usize,
}

/// Caches full-scan results per (plan, store generation).
#[derive(Default)]
pub struct QueryCache {
    entries: Mutex<Vec<(String, u64, Arc<Matches>)>>,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryCache")
    }
}

const CACHE_ENTRIES: usize = 8;

/// Parse-checked query → page `[offset, offset + limit)` of its result.
pub fn execute(
    store: &Store,
    cache: &QueryCache,
    q: &Query,
    offset: usize,
    limit: usize,
) -> Result<QueryPage, ExecError> {
    let p = plan(q)?;
    let m: Arc<Matches> = if matches!(p.access, Access::Scan) {
        let hit = {
            let entries = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .iter()
                .find(|(k, g, _)| *k == p.cache_key && *g == store.generation)
                .map(|(_, _, m)| m.clone())
        };
        match hit {
            Some(m) => m,
            None => {
                let m = Arc::new(matches(store, &p)?);
                let mut entries = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
                entries.retain(|(_, g, _)| *g == store.generation);
                if entries.len() >= CACHE_ENTRIES {
                    entries.remove(0);
                }
                entries.push((p.cache_key.clone(), store.generation, m.clone()));
                m
            }
        }
    } else {
        Arc::new(matches(store, &p)?)
    };
    let start = match p.keyset {
        None => 0,
        Some(Bound::Excluded(b)) => m.keys.partition_point(|k| *k <= b),
        Some(Bound::Included(b)) => m.keys.partition_point(|k| *k < b),
        Some(Bound::Unbounded) => 0,
    };
    let n = m.len();
    let total = n - start;
    let from = (start + offset).min(n);
    let to = from.saturating_add(limit).min(n);
    let mut items = Vec::with_capacity(to - from);
    for i in from..to {
        let combo: Vec<Option<Row>> = m.rows[i * m.stride..(i + 1) * m.stride]
            .iter()
            .map(|r| to_row(store, *r))
            .collect();
        let mut obj = serde_json::Map::new();
        obj.insert("links".into(), serde_json::Value::Array(Vec::new()));
        for (name, e) in &p.select {
            if let Some(s) = eval(e, &combo)?.render() {
                obj.insert(name.clone(), serde_json::Value::String(s));
            }
        }
        items.push(obj);
    }
    Ok(QueryPage { items, total })
}

#[cfg(test)]
mod tests {
    use super::super::store::{seed, SeedSpec};
    use super::super::suiteql::parse;
    use super::*;

    fn store(n: usize) -> Store {
        let mut s = Store::default();
        seed(
            &mut s,
            SeedSpec {
                count: n,
                bad: 0,
                seed: 3,
                ups_sublist: Default::default(),
            },
        );
        s
    }

    fn run(s: &Store, q: &str, offset: usize, limit: usize) -> Result<QueryPage, ExecError> {
        execute(s, &QueryCache::default(), &parse(q).unwrap(), offset, limit)
    }

    #[test]
    fn header_query_with_joins_and_builtins() {
        let s = store(50);
        let page = run(
            &s,
            "SELECT t.id, t.tranid, BUILTIN.CF(t.status) AS status, BUILTIN.DF(t.shipmethod) AS shipmethod, \
             ml.location, BUILTIN.DF(ml.createdfrom) AS createdfrom, t.lastmodifieddate AS raw, \
             TO_CHAR(t.lastmodifieddate,'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate, sa.city, sa.addr3 \
             FROM transaction t JOIN transactionline ml ON ml.transaction = t.id AND ml.mainline = 'T' \
             LEFT JOIN transactionShippingAddress sa ON sa.nkey = t.shippingaddress \
             WHERE t.type = 'ItemShip' AND BUILTIN.CF(t.status) IN ('ItemShip:A','ItemShip:B') \
             ORDER BY t.lastmodifieddate, t.id",
            0,
            1000,
        )
        .unwrap();
        assert_eq!(page.total, 50);
        let first = &page.items[0];
        assert_eq!(first["links"], serde_json::json!([]));
        assert!(first["status"].as_str().unwrap().starts_with("ItemShip:"));
        assert!(first["tranid"].as_str().unwrap().starts_with("IF"));
        assert_eq!(first["raw"], "11/1/2026");
        assert_eq!(first["lastmodifieddate"], "2026-11-01 00:00:00");
        assert!(first.get("addr3").is_none(), "NULL columns are omitted");
        let ts: Vec<(String, u64)> = page
            .items
            .iter()
            .map(|r| {
                (
                    r["lastmodifieddate"].as_str().unwrap().to_string(),
                    r["id"].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect();
        let mut sorted = ts.clone();
        sorted.sort();
        assert_eq!(ts, sorted);
    }

    #[test]
    fn keyset_bound_and_plain_filter_agree() {
        let s = store(400);
        let cache = QueryCache::default();
        let base = "SELECT t.id, TO_CHAR(t.lastmodifieddate,'YYYY-MM-DD HH24:MI:SS') AS lm FROM transaction t WHERE t.type = 'ItemShip' AND ";
        let cond = "(t.lastmodifieddate > TO_TIMESTAMP('2026-11-01 00:01:00','YYYY-MM-DD HH24:MI:SS') OR (t.lastmodifieddate = TO_TIMESTAMP('2026-11-01 00:01:00','YYYY-MM-DD HH24:MI:SS') AND t.id > 5100))";
        let fast = execute(
            &s,
            &cache,
            &parse(&format!("{base}{cond} ORDER BY t.lastmodifieddate, t.id")).unwrap(),
            0,
            1000,
        )
        .unwrap();
        // Same condition, but ORDER BY written so the planner cannot use the range.
        let slow = execute(
            &s,
            &cache,
            &parse(&format!(
                "{base}{cond} ORDER BY t.lastmodifieddate, t.id, t.tranid"
            ))
            .unwrap(),
            0,
            1000,
        )
        .unwrap();
        assert_eq!(fast.total, slow.total);
        assert_eq!(fast.items, slow.items);
        assert!(fast.total > 0 && fast.total < 400);
    }

    #[test]
    fn detail_queries_use_the_key_list() {
        let s = store(20);
        let page = run(
            &s,
            "SELECT p.itemfulfillment AS transaction, p.line, p.packageweight, p.packagetrackingnumber \
             FROM itemfulfillmentpackage p WHERE p.itemfulfillment IN (5003, 5001) ORDER BY p.itemfulfillment, p.line",
            0,
            1000,
        )
        .unwrap();
        let expect = s.get(5001).unwrap().packages.len() + s.get(5003).unwrap().packages.len();
        assert_eq!(page.total, expect);
        assert_eq!(page.items[0]["transaction"], "5001");
        assert_eq!(page.items[0]["line"], "1");
        let items = run(
            &s,
            "SELECT tl.transaction, tl.linesequencenumber AS line, BUILTIN.DF(tl.item) AS item FROM transactionline tl \
             WHERE tl.transaction IN (5002) AND tl.mainline = 'F' ORDER BY tl.linesequencenumber DESC",
            0,
            1000,
        )
        .unwrap();
        assert_eq!(items.total, s.get(5002).unwrap().items.len());
        assert_eq!(items.items[0]["line"], items.total.to_string());
    }

    #[test]
    fn semantic_errors_read_like_netsuite() {
        let s = store(2);
        for (q, needle) in [
            ("SELECT t.subsidiary FROM transaction t", "Field 'subsidiary'"),
            ("SELECT id FROM customerx", "Record 'customerx' was not found"),
            ("SELECT t.id FROM transaction t WHERE t.lastmodifieddate > '2026-01-01'", "TO_DATE/TO_TIMESTAMP"),
            ("SELECT t.id FROM transaction t WHERE t.lastmodifieddate > TO_DATE('2026-13-45','YYYY-MM-DD')", "Invalid date/time literal"),
            ("SELECT x.id FROM transaction t", "Unknown identifier 'x.id'"),
            ("SELECT FOO(t.id) FROM transaction t", "Unknown function 'FOO'"),
        ] {
            let e = run(&s, q, 0, 10).unwrap_err();
            assert!(e.0.contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn random_queries_never_panic() {
        use rand::{Rng, SeedableRng};
        let s = store(30);
        let cache = QueryCache::default();
        let words = [
            "SELECT",
            "FROM",
            "WHERE",
            "AND",
            "OR",
            "NOT",
            "IN",
            "IS",
            "NULL",
            "LIKE",
            "JOIN",
            "LEFT",
            "ON",
            "ORDER",
            "BY",
            "DESC",
            "AS",
            "t",
            "ml",
            "p",
            "sa",
            ".",
            ",",
            "(",
            ")",
            "=",
            "<>",
            "<",
            ">=",
            "||",
            "-",
            "1",
            "0",
            "5001",
            "2.5",
            "'ItemShip'",
            "'%A%'",
            "'2026-11-01'",
            "'YYYY-MM-DD'",
            "transaction",
            "transactionline",
            "itemfulfillmentpackage",
            "transactionshippingaddress",
            "t.id",
            "t.status",
            "t.lastmodifieddate",
            "ml.transaction",
            "p.itemfulfillment",
            "p.line",
            "sa.nkey",
            "BUILTIN.CF(t.status)",
            "BUILTIN.DF(t.shipmethod)",
            "TO_CHAR",
            "TO_TIMESTAMP",
            "TO_DATE",
            "NVL",
            "UPPER",
            "t.email",
            "p.packageweight",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut ran = 0;
        // Grammar-shaped random queries: valid syntax, random semantics.
        fn gen(rng: &mut rand::rngs::StdRng, depth: u32) -> String {
            let atoms = [
                "t.id",
                "t.status",
                "t.lastmodifieddate",
                "t.email",
                "t.tranid",
                "ml.location",
                "ml.item",
                "sa.zip",
                "1",
                "2.5",
                "'x'",
                "'ItemShip:A'",
                "NULL",
                "TO_TIMESTAMP('2026-11-01 00:00:01', 'YYYY-MM-DD HH24:MI:SS')",
                "TO_DATE('11/01/2026')",
                "BUILTIN.CF(t.status)",
                "BUILTIN.DF(ml.item)",
            ];
            if depth == 0 || rng.gen_bool(0.3) {
                return atoms[rng.gen_range(0..atoms.len())].to_string();
            }
            let a = gen(rng, depth - 1);
            let b = gen(rng, depth - 1);
            match rng.gen_range(0..9) {
                0 => format!("({a} AND {b})"),
                1 => format!("({a} OR {b})"),
                2 => format!("(NOT ({a}))"),
                3 => format!("({a} IN ({b}, {a}))"),
                4 => format!("({a} IS NOT NULL)"),
                5 => format!("({a} LIKE {b})"),
                6 => format!("TO_CHAR({a}, 'YYYY-MM-DD')"),
                7 => format!("NVL({a}, {b})"),
                _ => format!("({a} {} {b})", ["=", "<>", "<", ">="][rng.gen_range(0..4)]),
            }
        }
        for _ in 0..1500 {
            let q = format!(
                "SELECT {} AS c, t.id FROM transaction t LEFT JOIN transactionline ml ON ml.transaction = t.id \
                 LEFT JOIN transactionShippingAddress sa ON sa.nkey = t.shippingaddress WHERE {} ORDER BY {}",
                gen(&mut rng, 2),
                gen(&mut rng, 3),
                gen(&mut rng, 1)
            );
            let parsed = parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let _ = execute(&s, &cache, &parsed, rng.gen_range(0..5), 20);
            ran += 1;
        }
        for _ in 0..3000 {
            let n = rng.gen_range(1..40);
            let mut q = String::new();
            for _ in 0..n {
                q.push_str(words[rng.gen_range(0..words.len())]);
                q.push(' ');
            }
            if let Ok(parsed) = parse(&q) {
                let _ = execute(&s, &cache, &parsed, 0, 50);
                ran += 1;
            }
        }
        // Structured queries that parse, with mixed types in ORDER BY and comparisons.
        for q in [
            "SELECT t.id FROM transaction t ORDER BY NVL(t.otherrefnum, 0)",
            "SELECT t.id FROM transaction t WHERE t.tranid > 5 ORDER BY t.email DESC, t.id",
            "SELECT p.line FROM itemfulfillmentpackage p JOIN transaction t ON t.id = p.itemfulfillment ORDER BY t.lastmodifieddate DESC, p.line",
            "SELECT t.id FROM transaction t LEFT JOIN transactionline x ON 1 = 0 WHERE x.item IS NULL ORDER BY x.memo",
        ] {
            let _ = execute(&s, &cache, &parse(q).unwrap(), 0, 50);
            ran += 1;
        }
        assert!(ran > 1500);
    }

    #[test]
    fn like_matches_wildcards() {
        assert!(like("UPS Ground", "UPS %"));
        assert!(!like("FedEx Ground", "UPS%"));
        assert!(like("abc", "a_c"));
        assert!(like("", "%"));
    }
}
