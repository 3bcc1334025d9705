//! Freight as the business bills it: which UPS figure is the base (published "list" or
//! negotiated "account"), the markup on it, and the rounding to the ERP's decimals — and
//! what was decided for one shipment ([`FreightOutcome`], kept on the job).
//!
//! `written = round(base × (1 + markup_percent / 100) + markup_amount)` with
//! `base` = `ShipmentCharges.TotalCharges` (list) or `NegotiatedRateCharges.TotalCharge`
//! (account), or their `TotalChargesWithTaxes` when taxes are included (Shipping.yaml
//! `ShipmentResults.ShipmentCharges` / `NegotiatedRateCharges`). Money is
//! [`rust_decimal::Decimal`] throughout; no float ever touches a figure.
//!
//! Pure data and arithmetic: no I/O, no knowledge of UPS's wire or of an ERP.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::Charges;

/// Which UPS figure freight is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Published rates (`ShipmentCharges.TotalCharges`).
    List,
    /// The account's negotiated rates (`NegotiatedRateCharges.TotalCharge`).
    Account,
}

impl RateBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            RateBasis::List => "list",
            RateBasis::Account => "account",
        }
    }
}

/// How the marked-up figure is rounded to `decimals` places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero: 13.575 → 13.58, −13.575 → −13.58.
    #[default]
    Standard,
    /// Towards +∞ (ceiling): 13.571 → 13.58.
    Up,
    /// Towards −∞ (floor): 13.579 → 13.57.
    Down,
}

impl Rounding {
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::Standard => "standard",
            Rounding::Up => "up",
            Rounding::Down => "down",
        }
    }

    /// `v` rounded to `decimals` places.
    pub fn round(self, v: Decimal, decimals: u32) -> Decimal {
        let strategy = match self {
            Rounding::Standard => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Up => RoundingStrategy::ToPositiveInfinity,
            Rounding::Down => RoundingStrategy::ToNegativeInfinity,
        };
        v.round_dp_with_strategy(decimals, strategy)
    }
}

/// The business's freight rule (a mapping's `freight:` section, or a ship-from entry's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreightRule {
    pub rate: RateBasis,
    /// Percent added to the base (10 = +10 %); may be negative (a discount).
    pub markup_percent: Decimal,
    /// Amount added after the percentage, in the charge's currency.
    pub markup_amount: Decimal,
    pub rounding: Rounding,
    /// Decimal places of the written figure (0–6).
    pub decimals: u32,
    /// Use UPS's `TotalChargesWithTaxes` when UPS returns it (else the total: no tax applied).
    pub include_taxes: bool,
}

impl Default for FreightRule {
    fn default() -> Self {
        FreightRule {
            rate: RateBasis::Account,
            markup_percent: Decimal::ZERO,
            markup_amount: Decimal::ZERO,
            rounding: Rounding::Standard,
            decimals: 2,
            include_taxes: false,
        }
    }
}

impl FreightRule {
    /// `round(base × (1 + percent/100) + amount)`.
    pub fn apply(&self, base: Decimal) -> Decimal {
        let raw =
            base * (Decimal::ONE + self.markup_percent / Decimal::ONE_HUNDRED) + self.markup_amount;
        self.rounding.round(raw, self.decimals)
    }

    /// The list and account figures of `charges` under this rule's tax choice.
    pub fn figures(&self, charges: &Charges) -> (Option<super::Money>, Option<super::Money>) {
        if self.include_taxes {
            (
                charges
                    .total_with_taxes
                    .clone()
                    .or_else(|| charges.total.clone()),
                charges
                    .negotiated_with_taxes
                    .clone()
                    .or_else(|| charges.negotiated.clone()),
            )
        } else {
            (charges.total.clone(), charges.negotiated.clone())
        }
    }
}

/// What upsync decided about freight for one shipment; kept on the job (`jobs show`) and
/// in the demo report. Figures are those of UPS's Ship answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreightOutcome {
    /// Published total (with taxes when the rule includes them).
    pub list: Option<Decimal>,
    /// Negotiated total; `None` when UPS gave none.
    pub account: Option<Decimal>,
    /// Currency of UPS's charges.
    pub currency: String,
    /// The basis the rule asked for.
    pub asked: RateBasis,
    /// The basis actually used (list when account was asked but UPS gave none).
    pub basis: RateBasis,
    /// Why the basis differs from what was asked (UPS alert code and text, or "no
    /// NegotiatedRateCharges in UPS's answer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The figure written to the ERP; `None` when the write-back was refused.
    pub written: Option<Decimal>,
    /// Where it was written (ERP field paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The document's currency as the mapping reads it, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_currency: Option<String>,
    /// Stable code and message when freight was not written (e.g.
    /// `freight_currency_mismatch`); the label and 1Z numbers are written regardless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<(String, String)>,
    /// The UPS service actually shipped (after `cheapest_within_days`).
    pub service: String,
    /// Business days in transit UPS quoted for that service, when a quote was made.
    #[serde(default)]
    pub transit_days: Option<u32>,
}

