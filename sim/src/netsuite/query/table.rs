//! The SuiteQL tables as views over the store: table and column names (ERP-NOTES.md §N3),
//! row identities, and the raw, `BUILTIN.DF` (display) and `BUILTIN.CF` (consolidated)
//! value of each column.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Table {
    Transaction,
    Line,
    Addr,
    Package,
}

impl Table {
    pub(super) fn from_name(name: &str) -> Option<Table> {
        match name {
            "transaction" => Some(Table::Transaction),
            "transactionline" => Some(Table::Line),
            "transactionshippingaddress" => Some(Table::Addr),
            "itemfulfillmentpackage" => Some(Table::Package),
            _ => None,
        }
    }
    pub(super) fn name(self) -> &'static str {
        match self {
            Table::Transaction => "transaction",
            Table::Line => "transactionline",
            Table::Addr => "transactionShippingAddress",
            Table::Package => "itemfulfillmentpackage",
        }
    }
}

pub(super) const ADDR_FIELDS: &[&str] = &[
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
pub(super) enum Col {
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
    PSublist,
    PRef1,
}

pub(super) fn resolve(table: Table, name: &str) -> Option<Col> {
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
            "sublist" => PSublist,
            "reference1" => PRef1,
            _ => return None,
        },
    })
}

/// Which part of a fulfillment a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Txn,
    /// 0 = mainline, k = item line k.
    Line(u32),
    Addr,
    /// 0-based package index.
    Pkg(u32),
}

pub(super) type RowId = (u64, Part);
pub(super) type Row<'a> = (&'a Fulfillment, Part);

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    Num(f64),
    Ts(NaiveDateTime),
    Bool(bool),
}

impl Val<'_> {
    pub(super) fn into_static(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Num(n) => Val::Num(n),
            Val::Ts(t) => Val::Ts(t),
            Val::Bool(b) => Val::Bool(b),
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "NULL",
            Val::Str(_) => "text",
            Val::Num(_) => "number",
            Val::Ts(_) => "date/time",
            Val::Bool(_) => "boolean",
        }
    }

    /// The string NetSuite would send for this value (`None` = column omitted).
    pub(super) fn render(&self) -> Option<String> {
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

pub(super) fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub(super) fn opt_str(s: &Option<String>) -> Val<'_> {
    match s {
        Some(s) => Val::Str(Cow::Borrowed(s.as_str())),
        None => Val::Null,
    }
}

pub(super) fn opt_num(n: Option<f64>) -> Val<'static> {
    n.map(Val::Num).unwrap_or(Val::Null)
}

pub(super) fn borrowed(s: &str) -> Val<'_> {
    Val::Str(Cow::Borrowed(s))
}

pub(super) fn column<'a>(row: Row<'a>, col: Col) -> Val<'a> {
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
        TType => borrowed(f.kind.tran_type()),
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
        // As the record API shows them (§N4): the carton number on `package` only,
        // reference1 on the carrier sublists only; `sublist` names the one the line is on.
        PCarton => pkg(part_no)
            .filter(|_| f.package_sublist == PackageSublist::Package)
            .map(|p| opt_str(&p.carton))
            .unwrap_or(Val::Null),
        PRef1 => pkg(part_no)
            .filter(|_| f.package_sublist != PackageSublist::Package)
            .map(|p| opt_str(&p.reference1))
            .unwrap_or(Val::Null),
        PSublist => pkg(part_no)
            .map(|_| borrowed(f.package_sublist.name()))
            .unwrap_or(Val::Null),
    }
}

/// `BUILTIN.DF` (display text) of a column.
pub(super) fn display<'a>(row: Row<'a>, col: Col) -> Val<'a> {
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
pub(super) fn consolidated<'a>(row: Row<'a>, col: Col) -> Val<'a> {
    match col {
        Col::TStatus => Val::Str(Cow::Owned(row.0.status_cf())),
        c => column(row, c),
    }
}
