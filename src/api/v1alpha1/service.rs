//! `EcsService`: an ECS service the operator creates, updates, rolls out and deletes.
//!
//! Member names follow the ECS `CreateService` API; the task definition is either a reference to an
//! `EcsTaskDefinition` in the same namespace (the service follows its revisions) or a literal
//! family[:revision] / ARN managed elsewhere.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{
    DeletionPolicy, LogConfiguration, ReconcileStatus, Tag, aws_enum, de_opt_string_or_int,
    int_or_string_schema,
};

/// Desired state of an ECS service.
#[skip_serializing_none]
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsService",
    namespaced,
    status = "EcsServiceStatus",
    shortname = "ecssvc",
    category = "ecs",
    doc = "An Amazon ECS service. Ready when its newest deployment has completed its rollout.",
    scale(
        spec_replicas_path = ".spec.desiredCount",
        status_replicas_path = ".status.runningCount",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster"),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningCount"
    ),
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
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
#[x_kube(validation = Rule::new("(has(self.deploymentController) && self.deploymentController.type == 'EXTERNAL') || has(self.taskDefinitionRef) != has(self.taskDefinition)").message("set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) or taskDefinition (family[:revision] or ARN)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("!(has(self.deploymentController) && self.deploymentController.type == 'EXTERNAL') || !(has(self.taskDefinitionRef) || has(self.taskDefinition) || has(self.launchType))").message("an EXTERNAL service takes its task definitions and launch type from its task sets: remove taskDefinition, taskDefinitionRef and launchType").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!(has(self.launchType) && has(self.capacityProviderStrategy))").message("launchType and capacityProviderStrategy are mutually exclusive; remove one").field_path(".capacityProviderStrategy").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.desiredCount)").message("DAEMON services run one task per instance; remove desiredCount").field_path(".desiredCount").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.deploymentConfiguration) || !has(self.deploymentConfiguration.strategy) || self.deploymentConfiguration.strategy == 'ROLLING' || !has(self.loadBalancers) || self.loadBalancers.all(lb, has(lb.targetGroupArn) && has(lb.advancedConfiguration) && has(lb.advancedConfiguration.alternateTargetGroupArn) && has(lb.advancedConfiguration.productionListenerRule) && has(lb.advancedConfiguration.roleArn))").message("BLUE_GREEN, LINEAR and CANARY deployments shift traffic between two target groups: each loadBalancers[] entry needs targetGroupArn and advancedConfiguration with alternateTargetGroupArn, productionListenerRule and roleArn (testListenerRule is optional)").field_path(".loadBalancers").reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("has(self.cluster) != has(self.clusterRef)").message("set exactly one of cluster (a cluster name or ARN) or clusterRef (an EcsCluster in this namespace)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("has(self.cluster) == has(oldSelf.cluster)").message("cluster and clusterRef cannot be swapped after creation (moving a service means recreating it)").field_path(".cluster"))]
#[x_kube(validation = Rule::new("has(self.serviceName) == has(oldSelf.serviceName)").message("serviceName cannot be added or removed after creation (it names the ECS service)").field_path(".serviceName"))]
#[serde(rename_all = "camelCase")]
pub struct EcsServiceSpec {
    /// Cluster short name or ARN. Immutable: moving a service means deleting and recreating it.
    #[schemars(length(min = 1))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("cluster is immutable"))]
    pub cluster: Option<String>,
    /// An `EcsCluster` in this namespace, instead of `cluster`: the service waits until it is
    /// Ready. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: Option<LocalObjectReference>,
    /// ECS service name (letters, digits, hyphens, underscores; up to 255). Defaults to
    /// `metadata.name`. Immutable.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceName is immutable"))]
    pub service_name: Option<String>,
    /// An `EcsTaskDefinition` in this namespace; the service rolls to each new revision it registers.
    pub task_definition_ref: Option<LocalObjectReference>,
    /// A task definition managed elsewhere: `family` (its latest ACTIVE revision),
    /// `family:revision` or a task definition ARN with its revision.
    #[schemars(length(min = 1))]
    #[x_kube(validation = Rule::new("!self.startsWith('arn:') || self.matches(':task-definition/[A-Za-z0-9_-]+:[1-9][0-9]*$')").message("a task definition ARN must end with :<revision> (e.g. ...:task-definition/web:3); to follow the family's latest ACTIVE revision give the family name alone").reason(Reason::FieldValueInvalid))]
    pub task_definition: Option<String>,
    /// Number of tasks to run. When omitted, the operator sets it only at creation (to 1, or to
    /// the scaling policy's minimum) and never overrides what an autoscaler chose.
    #[schemars(range(min = 0))]
    pub desired_count: Option<i32>,
    /// Every other CreateService member (launch type, networking, load balancers, deployment,
    /// placement, tags, Service Connect, ...), spelled as the ECS API spells it.
    #[serde(flatten)]
    pub settings: ServiceSettings,
    /// What to do with the ECS service when this object is deleted: `Delete` (delete it, tasks
    /// stop) or `Retain` (leave it running). Unset: the namespace's
    /// `ecs.operator.dev/deletion-policy` annotation, else the operator's
    /// `--default-deletion-policy` (Delete unless the platform team chose otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Change this value (a counter, a timestamp, any token) to start a new deployment of the same
    /// task definition, for example to pull a moved `:latest` tag. The operator remembers the
    /// value it acted on, so each change deploys once.
    #[serde(default, deserialize_with = "de_opt_string_or_int")]
    #[schemars(schema_with = "int_or_string_schema")]
    pub force_new_deployment: Option<String>,
    /// What to do when a field ECS cannot change in place changes (launchType to another launch
    /// type, role, deploymentController): `false` (the default) stops with Stalled naming the
    /// field; `true` deletes the ECS service, waits until it is gone and creates it again (its
    /// tasks stop meanwhile).
    pub recreate_on_immutable_change: Option<bool>,
    /// Seconds a rollout without a deployment circuit breaker may stay in progress before the
    /// service is reported Stalled (default 600). With a circuit breaker, ECS decides.
    #[schemars(range(min = 1))]
    pub progress_deadline_seconds: Option<i32>,
    /// A task run to completion before the service is created and before each rollout of a new
    /// task definition (a database migration, say): CreateService or UpdateService is sent only
    /// once it exited 0. One run per revision rolled out, as an EcsTask this object owns
    /// (`kubectl get ecstask` shows the history).
    pub pre_deploy: Option<PreDeployTask>,
}

