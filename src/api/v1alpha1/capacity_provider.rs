//! `EcsCapacityProvider`: an ECS capacity provider of either kind: an EC2 Auto Scaling group
//! (`autoScalingGroupProvider`) or ECS Managed Instances (`managedInstancesProvider`, which
//! belongs to one cluster). Associating a provider with a cluster stays the EcsCluster's job
//! (`capacityProviders`).
//!
//! Member names follow the ECS `CreateCapacityProvider` API.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{DeletionPolicy, ReconcileStatus, Tag, aws_enum};
use super::service::LocalObjectReference;

/// Desired state of an ECS capacity provider.
#[skip_serializing_none]
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsCapacityProvider",
    namespaced,
    status = "EcsCapacityProviderStatus",
    shortname = "ecscp",
    category = "ecs",
    doc = "An Amazon ECS capacity provider (an EC2 Auto Scaling group, or ECS Managed Instances). Ready when it is ACTIVE with the settings of the spec.",
    printcolumn(name = "Kind", type_ = "string", json_path = ".status.type"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(name = "Update", type_ = "string", json_path = ".status.updateStatus"),
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
#[x_kube(validation = Rule::new("has(self.autoScalingGroupProvider) != has(self.managedInstancesProvider)").message("set exactly one of autoScalingGroupProvider (an EC2 Auto Scaling group) or managedInstancesProvider (ECS Managed Instances)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("!has(self.managedInstancesProvider) || has(self.cluster) || has(self.clusterRef)").message("a Managed Instances capacity provider belongs to one cluster: set cluster or clusterRef").field_path(".cluster").reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!(has(self.cluster) && has(self.clusterRef))").message("set at most one of cluster and clusterRef").field_path(".clusterRef").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("has(self.managedInstancesProvider) || !(has(self.cluster) || has(self.clusterRef))").message("only a Managed Instances capacity provider belongs to a cluster; an Auto Scaling group provider is associated with clusters by their EcsCluster's capacityProviders").field_path(".cluster").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("has(self.autoScalingGroupProvider) == has(oldSelf.autoScalingGroupProvider)").message("the kind of a capacity provider cannot change; create another"))]
#[serde(rename_all = "camelCase")]
pub struct EcsCapacityProviderSpec {
    /// Capacity provider name (letters, digits, hyphens, underscores; up to 255; not starting
    /// with aws, ecs or fargate). Defaults to `metadata.name`. Immutable.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    #[x_kube(validation = Rule::new("!self.lowerAscii().startsWith('aws') && !self.lowerAscii().startsWith('ecs') && !self.lowerAscii().startsWith('fargate')").message("capacity provider names starting with aws, ecs or fargate are reserved by AWS").reason(Reason::FieldValueInvalid))]
    pub name: Option<String>,
    /// The cluster a Managed Instances provider belongs to (name or ARN). Immutable.
    #[schemars(length(min = 1))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("cluster is immutable"))]
    pub cluster: Option<String>,
    /// An `EcsCluster` in this namespace that a Managed Instances provider belongs to (waited
    /// for until Ready). Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: Option<LocalObjectReference>,
    /// An EC2 Auto Scaling group and how ECS scales and drains it.
    pub auto_scaling_group_provider: Option<AutoScalingGroupProvider>,
    /// ECS Managed Instances: ECS launches and manages the EC2 instances.
    pub managed_instances_provider: Option<ManagedInstancesProvider>,
    /// Tags on the capacity provider (up to 47: the operator adds 3 of its own).
    #[schemars(length(max = 47))]
    pub tags: Option<Vec<Tag>>,
    /// What to do with the capacity provider when this object is deleted: `Delete` (refused by
    /// ECS while a cluster or a service uses it) or `Retain`. Unset: the namespace's
    /// `ecs.operator.dev/deletion-policy` annotation, else the operator's
    /// `--default-deletion-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// An Auto Scaling group provider.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingGroupProvider {
    /// ARN (or name) of the Auto Scaling group. Immutable.
    #[schemars(length(min = 1))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("autoScalingGroupArn is immutable: create another capacity provider"))]
    pub auto_scaling_group_arn: String,
    /// ECS-managed scale-in and scale-out of the group.
    pub managed_scaling: Option<ManagedScaling>,
    /// Keep instances with tasks from scale-in (needs managed scaling; the group needs
    /// instance scale-in protection).
    pub managed_termination_protection: Option<EnabledDisabled>,
    /// Drain tasks off instances the group terminates.
    pub managed_draining: Option<EnabledDisabled>,
}

aws_enum! {
    /// ENABLED or DISABLED.
    EnabledDisabled { Enabled = "ENABLED", Disabled = "DISABLED" }
}

/// ECS-managed scaling of an Auto Scaling group.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedScaling {
    /// ENABLED or DISABLED.
    pub status: Option<EnabledDisabled>,
    /// Target utilization of the group's capacity, 1-100 percent (default 100).
    #[schemars(range(min = 1, max = 100))]
    pub target_capacity: Option<i32>,
    /// Fewest instances added or removed at once, 1-10000 (default 1).
    #[schemars(range(min = 1, max = 10000))]
    pub minimum_scaling_step_size: Option<i32>,
    /// Most instances added or removed at once, 1-10000 (default 10000).
    #[schemars(range(min = 1, max = 10000))]
    pub maximum_scaling_step_size: Option<i32>,
    /// Seconds a new instance takes to count toward the group's metrics, 0-10000 (default 300).
    #[schemars(range(min = 0, max = 10000))]
    pub instance_warmup_period: Option<i32>,
}

