//! The mapping compiler: YAML mapping file → [`Mapping`] (compiled expressions, tables,
//! sections), every problem at once with file, line and fix. No record is read here; see
//! `run.rs` for evaluation.

use super::*;

/// Deserialize one section with serde (deny_unknown_fields), reporting the exact key.
pub(super) fn section<T: serde::de::DeserializeOwned>(
    c: &mut Compiler<'_>,
    v: &Yaml,
    key: &str,
) -> Option<T> {
    use serde_path_to_error::Segment;
    // An unknown key is reported, removed, and the section tried again, so a typo does not
    // hide the other problems of the same section.
    let mut v = v.clone();
    for _ in 0..32 {
        let e = match serde_path_to_error::deserialize::<_, T>(v.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let msg = e.inner().to_string();
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        // The path ends with the unknown key itself; the container is everything before.
        let mut segs: Vec<&Segment> = e.path().iter().collect();
        if let (Some(f), Some(Segment::Map { key: last })) = (&unknown, segs.last()) {
            if last == f {
                segs.pop();
            }
        }
        let mut k = key.to_string();
        for seg in &segs {
            match seg {
                Segment::Seq { index } => k.push_str(&format!("[{index}]")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    k.push('.');
                    k.push_str(key);
                }
                Segment::Unknown => {}
            }
        }
        match unknown {
            Some(field) => {
                c.err(
                    &format!("{k}.{field}"),
                    msg,
                    "check the spelling against the keys documented in the file header",
                );
                // Navigate to the containing mapping and drop the key.
                let mut cur = &mut v;
                for seg in &segs {
                    let next = match seg {
                        Segment::Seq { index } => cur.get_mut(*index),
                        Segment::Map { key } => cur.get_mut(key.as_str()),
                        _ => None,
                    };
                    match next {
                        Some(n) => cur = n,
                        None => return None,
                    }
                }
                let removed = cur
                    .as_mapping_mut()
                    .and_then(|m| m.remove(field.as_str()))
                    .is_some();
                if !removed {
                    return None;
                }
            }
            None => {
                c.err(
                    &k,
                    msg,
                    "see the keys and value types documented in the file header",
                );
                return None;
            }
        }
    }
    None
}

pub(super) fn opt_expr(c: &mut Compiler<'_>, v: &Option<Yaml>, key: &str) -> Option<Option<Expr>> {
    match v {
        None => Some(None),
        Some(y) => c.expr(y, key).map(Some),
    }
}

pub(super) const FORM_TYPES: &[&str] =
    &["01", "03", "04", "05", "06", "07", "08", "09", "10", "11"];

impl Mapping {
    /// Read and compile a mapping file; every problem at once, each with file and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, MappingErrors> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            MappingErrors(vec![MappingError {
                file: name.clone(),
                line: 0,
                key: String::new(),
                message: format!("cannot read the mapping file: {e}"),
                fix: "check the path in the connector's `mapping:` setting".into(),
            }])
        })?;
        Mapping::from_str(&text, &name)
    }

    /// Compile a mapping from text; `file_name` is used in every error.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, file_name: &str) -> Result<Mapping, MappingErrors> {
        Self::compile(text, file_name, &mut Vec::new())
    }

    /// Every problem of a mapping, including field paths that resolve in none of `samples`
    /// (fixture records), even when the mapping does not load for other reasons — so
    /// `upsync check` reports an unknown field path together with a bad lookup or a missing
    /// write-back target.
    pub fn problems_with_samples(
        text: &str,
        file_name: &str,
        samples: &[&Json],
    ) -> Vec<MappingError> {
        let mut paths = Vec::new();
        let mut out = match Self::compile(text, file_name, &mut paths) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        out.extend(unresolved_paths(file_name, &paths, samples));
        out.sort_by_key(|e| e.line);
        out
    }

    pub(super) fn compile(
        text: &str,
        file_name: &str,
        paths_out: &mut Vec<PathUse>,
    ) -> Result<Mapping, MappingErrors> {
        let lines = LineIndex::build(text);
        let doc: Yaml = serde_norway::from_str(text).map_err(|e| {
            MappingErrors(vec![MappingError {
                file: file_name.to_string(),
                line: e.location().map(|l| l.line()).unwrap_or(0),
                key: String::new(),
                message: format!("not valid YAML: {e}"),
                fix: "fix the YAML syntax (indentation, quotes, tabs)".into(),
            }])
        })?;
        let mut c = Compiler::new(file_name, &lines);
        let Some(top) = doc.as_mapping() else {
            c.err(
                "",
                "the mapping file must be a YAML mapping of sections",
                "start with `ship_from:`, `ship_to:`, …",
            );
            return Err(MappingErrors(c.errors));
        };
        for (k, _) in top {
            let k = k.as_str().unwrap_or("?");
            if !spec::SECTIONS.contains(&k) {
                c.err(
                    k,
                    format!("unknown section `{k}`"),
                    format!("sections are: {}", spec::SECTIONS.join(", ")),
                );
            }
        }
        for s in spec::REQUIRED_SECTIONS {
            if top.get(Yaml::String(s.to_string())).is_none() {
                c.errors.push(MappingError {
                    file: file_name.to_string(),
                    line: 1,
                    key: s.to_string(),
                    message: format!("required section `{s}` is missing"),
                    fix: format!("add a `{s}:` section (see the bundled mappings)"),
                });
            }
        }
        let get = |k: &str| top.get(Yaml::String(k.to_string()));
        if let Some(v) = get("version") {
            if v.as_u64() != Some(1) {
                c.err(
                    "version",
                    "unsupported mapping version",
                    "write `version: 1`",
                );
            }
        }

        // Lookup tables first: expressions refer to them.
        let mut tables = Vec::new();
        if let Some(l) = get("lookups") {
            match l.as_mapping() {
                Some(m) => {
                    for (name, t) in m {
                        let name = name.as_str().unwrap_or("?").to_string();
                        let key = format!("lookups.{name}");
                        let Some(tm) = t.as_mapping() else {
                            c.err(
                                &key,
                                "a lookup table must be a mapping of ERP value → value",
                                "write `UPSGROUND: \"03\"` lines",
                            );
                            continue;
                        };
                        let mut map = HashMap::new();
                        for (k, v) in tm {
                            let ks = match k {
                                Yaml::String(s) => s.clone(),
                                other => expr::yaml_to_json(other).to_string(),
                            };
                            if v.is_mapping() || v.is_sequence() {
                                c.err(
                                    &format!("{key}.{ks}"),
                                    "lookup values must be plain values",
                                    "write `KEY: value`",
                                );
                            }
                            map.insert(ks, expr::yaml_to_json(v));
                        }
                        c.table_names.insert(name.clone(), tables.len());
                        tables.push(Table { name, map });
                    }
                }
                None => c.err(
                    "lookups",
                    "`lookups:` must be a mapping of table name → table",
                    "see the file header",
                ),
            }
        }

        let record = get("record").and_then(|v| section::<spec::RecordSpec>(&mut c, v, "record"));
        let (record_id, record_number) = match record {
            Some(r) => (
                c.expr(&r.id, "record.id"),
                c.expr(&r.number, "record.number"),
            ),
            None => (None, None),
        };

        let freight_spec =
            get("freight").and_then(|v| section::<spec::FreightSpec>(&mut c, v, "freight"));
        let ship_from = get("ship_from")
            .and_then(|v| section::<spec::ShipFromSpec>(&mut c, v, "ship_from"))
            .and_then(|s| compile_ship_from(&mut c, s, freight_spec.as_ref()));
        // A broken section is reported (and fails the mapping) through `c.errors`.
        let freight =
            freight_spec.and_then(|s| super::freight::compile_freight(&mut c, s, "freight"));
        let billing = get("billing")
            .and_then(|v| section::<spec::BillingSpec>(&mut c, v, "billing"))
            .and_then(|s| super::freight::compile_billing(&mut c, s));
        let ship_to = get("ship_to")
            .and_then(|v| section::<spec::ShipToSpec>(&mut c, v, "ship_to"))
            .and_then(|s| compile_ship_to(&mut c, s));
        let packages = get("packages")
            .and_then(|v| section::<spec::PackagesSpec>(&mut c, v, "packages"))
            .and_then(|s| compile_packages(&mut c, s));
        let service = get("service")
            .and_then(|v| section::<spec::ServiceSpec>(&mut c, v, "service"))
            .and_then(|s| compile_service(&mut c, s));
        let references = get("references")
            .and_then(|v| section::<spec::ReferencesSpec>(&mut c, v, "references"))
            .and_then(|s| compile_refs(&mut c, s));
        let ship_date = match get("ship_date") {
            Some(v) => c.expr(v, "ship_date"),
            None => None,
        };
        let label = get("label")
            .and_then(|v| section::<spec::LabelSpecYaml>(&mut c, v, "label"))
            .and_then(|s| compile_label(&mut c, s));
        let mut notifications = Vec::new();
        if let Some(v) = get("notifications") {
            if let Some(list) = section::<Vec<spec::NotificationSpec>>(&mut c, v, "notifications") {
                for (i, n) in list.into_iter().enumerate() {
                    let key = format!("notifications[{i}]");
                    for code in &n.codes {
                        if !["2", "5", "6", "7", "8"].contains(&code.as_str()) {
                            c.err(&format!("{key}.codes"), format!("unknown UPS notification code `{code}`"), "use 6 (ship), 7 (exception), 8 (delivery), 5 (in transit), 2 (return)");
                        }
                    }
                    if let Some(email) = c.expr(&n.email, &format!("{key}.email")) {
                        notifications.push(CNotif {
                            email,
                            codes: n.codes,
                        });
                    }
                }
            }
        }
        let international = get("international")
            .and_then(|v| section::<spec::InternationalSpec>(&mut c, v, "international"))
            .and_then(|s| compile_intl(&mut c, s));
        let negotiated_rates = match get("negotiated_rates") {
            None => true,
            Some(Yaml::Bool(b)) => *b,
            Some(_) => {
                c.err(
                    "negotiated_rates",
                    "must be true or false",
                    "write `negotiated_rates: true`",
                );
                true
            }
        };
        let void_on_cancel = match get("void_on_cancel") {
            None => false,
            Some(Yaml::Bool(b)) => *b,
            Some(_) => {
                c.err(
                    "void_on_cancel",
                    "must be true or false",
                    "write `void_on_cancel: true`",
                );
                false
            }
        };
        // `void_on_cancel` alone is valid: both ERPs cancel a fulfilment/shipment by
        // deleting it (the pipeline notices the deletion); `cancelled:` adds a status that a
        // customised workflow may set.
        let cancelled = get("cancelled").and_then(|v| c.cond(v, "cancelled"));
        let write_back = get("write_back")
            .and_then(|v| section::<spec::WriteBackSpec>(&mut c, v, "write_back"))
            .and_then(|s| super::writeback::compile_write_back(&mut c, s));
        let returns = get("return_service").and_then(|v| super::returns::compile_return(&mut c, v));
        let auto_return =
            get("auto_return").and_then(|v| super::returns::compile_auto_return(&mut c, v));
        if get("return_service").is_some() && get("auto_return").is_some() {
            c.err(
                "auto_return",
                "a return mapping cannot also make automatic returns",
                "keep `auto_return:` in the outbound mapping only",
            );
        }

        let errors = std::mem::take(&mut c.errors);
        let paths = std::mem::take(&mut c.paths);
        paths_out.clone_from(&paths);
        match (
            ship_from, ship_to, packages, service, references, label, write_back,
        ) {
            (
                Some(ship_from),
                Some(ship_to),
                Some(packages),
                Some(service),
                Some(references),
                Some(label),
                Some(write_back),
            ) if errors.is_empty() => Ok(Mapping {
                file: file_name.to_string(),
                lines,
                record_id,
                record_number,
                tables,
                ship_from,
                ship_to,
                packages,
                service,
                references,
                ship_date,
                label,
                notifications,
                international,
                negotiated_rates,
                cancelled,
                void_on_cancel,
                write_back,
                freight,
                billing,
                returns,
                auto_return,
                paths,
            }),
            _ => {
                let mut errors = errors;
                if errors.is_empty() {
                    errors.push(MappingError {
                        file: file_name.to_string(),
                        line: 1,
                        key: String::new(),
                        message: "the mapping is incomplete".into(),
                        fix: "see the other messages".into(),
                    });
                }
                errors.sort_by_key(|e| e.line);
                Err(MappingErrors(errors))
            }
        }
    }
}

