//! Issue 20, international documents, at the UPS edge: the UPS carrier adapter (client +
//! paperless) against the UPS simulator's Paperless Document API and Ship.
//!
//! Guards: the commercial invoice PDF UPS returns is kept on the result; the same document
//! for two shipments is uploaded once (content hash) and its DocumentID is in the Ship
//! request; `push_after` pushes to the new 1Z; an account UPS has not enabled for paperless
//! ships with the printed invoice and the reasons on the result (strict and lenient
//! simulator); a lane that needs paper prints; the simulator's refusals (size, format,
//! count, unknown DocumentID, account not enabled) and the client's local limits; every
//! Paperless and Ship request recorded validates against the official schemas.
//!
//! The simulator runs in-process on 127.0.0.1:0; nothing here sleeps.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use upsync::app::adapters::UpsCarrier;
use upsync::model::*;
use upsync::pipeline::Carrier;
use upsync::sim::ups::schema::{validate, BodySchema};
use upsync::sim::ups::{spawn, SimHandle, UpsSimConfig};
use upsync::ups::*;

fn party(name: &str, line: &str, city: &str, st: &str, zip: &str, cc: &str) -> Party {
    Party {
        name: name.into(),
        attention: Some("Receiving".into()),
        phone: Some("4105551234".into()),
        email: None,
        tax_id: None,
        address: Address {
            lines: vec![line.into()],
            city: city.into(),
            state: st.into(),
            postal_code: zip.into(),
            country: cc.into(),
            residential: None,
            po_box: false,
        },
    }
}

/// An international shipment to Canada with an invoice (form 01) and the mapping's
/// paperless section naming `doc`.
fn shipment(number: &str, account: &str, doc: &Path, mode: PaperlessMode) -> Shipment {
    Shipment {
        source: "s".into(),
        record_id: format!("rec-{number}"),
        number: number.into(),
        account_number: account.into(),
        shipper: party(
            "T and T Designs",
            "2311 York Rd",
            "Timonium",
            "MD",
            "21093",
            "US",
        ),
        ship_from: None,
        ship_to: party(
            "Maple Goods",
            "100 King St W",
            "Toronto",
            "ON",
            "M5X1A9",
            "CA",
        ),
        service: ServiceSelection::Fixed { code: "11".into() },
        packages: vec![Package {
            erp_line_id: "l0".into(),
            weight: Weight {
                value: "5".parse().unwrap(),
                unit: WeightUnit::Lbs,
            },
            dimensions: None,
            packaging: "02".into(),
            description: Some("Widgets".into()),
            declared_value: None,
        }],
        references: vec![Reference {
            code: "IK".into(),
            value: number.into(),
            barcode: false,
        }],
        description: Some("Widgets".into()),
        label: LabelSpec {
            format: LabelFormat::Gif,
            stock_size: None,
        },
        notifications: vec![],
        international: Some(International {
            form_types: vec!["01".into()],
            max_lines: 50,
            split: false,
            invoice_number: Some(number.into()),
            invoice_date: None,
            currency: "USD".into(),
            reason_for_export: "SALE".into(),
            terms_of_shipment: Some("DAP".into()),
            products: vec![Product {
                description: "Widget A".into(),
                hs_code: Some("847130".into()),
                origin_country: "US".into(),
                quantity: "2".parse().unwrap(),
                unit_of_measure: "PCS".into(),
                unit_value: "49.5".parse().unwrap(),
                part_number: None,
            }],
            paperless: Some(Paperless {
                electronic_invoice: true,
                mode,
                documents: vec![PaperlessDocument {
                    path: doc.display().to_string(),
                    doc_type: "003".into(),
                    format: "pdf".into(),
                }],
            }),
        }),
        ship_date: None,
        negotiated_rates: false,
        billing: Default::default(),
        tax_information: false,
        return_service: None,
    }
}

struct Setup {
    sim: SimHandle,
    client: UpsClient,
    carrier: UpsCarrier,
    rec: PathBuf,
    doc: PathBuf,
    _dir: tempfile::TempDir,
}

