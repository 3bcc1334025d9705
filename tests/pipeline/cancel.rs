//! Issue 15 item 13, end to end: both ERPs cancel a shipped fulfilment/shipment by deleting
//! it (NetSuite: `DELETE /record/v1/itemFulfillment/{id}`; Acumatica: CorrectShipment, then
//! `DELETE /Shipment/{id}`, allowed only while Open/On Hold). The real binary (`upsync
//! once`) with the bundled mappings (`void_on_cancel: true`) notices the deletion and voids
//! the UPS shipment; every other record keeps its live label.
//!
//! Guards: before this item nothing looked for deleted records (and the bundled mappings
//! waited for "Cancelled" statuses neither ERP has), so the deleted records' jobs stayed in
//! `tracking` with live UPS shipments: this test failed on the `voided` assertions.

use crate::pipeline_support::*;
use serde_json::json;
use upsync::pipeline::JobState;

/// Correct (reopen) a confirmed Acumatica shipment and delete it, through the contract API
/// with a cookie session, as a user cancelling it does.
pub(crate) async fn acumatica_correct_and_delete(
    w: &upsync::app::world::World,
    nbr: &str,
    id: &str,
) {
    let a = w.acumatica.as_ref().expect("acumatica");
    acumatica_delete(&a.base_url, nbr, id, true).await;
}

