//! The dispatch calendar of one ship-from site: which local day a shipment released *now*
//! ships on. Pure (the caller passes the pipeline's clock reading).
//!
//! Rule (issue 20): a shipment released before the site's cutoff on a working day that is
//! not a holiday ships that day; otherwise it ships the next business day. UPS accepts a
//! `Shipment.ShipmentDate` (`YYYYMMDD`) "up to 7 days in the future with current date as
//! day zero" (Shipping.yaml `ShipmentRequest_Shipment.ShipmentDate`; UPS-REFERENCE §2):
//! a date past that is refused here with `ship_date_too_far_ahead`, never sent.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::{DispatchConfig, PickupMode};

/// UPS's limit: the ship date is at most this many days after the site's today.
pub const MAX_DAYS_AHEAD: i64 = 7;

/// Why no ship date can be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipDateError {
    #[error("site {site}: the next business day is {date}, more than {MAX_DAYS_AHEAD} days after {today} (UPS accepts a ship date up to today + 7); check the site's working_days and holidays in `dispatch.sites`, or release the shipment later")]
    TooFarAhead {
        site: String,
        date: NaiveDate,
        today: NaiveDate,
    },
}

impl ShipDateError {
    /// The stable error code (`crate::model::codes`).
    pub fn code(&self) -> &'static str {
        "ship_date_too_far_ahead"
    }
}

/// One site's calendar and pickup mode.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteCalendar {
    pub key: String,
    pub time_zone: Tz,
    pub cutoff: NaiveTime,
    /// Monday first.
    pub working_days: [bool; 7],
    pub holidays: BTreeSet<NaiveDate>,
    pub pickups: PickupMode,
}

impl SiteCalendar {
    /// The site's local date at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// A working day that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        self.working_days[d.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains(&d)
    }

    /// The first business day on or after `d` (at most a year ahead; a calendar without
    /// any working day is refused by `check`).
    pub fn business_day_from(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        for _ in 0..370 {
            if self.is_business_day(day) {
                return day;
            }
            day += Duration::days(1);
        }
        day
    }

    /// The ship date of a shipment released at `now`. `requested`: the ERP's own ship
    /// date, kept when it is later than the earliest possible day (rolled to a business
    /// day); an earlier one (a record released late) gets the calendar's date.
    pub fn ship_date(
        &self,
        now: DateTime<Utc>,
        requested: Option<NaiveDate>,
    ) -> Result<NaiveDate, ShipDateError> {
        let local = now.with_timezone(&self.time_zone);
        let today = local.date_naive();
        let earliest = if self.is_business_day(today) && local.time() < self.cutoff {
            today
        } else {
            self.business_day_from(today + Duration::days(1))
        };
        let date = match requested {
            Some(r) if r > earliest => self.business_day_from(r),
            _ => earliest,
        };
        if (date - today).num_days() > MAX_DAYS_AHEAD {
            return Err(ShipDateError::TooFarAhead {
                site: self.key.clone(),
                date,
                today,
            });
        }
        Ok(date)
    }
}

/// Every configured site's calendar, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calendars {
    pub sites: BTreeMap<String, SiteCalendar>,
}

/// One problem of the `dispatch` section: key path, what is wrong, what to do.
pub type ConfigProblem = (String, String, String);