impl Mapping {
    /// The expression compiled for mapping key `key` (and its `for_each` array).
    pub(super) fn expr_at(&self, key: &str) -> Option<(&Expr, Option<&FieldPath>)> {
        let t = &self.ship_to;
        let p = &self.packages;
        match key {
            "ship_to.name" => Some((&t.name, None)),
            "ship_to.attention" => t.attention.as_ref().map(|e| (e, None)),
            "ship_to.phone" => t.phone.as_ref().map(|e| (e, None)),
            "ship_to.city" => Some((&t.city, None)),
            "ship_to.state" => t.state.as_ref().map(|e| (e, None)),
            "ship_to.postal_code" => t.postal.as_ref().map(|e| (e, None)),
            "ship_to.country" => Some((&t.country, None)),
            "ship_to.address_lines" => t.lines.first().map(|e| (e, None)),
            "service" => Some((&self.service.ship_via, None)),
            "return_service.code" => self.returns.as_ref().map(|r| (&r.code, None)),
            "return_service.label_email" => self
                .returns
                .as_ref()
                .and_then(|r| r.label_email.as_ref())
                .map(|e| (e, None)),
            "packages.weight.value" => Some((&p.weight, Some(&p.for_each))),
            "packages.description" => p.description.as_ref().map(|e| (e, Some(&p.for_each))),
            "packages.dimensions" | "packages.dimensions.length" => {
                p.dims.as_ref().map(|d| (&d.length, Some(&p.for_each)))
            }
            k if k.starts_with("ship_to.address_lines[") => {
                let i: usize = k["ship_to.address_lines[".len()..k.len() - 1]
                    .parse()
                    .ok()?;
                t.lines.get(i).map(|e| (e, None))
            }
            k if k.starts_with("references.others[") => {
                let rest = &k["references.others[".len()..];
                let i: usize = rest[..rest.find(']')?].parse().ok()?;
                self.references.others.get(i).map(|r| (&r.value, None))
            }
            k => {
                let intl = self.international.as_ref()?;
                let l = &intl.lines;
                match k {
                    "international.description" => Some((&intl.description, None)),
                    "international.currency" => Some((&intl.currency, None)),
                    "international.lines.description" => Some((&l.description, Some(&l.for_each))),
                    "international.lines.origin_country" => Some((&l.origin, Some(&l.for_each))),
                    "international.lines.unit_value" => Some((&l.unit_value, Some(&l.for_each))),
                    "international.lines.quantity" => Some((&l.quantity, Some(&l.for_each))),
                    "international.lines.hs_code" => {
                        l.hs_code.as_ref().map(|e| (e, Some(&l.for_each)))
                    }
                    _ => None,
                }
            }
        }
    }
}

