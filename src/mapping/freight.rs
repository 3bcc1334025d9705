//! The mapping's money sections: `freight:` (the freight figure written back as the
//! business bills it, with its per-ship-from overrides) and `billing:` (who pays
//! transportation and duties). Compiled here, evaluated here; the arithmetic itself is
//! [`crate::model::freight`].
//!
//! ```yaml
//! freight:
//!   field: FreightPrice            # or a list: [FreightCost, FreightPrice]; written as a number
//!   rate: account                  # list | account (falls back to list, loudly, when UPS gives none)
//!   markup_percent: 10
//!   markup_amount: "1.00"
//!   rounding: standard             # standard (half away from zero) | up | down
//!   decimals: 2
//!   include_taxes: false           # base on TotalChargesWithTaxes (asks UPS for taxes)
//!   currency: BaseCurrencyID       # the document's currency; another UPS currency is refused
//!   note_field: note               # a short note when falling back to list or refusing
//!   cost_field: FreightCost        # optional: the base before markup (what UPS bills the shipper)
//!   list_field: custom.Document.UsrUpsListCharge       # optional: the raw figures
//!   account_field: custom.Document.UsrUpsAccountCharge
//! billing:
//!   transportation: {payer: {literal: third_party}, account: custom.Document.UsrBillTo,
//!                    postal_code: {literal: "30005"}, country: {literal: US}}
//!   duties: {incoterm: ShippingTerms}        # DDP → shipper pays duties; DAP/DDU → receiver
//! ```
//!
//! Pure: no I/O, never logs record contents.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{json, Value as Json};
use serde_norway::Value as Yaml;

use super::expr::{Compiler, Expr, FieldPath, Scope};
use super::run::Run;
use super::{spec, Mapping};
use crate::model::billing::duties_for_incoterm;
use crate::model::{
    Billing, ErpRecord, FreightOutcome, FreightRule, Payer, RateBasis, Rounding, ShipResult,
};

/// Longest note written to `freight.note_field`.
pub const MAX_NOTE_CHARS: usize = 255;

/// A compiled `freight:` section (top level or merged into a ship-from entry).
pub(crate) struct CFreight {
    pub(crate) rule: FreightRule,
    pub(crate) fields: Vec<String>,
    pub(crate) currency: Option<Expr>,
    pub(crate) note_field: Option<String>,
    pub(crate) cost_field: Option<String>,
    pub(crate) list_field: Option<String>,
    pub(crate) account_field: Option<String>,
}

/// `entry` keys over `top` keys.
pub(super) fn merge_specs(
    top: Option<&spec::FreightSpec>,
    entry: spec::FreightSpec,
) -> spec::FreightSpec {
    let Some(t) = top else { return entry };
    spec::FreightSpec {
        field: entry.field.or_else(|| t.field.clone()),
        rate: entry.rate.or_else(|| t.rate.clone()),
        markup_percent: entry.markup_percent.or_else(|| t.markup_percent.clone()),
        markup_amount: entry.markup_amount.or_else(|| t.markup_amount.clone()),
        rounding: entry.rounding.or_else(|| t.rounding.clone()),
        decimals: entry.decimals.or(t.decimals),
        include_taxes: entry.include_taxes.or(t.include_taxes),
        currency: entry.currency.or_else(|| t.currency.clone()),
        note_field: entry.note_field.or_else(|| t.note_field.clone()),
        cost_field: entry.cost_field.or_else(|| t.cost_field.clone()),
        list_field: entry.list_field.or_else(|| t.list_field.clone()),
        account_field: entry.account_field.or_else(|| t.account_field.clone()),
    }
}

