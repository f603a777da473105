//! `EcsTaskDefinition`: an ECS task definition family whose revisions the operator registers.
//!
//! The spec is the ECS `RegisterTaskDefinition` request with the AWS API's own member names, so the
//! JSON of `aws ecs describe-task-definition` (or any `--cli-input-json` file) pastes under `spec:`
//! unchanged. Two operator fields sit beside it: `deletionPolicy` and `revisionHistoryLimit`.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{
    DeletionPolicy, KeyValuePair, LogConfiguration, ReconcileStatus, Secret, Tag, aws_enum,
    de_opt_string_or_int, int_or_string_schema,
};

/// Desired state of an ECS task definition family.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsTaskDefinition",
    namespaced,
    status = "EcsTaskDefinitionStatus",
    shortname = "ecstd",
    category = "ecs",
    doc = "An Amazon ECS task definition. Each change of content registers one new revision.",
    printcolumn(name = "Family", type_ = "string", json_path = ".status.family"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.revision"),
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
#[x_kube(validation = Rule::new("!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(c, c == 'FARGATE') || (has(self.networkMode) && self.networkMode == 'awsvpc')").message("Fargate task definitions need networkMode: awsvpc").field_path(".networkMode").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(c, c == 'FARGATE') || (has(self.cpu) && has(self.memory))").message("Fargate task definitions need task-level cpu and memory").field_path(".cpu").reason(Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskDefinitionSpec {
    /// The task definition: ECS RegisterTaskDefinition members, spelled as the AWS API spells them.
    #[serde(flatten)]
    pub definition: TaskDefinitionBody,

    /// Read-only members of `aws ecs describe-task-definition` output, accepted so that output
    /// pastes unchanged; they are never sent to AWS.
    #[serde(flatten)]
    pub described: DescribedFields,

    /// What to do with the revisions this object registered when it is deleted: `Delete`
    /// (deregister them) or `Retain` (leave them registered). Unset: the namespace's
    /// `ecs.operator.dev/deletion-policy` annotation, else the operator's
    /// `--default-deletion-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// How many of the revisions this object registered stay registered; older ones are
    /// deregistered. Revisions registered by anyone else are never touched. Default 5.
    #[serde(default = "default_revision_history_limit")]
    #[schemars(range(min = 1, max = 1000))]
    pub revision_history_limit: i32,
}

fn default_revision_history_limit() -> i32 {
    5
}

/// Members that `DescribeTaskDefinition` reports but `RegisterTaskDefinition` does not take. They
/// are accepted (so describe output pastes under `spec:` unchanged) and ignored.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DescribedFields {
    /// Ignored: ARN of the described revision (the operator reports its own in status).
    pub task_definition_arn: Option<String>,
    /// Ignored: revision number of the described revision.
    pub revision: Option<i32>,
    /// Ignored: ACTIVE, INACTIVE or DELETE_IN_PROGRESS.
    pub status: Option<String>,
    /// Ignored: container instance attributes ECS derived from the definition.
    pub requires_attributes: Option<Vec<DescribedAttribute>>,
    /// Ignored: launch types ECS found the definition compatible with.
    pub compatibilities: Option<Vec<Compatibility>>,
    /// Ignored: when the described revision was registered.
    pub registered_at: Option<String>,
    /// Ignored: who registered the described revision.
    pub registered_by: Option<String>,
    /// Ignored: when the described revision was deregistered.
    pub deregistered_at: Option<String>,
}

/// An attribute in `requiresAttributes` of describe output.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DescribedAttribute {
    /// Attribute name, e.g. `com.amazonaws.ecs.capability.logging-driver.awslogs`.
    pub name: String,
    /// Attribute value.
    pub value: Option<String>,
    /// Target type.
    pub target_type: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
}