/// The task run before a rollout, in the service's cluster, launch type or capacity provider
/// strategy and platform version.
#[skip_serializing_none]
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("!(has(self.taskDefinitionRef) && has(self.taskDefinition))").message("set at most one of taskDefinitionRef or taskDefinition (neither: the revision being rolled out)").reason(Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct PreDeployTask {
    /// An `EcsTaskDefinition` in this namespace. Neither this nor `taskDefinition`: the revision
    /// being rolled out (its containers, with `overrides` to run the migration command).
    pub task_definition_ref: Option<LocalObjectReference>,
    /// A task definition managed elsewhere: `family`, `family:revision` or an ARN.
    #[schemars(length(min = 1))]
    pub task_definition: Option<String>,
    /// Changes to the task definition for this run: the command, environment, sizes, roles.
    pub overrides: Option<super::task::TaskOverride>,
    /// Networking of the run; default: the service's `networkConfiguration`.
    pub network_configuration: Option<NetworkConfiguration>,
}

/// The CreateService members that pass to ECS as written (everything but the identity, task
/// definition and desired count, which the operator resolves).
#[skip_serializing_none]
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    /// EC2, FARGATE or EXTERNAL; excludes `capacityProviderStrategy`. Managed Instances run
    /// through a capacity provider strategy, never `launchType: MANAGED_INSTANCES`.
    #[x_kube(validation = Rule::new("self != 'MANAGED_INSTANCES'").message("services run on Managed Instances through capacityProviderStrategy (a Managed Instances capacity provider), not launchType").reason(Reason::FieldValueInvalid))]
    pub launch_type: Option<LaunchType>,
    /// Capacity providers and their weights (for example FARGATE and FARGATE_SPOT).
    #[schemars(length(max = 20))]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Fargate platform version (default LATEST).
    pub platform_version: Option<String>,
    /// REPLICA (default) or DAEMON. Immutable in ECS.
    #[x_kube(validation = Rule::new("self == oldSelf").message("schedulingStrategy is immutable"))]
    pub scheduling_strategy: Option<SchedulingStrategy>,
    /// Rolling deployment parameters: task percentages, circuit breaker, CloudWatch alarms.
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// Deployment controller: ECS (default), CODE_DEPLOY or EXTERNAL.
    pub deployment_controller: Option<DeploymentController>,
    /// VPC networking for awsvpc tasks (required on Fargate).
    pub network_configuration: Option<NetworkConfiguration>,
    /// Load balancer target groups the service registers tasks with (at most 5).
    #[schemars(length(max = 5))]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// The Cloud Map registry for service discovery ("Each service may be associated with one
    /// service registry").
    #[schemars(length(max = 1))]
    pub service_registries: Option<Vec<ServiceRegistry>>,
    /// Seconds to ignore failing load balancer health checks after a task starts.
    #[schemars(range(min = 0, max = 2147483647))]
    pub health_check_grace_period_seconds: Option<i32>,
    /// Placement constraints (EC2 only; at most 10).
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// Placement strategies (EC2 only; at most 5), applied in order.
    #[schemars(length(max = 5))]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// Allow `aws ecs execute-command` into the service's tasks.
    pub enable_execute_command: Option<bool>,
    /// Let ECS add its managed tags to tasks.
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Copy tags to tasks from the SERVICE or the TASK_DEFINITION (or NONE).
    pub propagate_tags: Option<PropagateTags>,
    /// Tags on the service: at most 47, since ECS allows 50 per resource and the operator adds up
    /// to 3 of its own (`ecs.operator.dev/*`, which a spec may not use).
    #[schemars(length(max = 47))]
    pub tags: Option<Vec<Tag>>,
    /// Service Connect: service-to-service networking through an ECS-managed proxy.
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    /// Rebalance tasks across Availability Zones (ENABLED, DISABLED).
    pub availability_zone_rebalancing: Option<AvailabilityZoneRebalancing>,
    /// IAM role ECS uses to call a Classic or Application Load Balancer for services whose task
    /// definition does not use awsvpc (otherwise the service-linked role is used). Immutable.
    pub role: Option<String>,
    /// Volumes configured at launch (EBS): one per task definition volume with
    /// `configuredAtLaunch: true`. REPLICA services only.
    pub volume_configurations: Option<Vec<ServiceVolumeConfiguration>>,
    /// VPC Lattice target groups the service's tasks register with.
    pub vpc_lattice_configurations: Option<Vec<VpcLatticeConfiguration>>,
}

