//! The error-code table (`src/model/codes.rs`) against the code and the docs.
//!
//! Guards three things:
//! 1. `docs/error-codes.md` is exactly what the registry renders (regenerate with
//!    `UPSYNC_BLESS=1 cargo test --test house`);
//! 2. every string literal in `src/**/*.rs` that looks like a stable code is registered
//!    (or is a listed false positive, with its reason);
//! 3. every registered code is still used somewhere in `src/` (no stale entries), and every
//!    listed false positive still occurs (the list does not rot).
//!
//! `src/sim/` is not scanned: the simulators speak UPS's and the ERPs' codes, not upsync's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use upsync::model::codes::{render_markdown, CODES};

/// First `_`-segments that mark a literal as a stable code. Derived from the registry: the
/// producers' prefixes (`ups_`, `erp_`, `store_`, `mapping_`) and the record parts the
/// mapping rules name (`package_`, `reference_`, `shipper_`, …), plus the connector and
/// config prefixes new codes are likely to get.
const PREFIXES: &[&str] = &[
    "ups",
    "erp",
    "store",
    "mapping",
    "acumatica",
    "netsuite",
    "config",
    "sink",
    "shipment",
    "shipper",
    "package",
    "packages",
    "address",
    "reference",
    "customs",
    "international",
    "phone",
    "attention",
    "service",
    "retries",
    "lookup",
    "hs",
    "declared",
    "too",
    "no",
    "malformed",
    "missing",
    "invalid",
    "push",
    "paperless",
];

/// Last `_`-segments that mark a literal as a stable code (`…_missing`, `…_too_long`, …).
const SUFFIXES: &[&str] = &[
    "missing",
    "invalid",
    "long",
    "large",
    "heavy",
    "allowed",
    "found",
    "required",
    "unknown",
    "unmapped",
    "ambiguous",
    "exhausted",
    "refused",
    "rejected",
    "unavailable",
    "limit",
    "failed",
    "corrupt",
    "lost",
    "incomplete",
    "mismatch",
    "undecryptable",
    "object",
    "time",
    "days",
    "ahead",
];

/// Last segments of measured figures and settings (`…_seconds`, `ups_requests_total`):
/// never a code.
const UNITS: &[&str] = &[
    "seconds",
    "ms",
    "minutes",
    "second",
    "total",
    "requests",
    "records",
    "flushes",
    "expected",
    "simulated",
];

