//! The one table of upsync's stable error codes.
//!
//! A stable code (`ups_shipto_address_invalid`, `package_weight_missing`, `erp_auth_failed`)
//! is what upsync writes back onto an ERP record when it cannot ship it, what `upsync jobs
//! show` prints, what logs carry as `code=` and what the Track Alert webhook answers with.
//! Admins search for them, so a code never changes its spelling or its meaning.
//!
//! The codes are produced where the failure is understood (the UPS client, the source
//! connectors, the mapping engine, the pipeline, the store, the webhook); this table is the
//! registry they must all appear in. It is the source of truth for
//! [`docs/error-codes.md`](../../docs/error-codes.md), which [`render_markdown`] generates,
//! and `tests/house/error_codes.rs` fails when a code is used in `src/` but missing here, when a
//! code here is no longer used, or when the docs table is out of date.
//!
//! Adding a code: add a [`CodeInfo`] to [`CODES`] under its area, then run
//! `UPSYNC_BLESS=1 cargo test --test house` to regenerate the docs table.
//!
//! This module does no I/O and knows no other layer: it is data.

use super::ErrorClass;

/// Which part of upsync produces a code (the section of the docs table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// The UPS client (`src/ups/error.rs`) and the pipeline's UPS adapter.
    Ups,
    /// A source connector (Acumatica, NetSuite): `src/sources/mod.rs`.
    Erp,
    /// The mapping engine and its rule checks (`src/mapping/`).
    Mapping,
    /// The pipeline's own decisions (`src/pipeline/`).
    Pipeline,
    /// The state store (`src/store/`).
    Store,
    /// The Track Alert webhook's answers (`src/tracking/`).
    Webhook,
    /// The ERP push receiver's answers (`src/push/`).
    Push,
}

impl Area {
    /// Every area, in the order of the docs table.
    pub const ALL: [Area; 7] = [
        Area::Ups,
        Area::Erp,
        Area::Mapping,
        Area::Pipeline,
        Area::Store,
        Area::Webhook,
        Area::Push,
    ];

    /// Section title in the docs table.
    pub fn title(self) -> &'static str {
        match self {
            Area::Ups => "UPS",
            Area::Erp => "ERP connectors",
            Area::Mapping => "Mapping (record data and mapping rules)",
            Area::Pipeline => "Pipeline",
            Area::Store => "State store",
            Area::Webhook => "Track Alert webhook",
            Area::Push => "ERP push notifications",
        }
    }

    /// Where in the source the codes of this area are produced.
    pub fn origin(self) -> &'static str {
        match self {
            Area::Ups => "`src/ups/error.rs` (`UpsError::code`), `src/pipeline/adapters.rs`",
            Area::Erp => "`src/sources/mod.rs` (`SourceError::code`)",
            Area::Mapping => "`src/mapping/mod.rs`, `src/mapping/rules.rs`; every mapping failure is dead-lettered as business",
            Area::Pipeline => "`src/pipeline/engine.rs`, `src/pipeline/ports.rs`",
            Area::Store => "`src/store/mod.rs` (`StoreError::code`); the daemon stops, `upsync store verify` explains",
            Area::Webhook => "`src/tracking/event.rs` (`EventError::code`), `src/tracking/webhook.rs`; answered to UPS in the error body, logged as `code=`",
            Area::Push => "`src/push/receive.rs`; answered to the ERP in the error body, counted in `upsync_push_requests`, logged as `code=` (at most one line a minute)",
        }
    }
}

/// One stable code: what it means and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code itself, snake_case, never renamed.
    pub code: &'static str,
    /// What the pipeline does with it (the class the producing error reports).
    pub class: ErrorClass,
    /// Which part of upsync produces it.
    pub area: Area,
    /// What happened, in one sentence.
    pub meaning: &'static str,
    /// What the admin or the warehouse does about it.
    pub fix: &'static str,
}

const fn c(
    code: &'static str,
    class: ErrorClass,
    area: Area,
    meaning: &'static str,
    fix: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        class,
        area,
        meaning,
        fix,
    }
}

use Area::{Erp, Mapping, Pipeline, Push, Store, Ups, Webhook};
use ErrorClass::{Auth, Business, Config, Transient};