/// The members of an ECS `RegisterTaskDefinition` request.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionBody {
    /// The task definition family: letters, digits, hyphens and underscores, up to 255. Defaults to
    /// the object's `metadata.name`.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub family: Option<String>,
    /// IAM role the task's containers assume to call AWS APIs.
    pub task_role_arn: Option<String>,
    /// IAM role the ECS agent uses to pull images and write logs and to read secrets.
    pub execution_role_arn: Option<String>,
    /// Docker networking mode: awsvpc (required on Fargate), bridge, host or none.
    pub network_mode: Option<NetworkMode>,
    /// The containers of the task: at least one, with unique names, at least one essential.
    #[schemars(length(min = 1, max = 100))]
    pub container_definitions: Vec<ContainerDefinition>,
    /// Data volumes the containers may mount.
    pub volumes: Option<Vec<Volume>>,
    /// Placement constraints for tasks of this definition (EC2 only; at most 10).
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<TaskDefinitionPlacementConstraint>>,
    /// Launch types the definition is validated against: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.
    #[schemars(length(max = 4))]
    pub requires_compatibilities: Option<Vec<Compatibility>>,
    /// Task-level CPU: CPU units ("256") or vCPUs ("0.25 vCPU"); required on Fargate.
    #[serde(default, deserialize_with = "de_opt_string_or_int")]
    #[schemars(schema_with = "int_or_string_schema")]
    pub cpu: Option<String>,
    /// Task-level memory: MiB ("512") or GB ("0.5 GB"); required on Fargate.
    #[serde(default, deserialize_with = "de_opt_string_or_int")]
    #[schemars(schema_with = "int_or_string_schema")]
    pub memory: Option<String>,
    /// Tags on the task definition revision: at most 47, since ECS allows 50 per resource and the operator adds up
    /// to 3 of its own (`ecs.operator.dev/*`, which a spec may not use).
    #[schemars(length(max = 47))]
    pub tags: Option<Vec<Tag>>,
    /// Process namespace: host or task.
    pub pid_mode: Option<PidMode>,
    /// IPC namespace: host, task or none.
    pub ipc_mode: Option<IpcMode>,
    /// App Mesh proxy configuration.
    pub proxy_configuration: Option<ProxyConfiguration>,
    /// Elastic Inference accelerators (retired by AWS; kept for completeness of the API).
    pub inference_accelerators: Option<Vec<InferenceAccelerator>>,
    /// Fargate ephemeral storage beyond the default 20 GiB.
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Operating system and CPU architecture (Fargate and EC2 Windows/ARM).
    pub runtime_platform: Option<RuntimePlatform>,
    /// Whether AWS Fault Injection Service actions may target tasks of this definition.
    pub enable_fault_injection: Option<bool>,
}

