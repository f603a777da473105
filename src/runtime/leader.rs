//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so two replicas never
//! reconcile at once: only the holder runs the controllers, a standby takes the Lease once it
//! expires, and a holder that can no longer confirm its Lease stops before it expires.
//!
//! The crate renews the Lease inside `changed()` and says nothing while renewals fail or hang, so
//! a watchdog reads the Lease on its own and ends the leadership half a grace period before the
//! expiry it last saw confirmed: a standby (which waits for that expiry by its own clock) can then
//! never overlap with this leader, whatever the renewals do. The election talks to the API server
//! through a client of its own with short timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
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
    /// The Lease could not be confirmed in time: stepping down before it can expire.
    #[error("cannot confirm the Lease {0} before it expires")]
    Unconfirmed(String),
    /// Releasing failed (the Lease will expire by itself).
    #[error("cannot release the Lease {name}: {reason}")]
    Release {
        /// The Lease.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Membership in one election.
pub struct Election {
    manager: LeaseManager,
    leases: Api<Lease>,
    lease_name: String,
    identity: String,
    grace: Duration,
    name: String,
    reachable: Arc<AtomicBool>,
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("lease", &self.name)
            .finish_non_exhaustive()
    }
}

impl Election {
    /// Joins the election (creating the Lease if it does not exist yet). `config` is the
    /// Kubernetes connection; the election uses its own client with timeouts under the grace
    /// period, so a hung request cannot outlast the Lease.
    pub async fn join(kube: kube::Config, config: &ElectionConfig) -> Result<Self, LeaderError> {
        if config.grace_seconds < 2 || config.grace_seconds >= config.duration_seconds {
            return Err(LeaderError::Config(format!(
                "the renewal grace ({} s) must be at least 2 s and below the Lease duration ({} s)",
                config.grace_seconds, config.duration_seconds
            )));
        }
        // The Lease's leaseDurationSeconds is an int32.
        if i32::try_from(config.duration_seconds).is_err() {
            return Err(LeaderError::Config(
                "the Lease duration is too long".to_owned(),
            ));
        }
        let grace = Duration::from_secs(config.grace_seconds);
        let mut kube = kube;
        kube.connect_timeout = Some(grace / 2);
        kube.read_timeout = Some(grace / 2);
        kube.write_timeout = Some(grace / 2);
        let client = kube::Client::try_from(kube).map_err(|e| LeaderError::Setup {
            namespace: config.namespace.clone(),
            name: config.lease_name.clone(),
            source: LeaseManagerError::from(e),
        })?;
        let manager = LeaseManagerBuilder::new(client.clone(), &config.lease_name)
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
            leases: Api::namespaced(client, &config.namespace),
            lease_name: config.lease_name.clone(),
            identity: config.identity.clone(),
            grace,
            name: format!("{}/{}", config.namespace, config.lease_name),
            reachable: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Whether the last look at the Lease succeeded (a standby that cannot reach it is not
    /// ready: it could not take over).
    pub fn reachable(&self) -> Arc<AtomicBool> {
        self.reachable.clone()
    }

    /// Waits until this process holds the Lease. API errors while waiting are retried: a
    /// standby that cannot reach the API server is harmless (but reported not reachable).
    pub async fn acquire(&self) {
        let campaign = async {
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
        };
        let probe = async {
            loop {
                let reachable = self.leases.get(&self.lease_name).await.is_ok();
                self.reachable.store(reachable, Ordering::SeqCst);
                tokio::time::sleep(self.grace).await;
            }
        };
        tokio::select! {
            () = campaign => {}
            () = probe => {}
        }
        self.reachable.store(true, Ordering::SeqCst);
    }

    /// Keeps renewing the Lease; completes (with why) when this process no longer holds it or
    /// has not confirmed it in time (half a grace period before the expiry last confirmed).
    pub async fn lost(&self) -> LeaderError {
        let renew = async {
            loop {
                match self.manager.changed().await {
                    Ok(false) => return LeaderError::Lost(self.name.clone()),
                    Ok(true) => {}
                    // The watchdog decides whether there is still time; keep trying.
                    Err(error) => {
                        tracing::warn!(lease = %self.name, %error, "renewing the Lease failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        };
        tokio::select! {
            error = renew => error,
            error = self.watchdog() => error,
        }
    }

    /// Reads the Lease every quarter grace period; returns when it shows another holder, or when
    /// the expiry last confirmed is less than half a grace period away.
    async fn watchdog(&self) -> LeaderError {
        let margin = self.grace / 2;
        let mut expiry = SystemTime::now() + self.grace;
        loop {
            tokio::time::sleep(self.grace / 4).await;
            match self.leases.get(&self.lease_name).await {
                Ok(lease) => {
                    let spec = lease.spec.unwrap_or_default();
                    if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                        return LeaderError::Lost(self.name.clone());
                    }
                    if let (Some(renewed), Some(duration)) =
                        (spec.renew_time, spec.lease_duration_seconds)
                    {
                        let renewed = SystemTime::from(renewed.0);
                        let duration = Duration::from_secs(u64::try_from(duration).unwrap_or(0));
                        expiry = expiry.max(renewed + duration);
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "cannot read the Lease");
                }
            }
            if SystemTime::now() + margin >= expiry {
                return LeaderError::Unconfirmed(self.name.clone());
            }
        }
    }

    /// Gives the Lease up (the next holder need not wait for it to expire). Bounded by the grace
    /// period; a failure only means the Lease expires by itself.
    pub async fn release(&self) -> Result<(), LeaderError> {
        match tokio::time::timeout(self.grace, self.manager.release()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(LeaderError::Release {
                name: self.name.clone(),
                reason: source.to_string(),
            }),
            Err(_) => Err(LeaderError::Release {
                name: self.name.clone(),
                reason: "timed out".to_owned(),
            }),
        }
    }
}

/// The name of this process's pod when Kubernetes tells it (`POD_NAME` from the downward API),
/// else the host name (a pod's, in a container); what Events name as their reporting instance.
pub fn process_name() -> Option<String> {
    std::env::var("POD_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
}

/// The identity of this process: [`process_name`], plus a random suffix so a restarted process
/// never reuses its predecessor's claim.
pub fn default_identity() -> String {
    let base = process_name().unwrap_or_else(|| "ecs-operator".to_owned());
    let suffix: String = std::iter::repeat_with(fastrand::lowercase)
        .take(6)
        .collect();
    format!("{base}-{suffix}")
}