/// Every stable code upsync produces, grouped by area.
#[rustfmt::skip]
pub const CODES: &[CodeInfo] = &[
    // ── UPS ─────────────────────────────────────────────────────────────────────────
    c("ups_auth", Auth, Ups,
      "UPS refused the OAuth credentials (401 on the token call or an API call).",
      "check the UPS client id and secret (`upsync creds set ups`) and that the UPS app has the APIs enabled; `upsync ping` tests them"),
    c("ups_rate_limited", Transient, Ups,
      "UPS answered 429 (too many requests).",
      "nothing; upsync retries with backoff. If it persists, lower the `ups.quotas.*_requests_per_second` settings"),
    c("ups_unavailable", Transient, Ups,
      "UPS could not be reached or answered 5xx before the request took effect.",
      "nothing; upsync retries with backoff"),
    c("ups_outcome_unknown", Transient, Ups,
      "the connection failed after a Ship request was sent: the shipment may exist at UPS.",
      "nothing; upsync reconciles by Track by reference before it ever ships again"),
    c("ups_token_budget_exhausted", Config, Ups,
      "the daily budget of UPS token requests is used up.",
      "raise `ups.token_budget_per_day`, or find out why tokens are requested so often (restarts, clock)"),
    c("ups_bad_response", Transient, Ups,
      "UPS answered with a body upsync could not read.",
      "nothing; upsync retries. If it persists, report it with the recorded response"),

    c("checkout_account_unknown", Config, Ups,
      "a checkout quote names a UPS account this daemon has no client for (`checkout.ship_from[].account`); the quote is answered from the fallback table.",
      "set the warehouse's account to one of `ups.accounts` (or `ups.account_number`), or add that account"),
    c("ups_config", Config, Ups,
      "the UPS client is configured wrongly (base URL, credentials missing).",
      "run `upsync check` and fix the `ups:` section"),
    c("ups_reference_not_allowed", Business, Ups,
      "UPS refused a reference number for this lane or service (120541), or the client's own check did.",
      "remove the extra references from the mapping for this lane (see `references:`)"),
    c("ups_service_invalid", Business, Ups,
      "UPS refused the service for this lane or account (121100, 111100, 120051, 111210).",
      "map the ship-via to a service valid from the origin to the destination"),
    c("ups_shipper_number_invalid", Business, Ups,
      "UPS refused the shipper (account) number (120100).",
      "correct `account:` in the mapping's ship_from entry; the account must belong to the UPS credentials"),
    c("ups_account_unknown", Business, Ups,
      "the shipment's shipper number (its mapping's ship_from `account`) is not one of the accounts in `ups.accounts`, so upsync has no OAuth client to ship it with; the record waits.",
      "add the account to `ups.accounts` (name, account_number, credentials of its OAuth client) and reload, or correct the ship_from entry's `account`; then `upsync jobs replay`"),
    c("ups_field_too_long", Business, Ups,
      "a field exceeds UPS's length limit (120105).",
      "shorten the value in the ERP record, or add `truncate:` to the mapping entry"),
    c("ups_package_count_invalid", Business, Ups,
      "UPS refused the number of packages (120519).",
      "split the shipment; UPS allows at most 200 packages"),
    c("ups_package_weight_invalid", Business, Ups,
      "UPS refused a package weight (120612, or the client's check).",
      "correct the package weight in the ERP record (more than 0, within the service's limit)"),
    c("ups_label_spec_invalid", Business, Ups,
      "UPS refused the label specification (120413).",
      "correct `ups.label` (format, stock size) in the configuration"),
    c("ups_tracking_number_invalid", Business, Ups,
      "UPS does not know the tracking number (190100, TV1002).",
      "check the 1Z number on the record; a shipment voided or never created has none"),
    c("ups_void_not_allowed", Business, Ups,
      "UPS will not void the shipment (190102: already picked up, or too old).",
      "the parcel is on its way; handle it with UPS (return or intercept)"),
    c("ups_label_not_found", Business, Ups,
      "Label Recovery found no label for the tracking number (190202).",
      "check the shipment at UPS; `upsync jobs show` has the shipment id"),
    c("ups_address_not_covered", Business, Ups,
      "UPS address validation does not cover the country (264002).",
      "nothing for the record; turn address validation off for that lane"),
    c("ups_subversion_invalid", Config, Ups,
      "UPS refused the request's `SubVersion`.",
      "report it: the client sends a fixed sub-version"),
    c("ups_request_invalid", Business, Ups,
      "UPS found the request malformed (9264028, 10001, 10002), or the client's own check found a field invalid.",
      "read the message for the field; correct the record or the mapping"),
    c("ups_qv_range_too_old", Business, Ups,
      "Quantum View refused a date range starting more than 7 days back (20008 on `BeginDateTime`).",
      "nothing to do: the tracker restarts its range inside the 7 days and Track fills the gap"),
    c("ups_quantum_view_unsupported", Config, Ups,
      "The carrier adapter in use has no Quantum View call.",
      "use `tracking.mode: poll` or `track_alert` with this carrier"),
    c("ups_address_invalid", Business, Ups,
      "UPS refused an address without saying whose (1202xx/1208xx).",
      "check the ship-to address on the record and the ship_from entry of the mapping"),
    c("ups_shipto_address_invalid", Business, Ups,
      "UPS refused the ship-to address (state/province or postal code does not fit the country).",
      "correct the ship-to address in the ERP record"),
    c("ups_shipper_address_invalid", Config, Ups,
      "UPS refused the Shipper address, which comes from the mapping's ship_from entry.",
      "correct the address of the ship_from entry in the mapping"),
    c("ups_shipfrom_address_invalid", Config, Ups,
      "UPS refused the ShipFrom (pickup) address, which comes from the mapping.",
      "correct the ship-from address in the mapping"),
    c("ups_attention_required", Business, Ups,
      "UPS requires an attention (contact) name; config class when it names the Shipper or ShipFrom.",
      "fill in the ship-to contact in the ERP record, or add `attention:` to the ship_from entry"),
    c("ups_phone_required", Business, Ups,
      "UPS requires a phone number; config class when it names the Shipper or ShipFrom.",
      "fill in the ship-to phone (10–15 digits), or add `phone:` to the ship_from entry"),
    c("ups_international_forms_invalid", Business, Ups,
      "UPS refused the customs forms (commercial invoice).",
      "complete the customs lines (description, quantity, value) or correct the form types in the mapping"),
    c("paperless_document_invalid", Business, Ups,
      "a user-created document the mapping names (international.paperless.documents) cannot be read or breaks UPS's limits (≤ 13, ≤ 10 MB, format, type 001–013); nothing was shipped.",
      "put the file where the mapping says, or fix it, then replay the job"),
    c("paperless_not_enabled", Business, Ups,
      "fallback on the job (shipped): UPS refused to upload user-created documents because the account is not enabled for paperless.",
      "print the documents and send them with the parcel; ask UPS to enable paperless (Upload Forms Created Offline) on the account"),
    c("paperless_invoice_refused", Business, Ups,
      "fallback on the job (shipped): UPS refused the paperless invoice indicator for the account; shipped again with the printed invoice.",
      "print the invoice (in the label folder and on the ERP record); ask UPS to enable paperless invoice, or set `invoice: print`"),
    c("paperless_invoice_printed", Business, Ups,
      "fallback on the job (shipped): UPS warned that the invoice must be printed (account not enabled, or the destination needs paper).",
      "print the invoice (in the label folder and on the ERP record) and send it with the parcel"),
    c("paperless_push_failed", Business, Ups,
      "fallback on the job (shipped): the user-created documents could not be pushed to the shipment after Ship (push_after).",
      "print the documents and send them with the parcel"),
    c("ups_description_required", Business, Ups,
      "UPS requires a description of the goods (international).",
      "fill in a description (≤50 characters) in the ERP record, or map one"),
    c("ups_blocked_merchant", Config, Ups,
      "UPS answered 403: the account or app may not use this API.",
      "enable the API for the UPS app, or ask UPS to unblock the account"),
    c("ups_endpoint_not_found", Config, Ups,
      "UPS answered 404/405: the API path or version does not exist.",
      "check `ups.base_url`; the client's API versions are fixed"),
    c("ups_void_rejected", Business, Ups,
      "UPS refused a void for a reason it did not code.",
      "read the message; void at UPS by hand if needed"),
    c("ups_rejected", Business, Ups,
      "UPS refused the request for a reason upsync does not classify.",
      "read UPS's message in `upsync jobs show`; correct the record or the mapping"),
    c("ups_void_refused", Business, Ups,
      "UPS answered a void without voiding the shipment.",
      "check the shipment at UPS; void it there by hand if it must go"),
    // ── ERP connectors ──────────────────────────────────────────────────────────────
    c("erp_unavailable", Transient, Erp,
      "the ERP could not be reached, timed out, answered 429 or 5xx.",
      "nothing; upsync retries. If it persists, check the ERP and `upsync ping`"),
    c("erp_auth_failed", Auth, Erp,
      "the ERP refused the credentials (login, OAuth, session limit).",
      "check the connector's credentials (`upsync creds set NAME`) and the integration user; `upsync ping` tests them"),
    c("erp_config_invalid", Config, Erp,
      "the connector profile does not fit the ERP (endpoint version, entity, field, SuiteQL).",
      "run `upsync check --online` and fix the connector profile it names"),
    c("erp_rejected_write", Business, Erp,
      "the ERP refused a write-back to the record (field not writable, record locked, validation).",
      "read the ERP's message; make the field writable for the integration user or fix the write-back mapping"),
    c("erp_record_missing", Business, Erp,
      "the ERP record no longer exists (deleted after it was read).",
      "nothing, unless the record should exist; then restore it and `upsync jobs replay`"),
    // ── Mapping ─────────────────────────────────────────────────────────────────────
    c("mapping_failed", Business, Mapping,
      "the mapping failed without naming a problem (fallback).",
      "run `upsync mapping test MAPPING RECORD.json` to see why"),
    c("lookup_missing", Business, Mapping,
      "a value of the record is not in a lookup table of the mapping.",
      "add the value to `lookups.TABLE`, or set `missing: empty` with a `default:`"),
    c("ship_from_unknown", Business, Mapping,
      "the record's warehouse/location has no entry in `ship_from.entries`.",
      "add an entry for it, or a `ship_from.default`"),
    c("billing_account_missing", Business, Mapping,
      "the mapping bills the receiver or a third party, but the record gives no valid 6-character UPS account (or the account's country, or the postal code a US/CA account needs).",
      "fill the payer's UPS account, country and postal code on the record, or bill the shipper"),
    c("billing_payer_unknown", Business, Mapping,
      "the record's payer value is not `shipper`, `receiver` or `third_party`.",
      "correct the value, or map the ERP's words with a `lookup:` in `billing:`"),
    c("incoterm_unknown", Business, Mapping,
      "the record's Incoterm is not one upsync knows, so the duties payer cannot be decided.",
      "use DDP (shipper pays duties) or DAP/DDU (receiver pays), or map the ERP's value with a `lookup:`"),
    c("freight_currency_mismatch", Business, Mapping,
      "UPS charged in another currency than the ERP document's (`freight.currency`); the label and 1Z numbers are written, the freight figure is not (the job shows both currencies).",
      "enter the freight by hand in the document's currency, or ship from a UPS account billed in that currency"),
    c("freight_charges_missing", Business, Mapping,
      "UPS's answer carried no charges (e.g. a shipment recovered after an in-doubt Ship), so no freight figure could be computed; the label is written, the freight is not.",
      "enter the freight by hand from the UPS invoice or the UPS account's shipping history"),
    c("service_unmapped", Business, Mapping,
      "the record's ship-via has no UPS service in `service.table` and there is no default.",
      "add the ship-via to `service.table`, or filter it out in the connector profile"),
    c("service_invalid_for_lane", Business, Mapping,
      "the mapped service is not valid from the origin to the destination.",
      "choose a ship-via valid for the destination (e.g. UPS Standard/Worldwide for cross-border)"),
    c("account_invalid", Business, Mapping,
      "the UPS shipper number of the ship_from entry is not 6 letters/digits.",
      "fix `account:` in the ship_from entry"),
    c("ship_to_name_missing", Business, Mapping,
      "the ship-to name is empty.",
      "fill in the ship-to name in the ERP record, or map one"),
    c("shipper_name_missing", Business, Mapping,
      "the shipper name of the ship_from entry is empty.",
      "add `name:` to the ship_from entry"),
    c("name_too_long", Business, Mapping,
      "a party name has more than 35 characters.",
      "add `truncate: 35`, or shorten the name"),
    c("attention_too_long", Business, Mapping,
      "an attention name has more than 35 characters.",
      "add `truncate: 35`, or shorten the name"),
    c("attention_missing", Business, Mapping,
      "the ship-to attention name is required for this lane/service and is empty.",
      "fill in the contact in the ERP record, or map one (`first_non_empty:`)"),
    c("shipper_attention_missing", Business, Mapping,
      "the shipper attention name is required for an international destination.",
      "add `attention:` to the ship_from entry"),
    c("phone_invalid", Business, Mapping,
      "a phone number does not have 10–15 digits in at most 15 characters.",
      "add `digits_only: true`, or correct the phone number in the ERP"),
    c("phone_missing", Business, Mapping,
      "a phone number is required (international, Next Day Air Early) and is empty.",
      "fill in the phone in the ERP record, or `phone:` in the ship_from entry"),
    c("ship_to_address_missing", Business, Mapping,
      "the ship-to address has no lines.",
      "fill in the street address in the ERP record"),
    c("shipper_address_missing", Business, Mapping,
      "the ship_from entry has no address lines.",
      "add `address.lines` to the ship_from entry"),
    c("too_many_address_lines", Business, Mapping,
      "an address has more than 3 lines.",
      "merge lines in the mapping, or shorten the address"),
    c("address_line_too_long", Business, Mapping,
      "an address line has more than 35 characters.",
      "add `truncate: 35`, or split the line"),
    c("ship_to_city_missing", Business, Mapping,
      "the ship-to city is empty.",
      "fill in the city in the ERP record"),
    c("shipper_city_missing", Business, Mapping,
      "the ship_from entry has no city.",
      "add `address.city` to the ship_from entry"),
    c("city_too_long", Business, Mapping,
      "a city has more than 30 characters.",
      "add `truncate: 30`, or correct the city"),
    c("ship_to_country_invalid", Business, Mapping,
      "the ship-to country is not an ISO 3166 two-letter code.",
      "correct the country, or map it through a lookup (`country: {USA: US}`)"),
    c("shipper_country_invalid", Business, Mapping,
      "the ship_from entry's country is not an ISO 3166 two-letter code.",
      "correct `address.country` of the ship_from entry"),
    c("ship_to_state_invalid", Business, Mapping,
      "the ship-to state/province is missing or not valid for the country.",
      "correct the state in the ERP record (two-letter code for US/CA)"),
    c("shipper_state_invalid", Business, Mapping,
      "the ship_from entry's state/province is missing or not valid for the country.",
      "correct `address.state` of the ship_from entry"),
    c("ship_to_postal_code_invalid", Business, Mapping,
      "the ship-to postal code is missing or does not fit the country.",
      "correct the postal code in the ERP record"),
    c("shipper_postal_code_invalid", Business, Mapping,
      "the ship_from entry's postal code is missing or does not fit the country.",
      "correct `address.postal_code` of the ship_from entry"),
    c("packages_missing", Business, Mapping,
      "the record has no packages.",
      "add packages to the ERP record (or check `packages.for_each` in the mapping)"),
    c("too_many_packages", Business, Mapping,
      "the record has more than 200 packages.",
      "split the shipment"),
    c("package_line_id_missing", Business, Mapping,
      "a package has no line id to write its 1Z number back to.",
      "map `packages.line_id` to the package line's key field"),
    c("package_weight_missing", Business, Mapping,
      "a package has no weight.",
      "fill in the package weight in the ERP record"),
    c("package_weight_invalid", Business, Mapping,
      "a package weight is not a number more than 0.",
      "correct the package weight in the ERP record"),
    c("package_weight_unit_invalid", Business, Mapping,
      "a package weight unit is not LB, KG or OZ.",
      "map the unit field, or use `{literal: LB}`"),
    c("package_too_heavy", Business, Mapping,
      "a package weighs more than UPS parcels allow (150 lb).",
      "split the package, or ship it as freight"),
    c("package_dimensions_invalid", Business, Mapping,
      "package dimensions are not numbers, zero or negative.",
      "correct the dimensions in the ERP record, or leave all three empty"),
    c("package_too_long", Business, Mapping,
      "a package is longer than UPS allows (108 in).",
      "repack, or ship it as freight"),
    c("package_too_large", Business, Mapping,
      "a package's length plus girth is more than UPS allows (165 in).",
      "repack, or ship it as freight"),
    c("package_description_too_long", Business, Mapping,
      "a package description has more than 35 characters.",
      "add `truncate: 35` to the package description"),
    c("declared_value_invalid", Business, Mapping,
      "a package declared value is not a number.",
      "enter the declared value as a number in the ERP record"),
    c("reference_missing", Business, Mapping,
      "the ERP document number (the first reference) is empty.",
      "map `references.shipment_number` to the document number"),
    c("reference_not_allowed", Business, Mapping,
      "a reference is not allowed for the lane, or its code is not a UPS reference code.",
      "drop the extra references for this lane, or use a UPS reference code"),
    c("reference_too_long", Business, Mapping,
      "a reference value has more than 35 characters.",
      "add `truncate: 35` to the reference"),
    c("reference_barcode_invalid", Business, Mapping,
      "a barcoded reference is not printable as a barcode, or more than one reference is barcoded.",
      "turn `barcode:` off for that reference, or keep it on one reference only"),
    c("description_too_long", Business, Mapping,
      "the shipment description has more than 50 characters.",
      "add `truncate: 50`"),
    c("international_data_missing", Business, Mapping,
      "a cross-border shipment lacks customs data (description, currency, lines, origin, value, quantity).",
      "add or complete the `international:` section of the mapping and the item data in the ERP"),
    c("customs_description_too_long", Business, Mapping,
      "a customs line description has more than 35 characters.",
      "add `truncate: 35`"),
    c("customs_quantity_invalid", Business, Mapping,
      "a customs line quantity is not a whole number of at most 7 digits.",
      "ship whole units, or map a unit of measure in which the quantity is whole"),
    c("hs_code_invalid", Business, Mapping,
      "a customs line HS code is not 6–15 letters/digits.",
      "correct the HS code on the item (digits only, no dots)"),
    c("customs_lines_over_limit", Business, Mapping,
      "there are more customs lines than one UPS shipment takes (`international.max_lines`, at most 50).",
      "set `over_limit: split` (several UPS shipments for the record) or `over_limit: merge_by_hs_code`"),
    c("customs_split_needs_packages", Business, Mapping,
      "`over_limit: split` needs more UPS shipments than the record has packages (each shipment needs one).",
      "pack the goods in at least as many packages as the message names, or set `over_limit: merge_by_hs_code`"),
    c("return_service_code_invalid", Business, Mapping,
      "the return service code the mapping gives is not one UPS offers (Shipping.yaml `ReturnService.Code`).",
      "use 9 (print return label), 8 (electronic return label), 3 (1 attempt), 5 (3 attempts) or 2 (print and mail)"),
    c("return_label_email_missing", Business, Mapping,
      "an electronic return label (code 8) has no e-mail address for UPS to send it to (`LabelDelivery`).",
      "fill in the customer's e-mail on the record, map `label_email`, or use code 9"),
    c("return_package_description_missing", Business, Mapping,
      "a return package has no description; UPS requires one on every return package.",
      "fill in the package description, or map `packages.description` / `auto_return.package_description`"),
    c("return_service_not_allowed", Business, Mapping,
      "the UPS service is not available for returns (13, 59, 82–86, C6–C8).",
      "map the return to another service, e.g. 03 Ground"),
    c("return_package_count_invalid", Business, Mapping,
      "a return has more packages than UPS allows (20; 1 when the return starts in the US or PR).",
      "send one return per package, or consolidate the packages"),
    c("return_bill_receiver_not_allowed", Business, Mapping,
      "a return's transportation is billed to the receiver, which UPS refuses for returns.",
      "bill the shipper (or a third party) for returns"),
    // ── Pipeline ────────────────────────────────────────────────────────────────────
    c("address_ambiguous", Business, Pipeline,
      "UPS address validation found several candidates for the ship-to address.",
      "correct the ship-to address on the record (the message lists the candidates)"),
    c("address_invalid", Business, Pipeline,
      "UPS address validation found no address matching the ship-to address.",
      "correct the ship-to street, city, state and postal code on the record"),
    c("ship_date_too_far_ahead", Business, Pipeline,
      "the site's dispatch calendar gives a ship date more than 7 days ahead (UPS accepts today + 7): holidays and non-working days cover the whole week (`src/dispatch/calendar.rs`).",
      "check the site's working_days and holidays in `dispatch.sites`, then `upsync jobs replay JOB`"),
    c("no_service_within_days", Business, Pipeline,
      "rate shopping found no allowed UPS service arriving within the mapping's business days.",
      "allow more days, or set a fallback service in the mapping"),
    c("retries_exhausted", Transient, Pipeline,
      "a job failed transiently more often than `pipeline.retry.max_attempts` allows; the message names the last failure.",
      "fix the cause named in the message, then `upsync jobs replay JOB`"),
    c("shipment_changed_after_label", Business, Pipeline,
      "the ERP record changed (address, packages) after its UPS label was created; it is not re-shipped.",
      "to re-ship, `upsync jobs void JOB`; otherwise undo the change in the ERP"),
    // ── State store ─────────────────────────────────────────────────────────────────
    c("store_wrong_master_key", Config, Store,
      "the master key does not decrypt the vault.",
      "point `UPSYNC_MASTER_KEY_FILE` at the key the vault was written with"),
    c("store_no_master_key", Config, Store,
      "no master key was found.",
      "set `UPSYNC_MASTER_KEY_FILE` (or the systemd credential `master.key`); `upsync keygen` makes one"),
    c("store_schema_mismatch", Config, Store,
      "the state directory was written by another upsync version's schema.",
      "run the upsync version that wrote it, or restore a matching backup"),
    c("store_bad_manifest", Config, Store,
      "the state directory's manifest cannot be read.",
      "restore the state directory from a backup"),
    c("store_undecryptable", Config, Store,
      "a vault entry cannot be decrypted (damaged data).",
      "restore from a backup, or set the credential again with `upsync creds set`"),
    c("store_io", Config, Store,
      "reading or writing the state directory failed.",
      "check disk space and permissions of the state directory"),
    c("store_db", Config, Store,
      "the state database failed.",
      "check disk space and permissions; then `upsync store verify`"),
    c("store_corrupt", Config, Store,
      "the state database is damaged.",
      "stop upsync and restore from a backup, or salvage with `upsync store export DIR`"),
    c("store_database_lost", Config, Store,
      "the state database is missing or empty but its manifest is there.",
      "restore the database from a backup; to really start afresh, move the whole state directory away"),
    c("store_verify_incomplete", Config, Store,
      "the start-up store verification ran out of time before damage was found.",
      "run `upsync store verify` to check all of it"),
    c("store_postgres", Transient, Store,
      "the PostgreSQL store (store.backend: postgres) could not be reached or refused a statement.",
      "check that the server named in the message is up and reachable and the role may use the database; `upsync check` tests the connection"),
    c("store_fenced", Transient, Store,
      "a fenced write was refused: the job's or connector's lease expired and another daemon holds it now.",
      "nothing: the daemon abandons that work and the lease holder carries it on; frequent refusals mean store.lease_seconds is too short for the work"),
    // ── Track Alert webhook ─────────────────────────────────────────────────────────
    c("malformed_json", Business, Webhook,
      "the webhook body is not valid JSON (answered 400).",
      "nothing on upsync's side; the sender must send JSON"),
    c("not_an_object", Business, Webhook,
      "the webhook body is not a JSON object (answered 400).",
      "nothing on upsync's side; the sender must send a Track Alert event"),
    c("missing_field", Business, Webhook,
      "a required field of the event is missing or empty (answered 400).",
      "nothing on upsync's side; the answer names the field"),
    c("invalid_field", Business, Webhook,
      "a field of the event has the wrong type or format (answered 400).",
      "nothing on upsync's side; the answer names the field"),
    c("no_activity_time", Business, Webhook,
      "the event has no usable activity time (answered 400).",
      "nothing on upsync's side; the sender must send GMT or local date and time"),
    c("body_too_large", Business, Webhook,
      "the webhook body is larger than the limit (answered 413).",
      "nothing on upsync's side unless events are legitimately that large; then raise the webhook body limit"),
    c("store_unavailable", Transient, Webhook,
      "the event could not be stored durably (answered 503 so that UPS retries).",
      "check the state directory (disk space, permissions)"),
    // ── ERP push notifications ─────────────────────────────────────────────────────
    c("push_connector_unknown", Config, Push,
      "a push came for a connector that does not take pushes: no such name, no `push:` section, or the other ERP in the path (answered 404).",
      "point the ERP's destination at `/push/{acumatica|netsuite}/{connector}` of a connector with a `push:` section"),
    c("push_unauthorized", Auth, Push,
      "a push came without the shared-secret header or with a wrong value (answered 401; nothing read or stored).",
      "make the ERP send the header `connectors[].push.header` with exactly the vault entry's `secret`"),
    c("push_body_too_large", Business, Push,
      "a push body is larger than `connectors[].push.max_body_bytes` (answered 413).",
      "raise `max_body_bytes` if the ERP's messages are legitimately that large (mass releases); polling picks the records up meanwhile"),
    c("push_malformed", Business, Push,
      "a push body is not the ERP's format (Acumatica: `Inserted`/`Deleted` arrays of rows; NetSuite: a JSON object) (answered 400).",
      "check the push notification definition or script; the answer names what is wrong"),
    c("push_store_unavailable", Transient, Push,
      "a push hint could not be stored durably (answered 503 so that the ERP resends).",
      "check the state directory (disk space, permissions)"),
];