pub(super) fn compile_ship_from(
    c: &mut Compiler<'_>,
    s: spec::ShipFromSpec,
    freight: Option<&spec::FreightSpec>,
) -> Option<CShipFrom> {
    let key = c.expr(&s.key, "ship_from.key");
    if s.entries.is_empty() {
        c.err(
            "ship_from.entries",
            "no ship-from entries",
            "add one entry per warehouse/location",
        );
    }
    let mut entries = HashMap::new();
    for (name, e) in s.entries {
        let k = format!("ship_from.entries.{name}");
        let account = c.expr(&e.account, &format!("{k}.account"));
        if let Some(a) = &account {
            if a.is_literal() {
                let txt = match &e.account {
                    Yaml::String(s) => s.clone(),
                    Yaml::Mapping(m) => m
                        .get("literal")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                    _ => String::new(),
                };
                if txt.len() != 6 || !txt.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    c.err(
                        &format!("{k}.account"),
                        "a UPS shipper number is 6 letters/digits",
                        "write it as `{literal: \"123X56\"}`",
                    );
                }
            }
        }
        let addr = |c: &mut Compiler<'_>, a: spec::AddressLit, key: &str| {
            if a.lines.is_empty() || a.lines.len() > 3 {
                c.err(
                    &format!("{key}.lines"),
                    "an address needs 1 to 3 lines",
                    "list the street lines",
                );
            }
            if a.country.len() != 2 {
                c.err(
                    &format!("{key}.country"),
                    "country must be an ISO two-letter code",
                    "write e.g. `country: US`",
                );
            }
            Address {
                lines: a.lines,
                city: a.city,
                state: a.state,
                postal_code: a.postal_code,
                country: a.country.to_ascii_uppercase(),
                residential: Some(false),
                po_box: false,
            }
        };
        let shipper = Party {
            name: e.name,
            attention: e.attention,
            phone: e.phone,
            email: e.email,
            tax_id: e.tax_id,
            address: addr(c, e.address, &format!("{k}.address")),
        };
        for v in rules::check_shipper(&shipper, &k) {
            c.err(
                &v.key,
                format!("{} ({})", v.message, v.code),
                "correct this ship_from entry",
            );
        }
        let pickup = e.pickup.map(|p| Party {
            name: p.name,
            attention: p.attention,
            phone: p.phone,
            email: None,
            tax_id: None,
            address: addr(c, p.address, &format!("{k}.pickup.address")),
        });
        let entry_freight = e.freight.and_then(|f| {
            let merged = super::freight::merge_specs(freight, f);
            super::freight::compile_freight(c, merged, &format!("{k}.freight"))
        });
        if let Some(account) = account {
            entries.insert(
                name,
                CEntry {
                    account,
                    shipper,
                    pickup,
                    freight: entry_freight,
                },
            );
        }
    }
    if let Some(d) = &s.default {
        if !entries.contains_key(d) {
            c.err(
                "ship_from.default",
                format!("default entry `{d}` is not in `ship_from.entries`"),
                "name one of the entries",
            );
        }
    }
    Some(CShipFrom {
        key: key?,
        entries,
        default: s.default,
    })
}

