//! Every setting of `config/upsync.yaml` changes something (issue 17: "no setting that
//! nothing reads").
//!
//! One table, [`rows`]: each row sets one key of the documented example to another value
//! and names a *probe*, an observable result of the configuration as the daemon builds it
//! (the UPS client's settings, the pipeline's and tracking's run-time settings, the HTTP
//! limits, a connector's resolved profile, a label sink, a `check` message, a build error
//! naming a vault entry). The row passes when the probe differs from the probe of the
//! unchanged example. [`every_key_of_the_example_has_a_row`] parses the example, lists
//! every key path, and fails for a key without a row, so a new setting without a test
//! fails CI.
//!
//! What this guards: before it, `ups.timeouts.connect_timeout_seconds`,
//! `ups.timeouts.ship_timeout_seconds`, `ups.label.format`, `connectors[].concurrency`,
//! `pipeline.dead_letter_write_back` (and acumatica's documented `options.base_url`) were
//! accepted and read by nothing: their rows fail against the old code (the probe did not
//! change).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use upsync::app::wiring;
use upsync::config::Config;
use upsync::store::{MasterKey, Store};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documented example as JSON, with the files it names made absolute (so it can be
/// written anywhere).
fn example() -> Value {
    let text = std::fs::read_to_string(repo().join("config/upsync.yaml")).unwrap();
    let mut v: Value = serde_norway::from_str(&text).unwrap();
    for c in v["connectors"].as_array_mut().unwrap() {
        for k in ["profile", "mapping"] {
            let p = repo().join("config").join(c[k].as_str().unwrap());
            c[k] = json!(p.to_string_lossy());
        }
    }
    v
}

/// Set `path` (`a.b[1].c`) in `v`, creating objects on the way.
fn set(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, Some(i.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (part, None),
        };
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(name.to_string())
            .or_insert(Value::Null);
        if let Some(i) = index {
            cur = &mut cur.as_array_mut().unwrap()[i];
        }
    }
    *cur = value;
}

/// Everything a probe may look at.
struct Built<'a> {
    cfg: Config,
    file: &'a Path,
    store: &'a Arc<Store>,
}

