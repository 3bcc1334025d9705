//! Ship (UPS-REFERENCE §2): the request body, the local checks that refuse a Ship UPS
//! would reject (so no 1Z is spent), and the response → [`ShipResult`].

use super::*;

// ---------------------------------------------------------------- request

/// Maximum package-level references UPS accepts per package (first 2 are printed).
pub const MAX_PACKAGE_REFERENCES: usize = 5;
/// Shipment-level references sent (UPS prints two; more are not documented as accepted).
pub const MAX_SHIPMENT_REFERENCES: usize = 2;
/// Default `HTTPUserAgent` for GIF/PNG labels (the spec's default).
pub const DEFAULT_HTTP_USER_AGENT: &str = "Mozilla/4.5";

/// Request-level choices for a Ship that are not part of the canonical shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipOptions {
    /// The service to ship with. Required when the shipment's selection is
    /// [`ServiceSelection::CheapestWithin`] (the caller resolves it with Shop first);
    /// overrides a fixed code when set.
    pub service_code: Option<String>,
    /// `Request.RequestOption`: `nonvalidate` (default) or `validate`.
    pub request_option: String,
    /// `Request.SubVersion` (YYMM) when a specific one is wanted.
    pub sub_version: Option<String>,
    /// `TransactionReference.CustomerContext` (≤512, echoed). Defaults to the ERP number.
    pub customer_context: Option<String>,
    /// `LabelStockSize` `(height, width)` used when the shipment's label spec has none.
    pub default_stock_size: (u8, u8),
    /// `HTTPUserAgent` for GIF/PNG labels.
    pub http_user_agent: String,
    /// Forms History DocumentIDs of uploaded user-created forms to reference (form type
    /// `07`, `InternationalForms.UserCreatedForm.DocumentID`).
    pub document_ids: Vec<String>,
    /// Send the paperless invoice indicator when the mapping asks for the paperless
    /// invoice (off for the printed fallback after UPS refused it).
    pub paperless_invoice: bool,
}

impl Default for ShipOptions {
    fn default() -> Self {
        ShipOptions {
            service_code: None,
            request_option: "nonvalidate".into(),
            sub_version: None,
            customer_context: None,
            default_stock_size: (6, 4),
            http_user_agent: DEFAULT_HTTP_USER_AGENT.into(),
            document_ids: Vec::new(),
            paperless_invoice: true,
        }
    }
}

/// The service code a Ship will use: explicit option, else the fixed code, else the
/// `CheapestWithin` fallback. `None` means the caller must resolve it (Shop) first.
pub fn resolve_service(shipment: &Shipment, opts: &ShipOptions) -> Option<String> {
    if let Some(c) = &opts.service_code {
        return Some(c.clone());
    }
    match &shipment.service {
        ServiceSelection::Fixed { code } => Some(code.clone()),
        ServiceSelection::CheapestWithin { fallback, .. } => fallback.clone(),
    }
}

/// US→PR and US→CA forward shipments carry `InvoiceLineTotal` (UPS-REFERENCE §2.1).
pub fn needs_invoice_line_total(sh: &Shipment) -> bool {
    let o = origin_country(sh);
    let d = sh.ship_to.address.country.to_ascii_uppercase();
    o == "US" && (d == "PR" || d == "CA")
}

/// Total declared goods value: customs lines when present, else package declared values.
pub fn goods_value(sh: &Shipment) -> Option<(Decimal, String)> {
    if let Some(intl) = &sh.international {
        if !intl.products.is_empty() {
            let total: Decimal = intl
                .products
                .iter()
                .map(|p| p.quantity * p.unit_value)
                .sum();
            return Some((total, intl.currency.clone()));
        }
    }
    let mut total = Decimal::ZERO;
    let mut currency = None;
    for p in &sh.packages {
        if let Some(v) = &p.declared_value {
            total += v.amount;
            currency.get_or_insert_with(|| v.currency.clone());
        }
    }
    currency.map(|c| (total, c))
}