/// One container of the task, with every member of the ECS `ContainerDefinition` shape.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    /// Container name: letters, digits, hyphens and underscores, up to 255; unique in the task.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub name: String,
    /// Image reference (`repository:tag` or `repository@digest`).
    pub image: Option<String>,
    /// Credentials for a private registry outside ECR.
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU units reserved for the container (1024 = one vCPU).
    #[schemars(range(min = 0))]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB.
    #[schemars(range(min = 6))]
    pub memory: Option<i32>,
    /// Soft memory limit in MiB.
    #[schemars(range(min = 6))]
    pub memory_reservation: Option<i32>,
    /// Legacy Docker links (bridge mode only).
    pub links: Option<Vec<String>>,
    /// Ports the container exposes.
    pub port_mappings: Option<Vec<PortMapping>>,
    /// If true (the AWS default), the task stops when this container stops.
    pub essential: Option<bool>,
    /// Restart the container in place when it exits, instead of replacing the task.
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// Overrides the image's ENTRYPOINT.
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's CMD.
    pub command: Option<Vec<String>>,
    /// Environment variables; names must be unique.
    pub environment: Option<Vec<KeyValuePair>>,
    /// S3 objects holding environment variable files.
    pub environment_files: Option<Vec<EnvironmentFile>>,
    /// Volumes mounted into the container.
    pub mount_points: Option<Vec<MountPoint>>,
    /// Volumes mounted from other containers.
    pub volumes_from: Option<Vec<VolumeFrom>>,
    /// Linux-specific options (capabilities, devices, init process, tmpfs, swap).
    pub linux_parameters: Option<LinuxParameters>,
    /// Secrets exposed as environment variables; names must be unique.
    pub secrets: Option<Vec<Secret>>,
    /// Containers that must reach a condition before this one starts.
    pub depends_on: Option<Vec<ContainerDependency>>,
    /// Seconds to wait for dependencies to resolve before giving up on this container.
    pub start_timeout: Option<i32>,
    /// Seconds before the container is killed after a stop signal (Fargate max 120).
    pub stop_timeout: Option<i32>,
    /// Whether ECS resolves the image tag to a digest at deployment (enabled, disabled).
    pub version_consistency: Option<VersionConsistency>,
    /// Container hostname (not with awsvpc).
    pub hostname: Option<String>,
    /// User (and group) to run as: `user`, `uid`, `user:group`, `uid:gid`, ...
    pub user: Option<String>,
    /// Working directory for the command.
    pub working_directory: Option<String>,
    /// Disable networking in the container.
    pub disable_networking: Option<bool>,
    /// Give the container elevated privileges on the host (not on Fargate).
    pub privileged: Option<bool>,
    /// Mount the root filesystem read-only.
    pub readonly_root_filesystem: Option<bool>,
    /// DNS servers for the container (not with awsvpc).
    pub dns_servers: Option<Vec<String>>,
    /// DNS search domains (not with awsvpc).
    pub dns_search_domains: Option<Vec<String>>,
    /// Extra /etc/hosts entries (not with awsvpc).
    pub extra_hosts: Option<Vec<HostEntry>>,
    /// SELinux / AppArmor labels for the container (EC2 only).
    pub docker_security_options: Option<Vec<String>>,
    /// Keep stdin open (`docker run -i`).
    pub interactive: Option<bool>,
    /// Allocate a TTY (`docker run -t`).
    pub pseudo_terminal: Option<bool>,
    /// Docker labels on the container.
    pub docker_labels: Option<BTreeMap<String, String>>,
    /// Resource limits (ulimits) for the container.
    pub ulimits: Option<Vec<Ulimit>>,
    /// Where the container's logs go.
    pub log_configuration: Option<LogConfiguration>,
    /// Container health check command and timing.
    pub health_check: Option<HealthCheck>,
    /// Namespaced kernel parameters (sysctls).
    pub system_controls: Option<Vec<SystemControl>>,
    /// GPUs, Inference accelerators or Neuron devices for the container.
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// FireLens log router configuration (for the log router container).
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Active Directory credential specs (`credentialspec:` or `credentialspecdomainless:` ARNs).
    pub credential_specs: Option<Vec<String>>,
}

/// Private registry credentials held in Secrets Manager.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    /// ARN of the Secrets Manager secret holding the registry credentials.
    pub credentials_parameter: String,
}

/// A port the container exposes.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// Port inside the container.
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
    /// Port on the host; with awsvpc it must be omitted or equal `containerPort`.
    #[schemars(range(min = 0, max = 65535))]
    pub host_port: Option<i32>,
    /// Transport protocol: tcp (default) or udp.
    pub protocol: Option<TransportProtocol>,
    /// Port name, used by Service Connect.
    pub name: Option<String>,
    /// Application protocol for Service Connect: http, http2 or grpc.
    pub app_protocol: Option<ApplicationProtocol>,
    /// A range of container ports (`"8000-8010"`), instead of `containerPort`.
    pub container_port_range: Option<String>,
}

/// In-place restart policy for a container.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRestartPolicy {
    /// Whether the restart policy is on.
    pub enabled: bool,
    /// Exit codes that do not trigger a restart (at most 50).
    #[schemars(length(max = 50))]
    pub ignored_exit_codes: Option<Vec<i32>>,
    /// Seconds a container must run before a restart is attempted (60-1800).
    #[schemars(range(min = 60, max = 1800))]
    pub restart_attempt_period: Option<i32>,
}

/// An S3 object holding environment variables.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// ARN of the S3 object (`.env` file).
    pub value: String,
    /// File type: s3.
    pub r#type: EnvironmentFileType,
}

/// A volume mounted into a container.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    /// Name of a volume in the task's `volumes`.
    pub source_volume: Option<String>,
    /// Path in the container.
    pub container_path: Option<String>,
    /// Mount read-only.
    pub read_only: Option<bool>,
}

/// Volumes mounted from another container of the task.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    /// The container to mount volumes from.
    pub source_container: Option<String>,
    /// Mount read-only.
    pub read_only: Option<bool>,
}