/// Serde for `Option<Decimal>` as a JSON number (reports, API answers): written through
/// its shortest round-trip form, which for figures of ≤ 15 significant digits is exactly the
/// decimal's text; read from a number or a string.
pub mod number_opt {
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::str::FromStr;

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v.and_then(|d| d.to_f64()) {
            Some(f) => s.serialize_f64(f),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        match v {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(n)) => Decimal::from_str(&n.to_string())
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(serde_json::Value::String(s)) => Decimal::from_str(s.trim())
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(other) => Err(serde::de::Error::custom(format!(
                "expected a number, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Guards the golden cases and the edges a finance user checks: halves away
    /// from zero, ceiling and floor (also for negatives), zero, and 0 decimals.
    #[test]
    fn rounding_golden_table() {
        use Rounding::*;
        let cases: &[(&str, Rounding, u32, &str)] = &[
            ("13.575", Standard, 2, "13.58"),
            ("13.575", Up, 2, "13.58"),
            ("13.575", Down, 2, "13.57"),
            ("13.571", Up, 2, "13.58"),
            ("13.579", Down, 2, "13.57"),
            ("13.574", Standard, 2, "13.57"),
            ("13.58", Up, 2, "13.58"),
            ("13.58", Down, 2, "13.58"),
            ("-13.575", Standard, 2, "-13.58"),
            ("-13.571", Up, 2, "-13.57"),
            ("-13.571", Down, 2, "-13.58"),
            ("0", Standard, 2, "0"),
            ("0", Up, 2, "0"),
            ("0", Down, 0, "0"),
            ("28.489", Standard, 0, "28"),
            ("28.5", Standard, 0, "29"),
            ("28.001", Up, 0, "29"),
            ("28.999", Down, 0, "28"),
            ("-0.5", Standard, 0, "-1"),
            ("1.23456", Standard, 4, "1.2346"),
        ];
        for (v, r, dp, want) in cases {
            assert_eq!(r.round(d(v), *dp), d(want), "{v} {r:?} {dp}");
        }
    }

    /// Guards the markup formula: 24.99 × 1.10 = 27.489, + 1.00 = 28.489.
    #[test]
    fn markup_golden_table() {
        let rule = |percent: &str, amount: &str, rounding, decimals| FreightRule {
            rate: RateBasis::List,
            markup_percent: d(percent),
            markup_amount: d(amount),
            rounding,
            decimals,
            include_taxes: false,
        };
        use Rounding::*;
        let cases: &[(FreightRule, &str, &str)] = &[
            (rule("10", "1.00", Standard, 2), "24.99", "28.49"),
            (rule("10", "1.00", Up, 2), "24.99", "28.49"),
            (rule("10", "1.00", Down, 2), "24.99", "28.48"),
            (rule("10", "1.00", Standard, 0), "24.99", "28"),
            (rule("10", "1.00", Up, 0), "24.99", "29"),
            (rule("0", "0", Standard, 2), "13.575", "13.58"),
            (rule("0", "0", Down, 2), "13.575", "13.57"),
            (rule("0", "0", Standard, 2), "0", "0"),
            (rule("10", "1.00", Standard, 2), "0", "1.00"),
            (rule("-10", "0", Standard, 2), "24.99", "22.49"),
            (rule("0", "-30", Standard, 2), "24.99", "-5.01"),
            (rule("12.5", "0", Standard, 2), "10.01", "11.26"),
        ];
        for (r, base, want) in cases {
            assert_eq!(r.apply(d(base)), d(want), "{base} with {r:?}");
        }
    }

    /// Guards the tax choice: with-taxes figures when asked and given, totals otherwise.
    #[test]
    fn figures_follow_the_tax_choice() {
        let m = |a: &str| super::super::Money {
            amount: d(a),
            currency: "CAD".into(),
        };
        let charges = Charges {
            total: Some(m("20.00")),
            negotiated: Some(m("14.40")),
            total_with_taxes: Some(m("22.60")),
            negotiated_with_taxes: None,
        };
        let mut rule = FreightRule::default();
        assert_eq!(rule.figures(&charges), (Some(m("20.00")), Some(m("14.40"))));
        rule.include_taxes = true;
        assert_eq!(rule.figures(&charges), (Some(m("22.60")), Some(m("14.40"))));
    }
}