pub(super) fn invoice_line_total(sh: &Shipment) -> Option<Value> {
    if !needs_invoice_line_total(sh) {
        return None;
    }
    // Spec: "Valid values are from 1 to 99999999": whole units, rounded up so the value is
    // never understated.
    goods_value(sh).map(
        |(total, cur)| json!({ "CurrencyCode": cur, "MonetaryValue": decimal_str(total.ceil().max(Decimal::ONE)) }),
    )
}

/// Split a product description into 1–3 parts of ≤35 characters (UPS `Description[]`),
/// at word boundaries where possible.
pub(super) fn description_chunks(d: &str) -> Vec<Value> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in d.split_whitespace() {
        let mut w: Vec<char> = word.chars().collect();
        // Hard-split words longer than a whole part.
        while w.len() > 35 {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            parts.push(w.drain(..35).collect());
        }
        let w: String = w.into_iter().collect();
        let needed = if cur.is_empty() {
            w.chars().count()
        } else {
            cur.chars().count() + 1 + w.chars().count()
        };
        if needed > 35 {
            parts.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&w);
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push(cur);
    }
    parts.into_iter().take(3).map(s).collect()
}

pub(super) fn international_forms(sh: &Shipment) -> Option<Value> {
    let intl = sh.international.as_ref()?;
    if intl.form_types.is_empty() {
        return None;
    }
    let mut m = Map::new();
    m.insert(
        "FormType".into(),
        Value::Array(intl.form_types.iter().map(|f| s(f.clone())).collect()),
    );
    if intl.form_types.iter().any(|f| f == "01" || f == "04") {
        // Invoice and USMCA need SoldTo; AttentionName is required there.
        let mut sold_to = party(&sh.ship_to, false);
        if !sold_to.contains_key("AttentionName") {
            sold_to.insert("AttentionName".into(), s(sh.ship_to.name.clone()));
        }
        sold_to.remove("EMailAddress");
        m.insert(
            "Contacts".into(),
            json!({ "SoldTo": Value::Object(sold_to) }),
        );
    }
    let products: Vec<Value> = intl
        .products
        .iter()
        .map(|p| {
            let mut pm = Map::new();
            pm.insert(
                "Description".into(),
                Value::Array(description_chunks(&p.description)),
            );
            pm.insert(
                "Unit".into(),
                json!({
                    "Number": decimal_str(p.quantity),
                    "UnitOfMeasurement": { "Code": p.unit_of_measure },
                    "Value": decimal_str(p.unit_value.round_dp(6)),
                }),
            );
            put_opt(&mut pm, "CommodityCode", p.hs_code.as_ref());
            put_opt(&mut pm, "PartNumber", p.part_number.as_ref());
            pm.insert(
                "OriginCountryCode".into(),
                s(p.origin_country.to_ascii_uppercase()),
            );
            Value::Object(pm)
        })
        .collect();
    m.insert("Product".into(), Value::Array(products));
    put_opt(&mut m, "InvoiceNumber", intl.invoice_number.as_ref());
    if let Some(d) = intl.invoice_date {
        m.insert("InvoiceDate".into(), s(ups_date(d)));
    }
    put_opt(&mut m, "TermsOfShipment", intl.terms_of_shipment.as_ref());
    m.insert("ReasonForExport".into(), s(intl.reason_for_export.clone()));
    m.insert("CurrencyCode".into(), s(intl.currency.clone()));
    Some(Value::Object(m))
}

pub(super) fn package_refs(sh: &Shipment) -> Vec<Value> {
    sh.references
        .iter()
        .take(MAX_PACKAGE_REFERENCES)
        .map(reference)
        .collect()
}

pub(super) fn shipment_refs(sh: &Shipment) -> Vec<Value> {
    sh.references
        .iter()
        .take(MAX_SHIPMENT_REFERENCES)
        .map(reference)
        .collect()
}

