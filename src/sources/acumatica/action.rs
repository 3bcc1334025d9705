//! `ConfirmShipment`, the connector's one long-running action, and how often its status is
//! polled.
//!
//! Acumatica answers such an action 202 with a `Location`; a GET of it in the same session
//! answers 202 while the operation runs and 204 once it is done; meanwhile the session's
//! other requests to the form fail (ERP-NOTES §A4, §G6). The documents do not say how long
//! a confirmation runs. Every status poll is one more API request against the licence's
//! per-minute limit, and the session stays held until the 204, so the connector learns how
//! long the instance's confirmations take ([`Pacer`]) and asks when one is likely done:
//! one poll per confirmation once learned, instead of two or more at fixed steps.
//!
//! Where to look next: `writeback.rs` calls [`Http::confirm`]; the simulator models the
//! action by a count of 202 answers and/or a running time (`sim/src/acumatica/actions.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::client::{enc_segment, Body, Http, Lane};
use crate::sources::SourceError;

/// How long to wait before a confirmation's first status poll, learned from the ones
/// before (one per connector).
///
/// The first poll comes after the estimate, the next after a quarter of it, then the wait
/// doubles up to `action_poll_interval_ms`; before anything is learned, a tenth of the
/// interval and then doubling, as at fixed steps. When the first poll already finds the
/// action done, the estimate shrinks by 1/32 (perhaps it runs shorter now); when it does
/// not, the estimate becomes the time the 204 came. Under a steady running time `D` the
/// first wait stays within about a quarter above `D`: one poll per confirmation, and a
/// second about once in eight as it probes shorter. Two misses in a row put it back to the
/// floor: a server whose action ends after a number of answers rather than a time (the
/// simulator's default model) then costs the same polls and session time as fixed steps.
/// Bounds: a tenth of the interval (at least 1 ms) to the interval itself.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    /// The estimate in microseconds; 0 = nothing learned yet.
    estimate_us: AtomicU64,
    /// The last confirmation's first poll found it still running.
    missed: AtomicBool,
}

impl Pacer {
    fn bounds(interval: Duration) -> (Duration, Duration) {
        let low = (interval / 10).max(Duration::from_millis(1)).min(interval);
        (low, interval.max(low))
    }

    /// The wait before the first poll.
    pub(crate) fn first_wait(&self, interval: Duration) -> Duration {
        let (low, high) = Self::bounds(interval);
        match self.estimate_us.load(Relaxed) {
            0 => low,
            us => Duration::from_micros(us).clamp(low, high),
        }
    }

    /// The wait after the `polls`-th poll answered 202, `previous` being the wait before
    /// it. After a learned first wait the action is likely almost done: a quarter of it;
    /// otherwise (and from then on) the wait doubles.
    pub(crate) fn next_wait(&self, polls: u32, previous: Duration, interval: Duration) -> Duration {
        let (_, high) = Self::bounds(interval);
        let learned = self.estimate_us.load(Relaxed) != 0;
        let next = if polls == 1 && learned {
            previous / 4
        } else {
            previous * 2
        };
        next.clamp(Duration::from_millis(1), high)
    }

    /// A confirmation answered 204 after `polls` status polls and `waited` in all.
    pub(crate) fn learn(&self, polls: u32, first: Duration, waited: Duration, interval: Duration) {
        let (low, high) = Self::bounds(interval);
        let hit = polls <= 1;
        let missed_before = self.missed.swap(!hit, Relaxed);
        let next = if hit {
            first - first / 32
        } else if missed_before {
            // Two misses in a row: waiting longer did not save a poll (a server that
            // answers by count, or an action slower each time); back to the floor, from
            // which the next miss jumps to the time the 204 came.
            self.missed.store(false, Relaxed);
            low
        } else {
            waited
        };
        let next = next.clamp(low, high);
        self.estimate_us
            .store(next.as_micros().max(1) as u64, Relaxed);
    }
}