fn yaml_decimal(v: &Yaml) -> Option<Decimal> {
    match v {
        Yaml::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Yaml::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// Compile a (merged) `freight:` section at mapping key `key`.
pub(super) fn compile_freight(
    c: &mut Compiler<'_>,
    s: spec::FreightSpec,
    key: &str,
) -> Option<CFreight> {
    let mut ok = true;
    let fields = s.field.map(spec::OneOrMany::into_vec).unwrap_or_default();
    if fields.is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
        ok = false;
        c.err(
            &format!("{key}.field"),
            "freight needs the ERP field(s) that receive the figure",
            "add `field: FreightPrice` (Acumatica) or `field: shippingCost` (NetSuite)",
        );
    }
    let targets = fields.iter().map(|f| ("field", Some(f))).chain([
        ("note_field", s.note_field.as_ref()),
        ("cost_field", s.cost_field.as_ref()),
        ("list_field", s.list_field.as_ref()),
        ("account_field", s.account_field.as_ref()),
    ]);
    for (name, t) in targets {
        if let Some(t) = t.filter(|t| !t.trim().is_empty()) {
            if let Err(e) = FieldPath::parse(t.trim()) {
                ok = false;
                c.err(
                    &format!("{key}.{name}"),
                    e,
                    "write the ERP field path, e.g. `FreightPrice`",
                );
            }
        }
    }
    let rate = match s.rate.as_deref().map(str::trim) {
        None | Some("account") => RateBasis::Account,
        Some("list") => RateBasis::List,
        Some(other) => {
            ok = false;
            c.err(
                &format!("{key}.rate"),
                format!("`{other}` is not a rate basis"),
                "write `rate: list` (published) or `rate: account` (negotiated)",
            );
            RateBasis::Account
        }
    };
    let rounding = match s.rounding.as_deref().map(str::trim) {
        None | Some("standard") => Rounding::Standard,
        Some("up") => Rounding::Up,
        Some("down") => Rounding::Down,
        Some(other) => {
            ok = false;
            c.err(
                &format!("{key}.rounding"),
                format!("`{other}` is not a rounding option"),
                "write `rounding: standard` (half away from zero), `up` (ceiling) or `down` (floor)",
            );
            Rounding::Standard
        }
    };
    let mut number = |c: &mut Compiler<'_>, v: &Option<Yaml>, name: &str| match v {
        None => Decimal::ZERO,
        Some(y) => yaml_decimal(y).unwrap_or_else(|| {
            ok = false;
            c.err(
                &format!("{key}.{name}"),
                format!("`{name}` must be a number"),
                format!("write e.g. `{name}: \"1.00\"`"),
            );
            Decimal::ZERO
        }),
    };
    let markup_percent = number(c, &s.markup_percent, "markup_percent");
    let markup_amount = number(c, &s.markup_amount, "markup_amount");
    let decimals = s.decimals.unwrap_or(2);
    if decimals > 6 {
        ok = false;
        c.err(
            &format!("{key}.decimals"),
            format!("{decimals} decimal places; upsync writes 0 to 6"),
            "write `decimals: 2` (cents) or `decimals: 0` (whole units)",
        );
    }
    let currency = match &s.currency {
        None => Some(None),
        Some(v) => c.expr(v, &format!("{key}.currency")).map(Some),
    };
    let currency = currency?;
    ok.then(|| CFreight {
        rule: FreightRule {
            rate,
            markup_percent,
            markup_amount,
            rounding,
            decimals,
            include_taxes: s.include_taxes.unwrap_or(false),
        },
        fields,
        currency,
        note_field: s.note_field.filter(|f| !f.trim().is_empty()),
        cost_field: s.cost_field.filter(|f| !f.trim().is_empty()),
        list_field: s.list_field.filter(|f| !f.trim().is_empty()),
        account_field: s.account_field.filter(|f| !f.trim().is_empty()),
    })
}

// ---------------------------------------------------------------- billing

pub(crate) struct CPayer {
    payer: Option<Expr>,
    account: Option<Expr>,
    postal_code: Option<Expr>,
    country: Option<Expr>,
    incoterm: Option<Expr>,
}

pub(crate) struct CBilling {
    transportation: Option<CPayer>,
    duties: Option<CPayer>,
}

const PAYERS: &[&str] = &["shipper", "receiver", "third_party"];

