//! Units and dates as the mapping engine reads them from ERP records: weight and length
//! units, conversions, UPS's one-decimal weight rounding, the date formats ERPs send.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::{DimensionUnit, WeightUnit};

pub(super) fn parse_weight_unit(s: &str) -> Option<WeightUnit> {
    match s.trim().to_ascii_uppercase().as_str() {
        "LB" | "LBS" | "POUND" | "POUNDS" => Some(WeightUnit::Lbs),
        "KG" | "KGS" | "KILOGRAM" | "KILOGRAMS" => Some(WeightUnit::Kgs),
        "OZ" | "OZS" | "OUNCE" | "OUNCES" => Some(WeightUnit::Ozs),
        _ => None,
    }
}

pub(super) fn parse_dim_unit(s: &str) -> Option<DimensionUnit> {
    match s.trim().to_ascii_uppercase().as_str() {
        "IN" | "INCH" | "INCHES" => Some(DimensionUnit::In),
        "CM" | "CENTIMETER" | "CENTIMETERS" => Some(DimensionUnit::Cm),
        _ => None,
    }
}

/// Convert a weight between units.
pub fn convert_weight(v: Decimal, from: WeightUnit, to: WeightUnit) -> Decimal {
    let grams_per = |u: WeightUnit| match u {
        WeightUnit::Lbs => Decimal::new(45359237, 5),
        WeightUnit::Kgs => Decimal::from(1000),
        WeightUnit::Ozs => Decimal::new(28349523125, 9),
    };
    if from == to {
        v
    } else {
        v * grams_per(from) / grams_per(to)
    }
}

/// Convert a length between units.
pub fn convert_length(v: Decimal, from: DimensionUnit, to: DimensionUnit) -> Decimal {
    match (from, to) {
        (DimensionUnit::In, DimensionUnit::Cm) => v * Decimal::new(254, 2),
        (DimensionUnit::Cm, DimensionUnit::In) => v / Decimal::new(254, 2),
        _ => v,
    }
}

/// Round up to one decimal (UPS weight ≤5 characters) and drop trailing zeros.
pub(super) fn round_up_1(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(1, RoundingStrategy::AwayFromZero)
        .normalize()
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let head = t.get(..10).unwrap_or(t);
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t.get(..8).unwrap_or(t), "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(head, "%m/%d/%Y"))
        .ok()
}