/// Linux-specific container options.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    /// Linux capabilities to add or drop.
    pub capabilities: Option<KernelCapabilities>,
    /// Host devices exposed to the container (EC2 only).
    pub devices: Option<Vec<Device>>,
    /// Run an init process that forwards signals and reaps processes.
    pub init_process_enabled: Option<bool>,
    /// Size of /dev/shm in MiB (EC2 only).
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts (EC2 only).
    pub tmpfs: Option<Vec<Tmpfs>>,
    /// Swap the container may use, in MiB (EC2 only).
    pub max_swap: Option<i32>,
    /// Swappiness 0-100 (EC2 only).
    #[schemars(range(min = 0, max = 100))]
    pub swappiness: Option<i32>,
}

/// Linux capabilities to add to or drop from Docker's defaults.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    /// Capabilities to add (Fargate allows only SYS_PTRACE).
    pub add: Option<Vec<String>>,
    /// Capabilities to drop.
    pub drop: Option<Vec<String>>,
}

/// A host device exposed to the container.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Path of the device on the host.
    pub host_path: String,
    /// Path of the device in the container.
    pub container_path: Option<String>,
    /// cgroup permissions: read, write, mknod.
    pub permissions: Option<Vec<DeviceCgroupPermission>>,
}

/// A tmpfs mount.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tmpfs {
    /// Mount path in the container.
    pub container_path: String,
    /// Size in MiB.
    pub size: i32,
    /// Mount options (`defaults`, `ro`, `noexec`, ...).
    pub mount_options: Option<Vec<String>>,
}

/// A dependency of one container on another container's state.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    /// Name of another container of the same task.
    pub container_name: String,
    /// START, COMPLETE, SUCCESS or HEALTHY (the target needs a health check).
    pub condition: ContainerCondition,
}

/// An /etc/hosts entry.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    /// Hostname to map.
    pub hostname: String,
    /// IP address it maps to.
    pub ip_address: String,
}

/// A ulimit for the container.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    /// The ulimit: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss,
    /// rtprio, rttime, sigpending, stack.
    pub name: UlimitName,
    /// Soft limit.
    pub soft_limit: i32,
    /// Hard limit.
    pub hard_limit: i32,
}

/// A container health check.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `["CMD", exe, args...]` or `["CMD-SHELL", "command"]`.
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
    /// Seconds between checks (5-300, default 30).
    #[schemars(range(min = 5, max = 300))]
    pub interval: Option<i32>,
    /// Seconds a check may take (2-60, default 5).
    #[schemars(range(min = 2, max = 60))]
    pub timeout: Option<i32>,
    /// Failures before the container is unhealthy (1-10, default 3).
    #[schemars(range(min = 1, max = 10))]
    pub retries: Option<i32>,
    /// Grace period in seconds before failures count (0-300).
    #[schemars(range(min = 0, max = 300))]
    pub start_period: Option<i32>,
}

/// A namespaced kernel parameter.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    /// The sysctl name, e.g. `net.core.somaxconn`.
    pub namespace: Option<String>,
    /// Its value.
    pub value: Option<String>,
}

/// A special resource (GPU, accelerator, Neuron device) the container needs.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirement {
    /// Number of GPUs, or the accelerator device name.
    pub value: String,
    /// GPU, InferenceAccelerator or NeuronDevice.
    pub r#type: ResourceType,
}

/// FireLens log router settings.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirelensConfiguration {
    /// The router: fluentd or fluentbit.
    pub r#type: FirelensConfigurationType,
    /// Router options (`enable-ecs-log-metadata`, `config-file-type`, `config-file-value`).
    pub options: Option<BTreeMap<String, String>>,
}

/// A data volume of the task.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume name, referenced by `mountPoints[].sourceVolume`.
    pub name: Option<String>,
    /// A bind mount from the host (or an empty task-scoped volume when `sourcePath` is omitted).
    pub host: Option<HostVolumeProperties>,
    /// A Docker volume (EC2 only).
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An Amazon EFS file system.
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// An Amazon FSx for Windows File Server file system.
    pub fsx_windows_file_server_volume_configuration:
        Option<FSxWindowsFileServerVolumeConfiguration>,
    /// The volume is configured when the task runs (EBS volumes attached by the service).
    pub configured_at_launch: Option<bool>,
}