pub(super) fn compile_ship_to(c: &mut Compiler<'_>, s: spec::ShipToSpec) -> Option<CParty> {
    let name = c.expr(&s.name, "ship_to.name");
    let attention = opt_expr(c, &s.attention, "ship_to.attention");
    let phone = opt_expr(c, &s.phone, "ship_to.phone");
    let email = opt_expr(c, &s.email, "ship_to.email");
    let tax_id = opt_expr(c, &s.tax_id, "ship_to.tax_id");
    if s.address_lines.is_empty() || s.address_lines.len() > 3 {
        c.err(
            "ship_to.address_lines",
            "map 1 to 3 address lines",
            "list the address line fields",
        );
    }
    let mut lines = Vec::new();
    let mut ok = true;
    for (i, l) in s.address_lines.iter().enumerate() {
        match c.expr(l, &format!("ship_to.address_lines[{i}]")) {
            Some(e) => lines.push(e),
            None => ok = false,
        }
    }
    let city = c.expr(&s.city, "ship_to.city");
    let state = opt_expr(c, &s.state, "ship_to.state");
    let postal = opt_expr(c, &s.postal_code, "ship_to.postal_code");
    let country = c.expr(&s.country, "ship_to.country");
    let residential = opt_expr(c, &s.residential, "ship_to.residential");
    let po_box = opt_expr(c, &s.po_box, "ship_to.po_box");
    if !ok {
        return None;
    }
    Some(CParty {
        name: name?,
        attention: attention?,
        phone: phone?,
        email: email?,
        tax_id: tax_id?,
        lines,
        city: city?,
        state: state?,
        postal: postal?,
        country: country?,
        residential: residential?,
        po_box: po_box?,
    })
}

