//! The operator's requests (in the AWS JSON shape, built by `translate`) -> AWS SDK input
//! builders. This is the only place SDK request types are built: SDK shapes never leave `aws`.
//!
//! The mapping is written once per shape by the `convert!` macro; a test sends every request
//! through the real SDK serializer and checks the bytes on the wire equal what `render` prints, so
//! a member forgotten here cannot go unnoticed.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_ecs as ecs;

use super::error::{AwsError, AwsErrorKind};
use crate::api::capacity_provider as cp;
use crate::api::cluster as cl;
use crate::api::common::{KeyValuePair, LogConfiguration, LogDriver, Secret, Tag};
use crate::api::scaling_policy as sp;
use crate::api::service as svc;
use crate::api::task as tk;
use crate::api::task_definition as td;
use crate::translate::capacity_provider::{
    CreateCapacityProviderRequest, UpdateCapacityProviderRequest,
};
use crate::translate::cluster::{
    ClusterSettingRequest, CreateClusterRequest, PutClusterCapacityProvidersRequest,
    UpdateClusterRequest,
};
use crate::translate::scaling::{
    CustomizedMetricSpecification, DimensionRequest, MetricDataQueryRequest, MetricRequest,
    MetricStatRequest, PredefinedMetricSpecification, PutScalingPolicyRequest,
    PutScheduledActionRequest, RegisterScalableTargetRequest, StepAdjustmentRequest,
    StepScalingConfiguration, SuspendedStateRequest, TargetTrackingConfiguration,
    TrackingDimensionRequest,
};
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};
use crate::translate::task::RunTaskRequest;

/// The SDK refused to build a shape: a member it requires is missing. Validation should have
/// caught it, so the spec (not AWS) must change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError(pub String);

impl BuildError {
    fn into_aws(self, operation: &str) -> AwsError {
        AwsError::local(
            AwsErrorKind::InvalidRequest,
            operation,
            format!("cannot build the request: {}", self.0),
        )
    }
}

/// A value of ours that has an AWS SDK counterpart.
pub trait ToSdk {
    /// The SDK type.
    type Sdk;
    /// Converts, failing only when the SDK's builder rejects a missing required member.
    fn to_sdk(&self) -> Result<Self::Sdk, BuildError>;
}

/// What an SDK builder setter takes (`Option<T>`), from a required or an optional field of ours.
trait SetterArg {
    type Sdk;
    fn arg(&self) -> Result<Option<Self::Sdk>, BuildError>;
}

impl<T: ToSdk> SetterArg for T {
    type Sdk = T::Sdk;
    fn arg(&self) -> Result<Option<T::Sdk>, BuildError> {
        self.to_sdk().map(Some)
    }
}

impl<T: ToSdk> SetterArg for Option<T> {
    type Sdk = T::Sdk;
    fn arg(&self) -> Result<Option<T::Sdk>, BuildError> {
        self.as_ref().map(ToSdk::to_sdk).transpose()
    }
}

impl<T: ToSdk> ToSdk for Vec<T> {
    type Sdk = Vec<T::Sdk>;
    fn to_sdk(&self) -> Result<Self::Sdk, BuildError> {
        self.iter().map(ToSdk::to_sdk).collect()
    }
}

impl ToSdk for BTreeMap<String, String> {
    type Sdk = HashMap<String, String>;
    fn to_sdk(&self) -> Result<Self::Sdk, BuildError> {
        Ok(self.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

macro_rules! copy_to_sdk {
    ($($t:ty),*) => {$(
        impl ToSdk for $t {
            type Sdk = $t;
            fn to_sdk(&self) -> Result<$t, BuildError> {
                Ok(self.clone())
            }
        }
    )*};
}
copy_to_sdk!(String, i32, bool, f64);

/// Free-form JSON (a lifecycle hook's `hookDetails`) as the SDK's document type.
impl ToSdk for serde_json::Value {
    type Sdk = aws_smithy_types::Document;
    fn to_sdk(&self) -> Result<Self::Sdk, BuildError> {
        use aws_smithy_types::{Document, Number};
        use serde_json::Value;
        Ok(match self {
            Value::Null => Document::Null,
            Value::Bool(b) => Document::Bool(*b),
            Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Number::PosInt(u),
                (None, Some(i), _) => Number::NegInt(i),
                (None, None, f) => Number::Float(f.unwrap_or_default()),
            }),
            Value::String(s) => Document::String(s.clone()),
            Value::Array(items) => {
                Document::Array(items.iter().map(ToSdk::to_sdk).collect::<Result<_, _>>()?)
            }
            Value::Object(members) => Document::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_sdk()?)))
                    .collect::<Result<_, BuildError>>()?,
            ),
        })
    }
}

/// Our string enums map onto the SDK's enums by their AWS spelling.
macro_rules! enum_to_sdk {
    ($($ours:ty => $sdk:ty),* $(,)?) => {$(
        impl ToSdk for $ours {
            type Sdk = $sdk;
            fn to_sdk(&self) -> Result<$sdk, BuildError> {
                Ok(<$sdk>::from(self.as_str()))
            }
        }
    )*};
}

