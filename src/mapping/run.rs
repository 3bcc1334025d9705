//! The mapping runtime: one ERP record → canonical [`Shipment`] through a compiled
//! [`Mapping`], collecting every [`RecordError`] with its field and line.

use super::*;

/// Rule codes that depend on the lane (origin → destination).
pub(super) const LANE_CODES: &[&str] = &[
    "account_invalid",
    "service_invalid_for_lane",
    "international_data_missing",
    "phone_missing",
    "attention_missing",
    "reference_not_allowed",
    "description_too_long",
    "customs_lines_over_limit",
    "customs_split_needs_packages",
    "customs_description_too_long",
    "customs_quantity_invalid",
    "hs_code_invalid",
];

impl Mapping {
    /// File name given at load.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Line of a mapping key (for messages).
    pub fn line_of(&self, key: &str) -> usize {
        self.lines.line_of(key)
    }

    /// Every field path the mapping reads or writes, with its line (for fixture checks).
    pub fn paths(&self) -> &[PathUse] {
        &self.paths
    }

    /// Build an [`ErpRecord`] from a bare decoded record using `record: {id, number}`.
    pub fn record_from_data(&self, source: &str, data: Json) -> ErpRecord {
        let (id, number) = {
            let scope = Scope::root(&data);
            let f = |e: &Option<Expr>| {
                e.as_ref()
                    .and_then(|e| e.eval(&scope, &self.tables).ok())
                    .and_then(|v| v.text())
                    .unwrap_or_default()
            };
            (f(&self.record_id), f(&self.record_number))
        };
        ErpRecord {
            source: source.to_string(),
            id,
            number,
            version: "fixture".into(),
            modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            data,
        }
    }