/// A volume ECS creates for each task at launch.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceVolumeConfiguration {
    /// The task definition volume (with `configuredAtLaunch: true`) this configures.
    pub name: String,
    /// The EBS volume to create and attach.
    #[serde(rename = "managedEBSVolume")]
    pub managed_ebs_volume: Option<ServiceManagedEbsVolumeConfiguration>,
}

/// An EBS volume ECS creates and attaches to each task.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceManagedEbsVolumeConfiguration {
    /// Encrypt the volume.
    pub encrypted: Option<bool>,
    /// KMS key for encryption.
    pub kms_key_id: Option<String>,
    /// gp2, gp3, io1, io2, st1, sc1 or standard (default gp3).
    pub volume_type: Option<String>,
    /// Size in GiB (required unless snapshotId is given).
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: Option<i32>,
    /// Snapshot to create the volume from.
    pub snapshot_id: Option<String>,
    /// Initialization rate in MiB/s when created from a snapshot.
    pub volume_initialization_rate: Option<i32>,
    /// Provisioned IOPS (gp3, io1, io2).
    pub iops: Option<i32>,
    /// Throughput in MiB/s (gp3).
    pub throughput: Option<i32>,
    /// Tags applied to the volumes.
    pub tag_specifications: Option<Vec<EbsTagSpecification>>,
    /// Infrastructure role ECS uses to manage the volume (required).
    pub role_arn: String,
    /// ext3, ext4, xfs or ntfs (default xfs).
    pub filesystem_type: Option<TaskFilesystemType>,
}

