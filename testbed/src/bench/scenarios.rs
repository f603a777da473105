//! The whole-stack benchmark: the Kubernetes API emulator, the real `ecs-operator` process, the
//! AWS proxy with its ECS model, and moto. Five scenarios (cold start at scale, a steady-state
//! resync, one change, throttled AWS, faults), each measured against a floor taken in the same
//! run, so the figures are ratios a reader can trust on any machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::throttle::{self, BucketSpec};
use crate::bench::{Stack, autoscaling_call, collection, ecs_call, task_definition_object};
use crate::http::{self, HttpClient};
use crate::{Fault, FaultRule, TestbedError};

/// How many objects of each kind.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    /// EcsTaskDefinitions.
    pub task_definitions: usize,
    /// EcsServices, each following one task definition.
    pub services: usize,
    /// ECS clusters the services spread over.
    pub clusters: usize,
    /// EcsScalingPolicies, each scaling one service.
    pub policies: usize,
}

impl Scale {
    /// The scale: 1,000 task definitions and services over 10 clusters, 200 policies.
    pub fn full() -> Self {
        Self {
            task_definitions: 1000,
            services: 1000,
            clusters: 10,
            policies: 200,
        }
    }

    /// Issue 25's large install: 4,500 task definitions, 4,500 services over 50 clusters,
    /// 1,000 policies (10,000 objects).
    pub fn ten_thousand() -> Self {
        Self {
            task_definitions: 4500,
            services: 4500,
            clusters: 50,
            policies: 1000,
        }
    }

    /// A tenth of it, for the test suite and the throttled scenario.
    pub fn small() -> Self {
        Self {
            task_definitions: 100,
            services: 100,
            clusters: 10,
            policies: 20,
        }
    }

    /// All objects.
    pub fn objects(&self) -> usize {
        self.task_definitions + self.services + self.policies
    }
}

/// The three kinds, as (plural, metrics label).
pub const KINDS: [(&str, &str); 3] = [
    ("ecstaskdefinitions", "task_definition"),
    ("ecsservices", "service"),
    ("ecsscalingpolicies", "scaling_policy"),
];

/// Seconds from a deployment's start to COMPLETED in the ECS model during the benchmark.
pub const ROLLOUT_SECONDS: f64 = 2.0;

/// A stack with the operator running and the clusters and network the objects use.
pub struct BenchStack {
    /// The stack.
    pub stack: Stack,
    operator: PathBuf,
    args: Vec<String>,
    admin: String,
    subnet: String,
    security_group: String,
    http: HttpClient,
    dir: PathBuf,
    starts: usize,
}

fn err(e: impl std::fmt::Display) -> TestbedError {
    TestbedError::Http(e.to_string())
}

impl BenchStack {
    /// Starts moto, the proxy, the emulator; creates `clusters` clusters; does not start the
    /// operator yet (the floor is measured on a quiet machine first).
    pub async fn start(
        operator: &Path,
        dir: &Path,
        clusters: usize,
        resync: Duration,
    ) -> Result<Self, TestbedError> {
        Self::start_on(operator, dir, clusters, resync, false).await
    }