    /// Whether the record says it was cancelled (`cancelled:` condition).
    pub fn is_cancelled(&self, record: &ErpRecord) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|c| c.eval(&Scope::root(&record.data)))
    }

    /// Void the UPS shipment when the ERP record is cancelled after shipping: deleted from
    /// the ERP (how NetSuite and Acumatica cancel), or matching `cancelled:`.
    pub fn void_on_cancel(&self) -> bool {
        self.void_on_cancel
    }

    /// Map one record; every rule violation at once.
    pub fn to_shipment(&self, record: &ErpRecord) -> Result<Shipment, RecordErrors> {
        let mut run = Run {
            m: self,
            rec: record,
            errors: Vec::new(),
            pkg_src: Vec::new(),
        };
        let root = Scope::root(&record.data);

        // Ship-from entry and account.
        let key = run
            .text(&self.ship_from.key, &root, None)
            .unwrap_or_default();
        let entry = self.ship_from.entries.get(&key).or_else(|| {
            self.ship_from
                .default
                .as_ref()
                .and_then(|d| self.ship_from.entries.get(d))
        });
        let (account, shipper, pickup) = match entry {
            Some(e) => (
                run.text(&e.account, &root, None).unwrap_or_default(),
                e.shipper.clone(),
                e.pickup.clone(),
            ),
            None => {
                run.fail_expr(
                    "ship_from_unknown",
                    &self.ship_from.key,
                    None,
                    "the warehouse/location has no entry in `ship_from.entries`".into(),
                    "add an entry for it (with its UPS account), or set `ship_from.default`",
                );
                (String::new(), Party::default(), None)
            }
        };

        let ship_to = self.party(&mut run, &root);
        let billing = run.billing(&root, &ship_to.address.country);

        // Packages.
        let mut packages = Vec::new();
        let p = &self.packages;
        match p.for_each.resolve(&root).and_then(Json::as_array) {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let scope = root.elem(item);
                    let at = Some((&p.for_each, i));
                    if let Some(pkg) = self.package(&mut run, &scope, at, i) {
                        packages.push(pkg);
                        run.pkg_src.push(i);
                    }
                }
            }
            None => {
                // reported by the rules as packages_missing
            }
        }

        // Service.
        let via = run
            .text(&self.service.ship_via, &root, None)
            .unwrap_or_default();
        let service = match self
            .service
            .table
            .get(&via)
            .or(self.service.default.as_ref())
        {
            Some(s) => s.clone(),
            None => {
                run.fail_expr("service_unmapped", &self.service.ship_via, None, format!("ship-via `{via}` has no UPS service in `service.table` and there is no `service.default`"), "add the ship-via to `service.table`, or filter it out in the connector profile");
                ServiceSelection::Fixed {
                    code: String::new(),
                }
            }
        };

        let origin = pickup
            .as_ref()
            .map(|p| p.address.country.to_ascii_uppercase())
            .unwrap_or_else(|| shipper.address.country.to_ascii_uppercase());
        let dest = ship_to.address.country.trim().to_ascii_uppercase();
        let level = crate::model::reference_level(&origin, &dest);

        // References: number first, then the others; optional ones dropped to fit the lane.
        let mut references = vec![Reference {
            code: self.references.number_code.clone(),
            value: record.number.clone(),
            barcode: self.references.number_barcode,
        }];
        let mut optional_flags = vec![false];
        for r in &self.references.others {
            if let Some(v) = run.text(&r.value, &root, None) {
                references.push(Reference {
                    code: r.code.clone(),
                    value: v,
                    barcode: r.barcode,
                });
                optional_flags.push(r.optional);
            }
        }
        let limit = rules::reference_limit(level);
        while references.len() > limit {
            match optional_flags.iter().rposition(|o| *o) {
                Some(i) => {
                    references.remove(i);
                    optional_flags.remove(i);
                }
                None => break,
            }
        }

        let ship_date = self
            .ship_date
            .as_ref()
            .and_then(|e| run.text(e, &root, None))
            .and_then(|s| parse_date(&s));

        let mut notifications = Vec::new();
        for n in &self.notifications {
            if let Some(email) = run.text(&n.email, &root, None) {
                for code in &n.codes {
                    notifications.push(Notification {
                        email: email.clone(),
                        code: code.clone(),
                    });
                }
            }
        }

        let domestic = rules::is_domestic_lane(&origin, &dest);
        let (description, international) = match (&self.international, domestic) {
            (Some(intl), false) => {
                let (d, i) = self.international(&mut run, intl, &root);
                (d, Some(i))
            }
            // US↔PR: domestic services and no customs forms, but UPS still wants the
            // shipment description whenever the country codes differ.
            (Some(intl), true) if !origin.eq_ignore_ascii_case(&dest) => {
                (run.text(&intl.description, &root, None), None)
            }
            _ => (None, None),
        };

        let mut shipment = Shipment {
            source: record.source.clone(),
            record_id: record.id.clone(),
            number: record.number.clone(),
            account_number: account,
            shipper,
            ship_from: pickup,
            ship_to,
            service,
            packages,
            references,
            description,
            label: self.label.clone(),
            notifications,
            international,
            ship_date,
            negotiated_rates: self.negotiated_rates,
            billing,
            tax_information: self.wants_taxes(record),
            return_service: None,
        };
        let origin_unknown = run.errors.iter().any(|e| e.code == "ship_from_unknown");
        for v in rules::check(&mut shipment) {
            // Without a shipper, shipper and lane rules would only add noise.
            if origin_unknown && (v.code.starts_with("shipper_") || LANE_CODES.contains(&v.code)) {
                continue;
            }
            // A missing weight is already reported; don't add "weight must be > 0".
            if v.code == "service_invalid_for_lane"
                && run.errors.iter().any(|e| e.code == "service_unmapped")
            {
                continue;
            }
            if v.code == "packages_missing"
                && run.errors.iter().any(|e| e.code.starts_with("package_"))
            {
                continue;
            }
            run.violation(v);
        }
        // A return mapping: the same parties, in UPS's return order, and UPS's return rules.
        if let Some(r) = &self.returns {
            let rs = self.return_service_of(&mut run, &r.code, r.label_email.as_ref(), &root);
            shipment = super::returns::into_return(shipment, rs);
            for v in rules::check_return(&shipment, "return_service") {
                run.violation(v);
            }
        }
        run.finish(shipment)
    }

    pub(super) fn party(&self, run: &mut Run<'_>, root: &Scope<'_>) -> Party {
        let t = &self.ship_to;
        let mut lines = Vec::new();
        for l in &t.lines {
            if let Some(s) = run.text(l, root, None) {
                lines.push(s);
            }
        }
        let opt =
            |run: &mut Run<'_>, e: &Option<Expr>| e.as_ref().and_then(|e| run.text(e, root, None));
        let flag = |run: &mut Run<'_>, e: &Option<Expr>| {
            e.as_ref()
                .and_then(|e| run.val(e, root, None))
                .and_then(|v| v.flag())
        };
        Party {
            name: run.text(&t.name, root, None).unwrap_or_default(),
            attention: opt(run, &t.attention),
            phone: opt(run, &t.phone),
            email: opt(run, &t.email),
            tax_id: opt(run, &t.tax_id),
            address: Address {
                lines,
                city: run.text(&t.city, root, None).unwrap_or_default(),
                state: opt(run, &t.state).unwrap_or_default(),
                postal_code: opt(run, &t.postal).unwrap_or_default(),
                country: run.text(&t.country, root, None).unwrap_or_default(),
                residential: flag(run, &t.residential),
                po_box: flag(run, &t.po_box).unwrap_or(false),
            },
        }
    }

    pub(super) fn package(
        &self,
        run: &mut Run<'_>,
        scope: &Scope<'_>,
        at: Option<(&FieldPath, usize)>,
        i: usize,
    ) -> Option<Package> {
        let p = &self.packages;
        let line_id = run.text(&p.line_id, scope, at);
        if line_id.is_none() {
            run.fail_expr(
                "package_line_id_missing",
                &p.line_id,
                at,
                format!(
                    "package {} has no line id, so its tracking number could not be written back",
                    i + 1
                ),
                "map `packages.line_id` to the package line's key",
            );
        }
        let unit_text = run.text(&p.weight_unit, scope, at).unwrap_or_default();
        let unit = parse_weight_unit(&unit_text);
        if unit.is_none() {
            run.fail_expr(
                "package_weight_unit_invalid",
                &p.weight_unit,
                at,
                format!("package {} weight unit is not LB, KG or OZ", i + 1),
                "map the unit field or use `{literal: LB}`",
            );
        }
        let weight = match run.val(&p.weight, scope, at).and_then(|v| v.decimal()) {
            None => {
                run.fail_expr(
                    "package_weight_missing",
                    &p.weight,
                    at,
                    format!("package {} has no weight", i + 1),
                    "enter the package weight in the ERP",
                );
                None
            }
            Some(Err(())) => {
                run.fail_expr(
                    "package_weight_invalid",
                    &p.weight,
                    at,
                    format!("package {} weight is not a number", i + 1),
                    "enter the package weight as a number",
                );
                None
            }
            Some(Ok(w)) => Some(w),
        };
        let dims = match &p.dims {
            None => None,
            Some(d) => {
                let vals: Vec<Option<Result<Decimal, ()>>> = [&d.length, &d.width, &d.height]
                    .iter()
                    .map(|e| run.val(e, scope, at).and_then(|v| v.decimal()))
                    .collect();
                let all_zero = vals.iter().all(|v| match v {
                    None => true,
                    Some(Ok(x)) => x.is_zero(),
                    Some(Err(())) => false,
                });
                if all_zero {
                    None
                } else if vals.iter().any(|v| !matches!(v, Some(Ok(_)))) {
                    run.fail_expr(
                        "package_dimensions_invalid",
                        &d.length,
                        at,
                        format!(
                            "package {} has some but not all dimensions as numbers",
                            i + 1
                        ),
                        "enter length, width and height, or none",
                    );
                    None
                } else {
                    let u = run
                        .text(&d.unit, scope, at)
                        .and_then(|s| parse_dim_unit(&s));
                    match u {
                        None => {
                            run.fail_expr(
                                "package_dimensions_invalid",
                                &d.unit,
                                at,
                                format!("package {} dimension unit is not IN or CM", i + 1),
                                "map the unit or use `{literal: IN}`",
                            );
                            None
                        }
                        Some(u) => {
                            let to = d.to.unwrap_or(u);
                            // UPS takes whole numbers (≤3 characters) with Length the
                            // longest side: round up, then sort.
                            let n = |k: usize| match &vals[k] {
                                Some(Ok(x)) => convert_length(*x, u, to).ceil().normalize(),
                                _ => Decimal::ZERO,
                            };
                            let mut sides = [n(0), n(1), n(2)];
                            sides.sort_unstable_by(|a, b| b.cmp(a));
                            Some(Dimensions {
                                length: sides[0],
                                width: sides[1],
                                height: sides[2],
                                unit: to,
                            })
                        }
                    }
                }
            }
        };
        let packaging = run
            .text(&p.packaging, scope, at)
            .unwrap_or_else(|| "02".into());
        let declared_value = match &p.declared {
            None => None,
            Some((amount, currency)) => {
                match run.val(amount, scope, at).and_then(|v| v.decimal()) {
                    Some(Ok(a)) if a > Decimal::ZERO => Some(Money {
                        amount: a.round_dp(2),
                        currency: run
                            .text(currency, scope, at)
                            .unwrap_or_else(|| "USD".into())
                            .to_ascii_uppercase(),
                    }),
                    Some(Err(())) => {
                        run.fail_expr(
                            "declared_value_invalid",
                            amount,
                            at,
                            format!("package {} declared value is not a number", i + 1),
                            "enter the declared value as a number",
                        );
                        None
                    }
                    _ => None,
                }
            }
        };
        let description = p.description.as_ref().and_then(|e| run.text(e, scope, at));
        let (weight, unit) = (weight?, unit?);
        let to = p.weight_to.unwrap_or(unit);
        Some(Package {
            erp_line_id: line_id.unwrap_or_default(),
            weight: Weight {
                value: round_up_1(convert_weight(weight, unit, to)),
                unit: to,
            },
            dimensions: dims,
            packaging,
            description,
            declared_value,
        })
    }

    pub(super) fn international(
        &self,
        run: &mut Run<'_>,
        intl: &CIntl,
        root: &Scope<'_>,
    ) -> (Option<String>, International) {
        let description = run.text(&intl.description, root, None);
        let mut products = Vec::new();
        let l = &intl.lines;
        if let Some(items) = l.for_each.resolve(root).and_then(Json::as_array) {
            for (i, item) in items.iter().enumerate() {
                let scope = root.elem(item);
                let at = Some((&l.for_each, i));
                let dec = |run: &mut Run<'_>, e: &Expr, what: &str| match run
                    .val(e, &scope, at)
                    .and_then(|v| v.decimal())
                {
                    Some(Ok(d)) => d,
                    Some(Err(())) => {
                        run.fail_expr(
                            "international_data_missing",
                            e,
                            at,
                            format!("customs line {} {what} is not a number", i + 1),
                            "enter a number in the ERP",
                        );
                        Decimal::ZERO
                    }
                    None => Decimal::ZERO,
                };
                let quantity = dec(run, &l.quantity, "quantity");
                let unit_value = dec(run, &l.unit_value, "unit value");
                products.push(Product {
                    description: run.text(&l.description, &scope, at).unwrap_or_default(),
                    hs_code: l
                        .hs_code
                        .as_ref()
                        .and_then(|e| run.text(e, &scope, at))
                        .map(|s| s.replace(['.', ' '], "")),
                    origin_country: run
                        .text(&l.origin, &scope, at)
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    quantity: quantity.normalize(),
                    unit_of_measure: l
                        .unit
                        .as_ref()
                        .and_then(|e| run.text(e, &scope, at))
                        .map(|u| {
                            if u.eq_ignore_ascii_case("EA") {
                                "PCS".to_string()
                            } else {
                                u.to_ascii_uppercase()
                            }
                        })
                        .unwrap_or_else(|| "PCS".into()),
                    // UPS: ≤6 decimals.
                    unit_value: unit_value.round_dp(6).normalize(),
                    part_number: l.part_number.as_ref().and_then(|e| run.text(e, &scope, at)),
                });
            }
        }
        let max = rules::customs_line_limit(&intl.form_types).min(intl.max_lines);
        if products.len() > max && intl.over_limit == spec::OverLimit::MergeByHsCode {
            products = merge_by_hs_code(products);
        }
        let o =
            |run: &mut Run<'_>, e: &Option<Expr>| e.as_ref().and_then(|e| run.text(e, root, None));
        let international = International {
            form_types: intl.form_types.clone(),
            invoice_number: o(run, &intl.invoice_number),
            invoice_date: o(run, &intl.invoice_date).and_then(|s| parse_date(&s)),
            currency: run
                .text(&intl.currency, root, None)
                .unwrap_or_default()
                .to_ascii_uppercase(),
            reason_for_export: run
                .text(&intl.reason, root, None)
                .unwrap_or_else(|| "SALE".into())
                .to_ascii_uppercase(),
            terms_of_shipment: o(run, &intl.terms),
            products,
            max_lines: intl.max_lines,
            split: intl.over_limit == spec::OverLimit::Split,
            paperless: intl
                .paperless
                .as_ref()
                .map(|p| super::paperless::run(run, p, root)),
        };
        (description, international)
    }
}

