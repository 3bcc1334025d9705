//! Issue 7, Must show 4: an ERP record whose address is edited after its label was created
//! is flagged as a conflict for a person (`jobs list --state conflict`), never re-shipped
//! silently (UPS Ship count unchanged); `jobs void ID` voids the shipment at UPS and ships
//! the new version exactly once. Both ERPs; the real binary.

use crate::pipeline_support::*;
use serde_json::json;
use upsync::pipeline::JobState;

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_address_edited_after_shipping_is_a_conflict_and_void_reships_once(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 3, 3);
        o.store_url = store_url;
        let w = start(o).await;
        upsync_ok(&w, &["once"]).await;
        let first = jobs(&w);
        assert!(
            !first.is_empty() && first.iter().all(|j| j.state == JobState::Tracking),
            "{}",
            describe(&first)
        );
        let ships = stat(&w.ups.stats(), "ship");

        // Edit the ship-to street of one shipped record in each ERP. The records left the
        // "ready" filters when they shipped; the edit puts them back (Acumatica: corrected to
        // Open; NetSuite: back to packed), as a person re-opening a shipment would.
        let acu_job = first
            .iter()
            .find(|j| j.source == "acumatica")
            .unwrap()
            .clone();
        let ns_job = first
            .iter()
            .find(|j| j.source == "netsuite")
            .unwrap()
            .clone();
        let acu_url = w.acumatica.as_ref().unwrap().base_url.clone();
        let ns_url = w.netsuite.as_ref().unwrap().base_url.clone();
        sim_post(
            &acu_url,
            "/_sim/acumatica/shipments",
            &json!({"id": acu_job.record_id, "Status": {"value": "Open"},
                    "ShippingSettings": {"ShipToAddress": {"AddressLine1": {"value": "200 Changed Street"}}}}),
        )
        .await;
        let ns_id: u64 = ns_job.record_id.parse().unwrap();
        let f = w.netsuite.as_ref().unwrap().sim.fulfillment(ns_id).unwrap();
        let mut addr = serde_json::to_value(&f.shipaddress).unwrap();
        addr["addr1"] = json!("200 Changed Street");
        sim_post(
            &ns_url,
            "/_sim/netsuite/fulfillments",
            &json!({"id": ns_id, "shipaddress": addr, "status": "B"}),
        )
        .await;

        upsync_ok(&w, &["once"]).await;
        assert_eq!(
            stat(&w.ups.stats(), "ship"),
            ships,
            "a conflict is never re-shipped"
        );
        let listed = upsync_ok(&w, &["jobs", "list", "--state", "conflict"]).await;
        for j in [&acu_job, &ns_job] {
            let line = listed
                .lines()
                .find(|l| l.contains(j.id.as_str()))
                .unwrap_or_else(|| panic!("{} not listed as a conflict:\n{listed}", j.id));
            assert!(
                line.contains("CONFLICT") && line.contains("ship-to street"),
                "{line}"
            );
        }
        assert_eq!(
            listed.lines().count(),
            3,
            "header + the two conflicts:\n{listed}"
        );
        // The conflict note is on the ERP records (the mapping's error field), no address in it.
        let acu_rec = w
            .acumatica
            .as_ref()
            .unwrap()
            .state
            .shipment(&acu_job.record_id)
            .unwrap();
        let note = v(&acu_rec["custom"]["Document"]["UsrUpsError"])
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(note.contains("shipment_changed_after_label"), "{note}");
        assert!(!note.contains("Changed Street"), "{note}");
        let f = w.netsuite.as_ref().unwrap().sim.fulfillment(ns_id).unwrap();
        let note = f
            .custom
            .get("custbody_ups_error")
            .cloned()
            .flatten()
            .unwrap_or_default();
        assert!(note.contains("shipment_changed_after_label"), "{note}");
        // A second cycle neither ships nor flags again.
        upsync_ok(&w, &["once"]).await;
        assert_eq!(stat(&w.ups.stats(), "ship"), ships);
        let flagged = jobs(&w);
        assert_eq!(
            flagged.len(),
            first.len(),
            "no new jobs:\n{}",
            describe(&flagged)
        );

        // `jobs void ID`: void at UPS, ship the new version once.
        for j in [&acu_job, &ns_job] {
            let old_numbers: Vec<String> = j
                .result
                .as_ref()
                .unwrap()
                .packages
                .iter()
                .map(|p| p.tracking_number.clone())
                .collect();
            let out = upsync_ok(&w, &["jobs", "void", &j.id]).await;
            assert!(out.contains("is now voided"), "{out}");
            assert_eq!(
                ups_shipments_for(&w, &j.number),
                (1, 1),
                "{}: (live, voided) after void",
                j.number
            );
            let after = jobs(&w);
            let new = after
                .iter()
                .find(|n| n.record_id == j.record_id && n.id != j.id)
                .unwrap_or_else(|| panic!("no new job for {}:\n{}", j.number, describe(&after)));
            assert_eq!(new.state, JobState::Tracking, "{}", describe(&after));
            let new_numbers: Vec<String> = new
                .result
                .as_ref()
                .unwrap()
                .packages
                .iter()
                .map(|p| p.tracking_number.clone())
                .collect();
            assert!(new_numbers.iter().all(|n| !old_numbers.contains(n)));
            let erp_numbers = if j.source == "acumatica" {
                assert_acumatica_written_back(&w, &j.number, &j.record_id)
            } else {
                assert_netsuite_written_back(&w, &j.number, ns_id, f.packages.len())
            };
            assert_eq!(
                erp_numbers, new_numbers,
                "{}: the ERP holds the new 1Z numbers",
                j.number
            );
        }
        assert_eq!(
            stat(&w.ups.stats(), "ship"),
            ships + 2,
            "one Ship per voided conflict"
        );
        assert_eq!(stat(&w.ups.stats(), "ship.voided"), 2);
        // Voiding twice is refused.
        let out = upsync(&w, &["jobs", "void", &acu_job.id]).await;
        assert!(!out.status.success());
        // Later cycles leave it all alone.
        upsync_ok(&w, &["once"]).await;
        assert_eq!(stat(&w.ups.stats(), "ship"), ships + 2);
    }
}