    /// [`BenchStack::start`] on the emulator or (`real`) on a real kube-apiserver and etcd.
    pub async fn start_on(
        operator: &Path,
        dir: &Path,
        clusters: usize,
        resync: Duration,
        real: bool,
    ) -> Result<Self, TestbedError> {
        let stack = Stack::start_on(operator, dir, real).await?;
        if let Some(model) = stack.proxy.model() {
            model.set_knobs(crate::aws::ecs_model::KnobsPatch {
                rollout_seconds: Some(ROLLOUT_SECONDS),
                drain_seconds: Some(1.0),
                ..Default::default()
            });
        }
        for i in 0..clusters {
            stack
                .ecs(
                    "CreateCluster",
                    &json!({"clusterName": format!("bench-{i}")}),
                )
                .await?;
        }
        let (subnets, groups) =
            crate::aws::moto::default_network(stack.moto.url(), &stack.account).await?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| TestbedError::io("a free port", e))?;
        let args = vec![
            // The ceiling is raised so the adaptive budgets, not a guessed quota, set the pace.
            "--aws-max-rate=1000".to_owned(),
            format!("--resync-seconds={}", resync.as_secs().max(1)),
            format!("--admin-bind-address=127.0.0.1:{port}"),
        ];
        Ok(Self {
            stack,
            operator: operator.to_owned(),
            args,
            admin: format!("http://127.0.0.1:{port}"),
            subnet: subnets.first().cloned().unwrap_or_default(),
            security_group: groups.first().cloned().unwrap_or_default(),
            http: http::client(),
            dir: dir.to_owned(),
            starts: 0,
        })
    }

    /// Starts (or restarts) the operator; each start logs to `operator-N.log` in the stack's
    /// directory (warnings and errors: read them when a figure looks wrong).
    pub fn start_operator(&mut self) -> Result<(), TestbedError> {
        let operator = self.operator.clone();
        let args = self.args.clone();
        self.starts += 1;
        let log = self.dir.join(format!("operator-{}.log", self.starts));
        self.stack
            .start_operator_logged(&operator, &args, Some(&log))
    }

    /// Stops the operator (SIGKILL).
    pub fn stop_operator(&mut self) {
        self.stack.stop_operator();
    }

    /// The operator's metrics text.
    pub async fn metrics(&self) -> Result<String, TestbedError> {
        let (status, body) = http::send(
            &self.http,
            "GET",
            &format!("{}/metrics", self.admin),
            &[],
            Default::default(),
        )
        .await?;
        if status != 200 {
            return Err(err(format!("/metrics: {status}")));
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Whether the operator leads with every watch cache filled (its readiness probe answers
    /// 200 as a leader; a standby answers 200 too, with another reason).
    pub(crate) async fn leading_with_caches_synced(&self) -> bool {
        http::send(
            &self.http,
            "GET",
            &format!("{}/readyz", self.admin),
            &[],
            Default::default(),
        )
        .await
        .is_ok_and(|(status, body)| status == 200 && body.starts_with(b"leader"))
    }

    /// Stops the operator with SIGTERM, as a rolling upgrade does.
    pub(crate) fn terminate_operator(&mut self) {
        self.stack.terminate_operator(Duration::from_secs(30));
    }

    /// The subnet and security group of the stack's own account the services use.
    pub(crate) fn network(&self) -> (String, String) {
        (self.subnet.clone(), self.security_group.clone())
    }

    /// Passes that ended Ready so far, all kinds together.
    pub(crate) async fn ready_passes(&self) -> Result<f64, TestbedError> {
        let metrics = self.metrics().await?;
        Ok(KINDS
            .iter()
            .filter_map(|(_, kind)| {
                let line =
                    format!("ecs_operator_reconciles_total{{kind=\"{kind}\",result=\"ready\"}} ");
                metrics
                    .lines()
                    .find_map(|l| l.strip_prefix(line.as_str()))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .sum())
    }

    fn service_object(&self, scale: &Scale, i: usize) -> Value {
        json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
            "metadata": {"name": format!("svc-{i}"), "namespace": "default"},
            "spec": {
                "cluster": format!("bench-{}", i % scale.clusters.max(1)),
                "taskDefinitionRef": {"name": format!("td-{}", i % scale.task_definitions.max(1))},
                "launchType": "FARGATE", "desiredCount": 1,
                "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": [self.subnet], "securityGroups": [self.security_group]}}
            }
        })
    }

    /// Creates every object of `scale`, all kinds at once.
    pub(crate) async fn create(&self, scale: &Scale) -> Result<(), TestbedError> {
        let tds = (0..scale.task_definitions)
            .map(|i| task_definition_object(&format!("td-{i}"), "nginx:1"))
            .collect();
        let services = (0..scale.services)
            .map(|i| self.service_object(scale, i))
            .collect();
        let policies = (0..scale.policies).map(policy_object).collect();
        let (a, b, c) = tokio::join!(
            self.stack.create_all("ecstaskdefinitions", tds, 16),
            self.stack.create_all("ecsservices", services, 16),
            self.stack.create_all("ecsscalingpolicies", policies, 16),
        );
        a.and(b).and(c)
    }

    /// Waits until every object of `scale` is Ready; the time since `since`, and the most
    /// Stalled objects seen on the way.
    async fn wait_all_ready(
        &self,
        scale: &Scale,
        since: Instant,
        timeout: Duration,
    ) -> Result<(Duration, usize, BTreeMap<String, f64>), TestbedError> {
        let mut stalled = 0;
        let mut last = Duration::ZERO;
        let mut by_kind = BTreeMap::new();
        for ((plural, kind), expected) in
            KINDS
                .iter()
                .zip([scale.task_definitions, scale.services, scale.policies])
        {
            let (took, seen) = self
                .stack
                .wait_ready(plural, expected, since, timeout)
                .await?;
            stalled = stalled.max(seen);
            last = last.max(took);
            by_kind.insert((*kind).to_owned(), took.as_secs_f64());
        }
        Ok((last, stalled, by_kind))
    }

    /// Kubernetes API requests so far, by verb and resource ("patch ecsservices/status"): the
    /// emulator's own counts, or the real API server's `apiserver_request_total`.
    pub async fn kube_requests(&self) -> Result<BTreeMap<String, u64>, TestbedError> {
        if let Ok(api) = self.stack.kube.emulator() {
            return Ok(api
                .server()
                .request_counts()
                .into_iter()
                .map(|((verb, resource), n)| (format!("{verb} {resource}"), n))
                .collect());
        }
        let (status, body) = http::send(
            &self.http,
            "GET",
            &format!("{}/metrics", self.stack.kube.url()),
            &[],
            Default::default(),
        )
        .await?;
        if status != 200 {
            return Err(err(format!("the API server's /metrics: {status}")));
        }
        Ok(super::kube_counts::api_server_requests(
            &String::from_utf8_lossy(&body),
        ))
    }

    /// Proxy records after the first `skip`, by operation, split into (reads, writes).
    pub(crate) fn calls_since(
        &self,
        skip: usize,
    ) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
        let mut reads = BTreeMap::new();
        let mut writes = BTreeMap::new();
        for record in self.stack.proxy.requests().into_iter().skip(skip) {
            let into = if is_write(&record.operation) {
                &mut writes
            } else {
                &mut reads
            };
            *into.entry(record.operation).or_insert(0) += 1;
        }
        (reads, writes)
    }
}