async fn setup(lenient: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    let sim = spawn(UpsSimConfig {
        tick_interval_ms: 0,
        lenient,
        record_dir: Some(rec.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = UpsClient::new(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap();
    let doc = dir.path().join("coo.pdf");
    std::fs::write(&doc, b"%PDF-1.4 certificate of origin\n%%EOF\n").unwrap();
    Setup {
        carrier: UpsCarrier::new(client.clone()),
        sim,
        client,
        rec,
        doc,
        _dir: dir,
    }
}

/// Recorded request bodies whose path contains `part`, oldest first.
fn recorded(rec: &Path, part: &str) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(rec)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
            v["path"]
                .as_str()?
                .contains(part)
                .then(|| v["body"].clone())
        })
        .collect()
}

/// Every Ship and Paperless request the simulator recorded validates (strictly) against
/// the official request schemas.
fn assert_recorded_requests_valid(rec: &Path) {
    let mut n = 0;
    for (part, which) in [
        ("/ship", BodySchema::Ship),
        ("/paperlessdocuments/v2/upload", BodySchema::PaperlessUpload),
        ("/paperlessdocuments/v2/image", BodySchema::PaperlessPush),
    ] {
        for mut body in recorded(rec, part) {
            n += 1;
            assert_eq!(
                validate(which, &mut body, false).map(|_| ()),
                Ok(()),
                "{part}: {body}"
            );
        }
    }
    assert!(n > 0, "nothing recorded under {}", rec.display());
}

fn stat(sim: &SimHandle, key: &str) -> u64 {
    sim.stats().get(key).copied().unwrap_or(0)
}

/// Guards: one upload per content hash (two shipments, one document → one upload), the
/// DocumentID in both Ship requests (form 07), the invoice PDF kept, the invoice paperless
/// on an enabled account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_per_document_and_its_id_in_every_ship() {
    let s = setup(false).await;
    let a = shipment("SO-1", "123X56", &s.doc, PaperlessMode::UploadBefore);
    let b = shipment("SO-2", "123X56", &s.doc, PaperlessMode::UploadBefore);
    let ra = s.carrier.ship(&a).await.unwrap();
    let rb = s.carrier.ship(&b).await.unwrap();
    assert_eq!(recorded(&s.rec, "/upload").len(), 1, "one upload");
    assert_eq!(s.sim.state.paperless.uploaded(), 1);
    let pa = ra.paperless.clone().unwrap();
    let pb = rb.paperless.clone().unwrap();
    assert_eq!(pa.document_ids.len(), 1);
    assert_eq!(pa.document_ids, pb.document_ids, "same document, same id");
    assert!(pa.invoice_electronic && pa.fallbacks.is_empty(), "{pa:?}");
    for body in recorded(&s.rec, "/ship") {
        let f =
            &body["ShipmentRequest"]["Shipment"]["ShipmentServiceOptions"]["InternationalForms"];
        assert_eq!(f["UserCreatedForm"]["DocumentID"], json!(pa.document_ids));
        assert!(f["FormType"].as_array().unwrap().contains(&json!("07")));
        assert!(f.get("AdditionalDocumentIndicator").is_some());
    }
    for r in [&ra, &rb] {
        assert_eq!(r.documents.len(), 1, "the invoice is kept");
        let d = &r.documents[0];
        assert_eq!(d.kind, "invoice");
        assert!(d.data.starts_with(b"%PDF"), "a PDF");
        assert!(d.file_name.ends_with("-invoice.pdf") && d.file_name.contains(&r.shipment_id));
    }
    assert_eq!(
        s.sim.state.paperless.documents_of(&ra.shipment_id),
        pa.document_ids
    );
    assert_recorded_requests_valid(&s.rec);
}