pub(super) fn compile_packages(c: &mut Compiler<'_>, s: spec::PackagesSpec) -> Option<CPackages> {
    let for_each = c.path(&s.for_each, "packages.for_each");
    c.scope = for_each.clone();
    let line_id = c.expr(&s.line_id, "packages.line_id");
    let weight = c.expr(&s.weight.value, "packages.weight.value");
    let weight_unit = c.expr(&s.weight.unit, "packages.weight.unit");
    let weight_to = match &s.weight.convert_to {
        None => Some(None),
        Some(u) => match parse_weight_unit(u) {
            Some(u) => Some(Some(u)),
            None => {
                c.err(
                    "packages.weight.convert_to",
                    format!("unknown weight unit `{u}`"),
                    "use LB, KG or OZ",
                );
                None
            }
        },
    };
    let dims = match s.dimensions {
        None => Some(None),
        Some(d) => {
            let to = match &d.convert_to {
                None => Some(None),
                Some(u) => match parse_dim_unit(u) {
                    Some(u) => Some(Some(u)),
                    None => {
                        c.err(
                            "packages.dimensions.convert_to",
                            format!("unknown length unit `{u}`"),
                            "use IN or CM",
                        );
                        None
                    }
                },
            };
            let length = c.expr(&d.length, "packages.dimensions.length");
            let width = c.expr(&d.width, "packages.dimensions.width");
            let height = c.expr(&d.height, "packages.dimensions.height");
            let unit = c.expr(&d.unit, "packages.dimensions.unit");
            match (length, width, height, unit, to) {
                (Some(length), Some(width), Some(height), Some(unit), Some(to)) => {
                    Some(Some(CDims {
                        length,
                        width,
                        height,
                        unit,
                        to,
                    }))
                }
                _ => None,
            }
        }
    };
    let packaging = c.expr(&s.packaging, "packages.packaging");
    let declared = match s.declared_value {
        None => Some(None),
        Some(m) => {
            let a = c.expr(&m.amount, "packages.declared_value.amount");
            let cur = c.expr(&m.currency, "packages.declared_value.currency");
            a.zip(cur).map(Some)
        }
    };
    let description = opt_expr(c, &s.description, "packages.description");
    c.scope = None;
    Some(CPackages {
        for_each: for_each?,
        line_id: line_id?,
        weight: weight?,
        weight_unit: weight_unit?,
        weight_to: weight_to?,
        dims: dims?,
        packaging: packaging?,
        declared: declared?,
        description: description?,
    })
}