/// Whether an operation changes AWS.
pub fn is_write(operation: &str) -> bool {
    [
        "Register",
        "Deregister",
        "Create",
        "Update",
        "Delete",
        "Put",
        "Tag",
        "Untag",
    ]
    .iter()
    .any(|verb| operation.starts_with(verb))
}

fn policy_object(i: usize) -> Value {
    json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
        "metadata": {"name": format!("pol-{i}"), "namespace": "default"},
        "spec": {
            "serviceRef": {"name": format!("svc-{i}")}, "minCapacity": 1, "maxCapacity": 4,
            "targetTrackingPolicies": [{"policyName": "cpu50", "targetValue": 50.0,
                "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}]
        }
    })
}

/// Scenario 1's figures.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdStart {
    /// Objects created.
    pub objects: usize,
    /// Creation to every object Ready.
    pub seconds: f64,
    /// The test bed serving the same writes itself (see [`measure_floor`]).
    pub floor_seconds: f64,
    /// `seconds / floor_seconds`.
    pub ratio: f64,
    /// AWS calls by operation (every attempt).
    pub aws_calls: BTreeMap<String, usize>,
    /// Kubernetes API requests by verb and resource ("patch ecsservices/status"), the
    /// benchmark's own included (its creates and its lists of the three kinds).
    pub kube_requests: BTreeMap<String, u64>,
    /// The operator's Kubernetes API requests: all of `kube_requests` but the benchmark's
    /// creates and lists of the three kinds (the operator lists them only at its start).
    pub operator_kube_requests: u64,
    /// `operator_kube_requests` per object.
    pub operator_kube_requests_per_object: f64,
    /// Every AWS call (attempts included) over the writes the objects need (one per task
    /// definition and service, two per scaling policy).
    pub aws_calls_over_writes: f64,
    /// Operator peak resident memory (`VmHWM`).
    pub peak_rss_mib: f64,
    /// Operator resident anonymous memory (heap, stacks) when all were Ready.
    pub rss_anon_mib: f64,
    /// Operator resident file-backed memory (the binary's pages) when all were Ready.
    pub rss_file_mib: f64,
    /// Operator CPU time.
    pub cpu_seconds: f64,
    /// The most objects Stalled at once on the way.
    pub stalled_seen: usize,
    /// Creation to every object of a kind seen Ready (kinds are awaited in order: task
    /// definitions, services, scaling policies).
    pub ready_seconds_by_kind: BTreeMap<String, f64>,
    /// From creation to the operator's last AWS write (the rest of `seconds` is rollouts and
    /// noticing they finished).
    pub last_write_seconds: f64,
}

