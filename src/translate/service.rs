//! EcsService -> ECS `CreateService` / `UpdateService`: validation, requests and the update plan.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, TranslateError, duplicates, is_arn_of, is_ecs_name};
use crate::api::EcsServiceSpec;
use crate::api::common::Tag;
use crate::api::service::AvailabilityZoneRebalancing;
use crate::api::service::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeploymentAlarms,
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentController, LaunchType,
    LoadBalancer, NetworkConfiguration, PlacementConstraint, PlacementStrategy,
    PlacementStrategyType, PropagateTags, SchedulingStrategy, ServiceConnectConfiguration,
    ServiceRegistry, ServiceSettings,
};

/// The desired count a service gets at creation when the spec leaves it to the autoscaler and no
/// scaling policy says otherwise.
pub const DEFAULT_DESIRED_COUNT_AT_CREATE: i32 = 1;

/// The ECS `CreateService` request, in the ECS API's JSON shape.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceRequest {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name.
    pub service_name: String,
    /// Task definition family, family:revision or ARN.
    pub task_definition: String,
    /// Tasks to run (absent for DAEMON services).
    pub desired_count: Option<i32>,
    /// The members passed through from the spec.
    #[serde(flatten)]
    pub settings: ServiceSettings,
    /// Idempotency token: a retried create with the same token cannot make a second service.
    pub client_token: Option<String>,
}

/// The ECS `UpdateService` request: identity plus only the members that differ from AWS.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceRequest {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN.
    pub service: String,
    /// New desired count.
    pub desired_count: Option<i32>,
    /// New task definition (starts a deployment).
    pub task_definition: Option<String>,
    /// New capacity provider strategy.
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// New deployment configuration.
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// New Availability Zone rebalancing setting.
    pub availability_zone_rebalancing: Option<AvailabilityZoneRebalancing>,
    /// New network configuration.
    pub network_configuration: Option<NetworkConfiguration>,
    /// New placement constraints.
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// New placement strategy.
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// New platform version.
    pub platform_version: Option<String>,
    /// New grace period.
    pub health_check_grace_period_seconds: Option<i32>,
    /// New deployment controller.
    pub deployment_controller: Option<DeploymentController>,
    /// New ECS Exec setting.
    pub enable_execute_command: Option<bool>,
    /// New managed tags setting.
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// New load balancers (an empty list removes them all).
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// New tag propagation.
    pub propagate_tags: Option<PropagateTags>,
    /// New service registries (an empty list removes them all).
    pub service_registries: Option<Vec<ServiceRegistry>>,
    /// New Service Connect configuration.
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
}

/// The ECS service name an object manages: `spec.serviceName`, or the object's name.
pub fn service_name<'a>(object_name: &'a str, spec: &'a EcsServiceSpec) -> &'a str {
    spec.service_name.as_deref().unwrap_or(object_name)
}

/// The `CreateService` request for an object, given its task definition (the literal from the
/// spec, or what `taskDefinitionRef` resolved to) and the desired count to start with when the
/// spec leaves it open. `extra_tags` are the operator's ownership tags.
pub fn create_request(
    object_name: &str,
    spec: &EcsServiceSpec,
    resolved_task_definition: Option<&str>,
    desired_count_if_unset: i32,
    extra_tags: &[Tag],
) -> Result<CreateServiceRequest, TranslateError> {
    validate(object_name, spec).into_result()?;
    let task_definition = match (spec.task_definition.as_deref(), resolved_task_definition) {
        (Some(literal), _) => literal.to_owned(),
        (None, Some(resolved)) => resolved.to_owned(),
        (None, None) => {
            return Err(TranslateError::Unresolved {
                path: "spec.taskDefinitionRef".into(),
                message: "the referenced EcsTaskDefinition has no registered revision yet".into(),
            });
        }
    };
    let daemon = spec.settings.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    let mut settings = spec.settings.clone();
    if !extra_tags.is_empty() {
        let tags = settings.tags.get_or_insert_with(Vec::new);
        for tag in extra_tags {
            tags.retain(|t| t.key != tag.key);
            tags.push(tag.clone());
        }
    }
    Ok(CreateServiceRequest {
        cluster: spec.cluster.clone(),
        service_name: service_name(object_name, spec).to_owned(),
        task_definition,
        desired_count: (!daemon).then(|| spec.desired_count.unwrap_or(desired_count_if_unset)),
        settings,
        client_token: None,
    })
}