/// The Ship request body `{"ShipmentRequest": {Request, Shipment, LabelSpecification}}`.
///
/// When the service cannot be resolved (see [`resolve_service`]) `Service.Code` is `""`;
/// [`check_shipment`] reports it and the client refuses to send such a request. The body is
/// built by [`super::ship_body::ShipRequest`] (which the client encodes directly).
pub fn ship_request(sh: &Shipment, opts: &ShipOptions) -> Value {
    serde_json::to_value(super::ship_body::ShipRequest::new(sh, opts)).unwrap_or_default()
}

/// `Shipment.ShipmentServiceOptions` entries: notifications, international forms (with the
/// paperless parts), the electronic return label's e-mail.
pub(super) fn service_options(sso: &mut Map<String, Value>, sh: &Shipment, opts: &ShipOptions) {
    if !sh.notifications.is_empty() {
        let notes: Vec<Value> = sh
            .notifications
            .iter()
            .map(|n| json!({ "NotificationCode": n.code, "EMail": { "EMailAddress": [n.email] } }))
            .collect();
        sso.insert("Notification".into(), Value::Array(notes));
    }
    if let Some(mut forms) = international_forms(sh) {
        if let Value::Object(m) = &mut forms {
            super::paperless::paperless_forms(m, sh, &opts.document_ids, opts.paperless_invoice);
        }
        sso.insert("InternationalForms".into(), forms);
    }
    // Electronic return label: UPS e-mails it (`ShipmentServiceOptions_LabelDelivery`,
    // required with return service 8).
    if let Some(email) = sh
        .return_service
        .as_ref()
        .filter(|r| r.code == "8")
        .and_then(|r| r.label_email.as_ref())
    {
        sso.insert(
            "LabelDelivery".into(),
            json!({ "EMail": { "EMailAddress": email } }),
        );
    }
}

/// A problem that would make UPS reject a Ship before it is sent (so no 1Z is spent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildProblem {
    /// UPS JSON path, e.g. `Shipment.Package[0].PackageWeight.Weight`.
    pub field: String,
    pub message: String,
}

/// Rules a Ship must meet that are cheap to check locally: service resolved, 1–200
/// packages with positive weight, reference codes the right length for their level,
/// 35-character limits on names, references and address lines.
pub fn check_shipment(sh: &Shipment, opts: &ShipOptions) -> Vec<BuildProblem> {
    let mut out = Vec::new();
    let mut p = |field: String, message: String| out.push(BuildProblem { field, message });
    if resolve_service(sh, opts).is_none_or_empty() {
        p(
            "Shipment.Service.Code".into(),
            "no service code: resolve the cheapest service with Shop first and pass it in ShipOptions.service_code".into(),
        );
    }
    if sh.packages.is_empty() || sh.packages.len() > 200 {
        p(
            "Shipment.Package".into(),
            format!("{} packages; UPS accepts 1 to 200", sh.packages.len()),
        );
    }
    for (i, pk) in sh.packages.iter().enumerate() {
        if pk.weight.value <= Decimal::ZERO {
            p(
                format!("Shipment.Package[{i}].PackageWeight.Weight"),
                "package weight must be greater than zero".into(),
            );
        }
    }
    for (who, party) in [("Shipper", &sh.shipper), ("ShipTo", &sh.ship_to)] {
        if party.name.trim().is_empty() || party.name.chars().count() > 35 {
            p(
                format!("Shipment.{who}.Name"),
                "name must be 1 to 35 characters".into(),
            );
        }
        for (i, l) in party.address.lines.iter().enumerate() {
            if l.chars().count() > 35 {
                p(
                    format!("Shipment.{who}.Address.AddressLine[{i}]"),
                    "address line longer than 35 characters".into(),
                );
            }
        }
        if party.address.lines.iter().all(|l| l.trim().is_empty()) {
            p(
                format!("Shipment.{who}.Address.AddressLine"),
                "at least one address line is required".into(),
            );
        }
    }
    let level = sh.reference_level();
    for (i, r) in sh.references.iter().enumerate() {
        let code_len = r.code.trim().chars().count();
        let (path, ok) = match level {
            ReferenceLevel::Package => (
                format!("Shipment.Package[0].ReferenceNumber[{i}]"),
                (1..=2).contains(&code_len),
            ),
            ReferenceLevel::Shipment => (format!("Shipment.ReferenceNumber[{i}]"), code_len == 2),
        };
        if !ok {
            p(
                format!("{path}.Code"),
                format!("reference code {:?} has the wrong length for a {level:?}-level reference (shipment level: exactly 2)", r.code),
            );
        }
        if r.value.is_empty() || r.value.chars().count() > 35 {
            p(
                format!("{path}.Value"),
                "reference value must be 1 to 35 characters".into(),
            );
        }
    }
    out
}