/// An ECS Managed Instances provider.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedInstancesProvider {
    /// The infrastructure role ECS uses to manage the instances.
    #[schemars(length(min = 1))]
    pub infrastructure_role_arn: String,
    /// How the instances are launched.
    pub instance_launch_template: Option<InstanceLaunchTemplate>,
    /// Copy the provider's tags to the instances: CAPACITY_PROVIDER or NONE.
    pub propagate_tags: Option<PropagateMiTags>,
    /// How soon idle instances are removed.
    pub infrastructure_optimization: Option<InfrastructureOptimization>,
    /// Automatic replacement of impaired instances.
    pub auto_repair_configuration: Option<AutoRepairConfiguration>,
}

aws_enum! {
    /// Where Managed Instances get their tags.
    PropagateMiTags { CapacityProvider = "CAPACITY_PROVIDER", None = "NONE" }
}

/// Idle-instance removal of a Managed Instances provider.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureOptimization {
    /// Seconds an idle instance is kept before it is removed.
    #[schemars(range(min = 0))]
    pub scale_in_after: Option<i32>,
}

/// Automatic repair of Managed Instances.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoRepairConfiguration {
    /// ENABLED or DISABLED.
    pub actions_status: Option<EnabledDisabled>,
}

/// The launch template of Managed Instances.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceLaunchTemplate {
    /// Instance profile of the instances.
    #[schemars(length(min = 1))]
    pub ec2_instance_profile_arn: String,
    /// Subnets and security groups of the instances.
    pub network_configuration: Option<ManagedInstancesNetworkConfiguration>,
    /// Root volume size.
    pub storage_configuration: Option<ManagedInstancesStorageConfiguration>,
    /// Use the instances' local (instance store) storage.
    pub local_storage_configuration: Option<ManagedInstancesLocalStorageConfiguration>,
    /// CloudWatch monitoring: BASIC or DETAILED.
    pub monitoring: Option<ManagedInstancesMonitoring>,
    /// ON_DEMAND, SPOT or RESERVED capacity. Immutable (UpdateCapacityProvider cannot change
    /// it).
    #[x_kube(validation = Rule::new("self == oldSelf").message("capacityOptionType cannot be updated: create another capacity provider"))]
    pub capacity_option_type: Option<CapacityOptionType>,
    /// Expose the instances' tags in their metadata.
    pub instance_metadata_tags_propagation: Option<bool>,
    /// What instance types may be launched.
    pub instance_requirements: Option<InstanceRequirements>,
    /// FIPS-validated AMIs. Immutable (UpdateCapacityProvider cannot change it).
    #[x_kube(validation = Rule::new("self == oldSelf").message("fipsEnabled cannot be updated: create another capacity provider"))]
    pub fips_enabled: Option<bool>,
    /// Capacity reservations to launch into (with RESERVED).
    pub capacity_reservations: Option<CapacityReservations>,
}

aws_enum! {
    /// Monitoring of Managed Instances.
    ManagedInstancesMonitoring { Basic = "BASIC", Detailed = "DETAILED" }
}

aws_enum! {
    /// The purchase option of Managed Instances.
    CapacityOptionType { OnDemand = "ON_DEMAND", Spot = "SPOT", Reserved = "RESERVED" }
}

/// Networking of Managed Instances.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedInstancesNetworkConfiguration {
    /// Subnet ids.
    pub subnets: Option<Vec<String>>,
    /// Security group ids.
    pub security_groups: Option<Vec<String>>,
}

/// Storage of Managed Instances.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedInstancesStorageConfiguration {
    /// Root volume size in GiB.
    #[serde(rename = "storageSizeGiB")]
    #[schemars(range(min = 1))]
    pub storage_size_gib: Option<i32>,
}

/// Local storage of Managed Instances.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedInstancesLocalStorageConfiguration {
    /// Whether tasks use the instance store.
    pub use_local_storage: bool,
}

/// Capacity reservations for Managed Instances.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReservations {
    /// The reservation group.
    pub reservation_group_arn: Option<String>,
    /// RESERVATIONS_ONLY, RESERVATIONS_FIRST or RESERVATIONS_EXCLUDED.
    pub reservation_preference: Option<String>,
}

/// An integer range (`min` required).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntRange {
    /// Lower bound.
    #[schemars(range(min = 0))]
    pub min: i32,
    /// Upper bound (none when omitted).
    pub max: Option<i32>,
}

