//! Issue 15 item 15: `upsync mapping test MAPPING RECORD.json` also accepts the record
//! exactly as the ERP API returns it — Acumatica's `{"value": …}` wrappers (`{}` for empty,
//! typed `custom` fields) and a NetSuite record-API itemFulfillment — decoding it with the
//! connector's own decoder, so an admin can paste what they see in the API.
//!
//! Guards: the old command took such a file as an already-decoded record, so every path of
//! the mapping missed (`ShipmentNbr` was an object, `shipaddress` absent) and it printed
//! mapping errors instead of the shipment. Here the API form and the connector's decoded
//! form of the same record must print the same shipment and UPS request.

use std::process::Command;

use serde_json::Value;
use upsync::sim::acumatica::{self as acusim, AcumaticaSimConfig};
use upsync::sim::netsuite::{self as nssim, NetSuiteSimConfig};
use upsync::sources::acumatica::{AcumaticaCredentials, AcumaticaProfile, AcumaticaSource};
use upsync::sources::netsuite::{
    AssertionSigner, AuthMode, NetSuiteCredentials, NetSuiteProfile, NetSuiteSource,
};
use upsync::sources::Source;

fn mapping_test(mapping: &str, record: &Value) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record.json");
    std::fs::write(&file, serde_json::to_string_pretty(record).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upsync"))
        .args(["mapping", "test", mapping, file.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_netsuite_record_api_itemfulfillment_maps_like_the_decoded_record() {
    let h = nssim::spawn(NetSuiteSimConfig {
        seed: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p = NetSuiteProfile::load(std::path::Path::new("connectors/netsuite.yaml")).unwrap();
    p.base_url = Some(h.base_url.clone());
    let creds = NetSuiteCredentials::M2m {
        client_id: nssim::DEMO_CLIENT_ID.into(),
        certificate_id: nssim::DEMO_CERTIFICATE_ID.into(),
        private_key_pem: nssim::DEMO_M2M_PRIVATE_KEY_PEM.into(),
    };
    assert_eq!(p.auth, AuthMode::M2m);
    let src = NetSuiteSource::new("ns", p, creds).unwrap();
    // A multi-package UPS record carrying the packageUps sublist, and an international one.
    let picks: Vec<u64> = {
        let store = h.sim.store.read().unwrap();
        let ups = |f: &&nssim::Fulfillment| f.shipmethod < 200;
        let a = store
            .by_id
            .values()
            .filter(ups)
            .find(|f| {
                f.packages.len() >= 2 && f.package_sublist == nssim::PackageSublist::PackageUps
            })
            .map(|f| f.id);
        let b = store
            .by_id
            .values()
            .filter(ups)
            .find(|f| f.shipaddress.country.as_deref() != Some("US"))
            .map(|f| f.id);
        [a, b].into_iter().flatten().collect()
    };
    assert_eq!(picks.len(), 2);
    let signer = AssertionSigner::new(
        nssim::DEMO_CLIENT_ID,
        nssim::DEMO_CERTIFICATE_ID,
        nssim::DEMO_M2M_PRIVATE_KEY_PEM,
        &h.sim.token_url(),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let tok: Value = http
        .post(h.sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &signer.assertion(chrono::Utc::now().timestamp()).unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = tok["access_token"].as_str().unwrap().to_string();
    for id in picks {
        let raw: Value = http
            .get(format!(
                "{}/services/rest/record/v1/itemFulfillment/{id}?expandSubResources=true",
                h.base_url
            ))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(raw.get("tranId").is_some(), "{raw}");
        let decoded = src.fetch(&id.to_string()).await.unwrap().unwrap().data;
        let mapping = "mappings/netsuite-itemfulfillment.yaml";
        let (code_raw, out_raw, err_raw) = mapping_test(mapping, &raw);
        let (code_dec, out_dec, err_dec) = mapping_test(mapping, &decoded);
        assert_eq!(code_dec, 0, "{out_dec}\n{err_dec}");
        assert_eq!(code_raw, 0, "record {id}:\n{out_raw}\n{err_raw}");
        assert!(err_raw.contains("NetSuite record-API"), "{err_raw}");
        assert_eq!(
            out_raw, out_dec,
            "record {id}: same shipment from both forms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acumatica_api_record_with_value_wrappers_maps_like_the_decoded_record() {
    let h = acusim::spawn(AcumaticaSimConfig {
        seed: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p = AcumaticaProfile::new(&h.base_url, "23.200.001", "Company");
    p.login_wait_max_seconds = 10;
    let src = AcumaticaSource::new(
        "acumatica",
        p,
        AcumaticaCredentials {
            username: "admin".into(),
            password: "demo".into(),
            client_id: None,
            client_secret: None,
        },
    )
    .unwrap();
    let mut checked = 0;
    for wire in h.state.shipments() {
        let via = wire["ShipVia"]["value"].as_str().unwrap_or("");
        if !via.starts_with("UPS") || checked >= 3 {
            continue;
        }
        let id = wire["id"].as_str().unwrap().to_string();
        let decoded = src.fetch(&id).await.unwrap().unwrap().data;
        let mapping = "mappings/acumatica-shipment.yaml";
        let (code_raw, out_raw, err_raw) = mapping_test(mapping, &wire);
        let (code_dec, out_dec, _) = mapping_test(mapping, &decoded);
        assert_eq!(code_raw, code_dec, "{id}:\n{out_raw}\n{err_raw}");
        assert!(err_raw.contains("Acumatica API record"), "{err_raw}");
        assert_eq!(out_raw, out_dec, "{id}: same result from both forms");
        checked += u32::from(code_raw == 0);
    }
    src.close().await;
    assert!(checked >= 1, "at least one UPS shipment mapped");
}
