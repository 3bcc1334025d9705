//! The fallback table (`checkout.fallback`): what a checkout gets when UPS is slower than
//! `checkout.timeout_ms`, failing, or out of checkout's quota, marked `source: estimate`.
//! Zone-independent on purpose: per service `base + per_lb × billable pounds` per package,
//! in the table's currency. Pure.

use rust_decimal::Decimal;

/// One service of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackService {
    pub service_code: String,
    pub service_name: String,
    pub base: Decimal,
    pub per_lb: Decimal,
    pub transit_days: Option<u32>,
}

/// The table.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackTable {
    pub currency: String,
    pub services: Vec<FallbackService>,
}

impl FallbackTable {
    /// (service, charge) for packages of these billable pounds, rounded to cents.
    pub fn estimate<'a>(&'a self, billable_lbs: &[Decimal]) -> Vec<(&'a FallbackService, Decimal)> {
        self.services
            .iter()
            .map(|s| {
                let total: Decimal = billable_lbs.iter().map(|lb| s.base + s.per_lb * lb).sum();
                (s, total.round_dp(2))
            })
            .collect()
    }

    /// The name of a service: the table's, else UPS's (UPS-REFERENCE §2.3), else the code.
    pub fn service_name(&self, code: &str) -> String {
        if let Some(s) = self.services.iter().find(|s| s.service_code == code) {
            return s.service_name.clone();
        }
        ups_service_name(code)
            .map(str::to_string)
            .unwrap_or_else(|| format!("UPS service {code}"))
    }
}

/// UPS's names of its service codes (UPS-REFERENCE §2.3).
pub fn ups_service_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "01" => "UPS Next Day Air",
        "02" => "UPS 2nd Day Air",
        "03" => "UPS Ground",
        "07" => "UPS Worldwide Express",
        "08" => "UPS Worldwide Expedited",
        "11" => "UPS Standard",
        "12" => "UPS 3 Day Select",
        "13" => "UPS Next Day Air Saver",
        "14" => "UPS Next Day Air Early",
        "17" => "UPS Worldwide Economy DDU",
        "54" => "UPS Worldwide Express Plus",
        "59" => "UPS 2nd Day Air A.M.",
        "65" => "UPS Worldwide Saver",
        "70" => "UPS Access Point Economy",
        "71" => "UPS Worldwide Express Freight Midday",
        "72" => "UPS Worldwide Economy DDP",
        "74" => "UPS Express 12:00",
        "75" => "UPS Heavy Goods",
        "96" => "UPS Worldwide Express Freight",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_plus_per_lb_per_package() {
        let t = FallbackTable {
            currency: "USD".into(),
            services: vec![FallbackService {
                service_code: "03".into(),
                service_name: "Ground".into(),
                base: "12.00".parse().unwrap(),
                per_lb: "0.95".parse().unwrap(),
                transit_days: Some(5),
            }],
        };
        let e = t.estimate(&[Decimal::from(5), Decimal::from(1)]);
        // (12 + 4.75) + (12 + 0.95)
        assert_eq!(e[0].1, "29.70".parse::<Decimal>().unwrap());
        assert_eq!(t.service_name("03"), "Ground");
        assert_eq!(t.service_name("02"), "UPS 2nd Day Air");
    }
}