pub(super) fn compile_choice(
    c: &mut Compiler<'_>,
    ch: spec::ServiceChoice,
    key: &str,
) -> Option<ServiceSelection> {
    let check = |c: &mut Compiler<'_>, code: &str, k: &str| {
        if rules::known_service(code) {
            true
        } else {
            c.err(k, format!("`{code}` is not a UPS service code this engine ships"), "use a code from UPS-REFERENCE §2.3, e.g. \"03\" Ground, \"11\" Standard, \"07\" Worldwide Express (quote it)");
            false
        }
    };
    match ch {
        spec::ServiceChoice::Code(code) => {
            check(c, &code, key).then_some(ServiceSelection::Fixed { code })
        }
        spec::ServiceChoice::Cheapest(ch) => {
            let mut ok = true;
            for code in &ch.allowed {
                ok &= check(c, code, &format!("{key}.allowed"));
            }
            if let Some(f) = &ch.fallback {
                ok &= check(c, f, &format!("{key}.fallback"));
            }
            if ch.cheapest_within_days == 0 {
                ok = false;
                c.err(
                    &format!("{key}.cheapest_within_days"),
                    "must be at least 1",
                    "write e.g. `cheapest_within_days: 3`",
                );
            }
            ok.then_some(ServiceSelection::CheapestWithin {
                max_business_days: ch.cheapest_within_days,
                allowed: ch.allowed,
                fallback: ch.fallback,
            })
        }
    }
}

