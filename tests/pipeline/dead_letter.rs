//! Issue 7, Must show 3: a record with a bad address (`Nowhere`, UPS address validation
//! finds no candidate) and one with a package of weight 0 end in the dead-letter queue with
//! their stable codes; the reason is written to the ERP record (the mapping's error field:
//! Acumatica `custom.Document.UsrUpsError`, NetSuite `custbody_ups_error`); after the record
//! is fixed in the simulator, `upsync jobs replay ID` ships it exactly once. Both ERPs.

use crate::pipeline_support::*;
use serde_json::json;
use upsync::pipeline::{JobState, Ledger};

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_records_are_dead_lettered_with_codes_and_replay_ships_them_once(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 3, 3);
        o.store_url = store_url;
        o.bad_records = 2;
        let w = start(o).await;

        // The simulators' bad seeds: one `Nowhere` address and one zero-weight package per ERP.
        let acu_state = &w.acumatica.as_ref().unwrap().state;
        let acu_all = acu_state.shipments();
        let acu_nowhere = acu_all
            .iter()
            .find(|s| {
                v(&s["ShippingSettings"]["ShipToAddress"]["AddressLine1"])
                    .as_str()
                    .is_some_and(|l| l.contains("Nowhere"))
            })
            .expect("an Acumatica seed with a Nowhere address")
            .clone();
        let acu_zero = acu_all
            .iter()
            .find(|s| {
                s["Packages"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| v(&p["Weight"]).as_f64() == Some(0.0)))
            })
            .expect("an Acumatica seed with a zero-weight package")
            .clone();
        let ns_sim = &w.netsuite.as_ref().unwrap().sim;
        let ns_all: Vec<_> = netsuite_ready(&w)
            .into_iter()
            .map(|(_, id)| ns_sim.fulfillment(id).unwrap())
            .collect();
        let ns_nowhere = ns_all
            .iter()
            .find(|f| {
                f.shipaddress
                    .addr1
                    .as_deref()
                    .is_some_and(|a| a.contains("Nowhere"))
            })
            .expect("a NetSuite seed with a Nowhere address")
            .clone();
        let ns_zero = ns_all
            .iter()
            .find(|f| f.packages.iter().any(|p| p.weight == 0.0))
            .expect("a NetSuite seed with a zero-weight package")
            .clone();
        let acu_nowhere_nbr = v(&acu_nowhere["ShipmentNbr"]).as_str().unwrap().to_string();
        let acu_zero_nbr = v(&acu_zero["ShipmentNbr"]).as_str().unwrap().to_string();
        let bad_numbers = [
            acu_nowhere_nbr.clone(),
            acu_zero_nbr.clone(),
            ns_nowhere.tranid.clone(),
            ns_zero.tranid.clone(),
        ];

        // The simulators' `Nowhere` seeds can land on a non-US lane (seed 42: Toronto CA and
        // Mexico City MX), where UPS address validation does not apply (US/PR only) and the
        // record ships. Move them to a US lane (UPS Ground) so the address is what fails.
        let acu_url = w.acumatica.as_ref().unwrap().base_url.clone();
        let ns_url = w.netsuite.as_ref().unwrap().base_url.clone();
        sim_post(
            &acu_url,
            "/_sim/acumatica/shipments",
            &json!({"id": acu_nowhere["id"], "ShipVia": {"value": "UPSGROUND"},
                    "ShippingSettings": {"ShipToAddress": {"City": {"value": "Atlanta"}, "State": {"value": "GA"},
                                                           "PostalCode": {"value": "30303"}, "Country": {"value": "US"}}}}),
        )
        .await;
        let mut addr = serde_json::to_value(&ns_nowhere.shipaddress).unwrap();
        addr["city"] = json!("Atlanta");
        addr["state"] = json!("GA");
        addr["zip"] = json!("30303");
        addr["country"] = json!("US");
        let ground = upsync::sim::netsuite::store::ship_method_id("UPS Ground").unwrap();
        sim_post(
            &ns_url,
            "/_sim/netsuite/fulfillments",
            &json!({"id": ns_nowhere.id, "shipaddress": addr, "shipmethod": ground}),
        )
        .await;
        let ns_nowhere = ns_sim.fulfillment(ns_nowhere.id).unwrap();

        upsync_ok(&w, &["once"]).await;
        let ships_before = stat(&w.ups.stats(), "ship");

        // Dead-letter queue: the four records with their codes.
        let store = w.open_store().unwrap();
        let ledger = Ledger::new(store);
        let dead = ledger.dead_letters().unwrap();
        drop(ledger);
        let first = jobs(&w);
        let code_of = |number: &str| -> String {
            dead.iter()
                .find(|d| d.number == number)
                .map(|d| d.failure.code.clone())
                .unwrap_or_else(|| {
                    panic!(
                        "{number} not in the dead-letter queue: {dead:?}\njobs:\n{}",
                        describe(&first)
                    )
                })
        };
        assert_eq!(code_of(&acu_nowhere_nbr), "address_invalid");
        assert_eq!(code_of(&ns_nowhere.tranid), "address_invalid");
        let weight_code = code_of(&acu_zero_nbr);
        assert!(weight_code.starts_with("package_weight_"), "{weight_code}");
        assert_eq!(code_of(&ns_zero.tranid), weight_code);
        assert_eq!(dead.len(), 4, "only the bad records: {dead:?}");
        for n in &bad_numbers {
            assert_eq!(w.ups.shipments_with_reference(n), 0, "{n} must not ship");
        }
        // The good records shipped.
        let all = jobs(&w);
        assert_eq!(
            all.iter().filter(|j| j.state == JobState::Tracking).count(),
            all.len() - 4,
            "{}",
            describe(&all)
        );

        // The reason is on the ERP records.
        let acu_error = |id: &str| -> String {
            let s = acu_state.shipment(id).unwrap();
            v(&s["custom"]["Document"]["UsrUpsError"])
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let ns_error = |id: u64| -> String {
            ns_sim
                .fulfillment(id)
                .unwrap()
                .custom
                .get("custbody_ups_error")
                .cloned()
                .flatten()
                .unwrap_or_default()
        };
        let acu_nowhere_id = acu_nowhere["id"].as_str().unwrap().to_string();
        let acu_zero_id = acu_zero["id"].as_str().unwrap().to_string();
        assert!(
            acu_error(&acu_nowhere_id).contains("address_invalid"),
            "{}",
            acu_error(&acu_nowhere_id)
        );
        assert!(
            acu_error(&acu_zero_id).contains(&weight_code),
            "{}",
            acu_error(&acu_zero_id)
        );
        assert!(
            ns_error(ns_nowhere.id).contains("address_invalid"),
            "{}",
            ns_error(ns_nowhere.id)
        );
        assert!(
            ns_error(ns_zero.id).contains(&weight_code),
            "{}",
            ns_error(ns_zero.id)
        );

        // `jobs list --state failed` shows them with their codes.
        let listed = upsync_ok(&w, &["jobs", "list", "--state", "failed"]).await;
        for n in &bad_numbers {
            let line = listed
                .lines()
                .find(|l| l.contains(n.as_str()))
                .unwrap_or_else(|| panic!("{n} not listed:\n{listed}"));
            assert!(
                line.contains("address_invalid") || line.contains(&weight_code),
                "{line}"
            );
        }

        // Another cycle before any fix: the dead-lettered records stay dead-lettered; our own
        // write-back of the reason is no reason to try again (no new job, no UPS call).
        let xav_before = stat(&w.ups.stats(), "xav");
        upsync_ok(&w, &["once"]).await;
        let again = jobs(&w);
        assert_eq!(again.len(), all.len(), "no new jobs:\n{}", describe(&again));
        assert_eq!(
            stat(&w.ups.stats(), "xav"),
            xav_before,
            "no new address validation"
        );

        // Fix the records in the simulators.
        let acu = &acu_url;
        sim_post(
            acu,
            "/_sim/acumatica/shipments",
            &json!({"id": acu_nowhere_id, "ShippingSettings": {"ShipToAddress": {"AddressLine1": {"value": "100 Peachtree Street"}}}}),
        )
        .await;
        let zero_pkg = acu_zero["Packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| v(&p["Weight"]).as_f64() == Some(0.0))
            .unwrap()["id"]
            .clone();
        sim_post(
            acu,
            "/_sim/acumatica/shipments",
            &json!({"id": acu_zero_id, "Packages": [{"id": zero_pkg, "Weight": {"value": 4.5}}]}),
        )
        .await;
        let ns = &ns_url;
        let mut addr = serde_json::to_value(&ns_nowhere.shipaddress).unwrap();
        addr["addr1"] = json!("100 Peachtree Street");
        sim_post(
            ns,
            "/_sim/netsuite/fulfillments",
            &json!({"id": ns_nowhere.id, "shipaddress": addr}),
        )
        .await;
        let mut pkgs = serde_json::to_value(&ns_zero.packages).unwrap();
        for p in pkgs.as_array_mut().unwrap() {
            if p["weight"] == json!(0.0) {
                p["weight"] = json!(4.5);
            }
        }
        sim_post(
            ns,
            "/_sim/netsuite/fulfillments",
            &json!({"id": ns_zero.id, "packages": pkgs}),
        )
        .await;

        // Replay each dead-lettered job with the binary.
        for d in &dead {
            let out = upsync_ok(&w, &["jobs", "replay", &d.job_id]).await;
            assert!(
                out.contains("is now tracking"),
                "replay {}: {out}",
                d.job_id
            );
        }
        let stats = w.ups.stats();
        assert_eq!(
            stat(&stats, "ship"),
            ships_before + 4,
            "one Ship per replayed record: {stats:?}"
        );
        for n in &bad_numbers {
            assert_eq!(
                ups_shipments_for(&w, n),
                (1, 0),
                "{n}: (live, voided) after replay"
            );
        }
        assert_acumatica_written_back(&w, &acu_nowhere_nbr, &acu_nowhere_id);
        assert_acumatica_written_back(&w, &acu_zero_nbr, &acu_zero_id);
        assert_netsuite_written_back(
            &w,
            &ns_nowhere.tranid,
            ns_nowhere.id,
            ns_nowhere.packages.len(),
        );
        assert_netsuite_written_back(&w, &ns_zero.tranid, ns_zero.id, ns_zero.packages.len());
        let store = w.open_store().unwrap();
        assert!(Ledger::new(store).dead_letters().unwrap().is_empty());

        // A replay of a job that has shipped does not ship again.
        let after = jobs(&w);
        let done = after
            .iter()
            .find(|j| j.number == acu_zero_nbr && j.state == JobState::Tracking)
            .unwrap();
        let out = upsync(&w, &["jobs", "replay", &done.id]).await;
        assert!(!out.status.success());
        // And the next cycle leaves everything as it is.
        upsync_ok(&w, &["once"]).await;
        assert_eq!(stat(&w.ups.stats(), "ship"), ships_before + 4);
    }
}

