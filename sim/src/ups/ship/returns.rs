//! The Ship rules for return shipments (a `Shipment.ReturnService` is present), each from
//! Shipping.yaml; the schema cannot express them. The error codes UPS uses for them are not
//! documented (UPS-REFERENCE §10 lists none): they are modelled here, in UPS's error shape,
//! with messages that name the field, as the other Ship rules do.
//!
//! | rule | Shipping.yaml | code (modelled) |
//! |------|---------------|-----------------|
//! | `ReturnService.Code` ∈ 2, 3, 5, 8, 9, 10–20 | `Shipment_ReturnService.Code` | `121210` |
//! | `ShipFrom` present | `Shipment_ShipFrom`: "Required for return shipment" | `120802` |
//! | every `Package.Description` present | `Shipment_Package.Description`: "Required for shipment with return service" | `121211` |
//! | service not 13, 59, 82–86, C6–C8 | `Shipment_Service.Code`: "not available to return shipment" | `121100` |
//! | ≤ 20 packages; 1 when ShipFrom is US/PR | `Shipment_Package`: "For Return Shipments up to 20 packages … US/PR origin … only one package" | `120519` |
//! | code 8 has `LabelDelivery` with `EMail` or `LabelLinksIndicator` | `ShipmentServiceOptions_LabelDelivery` | `121212` |
//! | form types only 05 / 10 | `InternationalForms.FormType`: "For shipment with return service, 05 or 10 are the only valid values" | `121213` |
//! | no COD | `PackageServiceOptions_COD`: "COD is not valid for return service movements" | `121214` |
//! | no BillReceiver for transportation | `BillReceiver`: "For a return shipment, Bill Receiver is invalid for Transportation charges" | `121215` |

use serde_json::Value;

use super::{items, s};

