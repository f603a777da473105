//! Accounts as the unit of scale: AWS throttles per account and Region, so the same objects
//! spread over namespaces whose roles live in different accounts should converge that many
//! times faster against ECS's documented buckets, with every account's calls within its own.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::scenarios::{BenchStack, KINDS, ROLLOUT_SECONDS, Scale};
use super::{ecs_call, task_definition_object};
use crate::TestbedError;
use crate::aws::throttle;

/// One throttled cold start of `objects`, spread over `accounts`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spread {
    /// Accounts (one namespace each; one account: the operator's own, no role).
    pub accounts: usize,
    /// Objects in all.
    pub objects: usize,
    /// Creation to every object Ready.
    pub seconds: f64,
    /// The slowest bucket's floor in one account ((writes - burst) / rate), plus a rollout.
    pub floor_seconds: f64,
    /// Calls each account's buckets refused (ThrottlingException), by account.
    pub throttled_by_account: BTreeMap<String, usize>,
    /// Calls made in each account, by account.
    pub calls_by_account: BTreeMap<String, usize>,
}

/// The one-account run against the spread one.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accounts {
    /// Everything in the operator's own account.
    pub one: Spread,
    /// The same objects, a share in each account.
    pub spread: Spread,
    /// `one.seconds / spread.seconds`.
    pub speedup: f64,
    /// `one.floor_seconds / spread.floor_seconds`: what the buckets alone allow.
    pub floor_speedup: f64,
}

/// The role whose account holds namespace `index`'s resources.
fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/ecs-operator-bench")
}

/// Every object of `scale`, split over `namespaces` (object `i` goes to namespace `i % n`),
/// each service in a cluster of its namespace's account.
fn objects(
    scale: &Scale,
    namespaces: &[String],
    networks: &[(String, String)],
) -> Vec<(&'static str, Value)> {
    let n = namespaces.len().max(1);
    let mut all = Vec::new();
    for i in 0..scale.task_definitions {
        let mut object = task_definition_object(&format!("td-{i}"), "nginx:1");
        object["metadata"]["namespace"] = json!(namespaces[i % n]);
        all.push(("ecstaskdefinitions", object));
    }
    for i in 0..scale.services {
        let (subnet, group) = &networks[i % n];
        all.push((
            "ecsservices",
            json!({
                "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
                "metadata": {"name": format!("svc-{i}"), "namespace": namespaces[i % n]},
                "spec": {
                    "cluster": format!("bench-{}", i % scale.clusters.max(1)),
                    // td-j with j = i in the same namespace (services and task definitions
                    // are equally many here).
                    "taskDefinitionRef": {"name": format!("td-{}", i % scale.task_definitions.max(1))},
                    "launchType": "FARGATE", "desiredCount": 1,
                    "networkConfiguration": {"awsvpcConfiguration": {
                        "subnets": [subnet], "securityGroups": [group]}}
                }
            }),
        ));
    }
    for i in 0..scale.policies {
        all.push((
            "ecsscalingpolicies",
            json!({
                "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
                "metadata": {"name": format!("pol-{i}"), "namespace": namespaces[i % n]},
                "spec": {
                    "serviceRef": {"name": format!("svc-{i}")}, "minCapacity": 1, "maxCapacity": 4,
                    "targetTrackingPolicies": [{"policyName": "cpu50", "targetValue": 50.0,
                        "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}]
                }
            }),
        ));
    }
    all
}

/// A throttled cold start of `scale` over `accounts` accounts (1: the operator's own account
/// and namespace `default`; more: a namespace per account, each annotated with a role there).
pub async fn spread(
    bench: &mut BenchStack,
    scale: &Scale,
    accounts: usize,
) -> Result<Spread, TestbedError> {
    let accounts = accounts.max(1);
    let buckets = throttle::documented();
    bench.stack.proxy.set_buckets(&buckets);
    let mut namespaces = Vec::new();
    let mut networks = Vec::new();
    if accounts == 1 {
        namespaces.push("default".to_owned());
        networks.push(bench.network());
    } else {
        let http = crate::http::client();
        for k in 0..accounts {
            let account = crate::next_account_id();
            for c in 0..scale.clusters {
                ecs_call(
                    &http,
                    bench.stack.moto.url(),
                    &account,
                    "CreateCluster",
                    &json!({"clusterName": format!("bench-{c}")}),
                )
                .await?;
            }
            let (subnets, groups) =
                crate::aws::moto::default_network(bench.stack.moto.url(), &account).await?;
            networks.push((
                subnets.first().cloned().unwrap_or_default(),
                groups.first().cloned().unwrap_or_default(),
            ));
            let namespace = format!("tenant-{k}");
            bench
                .stack
                .post(
                    "/api/v1/namespaces",
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                        "name": namespace,
                        "annotations": {"ecs.operator.dev/aws-role-arn": role(&account)}}}),
                )
                .await?;
            namespaces.push(namespace);
        }
    }
    bench.start_operator()?;
    let started = Instant::now();
    let all = objects(scale, &namespaces, &networks);
    for (plural, _) in KINDS {
        let of_kind: Vec<Value> = all
            .iter()
            .filter(|(p, _)| *p == plural)
            .map(|(_, o)| o.clone())
            .collect();
        bench.stack.create_all(plural, of_kind, 16).await?;
    }
    for ((plural, _), expected) in
        KINDS
            .iter()
            .zip([scale.task_definitions, scale.services, scale.policies])
    {
        bench
            .stack
            .wait_ready(plural, expected, started, Duration::from_secs(3600))
            .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_account = |writes: usize| writes.div_ceil(accounts) as f64;
    let needed = [
        ("task-definition-write", per_account(scale.task_definitions)),
        ("service-write", per_account(scale.services)),
        ("autoscaling", per_account(2 * scale.policies)),
    ];
    let floor_seconds = needed
        .iter()
        .filter_map(|(category, writes)| {
            let spec = buckets.get(*category)?;
            Some((writes - spec.burst).max(0.0) / spec.rate)
        })
        .fold(0.0, f64::max)
        + ROLLOUT_SECONDS;
    let mut throttled_by_account = BTreeMap::new();
    let mut calls_by_account = BTreeMap::new();
    for record in bench.stack.proxy.requests() {
        // STS answers are not an account's ECS or Application Auto Scaling calls.
        if record.service == "sts" {
            continue;
        }
        *calls_by_account.entry(record.account.clone()).or_insert(0) += 1;
        if record.fault.as_deref() == Some("Throttle") {
            *throttled_by_account.entry(record.account).or_insert(0) += 1;
        }
    }
    Ok(Spread {
        accounts,
        objects: scale.objects(),
        seconds,
        floor_seconds,
        throttled_by_account,
        calls_by_account,
    })
}