impl Http {
    /// `ConfirmShipment`: 204 = done; 202 + `Location` = poll (same session) until 204.
    /// The session is held exclusively meanwhile: any other request of it to the form would
    /// fail until the action ends (ERP-NOTES §A4); with several sessions the others go on.
    /// Polls are paced by [`Pacer`]; one still 202 after `action_timeout_seconds` is a
    /// transient failure (the write-back is tried again; the action ends server-side).
    pub(crate) async fn confirm(&self, id: &str) -> Result<(), SourceError> {
        let url = format!(
            "{}/{}/ConfirmShipment",
            self.entity_base,
            enc_segment(&self.profile.entity)
        );
        let body = json!({"entity": {"id": id}, "parameters": {}});
        // A session the licence has no room for is refused at its sign-in: take another
        // (at most once per session; the first is never refused).
        let (session, _exclusive, ans) = loop {
            let (session, exclusive) = self.action_session().await;
            let sent = self
                .send_as(
                    Method::POST,
                    &url,
                    Some(Body::Json(body.clone())),
                    false,
                    "post",
                    Lane::Held(session),
                )
                .await;
            match sent {
                Err(_) if session > 0 && self.sessions[session].refused() => continue,
                sent => break (session, exclusive, sent?),
            }
        };
        match ans.status {
            204 | 200 => return Ok(()),
            202 => {}
            s => return Err(self.rename(self.classify(s, &ans.body, "write-back confirm"), id)),
        }
        let location = ans
            .location
            .ok_or_else(|| self.config("ConfirmShipment answered 202 without a Location header"))?;
        let status_url = self.resolve(&location);
        let interval = Duration::from_millis(self.profile.action_poll_interval_ms);
        let limit = Duration::from_secs(self.profile.action_timeout_seconds);
        let first = self.pacer.first_wait(interval);
        let mut wait = first;
        let mut waited = Duration::ZERO;
        let mut polls = 0u32;
        loop {
            (self.sleeper)(wait).await;
            waited += wait;
            polls += 1;
            let ans = self
                .send_as(
                    Method::GET,
                    &status_url,
                    None,
                    false,
                    "get",
                    Lane::Held(session),
                )
                .await?;
            match ans.status {
                204 | 200 => {
                    self.pacer.learn(polls, first, waited, interval);
                    return Ok(());
                }
                202 if waited < limit => wait = self.pacer.next_wait(polls, wait, interval),
                202 => {
                    return Err(SourceError::Transient {
                        system: self.system(),
                        message: format!(
                            "ConfirmShipment of {id} still running after {}s",
                            waited.as_secs()
                        ),
                    })
                }
                s => return Err(self.rename(self.classify(s, &ans.body, "write-back confirm"), id)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Drive the pacer against an action that runs `run` (a server answering by time):
    /// the polls each confirmation took.
    fn polls_against(p: &Pacer, run: Duration, interval: Duration, n: usize) -> Vec<u32> {
        (0..n)
            .map(|_| {
                let first = p.first_wait(interval);
                let (mut wait, mut waited, mut polls) = (first, Duration::ZERO, 0);
                loop {
                    waited += wait;
                    polls += 1;
                    if waited >= run {
                        p.learn(polls, first, waited, interval);
                        return polls;
                    }
                    wait = p.next_wait(polls, wait, interval);
                }
            })
            .collect()
    }

    #[test]
    fn a_steady_running_time_is_learned_to_one_poll_most_times() {
        let p = Pacer::default();
        let interval = 1000 * MS;
        assert_eq!(
            p.first_wait(interval),
            100 * MS,
            "a tenth before anything is learned"
        );
        let polls = polls_against(&p, 300 * MS, interval, 40);
        assert!(
            polls[0] >= 2,
            "the first confirmation polls more: {polls:?}"
        );
        let late: u32 = polls[10..].iter().sum();
        assert!(late <= 34, "{late} polls for 30 confirmations: {polls:?}");
        let w = p.first_wait(interval);
        assert!(
            w >= 280 * MS && w <= 400 * MS,
            "estimate {w:?} for a 300 ms action"
        );
    }

    #[test]
    fn a_server_that_answers_by_count_keeps_the_waits_short() {
        // Two polls whatever the wait (the simulator's `action_polls: 1`): the estimate
        // must not climb towards the interval, holding the session longer for nothing.
        let p = Pacer::default();
        let interval = 1000 * MS;
        for i in 0..50 {
            let first = p.first_wait(interval);
            // (The first learned estimate is the 204 of fixed steps: 100 + 200 ms.)
            assert!(i < 2 || first <= 125 * MS, "first wait {first:?} at {i}");
            let second = p.next_wait(1, first, interval);
            p.learn(2, first, first + second, interval);
        }
    }

    #[test]
    fn the_estimate_follows_a_shorter_running_time_down_and_stays_in_bounds() {
        let p = Pacer::default();
        let interval = 10 * MS;
        polls_against(&p, 9 * MS, interval, 20);
        assert!(p.first_wait(interval) >= 8 * MS);
        // The instance got faster: the estimate probes down to it.
        polls_against(&p, 3 * MS, interval, 60);
        let w = p.first_wait(interval);
        assert!(
            w <= 4 * MS,
            "estimate {w:?} after the action ran 3 ms for a while"
        );
        // An action longer than the interval: never a first wait past the interval.
        for _ in 0..20 {
            polls_against(&p, 50 * MS, interval, 1);
            assert!(p.first_wait(interval) <= interval);
        }
        // And never below the floor (1 ms here).
        polls_against(&p, Duration::ZERO, interval, 500);
        assert_eq!(p.first_wait(interval), MS);
    }
}
