//! `EcsTask`: one run of ECS tasks (`run-task`), like a Kubernetes Job: started once, tracked
//! until every task stopped, its outcome (stop code, stopped reason, each container's exit code)
//! reported in status, conditions and Events.
//!
//! Member names follow the ECS `RunTask` API. A run is one object: to run again, create another
//! (for example with `metadata.generateName`).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{KeyValuePair, ReconcileStatus, Tag, aws_enum, de_opt_string_or_int};
use super::service::{
    CapacityProviderStrategyItem, LaunchType, LocalObjectReference, NetworkConfiguration,
    PlacementConstraint, PlacementStrategy,
};

/// A one-off run of ECS tasks.
#[skip_serializing_none]
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsTask",
    namespaced,
    derive = "PartialEq",
    status = "EcsTaskStatus",
    shortname = "ecstask",
    category = "ecs",
    doc = "A one-off run of Amazon ECS tasks (RunTask), like a Job. Ready when every task stopped with its essential containers exited 0; Stalled (TaskFailed) when one did not.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
    ),
    printcolumn(name = "Stop Code", type_ = "string", json_path = ".status.stopCode"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.clusterRef) != has(self.cluster)").message("set exactly one of clusterRef (an EcsCluster in this namespace) or cluster (a cluster name or ARN)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("has(self.taskDefinitionRef) != has(self.taskDefinition)").message("set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) or taskDefinition (family[:revision] or ARN)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("!(has(self.launchType) && has(self.capacityProviderStrategy))").message("launchType and capacityProviderStrategy are mutually exclusive; remove one").field_path(".capacityProviderStrategy").reason(Reason::FieldValueForbidden))]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskSpec {
    /// Cluster short name or ARN.
    #[schemars(length(min = 1))]
    pub cluster: Option<String>,
    /// An `EcsCluster` in this namespace; the run waits until it is Ready.
    pub cluster_ref: Option<LocalObjectReference>,
    /// An `EcsTaskDefinition` in this namespace: the run uses the revision it has registered
    /// (and waits until it is Ready).
    pub task_definition_ref: Option<LocalObjectReference>,
    /// A task definition managed elsewhere: `family` (its latest ACTIVE revision),
    /// `family:revision` or an ARN.
    #[schemars(length(min = 1))]
    pub task_definition: Option<String>,
    /// Tasks to start (1-10, default 1).
    #[schemars(range(min = 1, max = 10))]
    pub count: Option<i32>,
    /// EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES; excludes `capacityProviderStrategy`.
    /// With neither, the cluster's default capacity provider strategy applies.
    pub launch_type: Option<LaunchType>,
    /// Capacity providers and their weights.
    #[schemars(length(max = 20))]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Fargate platform version (default LATEST).
    pub platform_version: Option<String>,
    /// VPC networking for awsvpc tasks (required on Fargate).
    pub network_configuration: Option<NetworkConfiguration>,
    /// Changes to the task definition for this run: container commands, environment, sizes,
    /// roles.
    pub overrides: Option<TaskOverride>,
    /// Task group name (default `family:<family>`).
    #[schemars(length(min = 1, max = 255))]
    pub group: Option<String>,
    /// Placement constraints (EC2).
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// Placement strategies (EC2).
    #[schemars(length(max = 5))]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// Tags on the tasks (up to 50).
    #[schemars(length(max = 50))]
    pub tags: Option<Vec<Tag>>,
    /// Copy the task definition's tags to the tasks: TASK_DEFINITION or NONE.
    pub propagate_tags: Option<TaskPropagateTags>,
    /// Turn on ECS Exec for the tasks.
    pub enable_execute_command: Option<bool>,
    /// Turn on ECS managed tags (cluster name) for the tasks.
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Stop the tasks (StopTask) when this object is deleted while they run (default true).
    pub stop_on_delete: Option<bool>,
    /// Delete this object that many seconds after the run finished (as a Job's
    /// `ttlSecondsAfterFinished`); kept when omitted.
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i32>,
}