/// A struct of ours maps onto an SDK struct member by member, through the SDK's builder.
/// `fallible` marks SDK shapes with required members, whose `build()` returns a `Result`.
macro_rules! convert {
    (plain $ours:ty => $sdk:ty { $($field:ident => $setter:ident),* $(,)? }) => {
        impl ToSdk for $ours {
            type Sdk = $sdk;
            fn to_sdk(&self) -> Result<$sdk, BuildError> {
                Ok(<$sdk>::builder() $(.$setter(self.$field.arg()?))* .build())
            }
        }
    };
    (fallible $ours:ty => $sdk:ty { $($field:ident => $setter:ident),* $(,)? }) => {
        impl ToSdk for $ours {
            type Sdk = $sdk;
            fn to_sdk(&self) -> Result<$sdk, BuildError> {
                <$sdk>::builder() $(.$setter(self.$field.arg()?))* .build()
                    .map_err(|e| BuildError(e.to_string()))
            }
        }
    };
}

use ecs::types as et;

enum_to_sdk! {
    LogDriver => et::LogDriver,
    td::NetworkMode => et::NetworkMode,
    td::Compatibility => et::Compatibility,
    td::PidMode => et::PidMode,
    td::IpcMode => et::IpcMode,
    td::TransportProtocol => et::TransportProtocol,
    td::ApplicationProtocol => et::ApplicationProtocol,
    td::VersionConsistency => et::VersionConsistency,
    td::ContainerCondition => et::ContainerCondition,
    td::UlimitName => et::UlimitName,
    td::EnvironmentFileType => et::EnvironmentFileType,
    td::ResourceType => et::ResourceType,
    td::FirelensConfigurationType => et::FirelensConfigurationType,
    td::Scope => et::Scope,
    td::EfsTransitEncryption => et::EfsTransitEncryption,
    td::EfsAuthorizationConfigIam => et::EfsAuthorizationConfigIam,
    td::TaskDefinitionPlacementConstraintType => et::TaskDefinitionPlacementConstraintType,
    td::ProxyConfigurationType => et::ProxyConfigurationType,
    td::CpuArchitecture => et::CpuArchitecture,
    td::OsFamily => et::OsFamily,
    td::DeviceCgroupPermission => et::DeviceCgroupPermission,
    svc::LaunchType => et::LaunchType,
    svc::SchedulingStrategy => et::SchedulingStrategy,
    svc::DeploymentControllerType => et::DeploymentControllerType,
    svc::AssignPublicIp => et::AssignPublicIp,
    svc::PlacementConstraintType => et::PlacementConstraintType,
    svc::PlacementStrategyType => et::PlacementStrategyType,
    svc::PropagateTags => et::PropagateTags,
    svc::AvailabilityZoneRebalancing => et::AvailabilityZoneRebalancing,
    svc::DeploymentStrategy => et::DeploymentStrategy,
    svc::DeploymentLifecycleHookTargetType => et::DeploymentLifecycleHookTargetType,
    svc::DeploymentLifecycleHookStage => et::DeploymentLifecycleHookStage,
    svc::DeploymentLifecycleHookAction => et::DeploymentLifecycleHookAction,
    svc::ThresholdType => et::ThresholdType,
    svc::ServiceRevisionCleanup => et::ServiceRevisionCleanup,
    svc::TaskFilesystemType => et::TaskFilesystemType,
    svc::EbsResourceType => et::EbsResourceType,
    cl::ExecuteCommandLogging => et::ExecuteCommandLogging,
    tk::TaskPropagateTags => et::PropagateTags,
    cp::PropagateMiTags => et::PropagateMiTags,
    sp::PredefinedMetricType => aas::types::MetricType,
    sp::MetricStatistic => aas::types::MetricStatistic,
    sp::AdjustmentType => aas::types::AdjustmentType,
    sp::MetricAggregationType => aas::types::MetricAggregationType,
}

convert!(plain KeyValuePair => et::KeyValuePair { name => set_name, value => set_value });
convert!(plain Tag => et::Tag { key => set_key, value => set_value });
convert!(fallible Secret => et::Secret { name => set_name, value_from => set_value_from });
convert!(fallible LogConfiguration => et::LogConfiguration {
    log_driver => set_log_driver, options => set_options, secret_options => set_secret_options,
});

