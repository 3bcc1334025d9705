//! Service rules: the UPS service code must be valid for the lane (domestic codes on
//! US/PR lanes, international codes cross-border), for fixed and cheapest-within choices.

use super::*;

pub(super) fn check_service(
    s: &Shipment,
    origin: &str,
    dest: &str,
    domestic: bool,
    out: &mut Vec<Violation>,
) {
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
}