/// Literals the pattern catches that are not stable codes, each with why.
const FALSE_POSITIVES: &[(&[&str], &str)] = &[
    (
        &["ledger_mend_failed"],
        "a log event name (session 10: the ledger's check of half-saved jobs at open could not run; the error's own code is logged with it), src/pipeline/ledger.rs",
    ),
    (
        &["lease_lost"],
        "a log event name (issue 22: a daemon stopped at a fenced write; the error's code is store_fenced), src/pipeline/lease.rs",
    ),
    (
        &["working_days", "default_working_days"],
        "the dispatch config key `working_days` and its serde default (src/config/dispatch.rs, src/dispatch/calendar.rs)",
    ),
    (
        &["not_found", "status_time", "custbody_ups_status_time"],
        "tracking status names (src/model/milestone.rs), mapping write_back keys and the NetSuite custom field they name",
    ),
    (
        &["acumatica_concurrency", "acumatica_confirm", "acumatica_ops", "acumatica_set", "connections_refused", "healthz_failed", "nofile_limit", "ups_429_seen", "ups_retries", "retention_days", "store_writes_per_shipment", "store_writes_per_shipment_by_tree", "store_bytes_written_per_shipment"],
        "field names of the `upsync bench` JSON line (src/bench/)",
    ),
    (
        &["erp_requests_polling", "erp_requests_push", "erp_requests_ratio", "erp_requests_ratio_target", "erp_requests_until_written_back", "push_cycles"],
        "field names of the `upsync bench --scenario latency --push` JSON line (src/bench/latency.rs)",
    ),
    (
        &["erp_requests_per_shipment", "erp_requests_by_operation", "erp_requests_per_shipment_with_polls", "erp_requests_per_shipment_one_file", "action_held_ms_per_confirmation", "confirmations_per_second_per_session", "acumatica_licence_sessions"],
        "field names of the `upsync bench` pipeline line, overall and per connector (src/bench/mod.rs, issue 24)",
    ),
    (
        &["push_accepted", "push_refused", "push_store_failed", "store_failed", "too_large"],
        "push receiver log event names and upsync_push_requests outcome labels (src/push/)",
    ),
    (
        &["in_doubt_found", "in_doubt_missing", "retries_scheduled"],
        "pipeline counter names (metrics labels, bench figures)",
    ),
    (
        &["concurrency_limit", "default_concurrency_limit", "ups_credentials", "ups_token_budget", "address_validation"],
        "configuration keys and serde default functions (config/, sources/*/profile.rs), UPS API names",
    ),
    (
        &["address_lines", "package_lines", "package_tracking", "shipment_id"],
        "mapping keys and write-back field names (mapping/)",
    ),
    (
        &["service_used", "transit_days", "custbody_ups_transit_days", "service_code"],
        "mapping write_back keys and the NetSuite custom field they name (freight write-back)",
    ),
    (&["freight_refused"], "a log event name (`event = \"…\"`), not a code"),
    (&["push_after"], "a value of the mapping's `international.paperless.mode` (app/documents.rs writes it into the demo mappings)"),
    (&["paperless_uploaded"], "a log event name (`event = \"…\"`, app/adapters/paperless.rs), not a code"),
    (&["address_checked"], "a ledger state name (pipeline/ledger.rs)"),
    (&["store_id"], "a key of the store manifest (store/mod.rs)"),
    (
        &["invalid_client", "invalid_request", "temporarily_unavailable"],
        "standard OAuth 2.0 error codes the webhook's token endpoint answers (RFC 6749 §5.2, §4.1.2.1), not upsync's",
    ),
    (
        &["track_alert_rejected", "track_alert_store_failed", "webhook_token_refused"],
        "log event names (`event = \"…\"`), not codes",
    ),
    (
        &["checkout_ups_failed", "ups_error", "ups_quotes", "ups_rate_calls"],
        "checkout: a log event name, an `estimate_reason` value of POST /v1/rates (a metrics label too), `upsync bench --scenario checkout` fields",
    ),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p != src_dir().join("sim") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `"snake_case"` literal in `text`: a quote, lower-case letters/digits/underscores,
/// a quote. (A literal with anything else in it is a message, not a code.)
fn snake_literals(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < b.len()
                && (b[j].is_ascii_lowercase() || b[j].is_ascii_digit() || b[j] == b'_')
            {
                j += 1;
            }
            if j < b.len() && b[j] == b'"' && j > start && b[start].is_ascii_lowercase() {
                out.push(&text[start..j]);
                i = j + 1;
                continue;
            }
            i = start;
        } else {
            i += 1;
        }
    }
    out
}

/// Does a literal look like a stable code?
fn looks_like_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return false; // `package_` (a prefix matched with starts_with), `upsync__…` (env)
    }
    if parts[0] == "upsync" {
        return false; // metric names (`upsync_jobs`) and environment variables
    }
    let last = parts[parts.len() - 1];
    if UNITS.contains(&last) {
        return false;
    }
    PREFIXES.contains(&parts[0]) || SUFFIXES.contains(&last)
}

/// Literals of `src/` (outside `src/sim/`) and the files they occur in.
fn literals_in_src() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    assert!(
        files.len() > 20,
        "found only {} files under src/",
        files.len()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        // The registry itself is not a use.
        if rel.ends_with("model/codes.rs") {
            continue;
        }
        for lit in snake_literals(&text) {
            all.entry(lit.to_string()).or_default().insert(rel.clone());
        }
    }
    all
}

