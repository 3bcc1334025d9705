//! `Shipment.ShipmentDate` (Shipping.yaml `ShipmentRequest_Shipment.ShipmentDate`: "User
//! can send up to 7 days in the future with current date as day zero. Format: YYYYMMDD";
//! UPS-REFERENCE §2). The schema checks the length; this checks the date: not a date, or
//! more than 7 days after the simulator's day (one day of slack for the shipper's time
//! zone) → 400 `9120210` (modelled code). The spec says nothing of past dates: accepted.
//! The date used is echoed in `/_sim/ups/shipments` (`ship_date`).

use chrono::{Duration, NaiveDate};
use serde_json::Value;

/// The ship date of a Ship body, or (code, message) when UPS would refuse it.
pub(crate) fn check_ship_date(
    body: &Value,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, (&'static str, String)> {
    let Some(raw) = body
        .pointer("/ShipmentRequest/Shipment/ShipmentDate")
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let Ok(date) = NaiveDate::parse_from_str(raw.trim(), "%Y%m%d") else {
        return Err(("9120210", "Invalid ShipmentDate: use YYYYMMDD".to_string()));
    };
    if date > today + Duration::days(8) {
        return Err((
            "9120210",
            "Invalid ShipmentDate: at most 7 days in the future, with the current date as day zero"
                .to_string(),
        ));
    }
    Ok(Some(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_date_past_today_plus_seven_is_refused() {
        let today: NaiveDate = "2026-12-07".parse().unwrap();
        let body = |d: &str| json!({"ShipmentRequest": {"Shipment": {"ShipmentDate": d}}});
        assert_eq!(check_ship_date(&json!({}), today), Ok(None));
        assert_eq!(
            check_ship_date(&body("20261214"), today),
            Ok("2026-12-14".parse().ok())
        );
        assert!(check_ship_date(&body("20261216"), today).is_err());
        assert!(check_ship_date(&body("2026-12-08"), today).is_err());
    }
}
