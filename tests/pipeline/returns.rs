//! Issue 20, Returns (docs/returns.md), end to end with the real binary (`upsync once`)
//! against the simulators: an Acumatica RMA receipt shipment and a NetSuite return
//! authorization each get one return label (reference = the RMA number, `ReturnService`
//! code 9 in the recorded Ship request), their return 1Z written back to the return record
//! and to the outbound record it names; an outbound Acumatica shipment flagged for an
//! automatic return gets one return label too, its 1Z on the outbound record. A second
//! run ships nothing more.

use serde_json::Value;

use crate::pipeline_support::*;
use upsync::model::ShipmentKind;
use upsync::pipeline::{job_reference, JobState};

/// Ship request bodies the UPS simulator recorded, in order.
fn ship_requests(dir: &std::path::Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("ups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("_ship"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/ship"))
        })
        .map(|r| r["body"].clone())
        .collect()
}

/// The recorded Ship request carrying reference `value`.
fn request_with_reference<'a>(reqs: &'a [Value], code: &str, value: &str) -> Vec<&'a Value> {
    reqs.iter()
        .filter(|b| {
            let sh = &b["ShipmentRequest"]["Shipment"];
            let refs: Vec<&Value> = sh["ReferenceNumber"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(
                    sh["Package"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|p| p["ReferenceNumber"].as_array().into_iter().flatten()),
                )
                .collect();
            refs.iter()
                .any(|r| r["Code"] == code && r["Value"] == value)
        })
        .collect()
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn return_records_of_both_erps_and_an_auto_return_are_labelled_once_and_written_back(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let rec = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 10, 10);
        o.store_url = store_url;
        o.returns = 1;
        o.record_dir = Some(rec.path().to_path_buf());
        let w = start(o).await;

        upsync_ok(&w, &["once"]).await;
        // The automatic return is a second job, created once its outbound job has shipped;
        // the next cycle ships it.
        upsync_ok(&w, &["once"]).await;

        let all = jobs(&w);
        let returns: Vec<_> = all
            .iter()
            .filter(|j| j.kind == ShipmentKind::Return)
            .collect();
        assert_eq!(
            returns.len(),
            3,
            "two return records and one auto return:\n{}",
            describe(&all)
        );
        for j in &returns {
            assert_eq!(j.state, JobState::Tracking, "{}", describe(&all));
            let (live, voided) = ups_shipments_for(&w, &job_reference(&j.id));
            assert_eq!(
                (live, voided),
                (1, 0),
                "{}: exactly one return at UPS",
                j.id
            );
        }
        let reqs = ship_requests(rec.path());

        // Acumatica RMA: reference RZ = the RC order number, ReturnService 9, parties swapped.
        let acu = &w.acumatica.as_ref().unwrap().state;
        let receipt = acu.shipment("RT0001").expect("receipt shipment");
        let rma = v(&receipt["Orders"][0]["OrderNbr"])
            .as_str()
            .unwrap()
            .to_string();
        let sent = request_with_reference(&reqs, "RZ", &rma);
        assert_eq!(sent.len(), 1, "one Ship for {rma}");
        let sh = &sent[0]["ShipmentRequest"]["Shipment"];
        assert_eq!(sh["ReturnService"]["Code"], "9");
        assert_eq!(
            sh["ShipFrom"]["Address"]["PostalCode"],
            *v(&receipt["ShippingSettings"]["ShipToAddress"]["PostalCode"]),
            "the customer is ShipFrom"
        );
        let tn = v(&receipt["Packages"][0]["TrackingNbr"])
            .as_str()
            .unwrap()
            .to_string();
        assert!(is_1z(&tn), "{tn:?}");
        let orig_id = v(&receipt["custom"]["Document"]["UsrOrigShipmentID"])
            .as_str()
            .unwrap()
            .to_string();
        let orig = acu.shipment(&orig_id).unwrap();
        assert_eq!(
            v(&orig["custom"]["Document"]["UsrUpsReturnTracking"]).as_str(),
            Some(tn.as_str()),
            "the return 1Z is on the outbound shipment it names"
        );

        // NetSuite return authorization: reference RZ = tranid.
        let ns = &w.netsuite.as_ref().unwrap().sim;
        let ra = ns.fulfillment(90_001).expect("return authorization");
        let sent = request_with_reference(&reqs, "RZ", &ra.tranid);
        assert_eq!(sent.len(), 1, "one Ship for {}", ra.tranid);
        assert_eq!(
            sent[0]["ShipmentRequest"]["Shipment"]["ReturnService"]["Code"],
            "9"
        );
        let tn = ra.packages[0].tracking.clone().unwrap_or_default();
        assert!(is_1z(&tn), "{tn:?}");
        let orig: u64 = ra.custom["custbody_original_fulfillment"]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            ns.fulfillment(orig).unwrap().custom["custbody_ups_return_tracking"].as_deref(),
            Some(tn.as_str()),
            "the return 1Z is on the fulfillment it names"
        );

        // The automatic return: one return job, its 1Z on the flagged outbound shipment.
        let auto: Vec<_> = returns.iter().filter(|j| j.return_of.is_some()).collect();
        assert_eq!(auto.len(), 1);
        let outbound = all
            .iter()
            .find(|j| Some(&j.id) == auto[0].return_of.as_ref())
            .unwrap();
        assert_eq!(outbound.kind, ShipmentKind::Outbound);
        let flagged = acu.shipment(&outbound.record_id).unwrap();
        let auto_tn = &auto[0].result.as_ref().unwrap().packages[0].tracking_number;
        assert_eq!(
            v(&flagged["custom"]["Document"]["UsrUpsReturnTracking"]).as_str(),
            Some(auto_tn.as_str())
        );
        assert_ne!(
            outbound.result.as_ref().unwrap().packages[0].tracking_number,
            *auto_tn
        );

        // Nothing more on a second pass.
        let before = ship_requests(rec.path()).len();
        upsync_ok(&w, &["once"]).await;
        assert_eq!(
            ship_requests(rec.path()).len(),
            before,
            "no Ship on a second run"
        );
    }
}