/// Tags for the EBS volumes ECS creates.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EbsTagSpecification {
    /// Always `volume`.
    pub resource_type: EbsResourceType,
    /// The tags.
    pub tags: Option<Vec<Tag>>,
    /// Copy tags from the SERVICE or the TASK_DEFINITION.
    pub propagate_tags: Option<PropagateTags>,
}

/// A VPC Lattice target group of the service.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcLatticeConfiguration {
    /// Infrastructure role ECS uses to register targets.
    pub role_arn: String,
    /// The VPC Lattice target group.
    pub target_group_arn: String,
    /// Name of the port mapping (in the task definition) that receives traffic.
    pub port_name: String,
    /// The second target group and the listener rules of traffic-shifting deployments.
    pub advanced_configuration: Option<VpcLatticeAdvancedConfiguration>,
}

/// What a traffic-shifting deployment through VPC Lattice needs.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcLatticeAdvancedConfiguration {
    /// The target group the new revision's tasks register with.
    pub alternate_target_group_arn: Option<String>,
    /// The listener rule that carries production traffic.
    pub production_listener_rule: Option<String>,
    /// The listener rule that carries test traffic to the new revision.
    pub test_listener_rule: Option<String>,
}

/// A reference to another object in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// `metadata.name` of the referenced object.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// One capacity provider of a strategy.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// Capacity provider name (FARGATE, FARGATE_SPOT or an Auto Scaling group provider).
    #[schemars(length(min = 1))]
    pub capacity_provider: String,
    /// Relative share of tasks placed on this provider (0-1000).
    #[schemars(range(min = 0, max = 1000))]
    pub weight: Option<i32>,
    /// Minimum number of tasks on this provider (0-100000); only one provider may set it.
    #[schemars(range(min = 0, max = 100000))]
    pub base: Option<i32>,
}

/// Rolling deployment parameters.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    /// Upper limit of running tasks during a deployment, in percent of desiredCount (default 200).
    #[schemars(range(min = 0))]
    pub maximum_percent: Option<i32>,
    /// Lower limit of healthy tasks during a deployment, in percent of desiredCount (default 100).
    #[schemars(range(min = 0, max = 100))]
    pub minimum_healthy_percent: Option<i32>,
    /// Stop (and optionally roll back) a deployment whose tasks keep failing.
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// CloudWatch alarms that fail (and optionally roll back) a deployment.
    pub alarms: Option<DeploymentAlarms>,
    /// ROLLING (default), BLUE_GREEN, LINEAR or CANARY.
    pub strategy: Option<DeploymentStrategy>,
    /// Minutes both revisions run after production traffic shifted (required for BLUE_GREEN).
    #[schemars(range(min = 0, max = 1440))]
    pub bake_time_in_minutes: Option<i32>,
    /// Hooks (Lambda functions, or pauses) at stages of a deployment.
    pub lifecycle_hooks: Option<Vec<DeploymentLifecycleHook>>,
    /// Traffic steps of a LINEAR deployment.
    pub linear_configuration: Option<LinearConfiguration>,
    /// Traffic split of a CANARY deployment.
    pub canary_configuration: Option<CanaryConfiguration>,
    /// ROLLING only: call a deployment successful once enough new tasks are healthy.
    pub early_success_criteria: Option<DeploymentEarlySuccessCriteria>,
}

/// When ECS may call a deployment successful early.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEarlySuccessCriteria {
    /// Turn early success on (then both other members are required).
    pub enable: bool,
    /// Percent of desiredCount that must be healthy in the new revision (0-100, at least
    /// minimumHealthyPercent).
    #[schemars(range(min = 0, max = 100))]
    pub healthy_percent: Option<i32>,
    /// BLOCKING (old tasks removed before success) or DEFERRED (removed after).
    pub source_service_revision_cleanup: Option<ServiceRevisionCleanup>,
}

