//! The demo's dispatch calendar and pickups (issue 20): every site has a calendar, MAIN
//! (Acumatica) and location 2 (NetSuite, Oakland) book on-call pickups, the others have a
//! daily pickup on the account. The UPS simulator's clock (the pipeline's) is first moved
//! to 18:00 New York time on a Monday to Thursday, so every release from MAIN and location
//! 1 is after their 17:00 cutoff and ships the next business day, while the West Coast
//! sites (15:00 local) ship the same day.

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Weekday};

use crate::app::world::World;

const DISPATCH: &str = r#"
# The demo's dispatch calendar and pickups (docs/pickups.md).
dispatch:
  pickups: {mode: daily_account}
  sites:
    - key: MAIN
      time_zone: America/New_York
      cutoff: "17:00"
      working_days: [mon, tue, wed, thu, fri]
      holidays: ["2026-12-25", "2027-01-01"]
      pickups: {mode: on_call}
    - {key: WEST, time_zone: America/Los_Angeles, cutoff: "17:00"}
    - {key: "1", time_zone: America/New_York, cutoff: "17:00"}
    - {key: "2", time_zone: America/Los_Angeles, cutoff: "17:00", pickups: {mode: on_call}}
"#;

/// Write the `dispatch:` section into the world's configuration and move the UPS clock to
/// the next 18:00 New York time on a Monday to Thursday. Returns a line for the progress.
pub(super) async fn prepare(w: &World) -> anyhow::Result<String> {
    let mut cfg = std::fs::read_to_string(&w.config_path)?;
    cfg.push_str(DISPATCH);
    std::fs::write(&w.config_path, cfg)?;
    let tz = chrono_tz::America::New_York;
    let now = w.ups.core.clock.now();
    let mut day = now.with_timezone(&tz).date_naive();
    let at = loop {
        let candidate = tz
            .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(18, 0, 0).expect("valid")))
            .earliest();
        if let Some(c) = candidate {
            let weekday = c.weekday();
            let c = c.with_timezone(&chrono::Utc);
            if c > now && !matches!(weekday, Weekday::Fri | Weekday::Sat | Weekday::Sun) {
                break c;
            }
        }
        day += Duration::days(1);
    };
    w.ups.advance(at - now).await;
    Ok(format!(
        "dispatch: clock set to {} (18:00 New York): MAIN and location 1 are past their 17:00 cutoff and ship the next business day; on-call pickups for MAIN and location 2",
        at.format("%Y-%m-%d %H:%M UTC")
    ))
}

/// One line for the final table: how many shipments rolled to a later day, and the
/// pickups booked.
pub(super) fn summary(rows: &[super::rows::ShipmentRow]) -> String {
    let mut dates: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut prns: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in rows {
        if let Some(d) = r.ship_date.as_deref() {
            *dates.entry(d).or_default() += 1;
        }
        if let Some(p) = r.pickup_prn.as_deref() {
            *prns.entry(p).or_default() += 1;
        }
    }
    let list = |m: &std::collections::BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "dispatch: ship dates {}; on-call pickups {}",
        if dates.is_empty() {
            "-".into()
        } else {
            list(&dates)
        },
        if prns.is_empty() {
            "-".into()
        } else {
            list(&prns)
        }
    )
}
