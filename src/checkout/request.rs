//! The body of `POST /v1/rates` (and of `upsync rates quote --file`): parsed by hand from
//! JSON so that every rejection names the field (`ship_to.postal_code`,
//! `packages[1].weight`) and says what to send. Pure: no I/O.
//!
//! ```json
//! {
//!   "ship_from": "main",                      // a warehouse key (checkout.ship_from), or an address
//!   "ship_to": {"lines": ["1 Elm Lane"], "city": "Roswell", "state": "GA",
//!               "postal_code": "30075", "country": "US", "residential": true},
//!   "packages": [{"weight": 4.2, "weight_unit": "lb",
//!                 "length": 12, "width": 10, "height": 6, "dimension_unit": "in"}],
//!   "ship_date": "2026-12-07"                 // optional; default today (UTC)
//! }
//! ```
//!
//! The cache key ([`RateAsk::key`]) rounds the package profile the way UPS bills it:
//! weight up to the next whole unit (UPS bills whole pounds/kilograms), dimensions up to
//! the next whole inch/centimetre; ZIP+4 counts as its ZIP. UPS is asked for the rounded
//! profile, so a cached answer is exactly what UPS said for every shipment of its bucket.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::model::{
    Address, DimensionUnit, Dimensions, LabelFormat, LabelSpec, Package, Party, ServiceSelection,
    Shipment, Weight, WeightUnit,
};

/// A rejected body: the field and what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadRequest {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> BadRequest {
    BadRequest {
        field: field.into(),
        message: message.into(),
    }
}

/// A warehouse requests may name instead of an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Warehouse {
    pub key: String,
    /// UPS account rated for it.
    pub account: String,
    pub address: Address,
}

/// One package as asked (before rounding).
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    pub weight: Decimal,
    pub weight_unit: WeightUnit,
    /// (length, width, height, unit).
    pub dimensions: Option<(Decimal, Decimal, Decimal, DimensionUnit)>,
}

/// A parsed, validated rating request.
#[derive(Debug, Clone, PartialEq)]
pub struct RateAsk {
    pub account: String,
    pub from: Address,
    pub to: Address,
    pub packages: Vec<Parcel>,
    pub ship_date: NaiveDate,
}

/// One package of a key: weight units rounded up, the unit, dimensions rounded up.
pub type Profile = (u32, &'static str, Option<(u32, u32, u32, &'static str)>);

/// The cache key: account, lane, residential, rounded profile, date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub account: String,
    pub from: (String, String),
    pub to: (String, String),
    pub residential: bool,
    /// Per package: (weight units rounded up, unit, dimensions rounded up); sorted.
    pub profile: Vec<Profile>,
    pub date: NaiveDate,
}

/// Packages per request at most (UPS takes 200 per shipment; a checkout has few).
pub const MAX_PACKAGES: usize = 50;

fn up(x: Decimal) -> u32 {
    use rust_decimal::prelude::ToPrimitive;
    x.ceil().to_u32().unwrap_or(u32::MAX).max(1)
}

fn postal(p: &str, country: &str) -> String {
    let p: String = p
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if matches!(country, "US" | "PR") && p.len() > 5 {
        p.split('-').next().unwrap_or(&p).chars().take(5).collect()
    } else {
        p
    }
}

