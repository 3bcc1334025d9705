//! Address Validation (`POST /api/addressvalidation/{version}/{1|2|3}`, UPS-REFERENCE §7)
//! with the deterministic address book of `docs/conventions.md`:
//! * only US and PR are covered (other countries → 400 `264002`);
//! * an address line containing `Nowhere` → `NoCandidatesIndicator`;
//! * containing `Ambiguous` → `AmbiguousAddressIndicator` + 2–3 candidates;
//! * otherwise valid; residential (`"2"`) when a line contains `Apt`, `Unit`, `Lane`, ` Ln`,
//!   `Court`, ` Ct`, `Drive`, ` Dr`, `Way` or `Circle`, commercial (`"1"`) otherwise.
//!
//! `v2` answers arrays; `v1` answers a bare object for one candidate and a string for one
//! address line.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::rate::items;
use super::track::fnv;
use super::{
    check_schema, one_or_many, parse_json, schema, tolerance_alerts, ups_error, version_number,
    UpsState,
};

const RESIDENTIAL_MARKERS: &[&str] = &[
    "Apt", "Unit", "Lane", " Ln", "Court", " Ct", "Drive", " Dr", "Way", "Circle",
];

/// The `docs/conventions.md` residential rule (as written; all-uppercase lines match the
/// uppercase markers too).
pub fn is_residential(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        let upper_line = !l.chars().any(|c| c.is_ascii_lowercase());
        RESIDENTIAL_MARKERS
            .iter()
            .any(|m| l.contains(m) || (upper_line && l.contains(&m.to_ascii_uppercase())))
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct XavQuery {
    #[serde(default)]
    pub maximumcandidatelistsize: Option<usize>,
    #[serde(default)]
    pub regionalrequestindicator: Option<String>,
}

fn classification(residential: bool) -> Value {
    if residential {
        json!({"Code": "2", "Description": "Residential"})
    } else {
        json!({"Code": "1", "Description": "Commercial"})
    }
}

/// `POST /api/addressvalidation/{version}/{requestoption}`.
pub async fn xav(
    State(st): State<Arc<UpsState>>,
    Path((version, option)): Path<(String, String)>,
    Query(q): Query<XavQuery>,
    body: Bytes,
) -> Response {
    let arrays = match version_number(&version) {
        Some(1) => false,
        Some(2) => true,
        _ => {
            return ups_error(
                StatusCode::BAD_REQUEST,
                "10002",
                "Unsupported Address Validation version; use v2",
            )
        }
    };
    let option: u8 = match option.as_str() {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        _ => {
            return ups_error(
                StatusCode::BAD_REQUEST,
                "9264028",
                "Invalid request option: use 1 (validation), 2 (classification) or 3 (both)",
            )
        }
    };
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tolerances = match check_schema(&st, schema::BodySchema::Xav, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let a = &body["XAVRequest"]["AddressKeyFormat"];
    let country = a["CountryCode"].as_str().unwrap_or("").to_ascii_uppercase();
    if country != "US" && country != "PR" {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "264002",
            "XAVRequest.AddressKeyFormat.CountryCode is not supported: Address Validation covers US and PR only",
        );
    }
    let lines: Vec<String> = items(a.get("AddressLine"))
        .into_iter()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    let city = a["PoliticalDivision2"]
        .as_str()
        .unwrap_or("")
        .to_ascii_uppercase();
    let state = a["PoliticalDivision1"]
        .as_str()
        .unwrap_or("")
        .to_ascii_uppercase();
    let zip = a["PostcodePrimaryLow"].as_str().unwrap_or("").to_string();
    let residential = is_residential(&lines);
    let has = |w: &str| lines.iter().any(|l| l.contains(w));
    let max = q.maximumcandidatelistsize.unwrap_or(15).min(50);
    let h = fnv(&lines.join("|"));
    let ext = format!("{:04}", h % 10_000);
    let candidate = |line: String, ext: String, zip: String| {
        let mut c = json!({
            "AddressKeyFormat": {
                "AddressLine": one_or_many(vec![json!(line)], arrays),
                "Region": format!("{city} {state} {zip}-{ext}"),
                "PoliticalDivision2": city,
                "PoliticalDivision1": state,
                "PostcodePrimaryLow": zip,
                "PostcodeExtendedLow": ext,
                "CountryCode": country,
            }
        });
        if option == 3 {
            c["AddressClassification"] = classification(residential);
        }
        c
    };
    let first_line = lines
        .first()
        .cloned()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let mut out = json!({
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
    });
    let alerts = tolerance_alerts(&tolerances);
    if !alerts.is_empty() {
        out["Response"]["Alert"] = one_or_many(alerts, arrays);
    }
    let candidates: Vec<Value> = if has("Nowhere") {
        out["NoCandidatesIndicator"] = json!("");
        Vec::new()
    } else if has("Ambiguous") {
        out["AmbiguousAddressIndicator"] = json!("");
        let n = 2 + (h % 2) as usize;
        (0..n)
            .map(|i| {
                let line = format!(
                    "{} {}",
                    first_line.replace("AMBIGUOUS", "").trim(),
                    ["N", "S", "E"][i]
                );
                candidate(
                    line,
                    format!("{:04}", (h + i as u64 * 97) % 10_000),
                    zip.clone(),
                )
            })
            .collect()
    } else {
        out["ValidAddressIndicator"] = json!("");
        vec![candidate(first_line.clone(), ext, zip.clone())]
    };
    if option >= 2 && !has("Nowhere") {
        out["AddressClassification"] = classification(residential);
    }
    let candidates: Vec<Value> = candidates.into_iter().take(max).collect();
    if !candidates.is_empty() {
        out["Candidate"] = one_or_many(candidates, arrays);
    }
    (StatusCode::OK, Json(json!({"XAVResponse": out}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residential_markers() {
        let r = |s: &str| is_residential(&[s.to_string()]);
        assert!(r("12 Oak Lane"));
        assert!(r("5 Main St Apt 4"));
        assert!(r("9 Elm Dr"));
        assert!(r("9 ELM DR"));
        assert!(!r("2311 York Rd"));
        assert!(!r("123 Main St"));
    }
}
