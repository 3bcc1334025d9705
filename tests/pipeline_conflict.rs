//! Issue 7, Must show 4: an ERP record whose address is edited after its label was created
//! is flagged as a conflict for a person (`jobs list --state conflict`), never re-shipped
//! silently (UPS Ship count unchanged); `jobs void ID` voids the shipment at UPS and ships
//! the new version exactly once. Both ERPs; the real binary.

mod pipeline_support;

use pipeline_support::*;
use serde_json::json;
use upsync::pipeline::JobState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_edited_after_shipping_is_a_conflict_and_void_reships_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(options(dir.path(), 3, 3)).await;
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
