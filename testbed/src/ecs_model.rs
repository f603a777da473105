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
    /// Glob patterns (`*` matches anything) on container images whose tasks never start.
    pub failing_images: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            rollout_seconds: 2.0,
            drain_seconds: 2.0,
            failing_images: vec!["*:broken*".into()],
        }
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
    /// New failing image patterns.
    pub failing_images: Option<Vec<String>>,
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

/// How the model reaches moto: the URL and the headers of the request being handled (account,
/// authorization with its region).
pub struct Upstream<'a> {
    /// HTTP client.
    pub client: &'a HttpClient,
    /// moto's base URL.
    pub url: &'a str,
    /// Headers to send (authorization, x-moto-account-id).
    pub headers: Vec<(String, String)>,
}

impl Upstream<'_> {
    /// Sends to moto as `signing_service` (moto routes a request to a service backend by the
    /// credential scope of its Authorization header).
    async fn call(
        &self,
        signing_service: &str,
        target: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if n == "authorization" {
                    rescope(v, signing_service)
                } else {
                    v.clone()
                };
                (n.clone(), v)
            })
            .collect();
        let mut headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.push(("x-amz-target", target));
        headers.push(("content-type", "application/x-amz-json-1.1"));
        let (status, answer) = http::send(
            self.client,
            "POST",
            &format!("{}/", self.url),
            &headers,
            Bytes::from(body.to_string()),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        ))
    }

    async fn ecs(&self, operation: &str, body: &Value) -> Result<(u16, Value), String> {
        self.call(
            "ecs",
            &format!("AmazonEC2ContainerServiceV20141113.{operation}"),
            body,
        )
        .await
    }

    async fn autoscaling(&self, operation: &str, body: &Value) -> Result<(u16, Value), String> {
        self.call(
            "application-autoscaling",
            &format!("AnyScaleFrontendService.{operation}"),
            body,
        )
        .await
    }
}

/// The Authorization header with its credential scope's service replaced
/// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
fn rescope(authorization: &str, service: &str) -> String {
    let Some(start) = authorization.find("Credential=") else {
        return authorization.to_owned();
    };
    let rest = &authorization[start + "Credential=".len()..];
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    let parts: Vec<&str> = rest[..end].split('/').collect();
    if parts.len() != 5 {
        return authorization.to_owned();
    }
    let credential = format!(
        "{}/{}/{}/{service}/{}",
        parts[0], parts[1], parts[2], parts[4]
    );
    format!(
        "{}Credential={credential}{}",
        &authorization[..start],
        &rest[end..]
    )
}

/// Turns a failed upstream answer into the same error for the client.
fn upstream_error(status: u16, body: &Value) -> Answer {
    let code = body["__type"]
        .as_str()
        .unwrap_or("ServerException")
        .rsplit('#')
        .next()
        .unwrap_or("ServerException")
        .to_owned();
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str())
        .unwrap_or("")
        .to_owned();
    Answer::Error {
        status,
        code,
        message,
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
    /// The task definition's images never start (a failing image knob matched).
    #[serde(skip)]
    failing: bool,
    /// Members of the service definition this deployment runs with.
    #[serde(flatten)]
    members: BTreeMap<String, Value>,
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
}