fn compile_payer(
    c: &mut Compiler<'_>,
    p: spec::PayerSpec,
    key: &str,
    duties: bool,
) -> Option<CPayer> {
    let e = |c: &mut Compiler<'_>, v: &Option<Yaml>, name: &str| match v {
        None => Some(None),
        Some(y) => c.expr(y, &format!("{key}.{name}")).map(Some),
    };
    if let Some(Yaml::Mapping(m)) = &p.payer {
        if let Some(lit) = m.get("literal").and_then(Yaml::as_str) {
            if !PAYERS.contains(&lit) {
                c.err(
                    &format!("{key}.payer"),
                    format!("`{lit}` is not a payer"),
                    "write `shipper`, `receiver` or `third_party`",
                );
            }
        }
    }
    if !duties && p.incoterm.is_some() {
        c.err(
            &format!("{key}.incoterm"),
            "an Incoterm decides who pays duties, not transportation",
            "move `incoterm:` under `billing.duties:`",
        );
    }
    if duties && p.incoterm.is_some() && p.payer.is_some() {
        c.err(
            &format!("{key}.payer"),
            "`payer` and `incoterm` both decide the duties payer",
            "keep one of them",
        );
    }
    Some(CPayer {
        payer: e(c, &p.payer, "payer")?,
        account: e(c, &p.account, "account")?,
        postal_code: e(c, &p.postal_code, "postal_code")?,
        country: e(c, &p.country, "country")?,
        incoterm: e(c, &p.incoterm, "incoterm")?,
    })
}

pub(super) fn compile_billing(c: &mut Compiler<'_>, s: spec::BillingSpec) -> Option<CBilling> {
    let transportation = match s.transportation {
        None => None,
        Some(p) => Some(compile_payer(c, p, "billing.transportation", false)?),
    };
    let duties = match s.duties {
        None => None,
        Some(p) => Some(compile_payer(c, p, "billing.duties", true)?),
    };
    Some(CBilling {
        transportation,
        duties,
    })
}

impl Run<'_> {
    /// Evaluate a payer; `None` = no payer named (the caller's default).
    fn payer(
        &mut self,
        p: &CPayer,
        root: &Scope<'_>,
        what: &str,
        ship_to_country: &str,
    ) -> Option<Payer> {
        if let Some(term_e) = &p.incoterm {
            let term = self.text(term_e, root, None)?;
            return match duties_for_incoterm(&term) {
                Ok(payer) => payer,
                Err(m) => {
                    self.fail_expr(
                        "incoterm_unknown",
                        term_e,
                        None,
                        format!("{m}; the duties payer cannot be decided"),
                        "use DDP (shipper pays duties) or DAP/DDU (receiver pays) on the record, or map the value with a `lookup:`",
                    );
                    None
                }
            };
        }
        let kind_e = p.payer.as_ref()?;
        let kind = self
            .text(kind_e, root, None)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = |run: &mut Run<'_>, e: &Option<Expr>| {
            e.as_ref()
                .and_then(|e| run.text(e, root, None))
                .unwrap_or_default()
        };
        let account = text(self, &p.account);
        let postal_code = text(self, &p.postal_code);
        let mut country = text(self, &p.country).to_ascii_uppercase();
        let needs_account = |run: &mut Run<'_>| {
            let at = p.account.as_ref().unwrap_or(kind_e);
            run.fail_expr(
                "billing_account_missing",
                at,
                None,
                format!("{what} is billed to the {kind} but no 6-character UPS account is given"),
                "fill the payer's UPS account on the record, or bill the shipper",
            );
        };
        match kind.as_str() {
            "" | "shipper" => Some(Payer::Shipper),
            "receiver" | "third_party" => {
                if account.len() != 6 || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    needs_account(self);
                    return None;
                }
                if country.is_empty() && kind == "receiver" {
                    country = ship_to_country.to_ascii_uppercase();
                }
                if country.len() != 2 {
                    self.fail_expr(
                        "billing_account_missing",
                        p.country.as_ref().unwrap_or(kind_e),
                        None,
                        format!("{what} is billed to the {kind}'s account {account}, but the account's country is missing"),
                        "map `country:` (ISO two letters) of the payer's UPS account",
                    );
                    return None;
                }
                // Shipping.yaml BillReceiver/BillThirdParty `PostalCode`: "Required for United
                // States and Canadian UPS accounts".
                if postal_code.trim().is_empty() && matches!(country.as_str(), "US" | "CA") {
                    self.fail_expr(
                        "billing_account_missing",
                        p.postal_code.as_ref().unwrap_or(kind_e),
                        None,
                        format!("{what} is billed to the {kind}'s {country} account {account}, which needs its pickup postal code"),
                        "map `postal_code:` of the payer's UPS account",
                    );
                    return None;
                }
                Some(if kind == "receiver" {
                    Payer::Receiver {
                        account,
                        postal_code,
                        country,
                    }
                } else {
                    Payer::ThirdParty {
                        account,
                        postal_code,
                        country,
                    }
                })
            }
            _ => {
                self.fail_expr(
                    "billing_payer_unknown",
                    kind_e,
                    None,
                    format!("`{kind}` is not a payer for {what}"),
                    "the value must be shipper, receiver or third_party (map ERP words with a `lookup:`)",
                );
                None
            }
        }
    }

    /// The shipment's [`Billing`] from the mapping's `billing:` section.
    pub(super) fn billing(&mut self, root: &Scope<'_>, ship_to_country: &str) -> Billing {
        let Some(b) = &self.m.billing else {
            return Billing::shipper();
        };
        let transportation = match &b.transportation {
            Some(p) => self
                .payer(p, root, "transportation", ship_to_country)
                .unwrap_or_default(),
            None => Payer::Shipper,
        };
        let duties = match &b.duties {
            Some(p) => self.payer(p, root, "duties and taxes", ship_to_country),
            None => None,
        };
        Billing {
            transportation,
            duties,
        }
    }
}

