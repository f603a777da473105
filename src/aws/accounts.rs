//! AWS identities per namespace: a namespace may name an IAM role (and a Region) its objects are
//! reconciled with, through STS AssumeRole. Each identity gets client sets of its own, so the
//! adaptive rate limits, describe batching and read-ahead caches are per account and Region and
//! never mixed; all share the call counters.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_ecs::config::{ProvideCredentials, SharedCredentialsProvider};

use super::{AwsClients, AwsError, AwsErrorKind, AwsSettings, CallCounters};

/// Who the operator is in AWS for one namespace: the operator's own identity with everything
/// `None`, or an assumed role, a Region, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The IAM role to assume.
    pub role_arn: Option<String>,
    /// The Region (otherwise the operator's).
    pub region: Option<String>,
    /// The external ID the role's trust policy requires.
    pub external_id: Option<String>,
    /// The STS session name (CloudTrail shows it): the operator and the namespace.
    pub session_name: String,
}

impl Identity {
    /// The operator's own identity.
    pub fn is_default(&self) -> bool {
        self.role_arn.is_none() && self.region.is_none()
    }

    /// The session name for `namespace`: `ecs-operator-<namespace>`, within STS's 64 characters
    /// of `[\w+=,.@-]` (a namespace name always is).
    pub fn session_name_for(namespace: &str) -> String {
        let mut name = format!("ecs-operator-{namespace}");
        name.truncate(64);
        name
    }
}

/// The client sets of every identity in use, made on first use.
pub(super) struct Pool {
    /// The operator's own configuration (credentials chain, endpoint, timeouts, no SDK retries).
    pub(super) base: SdkConfig,
    /// How client sets are built (budgets, attempts, batch window).
    pub(super) settings: AwsSettings,
    /// Shared by every set.
    pub(super) counters: CallCounters,
    sets: Mutex<HashMap<Identity, AwsClients>>,
}

impl Pool {
    pub(super) fn new(base: SdkConfig, settings: AwsSettings, counters: CallCounters) -> Self {
        Self {
            base,
            settings,
            counters,
            sets: Mutex::new(HashMap::new()),
        }
    }

    /// The client set of `identity`, made (and its role assumed once, so a refusal is reported
    /// now and by name) the first time. A set whose role cannot be assumed is not kept: the next
    /// pass tries again.
    pub(super) async fn clients(&self, identity: &Identity) -> Result<AwsClients, AwsError> {
        if let Some(found) = self.sets.lock().ok().and_then(|s| s.get(identity).cloned()) {
            return Ok(found);
        }
        let mut config = self.base.clone().into_builder();
        if let Some(region) = &identity.region {
            config = config.region(Region::new(region.clone()));
        }
        if let Some(role) = &identity.role_arn {
            let mut builder = AssumeRoleProvider::builder(role.clone())
                .session_name(identity.session_name.clone())
                .configure(&self.base);
            if let Some(region) = &identity.region {
                builder = builder.region(Region::new(region.clone()));
            }
            if let Some(external_id) = &identity.external_id {
                builder = builder.external_id(external_id.clone());
            }
            let provider = builder.build().await;
            provider
                .provide_credentials()
                .await
                .map_err(|error| assume_role_error(role, &error))?;
            config = config
                .credentials_provider(SharedCredentialsProvider::new(provider))
                // One cache for the set's clients, refreshing the credentials before they expire.
                .identity_cache(IdentityCache::lazy().build());
        }
        let clients =
            AwsClients::from_config(&config.build(), &self.settings, self.counters.clone(), None);
        if let Ok(mut sets) = self.sets.lock() {
            sets.entry(identity.clone())
                .or_insert_with(|| clients.clone());
        }
        Ok(clients)
    }
}

/// A role that cannot be assumed: the trust policy, the role's name or the external ID is wrong
/// (fixed in IAM, outside Kubernetes: Terminal), or STS could not be reached (Transient).
fn assume_role_error(role: &str, error: &(dyn std::error::Error + 'static)) -> AwsError {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail = format!("{detail}: {text}");
        }
        source = cause.source();
    }
    let unreachable = ["timed out", "dispatch failure", "io error", "connection"]
        .iter()
        .any(|sign| detail.to_lowercase().contains(sign));
    AwsError {
        kind: if unreachable {
            AwsErrorKind::Transient
        } else {
            AwsErrorKind::Terminal
        },
        operation: "sts:AssumeRole".into(),
        code: None,
        message: format!("cannot assume {role}: {detail}"),
    }
}
