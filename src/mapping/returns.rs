//! Returns (issue 20, docs/returns.md): a **return mapping**'s `return_service:` section and
//! an outbound mapping's `auto_return:` section.
//!
//! * A mapping with `return_service:` maps ERP return records (Acumatica receipt shipments
//!   of RMA orders, NetSuite return authorizations) to return shipments. Its `ship_to`
//!   section reads the **customer** and `ship_from` names the **warehouse**, as in an
//!   outbound mapping; [`into_return`] puts them where UPS wants them for a return
//!   (Shipping.yaml `ShipFrom`: "Required for return shipment"; UPS-REFERENCE §2.1): the
//!   customer is `ShipFrom`, the warehouse `ShipTo`, the account holder stays `Shipper`.
//! * `auto_return:` in an outbound mapping asks for a return label alongside the outbound
//!   shipment (the pipeline ships it as a second job, `<outbound job id>#return`).
//!
//! The pre-call rules UPS applies to returns live in `rules/returns.rs`. Pure: no I/O.

use serde::Deserialize;

use super::run::Run;
use super::*;
use crate::model::{ReturnService, WriteBack, RETURN_SERVICE_CODES};

/// `return_service:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnServiceSpec {
    /// Expression or number: `9` print return label, `8` electronic return label (UPS
    /// e-mails it), `3` 1 attempt, `5` 3 attempts, `2` print and mail.
    pub code: Yaml,
    /// Expression: where UPS e-mails an electronic return label (code 8 requires it).
    #[serde(default)]
    pub label_email: Option<Yaml>,
    /// The outbound record this return belongs to, where the return 1Z is also written.
    #[serde(default)]
    pub linked: Option<LinkedSpec>,
}

/// `return_service.linked:` the outbound record named by the return record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkedSpec {
    /// Expression giving the outbound record's id (as the connector addresses records).
    pub record: Yaml,
    /// Header field of the outbound record that receives the return 1Z number(s).
    pub tracking: String,
    /// The outbound record's type when the connector reads another one (NetSuite:
    /// `itemFulfillment` for a return authorization's fulfillment).
    #[serde(default)]
    pub record_type: Option<String>,
}

/// `auto_return:` as written (outbound mappings).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReturnSpec {
    /// Condition (`{field: X, equals: Y}` / `in:` / `empty:`); absent = every shipment.
    #[serde(default)]
    pub when: Option<Yaml>,
    /// Expression giving the UPS service code of the return; absent = the outbound's.
    #[serde(default)]
    pub service: Option<Yaml>,
    /// The return service code (`9`, `8`, …), as in `return_service.code`.
    pub return_service: Yaml,
    /// Expression: where UPS e-mails an electronic return label (code 8).
    #[serde(default)]
    pub label_email: Option<Yaml>,
    /// Expression for a package description when a package has none (UPS requires one on
    /// returns).
    #[serde(default)]
    pub package_description: Option<Yaml>,
    /// Header field of the outbound record that receives the return 1Z number(s).
    pub tracking_field: String,
    /// Header field of the outbound record for the return parcel's status (optional).
    #[serde(default)]
    pub status_field: Option<String>,
}

/// Compiled `return_service:`.
pub(crate) struct CReturn {
    pub(crate) code: Expr,
    pub(crate) label_email: Option<Expr>,
    pub(crate) linked: Option<(Expr, String, Option<String>)>,
}

/// Compiled `auto_return:`.
pub(crate) struct CAutoReturn {
    when: Option<Cond>,
    service: Option<Expr>,
    code: Expr,
    label_email: Option<Expr>,
    package_description: Option<Expr>,
    pub(crate) tracking_field: String,
    pub(crate) status_field: Option<String>,
}

pub(super) fn compile_return(c: &mut Compiler<'_>, v: &Yaml) -> Option<CReturn> {
    let s = compile::section::<ReturnServiceSpec>(c, v, "return_service")?;
    let code = c.expr(&s.code, "return_service.code")?;
    let label_email = match &s.label_email {
        Some(e) => Some(c.expr(e, "return_service.label_email")?),
        None => None,
    };
    let linked = match s.linked {
        Some(l) => Some((
            c.expr(&l.record, "return_service.linked.record")?,
            l.tracking,
            l.record_type,
        )),
        None => None,
    };
    Some(CReturn {
        code,
        label_email,
        linked,
    })
}

pub(super) fn compile_auto_return(c: &mut Compiler<'_>, v: &Yaml) -> Option<CAutoReturn> {
    let s = compile::section::<AutoReturnSpec>(c, v, "auto_return")?;
    let when = match &s.when {
        Some(w) => Some(c.cond(w, "auto_return.when")?),
        None => None,
    };
    let opt = |c: &mut Compiler<'_>, e: &Option<Yaml>, key: &str| match e {
        Some(e) => c.expr(e, key).map(Some),
        None => Some(None),
    };
    let service = opt(c, &s.service, "auto_return.service")?;
    let label_email = opt(c, &s.label_email, "auto_return.label_email")?;
    let package_description = opt(c, &s.package_description, "auto_return.package_description")?;
    let code = c.expr(&s.return_service, "auto_return.return_service")?;
    if s.tracking_field.trim().is_empty() {
        c.err(
            "auto_return.tracking_field",
            "the field for the return tracking number is empty",
            "name the outbound record's field, e.g. `custom.Document.UsrUpsReturnTracking`",
        );
        return None;
    }
    Some(CAutoReturn {
        when,
        service,
        code,
        label_email,
        package_description,
        tracking_field: s.tracking_field,
        status_field: s.status_field,
    })
}