/// The entry for `code`, if it is a registered stable code.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|i| i.code == code)
}

/// The generated `docs/error-codes.md`: one table per area.
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Error codes\n\n");
    out.push_str(
        "<!-- Generated from src/model/codes.rs by tests/house/error_codes.rs; do not edit.\n",
    );
    out.push_str("     Regenerate: UPSYNC_BLESS=1 cargo test --test house -->\n\n");
    out.push_str(
        "Every stable code upsync writes back to an ERP record, prints in `upsync jobs show`,\n",
    );
    out.push_str(
        "logs as `code=` or answers from the Track Alert webhook. A code never changes its\n",
    );
    out.push_str("spelling or meaning. The class decides what the pipeline does (see\n");
    out.push_str(
        "[design.md](design.md#error-classes)): **transient** retries with backoff, **auth**\n",
    );
    out.push_str(
        "refreshes once then pauses the connector, **config** pauses and alerts (`upsync check`\n",
    );
    out.push_str(
        "explains), **business** dead-letters the job and writes the code back to the record.\n\n",
    );
    out.push_str(&format!("{} codes.\n", CODES.len()));
    for area in Area::ALL {
        out.push_str(&format!("\n## {}\n\n", area.title()));
        out.push_str(&format!("Produced in {}.\n\n", area.origin()));
        out.push_str("| code | class | meaning | fix |\n|---|---|---|---|\n");
        for i in CODES.iter().filter(|i| i.area == area) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                i.code,
                i.class.as_str(),
                cell(i.meaning),
                cell(i.fix)
            ));
        }
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Guards: a code registered twice (two meanings for one code) fails here.
    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for i in CODES {
            assert!(seen.insert(i.code), "{} is registered twice", i.code);
            assert!(
                i.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    && i.code.contains('_'),
                "{} is not a snake_case code",
                i.code
            );
            assert!(!i.meaning.is_empty() && !i.fix.is_empty(), "{}", i.code);
        }
    }

    /// Guards: the docs table lists every code, under its area.
    #[test]
    fn markdown_lists_every_code() {
        let md = render_markdown();
        for i in CODES {
            assert!(md.contains(&format!("| `{}` |", i.code)), "{}", i.code);
        }
        assert_eq!(lookup("ups_auth").map(|i| i.class), Some(ErrorClass::Auth));
        assert!(lookup("xyz").is_none());
    }
}