impl RateAsk {
    /// Parse a body. `warehouses` are the configured `checkout.ship_from` entries;
    /// `default_account` rates a ship-from given as an address; `today` is the default date.
    pub fn parse(
        body: &Value,
        warehouses: &[Warehouse],
        default_account: &str,
        today: NaiveDate,
    ) -> Result<RateAsk, BadRequest> {
        let obj = body.as_object().ok_or_else(|| {
            bad(
                "body",
                "send a JSON object with ship_from, ship_to, packages",
            )
        })?;
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "ship_from" | "ship_to" | "packages" | "ship_date"
            ) {
                return Err(bad(
                    k.clone(),
                    "unknown field; known: ship_from, ship_to, packages, ship_date",
                ));
            }
        }
        let (account, from) = match obj.get("ship_from") {
            None | Some(Value::Null) => {
                return Err(bad(
                    "ship_from",
                    "required: a warehouse key or an address object",
                ))
            }
            Some(Value::String(k)) => {
                let w = warehouses.iter().find(|w| &w.key == k).ok_or_else(|| {
                    let known: Vec<&str> = warehouses.iter().map(|w| w.key.as_str()).collect();
                    bad(
                        "ship_from",
                        format!(
                            "unknown warehouse '{k}'; configured: [{}] (checkout.ship_from)",
                            known.join(", ")
                        ),
                    )
                })?;
                (w.account.clone(), w.address.clone())
            }
            Some(v) => (default_account.to_string(), address(v, "ship_from", false)?),
        };
        let to = match obj.get("ship_to") {
            None | Some(Value::Null) => return Err(bad("ship_to", "required: an address object")),
            Some(v) => address(v, "ship_to", true)?,
        };
        let packages = match obj.get("packages") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) => return Err(bad("packages", "at least one package")),
            _ => return Err(bad("packages", "required: a list of packages")),
        };
        if packages.len() > MAX_PACKAGES {
            return Err(bad(
                "packages",
                format!("at most {MAX_PACKAGES} packages per quote"),
            ));
        }
        let packages = packages
            .iter()
            .enumerate()
            .map(|(i, p)| parcel(p, &format!("packages[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let ship_date = match obj.get("ship_date") {
            None | Some(Value::Null) => today,
            Some(Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad("ship_date", "a date YYYY-MM-DD"))?,
            Some(_) => return Err(bad("ship_date", "a date YYYY-MM-DD")),
        };
        Ok(RateAsk {
            account,
            from,
            to,
            packages,
            ship_date,
        })
    }

    /// The cache key of this request.
    pub fn key(&self) -> Key {
        let mut profile: Vec<_> = self
            .packages
            .iter()
            .map(|p| {
                (
                    up(p.weight),
                    p.weight_unit.ups_code(),
                    p.dimensions
                        .as_ref()
                        .map(|(l, w, h, u)| (up(*l), up(*w), up(*h), u.ups_code())),
                )
            })
            .collect();
        profile.sort();
        let c = |a: &Address| a.country.to_ascii_uppercase();
        Key {
            account: self.account.clone(),
            from: (
                postal(&self.from.postal_code, &c(&self.from)),
                c(&self.from),
            ),
            to: (postal(&self.to.postal_code, &c(&self.to)), c(&self.to)),
            residential: self.to.residential == Some(true),
            profile,
            date: self.ship_date,
        }
    }

    /// The shipment UPS is asked to Shop: the rounded profile of the key, this request's
    /// addresses, negotiated rates, the ship date (time in transit).
    pub fn shipment(&self) -> Shipment {
        let key = self.key();
        let weight_unit = |u: &str| match u {
            "KGS" => WeightUnit::Kgs,
            "OZS" => WeightUnit::Ozs,
            _ => WeightUnit::Lbs,
        };
        let packages = key
            .profile
            .iter()
            .enumerate()
            .map(|(i, (w, wu, dims))| Package {
                erp_line_id: (i + 1).to_string(),
                weight: Weight {
                    value: Decimal::from(*w),
                    unit: weight_unit(wu),
                },
                dimensions: dims.map(|(l, w, h, u)| Dimensions {
                    length: Decimal::from(l),
                    width: Decimal::from(w),
                    height: Decimal::from(h),
                    unit: if u == "CM" {
                        DimensionUnit::Cm
                    } else {
                        DimensionUnit::In
                    },
                }),
                packaging: "02".into(),
                description: None,
                declared_value: None,
            })
            .collect();
        Shipment {
            billing: Default::default(),
            tax_information: false,
            return_service: None,
            source: "checkout".into(),
            record_id: String::new(),
            number: "checkout".into(),
            account_number: self.account.clone(),
            shipper: Party {
                name: "Checkout".into(),
                address: self.from.clone(),
                ..Party::default()
            },
            ship_from: None,
            ship_to: Party {
                name: "Customer".into(),
                address: self.to.clone(),
                ..Party::default()
            },
            service: ServiceSelection::CheapestWithin {
                max_business_days: 99,
                allowed: Vec::new(),
                fallback: None,
            },
            packages,
            references: Vec::new(),
            description: None,
            label: LabelSpec {
                format: LabelFormat::Gif,
                stock_size: None,
            },
            notifications: Vec::new(),
            international: None,
            ship_date: Some(self.ship_date),
            negotiated_rates: true,
        }
    }

    /// Billable pounds per package (rounded up, as UPS bills), for the fallback table.
    pub fn billable_lbs(&self) -> Vec<Decimal> {
        self.packages
            .iter()
            .map(|p| {
                let lbs = match p.weight_unit {
                    WeightUnit::Lbs => p.weight,
                    WeightUnit::Kgs => p.weight * Decimal::new(220462, 5),
                    WeightUnit::Ozs => p.weight / Decimal::from(16),
                };
                lbs.ceil().max(Decimal::ONE)
            })
            .collect()
    }
}

