//! [`Local`]: the coordinator of a single daemon (the sled backend). Every lease is granted
//! at once with fence 0, one daemon is alive: nothing waits, nothing is written.

use std::time::Duration;

use chrono::Utc;

use super::{ClusterError, Coordinator, Lease};

/// One daemon alone (sled: its file lock already keeps a second daemon out).
#[derive(Debug)]
pub struct Local {
    id: String,
}

impl Local {
    pub fn new() -> Local {
        Local {
            id: super::new_daemon_id(),
        }
    }
}

impl Default for Local {
    fn default() -> Self {
        Local::new()
    }
}

#[async_trait::async_trait]
impl Coordinator for Local {
    fn daemon_id(&self) -> &str {
        &self.id
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn lease_duration(&self) -> Duration {
        Duration::from_secs(super::DEFAULT_LEASE_SECONDS)
    }

    async fn claim(&self, names: &[String]) -> Result<Vec<Lease>, ClusterError> {
        let expires_at = Utc::now() + chrono::Duration::days(36500);
        Ok(names
            .iter()
            .map(|n| Lease {
                name: n.clone(),
                owner: self.id.clone(),
                fence: 0,
                expires_at,
            })
            .collect())
    }

    async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, ClusterError> {
        Ok(Some(lease.clone()))
    }

    async fn release(&self, _lease: &Lease) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn live_daemons(&self) -> Result<u32, ClusterError> {
        Ok(1)
    }

    async fn held(&self) -> Result<Vec<Lease>, ClusterError> {
        Ok(Vec::new())
    }

    async fn leave(&self) -> Result<(), ClusterError> {
        Ok(())
    }
}