/// An optional integer range.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptIntRange {
    /// Lower bound.
    pub min: Option<i32>,
    /// Upper bound.
    pub max: Option<i32>,
}

/// An optional decimal range.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecimalRange {
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
}

/// Attribute-based instance type selection (the EC2 instance requirements shape). Enumerated
/// values are passed as ECS spells them (`intel`, `current`, `included`, `gpu`, ...).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRequirements {
    /// vCPUs.
    pub v_cpu_count: IntRange,
    /// Memory in MiB.
    #[serde(rename = "memoryMiB")]
    pub memory_mib: IntRange,
    /// intel, amd, amazon-web-services.
    pub cpu_manufacturers: Option<Vec<String>>,
    /// Memory per vCPU in GiB.
    #[serde(rename = "memoryGiBPerVCpu")]
    pub memory_gib_per_v_cpu: Option<DecimalRange>,
    /// Instance types never launched (wildcards allowed).
    pub excluded_instance_types: Option<Vec<String>>,
    /// current, previous.
    pub instance_generations: Option<Vec<String>>,
    /// Spot price protection, percent over the lowest price.
    pub spot_max_price_percentage_over_lowest_price: Option<i32>,
    /// On-Demand price protection, percent over the lowest price.
    pub on_demand_max_price_percentage_over_lowest_price: Option<i32>,
    /// included, required, excluded.
    pub bare_metal: Option<String>,
    /// included, required, excluded.
    pub burstable_performance: Option<String>,
    /// Only types that support hibernation.
    pub require_hibernate_support: Option<bool>,
    /// Network interfaces.
    pub network_interface_count: Option<OptIntRange>,
    /// included, required, excluded.
    pub local_storage: Option<String>,
    /// hdd, ssd.
    pub local_storage_types: Option<Vec<String>>,
    /// Total local storage in GB.
    #[serde(rename = "totalLocalStorageGB")]
    pub total_local_storage_gb: Option<DecimalRange>,
    /// Baseline EBS bandwidth in Mbps.
    pub baseline_ebs_bandwidth_mbps: Option<OptIntRange>,
    /// gpu, fpga, inference.
    pub accelerator_types: Option<Vec<String>>,
    /// Accelerators.
    pub accelerator_count: Option<OptIntRange>,
    /// amazon-web-services, amd, nvidia, xilinx, habana.
    pub accelerator_manufacturers: Option<Vec<String>>,
    /// Accelerator names (a100, t4, ...).
    pub accelerator_names: Option<Vec<String>>,
    /// Accelerator memory in MiB.
    #[serde(rename = "acceleratorTotalMemoryMiB")]
    pub accelerator_total_memory_mib: Option<OptIntRange>,
    /// Network bandwidth in Gbps.
    pub network_bandwidth_gbps: Option<DecimalRange>,
    /// The only instance types launched (wildcards allowed).
    pub allowed_instance_types: Option<Vec<String>>,
    /// Spot price protection, percent of the optimal On-Demand price.
    pub max_spot_price_as_percentage_of_optimal_on_demand_price: Option<i32>,
}

/// Observed state of a capacity provider.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsCapacityProviderStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// ARN of the capacity provider.
    pub capacity_provider_arn: Option<String>,
    /// EC2_AUTOSCALING or MANAGED_INSTANCES.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// PROVISIONING, ACTIVE, DEPROVISIONING or INACTIVE, as ECS reports it.
    pub status: Option<String>,
    /// The state of the last update (UPDATE_IN_PROGRESS, UPDATE_COMPLETE, UPDATE_FAILED, ...).
    pub update_status: Option<String>,
    /// Why the last update is in that state.
    pub update_status_reason: Option<String>,
    /// The cluster a Managed Instances provider belongs to.
    pub cluster: Option<String>,
    /// Hash of the provider settings last sent and accepted.
    pub applied_hash: Option<String>,
}

/// The EcsCapacityProvider CRD, with one rule the derive cannot place: an object without
/// `spec.name` is named after `metadata.name`, which must then not start with a prefix AWS
/// reserves ("The name can't be prefixed with "aws", "ecs", or "fargate"."). Only a rule at the
/// root of the schema sees `metadata.name`, so the API server refuses such an object at admission.
pub fn crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::ValidationRule;
    use kube::CustomResourceExt;
    let mut crd = EcsCapacityProvider::crd();
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            schema
                .x_kubernetes_validations
                .get_or_insert_with(Vec::new)
                .push(ValidationRule {
                    rule: "has(self.spec.name) || !['aws', 'ecs', 'fargate'].exists(p, self.metadata.name.lowerAscii().startsWith(p))".into(),
                    message: Some(
                        "metadata.name starts with aws, ecs or fargate, which AWS reserves for capacity provider names: set spec.name to another name".into(),
                    ),
                    field_path: None,
                    reason: Some("FieldValueInvalid".into()),
                    ..Default::default()
                });
        }
    }
    crd
}