/// A host bind mount.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    /// Path on the host.
    pub source_path: Option<String>,
}

/// A Docker volume.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    /// task (removed with the task) or shared (kept).
    pub scope: Option<Scope>,
    /// Create the volume if it does not exist (shared scope only).
    pub autoprovision: Option<bool>,
    /// Volume driver.
    pub driver: Option<String>,
    /// Driver options.
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Volume labels.
    pub labels: Option<BTreeMap<String, String>>,
}

/// An Amazon EFS volume.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    /// EFS file system id (`fs-...`).
    pub file_system_id: String,
    /// Directory of the file system to mount as root.
    pub root_directory: Option<String>,
    /// Encrypt traffic in transit (ENABLED, DISABLED); required with IAM authorization.
    pub transit_encryption: Option<EfsTransitEncryption>,
    /// Port for encrypted traffic.
    pub transit_encryption_port: Option<i32>,
    /// Access point and IAM authorization.
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

/// EFS authorization settings.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    /// EFS access point id (`fsap-...`).
    pub access_point_id: Option<String>,
    /// Use the task role for EFS IAM authorization (ENABLED, DISABLED).
    pub iam: Option<EfsAuthorizationConfigIam>,
}

/// An Amazon FSx for Windows File Server volume.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FSxWindowsFileServerVolumeConfiguration {
    /// FSx file system id.
    pub file_system_id: String,
    /// Directory of the file system to mount as root.
    pub root_directory: String,
    /// Credentials for the file system.
    pub authorization_config: Option<FSxWindowsFileServerAuthorizationConfig>,
}

/// Credentials for an FSx for Windows File Server volume.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FSxWindowsFileServerAuthorizationConfig {
    /// Secrets Manager or SSM ARN holding the credentials.
    pub credentials_parameter: String,
    /// Fully qualified domain name of the Active Directory.
    pub domain: String,
}

/// A task placement constraint of the task definition.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionPlacementConstraint {
    /// The constraint type: memberOf.
    pub r#type: Option<TaskDefinitionPlacementConstraintType>,
    /// A cluster query language expression.
    pub expression: Option<String>,
}

/// App Mesh proxy configuration.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfiguration {
    /// The proxy type: APPMESH.
    pub r#type: Option<ProxyConfigurationType>,
    /// Name of the container that is the proxy.
    pub container_name: String,
    /// Proxy settings (IgnoredUID, ProxyIngressPort, AppPorts, ...).
    pub properties: Option<Vec<KeyValuePair>>,
}

/// An Elastic Inference accelerator.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InferenceAccelerator {
    /// Name referenced by a container's resourceRequirements.
    pub device_name: String,
    /// Accelerator type, e.g. `eia2.medium`.
    pub device_type: String,
}

/// Fargate ephemeral storage.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EphemeralStorage {
    /// Total ephemeral storage in GiB (21-200).
    #[serde(rename = "sizeInGiB")]
    #[schemars(range(min = 21, max = 200))]
    pub size_in_gib: i32,
}

/// Operating system and CPU architecture the task runs on.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// X86_64 or ARM64.
    pub cpu_architecture: Option<CpuArchitecture>,
    /// LINUX or a WINDOWS_SERVER_* family.
    pub operating_system_family: Option<OsFamily>,
}

