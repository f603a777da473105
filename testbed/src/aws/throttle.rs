//! AWS's request throttling, modelled: one token bucket per API category, as ECS documents it
//! ("Request throttling for the Amazon ECS API": a bucket's maximum capacity is the burst, its
//! refill rate the sustained rate, per account and Region). A call finding its bucket empty gets a
//! ThrottlingException and AWS does nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// One category's bucket.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSpec {
    /// Calls per second refilled.
    pub rate: f64,
    /// Capacity (calls allowed at once after a quiet period).
    pub burst: f64,
}

/// The throttling category of an operation, as ECS groups them; every Application Auto Scaling
/// operation shares one (AWS publishes no figures for it).
pub fn category(service: &str, operation: &str) -> &'static str {
    if service == "application-autoscaling" {
        return "autoscaling";
    }
    match operation {
        "DescribeClusters" | "ListClusters" => "cluster-read",
        "DescribeServices" | "ListServices" => "service-read",
        "CreateService" | "UpdateService" | "DeleteService" => "service-write",
        "DescribeServiceDeployments" | "ListServiceDeployments" => "service-deployment-read",
        "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => {
            "task-definition-read"
        }
        "RegisterTaskDefinition" | "DeregisterTaskDefinition" => "task-definition-write",
        "TagResource" | "UntagResource" => "tag-write",
        "ListTagsForResource" => "tag-read",
        _ => "other",
    }
}

/// The figures ECS documents per category (and the assumed Application Auto Scaling one).
pub fn documented() -> BTreeMap<String, BucketSpec> {
    let spec = |rate: f64, burst: f64| BucketSpec { rate, burst };
    [
        ("cluster-read", spec(20.0, 50.0)),
        ("service-read", spec(20.0, 100.0)),
        ("service-write", spec(5.0, 50.0)),
        ("service-deployment-read", spec(20.0, 50.0)),
        ("task-definition-read", spec(20.0, 50.0)),
        ("task-definition-write", spec(1.0, 20.0)),
        ("tag-write", spec(10.0, 20.0)),
        ("tag-read", spec(20.0, 50.0)),
        ("autoscaling", spec(10.0, 20.0)),
    ]
    .into_iter()
    .map(|(name, spec)| (name.to_owned(), spec))
    .collect()
}

struct Bucket {
    spec: BucketSpec,
    tokens: f64,
    refilled: Instant,
}

/// The buckets of one account; empty means no throttling.
#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<BTreeMap<String, Bucket>>,
}

impl Throttle {
    /// Replaces the buckets (full at first); an empty map turns throttling off.
    pub fn set(&self, specs: &BTreeMap<String, BucketSpec>) {
        let now = Instant::now();
        if let Ok(mut buckets) = self.buckets.lock() {
            *buckets = specs
                .iter()
                .map(|(name, spec)| {
                    (
                        name.clone(),
                        Bucket {
                            spec: *spec,
                            tokens: spec.burst,
                            refilled: now,
                        },
                    )
                })
                .collect();
        }
    }

    /// Takes a token for a call of `operation`; false when the call is throttled.
    pub fn admit(&self, service: &str, operation: &str) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let Some(bucket) = buckets.get_mut(category(service, operation)) else {
            return true;
        };
        let now = Instant::now();
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * bucket.spec.rate).min(bucket.spec.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_throttles() {
        let throttle = Throttle::default();
        throttle.set(&BTreeMap::from([(
            "task-definition-write".to_owned(),
            BucketSpec {
                rate: 0.001,
                burst: 3.0,
            },
        )]));
        let admitted = (0..5)
            .filter(|_| throttle.admit("ecs", "RegisterTaskDefinition"))
            .count();
        assert_eq!(admitted, 3);
        assert!(
            throttle.admit("ecs", "DescribeServices"),
            "other categories are free"
        );
    }
}
