//! `check` pass 4 for the `tracking` section: poll intervals, Track Alert version, URL,
//! quiet period and renewal, Quantum View interval, subscription names and version.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_tracking(r: &mut CheckReport, file: &Path, t: &TrackingConfig) {
    for (key, value) in t.poll.entries() {
        if value == 0 {
            r.problem(
                file,
                format!("tracking.poll.{key}"),
                "an interval of 0 minutes would poll continuously",
                "use a positive number of minutes",
            );
        }
    }
    let ta = &t.track_alert;
    if t.mode == TrackingMode::TrackAlert {
        match (&ta.webhook_public_url, ta.version) {
            (None, TrackAlertVersion::V1) => r.problem(
                file,
                "tracking.track_alert.webhook_public_url",
                "Track Alert v1 needs the public https URL UPS posts events to",
                "set it to https://YOUR-HOST/webhooks/ups/track-alert (or use `mode: poll`)",
            ),
            (Some(url), _) => {
                if let Err(m) = check_http_url(url, true) {
                    r.problem(file, "tracking.track_alert.webhook_public_url", m, "use the public https URL of this server ending in /webhooks/ups/track-alert");
                }
            }
            _ => {}
        }
        if ta.credentials.trim().is_empty() {
            r.problem(
                file,
                "tracking.track_alert.credentials",
                "empty vault entry name",
                "name the vault entry holding the webhook secret, e.g. `ups-webhook`",
            );
        }
    } else if let Some(url) = &ta.webhook_public_url {
        if let Err(m) = check_http_url(url, true) {
            r.problem(
                file,
                "tracking.track_alert.webhook_public_url",
                m,
                "use the public https URL of this server ending in /webhooks/ups/track-alert",
            );
        }
    }
    if t.stale_after_days == 0 {
        r.problem(
            file,
            "tracking.stale_after_days",
            "0 days would call every parcel expired at once",
            "use a positive number of days (default 10)",
        );
    }
    if t.give_up_after_days <= t.stale_after_days {
        r.problem(
            file,
            "tracking.give_up_after_days",
            format!(
                "{} days is not after stale_after_days ({}): a parcel must be declared expired before tracking stops",
                t.give_up_after_days, t.stale_after_days
            ),
            "make it longer than tracking.stale_after_days (default 30)",
        );
    }
    if t.give_up_after_days > 120 {
        r.problem(
            file,
            "tracking.give_up_after_days",
            format!(
                "{} days: UPS keeps tracking data for 120 days",
                t.give_up_after_days
            ),
            "use 120 or fewer",
        );
    }
    if t.not_found_after_hours == 0 {
        r.problem(
            file,
            "tracking.not_found_after_hours",
            "0 hours would call every new label not found",
            "use a positive number of hours (default 24)",
        );
    }
    if ta.quiet_period_hours == 0 {
        r.problem(
            file,
            "tracking.track_alert.quiet_period_hours",
            "0 hours would poll every package at once",
            "use a positive number of hours (default 24)",
        );
    }
    let qv = &t.quantum_view;
    if qv.interval_seconds < 60 {
        r.problem(
            file,
            "tracking.quantum_view.interval_seconds",
            format!(
                "{} seconds: Quantum View files are made every few minutes at most",
                qv.interval_seconds
            ),
            "use at least 60 seconds (default 900)",
        );
    }
    for (i, name) in qv.subscription_names.iter().enumerate() {
        if name.trim().is_empty() || name.chars().count() > 21 {
            r.problem(
                file,
                format!("tracking.quantum_view.subscription_names[{i}]"),
                format!("{name:?} is not a Quantum View subscription name"),
                "use the name shown at ups.com (1 to 21 characters), or leave the list empty for all subscriptions",
            );
        }
    }
    if qv.version != "v3" {
        r.problem(
            file,
            "tracking.quantum_view.version",
            format!("`{}` is not a Quantum View version", qv.version),
            "use v3 (the only current version; v1 is deprecated)",
        );
    }
    if !(1..=13).contains(&ta.renew_after_days) {
        r.problem(
            file,
            "tracking.track_alert.renew_after_days",
            format!(
                "{} days: subscriptions expire after 14 days",
                ta.renew_after_days
            ),
            "use 1 to 13 (default 12)",
        );
    }
}
