//! Label Recovery (`POST /api/labels/{version}/recovery`) by tracking number or by
//! reference, in the label format asked or a PDF page (UPS-REFERENCE.md §4).

use super::*;

/// `POST /api/labels/{version}/recovery` by `TrackingNumber` or `ReferenceValues`.
pub async fn label_recovery(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    let Some(vn) = version_number(&version) else {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10002",
            "Unsupported Label Recovery version; use v1903",
        );
    };
    let arrays = vn >= 1903;
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tolerances = match check_schema(&st, schema::BodySchema::LabelRecovery, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let req = &body["LabelRecoveryRequest"];
    let tn = req
        .get("TrackingNumber")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    let refv = first(req.get("ReferenceValues"));
    let requested_format = req
        .pointer("/LabelSpecification/LabelImageFormat/Code")
        .and_then(Value::as_str);
    let shipments = st.read_shipments();
    let not_found = || {
        ups_error(
            StatusCode::BAD_REQUEST,
            "190202",
            "No label was found for the tracking number or reference in the request",
        )
    };
    let (sh, candidates): (&Shipment, Vec<&Shipment>) = if let Some(tn) = tn {
        match shipments.by_tracking(&tn) {
            Some((sh, _)) if caller.accounts.contains(&sh.shipper_number) => (sh, vec![]),
            _ => return not_found(),
        }
    } else if let Some(rv) = refv {
        let value = rv
            .pointer("/ReferenceNumber/Value")
            .or_else(|| first(rv.get("ReferenceNumber")).and_then(|r| r.get("Value")))
            .and_then(Value::as_str)
            .unwrap_or("");
        let shipper = s(rv, "/ShipperNumber").to_ascii_uppercase();
        if !caller.accounts.contains(&shipper) {
            return ups_error(
                StatusCode::BAD_REQUEST,
                "120100",
                "Invalid shipper number: LabelRecoveryRequest.ReferenceValues.ShipperNumber is not an account of the authenticated client",
            );
        }
        // The reference index lags a fresh label, as Track by reference does (see
        // `Shipments::by_reference_indexed`); by tracking number it is found at once.
        let found: Vec<&Shipment> = shipments
            .by_reference_indexed(value, st.now(), st.reference_index_delay())
            .into_iter()
            .filter(|s| s.shipper_number == shipper && !s.voided())
            .collect();
        match found.first() {
            Some(first) => (*first, found.clone()),
            None => return not_found(),
        }
    } else {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10002",
            "The request is not valid: send LabelRecoveryRequest.TrackingNumber or LabelRecoveryRequest.ReferenceValues",
        );
    };
    if sh.voided() {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "190202",
            "The shipment was voided; no label is available",
        );
    }
    // Shipping.yaml `LabelRecovery_LabelSpecification_LabelImageFormat.Code`: "Valid values
    // are: GIF, PDF, ZPL, EPL, SPL … Roadie shipments only support GIF, PNG, and ZPL": PNG
    // (which Ship does return) is not a Label Recovery format for 1Z shipments. Absent →
    // "Default is GIF". The error code is modelled (the spec lists none for this case).
    let format = match requested_format.map(str::to_ascii_uppercase).as_deref() {
        None | Some("GIF") => RecoveryFormat::Label(LabelFormat::Gif),
        Some("PDF") => RecoveryFormat::Pdf,
        Some(c @ ("ZPL" | "EPL" | "SPL")) => {
            RecoveryFormat::Label(LabelFormat::parse(c).expect("thermal format"))
        }
        Some(other) => {
            return ups_error(
                StatusCode::BAD_REQUEST,
                "190203",
                &format!("Invalid LabelImageFormat Code '{other}' in LabelRecoveryRequest.LabelSpecification: valid values are GIF, PDF, ZPL, EPL, SPL"),
            )
        }
    };
    let labels: Vec<Value> = sh
        .packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.voided_at.is_none())
        .map(|(i, p)| {
            let image = match format {
                RecoveryFormat::Label(f) => {
                    let bytes = label::render(f, &sh.label_info(i));
                    label_json(f, &bytes, &p.tracking_number, "LabelImageFormat")
                }
                RecoveryFormat::Pdf => json!({
                    "LabelImageFormat": {"Code": "PDF", "Description": "PDF"},
                    "GraphicImage": b64(&label::pdf(&sh.label_info(i))),
                }),
            };
            json!({
                "TrackingNumber": p.tracking_number,
                "LabelImage": image,
            })
        })
        .collect();
    let mut resp = json!({
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
        "ShipmentIdentificationNumber": sh.id,
        "LabelResults": one_or_many(labels, arrays),
    });
    let alerts = tolerance_alerts(&tolerances);
    if !alerts.is_empty() {
        resp["Response"]["Alert"] = one_or_many(alerts, arrays);
    }
    if candidates.len() > 1 {
        resp["TrackingCandidate"] = Value::Array(
            candidates
                .iter()
                .map(|c| {
                    let d = c.created_at.format("%Y%m%d").to_string();
                    json!({
                        "TrackingNumber": c.id,
                        "DestinationPostalCode": c.destination.postal,
                        "DestinationCountryCode": c.destination.country,
                        "PickupDateRange": {"BeginDate": d, "EndDate": d},
                    })
                })
                .collect(),
        );
    }
    (StatusCode::OK, Json(json!({"LabelRecoveryResponse": resp}))).into_response()
}