/// A forward shipment turned into the return of the same goods: the customer becomes
/// `ShipFrom`, the warehouse (the pickup address, else the shipper's) `ShipTo`; the account
/// holder stays `Shipper` (Shipping.yaml `Shipment_ShipFrom`, UPS-REFERENCE §2.1).
/// Shipment notifications go (UPS sends return notifications itself), an invoice becomes
/// a partial invoice with reason `RETURN` (Shipping.yaml `FormType`: "For shipment with
/// return service, 05 or 10 are the only valid values").
pub fn into_return(mut s: Shipment, rs: ReturnService) -> Shipment {
    let warehouse = s.ship_from.take().unwrap_or_else(|| s.shipper.clone());
    let customer = std::mem::replace(&mut s.ship_to, warehouse);
    s.ship_from = Some(customer);
    s.notifications.clear();
    if let Some(intl) = s.international.as_mut() {
        for f in intl.form_types.iter_mut() {
            if f == "01" {
                *f = "05".into();
            }
        }
        intl.form_types.retain(|f| f == "05" || f == "10");
        intl.reason_for_export = "RETURN".into();
    }
    s.return_service = Some(rs);
    s
}

impl Mapping {
    /// A return mapping (`return_service:`): its records are returns.
    pub fn is_return(&self) -> bool {
        self.returns.is_some()
    }

    /// Whether this outbound mapping has `auto_return:`.
    pub fn has_auto_return(&self) -> bool {
        self.auto_return.is_some()
    }

    /// The return service as the record gives it (code text trimmed; `9.0` is not a code).
    pub(super) fn return_service_of(
        &self,
        run: &mut Run<'_>,
        code: &Expr,
        email: Option<&Expr>,
        root: &Scope<'_>,
    ) -> ReturnService {
        ReturnService {
            code: run.text(code, root, None).unwrap_or_default().trim().into(),
            label_email: email.and_then(|e| run.text(e, root, None)),
        }
    }

    /// The return label that goes with an outbound record (`auto_return:`): `None` when
    /// the mapping has none or its `when` does not hold; else the return shipment or every
    /// problem (the outbound rules plus the return rules).
    pub fn auto_return_shipment(
        &self,
        record: &ErpRecord,
    ) -> Option<Result<Shipment, RecordErrors>> {
        let a = self.auto_return.as_ref()?;
        let root = Scope::root(&record.data);
        if let Some(w) = &a.when {
            if !w.eval(&root) {
                return None;
            }
        }
        let outbound = match self.to_shipment(record) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let mut run = Run::new(self, record);
        let rs = self.return_service_of(&mut run, &a.code, a.label_email.as_ref(), &root);
        let mut s = outbound;
        if let Some(code) = a.service.as_ref().and_then(|e| run.text(e, &root, None)) {
            s.service = ServiceSelection::Fixed { code };
        }
        if let Some(d) = a
            .package_description
            .as_ref()
            .and_then(|e| run.text(e, &root, None))
        {
            for p in s.packages.iter_mut() {
                if p.description.as_deref().is_none_or(|x| x.trim().is_empty()) {
                    p.description = Some(d.chars().take(35).collect());
                }
            }
        }
        let s = into_return(s, rs);
        for v in rules::check_return(&s, "auto_return") {
            run.violation(v);
        }
        Some(run.finish(s))
    }

    /// Write-back of an auto return's result onto the outbound record: the return 1Z
    /// number(s) in `auto_return.tracking_field`, the return labels attached (by the
    /// mapping's label file name). Nothing else of the outbound record is touched.
    pub fn write_back_auto_return(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack {
        let mut out = WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        };
        if let Some(a) = &self.auto_return {
            out.fields.push((
                a.tracking_field.clone(),
                Json::String(tracking_list(result)),
            ));
        }
        out
    }

    /// Tracking write-back of an auto return onto the outbound record: only the
    /// `auto_return.status_field`, with the mapping's word for "returned to sender" once
    /// the return parcel is delivered back to the warehouse.
    pub fn write_back_auto_return_tracking(
        &self,
        record: &ErpRecord,
        snap: &crate::model::TrackingSnapshot,
    ) -> WriteBack {
        let mut out = WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        };
        if let Some(f) = self
            .auto_return
            .as_ref()
            .and_then(|a| a.status_field.as_ref())
        {
            out.fields.push((
                f.clone(),
                Json::String(self.return_status_value(snap.milestone).to_string()),
            ));
        }
        out
    }

    /// The ERP word for a return parcel's status: delivered (back at the warehouse) is the
    /// mapping's `returned_to_sender` word (e.g. `Returned`, `Received`); the others as usual.
    pub fn return_status_value(&self, m: crate::model::Milestone) -> &str {
        match m {
            crate::model::Milestone::Delivered => {
                self.status_value(crate::model::Milestone::ReturnedToSender)
            }
            other => self.status_value(other),
        }
    }

    /// For a return record naming its outbound record (`return_service.linked`): the
    /// write-back of the return 1Z onto that record.
    pub fn write_back_linked(&self, record: &ErpRecord, result: &ShipResult) -> Option<WriteBack> {
        let (expr, field, record_type) = self.returns.as_ref()?.linked.as_ref()?;
        let root = Scope::root(&record.data);
        let id = expr.eval(&root, &self.tables).ok()?.text()?;
        Some(WriteBack {
            record_id: id,
            fields: vec![(field.clone(), Json::String(tracking_list(result)))],
            record_type: record_type.clone(),
            ..Default::default()
        })
    }
}

fn tracking_list(result: &ShipResult) -> String {
    result
        .packages
        .iter()
        .map(|p| p.tracking_number.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Is `code` one of the return services upsync sends?
pub fn known_return_code(code: &str) -> bool {
    RETURN_SERVICE_CODES.iter().any(|(c, _)| *c == code)
}
