//! Rule checks run on every canonical shipment before any UPS call (UPS-REFERENCE.md §2).
//!
//! Each violation has a stable code an admin can search for; it is what gets written back
//! to the ERP record. Messages never contain addresses, names or phone numbers (only
//! lengths, counts and codes). This module only looks at the [`Shipment`]; `mod.rs` adds
//! the ERP field, mapping file and line.
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
//! | `description_too_long` (50), `international_data_missing`, `customs_lines_over_limit`, `customs_description_too_long`, `customs_quantity_invalid` (whole, ≤7 digits), `hs_code_invalid` (6–15 alnum) | international |

use rust_decimal::Decimal;

use crate::model::{DimensionUnit, ReferenceLevel, ServiceSelection, Shipment, WeightUnit};

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

/// Max customs lines for the requested forms (UPS §2.2).
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

struct PartyKeys<'k> {
    prefix: &'static str,
    base: &'k str,
}

fn check_party(
    out: &mut Vec<Violation>,
    p: &crate::model::Party,
    k: &PartyKeys<'_>,
    phone_required: bool,
    attention_required: bool,
) {
    let pre = k.prefix;
    // Shipper entries keep their address under `address:` in the mapping file.
    let key = |f: &str| match (pre, f) {
        ("ship_to", _) => format!("{}.{}", k.base, f),
        (_, "city" | "state" | "postal_code" | "country") => format!("{}.address.{}", k.base, f),
        (_, "address") => format!("{}.address.lines", k.base),
        _ => format!("{}.{}", k.base, f),
    };
    let missing = |code, f: &str, what: &str| {
        v(
            code,
            &key(f),
            None,
            format!("{pre} {what} is empty"),
            "map a field that is filled in for every record, or add `default:`",
        )
    };
    if p.name.trim().is_empty() {
        out.push(missing(
            if pre == "ship_to" {
                "ship_to_name_missing"
            } else {
                "shipper_name_missing"
            },
            "name",
            "name",
        ));
    } else if chars(&p.name) > 35 {
        out.push(v(
            "name_too_long",
            &key("name"),
            None,
            format!(
                "{pre} name has {} characters; UPS allows 35",
                chars(&p.name)
            ),
            "add `truncate: 35` to the expression, or shorten the name in the ERP",
        ));
    }
    match &p.attention {
        Some(a) if chars(a) > 35 => out.push(v(
            "attention_too_long",
            &key("attention"),
            None,
            format!("{pre} attention has {} characters; UPS allows 35", chars(a)),
            "add `truncate: 35` to the expression",
        )),
        None if attention_required && pre == "ship_to" => out.push(v(
            "attention_missing",
            &key("attention"),
            None,
            format!("{pre} attention name is required for this lane/service"),
            "map an attention/contact field, e.g. `first_non_empty: [Attention, BusinessName]`",
        )),
        // Shipping.yaml `Shipment_Shipper.AttentionName`: "Required if destination is
        // international" (UPS-REFERENCE §2.1); UPS refuses the Ship without it.
        None if attention_required => out.push(v(
            "shipper_attention_missing",
            &key("attention"),
            None,
            "shipper attention name is required when the destination is international (UPS Shipper.AttentionName)".into(),
            "add `attention:` (a contact or department, ≤35 characters) to this warehouse's entry under `ship_from.entries`",
        )),
        _ => {}
    }
    match &p.phone {
        Some(ph) => {
            let digits = ph.bytes().filter(u8::is_ascii_digit).count();
            if !(10..=15).contains(&digits) || chars(ph) > 15 {
                out.push(v("phone_invalid", &key("phone"), None, format!("{pre} phone has {digits} digits and {} characters; UPS needs 10–15 digits in at most 15 characters", chars(ph)), "add `digits_only: true`, or correct the phone number in the ERP"));
            }
        }
        None if phone_required => out.push(v(
            "phone_missing",
            &key("phone"),
            None,
            format!("{pre} phone is required for international shipments and Next Day Air Early"),
            "fill in the phone number in the ERP record",
        )),
        None => {}
    }
    let a = &p.address;
    let lines_key = if pre == "ship_to" {
        key("address_lines")
    } else {
        key("address")
    };
    if a.lines.is_empty() || a.lines[0].trim().is_empty() {
        out.push(missing(
            if pre == "ship_to" {
                "ship_to_address_missing"
            } else {
                "shipper_address_missing"
            },
            if pre == "ship_to" {
                "address_lines"
            } else {
                "address"
            },
            "address line",
        ));
    }
    if a.lines.len() > 3 {
        out.push(v(
            "too_many_address_lines",
            &lines_key,
            None,
            format!("{pre} has {} address lines; UPS allows 3", a.lines.len()),
            "map at most three address lines",
        ));
    }
    for (i, l) in a.lines.iter().enumerate() {
        if chars(l) > 35 {
            out.push(v(
                "address_line_too_long",
                &format!("{lines_key}[{i}]"),
                None,
                format!(
                    "{pre} address line {} has {} characters; UPS allows 35",
                    i + 1,
                    chars(l)
                ),
                "add `truncate: 35`, or split the line in the ERP",
            ));
        }
    }
    if a.city.trim().is_empty() {
        out.push(missing(
            if pre == "ship_to" {
                "ship_to_city_missing"
            } else {
                "shipper_city_missing"
            },
            "city",
            "city",
        ));
    } else if chars(&a.city) > 30 {
        out.push(v(
            "city_too_long",
            &key("city"),
            None,
            format!(
                "{pre} city has {} characters; UPS allows 30",
                chars(&a.city)
            ),
            "add `truncate: 30`",
        ));
    }
    let country_ok = a.country.len() == 2 && a.country.bytes().all(|b| b.is_ascii_uppercase());
    if !country_ok {
        out.push(v(
            if pre == "ship_to" {
                "ship_to_country_invalid"
            } else {
                "shipper_country_invalid"
            },
            &key("country"),
            None,
            format!("{pre} country must be an ISO 3166 two-letter code"),
            "map the country code field, or use a `lookup:` from country names to codes",
        ));
        return;
    }
    let (state_code, postal_code) = if pre == "ship_to" {
        ("ship_to_state_invalid", "ship_to_postal_code_invalid")
    } else {
        ("shipper_state_invalid", "shipper_postal_code_invalid")
    };
    let (state_ok, postal_ok, rule) = match a.country.as_str() {
        "US" => (
            US_STATES.contains(&a.state.as_str()),
            digits_ok(&a.postal_code, &[5, 9]),
            "US: two-letter state, ZIP of 5 or 9 digits",
        ),
        "CA" => (
            CA_PROVINCES.contains(&a.state.as_str()),
            ca_postal_ok(&a.postal_code),
            "CA: two-letter province, postal code A1A 1A1",
        ),
        "PR" => (
            a.state == "PR",
            pr_postal_ok(&a.postal_code),
            "PR: ZIP 006xx–009xx (5 or 9 digits)",
        ),
        _ => (
            a.state.len() <= 5,
            a.postal_code.len() <= 9,
            "state ≤5 characters, postal code ≤9 characters",
        ),
    };
    if !state_ok {
        out.push(v(
            state_code,
            &key("state"),
            None,
            format!("{pre} state/province does not fit {rule}"),
            "correct the state in the ERP record",
        ));
    }
    if !postal_ok {
        out.push(v(
            postal_code,
            &key("postal_code"),
            None,
            format!("{pre} postal code does not fit {rule}"),
            "correct the postal code in the ERP record",
        ));
    }
}

