//! Capacity provider shapes -> SDK types. Written out by hand: one of our `ENABLED`/`DISABLED`
//! enums and one range type stand for several SDK types, which `convert!` (one SDK type per shape
//! of ours) cannot express.

use aws_sdk_ecs::types as et;

use super::{BuildError, SetterArg};
use crate::api::capacity_provider as cp;
use crate::translate::capacity_provider::AutoScalingGroupProviderUpdate;

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, BuildError> {
    result.map_err(|e| BuildError(e.to_string()))
}

/// SDK enums from the values as ECS spells them (an unknown value passes as sent).
fn enums<T: for<'a> From<&'a str>>(values: &Option<Vec<String>>) -> Option<Vec<T>> {
    values
        .as_ref()
        .map(|v| v.iter().map(|s| T::from(s.as_str())).collect())
}

fn one<T: for<'a> From<&'a str>>(value: Option<impl AsRef<str>>) -> Option<T> {
    value.map(|v| T::from(v.as_ref()))
}

fn text(value: Option<cp::EnabledDisabled>) -> Option<&'static str> {
    value.map(|v| v.as_str())
}

fn managed_scaling(scaling: &cp::ManagedScaling) -> et::ManagedScaling {
    et::ManagedScaling::builder()
        .set_status(one(text(scaling.status)))
        .set_target_capacity(scaling.target_capacity)
        .set_minimum_scaling_step_size(scaling.minimum_scaling_step_size)
        .set_maximum_scaling_step_size(scaling.maximum_scaling_step_size)
        .set_instance_warmup_period(scaling.instance_warmup_period)
        .build()
}

/// CreateCapacityProvider's `autoScalingGroupProvider`.
pub fn auto_scaling_group(
    group: &cp::AutoScalingGroupProvider,
) -> Result<et::AutoScalingGroupProvider, BuildError> {
    build(
        et::AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(&group.auto_scaling_group_arn)
            .set_managed_scaling(group.managed_scaling.as_ref().map(managed_scaling))
            .set_managed_termination_protection(one(text(group.managed_termination_protection)))
            .set_managed_draining(one(text(group.managed_draining)))
            .build(),
    )
}

/// UpdateCapacityProvider's `autoScalingGroupProvider`.
pub fn auto_scaling_group_update(
    group: &AutoScalingGroupProviderUpdate,
) -> et::AutoScalingGroupProviderUpdate {
    et::AutoScalingGroupProviderUpdate::builder()
        .set_managed_scaling(group.managed_scaling.as_ref().map(managed_scaling))
        .set_managed_termination_protection(one(text(group.managed_termination_protection)))
        .set_managed_draining(one(text(group.managed_draining)))
        .build()
}