/// A hook run at stages of a deployment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentLifecycleHook {
    /// AWS_LAMBDA (default) or PAUSE.
    pub target_type: Option<DeploymentLifecycleHookTargetType>,
    /// The Lambda function (AWS_LAMBDA hooks).
    pub hook_target_arn: Option<String>,
    /// Role ECS uses to invoke the hook.
    pub role_arn: Option<String>,
    /// Stages at which the hook runs.
    pub lifecycle_stages: Option<Vec<DeploymentLifecycleHookStage>>,
    /// Free-form JSON ECS passes to the hook's Lambda function with each invocation.
    #[serde(default)]
    #[schemars(schema_with = "super::common::any_json_schema")]
    pub hook_details: Option<serde_json::Value>,
    /// How long to wait for the hook and what to do then.
    pub timeout_configuration: Option<DeploymentLifecycleHookTimeoutConfiguration>,
}

/// The timeout of a lifecycle hook.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentLifecycleHookTimeoutConfiguration {
    /// Minutes to wait (default 1440).
    pub timeout_in_minutes: Option<i32>,
    /// CONTINUE or ROLLBACK (default) when the time is up.
    pub action: Option<DeploymentLifecycleHookAction>,
}

/// Steps of a LINEAR deployment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearConfiguration {
    /// Percent of traffic shifted per step (3.0 to 100.0, default 10.0).
    pub step_percent: Option<f64>,
    /// Minutes between steps (default 6).
    pub step_bake_time_in_minutes: Option<i32>,
}

/// The split of a CANARY deployment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfiguration {
    /// Percent of traffic sent to the canary first (0.1 to 100.0, default 5.0).
    pub canary_percent: Option<f64>,
    /// Minutes before the rest of the traffic shifts (default 10).
    pub canary_bake_time_in_minutes: Option<i32>,
}

/// The deployment circuit breaker.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    /// Turn the circuit breaker on.
    pub enable: bool,
    /// Roll back to the last completed deployment when the breaker trips.
    pub rollback: bool,
    /// Start counting failed tasks again once a task of the deployment is healthy.
    pub reset_on_healthy_task: Option<bool>,
    /// When the breaker trips, instead of ECS's default (half the desired count, 3 to 200).
    pub threshold_configuration: Option<ThresholdConfiguration>,
}

/// The failed-task threshold of the circuit breaker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdConfiguration {
    /// COUNT (failed tasks), BOUNDED_PERCENT or UNBOUNDED_PERCENT (of the desired count).
    pub r#type: ThresholdType,
    /// The count or percent.
    #[schemars(range(min = 0))]
    pub value: i32,
}

/// CloudWatch alarms watched during a deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    /// Names of the alarms.
    pub alarm_names: Vec<String>,
    /// Watch the alarms.
    pub enable: bool,
    /// Roll back when an alarm fires.
    pub rollback: bool,
}

/// The deployment controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentController {
    /// ECS (rolling update), CODE_DEPLOY (blue/green) or EXTERNAL.
    pub r#type: DeploymentControllerType,
}

/// Networking of awsvpc tasks.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    /// Subnets, security groups and public IP assignment.
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

/// Subnets and security groups of awsvpc tasks.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    /// Subnet ids (1-16, same VPC).
    #[schemars(length(min = 1, max = 16))]
    pub subnets: Vec<String>,
    /// Security group ids (at most 5, same VPC).
    #[schemars(length(max = 5))]
    pub security_groups: Option<Vec<String>>,
    /// ENABLED gives each task a public IP (Fargate in public subnets); default DISABLED.
    pub assign_public_ip: Option<AssignPublicIp>,
}

/// A load balancer target group (or Classic Load Balancer) of the service.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// ARN of an ALB/NLB target group.
    pub target_group_arn: Option<String>,
    /// Name of a Classic Load Balancer.
    pub load_balancer_name: Option<String>,
    /// Container that receives traffic; must exist in the task definition.
    pub container_name: Option<String>,
    /// Port of that container.
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
    /// The second target group and the listener rules ECS shifts traffic between in BLUE_GREEN,
    /// LINEAR and CANARY deployments (required by them for a target group).
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

/// What a traffic-shifting deployment behind an ALB or NLB needs.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedConfiguration {
    /// The target group the new revision's tasks register with.
    pub alternate_target_group_arn: Option<String>,
    /// The ALB listener rule (or NLB listener) that carries production traffic.
    pub production_listener_rule: Option<String>,
    /// The ALB listener rule (or NLB listener) that carries test traffic to the new revision.
    pub test_listener_rule: Option<String>,
    /// Role ECS assumes to change the listener rules and target groups.
    pub role_arn: Option<String>,
}

