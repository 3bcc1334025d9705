//! The `/metrics` samples of the daemon's parts: pipeline, UPS client, ERP connectors,
//! tracking and outbound events (called by [`super::server_state`]'s metrics source).

use super::*;

pub(super) fn pipeline_samples(p: &Pipeline, out: &mut Vec<Sample>) {
    use std::sync::atomic::Ordering::Relaxed;
    for ((connector, state), n) in p.ledger().state_counts() {
        out.push(Sample::gauge(
            "upsync_jobs",
            "Jobs in the ledger by connector and state",
            vec![
                ("connector", connector),
                ("state", state.as_str().to_string()),
            ],
            n as f64,
        ));
    }
    let dead = p
        .ledger()
        .state_counts()
        .iter()
        .filter(|((_, s), _)| *s == crate::pipeline::JobState::Failed)
        .map(|(_, n)| *n)
        .sum::<i64>();
    out.push(Sample::gauge(
        "upsync_dead_letter_backlog",
        "Jobs waiting in the dead-letter queue",
        vec![],
        dead as f64,
    ));
    if let Some(m) = p.cluster() {
        out.push(Sample::gauge(
            "upsync_cluster_daemons_live",
            "Daemons sharing the database with a heartbeat within the lease time",
            vec![],
            m.live_daemons() as f64,
        ));
        let held = m.leases_held();
        for kind in ["job", "connector", "token", "tracking", "events"] {
            let n = held
                .iter()
                .filter(|l| l.split(':').next() == Some(kind))
                .count();
            out.push(Sample::gauge(
                "upsync_cluster_leases_held",
                "Leases this daemon holds, by kind",
                vec![("kind", kind.into())],
                n as f64,
            ));
        }
    }
    out.push(Sample::counter(
        "upsync_jobs_lease_lost",
        "Jobs stopped at a write refused because another daemon took their lease over",
        vec![],
        p.stats
            .lease_lost
            .load(std::sync::atomic::Ordering::Relaxed) as f64,
    ));
    let s = &p.stats;
    for (outcome, v) in [
        ("created", s.shipped.load(Relaxed)),
        ("failed", s.ship_failures.load(Relaxed)),
    ] {
        out.push(Sample::counter(
            "upsync_labels",
            "Labels created or refused by UPS",
            vec![("outcome", outcome.into())],
            v as f64,
        ));
    }
    for (what, v) in [
        ("in_doubt_found", s.in_doubt_found.load(Relaxed)),
        ("in_doubt_missing", s.in_doubt_missing.load(Relaxed)),
        ("duplicates_voided", s.duplicates_voided.load(Relaxed)),
        ("reconcile_misses", s.reconcile_misses.load(Relaxed)),
        (
            "late_duplicates_voided",
            s.late_duplicates_voided.load(Relaxed),
        ),
        ("conflicts", s.conflicts.load(Relaxed)),
        ("dead_lettered", s.dead_lettered.load(Relaxed)),
        ("retries_scheduled", s.retries_scheduled.load(Relaxed)),
        ("written_back", s.written_back.load(Relaxed)),
    ] {
        out.push(Sample::counter(
            "upsync_pipeline_events",
            "Pipeline events by kind",
            vec![("event", what.into())],
            v as f64,
        ));
    }
    for ((connector, kind, label), v) in s.freight.snapshot() {
        let sample = match kind {
            "fallback" => Sample::counter(
                "upsync_freight_basis_fallback",
                "Freight billed at list because UPS gave no account (negotiated) rate",
                vec![("connector", connector)],
                v as f64,
            ),
            "refused" => Sample::counter(
                "upsync_freight_refused",
                "Freight figures not written back, by error code",
                vec![("connector", connector), ("code", label)],
                v as f64,
            ),
            _ => Sample::counter(
                "upsync_freight_written",
                "Freight figures written back, by basis used",
                vec![("connector", connector), ("basis", label)],
                v as f64,
            ),
        };
        out.push(sample);
    }
    // The fallback counter exists from the start (0), so a rate over it and the
    // dashboard's panel have a series before the first fallback.
    for c in p.connectors() {
        if s.freight.total(&c.name, "fallback") == 0 {
            out.push(Sample::counter(
                "upsync_freight_basis_fallback",
                "Freight billed at list because UPS gave no account (negotiated) rate",
                vec![("connector", c.name.clone())],
                0.0,
            ));
        }
    }
    for c in p.connectors() {
        let paused = c.health.paused_reason().is_some();
        out.push(Sample::gauge(
            "upsync_connector_up",
            "1 when the connector is authenticated and not paused",
            vec![("connector", c.name.clone())],
            if !paused && c.health.is_authenticated() {
                1.0
            } else {
                0.0
            },
        ));
        out.push(Sample::gauge(
            "upsync_connector_paused",
            "1 while the connector is paused (auth or config error)",
            vec![("connector", c.name.clone())],
            if paused { 1.0 } else { 0.0 },
        ));
    }
}

