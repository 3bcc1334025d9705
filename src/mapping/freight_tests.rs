//! Tests of the `freight:` and `billing:` sections (compile, basis, fallback, currency,
//! per-ship-from override, payers).

use rust_decimal::Decimal;
use serde_json::json;
use std::str::FromStr;

use super::super::Mapping;
use crate::model::{Alert, Charges, ErpRecord, Money, PackageResult, Payer, RateBasis, ShipResult};

const ACU: &str = include_str!("../../mappings/acumatica-shipment.yaml");
const SAMPLE: &str = include_str!("../../mappings/samples/acumatica-shipment.json");

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn money(a: &str, c: &str) -> Money {
    Money {
        amount: d(a),
        currency: c.into(),
    }
}

fn record(m: &Mapping, patch: serde_json::Value) -> ErpRecord {
    let mut data: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    for (k, v) in patch.as_object().unwrap() {
        data[k] = v.clone();
    }
    m.record_from_data("acu", data)
}

fn result(total: &str, negotiated: Option<&str>, alert: bool) -> ShipResult {
    ShipResult {
        shipment_id: "1Z123X560300000018".into(),
        service_code: "03".into(),
        packages: vec![PackageResult {
            tracking_number: "1Z123X560300000018".into(),
            erp_line_id: "1".into(),
            label: None,
        }],
        charges: Charges {
            total: Some(money(total, "USD")),
            negotiated: negotiated.map(|n| money(n, "USD")),
            ..Default::default()
        },
        alerts: if alert {
            vec![Alert {
                code: "120900".into(),
                description: "User Id and Shipper Number combination is not qualified to receive negotiated rates".into(),
            }]
        } else {
            vec![]
        },
        documents: vec![],
        paperless: None,
    }
}

fn field<'a>(wb: &'a crate::model::WriteBack, k: &str) -> Option<&'a serde_json::Value> {
    wb.fields.iter().find(|(f, _)| f == k).map(|(_, v)| v)
}

/// Guards the bundled demo rule end to end in the plan: account basis, +10 % + 1.00,
/// standard rounding, a JSON number in FreightPrice, UPS's figure in FreightCost, service
/// and quoted days written, error field cleared.
#[test]
fn account_basis_writes_the_marked_up_number() {
    let m = Mapping::from_str(ACU, "acumatica-shipment.yaml").unwrap();
    let rec = record(&m, json!({"BaseCurrencyID": "USD"}));
    // 24.99 × 1.10 + 1.00 = 28.489 → 28.49
    let (wb, out) =
        m.write_back_shipped_with(&rec, &result("34.71", Some("24.99"), false), Some(3));
    let out = out.unwrap();
    assert_eq!(field(&wb, "FreightPrice"), Some(&json!(28.49)));
    assert!(field(&wb, "FreightPrice").unwrap().is_number());
    assert_eq!(field(&wb, "FreightCost"), Some(&json!(24.99)));
    assert_eq!(
        field(&wb, "custom.Document.UsrUpsServiceUsed"),
        Some(&json!("03"))
    );
    assert_eq!(
        field(&wb, "custom.Document.UsrUpsTransitDays"),
        Some(&json!(3))
    );
    assert_eq!(field(&wb, "custom.Document.UsrUpsError"), Some(&json!("")));
    assert_eq!(field(&wb, "note"), None, "no note when nothing went wrong");
    assert_eq!(out.basis, RateBasis::Account);
    assert_eq!(out.written, Some(d("28.49")));
    assert_eq!(
        (out.list, out.account),
        (Some(d("34.71")), Some(d("24.99")))
    );
    assert_eq!(out.currency, "USD");
    assert_eq!(out.transit_days, Some(3));
}

/// Guards the fallback: account asked, UPS answered Alert 120900 without negotiated
/// charges → list used, reason on the outcome and in the ERP note, never silent.
#[test]
fn no_account_rate_falls_back_to_list_loudly() {
    let m = Mapping::from_str(ACU, "acumatica-shipment.yaml").unwrap();
    let rec = record(&m, json!({"WarehouseID": "WEST", "BaseCurrencyID": "USD"}));
    let (wb, out) = m.write_back_shipped_with(&rec, &result("24.99", None, true), None);
    let out = out.unwrap();
    assert_eq!(out.asked, RateBasis::Account);
    assert_eq!(out.basis, RateBasis::List);
    assert_eq!(out.account, None);
    assert!(out.fallback_reason.as_deref().unwrap().contains("120900"));
    assert_eq!(field(&wb, "FreightPrice"), Some(&json!(28.49)));
    let note = field(&wb, "note").unwrap().as_str().unwrap();
    assert!(
        note.contains("list rate") && note.contains("120900") && note.contains("456Y78"),
        "{note}"
    );
    // Without the alert the reason says what was missing.
    let (_, out) = m.write_back_shipped_with(&rec, &result("24.99", None, false), None);
    assert!(out
        .unwrap()
        .fallback_reason
        .unwrap()
        .contains("NegotiatedRateCharges"));
}

