//! Who pays: the `ShipmentCharge[]` of Ship's `PaymentInformation` and Rate's
//! `PaymentDetails` (Shipping.yaml `PaymentInformation_ShipmentCharge`,
//! `ShipmentCharge_BillShipper` / `_BillReceiver` / `_BillThirdParty`; UPS-REFERENCE §2.1
//! "Payment", §5 "Differs from Ship"). The schema checks shapes and lengths; these are the
//! rules it cannot express:
//!
//! * 1 to 3 charges, exactly one of type `01` (transportation, "required"), no type twice,
//!   types `01`/`02`/`03` only;
//! * each charge has exactly one payer ("This element or its sibling element … must be
//!   present but no more than one can be present");
//! * `BillShipper.AccountNumber` is an account of the caller (the spec: "Must be the same
//!   UPS account number as the one provided in Shipper/ShipperNumber");
//! * `BillThirdParty.AccountNumber` is present (the schema leaves it optional, but the
//!   description names it as "The UPS account number of the third party"), 6 letters or
//!   digits; `BillReceiver`'s likewise; a US or CA third-party account needs its
//!   `Address.PostalCode` ("Required for United States and Canadian UPS accounts");
//! * type `02` on a Qualified Domestic Shipment (same country, US↔PR, EU↔EU) is not an
//!   error but is ignored with Alert `121524` (UPS-REFERENCE §10 "duty payer not needed").
//!
//! Which error code UPS uses for a missing payer account is not documented: the simulator
//! answers `10002` ("The request is not valid"), the code it uses for other missing
//! fields, in UPS's error shape. Any well-formed receiver/third-party account is accepted
//! (the simulator keeps no registry of other shippers' accounts).

use serde_json::{json, Value};

use super::rate::{items, Lane};