convert!(plain td::ContainerDefinition => et::ContainerDefinition {
    name => set_name, image => set_image, repository_credentials => set_repository_credentials,
    cpu => set_cpu, memory => set_memory, memory_reservation => set_memory_reservation,
    links => set_links, port_mappings => set_port_mappings, essential => set_essential,
    restart_policy => set_restart_policy, entry_point => set_entry_point, command => set_command,
    environment => set_environment, environment_files => set_environment_files,
    mount_points => set_mount_points, volumes_from => set_volumes_from,
    linux_parameters => set_linux_parameters, secrets => set_secrets, depends_on => set_depends_on,
    start_timeout => set_start_timeout, stop_timeout => set_stop_timeout,
    version_consistency => set_version_consistency, hostname => set_hostname, user => set_user,
    working_directory => set_working_directory, disable_networking => set_disable_networking,
    privileged => set_privileged, readonly_root_filesystem => set_readonly_root_filesystem,
    dns_servers => set_dns_servers, dns_search_domains => set_dns_search_domains,
    extra_hosts => set_extra_hosts, docker_security_options => set_docker_security_options,
    interactive => set_interactive, pseudo_terminal => set_pseudo_terminal,
    docker_labels => set_docker_labels, ulimits => set_ulimits,
    log_configuration => set_log_configuration, health_check => set_health_check,
    system_controls => set_system_controls, resource_requirements => set_resource_requirements,
    firelens_configuration => set_firelens_configuration, credential_specs => set_credential_specs,
});
convert!(fallible td::RepositoryCredentials => et::RepositoryCredentials { credentials_parameter => set_credentials_parameter });
convert!(plain td::PortMapping => et::PortMapping {
    container_port => set_container_port, host_port => set_host_port, protocol => set_protocol,
    name => set_name, app_protocol => set_app_protocol, container_port_range => set_container_port_range,
});
convert!(fallible td::ContainerRestartPolicy => et::ContainerRestartPolicy {
    enabled => set_enabled, ignored_exit_codes => set_ignored_exit_codes,
    restart_attempt_period => set_restart_attempt_period,
});
convert!(fallible td::EnvironmentFile => et::EnvironmentFile { value => set_value, r#type => set_type });
convert!(plain td::MountPoint => et::MountPoint {
    source_volume => set_source_volume, container_path => set_container_path, read_only => set_read_only,
});
convert!(plain td::VolumeFrom => et::VolumeFrom { source_container => set_source_container, read_only => set_read_only });
convert!(plain td::LinuxParameters => et::LinuxParameters {
    capabilities => set_capabilities, devices => set_devices,
    init_process_enabled => set_init_process_enabled, shared_memory_size => set_shared_memory_size,
    tmpfs => set_tmpfs, max_swap => set_max_swap, swappiness => set_swappiness,
});
convert!(plain td::KernelCapabilities => et::KernelCapabilities { add => set_add, drop => set_drop });
convert!(fallible td::Device => et::Device {
    host_path => set_host_path, container_path => set_container_path, permissions => set_permissions,
});
convert!(fallible td::Tmpfs => et::Tmpfs {
    container_path => set_container_path, size => set_size, mount_options => set_mount_options,
});
convert!(fallible td::ContainerDependency => et::ContainerDependency {
    container_name => set_container_name, condition => set_condition,
});
convert!(fallible td::HostEntry => et::HostEntry { hostname => set_hostname, ip_address => set_ip_address });
convert!(fallible td::Ulimit => et::Ulimit { name => set_name, soft_limit => set_soft_limit, hard_limit => set_hard_limit });
convert!(fallible td::HealthCheck => et::HealthCheck {
    command => set_command, interval => set_interval, timeout => set_timeout, retries => set_retries,
    start_period => set_start_period,
});
convert!(plain td::SystemControl => et::SystemControl { namespace => set_namespace, value => set_value });
convert!(fallible td::ResourceRequirement => et::ResourceRequirement { value => set_value, r#type => set_type });
convert!(fallible td::FirelensConfiguration => et::FirelensConfiguration { r#type => set_type, options => set_options });
convert!(plain td::Volume => et::Volume {
    name => set_name, host => set_host, docker_volume_configuration => set_docker_volume_configuration,
    efs_volume_configuration => set_efs_volume_configuration,
    fsx_windows_file_server_volume_configuration => set_fsx_windows_file_server_volume_configuration,
    configured_at_launch => set_configured_at_launch,
});
convert!(plain td::HostVolumeProperties => et::HostVolumeProperties { source_path => set_source_path });
convert!(plain td::DockerVolumeConfiguration => et::DockerVolumeConfiguration {
    scope => set_scope, autoprovision => set_autoprovision, driver => set_driver,
    driver_opts => set_driver_opts, labels => set_labels,
});
convert!(fallible td::EfsVolumeConfiguration => et::EfsVolumeConfiguration {
    file_system_id => set_file_system_id, root_directory => set_root_directory,
    transit_encryption => set_transit_encryption, transit_encryption_port => set_transit_encryption_port,
    authorization_config => set_authorization_config,
});
convert!(plain td::EfsAuthorizationConfig => et::EfsAuthorizationConfig { access_point_id => set_access_point_id, iam => set_iam });
convert!(fallible td::FSxWindowsFileServerVolumeConfiguration => et::FSxWindowsFileServerVolumeConfiguration {
    file_system_id => set_file_system_id, root_directory => set_root_directory,
    authorization_config => set_authorization_config,
});
convert!(fallible td::FSxWindowsFileServerAuthorizationConfig => et::FSxWindowsFileServerAuthorizationConfig {
    credentials_parameter => set_credentials_parameter, domain => set_domain,
});
convert!(plain td::TaskDefinitionPlacementConstraint => et::TaskDefinitionPlacementConstraint { r#type => set_type, expression => set_expression });
convert!(fallible td::ProxyConfiguration => et::ProxyConfiguration {
    r#type => set_type, container_name => set_container_name, properties => set_properties,
});
// Elastic Inference is retired by AWS, but the API still takes the member and users may paste it.
#[allow(deprecated)]
mod inference_accelerator {
    use super::*;
    convert!(fallible td::InferenceAccelerator => et::InferenceAccelerator { device_name => set_device_name, device_type => set_device_type });
}
convert!(plain td::EphemeralStorage => et::EphemeralStorage { size_in_gib => set_size_in_gib });
convert!(plain td::RuntimePlatform => et::RuntimePlatform {
    cpu_architecture => set_cpu_architecture, operating_system_family => set_operating_system_family,
});

convert!(fallible svc::CapacityProviderStrategyItem => et::CapacityProviderStrategyItem {
    capacity_provider => set_capacity_provider, weight => set_weight, base => set_base,
});
convert!(plain svc::DeploymentConfiguration => et::DeploymentConfiguration {
    maximum_percent => set_maximum_percent, minimum_healthy_percent => set_minimum_healthy_percent,
    deployment_circuit_breaker => set_deployment_circuit_breaker, alarms => set_alarms,
    strategy => set_strategy, bake_time_in_minutes => set_bake_time_in_minutes,
    lifecycle_hooks => set_lifecycle_hooks, linear_configuration => set_linear_configuration,
    canary_configuration => set_canary_configuration, early_success_criteria => set_early_success_criteria,
});
convert!(plain svc::DeploymentEarlySuccessCriteria => et::DeploymentEarlySuccessCriteria {
    enable => set_enable, healthy_percent => set_healthy_percent,
    source_service_revision_cleanup => set_source_service_revision_cleanup,
});
convert!(plain svc::DeploymentLifecycleHook => et::DeploymentLifecycleHook {
    target_type => set_target_type, hook_target_arn => set_hook_target_arn, role_arn => set_role_arn,
    lifecycle_stages => set_lifecycle_stages, hook_details => set_hook_details,
    timeout_configuration => set_timeout_configuration,
});
convert!(plain svc::DeploymentLifecycleHookTimeoutConfiguration => et::DeploymentLifecycleHookTimeoutConfiguration {
    timeout_in_minutes => set_timeout_in_minutes, action => set_action,
});
convert!(plain svc::LinearConfiguration => et::LinearConfiguration {
    step_percent => set_step_percent, step_bake_time_in_minutes => set_step_bake_time_in_minutes,
});
convert!(plain svc::CanaryConfiguration => et::CanaryConfiguration {
    canary_percent => set_canary_percent, canary_bake_time_in_minutes => set_canary_bake_time_in_minutes,
});
convert!(fallible svc::ServiceVolumeConfiguration => et::ServiceVolumeConfiguration {
    name => set_name, managed_ebs_volume => set_managed_ebs_volume,
});
convert!(fallible svc::ServiceManagedEbsVolumeConfiguration => et::ServiceManagedEbsVolumeConfiguration {
    encrypted => set_encrypted, kms_key_id => set_kms_key_id, volume_type => set_volume_type,
    size_in_gib => set_size_in_gib, snapshot_id => set_snapshot_id,
    volume_initialization_rate => set_volume_initialization_rate, iops => set_iops,
    throughput => set_throughput, tag_specifications => set_tag_specifications, role_arn => set_role_arn,
    filesystem_type => set_filesystem_type,
});
convert!(fallible svc::EbsTagSpecification => et::EbsTagSpecification {
    resource_type => set_resource_type, tags => set_tags, propagate_tags => set_propagate_tags,
});
convert!(fallible svc::VpcLatticeConfiguration => et::VpcLatticeConfiguration {
    role_arn => set_role_arn, target_group_arn => set_target_group_arn, port_name => set_port_name,
    advanced_configuration => set_advanced_configuration,
});
convert!(plain svc::VpcLatticeAdvancedConfiguration => et::VpcLatticeAdvancedConfiguration {
    alternate_target_group_arn => set_alternate_target_group_arn,
    production_listener_rule => set_production_listener_rule, test_listener_rule => set_test_listener_rule,
});
convert!(plain svc::DeploymentCircuitBreaker => et::DeploymentCircuitBreaker {
    enable => set_enable, rollback => set_rollback, reset_on_healthy_task => set_reset_on_healthy_task,
    threshold_configuration => set_threshold_configuration,
});
convert!(fallible svc::ThresholdConfiguration => et::ThresholdConfiguration { r#type => set_type, value => set_value });
convert!(fallible svc::DeploymentAlarms => et::DeploymentAlarms {
    alarm_names => set_alarm_names, enable => set_enable, rollback => set_rollback,
});
convert!(fallible svc::DeploymentController => et::DeploymentController { r#type => set_type });
convert!(plain svc::NetworkConfiguration => et::NetworkConfiguration { awsvpc_configuration => set_awsvpc_configuration });
convert!(fallible svc::AwsVpcConfiguration => et::AwsVpcConfiguration {
    subnets => set_subnets, security_groups => set_security_groups, assign_public_ip => set_assign_public_ip,
});
convert!(plain svc::LoadBalancer => et::LoadBalancer {
    target_group_arn => set_target_group_arn, load_balancer_name => set_load_balancer_name,
    container_name => set_container_name, container_port => set_container_port,
    advanced_configuration => set_advanced_configuration,
});
convert!(plain svc::AdvancedConfiguration => et::AdvancedConfiguration {
    alternate_target_group_arn => set_alternate_target_group_arn,
    production_listener_rule => set_production_listener_rule, test_listener_rule => set_test_listener_rule,
    role_arn => set_role_arn,
});
convert!(plain svc::ServiceRegistry => et::ServiceRegistry {
    registry_arn => set_registry_arn, port => set_port, container_name => set_container_name,
    container_port => set_container_port,
});
convert!(plain svc::PlacementConstraint => et::PlacementConstraint { r#type => set_type, expression => set_expression });
convert!(plain svc::PlacementStrategy => et::PlacementStrategy { r#type => set_type, field => set_field });
convert!(plain svc::ServiceConnectConfiguration => et::ServiceConnectConfiguration {
    enabled => set_enabled, namespace => set_namespace, services => set_services,
    log_configuration => set_log_configuration,
});
convert!(fallible svc::ServiceConnectService => et::ServiceConnectService {
    port_name => set_port_name, discovery_name => set_discovery_name, client_aliases => set_client_aliases,
    ingress_port_override => set_ingress_port_override, timeout => set_timeout, tls => set_tls,
});
convert!(fallible svc::ServiceConnectClientAlias => et::ServiceConnectClientAlias {
    port => set_port, dns_name => set_dns_name, test_traffic_rules => set_test_traffic_rules,
});
convert!(plain svc::ServiceConnectTestTrafficRules => et::ServiceConnectTestTrafficRules { header => set_header });
convert!(fallible svc::ServiceConnectTestTrafficHeaderRules => et::ServiceConnectTestTrafficHeaderRules {
    name => set_name, value => set_value,
});
convert!(fallible svc::ServiceConnectTestTrafficHeaderMatchRules => et::ServiceConnectTestTrafficHeaderMatchRules {
    exact => set_exact,
});
convert!(plain svc::TimeoutConfiguration => et::TimeoutConfiguration {
    idle_timeout_seconds => set_idle_timeout_seconds, per_request_timeout_seconds => set_per_request_timeout_seconds,
});
convert!(plain svc::ServiceConnectTlsConfiguration => et::ServiceConnectTlsConfiguration {
    issuer_certificate_authority => set_issuer_certificate_authority, kms_key => set_kms_key, role_arn => set_role_arn,
});
convert!(plain svc::ServiceConnectTlsCertificateAuthority => et::ServiceConnectTlsCertificateAuthority {
    aws_pca_authority_arn => set_aws_pca_authority_arn,
});

use aas::types as at;

convert!(plain SuspendedStateRequest => at::SuspendedState {
    dynamic_scaling_in_suspended => set_dynamic_scaling_in_suspended,
    dynamic_scaling_out_suspended => set_dynamic_scaling_out_suspended,
    scheduled_scaling_suspended => set_scheduled_scaling_suspended,
});
convert!(fallible TargetTrackingConfiguration => at::TargetTrackingScalingPolicyConfiguration {
    target_value => set_target_value, predefined_metric_specification => set_predefined_metric_specification,
    customized_metric_specification => set_customized_metric_specification,
    scale_out_cooldown => set_scale_out_cooldown, scale_in_cooldown => set_scale_in_cooldown,
    disable_scale_in => set_disable_scale_in,
});
convert!(fallible PredefinedMetricSpecification => at::PredefinedMetricSpecification {
    predefined_metric_type => set_predefined_metric_type, resource_label => set_resource_label,
});
convert!(plain CustomizedMetricSpecification => at::CustomizedMetricSpecification {
    metric_name => set_metric_name, namespace => set_namespace, dimensions => set_dimensions,
    statistic => set_statistic, unit => set_unit, metrics => set_metrics,
});
convert!(fallible DimensionRequest => at::MetricDimension { name => set_name, value => set_value });
convert!(fallible MetricDataQueryRequest => at::TargetTrackingMetricDataQuery {
    id => set_id, expression => set_expression, label => set_label, metric_stat => set_metric_stat,
    return_data => set_return_data,
});
convert!(fallible MetricStatRequest => at::TargetTrackingMetricStat { metric => set_metric, stat => set_stat, unit => set_unit });
convert!(plain MetricRequest => at::TargetTrackingMetric {
    dimensions => set_dimensions, metric_name => set_metric_name, namespace => set_namespace,
});
convert!(fallible TrackingDimensionRequest => at::TargetTrackingMetricDimension { name => set_name, value => set_value });
convert!(plain StepScalingConfiguration => at::StepScalingPolicyConfiguration {
    adjustment_type => set_adjustment_type, step_adjustments => set_step_adjustments,
    min_adjustment_magnitude => set_min_adjustment_magnitude, cooldown => set_cooldown,
    metric_aggregation_type => set_metric_aggregation_type,
});
convert!(fallible StepAdjustmentRequest => at::StepAdjustment {
    metric_interval_lower_bound => set_metric_interval_lower_bound,
    metric_interval_upper_bound => set_metric_interval_upper_bound,
    scaling_adjustment => set_scaling_adjustment,
});

/// The SDK input for `RegisterTaskDefinition`; `extra_tags` (the operator's ownership tags) are
/// added to the user's tags.
#[allow(deprecated)] // inferenceAccelerators: see the note on its conversion.
pub fn register_task_definition(
    request: &td::TaskDefinitionBody,
    extra_tags: &[Tag],
) -> Result<
    ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder,
    AwsError,
> {
    (|| -> Result<_, BuildError> {
        let mut tags = request.tags.clone().unwrap_or_default();
        for tag in extra_tags {
            tags.retain(|t| t.key != tag.key);
            tags.push(tag.clone());
        }
        let tags = (!tags.is_empty()).then_some(tags);
        Ok(
            ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder()
                .set_family(request.family.arg()?)
                .set_task_role_arn(request.task_role_arn.arg()?)
                .set_execution_role_arn(request.execution_role_arn.arg()?)
                .set_network_mode(request.network_mode.arg()?)
                .set_container_definitions(request.container_definitions.arg()?)
                .set_volumes(request.volumes.arg()?)
                .set_placement_constraints(request.placement_constraints.arg()?)
                .set_requires_compatibilities(request.requires_compatibilities.arg()?)
                .set_cpu(request.cpu.arg()?)
                .set_memory(request.memory.arg()?)
                .set_tags(tags.arg()?)
                .set_pid_mode(request.pid_mode.arg()?)
                .set_ipc_mode(request.ipc_mode.arg()?)
                .set_proxy_configuration(request.proxy_configuration.arg()?)
                .set_inference_accelerators(request.inference_accelerators.arg()?)
                .set_ephemeral_storage(request.ephemeral_storage.arg()?)
                .set_runtime_platform(request.runtime_platform.arg()?)
                .set_enable_fault_injection(request.enable_fault_injection.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:RegisterTaskDefinition"))
}

impl ToSdk for ClusterSettingRequest {
    type Sdk = et::ClusterSetting;
    fn to_sdk(&self) -> Result<et::ClusterSetting, BuildError> {
        Ok(et::ClusterSetting::builder()
            .name(et::ClusterSettingName::from(self.name.as_str()))
            .value(&self.value)
            .build())
    }
}
convert!(plain cl::ClusterConfiguration => et::ClusterConfiguration {
    execute_command_configuration => set_execute_command_configuration,
    managed_storage_configuration => set_managed_storage_configuration,
});
convert!(plain cl::ExecuteCommandConfiguration => et::ExecuteCommandConfiguration {
    kms_key_id => set_kms_key_id, logging => set_logging, log_configuration => set_log_configuration,
});
convert!(plain cl::ExecuteCommandLogConfiguration => et::ExecuteCommandLogConfiguration {
    cloud_watch_log_group_name => set_cloud_watch_log_group_name,
    cloud_watch_encryption_enabled => set_cloud_watch_encryption_enabled,
    s3_bucket_name => set_s3_bucket_name, s3_encryption_enabled => set_s3_encryption_enabled,
    s3_key_prefix => set_s3_key_prefix,
});
convert!(plain cl::ManagedStorageConfiguration => et::ManagedStorageConfiguration {
    kms_key_id => set_kms_key_id,
    fargate_ephemeral_storage_kms_key_id => set_fargate_ephemeral_storage_kms_key_id,
});
convert!(fallible cl::ClusterServiceConnectDefaults => et::ClusterServiceConnectDefaultsRequest {
    namespace => set_namespace,
});

/// The CreateCluster input for `request`.
pub fn create_cluster(
    request: &CreateClusterRequest,
) -> Result<ecs::operation::create_cluster::builders::CreateClusterInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::create_cluster::CreateClusterInput::builder()
                .cluster_name(&request.cluster_name)
                .set_tags(request.tags.arg()?)
                .set_settings(request.settings.arg()?)
                .set_configuration(request.configuration.arg()?)
                .set_capacity_providers(request.capacity_providers.clone())
                .set_default_capacity_provider_strategy(
                    request.default_capacity_provider_strategy.arg()?,
                )
                .set_service_connect_defaults(request.service_connect_defaults.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:CreateCluster"))
}

/// The UpdateCluster input for `request`.
pub fn update_cluster(
    request: &UpdateClusterRequest,
) -> Result<ecs::operation::update_cluster::builders::UpdateClusterInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::update_cluster::UpdateClusterInput::builder()
                .cluster(&request.cluster)
                .set_settings(request.settings.arg()?)
                .set_configuration(request.configuration.arg()?)
                .set_service_connect_defaults(request.service_connect_defaults.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:UpdateCluster"))
}

/// The PutClusterCapacityProviders input for `request`.
pub fn put_cluster_capacity_providers(
    request: &PutClusterCapacityProvidersRequest,
) -> Result<
    ecs::operation::put_cluster_capacity_providers::builders::PutClusterCapacityProvidersInputBuilder,
    AwsError,
>{
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::put_cluster_capacity_providers::PutClusterCapacityProvidersInput::builder()
                .cluster(&request.cluster)
                .set_capacity_providers(Some(request.capacity_providers.clone()))
                .set_default_capacity_provider_strategy(Some(
                    request.default_capacity_provider_strategy.to_sdk()?,
                )),
        )
    })()
    .map_err(|e| e.into_aws("ecs:PutClusterCapacityProviders"))
}

convert!(plain tk::TaskOverride => et::TaskOverride {
    container_overrides => set_container_overrides, cpu => set_cpu, memory => set_memory,
    task_role_arn => set_task_role_arn, execution_role_arn => set_execution_role_arn,
});
convert!(plain tk::ContainerOverride => et::ContainerOverride {
    name => set_name, command => set_command, environment => set_environment, cpu => set_cpu,
    memory => set_memory, memory_reservation => set_memory_reservation,
});

/// The RunTask input for `request`.
pub fn run_task(
    request: &RunTaskRequest,
) -> Result<ecs::operation::run_task::builders::RunTaskInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        Ok(ecs::operation::run_task::RunTaskInput::builder()
            .cluster(&request.cluster)
            .task_definition(&request.task_definition)
            .set_count(request.count)
            .set_launch_type(request.launch_type.arg()?)
            .set_capacity_provider_strategy(request.capacity_provider_strategy.arg()?)
            .set_platform_version(request.platform_version.clone())
            .set_network_configuration(request.network_configuration.arg()?)
            .set_overrides(request.overrides.arg()?)
            .set_group(request.group.clone())
            .set_placement_constraints(request.placement_constraints.arg()?)
            .set_placement_strategy(request.placement_strategy.arg()?)
            .set_tags(request.tags.arg()?)
            .set_propagate_tags(request.propagate_tags.arg()?)
            .set_enable_execute_command(request.enable_execute_command)
            .set_enable_ecs_managed_tags(request.enable_ecs_managed_tags)
            .set_started_by(request.started_by.clone())
            .set_client_token(request.client_token.clone()))
    })()
    .map_err(|e| e.into_aws("ecs:RunTask"))
}

mod capacity;

/// The CreateCapacityProvider input for `request`.
pub fn create_capacity_provider(
    request: &CreateCapacityProviderRequest,
) -> Result<
    ecs::operation::create_capacity_provider::builders::CreateCapacityProviderInputBuilder,
    AwsError,
> {
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::create_capacity_provider::CreateCapacityProviderInput::builder()
                .name(&request.name)
                .set_cluster(request.cluster.clone())
                .set_auto_scaling_group_provider(
                    request
                        .auto_scaling_group_provider
                        .as_ref()
                        .map(capacity::auto_scaling_group)
                        .transpose()?,
                )
                .set_managed_instances_provider(
                    request
                        .managed_instances_provider
                        .as_ref()
                        .map(capacity::managed_instances)
                        .transpose()?,
                )
                .set_tags(request.tags.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:CreateCapacityProvider"))
}

/// The UpdateCapacityProvider input for `request`.
pub fn update_capacity_provider(
    request: &UpdateCapacityProviderRequest,
) -> Result<
    ecs::operation::update_capacity_provider::builders::UpdateCapacityProviderInputBuilder,
    AwsError,
> {
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::update_capacity_provider::UpdateCapacityProviderInput::builder()
                .name(&request.name)
                .set_cluster(request.cluster.clone())
                .set_auto_scaling_group_provider(
                    request
                        .auto_scaling_group_provider
                        .as_ref()
                        .map(capacity::auto_scaling_group_update),
                )
                .set_managed_instances_provider(
                    request
                        .managed_instances_provider
                        .as_ref()
                        .map(capacity::managed_instances_update)
                        .transpose()?,
                ),
        )
    })()
    .map_err(|e| e.into_aws("ecs:UpdateCapacityProvider"))
}

/// The SDK input for `CreateService`.
pub fn create_service(
    request: &CreateServiceRequest,
) -> Result<ecs::operation::create_service::builders::CreateServiceInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        let s = &request.settings;
        Ok(
            ecs::operation::create_service::CreateServiceInput::builder()
                .cluster(&request.cluster)
                .service_name(&request.service_name)
                .set_task_definition(request.task_definition.clone())
                .set_desired_count(request.desired_count)
                .set_client_token(request.client_token.clone())
                .set_launch_type(s.launch_type.arg()?)
                .set_capacity_provider_strategy(s.capacity_provider_strategy.arg()?)
                .set_platform_version(s.platform_version.arg()?)
                .set_scheduling_strategy(s.scheduling_strategy.arg()?)
                .set_deployment_configuration(s.deployment_configuration.arg()?)
                .set_deployment_controller(s.deployment_controller.arg()?)
                .set_network_configuration(s.network_configuration.arg()?)
                .set_load_balancers(s.load_balancers.arg()?)
                .set_service_registries(s.service_registries.arg()?)
                .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds.arg()?)
                .set_placement_constraints(s.placement_constraints.arg()?)
                .set_placement_strategy(s.placement_strategy.arg()?)
                .set_enable_execute_command(s.enable_execute_command.arg()?)
                .set_enable_ecs_managed_tags(s.enable_ecs_managed_tags.arg()?)
                .set_propagate_tags(s.propagate_tags.arg()?)
                .set_tags(s.tags.arg()?)
                .set_service_connect_configuration(s.service_connect_configuration.arg()?)
                .set_availability_zone_rebalancing(s.availability_zone_rebalancing.arg()?)
                .set_role(s.role.clone())
                .set_volume_configurations(s.volume_configurations.arg()?)
                .set_vpc_lattice_configurations(s.vpc_lattice_configurations.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:CreateService"))
}

/// The SDK input for `UpdateService`.
pub fn update_service(
    request: &UpdateServiceRequest,
) -> Result<ecs::operation::update_service::builders::UpdateServiceInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        Ok(
            ecs::operation::update_service::UpdateServiceInput::builder()
                .cluster(&request.cluster)
                .service(&request.service)
                .set_desired_count(request.desired_count)
                .set_task_definition(request.task_definition.clone())
                .set_capacity_provider_strategy(request.capacity_provider_strategy.arg()?)
                .set_deployment_configuration(request.deployment_configuration.arg()?)
                .set_availability_zone_rebalancing(request.availability_zone_rebalancing.arg()?)
                .set_network_configuration(request.network_configuration.arg()?)
                .set_placement_constraints(request.placement_constraints.arg()?)
                .set_placement_strategy(request.placement_strategy.arg()?)
                .set_platform_version(request.platform_version.clone())
                .set_force_new_deployment(request.force_new_deployment)
                .set_health_check_grace_period_seconds(request.health_check_grace_period_seconds)
                .set_deployment_controller(request.deployment_controller.arg()?)
                .set_enable_execute_command(request.enable_execute_command)
                .set_enable_ecs_managed_tags(request.enable_ecs_managed_tags)
                .set_load_balancers(request.load_balancers.arg()?)
                .set_propagate_tags(request.propagate_tags.arg()?)
                .set_service_registries(request.service_registries.arg()?)
                .set_service_connect_configuration(request.service_connect_configuration.arg()?)
                .set_volume_configurations(request.volume_configurations.arg()?)
                .set_vpc_lattice_configurations(request.vpc_lattice_configurations.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("ecs:UpdateService"))
}

/// The SDK input for `RegisterScalableTarget`.
pub fn register_scalable_target(
    request: &RegisterScalableTargetRequest,
) -> Result<
    aas::operation::register_scalable_target::builders::RegisterScalableTargetInputBuilder,
    AwsError,
> {
    (|| -> Result<_, BuildError> {
        Ok(
            aas::operation::register_scalable_target::RegisterScalableTargetInput::builder()
                .service_namespace(at::ServiceNamespace::from(
                    request.service_namespace.as_str(),
                ))
                .resource_id(&request.resource_id)
                .scalable_dimension(at::ScalableDimension::from(
                    request.scalable_dimension.as_str(),
                ))
                .min_capacity(request.min_capacity)
                .max_capacity(request.max_capacity)
                .set_role_arn(request.role_arn.clone())
                .set_suspended_state(request.suspended_state.arg()?)
                .set_tags(request.tags.arg()?),
        )
    })()
    .map_err(|e| e.into_aws("application-autoscaling:RegisterScalableTarget"))
}

/// The SDK input for `PutScalingPolicy`.
pub fn put_scaling_policy(
    request: &PutScalingPolicyRequest,
) -> Result<aas::operation::put_scaling_policy::builders::PutScalingPolicyInputBuilder, AwsError> {
    (|| -> Result<_, BuildError> {
        Ok(
            aas::operation::put_scaling_policy::PutScalingPolicyInput::builder()
                .policy_name(&request.policy_name)
                .service_namespace(at::ServiceNamespace::from(
                    request.service_namespace.as_str(),
                ))
                .resource_id(&request.resource_id)
                .scalable_dimension(at::ScalableDimension::from(
                    request.scalable_dimension.as_str(),
                ))
                .policy_type(at::PolicyType::from(request.policy_type.as_str()))
                .set_step_scaling_policy_configuration(
                    request.step_scaling_policy_configuration.arg()?,
                )
                .set_target_tracking_scaling_policy_configuration(
                    request.target_tracking_scaling_policy_configuration.arg()?,
                ),
        )
    })()
    .map_err(|e| e.into_aws("application-autoscaling:PutScalingPolicy"))
}

/// The SDK input for `PutScheduledAction`.
pub fn put_scheduled_action(
    request: &PutScheduledActionRequest,
) -> Result<aas::operation::put_scheduled_action::builders::PutScheduledActionInputBuilder, AwsError>
{
    (|| -> Result<_, BuildError> {
        let time = |field: &str,
                    value: &Option<String>|
         -> Result<Option<aas::primitives::DateTime>, BuildError> {
            value
                .as_deref()
                .map(|raw| {
                    crate::translate::scaling::parse_rfc3339(raw)
                        .map(aas::primitives::DateTime::from_secs)
                        .ok_or_else(|| {
                            BuildError(format!("{field} {raw:?} is not an RFC 3339 time"))
                        })
                })
                .transpose()
        };
        Ok(
            aas::operation::put_scheduled_action::PutScheduledActionInput::builder()
                .service_namespace(at::ServiceNamespace::from(
                    request.service_namespace.as_str(),
                ))
                .schedule(&request.schedule)
                .set_timezone(request.timezone.clone())
                .scheduled_action_name(&request.scheduled_action_name)
                .resource_id(&request.resource_id)
                .scalable_dimension(at::ScalableDimension::from(
                    request.scalable_dimension.as_str(),
                ))
                .set_start_time(time("StartTime", &request.start_time)?)
                .set_end_time(time("EndTime", &request.end_time)?)
                .scalable_target_action(
                    at::ScalableTargetAction::builder()
                        .set_min_capacity(request.scalable_target_action.min_capacity)
                        .set_max_capacity(request.scalable_target_action.max_capacity)
                        .build(),
                ),
        )
    })()
    .map_err(|e| e.into_aws("application-autoscaling:PutScheduledAction"))
}
