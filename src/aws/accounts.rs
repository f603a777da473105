//! AWS identities per namespace: a namespace may name an IAM role (and a Region) its objects are
//! reconciled with, through STS AssumeRole. Each identity gets a client set of its own (describe
//! batching and read-ahead caches never mixed between identities); the adaptive rate limits are
//! per account and Region, shared by the identities acting there; all share the call counters.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_ecs::config::{ProvideCredentials, SharedCredentialsProvider};

use super::{AwsClients, AwsError, AwsErrorKind, AwsSettings, CallCounters, RateLimits};

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

    /// How status records the identity: `<role ARN or operator>@<Region or default>`.
    pub fn label(&self) -> String {
        format!(
            "{}@{}",
            self.role_arn.as_deref().unwrap_or("operator"),
            self.region.as_deref().unwrap_or("default")
        )
    }

    /// The session name for `namespace`: `ecs-operator-<namespace>`, within STS's 64 characters
    /// of `[\w+=,.@-]` (a namespace name always is).
    pub fn session_name_for(namespace: &str) -> String {
        let mut name = format!("ecs-operator-{namespace}");
        name.truncate(64);
        name
    }
}

/// The client sets of every identity in use, made on first use, and the rate limits of every
/// account and Region they act in.
pub(super) struct Pool {
    /// The operator's own configuration (credentials chain, endpoint, timeouts, no SDK retries).
    base: SdkConfig,
    /// How client sets are built (budgets, attempts, batch window).
    settings: AwsSettings,
    /// Shared by every set.
    counters: CallCounters,
    sets: Mutex<HashMap<Identity, AwsClients>>,
    /// Held while a set is made, so one identity's role is assumed once, not by every pass that
    /// asks at the same moment.
    making: tokio::sync::Mutex<()>,
    /// Per (account, Region): AWS throttles per account and Region, so namespaces sharing both
    /// share one budget. The operator's own account is `own` (its number is not known).
    limits: Mutex<HashMap<(String, String), RateLimits>>,
}

/// The account key of the operator's own identity in [`Pool`]'s limits.
const OWN_ACCOUNT: &str = "own";

impl Pool {
    pub(super) fn new(base: SdkConfig, settings: AwsSettings, counters: CallCounters) -> Self {
        Self {
            base,
            settings,
            counters,
            sets: Mutex::new(HashMap::new()),
            making: tokio::sync::Mutex::new(()),
            limits: Mutex::new(HashMap::new()),
        }
    }

    /// The operator's own Region.
    fn base_region(&self) -> String {
        self.base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// The rate limits of `account` in `region`, made on first use.
    pub(super) fn limits_for(&self, account: &str, region: &str) -> RateLimits {
        match self.limits.lock() {
            Ok(mut limits) => limits
                .entry((account.to_owned(), region.to_owned()))
                .or_insert_with(|| RateLimits::new(&self.settings.budgets))
                .clone(),
            Err(_) => RateLimits::new(&self.settings.budgets),
        }
    }

    /// The limits of the operator's own identity.
    pub(super) fn own_limits(&self) -> RateLimits {
        self.limits_for(OWN_ACCOUNT, &self.base_region())
    }

    fn cached(&self, identity: &Identity) -> Option<AwsClients> {
        self.sets.lock().ok().and_then(|s| s.get(identity).cloned())
    }

    /// The client set of `identity`, made (and its role assumed once, so a refusal is reported
    /// now and by name) the first time. A set whose role cannot be assumed is not kept: the next
    /// pass tries again.
    pub(super) async fn clients(&self, identity: &Identity) -> Result<AwsClients, AwsError> {
        if let Some(found) = self.cached(identity) {
            return Ok(found);
        }
        let _making = self.making.lock().await;
        if let Some(found) = self.cached(identity) {
            return Ok(found);
        }
        let region = identity
            .region
            .clone()
            .unwrap_or_else(|| self.base_region());
        let mut config = self.base.clone().into_builder();
        if let Some(region) = &identity.region {
            config = config.region(Region::new(region.clone()));
        }
        let account = match &identity.role_arn {
            Some(role) => {
                // STS in the operator's own Region: its tokens are valid in every Region, and a
                // Region the operator's account has not opted into would refuse the call.
                let mut builder = AssumeRoleProvider::builder(role.clone())
                    .session_name(identity.session_name.clone())
                    .configure(&self.base);
                if let Some(external_id) = &identity.external_id {
                    builder = builder.external_id(external_id.clone());
                }
                let provider = builder.build().await;
                provider.provide_credentials().await.map_err(|error| {
                    assume_role_error(role, &error, identity.external_id.as_deref())
                })?;
                config = config
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    // One cache for the set's clients, refreshing the credentials before they
                    // expire.
                    .identity_cache(IdentityCache::lazy().build());
                role.split(':').nth(4).unwrap_or(OWN_ACCOUNT).to_owned()
            }
            None => OWN_ACCOUNT.to_owned(),
        };
        let clients = AwsClients::from_config(
            &config.build(),
            &self.settings,
            self.counters.clone(),
            self.limits_for(&account, &region),
            None,
        );
        if let Ok(mut sets) = self.sets.lock() {
            sets.insert(identity.clone(), clients.clone());
        }
        Ok(clients)
    }
}

/// STS error codes that a later try can get past (throttling, STS unavailable or failing).
const PASSING_STS_CODES: [&str; 5] = [
    "Throttling",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "RequestTimeout",
];

/// A role that cannot be assumed: the trust policy, the role's name or the external ID is wrong
/// (fixed in IAM, outside Kubernetes: Terminal), or STS throttled, failed or could not be
/// reached (Transient). The external ID never appears in the message (status and Events are
/// the tenant's to read).
fn assume_role_error(
    role: &str,
    error: &(dyn std::error::Error + 'static),
    external_id: Option<&str>,
) -> AwsError {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail = format!("{detail}: {text}");
        }
        source = cause.source();
    }
    if let Some(id) = external_id.filter(|id| !id.is_empty()) {
        detail = detail.replace(id, "<external ID>");
    }
    let lower = detail.to_lowercase();
    let passing = PASSING_STS_CODES.iter().any(|code| detail.contains(code))
        || ["timed out", "dispatch failure", "io error", "connection"]
            .iter()
            .any(|sign| lower.contains(sign));
    AwsError {
        kind: if passing {
            AwsErrorKind::Transient
        } else {
            AwsErrorKind::Terminal
        },
        operation: "sts:AssumeRole".into(),
        code: None,
        message: format!("cannot assume {role}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Refused(&'static str);

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Refused {}

    #[test]
    fn refusals_stall_passing_failures_retry_and_the_external_id_stays_out() {
        let denied = assume_role_error(
            "arn:aws:iam::1:role/r",
            &Refused("AccessDenied: not authorized (ExternalId s3cr3t-id)"),
            Some("s3cr3t-id"),
        );
        assert_eq!(denied.kind, AwsErrorKind::Terminal);
        assert!(!denied.message.contains("s3cr3t-id"), "{}", denied.message);
        assert!(
            denied
                .message
                .contains("cannot assume arn:aws:iam::1:role/r")
        );
        for passing in [
            "Throttling: Rate exceeded",
            "ServiceUnavailable",
            "dispatch failure: io error",
        ] {
            let error = assume_role_error("arn:aws:iam::1:role/r", &Refused(passing), None);
            assert_eq!(error.kind, AwsErrorKind::Transient, "{passing}");
        }
    }
}
