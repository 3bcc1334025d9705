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
/// [`check_shipment`] reports it and the client refuses to send such a request.
pub fn ship_request(sh: &Shipment, opts: &ShipOptions) -> Value {
    let level = sh.reference_level();
    let mut shipment = Map::new();
    if let Some(d) = sh.description.as_ref().filter(|d| !d.trim().is_empty()) {
        shipment.insert("Description".into(), s(d.clone()));
    }
    let mut shipper = party(&sh.shipper, false);
    // ShipperNumber right after the name block, as UPS's examples order it.
    shipper.insert("ShipperNumber".into(), s(sh.account_number.clone()));
    shipment.insert("Shipper".into(), Value::Object(shipper));
    shipment.insert("ShipTo".into(), Value::Object(party(&sh.ship_to, true)));
    if let Some(from) = &sh.ship_from {
        shipment.insert("ShipFrom".into(), Value::Object(party(from, false)));
    }
    shipment.insert("PaymentInformation".into(), payment(sh));
    shipment.insert(
        "Service".into(),
        json!({ "Code": resolve_service(sh, opts).unwrap_or_default() }),
    );
    // A return (Shipping.yaml `Shipment_ReturnService`: "When this container exists, the
    // shipment is a return shipment"); the parties are already in return order.
    if let Some(rs) = &sh.return_service {
        let mut m = Map::new();
        m.insert("Code".into(), s(rs.code.clone()));
        if let Some((_, d)) = crate::model::RETURN_SERVICE_CODES
            .iter()
            .find(|(c, _)| *c == rs.code)
        {
            m.insert("Description".into(), s(d.to_string()));
        }
        shipment.insert("ReturnService".into(), Value::Object(m));
    }
    if let Some(options) = rating_options(sh) {
        shipment.insert("ShipmentRatingOptions".into(), options);
    }
    put_tax_indicator(&mut shipment, sh);
    if level == ReferenceLevel::Shipment && !sh.references.is_empty() {
        shipment.insert("ReferenceNumber".into(), Value::Array(shipment_refs(sh)));
    }
    if let Some(ilt) = invoice_line_total(sh) {
        shipment.insert("InvoiceLineTotal".into(), ilt);
    }
    if let Some(d) = sh.ship_date {
        shipment.insert("ShipmentDate".into(), s(ups_date(d)));
    }
    let mut sso = Map::new();
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
    if !sso.is_empty() {
        shipment.insert("ShipmentServiceOptions".into(), Value::Object(sso));
    }
    let pkg_refs = package_refs(sh);
    let packages: Vec<Value> = sh
        .packages
        .iter()
        .map(|p| {
            let mut m = Map::new();
            put_opt(&mut m, "Description", p.description.as_ref());
            m.insert("Packaging".into(), json!({ "Code": p.packaging }));
            if let Some(d) = dimensions(p) {
                m.insert("Dimensions".into(), d);
            }
            m.insert("PackageWeight".into(), package_weight(p));
            if level == ReferenceLevel::Package && !pkg_refs.is_empty() {
                m.insert("ReferenceNumber".into(), Value::Array(pkg_refs.clone()));
            }
            if let Some(v) = &p.declared_value {
                m.insert(
                    "PackageServiceOptions".into(),
                    json!({ "DeclaredValue": { "CurrencyCode": v.currency, "MonetaryValue": money_str(v.amount) } }),
                );
            }
            Value::Object(m)
        })
        .collect();
    shipment.insert("Package".into(), Value::Array(packages));

    let context = opts
        .customer_context
        .clone()
        .unwrap_or_else(|| sh.number.clone());
    json!({
        "ShipmentRequest": {
            "Request": request_block(&opts.request_option, opts.sub_version.as_ref(), &context),
            "Shipment": Value::Object(shipment),
            "LabelSpecification": label_specification(&sh.label, opts.default_stock_size, &opts.http_user_agent),
        }
    })
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

#[derive(Debug, Deserialize)]
pub(super) struct ShipEnvelope {
    #[serde(rename = "ShipmentResponse")]
    response: ShipmentResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentResponse {
    #[serde(rename = "Response")]
    response: Option<ResponseBlock>,
    #[serde(rename = "ShipmentResults")]
    results: ShipmentResults,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentResults {
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
    #[serde(rename = "PackageResults", default, deserialize_with = "one_or_many")]
    packages: Vec<ShipPackageResult>,
    /// International forms (UPS-REFERENCE §2.2: base64 PDF, `Code "01"`, `FormGroupId`).
    /// Declared once per shipment (`maximum: 1`); read one-or-many all the same.
    #[serde(rename = "Form", default, deserialize_with = "one_or_many")]
    forms: Vec<ShipForm>,
}

/// `ShipmentResults.Form` (Shipping.yaml `ShipmentResults_Form`).
#[derive(Debug, Deserialize)]
pub(super) struct ShipForm {
    #[serde(rename = "Code", default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(rename = "Image")]
    image: Option<ShipFormImage>,
    #[serde(rename = "FormGroupId", default, deserialize_with = "lenient_string")]
    group_id: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipFormImage {
    #[serde(rename = "ImageFormat")]
    format: Option<Code>,
    #[serde(rename = "GraphicImage", default, deserialize_with = "lenient_string")]
    graphic_image: String,
}

/// The forms of a Ship answer as documents named `<number>-<1Z>-<kind>.<ext>` (a form
/// without an image — a paperless account without `OverridePaperlessIndicator` — is skipped).
pub(super) fn documents_from(
    forms: &[ShipForm],
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
pub(super) struct ShipPackageResult {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
    #[serde(rename = "ShippingLabel")]
    label: Option<ShippingLabel>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShippingLabel {
    #[serde(rename = "ImageFormat")]
    format: Option<Code>,
    #[serde(rename = "GraphicImage", default, deserialize_with = "lenient_string")]
    graphic_image: String,
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
    let env: ShipEnvelope = from_value(v, "ShipmentResponse")?;
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
