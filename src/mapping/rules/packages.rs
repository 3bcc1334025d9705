//! Package rules: count (1–200), weight, length, size (L+2(W+H)), description.

use super::*;

pub(super) fn weight_in_lbs(w: &crate::model::Weight) -> Decimal {
    match w.unit {
        WeightUnit::Lbs => w.value,
        WeightUnit::Kgs => w.value * Decimal::new(22046226, 7),
        WeightUnit::Ozs => w.value / Decimal::from(16),
    }
}

pub(super) fn in_inches(x: Decimal, unit: DimensionUnit) -> Decimal {
    match unit {
        DimensionUnit::In => x,
        DimensionUnit::Cm => x / Decimal::new(254, 2),
    }
}

pub(super) fn check_packages(s: &Shipment, out: &mut Vec<Violation>) {
    // Packages.
    if s.packages.is_empty() {
        out.push(v(
            "packages_missing",
            "packages.for_each",
            None,
            "the record has no packages".into(),
            "add at least one package in the ERP",
        ));
    }
    if s.packages.len() > 200 {
        out.push(v(
            "too_many_packages",
            "packages.for_each",
            None,
            format!("{} packages; UPS allows 200 per shipment", s.packages.len()),
            "split the shipment",
        ));
    }
    for (i, p) in s.packages.iter().enumerate() {
        let lbs = weight_in_lbs(&p.weight);
        if p.weight.value <= Decimal::ZERO {
            out.push(v(
                "package_weight_invalid",
                "packages.weight.value",
                Some(i),
                format!("package {} weight must be more than 0", i + 1),
                "enter the package weight in the ERP",
            ));
        } else if lbs > Decimal::from(150) {
            out.push(v(
                "package_too_heavy",
                "packages.weight.value",
                Some(i),
                format!(
                    "package {} weighs {} lb; UPS parcels allow 150 lb",
                    i + 1,
                    lbs.round_dp(1)
                ),
                "split the package or ship it as freight",
            ));
        }
        if let Some(d) = &p.dimensions {
            let mut dims = [
                in_inches(d.length, d.unit),
                in_inches(d.width, d.unit),
                in_inches(d.height, d.unit),
            ];
            if dims.iter().any(|x| *x <= Decimal::ZERO) {
                out.push(v(
                    "package_dimensions_invalid",
                    "packages.dimensions",
                    Some(i),
                    format!("package {} has a zero or negative dimension", i + 1),
                    "enter all three dimensions, or none",
                ));
            }
            dims.sort();
            let (len, w, h) = (dims[2], dims[1], dims[0]);
            if len > Decimal::from(108) {
                out.push(v(
                    "package_too_long",
                    "packages.dimensions.length",
                    Some(i),
                    format!(
                        "package {} is {} in long; UPS allows 108 in",
                        i + 1,
                        len.round_dp(1)
                    ),
                    "ship it as freight",
                ));
            }
            let girth = len + Decimal::from(2) * (w + h);
            if girth > Decimal::from(165) {
                out.push(v(
                    "package_too_large",
                    "packages.dimensions",
                    Some(i),
                    format!(
                        "package {} length + girth is {} in; UPS allows 165 in",
                        i + 1,
                        girth.round_dp(1)
                    ),
                    "ship it as freight or repack",
                ));
            }
        }
        if let Some(d) = &p.description {
            if chars(d) > 35 {
                out.push(v(
                    "package_description_too_long",
                    "packages.description",
                    Some(i),
                    format!(
                        "package {} description has {} characters; UPS allows 35",
                        i + 1,
                        chars(d)
                    ),
                    "add `truncate: 35`",
                ));
            }
        }
    }
}
