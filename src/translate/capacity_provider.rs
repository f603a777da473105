//! EcsCapacityProvider -> ECS `CreateCapacityProvider` / `UpdateCapacityProvider`: validation and
//! the request types, in the ECS API's JSON shape.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, is_ecs_name, short_hash};
use crate::api::EcsCapacityProviderSpec;
use crate::api::capacity_provider::{
    AutoScalingGroupProvider, EnabledDisabled, ManagedInstancesProvider, ManagedScaling,
};
use crate::api::common::Tag;

/// The ECS `CreateCapacityProvider` request.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCapacityProviderRequest {
    /// Provider name.
    pub name: String,
    /// The cluster of a Managed Instances provider.
    pub cluster: Option<String>,
    /// The Auto Scaling group provider.
    pub auto_scaling_group_provider: Option<AutoScalingGroupProvider>,
    /// The Managed Instances provider.
    pub managed_instances_provider: Option<ManagedInstancesProvider>,
    /// The user's tags and the operator's ownership tags.
    pub tags: Option<Vec<Tag>>,
}

/// What UpdateCapacityProvider may change of an Auto Scaling group provider (everything but the
/// group).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingGroupProviderUpdate {
    /// Managed scaling.
    pub managed_scaling: Option<ManagedScaling>,
    /// Managed termination protection.
    pub managed_termination_protection: Option<EnabledDisabled>,
    /// Managed draining.
    pub managed_draining: Option<EnabledDisabled>,
}

/// The ECS `UpdateCapacityProvider` request.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCapacityProviderRequest {
    /// Provider name.
    pub name: String,
    /// The cluster of a Managed Instances provider.
    pub cluster: Option<String>,
    /// New Auto Scaling group settings.
    pub auto_scaling_group_provider: Option<AutoScalingGroupProviderUpdate>,
    /// New Managed Instances settings (the launch template's capacity option and FIPS setting
    /// cannot change and are not sent).
    pub managed_instances_provider: Option<ManagedInstancesProvider>,
}

/// The provider name: `spec.name`, else the object's name.
pub fn provider_name<'a>(object_name: &'a str, spec: &'a EcsCapacityProviderSpec) -> &'a str {
    spec.name.as_deref().unwrap_or(object_name)
}

/// The CreateCapacityProvider request, in `cluster` (resolved, for a Managed Instances
/// provider), with the operator's `owner_tags`.
pub fn create_request(
    object_name: &str,
    spec: &EcsCapacityProviderSpec,
    cluster: Option<&str>,
    owner_tags: &[Tag],
) -> CreateCapacityProviderRequest {
    let mut tags = spec.tags.clone().unwrap_or_default();
    tags.extend(owner_tags.iter().cloned());
    CreateCapacityProviderRequest {
        name: provider_name(object_name, spec).to_owned(),
        cluster: cluster.map(str::to_owned),
        auto_scaling_group_provider: spec.auto_scaling_group_provider.clone(),
        managed_instances_provider: spec.managed_instances_provider.clone(),
        tags: (!tags.is_empty()).then_some(tags),
    }
}

/// The UpdateCapacityProvider request that sets everything updatable to the spec.
pub fn update_request(
    object_name: &str,
    spec: &EcsCapacityProviderSpec,
    cluster: Option<&str>,
) -> UpdateCapacityProviderRequest {
    UpdateCapacityProviderRequest {
        name: provider_name(object_name, spec).to_owned(),
        cluster: cluster.map(str::to_owned),
        auto_scaling_group_provider: spec.auto_scaling_group_provider.as_ref().map(|group| {
            AutoScalingGroupProviderUpdate {
                managed_scaling: group.managed_scaling.clone(),
                managed_termination_protection: group.managed_termination_protection,
                managed_draining: group.managed_draining,
            }
        }),
        managed_instances_provider: spec.managed_instances_provider.clone().map(|mut managed| {
            if let Some(template) = managed.instance_launch_template.as_mut() {
                template.capacity_option_type = None;
                template.fips_enabled = None;
            }
            managed
        }),
    }
}

/// Hash of the provider settings (what a change of makes an update).
pub fn settings_hash(spec: &EcsCapacityProviderSpec) -> String {
    let settings = serde_json::json!([
        spec.auto_scaling_group_provider,
        spec.managed_instances_provider
    ]);
    short_hash(settings.to_string().as_bytes(), 8)
}