aws_enum! {
    /// Docker networking mode of the task.
    NetworkMode { Awsvpc = "awsvpc", Bridge = "bridge", Host = "host", None = "none" }
}
aws_enum! {
    /// A launch type a task definition can be validated against.
    Compatibility { Ec2 = "EC2", Fargate = "FARGATE", External = "EXTERNAL", ManagedInstances = "MANAGED_INSTANCES" }
}
aws_enum! {
    /// Process namespace of the task.
    PidMode { Host = "host", Task = "task" }
}
aws_enum! {
    /// IPC namespace of the task.
    IpcMode { Host = "host", Task = "task", None = "none" }
}
aws_enum! {
    /// Transport protocol of a port mapping.
    TransportProtocol { Tcp = "tcp", Udp = "udp" }
}
aws_enum! {
    /// Application protocol of a port mapping (Service Connect).
    ApplicationProtocol { Http = "http", Http2 = "http2", Grpc = "grpc" }
}
aws_enum! {
    /// Whether ECS pins the image tag to a digest at deployment.
    VersionConsistency { Enabled = "enabled", Disabled = "disabled" }
}
aws_enum! {
    /// The state a dependency container must reach.
    ContainerCondition { Start = "START", Complete = "COMPLETE", Success = "SUCCESS", Healthy = "HEALTHY" }
}
aws_enum! {
    /// A ulimit name.
    UlimitName {
        Core = "core", Cpu = "cpu", Data = "data", Fsize = "fsize", Locks = "locks", Memlock = "memlock",
        Msgqueue = "msgqueue", Nice = "nice", Nofile = "nofile", Nproc = "nproc", Rss = "rss",
        Rtprio = "rtprio", Rttime = "rttime", Sigpending = "sigpending", Stack = "stack",
    }
}
aws_enum! {
    /// Type of an environment file.
    EnvironmentFileType { S3 = "s3" }
}
aws_enum! {
    /// Type of a container resource requirement.
    ResourceType { Gpu = "GPU", InferenceAccelerator = "InferenceAccelerator", NeuronDevice = "NeuronDevice" }
}
aws_enum! {
    /// FireLens router type.
    FirelensConfigurationType { Fluentd = "fluentd", Fluentbit = "fluentbit" }
}
aws_enum! {
    /// Lifetime of a Docker volume.
    Scope { Task = "task", Shared = "shared" }
}
aws_enum! {
    /// EFS transit encryption setting.
    EfsTransitEncryption { Enabled = "ENABLED", Disabled = "DISABLED" }
}
aws_enum! {
    /// EFS IAM authorization setting.
    EfsAuthorizationConfigIam { Enabled = "ENABLED", Disabled = "DISABLED" }
}
aws_enum! {
    /// Task definition placement constraint type.
    TaskDefinitionPlacementConstraintType { MemberOf = "memberOf" }
}
aws_enum! {
    /// Proxy configuration type.
    ProxyConfigurationType { Appmesh = "APPMESH" }
}
aws_enum! {
    /// CPU architecture.
    CpuArchitecture { X86_64 = "X86_64", Arm64 = "ARM64" }
}
aws_enum! {
    /// Operating system family.
    OsFamily {
        Linux = "LINUX",
        WindowsServer2016Full = "WINDOWS_SERVER_2016_FULL",
        WindowsServer2019Full = "WINDOWS_SERVER_2019_FULL",
        WindowsServer2019Core = "WINDOWS_SERVER_2019_CORE",
        WindowsServer2022Full = "WINDOWS_SERVER_2022_FULL",
        WindowsServer2022Core = "WINDOWS_SERVER_2022_CORE",
        WindowsServer2025Full = "WINDOWS_SERVER_2025_FULL",
        WindowsServer2025Core = "WINDOWS_SERVER_2025_CORE",
        WindowsServer2004Core = "WINDOWS_SERVER_2004_CORE",
        WindowsServer20H2Core = "WINDOWS_SERVER_20H2_CORE",
    }
}
aws_enum! {
    /// cgroup permission for a device.
    DeviceCgroupPermission { Read = "read", Write = "write", Mknod = "mknod" }
}

/// What the operator reports about the task definition family.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskDefinitionStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// ARN of the current revision.
    pub task_definition_arn: Option<String>,
    /// The family registered.
    pub family: Option<String>,
    /// Revision number of the current revision.
    pub revision: Option<i32>,
    /// Hash of the normalised content of the current revision (`v1:<hex>`; tags are not
    /// content); equal content is never registered twice.
    pub content_hash: Option<String>,
    /// Hash of the user tags last applied to the current revision; a change of tags alone is
    /// applied in place (TagResource / UntagResource), never by a new revision.
    pub tags_hash: Option<String>,
    /// Revisions this object registered and that are still registered, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_revisions: Vec<RegisteredRevision>,
}

/// A revision this object registered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredRevision {
    /// Task definition ARN of the revision.
    pub arn: String,
    /// Revision number.
    pub revision: i32,
    /// Content hash of the revision.
    pub content_hash: String,
}
