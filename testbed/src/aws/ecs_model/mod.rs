//! The ECS service behaviour moto lacks, modelled in the AWS proxy from the ECS API reference:
//! deployments and rollouts, the circuit breaker and its rollback, draining and INACTIVE services,
//! CreateService idempotency, documented rejections, service events, and the cascade of a deleted
//! service's scalable target. moto stays the store for what it does well (clusters, task
//! definitions, Application Auto Scaling); it also keeps a plain copy of every service, so its
//! own checks (Application Auto Scaling's "ECS service doesn't exist") agree with the model.
//!
//! Time is modelled lazily: every call first advances the account's services to now (rollouts
//! complete `rolloutSeconds` after they start, draining services go INACTIVE `drainSeconds` after
//! DeleteService), so nothing runs in the background and tests control time through the knobs.

mod autoscaling;
mod capacity_providers;
mod clusters;
mod lifecycle;
mod rollout;
mod service_deployments;
mod service_tasks;
mod services;
mod task_definitions;
mod task_sets;
mod tasks;
mod upstream;

use autoscaling::*;
use capacity_providers::CapacityProvider;
pub use lifecycle::HookAnswer;
use lifecycle::{Lifecycle, has_lifecycle, hook_refusal, strategy_refusal};
use service_deployments::{
    ServiceDeploymentRecord, current_service_deployment, record_breaker, record_rollback,
    set_service_deployment,
};
use services::describe;
use task_sets::{TaskSet, describe_task_sets, primary_task_set_members, task_sets_running};
use tasks::{RunTaskToken, Task, unassociated_provider};
pub use upstream::Upstream;
use upstream::upstream_error;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{self, HttpClient};

/// The model's knobs (`PUT /_proxy/ecs`, or `aws-proxy` flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Knobs {
    /// Seconds from a deployment's start to COMPLETED (or, for failing images, to FAILED).
    pub rollout_seconds: f64,
    /// Seconds from DeleteService (DRAINING) to INACTIVE.
    pub drain_seconds: f64,
    /// What a task whose image matches does, first match wins (`*` in a pattern matches any
    /// run of characters); images no entry matches run. A service whose task definition has an
    /// image with a failing outcome never gets a task running (its rollout fails).
    #[serde(default = "default_image_outcomes")]
    pub image_outcomes: Vec<ImageOutcome>,
    /// Seconds a new service stays MISSING in DescribeServices after CreateService answered:
    /// ECS reads are eventually consistent ("a recently created resource may not be
    /// immediately visible", the ECS API reference's note on eventual consistency). 0 by default.
    #[serde(default)]
    pub unlisted_seconds: f64,
    /// Seconds a task takes from RunTask to RUNNING (PROVISIONING, PENDING and ACTIVATING a
    /// third each), and from a stop to STOPPED (DEACTIVATING, STOPPING, DEPROVISIONING).
    #[serde(default = "default_task_seconds")]
    pub task_seconds: f64,
    /// Seconds a RunTask task with a `success` or `exit` outcome runs before its essential
    /// container exits.
    #[serde(default = "default_run_seconds")]
    pub run_seconds: f64,
    /// Seconds a stopped task stays in DescribeTasks and ListTasks: "Stopped tasks are kept in
    /// the Amazon ECS console for at least 1 hour" (unverified for the API; 3600 by default).
    #[serde(default = "default_stopped_retention_seconds")]
    pub stopped_retention_seconds: f64,
    /// Seconds a Managed Instances capacity provider is PROVISIONING, and a deleted provider
    /// DELETE_IN_PROGRESS before INACTIVE.
    #[serde(default = "default_provider_seconds")]
    pub provider_seconds: f64,
    /// Seconds a rolling deployment stays IN_PROGRESS with all its tasks running before
    /// COMPLETED (ECS waits for a steady state; 0 by default).
    #[serde(default)]
    pub steady_state_seconds: f64,
    /// What AWS_LAMBDA lifecycle hooks answer, by a glob on their `hookTargetArn`, first match
    /// wins; SUCCEEDED when none matches.
    #[serde(default)]
    pub hook_answers: Vec<HookAnswer>,
    /// Whether a service on the EC2 launch type needs a registered container instance to place
    /// its tasks (without one its rollout waits); off by default, so plain runs need no EC2.
    #[serde(default)]
    pub require_container_instances: bool,
    /// Seconds one minute of a traffic-shifting deployment's waits lasts (`bakeTimeInMinutes`,
    /// LINEAR `stepBakeTimeInMinutes`, CANARY `canaryBakeTimeInMinutes`); 0 by default, so
    /// plain runs wait none of them.
    #[serde(default)]
    pub minute_seconds: f64,
}