fn requirements(
    r: &cp::InstanceRequirements,
) -> Result<et::InstanceRequirementsRequest, BuildError> {
    let ints = |range: &Option<cp::OptIntRange>| range.as_ref().map(|r| (r.min, r.max));
    let decimals = |range: &Option<cp::DecimalRange>| range.as_ref().map(|r| (r.min, r.max));
    Ok(et::InstanceRequirementsRequest::builder()
        .v_cpu_count(build(
            et::VCpuCountRangeRequest::builder()
                .min(r.v_cpu_count.min)
                .set_max(r.v_cpu_count.max)
                .build(),
        )?)
        .memory_mib(build(
            et::MemoryMiBRequest::builder()
                .min(r.memory_mib.min)
                .set_max(r.memory_mib.max)
                .build(),
        )?)
        .set_cpu_manufacturers(enums(&r.cpu_manufacturers))
        .set_memory_gib_per_v_cpu(decimals(&r.memory_gib_per_v_cpu).map(|(min, max)| {
            et::MemoryGiBPerVCpuRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_excluded_instance_types(r.excluded_instance_types.clone())
        .set_instance_generations(enums(&r.instance_generations))
        .set_spot_max_price_percentage_over_lowest_price(
            r.spot_max_price_percentage_over_lowest_price,
        )
        .set_on_demand_max_price_percentage_over_lowest_price(
            r.on_demand_max_price_percentage_over_lowest_price,
        )
        .set_bare_metal(one(r.bare_metal.as_deref()))
        .set_burstable_performance(one(r.burstable_performance.as_deref()))
        .set_require_hibernate_support(r.require_hibernate_support)
        .set_network_interface_count(ints(&r.network_interface_count).map(|(min, max)| {
            et::NetworkInterfaceCountRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_local_storage(one(r.local_storage.as_deref()))
        .set_local_storage_types(enums(&r.local_storage_types))
        .set_total_local_storage_gb(decimals(&r.total_local_storage_gb).map(|(min, max)| {
            et::TotalLocalStorageGbRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_baseline_ebs_bandwidth_mbps(ints(&r.baseline_ebs_bandwidth_mbps).map(|(min, max)| {
            et::BaselineEbsBandwidthMbpsRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_accelerator_types(enums(&r.accelerator_types))
        .set_accelerator_count(ints(&r.accelerator_count).map(|(min, max)| {
            et::AcceleratorCountRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_accelerator_manufacturers(enums(&r.accelerator_manufacturers))
        .set_accelerator_names(enums(&r.accelerator_names))
        .set_accelerator_total_memory_mib(ints(&r.accelerator_total_memory_mib).map(
            |(min, max)| {
                et::AcceleratorTotalMemoryMiBRequest::builder()
                    .set_min(min)
                    .set_max(max)
                    .build()
            },
        ))
        .set_network_bandwidth_gbps(decimals(&r.network_bandwidth_gbps).map(|(min, max)| {
            et::NetworkBandwidthGbpsRequest::builder()
                .set_min(min)
                .set_max(max)
                .build()
        }))
        .set_allowed_instance_types(r.allowed_instance_types.clone())
        .set_max_spot_price_as_percentage_of_optimal_on_demand_price(
            r.max_spot_price_as_percentage_of_optimal_on_demand_price,
        )
        .build())
}

fn network(
    n: &cp::ManagedInstancesNetworkConfiguration,
) -> et::ManagedInstancesNetworkConfiguration {
    et::ManagedInstancesNetworkConfiguration::builder()
        .set_subnets(n.subnets.clone())
        .set_security_groups(n.security_groups.clone())
        .build()
}

fn storage(
    s: &cp::ManagedInstancesStorageConfiguration,
) -> et::ManagedInstancesStorageConfiguration {
    et::ManagedInstancesStorageConfiguration::builder()
        .set_storage_size_gib(s.storage_size_gib)
        .build()
}

fn local_storage(
    s: &cp::ManagedInstancesLocalStorageConfiguration,
) -> et::ManagedInstancesLocalStorageConfiguration {
    et::ManagedInstancesLocalStorageConfiguration::builder()
        .use_local_storage(s.use_local_storage)
        .build()
}

fn reservations(r: &cp::CapacityReservations) -> et::CapacityReservationRequest {
    et::CapacityReservationRequest::builder()
        .set_reservation_group_arn(r.reservation_group_arn.clone())
        .set_reservation_preference(one(r.reservation_preference.as_deref()))
        .build()
}

fn launch_template(
    t: &cp::InstanceLaunchTemplate,
) -> Result<et::InstanceLaunchTemplate, BuildError> {
    build(
        et::InstanceLaunchTemplate::builder()
            .ec2_instance_profile_arn(&t.ec2_instance_profile_arn)
            .set_network_configuration(t.network_configuration.as_ref().map(network))
            .set_storage_configuration(t.storage_configuration.as_ref().map(storage))
            .set_local_storage_configuration(
                t.local_storage_configuration.as_ref().map(local_storage),
            )
            .set_monitoring(one(t.monitoring.map(|m| m.as_str())))
            .set_capacity_option_type(one(t.capacity_option_type.map(|c| c.as_str())))
            .set_instance_metadata_tags_propagation(t.instance_metadata_tags_propagation)
            .set_instance_requirements(
                t.instance_requirements
                    .as_ref()
                    .map(requirements)
                    .transpose()?,
            )
            .set_fips_enabled(t.fips_enabled)
            .set_capacity_reservations(t.capacity_reservations.as_ref().map(reservations))
            .build(),
    )
}

fn launch_template_update(
    t: &cp::InstanceLaunchTemplate,
) -> Result<et::InstanceLaunchTemplateUpdate, BuildError> {
    Ok(et::InstanceLaunchTemplateUpdate::builder()
        .ec2_instance_profile_arn(&t.ec2_instance_profile_arn)
        .set_network_configuration(t.network_configuration.as_ref().map(network))
        .set_storage_configuration(t.storage_configuration.as_ref().map(storage))
        .set_local_storage_configuration(t.local_storage_configuration.as_ref().map(local_storage))
        .set_monitoring(one(t.monitoring.map(|m| m.as_str())))
        .set_instance_metadata_tags_propagation(t.instance_metadata_tags_propagation)
        .set_instance_requirements(
            t.instance_requirements
                .as_ref()
                .map(requirements)
                .transpose()?,
        )
        .set_capacity_reservations(t.capacity_reservations.as_ref().map(reservations))
        .build())
}

fn optimization(o: &cp::InfrastructureOptimization) -> et::InfrastructureOptimization {
    et::InfrastructureOptimization::builder()
        .set_scale_in_after(o.scale_in_after)
        .build()
}

fn repair(r: &cp::AutoRepairConfiguration) -> et::AutoRepairConfiguration {
    et::AutoRepairConfiguration::builder()
        .set_actions_status(one(text(r.actions_status)))
        .build()
}

/// CreateCapacityProvider's `managedInstancesProvider`.
pub fn managed_instances(
    m: &cp::ManagedInstancesProvider,
) -> Result<et::CreateManagedInstancesProviderConfiguration, BuildError> {
    build(
        et::CreateManagedInstancesProviderConfiguration::builder()
            .infrastructure_role_arn(&m.infrastructure_role_arn)
            .set_instance_launch_template(
                m.instance_launch_template
                    .as_ref()
                    .map(launch_template)
                    .transpose()?,
            )
            .set_propagate_tags(m.propagate_tags.arg()?)
            .set_infrastructure_optimization(
                m.infrastructure_optimization.as_ref().map(optimization),
            )
            .set_auto_repair_configuration(m.auto_repair_configuration.as_ref().map(repair))
            .build(),
    )
}

/// UpdateCapacityProvider's `managedInstancesProvider`.
pub fn managed_instances_update(
    m: &cp::ManagedInstancesProvider,
) -> Result<et::UpdateManagedInstancesProviderConfiguration, BuildError> {
    build(
        et::UpdateManagedInstancesProviderConfiguration::builder()
            .infrastructure_role_arn(&m.infrastructure_role_arn)
            .set_instance_launch_template(
                m.instance_launch_template
                    .as_ref()
                    .map(launch_template_update)
                    .transpose()?,
            )
            .set_propagate_tags(m.propagate_tags.arg()?)
            .set_infrastructure_optimization(
                m.infrastructure_optimization.as_ref().map(optimization),
            )
            .set_auto_repair_configuration(m.auto_repair_configuration.as_ref().map(repair))
            .build(),
    )
}