// ---------------------------------------------------------------- response

// The answer's structs borrow the label and form images from the input (the answer's bytes,
// or a `Value`), so a label is base64-decoded straight from them, never copied first.

#[derive(Debug, Deserialize)]
pub(super) struct ShipEnvelope<'a> {
    #[serde(rename = "ShipmentResponse", borrow)]
    response: ShipmentResponse<'a>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentResponse<'a> {
    #[serde(rename = "Response")]
    response: Option<ResponseBlock>,
    #[serde(rename = "ShipmentResults", borrow)]
    results: ShipmentResults<'a>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentResults<'a> {
    #[serde(
        rename = "ShipmentIdentificationNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    shipment_id: String,
    #[serde(rename = "ShipmentCharges")]
    charges: Option<ShipmentCharges>,
    #[serde(rename = "NegotiatedRateCharges")]
    negotiated: Option<NegotiatedRateCharges>,
    #[serde(
        rename = "PackageResults",
        borrow,
        default,
        deserialize_with = "one_or_many"
    )]
    packages: Vec<ShipPackageResult<'a>>,
    /// International forms (UPS-REFERENCE §2.2: base64 PDF, `Code "01"`, `FormGroupId`).
    /// Declared once per shipment (`maximum: 1`); read one-or-many all the same.
    #[serde(rename = "Form", borrow, default, deserialize_with = "one_or_many")]
    forms: Vec<ShipForm<'a>>,
}

/// `ShipmentResults.Form` (Shipping.yaml `ShipmentResults_Form`).
#[derive(Debug, Deserialize)]
pub(super) struct ShipForm<'a> {
    #[serde(rename = "Code", default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(rename = "Image", borrow)]
    image: Option<ShipImage<'a>>,
    #[serde(rename = "FormGroupId", default, deserialize_with = "lenient_string")]
    group_id: String,
}

#[derive(Debug, Deserialize)]
/// An image of a Ship answer: `ShipmentResults.Form.Image` and
/// `PackageResults.ShippingLabel` carry the same two fields (Shipping.yaml).
pub(super) struct ShipImage<'a> {
    #[serde(rename = "ImageFormat")]
    format: Option<Code>,
    #[serde(
        rename = "GraphicImage",
        borrow,
        default,
        deserialize_with = "lenient_cow"
    )]
    graphic_image: Cow<'a, str>,
}

