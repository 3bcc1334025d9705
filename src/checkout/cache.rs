//! The quote cache: TTL, bounded in memory (least recently used goes first), and
//! single-flight (one UPS call per key at a time; concurrent askers of that key wait for
//! it). A small map under a mutex, no crate: misses are bounded by checkout's share of the
//! UPS quota (a few per second), so the O(capacity) eviction scan on a miss costs nothing
//! next to a UPS call, and hits are one hash lookup.
//!
//! A flight is a `tokio::sync::watch` channel: the leader (the request that found the key
//! missing and got a quota permit) runs the UPS call in a task of its own and publishes the
//! result; joiners wait on the channel. Nobody's deadline cancels the call. A flight older
//! than the checkout deadline is *overdue*: a new asker gets [`Lookup::Overdue`] (answer
//! with the estimate at once, no point waiting on a call already known to be slow). Whether
//! its late answer fills the cache is the caller's choice ([`Cache::land`] or
//! [`Cache::land_uncached`]; `checkout.cache_late_answers`).
//!
//! Never: cache a failure (the next asker tries UPS again), hold the lock across an await.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// What a flight ends with: UPS's answer, or why there is none.
pub type Outcome<V> = Result<Arc<V>, String>;

/// A flight in progress: `None` until the leader publishes.
pub type Flight<V> = watch::Receiver<Option<Outcome<V>>>;

enum State<V> {
    Ready { value: Arc<V>, at: Instant },
    Pending { rx: Flight<V>, since: Instant },
}

struct Slot<V> {
    used: u64,
    state: State<V>,
}

struct Inner<K, V> {
    map: HashMap<K, Slot<V>>,
    tick: u64,
    evictions: u64,
}

/// What [`Cache::lookup`] found.
pub enum Lookup<V> {
    /// A fresh value.
    Hit(Arc<V>),
    /// A flight for this key is in the air: wait on it.
    Join(Flight<V>),
    /// Nothing, and the caller leads a new flight: run the call, then [`Cache::land`].
    Lead(watch::Sender<Option<Outcome<V>>>, Flight<V>),
    /// Nothing, and no permit for a new flight (`may_lead` said no).
    Denied,
    /// A flight for this key has been in the air longer than the caller's deadline.
    Overdue,
}

/// See the module doc.
pub struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
    ttl: Duration,
    capacity: usize,
    /// A flight older than this is overdue ([`Lookup::Overdue`]).
    overdue_after: Duration,
}