// ---------------------------------------------------------------- write-back

/// What the freight part of a write-back adds: fields to write and the outcome to keep.
#[derive(Debug, Default)]
pub struct FreightPlan {
    pub fields: Vec<(String, Json)>,
    /// Replaces the cleared error field (`code: message`) when freight is refused.
    pub error: Option<String>,
    pub outcome: Option<FreightOutcome>,
}

/// A decimal as a JSON number for the ERP write. The figure is rounded to ≤ 6 places
/// before this; its shortest round-trip form is exactly the decimal text, so the number
/// on the wire is the computed figure, never a float approximation.
pub fn json_number(d: Decimal) -> Json {
    let text = d.normalize().to_string();
    serde_json::from_str::<Json>(&text).unwrap_or(Json::String(text))
}

impl Mapping {
    /// The ship-from entry a record uses (as `to_shipment` picks it).
    fn entry_for(&self, record: &ErpRecord) -> Option<&super::CEntry> {
        let root = Scope::root(&record.data);
        let key = self
            .ship_from
            .key
            .eval(&root, &self.tables)
            .ok()
            .and_then(|v| v.text())
            .unwrap_or_default();
        self.ship_from.entries.get(&key).or_else(|| {
            self.ship_from
                .default
                .as_ref()
                .and_then(|d| self.ship_from.entries.get(d))
        })
    }

    /// The freight rule for a record: its ship-from entry's when it has one, else the
    /// mapping's `freight:`.
    pub(crate) fn freight_for(&self, record: &ErpRecord) -> Option<&CFreight> {
        self.entry_for(record)
            .and_then(|e| e.freight.as_ref())
            .or(self.freight.as_ref())
    }

    /// The UPS account a record ships with (its ship-from entry's `account:`).
    fn account_for(&self, record: &ErpRecord) -> String {
        self.entry_for(record)
            .and_then(|e| {
                e.account
                    .eval(&Scope::root(&record.data), &self.tables)
                    .ok()
            })
            .and_then(|v| v.text())
            .unwrap_or_default()
    }

    /// Whether UPS should be asked for taxes on this record's shipment.
    pub(super) fn wants_taxes(&self, record: &ErpRecord) -> bool {
        self.freight_for(record)
            .is_some_and(|f| f.rule.include_taxes)
    }