/// The `UpdateService` request that makes `observed` (AWS's view of the service, in the same
/// shape) match `desired`, or `None` when nothing differs. Only members the user wrote are
/// compared, after normalisation, so AWS defaults never cause an update; `desiredCount` is sent
/// only when the spec sets it (otherwise the autoscaler owns it). Load balancers and service
/// registries removed from the spec are removed from the service.
pub fn update_request(
    desired: &CreateServiceRequest,
    observed: &CreateServiceRequest,
    spec_sets_desired_count: bool,
) -> Option<UpdateServiceRequest> {
    let want = normalise_settings(&desired.settings);
    let have = normalise_settings(&observed.settings);
    let mut update = UpdateServiceRequest {
        cluster: desired.cluster.clone(),
        service: desired.service_name.clone(),
        ..Default::default()
    };

    fn changed<T: Clone + PartialEq>(want: &Option<T>, have: &Option<T>) -> Option<T> {
        match want {
            Some(w) if Some(w) != have.as_ref() => Some(w.clone()),
            _ => None,
        }
    }

    if spec_sets_desired_count && desired.desired_count != observed.desired_count {
        update.desired_count = desired.desired_count;
    }
    if desired.task_definition != observed.task_definition {
        update.task_definition = Some(desired.task_definition.clone());
    }
    update.capacity_provider_strategy = changed(
        &want.capacity_provider_strategy,
        &have.capacity_provider_strategy,
    );
    update.deployment_configuration = changed(
        &want.deployment_configuration,
        &have.deployment_configuration,
    );
    update.availability_zone_rebalancing = changed(
        &want.availability_zone_rebalancing,
        &have.availability_zone_rebalancing,
    );
    update.network_configuration =
        changed(&want.network_configuration, &have.network_configuration);
    update.placement_constraints =
        changed(&want.placement_constraints, &have.placement_constraints);
    update.placement_strategy = changed(&want.placement_strategy, &have.placement_strategy);
    update.platform_version = changed(&want.platform_version, &have.platform_version);
    update.health_check_grace_period_seconds = changed(
        &want.health_check_grace_period_seconds,
        &have.health_check_grace_period_seconds,
    );
    update.deployment_controller =
        changed(&want.deployment_controller, &have.deployment_controller);
    update.enable_execute_command =
        changed(&want.enable_execute_command, &have.enable_execute_command);
    update.enable_ecs_managed_tags =
        changed(&want.enable_ecs_managed_tags, &have.enable_ecs_managed_tags);
    update.propagate_tags = changed(&want.propagate_tags, &have.propagate_tags);
    update.service_connect_configuration = changed(
        &want.service_connect_configuration,
        &have.service_connect_configuration,
    );
    update.load_balancers = changed_or_cleared(&want.load_balancers, &have.load_balancers);
    update.service_registries =
        changed_or_cleared(&want.service_registries, &have.service_registries);

    let identity_only = UpdateServiceRequest {
        cluster: update.cluster.clone(),
        service: update.service.clone(),
        ..Default::default()
    };
    (update != identity_only).then_some(update)
}

/// For lists the user can remove entirely: absent in the spec but present in AWS means "clear".
fn changed_or_cleared<T: Clone + PartialEq>(
    want: &Option<Vec<T>>,
    have: &Option<Vec<T>>,
) -> Option<Vec<T>> {
    let want_list = want.clone().unwrap_or_default();
    let have_list = have.clone().unwrap_or_default();
    (want_list != have_list).then_some(want_list)
}

