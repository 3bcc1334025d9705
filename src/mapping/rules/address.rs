//! Party rules (ship-to, shipper): required fields, UPS lengths, phone, attention, state
//! and postal code formats per country.

use super::*;

pub(super) struct PartyKeys<'k> {
    pub(super) prefix: &'static str,
    pub(super) base: &'k str,
}

pub(super) fn check_party(
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