/// Guards the currency rule: a UPS charge in USD on a CAD document is refused with its
/// code in the error field and the note; no freight field is written; 1Z still is.
#[test]
fn another_currency_is_refused_not_converted() {
    let m = Mapping::from_str(ACU, "acumatica-shipment.yaml").unwrap();
    let rec = record(&m, json!({"BaseCurrencyID": "CAD"}));
    let (wb, out) = m.write_back_shipped_with(&rec, &result("34.71", Some("24.99"), false), None);
    let out = out.unwrap();
    let (code, msg) = out.refused.clone().unwrap();
    assert_eq!(code, "freight_currency_mismatch");
    assert!(
        msg.contains("USD") && msg.contains("CAD") && msg.contains("000123"),
        "{msg}"
    );
    assert_eq!(out.written, None);
    assert_eq!(field(&wb, "FreightPrice"), None);
    assert_eq!(field(&wb, "FreightCost"), None);
    let err = field(&wb, "custom.Document.UsrUpsError")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(err.starts_with("freight_currency_mismatch: "), "{err}");
    assert!(!wb.package_lines.is_empty(), "the 1Z is written regardless");
}

/// Guards the per-ship-from override (keys over the top level) and that list basis and
/// `down` rounding are honoured.
#[test]
fn a_ship_from_entry_overrides_the_rule() {
    let text = ACU.replace(
        "    WEST:\n      account: {literal: \"456Y78\"}\n",
        "    WEST:\n      account: {literal: \"456Y78\"}\n      freight: {rate: list, markup_percent: 0, markup_amount: 0, rounding: down, decimals: 1}\n",
    );
    let m = Mapping::from_str(&text, "acumatica-shipment.yaml").unwrap();
    let west = record(&m, json!({"WarehouseID": "WEST"}));
    let (wb, out) = m.write_back_shipped_with(&west, &result("13.579", None, false), None);
    assert_eq!(field(&wb, "FreightPrice"), Some(&json!(13.5)));
    let out = out.unwrap();
    assert_eq!(
        (out.asked, out.basis, out.fallback_reason),
        (RateBasis::List, RateBasis::List, None)
    );
    let main = record(&m, json!({}));
    let (wb, _) = m.write_back_shipped_with(&main, &result("34.71", Some("24.99"), false), None);
    assert_eq!(field(&wb, "FreightPrice"), Some(&json!(28.49)));
}

/// Guards `upsync check` for the section: every bad key is reported with its line.
#[test]
fn bad_freight_config_is_reported_key_by_key() {
    let text = ACU
        .replace("  rate: account\n", "  rate: contract\n")
        .replace("  rounding: standard\n", "  rounding: nearest\n")
        .replace(
            "  decimals: 2\n  include_taxes",
            "  decimals: 9\n  include_taxes",
        )
        .replace("  markup_amount: \"1.00\"\n", "  markup_amount: lots\n");
    let errs = Mapping::from_str(&text, "acumatica-shipment.yaml").unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for k in [
        "freight.rate",
        "freight.rounding",
        "freight.decimals",
        "freight.markup_amount",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert!(errs.0.iter().all(|e| e.line > 1));
    let text = ACU.replace("  field: FreightPrice\n", "");
    let errs = Mapping::from_str(&text, "acumatica-shipment.yaml").unwrap_err();
    assert!(errs.0.iter().any(|e| e.key == "freight.field"));
}

const BILLING: &str = "
billing:
  transportation:
    payer: custom.Document.UsrPayer
    account: custom.Document.UsrPayerAccount
    postal_code: custom.Document.UsrPayerZip
    country: custom.Document.UsrPayerCountry
  duties: {incoterm: custom.Document.UsrIncoterm}
";

/// Guards the billing section: third party with account, DDP → shipper pays duties,
/// a missing payer account is a record error naming the field, DAP leaves UPS's default.
#[test]
fn billing_payers_come_from_the_record() {
    let m = Mapping::from_str(&format!("{ACU}{BILLING}"), "acumatica-shipment.yaml").unwrap();
    let custom = |payer: &str, acct: &str, term: &str| {
        json!({"custom": {"Document": {"UsrCustomerPO": "PO-1", "UsrPayer": payer, "UsrPayerAccount": acct,
            "UsrPayerZip": "30005", "UsrPayerCountry": "US", "UsrIncoterm": term}}})
    };
    let sh = m
        .to_shipment(&record(&m, custom("third_party", "A1B2C3", "DDP")))
        .unwrap();
    assert_eq!(
        sh.billing.transportation,
        Payer::ThirdParty {
            account: "A1B2C3".into(),
            postal_code: "30005".into(),
            country: "US".into()
        }
    );
    assert_eq!(sh.billing.duties, Some(Payer::Shipper));
    let sh = m.to_shipment(&record(&m, custom("", "", "DAP"))).unwrap();
    assert_eq!(sh.billing.transportation, Payer::Shipper);
    assert_eq!(sh.billing.duties, None);
    let errs = m
        .to_shipment(&record(&m, custom("receiver", "", "DAP")))
        .unwrap_err();
    let e = errs
        .0
        .iter()
        .find(|e| e.code == "billing_account_missing")
        .unwrap();
    assert_eq!(e.field.as_deref(), Some("custom.Document.UsrPayerAccount"));
    let errs = m
        .to_shipment(&record(&m, custom("collect", "A1B2C3", "XYZ")))
        .unwrap_err();
    let codes: Vec<&str> = errs.0.iter().map(|e| e.code.as_str()).collect();
    assert!(
        codes.contains(&"billing_payer_unknown") && codes.contains(&"incoterm_unknown"),
        "{codes:?}"
    );
}