fn default_provider_seconds() -> f64 {
    1.0
}

fn default_image_outcomes() -> Vec<ImageOutcome> {
    vec![ImageOutcome {
        image: "*:broken*".into(),
        outcome: TaskOutcome::PullFailure,
    }]
}

fn default_task_seconds() -> f64 {
    1.0
}

fn default_run_seconds() -> f64 {
    2.0
}

fn default_stopped_retention_seconds() -> f64 {
    3600.0
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            rollout_seconds: 2.0,
            drain_seconds: 2.0,
            image_outcomes: default_image_outcomes(),
            unlisted_seconds: 0.0,
            task_seconds: default_task_seconds(),
            run_seconds: default_run_seconds(),
            stopped_retention_seconds: default_stopped_retention_seconds(),
            provider_seconds: default_provider_seconds(),
            steady_state_seconds: 0.0,
            hook_answers: Vec::new(),
            require_container_instances: false,
            minute_seconds: 0.0,
        }
    }
}

/// One row of the outcome table: tasks with a container image matching `image` end this way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOutcome {
    /// Glob pattern on the container image (`*` matches any run of characters).
    pub image: String,
    /// What its tasks do.
    pub outcome: TaskOutcome,
}

/// How a task ends, by the stopped-task error codes of the ECS developer guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskOutcome {
    /// Runs; a RunTask task's essential container then exits 0, a service's task runs on.
    Success,
    /// Runs until stopped (a server started by RunTask).
    RunUntilStopped,
    /// The image cannot be pulled: TaskFailedToStart, CannotPullContainerError, no exit codes.
    PullFailure,
    /// The task's resources cannot be set up (secrets, logs, network): TaskFailedToStart,
    /// ResourceInitializationError, no exit codes.
    ResourceInitFailure,
    /// The essential container exits with this code (EssentialContainerExited).
    Exit(i32),
    /// The essential container is killed for memory: exit code 137, OutOfMemoryError.
    OutOfMemory,
}

impl TaskOutcome {
    /// Whether a task with this outcome ever counts as a healthy service task.
    pub fn fails(self) -> bool {
        !matches!(self, Self::Success | Self::RunUntilStopped)
    }

    /// Whether the task never starts (no container runs).
    pub fn fails_to_start(self) -> bool {
        matches!(self, Self::PullFailure | Self::ResourceInitFailure)
    }
}

impl std::str::FromStr for ImageOutcome {
    type Err = String;

    /// `PATTERN=OUTCOME`, OUTCOME one of success, runUntilStopped, pullFailure,
    /// resourceInitFailure, outOfMemory, exit:N (the `aws-proxy --image-outcome` flag).
    fn from_str(text: &str) -> Result<Self, String> {
        let (image, outcome) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("{text}: expected PATTERN=OUTCOME"))?;
        let outcome = match outcome {
            "success" => TaskOutcome::Success,
            "runUntilStopped" => TaskOutcome::RunUntilStopped,
            "pullFailure" => TaskOutcome::PullFailure,
            "resourceInitFailure" => TaskOutcome::ResourceInitFailure,
            "outOfMemory" => TaskOutcome::OutOfMemory,
            other => match other.strip_prefix("exit:").map(str::parse::<i32>) {
                Some(Ok(code)) => TaskOutcome::Exit(code),
                _ => {
                    return Err(format!(
                        "{other}: expected success, runUntilStopped, pullFailure, resourceInitFailure, outOfMemory or exit:N"
                    ));
                }
            },
        };
        Ok(Self {
            image: image.to_owned(),
            outcome,
        })
    }
}

