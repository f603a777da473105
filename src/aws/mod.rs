//! The only module that talks to AWS: clients from the default credential chain, typed and
//! classified errors, client-side rate limits, batched reads and call counters.
//!
//! Requests are built by `translate::sdk`; answers come back as the types in [`types`], so the
//! controllers never see AWS SDK shapes.

pub mod autoscaling;
pub mod batch;
pub mod ecs;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod tags;
pub mod types;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

pub use autoscaling::AutoScalingApi;
pub use ecs::EcsApi;
pub use error::{AwsError, AwsErrorKind};
pub use limits::{ApiCategory, Rate, RateLimits};
pub use metrics::CallCounters;

/// How to reach AWS. Everything left unset comes from the default chain (environment, profile,
/// IRSA web identity, EKS Pod Identity / container credentials, IMDS).
#[derive(Clone, Debug)]
pub struct AwsSettings {
    /// Region override.
    pub region: Option<String>,
    /// Endpoint override: moto, LocalStack or a VPC endpoint.
    pub endpoint_url: Option<String>,
    /// SDK attempts per call (1 disables SDK retries; the controllers retry with their own backoff).
    pub max_attempts: u32,
    /// Static credentials (access key id, secret), for emulators; production uses the chain.
    pub static_credentials: Option<(String, String)>,
    /// Client-side rate limits per category.
    pub rates: BTreeMap<ApiCategory, Rate>,
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
            rates: limits::default_rates(),
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
    /// Counts of every call made through `ecs` and `autoscaling`.
    pub counters: CallCounters,
}

impl AwsClients {
    /// Loads configuration and builds the clients.
    pub async fn connect(settings: &AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)));
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
        let limits = RateLimits::new(&settings.rates);
        let counters = CallCounters::default();
        Self {
            ecs: EcsApi::new(
                aws_sdk_ecs::Client::new(&config),
                limits.clone(),
                counters.clone(),
                settings.batch_window,
            ),
            autoscaling: AutoScalingApi::new(
                aws_sdk_applicationautoscaling::Client::new(&config),
                limits,
                counters.clone(),
                settings.batch_window,
            ),
            counters,
        }
    }
}
