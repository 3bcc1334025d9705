//! A bounded cache of Address Validation answers, so a repeat customer's address is not
//! sent to UPS again for every shipment.
//!
//! The key is the encoded XAV request body itself: two addresses share an entry exactly
//! when UPS would be asked the same question (the same lines, city, state, postal code and
//! country as [`super::build::XavRequest`] sends them), so the cache can never answer for an
//! address UPS was not asked about. Only answers are kept (valid, ambiguous, no candidates);
//! a failed call is never cached. An entry is used for `max_age` after UPS gave it; the
//! oldest entry makes room when `capacity` is reached.
//!
//! Never log a key: it holds a customer's address.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::model::AddressCheck;

/// Addresses kept, oldest first out. Shared by clones of one client.
pub(crate) struct AddressCache {
    capacity: usize,
    max_age: Duration,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Arc<[u8]>, (DateTime<Utc>, AddressCheck)>,
    /// Keys in insertion order with their insertion time (an entry replaced later leaves a
    /// stale pair here, skipped when it comes out).
    order: VecDeque<(Arc<[u8]>, DateTime<Utc>)>,
}

impl AddressCache {
    /// `None` when `capacity` is 0 or `max_age` is not positive (the cache is off).
    pub(crate) fn new(capacity: usize, max_age: std::time::Duration) -> Option<AddressCache> {
        let max_age = Duration::from_std(max_age).ok()?;
        (capacity > 0 && max_age > Duration::zero()).then(|| AddressCache {
            capacity,
            max_age,
            inner: Mutex::new(Entries::default()),
        })
    }

    /// The answer UPS gave to `key` less than `max_age` before `now`.
    pub(crate) fn get(&self, key: &[u8], now: DateTime<Utc>) -> Option<AddressCheck> {
        let mut e = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match e.map.get(key) {
            Some((at, check)) if now - *at < self.max_age && *at <= now => Some(check.clone()),
            Some(_) => {
                e.map.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn put(&self, key: &[u8], check: AddressCheck, now: DateTime<Utc>) {
        let mut e = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key: Arc<[u8]> = key.into();
        e.map.insert(key.clone(), (now, check));
        e.order.push_back((key, now));
        while e.map.len() > self.capacity || e.order.len() > 2 * self.capacity {
            let Some((old, at)) = e.order.pop_front() else {
                break;
            };
            // Remove only the entry this pair stands for, not a newer answer for the key.
            if e.map.get(&old).is_some_and(|(t, _)| *t == at) {
                e.map.remove(&old);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn valid(res: bool) -> AddressCheck {
        AddressCheck::Valid {
            residential: Some(res),
            candidate: None,
        }
    }

    /// Guards the age limit: an answer is used until `max_age` after UPS gave it, then asked again.
    #[test]
    fn answers_expire() {
        let c = AddressCache::new(10, std::time::Duration::from_secs(60)).unwrap();
        c.put(b"a", valid(true), at(0));
        assert_eq!(c.get(b"a", at(59)), Some(valid(true)));
        assert_eq!(c.get(b"b", at(1)), None);
        assert_eq!(c.get(b"a", at(60)), None);
        assert_eq!(c.len(), 0);
        // A clock that went back does not make an answer younger than it is.
        c.put(b"a", valid(true), at(100));
        assert_eq!(c.get(b"a", at(50)), None);
    }

    /// Guards the bound: the oldest answer makes room, a renewed key keeps its new answer.
    #[test]
    fn oldest_makes_room() {
        let c = AddressCache::new(2, std::time::Duration::from_secs(600)).unwrap();
        c.put(b"a", valid(true), at(0));
        c.put(b"b", valid(false), at(1));
        c.put(b"a", AddressCheck::NoCandidates, at(2));
        c.put(b"c", valid(true), at(3));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(b"a", at(4)), Some(AddressCheck::NoCandidates));
        assert_eq!(c.get(b"b", at(4)), None);
        assert_eq!(c.get(b"c", at(4)), Some(valid(true)));
    }

    #[test]
    fn zero_capacity_or_age_is_off() {
        assert!(AddressCache::new(0, std::time::Duration::from_secs(60)).is_none());
        assert!(AddressCache::new(5, std::time::Duration::ZERO).is_none());
    }
}
