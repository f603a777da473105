//! `EcsCluster`: an ECS cluster, its Container Insights setting, execute-command and managed
//! storage configuration, capacity providers with their default strategy, and Service Connect
//! default namespace.
//!
//! Member names follow the ECS `CreateCluster` API. Services and tasks may point at it with
//! `clusterRef` instead of a literal cluster name.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{DeletionPolicy, ReconcileStatus, Tag, aws_enum};
use super::service::CapacityProviderStrategyItem;

/// Desired state of an ECS cluster.
#[skip_serializing_none]
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsCluster",
    namespaced,
    status = "EcsClusterStatus",
    shortname = "ecscl",
    category = "ecs",
    doc = "An Amazon ECS cluster. Ready when it is ACTIVE with the settings, configuration, capacity providers and tags of the spec.",
    printcolumn(name = "Cluster", type_ = "string", json_path = ".status.clusterName"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(
        name = "Services",
        type_ = "integer",
        json_path = ".status.activeServicesCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningTasksCount"
    ),
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
#[x_kube(validation = Rule::new("has(self.clusterName) == has(oldSelf.clusterName)").message("clusterName cannot be added or removed after creation (it names the ECS cluster)").field_path(".clusterName"))]
#[x_kube(validation = Rule::new("!has(self.defaultCapacityProviderStrategy) || (has(self.capacityProviders) && self.defaultCapacityProviderStrategy.all(s, s.capacityProvider in self.capacityProviders))").message("a default capacity provider strategy may name only the cluster's capacity providers: list them in capacityProviders").field_path(".defaultCapacityProviderStrategy").reason(Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterSpec {
    /// ECS cluster name (letters, digits, hyphens, underscores; up to 255). Defaults to
    /// `metadata.name`. Immutable: a cluster cannot be renamed.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterName is immutable"))]
    pub cluster_name: Option<String>,
    /// Cluster settings (Container Insights). Omitted settings keep the account default.
    pub settings: Option<ClusterSettings>,
    /// Execute command and managed storage configuration.
    pub configuration: Option<ClusterConfiguration>,
    /// The capacity providers associated with the cluster (FARGATE, FARGATE_SPOT, Auto Scaling
    /// group providers). When set, it is the whole list: providers not listed are removed. When
    /// omitted, the operator leaves the cluster's providers as they are.
    #[schemars(length(max = 20))]
    pub capacity_providers: Option<Vec<String>>,
    /// Strategy for services and tasks that name neither a launch type nor a strategy; may name
    /// only providers of `capacityProviders`.
    #[schemars(length(max = 20))]
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Default Service Connect namespace (a Cloud Map namespace name or ARN) for new services.
    pub service_connect_defaults: Option<ClusterServiceConnectDefaults>,
    /// Tags on the ECS cluster (up to 47: the operator adds 3 of its own).
    #[schemars(length(max = 47))]
    pub tags: Option<Vec<Tag>>,
    /// What to do with the ECS cluster when this object is deleted: `Delete` (only once no
    /// services or tasks remain in it) or `Retain` (leave it). Unset: the namespace's
    /// `ecs.operator.dev/deletion-policy` annotation, else the operator's
    /// `--default-deletion-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// Cluster settings, one member per ECS cluster setting name.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSettings {
    /// CloudWatch Container Insights: `enhanced` (container-level metrics), `enabled` or
    /// `disabled`.
    pub container_insights: Option<ContainerInsights>,
}

aws_enum! {
    /// The values of the `containerInsights` cluster setting.
    ContainerInsights {
        Enhanced = "enhanced",
        Enabled = "enabled",
        Disabled = "disabled",
    }
}

/// The cluster's execute command and managed storage configuration.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfiguration {
    /// How `ecs execute-command` sessions are encrypted and logged.
    pub execute_command_configuration: Option<ExecuteCommandConfiguration>,
    /// KMS keys for managed storage (Fargate ephemeral storage, EBS volumes).
    pub managed_storage_configuration: Option<ManagedStorageConfiguration>,
}

/// Execute command settings of the cluster.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteCommandConfiguration {
    /// KMS key that encrypts the session data between the client and the container.
    pub kms_key_id: Option<String>,
    /// NONE, DEFAULT (the task's awslogs configuration) or OVERRIDE (`logConfiguration`).
    pub logging: Option<ExecuteCommandLogging>,
    /// Where session logs go when `logging` is OVERRIDE.
    pub log_configuration: Option<ExecuteCommandLogConfiguration>,
}

aws_enum! {
    /// Where execute command session output is logged.
    ExecuteCommandLogging {
        None = "NONE",
        Default = "DEFAULT",
        Override = "OVERRIDE",
    }
}

/// The log destinations of execute command sessions (with `logging: OVERRIDE`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteCommandLogConfiguration {
    /// CloudWatch Logs group (it must exist).
    pub cloud_watch_log_group_name: Option<String>,
    /// Whether the log group is encrypted (it must be, when true).
    pub cloud_watch_encryption_enabled: Option<bool>,
    /// S3 bucket (it must exist).
    pub s3_bucket_name: Option<String>,
    /// Whether the bucket is encrypted (it must be, when true).
    pub s3_encryption_enabled: Option<bool>,
    /// Key prefix of the objects in the bucket.
    pub s3_key_prefix: Option<String>,
}

/// KMS keys for the cluster's managed storage.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedStorageConfiguration {
    /// KMS key for managed EBS volumes.
    pub kms_key_id: Option<String>,
    /// KMS key for Fargate ephemeral storage.
    pub fargate_ephemeral_storage_kms_key_id: Option<String>,
}

/// The cluster's default Service Connect namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterServiceConnectDefaults {
    /// Cloud Map namespace name or ARN (an HTTP namespace is created when the name is new).
    #[schemars(length(min = 1, max = 1024))]
    pub namespace: String,
}

/// Observed state of an ECS cluster.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// ARN of the ECS cluster.
    pub cluster_arn: Option<String>,
    /// Name of the ECS cluster.
    pub cluster_name: Option<String>,
    /// ACTIVE, PROVISIONING, DEPROVISIONING, FAILED or INACTIVE, as ECS reports it.
    pub status: Option<String>,
    /// Container instances registered with the cluster.
    pub registered_container_instances_count: Option<i32>,
    /// Tasks RUNNING in the cluster.
    pub running_tasks_count: Option<i32>,
    /// Tasks PENDING in the cluster.
    pub pending_tasks_count: Option<i32>,
    /// ACTIVE services in the cluster.
    pub active_services_count: Option<i32>,
    /// The capacity providers associated with the cluster, as ECS reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<String>,
    /// Per group of members (`settings`, `configuration`, `serviceConnectDefaults`,
    /// `capacityProviders`), a hash of the value last sent and accepted: a group whose spec value
    /// has not changed since is sent again only to revert drift ECS reports exactly.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub applied: std::collections::BTreeMap<String, String>,
}