/// A partial update of the knobs: any subset.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnobsPatch {
    /// New rollout time.
    pub rollout_seconds: Option<f64>,
    /// New drain time.
    pub drain_seconds: Option<f64>,
    /// New outcome table.
    pub image_outcomes: Option<Vec<ImageOutcome>>,
    /// New time a created service stays unlisted.
    pub unlisted_seconds: Option<f64>,
    /// New task start and stop time.
    pub task_seconds: Option<f64>,
    /// New run time of RunTask tasks.
    pub run_seconds: Option<f64>,
    /// New retention of stopped tasks.
    pub stopped_retention_seconds: Option<f64>,
    /// New capacity provider settling time.
    pub provider_seconds: Option<f64>,
    /// New steady-state wait.
    pub steady_state_seconds: Option<f64>,
    /// New lifecycle hook answers.
    pub hook_answers: Option<Vec<HookAnswer>>,
    /// Whether EC2 services need container instances.
    pub require_container_instances: Option<bool>,
    /// New length of a deployment's minute.
    pub minute_seconds: Option<f64>,
}

/// What the model answers instead of moto.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// HTTP 200 with this JSON.
    Ok(Value),
    /// An AWS error.
    Error {
        /// HTTP status.
        status: u16,
        /// AWS error code (`__type`).
        code: String,
        /// Message.
        message: String,
    },
}