/// Checks the spec the way ECS will, with field paths.
pub fn validate(object_name: &str, spec: &EcsCapacityProviderSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let name = provider_name(object_name, spec);
    let path = if spec.name.is_some() {
        "spec.name"
    } else {
        "metadata.name"
    };
    if !is_ecs_name(name) {
        errors.push(
            path,
            format!("{name:?}: up to 255 letters, digits, hyphens and underscores"),
        );
    }
    // "The name can't be prefixed with "aws", "ecs", or "fargate"."
    let lower = name.to_ascii_lowercase();
    if ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        errors.push(
            path,
            format!(
                "{name:?}: capacity provider names starting with aws, ecs or fargate are reserved; set spec.name"
            ),
        );
    }
    match (
        &spec.auto_scaling_group_provider,
        &spec.managed_instances_provider,
    ) {
        (Some(group), None) => {
            let path = "spec.autoScalingGroupProvider";
            if spec.cluster.is_some() || spec.cluster_ref.is_some() {
                errors.push(
                    "spec.cluster",
                    "only a Managed Instances capacity provider belongs to a cluster; associate this one with clusters in their EcsCluster's capacityProviders",
                );
            }
            let scaling = group.managed_scaling.as_ref();
            if let Some(scaling) = scaling
                && let (Some(min), Some(max)) = (
                    scaling.minimum_scaling_step_size,
                    scaling.maximum_scaling_step_size,
                )
                && min > max
            {
                errors.push(
                    format!("{path}.managedScaling.minimumScalingStepSize"),
                    format!("{min} exceeds maximumScalingStepSize {max}"),
                );
            }
            // "When using managed termination protection, managed scaling must also be used
            // otherwise managed termination protection doesn't work."
            if group.managed_termination_protection == Some(EnabledDisabled::Enabled)
                && scaling.and_then(|s| s.status) != Some(EnabledDisabled::Enabled)
            {
                errors.push(
                    format!("{path}.managedTerminationProtection"),
                    "managed termination protection needs managedScaling.status: ENABLED",
                );
            }
        }
        (None, Some(_)) => {
            if spec.cluster.is_none() && spec.cluster_ref.is_none() {
                errors.push(
                    "spec.cluster",
                    "a Managed Instances capacity provider belongs to one cluster: set cluster or clusterRef",
                );
            }
        }
        _ => errors.push(
            "spec",
            "set exactly one of autoScalingGroupProvider and managedInstancesProvider",
        ),
    }
    if spec.cluster.is_some() && spec.cluster_ref.is_some() {
        errors.push(
            "spec.clusterRef",
            "set at most one of cluster and clusterRef",
        );
    }
    super::tags::validate(
        spec.tags.as_deref().unwrap_or_default(),
        "spec.tags",
        &mut errors,
    );
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::capacity_provider::{CapacityOptionType, InstanceLaunchTemplate};

    fn asg() -> EcsCapacityProviderSpec {
        EcsCapacityProviderSpec {
            auto_scaling_group_provider: Some(AutoScalingGroupProvider {
                auto_scaling_group_arn:
                    "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/web"
                        .into(),
                managed_scaling: Some(ManagedScaling {
                    status: Some(EnabledDisabled::Enabled),
                    target_capacity: Some(90),
                    ..Default::default()
                }),
                managed_termination_protection: Some(EnabledDisabled::Enabled),
                managed_draining: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn an_auto_scaling_group_provider_is_valid_and_updates_without_its_group() {
        assert_eq!(validate("web-asg", &asg()).0, vec![]);
        let update = update_request("web-asg", &asg(), None);
        let wire = serde_json::to_value(&update).expect("json");
        assert_eq!(
            wire,
            serde_json::json!({
                "name": "web-asg",
                "autoScalingGroupProvider": {
                    "managedScaling": {"status": "ENABLED", "targetCapacity": 90},
                    "managedTerminationProtection": "ENABLED"
                }
            })
        );
    }

    #[test]
    fn reserved_prefixes_termination_protection_and_kinds_are_checked() {
        let paths = |name: &str, spec: &EcsCapacityProviderSpec| -> Vec<String> {
            validate(name, spec).0.into_iter().map(|e| e.path).collect()
        };
        assert_eq!(paths("ECS-pool", &asg()), ["metadata.name"]);
        let mut unprotected = asg();
        if let Some(group) = unprotected.auto_scaling_group_provider.as_mut() {
            group.managed_scaling = None;
        }
        assert_eq!(
            paths("pool", &unprotected),
            ["spec.autoScalingGroupProvider.managedTerminationProtection"]
        );
        let managed = EcsCapacityProviderSpec {
            managed_instances_provider: Some(ManagedInstancesProvider::default()),
            ..Default::default()
        };
        assert_eq!(paths("pool", &managed), ["spec.cluster"]);
        assert_eq!(paths("pool", &EcsCapacityProviderSpec::default()), ["spec"]);
    }

    #[test]
    fn what_update_cannot_change_is_not_sent() {
        let spec = EcsCapacityProviderSpec {
            cluster: Some("prod".into()),
            managed_instances_provider: Some(ManagedInstancesProvider {
                infrastructure_role_arn: "arn:aws:iam::1:role/infra".into(),
                instance_launch_template: Some(InstanceLaunchTemplate {
                    ec2_instance_profile_arn: "arn:aws:iam::1:instance-profile/i".into(),
                    capacity_option_type: Some(CapacityOptionType::Spot),
                    fips_enabled: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let update = update_request("pool", &spec, Some("prod"));
        let template = update
            .managed_instances_provider
            .and_then(|m| m.instance_launch_template)
            .expect("template");
        assert_eq!(template.capacity_option_type, None);
        assert_eq!(template.fips_enabled, None);
        let create = create_request("pool", &spec, Some("prod"), &[]);
        assert_eq!(create.cluster.as_deref(), Some("prod"));
    }
}
