//! The UpdateService diff of the EcsService plan: every member as its normalised value (AWS
//! defaults written out, order-insensitive lists sorted), which members differ and must be sent,
//! which ones a deployment controller allows, and the UpdateService request of them. Pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::service::{
    AssignPublicIp, AvailabilityZoneRebalancing, AwsVpcConfiguration, DeploymentAlarms,
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentControllerType,
    DeploymentLifecycleHookAction, DeploymentLifecycleHookTargetType, DeploymentStrategy,
    PropagateTags, SchedulingStrategy, ServiceConnectConfiguration, ServiceSettings,
    ThresholdConfiguration, ThresholdType,
};
use crate::translate::service::UpdateServiceRequest;
use crate::translate::short_hash;

/// The members UpdateService can change, by their API names.
pub const UPDATABLE_MEMBERS: [&str; 17] = [
    "capacityProviderStrategy",
    "deploymentController",
    "deploymentConfiguration",
    "availabilityZoneRebalancing",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "enableECSManagedTags",
    "loadBalancers",
    "propagateTags",
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// Members ECS reports back exactly as they were sent (after normalisation), so a difference
/// between the spec and DescribeServices is drift to revert even when the spec did not change.
/// The others (Service Connect, volumes, VPC Lattice, platform version) may come back in another
/// form (names resolved to ARNs, LATEST resolved to a version), and a capacity provider strategy
/// sent empty comes back as the cluster's default, so for them only a change of the spec itself
/// causes an update.
pub const DRIFT_CHECKED_MEMBERS: [&str; 10] = [
    "deploymentConfiguration",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "enableECSManagedTags",
    "loadBalancers",
    "propagateTags",
    "serviceRegistries",
];

/// Members UpdateService keeps when left out, which [`normalise_settings`] gives the value a new
/// service gets, so that removing one from the spec sends that value (docs/removal-values.md).
pub const REMOVAL_DEFAULTED: [&str; 3] = [
    "deploymentController",
    "availabilityZoneRebalancing",
    "platformVersion",
];

/// Members UpdateService can never change: a change needs a new service. (`deploymentController`
/// changes in place for the transitions the reference lists, see [`controller_change_allowed`].)
pub const IMMUTABLE_MEMBERS: [&str; 3] = ["launchType", "schedulingStrategy", "role"];

/// "The following list provides the valid transitions: CODE_DEPLOY to ECS, CODE_DEPLOY to
/// EXTERNAL, ECS to EXTERNAL, EXTERNAL to ECS."
pub fn controller_change_allowed(
    from: DeploymentControllerType,
    to: DeploymentControllerType,
) -> bool {
    use DeploymentControllerType::{CodeDeploy, Ecs, External};
    from == to
        || matches!(
            (from, to),
            (CodeDeploy, Ecs) | (CodeDeploy, External) | (Ecs, External) | (External, Ecs)
        )
}

/// Members a CODE_DEPLOY service may change through UpdateService ("only the desired count,
/// deployment configuration, health check grace period, task placement constraints and
/// strategies, enable ECS managed tags option, and propagate tags can be updated using this API";
/// capacity providers too).
pub const CODE_DEPLOY_UPDATABLE: [&str; 7] = [
    "deploymentConfiguration",
    "healthCheckGracePeriodSeconds",
    "placementConstraints",
    "placementStrategy",
    "enableECSManagedTags",
    "propagateTags",
    "deploymentController",
];

/// Members an EXTERNAL service may change through UpdateService ("only the desired count, task
/// placement constraints and strategies, health check grace period, enable ECS managed tags
/// option, and propagate tags option").
pub const EXTERNAL_UPDATABLE: [&str; 6] = [
    "healthCheckGracePeriodSeconds",
    "placementConstraints",
    "placementStrategy",
    "enableECSManagedTags",
    "propagateTags",
    "deploymentController",
];

/// Every updatable and immutable member of `settings`, normalised (AWS defaults written out,
/// order-insensitive lists sorted, absent lists empty), as JSON keyed by the API name. Two
/// services are the same where these are equal.
pub fn member_values(settings: &ServiceSettings) -> BTreeMap<&'static str, Value> {
    let normalised = normalise_settings(settings);
    let json = serde_json::to_value(&normalised).unwrap_or(Value::Null);
    UPDATABLE_MEMBERS
        .iter()
        .chain(IMMUTABLE_MEMBERS.iter())
        .map(|member| (*member, json.get(*member).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// A short stable hash of one member's normalised value, recorded per member when applied.
pub fn member_hash(value: &Value) -> String {
    short_hash(value.to_string().as_bytes(), 6)
}

/// The members to send: those whose normalised desired value differs from what ECS reports and
/// either changed in the spec since last applied (`applied` holds each member's hash) or are
/// drift-checked. `allowed` limits them (CODE_DEPLOY / EXTERNAL services).
pub fn changed_members(
    desired: &BTreeMap<&'static str, Value>,
    observed: &BTreeMap<&'static str, Value>,
    applied: &BTreeMap<String, String>,
) -> Vec<&'static str> {
    UPDATABLE_MEMBERS
        .iter()
        .copied()
        .filter(|member| {
            let want = desired.get(member).unwrap_or(&Value::Null);
            let have = observed.get(member).unwrap_or(&Value::Null);
            if *want == Value::Null || want == have {
                return false;
            }
            let applied_hash = applied.get(*member).map(String::as_str);
            // A status written before these members got their removal values recorded them as
            // unset: ECS has its own default there, nothing was removed.
            if REMOVAL_DEFAULTED.contains(member)
                && applied_hash == Some(member_hash(&Value::Null).as_str())
            {
                return false;
            }
            let spec_changed = applied_hash != Some(member_hash(want).as_str());
            spec_changed || DRIFT_CHECKED_MEMBERS.contains(member)
        })
        .collect()
}

/// An UpdateService request carrying `members` with their desired values.
pub fn update_with(
    cluster: &str,
    service: &str,
    desired: &BTreeMap<&'static str, Value>,
    members: &[&'static str],
) -> UpdateServiceRequest {
    let mut body = serde_json::Map::new();
    body.insert("cluster".into(), Value::String(cluster.to_owned()));
    body.insert("service".into(), Value::String(service.to_owned()));
    for member in members {
        if let Some(value) = desired.get(member) {
            body.insert((*member).to_owned(), value.clone());
        }
    }
    // Every member's type is one of the request's own, so this cannot fail; fall back to identity.
    serde_json::from_value(Value::Object(body)).unwrap_or_else(|_| UpdateServiceRequest {
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        ..Default::default()
    })
}

/// Settings with AWS defaults written out, order-insensitive lists sorted and absent lists empty,
/// so that equal meaning compares equal (and a member removed from the spec compares as its
/// default, which is what gets sent to clear it).
pub fn normalise_settings(settings: &ServiceSettings) -> ServiceSettings {
    let mut out = settings.clone();
    let daemon = out.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    out.scheduling_strategy
        .get_or_insert(SchedulingStrategy::Replica);
    // With neither a launch type nor a strategy, ECS uses the cluster's default strategy and
    // reports it: nothing to compare. With a launch type, no strategy means an empty one.
    if out.launch_type.is_some() || out.capacity_provider_strategy.is_some() {
        let strategy = out.capacity_provider_strategy.get_or_insert_with(Vec::new);
        for item in strategy.iter_mut() {
            item.weight.get_or_insert(0);
            item.base.get_or_insert(0);
        }
        strategy.sort_by(|a, b| a.capacity_provider.cmp(&b.capacity_provider));
    }
    if let Some(config) = out
        .network_configuration
        .as_mut()
        .and_then(|n| n.awsvpc_configuration.as_mut())
    {
        normalise_vpc(config);
    }
    // Members UpdateService keeps when they are left out, so a member removed from the spec is
    // sent as the value a new service gets (docs/removal-values.md):
    // CreateService: "If no deployment controller is specified, the default value of ECS is used."
    out.deployment_controller
        .get_or_insert(crate::api::service::DeploymentController {
            r#type: DeploymentControllerType::Ecs,
        });
    // "For create service requests, when no value is specified for AvailabilityZoneRebalancing,
    // Amazon ECS defaults the value to ENABLED" (DAEMON services are created DISABLED).
    out.availability_zone_rebalancing.get_or_insert(if daemon {
        AvailabilityZoneRebalancing::Disabled
    } else {
        AvailabilityZoneRebalancing::Enabled
    });
    // "If a platform version is not specified, the LATEST platform version is used." (Fargate
    // only; EC2 services have none.)
    let fargate = out.launch_type == Some(crate::api::service::LaunchType::Fargate)
        || out
            .capacity_provider_strategy
            .iter()
            .flatten()
            .any(|s| s.capacity_provider.starts_with("FARGATE"));
    if fargate {
        out.platform_version.get_or_insert_with(|| "LATEST".into());
    }
    let ecs_controller = out
        .deployment_controller
        .as_ref()
        .is_none_or(|c| c.r#type == DeploymentControllerType::Ecs);
    let deployment = out
        .deployment_configuration
        .get_or_insert_with(DeploymentConfiguration::default);
    // "The default value for a replica service for minimumHealthyPercent is 100%. The default
    // ... for a service using the DAEMON service schedule is 0%"; maximumPercent 200% / 100%.
    deployment
        .maximum_percent
        .get_or_insert(if daemon { 100 } else { 200 });
    deployment
        .minimum_healthy_percent
        .get_or_insert(if daemon { 0 } else { 100 });
    if ecs_controller {
        // What DescribeServices reports for a rolling service nobody configured further:
        // "deploymentCircuitBreaker": {"enable": false, "rollback": false}, "strategy": "ROLLING",
        // "bakeTimeInMinutes": 0, and alarms switched off. Removing alarms from the spec sends
        // them switched off: an omitted member would mean "unchanged".
        let breaker = deployment
            .deployment_circuit_breaker
            .get_or_insert(DeploymentCircuitBreaker::default());
        // The newer breaker and early-success members at their documented defaults ("The
        // default is true"; "a type of BOUNDED_PERCENT with a value of 50"; early success "The
        // default value is false") are the same as left out: ECS may echo either.
        if breaker.reset_on_healthy_task == Some(true) {
            breaker.reset_on_healthy_task = None;
        }
        if breaker.threshold_configuration
            == Some(ThresholdConfiguration {
                r#type: ThresholdType::BoundedPercent,
                value: 50,
            })
        {
            breaker.threshold_configuration = None;
        }
        if deployment
            .early_success_criteria
            .as_ref()
            .is_some_and(|e| !e.enable)
        {
            deployment.early_success_criteria = None;
        }
        let alarms = deployment
            .alarms
            .get_or_insert_with(DeploymentAlarms::default);
        alarms.alarm_names.sort();
        let strategy = *deployment
            .strategy
            .get_or_insert(DeploymentStrategy::Rolling);
        if strategy == DeploymentStrategy::Rolling {
            // The bake time ("You must provide this parameter when you use the BLUE_GREEN
            // deployment strategy"), lifecycle hooks and the LINEAR / CANARY settings belong to
            // the strategies that shift traffic: never sent for a rolling service, and not
            // compared (ECS reports "bakeTimeInMinutes": 0 for one, and may keep what a former
            // BLUE_GREEN configuration set).
            deployment.bake_time_in_minutes = None;
            deployment.lifecycle_hooks = None;
            deployment.linear_configuration = None;
            deployment.canary_configuration = None;
        } else {
            deployment.bake_time_in_minutes.get_or_insert(0);
        }
        // Documented defaults ECS may echo: hook type AWS_LAMBDA, timeout 1440 minutes then
        // ROLLBACK; LINEAR steps of 10 % every 6 minutes; CANARY 5 % for 10 minutes.
        let hooks = match strategy {
            DeploymentStrategy::Rolling => None,
            _ => Some(deployment.lifecycle_hooks.get_or_insert_with(Vec::new)),
        };
        for hook in hooks.into_iter().flatten() {
            hook.target_type
                .get_or_insert(DeploymentLifecycleHookTargetType::AwsLambda);
            let timeout = hook
                .timeout_configuration
                .get_or_insert_with(Default::default);
            timeout.timeout_in_minutes.get_or_insert(1440);
            timeout
                .action
                .get_or_insert(DeploymentLifecycleHookAction::Rollback);
        }
        if strategy == DeploymentStrategy::Linear {
            let linear = deployment
                .linear_configuration
                .get_or_insert_with(Default::default);
            linear.step_percent.get_or_insert(10.0);
            linear.step_bake_time_in_minutes.get_or_insert(6);
        }
        if strategy == DeploymentStrategy::Canary {
            let canary = deployment
                .canary_configuration
                .get_or_insert_with(Default::default);
            canary.canary_percent.get_or_insert(5.0);
            canary.canary_bake_time_in_minutes.get_or_insert(10);
        }
    } else {
        // The circuit breaker, alarms and strategies belong to the ECS deployment controller
        // (validation refuses them for CODE_DEPLOY and EXTERNAL): whatever ECS reports of them
        // for another controller (its rolling defaults) is nothing to send or compare.
        deployment.deployment_circuit_breaker = None;
        deployment.alarms = None;
        deployment.strategy = None;
        deployment.bake_time_in_minutes = None;
        deployment.lifecycle_hooks = None;
        deployment.linear_configuration = None;
        deployment.canary_configuration = None;
        deployment.early_success_criteria = None;
    }
    out.placement_constraints.get_or_insert_with(Vec::new);
    out.placement_strategy.get_or_insert_with(Vec::new);
    out.load_balancers
        .get_or_insert_with(Vec::new)
        .sort_by(|a, b| {
            (
                &a.target_group_arn,
                &a.load_balancer_name,
                &a.container_name,
                a.container_port,
            )
                .cmp(&(
                    &b.target_group_arn,
                    &b.load_balancer_name,
                    &b.container_name,
                    b.container_port,
                ))
        });
    out.service_registries.get_or_insert_with(Vec::new);
    out.volume_configurations.get_or_insert_with(Vec::new);
    out.vpc_lattice_configurations.get_or_insert_with(Vec::new);
    out.health_check_grace_period_seconds.get_or_insert(0);
    out.enable_execute_command.get_or_insert(false);
    out.enable_ecs_managed_tags.get_or_insert(false);
    out.propagate_tags.get_or_insert(PropagateTags::None);
    let connect = out
        .service_connect_configuration
        .get_or_insert_with(ServiceConnectConfiguration::default);
    if !connect.enabled {
        // Off is off, whatever else is written.
        *connect = ServiceConnectConfiguration::default();
    }
    if let Some(tags) = out.tags.as_mut() {
        tags.sort_by(|a, b| a.key.cmp(&b.key));
    }
    if out
        .deployment_controller
        .as_ref()
        .is_some_and(|c| c.r#type == DeploymentControllerType::External)
    {
        // "When you call the DescribeServices API action, it returns all fields specified for a
        // primary task set": these belong to the task sets of an EXTERNAL service, whatever the
        // service level shows, and are never the spec's to compare or send.
        for_task_sets(&mut out);
    }
    out
}

/// Clears the members an EXTERNAL service's task sets carry.
fn for_task_sets(settings: &mut ServiceSettings) {
    settings.launch_type = None;
    settings.capacity_provider_strategy = None;
    settings.platform_version = None;
    settings.network_configuration = None;
    settings.load_balancers = None;
    settings.service_registries = None;
    settings.service_connect_configuration = None;
    settings.volume_configurations = None;
    settings.vpc_lattice_configurations = None;
}

fn normalise_vpc(config: &mut AwsVpcConfiguration) {
    config.subnets.sort();
    config.subnets.dedup();
    if let Some(groups) = config.security_groups.as_mut() {
        groups.sort();
        groups.dedup();
    }
    config
        .assign_public_ip
        .get_or_insert(AssignPublicIp::Disabled);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::NetworkConfiguration;
    use crate::translate::service::create_request;
    use crate::translate::service::fixtures::{base, spec};
    use serde_json::json;

    #[test]
    fn aws_defaults_and_order_compare_equal() {
        let desired = create_request("web", &spec(base()), None, 1, &[]).expect("desired");
        let mut observed = desired.settings.clone();
        // What DescribeServices reports: defaults filled in, lists in another order.
        observed.network_configuration = Some(NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration {
                subnets: vec!["a".into(), "b".into()],
                security_groups: Some(vec!["sg".into()]),
                assign_public_ip: Some(AssignPublicIp::Disabled),
            }),
        });
        observed.deployment_configuration = Some(DeploymentConfiguration {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker::default()),
            ..Default::default()
        });
        observed.health_check_grace_period_seconds = Some(0);
        observed.enable_execute_command = Some(false);
        observed.propagate_tags = Some(PropagateTags::None);
        observed.placement_constraints = Some(vec![]);
        assert_eq!(member_values(&desired.settings), member_values(&observed));
        assert!(
            changed_members(
                &member_values(&desired.settings),
                &member_values(&observed),
                &BTreeMap::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn breaker_and_early_success_defaults_echoed_by_ecs_are_no_difference() {
        let desired = create_request("web", &spec(base()), None, 1, &[]).expect("desired");
        let mut observed = desired.settings.clone();
        observed.deployment_configuration = Some(DeploymentConfiguration {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker {
                reset_on_healthy_task: Some(true),
                threshold_configuration: Some(ThresholdConfiguration {
                    r#type: ThresholdType::BoundedPercent,
                    value: 50,
                }),
                ..Default::default()
            }),
            early_success_criteria: Some(crate::api::service::DeploymentEarlySuccessCriteria {
                enable: false,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(
            member_values(&desired.settings)["deploymentConfiguration"],
            member_values(&observed)["deploymentConfiguration"]
        );
        // A threshold other than the default is a difference.
        if let Some(breaker) = observed
            .deployment_configuration
            .as_mut()
            .and_then(|d| d.deployment_circuit_breaker.as_mut())
        {
            breaker.threshold_configuration = Some(ThresholdConfiguration {
                r#type: ThresholdType::Count,
                value: 5,
            });
        }
        assert_ne!(
            member_values(&desired.settings)["deploymentConfiguration"],
            member_values(&observed)["deploymentConfiguration"]
        );
    }

    #[test]
    fn only_changed_members_are_sent_with_their_full_value() {
        let mut changed = base();
        changed["healthCheckGracePeriodSeconds"] = json!(30);
        let desired = member_values(
            &create_request("web", &spec(changed), None, 1, &[])
                .expect("desired")
                .settings,
        );
        let observed = member_values(
            &create_request("web", &spec(base()), None, 1, &[])
                .expect("observed")
                .settings,
        );
        let members = changed_members(&desired, &observed, &BTreeMap::new());
        assert_eq!(members, ["healthCheckGracePeriodSeconds"]);
        assert_eq!(
            serde_json::to_value(update_with("prod", "web", &desired, &members)).expect("json"),
            json!({"cluster": "prod", "service": "web", "healthCheckGracePeriodSeconds": 30})
        );
    }

    #[test]
    fn a_member_whose_spec_is_unchanged_is_resent_only_when_ecs_reports_it_exactly() {
        let mut with_connect = base();
        with_connect["serviceConnectConfiguration"] =
            json!({"enabled": true, "namespace": "internal"});
        let desired = member_values(
            &create_request("web", &spec(with_connect), None, 1, &[])
                .expect("desired")
                .settings,
        );
        let mut observed = desired.clone();
        observed.insert(
            "serviceConnectConfiguration",
            json!({"enabled": true, "namespace": "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1"}),
        );
        let applied: BTreeMap<String, String> = desired
            .iter()
            .map(|(k, v)| ((*k).to_owned(), member_hash(v)))
            .collect();
        assert!(changed_members(&desired, &observed, &applied).is_empty());
        assert_eq!(
            changed_members(&desired, &observed, &BTreeMap::new()),
            ["serviceConnectConfiguration"],
            "never applied: sent"
        );
    }

    #[test]
    fn rolling_defaults_reported_for_code_deploy_are_not_a_difference() {
        let code_deploy = json!({"cluster": "prod", "taskDefinition": "web", "desiredCount": 2,
            "deploymentController": {"type": "CODE_DEPLOY"}});
        let settings = create_request("web", &spec(code_deploy), None, 1, &[])
            .expect("code deploy")
            .settings;
        let mut reported = settings.clone();
        reported.deployment_configuration = Some(DeploymentConfiguration {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker::default()),
            strategy: Some(DeploymentStrategy::Rolling),
            bake_time_in_minutes: Some(0),
            alarms: Some(DeploymentAlarms::default()),
            ..Default::default()
        });
        let desired = member_values(&settings);
        let observed = member_values(&reported);
        assert!(
            changed_members(&desired, &observed, &BTreeMap::new()).is_empty(),
            "{:?} against {:?}",
            desired["deploymentConfiguration"],
            observed["deploymentConfiguration"]
        );
    }

    #[test]
    fn daemon_defaults_differ_from_replica() {
        let daemon = json!({"cluster": "prod", "taskDefinition": "agent", "schedulingStrategy": "DAEMON", "launchType": "EC2"});
        let settings = create_request("agent", &spec(daemon), None, 1, &[])
            .expect("daemon")
            .settings;
        let normalised = normalise_settings(&settings);
        let deployment = normalised.deployment_configuration.expect("defaults");
        assert_eq!(
            (
                deployment.maximum_percent,
                deployment.minimum_healthy_percent
            ),
            (Some(100), Some(0))
        );
    }
}