pub(super) fn compile_service(c: &mut Compiler<'_>, s: spec::ServiceSpec) -> Option<CService> {
    let ship_via = c.expr(&s.ship_via, "service.ship_via");
    let mut table = HashMap::new();
    let mut ok = true;
    for (k, ch) in s.table {
        match compile_choice(c, ch, &format!("service.table.{k}")) {
            Some(sel) => {
                table.insert(k, sel);
            }
            None => ok = false,
        }
    }
    let default = match s.default {
        None => Some(None),
        Some(ch) => compile_choice(c, ch, "service.default").map(Some),
    };
    if !ok {
        return None;
    }
    Some(CService {
        ship_via: ship_via?,
        table,
        default: default?,
    })
}

pub(super) fn compile_refs(c: &mut Compiler<'_>, s: spec::ReferencesSpec) -> Option<CRefs> {
    let mut ok = true;
    let mut check_code = |c: &mut Compiler<'_>, code: &str, key: &str| {
        if !rules::REFERENCE_CODES.contains(&code) {
            ok = false;
            c.err(
                key,
                format!("`{code}` is not a UPS reference code"),
                format!("use one of {}", rules::REFERENCE_CODES.join(", ")),
            );
        }
    };
    check_code(
        c,
        &s.shipment_number.code,
        "references.shipment_number.code",
    );
    let mut others = Vec::new();
    let mut barcodes = s.shipment_number.barcode as usize;
    for (i, r) in s.others.into_iter().enumerate() {
        let key = format!("references.others[{i}]");
        check_code(c, &r.code, &format!("{key}.code"));
        barcodes += r.barcode as usize;
        if let Some(value) = c.expr(&r.value, &format!("{key}.value")) {
            others.push(CRef {
                code: r.code,
                value,
                barcode: r.barcode,
                optional: r.optional,
            });
        }
    }
    if barcodes > 1 {
        c.err(
            "references",
            "more than one reference has `barcode: true`; UPS barcodes one per shipment",
            "keep `barcode: true` on one reference",
        );
    }
    ok.then_some(CRefs {
        number_code: s.shipment_number.code,
        number_barcode: s.shipment_number.barcode,
        others,
    })
}

pub(super) fn compile_label(c: &mut Compiler<'_>, s: spec::LabelSpecYaml) -> Option<LabelSpec> {
    let Some(format) = LabelFormat::parse(&s.format) else {
        c.err(
            "label.format",
            format!("unknown label format `{}`", s.format),
            "use GIF, PNG, ZPL, EPL or SPL",
        );
        return None;
    };
    let stock = s.stock.map(|st| (st.height, st.width));
    if let Some((h, w)) = stock {
        if !(h == 6 || h == 8) || w != 4 {
            c.err(
                "label.stock",
                "UPS label stock is 6x4 or 8x4 (height x width)",
                "write `stock: {height: 6, width: 4}`",
            );
        }
    }
    if format.is_thermal() && stock.is_none() {
        c.err(
            "label",
            format!("{} labels need a stock size", format.ups_code()),
            "add `stock: {height: 6, width: 4}`",
        );
    }
    Some(LabelSpec {
        format,
        stock_size: stock,
    })
}

