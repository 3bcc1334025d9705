//! Return rules: what UPS refuses on a return shipment (a shipment with
//! `Shipment.ReturnService`), checked before the call so no request is sent to fail.
//! Each rule cites Shipping.yaml (the UPS simulator enforces the same, `sim/src/ups/ship/rules.rs`):
//!
//! * `ReturnService.Code` one of 2, 3, 5, 8, 9 (`Shipment_ReturnService`);
//! * code 8 (electronic return label) needs `LabelDelivery.EMail` (`ShipmentServiceOptions_LabelDelivery`:
//!   "Required for shipments with … Electronic Return Label Return Service");
//! * every package has a `Description` (`Shipment_Package.Description`: "Required for shipment with return service");
//! * services 13, 59, 82–86, C6–C8 are not available (`Service.Code`: "The following Services
//!   are not available to return shipment");
//! * at most 20 packages, 1 when the return starts in the US or PR (`Shipment_Package`);
//! * transportation not billed to the receiver (`BillReceiver`: "For a return shipment, Bill
//!   Receiver is invalid for Transportation charges").
//!
//! `prefix` is the mapping section that made the shipment a return (`return_service` or
//! `auto_return`); keys name the mapping key to fix.

use super::*;
use crate::model::Payer;

/// Services UPS does not offer for returns (Shipping.yaml `Shipment_Service.Code`).
pub const SERVICES_NOT_FOR_RETURNS: &[&str] =
    &["13", "59", "82", "83", "84", "85", "86", "C6", "C7", "C8"];
/// Packages per return shipment (Shipping.yaml `Shipment_Package`).
pub const RETURN_PACKAGES_MAX: usize = 20;

/// Every return rule the shipment breaks (none when it is not a return).
pub fn check_return(s: &Shipment, prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(rs) = &s.return_service else {
        return out;
    };
    let code_key = if prefix == "auto_return" {
        "auto_return.return_service".to_string()
    } else {
        format!("{prefix}.code")
    };
    if !crate::mapping::returns::known_return_code(&rs.code) {
        out.push(v(
            "return_service_code_invalid",
            &code_key,
            None,
            format!("return service code {:?} is not one UPS offers here", rs.code),
            "use 9 (print return label), 8 (electronic return label), 3 (1 attempt), 5 (3 attempts) or 2 (print and mail)",
        ));
    }
    if rs.code == "8"
        && rs
            .label_email
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
    {
        out.push(v(
            "return_label_email_missing",
            &format!("{prefix}.label_email"),
            None,
            "an electronic return label (code 8) is e-mailed by UPS, but the record gives no e-mail address".into(),
            "fill in the customer's e-mail on the record, map `label_email`, or use code 9 (print return label)",
        ));
    }
    for (i, p) in s.packages.iter().enumerate() {
        if p.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            out.push(v(
                "return_package_description_missing",
                "packages.description",
                Some(i),
                format!("package {} has no description; UPS requires one on every return package", i + 1),
                "fill in the package description on the record, or map `packages.description` (auto returns: `auto_return.package_description`)",
            ));
        }
    }
    let codes: Vec<&str> = match &s.service {
        ServiceSelection::Fixed { code } => vec![code.as_str()],
        ServiceSelection::CheapestWithin {
            allowed, fallback, ..
        } => allowed
            .iter()
            .map(String::as_str)
            .chain(fallback.as_deref())
            .collect(),
    };
    let refused: Vec<&str> = codes
        .into_iter()
        .filter(|c| SERVICES_NOT_FOR_RETURNS.contains(c))
        .collect();
    if !refused.is_empty() {
        let key = if prefix == "auto_return" {
            "auto_return.service"
        } else {
            "service"
        };
        out.push(v(
            "return_service_not_allowed",
            key,
            None,
            format!(
                "UPS service {} is not available for returns",
                refused.join(", ")
            ),
            "map the return to another service (e.g. 03 Ground, 02 2nd Day Air)",
        ));
    }
    let origin = s
        .ship_from
        .as_ref()
        .map(|p| p.address.country.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let max = if origin == "US" || origin == "PR" {
        1
    } else {
        RETURN_PACKAGES_MAX
    };
    if s.packages.len() > max {
        out.push(v(
            "return_package_count_invalid",
            "packages",
            None,
            format!(
                "{} packages; UPS allows {max} per return from {origin}",
                s.packages.len()
            ),
            "send one return per package (split the return record), or consolidate the packages",
        ));
    }
    if matches!(s.billing.transportation, Payer::Receiver { .. }) {
        out.push(v(
            "return_bill_receiver_not_allowed",
            "billing.transportation.payer",
            None,
            "transportation of a return cannot be billed to the receiver".into(),
            "bill the shipper (or a third party) for returns",
        ));
    }
    out
}