/// Merge customs lines with the same HS code, origin, unit of measure and unit value.
pub(super) fn merge_by_hs_code(products: Vec<Product>) -> Vec<Product> {
    let mut out: Vec<Product> = Vec::new();
    for p in products {
        match out.iter_mut().find(|q| {
            q.hs_code.is_some()
                && q.hs_code == p.hs_code
                && q.origin_country == p.origin_country
                && q.unit_value == p.unit_value
                && q.unit_of_measure == p.unit_of_measure
        }) {
            Some(q) => {
                q.quantity += p.quantity;
                q.part_number = None;
            }
            None => out.push(p),
        }
    }
    out
}

/// State of one `to_shipment` call: collects errors with their provenance.
pub(super) struct Run<'a> {
    pub(super) m: &'a Mapping,
    rec: &'a ErpRecord,
    errors: Vec<RecordError>,
    /// Shipment package index → element index in the record (failed packages are skipped).
    pkg_src: Vec<usize>,
}

impl<'a> Run<'a> {
    pub(super) fn new(m: &'a Mapping, rec: &'a ErpRecord) -> Run<'a> {
        Run {
            m,
            rec,
            errors: Vec::new(),
            pkg_src: Vec::new(),
        }
    }

    /// The shipment, or every problem found while making it.
    pub(super) fn finish(self, shipment: Shipment) -> Result<Shipment, RecordErrors> {
        if self.errors.is_empty() {
            Ok(shipment)
        } else {
            Err(RecordErrors(self.errors))
        }
    }

    pub(super) fn field_for(e: &Expr, at: Option<(&FieldPath, usize)>) -> Option<String> {
        let prim = e.primary()?;
        if prim.is_empty() || e.is_literal() {
            return None;
        }
        Some(match at {
            Some((arr, i)) => format!("{}[{i}].{prim}", arr.text),
            None => prim.to_string(),
        })
    }

    pub(super) fn lookup_failed(&mut self, e: EvalError, at: Option<(&FieldPath, usize)>) {
        let field = e.field.map(|f| match at {
            Some((arr, i)) => format!("{}[{i}].{f}", arr.text),
            None => f,
        });
        self.errors.push(RecordError {
            code: "lookup_missing".into(),
            record_id: self.rec.id.clone(),
            field,
            mapping_file: self.m.file.clone(),
            line: e.line,
            key: e.mapping_key,
            message: format!(
                "value `{}` is not in lookup table `{}`",
                e.key_value, e.table
            ),
            fix: format!(
                "add `{}` to `lookups.{}`, or set `missing: empty` with a `default:`",
                e.key_value, e.table
            ),
        });
    }

    pub(super) fn val<'s>(
        &mut self,
        e: &'s Expr,
        scope: &Scope<'s>,
        at: Option<(&FieldPath, usize)>,
    ) -> Option<Val<'s>>
    where
        'a: 's,
    {
        match e.eval(scope, &self.m.tables) {
            Ok(v) if v.is_empty() => None,
            Ok(v) => Some(v),
            Err(err) => {
                self.lookup_failed(err, at);
                None
            }
        }
    }

    pub(super) fn text(
        &mut self,
        e: &Expr,
        scope: &Scope<'_>,
        at: Option<(&FieldPath, usize)>,
    ) -> Option<String> {
        match e.eval(scope, &self.m.tables) {
            Ok(v) => v.text(),
            Err(err) => {
                self.lookup_failed(err, at);
                None
            }
        }
    }

    pub(super) fn fail_expr(
        &mut self,
        code: &str,
        e: &Expr,
        at: Option<(&FieldPath, usize)>,
        message: String,
        fix: &str,
    ) {
        self.errors.push(RecordError {
            code: code.to_string(),
            record_id: self.rec.id.clone(),
            field: Self::field_for(e, at),
            mapping_file: self.m.file.clone(),
            line: e.line,
            key: e.key.clone(),
            message,
            fix: fix.to_string(),
        });
    }

    /// Turn a rule violation into a record error with ERP field and mapping line.
    pub(super) fn violation(&mut self, v: rules::Violation) {
        let m = self.m;
        let (field, line) = match m.expr_at(&v.key) {
            Some((e, arr)) => {
                let index = match v.index {
                    Some(i) if v.key.starts_with("packages.") => self.pkg_src.get(i).copied(),
                    other => other,
                };
                let at = match (arr, index) {
                    (Some(a), Some(i)) => Some((a, i)),
                    _ => None,
                };
                (Self::field_for(e, at), e.line)
            }
            None => (None, m.lines.line_of(&v.key)),
        };
        self.errors.push(RecordError {
            code: v.code.to_string(),
            record_id: self.rec.id.clone(),
            field,
            mapping_file: m.file.clone(),
            line,
            key: v.key,
            message: v.message,
            fix: v.fix,
        });
    }
}