/// A Cloud Map service registry.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    /// ARN of the Cloud Map service.
    pub registry_arn: Option<String>,
    /// Port for SRV records (awsvpc).
    pub port: Option<i32>,
    /// Container for SRV records (bridge/host).
    pub container_name: Option<String>,
    /// Container port for SRV records (bridge/host).
    pub container_port: Option<i32>,
}

/// A task placement constraint.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    /// distinctInstance or memberOf.
    pub r#type: Option<PlacementConstraintType>,
    /// Cluster query language expression (memberOf only).
    pub expression: Option<String>,
}

/// A task placement strategy.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategy {
    /// random, spread or binpack.
    pub r#type: Option<PlacementStrategyType>,
    /// spread: instanceId, host or an attribute; binpack: cpu or memory; random: none.
    pub field: Option<String>,
}

/// Service Connect settings.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    /// Turn Service Connect on for this service.
    pub enabled: bool,
    /// Cloud Map namespace name or ARN.
    pub namespace: Option<String>,
    /// Endpoints this service publishes (omit for client-only services).
    pub services: Option<Vec<ServiceConnectService>>,
    /// Log configuration of the Service Connect proxy.
    pub log_configuration: Option<LogConfiguration>,
}

/// An endpoint published through Service Connect.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    /// Name of a port mapping in the task definition.
    pub port_name: String,
    /// Cloud Map service name (default: portName).
    pub discovery_name: Option<String>,
    /// DNS names and ports clients use.
    pub client_aliases: Option<Vec<ServiceConnectClientAlias>>,
    /// Port the proxy listens on.
    pub ingress_port_override: Option<i32>,
    /// Idle and per-request timeouts.
    pub timeout: Option<TimeoutConfiguration>,
    /// TLS between Service Connect proxies.
    pub tls: Option<ServiceConnectTlsConfiguration>,
}

/// A client alias of a Service Connect endpoint.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectClientAlias {
    /// Port clients connect to.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// DNS name clients use.
    pub dns_name: Option<String>,
    /// Requests that go to the new revision during a traffic-shifting deployment's test stage.
    pub test_traffic_rules: Option<ServiceConnectTestTrafficRules>,
}

/// Which Service Connect requests are test traffic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTestTrafficRules {
    /// Requests carrying this header.
    pub header: ServiceConnectTestTrafficHeaderRules,
}

/// A header that marks test traffic.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTestTrafficHeaderRules {
    /// The header's name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The value it must have (any value when omitted).
    pub value: Option<ServiceConnectTestTrafficHeaderMatchRules>,
}

/// How a test traffic header's value matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTestTrafficHeaderMatchRules {
    /// The exact value.
    pub exact: String,
}

/// Service Connect timeouts.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutConfiguration {
    /// Idle connection timeout in seconds.
    pub idle_timeout_seconds: Option<i32>,
    /// Per-request timeout in seconds (HTTP/gRPC).
    pub per_request_timeout_seconds: Option<i32>,
}

/// TLS for Service Connect.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTlsConfiguration {
    /// The AWS Private CA issuing the certificates.
    pub issuer_certificate_authority: ServiceConnectTlsCertificateAuthority,
    /// KMS key for the private key.
    pub kms_key: Option<String>,
    /// IAM role ECS uses for the certificates.
    pub role_arn: Option<String>,
}

/// The Private CA of Service Connect TLS.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTlsCertificateAuthority {
    /// ARN of the AWS Private CA.
    pub aws_pca_authority_arn: Option<String>,
}