upsync::both_stores! {
    /// A job dead-lettered while its Ship was in doubt (here: Label Recovery refused during
    /// reconciliation) may have a live shipment at UPS: `jobs replay` must reconcile first, and
    /// never send a second Ship for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replay_of_a_job_dead_lettered_in_doubt_reconciles_instead_of_shipping_again(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 1, 0);
        o.store_url = store_url;
        o.ups_faults = "ship:drop-after-commit#1,label_recovery:400".into();
        let w = start(o).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let failed = loop {
            upsync(&w, &["once"]).await;
            let all = jobs(&w);
            if let Some(j) = all.iter().find(|j| j.state == JobState::Failed) {
                break j.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not dead-lettered:\n{}",
                describe(&all)
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        assert_eq!(
            failed.timeline.last().and_then(|t| t.from),
            Some(JobState::Shipping),
            "dead-lettered while in doubt"
        );
        assert_eq!(ups_shipments_for(&w, &failed.number), (1, 0));
        let ships = stat(&w.ups.stats(), "ship");

        w.ups.core.faults.replace("").unwrap();
        let out = upsync_ok(&w, &["jobs", "replay", &failed.id]).await;
        assert!(out.contains("is now tracking"), "{out}");
        assert_eq!(
            stat(&w.ups.stats(), "ship"),
            ships,
            "replay must not Ship again"
        );
        assert_eq!(
            ups_shipments_for(&w, &failed.number),
            (1, 0),
            "(live, voided)"
        );
        let acu = acumatica_ready(&w);
        assert_acumatica_written_back(&w, &acu[0].0, &acu[0].1);
    }
}
