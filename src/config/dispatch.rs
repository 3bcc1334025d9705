//! The `dispatch` section: per ship-from site, the dispatch calendar (time zone, daily
//! cutoff, working days, holidays) and the pickup mode. Read by [`crate::dispatch`]; checked
//! by `upsync check` ([`crate::dispatch::Calendars::build`] names every problem).
//!
//! ```yaml
//! dispatch:
//!   pickups: {mode: none}                # default for sites that do not set their own
//!   sites:
//!     - key: MAIN                        # the mapping's ship_from entry key (WarehouseID, location)
//!       time_zone: America/New_York      # IANA name
//!       cutoff: "17:00"                  # local; a release at or after it ships the next business day
//!       working_days: [mon, tue, wed, thu, fri]
//!       holidays: ["2026-12-25"]
//!       pickups: {mode: on_call}         # none | daily_account | on_call
//! ```
//!
//! Values stay text here so `check` can report every bad one (not serde's first).

use serde::{Deserialize, Serialize};

/// Dispatch calendars and pickups per ship-from site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchConfig {
    /// Pickups for every site without its own `pickups:` (default `mode: none`).
    #[serde(default)]
    pub pickups: PickupsConfig,
    /// Ship-from sites; a shipment whose site is not listed gets the ERP's ship date as is.
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
}

/// One ship-from site's calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The key of the mapping's `ship_from` entry (Acumatica `WarehouseID`, NetSuite
    /// `location`), e.g. `MAIN`.
    pub key: String,
    /// IANA time zone of the site (`America/New_York`); cutoff and dates are local to it.
    pub time_zone: String,
    /// Daily cutoff, local `HH:MM`: a shipment released at or after it ships the next
    /// business day. Also the pickup's ready time.
    #[serde(default = "default_cutoff")]
    pub cutoff: String,
    /// Days UPS may pick up here: `mon` … `sun`.
    #[serde(default = "default_working_days")]
    pub working_days: Vec<String>,
    /// Dates the site does not ship (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// This site's pickups (overrides `dispatch.pickups`).
    #[serde(default)]
    pub pickups: Option<PickupsConfig>,
}

/// How UPS comes to collect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickupsConfig {
    /// `none` (default; drop-off), `daily_account` (a scheduled daily pickup on the UPS
    /// account: nothing booked) or `on_call` (one pickup per site and business day is
    /// booked through the Pickup API once the day's first label exists).
    #[serde(default)]
    pub mode: PickupMode,
}

/// See [`PickupsConfig::mode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickupMode {
    #[default]
    None,
    DailyAccount,
    OnCall,
}

impl PickupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PickupMode::None => "none",
            PickupMode::DailyAccount => "daily_account",
            PickupMode::OnCall => "on_call",
        }
    }
}

fn default_cutoff() -> String {
    "17:00".into()
}

fn default_working_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| d.to_string())
        .collect()
}

impl DispatchConfig {
    /// A complete example (every optional key set), for the shape of known keys.
    pub fn example() -> DispatchConfig {
        DispatchConfig {
            pickups: PickupsConfig::default(),
            sites: vec![SiteConfig {
                key: "MAIN".into(),
                time_zone: "America/New_York".into(),
                cutoff: default_cutoff(),
                working_days: default_working_days(),
                holidays: vec!["2026-12-25".into()],
                pickups: Some(PickupsConfig::default()),
            }],
        }
    }
}
