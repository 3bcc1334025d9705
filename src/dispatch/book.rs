//! The pickup book: one record per site and business day in the store's `pickups` tree
//! (key `p/<YYYY-MM-DD>/<site>`), with the shipments it covers, its state and its PRN.
//!
//! States: `open` (labels noted, nothing asked of UPS) → `requesting` (flushed before the
//! creation call; found here after a crash it is *in doubt*) → `booked` (PRN stored) →
//! `cancelled` (every covered shipment voided). `failed`: UPS refused the request (the
//! note says why); `upsync pickups cancel` and a new label do not revive it.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use ring::digest;
use serde::{Deserialize, Serialize};

use crate::model::{Party, PickupPiece, PickupRequest};
use crate::store::{Store, StoreError, Tree};

/// Where a pickup is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickupState {
    Open,
    Requesting,
    Booked,
    Cancelled,
    Failed,
}

impl PickupState {
    pub fn as_str(self) -> &'static str {
        match self {
            PickupState::Open => "open",
            PickupState::Requesting => "requesting",
            PickupState::Booked => "booked",
            PickupState::Cancelled => "cancelled",
            PickupState::Failed => "failed",
        }
    }
}

/// One shipment a pickup collects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Covered {
    pub job_id: String,
    pub connector: String,
    pub number: String,
    pub packages: u32,
    pub weight_lbs: f64,
    pub service_code: String,
    pub destination_country: String,
    /// The PRN written back to the ERP record (`None` until done).
    #[serde(default)]
    pub prn_written: Option<String>,
    /// The shipment was voided after its label.
    #[serde(default)]
    pub voided: bool,
}

/// One site's pickup of one business day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pickup {
    pub site: String,
    pub date: NaiveDate,
    pub account_number: String,
    /// Sent as `ReferenceNumber`; finds the pickup in UPS's pending list.
    pub reference: String,
    pub state: PickupState,
    #[serde(default)]
    pub prn: Option<String>,
    pub address: Party,
    pub ready_time: NaiveTime,
    pub close_time: NaiveTime,
    #[serde(default)]
    pub shipments: Vec<Covered>,
    /// Creation calls sent (1 in every normal life).
    #[serde(default)]
    pub requests: u32,
    /// What happened, oldest first (no addresses).
    #[serde(default)]
    pub history: Vec<(DateTime<Utc>, String)>,
}

impl Pickup {
    pub fn key(site: &str, date: NaiveDate) -> String {
        format!("p/{}/{site}", date.format("%Y-%m-%d"))
    }

    /// `UPSYNCP` + 14 hex characters of SHA-256(site/date/account): unique per pickup,
    /// within `ReferenceNumber`'s 35 characters.
    pub fn reference_for(site: &str, date: NaiveDate, account: &str) -> String {
        let d = digest::digest(
            &digest::SHA256,
            format!("{site}/{date}/{account}").as_bytes(),
        );
        format!("UPSYNCP{}", &hex::encode(d.as_ref())[..14]).to_ascii_uppercase()
    }

    /// A new, empty pickup for a site's day; ready at the cutoff, closing two hours later
    /// (at most 23:59).
    pub fn new(
        site: &str,
        date: NaiveDate,
        account_number: &str,
        address: Party,
        cutoff: NaiveTime,
    ) -> Pickup {
        let close = if cutoff.hour() >= 22 {
            NaiveTime::from_hms_opt(23, 59, 0).expect("valid")
        } else {
            cutoff + Duration::hours(2)
        };
        Pickup {
            site: site.to_string(),
            date,
            account_number: account_number.to_string(),
            reference: Pickup::reference_for(site, date, account_number),
            state: PickupState::Open,
            prn: None,
            address,
            ready_time: cutoff,
            close_time: close,
            shipments: Vec::new(),
            requests: 0,
            history: Vec::new(),
        }
    }

    pub fn note(&mut self, at: DateTime<Utc>, what: impl Into<String>) {
        self.history.push((at, what.into()));
    }

    /// Shipments still going (not voided).
    pub fn live(&self) -> impl Iterator<Item = &Covered> {
        self.shipments.iter().filter(|c| !c.voided)
    }

    pub fn packages(&self) -> u32 {
        self.live().map(|c| c.packages).sum()
    }

    pub fn weight_lbs(&self) -> f64 {
        self.live().map(|c| c.weight_lbs).sum()
    }