/// Guards: `push_after` ships first, then pushes the uploaded document to the new 1Z.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_after_pushes_the_documents_to_the_new_shipment() {
    let s = setup(false).await;
    let r = s
        .carrier
        .ship(&shipment(
            "SO-3",
            "123X56",
            &s.doc,
            PaperlessMode::PushAfter,
        ))
        .await
        .unwrap();
    let p = r.paperless.clone().unwrap();
    assert!(
        p.forms_group_id.is_some() && p.fallbacks.is_empty(),
        "{p:?}"
    );
    let pushes = recorded(&s.rec, "/image");
    assert_eq!(pushes.len(), 1);
    let push = &pushes[0]["PushToImageRepositoryRequest"];
    assert_eq!(push["ShipmentIdentifier"], json!(r.shipment_id));
    assert_eq!(
        push["TrackingNumber"],
        json!([r.packages[0].tracking_number])
    );
    assert_eq!(
        push["FormsHistoryDocumentID"]["DocumentID"],
        json!(p.document_ids)
    );
    // The Ship itself named no user-created form.
    let ship = &recorded(&s.rec, "/ship")[0];
    assert!(ship
        .pointer(
            "/ShipmentRequest/Shipment/ShipmentServiceOptions/InternationalForms/UserCreatedForm"
        )
        .is_none());
    assert_eq!(
        s.sim.state.paperless.documents_of(&r.shipment_id),
        p.document_ids
    );
    assert_recorded_requests_valid(&s.rec);
}

/// Guards: an account UPS has not enabled for paperless (456Y78) ships once, with the
/// printed invoice kept and the reasons on the result — whether UPS refuses the indicator
/// (strict simulator: 400, shipped again without it) or warns (lenient: Alert).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_paperless_account_falls_back_to_print_with_the_reason() {
    for lenient in [false, true] {
        let s = setup(lenient).await;
        let sh = shipment("SO-4", "456Y78", &s.doc, PaperlessMode::UploadBefore);
        let r = s.carrier.ship(&sh).await.unwrap();
        let p = r.paperless.clone().unwrap();
        assert!(!p.invoice_electronic, "lenient={lenient}: {p:?}");
        assert!(p.document_ids.is_empty());
        assert!(
            p.fallbacks
                .iter()
                .any(|f| f.starts_with("paperless_not_enabled:")),
            "lenient={lenient}: {p:?}"
        );
        let invoice_reason = if lenient {
            "paperless_invoice_printed:"
        } else {
            "paperless_invoice_refused:"
        };
        assert!(
            p.fallbacks.iter().any(|f| f.starts_with(invoice_reason)),
            "lenient={lenient}: {p:?}"
        );
        assert_eq!(r.documents.len(), 1, "the printed invoice is kept");
        assert!(r.documents[0].data.starts_with(b"%PDF"));
        assert_eq!(s.sim.shipments_with_reference("SO-4"), 1, "shipped once");
        if !lenient {
            // The refused Ship, then one without the indicator.
            let ships = recorded(&s.rec, "/ship");
            assert_eq!(ships.len(), 2);
            let forms = "/ShipmentRequest/Shipment/ShipmentServiceOptions/InternationalForms/AdditionalDocumentIndicator";
            assert!(ships[0].pointer(forms).is_some() && ships[1].pointer(forms).is_none());
            assert_eq!(stat(&s.sim, "ship.400"), 1);
        }
        if !lenient {
            assert_recorded_requests_valid(&s.rec);
        }
    }
}

/// Guards: a paperless account on a lane whose customs want paper (the simulator's
/// paper-only destinations) gets the printed invoice, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_that_needs_paper_prints_the_invoice() {
    let s = setup(false).await;
    let mut sh = shipment("SO-5", "123X56", &s.doc, PaperlessMode::UploadBefore);
    sh.ship_to = party(
        "Loja Verde",
        "Rua Augusta 100",
        "Sao Paulo",
        "SP",
        "01305000",
        "BR",
    );
    sh.service = ServiceSelection::Fixed { code: "07".into() };
    let r = s.carrier.ship(&sh).await.unwrap();
    let p = r.paperless.unwrap();
    assert!(!p.invoice_electronic);
    assert!(p.fallbacks.iter().any(|f| f.contains("9121001")), "{p:?}");
    assert_eq!(p.document_ids.len(), 1, "documents still go electronically");
    assert!(r.documents[0].data.starts_with(b"%PDF"));
}