/// Guards: a stable code used in `src/` but missing from `src/model/codes.rs` (a new
/// `"erp_…"` or rule code added without its meaning and fix) fails here.
#[test]
fn every_code_in_use_is_registered() {
    let registered: BTreeSet<&str> = CODES.iter().map(|i| i.code).collect();
    let false_pos: BTreeSet<&str> = FALSE_POSITIVES
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .collect();
    let unregistered: Vec<String> = literals_in_src()
        .into_iter()
        .filter(|(lit, _)| looks_like_code(lit))
        .filter(|(lit, _)| !registered.contains(lit.as_str()) && !false_pos.contains(lit.as_str()))
        .map(|(lit, files)| {
            format!(
                "  \"{lit}\" in {}",
                files.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        unregistered.is_empty(),
        "string literals that look like stable error codes but are not in src/model/codes.rs:\n{}\n\
         Register each (class, area, meaning, fix) in CODES and run `UPSYNC_BLESS=1 cargo test --test house`; \
         if one is not a code, add it to FALSE_POSITIVES in tests/house/error_codes.rs with the reason",
        unregistered.join("\n")
    );
}

/// Guards: a registered code that no code produces any more (stale docs), and a false
/// positive that no longer occurs (the exception list rots).
#[test]
fn every_registered_code_is_in_use() {
    let lits = literals_in_src();
    let stale: Vec<&str> = CODES
        .iter()
        .map(|i| i.code)
        .filter(|c| !lits.contains_key(*c))
        .collect();
    assert!(
        stale.is_empty(),
        "registered in src/model/codes.rs but used nowhere in src/: {stale:?}; remove them (and regenerate the docs) or restore their use"
    );
    let gone: Vec<&str> = FALSE_POSITIVES
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .filter(|c| !lits.contains_key(*c))
        .collect();
    assert!(gone.is_empty(), "FALSE_POSITIVES in tests/house/error_codes.rs lists literals no longer in src/: {gone:?}; remove them");
}

/// Guards: the pattern recognises every registered code's shape, so a new code shaped like
/// the existing ones cannot slip past `every_code_in_use_is_registered`.
#[test]
fn pattern_recognises_every_registered_code() {
    let blind: Vec<&str> = CODES
        .iter()
        .map(|i| i.code)
        .filter(|c| !looks_like_code(c))
        .collect();
    assert!(
        blind.is_empty(),
        "extend PREFIXES or SUFFIXES in tests/house/error_codes.rs for {blind:?}"
    );
    let not_codes = ["upsync_jobs", "ship_timeout_seconds", "package_", "ship_to"];
    for s in not_codes {
        assert!(!looks_like_code(s), "{s}");
    }
    assert_eq!(
        snake_literals(r#"x("ups_auth", "a b", "c_d")"#),
        ["ups_auth", "c_d"]
    );
}

/// Guards: `docs/error-codes.md` is what the registry renders; an edited registry without
/// a regenerated table (or a hand-edited table) fails here.
#[test]
fn docs_table_is_generated_from_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/error-codes.md");
    let want = render_markdown();
    if std::env::var_os("UPSYNC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/error-codes.md is not what src/model/codes.rs renders; run `UPSYNC_BLESS=1 cargo test --test house` to regenerate"
    );
}

/// Guards: the class a code has in the registry (and so in the docs) is the class the
/// error that produces it reports, for the producers that can be built here: the source
/// connectors' errors, the UPS client's errors (a sample of UPS answers for every rejection
/// rule, ship-to wording for the party-dependent codes) and the webhook's refusals.
#[test]
fn registry_class_matches_the_producing_error() {
    use upsync::model::codes::lookup;
    use upsync::model::ErrorClass;
    use upsync::sources::SourceError;
    use upsync::tracking::EventError;
    use upsync::ups::{Api, UpsError};

    let mut seen: Vec<(String, ErrorClass, String)> = Vec::new();
    let s = || "acumatica".to_string();
    for e in [
        SourceError::Transient {
            system: s(),
            message: "m".into(),
        },
        SourceError::Auth {
            system: s(),
            credentials: "c".into(),
            message: "m".into(),
        },
        SourceError::Config {
            system: s(),
            message: "m".into(),
        },
        SourceError::Rejected {
            system: s(),
            record: "r".into(),
            message: "m".into(),
            fields: vec![],
        },
        SourceError::NotFound {
            system: s(),
            record: "r".into(),
        },
    ] {
        seen.push((e.code().to_string(), e.class(), e.to_string()));
    }
    for e in [
        EventError::Malformed("x".into()),
        EventError::NotAnObject,
        EventError::Missing("trackingNumber"),
        EventError::Invalid("trackingNumber"),
        EventError::NoActivityTime,
    ] {
        // The webhook refuses these (400): nothing to retry.
        seen.push((e.code().to_string(), ErrorClass::Business, e.to_string()));
    }
    let rejected = |status: u16, code: &str, message: &str| UpsError::Rejected {
        api: Api::Ship,
        status,
        code: code.into(),
        message: message.into(),
        field: None,
        faults: vec![],
    };
    let ups = [
        UpsError::Auth {
            api: Api::Ship,
            status: Some(401),
            code: "250002".into(),
            message: "Invalid Authentication Information.".into(),
        },
        UpsError::RateLimited {
            api: Api::Rating,
            attempts: 3,
        },
        UpsError::Unavailable {
            api: Api::Rating,
            status: Some(503),
            code: None,
            detail: "d".into(),
            attempts: 3,
        },
        UpsError::OutcomeUnknown {
            api: Api::Ship,
            status: None,
            reason: "timeout".into(),
        },
        UpsError::Protocol {
            api: Api::Ship,
            status: 200,
            detail: "d".into(),
        },
        UpsError::Config("bad base URL".into()),
        rejected(400, "121100", "Invalid service"),
        rejected(400, "120100", "Missing or invalid shipper number"),
        rejected(400, "120541", "Reference number not allowed"),
        rejected(400, "120105", "Field too long"),
        rejected(400, "120519", "Invalid package count"),
        rejected(400, "120612", "Invalid package weight"),
        rejected(400, "120413", "Invalid label spec"),
        rejected(400, "190100", "Invalid tracking number"),
        rejected(400, "190102", "No shipments found for void"),
        rejected(400, "190202", "No label found"),
        rejected(400, "264002", "Country not supported"),
        rejected(400, "9120200", "Invalid SubVersion"),
        rejected(400, "10001", "The request is not well formed"),
        rejected(400, "120802", "Address validation failed"),
        rejected(
            400,
            "120802",
            "Missing or invalid ship to StateProvinceCode",
        ),
        rejected(
            400,
            "120802",
            "Invalid or missing Shipper StateProvinceCode",
        ),
        rejected(400, "120802", "Invalid ship from postal code"),
        rejected(400, "120202", "Missing or invalid ship to AttentionName"),
        rejected(400, "120202", "Missing or invalid ship to phone number"),
        rejected(400, "120202", "Invalid InternationalForms"),
        rejected(400, "120202", "A shipment description is required"),
        rejected(403, "250003", "Blocked merchant"),
        rejected(404, "0", "Not found"),
        rejected(400, "999999", "The void request failed"),
        rejected(400, "999999", "Something else"),
    ];
    for e in ups {
        seen.push((e.code().to_string(), e.class(), e.to_string()));
    }
    let mut wrong = Vec::new();
    for (code, class, text) in &seen {
        match lookup(code) {
            None => wrong.push(format!("{code}: not registered ({text})")),
            Some(i) if i.class != *class => wrong.push(format!(
                "{code}: registered as {}, produced as {} ({text})",
                i.class.as_str(),
                class.as_str()
            )),
            Some(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "registry vs producing errors:\n{}",
        wrong.join("\n")
    );
    // The samples reach the codes they are meant to (a sample that falls through to the
    // generic code would make this test weaker without failing).
    let codes: std::collections::BTreeSet<&str> = seen.iter().map(|(c, _, _)| c.as_str()).collect();
    for c in [
        "ups_shipto_address_invalid",
        "ups_shipper_address_invalid",
        "ups_shipfrom_address_invalid",
        "ups_attention_required",
        "ups_phone_required",
        "ups_international_forms_invalid",
        "ups_description_required",
        "ups_address_invalid",
        "ups_void_rejected",
        "ups_rejected",
        "ups_blocked_merchant",
        "ups_endpoint_not_found",
        "ups_subversion_invalid",
    ] {
        assert!(codes.contains(c), "no sample produced {c}: {codes:?}");
    }
}
