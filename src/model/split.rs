//! Split shipments: one ERP record whose customs lines exceed what one UPS invoice may
//! carry goes to UPS as several shipments ("parts"), when the mapping says
//! `international.over_limit: split`.
//!
//! The limit: `Shipping.yaml`, `InternationalForms.Product` is declared with cardinality
//! `maximum: 50` (the schema writes `maximum` where it means `maxItems`; UPS-REFERENCE §2.2
//! quotes 100 for an invoice, the OpenAPI document 50 — upsync keeps to 50, which is right
//! under both). The mapping's `international.max_lines` (default 50) may lower it, never
//! raise it.
//!
//! The algorithm ([`plan`]), pure and deterministic (the same shipment always gives the
//! same parts, so a part's reference names the same goods after a restart):
//! 1. `n` = ⌈lines / max_lines⌉ parts; 1 part (no split) when the lines fit.
//! 2. Customs lines keep their ERP order and are dealt out in contiguous runs as even as
//!    possible (120 lines at 50 → 40 + 40 + 40, 101 → 34 + 34 + 33): every invoice is
//!    well under the limit and no part is a stub.
//! 3. Packages likewise, in contiguous runs as even as possible, so every part has at least
//!    one package. Customs lines are not tied to packages in the ERP records upsync reads
//!    (neither Acumatica's `Packages` nor NetSuite's package lines list contents), so the
//!    packer is trusted to have packed the goods of each run together, in order — the
//!    operator guide says so (docs/split-shipments.md).
//! 4. Fewer packages than parts is refused (`customs_split_needs_packages`): a UPS shipment
//!    needs a package, and inventing packages (weights, dimensions) would put false data on
//!    a customs declaration. The fix is to pack the goods in at least `n` packages, or to
//!    merge lines (`over_limit: merge_by_hs_code`).
//! 5. Each part is the whole shipment (parties, service, payment, references) with its
//!    own packages and lines: the invoice totals of a part are the sum of its lines
//!    (computed by the Ship builder from the lines), the invoice number gets a `-kofn`
//!    suffix so each invoice is distinct (≤ 35 characters), and package declared values
//!    stay with their packages.
//!
//! Must never: drop or duplicate a line or a package, or do I/O.

use super::Shipment;

/// The cardinality of `InternationalForms.Product` in Shipping.yaml.
pub const SPEC_MAX_PRODUCTS: usize = 50;

/// Default `international.max_lines`.
pub fn default_max_lines() -> usize {
    SPEC_MAX_PRODUCTS
}

/// Why a shipment cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("{lines} customs lines need {parts} UPS shipments of at most {max} lines, but the record has {packages} package(s); each UPS shipment needs at least one package")]
    TooFewPackages {
        lines: usize,
        max: usize,
        parts: usize,
        packages: usize,
    },
}

impl SplitError {
    /// Stable code (docs/error-codes.md).
    pub fn code(&self) -> &'static str {
        match self {
            SplitError::TooFewPackages { .. } => "customs_split_needs_packages",
        }
    }

    /// What the warehouse does about it.
    pub fn fix(&self) -> String {
        match self {
            SplitError::TooFewPackages { parts, .. } => format!(
                "pack the goods in at least {parts} packages (one UPS shipment each), or set `over_limit: merge_by_hs_code`"
            ),
        }
    }
}

/// Customs lines per UPS shipment for this shipment (`max_lines`, capped by the spec).
pub fn line_limit(s: &Shipment) -> usize {
    s.international.as_ref().map_or(SPEC_MAX_PRODUCTS, |i| {
        i.max_lines.clamp(1, SPEC_MAX_PRODUCTS)
    })
}

/// How many UPS shipments this shipment needs: 1 unless it is international, marked
/// `split` and over the limit.
pub fn parts_needed(s: &Shipment) -> usize {
    match &s.international {
        Some(i) if i.split => i.products.len().div_ceil(line_limit(s)).max(1),
        _ => 1,
    }
}

