//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so two replicas never
//! reconcile at once: only the holder runs the controllers, a standby takes the Lease once it
//! expires, and a holder that can no longer confirm its Lease stops.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};

/// Where the Lease lives and how long it lasts.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease_name: String,
    /// This process in the Lease's holderIdentity (the pod name, unique per replica).
    pub identity: String,
    /// Seconds a Lease stays valid after its last renewal: how long a standby waits when the
    /// holder dies without releasing.
    pub duration_seconds: u64,
    /// Seconds before expiry at which the holder renews (allowed clock skew between nodes).
    pub grace_seconds: u64,
}

/// Why leadership could not be had or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The settings cannot work.
    #[error("leader election: {0}")]
    Config(String),
    /// The Lease could not be read or created (RBAC, network).
    #[error("cannot read or create the Lease {namespace}/{name}: {source}")]
    Setup {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        source: LeaseManagerError,
    },
    /// Another process holds the Lease now.
    #[error("lost the Lease {0} to another holder")]
    Lost(String),
    /// Renewing failed, so this process cannot know it still holds the Lease: stop rather than
    /// risk two leaders.
    #[error("cannot renew the Lease {name}: {source}")]
    Renew {
        /// The Lease.
        name: String,
        /// The API error.
        source: LeaseManagerError,
    },
    /// Releasing failed (the Lease will expire by itself).
    #[error("cannot release the Lease {name}: {source}")]
    Release {
        /// The Lease.
        name: String,
        /// The API error.
        source: LeaseManagerError,
    },
}

/// Membership in one election.
pub struct Election {
    manager: LeaseManager,
    name: String,
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("lease", &self.name)
            .finish_non_exhaustive()
    }
}

impl Election {
    /// Joins the election (creating the Lease if it does not exist yet).
    pub async fn join(client: kube::Client, config: &ElectionConfig) -> Result<Self, LeaderError> {
        if config.grace_seconds == 0 || config.grace_seconds >= config.duration_seconds {
            return Err(LeaderError::Config(format!(
                "the renewal grace ({} s) must be above 0 and below the Lease duration ({} s)",
                config.grace_seconds, config.duration_seconds
            )));
        }
        // The Lease's leaseDurationSeconds is an int32.
        if i32::try_from(config.duration_seconds).is_err() {
            return Err(LeaderError::Config(
                "the Lease duration is too long".to_owned(),
            ));
        }
        let manager = LeaseManagerBuilder::new(client, &config.lease_name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_field_manager(format!("ecs-operator-{}", config.identity))
            .with_duration(config.duration_seconds)
            .with_grace(config.grace_seconds)
            .build()
            .await
            .map_err(|source| LeaderError::Setup {
                namespace: config.namespace.clone(),
                name: config.lease_name.clone(),
                source,
            })?;
        Ok(Self {
            manager,
            name: format!("{}/{}", config.namespace, config.lease_name),
        })
    }

    /// Waits until this process holds the Lease. API errors while waiting are retried: a
    /// standby that cannot reach the API server is harmless.
    pub async fn acquire(&self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.manager.changed().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, ?wait, "cannot take part in the election; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Keeps renewing the Lease; completes (with why) when this process no longer holds it or
    /// cannot confirm that it does.
    pub async fn lost(&self) -> LeaderError {
        loop {
            match self.manager.changed().await {
                Ok(false) => return LeaderError::Lost(self.name.clone()),
                Ok(true) => {}
                Err(source) => {
                    return LeaderError::Renew {
                        name: self.name.clone(),
                        source,
                    };
                }
            }
        }
    }

    /// Gives the Lease up, so a standby takes over at once instead of after expiry.
    pub async fn release(&self) -> Result<(), LeaderError> {
        self.manager
            .release()
            .await
            .map_err(|source| LeaderError::Release {
                name: self.name.clone(),
                source,
            })
    }
}

/// The identity of this process: the pod name when Kubernetes tells it (`POD_NAME` from the
/// downward API), else the host name, plus a random suffix so a restarted process never reuses
/// its predecessor's claim.
pub fn default_identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "ecs-operator".to_owned());
    let suffix: String = std::iter::repeat_with(fastrand::lowercase)
        .take(6)
        .collect();
    format!("{base}-{suffix}")
}