pub(super) fn compile_intl(c: &mut Compiler<'_>, s: spec::InternationalSpec) -> Option<CIntl> {
    let description = c.expr(&s.description, "international.description");
    for f in &s.form_types {
        if !FORM_TYPES.contains(&f.as_str()) {
            c.err(
                "international.form_types",
                format!("unknown form type `{f}`"),
                "use \"01\" (invoice), \"03\", \"04\", \"05\", \"06\", …",
            );
        }
    }
    if s.form_types.is_empty() {
        c.err(
            "international.form_types",
            "no form types",
            "write `form_types: [\"01\"]` for a commercial invoice",
        );
    }
    if s.form_types.iter().any(|f| f == "01") && s.form_types.iter().any(|f| f == "05") {
        c.err(
            "international.form_types",
            "invoice (01) and partial invoice (05) exclude each other",
            "keep one of them",
        );
    }
    let max_lines = match s.max_lines {
        None => crate::model::split::default_max_lines(),
        Some(n) if n == 0 || n as usize > crate::model::split::SPEC_MAX_PRODUCTS => {
            c.err(
                "international.max_lines",
                format!(
                    "max_lines {n} is outside 1..={}: UPS takes at most {} customs lines per shipment (Shipping.yaml, InternationalForms.Product)",
                    crate::model::split::SPEC_MAX_PRODUCTS,
                    crate::model::split::SPEC_MAX_PRODUCTS
                ),
                "write `max_lines: 50` or less; with more lines use `over_limit: split` or `merge_by_hs_code`",
            );
            crate::model::split::default_max_lines()
        }
        Some(n) => n as usize,
    };
    let invoice_number = opt_expr(c, &s.invoice_number, "international.invoice_number");
    let invoice_date = opt_expr(c, &s.invoice_date, "international.invoice_date");
    let currency = c.expr(&s.currency, "international.currency");
    let reason = c.expr(&s.reason_for_export, "international.reason_for_export");
    let terms = opt_expr(c, &s.terms_of_shipment, "international.terms_of_shipment");
    let paperless = s.paperless.map(|p| super::paperless::compile(c, p));
    let l = s.lines;
    let for_each = c.path(&l.for_each, "international.lines.for_each");
    c.scope = for_each.clone();
    let ldesc = c.expr(&l.description, "international.lines.description");
    let hs = opt_expr(c, &l.hs_code, "international.lines.hs_code");
    let origin = c.expr(&l.origin_country, "international.lines.origin_country");
    let qty = c.expr(&l.quantity, "international.lines.quantity");
    let unit = opt_expr(c, &l.unit, "international.lines.unit");
    let uv = c.expr(&l.unit_value, "international.lines.unit_value");
    let part = opt_expr(c, &l.part_number, "international.lines.part_number");
    c.scope = None;
    Some(CIntl {
        description: description?,
        form_types: s.form_types,
        invoice_number: invoice_number?,
        invoice_date: invoice_date?,
        currency: currency?,
        reason: reason?,
        terms: terms?,
        over_limit: s.over_limit,
        max_lines,
        paperless: paperless.map(|p| p.ok_or(())).transpose().ok()?,
        lines: CLines {
            for_each: for_each?,
            description: ldesc?,
            hs_code: hs?,
            origin: origin?,
            quantity: qty?,
            unit: unit?,
            unit_value: uv?,
            part_number: part?,
        },
    })
}

/// Check that every field path of the mapping exists in at least one of `samples`
/// (decoded records). Returns one error per path found nowhere.
pub fn validate_paths_against(mapping: &Mapping, samples: &[&Json]) -> Vec<MappingError> {
    unresolved_paths(&mapping.file, mapping.paths(), samples)
}

pub(super) fn unresolved_paths(
    file: &str,
    paths: &[PathUse],
    samples: &[&Json],
) -> Vec<MappingError> {
    let mut out = Vec::new();
    if samples.is_empty() {
        return out;
    }
    for u in paths {
        let found = samples.iter().any(|rec| match &u.scope {
            None => u.path.exists_in(rec),
            Some(arr) => match arr.get(rec).and_then(Json::as_array) {
                Some(items) if !items.is_empty() => items.iter().any(|it| u.path.exists_in(it)),
                // No element to look into in this record: cannot disprove.
                _ => false,
            },
        });
        if !found {
            out.push(MappingError {
                file: file.to_string(),
                line: u.line,
                key: u.key.clone(),
                message: format!(
                    "field path `{}` resolves in no fixture record{}",
                    u.path.text,
                    u.scope.as_ref().map(|s| format!(" (inside `{}` elements)", s.text)).unwrap_or_default()
                ),
                fix: "check the spelling against a decoded record (`upsync mapping test MAPPING RECORD.json`), or add a fixture whose record has the field".into(),
            });
        }
    }
    out
}