type Probe = fn(&Built<'_>) -> String;

fn ups_client(b: &Built<'_>) -> String {
    format!("{:?}", wiring::ups_client_config(&b.cfg.ups))
}
fn ups_client_build(b: &Built<'_>) -> String {
    match wiring::build_ups_client(&b.cfg, b.store) {
        Ok(_) => "built".into(),
        Err(e) => e.to_string(),
    }
}
/// Every account's resolved settings and client configuration, and what building the
/// clients from the vault gives (the number of clients, or the error naming the entry).
fn ups_accounts(b: &Built<'_>) -> String {
    let configs: Vec<String> = b
        .cfg
        .ups
        .resolved_accounts()
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {:?} {:?}",
                a.name,
                a.account_number,
                a.credentials,
                a.auth,
                upsync::app::accounts::account_client_config(a)
            )
        })
        .collect();
    let built = match upsync::app::accounts::Accounts::build(&b.cfg, b.store) {
        Ok(a) => format!("{} clients", a.clients().len()),
        Err(e) => format!("{e:#}"),
    };
    format!("{configs:?} {built}")
}
/// How long before its end each authorization-code client renews its refresh token.
fn ups_grants(b: &Built<'_>) -> String {
    match upsync::app::accounts::Accounts::build(&b.cfg, b.store) {
        Ok(a) => format!(
            "{:?}",
            a.clients()
                .iter()
                .map(|c| c.client.grant_renew_before())
                .collect::<Vec<_>>()
        ),
        Err(e) => format!("{e:#}"),
    }
}
fn pipeline(b: &Built<'_>) -> String {
    format!("{:?}", wiring::pipeline_runtime(&b.cfg.pipeline))
}
fn tracking(b: &Built<'_>) -> String {
    match wiring::tracking_settings(&b.cfg, b.store) {
        Ok((s, _)) => format!("{s:?}"),
        Err(e) => e.to_string(),
    }
}
fn http_limits(b: &Built<'_>) -> String {
    format!(
        "{:?}",
        upsync::server::listener::Limits::from_config(&b.cfg.http)
    )
}
fn public_listen(b: &Built<'_>) -> String {
    format!("{:?}", wiring::public_listen_warning(&b.cfg.http))
}
/// What the daemon will serve as its console (address, session settings, or the error
/// about the admin token's vault entry).
fn console(b: &Built<'_>) -> String {
    match upsync::app::console::plan(&b.cfg, b.store) {
        Ok(p) => format!("{p:?}"),
        Err(e) => e.to_string(),
    }
}
/// How an entry expiring in 5 days is classed (expiring inside the warning window).
fn credential_reminder(b: &Built<'_>) -> String {
    let now = chrono::Utc::now();
    upsync::store::creds::CredentialMeta {
        expires_at: Some(now + chrono::Duration::days(5)),
    }
    .save(b.store, "ups")
    .unwrap();
    let states: Vec<String> = upsync::app::credentials::inventory(&b.cfg, b.store, now)
        .into_iter()
        .filter(|c| c.name == "ups")
        .map(|c| c.state.as_str().to_string())
        .collect();
    format!("{states:?}")
}
fn check(b: &Built<'_>) -> String {
    let r = upsync::config::check::check_config_with(b.file, true);
    format!("{:?} {:?}", r.problems, r.warnings)
}
/// The dispatch calendars and pickup modes as the assembly builds them.
fn dispatch(b: &Built<'_>) -> String {
    match wiring::dispatch_settings(&b.cfg) {
        Ok(s) => format!("{s:?}"),
        Err(e) => e.to_string(),
    }
}
fn events(b: &Built<'_>) -> String {
    match wiring::events_settings(&b.cfg, b.store) {
        Ok(s) => format!("{s:?}"),
        Err(e) => e.to_string(),
    }
}
fn state_dir(b: &Built<'_>) -> String {
    upsync::store::state_dir(b.cfg.state_dir.as_deref())
        .display()
        .to_string()
}
/// The store the daemon opens (backend and redacted URL) and its settings.
fn store(b: &Built<'_>) -> String {
    format!(
        "{:?} {:?}",
        b.cfg.store,
        wiring::store_location(&b.cfg).map(|l| l.describe())
    )
}
fn schedules(b: &Built<'_>) -> String {
    // What the scheduler is given (`Assembly::schedules`): the normalised 6-field cron.
    format!(
        "{:?}",
        b.cfg
            .connectors
            .iter()
            .map(|c| (&c.name, &c.schedule))
            .collect::<Vec<_>>()
    )
}
/// The connectors' profiles as their sources run them (options and concurrency applied).
fn source_profiles(b: &Built<'_>) -> String {
    use upsync::sources::{acumatica, netsuite, ConnectorKind};
    b.cfg
        .connectors
        .iter()
        .map(|c| match c.kind {
            ConnectorKind::Acumatica => format!("{:?}", acumatica::config::profile(&c.spec())),
            ConnectorKind::Netsuite => format!("{:?}", netsuite::config::profile(&c.spec())),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
fn source_build(b: &Built<'_>) -> String {
    b.cfg
        .connectors
        .iter()
        .map(|c| match wiring::build_source(c, b.store) {
            Ok(_) => "built".to_string(),
            Err(e) => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
/// Which label sinks are built, and what `check` says of them.
fn push(b: &Built<'_>) -> String {
    match wiring::push_settings(&b.cfg, b.store) {
        Ok(s) => format!("{s:?}"),
        Err(e) => e.to_string(),
    }
}
fn label_sinks(b: &Built<'_>) -> String {
    b.cfg
        .connectors
        .iter()
        .map(|c| {
            format!(
                "{} {:?}",
                c.label_sink.build().is_some(),
                c.label_sink.problems(b.file.parent().unwrap())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The checkout endpoint's settings as the assembly builds them.
fn checkout(b: &Built<'_>) -> String {
    format!("{:?}", wiring::checkout_settings(&b.cfg))
}
/// Checkout's share of the Rating quota and the pipeline's rest.
fn rating_split(b: &Built<'_>) -> String {
    format!(
        "{:?} {:?}",
        wiring::pipeline_rating_quota(&b.cfg),
        wiring::checkout_settings(&b.cfg).map(|s| s.rating_per_second)
    )
}
/// The checkout API token read from the vault (the token itself never printed).
fn checkout_token(b: &Built<'_>) -> String {
    match wiring::checkout_token(&b.cfg, b.store) {
        Ok(_) => "read".into(),
        Err(e) => e.to_string(),
    }
}

/// (key path, new value, keys set first in both the baseline and the changed file, probe).
type Row = (&'static str, Value, Vec<(&'static str, Value)>, Probe);

fn rows() -> Vec<Row> {
    let none = Vec::new;
    let track_alert = || {
        vec![
            ("tracking.mode", json!("track_alert")),
            (
                "tracking.track_alert.webhook_public_url",
                json!("https://upsync.example.com/webhooks/ups/track-alert"),
            ),
        ]
    };
    let accounts = || {
        vec![
            ("ups.account_number", Value::Null),
            (
                "ups.accounts",
                json!([
                    {"name": "east", "account_number": "123X56", "credentials": "ups"},
                    {"name": "west", "account_number": "456Y78", "credentials": "ups"},
                ]),
            ),
        ]
    };
    vec![
        // state_dir
        ("state_dir", json!("/srv/upsync-state"), none(), state_dir),
        // store (issue 22)
        (
            "store.backend",
            json!("postgres"),
            vec![("store.url", json!("postgres://u@db:5432/upsync"))],
            store,
        ),
        (
            "store.url",
            json!("postgres://u@other:5433/upsync"),
            none(),
            store,
        ),
        ("store.pool_size", json!(2), none(), store),
        ("store.lease_seconds", json!(60), none(), store),
        // ups
        ("ups.environment", json!("production"), none(), ups_client),
        (
            "ups.base_url",
            json!("http://127.0.0.1:9001"),
            none(),
            ups_client,
        ),
        ("ups.account_number", json!("999Z99"), none(), ups_client),
        (
            "ups.credentials",
            json!("ups-other"),
            none(),
            ups_client_build,
        ),
        ("ups.label.format", json!("zpl"), none(), check),
        (
            "ups.auth",
            json!("authorization_code"),
            none(),
            ups_accounts,
        ),
        (
            "ups.refresh_token_renew_before_hours",
            json!(48),
            vec![("ups.auth", json!("authorization_code"))],
            ups_grants,
        ),
        // ups.accounts (issue 19): the single-account keys removed, two accounts listed.
        (
            "ups.accounts[0].name",
            json!("north"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[0].account_number",
            json!("789Z12"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[0].credentials",
            json!("ups-other"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].auth",
            json!("authorization_code"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].environment",
            json!("production"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].base_url",
            json!("http://127.0.0.1:9001"),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].token_budget_per_day",
            json!(17),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].quotas",
            json!({"shipping_requests_per_second": 2}),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].api_versions",
            json!({"ship": "v2501"}),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].timeouts",
            json!({"ship_timeout_seconds": 99}),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.accounts[1].retry",
            json!({"max_attempts": 7}),
            accounts(),
            ups_accounts,
        ),
        (
            "ups.label.stock_height_inches",
            json!(8),
            none(),
            ups_client,
        ),
        ("ups.label.stock_width_inches", json!(5), none(), ups_client),
        ("ups.api_versions.ship", json!("v2501"), none(), ups_client),
        (
            "ups.api_versions.rating",
            json!("v2501"),
            none(),
            ups_client,
        ),
        ("ups.api_versions.void", json!("v2501"), none(), ups_client),
        (
            "ups.api_versions.address_validation",
            json!("v3"),
            none(),
            ups_client,
        ),
        (
            "ups.api_versions.label_recovery",
            json!("v2"),
            none(),
            ups_client,
        ),
        ("ups.api_versions.track", json!("v2"), none(), ups_client),
        (
            "ups.quotas.oauth_requests_per_second",
            json!(2),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.address_validation_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.rating_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.shipping_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.void_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.label_recovery_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.tracking_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.track_alert_requests_per_second",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.quotas.all_apis_requests_per_second",
            json!(20),
            none(),
            ups_client,
        ),
        ("ups.token_budget_per_day", json!(100), none(), ups_client),
        ("ups.address_cache.entries", json!(100), none(), ups_client),
        (
            "ups.address_cache.max_age_hours",
            json!(1),
            none(),
            ups_client,
        ),
        ("ups.retry.max_attempts", json!(2), none(), ups_client),
        (
            "ups.retry.initial_backoff_ms",
            json!(100),
            none(),
            ups_client,
        ),
        ("ups.retry.max_backoff_ms", json!(5000), none(), ups_client),
        (
            "ups.timeouts.connect_timeout_seconds",
            json!(3),
            none(),
            ups_client,
        ),
        (
            "ups.timeouts.request_timeout_seconds",
            json!(15),
            none(),
            ups_client,
        ),
        (
            "ups.timeouts.ship_timeout_seconds",
            json!(90),
            none(),
            ups_client,
        ),
        // connectors
        ("connectors[0].name", json!("bad name!"), none(), check),
        ("connectors[0].type", json!("netsuite"), none(), check),
        (
            "connectors[0].profile",
            json!("/nonexistent/profile.yaml"),
            none(),
            check,
        ),
        (
            "connectors[0].mapping",
            json!("/nonexistent/mapping.yaml"),
            none(),
            check,
        ),
        (
            "connectors[0].schedule",
            json!("*/7 * * * *"),
            none(),
            schedules,
        ),
        (
            "connectors[0].credentials",
            json!("acumatica-other"),
            none(),
            source_build,
        ),
        (
            "connectors[0].concurrency",
            json!(1),
            none(),
            source_profiles,
        ),
        (
            "connectors[1].concurrency",
            json!(1),
            none(),
            source_profiles,
        ),
        (
            "connectors[0].options.base_url",
            json!("https://erp2.example.com/Acu"),
            none(),
            source_profiles,
        ),
        (
            "connectors[0].options.tenant",
            json!("Other"),
            none(),
            source_profiles,
        ),
        (
            "connectors[1].options.account_id",
            json!("999_SB2"),
            none(),
            source_profiles,
        ),
        (
            "connectors[0].push.secret",
            json!("other-push"),
            none(),
            push,
        ),
        (
            "connectors[0].push.header",
            json!("X-Other-Secret"),
            none(),
            push,
        ),
        (
            "connectors[0].push.min_gap_seconds",
            json!(30),
            none(),
            push,
        ),
        (
            "connectors[0].push.max_body_bytes",
            json!(4096),
            none(),
            push,
        ),
        (
            "connectors[0].label_sink.type",
            json!("none"),
            vec![],
            label_sinks,
        ),
        (
            "connectors[0].label_sink.path",
            json!("/etc/hostname"),
            none(),
            label_sinks,
        ),
        (
            "connectors[1].label_sink.address",
            json!("zebra"),
            none(),
            label_sinks,
        ),
        // tracking
        ("tracking.mode", json!("track_alert"), none(), tracking),
        (
            "tracking.poll.label_created_minutes",
            json!(60),
            none(),
            tracking,
        ),
        (
            "tracking.poll.picked_up_minutes",
            json!(60),
            none(),
            tracking,
        ),
        (
            "tracking.poll.in_transit_minutes",
            json!(60),
            none(),
            tracking,
        ),
        (
            "tracking.poll.out_for_delivery_minutes",
            json!(10),
            none(),
            tracking,
        ),
        (
            "tracking.poll.exception_minutes",
            json!(60),
            none(),
            tracking,
        ),
        (
            "tracking.track_alert.version",
            json!("v2"),
            none(),
            tracking,
        ),
        (
            "tracking.track_alert.webhook_public_url",
            json!("https://other.example.com/webhooks/ups/track-alert"),
            track_alert(),
            tracking,
        ),
        (
            "tracking.track_alert.credentials",
            json!("ups-webhook-2"),
            track_alert(),
            tracking,
        ),
        ("tracking.stale_after_days", json!(5), none(), tracking),
        ("tracking.give_up_after_days", json!(60), none(), tracking),
        (
            "tracking.not_found_after_hours",
            json!(48),
            none(),
            tracking,
        ),
        (
            "tracking.track_alert.quiet_period_hours",
            json!(6),
            none(),
            tracking,
        ),
        (
            "tracking.track_alert.renew_after_days",
            json!(7),
            none(),
            tracking,
        ),
        ("tracking.mode", json!("quantum_view"), none(), tracking),
        (
            "tracking.quantum_view.interval_seconds",
            json!(300),
            none(),
            tracking,
        ),
        (
            "tracking.quantum_view.subscription_names",
            json!(["Warehouse2"]),
            none(),
            tracking,
        ),
        (
            "tracking.quantum_view.match_by_reference",
            json!(true),
            none(),
            tracking,
        ),
        (
            "tracking.quantum_view.version",
            json!("v9"),
            none(),
            tracking,
        ),
        // http
        ("http.listen", json!("0.0.0.0:8080"), none(), public_listen),
        ("http.body_limit_bytes", json!(65536), none(), tracking),
        (
            "http.header_read_timeout_seconds",
            json!(5),
            none(),
            http_limits,
        ),
        (
            "http.request_timeout_seconds",
            json!(5),
            none(),
            http_limits,
        ),
        ("http.max_connections", json!(100), none(), http_limits),
        (
            "http.max_requests_in_flight",
            json!(10),
            none(),
            http_limits,
        ),
        (
            "http.allow_public_listen",
            json!(true),
            vec![("http.listen", json!("0.0.0.0:8080"))],
            public_listen,
        ),
        // pipeline
        ("pipeline.jobs_in_flight", json!(3), none(), pipeline),
        ("pipeline.retry.max_attempts", json!(3), none(), pipeline),
        (
            "pipeline.retry.initial_backoff_seconds",
            json!(5),
            none(),
            pipeline,
        ),
        (
            "pipeline.retry.max_backoff_seconds",
            json!(60),
            none(),
            pipeline,
        ),
        (
            "pipeline.dead_letter_write_back",
            json!(false),
            none(),
            pipeline,
        ),
        ("pipeline.retention_days", json!(30), none(), pipeline),
        (
            "pipeline.reconcile.absent_after_seconds",
            json!(600),
            none(),
            pipeline,
        ),
        ("pipeline.reconcile.min_lookups", json!(5), none(), pipeline),
        (
            "pipeline.reconcile.watch_hours",
            json!(24),
            none(),
            pipeline,
        ),
        (
            "credentials.expiry_warning_days",
            json!(3),
            none(),
            credential_reminder,
        ),
        // console (off in the example; on first for the others)
        ("console.enabled", json!(true), none(), console),
        (
            "console.listen",
            json!("127.0.0.1:9081"),
            console_on(),
            console,
        ),
        ("console.admin_token", json!("ups"), console_on(), console),
        (
            "console.session_idle_minutes",
            json!(5),
            console_on(),
            console,
        ),
        ("console.secure_cookie", json!(true), console_on(), console),
        // events (the webhook entry is documented in a comment; one is set first)
        ("events.deliveries_in_flight", json!(3), webhook(), events),
        (
            "events.initial_backoff_seconds",
            json!(5),
            webhook(),
            events,
        ),
        ("events.max_backoff_seconds", json!(60), webhook(), events),
        ("events.webhooks[0].name", json!("erp"), webhook(), events),
        (
            "events.webhooks[0].url",
            json!("https://other.example.com/hook"),
            webhook(),
            events,
        ),
        (
            "events.webhooks[0].secret",
            json!("wms-other"),
            webhook(),
            events,
        ),
        (
            "events.webhooks[0].statuses",
            json!(["delivered"]),
            webhook(),
            events,
        ),
        (
            "events.webhooks[0].max_attempts",
            json!(3),
            webhook(),
            events,
        ),
        (
            "events.webhooks[0].timeout_seconds",
            json!(5),
            webhook(),
            events,
        ),
        // dispatch (issue 20): calendars and pickups per ship-from site
        (
            "dispatch.pickups.mode",
            json!("daily_account"),
            vec![("dispatch.sites[0].pickups", Value::Null)],
            dispatch,
        ),
        ("dispatch.sites[0].key", json!("WEST"), none(), dispatch),
        (
            "dispatch.sites[0].time_zone",
            json!("America/Chicago"),
            none(),
            dispatch,
        ),
        ("dispatch.sites[0].cutoff", json!("16:00"), none(), dispatch),
        (
            "dispatch.sites[0].working_days[4]",
            json!("sat"),
            none(),
            dispatch,
        ),
        (
            "dispatch.sites[0].holidays[0]",
            json!("2026-12-24"),
            none(),
            dispatch,
        ),
        (
            "dispatch.sites[0].pickups.mode",
            json!("daily_account"),
            none(),
            dispatch,
        ),
        // checkout (off in the example: `bind` is set first)
        ("checkout.bind", json!("127.0.0.1:8090"), none(), checkout),
        (
            "checkout.api_token",
            json!("checkout-other"),
            checkout_on(),
            checkout_token,
        ),
        ("checkout.timeout_ms", json!(800), checkout_on(), checkout),
        (
            "checkout.cache_late_answers",
            json!(true),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.cache_ttl_seconds",
            json!(300),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.cache_capacity",
            json!(50),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.rating_requests_per_second",
            json!(5),
            checkout_on(),
            rating_split,
        ),
        (
            "checkout.ship_from[0].key",
            json!("east"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].account",
            json!("999Z99"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].lines",
            json!(["2 Dock Rd"]),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].city",
            json!("Macon"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].state",
            json!("SC"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].postal_code",
            json!("31201"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.ship_from[0].country",
            json!("PR"),
            warehouse(),
            checkout,
        ),
        (
            "checkout.fallback.currency",
            json!("CAD"),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.fallback.services[0].service_code",
            json!("11"),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.fallback.services[0].service_name",
            json!("Ground (est.)"),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.fallback.services[0].base",
            json!("13.00"),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.fallback.services[0].per_lb",
            json!("1.05"),
            checkout_on(),
            checkout,
        ),
        (
            "checkout.fallback.services[0].transit_days",
            json!(4),
            checkout_on(),
            checkout,
        ),
    ]
}

/// The checkout endpoint turned on (the example leaves it off).
fn checkout_on() -> Vec<(&'static str, Value)> {
    vec![("checkout.bind", json!("127.0.0.1:8090"))]
}

/// The checkout endpoint on, with one warehouse as the example documents it in a comment.
fn warehouse() -> Vec<(&'static str, Value)> {
    vec![
        ("checkout.bind", json!("127.0.0.1:8090")),
        (
            "checkout.ship_from",
            json!([{"key": "main", "account": "123X56", "lines": ["100 Main St"],
                    "city": "Atlanta", "state": "GA", "postal_code": "30301", "country": "US"}]),
        ),
    ]
}

/// One outbound webhook, as the example documents it in a comment.
fn webhook() -> Vec<(&'static str, Value)> {
    vec![(
        "events.webhooks",
        json!([{"name": "wms", "url": "https://wms.example.com/upsync/events", "secret": "wms-webhook"}]),
    )]
}

fn console_on() -> Vec<(&'static str, Value)> {
    vec![("console.enabled", json!(true))]
}

/// `a.b[3].c` → `a.b[].c`.
fn generic(path: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for ch in path.chars() {
        match ch {
            '[' => {
                out.push('[');
                skip = true;
            }
            ']' => {
                out.push(']');
                skip = false;
            }
            _ if skip => {}
            c => out.push(c),
        }
    }
    out
}

/// Every leaf key path of a YAML value (`connectors[].label_sink.type`).
fn key_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                key_paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                key_paths(v, &format!("{at}[]"), out);
            }
        }
        _ => {
            out.insert(at.to_string());
        }
    }
}

/// Keys the example documents in comments only (optional keys left out by default).
const COMMENTED_KEYS: &[&str] = &[
    "state_dir",
    "store.backend",
    "store.url",
    "store.pool_size",
    "store.lease_seconds",
    "ups.base_url",
    "ups.quotas.all_apis_requests_per_second",
    "ups.accounts[].name",
    "ups.accounts[].account_number",
    "ups.accounts[].credentials",
    "ups.accounts[].auth",
    "ups.accounts[].environment",
    "ups.accounts[].base_url",
    "ups.accounts[].token_budget_per_day",
    "ups.accounts[].quotas",
    "ups.accounts[].api_versions",
    "ups.accounts[].timeouts",
    "ups.accounts[].retry",
    "tracking.track_alert.webhook_public_url",
    "events.webhooks[].name",
    "events.webhooks[].url",
    "events.webhooks[].secret",
    "events.webhooks[].statuses",
    "events.webhooks[].max_attempts",
    "events.webhooks[].timeout_seconds",
    "checkout.bind",
    "checkout.ship_from[].key",
    "checkout.ship_from[].account",
    "checkout.ship_from[].lines",
    "checkout.ship_from[].city",
    "checkout.ship_from[].state",
    "checkout.ship_from[].postal_code",
    "checkout.ship_from[].country",
];

/// The meta-test: a key of `config/upsync.yaml` (or one it documents in a comment)
/// without a row in [`rows`] fails, so a new setting cannot land without a test of its
/// effect.
#[test]
fn every_key_of_the_example_has_a_row() {
    let mut keys = BTreeSet::new();
    key_paths(&example(), "", &mut keys);
    let text = std::fs::read_to_string(repo().join("config/upsync.yaml")).unwrap();
    for k in COMMENTED_KEYS {
        let leaf = k.rsplit('.').next().unwrap();
        // `# leaf:`, also indented inside the comment or as a list entry (`#   - leaf:`).
        let documented = text.lines().any(|l| {
            l.trim_start().strip_prefix('#').is_some_and(|c| {
                let c = c.trim_start();
                let c = c.strip_prefix("- ").unwrap_or(c).trim_start();
                c.starts_with(&format!("{leaf}:"))
            })
        });
        assert!(
            documented,
            "{k} is no longer documented in a comment; update COMMENTED_KEYS"
        );
        keys.insert(k.to_string());
    }
    let covered: BTreeSet<String> = rows().iter().map(|r| generic(r.0)).collect();
    let missing: Vec<&String> = keys.iter().filter(|k| !covered.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "settings without a row in tests/foundation/settings.rs: {missing:?}"
    );
    assert!(keys.len() >= 60, "only {} keys found", keys.len());
}

/// Each row: changing the key changes its probe. See the module doc for what it guards.
#[test]
fn every_setting_has_an_effect() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(
            &dir.path().join("state"),
            Some(MasterKey::from_bytes([7; 32])),
        )
        .unwrap(),
    );
    // The vault entries the example names, so that builders get past them.
    for (name, fields) in [
        ("ups", json!({"client_id": "id", "client_secret": "secret"})),
        ("ups-webhook", json!({"credential": "hook-secret"})),
        ("acumatica", json!({"username": "u", "password": "p"})),
        ("wms-webhook", json!({"secret": "hook-signing-secret"})),
        ("console-admin", json!({"token": "0123456789abcdef0123"})),
        ("acumatica-push", json!({"secret": "Bearer push-secret"})),
        ("checkout-api", json!({"token": "checkout-api-token"})),
    ] {
        let fields = fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        upsync::store::creds::Credentials {
            fields,
            updated_at: chrono::Utc::now(),
        }
        .save(&store, name)
        .unwrap();
    }
    let build = |v: &Value, name: &str| -> (Config, PathBuf) {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, serde_norway::to_string(v).unwrap()).unwrap();
        let cfg = upsync::config::load(&file)
            .unwrap_or_else(|r| panic!("{name}: the configuration does not load:\n{r}"));
        (cfg, file)
    };
    let mut failures = Vec::new();
    for (i, (key, value, also, probe)) in rows().into_iter().enumerate() {
        let mut base = example();
        for (k, v) in &also {
            set(&mut base, k, v.clone());
        }
        let mut changed = base.clone();
        set(&mut changed, key, value.clone());
        let (cfg, file) = build(&base, &format!("base{i}"));
        let before = probe(&Built {
            cfg,
            file: &file,
            store: &store,
        });
        let loaded = {
            let file = dir.path().join(format!("changed{i}.yaml"));
            std::fs::write(&file, serde_norway::to_string(&changed).unwrap()).unwrap();
            (upsync::config::load(&file), file)
        };
        let after = match loaded {
            (Ok(cfg), file) => probe(&Built {
                cfg,
                file: &file,
                store: &store,
            }),
            // A value that `check` rejects is an effect too, when the report names the key.
            (Err(report), _) => {
                let leaf = key.rsplit('.').next().unwrap_or(key);
                let text = report.to_string();
                if !text.contains(leaf) {
                    failures.push(format!(
                        "{key} = {value}: rejected for another reason:\n{text}"
                    ));
                }
                format!("rejected: {text}")
            }
        };
        if before == after {
            failures.push(format!("{key} = {value}: no visible effect"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `pipeline.dead_letter_write_back: false` leaves the ERP record alone: the failure plan
/// is empty (the pipeline skips empty plans), while the mapping's own plan writes the
/// reason. Fails against the old wiring, which wrote the reason whatever the setting.
#[test]
fn dead_letter_write_back_false_writes_no_failure_reason() {
    use upsync::pipeline::ports::Mapper;
    let mapping =
        upsync::mapping::Mapping::load(repo().join("mappings/acumatica-shipment.yaml")).unwrap();
    let mapper: Arc<dyn Mapper> = Arc::new(upsync::app::adapters::MappingAdapter::new(mapping));
    let record = upsync::model::ErpRecord {
        source: "acumatica-main".into(),
        id: "guid-1".into(),
        number: "SO000123".into(),
        version: "1".into(),
        modified: chrono::Utc::now(),
        data: json!({}),
    };
    let on = mapper.write_back_failure(&record, "address_ambiguous", "ambiguous address");
    assert!(!on.is_empty(), "the mapping writes the reason back");
    let off = wiring::NoFailureWriteBack(mapper);
    let plan = off.write_back_failure(&record, "address_ambiguous", "ambiguous address");
    assert!(plan.is_empty(), "{plan:?}");
}