fn weight_in_lbs(w: &crate::model::Weight) -> Decimal {
    match w.unit {
        WeightUnit::Lbs => w.value,
        WeightUnit::Kgs => w.value * Decimal::new(22046226, 7),
        WeightUnit::Ozs => w.value / Decimal::from(16),
    }
}

fn in_inches(x: Decimal, unit: DimensionUnit) -> Decimal {
    match unit {
        DimensionUnit::In => x,
        DimensionUnit::Cm => x / Decimal::new(254, 2),
    }
}

/// Check a shipper entry of the mapping itself (at load time): name, phone, address.
/// `base` is the entry's key path (`ship_from.entries.MAIN`).
pub fn check_shipper(p: &crate::model::Party, base: &str) -> Vec<Violation> {
    let mut p = p.clone();
    normalise_address(&mut p.address);
    let mut out = Vec::new();
    check_party(
        &mut out,
        &p,
        &PartyKeys {
            prefix: "shipper",
            base,
        },
        false,
        false,
    );
    out
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

    // Service valid for the lane.
    let lane_ok = |code: &str| {
        if domestic {
            (origin == "US" || origin == "PR") && DOMESTIC_SERVICES.contains(&code)
        } else {
            INTERNATIONAL_SERVICES.contains(&code)
        }
    };
    let codes: Vec<&str> = match &s.service {
        ServiceSelection::Fixed { code } => vec![code.as_str()],
        ServiceSelection::CheapestWithin {
            allowed, fallback, ..
        } => allowed
            .iter()
            .map(|c| c.as_str())
            .chain(fallback.as_deref())
            .collect(),
    };
    if let ServiceSelection::CheapestWithin { allowed, .. } = &s.service {
        if allowed.is_empty() {
            // Any Shop result: nothing to check here.
        } else if !allowed.iter().any(|c| lane_ok(c)) {
            out.push(v(
                "service_invalid_for_lane",
                "service",
                None,
                format!(
                    "none of the allowed services {} is valid from {origin} to {dest}",
                    allowed.join(",")
                ),
                "map this ship-via to a service valid for the lane",
            ));
        }
        if let ServiceSelection::CheapestWithin {
            fallback: Some(f), ..
        } = &s.service
        {
            if !lane_ok(f) {
                out.push(v(
                    "service_invalid_for_lane",
                    "service",
                    None,
                    format!("fallback service {f} is not valid from {origin} to {dest}"),
                    "pick a fallback valid for the lane",
                ));
            }
        }
    } else {
        for c in codes {
            if !lane_ok(c) {
                let what = if domestic {
                    "an international service on a domestic lane"
                } else {
                    "a domestic service on a cross-border lane"
                };
                out.push(v("service_invalid_for_lane", "service", None, format!("service {c} is {what} ({origin}→{dest})"), "choose a ship-via valid for the destination (e.g. UPS Standard/Worldwide for cross-border)"));
            }
        }
    }

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

    // References.
    let level = crate::model::reference_level(&origin, &dest);
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
                let max = customs_line_limit(&intl.form_types);
                if intl.products.len() > max {
                    out.push(v("customs_lines_over_limit", "international.lines", None, format!("{} customs lines; UPS allows {max} for these forms", intl.products.len()), "split the shipment, or set `over_limit: merge_by_hs_code`"));
                }
            }
        }
    }
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
        assert_eq!(customs_line_limit(&["01".into()]), 100);
        assert_eq!(customs_line_limit(&["01".into(), "06".into()]), 50);
    }
}