fn text(o: &serde_json::Map<String, Value>, at: &str, k: &str) -> Result<String, BadRequest> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(bad(format!("{at}.{k}"), "a string")),
    }
}

fn address(v: &Value, at: &str, ship_to: bool) -> Result<Address, BadRequest> {
    let o = v.as_object().ok_or_else(|| {
        bad(
            at,
            if ship_to {
                "an address object {lines, city, state, postal_code, country, residential}"
            } else {
                "a warehouse key (string) or an address object {lines, city, state, postal_code, country}"
            },
        )
    })?;
    for k in o.keys() {
        let known = matches!(
            k.as_str(),
            "lines" | "city" | "state" | "postal_code" | "country"
        ) || (ship_to && k == "residential");
        if !known {
            return Err(bad(format!("{at}.{k}"), "unknown field"));
        }
    }
    let lines = match o.get("lines") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 3 => a
            .iter()
            .map(|l| l.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(format!("{at}.lines"), "a list of up to 3 strings"))?,
        Some(_) => return Err(bad(format!("{at}.lines"), "a list of up to 3 strings")),
    };
    if lines.iter().all(|l| l.trim().is_empty()) {
        // Rating.yaml `ShipTo_Address`/`Shipper_Address`: `AddressLine` is required (its
        // length is not validated; the rate depends on the postal code).
        return Err(bad(
            format!("{at}.lines"),
            "required: at least one street line (UPS Rating requires AddressLine)",
        ));
    }
    let city = text(o, at, "city")?;
    if city.is_empty() {
        // The request builder always sends `City`, and an empty one is refused (minLength).
        return Err(bad(format!("{at}.city"), "required: the city"));
    }
    let country = text(o, at, "country")?.to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad(
            format!("{at}.country"),
            "required: ISO 3166-1 alpha-2 code such as US",
        ));
    }
    let postal_code = text(o, at, "postal_code")?;
    if postal_code.is_empty() && matches!(country.as_str(), "US" | "PR" | "CA") {
        return Err(bad(
            format!("{at}.postal_code"),
            format!("required for {country}"),
        ));
    }
    if postal_code.len() > 10 {
        return Err(bad(format!("{at}.postal_code"), "at most 10 characters"));
    }
    let residential = match o.get("residential") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(bad(format!("{at}.residential"), "true or false")),
    };
    Ok(Address {
        lines,
        city,
        state: text(o, at, "state")?.to_ascii_uppercase(),
        postal_code,
        country,
        residential,
        po_box: false,
    })
}

fn number(
    o: &serde_json::Map<String, Value>,
    at: &str,
    k: &str,
) -> Result<Option<Decimal>, BadRequest> {
    let field = || format!("{at}.{k}");
    let d = match o.get(k) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        Some(Value::String(s)) => s.trim().parse::<Decimal>().ok(),
        Some(_) => None,
    };
    let d = d.ok_or_else(|| bad(field(), "a positive number"))?;
    if d <= Decimal::ZERO || d > Decimal::from(2000) {
        return Err(bad(field(), "a positive number up to 2000"));
    }
    Ok(Some(d))
}