aws_enum! {
    /// Where a task's tags come from (RunTask refuses SERVICE).
    TaskPropagateTags { TaskDefinition = "TASK_DEFINITION", None = "NONE" }
}

/// The RunTask `overrides`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    /// Per-container changes, by container name.
    pub container_overrides: Option<Vec<ContainerOverride>>,
    /// Task CPU units (a Fargate size, for example `1024`).
    #[serde(default, deserialize_with = "de_opt_string_or_int")]
    #[schemars(schema_with = "super::common::int_or_string_schema")]
    pub cpu: Option<String>,
    /// Task memory in MiB.
    #[serde(default, deserialize_with = "de_opt_string_or_int")]
    #[schemars(schema_with = "super::common::int_or_string_schema")]
    pub memory: Option<String>,
    /// IAM role the containers assume for this run.
    pub task_role_arn: Option<String>,
    /// IAM role the agent uses for this run.
    pub execution_role_arn: Option<String>,
}

/// Changes to one container for this run.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    /// The container's name in the task definition.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The command to run instead of the image's or the task definition's.
    pub command: Option<Vec<String>>,
    /// Environment variables to add or override.
    pub environment: Option<Vec<KeyValuePair>>,
    /// CPU units.
    #[schemars(range(min = 0))]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB.
    #[schemars(range(min = 1))]
    pub memory: Option<i32>,
    /// Soft memory limit in MiB.
    #[schemars(range(min = 1))]
    pub memory_reservation: Option<i32>,
}

aws_enum! {
    /// Where a run stands.
    TaskPhase {
        Pending = "Pending",
        Running = "Running",
        Succeeded = "Succeeded",
        Failed = "Failed",
    }
}

/// Observed state of the run.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// Pending, Running, Succeeded or Failed.
    pub phase: Option<TaskPhase>,
    /// ARN of the cluster the tasks run in.
    pub cluster_arn: Option<String>,
    /// ARN of the task definition run.
    pub task_definition_arn: Option<String>,
    /// `family:revision` of it, for `kubectl get`.
    pub task_definition: Option<String>,
    /// Containers that must exit 0 for the run to succeed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub essential_containers: Vec<String>,
    /// The tasks' `startedBy` (this object's UID): finds them again after a crash.
    pub started_by: Option<String>,
    /// When the run was started: pinned, just before its first RunTask (RFC 3339).
    pub start_time: Option<String>,
    /// When the last task stopped (RFC 3339).
    pub completion_time: Option<String>,
    /// The tasks and how each is doing or ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskStatus>,
    /// What RunTask reported it could not start (for example no capacity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// The stop code of the first task that failed (else of the last to stop).
    pub stop_code: Option<String>,
    /// Its stopped reason.
    pub stopped_reason: Option<String>,
    /// Hash of the spec the run was started from: a later change is reported, not run.
    pub run_hash: Option<String>,
}

/// One task of the run.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// Task ARN.
    pub task_arn: String,
    /// PROVISIONING ... RUNNING ... STOPPED, as ECS reports it.
    pub last_status: Option<String>,
    /// TaskFailedToStart, EssentialContainerExited, UserInitiated, ...
    pub stop_code: Option<String>,
    /// Why it stopped.
    pub stopped_reason: Option<String>,
    /// When it started running (RFC 3339).
    pub started_at: Option<String>,
    /// When it stopped (RFC 3339).
    pub stopped_at: Option<String>,
    /// Its containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerStatus>,
}

/// One container of a task.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// PENDING, RUNNING or STOPPED.
    pub last_status: Option<String>,
    /// Exit code, once it exited.
    pub exit_code: Option<i32>,
    /// Why it stopped (CannotPullContainerError, OutOfMemoryError, ...).
    pub reason: Option<String>,
}
