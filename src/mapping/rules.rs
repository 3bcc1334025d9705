//! Rule checks run on every canonical shipment before any UPS call (UPS-REFERENCE.md §2).
//!
//! Each violation has a stable code an admin can search for; it is what gets written back
//! to the ERP record. Messages never contain addresses, names or phone numbers (only
//! lengths, counts and codes). This module only looks at the [`Shipment`]; `run.rs` adds
//! the ERP field, mapping file and line.
//!
//! [`check`] runs the rules by area, one file each in `rules/`: `address.rs` (parties),
//! `service.rs`, `packages.rs`, `references.rs`, `customs.rs` (international).
//!
//! | code | rule |
//! |------|------|
//! | `ship_to_name_missing`, `ship_to_address_missing`, `ship_to_city_missing`, `ship_to_country_invalid` | required ship-to fields |
//! | `shipper_*` (same set) | required shipper fields (from the mapping's `ship_from` table) |
//! | `name_too_long`, `attention_too_long`, `address_line_too_long` (35), `city_too_long` (30), `too_many_address_lines` (3) | UPS lengths; use `truncate:` to auto-truncate |
//! | `phone_invalid` (10–15 digits, ≤15 chars), `phone_missing` (international, NDA Early) | phone rules |
//! | `attention_missing` | ship-to attention required cross-border and for NDA Early |
//! | `shipper_attention_missing` | shipper attention required when the destination is international (Shipping.yaml `Shipper.AttentionName`) |
//! | `ship_to_state_invalid`, `ship_to_postal_code_invalid` | US 5/9 digits, CA `A1A 1A1`, PR 006xx–009xx |
//! | `reference_not_allowed`, `reference_too_long`, `reference_missing`, `reference_barcode_invalid` | reference placement (≤5 package-level on US→US/PR→PR, ≤2 shipment-level elsewhere), ≤35 chars, one barcode ≤14 alnum / ≤24 digits |
//! | `service_invalid_for_lane` | domestic codes only US→US/PR (and PR→PR/US), international codes only cross-border |
//! | `packages_missing`, `too_many_packages` (200) | package count |
//! | `package_weight_invalid` (≤0), `package_too_heavy` (>150 lb), `package_too_long` (>108 in), `package_too_large` (L+2(W+H) >165 in), `package_description_too_long` | package limits |
//! | `return_service_code_invalid`, `return_label_email_missing`, `return_package_description_missing`, `return_service_not_allowed`, `return_package_count_invalid`, `return_bill_receiver_not_allowed` | return shipments (`rules/returns.rs`, docs/returns.md) |
//! | `description_too_long` (50), `international_data_missing`, `customs_lines_over_limit`, `customs_description_too_long`, `customs_quantity_invalid` (whole, ≤7 digits), `hs_code_invalid` (6–15 alnum) | international |

use rust_decimal::Decimal;

use crate::model::{DimensionUnit, ReferenceLevel, ServiceSelection, Shipment, WeightUnit};

mod address;
mod customs;
mod packages;
mod references;
mod returns;
mod service;

pub use address::check_shipper;
use address::{check_party, PartyKeys};
pub use returns::{check_return, RETURN_PACKAGES_MAX, SERVICES_NOT_FOR_RETURNS};

/// One broken rule, located by mapping key (`ship_to.postal_code`) and element index.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub code: &'static str,
    /// Mapping key whose expression produced the value.
    pub key: String,
    /// Index of the package / customs line / reference.
    pub index: Option<usize>,
    pub message: String,
    pub fix: String,
}

fn v(code: &'static str, key: &str, index: Option<usize>, message: String, fix: &str) -> Violation {
    Violation {
        code,
        key: key.to_string(),
        index,
        message,
        fix: fix.to_string(),
    }
}

/// UPS domestic service codes (US/PR lanes).
pub const DOMESTIC_SERVICES: &[&str] = &["01", "02", "03", "12", "13", "14", "59", "75"];
/// UPS international service codes.
pub const INTERNATIONAL_SERVICES: &[&str] = &[
    "07", "08", "11", "54", "65", "17", "72", "70", "71", "96", "74",
];
/// Every service code this engine accepts in a mapping.
pub fn known_service(code: &str) -> bool {
    DOMESTIC_SERVICES.contains(&code) || INTERNATIONAL_SERVICES.contains(&code)
}

/// UPS reference number codes (standard list).
pub const REFERENCE_CODES: &[&str] = &[
    "AJ", "AT", "BM", "9V", "ON", "DP", "3Q", "IK", "MK", "MJ", "PM", "PC", "PO", "RQ", "RZ", "SA",
    "SE", "ST", "TN", "EI", "TJ", "SY",
];

/// Max references per lane: package level (US→US, PR→PR) 5, shipment level 2.
pub fn reference_limit(level: ReferenceLevel) -> usize {
    match level {
        ReferenceLevel::Package => 5,
        ReferenceLevel::Shipment => 2,
    }
}