/// The floor of a cold start: the test bed serving the same writes itself, as fast as it accepts
/// them (32 in flight), kind after kind, in an account of its own; plus one rollout.
pub async fn measure_floor(bench: &BenchStack, scale: &Scale) -> Result<f64, TestbedError> {
    let client = &bench.http;
    let proxy = bench.stack.proxy.url();
    let account = crate::next_account_id();
    ecs_call(
        client,
        bench.stack.moto.url(),
        &account,
        "CreateCluster",
        &json!({"clusterName": "floor"}),
    )
    .await?;
    let (subnets, groups) =
        crate::aws::moto::default_network(bench.stack.moto.url(), &account).await?;
    let started = Instant::now();
    let registered = run_all(scale.task_definitions, |i| {
        let body = crate::bench::task_definition_body(&format!("floor-{i}"), "nginx:1");
        let account = account.clone();
        async move { ecs_call(client, proxy, &account, "RegisterTaskDefinition", &body).await }
    })
    .await?;
    let arn = registered
        .first()
        .and_then(|r| r["taskDefinition"]["taskDefinitionArn"].as_str())
        .unwrap_or_default()
        .to_owned();
    run_all(scale.services, |i| {
        let body = json!({"cluster": "floor", "serviceName": format!("floor-{i}"), "taskDefinition": arn,
            "desiredCount": 1, "launchType": "FARGATE", "clientToken": format!("floor-{i}"),
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnets.first()], "securityGroups": [groups.first()]}}});
        let account = account.clone();
        async move { ecs_call(client, proxy, &account, "CreateService", &body).await }
    })
    .await?;
    run_all(scale.policies, |i| {
        let id = format!("service/floor/floor-{i}");
        let account = account.clone();
        async move {
            autoscaling_call(client, proxy, &account, "RegisterScalableTarget", &json!({
                "ServiceNamespace": "ecs", "ResourceId": id, "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": 1, "MaxCapacity": 4})).await?;
            autoscaling_call(client, proxy, &account, "PutScalingPolicy", &json!({
                "PolicyName": "cpu50", "ServiceNamespace": "ecs", "ResourceId": id,
                "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}})).await
        }
    })
    .await?;
    // The floor's own calls are not the operator's.
    bench.stack.proxy.clear();
    Ok(started.elapsed().as_secs_f64() + ROLLOUT_SECONDS)
}

async fn run_all<F, Fut>(count: usize, make: F) -> Result<Vec<Value>, TestbedError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Value, TestbedError>>,
{
    let results: Vec<Result<Value, TestbedError>> = futures::stream::iter(0..count)
        .map(make)
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Scenario 1: every object created at once, until all are Ready.
pub async fn cold_start(bench: &mut BenchStack, scale: &Scale) -> Result<ColdStart, TestbedError> {
    let floor = measure_floor(bench, scale).await?;
    bench.start_operator()?;
    let kube_before = bench.kube_requests().await?;
    let started_ms = bench.stack.proxy.elapsed_ms();
    let started = Instant::now();
    bench.create(scale).await?;
    let (took, stalled_seen, ready_seconds_by_kind) = bench
        .wait_all_ready(scale, started, Duration::from_secs(1800))
        .await?;
    let kube_requests: BTreeMap<String, u64> = bench
        .kube_requests()
        .await?
        .into_iter()
        .map(|(verb, n)| {
            let before = kube_before.get(&verb).copied().unwrap_or(0);
            (verb, n - before)
        })
        .collect();
    let benchmark_own = |key: &str| {
        KINDS
            .iter()
            .any(|(plural, _)| key == format!("create {plural}") || key == format!("list {plural}"))
    };
    let operator_kube_requests: u64 = kube_requests
        .iter()
        .filter(|(key, _)| !benchmark_own(key))
        .map(|(_, n)| n)
        .sum();
    let usage = bench.stack.operator_usage().unwrap_or_default();
    let last_write_ms = bench
        .stack
        .proxy
        .requests()
        .iter()
        .filter(|r| is_write(&r.operation))
        .map(|r| r.at_ms)
        .max()
        .unwrap_or(started_ms);
    let aws_calls = bench.stack.aws_calls();
    let needed_writes = scale.task_definitions + scale.services + 2 * scale.policies;
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(ColdStart {
        ready_seconds_by_kind,
        last_write_seconds: last_write_ms.saturating_sub(started_ms) as f64 / 1000.0,
        objects: scale.objects(),
        seconds: took.as_secs_f64(),
        floor_seconds: floor,
        ratio: took.as_secs_f64() / floor.max(1e-9),
        aws_calls_over_writes: aws_calls.values().sum::<usize>() as f64
            / needed_writes.max(1) as f64,
        aws_calls,
        operator_kube_requests_per_object: operator_kube_requests as f64
            / scale.objects().max(1) as f64,
        operator_kube_requests,
        kube_requests,
        peak_rss_mib: mib(usage.peak_kib),
        rss_anon_mib: mib(usage.anon_kib),
        rss_file_mib: mib(usage.file_kib),
        cpu_seconds: usage.cpu_seconds,
        stalled_seen,
    })
}

/// Scenario 2's figures.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SteadyState {
    /// Objects resynced.
    pub objects: usize,
    /// How long the resync took to cover every object.
    pub seconds: f64,
    /// Reads by operation.
    pub reads: BTreeMap<String, usize>,
    /// Writes by operation (0 expected).
    pub writes: BTreeMap<String, usize>,
    /// All reads over objects.
    pub reads_per_object: f64,
}

/// Scenario 2: one full resync of settled objects: every object passes again (at least the
/// resync period, and one Ready pass per object counted by the operator's metrics).
pub async fn steady_state(
    bench: &BenchStack,
    scale: &Scale,
    resync: Duration,
) -> Result<SteadyState, TestbedError> {
    let skip = bench.stack.proxy.requests().len();
    let before = bench.ready_passes().await?;
    let started = Instant::now();
    let objects = scale.objects();
    // Resync periods are jittered by up to a tenth.
    let covered = resync + resync / 10 + Duration::from_secs(2);
    loop {
        let passes = bench.ready_passes().await? - before;
        if started.elapsed() >= covered && passes >= objects as f64 {
            break;
        }
        if started.elapsed() > covered * 3 {
            return Err(err(format!(
                "only {passes} of {objects} objects resynced in {:?}",
                started.elapsed()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (reads, writes) = bench.calls_since(skip);
    let total: usize = reads.values().sum();
    Ok(SteadyState {
        objects,
        seconds: started.elapsed().as_secs_f64(),
        reads_per_object: total as f64 / objects.max(1) as f64,
        reads,
        writes,
    })
}

/// Scenario 3's figures.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OneChange {
    /// Writes by operation (expected: one RegisterTaskDefinition, one UpdateService per service
    /// following the task definition).
    pub writes: BTreeMap<String, usize>,
    /// Reads by operation.
    pub reads: BTreeMap<String, usize>,
    /// Services following the edited task definition.
    pub following_services: usize,
    /// From the edit to the (first) UpdateService on the wire.
    pub edit_to_update_seconds: f64,
    /// From the edit to every following service Ready on the new revision.
    pub edit_to_ready_seconds: f64,
}

/// Scenario 3: one task definition's image edited.
pub async fn one_change(bench: &BenchStack, scale: &Scale) -> Result<OneChange, TestbedError> {
    let skip = bench.stack.proxy.requests().len();
    let following: Vec<String> = (0..scale.services)
        .filter(|i| i % scale.task_definitions.max(1) == 0)
        .map(|i| format!("svc-{i}"))
        .collect();
    let edit_at = bench.stack.proxy.elapsed_ms();
    let started = Instant::now();
    bench
        .stack
        .merge_patch(
            &format!("{}/td-0", collection("ecstaskdefinitions")),
            &json!({"spec": {"containerDefinitions": [{"name": "app", "image": "nginx:2",
                "portMappings": [{"containerPort": 80}]}]}}),
        )
        .await?;
    // Done when every following service runs the new revision and is Ready.
    loop {
        let mut done = true;
        for name in &following {
            let object = bench
                .stack
                .get(&format!("{}/{name}", collection("ecsservices")))
                .await?;
            let ready = object["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let revision = object["status"]["taskDefinition"]
                .as_str()
                .unwrap_or_default();
            done &= ready && revision.ends_with(":2");
        }
        if done {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(err("the edited task definition never rolled out"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let edit_to_ready = started.elapsed().as_secs_f64();
    let (reads, writes) = bench.calls_since(skip);
    let first_update = bench
        .stack
        .proxy
        .requests()
        .into_iter()
        .skip(skip)
        .find(|r| r.operation == "UpdateService")
        .map(|r| r.at_ms);
    Ok(OneChange {
        writes,
        reads,
        following_services: following.len(),
        edit_to_update_seconds: first_update
            .map(|at| at.saturating_sub(edit_at) as f64 / 1000.0)
            .unwrap_or(f64::NAN),
        edit_to_ready_seconds: edit_to_ready,
    })
}

/// Scenario 4's figures.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttled {
    /// Objects created.
    pub objects: usize,
    /// The buckets the proxy enforced.
    pub buckets: BTreeMap<String, BucketSpec>,
    /// Creation to every object Ready.
    pub seconds: f64,
    /// The slowest category's writes over its bucket: (writes - burst) / rate; plus a rollout.
    pub floor_seconds: f64,
    /// `seconds / floor_seconds`.
    pub ratio: f64,
    /// Calls the proxy throttled.
    pub throttled_calls: usize,
    /// AWS calls by operation.
    pub aws_calls: BTreeMap<String, usize>,
}

/// Scenario 4: a cold start against AWS's token buckets (ECS's documented figures).
pub async fn throttled(bench: &mut BenchStack, scale: &Scale) -> Result<Throttled, TestbedError> {
    let buckets = throttle::documented();
    bench.stack.proxy.set_buckets(&buckets);
    bench.start_operator()?;
    let started = Instant::now();
    bench.create(scale).await?;
    let (took, _, _) = bench
        .wait_all_ready(scale, started, Duration::from_secs(3600))
        .await?;
    let needed = [
        ("task-definition-write", scale.task_definitions),
        ("service-write", scale.services),
        ("autoscaling", 2 * scale.policies),
    ];
    let floor = needed
        .iter()
        .filter_map(|(category, writes)| {
            let spec = buckets.get(*category)?;
            Some(((*writes as f64) - spec.burst).max(0.0) / spec.rate)
        })
        .fold(0.0, f64::max)
        + ROLLOUT_SECONDS;
    let records = bench.stack.proxy.requests();
    Ok(Throttled {
        objects: scale.objects(),
        buckets,
        seconds: took.as_secs_f64(),
        floor_seconds: floor,
        ratio: took.as_secs_f64() / floor,
        throttled_calls: records
            .iter()
            .filter(|r| r.fault.as_deref() == Some("Throttle"))
            .count(),
        aws_calls: bench.stack.aws_calls(),
    })
}

/// Scenario 5's figures.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Faults {
    /// Objects created.
    pub objects: usize,
    /// Every object Ready in the end.
    pub converged: bool,
    /// Creation to every object Ready.
    pub seconds: f64,
    /// Times the operator was killed with SIGKILL (and restarted).
    pub kills: usize,
    /// Faults the proxy injected.
    pub injected_faults: usize,
    /// Times every watch was dropped.
    pub watch_drops: usize,
    /// ECS services beyond one per EcsService (0 expected).
    pub duplicate_services: usize,
    /// Revisions beyond one per task definition content (0 expected).
    pub duplicate_revisions: usize,
    /// After deleting every object: ACTIVE/DRAINING services, ACTIVE revisions, scalable
    /// targets and scaling policies left in AWS (0 expected).
    pub left_behind: BTreeMap<String, usize>,
}

/// Scenario 5: a cold start with 5 % of AWS calls failing with 5xx, 1 % losing their answer
/// (the call was made, the client cannot know), every watch dropped every 10 s, and the
/// operator killed with SIGKILL at a third and two thirds of the way; then everything deleted.
pub async fn faults(bench: &mut BenchStack, scale: &Scale) -> Result<Faults, TestbedError> {
    let rules = vec![
        FaultRule {
            operation: "*".into(),
            probability: Some(0.05),
            every_nth: None,
            max_times: None,
            fault: Fault::InternalError,
        },
        FaultRule {
            operation: "*".into(),
            probability: Some(0.01),
            every_nth: None,
            max_times: None,
            fault: Fault::DropResponse,
        },
    ];
    bench.stack.proxy.set_faults(rules.clone());
    bench.start_operator()?;
    let (stop_drops, mut dropping) = tokio::sync::watch::channel(false);
    let server = bench.stack.kube.emulator()?.server_arc();
    let dropper = tokio::spawn(async move {
        let mut drops = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(10)) => {
                    server.drop_watches();
                    drops += 1;
                }
                _ = dropping.changed() => return drops,
            }
        }
    });
    let started = Instant::now();
    bench.create(scale).await?;
    let total = scale.objects();
    let mut kills = 0;
    let timeout = Duration::from_secs(1800);
    let converged = loop {
        let mut ready = 0;
        for (plural, _) in KINDS {
            ready += bench
                .stack
                .health(plural)
                .await
                .map(|h| h.ready)
                .unwrap_or(0);
        }
        if ready >= total {
            break true;
        }
        if started.elapsed() > timeout {
            break false;
        }
        if kills < 2 && ready * 3 >= total * (kills + 1) {
            bench.stop_operator();
            bench.start_operator()?;
            kills += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop_drops.send(true);
    let watch_drops = dropper.await.unwrap_or(0);
    let injected_faults = bench
        .stack
        .proxy
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    let duplicate_services = duplicate_services(bench, scale).await?;
    let duplicate_revisions = duplicate_revisions(bench).await?;

    // Everything deleted (faults still on), then nothing may be left in AWS.
    let shared: &BenchStack = bench;
    for (plural, _) in KINDS {
        let list = shared.stack.get(&collection(plural)).await?;
        let names: Vec<String> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        let deletes = names.iter().map(|name| {
            let path = format!("{}/{name}", collection(plural));
            async move { shared.stack.delete(&path).await }
        });
        let results: Vec<Result<(), TestbedError>> = futures::stream::iter(deletes)
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let mut left = 0;
        for (plural, _) in KINDS {
            left += bench.stack.health(plural).await?.total;
        }
        if left == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(err(format!("{left} objects never finished deleting")));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bench.stack.proxy.set_faults(Vec::new());
    let left_behind = left_behind(bench, scale).await?;
    Ok(Faults {
        objects: total,
        converged,
        seconds,
        kills,
        injected_faults,
        watch_drops,
        duplicate_services,
        duplicate_revisions,
        left_behind,
    })
}

/// Services of every cluster, through the proxy's ECS model (faults off).
async fn services(bench: &BenchStack, scale: &Scale) -> Result<Vec<Value>, TestbedError> {
    let client = &bench.http;
    let url = bench.stack.proxy.url();
    let account = &bench.stack.account;
    let mut all = Vec::new();
    for i in 0..scale.clusters {
        let cluster = format!("bench-{i}");
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"cluster": cluster, "maxResults": 100});
            if let Some(token) = &token {
                body["nextToken"] = json!(token);
            }
            let page = ecs_call(client, url, account, "ListServices", &body).await?;
            let arns: Vec<Value> = page["serviceArns"].as_array().cloned().unwrap_or_default();
            for chunk in arns.chunks(10) {
                let described = ecs_call(
                    client,
                    url,
                    account,
                    "DescribeServices",
                    &json!({"cluster": cluster, "services": chunk}),
                )
                .await?;
                all.extend(
                    described["services"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            match page["nextToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    Ok(all)
}

async fn duplicate_services(bench: &BenchStack, scale: &Scale) -> Result<usize, TestbedError> {
    bench.stack.proxy.set_faults(Vec::new());
    let live = services(bench, scale)
        .await?
        .into_iter()
        .filter(|s| s["status"] == "ACTIVE" || s["status"] == "DRAINING")
        .count();
    Ok(live.saturating_sub(scale.services))
}

/// Revisions (ACTIVE or INACTIVE) beyond one per family: every family's content was registered
/// once, so any more is the same content registered twice.
async fn duplicate_revisions(bench: &BenchStack) -> Result<usize, TestbedError> {
    let mut families = bench.stack.revisions_per_family("ACTIVE").await?;
    for (family, n) in bench.stack.revisions_per_family("INACTIVE").await? {
        *families.entry(family).or_insert(0) += n;
    }
    Ok(families
        .iter()
        .filter(|(family, _)| family.starts_with("td-"))
        .map(|(_, n)| n.saturating_sub(1))
        .sum())
}

async fn left_behind(
    bench: &BenchStack,
    scale: &Scale,
) -> Result<BTreeMap<String, usize>, TestbedError> {
    // Deleted services drain first (the model's drain time), then go INACTIVE.
    let deadline = Instant::now() + Duration::from_secs(60);
    let services = loop {
        let live = services(bench, scale)
            .await?
            .into_iter()
            .filter(|s| s["status"] == "ACTIVE" || s["status"] == "DRAINING")
            .count();
        if live == 0 || Instant::now() > deadline {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let revisions: usize = bench
        .stack
        .active_revisions_per_family()
        .await?
        .into_iter()
        .filter(|(family, _)| family.starts_with("td-"))
        .map(|(_, n)| n)
        .sum();
    let client = &bench.http;
    let url = bench.stack.moto.url();
    let account = &bench.stack.account;
    // Straight at moto, every item in one answer (moto does not cap MaxResults).
    let targets = autoscaling_call(
        client,
        url,
        account,
        "DescribeScalableTargets",
        &json!({"ServiceNamespace": "ecs", "MaxResults": 1_000_000}),
    )
    .await?;
    let policies = autoscaling_call(
        client,
        url,
        account,
        "DescribeScalingPolicies",
        &json!({"ServiceNamespace": "ecs", "MaxResults": 1_000_000}),
    )
    .await?;
    let count = |v: &Value, key: &str| v[key].as_array().map_or(0, Vec::len);
    Ok(BTreeMap::from([
        ("services".to_owned(), services),
        ("taskDefinitionRevisions".to_owned(), revisions),
        (
            "scalableTargets".to_owned(),
            count(&targets, "ScalableTargets"),
        ),
        (
            "scalingPolicies".to_owned(),
            count(&policies, "ScalingPolicies"),
        ),
    ]))
}