    /// The freight figure for a shipped record, per its rule: basis, fallback, currency
    /// check, markup and rounding. `None` when the mapping has no `freight:`.
    pub fn freight_plan(
        &self,
        record: &ErpRecord,
        result: &ShipResult,
        transit_days: Option<u32>,
    ) -> FreightPlan {
        let Some(f) = self.freight_for(record) else {
            return FreightPlan::default();
        };
        let (list, account) = f.rule.figures(&result.charges);
        let currency = list
            .as_ref()
            .or(account.as_ref())
            .map(|m| m.currency.clone())
            .unwrap_or_default();
        let document_currency = f.currency.as_ref().and_then(|e| {
            e.eval(&Scope::root(&record.data), &self.tables)
                .ok()
                .and_then(|v| v.text())
                .map(|c| c.to_ascii_uppercase())
        });
        let mut out = FreightOutcome {
            list: list.as_ref().map(|m| m.amount),
            account: account.as_ref().map(|m| m.amount),
            currency: currency.clone(),
            asked: f.rule.rate,
            basis: f.rule.rate,
            fallback_reason: None,
            written: None,
            fields: Vec::new(),
            document_currency: document_currency.clone(),
            refused: None,
            service: result.service_code.clone(),
            transit_days,
        };
        let mut plan = FreightPlan::default();
        let note = |plan: &mut FreightPlan, text: String| {
            if let Some(nf) = &f.note_field {
                let t = super::expr::truncate_chars(&text, MAX_NOTE_CHARS).to_string();
                plan.fields.push((nf.clone(), json!(t)));
            }
        };
        let base = match (f.rule.rate, &account, &list) {
            (RateBasis::Account, Some(a), _) => Some(a.amount),
            (RateBasis::Account, None, Some(l)) => {
                let why = result
                    .alerts
                    .iter()
                    .find(|a| a.code == "120900")
                    .map(|a| format!("UPS Alert {}: {}", a.code, a.description))
                    .unwrap_or_else(|| "UPS returned no NegotiatedRateCharges".to_string());
                out.basis = RateBasis::List;
                out.fallback_reason = Some(why.clone());
                note(
                    &mut plan,
                    format!(
                        "upsync: freight billed at the UPS list rate ({} {}), not the account rate: {why} (account {}).",
                        l.amount.round_dp(2), l.currency, self.account_for(record)
                    ),
                );
                Some(l.amount)
            }
            (RateBasis::List, _, Some(l)) => Some(l.amount),
            _ => None,
        };
        let Some(base) = base else {
            let msg = format!(
                "UPS returned no charges for shipment {} of record {}; freight was not written to {}. Enter it by hand",
                result.shipment_id,
                record.number,
                f.fields.join(", ")
            );
            out.refused = Some(("freight_charges_missing".into(), msg.clone()));
            note(&mut plan, format!("upsync: freight_charges_missing: {msg}"));
            plan.error = Some(format!("freight_charges_missing: {msg}"));
            plan.outcome = Some(out);
            return plan;
        };
        if let Some(doc) = document_currency.filter(|d| !currency.is_empty() && *d != currency) {
            let msg = format!(
                "UPS charged {} in {currency} but record {} is in {doc}; freight was not written to {}. Enter it by hand in {doc}, or ship from a UPS account billed in {doc}",
                base.round_dp(2),
                record.number,
                f.fields.join(", ")
            );
            out.refused = Some(("freight_currency_mismatch".into(), msg.clone()));
            note(
                &mut plan,
                format!("upsync: freight_currency_mismatch: {msg}"),
            );
            plan.error = Some(format!("freight_currency_mismatch: {msg}"));
            plan.outcome = Some(out);
            return plan;
        }
        let written = f.rule.apply(base);
        for field in &f.fields {
            plan.fields.push((field.clone(), json_number(written)));
        }
        if let Some(cf) = &f.cost_field {
            plan.fields.push((
                cf.clone(),
                json_number(Rounding::Standard.round(base, f.rule.decimals)),
            ));
        }
        if let (Some(lf), Some(l)) = (&f.list_field, &out.list) {
            plan.fields.push((lf.clone(), json_number(*l)));
        }
        if let (Some(af), Some(a)) = (&f.account_field, &out.account) {
            plan.fields.push((af.clone(), json_number(*a)));
        }
        out.written = Some(written);
        out.fields = f.fields.clone();
        plan.outcome = Some(out);
        plan
    }
}

#[cfg(test)]
#[path = "freight_tests.rs"]
mod tests;