fn parcel(v: &Value, at: &str) -> Result<Parcel, BadRequest> {
    let o = v.as_object().ok_or_else(|| {
        bad(
            at,
            "a package object {weight, weight_unit, length, width, height, dimension_unit}",
        )
    })?;
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "weight" | "weight_unit" | "length" | "width" | "height" | "dimension_unit"
        ) {
            return Err(bad(format!("{at}.{k}"), "unknown field"));
        }
    }
    let weight = number(o, at, "weight")?
        .ok_or_else(|| bad(format!("{at}.weight"), "required: a positive number"))?;
    let weight_unit = match text(o, at, "weight_unit")?.to_ascii_lowercase().as_str() {
        "" | "lb" | "lbs" => WeightUnit::Lbs,
        "kg" | "kgs" => WeightUnit::Kgs,
        "oz" | "ozs" => WeightUnit::Ozs,
        _ => return Err(bad(format!("{at}.weight_unit"), "lb, kg or oz")),
    };
    let dims = (
        number(o, at, "length")?,
        number(o, at, "width")?,
        number(o, at, "height")?,
    );
    let unit = match text(o, at, "dimension_unit")?.to_ascii_lowercase().as_str() {
        "" | "in" => DimensionUnit::In,
        "cm" => DimensionUnit::Cm,
        _ => return Err(bad(format!("{at}.dimension_unit"), "in or cm")),
    };
    let dimensions = match dims {
        (Some(l), Some(w), Some(h)) => Some((l, w, h, unit)),
        (None, None, None) => None,
        (l, w, _) => {
            let missing = if l.is_none() {
                "length"
            } else if w.is_none() {
                "width"
            } else {
                "height"
            };
            return Err(bad(
                format!("{at}.{missing}"),
                "give length, width and height together, or none",
            ));
        }
    };
    Ok(Parcel {
        weight,
        weight_unit,
        dimensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn wh() -> Vec<Warehouse> {
        vec![Warehouse {
            key: "main".into(),
            account: "123X56".into(),
            address: Address {
                postal_code: "30301".into(),
                country: "US".into(),
                ..Address::default()
            },
        }]
    }

    fn body() -> Value {
        json!({"ship_from": "main",
               "ship_to": {"lines": ["1 Elm Lane"], "city": "Roswell", "postal_code": "30075-1234", "country": "us", "residential": true},
               "packages": [{"weight": 4.2, "length": 11.5, "width": 9, "height": 6}]})
    }

    /// Every rejection names its field.
    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"ship_to": body()["ship_to"], "packages": body()["packages"]}),
                "ship_from",
            ),
            (
                json!({"ship_from": "nope", "ship_to": body()["ship_to"], "packages": body()["packages"]}),
                "ship_from",
            ),
            (
                json!({"ship_from": "main", "ship_to": {"lines": ["1 Elm Lane"], "city": "Roswell", "country": "US"}, "packages": body()["packages"]}),
                "ship_to.postal_code",
            ),
            (
                json!({"ship_from": "main", "ship_to": {"postal_code": "30075", "country": "US"}, "packages": body()["packages"]}),
                "ship_to.lines",
            ),
            (
                json!({"ship_from": "main", "ship_to": {"lines": ["1 Elm Lane"], "postal_code": "30075", "country": "US"}, "packages": body()["packages"]}),
                "ship_to.city",
            ),
            (
                json!({"ship_from": "main", "ship_to": body()["ship_to"], "packages": [{"weight": 1}, {"weight": -2}]}),
                "packages[1].weight",
            ),
            (
                json!({"ship_from": "main", "ship_to": body()["ship_to"], "packages": [{"weight": 1, "length": 2}]}),
                "packages[0].width",
            ),
            (
                json!({"ship_from": "main", "ship_to": body()["ship_to"], "packages": []}),
                "packages",
            ),
            (
                json!({"ship_from": "main", "ship_to": body()["ship_to"], "packages": body()["packages"], "colour": 1}),
                "colour",
            ),
        ];
        for (b, field) in cases {
            let e = RateAsk::parse(&b, &wh(), "123X56", today()).unwrap_err();
            assert_eq!(e.field, field, "{b}: {e}");
        }
    }

    /// Shipments of one bucket share a key; the rated shipment is the bucket's profile.
    #[test]
    fn key_rounds_like_ups_bills() {
        let a = RateAsk::parse(&body(), &wh(), "X", today()).unwrap();
        let mut b2 = body();
        b2["packages"][0] = json!({"weight": "4.9", "length": 12, "width": 8.1, "height": 5.5});
        b2["ship_to"]["postal_code"] = json!("30075");
        let b = RateAsk::parse(&b2, &wh(), "X", today()).unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.account, "123X56", "the warehouse's account");
        let sh = a.shipment();
        assert_eq!(sh.packages[0].weight.value, Decimal::from(5));
        assert_eq!(
            sh.packages[0].dimensions.as_ref().unwrap().length,
            Decimal::from(12)
        );
        let mut c = body();
        c["ship_to"]["residential"] = json!(false);
        assert_ne!(
            RateAsk::parse(&c, &wh(), "X", today()).unwrap().key(),
            a.key()
        );
    }
}
