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

/// The throttling category of an operation, as ECS groups them ("Request Token Bucket Sizes and
/// Refill Rates" of the request-throttling page); every Application Auto Scaling operation shares
/// one (AWS publishes no figures for it).
pub fn category(service: &str, operation: &str) -> &'static str {
    if service == "application-autoscaling" {
        return "autoscaling";
    }
    match operation {
        "DescribeClusters" | "ListClusters" => "cluster-read",
        "CreateCluster"
        | "DeleteCluster"
        | "PutClusterCapacityProviders"
        | "UpdateCluster"
        | "UpdateClusterSettings" => "cluster-modify",
        "DescribeServices" | "ListServices" => "service-read",
        "CreateService" | "UpdateService" | "DeleteService" => "service-write",
        "DescribeServiceDeployments" | "ListServiceDeployments" => "service-deployment-read",
        "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => {
            "task-definition-read"
        }
        "RegisterTaskDefinition" | "DeregisterTaskDefinition" => "task-definition-write",
        "DeleteTaskDefinitions" => "task-definition-delete",
        "CreateCapacityProvider" | "DeleteCapacityProvider" | "UpdateCapacityProvider" => {
            "capacity-provider-modify"
        }
        "DescribeCapacityProviders" => "capacity-provider-read",
        "DeleteAttributes"
        | "DeregisterContainerInstance"
        | "ExecuteCommand"
        | "PutAttributes"
        | "RunTask"
        | "StartTask"
        | "StopTask"
        | "UpdateContainerAgent"
        | "UpdateContainerInstancesStates" => "cluster-resource-modify",
        "DescribeContainerInstances"
        | "DescribeTasks"
        | "ListAttributes"
        | "ListContainerInstances"
        | "ListTasks" => "cluster-resource-read",
        "TagResource" | "UntagResource" => "tag-write",
        "ListTagsForResource" => "tag-read",
        _ => "other",
    }
}

/// The Fargate buckets a RunTask call also draws from, with the tokens it takes: "The rate quota
/// for calls to the Amazon ECS RunTask API is 20 calls per second (burst and sustained)", and the
/// task launch rate quotas (one token per task, on-demand and Spot apart). Only a launch type or
/// strategy named in the request is known here (a cluster's default strategy is not).
pub fn fargate_draws(operation: &str, body: &serde_json::Value) -> Vec<(&'static str, f64)> {
    if operation != "RunTask" {
        return Vec::new();
    }
    let count = body["count"].as_f64().unwrap_or(1.0).max(1.0);
    let providers: Vec<&str> = body["capacityProviderStrategy"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["capacityProvider"].as_str())
        .collect();
    let spot = providers.contains(&"FARGATE_SPOT");
    let on_demand = body["launchType"] == "FARGATE" || providers.contains(&"FARGATE");
    let mut draws = Vec::new();
    if spot || on_demand {
        draws.push(("fargate-run-task", 1.0));
    }
    // A mixed strategy's split is the scheduler's; the model charges the whole count to the
    // on-demand bucket when FARGATE is named at all.
    if on_demand {
        draws.push(("fargate-task-launch", count));
    } else if spot {
        draws.push(("fargate-spot-task-launch", count));
    }
    draws
}