upsync::both_stores! {
    /// After `jobs void`, UPS knows the reference twice: the voided shipment and (maybe) the new
    /// one. When the re-ship's answer is lost (`drop-after-commit`), reconciliation must find
    /// the new live shipment (not be misled by the voided one, not ship a third time) and write
    /// back exactly its 1Z numbers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reship_in_doubt_after_void_is_reconciled_to_the_live_shipment(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 3, 0);
        o.store_url = store_url;
        let w = start(o).await;
        upsync_ok(&w, &["once"]).await;
        let first = jobs(&w);
        // A multi-package record makes a mix-up of the two shipments' packages visible.
        let job = first
            .iter()
            .max_by_key(|j| j.result.as_ref().unwrap().packages.len())
            .unwrap()
            .clone();
        let acu_url = w.acumatica.as_ref().unwrap().base_url.clone();
        sim_post(
            &acu_url,
            "/_sim/acumatica/shipments",
            &json!({"id": job.record_id, "Status": {"value": "Open"},
                    "ShippingSettings": {"ShipToAddress": {"AddressLine1": {"value": "300 Other Street"}}}}),
        )
        .await;
        upsync_ok(&w, &["once"]).await;
        let ships = stat(&w.ups.stats(), "ship");

        // The re-ship after the void is created at UPS, and its answer lost.
        w.ups
            .core
            .faults
            .replace("ship:drop-after-commit#1")
            .unwrap();
        let out = upsync(&w, &["jobs", "void", &job.id]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stat(&w.ups.stats(), "ship.drop_after_commit"), 1);
        assert_eq!(ups_shipments_for(&w, &job.number), (1, 1));

        // Later cycles reconcile (bounded: the retry backoff is at most a few seconds).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let new = loop {
            upsync_ok(&w, &["once"]).await;
            let all = jobs(&w);
            if let Some(n) = all.iter().find(|n| {
                n.record_id == job.record_id && n.id != job.id && n.state == JobState::Tracking
            }) {
                break n.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not reconciled:\n{}",
                describe(&all)
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        assert_eq!(stat(&w.ups.stats(), "ship"), ships + 1, "no third Ship");
        assert_eq!(ups_shipments_for(&w, &job.number), (1, 1), "(live, voided)");
        // The job holds exactly the live shipment's packages, and so does the ERP.
        let dump = w.ups.shipments();
        let live = dump
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["voided"] == false
                    && s["references"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r == job.number.as_str())
            })
            .unwrap();
        let live_numbers: Vec<String> = live["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["tracking_number"].as_str().unwrap().to_string())
            .collect();
        let got: Vec<String> = new
            .result
            .as_ref()
            .unwrap()
            .packages
            .iter()
            .map(|p| p.tracking_number.clone())
            .collect();
        assert_eq!(
            got, live_numbers,
            "the job's 1Z numbers are the live shipment's"
        );
        let erp = assert_acumatica_written_back(&w, &job.number, &job.record_id);
        assert_eq!(
            erp, live_numbers,
            "the ERP's 1Z numbers are the live shipment's"
        );
        assert_eq!(new.duplicates_voided, 0);
    }
}
