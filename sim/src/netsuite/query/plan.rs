//! The planner and the matcher: index lookups for literal keys, keyset range scans on
//! `lastmodifieddate`/`id`, joins, and the cached full-scan matches (see the parent's
//! "Speed" note).

use super::*;

/// How the rows of a slot are found.
#[derive(Debug, Clone)]
pub(super) enum Access {
    /// Every row of the table.
    Scan,
    /// Rows whose owning fulfillment id is one of these (literal `IN`/`=` on the key column).
    Keys(Vec<u64>),
}

pub(super) struct Slot {
    pub(super) table: Table,
    pub(super) kind: JoinKind,
    pub(super) on: Option<CExpr>,
    /// Key expression over earlier slots that gives this slot's owning fulfillment id.
    pub(super) lookup: Option<CExpr>,
}

/// Is `col` the column that identifies the owning fulfillment of rows of `table`?
pub(super) fn key_col(table: Table, col: Col) -> bool {
    matches!(
        (table, col),
        (Table::Transaction, Col::TId)
            | (Table::Line, Col::LTransaction)
            | (Table::Package, Col::PParent)
            | (Table::Addr, Col::ANkey)
    )
}

pub(super) fn owner_from_key(table: Table, key: u64) -> u64 {
    match table {
        Table::Addr => key.wrapping_sub(900_000_000),
        _ => key,
    }
}

pub(super) fn uses_only_slots_below(e: &CExpr, limit: usize) -> bool {
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

pub(super) fn all_rows(f: &Fulfillment, table: Table, out: &mut Vec<Part>) {
    match table {
        Table::Transaction => out.push(Part::Txn),
        Table::Addr => out.push(Part::Addr),
        Table::Line => out.extend((0..=f.items.len() as u32).map(Part::Line)),
        Table::Package => out.extend((0..f.packages.len() as u32).map(Part::Pkg)),
    }
}

/// The keyset lower bound found in WHERE, as a bound on `(lastmodifieddate, id)`.
pub(super) type KeyBound = Bound<(NaiveDateTime, u64)>;

pub(super) fn const_ts(e: &CExpr) -> Option<NaiveDateTime> {
    match e {
        CExpr::Const(Val::Ts(t)) => Some(*t),
        _ => None,
    }
}

pub(super) fn is_col(e: &CExpr, want: Col) -> bool {
    matches!(e, CExpr::Col { slot: 0, col } if *col == want)
}

/// Recognise `lm > TS`, `lm >= TS` and `(lm > TS OR (lm = TS AND id > N))` on slot 0.
pub(super) fn keyset_bound(e: &CExpr) -> Option<KeyBound> {
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
pub(super) fn literal_keys(e: &CExpr, table: Table) -> Option<Vec<u64>> {
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

pub(super) struct Plan {
    pub(super) slots: Vec<Slot>,
    pub(super) filter: Vec<CExpr>,
    pub(super) access: Access,
    pub(super) keyset: Option<KeyBound>,
    pub(super) order: Vec<(CExpr, bool)>,
    /// The scan order already satisfies ORDER BY.
    pub(super) presorted: bool,
    pub(super) select: Vec<(String, CExpr)>,
    pub(super) cache_key: String,
}

pub(super) fn plan(q: &Query) -> Result<Plan, ExecError> {
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
pub(super) struct Matches {
    pub(super) stride: usize,
    pub(super) rows: Vec<Option<RowId>>,
    /// `(lastmodifieddate, id)` of each result row's base record (base = transaction).
    pub(super) keys: Vec<(NaiveDateTime, u64)>,
}

impl Matches {
    pub(super) fn len(&self) -> usize {
        self.rows.len() / self.stride.max(1)
    }
}

pub(super) fn to_row(store: &Store, id: Option<RowId>) -> Option<Row<'_>> {
    let (fid, part) = id?;
    store.get(fid).map(|f| (f, part))
}

pub(super) fn matches(store: &Store, p: &Plan) -> Result<Matches, ExecError> {
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