/// The forms of a Ship answer as documents named `<number>-<1Z>-<kind>.<ext>` (a form
/// without an image — a paperless account without `OverridePaperlessIndicator` — is skipped).
pub(super) fn documents_from(
    forms: &[ShipForm<'_>],
    number: &str,
    shipment_id: &str,
) -> Result<Vec<crate::model::ShipDocument>, ParseError> {
    let mut out = Vec::new();
    for f in forms {
        let Some(img) = &f.image else { continue };
        if img.graphic_image.trim().is_empty() {
            continue;
        }
        let format = img
            .format
            .as_ref()
            .map(|c| c.code.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "pdf".into());
        let kind = crate::model::documents::form_kind(&f.code);
        out.push(crate::model::ShipDocument {
            file_name: crate::model::documents::document_file_name(
                number,
                shipment_id,
                &kind,
                &format,
            ),
            kind,
            format,
            data: decode_b64(&img.graphic_image)?,
            form_group_id: Some(f.group_id.clone()).filter(|g| !g.is_empty()),
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentCharges {
    #[serde(rename = "TotalCharges")]
    total: Option<Charge>,
    /// Only with `TaxInformationIndicator`, when negotiated rates do not apply (Shipping.yaml).
    #[serde(rename = "TotalChargesWithTaxes")]
    with_taxes: Option<Charge>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipPackageResult<'a> {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
    #[serde(rename = "ShippingLabel", borrow)]
    label: Option<ShipImage<'a>>,
}

pub(super) fn label_from(
    format: Option<&Code>,
    image: &str,
    requested: LabelFormat,
) -> Result<Option<Label>, ParseError> {
    if image.trim().is_empty() {
        return Ok(None);
    }
    let format = format
        .and_then(|c| LabelFormat::parse(&c.code))
        .unwrap_or(requested);
    Ok(Some(Label {
        format,
        data: decode_b64(image)?,
    }))
}

/// Parse a Ship 200 into a [`ShipResult`]. `PackageResults` are matched to
/// `shipment.packages[i].erp_line_id` by order (UPS answers in request order); a count
/// mismatch is an error (the caller must treat the Ship as created-but-unreadable).
pub fn ship_response(
    v: &Value,
    shipment: &Shipment,
    service_code: &str,
) -> Result<ShipResult, ParseError> {
    let env = ShipEnvelope::deserialize(v).map_err(|e| perr(format!("ShipmentResponse: {e}")))?;
    ship_result(env, shipment, service_code)
}

/// [`ship_response`] read straight from the answer's bytes (what the client does): no
/// `Value` tree, fields upsync does not use are skipped, labels decoded from the bytes.
pub fn ship_response_bytes(
    body: &[u8],
    shipment: &Shipment,
    service_code: &str,
) -> Result<ShipResult, ParseError> {
    let env: ShipEnvelope = from_bytes(body, "ShipmentResponse")?;
    ship_result(env, shipment, service_code)
}

fn ship_result(
    env: ShipEnvelope<'_>,
    shipment: &Shipment,
    service_code: &str,
) -> Result<ShipResult, ParseError> {
    let r = env.response.results;
    if r.packages.len() != shipment.packages.len() {
        return Err(perr(format!(
            "UPS returned {} package results for {} packages",
            r.packages.len(),
            shipment.packages.len()
        )));
    }
    let mut packages = Vec::with_capacity(r.packages.len());
    for (p, sent) in r.packages.iter().zip(&shipment.packages) {
        if p.tracking_number.is_empty() {
            return Err(perr("a package result has no TrackingNumber"));
        }
        let label = match &p.label {
            Some(l) => label_from(l.format.as_ref(), &l.graphic_image, shipment.label.format)?,
            None => None,
        };
        packages.push(PackageResult {
            tracking_number: p.tracking_number.clone(),
            erp_line_id: sent.erp_line_id.clone(),
            label,
        });
    }
    let shipment_id = if r.shipment_id.is_empty() {
        packages[0].tracking_number.clone()
    } else {
        r.shipment_id
    };
    let documents = documents_from(&r.forms, &shipment.number, &shipment_id)?;
    Ok(ShipResult {
        shipment_id,
        service_code: service_code.to_string(),
        packages,
        charges: Charges {
            total: r
                .charges
                .as_ref()
                .and_then(|c| c.total.as_ref())
                .and_then(Charge::money),
            total_with_taxes: r
                .charges
                .as_ref()
                .and_then(|c| c.with_taxes.as_ref())
                .and_then(Charge::money),
            negotiated: r.negotiated.as_ref().and_then(NegotiatedRateCharges::money),
            negotiated_with_taxes: r
                .negotiated
                .as_ref()
                .and_then(|n| n.with_taxes.as_ref())
                .and_then(Charge::money),
        },
        alerts: alerts(&env.response.response),
        documents,
        paperless: None,
    })
}
