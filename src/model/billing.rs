//! Who pays for a shipment: transportation (UPS `ShipmentCharge` type `01`) and, across a
//! border, duties and taxes (type `02`) — Shipping.yaml `PaymentInformation.ShipmentCharge`
//! with its `BillShipper`, `BillReceiver` and `BillThirdParty` payers (UPS-REFERENCE §2.1
//! "Payment"). The UPS request builders turn a [`Billing`] into that array; the mapping's
//! `billing:` section produces it.
//!
//! Pure data: no I/O.

use serde::{Deserialize, Serialize};

/// One payer of a charge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "payer", rename_all = "snake_case")]
pub enum Payer {
    /// The shipper's own account (`BillShipper.AccountNumber` = `Shipper.ShipperNumber`).
    #[default]
    Shipper,
    /// The receiver's UPS account (`BillReceiver{AccountNumber, Address.PostalCode}`).
    Receiver {
        account: String,
        #[serde(default)]
        postal_code: String,
        #[serde(default)]
        country: String,
    },
    /// A third party's UPS account (`BillThirdParty{AccountNumber, Address{PostalCode,
    /// CountryCode}}`).
    ThirdParty {
        account: String,
        #[serde(default)]
        postal_code: String,
        country: String,
    },
}

impl Payer {
    pub fn as_str(&self) -> &'static str {
        match self {
            Payer::Shipper => "shipper",
            Payer::Receiver { .. } => "receiver",
            Payer::ThirdParty { .. } => "third_party",
        }
    }
}

/// Payers of a shipment's charges.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Billing {
    /// Transportation (type `01`; UPS requires it).
    #[serde(default)]
    pub transportation: Payer,
    /// Duties and taxes (type `02`), for shipments that cross a customs border; `None`:
    /// UPS's default (the receiver pays, DAP). Never sent on a qualified domestic
    /// shipment (Shipping.yaml: type 02 "is invalid for Qualified Domestic Shipments").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duties: Option<Payer>,
}

impl Billing {
    /// Bill everything to the shipper (today's default).
    pub fn shipper() -> Billing {
        Billing::default()
    }

    /// Whether this is the plain bill-shipper case.
    pub fn is_default(&self) -> bool {
        *self == Billing::default()
    }
}

/// Duties payer for an Incoterm (ICC Incoterms 2020): `DDP` → the shipper pays duties;
/// `DAP`, `DPU`, `DDU` (retired, still common in ERPs), `EXW`, `FCA`, `CPT`, `CIP`, `FOB`,
/// `CFR`, `CIF`, `FAS` → the receiver (`None` = UPS's default payer). Unknown → `Err`.
pub fn duties_for_incoterm(term: &str) -> Result<Option<Payer>, String> {
    match term.trim().to_ascii_uppercase().as_str() {
        "DDP" => Ok(Some(Payer::Shipper)),
        "DAP" | "DPU" | "DDU" | "DAT" | "EXW" | "FCA" | "CPT" | "CIP" | "FOB" | "CFR" | "CIF"
        | "FAS" => Ok(None),
        other => Err(format!("`{other}` is not an Incoterm upsync knows")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the Incoterm → duties payer table: only DDP makes the shipper pay duties.
    #[test]
    fn incoterms_pick_the_duties_payer() {
        assert_eq!(duties_for_incoterm("DDP"), Ok(Some(Payer::Shipper)));
        assert_eq!(duties_for_incoterm(" ddp "), Ok(Some(Payer::Shipper)));
        assert_eq!(duties_for_incoterm("DAP"), Ok(None));
        assert_eq!(duties_for_incoterm("DDU"), Ok(None));
        assert!(duties_for_incoterm("XYZ").is_err());
    }
}
