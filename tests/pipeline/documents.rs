//! Issue 20, international documents, end to end with the real binary: the commercial
//! invoice UPS returns is kept on the job, written to the label folder, attached to the
//! Acumatica record and named in NetSuite's label field, and `upsync labels reprint`
//! writes it again; the demo's paperless set-up (a certificate of origin; Acumatica
//! `upload_before`, NetSuite `push_after`) uploads the document once per account, names it
//! in the Ship request or pushes it to the 1Z, and the shipment of the account UPS has not
//! enabled for paperless (456Y78) ships with the printed invoice and the reasons on its
//! job. Every Ship and Paperless request the UPS simulator recorded validates against the
//! official schemas.

use crate::pipeline_support::*;
use serde_json::Value;
use upsync::pipeline::JobState;
use upsync::sim::ups::schema::{validate, BodySchema};

fn recorded(dir: &std::path::Path, part: &str) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
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

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn invoices_are_kept_delivered_attached_reprinted_and_paperless_where_allowed(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 20, 20);
        o.store_url = store_url;
        o.paperless_documents = true;
        let rec = dir.path().join("rec");
        o.record_dir = Some(rec.clone());
        let w = start(o).await;
        let west = upsync::app::documents::demo_non_paperless_shipment(&w)
            .await
            .unwrap()
            .expect("an international Acumatica shipment to move to WEST");
        upsync_ok(&w, &["once"]).await;

        let all = jobs(&w);
        let intl: Vec<_> = all
            .iter()
            .filter(|j| {
                j.shipment
                    .as_ref()
                    .is_some_and(|s| s.international.is_some())
            })
            .collect();
        let sources: std::collections::BTreeSet<&str> =
            intl.iter().map(|j| j.source.as_str()).collect();
        assert_eq!(
            sources.len(),
            2,
            "international jobs in both ERPs:\n{}",
            describe(&all)
        );
        let labels: Vec<String> = std::fs::read_dir(&w.label_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut east_ids = std::collections::BTreeSet::new();
        for j in &intl {
            assert_eq!(j.state, JobState::Tracking, "{}", describe(&all));
            let r = j.result.as_ref().unwrap();
            assert_eq!(r.documents.len(), 1, "{}: the invoice is kept", j.number);
            let d = &r.documents[0];
            assert!(d.data.starts_with(b"%PDF"), "{}", j.number);
            assert_eq!(
                d.file_name,
                format!("{}-{}-invoice.pdf", j.number, r.shipment_id)
            );
            assert!(
                labels.contains(&d.file_name),
                "{} not in the label folder",
                d.file_name
            );
            let on_disk = std::fs::read(w.label_dir.join(&d.file_name)).unwrap();
            assert_eq!(on_disk, d.data);
            // On the ERP record.
            match j.source.as_str() {
                "acumatica" => {
                    let files = w.acumatica.as_ref().unwrap().state.files_of(&j.record_id);
                    assert!(
                        files
                            .iter()
                            .any(|(n, size)| n.contains(&d.file_name) && *size > 0),
                        "{}: invoice not attached: {files:?}",
                        j.number
                    );
                }
                _ => {
                    let id: u64 = j.record_id.parse().unwrap();
                    let f = w.netsuite.as_ref().unwrap().sim.fulfillment(id).unwrap();
                    let field = f
                        .custom
                        .get("custbody_ups_label_file")
                        .cloned()
                        .flatten()
                        .unwrap_or_default();
                    assert!(field.contains(&d.file_name), "{}: {field:?}", j.number);
                }
            }
            let p = r.paperless.as_ref().expect("paperless outcome on the job");
            let account = &j.shipment.as_ref().unwrap().account_number;
            if j.number == west {
                assert_eq!(account, "456Y78");
                assert!(!p.invoice_electronic && p.document_ids.is_empty(), "{p:?}");
                assert!(
                    p.fallbacks
                        .iter()
                        .any(|f| f.starts_with("paperless_not_enabled:")),
                    "{p:?}"
                );
                assert!(
                    p.fallbacks
                        .iter()
                        .any(|f| f.starts_with("paperless_invoice_refused:")),
                    "{p:?}"
                );
            } else if account == "123X56" {
                assert!(
                    p.invoice_electronic && p.fallbacks.is_empty(),
                    "{}: {p:?}",
                    j.number
                );
                assert_eq!(p.document_ids.len(), 1);
                east_ids.extend(p.document_ids.iter().cloned());
                if j.source == "netsuite" {
                    assert!(p.forms_group_id.is_some(), "push_after: {p:?}");
                }
            }
        }
        // One document, one account: uploaded once, the same id everywhere.
        assert_eq!(east_ids.len(), 1, "{east_ids:?}");
        assert_eq!(w.ups.state.paperless.uploaded(), 1);
        let ups_rec = rec.join("ups");
        let id = east_ids.iter().next().unwrap();
        let ships = recorded(&ups_rec, "/ship");
        assert!(
            ships.iter().any(|b| {
                b.pointer("/ShipmentRequest/Shipment/ShipmentServiceOptions/InternationalForms/UserCreatedForm/DocumentID/0")
                    == Some(&Value::String(id.clone()))
            }),
            "an upload_before Ship names the DocumentID"
        );
        let pushes = recorded(&ups_rec, "/paperlessdocuments/v2/image");
        assert!(!pushes.is_empty(), "push_after pushed");
        for p in &pushes {
            let sid = p["PushToImageRepositoryRequest"]["ShipmentIdentifier"]
                .as_str()
                .unwrap();
            assert!(
                intl.iter()
                    .any(|j| j.result.as_ref().unwrap().shipment_id == sid),
                "pushed to a shipment of ours: {sid}"
            );
        }
        // Every recorded Ship and Paperless request is valid per the official schemas.
        for (part, which) in [
            ("/ship", BodySchema::Ship),
            ("/paperlessdocuments/v2/upload", BodySchema::PaperlessUpload),
            ("/paperlessdocuments/v2/image", BodySchema::PaperlessPush),
        ] {
            for mut b in recorded(&ups_rec, part) {
                assert_eq!(
                    validate(which, &mut b, false).map(|_| ()),
                    Ok(()),
                    "{part}: {b}"
                );
            }
        }

        // `labels reprint` writes the invoice again.
        let j = intl[0];
        let name = j.result.as_ref().unwrap().documents[0].file_name.clone();
        std::fs::remove_file(w.label_dir.join(&name)).unwrap();
        let out = upsync_ok(&w, &["labels", "reprint", &j.id]).await;
        assert!(out.contains(&name), "{out}");
        assert!(w.label_dir.join(&name).exists());
    }
}