/// Same country, or between US and PR: no customs, domestic services.
pub fn is_domestic_lane(origin: &str, dest: &str) -> bool {
    let o = origin.to_ascii_uppercase();
    let d = dest.to_ascii_uppercase();
    o == d || matches!((o.as_str(), d.as_str()), ("US", "PR") | ("PR", "US"))
}

/// Max customs lines for the requested forms: UPS §2.2 names 50 (packing list), 100
/// (invoice, USMCA, CO, EEI) and 1000 (AF packing list), but Shipping.yaml declares
/// `InternationalForms.Product` with cardinality 50 for every form, and the simulator
/// enforces that: upsync keeps to the lower of the two, so it is right under both.
pub fn customs_line_limit(form_types: &[String]) -> usize {
    form_types
        .iter()
        .map(|f| match f.as_str() {
            "06" => 50,
            "08" => 1000,
            _ => 100,
        })
        .min()
        .unwrap_or(100)
        .min(crate::model::split::SPEC_MAX_PRODUCTS)
}

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "UM", "AA", "AE", "AP",
];
const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// Normalise a postal address in place (codes upper-case, US/PR ZIP without hyphen,
/// CA postal code without space, PR state filled in).
pub fn normalise_address(a: &mut crate::model::Address) {
    a.country = a.country.trim().to_ascii_uppercase();
    a.state = a.state.trim().to_ascii_uppercase();
    match a.country.as_str() {
        "US" | "PR" => a.postal_code.retain(|c| c != '-' && c != ' '),
        "CA" => {
            a.postal_code.retain(|c| c != ' ' && c != '-');
            a.postal_code.make_ascii_uppercase();
        }
        _ => a.postal_code = a.postal_code.trim().to_string(),
    }
    if a.country == "PR" && a.state.is_empty() {
        a.state = "PR".into();
    }
}

fn digits_ok(s: &str, lens: &[usize]) -> bool {
    s.bytes().all(|b| b.is_ascii_digit()) && lens.contains(&s.len())
}

fn ca_postal_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && b.iter().enumerate().all(|(i, c)| {
            if i % 2 == 0 {
                c.is_ascii_uppercase()
            } else {
                c.is_ascii_digit()
            }
        })
}

fn pr_postal_ok(s: &str) -> bool {
    digits_ok(s, &[5, 9]) && matches!(&s[..3], "006" | "007" | "008" | "009")
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Check every rule; the shipment's addresses are normalised first.
pub fn check(s: &mut Shipment) -> Vec<Violation> {
    let mut out = Vec::new();
    normalise_address(&mut s.shipper.address);
    if let Some(f) = s.ship_from.as_mut() {
        normalise_address(&mut f.address);
    }
    normalise_address(&mut s.ship_to.address);

    let origin = s
        .ship_from
        .as_ref()
        .map(|p| p.address.country.clone())
        .unwrap_or_else(|| s.shipper.address.country.clone());
    let dest = s.ship_to.address.country.clone();
    let domestic = is_domestic_lane(&origin, &dest);
    let nda_early = matches!(&s.service, ServiceSelection::Fixed { code } if code == "14");

    if s.account_number.len() != 6 || !s.account_number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push(v(
            "account_invalid",
            "ship_from.entries",
            None,
            "the UPS shipper number must be 6 letters/digits".into(),
            "fix `account:` in the ship_from entry",
        ));
    }
    check_party(
        &mut out,
        &s.shipper,
        &PartyKeys {
            prefix: "shipper",
            base: "ship_from.entries",
        },
        !domestic,
        !domestic,
    );
    check_party(
        &mut out,
        &s.ship_to,
        &PartyKeys {
            prefix: "ship_to",
            base: "ship_to",
        },
        !domestic || nda_early,
        !domestic || nda_early,
    );

    service::check_service(s, &origin, &dest, domestic, &mut out);
    packages::check_packages(s, &mut out);
    references::check_references(s, &origin, &dest, &mut out);
    customs::check_international(s, &origin, &dest, domestic, &mut out);

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_formats() {
        assert!(digits_ok("30005", &[5, 9]));
        assert!(digits_ok("300051234", &[5, 9]));
        assert!(!digits_ok("3000", &[5, 9]));
        assert!(ca_postal_ok("K1A0B1"));
        assert!(!ca_postal_ok("K1A0B"));
        assert!(pr_postal_ok("00901"));
        assert!(!pr_postal_ok("01001"));
        let mut a = crate::model::Address {
            postal_code: "k1a 0b1".into(),
            country: "ca".into(),
            ..Default::default()
        };
        normalise_address(&mut a);
        assert_eq!(a.postal_code, "K1A0B1");
        assert_eq!(a.country, "CA");
    }

    #[test]
    fn lanes() {
        assert!(is_domestic_lane("US", "US"));
        assert!(is_domestic_lane("US", "PR"));
        assert!(!is_domestic_lane("US", "CA"));
        assert_eq!(customs_line_limit(&["01".into()]), 50);
        assert_eq!(customs_line_limit(&["01".into(), "06".into()]), 50);
    }
}
