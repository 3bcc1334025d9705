//! International rules: description, customs data, customs lines (count per form,
//! description, quantity, HS code).

use super::*;

pub(super) fn check_international(
    s: &Shipment,
    origin: &str,
    dest: &str,
    domestic: bool,
    out: &mut Vec<Violation>,
) {
    // International.
    if !domestic {
        match &s.description {
            None => out.push(v(
                "international_data_missing",
                "international.description",
                None,
                "cross-border shipments need a description of the goods".into(),
                "map `international.description`",
            )),
            Some(d) if chars(d) > 50 => out.push(v(
                "description_too_long",
                "international.description",
                None,
                format!("description has {} characters; UPS allows 50", chars(d)),
                "add `truncate: 50`",
            )),
            _ => {}
        }
        match &s.international {
            None => out.push(v("international_data_missing", "international", None, format!("shipment crosses a border ({origin}→{dest}) but the mapping has no international data"), "add an `international:` section to the mapping")),
            Some(intl) => {
                if intl.currency.len() != 3 {
                    out.push(v("international_data_missing", "international.currency", None, "customs currency must be an ISO 4217 code".into(), "map the currency or use `{literal: USD}`"));
                }
                if intl.products.is_empty() {
                    out.push(v("international_data_missing", "international.lines.for_each", None, "no customs lines".into(), "the record needs item lines for the commercial invoice"));
                }
                for (i, p) in intl.products.iter().enumerate() {
                    if p.description.trim().is_empty() {
                        out.push(v("international_data_missing", "international.lines.description", Some(i), format!("customs line {} has no description", i + 1), "map the item description"));
                    } else if chars(&p.description) > 35 {
                        out.push(v("customs_description_too_long", "international.lines.description", Some(i), format!("customs line {} description has {} characters; UPS allows 35", i + 1, chars(&p.description)), "add `truncate: 35`"));
                    }
                    if p.origin_country.len() != 2 {
                        out.push(v("international_data_missing", "international.lines.origin_country", Some(i), format!("customs line {} has no origin country", i + 1), "fill in the origin country (ISO code) on the item"));
                    }
                    if p.unit_value <= Decimal::ZERO {
                        out.push(v("international_data_missing", "international.lines.unit_value", Some(i), format!("customs line {} value must be more than 0", i + 1), "fill in the unit price on the item"));
                    }
                    if p.quantity <= Decimal::ZERO {
                        out.push(v("international_data_missing", "international.lines.quantity", Some(i), format!("customs line {} quantity must be more than 0", i + 1), "fill in the shipped quantity"));
                    }
                    if p.quantity > Decimal::ZERO
                        && (!p.quantity.fract().is_zero() || p.quantity > Decimal::from(9_999_999))
                    {
                        out.push(v("customs_quantity_invalid", "international.lines.quantity", Some(i), format!("customs line {} quantity must be a whole number of at most 7 digits", i + 1), "ship whole units, or map a unit of measure in which the quantity is whole"));
                    }
                    if let Some(hs) = &p.hs_code {
                        if !(6..=15).contains(&hs.len()) || !hs.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            out.push(v("hs_code_invalid", "international.lines.hs_code", Some(i), format!("customs line {} HS code must be 6–15 letters/digits", i + 1), "correct the HS code on the item (digits only, no dots)"));
                        }
                    }
                }
                let max = customs_line_limit(&intl.form_types).min(crate::model::split::line_limit(s));
                if intl.products.len() > max && !intl.split {
                    out.push(v("customs_lines_over_limit", "international.lines", None, format!("{} customs lines; UPS allows {max} per shipment for these forms", intl.products.len()), "set `over_limit: split` (several UPS shipments for the record) or `over_limit: merge_by_hs_code`, or split the record in the ERP"));
                }
                if intl.split {
                    if let Err(e) = crate::model::split::plan(s) {
                        out.push(v(e.code(), "international.over_limit", None, e.to_string(), &e.fix()));
                    }
                }
            }
        }
    }
}
