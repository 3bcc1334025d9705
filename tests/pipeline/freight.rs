//! Issue 19, freight write-back, end to end on both ERPs with the bundled mappings (markup
//! 10 % + 1.00, standard rounding, 2 decimals, basis `account`): shipments from account
//! `123X56` (negotiated rates) get `round(negotiated × 1.10 + 1.00)`; shipments from
//! `456Y78` (UPS answers Alert 120900, no negotiated rate) fall back to list, with the
//! reason on the job, in `jobs show` and in the ERP's note field. The expected figure is
//! computed here from the UPS simulator's own record of each shipment (not from what the
//! client parsed), and compared with the number the ERP simulators hold. A NetSuite
//! fulfilment in CAD shipped from a US (USD) account keeps its label but gets no freight:
//! `freight_currency_mismatch` in its error field.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use crate::pipeline_support::*;
use upsync::pipeline::JobState;

/// The bundled rule: `round_half_away(base × 1.10 + 1.00, 2)`.
fn rule(base: Decimal) -> Decimal {
    (base * Decimal::from_str("1.10").unwrap() + Decimal::ONE)
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn dec(v: &Value) -> Decimal {
    assert!(v.is_number(), "freight must be a JSON number, got {v}");
    Decimal::from_str(&v.to_string()).unwrap()
}

/// What UPS (the simulator) recorded for a shipment: (currency, list, account).
fn ups_charges(shipments: &Value, id: &str) -> (String, Decimal, Option<Decimal>, String) {
    let s = shipments
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("UPS has no shipment {id}"));
    let c = &s["charges"];
    (
        c["currency"].as_str().unwrap().to_string(),
        Decimal::from_str(c["total"].as_str().unwrap()).unwrap(),
        c["negotiated_total"]
            .as_str()
            .map(|n| Decimal::from_str(n).unwrap()),
        s["shipper_number"].as_str().unwrap().to_string(),
    )
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn freight_is_written_as_billed_with_a_loud_fallback_for_an_ineligible_account(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 10, 12);
        o.store_url = store_url;
        let w = start(o).await;
        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        assert!(
            all.iter().all(|j| j.state == JobState::Tracking),
            "{}",
            describe(&all)
        );
        let shipments = w.ups.shipments();
        let (mut account_jobs, mut fallback_jobs, mut refused_jobs) = (0, 0, 0);
        let mut fallback_id = None;
        for j in &all {
            let r = j.result.as_ref().unwrap();
            let (currency, list, account, shipper) = ups_charges(&shipments, &r.shipment_id);
            let f = j.freight.as_ref().expect("every job has a freight outcome");
            assert_eq!(f.list, Some(list), "{}", j.id);
            assert_eq!(f.account, account, "{}", j.id);
            assert_eq!(f.currency, currency, "{}", j.id);
            assert_eq!(f.service, r.service_code);
            match shipper.as_str() {
                "123X56" => assert!(account.is_some(), "{}: 123X56 is negotiated", j.id),
                "456Y78" => assert!(account.is_none(), "{}: 456Y78 is not eligible", j.id),
                other => panic!("unexpected shipper {other}"),
            }
            // The ERP record as the simulator holds it: (freight figure, note, error field,
            // service used, quoted transit days).
            let (figure, note, error, service, days) = if j.source == "acumatica" {
                let s = w
                    .acumatica
                    .as_ref()
                    .unwrap()
                    .state
                    .shipment(&j.record_id)
                    .unwrap();
                (
                    Some(v(&s["FreightPrice"]).clone()).filter(|x| !x.is_null()),
                    v(&s["note"]).as_str().unwrap_or("").to_string(),
                    v(&s["custom"]["Document"]["UsrUpsError"])
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    v(&s["custom"]["Document"]["UsrUpsServiceUsed"])
                        .as_str()
                        .map(str::to_string),
                    v(&s["custom"]["Document"]["UsrUpsTransitDays"]).as_u64(),
                )
            } else {
                let id: u64 = j.record_id.parse().unwrap();
                let rec = w.netsuite.as_ref().unwrap().sim.fulfillment(id).unwrap();
                (
                    rec.shipping_cost
                        .as_deref()
                        .map(|c| serde_json::from_str::<Value>(c).unwrap()),
                    rec.memo.clone().unwrap_or_default(),
                    rec.custom
                        .get("custbody_ups_error")
                        .cloned()
                        .flatten()
                        .unwrap_or_default(),
                    rec.custom.get("custbody_ups_service").cloned().flatten(),
                    rec.custom
                        .get("custbody_ups_transit_days")
                        .cloned()
                        .flatten()
                        .map(|d| d.parse::<u64>().unwrap()),
                )
            };
            // The service actually shipped, and the days UPS quoted when it rate-shopped.
            assert_eq!(
                service.as_deref(),
                Some(r.service_code.as_str()),
                "{}",
                j.id
            );
            assert_eq!(days, j.quoted_days.map(u64::from), "{}", j.id);
            assert_eq!(f.transit_days, j.quoted_days);
            let doc_currency = f.document_currency.clone().unwrap_or_default();
            if doc_currency != currency {
                refused_jobs += 1;
                let (code, msg) = f.refused.clone().expect("refused");
                assert_eq!(code, "freight_currency_mismatch");
                assert!(
                    msg.contains(&currency) && msg.contains(&doc_currency) && msg.contains(&j.number)
                );
                assert_eq!(f.written, None);
                assert_eq!(figure, None, "{}: no freight on a refused record", j.id);
                assert!(error.starts_with("freight_currency_mismatch: "), "{error}");
                continue;
            }
            assert!(error.is_empty(), "{}: {error}", j.id);
            let expected = match account {
                Some(a) => {
                    account_jobs += 1;
                    assert_eq!(f.basis.as_str(), "account");
                    assert!(f.fallback_reason.is_none());
                    assert!(note.is_empty(), "{}: unexpected note {note}", j.id);
                    rule(a)
                }
                None => {
                    fallback_jobs += 1;
                    fallback_id.get_or_insert(j.id.clone());
                    assert_eq!(f.basis.as_str(), "list");
                    assert_eq!(f.asked.as_str(), "account");
                    assert!(f.fallback_reason.as_deref().unwrap().contains("120900"));
                    assert!(
                        note.contains("list rate") && note.contains("120900"),
                        "{}: ERP note {note:?}",
                        j.id
                    );
                    rule(list)
                }
            };
            assert_eq!(f.written, Some(expected), "{}", j.id);
            let figure = figure.unwrap_or_else(|| panic!("{}: no freight on the ERP record", j.id));
            assert_eq!(dec(&figure), expected, "{}: ERP freight", j.id);
        }
        assert!(
            account_jobs >= 3 && fallback_jobs >= 2,
            "both bases seen: account {account_jobs}, list {fallback_jobs}, refused {refused_jobs}"
        );
        // `jobs show` tells the finance user what happened and why.
        let id = fallback_id.unwrap();
        let out = upsync_ok(&w, &["jobs", "show", &id]).await;
        assert!(out.contains("basis list (asked account)"), "{out}");
        assert!(out.contains("fallback  UPS Alert 120900"), "{out}");
        assert!(out.contains("account none"), "{out}");
        assert!(out.contains("written   "), "{out}");
    }
}