/// The figures ECS documents per category (and the assumed Application Auto Scaling one).
pub fn documented() -> BTreeMap<String, BucketSpec> {
    let spec = |rate: f64, burst: f64| BucketSpec { rate, burst };
    [
        ("cluster-read", spec(20.0, 50.0)),
        ("cluster-modify", spec(1.0, 20.0)),
        ("service-read", spec(20.0, 100.0)),
        ("service-write", spec(5.0, 50.0)),
        ("service-deployment-read", spec(20.0, 50.0)),
        ("task-definition-read", spec(20.0, 50.0)),
        ("task-definition-write", spec(1.0, 20.0)),
        ("task-definition-delete", spec(1.0, 5.0)),
        ("capacity-provider-read", spec(20.0, 50.0)),
        ("capacity-provider-modify", spec(1.0, 10.0)),
        ("cluster-resource-read", spec(20.0, 100.0)),
        ("cluster-resource-modify", spec(40.0, 100.0)),
        ("fargate-run-task", spec(20.0, 20.0)),
        ("fargate-task-launch", spec(20.0, 100.0)),
        ("fargate-spot-task-launch", spec(20.0, 100.0)),
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

/// The buckets, one set per account and Region ("Amazon ECS throttles all API requests for each
/// AWS account on a per-Region basis"), made full on first use from the specs; no specs means no
/// throttling.
#[derive(Default)]
pub struct Throttle {
    state: Mutex<ThrottleState>,
}

#[derive(Default)]
struct ThrottleState {
    specs: BTreeMap<String, BucketSpec>,
    /// By (account, Region, category).
    buckets: BTreeMap<(String, String, String), Bucket>,
}

/// Who a call counts against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The AWS account.
    pub account: &'a str,
    /// The Region (the credential scope of the request's signature).
    pub region: &'a str,
}

impl Throttle {
    /// Replaces the bucket figures (every bucket full again); an empty map turns throttling off.
    pub fn set(&self, specs: &BTreeMap<String, BucketSpec>) {
        if let Ok(mut state) = self.state.lock() {
            state.specs = specs.clone();
            state.buckets.clear();
        }
    }

    /// Takes the tokens a call of `operation` needs from its caller's buckets; false (and
    /// nothing taken) when any of them has too few: the call is throttled.
    pub fn admit(
        &self,
        caller: &Caller<'_>,
        service: &str,
        operation: &str,
        body: &serde_json::Value,
    ) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return true;
        };
        let mut draws = vec![(category(service, operation), 1.0)];
        if service == "ecs" {
            draws.extend(fargate_draws(operation, body));
        }
        let now = Instant::now();
        let ThrottleState { specs, buckets } = &mut *state;
        let mut keys = Vec::new();
        for (name, tokens) in draws {
            let Some(spec) = specs.get(name) else {
                continue;
            };
            let key = (
                caller.account.to_owned(),
                caller.region.to_owned(),
                name.to_owned(),
            );
            let bucket = buckets.entry(key.clone()).or_insert(Bucket {
                spec: *spec,
                tokens: spec.burst,
                refilled: now,
            });
            let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * bucket.spec.rate).min(bucket.spec.burst);
            bucket.refilled = now;
            if bucket.tokens < tokens {
                return false;
            }
            keys.push((key, tokens));
        }
        for (key, tokens) in keys {
            if let Some(bucket) = buckets.get_mut(&key) {
                bucket.tokens -= tokens;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ONE: Caller<'static> = Caller {
        account: "111111111111",
        region: "us-east-1",
    };

    fn slow(burst: f64) -> BucketSpec {
        BucketSpec { rate: 0.001, burst }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_throttles() {
        let throttle = Throttle::default();
        throttle.set(&BTreeMap::from([(
            "task-definition-write".to_owned(),
            slow(3.0),
        )]));
        let admitted = (0..5)
            .filter(|_| throttle.admit(&ONE, "ecs", "RegisterTaskDefinition", &json!({})))
            .count();
        assert_eq!(admitted, 3);
        assert!(
            throttle.admit(&ONE, "ecs", "DescribeServices", &json!({})),
            "other categories are free"
        );
    }

    #[test]
    fn each_account_and_region_has_its_own_buckets() {
        let throttle = Throttle::default();
        throttle.set(&BTreeMap::from([("service-write".to_owned(), slow(2.0))]));
        let other_account = Caller {
            account: "222222222222",
            ..ONE
        };
        let other_region = Caller {
            region: "eu-west-1",
            ..ONE
        };
        for caller in [&ONE, &other_account, &other_region] {
            let admitted = (0..3)
                .filter(|_| throttle.admit(caller, "ecs", "CreateService", &json!({})))
                .count();
            assert_eq!(admitted, 2, "{caller:?}");
        }
    }

    #[test]
    fn fargate_run_task_draws_its_own_buckets_per_task() {
        let throttle = Throttle::default();
        throttle.set(&BTreeMap::from([
            ("cluster-resource-modify".to_owned(), slow(100.0)),
            ("fargate-run-task".to_owned(), slow(20.0)),
            ("fargate-task-launch".to_owned(), slow(25.0)),
        ]));
        let fargate = json!({"launchType": "FARGATE", "count": 10});
        assert!(throttle.admit(&ONE, "ecs", "RunTask", &fargate));
        assert!(throttle.admit(&ONE, "ecs", "RunTask", &fargate));
        assert!(
            !throttle.admit(&ONE, "ecs", "RunTask", &fargate),
            "20 tasks launched, 5 tokens left for 10"
        );
        assert!(
            throttle.admit(
                &ONE,
                "ecs",
                "RunTask",
                &json!({"launchType": "FARGATE", "count": 5})
            ),
            "nothing was taken by the refused call"
        );
        assert!(
            throttle.admit(
                &ONE,
                "ecs",
                "RunTask",
                &json!({"launchType": "EC2", "count": 10})
            ),
            "EC2 tasks use no Fargate bucket"
        );
        assert_eq!(
            fargate_draws(
                "RunTask",
                &json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}], "count": 3})
            ),
            vec![("fargate-run-task", 1.0), ("fargate-spot-task-launch", 3.0)]
        );
    }

    #[test]
    fn every_documented_category_has_figures() {
        let figures = documented();
        for operation in [
            "CreateCluster",
            "DescribeCapacityProviders",
            "CreateCapacityProvider",
            "RunTask",
            "DescribeTasks",
            "DeleteTaskDefinitions",
        ] {
            assert!(
                figures.contains_key(category("ecs", operation)),
                "{operation}"
            );
        }
    }
}
