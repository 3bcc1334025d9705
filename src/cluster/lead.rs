//! [`lead`]: run a long-lived loop (tracking, outbound events) on one daemon of the cluster
//! at a time. The daemon holding the lease runs it and renews the lease; the others stand
//! by and try every fifth of the lease time (at most every second); a holder that loses its lease (it stalled past
//! the lease time, the database was away) stops its loop and stands by in turn.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use super::Coordinator;

/// Run `f(stop)` while this daemon holds lease `name`, until `stop` turns true. Alone
/// (not shared), simply `f(stop)`.
pub async fn lead<F, Fut>(
    c: Arc<dyn Coordinator>,
    name: &str,
    mut stop: watch::Receiver<bool>,
    mut f: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    if !c.is_shared() {
        return f(stop).await;
    }
    let every = c.renew_interval();
    loop {
        if *stop.borrow() {
            return;
        }
        let lease = match c.acquire(name).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "cannot claim a lease; standing by");
                None
            }
        };
        let Some(mut lease) = lease else {
            // Standing by: try often enough that a takeover follows the expiry closely.
            tokio::select! {
                _ = tokio::time::sleep(every.min(std::time::Duration::from_secs(1))) => continue,
                _ = stop.changed() => continue,
            }
        };
        tracing::info!(lease = name, "this daemon leads");
        let (inner_stop, inner) = watch::channel(false);
        let work = f(inner);
        tokio::pin!(work);
        let mut finished = false;
        let outer_stop = loop {
            tokio::select! {
                _ = &mut work => {
                    finished = true;
                    break *stop.borrow();
                }
                _ = stop.changed() => {
                    if *stop.borrow() {
                        break true;
                    }
                }
                _ = tokio::time::sleep(every) => {
                    match c.renew(&lease).await {
                        Ok(Some(l)) => lease = l,
                        Ok(None) => {
                            tracing::warn!(lease = name, "lease lost; standing by");
                            break false;
                        }
                        Err(e) => tracing::warn!(lease = name, error = %e, "cannot renew a lease; trying again"),
                    }
                }
            }
        };
        let _ = inner_stop.send(true);
        if !finished {
            work.await;
        }
        let _ = c.release(&lease).await;
        if outer_stop {
            return;
        }
    }
}
