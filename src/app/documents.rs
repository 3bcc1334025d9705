//! International documents in the demo world and its final table (issue 20): the
//! paperless section the loopback world adds to the bundled mappings, with the
//! user-created document it names, and the `documents` / `paperless_document_ids` columns
//! of a demo row. The work itself is in [`crate::app::adapters::paperless`] (uploads,
//! paperless invoice) and the label sink (invoice PDFs).

use std::path::Path;

use crate::model::ShipResult;

/// The user-created document of the demo world (a certificate of origin, document type
/// `003`), written under `<dir>/documents/`.
pub const DEMO_DOCUMENT: &str = "certificate-of-origin.pdf";

/// A one-page PDF: the demo's certificate of origin.
fn demo_pdf() -> Vec<u8> {
    let content = "BT /F1 14 Tf 72 720 Td (CERTIFICATE OF ORIGIN - demo) Tj ET";
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Insert `international.paperless:` into a mapping's text (right under `international:`).
fn with_paperless(mapping: &str, mode: &str, document: &Path) -> String {
    let file = serde_json::to_string(&document.display().to_string()).unwrap_or_default();
    let block = format!(
        "  # Added by the demo world (issue 20): UPS's paperless invoice where the account\n  # allows, and a certificate of origin uploaded once (by content hash) per account.\n  paperless:\n    invoice: electronic\n    mode: {mode}\n    documents:\n      - file: {{literal: {file}}}\n        type: \"003\"\n        format: pdf\n"
    );
    match mapping.find("\ninternational:\n") {
        Some(at) => {
            let cut = at + "\ninternational:\n".len();
            format!("{}{block}{}", &mapping[..cut], &mapping[cut..])
        }
        None => mapping.to_string(),
    }
}

/// Write the demo document and add the paperless section to the world's mappings:
/// Acumatica uploads before Ship (`upload_before`), NetSuite pushes after it
/// (`push_after`). Which account is paperless-enabled is the UPS simulator's to say
/// (`123X56` is, `456Y78` is not).
pub fn enable_in_world(dir: &Path) -> anyhow::Result<()> {
    let docs = dir.join("documents");
    std::fs::create_dir_all(&docs)?;
    let doc = std::path::absolute(docs.join(DEMO_DOCUMENT))?;
    std::fs::write(&doc, demo_pdf())?;
    for (file, mode) in [
        ("mappings/acumatica-shipment.yaml", "upload_before"),
        ("mappings/netsuite-itemfulfillment.yaml", "push_after"),
    ] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)?;
        std::fs::write(&path, with_paperless(&text, mode, &doc))?;
    }
    Ok(())
}

/// Move one international Acumatica shipment of the demo world to the `WEST` warehouse,
/// which ships as account `456Y78`: not paperless-enabled at the UPS simulator, so the demo
/// shows the printed fallback (upload refused, paperless invoice refused, reasons on the
/// job) beside the paperless shipments of `123X56`. Returns its ShipmentNbr.
pub async fn demo_non_paperless_shipment(
    w: &crate::app::world::World,
) -> anyhow::Result<Option<String>> {
    let Some(a) = &w.acumatica else {
        return Ok(None);
    };
    let http = reqwest::Client::new();
    let url = format!("{}/_sim/acumatica/shipments", a.base_url);
    let all: serde_json::Value = http.get(&url).send().await?.json().await?;
    let v = |r: &serde_json::Value, p: &str| {
        r.pointer(p)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let pick = all.as_array().into_iter().flatten().find(|r| {
        let country = v(r, "/ShippingSettings/ShipToAddress/Country/value");
        !["US", "PR", ""].contains(&country.as_str())
            && v(r, "/WarehouseID/value") == "MAIN"
            && v(r, "/ShipVia/value").starts_with("UPS")
    });
    let Some(r) = pick else { return Ok(None) };
    let nbr = v(r, "/ShipmentNbr/value");
    http.post(&url)
        .json(&serde_json::json!({"id": r["id"], "WarehouseID": {"value": "WEST"}}))
        .send()
        .await?
        .error_for_status()?;
    Ok(Some(nbr))
}

/// The demo row's `documents` (file names of the forms UPS returned: invoice PDFs) and
/// `paperless_document_ids` (Forms History ids the shipment references or was pushed).
pub fn row_columns(result: Option<&ShipResult>) -> (Vec<String>, Vec<String>) {
    let Some(r) = result else {
        return (Vec::new(), Vec::new());
    };
    (
        r.documents.iter().map(|d| d.file_name.clone()).collect(),
        r.paperless
            .as_ref()
            .map(|p| p.document_ids.clone())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_lands_under_international_and_compiles() {
        let text = with_paperless(
            crate::app::world::ACUMATICA_MAPPING,
            "upload_before",
            Path::new("/tmp/coo.pdf"),
        );
        assert!(text.contains("  paperless:\n    invoice: electronic"));
        crate::mapping::Mapping::from_str(&text, "acumatica-shipment.yaml")
            .expect("mapping with paperless compiles");
        let text = with_paperless(
            crate::app::world::NETSUITE_MAPPING,
            "push_after",
            Path::new("/tmp/coo.pdf"),
        );
        crate::mapping::Mapping::from_str(&text, "netsuite-itemfulfillment.yaml")
            .expect("mapping with paperless compiles");
    }

    #[test]
    fn demo_document_is_a_pdf() {
        let b = demo_pdf();
        assert!(b.starts_with(b"%PDF-1.4") && b.ends_with(b"%%EOF\n"));
    }
}