/// Settings with AWS defaults written out and order-insensitive lists sorted, so that equal meaning
/// compares equal.
pub fn normalise_settings(settings: &ServiceSettings) -> ServiceSettings {
    let mut out = settings.clone();
    if let Some(strategy) = out.capacity_provider_strategy.as_mut() {
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
    if let Some(deployment) = out.deployment_configuration.as_mut() {
        deployment.maximum_percent.get_or_insert(200);
        deployment.minimum_healthy_percent.get_or_insert(100);
        deployment
            .deployment_circuit_breaker
            .get_or_insert(DeploymentCircuitBreaker::default());
        let alarms = deployment.alarms.get_or_insert(DeploymentAlarms::default());
        alarms.alarm_names.sort();
    }
    if let Some(lbs) = out.load_balancers.as_mut() {
        lbs.sort_by(|a, b| {
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
    }
    if let Some(tags) = out.tags.as_mut() {
        tags.sort_by(|a, b| a.key.cmp(&b.key));
    }
    out
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

/// Every rule of the ECS API a CRD schema cannot express, reported with field paths.
pub fn validate(object_name: &str, spec: &EcsServiceSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let settings = &spec.settings;

    if spec.cluster.is_empty() || !(is_ecs_name(&spec.cluster) || is_arn_of(&spec.cluster, "ecs")) {
        errors.push(
            "spec.cluster",
            format!(
                "{:?} is neither a cluster name nor a cluster ARN",
                spec.cluster
            ),
        );
    }
    let name = service_name(object_name, spec);
    if !is_ecs_name(name) {
        let path = if spec.service_name.is_some() {
            "spec.serviceName"
        } else {
            "spec.serviceName (defaulted from metadata.name)"
        };
        errors.push(path, format!("{name:?} is not a valid service name: use 1-255 letters, digits, hyphens or underscores"));
    }

    match (&spec.task_definition_ref, &spec.task_definition) {
        (Some(_), Some(_)) => errors.push(
            "spec.taskDefinition",
            "set exactly one of taskDefinitionRef or taskDefinition, not both",
        ),
        (None, None) => errors.push(
            "spec.taskDefinitionRef",
            "set taskDefinitionRef (an EcsTaskDefinition in this namespace) or taskDefinition (family[:revision] or ARN)",
        ),
        (None, Some(literal)) if !is_task_definition_reference(literal) => errors.push(
            "spec.taskDefinition",
            format!("{literal:?} is not a family, family:revision or task definition ARN"),
        ),
        _ => {}
    }

    super::tags::validate(
        settings.tags.as_deref().unwrap_or_default(),
        "spec.tags",
        &mut errors,
    );

    let daemon = settings.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    if daemon && spec.desired_count.is_some() {
        errors.push(
            "spec.desiredCount",
            "DAEMON services run one task per instance; remove desiredCount",
        );
    }

    let strategy = settings
        .capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    if settings.launch_type.is_some() && settings.capacity_provider_strategy.is_some() {
        errors.push(
            "spec.capacityProviderStrategy",
            "launchType and capacityProviderStrategy are mutually exclusive; remove one",
        );
    }
    for (i, provider) in duplicates(strategy.iter().map(|s| s.capacity_provider.as_str())) {
        errors.push(
            format!("spec.capacityProviderStrategy[{i}].capacityProvider"),
            format!("capacity provider {provider:?} is listed twice"),
        );
    }
    let with_base: Vec<usize> = strategy
        .iter()
        .enumerate()
        .filter(|(_, s)| s.base.unwrap_or(0) > 0)
        .map(|(i, _)| i)
        .collect();
    if let Some(second) = with_base.get(1) {
        errors.push(
            format!("spec.capacityProviderStrategy[{second}].base"),
            "only one capacity provider of a strategy may set a base",
        );
    }
    if !strategy.is_empty() && strategy.iter().all(|s| s.weight.unwrap_or(0) == 0) {
        errors.push(
            "spec.capacityProviderStrategy",
            "at least one capacity provider needs a weight greater than 0",
        );
    }

    let fargate = settings.launch_type == Some(LaunchType::Fargate)
        || strategy
            .iter()
            .any(|s| s.capacity_provider.starts_with("FARGATE"));
    if fargate {
        if settings
            .network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
            .is_none()
        {
            errors.push(
                "spec.networkConfiguration.awsvpcConfiguration",
                "Fargate services need subnets (and usually security groups) in networkConfiguration.awsvpcConfiguration",
            );
        }
        if daemon {
            errors.push(
                "spec.schedulingStrategy",
                "Fargate does not support DAEMON services; use REPLICA",
            );
        }
        if settings
            .placement_strategy
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            errors.push(
                "spec.placementStrategy",
                "Fargate does not support placement strategies; remove them",
            );
        }
        if settings
            .placement_constraints
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            errors.push(
                "spec.placementConstraints",
                "Fargate does not support placement constraints; remove them",
            );
        }
    }

    if let Some(deployment) = &settings.deployment_configuration {
        if let (Some(min), Some(max)) = (
            deployment.minimum_healthy_percent,
            deployment.maximum_percent,
        ) && min > max
        {
            errors.push(
                "spec.deploymentConfiguration.minimumHealthyPercent",
                format!(
                    "{min} is above maximumPercent {max}; a deployment could never make progress"
                ),
            );
        }
        if let Some(max) = deployment.maximum_percent
            && !daemon
            && max < 100
            && deployment.minimum_healthy_percent.is_none()
        {
            errors.push(
                    "spec.deploymentConfiguration.maximumPercent",
                    format!("{max} is below the default minimumHealthyPercent of 100; set minimumHealthyPercent too"),
                );
        }
        if let Some(alarms) = &deployment.alarms
            && alarms.enable
            && alarms.alarm_names.is_empty()
        {
            errors.push(
                "spec.deploymentConfiguration.alarms.alarmNames",
                "name at least one CloudWatch alarm, or set enable: false",
            );
        }
    }

    for (i, lb) in settings.load_balancers.iter().flatten().enumerate() {
        let at = format!("spec.loadBalancers[{i}]");
        match (&lb.target_group_arn, &lb.load_balancer_name) {
            (Some(_), Some(_)) => errors.push(
                format!("{at}.loadBalancerName"),
                "set targetGroupArn or loadBalancerName, not both",
            ),
            (None, None) => errors.push(
                format!("{at}.targetGroupArn"),
                "set the target group ARN (or a Classic Load Balancer name)",
            ),
            (Some(arn), None) if !is_arn_of(arn, "elasticloadbalancing") => errors.push(
                format!("{at}.targetGroupArn"),
                format!("{arn:?} is not an Elastic Load Balancing target group ARN"),
            ),
            _ => {}
        }
        if lb.container_name.is_none() {
            errors.push(
                format!("{at}.containerName"),
                "name the container that receives the traffic",
            );
        }
        if lb.container_port.is_none() {
            errors.push(
                format!("{at}.containerPort"),
                "give the container port that receives the traffic",
            );
        }
    }

    for (i, registry) in settings.service_registries.iter().flatten().enumerate() {
        if registry.registry_arn.is_none() {
            errors.push(
                format!("spec.serviceRegistries[{i}].registryArn"),
                "give the Cloud Map service ARN",
            );
        }
    }

    for (i, placement) in settings.placement_strategy.iter().flatten().enumerate() {
        let at = format!("spec.placementStrategy[{i}]");
        match (placement.r#type, placement.field.as_deref()) {
            (None, _) => errors.push(format!("{at}.type"), "set the type: random, spread or binpack"),
            (Some(PlacementStrategyType::Binpack), field) if !matches!(field, Some("cpu" | "memory")) => {
                errors.push(format!("{at}.field"), "binpack needs field: cpu or memory")
            }
            (Some(PlacementStrategyType::Spread), None) => errors.push(
                format!("{at}.field"),
                "spread needs a field: instanceId, host or an attribute such as attribute:ecs.availability-zone",
            ),
            (Some(PlacementStrategyType::Random), Some(_)) => {
                errors.push(format!("{at}.field"), "random takes no field; remove it")
            }
            _ => {}
        }
    }
    for (i, constraint) in settings.placement_constraints.iter().flatten().enumerate() {
        use crate::api::service::PlacementConstraintType;
        let at = format!("spec.placementConstraints[{i}]");
        match (constraint.r#type, &constraint.expression) {
            (None, _) => errors.push(
                format!("{at}.type"),
                "set the type: distinctInstance or memberOf",
            ),
            (Some(PlacementConstraintType::MemberOf), None) => errors.push(
                format!("{at}.expression"),
                "memberOf needs a cluster query language expression",
            ),
            (Some(PlacementConstraintType::DistinctInstance), Some(_)) => errors.push(
                format!("{at}.expression"),
                "distinctInstance takes no expression; remove it",
            ),
            _ => {}
        }
    }
    if let Some(connect) = &settings.service_connect_configuration {
        for (i, service) in connect.services.iter().flatten().enumerate() {
            if service.port_name.is_empty() {
                errors.push(
                    format!("spec.serviceConnectConfiguration.services[{i}].portName"),
                    "name a port mapping of the task definition",
                );
            }
        }
    }
    errors
}

/// `family`, `family:revision` or a task definition ARN.
fn is_task_definition_reference(value: &str) -> bool {
    if is_arn_of(value, "ecs") {
        return value.contains(":task-definition/");
    }
    match value.split_once(':') {
        None => is_ecs_name(value),
        Some((family, revision)) => {
            is_ecs_name(family) && revision.parse::<u32>().is_ok_and(|r| r > 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> EcsServiceSpec {
        serde_json::from_value(value).expect("spec")
    }

    fn base() -> serde_json::Value {
        json!({"cluster": "prod", "taskDefinition": "web:3", "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["b", "a"], "securityGroups": ["sg"]}}})
    }

    #[test]
    fn aws_defaults_cause_no_update() {
        let desired = create_request("web", &spec(base()), None, 1, &[]).expect("desired");
        let mut observed = desired.clone();
        // What DescribeServices reports: defaults filled in, lists in another order.
        observed.settings.network_configuration = Some(NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration {
                subnets: vec!["a".into(), "b".into()],
                security_groups: Some(vec!["sg".into()]),
                assign_public_ip: Some(AssignPublicIp::Disabled),
            }),
        });
        observed.settings.deployment_configuration = Some(DeploymentConfiguration {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker::default()),
            alarms: None,
        });
        assert_eq!(update_request(&desired, &observed, false), None);
    }

    #[test]
    fn update_carries_only_what_changed() {
        let mut changed = base();
        changed["taskDefinition"] = json!("web:4");
        changed["desiredCount"] = json!(5);
        let desired = create_request("web", &spec(changed), None, 1, &[]).expect("desired");
        let observed = create_request("web", &spec(base()), None, 2, &[]).expect("observed");
        let update = update_request(&desired, &observed, true).expect("update");
        assert_eq!(
            serde_json::to_value(&update).expect("json"),
            json!({"cluster": "prod", "service": "web", "taskDefinition": "web:4", "desiredCount": 5})
        );
        // An autoscaler owns desiredCount when the spec does not set it.
        let update = update_request(&desired, &observed, false).expect("update");
        assert_eq!(update.desired_count, None);
    }

    #[test]
    fn removed_load_balancers_are_cleared() {
        let desired = create_request("web", &spec(base()), None, 1, &[]).expect("desired");
        let mut observed = desired.clone();
        observed.settings.load_balancers = Some(vec![LoadBalancer {
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1".into(),
            ),
            container_name: Some("app".into()),
            container_port: Some(80),
            ..Default::default()
        }]);
        let update = update_request(&desired, &observed, false).expect("update");
        assert_eq!(update.load_balancers, Some(vec![]));
    }

    #[test]
    fn ref_must_be_resolved_and_daemon_has_no_count() {
        let mut with_ref = base();
        with_ref
            .as_object_mut()
            .expect("object")
            .remove("taskDefinition");
        with_ref["taskDefinitionRef"] = json!({"name": "web"});
        assert!(matches!(
            create_request("web", &spec(with_ref.clone()), None, 1, &[]),
            Err(TranslateError::Unresolved { .. })
        ));
        let request = create_request(
            "web",
            &spec(with_ref),
            Some("arn:aws:ecs:us-east-1:1:task-definition/web:7"),
            1,
            &[],
        )
        .expect("resolved");
        assert_eq!(
            request.task_definition,
            "arn:aws:ecs:us-east-1:1:task-definition/web:7"
        );

        let daemon = json!({"cluster": "prod", "taskDefinition": "agent", "schedulingStrategy": "DAEMON", "launchType": "EC2"});
        assert_eq!(
            create_request("agent", &spec(daemon), None, 1, &[])
                .expect("daemon")
                .desired_count,
            None
        );
    }

    #[test]
    fn specs_may_not_forge_operator_tags_and_operator_tags_are_added() {
        let mut s = base();
        s["tags"] = json!([{"key": "team", "value": "a"}, {"key": "ecs.operator.dev/owner-uid", "value": "forged"}]);
        let errors = validate("web", &spec(s.clone()));
        assert_eq!(
            errors.0.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["spec.tags[1].key"]
        );
        s["tags"] = json!([{"key": "team", "value": "a"}]);
        let tag = Tag {
            key: "ecs.operator.dev/owner-uid".into(),
            value: Some("real".into()),
        };
        let request = create_request("web", &spec(s), None, 1, &[tag]).expect("request");
        let tags = request.settings.tags.expect("tags");
        assert_eq!(tags.len(), 2);
    }
}