type Rule = (&'static str, String);

const EU: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// Shipping.yaml's Qualified Domestic Shipment (rules 1–4; the IATA rule 5 is not modelled).
pub fn qualified_domestic(lane: &Lane) -> bool {
    let (o, d) = (lane.from_country.as_str(), lane.to_country.as_str());
    o == d || matches!((o, d), ("US", "PR") | ("PR", "US")) || (EU.contains(&o) && EU.contains(&d))
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn account_ok(a: &str) -> bool {
    a.len() == 6 && a.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Check `container.ShipmentCharge` (`container` is `…PaymentInformation` or
/// `…PaymentDetails`, named `path`). Ok: the alerts to add to the answer.
pub fn check(
    container: Option<&Value>,
    path: &str,
    accounts: &[String],
    lane: &Lane,
) -> Result<Vec<Value>, Rule> {
    let charges = items(container.and_then(|c| c.get("ShipmentCharge")));
    if charges.is_empty() {
        return Err((
            "10002",
            format!("The request is not valid: Missing required field {path}.ShipmentCharge"),
        ));
    }
    if charges.len() > 3 {
        return Err((
            "10002",
            format!("The request is not valid: {path}.ShipmentCharge holds at most 3 charges"),
        ));
    }
    let mut alerts = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in charges.iter().enumerate() {
        let p = format!("{path}.ShipmentCharge[{i}]");
        let ty = str_at(c, "/Type");
        if !["01", "02", "03"].contains(&ty) {
            return Err((
                "10002",
                format!("The request is not valid: {p}.Type must be 01 (transportation), 02 (duties and taxes) or 03 (broker of choice)"),
            ));
        }
        if seen.contains(&ty) {
            return Err((
                "10002",
                format!("The request is not valid: {p}.Type {ty} is given twice"),
            ));
        }
        seen.push(ty);
        let payers: Vec<&str> = [
            "BillShipper",
            "BillReceiver",
            "BillThirdParty",
            "ConsigneeBilledIndicator",
        ]
        .into_iter()
        .filter(|k| c.get(*k).is_some())
        .collect();
        if payers.len() != 1 {
            return Err((
                "10002",
                format!("The request is not valid: {p} needs exactly one of BillShipper, BillReceiver, BillThirdParty or ConsigneeBilledIndicator (got {})", payers.len()),
            ));
        }
        match payers[0] {
            "BillShipper" => {
                let acct = str_at(c, "/BillShipper/AccountNumber");
                if !acct.is_empty() && !accounts.iter().any(|a| a.eq_ignore_ascii_case(acct)) {
                    return Err((
                        "120100",
                        format!("Invalid billing account: {p}.BillShipper.AccountNumber is not an account of the authenticated client"),
                    ));
                }
            }
            "BillReceiver" if !account_ok(str_at(c, "/BillReceiver/AccountNumber")) => {
                return Err((
                    "10002",
                    format!("The request is not valid: Missing or invalid {p}.BillReceiver.AccountNumber (6 letters or digits)"),
                ));
            }
            "BillThirdParty" => {
                if !account_ok(str_at(c, "/BillThirdParty/AccountNumber")) {
                    return Err((
                        "10002",
                        format!("The request is not valid: Missing or invalid {p}.BillThirdParty.AccountNumber (6 letters or digits)"),
                    ));
                }
                let country = str_at(c, "/BillThirdParty/Address/CountryCode").to_ascii_uppercase();
                if matches!(country.as_str(), "US" | "CA")
                    && str_at(c, "/BillThirdParty/Address/PostalCode")
                        .trim()
                        .is_empty()
                {
                    return Err((
                        "10002",
                        format!("The request is not valid: Missing {p}.BillThirdParty.Address.PostalCode (required for {country} accounts)"),
                    ));
                }
            }
            _ => {}
        }
        if ty == "02" && qualified_domestic(lane) {
            alerts.push(json!({"Code": "121524", "Description": "Duties and taxes payer is not needed for this shipment and was ignored"}));
        }
    }
    if !seen.contains(&"01") {
        return Err((
            "10002",
            format!("The request is not valid: {path}.ShipmentCharge needs a charge of Type 01 (transportation)"),
        ));
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(from: &str, to: &str) -> Lane {
        Lane {
            from_country: from.into(),
            from_postal: "21093".into(),
            to_country: to.into(),
            to_postal: "30005".into(),
        }
    }

    /// Guards what the sim refuses and accepts in `ShipmentCharge[]`: third party without
    /// account, two payers, no transportation; duties on a domestic lane is an alert.
    #[test]
    fn payment_rules() {
        let accts = vec!["123X56".to_string()];
        let us = lane("US", "US");
        let ok = json!({"ShipmentCharge": [{"Type": "01", "BillThirdParty": {"AccountNumber": "A1B2C3", "Address": {"PostalCode": "30005", "CountryCode": "US"}}}]});
        assert_eq!(check(Some(&ok), "P", &accts, &us), Ok(vec![]));
        let no_acct = json!({"ShipmentCharge": [{"Type": "01", "BillThirdParty": {"Address": {"PostalCode": "30005", "CountryCode": "US"}}}]});
        let e = check(Some(&no_acct), "P", &accts, &us).unwrap_err();
        assert_eq!(e.0, "10002");
        assert!(e.1.contains("BillThirdParty.AccountNumber"), "{}", e.1);
        let no_postal = json!({"ShipmentCharge": [{"Type": "01", "BillThirdParty": {"AccountNumber": "A1B2C3", "Address": {"CountryCode": "CA"}}}]});
        assert!(check(Some(&no_postal), "P", &accts, &us).is_err());
        let two = json!({"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "123X56"}, "BillReceiver": {"AccountNumber": "R12345"}}]});
        assert!(check(Some(&two), "P", &accts, &us).is_err());
        let duties_only =
            json!({"ShipmentCharge": [{"Type": "02", "BillShipper": {"AccountNumber": "123X56"}}]});
        assert!(check(Some(&duties_only), "P", &accts, &us).is_err());
        let other =
            json!({"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "999999"}}]});
        assert_eq!(
            check(Some(&other), "P", &accts, &us).unwrap_err().0,
            "120100"
        );
        let ddp = json!({"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "123X56"}}, {"Type": "02", "BillShipper": {"AccountNumber": "123X56"}}]});
        assert_eq!(
            check(Some(&ddp), "P", &accts, &lane("US", "DE")),
            Ok(vec![])
        );
        let alerts = check(Some(&ddp), "P", &accts, &us).unwrap();
        assert_eq!(alerts[0]["Code"], "121524");
        assert_eq!(
            check(Some(&ddp), "P", &accts, &lane("DE", "FR"))
                .unwrap()
                .len(),
            1
        );
    }
}