fn invalid(message: &str) -> Answer {
    error(400, "InvalidParameterException", message)
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Error {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Status {
    #[serde(rename = "ACTIVE")]
    Active,
    #[serde(rename = "DRAINING")]
    Draining,
    #[serde(rename = "INACTIVE")]
    Inactive,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Deployment {
    id: String,
    status: String,
    task_definition: String,
    desired_count: i64,
    running_count: i64,
    pending_count: i64,
    failed_tasks: i64,
    rollout_state: String,
    rollout_state_reason: String,
    #[serde(skip)]
    started: Instant,
    created_at: f64,
    updated_at: f64,
    /// The task definition's tasks never run healthy (an image with a failing outcome).
    #[serde(skip)]
    failing: bool,
    /// They fail before they start (pull or resource failures), which is what the scheduler's
    /// "unable to consistently start tasks" event and its back-off are about.
    #[serde(skip)]
    start_failure: bool,
    /// Failed tasks of this deployment already materialised as stopped tasks.
    #[serde(skip)]
    failed_recorded: usize,
    /// Members of the service definition this deployment runs with.
    #[serde(flatten)]
    members: BTreeMap<String, Value>,
    /// The service deployment it runs under (a rollback runs under the failed one's).
    #[serde(skip)]
    service_deployment: String,
    /// It rolls a failed or stopped deployment back.
    #[serde(skip)]
    is_rollback: bool,
    /// EC2 with no container instance to place its tasks on (`requireContainerInstances`).
    #[serde(skip)]
    unplaceable: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: String,
    created_at: f64,
    message: String,
}

#[derive(Clone, Debug)]
struct Service {
    arn: String,
    name: String,
    cluster_arn: String,
    status: Status,
    draining_since: Option<Instant>,
    created_at: f64,
    client_token: Option<String>,
    /// The CreateService request as sent (without clientToken), for idempotency.
    create_request: Value,
    /// The service definition members as they stand (launchType, networkConfiguration, ...).
    members: BTreeMap<String, Value>,
    desired_count: i64,
    task_definition: String,
    deployments: Vec<Deployment>,
    events: Vec<Event>,
    tags: Vec<Value>,
    /// The task definition of the last deployment that completed (what a rollback returns to).
    last_completed: Option<String>,
    deployment_controller: String,
    /// Its service deployments, oldest first.
    service_deployments: Vec<ServiceDeploymentRecord>,
    /// Its task sets (EXTERNAL services).
    task_sets: Vec<TaskSet>,
    /// DescribeServices answers MISSING for it until then (the `unlistedSeconds` knob).
    listed_from: Instant,
    /// Its tasks, materialised from its deployments (`service_tasks.rs`).
    tasks: Vec<Task>,
}

/// Members of the service definition (stored and echoed by DescribeServices).
const DEFINITION_MEMBERS: [&str; 19] = [
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "schedulingStrategy",
    "deploymentConfiguration",
    "deploymentController",
    "networkConfiguration",
    "loadBalancers",
    "serviceRegistries",
    "healthCheckGracePeriodSeconds",
    "placementConstraints",
    "placementStrategy",
    "enableExecuteCommand",
    "enableECSManagedTags",
    "propagateTags",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
    "availabilityZoneRebalancing",
];

/// UpdateService members whose change starts a new deployment ("This parameter triggers a new
/// service deployment." in the reference of each).
const DEPLOYING_MEMBERS: [&str; 7] = [
    "networkConfiguration",
    "platformVersion",
    "loadBalancers",
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// Deployment members copied from the service definition.
const DEPLOYMENT_MEMBERS: [&str; 7] = [
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

#[derive(Default)]
struct Account {
    /// By (cluster name, service name).
    services: BTreeMap<(String, String), Service>,
    /// Tags of Application Auto Scaling scalable targets, by target ARN (moto 5.2.5 has no
    /// tagging for Application Auto Scaling: its tag calls answer HTTP 500).
    target_tags: HashMap<String, serde_json::Map<String, Value>>,
    /// Tasks RunTask started, oldest first (stopped ones until their retention ends).
    tasks: Vec<Task>,
    /// RunTask client tokens, by (cluster name, token).
    run_tokens: HashMap<(String, String), RunTaskToken>,
    /// The CreateCluster request each cluster was created with, by cluster name.
    cluster_requests: HashMap<String, Value>,
    /// Capacity providers by name (FARGATE and FARGATE_SPOT are built in, not stored).
    capacity_providers: BTreeMap<String, CapacityProvider>,
}

impl Account {
    /// Every task of the account: RunTask's and the services'.
    fn all_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .iter()
            .chain(self.services.values().flat_map(|s| s.tasks.iter()))
    }

    /// The same, to change.
    fn tasks_mut(&mut self) -> impl Iterator<Item = &mut Task> {
        self.tasks
            .iter_mut()
            .chain(self.services.values_mut().flat_map(|s| s.tasks.iter_mut()))
    }
}

/// The model: knobs and per-account state; share it behind an `Arc`.
#[derive(Default)]
pub struct EcsModel {
    knobs: Mutex<Knobs>,
    accounts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Account>>>>,
    /// What the model needs of task definitions already described (revisions are immutable).
    facts: Mutex<HashMap<String, TdFacts>>,
    counter: std::sync::atomic::AtomicU64,
}

/// Operations the model answers (ECS service operations, service tagging, and
/// RegisterScalableTarget's tag rule); everything else goes to moto unchanged.
pub fn handles(service: &str, operation: &str) -> bool {
    match service {
        "ecs" => matches!(
            operation,
            "CreateService"
                | "UpdateService"
                | "DeleteService"
                | "DescribeServices"
                | "ListServices"
                | "ListServiceDeployments"
                | "DescribeServiceDeployments"
                | "StopServiceDeployment"
                | "ContinueServiceDeployment"
                | "CreateTaskSet"
                | "UpdateServicePrimaryTaskSet"
                | "DeleteTaskSet"
                | "CreateCluster"
                | "DeleteCluster"
                | "CreateCapacityProvider"
                | "UpdateCapacityProvider"
                | "DeleteCapacityProvider"
                | "DescribeCapacityProviders"
                | "PutClusterCapacityProviders"
                | "RunTask"
                | "StopTask"
                | "DescribeTasks"
                | "ListTasks"
                | "ListTaskDefinitions"
                | "TagResource"
                | "UntagResource"
                | "ListTagsForResource"
        ),
        "application-autoscaling" => {
            matches!(
                operation,
                "RegisterScalableTarget"
                    | "DeregisterScalableTarget"
                    | "DescribeScalableTargets"
                    | "DescribeScalingPolicies"
                    | "DescribeScheduledActions"
                    | "TagResource"
                    | "UntagResource"
                    | "ListTagsForResource"
            )
        }
        _ => false,
    }
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The outcome of a task running `image`: the first row whose pattern matches, else success.
fn outcome_of(table: &[ImageOutcome], image: &str) -> TaskOutcome {
    table
        .iter()
        .find(|row| glob_matches(&row.image, image))
        .map_or(TaskOutcome::Success, |row| row.outcome)
}

fn cluster_name(cluster: &str) -> String {
    cluster.rsplit('/').next().unwrap_or(cluster).to_owned()
}

/// (cluster name, service name) of a service named by name or ARN
/// (`arn:aws:ecs:<region>:<account>:service/<cluster>/<name>`).
fn service_key(cluster: &str, service: &str) -> (String, String) {
    if let Some((_, rest)) = service.split_once(":service/") {
        if let Some((c, n)) = rest.split_once('/') {
            return (c.to_owned(), n.to_owned());
        }
        return (cluster_name(cluster), rest.to_owned());
    }
    (cluster_name(cluster), service.to_owned())
}

fn uses_fargate(members: &BTreeMap<String, Value>) -> bool {
    members.get("launchType").and_then(Value::as_str) == Some("FARGATE")
        || members
            .get("capacityProviderStrategy")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter().any(|i| {
                    i["capacityProvider"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("FARGATE"))
                })
            })
}

/// What the model needs of a task definition.
#[derive(Clone, Debug, Default)]
struct TdFacts {
    arn: String,
    family: String,
    status: String,
    /// (name, image, essential) of each container definition.
    containers: Vec<(String, String, bool)>,
    network_mode: String,
    compatibilities: Vec<String>,
    cpu: Option<String>,
    memory: Option<String>,
}

/// Whether a service's members fit its task definition. CreateService networkConfiguration:
/// "This parameter is required for task definitions that use the awsvpc network mode to receive
/// their own elastic network interface, and it isn't supported for other network modes." The
/// launch type must be one the task definition was validated for (`compatibilities`). The texts
/// are ECS's answers as users report them.
fn task_definition_misfit(facts: &TdFacts, members: &BTreeMap<String, Value>) -> Option<Answer> {
    let networked = members
        .get("networkConfiguration")
        .is_some_and(|n| !n["awsvpcConfiguration"].is_null());
    if facts.network_mode == "awsvpc" && !networked {
        return Some(invalid(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ));
    }
    if facts.network_mode != "awsvpc" && networked {
        return Some(invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    if uses_fargate(members) && !facts.compatibilities.iter().any(|c| c == "FARGATE") {
        return Some(invalid(
            "Task definition does not support launch_type FARGATE.",
        ));
    }
    None
}

fn non_empty(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// The rejections of placement on Fargate (CreateService and UpdateService).
fn fargate_placement(members: &BTreeMap<String, Value>) -> Option<Answer> {
    if !uses_fargate(members) {
        return None;
    }
    if non_empty(members.get("placementConstraints")) {
        return Some(invalid(
            "Placement constraints are not supported with FARGATE launch type.",
        ));
    }
    if non_empty(members.get("placementStrategy")) {
        return Some(invalid(
            "Placement strategies are not supported with FARGATE launch type",
        ));
    }
    None
}

impl EcsModel {
    /// A model with these knobs.
    pub fn new(knobs: Knobs) -> Self {
        Self {
            knobs: Mutex::new(knobs),
            ..Default::default()
        }
    }

    /// The knobs now.
    pub fn knobs(&self) -> Knobs {
        self.knobs.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Changes some knobs.
    pub fn set_knobs(&self, patch: KnobsPatch) {
        if let Ok(mut knobs) = self.knobs.lock() {
            if let Some(v) = patch.rollout_seconds {
                knobs.rollout_seconds = v.max(0.0);
            }
            if let Some(v) = patch.drain_seconds {
                knobs.drain_seconds = v.max(0.0);
            }
            if let Some(v) = patch.image_outcomes {
                knobs.image_outcomes = v;
            }
            if let Some(v) = patch.unlisted_seconds {
                knobs.unlisted_seconds = v.max(0.0);
            }
            if let Some(v) = patch.task_seconds {
                knobs.task_seconds = v.max(0.0);
            }
            if let Some(v) = patch.run_seconds {
                knobs.run_seconds = v.max(0.0);
            }
            if let Some(v) = patch.stopped_retention_seconds {
                knobs.stopped_retention_seconds = v.max(0.0);
            }
            if let Some(v) = patch.provider_seconds {
                knobs.provider_seconds = v.max(0.0);
            }
            if let Some(v) = patch.steady_state_seconds {
                knobs.steady_state_seconds = v.max(0.0);
            }
            if let Some(v) = patch.hook_answers {
                knobs.hook_answers = v;
            }
            if let Some(v) = patch.require_container_instances {
                knobs.require_container_instances = v;
            }
            if let Some(v) = patch.minute_seconds {
                knobs.minute_seconds = v.max(0.0);
            }
        }
    }

    fn account(&self, id: &str) -> Arc<tokio::sync::Mutex<Account>> {
        let mut accounts = match self.accounts.lock() {
            Ok(accounts) => accounts,
            Err(poisoned) => poisoned.into_inner(),
        };
        accounts.entry(id.to_owned()).or_default().clone()
    }

    fn next_number(&self) -> u64 {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    fn deployment_id(&self) -> String {
        format!(
            "ecs-svc/{:019}",
            1_000_000_000_000_000_000u64 + self.next_number() * 7_919 + fastrand::u64(..1_000_000)
        )
    }

    fn event(&self, message: String) -> Event {
        let n = self.next_number();
        Event {
            id: format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                fastrand::u32(..),
                n & 0xffff,
                fastrand::u16(..0xfff),
                fastrand::u16(..0xfff),
                fastrand::u64(..0xffff_ffff_ffff)
            ),
            created_at: epoch(),
            message,
        }
    }

    fn task_id(&self) -> String {
        format!("{:016x}{:016x}", fastrand::u64(..), self.next_number())
    }

    /// The model's state, for `GET /_proxy/ecs`.
    pub async fn state(&self) -> Value {
        let accounts: Vec<(String, Arc<tokio::sync::Mutex<Account>>)> = match self.accounts.lock() {
            Ok(accounts) => accounts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut out = serde_json::Map::new();
        for (id, account) in accounts {
            let mut account = account.lock().await;
            self.advance(&mut account);
            let services: Vec<Value> = account.services.values().map(describe).collect();
            let knobs = self.knobs();
            let tasks: Vec<Value> = account
                .tasks
                .iter()
                .map(|task| task.describe(&knobs, true))
                .collect();
            out.insert(id, json!({"services": services, "tasks": tasks}));
        }
        json!({"knobs": self.knobs(), "accounts": out})
    }

    /// Answers `operation` of `service` for `account` (only those [`handles`] says yes to).
    pub async fn handle(
        &self,
        upstream: &Upstream<'_>,
        account: &str,
        service: &str,
        operation: &str,
        body: &Value,
    ) -> Answer {
        let state = self.account(account);
        let mut state = state.lock().await;
        self.advance(&mut state);
        match (service, operation) {
            ("ecs", "CreateService") => self.create(upstream, &mut state, body).await,
            ("ecs", "UpdateService") => self.update(upstream, &mut state, body).await,
            ("ecs", "DeleteService") => self.delete(upstream, &mut state, body).await,
            ("ecs", "DescribeServices") => {
                let cluster = body["cluster"].as_str().unwrap_or("default");
                let keys: Vec<(String, String)> = body["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|name| service_key(cluster, name))
                    .collect();
                self.place_waiting(upstream, &mut state, &keys).await;
                self.describe_services(upstream, &state, body).await
            }
            ("ecs", "ListServices") => self.list_services(upstream, &state, body).await,
            ("ecs", "ListTaskDefinitions") => self.list_task_definitions(upstream, body).await,
            ("ecs", "ListServiceDeployments") => self.list_service_deployments(&state, body),
            ("ecs", "DescribeServiceDeployments") => {
                self.describe_service_deployments(&state, body)
            }
            ("ecs", "StopServiceDeployment") => self.stop_service_deployment(&mut state, body),
            ("ecs", "ContinueServiceDeployment") => {
                self.continue_service_deployment(&mut state, body)
            }
            ("ecs", "CreateTaskSet") => self.create_task_set(upstream, &mut state, body).await,
            ("ecs", "UpdateServicePrimaryTaskSet") => self.primary_task_set(&mut state, body),
            ("ecs", "DeleteTaskSet") => self.delete_task_set(&mut state, body),
            ("ecs", "CreateCluster") => self.create_cluster(upstream, &mut state, body).await,
            ("ecs", "DeleteCluster") => self.delete_cluster(upstream, &mut state, body).await,
            ("ecs", "CreateCapacityProvider") => {
                self.create_capacity_provider(upstream, &mut state, body)
                    .await
            }
            ("ecs", "UpdateCapacityProvider") => self.update_capacity_provider(&mut state, body),
            ("ecs", "DeleteCapacityProvider") => {
                self.delete_capacity_provider(upstream, &mut state, body)
                    .await
            }
            ("ecs", "DescribeCapacityProviders") => {
                self.describe_capacity_providers(upstream, &state, body)
                    .await
            }
            ("ecs", "PutClusterCapacityProviders") => {
                self.put_cluster_capacity_providers(upstream, &mut state, body)
                    .await
            }
            ("ecs", "RunTask") => self.run_task(upstream, &mut state, body).await,
            ("ecs", "StopTask") => self.stop_task(upstream, &mut state, body).await,
            ("ecs", "DescribeTasks") => self.describe_tasks(upstream, &state, body).await,
            ("ecs", "ListTasks") => self.list_tasks(upstream, &state, body).await,
            ("ecs", "TagResource" | "UntagResource" | "ListTagsForResource") => {
                self.tags(upstream, &mut state, operation, body).await
            }
            ("application-autoscaling", "RegisterScalableTarget") => {
                register_scalable_target(upstream, &mut state, body).await
            }
            ("application-autoscaling", "DeregisterScalableTarget") => {
                deregister_scalable_target(upstream, &mut state, body).await
            }
            ("application-autoscaling", "DescribeScalableTargets") => {
                describe_scalable_targets(upstream, body).await
            }
            ("application-autoscaling", "DescribeScalingPolicies" | "DescribeScheduledActions") => {
                describe_paged(upstream, operation, body).await
            }
            (
                "application-autoscaling",
                "TagResource" | "UntagResource" | "ListTagsForResource",
            ) => target_tags(upstream, &mut state, operation, body).await,
            _ => error(400, "UnknownOperationException", operation),
        }
    }

    /// A task definition new work may use: "You can't use an INACTIVE task definition to run
    /// new tasks or create new services" (DeregisterTaskDefinition), nor "update an existing
    /// service to reference an INACTIVE task definition" (UpdateService); task sets likewise.
    async fn active_task_definition(
        &self,
        upstream: &Upstream<'_>,
        reference: &str,
    ) -> Result<TdFacts, Answer> {
        let facts = self.task_definition(upstream, reference).await?;
        if facts.status != "ACTIVE" {
            return Err(error(400, "ClientException", "TaskDefinition is inactive."));
        }
        Ok(facts)
    }

    /// A task definition as moto describes it; `Err` carries moto's error answer.
    async fn task_definition(
        &self,
        upstream: &Upstream<'_>,
        reference: &str,
    ) -> Result<TdFacts, Answer> {
        let (status, answer) = upstream
            .ecs(
                "DescribeTaskDefinition",
                &json!({"taskDefinition": reference}),
            )
            .await
            .map_err(|e| error(500, "ServerException", &e))?;
        if status != 200 {
            // ECS: "TaskDefinition not found." for a create naming an unknown revision.
            return Err(error(400, "ClientException", "TaskDefinition not found."));
        }
        let definition = &answer["taskDefinition"];
        let arn = definition["taskDefinitionArn"]
            .as_str()
            .unwrap_or(reference)
            .to_owned();
        let state = definition["status"].as_str().unwrap_or("ACTIVE").to_owned();
        let containers = definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_owned(),
                    c["image"].as_str().unwrap_or_default().to_owned(),
                    // "If the essential parameter of a container is marked as true ... All
                    // tasks must have at least one essential container"; true when omitted.
                    c["essential"].as_bool().unwrap_or(true),
                )
            })
            .collect();
        let text = |key: &str| definition[key].as_str().map(str::to_owned);
        let facts = TdFacts {
            arn: arn.clone(),
            family: text("family").unwrap_or_default(),
            status: state,
            containers,
            cpu: text("cpu"),
            memory: text("memory"),
            network_mode: definition["networkMode"]
                .as_str()
                .unwrap_or("bridge")
                .to_owned(),
            compatibilities: definition["compatibilities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
        };
        if let Ok(mut cache) = self.facts.lock() {
            cache.insert(arn, facts.clone());
        }
        Ok(facts)
    }

    /// A task definition described before, by ARN.
    fn known_task_definition(&self, arn: &str) -> Option<TdFacts> {
        self.facts
            .lock()
            .ok()
            .and_then(|cache| cache.get(arn).cloned())
    }

    /// Whether a task of these containers (name, image, essential) never becomes a healthy
    /// service task: a start failure in any container, an exit of an essential one.
    fn failing(&self, containers: &[(String, String, bool)]) -> bool {
        let table = self.knobs().image_outcomes;
        containers.iter().any(|(_, image, essential)| {
            let outcome = outcome_of(&table, image);
            outcome.fails_to_start() || (*essential && outcome.fails())
        })
    }

    /// Whether the containers' tasks fail before they start (pull or resource failures).
    fn fails_to_start(&self, containers: &[(String, String, bool)]) -> bool {
        let table = self.knobs().image_outcomes;
        containers
            .iter()
            .any(|(_, image, _)| outcome_of(&table, image).fails_to_start())
    }
}

#[cfg(test)]
mod tests {
    use super::upstream::rescope;
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("*:broken*", "nginx:broken"));
        assert!(glob_matches("*:broken*", "registry/app:broken-2"));
        assert!(!glob_matches("*:broken*", "nginx:1"));
        assert!(glob_matches("nginx:1", "nginx:1"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("a*c", "abbbc") && !glob_matches("a*c", "abbb"));
    }

    #[test]
    fn image_outcomes_from_flags_and_the_first_match_wins() {
        let parse = |text: &str| text.parse::<ImageOutcome>();
        assert_eq!(
            parse("*:job*=exit:3").map(|o| o.outcome),
            Ok(TaskOutcome::Exit(3))
        );
        assert_eq!(
            parse("a=b=outOfMemory").map(|o| (o.image, o.outcome)),
            Ok(("a=b".to_owned(), TaskOutcome::OutOfMemory))
        );
        assert!(parse("*:x=exit:three").is_err());
        assert!(parse("no-outcome").is_err());
        let table = [
            parse("*:broken*=pullFailure").expect("row"),
            parse("*=runUntilStopped").expect("row"),
        ];
        assert_eq!(outcome_of(&table, "app:broken-2"), TaskOutcome::PullFailure);
        assert_eq!(outcome_of(&table, "app:1"), TaskOutcome::RunUntilStopped);
        assert_eq!(outcome_of(&[], "app:1"), TaskOutcome::Success);
        assert!(TaskOutcome::Exit(0).fails() && !TaskOutcome::Success.fails());
    }

    #[test]
    fn authorization_rescoped_to_another_service() {
        assert_eq!(
            rescope(
                "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
                "application-autoscaling"
            ),
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/application-autoscaling/aws4_request, SignedHeaders=host, Signature=0"
        );
        assert_eq!(rescope("Bearer x", "ecs"), "Bearer x");
    }

    #[test]
    fn service_keys_from_names_and_arns() {
        assert_eq!(service_key("prod", "web"), ("prod".into(), "web".into()));
        assert_eq!(
            service_key(
                "arn:aws:ecs:us-east-1:1:cluster/prod",
                "arn:aws:ecs:us-east-1:1:service/prod/web"
            ),
            ("prod".into(), "web".into())
        );
    }
}