/// Guards: the client's limits hold before any call (size, count, format, type).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_checked_before_the_call() {
    let s = setup(false).await;
    let doc = |n: usize, format: &str, t: &str| upsync::ups::ops::paperless::UploadDocument {
        file_name: "a.pdf".into(),
        format: format.into(),
        doc_type: t.into(),
        data: vec![b'x'; n],
    };
    for docs in [
        vec![doc(10 * 1024 * 1024 + 1, "pdf", "003")],
        vec![doc(10, "exe", "003")],
        vec![doc(10, "pdf", "014")],
        vec![doc(10, "pdf", "003"); 14],
    ] {
        let e = s
            .client
            .paperless_upload("123X56", &docs)
            .await
            .unwrap_err();
        assert!(matches!(e, UpsError::Invalid { .. }), "{e}");
    }
    assert_eq!(stat(&s.sim, "paperless"), 0, "no call was made");
    // A missing file is refused before any call, naming the record and the fix.
    let sh = shipment(
        "SO-6",
        "123X56",
        Path::new("/nonexistent/coo.pdf"),
        PaperlessMode::UploadBefore,
    );
    let e = s.carrier.ship(&sh).await.unwrap_err();
    assert_eq!(e.code, "paperless_document_invalid");
    assert!(
        e.message.contains("SO-6") && e.message.contains("/nonexistent/coo.pdf"),
        "{}",
        e.message
    );
    assert_eq!(stat(&s.sim, "ship"), 0);
}

/// Guards: the simulator refuses what UPS refuses, in UPS's error envelope: a file over
/// 10 MB, a format or type not allowed, more than 13 documents, an account not enabled,
/// an unknown DocumentID on push, a push to another shipper's shipment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_refusals() {
    use base64::Engine;
    let s = setup(false).await;
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![b'x'; n]);
    let upload = |shipper: &str, forms: Vec<Value>| json!({"UploadRequest": {"Request": {}, "ShipperNumber": shipper, "UserCreatedForm": forms}});
    let form = |file: String, format: &str, t: &str| {
        json!({"UserCreatedFormFileName": "a.pdf", "UserCreatedFormFileFormat": format,
               "UserCreatedFormDocumentType": t, "UserCreatedFormFile": file})
    };
    let call = |body: Value, path: &'static str| {
        let c = s.client.clone();
        async move {
            c.call_raw(Api::Paperless, reqwest::Method::POST, path, Some(body))
                .await
        }
    };
    let up = "api/paperlessdocuments/v2/upload";
    let cases = [
        (
            upload(
                "123X56",
                vec![form(b64(10 * 1024 * 1024 + 1), "pdf", "003")],
            ),
            "9590006",
        ),
        (
            upload("123X56", vec![form(b64(10), "exe", "003")]),
            "9590004",
        ),
        (
            upload("123X56", vec![form(b64(10), "pdf", "099")]),
            "9590005",
        ),
        (
            upload("123X56", vec![form(b64(10), "pdf", "003"); 14]),
            "9590003",
        ),
        (
            upload("456Y78", vec![form(b64(10), "pdf", "003")]),
            "9590002",
        ),
    ];
    for (body, code) in cases {
        let e = call(body, up).await.unwrap_err();
        assert_eq!(e.ups_code(), Some(code), "{e}");
    }
    // A good upload, then pushes: unknown id, then a shipment that does not exist.
    let ok = call(upload("123X56", vec![form(b64(10), "pdf", "003")]), up)
        .await
        .unwrap();
    let id = ok["UploadResponse"]["FormsHistoryDocumentID"]["DocumentID"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 26, "Paperless.yaml: 26 characters");
    let push = |doc: &str, shipment: &str| {
        json!({"PushToImageRepositoryRequest": {"Request": {}, "ShipperNumber": "123X56",
            "FormsHistoryDocumentID": {"DocumentID": [doc]}, "ShipmentIdentifier": shipment,
            "ShipmentDateAndTime": "2026-11-21-10.00.00", "ShipmentType": "1",
            "TrackingNumber": [shipment]}})
    };
    let img = "api/paperlessdocuments/v2/image";
    let e = call(
        push("12345678901234567890123456", "1Z123X560300000018"),
        img,
    )
    .await
    .unwrap_err();
    assert_eq!(e.ups_code(), Some("9590007"), "{e}");
    let e = call(push(&id, "1Z123X560300000018"), img)
        .await
        .unwrap_err();
    assert_eq!(e.ups_code(), Some("9590008"), "{e}");
    // Schema first: a body without ShipperNumber is a schema violation (10002).
    let e = call(
        json!({"UploadRequest": {"Request": {}, "UserCreatedForm": []}}),
        up,
    )
    .await
    .unwrap_err();
    assert_eq!(e.ups_code(), Some("10002"), "{e}");
}