/// The model: knobs and per-account state; share it behind an `Arc`.
#[derive(Default)]
pub struct EcsModel {
    knobs: Mutex<Knobs>,
    accounts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Account>>>>,
    /// Images of task definitions already described (revisions are immutable).
    images: Mutex<HashMap<String, Vec<String>>>,
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
            if let Some(v) = patch.failing_images {
                knobs.failing_images = v;
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
            out.insert(id, json!({"services": services}));
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
            ("ecs", "DescribeServices") => self.describe_services(upstream, &state, body).await,
            ("ecs", "ListServices") => self.list_services(upstream, &state, body).await,
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
            (
                "application-autoscaling",
                "TagResource" | "UntagResource" | "ListTagsForResource",
            ) => target_tags(upstream, &mut state, operation, body).await,
            _ => error(400, "UnknownOperationException", operation),
        }
    }

    /// The images of a task definition, described at moto once; `Err` carries moto's error answer.
    async fn task_definition(
        &self,
        upstream: &Upstream<'_>,
        reference: &str,
    ) -> Result<(String, String, Vec<String>), Answer> {
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
        let images: Vec<String> = definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str().map(str::to_owned))
            .collect();
        if let Ok(mut cache) = self.images.lock() {
            cache.insert(arn.clone(), images.clone());
        }
        Ok((arn, state, images))
    }

    fn failing(&self, images: &[String]) -> bool {
        let patterns = self.knobs().failing_images;
        images
            .iter()
            .any(|image| patterns.iter().any(|p| glob_matches(p, image)))
    }

    fn new_deployment(
        &self,
        task_definition: &str,
        desired: i64,
        failing: bool,
        members: &BTreeMap<String, Value>,
        reason: Option<String>,
    ) -> Deployment {
        let id = self.deployment_id();
        let now = epoch();
        Deployment {
            rollout_state_reason: reason
                .unwrap_or_else(|| format!("ECS deployment {id} in progress.")),
            id,
            status: "PRIMARY".into(),
            task_definition: task_definition.to_owned(),
            desired_count: desired,
            running_count: 0,
            pending_count: desired,
            failed_tasks: 0,
            rollout_state: "IN_PROGRESS".into(),
            started: Instant::now(),
            created_at: now,
            updated_at: now,
            failing,
            members: DEPLOYMENT_MEMBERS
                .iter()
                .filter_map(|k| members.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect(),
        }
    }

    /// Moves every service of the account to now: rollouts progress, complete or fail (and roll
    /// back), draining services become INACTIVE.
    fn advance(&self, account: &mut Account) {
        let knobs = self.knobs();
        let rollout = Duration::from_secs_f64(knobs.rollout_seconds);
        let drain = Duration::from_secs_f64(knobs.drain_seconds);
        for service in account.services.values_mut() {
            self.advance_service(service, rollout, drain);
        }
    }

    fn advance_service(&self, service: &mut Service, rollout: Duration, drain: Duration) {
        let name = service.name.clone();
        if service.status == Status::Draining {
            if service
                .draining_since
                .is_some_and(|since| since.elapsed() >= drain)
            {
                service.status = Status::Inactive;
                service.deployments.clear();
                let stopped = service.running();
                if stopped > 0 {
                    let event = self.event(format!(
                        "(service {name}) has stopped {stopped} running tasks: (task {}).",
                        self.task_id()
                    ));
                    service.push_event(event);
                }
            }
            return;
        }
        if service.status != Status::Active || service.deployment_controller != "ECS" {
            return;
        }
        let breaker = &service
            .members
            .get("deploymentConfiguration")
            .cloned()
            .unwrap_or(Value::Null)["deploymentCircuitBreaker"];
        let (breaker_on, rollback) = (
            breaker["enable"].as_bool().unwrap_or(false),
            breaker["rollback"].as_bool().unwrap_or(false),
        );
        let Some(primary) = service.deployments.first().cloned() else {
            return;
        };
        if primary.rollout_state != "IN_PROGRESS" {
            // Scale changes of a settled deployment land after one rollout period.
            if let Some(p) = service.deployments.first_mut()
                && p.rollout_state == "COMPLETED"
                && p.running_count != p.desired_count
                && p.started.elapsed() >= rollout
            {
                let started = (p.desired_count - p.running_count).max(0);
                p.running_count = p.desired_count;
                p.pending_count = 0;
                p.updated_at = epoch();
                if started > 0 {
                    let event = self.event(format!(
                        "(service {name}) has started {started} tasks: (task {}).",
                        self.task_id()
                    ));
                    service.push_event(event);
                }
            }
            return;
        }
        let elapsed = primary.started.elapsed();
        if primary.failing {
            // Tasks keep failing to start.
            let failed = (elapsed.as_secs_f64() / (rollout.as_secs_f64() / 3.0).max(0.05)) as i64;
            if let Some(p) = service.deployments.first_mut()
                && failed > p.failed_tasks
            {
                p.failed_tasks = failed;
                p.updated_at = epoch();
            }
            if !service
                .events
                .first()
                .is_some_and(|e| e.message.contains("is unable to consistently start tasks"))
            {
                let event = self.event(format!(
                    "(service {name}) is unable to consistently start tasks successfully."
                ));
                service.push_event(event);
            }
            if breaker_on && elapsed >= rollout {
                let failed_id = primary.id.clone();
                if let Some(p) = service.deployments.first_mut() {
                    p.rollout_state = "FAILED".into();
                    p.rollout_state_reason =
                        "ECS deployment circuit breaker: tasks failed to start.".into();
                    p.updated_at = epoch();
                }
                let event = self.event(format!(
                    "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
                ));
                service.push_event(event);
                if rollback && let Some(previous) = service.last_completed.clone() {
                    let previous_id = service
                        .deployments
                        .iter()
                        .skip(1)
                        .find(|d| d.task_definition == previous)
                        .map(|d| d.id.clone())
                        .unwrap_or_else(|| "ecs-svc/0000000000000000000".into());
                    let mut back = self.new_deployment(
                        &previous,
                        service.desired_count,
                        false,
                        &service.members,
                        Some(format!(
                            "ECS deployment circuit breaker: rolling back to deploymentId {previous_id}."
                        )),
                    );
                    let event = self.event(format!(
                        "(service {name}) rolling back to deployment {}.",
                        back.id
                    ));
                    service.push_event(event);
                    // The failed deployment is replaced; the old tasks keep running meanwhile.
                    back.running_count = 0;
                    service.deployments.remove(0);
                    for d in service.deployments.iter_mut() {
                        d.status = "ACTIVE".into();
                    }
                    service.deployments.insert(0, back);
                    service.task_definition = previous;
                }
            }
            return;
        }
        if elapsed >= rollout {
            let desired = service.desired_count;
            let previous_running: i64 = service
                .deployments
                .iter()
                .skip(1)
                .map(|d| d.running_count)
                .sum();
            let id = primary.id.clone();
            let rolled_back = primary
                .rollout_state_reason
                .starts_with("ECS deployment circuit breaker: rolling back");
            if let Some(p) = service.deployments.first_mut() {
                p.rollout_state = "COMPLETED".into();
                p.rollout_state_reason = if rolled_back {
                    "ECS deployment circuit breaker: rollback completed.".into()
                } else {
                    format!("ECS deployment {id} completed.")
                };
                p.running_count = desired;
                p.pending_count = 0;
                p.desired_count = desired;
                p.updated_at = epoch();
            }
            service.deployments.truncate(1);
            service.task_definition = primary.task_definition.clone();
            service.last_completed = Some(primary.task_definition.clone());
            if desired > 0 {
                let event = self.event(format!(
                    "(service {name}) has started {desired} tasks: (task {}).",
                    self.task_id()
                ));
                service.push_event(event);
            }
            if previous_running > 0 {
                let event = self.event(format!(
                    "(service {name}) has stopped {previous_running} running tasks: (task {}).",
                    self.task_id()
                ));
                service.push_event(event);
            }
            let event = self.event(format!(
                "(service {name}) (deployment {id}) deployment completed."
            ));
            service.push_event(event);
            let event = self.event(format!("(service {name}) has reached a steady state."));
            service.push_event(event);
        } else {
            let fraction = elapsed.as_secs_f64() / rollout.as_secs_f64().max(1e-9);
            let desired = service.desired_count;
            if let Some(p) = service.deployments.first_mut() {
                let running = ((desired as f64) * fraction * 0.5).floor() as i64;
                p.running_count = running.min(desired);
                p.pending_count = desired - p.running_count;
            }
        }
    }

    async fn create(&self, upstream: &Upstream<'_>, state: &mut Account, body: &Value) -> Answer {
        let Some(name) = body["serviceName"].as_str().map(str::to_owned) else {
            return invalid("serviceName must be specified.");
        };
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = (cluster_name(&cluster), name.clone());
        let mut request = body.clone();
        let client_token = request
            .as_object_mut()
            .and_then(|o| o.remove("clientToken"))
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(existing) = state.services.get(&key) {
            match existing.status {
                // "If you attempt to create a new service with the same name as an existing
                // service in either ACTIVE or DRAINING status, you receive an error."
                Status::Draining => {
                    return invalid("Unable to Start a service that is still Draining.");
                }
                Status::Active => {
                    let same_token =
                        client_token.is_some() && existing.client_token == client_token;
                    return if existing.create_request == request
                        && (client_token.is_none() || same_token)
                    {
                        Answer::Ok(json!({"service": describe(existing)}))
                    } else {
                        invalid("Creation of service was not idempotent.")
                    };
                }
                Status::Inactive => {}
            }
        }
        let mut members: BTreeMap<String, Value> = DEFINITION_MEMBERS
            .iter()
            .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        if members.contains_key("launchType") && members.contains_key("capacityProviderStrategy") {
            return invalid(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
            );
        }
        if let Some(rejection) = fargate_placement(&members) {
            return rejection;
        }
        let controller = members
            .get("deploymentController")
            .and_then(|c| c["type"].as_str())
            .unwrap_or("ECS")
            .to_owned();
        let daemon = members.get("schedulingStrategy").and_then(Value::as_str) == Some("DAEMON");
        let Some(reference) = body["taskDefinition"].as_str() else {
            if controller == "EXTERNAL" {
                return error(
                    400,
                    "ClientException",
                    "the model does not support EXTERNAL services without a task definition",
                );
            }
            return invalid("A task definition must be specified.");
        };
        let (task_definition, td_status, images) =
            match self.task_definition(upstream, reference).await {
                Ok(found) => found,
                Err(answer) => return answer,
            };
        if td_status != "ACTIVE" {
            return error(400, "ClientException", "TaskDefinition is inactive.");
        }
        // moto keeps a plain copy (cluster check, Application Auto Scaling's existence check).
        let copy = json!({"cluster": cluster, "serviceName": name, "taskDefinition": task_definition,
                          "desiredCount": body["desiredCount"].as_i64().unwrap_or(0), "launchType": "EC2"});
        let (status, answer) = match upstream.ecs("CreateService", &copy).await {
            Ok(answer) => answer,
            Err(e) => return error(500, "ServerException", &e),
        };
        if status != 200 {
            return upstream_error(status, &answer);
        }
        // Defaults ECS fills in and DescribeServices reports.
        if !members.contains_key("launchType") && !members.contains_key("capacityProviderStrategy")
        {
            members.insert("launchType".into(), json!("EC2"));
        }
        members
            .entry("schedulingStrategy".into())
            .or_insert(json!("REPLICA"));
        members
            .entry("deploymentConfiguration".into())
            .or_insert_with(|| {
                if daemon {
                    json!({"maximumPercent": 100, "minimumHealthyPercent": 0})
                } else {
                    json!({"maximumPercent": 200, "minimumHealthyPercent": 100})
                }
            });
        if let Some(config) = members.get_mut("deploymentConfiguration")
            && controller == "ECS"
        {
            // As DescribeServices reports a rolling service nobody configured further.
            if config.get("deploymentCircuitBreaker").is_none() {
                config["deploymentCircuitBreaker"] = json!({"enable": false, "rollback": false});
            }
            if config.get("strategy").is_none() {
                config["strategy"] = json!("ROLLING");
            }
            if config.get("bakeTimeInMinutes").is_none() {
                config["bakeTimeInMinutes"] = json!(0);
            }
            if config.get("alarms").is_none() {
                config["alarms"] = json!({"alarmNames": [], "enable": false, "rollback": false});
            }
        }
        if let Some(config) = members.get_mut("deploymentConfiguration") {
            if config.get("maximumPercent").is_none() {
                config["maximumPercent"] = json!(if daemon { 100 } else { 200 });
            }
            if config.get("minimumHealthyPercent").is_none() {
                config["minimumHealthyPercent"] = json!(if daemon { 0 } else { 100 });
            }
        }
        members
            .entry("deploymentController".into())
            .or_insert(json!({"type": "ECS"}));
        if uses_fargate(&members) {
            members
                .entry("platformVersion".into())
                .or_insert(json!("LATEST"));
        }
        if let Some(vpc) = members
            .get_mut("networkConfiguration")
            .and_then(|n| n.get_mut("awsvpcConfiguration"))
            && vpc.get("assignPublicIp").is_none()
        {
            vpc["assignPublicIp"] = json!("DISABLED");
        }
        members
            .entry("enableECSManagedTags".into())
            .or_insert(json!(false));
        members
            .entry("enableExecuteCommand".into())
            .or_insert(json!(false));
        members
            .entry("propagateTags".into())
            .or_insert(json!("NONE"));
        members
            .entry("availabilityZoneRebalancing".into())
            .or_insert(json!(if daemon { "DISABLED" } else { "ENABLED" }));
        members
            .entry("healthCheckGracePeriodSeconds".into())
            .or_insert(json!(0));
        members
            .entry("placementConstraints".into())
            .or_insert(json!([]));
        members
            .entry("placementStrategy".into())
            .or_insert(json!([]));
        members.entry("loadBalancers".into()).or_insert(json!([]));
        members
            .entry("serviceRegistries".into())
            .or_insert(json!([]));
        let desired = if daemon {
            1
        } else {
            body["desiredCount"].as_i64().unwrap_or(0)
        };
        let failing = self.failing(&images);
        let mut service = Service {
            arn: answer["service"]["serviceArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            name: name.clone(),
            cluster_arn: answer["service"]["clusterArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: Status::Active,
            draining_since: None,
            created_at: epoch(),
            client_token,
            create_request: request,
            desired_count: desired,
            task_definition: task_definition.clone(),
            deployments: Vec::new(),
            events: Vec::new(),
            tags: body["tags"].as_array().cloned().unwrap_or_default(),
            last_completed: None,
            deployment_controller: controller,
            members,
        };
        let deployment =
            self.new_deployment(&task_definition, desired, failing, &service.members, None);
        service.deployments.push(deployment);
        let answer = json!({"service": describe(&service)});
        state.services.insert(key, service);
        Answer::Ok(answer)
    }

    async fn update(&self, upstream: &Upstream<'_>, state: &mut Account, body: &Value) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = service_key(&cluster, body["service"].as_str().unwrap_or_default());
        let Some(service) = state.services.get(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        if service.status != Status::Active {
            return error(400, "ServiceNotActiveException", "Service was not ACTIVE.");
        }
        let controller = service.deployment_controller.clone();
        if controller == "CODE_DEPLOY" && body.get("taskDefinition").is_some() {
            return invalid(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
            );
        }
        let force = body["forceNewDeployment"].as_bool().unwrap_or(false);
        let mut members = service.members.clone();
        for k in DEFINITION_MEMBERS {
            if let Some(v) = body.get(k) {
                members.insert(k.to_owned(), v.clone());
            }
        }
        // Going back to a launch type: an empty strategy.
        let strategy_change = body.get("capacityProviderStrategy").map(|new| {
            let old = service.members.get("capacityProviderStrategy");
            let from_launch_type = old.is_none();
            let emptied = new.as_array().is_some_and(Vec::is_empty);
            (from_launch_type && !emptied) || (!from_launch_type && Some(new) != old)
        });
        if strategy_change == Some(true) && !force {
            return invalid(
                "When switching from launch type to capacity provider strategy on an existing service, or making a change to a capacity provider strategy on a service that is already using one, you must force a new deployment.",
            );
        }
        if body
            .get("capacityProviderStrategy")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            members.remove("capacityProviderStrategy");
            if !members.contains_key("launchType") {
                match service.create_request.get("launchType") {
                    Some(launch_type) => {
                        members.insert("launchType".into(), launch_type.clone());
                    }
                    None => {
                        return invalid(
                            "No launch type to fall back to for empty capacity provider strategy. Your service was not created with a launch type.",
                        );
                    }
                }
            }
        } else if members.contains_key("capacityProviderStrategy") {
            members.remove("launchType");
        }
        if let Some(rejection) = fargate_placement(&members) {
            return rejection;
        }
        let new_task_definition = match body["taskDefinition"].as_str() {
            Some(reference) => match self.task_definition(upstream, reference).await {
                // "you can't update an existing service to reference an INACTIVE task
                // definition"
                Ok((_, status, _)) if status != "ACTIVE" => {
                    return error(400, "ClientException", "TaskDefinition is inactive.");
                }
                Ok((arn, _, images)) => Some((arn, images)),
                Err(answer) => return answer,
            },
            None => None,
        };
        let Some(service) = state.services.get_mut(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        let primary_td = service
            .deployments
            .first()
            .map(|d| d.task_definition.clone())
            .unwrap_or_else(|| service.task_definition.clone());
        let td_changed = new_task_definition
            .as_ref()
            .is_some_and(|(arn, _)| *arn != primary_td);
        let deploying_change = DEPLOYING_MEMBERS.iter().any(|k| {
            body.get(*k)
                .is_some_and(|v| service.members.get(*k) != Some(v))
        });
        if let Some(desired) = body["desiredCount"].as_i64() {
            service.desired_count = desired;
            for d in service.deployments.iter_mut().take(1) {
                d.desired_count = desired;
                if d.rollout_state == "COMPLETED" {
                    // The scale lands one rollout period from now.
                    d.started = Instant::now();
                }
            }
        }
        service.members = members;
        if td_changed || deploying_change || force || strategy_change == Some(true) {
            let (task_definition, images) = match new_task_definition {
                Some((arn, images)) => (arn, images),
                None => {
                    let images = self
                        .images
                        .lock()
                        .ok()
                        .and_then(|cache| cache.get(&primary_td).cloned())
                        .unwrap_or_default();
                    (primary_td, images)
                }
            };
            let failing = self.failing(&images);
            for d in service.deployments.iter_mut() {
                d.status = "ACTIVE".into();
            }
            // A deployment that never started a task is simply replaced.
            service
                .deployments
                .retain(|d| d.running_count > 0 || d.rollout_state == "COMPLETED");
            let deployment = self.new_deployment(
                &task_definition,
                service.desired_count,
                failing,
                &service.members,
                None,
            );
            service.deployments.insert(0, deployment);
        }
        let copy = json!({"cluster": cluster, "service": service.name, "desiredCount": service.desired_count});
        let answer = json!({"service": describe(service)});
        if let Err(e) = upstream.ecs("UpdateService", &copy).await {
            return error(500, "ServerException", &e);
        }
        Answer::Ok(answer)
    }

    async fn delete(&self, upstream: &Upstream<'_>, state: &mut Account, body: &Value) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = service_key(&cluster, body["service"].as_str().unwrap_or_default());
        let force = body["force"].as_bool().unwrap_or(false);
        let Some(service) = state.services.get_mut(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        match service.status {
            Status::Inactive => {
                return error(400, "ServiceNotFoundException", "Service not found.");
            }
            Status::Draining => return Answer::Ok(json!({"service": describe(service)})),
            Status::Active => {}
        }
        let replica = service
            .members
            .get("schedulingStrategy")
            .and_then(Value::as_str)
            != Some("DAEMON");
        // "You can delete a service if you have no running tasks in it and the desired task
        // count is zero." `force` deletes it anyway (REPLICA only needs it).
        if replica && service.desired_count > 0 && !force {
            return invalid("The service cannot be stopped while it is scaled above 0.");
        }
        service.status = Status::Draining;
        service.draining_since = Some(Instant::now());
        service.desired_count = 0;
        for d in service.deployments.iter_mut() {
            d.desired_count = 0;
        }
        let name = service.name.clone();
        let answer = json!({"service": describe(service)});
        // moto's copy goes now, and with it (as on AWS) the service's scalable target and its
        // policies and scheduled actions.
        let cluster_key = key.0.clone();
        let _ = upstream
            .ecs(
                "DeleteService",
                &json!({"cluster": cluster, "service": name, "force": true}),
            )
            .await;
        let _ = deregister_scalable_target(
            upstream,
            state,
            &json!({"ServiceNamespace": "ecs", "ResourceId": format!("service/{cluster_key}/{name}"),
                    "ScalableDimension": "ecs:service:DesiredCount"}),
        )
        .await;
        Answer::Ok(answer)
    }

    async fn describe_services(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        // moto checks the cluster (ClusterNotFoundException) the way ECS does.
        match upstream
            .ecs("DescribeClusters", &json!({"clusters": [cluster]}))
            .await
        {
            Ok((200, answer))
                if answer["clusters"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["status"] == "ACTIVE")) => {}
            Ok(_) => return error(400, "ClusterNotFoundException", "Cluster not found."),
            Err(e) => return error(500, "ServerException", &e),
        }
        let with_tags = body["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "TAGS"));
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for name in body["services"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            match state.services.get(&service_key(&cluster, name)) {
                Some(service) => {
                    let mut described = describe(service);
                    if !with_tags && let Some(o) = described.as_object_mut() {
                        o.remove("tags");
                    }
                    services.push(described);
                }
                None => failures.push(json!({
                    "arn": if name.starts_with("arn:") { name.to_owned() } else {
                        format!("arn:aws:ecs:us-east-1:000000000000:service/{}/{name}", cluster_name(&cluster))
                    },
                    "reason": "MISSING"
                })),
            }
        }
        Answer::Ok(json!({"services": services, "failures": failures}))
    }

    async fn list_services(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        if let Ok((status, answer)) = upstream
            .ecs("ListServices", &json!({"cluster": cluster}))
            .await
            && status != 200
        {
            return upstream_error(status, &answer);
        }
        let wanted = cluster_name(&cluster);
        // DRAINING and INACTIVE services are "no longer visible ... in the ListServices API".
        let arns: Vec<String> = state
            .services
            .iter()
            .filter(|((c, _), s)| *c == wanted && s.status == Status::Active)
            .map(|(_, s)| s.arn.clone())
            .collect();
        let max = body["maxResults"].as_u64().unwrap_or(10).clamp(1, 100) as usize;
        let start: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let page: Vec<&String> = arns.iter().skip(start).take(max).collect();
        let mut answer = json!({"serviceArns": page});
        if start + max < arns.len() {
            answer["nextToken"] = json!((start + max).to_string());
        }
        Answer::Ok(answer)
    }

    async fn tags(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        operation: &str,
        body: &Value,
    ) -> Answer {
        let arn = body["resourceArn"].as_str().unwrap_or_default();
        let service = state
            .services
            .values_mut()
            .find(|s| s.arn == arn && s.status != Status::Inactive);
        let Some(service) = service else {
            // Not a service: moto's tags (task definitions, clusters).
            return match upstream.ecs(operation, body).await {
                Ok((200, answer)) => Answer::Ok(answer),
                Ok((status, answer)) => upstream_error(status, &answer),
                Err(e) => error(500, "ServerException", &e),
            };
        };
        match operation {
            "ListTagsForResource" => Answer::Ok(json!({"tags": service.tags})),
            "TagResource" => {
                let mut tags = service.tags.clone();
                for tag in body["tags"].as_array().into_iter().flatten() {
                    tags.retain(|t| t["key"] != tag["key"]);
                    tags.push(tag.clone());
                }
                // "Maximum number of tags per resource - 50" (aws: keys do not count).
                let counted = tags
                    .iter()
                    .filter(|t| {
                        !t["key"]
                            .as_str()
                            .is_some_and(|k| k.to_ascii_lowercase().starts_with("aws:"))
                    })
                    .count();
                if counted > 50 {
                    return error(
                        400,
                        "LimitExceededException",
                        "The limit for the resource was exceeded.",
                    );
                }
                service.tags = tags;
                Answer::Ok(json!({}))
            }
            _ => {
                let keys: Vec<&Value> = body["tagKeys"].as_array().into_iter().flatten().collect();
                service.tags.retain(|t| !keys.contains(&&t["key"]));
                Answer::Ok(json!({}))
            }
        }
    }
}

/// RegisterScalableTarget: "Use this parameter to tag the scalable target when it is created. To
/// tag an existing scalable target, use the TagResource operation." moto accepts tags on an
/// existing target; AWS answers the ValidationException below.
async fn register_scalable_target(
    upstream: &Upstream<'_>,
    state: &mut Account,
    body: &Value,
) -> Answer {
    let has_tags = body["Tags"].as_object().is_some_and(|t| !t.is_empty());
    if has_tags {
        let query = json!({"ServiceNamespace": body["ServiceNamespace"], "ScalableDimension": body["ScalableDimension"],
                           "ResourceIds": [body["ResourceId"]]});
        if let Ok((200, answer)) = upstream
            .autoscaling("DescribeScalableTargets", &query)
            .await
            && answer["ScalableTargets"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        {
            return error(
                400,
                "ValidationException",
                "The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API.",
            );
        }
    }
    match upstream.autoscaling("RegisterScalableTarget", body).await {
        Ok((200, answer)) => {
            if let (Some(arn), Some(tags)) = (
                answer["ScalableTargetARN"].as_str(),
                body["Tags"].as_object().filter(|t| !t.is_empty()),
            ) {
                state.target_tags.insert(arn.to_owned(), tags.clone());
            }
            Answer::Ok(answer)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

/// The ARN of every ECS scalable target moto holds.
async fn target_arns(upstream: &Upstream<'_>) -> Result<Vec<String>, Answer> {
    match upstream
        .autoscaling(
            "DescribeScalableTargets",
            &json!({"ServiceNamespace": "ecs", "MaxResults": 1_000_000}),
        )
        .await
    {
        Ok((200, answer)) => Ok(answer["ScalableTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["ScalableTargetARN"].as_str().map(str::to_owned))
            .collect()),
        Ok((status, answer)) => Err(upstream_error(status, &answer)),
        Err(e) => Err(error(500, "ServerException", &e)),
    }
}

/// Application Auto Scaling TagResource, UntagResource and ListTagsForResource on a scalable
/// target ARN ("Tags: ... A tag key-value pair", "TagKeys", an unknown ARN is
/// ResourceNotFoundException). Tags of targets that are gone (deregistered, or removed with their
/// ECS service) are forgotten.
async fn target_tags(
    upstream: &Upstream<'_>,
    state: &mut Account,
    operation: &str,
    body: &Value,
) -> Answer {
    let arn = body["ResourceARN"].as_str().unwrap_or_default().to_owned();
    let live = match target_arns(upstream).await {
        Ok(arns) => arns,
        Err(answer) => return answer,
    };
    state.target_tags.retain(|known, _| live.contains(known));
    if !live.contains(&arn) {
        return error(
            400,
            "ResourceNotFoundException",
            &format!("No scalable target found for ARN {arn}"),
        );
    }
    let tags = state.target_tags.entry(arn).or_default();
    match operation {
        "TagResource" => {
            for (key, value) in body["Tags"].as_object().into_iter().flatten() {
                tags.insert(key.clone(), value.clone());
            }
            Answer::Ok(json!({}))
        }
        "UntagResource" => {
            for key in body["TagKeys"].as_array().into_iter().flatten() {
                if let Some(key) = key.as_str() {
                    tags.remove(key);
                }
            }
            Answer::Ok(json!({}))
        }
        _ => Answer::Ok(json!({"Tags": tags})),
    }
}

/// DescribeScalableTargets, paged as AWS documents it ("MaxResults: The maximum number of scalable
/// targets. This value can be between 1 and 50. The default value is 50."). moto 5.2.5 hands out
/// the page-relative index as NextToken, so from the third page on it repeats the second page
/// forever; the model reads moto's whole list and pages it itself.
async fn describe_scalable_targets(upstream: &Upstream<'_>, body: &Value) -> Answer {
    // ScalableDimension: "If you specify a scalable dimension, you must also specify a resource
    // ID." (moto lists the dimension's targets.)
    let has_ids = body["ResourceIds"]
        .as_array()
        .is_some_and(|ids| !ids.is_empty());
    if body.get("ScalableDimension").is_some_and(|d| !d.is_null()) && !has_ids {
        return error(
            400,
            "ValidationException",
            "If you specify a scalable dimension, you must also specify a resource ID.",
        );
    }
    let page_size = match body.get("MaxResults") {
        None | Some(Value::Null) => 50,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=50) => n as usize,
            _ => {
                let bound = if v.as_u64().is_some_and(|n| n > 50) {
                    "less than or equal to 50"
                } else {
                    "greater than or equal to 1"
                };
                return error(
                    400,
                    "ValidationException",
                    &format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value {bound}"
                    ),
                );
            }
        },
    };
    let start = match body["NextToken"].as_str() {
        None | Some("") => 0,
        Some(token) => match token
            .strip_prefix("model-page:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(start) => start,
            None => return error(400, "InvalidNextTokenException", "Invalid token"),
        },
    };
    let mut everything = body.clone();
    if let Some(map) = everything.as_object_mut() {
        map.remove("NextToken");
        map.insert("MaxResults".into(), json!(1_000_000));
    }
    match upstream
        .autoscaling("DescribeScalableTargets", &everything)
        .await
    {
        Ok((200, answer)) => {
            let all = answer["ScalableTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let page: Vec<Value> = all.iter().skip(start).take(page_size).cloned().collect();
            let mut out = json!({"ScalableTargets": page});
            if start + page_size < all.len() {
                out["NextToken"] = json!(format!("model-page:{}", start + page_size));
            }
            Answer::Ok(out)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

/// DeregisterScalableTarget: "Deregistering a scalable target deletes the scaling policies and the
/// scheduled actions that are associated with it." moto keeps them; the model deletes them first.
async fn deregister_scalable_target(
    upstream: &Upstream<'_>,
    state: &mut Account,
    body: &Value,
) -> Answer {
    let scope = json!({"ServiceNamespace": body["ServiceNamespace"], "ResourceId": body["ResourceId"],
                       "ScalableDimension": body["ScalableDimension"]});
    if let Ok((200, policies)) = upstream
        .autoscaling("DescribeScalingPolicies", &scope)
        .await
    {
        for policy in policies["ScalingPolicies"].as_array().into_iter().flatten() {
            let mut delete = scope.clone();
            delete["PolicyName"] = policy["PolicyName"].clone();
            let _ = upstream.autoscaling("DeleteScalingPolicy", &delete).await;
        }
    }
    if let Ok((200, actions)) = upstream
        .autoscaling("DescribeScheduledActions", &scope)
        .await
    {
        for action in actions["ScheduledActions"].as_array().into_iter().flatten() {
            let mut delete = scope.clone();
            delete["ScheduledActionName"] = action["ScheduledActionName"].clone();
            let _ = upstream.autoscaling("DeleteScheduledAction", &delete).await;
        }
    }
    match upstream.autoscaling("DeregisterScalableTarget", body).await {
        Ok((200, answer)) => {
            if let Ok(live) = target_arns(upstream).await {
                state.target_tags.retain(|known, _| live.contains(known));
            }
            Answer::Ok(answer)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

impl Service {
    fn running(&self) -> i64 {
        self.deployments.iter().map(|d| d.running_count).sum()
    }

    fn push_event(&mut self, event: Event) {
        self.events.insert(0, event);
        // "A maximum of 100 of the latest events are displayed."
        self.events.truncate(100);
    }
}

/// A service as DescribeServices reports it.
fn describe(service: &Service) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("serviceArn".into(), json!(service.arn));
    out.insert("serviceName".into(), json!(service.name));
    out.insert("clusterArn".into(), json!(service.cluster_arn));
    out.insert(
        "status".into(),
        serde_json::to_value(service.status).unwrap_or(Value::Null),
    );
    out.insert("desiredCount".into(), json!(service.desired_count));
    out.insert("runningCount".into(), json!(service.running()));
    out.insert(
        "pendingCount".into(),
        json!(
            service
                .deployments
                .iter()
                .map(|d| d.pending_count)
                .sum::<i64>()
        ),
    );
    // The service's task definition is its PRIMARY deployment's (it moves at UpdateService, and
    // back on a rollback).
    let task_definition = service
        .deployments
        .first()
        .map_or(&service.task_definition, |d| &d.task_definition);
    out.insert("taskDefinition".into(), json!(task_definition));
    for (k, v) in &service.members {
        out.insert(k.clone(), v.clone());
    }
    // ECS reports Service Connect, volume and VPC Lattice settings per deployment only.
    for k in [
        "serviceConnectConfiguration",
        "volumeConfigurations",
        "vpcLatticeConfigurations",
    ] {
        out.remove(k);
    }
    out.insert(
        "deployments".into(),
        serde_json::to_value(&service.deployments).unwrap_or(json!([])),
    );
    out.insert(
        "events".into(),
        serde_json::to_value(&service.events).unwrap_or(json!([])),
    );
    out.insert("createdAt".into(), json!(service.created_at));
    out.insert(
        "createdBy".into(),
        json!("arn:aws:iam::000000000000:role/ecs-operator"),
    );
    if !service.tags.is_empty() {
        out.insert("tags".into(), json!(service.tags));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
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