/// One UPS client's samples, labelled `client` (the first account using it; one client per
/// OAuth client, issue 19).
pub(super) fn ups_samples(client: &str, ups: &crate::ups::UpsClient, out: &mut Vec<Sample>) {
    let s = ups.stats();
    let label = || vec![("client", client.to_string())];
    for r in &s.requests {
        out.push(Sample::counter(
            "upsync_ups_requests",
            "UPS requests by API and HTTP status (0 = no answer)",
            vec![
                ("api", r.api.as_str().to_string()),
                ("status", r.status.to_string()),
                ("client", client.to_string()),
            ],
            r.count as f64,
        ));
    }
    out.push(Sample::counter(
        "upsync_ups_rate_limited",
        "UPS 429 answers seen",
        label(),
        s.rate_limited as f64,
    ));
    out.push(Sample::counter(
        "upsync_ups_retries",
        "UPS calls retried after 429/5xx/connection errors",
        label(),
        s.retries as f64,
    ));
    out.push(Sample::counter(
        "upsync_ups_token_requests",
        "UPS OAuth token requests since start",
        label(),
        s.token_requests_total as f64,
    ));
    out.push(Sample::gauge(
        "upsync_ups_token_budget_remaining",
        "UPS token requests left today (UTC) within the configured daily budget",
        label(),
        s.token_budget_per_day
            .saturating_sub(s.token_requests_today) as f64,
    ));
    out.push(Sample::counter(
        "upsync_ups_outcome_unknown",
        "Ship calls whose outcome was unknown (reconciled by reference)",
        label(),
        s.outcome_unknown as f64,
    ));
}

/// ERP requests by connector, API and status, and the ERP's 429s (rate or concurrency
/// limits), from each connector's [`crate::sources::RequestStats`].
pub(super) fn erp_samples(p: &Pipeline, out: &mut Vec<Sample>) {
    for c in p.connectors() {
        let mut limited = 0u64;
        for (api, status, n) in c.source.request_stats() {
            if status == 429 {
                limited += n;
            }
            out.push(Sample::counter(
                "upsync_erp_requests",
                "ERP requests by connector, API and HTTP status (0 = no answer)",
                vec![
                    ("connector", c.name.clone()),
                    ("api", api.to_string()),
                    ("status", status.to_string()),
                ],
                n as f64,
            ));
        }
        out.push(Sample::counter(
            "upsync_erp_rate_limited",
            "ERP 429 answers (rate or concurrency limit) by connector",
            vec![("connector", c.name.clone())],
            limited as f64,
        ));
    }
}

pub(super) fn tracking_samples(t: &crate::tracking::Tracker, out: &mut Vec<Sample>) {
    for (name, v) in t.stats().pairs() {
        out.push(Sample::counter(
            "upsync_tracking_events",
            "Tracking activity by kind",
            vec![("kind", name.to_string())],
            v as f64,
        ));
    }
    for (status, n) in t.stats().statuses.pairs() {
        out.push(Sample::counter(
            "upsync_tracking_status_entered",
            "Packages that entered each tracking status",
            vec![("status", status.as_str().into())],
            n as f64,
        ));
    }
    if let Ok(live) = t.live_summary() {
        let f = &live.freshness;
        out.push(Sample::gauge(
            "upsync_tracking_packages_in_transit",
            "Packages followed that are not delivered yet",
            vec![],
            f.packages as f64,
        ));
        for (status, n) in &live.by_status {
            out.push(Sample::gauge(
                "upsync_tracking_packages",
                "Live (not final) packages by tracking status",
                vec![("status", status.as_str().into())],
                *n as f64,
            ));
        }
        for (name, help, s) in [
            (
                "upsync_tracking_freshness_seconds",
                "Seconds since the last tracking update of in-transit packages",
                f,
            ),
            (
                "upsync_tracking_newest_scan_age_seconds",
                "Age of the newest UPS scan of in-transit packages",
                &live.newest_scan_age,
            ),
        ] {
            for (q, v) in [
                ("max", s.max_seconds),
                ("p95", s.p95_seconds),
                ("p50", s.p50_seconds),
            ] {
                out.push(Sample::gauge(
                    name,
                    help,
                    vec![("quantile", q.into())],
                    v as f64,
                ));
            }
        }
    }
}

/// Outbound events: backlog per webhook and state, attempts by outcome, recorded events.
pub(super) fn events_samples(o: &crate::events::Outbox, out: &mut Vec<Sample>) {
    if let Ok(backlog) = o.backlog() {
        for (webhook, b) in backlog {
            for (state, n) in [("pending", b.pending), ("dead", b.dead)] {
                out.push(Sample::gauge(
                    "upsync_events_backlog",
                    "Outbound events not delivered, by webhook and state (pending or dead-lettered)",
                    vec![("webhook", webhook.clone()), ("state", state.into())],
                    n as f64,
                ));
            }
        }
    }
    let s = o.stats().snapshot();
    out.push(Sample::counter(
        "upsync_events_recorded",
        "Parcel status changes recorded in the outbox",
        vec![],
        s.recorded as f64,
    ));
    for (webhook, (delivered, failed, dead)) in s.webhooks {
        for (outcome, n) in [("delivered", delivered), ("failed", failed)] {
            out.push(Sample::counter(
                "upsync_events_attempts",
                "Outbound event delivery attempts by webhook and outcome",
                vec![("webhook", webhook.clone()), ("outcome", outcome.into())],
                n as f64,
            ));
        }
        out.push(Sample::counter(
            "upsync_events_dead_lettered",
            "Outbound events dead-lettered after their last attempt, by webhook",
            vec![("webhook", webhook.clone())],
            dead as f64,
        ));
    }
}

/// `upsync_credential_expiry_seconds{name}`: seconds until each credential the
/// configuration uses expires (negative once expired), for those with a date.
pub(super) fn credential_samples(a: &Assembly, out: &mut Vec<Sample>) {
    let now = a.pipeline.now();
    for (name, at) in crate::app::credentials::used_expiry_dates(&a.config, &a.store) {
        out.push(Sample::gauge(
            "upsync_credential_expiry_seconds",
            "Seconds until a credential the configuration uses expires (negative once expired)",
            vec![("name", name)],
            (at - now).num_seconds() as f64,
        ));
    }
}