/// `len` items in `n` contiguous runs as even as possible: the (start, end) of run `k`.
fn run(len: usize, n: usize, k: usize) -> (usize, usize) {
    let base = len / n;
    let extra = len % n;
    let start = k * base + k.min(extra);
    let size = base + usize::from(k < extra);
    (start, start + size)
}

/// The parts of a shipment: `None` when it goes to UPS whole (no split needed), else
/// one shipment per part in order (see the module doc for the algorithm).
pub fn plan(s: &Shipment) -> Result<Option<Vec<Shipment>>, SplitError> {
    let n = parts_needed(s);
    if n <= 1 {
        return Ok(None);
    }
    let intl = s
        .international
        .as_ref()
        .expect("parts_needed > 1 is international");
    let lines = intl.products.len();
    if s.packages.len() < n {
        return Err(SplitError::TooFewPackages {
            lines,
            max: line_limit(s),
            parts: n,
            packages: s.packages.len(),
        });
    }
    let mut parts = Vec::with_capacity(n);
    for k in 0..n {
        let mut p = s.clone();
        let (a, b) = run(s.packages.len(), n, k);
        p.packages = s.packages[a..b].to_vec();
        let i = p.international.as_mut().expect("international");
        let (a, b) = run(lines, n, k);
        i.products = intl.products[a..b].to_vec();
        i.invoice_number = intl
            .invoice_number
            .as_ref()
            .map(|inv| part_invoice_number(inv, k + 1, n));
        parts.push(p);
    }
    Ok(Some(parts))
}

/// `INV-1` part 2 of 3 → `INV-1-2of3`, shortened to UPS's 35 characters.
fn part_invoice_number(inv: &str, k: usize, n: usize) -> String {
    let suffix = format!("-{k}of{n}");
    let keep = 35usize.saturating_sub(suffix.chars().count());
    let head: String = inv.chars().take(keep).collect();
    format!("{head}{suffix}")
}