type Rule = (&'static str, String);

const NOT_FOR_RETURNS: &[&str] = &["13", "59", "82", "83", "84", "85", "86", "C6", "C7", "C8"];

/// Check a return shipment (`sh` = `ShipmentRequest.Shipment`); `Ok` when not a return.
pub(super) fn check_return(sh: &Value, p: &str) -> Result<Option<String>, Rule> {
    let Some(rs) = sh.get("ReturnService") else {
        return Ok(None);
    };
    let code = s(rs, "/Code").to_string();
    let known = matches!(code.as_str(), "2" | "3" | "5" | "8" | "9")
        || code.parse::<u8>().is_ok_and(|n| (10..=20).contains(&n));
    if !known {
        return Err((
            "121210",
            format!("Invalid return service: {p}.ReturnService.Code '{code}' is not a UPS return service"),
        ));
    }
    let Some(from) = sh.get("ShipFrom") else {
        return Err((
            "120802",
            format!("Missing ship from: {p}.ShipFrom is required for return shipments"),
        ));
    };
    let pkgs = items(sh.get("Package"));
    for (i, pk) in pkgs.iter().enumerate() {
        if s(pk, "/Description").trim().is_empty() {
            return Err((
                "121211",
                format!("Missing package description: {p}.Package[{i}].Description is required for shipments with return service"),
            ));
        }
        if pk.pointer("/PackageServiceOptions/COD").is_some() {
            return Err((
                "121214",
                format!("{p}.Package[{i}].PackageServiceOptions.COD is not valid for return service movements"),
            ));
        }
    }
    let service = s(sh, "/Service/Code");
    if NOT_FOR_RETURNS.contains(&service) {
        return Err((
            "121100",
            format!("The selected service is not valid for return shipments: {p}.Service.Code {service} is not available with ReturnService"),
        ));
    }
    let origin = s(from, "/Address/CountryCode").to_ascii_uppercase();
    let max = if origin == "US" || origin == "PR" {
        1
    } else {
        20
    };
    if pkgs.len() > max {
        return Err((
            "120519",
            format!(
                "{p}.Package: return shipments from {origin} allow at most {max} package(s) (got {})",
                pkgs.len()
            ),
        ));
    }
    if code == "8" {
        let ld = sh.pointer("/ShipmentServiceOptions/LabelDelivery");
        let ok = ld.is_some_and(|l| {
            !s(l, "/EMail/EMailAddress").trim().is_empty() || l.get("LabelLinksIndicator").is_some()
        });
        if !ok {
            return Err((
                "121212",
                format!("Missing label delivery: {p}.ShipmentServiceOptions.LabelDelivery with EMail or LabelLinksIndicator is required for an Electronic Return Label"),
            ));
        }
    }
    if let Some(forms) = sh.pointer("/ShipmentServiceOptions/InternationalForms") {
        for f in items(forms.get("FormType")) {
            let t = f.as_str().unwrap_or("");
            if t != "05" && t != "10" {
                return Err((
                    "121213",
                    format!("Invalid form type for a return shipment: {p}.ShipmentServiceOptions.InternationalForms.FormType '{t}' (only 05 or 10)"),
                ));
            }
        }
    }
    for c in items(sh.pointer("/PaymentInformation/ShipmentCharge")) {
        if s(c, "/Type") == "01" && c.get("BillReceiver").is_some() {
            return Err((
                "121215",
                format!("{p}.PaymentInformation.ShipmentCharge: BillReceiver is invalid for Transportation charges of a return shipment"),
            ));
        }
    }
    Ok(Some(code))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::check_ship;

    fn accounts() -> Vec<String> {
        vec!["123X56".into()]
    }

    /// A print-return-label request as the client builds it: the customer in ShipFrom,
    /// the warehouse in ShipTo, the account holder as Shipper.
    fn ret() -> serde_json::Value {
        let mut b: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/ship-request-minimal.json")).unwrap();
        let sh = &mut b["ShipmentRequest"]["Shipment"];
        sh["ShipFrom"] = sh["ShipTo"].clone();
        sh["ShipFrom"]["Address"]
            .as_object_mut()
            .unwrap()
            .remove("ResidentialAddressIndicator");
        sh["ShipTo"] = sh["Shipper"].clone();
        sh["ShipTo"]
            .as_object_mut()
            .unwrap()
            .remove("ShipperNumber");
        sh["ReturnService"] = json!({"Code": "9"});
        sh["Package"] = json!([sh["Package"]
            .as_array()
            .map(|a| a[0].clone())
            .unwrap_or_else(|| sh["Package"].clone())]);
        sh["Package"][0]["Description"] = json!("Returned goods");
        b
    }

    #[test]
    fn a_print_return_label_passes_and_is_marked() {
        let p = check_ship(&ret(), &accounts()).unwrap();
        assert_eq!(p.return_service.as_deref(), Some("9"));
    }

    #[test]
    fn return_rules_refuse_with_their_codes() {
        let mut b = ret();
        b["ShipmentRequest"]["Shipment"]["Package"][0]
            .as_object_mut()
            .unwrap()
            .remove("Description");
        let (code, m) = check_ship(&b, &accounts()).unwrap_err();
        assert_eq!(code, "121211");
        assert!(m.contains("Package[0].Description"), "{m}");

        let mut b = ret();
        b["ShipmentRequest"]["Shipment"]["Service"]["Code"] = json!("13");
        assert_eq!(check_ship(&b, &accounts()).unwrap_err().0, "121100");

        let mut b = ret();
        let pk = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
        b["ShipmentRequest"]["Shipment"]["Package"] = json!([pk.clone(), pk]);
        let (code, m) = check_ship(&b, &accounts()).unwrap_err();
        assert_eq!(code, "120519");
        assert!(m.contains("at most 1"), "{m}");

        let mut b = ret();
        b["ShipmentRequest"]["Shipment"]["ReturnService"]["Code"] = json!("8");
        assert_eq!(check_ship(&b, &accounts()).unwrap_err().0, "121212");
        b["ShipmentRequest"]["Shipment"]["ShipmentServiceOptions"] =
            json!({"LabelDelivery": {"EMail": {"EMailAddress": "a@example.com"}}});
        assert!(check_ship(&b, &accounts()).is_ok());

        let mut b = ret();
        b["ShipmentRequest"]["Shipment"]["ReturnService"]["Code"] = json!("4");
        assert_eq!(check_ship(&b, &accounts()).unwrap_err().0, "121210");

        let mut b = ret();
        b["ShipmentRequest"]["Shipment"]
            .as_object_mut()
            .unwrap()
            .remove("ShipFrom");
        assert_eq!(check_ship(&b, &accounts()).unwrap_err().0, "120802");
    }
}