aws_enum! {
    /// Launch type of the service's tasks.
    LaunchType { Ec2 = "EC2", Fargate = "FARGATE", External = "EXTERNAL", ManagedInstances = "MANAGED_INSTANCES" }
}
aws_enum! {
    /// Scheduling strategy of the service.
    SchedulingStrategy { Replica = "REPLICA", Daemon = "DAEMON" }
}
aws_enum! {
    /// Deployment controller type.
    DeploymentControllerType { Ecs = "ECS", CodeDeploy = "CODE_DEPLOY", External = "EXTERNAL" }
}
aws_enum! {
    /// Public IP assignment of awsvpc tasks.
    AssignPublicIp { Enabled = "ENABLED", Disabled = "DISABLED" }
}
aws_enum! {
    /// Placement constraint type.
    PlacementConstraintType { DistinctInstance = "distinctInstance", MemberOf = "memberOf" }
}
aws_enum! {
    /// Placement strategy type.
    PlacementStrategyType { Random = "random", Spread = "spread", Binpack = "binpack" }
}
aws_enum! {
    /// Where tasks copy tags from.
    PropagateTags { TaskDefinition = "TASK_DEFINITION", Service = "SERVICE", None = "NONE" }
}
aws_enum! {
    /// Availability Zone rebalancing setting.
    AvailabilityZoneRebalancing { Enabled = "ENABLED", Disabled = "DISABLED" }
}
aws_enum! {
    /// How a deployment replaces tasks and shifts traffic.
    DeploymentStrategy { Rolling = "ROLLING", BlueGreen = "BLUE_GREEN", Linear = "LINEAR", Canary = "CANARY" }
}
aws_enum! {
    /// What a lifecycle hook runs.
    DeploymentLifecycleHookTargetType { AwsLambda = "AWS_LAMBDA", Pause = "PAUSE" }
}
aws_enum! {
    /// Stage of a deployment at which a hook runs.
    DeploymentLifecycleHookStage {
        ReconcileService = "RECONCILE_SERVICE",
        PreScaleUp = "PRE_SCALE_UP",
        PostScaleUp = "POST_SCALE_UP",
        TestTrafficShift = "TEST_TRAFFIC_SHIFT",
        PostTestTrafficShift = "POST_TEST_TRAFFIC_SHIFT",
        PreProductionTrafficShift = "PRE_PRODUCTION_TRAFFIC_SHIFT",
        ProductionTrafficShift = "PRODUCTION_TRAFFIC_SHIFT",
        PostProductionTrafficShift = "POST_PRODUCTION_TRAFFIC_SHIFT",
    }
}
aws_enum! {
    /// What happens when a lifecycle hook times out.
    DeploymentLifecycleHookAction { Continue = "CONTINUE", Rollback = "ROLLBACK" }
}
aws_enum! {
    /// How a circuit-breaker threshold counts.
    ThresholdType { Count = "COUNT", BoundedPercent = "BOUNDED_PERCENT", UnboundedPercent = "UNBOUNDED_PERCENT" }
}
aws_enum! {
    /// What happens to the old revision's tasks on early success.
    ServiceRevisionCleanup { Blocking = "BLOCKING", Deferred = "DEFERRED" }
}
aws_enum! {
    /// File system of an EBS volume configured at launch.
    TaskFilesystemType { Ext3 = "ext3", Ext4 = "ext4", Xfs = "xfs", Ntfs = "ntfs" }
}
aws_enum! {
    /// Resource type of EBS tags.
    EbsResourceType { Volume = "volume" }
}

/// A task set of an EXTERNAL service.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskSetStatus {
    /// Task set id.
    pub id: String,
    /// PRIMARY, ACTIVE or DRAINING.
    pub status: String,
    /// `family:revision` it runs.
    pub task_definition: Option<String>,
    /// The deployer's id for it.
    pub external_id: Option<String>,
    /// Tasks it should run (the service's desired count times its scale).
    pub computed_desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Pending tasks.
    pub pending_count: i32,
    /// STEADY_STATE or STABILIZING.
    pub stability_status: Option<String>,
}

/// A service deployment with a lifecycle (BLUE_GREEN, LINEAR, CANARY).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentServiceDeployment {
    /// Its id: what `ecs.operator.dev/continue-deployment` and
    /// `ecs.operator.dev/rollback-deployment` name.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ...
    pub status: String,
    /// Why, as ECS says it.
    pub status_reason: Option<String>,
    /// The lifecycle stage (SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
    /// ...).
    pub lifecycle_stage: Option<String>,
    /// Percent of production traffic sent to the new revision.
    pub production_traffic_percent: Option<f64>,
    /// Percent of test traffic sent to the new revision.
    pub test_traffic_percent: Option<f64>,
    /// The lifecycle hook runs of the deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<LifecycleHookRun>,
}