/// The reference of part `k` (1-based) of `n` of a job whose own reference is `job_ref`
/// (`UPSYNC…-P2of3`): unique per part, so each part is reconciled on its own.
pub fn part_reference(job_ref: &str, k: usize, n: usize) -> String {
    format!("{job_ref}-P{k}of{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{International, Package, Product, Weight, WeightUnit};
    use rust_decimal::Decimal;

    fn shipment(lines: usize, packages: usize, max: usize) -> Shipment {
        let mut s: Shipment = serde_json::from_value(serde_json::json!({
            "source": "acumatica", "record_id": "r1", "number": "SH001",
            "account_number": "A1B2C3",
            "shipper": {"name": "Shipper", "address": {"lines": ["1 Main St"], "city": "Atlanta", "state": "GA", "postal_code": "30301", "country": "US"}},
            "ship_to": {"name": "Buyer", "address": {"lines": ["1 King St"], "city": "Toronto", "state": "ON", "postal_code": "M5H1A1", "country": "CA"}},
            "service": {"mode": "fixed", "code": "11"},
            "packages": [], "references": [],
            "label": {"format": "GIF"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.packages = (0..packages)
            .map(|i| Package {
                erp_line_id: format!("{}", i + 1),
                weight: Weight {
                    value: Decimal::from(2),
                    unit: WeightUnit::Lbs,
                },
                dimensions: None,
                packaging: "02".into(),
                description: None,
                declared_value: None,
            })
            .collect();
        s.international = Some(International {
            form_types: vec!["01".into()],
            paperless: None,
            invoice_number: Some("INV-1".into()),
            invoice_date: None,
            currency: "USD".into(),
            reason_for_export: "SALE".into(),
            terms_of_shipment: None,
            products: (0..lines)
                .map(|i| Product {
                    description: format!("Item {i}"),
                    hs_code: Some("847130".into()),
                    origin_country: "US".into(),
                    quantity: Decimal::from(2),
                    unit_of_measure: "PCS".into(),
                    unit_value: Decimal::from(i as u64 + 1),
                    part_number: None,
                })
                .collect(),
            max_lines: max,
            split: true,
        });
        s
    }

    fn sizes(parts: &[Shipment]) -> Vec<(usize, usize)> {
        parts
            .iter()
            .map(|p| {
                (
                    p.international.as_ref().unwrap().products.len(),
                    p.packages.len(),
                )
            })
            .collect()
    }

    fn total(s: &Shipment) -> Decimal {
        s.international
            .as_ref()
            .unwrap()
            .products
            .iter()
            .map(|p| p.quantity * p.unit_value)
            .sum()
    }

    /// 120 lines at 50 → 3 parts of 40, packages dealt 2/2/2, nothing lost or repeated.
    #[test]
    fn hundred_twenty_lines_make_three_parts() {
        let s = shipment(120, 6, 50);
        let parts = plan(&s).unwrap().expect("split");
        assert_eq!(sizes(&parts), vec![(40, 2), (40, 2), (40, 2)]);
        let all: Vec<_> = parts
            .iter()
            .flat_map(|p| p.international.as_ref().unwrap().products.clone())
            .collect();
        assert_eq!(all, s.international.as_ref().unwrap().products);
        let pk: Vec<_> = parts
            .iter()
            .flat_map(|p| p.packages.iter().map(|x| x.erp_line_id.clone()))
            .collect();
        assert_eq!(pk, vec!["1", "2", "3", "4", "5", "6"]);
        // Invoice totals per part are the sums of their lines and add up to the whole.
        assert_eq!(parts.iter().map(total).sum::<Decimal>(), total(&s));
        assert_eq!(
            total(&parts[0]),
            (1..=40).map(|v| Decimal::from(2 * v)).sum()
        );
        let invs: Vec<_> = parts
            .iter()
            .map(|p| {
                p.international
                    .as_ref()
                    .unwrap()
                    .invoice_number
                    .clone()
                    .unwrap()
            })
            .collect();
        assert_eq!(invs, vec!["INV-1-1of3", "INV-1-2of3", "INV-1-3of3"]);
    }

    /// At the limit nothing is split; one over makes two parts.
    #[test]
    fn fifty_is_one_part_fifty_one_is_two() {
        assert_eq!(plan(&shipment(50, 1, 50)).unwrap(), None);
        let parts = plan(&shipment(51, 3, 50)).unwrap().expect("split");
        assert_eq!(sizes(&parts), vec![(26, 2), (25, 1)]);
        assert_eq!(
            plan(&shipment(101, 3, 50)).unwrap().map(|p| sizes(&p)),
            Some(vec![(34, 1), (34, 1), (33, 1)])
        );
    }

    /// A lower `max_lines` is honoured; a higher one is capped at the spec's 50.
    #[test]
    fn max_lines_lowers_never_raises() {
        let parts = plan(&shipment(45, 3, 20)).unwrap().expect("split");
        assert_eq!(sizes(&parts), vec![(15, 1), (15, 1), (15, 1)]);
        assert_eq!(parts_needed(&shipment(120, 3, 500)), 3);
    }

    /// Not marked `split` (refuse / merge): always one shipment, the rule check refuses.
    #[test]
    fn without_split_nothing_is_split() {
        let mut s = shipment(120, 6, 50);
        s.international.as_mut().unwrap().split = false;
        assert_eq!(plan(&s).unwrap(), None);
    }

    /// Fewer packages than parts: a business error naming the numbers and the fix.
    #[test]
    fn too_few_packages_is_refused_with_the_fix() {
        let e = plan(&shipment(120, 2, 50)).unwrap_err();
        assert_eq!(e.code(), "customs_split_needs_packages");
        assert!(e
            .to_string()
            .contains("120 customs lines need 3 UPS shipments"));
        assert!(e.fix().contains("at least 3 packages"));
    }

    /// Part references are distinct, ≤ 35 characters, and invoice numbers stay ≤ 35.
    #[test]
    fn part_references_and_invoice_numbers_fit_ups() {
        let r = part_reference("UPSYNC0123456789ABCD", 2, 3);
        assert_eq!(r, "UPSYNC0123456789ABCD-P2of3");
        assert!(r.len() <= 35);
        let long = "X".repeat(40);
        assert_eq!(part_invoice_number(&long, 12, 12).chars().count(), 35);
    }
}