impl<K: Eq + Hash + Clone, V> Cache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
                evictions: 0,
            }),
            ttl,
            capacity: capacity.max(1),
            overdue_after: Duration::MAX,
        }
    }

    /// Flights older than `after` are overdue (the checkout deadline).
    pub fn with_overdue_after(mut self, after: Duration) -> Self {
        self.overdue_after = after;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Look `key` up. On a miss, `may_lead` (called under the lock, must not block: a
    /// non-waiting quota check) decides whether the caller starts a flight.
    pub fn lookup(&self, key: &K, may_lead: impl FnOnce() -> bool) -> Lookup<V> {
        let mut g = self.lock();
        g.tick += 1;
        let tick = g.tick;
        if let Some(slot) = g.map.get_mut(key) {
            match &slot.state {
                State::Ready { value, at } if at.elapsed() < self.ttl => {
                    slot.used = tick;
                    return Lookup::Hit(value.clone());
                }
                // A live flight (its leader still holds the sender).
                State::Pending { rx, since } if rx.has_changed().is_ok() => {
                    slot.used = tick;
                    if since.elapsed() >= self.overdue_after {
                        return Lookup::Overdue;
                    }
                    return Lookup::Join(rx.clone());
                }
                // Expired, or a flight whose leader died without landing: lead anew.
                State::Ready { .. } | State::Pending { .. } => {}
            }
        }
        if !may_lead() {
            return Lookup::Denied;
        }
        let (tx, rx) = watch::channel(None);
        let pending = State::Pending {
            rx: rx.clone(),
            since: Instant::now(),
        };
        self.put(&mut g, key.clone(), pending);
        Lookup::Lead(tx, rx)
    }

    /// The leader's call ended: keep a success for the TTL (drop a failure), then wake
    /// every joiner.
    pub fn land(&self, key: &K, tx: watch::Sender<Option<Outcome<V>>>, outcome: Outcome<V>) {
        {
            let mut g = self.lock();
            match &outcome {
                Ok(v) => {
                    let state = State::Ready {
                        value: v.clone(),
                        at: Instant::now(),
                    };
                    self.put(&mut g, key.clone(), state);
                }
                Err(_) => Self::drop_pending(&mut g, key),
            }
        }
        let _ = tx.send(Some(outcome));
    }

    /// The leader's call ended too late to be kept (`checkout.cache_late_answers: false`):
    /// wake the joiners with it, keep nothing.
    pub fn land_uncached(
        &self,
        key: &K,
        tx: watch::Sender<Option<Outcome<V>>>,
        outcome: Outcome<V>,
    ) {
        Self::drop_pending(&mut self.lock(), key);
        let _ = tx.send(Some(outcome));
    }

    fn drop_pending(g: &mut Inner<K, V>, key: &K) {
        if matches!(
            g.map.get(key),
            Some(Slot {
                state: State::Pending { .. },
                ..
            })
        ) {
            g.map.remove(key);
        }
    }

    /// Insert or replace, evicting expired entries first, then the least recently used.
    fn put(&self, g: &mut Inner<K, V>, key: K, state: State<V>) {
        g.tick += 1;
        let used = g.tick;
        if !g.map.contains_key(&key) && g.map.len() >= self.capacity {
            let ttl = self.ttl;
            let before = g.map.len();
            g.map.retain(|_, s| match &s.state {
                State::Ready { at, .. } => at.elapsed() < ttl,
                State::Pending { .. } => true,
            });
            while g.map.len() >= self.capacity {
                let Some(oldest) = g
                    .map
                    .iter()
                    .min_by_key(|(_, s)| s.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                g.map.remove(&oldest);
            }
            g.evictions += (before - g.map.len()) as u64;
        }
        g.map.insert(key, Slot { used, state });
    }

    /// Entries held (fresh, expired not yet dropped, and in flight).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries dropped to stay within the capacity (or because they expired then).
    pub fn evictions(&self) -> u64 {
        self.lock().evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(c: &Cache<u32, u32>, k: u32, v: u32) {
        match c.lookup(&k, || true) {
            Lookup::Lead(tx, _) => c.land(&k, tx, Ok(Arc::new(v))),
            _ => panic!("{k} should miss"),
        }
    }

    /// Capacity 2: a third key evicts the least recently used one.
    #[tokio::test]
    async fn bounded_lru() {
        let c = Cache::new(Duration::from_secs(60), 2);
        lead(&c, 1, 10);
        lead(&c, 2, 20);
        assert!(matches!(c.lookup(&1, || false), Lookup::Hit(_)));
        lead(&c, 3, 30);
        assert_eq!(c.len(), 2);
        assert!(matches!(c.lookup(&1, || false), Lookup::Hit(_)));
        assert!(
            matches!(c.lookup(&2, || false), Lookup::Denied),
            "2 was least recently used"
        );
        assert_eq!(c.evictions(), 1);
    }

    /// A pending key is joined, not led twice; a failure is not kept.
    #[tokio::test]
    async fn single_flight_and_failures() {
        let c: Cache<u32, u32> = Cache::new(Duration::from_secs(60), 10);
        let Lookup::Lead(tx, _) = c.lookup(&1, || true) else {
            panic!()
        };
        let Lookup::Join(mut rx) = c.lookup(&1, || panic!("no second flight")) else {
            panic!()
        };
        c.land(&1, tx, Err("boom".into()));
        let got = rx.wait_for(|v| v.is_some()).await.unwrap().clone();
        assert_eq!(got.unwrap().unwrap_err(), "boom");
        assert!(matches!(c.lookup(&1, || false), Lookup::Denied));
    }

    /// A flight whose leader died without landing (a panic) is led anew, not joined forever.
    #[tokio::test]
    async fn a_dead_flight_is_led_again() {
        let c: Cache<u32, u32> = Cache::new(Duration::from_secs(60), 10);
        let Lookup::Lead(tx, _) = c.lookup(&1, || true) else {
            panic!()
        };
        drop(tx);
        assert!(matches!(c.lookup(&1, || true), Lookup::Lead(..)));
    }

    /// An entry older than the TTL is a miss.
    #[tokio::test(start_paused = true)]
    async fn ttl_expires() {
        let c = Cache::new(Duration::from_secs(600), 10);
        lead(&c, 1, 10);
        tokio::time::advance(Duration::from_secs(599)).await;
        assert!(matches!(c.lookup(&1, || false), Lookup::Hit(_)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(c.lookup(&1, || false), Lookup::Denied));
    }
}