impl Calendars {
    /// Build from the configuration, or every problem found (`upsync check` prints them).
    pub fn build(cfg: &DispatchConfig) -> Result<Calendars, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut sites = BTreeMap::new();
        for (i, s) in cfg.sites.iter().enumerate() {
            let at = |k: &str| format!("dispatch.sites[{i}].{k}");
            let mut p =
                |k: &str, what: String, fix: &str| problems.push((at(k), what, fix.to_string()));
            if s.key.trim().is_empty() {
                p(
                    "key",
                    "is empty".into(),
                    "name the mapping's ship_from entry key, e.g. MAIN",
                );
            }
            let tz = match s.time_zone.trim().parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    p(
                        "time_zone",
                        format!("`{}` is not a known IANA time zone", s.time_zone),
                        "write the site's zone as in the tz database, e.g. America/New_York or Europe/Berlin",
                    );
                    None
                }
            };
            let cutoff = match NaiveTime::parse_from_str(s.cutoff.trim(), "%H:%M") {
                Ok(t) => Some(t),
                Err(_) => {
                    p(
                        "cutoff",
                        format!("`{}` is not a local time HH:MM", s.cutoff),
                        "write the daily cutoff as 24-hour HH:MM, e.g. \"17:00\"",
                    );
                    None
                }
            };
            let mut days = [false; 7];
            for (j, d) in s.working_days.iter().enumerate() {
                match parse_weekday(d) {
                    Some(w) => days[w.num_days_from_monday() as usize] = true,
                    None => problems.push((
                        format!("dispatch.sites[{i}].working_days[{j}]"),
                        format!("`{d}` is not a day of the week"),
                        "use mon, tue, wed, thu, fri, sat, sun".into(),
                    )),
                }
            }
            if !days.iter().any(|d| *d) {
                problems.push((
                    at("working_days"),
                    "names no working day: nothing could ever ship".into(),
                    "list the days UPS picks up, e.g. [mon, tue, wed, thu, fri]".into(),
                ));
            }
            let mut holidays = BTreeSet::new();
            for (j, h) in s.holidays.iter().enumerate() {
                match NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d") {
                    Ok(d) => {
                        holidays.insert(d);
                    }
                    Err(_) => problems.push((
                        format!("dispatch.sites[{i}].holidays[{j}]"),
                        format!("`{h}` is not a date YYYY-MM-DD"),
                        "write each holiday as YYYY-MM-DD, quoted, e.g. \"2026-12-25\"".into(),
                    )),
                }
            }
            if sites.contains_key(s.key.trim()) {
                problems.push((
                    at("key"),
                    format!("site `{}` is listed twice", s.key),
                    "give each ship-from site one entry".into(),
                ));
            }
            if let (Some(time_zone), Some(cutoff)) = (tz, cutoff) {
                sites.insert(
                    s.key.trim().to_string(),
                    SiteCalendar {
                        key: s.key.trim().to_string(),
                        time_zone,
                        cutoff,
                        working_days: days,
                        holidays,
                        pickups: s.pickups.as_ref().unwrap_or(&cfg.pickups).mode,
                    },
                );
            }
        }
        if problems.is_empty() {
            Ok(Calendars { sites })
        } else {
            Err(problems)
        }
    }

    pub fn site(&self, key: &str) -> Option<&SiteCalendar> {
        self.sites.get(key)
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Some(Weekday::Mon),
        "tue" | "tuesday" => Some(Weekday::Tue),
        "wed" | "wednesday" => Some(Weekday::Wed),
        "thu" | "thursday" => Some(Weekday::Thu),
        "fri" | "friday" => Some(Weekday::Fri),
        "sat" | "saturday" => Some(Weekday::Sat),
        "sun" | "sunday" => Some(Weekday::Sun),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PickupsConfig, SiteConfig};

    fn site(tz: &str, cutoff: &str, holidays: &[&str]) -> SiteCalendar {
        let cfg = DispatchConfig {
            pickups: PickupsConfig::default(),
            sites: vec![SiteConfig {
                key: "MAIN".into(),
                time_zone: tz.into(),
                cutoff: cutoff.into(),
                working_days: ["mon", "tue", "wed", "thu", "fri"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                holidays: holidays.iter().map(|s| s.to_string()).collect(),
                pickups: None,
            }],
        };
        Calendars::build(&cfg).unwrap().sites["MAIN"].clone()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn before_the_cutoff_ships_today_after_it_the_next_business_day() {
        let s = site("America/New_York", "17:00", &[]);
        // Tue 2026-12-08: 16:59 and 17:00 New York (EST, UTC-5).
        assert_eq!(
            s.ship_date(at("2026-12-08T21:59:00Z"), None),
            Ok(day("2026-12-08"))
        );
        assert_eq!(
            s.ship_date(at("2026-12-08T22:00:00Z"), None),
            Ok(day("2026-12-09"))
        );
    }

    #[test]
    fn friday_after_the_cutoff_and_the_weekend_roll_to_monday() {
        let s = site("America/New_York", "17:00", &[]);
        // Fri 2026-12-11 18:00 EST, Sat 12-12 and Sun 12-13 at noon → Mon 12-14.
        for t in [
            "2026-12-11T23:00:00Z",
            "2026-12-12T17:00:00Z",
            "2026-12-13T17:00:00Z",
        ] {
            assert_eq!(s.ship_date(at(t), None), Ok(day("2026-12-14")), "{t}");
        }
    }

    #[test]
    fn a_holiday_is_skipped() {
        let s = site("America/New_York", "17:00", &["2026-12-25"]);
        // Thu 12-24 after the cutoff: Fri 12-25 is a holiday → Mon 12-28.
        assert_eq!(
            s.ship_date(at("2026-12-24T23:30:00Z"), None),
            Ok(day("2026-12-28"))
        );
        // Released on the holiday itself, before the cutoff hour.
        assert_eq!(
            s.ship_date(at("2026-12-25T14:00:00Z"), None),
            Ok(day("2026-12-28"))
        );
    }

    #[test]
    fn the_site_time_zone_decides_across_utc_midnight() {
        // 2026-12-08T01:30Z is Mon 12-07 20:30 in New York (after the cutoff) and Mon
        // 17:30 in Los Angeles (before a 18:00 cutoff), while UTC already says Tuesday.
        let ny = site("America/New_York", "17:00", &[]);
        let la = site("America/Los_Angeles", "18:00", &[]);
        let t = at("2026-12-08T01:30:00Z");
        assert_eq!(ny.ship_date(t, None), Ok(day("2026-12-08")));
        assert_eq!(la.ship_date(t, None), Ok(day("2026-12-07")));
        // Berlin is already past Tuesday's midnight: a Tuesday before its cutoff.
        let berlin = site("Europe/Berlin", "17:00", &[]);
        assert_eq!(berlin.ship_date(t, None), Ok(day("2026-12-08")));
    }

    #[test]
    fn daylight_saving_time_moves_the_cutoff_in_utc() {
        let s = site("America/New_York", "17:00", &[]);
        // 21:30 UTC is 16:30 EST on Fri 2026-03-06 (before the cutoff) but 17:30 EDT on
        // Mon 2026-03-09, the day after clocks went forward (after it).
        assert_eq!(
            s.ship_date(at("2026-03-06T21:30:00Z"), None),
            Ok(day("2026-03-06"))
        );
        assert_eq!(
            s.ship_date(at("2026-03-09T21:30:00Z"), None),
            Ok(day("2026-03-10"))
        );
        // And back in November: 21:30 UTC is 16:30 EST on Mon 2026-11-02 (before).
        assert_eq!(
            s.ship_date(at("2026-11-02T21:30:00Z"), None),
            Ok(day("2026-11-02"))
        );
    }

    #[test]
    fn a_later_erp_date_is_kept_and_rolled_to_a_business_day_an_earlier_one_is_not() {
        let s = site("America/New_York", "17:00", &[]);
        let t = at("2026-12-08T15:00:00Z"); // Tue 10:00
        assert_eq!(
            s.ship_date(t, Some(day("2026-12-10"))),
            Ok(day("2026-12-10"))
        );
        assert_eq!(
            s.ship_date(t, Some(day("2026-12-12"))),
            Ok(day("2026-12-14"))
        );
        assert_eq!(
            s.ship_date(t, Some(day("2026-12-01"))),
            Ok(day("2026-12-08"))
        );
    }

    #[test]
    fn more_than_seven_days_ahead_is_refused_with_a_code() {
        // Christmas week off: Thu 12-24 after the cutoff rolls past 12-31.
        let s = site(
            "America/New_York",
            "17:00",
            &[
                "2026-12-25",
                "2026-12-28",
                "2026-12-29",
                "2026-12-30",
                "2026-12-31",
                "2027-01-01",
            ],
        );
        let e = s.ship_date(at("2026-12-24T23:30:00Z"), None).unwrap_err();
        assert_eq!(e.code(), "ship_date_too_far_ahead");
        assert!(e.to_string().contains("2027-01-04"), "{e}");
        // An ERP date 8 days out is refused too; 7 days out is fine.
        let t = at("2026-12-07T15:00:00Z");
        assert!(s.ship_date(t, Some(day("2026-12-14"))).is_ok());
        assert!(s.ship_date(t, Some(day("2026-12-15"))).is_err());
    }

    #[test]
    fn every_bad_value_is_reported_together() {
        let cfg = DispatchConfig {
            pickups: PickupsConfig::default(),
            sites: vec![SiteConfig {
                key: "MAIN".into(),
                time_zone: "America/Neu_York".into(),
                cutoff: "5pm".into(),
                working_days: vec!["mon".into(), "funday".into()],
                holidays: vec!["25.12.2026".into()],
                pickups: None,
            }],
        };
        let problems = Calendars::build(&cfg).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dispatch.sites[0].time_zone",
                "dispatch.sites[0].cutoff",
                "dispatch.sites[0].working_days[1]",
                "dispatch.sites[0].holidays[0]"
            ]
        );
    }
}
