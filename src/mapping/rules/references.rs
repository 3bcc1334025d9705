//! Reference rules: placement per lane (≤5 package-level on US→US/PR→PR, ≤2
//! shipment-level elsewhere), length, required codes, one barcode.

use super::*;

pub(super) fn check_references(s: &Shipment, origin: &str, dest: &str, out: &mut Vec<Violation>) {
    // References.
    let level = crate::model::reference_level(origin, dest);
    let limit = reference_limit(level);
    if s.references
        .first()
        .is_none_or(|r| r.value.trim().is_empty())
    {
        out.push(v(
            "reference_missing",
            "references.shipment_number",
            None,
            "the ERP document number is empty; it must be the first reference".into(),
            "make sure the connector sets the record number",
        ));
    }
    if s.references.len() > limit {
        out.push(v(
            "reference_not_allowed",
            "references.others",
            Some(limit),
            format!(
                "{} references but UPS allows {limit} at {} level on this lane",
                s.references.len(),
                if level == ReferenceLevel::Package {
                    "package"
                } else {
                    "shipment"
                }
            ),
            "mark lower-priority references `optional: true` so they are dropped on this lane",
        ));
    }
    let mut barcodes = 0;
    for (i, r) in s.references.iter().enumerate() {
        let key = if i == 0 {
            "references.shipment_number".to_string()
        } else {
            format!("references.others[{}]", i - 1)
        };
        if !REFERENCE_CODES.contains(&r.code.as_str()) {
            out.push(v(
                "reference_not_allowed",
                &key,
                None,
                format!("reference code {} is not a UPS reference code", r.code),
                "use a code from UPS's list (TN, PO, ON, IK, …)",
            ));
        }
        if chars(&r.value) > 35 {
            out.push(v(
                "reference_too_long",
                &format!("{key}.value"),
                None,
                format!(
                    "reference {} has {} characters; UPS allows 35",
                    r.code,
                    chars(&r.value)
                ),
                "add `truncate: 35` (not for the document number)",
            ));
        }
        if r.barcode {
            barcodes += 1;
            let val = r.value.as_str();
            let numeric = val.bytes().all(|b| b.is_ascii_digit());
            let alnum = val.bytes().all(|b| b.is_ascii_alphanumeric());
            let fits = (numeric && val.len() <= 24) || (alnum && val.len() <= 14);
            if !fits {
                out.push(v("reference_barcode_invalid", &key, None, format!("barcoded reference {} must be ≤14 letters/digits or ≤24 digits without spaces or symbols (has {} characters)", r.code, chars(val)), "turn `barcode:` off for this reference"));
            }
        }
    }
    if barcodes > 1 {
        out.push(v(
            "reference_barcode_invalid",
            "references",
            None,
            format!("{barcodes} references are barcoded; UPS allows one per shipment"),
            "keep `barcode: true` on one reference only",
        ));
    }
}