/// Delete an Acumatica shipment through the contract API (cookie session); a confirmed
/// one is first refused, then corrected (reopened) and deleted.
async fn acumatica_delete(base_url: &str, nbr: &str, id: &str, confirmed: bool) {
    let base = format!("{}/entity/Default/23.200.001", base_url);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/entity/auth/login", base_url))
        .json(&json!({"name": "admin", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "login: {}", login.status());
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if !confirmed {
        let d = http
            .delete(format!("{base}/Shipment/{id}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(d.status(), 204, "an Open shipment is deleted");
        return;
    }
    // Deleting a confirmed shipment is refused (ERP-NOTES.md §A4).
    let refused = http
        .delete(format!("{base}/Shipment/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        500,
        "a Confirmed shipment cannot be deleted"
    );
    let r = http
        .post(format!("{base}/Shipment/CorrectShipment"))
        .header("cookie", &cookie)
        .json(&json!({"entity": {"ShipmentNbr": {"value": nbr}}, "parameters": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let status_url = format!("{}{}", base_url, r.headers()["location"].to_str().unwrap());
    for _ in 0..50 {
        let s = http
            .get(&status_url)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        if s.status() == 204 {
            break;
        }
        assert_eq!(s.status(), 202);
    }
    let d = http
        .delete(format!("{base}/Shipment/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 204, "an Open shipment is deleted");
    let _ = http
        .post(format!("{}/entity/auth/logout", base_url))
        .header("cookie", &cookie)
        .send()
        .await;
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_deleted_in_either_erp_after_shipping_are_voided_at_ups(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 4, 6);
        o.store_url = store_url;
        let w = start(o).await;
        let acu = acumatica_ready(&w);
        let ns = netsuite_ready(&w);
        assert!(acu.len() >= 2 && ns.len() >= 2, "seeds: {acu:?} {ns:?}");

        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        assert!(
            all.iter().all(|j| j.state == JobState::Tracking),
            "{}",
            describe(&all)
        );

        let (ns_tranid, ns_id) = ns[0].clone();
        assert!(w.netsuite.as_ref().unwrap().sim.delete(ns_id));
        let (acu_nbr, acu_id) = acu[0].clone();
        acumatica_correct_and_delete(&w, &acu_nbr, &acu_id).await;
        assert!(w
            .acumatica
            .as_ref()
            .unwrap()
            .state
            .shipment(&acu_id)
            .is_none());

        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        for j in &all {
            let deleted = (j.source == "netsuite" && j.record_id == ns_id.to_string())
                || (j.source == "acumatica" && j.record_id == acu_id);
            let want = if deleted {
                JobState::Voided
            } else {
                JobState::Tracking
            };
            assert_eq!(j.state, want, "{}\n{}", j.id, describe(&all));
            let (live, voided) = ups_shipments_for(&w, &j.number);
            if deleted {
                assert_eq!(
                    (live, voided),
                    (0, 1),
                    "{}: the UPS shipment is voided",
                    j.number
                );
                assert!(j
                    .timeline
                    .last()
                    .unwrap()
                    .note
                    .starts_with("deleted in ERP; voided"));
            } else {
                assert_eq!((live, voided), (1, 0), "{}: left alone", j.number);
            }
        }
        assert!(all.iter().any(|j| j.number == ns_tranid));
        assert!(all.iter().any(|j| j.number == acu_nbr));
    }
}

// One run: this test asks the sources directly and opens no store.
/// Guards the cost and the precision of noticing deletions: NetSuite answers for 60 shipped
/// records with ONE SuiteQL request, Acumatica for 30 with ⌈30/25⌉ = 2 list GETs, and each
/// names exactly the deleted records (a wrong "missing" would void a live label).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_asks_in_batches_and_names_only_deleted_records() {
    use upsync::sources::{RecordRef, Source};

    let h = upsync::sim::netsuite::spawn(upsync::sim::netsuite::NetSuiteSimConfig {
        seed: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p = upsync::sources::netsuite::NetSuiteProfile::load(std::path::Path::new(
        "connectors/netsuite.yaml",
    ))
    .unwrap();
    p.base_url = Some(h.base_url.clone());
    let ns = upsync::sources::netsuite::NetSuiteSource::new(
        "ns",
        p,
        upsync::sources::netsuite::NetSuiteCredentials::M2m {
            client_id: upsync::sim::netsuite::DEMO_CLIENT_ID.into(),
            certificate_id: upsync::sim::netsuite::DEMO_CERTIFICATE_ID.into(),
            private_key_pem: upsync::sim::netsuite::DEMO_M2M_PRIVATE_KEY_PEM.into(),
        },
    )
    .unwrap();
    let refs: Vec<RecordRef> = (5000..5060u64)
        .map(|id| RecordRef {
            id: id.to_string(),
            number: format!("IF{}", id - 4000),
        })
        .collect();
    assert!(h.sim.delete(5007) && h.sim.delete(5042));
    let before = h.core.stats.get("suiteql");
    let gone = ns.missing(&refs).await.unwrap();
    assert_eq!(gone, ["5007", "5042"]);
    assert_eq!(
        h.core.stats.get("suiteql") - before,
        1,
        "one SuiteQL request"
    );

    let a = upsync::sim::acumatica::spawn(upsync::sim::acumatica::AcumaticaSimConfig {
        seed: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p =
        upsync::sources::acumatica::AcumaticaProfile::new(&a.base_url, "23.200.001", "Company");
    p.login_wait_max_seconds = 10;
    let acu = upsync::sources::acumatica::AcumaticaSource::new(
        "acumatica",
        p,
        upsync::sources::acumatica::AcumaticaCredentials {
            username: "admin".into(),
            password: "demo".into(),
            client_id: None,
            client_secret: None,
        },
    )
    .unwrap();
    let refs: Vec<RecordRef> = a
        .state
        .shipments()
        .iter()
        .map(|s| RecordRef {
            id: s["id"].as_str().unwrap().to_string(),
            number: s["ShipmentNbr"]["value"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(refs.len(), 30);
    acumatica_delete(&a.base_url, &refs[3].number, &refs[3].id, false).await;
    let before = a.core.stats.get("list");
    let gone = acu.missing(&refs).await.unwrap();
    assert_eq!(gone, [refs[3].id.clone()]);
    assert_eq!(
        a.core.stats.get("list") - before,
        2,
        "two list GETs for 30 records"
    );
    acu.close().await;
}
