//! Client-side rate limits: token buckets per AWS API category, so the operator stays under the
//! account's throttling quotas on its own instead of learning them from ThrottlingExceptions.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The throttling buckets ECS (and Application Auto Scaling) apply, by kind of call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiCategory {
    /// DescribeClusters, ListClusters.
    ClusterRead,
    /// DescribeServices, ListServices.
    ServiceRead,
    /// CreateService, UpdateService, DeleteService.
    ServiceWrite,
    /// DescribeTaskDefinition, ListTaskDefinitions.
    TaskDefinitionRead,
    /// RegisterTaskDefinition, DeregisterTaskDefinition.
    TaskDefinitionWrite,
    /// TagResource, UntagResource, ListTagsForResource.
    Tagging,
    /// Every Application Auto Scaling call.
    AutoScaling,
}

impl ApiCategory {
    /// Every category, for configuration and metrics.
    pub const ALL: [ApiCategory; 7] = [
        Self::ClusterRead,
        Self::ServiceRead,
        Self::ServiceWrite,
        Self::TaskDefinitionRead,
        Self::TaskDefinitionWrite,
        Self::Tagging,
        Self::AutoScaling,
    ];

    /// Name used in flags and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClusterRead => "cluster-read",
            Self::ServiceRead => "service-read",
            Self::ServiceWrite => "service-write",
            Self::TaskDefinitionRead => "task-definition-read",
            Self::TaskDefinitionWrite => "task-definition-write",
            Self::Tagging => "tagging",
            Self::AutoScaling => "autoscaling",
        }
    }
}

/// A token bucket: `per_second` sustained, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Refill rate (sustained calls per second).
    pub per_second: u32,
    /// Bucket size (calls allowed in one burst).
    pub burst: u32,
}

/// The default budget per category. ECS publishes its quotas per account and Region as token
/// buckets (cluster reads: bucket 50, refill 20/s); the operator takes about half of each so other
/// tools sharing the account keep room. All are configurable.
pub fn default_rates() -> BTreeMap<ApiCategory, Rate> {
    BTreeMap::from([
        (
            ApiCategory::ClusterRead,
            Rate {
                per_second: 10,
                burst: 25,
            },
        ),
        (
            ApiCategory::ServiceRead,
            Rate {
                per_second: 10,
                burst: 25,
            },
        ),
        (
            ApiCategory::ServiceWrite,
            Rate {
                per_second: 2,
                burst: 5,
            },
        ),
        (
            ApiCategory::TaskDefinitionRead,
            Rate {
                per_second: 10,
                burst: 25,
            },
        ),
        (
            ApiCategory::TaskDefinitionWrite,
            Rate {
                per_second: 1,
                burst: 5,
            },
        ),
        (
            ApiCategory::Tagging,
            Rate {
                per_second: 5,
                burst: 10,
            },
        ),
        (
            ApiCategory::AutoScaling,
            Rate {
                per_second: 5,
                burst: 10,
            },
        ),
    ])
}

/// One limiter per category; cloning shares the buckets.
#[derive(Clone)]
pub struct RateLimits {
    buckets: Arc<BTreeMap<ApiCategory, DefaultDirectRateLimiter>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("categories", &self.buckets.len())
            .finish()
    }
}

impl RateLimits {
    /// Buckets with the given rates; a category missing from `rates`, or with a zero rate, is not
    /// limited.
    pub fn new(rates: &BTreeMap<ApiCategory, Rate>) -> Self {
        let buckets = rates
            .iter()
            .filter_map(|(category, rate)| {
                let per_second = NonZeroU32::new(rate.per_second)?;
                let burst = NonZeroU32::new(rate.burst.max(1))?;
                let quota = Quota::per_second(per_second).allow_burst(burst);
                Some((*category, RateLimiter::direct(quota)))
            })
            .collect();
        Self {
            buckets: Arc::new(buckets),
        }
    }

    /// No limits at all (tests against emulators).
    pub fn unlimited() -> Self {
        Self::new(&BTreeMap::new())
    }

    /// Waits until a call of `category` is within budget.
    pub async fn acquire(&self, category: ApiCategory) {
        if let Some(bucket) = self.buckets.get(&category) {
            bucket.until_ready().await;
        }
    }
}

impl RateLimits {
    /// Takes a token without waiting; false when the category's budget is spent for now.
    pub fn try_acquire(&self, category: ApiCategory) -> bool {
        self.buckets
            .get(&category)
            .is_none_or(|bucket| bucket.check().is_ok())
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(&default_rates())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_burst_passes_then_calls_are_paced() {
        let limits = RateLimits::new(&BTreeMap::from([(
            ApiCategory::ServiceWrite,
            Rate {
                per_second: 20,
                burst: 5,
            },
        )]));
        for i in 0..5 {
            assert!(
                limits.try_acquire(ApiCategory::ServiceWrite),
                "call {i} of the burst"
            );
        }
        assert!(
            !limits.try_acquire(ApiCategory::ServiceWrite),
            "the bucket is empty"
        );
        // Refilling at 20/s, three more calls cannot all pass in less than ~100 ms.
        let start = Instant::now();
        for _ in 0..3 {
            limits.acquire(ApiCategory::ServiceWrite).await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
        // Categories without a rate are never limited.
        assert!((0..10_000).all(|_| limits.try_acquire(ApiCategory::ClusterRead)));
    }
}