    /// The creation request, sized from the day's live shipments.
    pub fn request(&self) -> PickupRequest {
        let mut pieces: Vec<PickupPiece> = Vec::new();
        for c in self.live() {
            match pieces.iter_mut().find(|p| {
                p.service_code == c.service_code && p.destination_country == c.destination_country
            }) {
                Some(p) => p.quantity += c.packages,
                None => pieces.push(PickupPiece {
                    service_code: c.service_code.clone(),
                    destination_country: c.destination_country.clone(),
                    quantity: c.packages,
                }),
            }
        }
        PickupRequest {
            account_number: self.account_number.clone(),
            address: self.address.clone(),
            date: self.date,
            ready_time: self.ready_time,
            close_time: self.close_time,
            pieces,
            total_weight_lbs: self.weight_lbs(),
            reference: self.reference.clone(),
        }
    }
}

/// The `pickups` tree.
pub struct Book {
    store: Arc<Store>,
}

impl Book {
    pub fn new(store: Arc<Store>) -> Book {
        Book { store }
    }

    pub fn get(&self, site: &str, date: NaiveDate) -> Result<Option<Pickup>, StoreError> {
        self.store.get_json(Tree::Pickups, &Pickup::key(site, date))
    }

    /// Write and flush (a state change guards a UPS call or records its outcome).
    pub async fn save(&self, p: &Pickup) -> Result<(), StoreError> {
        self.store
            .put_json(Tree::Pickups, &Pickup::key(&p.site, p.date), p)?;
        self.store.flush_async().await
    }

    /// Every pickup, oldest day first.
    pub fn all(&self) -> Result<Vec<Pickup>, StoreError> {
        self.store.scan_json(Tree::Pickups, "p/")
    }

    /// Pickups of `from` and later.
    pub fn since(&self, from: NaiveDate) -> Result<Vec<Pickup>, StoreError> {
        Ok(self.all()?.into_iter().filter(|p| p.date >= from).collect())
    }

    /// The pickup with this PRN.
    pub fn by_prn(&self, prn: &str) -> Result<Option<Pickup>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .find(|p| p.prn.as_deref() == Some(prn.trim())))
    }
}

/// Read the whole book from a store (the CLI and the console, without a pipeline).
pub fn read_all(store: &Store) -> Result<Vec<Pickup>, StoreError> {
    store.scan_json(Tree::Pickups, "p/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;

    fn party() -> Party {
        Party {
            name: "Example Co".into(),
            attention: None,
            phone: None,
            email: None,
            tax_id: None,
            address: Address {
                lines: vec!["1 Main St".into()],
                city: "Timonium".into(),
                state: "MD".into(),
                postal_code: "21093".into(),
                country: "US".into(),
                residential: None,
                po_box: false,
            },
        }
    }

    fn covered(job: &str, service: &str, country: &str, packages: u32, w: f64) -> Covered {
        Covered {
            job_id: job.into(),
            connector: "acumatica".into(),
            number: job.into(),
            packages,
            weight_lbs: w,
            service_code: service.into(),
            destination_country: country.into(),
            prn_written: None,
            voided: false,
        }
    }

    #[test]
    fn the_request_is_sized_from_the_live_shipments_of_the_day() {
        let day: NaiveDate = "2026-12-08".parse().unwrap();
        let cutoff = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        let mut p = Pickup::new("MAIN", day, "123X56", party(), cutoff);
        p.shipments.push(covered("a", "03", "US", 2, 10.0));
        p.shipments.push(covered("b", "03", "US", 1, 4.5));
        p.shipments.push(covered("c", "07", "DE", 1, 3.0));
        let mut voided = covered("d", "03", "US", 5, 50.0);
        voided.voided = true;
        p.shipments.push(voided);
        let r = p.request();
        assert_eq!(r.pieces.len(), 2);
        assert_eq!(r.pieces[0].quantity, 3);
        assert_eq!(r.pieces[1].destination_country, "DE");
        assert_eq!(r.total_weight_lbs, 17.5);
        assert_eq!(r.close_time, NaiveTime::from_hms_opt(19, 0, 0).unwrap());
        assert!(r.reference.starts_with("UPSYNCP") && r.reference.len() == 21);
        assert_ne!(
            r.reference,
            Pickup::reference_for("MAIN", day.succ_opt().unwrap(), "123X56")
        );
    }
}