/// One lifecycle hook run of a service deployment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHookRun {
    /// The hook run's id.
    pub id: String,
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    /// The Lambda function of an AWS_LAMBDA hook.
    pub target_arn: Option<String>,
    /// IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT or AWAITING_ACTION (a PAUSE hook waiting for
    /// `ecs.operator.dev/continue-deployment`).
    pub status: String,
    /// When a waiting hook times out (seconds since the epoch).
    pub expires_at: Option<i64>,
}

/// What the operator reports about the ECS service.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsServiceStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// ARN of the ECS service.
    pub service_arn: Option<String>,
    /// ARN of its cluster.
    pub cluster_arn: Option<String>,
    /// ARN of the task definition of the primary deployment.
    pub task_definition_arn: Option<String>,
    /// `family:revision` of the primary deployment, for `kubectl get`.
    pub task_definition: Option<String>,
    /// The task sets of an EXTERNAL service, as ECS reports them (the external deployer makes
    /// them; the operator only reports them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_sets: Vec<TaskSetStatus>,
    /// Desired task count as ECS reports it.
    pub desired_count: Option<i32>,
    /// Running tasks.
    pub running_count: Option<i32>,
    /// Pending tasks.
    pub pending_count: Option<i32>,
    /// Id of the PRIMARY deployment.
    pub primary_deployment_id: Option<String>,
    /// Rollout state of the primary deployment: IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    /// Why the rollout is in that state, as ECS says it.
    pub rollout_state_reason: Option<String>,
    /// The task definition the operator wants running (the reference, resolved to an ARN).
    pub desired_task_definition_arn: Option<String>,
    /// The service deployment (ListServiceDeployments) that UpdateService started for that task
    /// definition: ECS ending it ROLLBACK_* means it rolled the revision back, however long ago.
    pub service_deployment_arn: Option<String>,
    /// The BLUE_GREEN, LINEAR or CANARY deployment in progress (or the last one, until it is
    /// seen finished), as DescribeServiceDeployments reports it: stage, traffic, hooks.
    pub deployment: Option<CurrentServiceDeployment>,
    /// What the continue and rollback annotations already did for `deployment`
    /// (`continue:<hook id>`, `rollback:<deployment id>`): each is done once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployment_actions: Vec<String>,
    /// The EcsTask of the newest pre-deploy run (`spec.preDeploy`).
    pub pre_deploy_task: Option<String>,
    /// The idempotency token of the CreateService call, recorded before the call.
    pub client_token: Option<String>,
    /// When CreateService answered (seconds since the epoch), until a pass sees the service: a
    /// service ECS does not list yet (eventual consistency) is waited for, not created again.
    pub create_answered_at: Option<i64>,
    /// A task definition whose rollout failed or was rolled back; not sent again until the spec
    /// or the referenced task definition changes.
    pub failed_task_definition_arn: Option<String>,
    /// The `forceNewDeployment` value last acted on.
    pub applied_force_new_deployment: Option<String>,
    /// Id of the newest ECS service event already published as a Kubernetes Event.
    pub last_event_id: Option<String>,
    /// The newest task of the service that stopped unexpectedly (a failed start, an exited
    /// container, a failed health check): stop code, stopped reason, each container's exit code
    /// and reason. Read only while a rollout is in progress or fewer tasks run than desired; each
    /// such task also gets a Warning Event (`TaskStopped`).
    pub last_stopped_task: Option<super::task::TaskStatus>,
    /// Whether an EcsScalingPolicy owns the desired count (it is then never sent after creation).
    pub autoscaled: Option<bool>,
    /// The label selector of the `/scale` subresource (`ecs.operator.dev/ecsservice=<name>`):
    /// a HorizontalPodAutoscaler, and so KEDA, scales only a target that reports one. ECS tasks
    /// are no pods, so it matches none; scale on external or object metrics.
    pub selector: Option<String>,
    /// Per setting (by its API name), a hash of the value last sent to ECS: a setting whose spec
    /// value has not changed since is only sent again to revert drift ECS reports exactly.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub applied_settings: std::collections::BTreeMap<String, String>,
}
