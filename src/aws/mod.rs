//! The only module that talks to AWS and the only one that knows the AWS SDK: clients from the
//! default credential chain, typed and classified errors, adaptive client-side rate limits, retries,
//! batched reads and call counters.
//!
//! Requests come in as the operator's own types from `translate` and are turned into SDK inputs
//! by [`sdk`]; answers go out as the observation types in [`types`]. SDK shapes never leave here.

pub mod accounts;
pub mod answers;
pub mod autoscaling;
pub mod batch;
pub mod call;
pub mod capacity_providers;
pub mod clusters;
pub mod ecs;
pub mod error;
pub mod limits;
pub mod metrics;
mod raw;
mod read_ahead;
pub mod sdk;
pub mod service_deployments;
pub mod snapshot;
pub mod tasks;
pub mod types;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

pub use autoscaling::AutoScalingApi;
pub use call::Caller;
pub use ecs::EcsApi;
pub use error::{AwsError, AwsErrorKind, gone_is_done};
pub use limits::{ApiCategory, Budget, RateLimits};
pub use metrics::CallCounters;

/// How to reach AWS. Everything left unset comes from the default chain (environment, profile,
/// IRSA web identity, EKS Pod Identity / container credentials, IMDS).
#[derive(Clone, Debug)]
pub struct AwsSettings {
    /// Region override.
    pub region: Option<String>,
    /// Endpoint override: moto, LocalStack or a VPC endpoint.
    pub endpoint_url: Option<String>,
    /// Attempts per call for failures a retry can fix (1: none; the controllers still retry
    /// with their own backoff).
    pub max_attempts: u32,
    /// Static credentials (access key id, secret), for emulators; production uses the chain.
    pub static_credentials: Option<(String, String)>,
    /// Adaptive client-side budgets per category; a category without one is not limited.
    pub budgets: BTreeMap<ApiCategory, Budget>,
    /// How long a describe waits for concurrent describes to share its call.
    pub batch_window: Duration,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: None,
            endpoint_url: None,
            max_attempts: 3,
            static_credentials: None,
            budgets: limits::default_budgets(None),
            batch_window: Duration::from_millis(20),
        }
    }
}

/// The AWS APIs the controllers use, sharing one set of counters.
#[derive(Clone)]
pub struct AwsClients {
    /// ECS.
    pub ecs: EcsApi,
    /// Application Auto Scaling.
    pub autoscaling: AutoScalingApi,
    /// The adaptive budgets both share.
    pub limits: RateLimits,
    /// Counts of every call made through `ecs` and `autoscaling`.
    pub counters: CallCounters,
    /// The client sets of other identities (namespaces with a role of their own); `None` in a
    /// set made for such an identity.
    pool: Option<std::sync::Arc<accounts::Pool>>,
}

impl AwsClients {
    /// Loads configuration and builds the clients.
    pub async fn connect(settings: &AwsSettings) -> Self {
        // Retries happen in `call::Caller`, which knows which calls are safe to repeat and feeds
        // every throttle to the adaptive budget; the SDK must not retry on its own.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &settings.static_credentials {
            loader = loader.credentials_provider(aws_sdk_ecs::config::Credentials::new(
                key.clone(),
                secret.clone(),
                None,
                None,
                "ecs-operator-static",
            ));
        }
        let config = loader.load().await;
        let counters = CallCounters::default();
        let pool = accounts::Pool::new(config.clone(), settings.clone(), counters.clone());
        let limits = pool.own_limits();
        Self::from_config(
            &config,
            settings,
            counters,
            limits,
            Some(std::sync::Arc::new(pool)),
        )
    }

    /// The clients of one identity, from its SDK configuration.
    fn from_config(
        config: &aws_config::SdkConfig,
        settings: &AwsSettings,
        counters: CallCounters,
        limits: RateLimits,
        pool: Option<std::sync::Arc<accounts::Pool>>,
    ) -> Self {
        let caller = |service| Caller {
            service,
            limits: limits.clone(),
            counters: counters.clone(),
            max_attempts: settings.max_attempts.max(1),
        };
        Self {
            ecs: EcsApi::new(
                aws_sdk_ecs::Client::new(config),
                caller("ecs"),
                settings.batch_window,
            ),
            autoscaling: AutoScalingApi::new(
                aws_sdk_applicationautoscaling::Client::new(config),
                caller("application-autoscaling"),
                settings.batch_window,
            ),
            limits,
            counters,
            pool,
        }
    }

    /// The clients to reconcile with as `identity`: these for the operator's own identity, else
    /// the identity's own set (its role assumed through STS; its own batching and caches; the
    /// rate limits of its account and Region, since AWS throttles per account and Region).
    pub async fn for_identity(&self, identity: &accounts::Identity) -> Result<Self, AwsError> {
        match &self.pool {
            Some(pool) if !identity.is_default() => pool.clients(identity).await,
            _ => Ok(self.clone()),
        }
    }
}
