//! EcsService -> ECS `CreateService` / `UpdateService`: validation and the request types (the
//! UpdateService diff lives with the plan that uses it, in `controller::service::diff`).

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, TranslateError, is_arn_of, is_ecs_name};
use crate::api::EcsServiceSpec;
use crate::api::common::Tag;
use crate::api::service::AvailabilityZoneRebalancing;
use crate::api::service::{
    CapacityProviderStrategyItem, DeploymentConfiguration, DeploymentController,
    DeploymentStrategy, LaunchType, LoadBalancer, NetworkConfiguration, PlacementConstraint,
    PlacementStrategy, PlacementStrategyType, PropagateTags, SchedulingStrategy,
    ServiceConnectConfiguration, ServiceRegistry, ServiceSettings, ServiceVolumeConfiguration,
    VpcLatticeConfiguration,
};

/// The label selector an EcsService's `/scale` subresource reports: it names the object, and
/// matches no pod (ECS tasks are not pods), which is what a HorizontalPodAutoscaler scaling on
/// external or object metrics needs.
pub fn scale_selector(object_name: &str) -> String {
    // A label value has at most 63 characters; an object name up to 253 (cut, it still
    // matches nothing, which is all the selector has to do).
    let value: String = object_name.chars().take(63).collect();
    let value = value.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("ecs.operator.dev/ecsservice={value}")
}

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
    /// Absent for an EXTERNAL service (its task sets name theirs).
    pub task_definition: Option<String>,
    /// Tasks to run (absent for DAEMON services).
    pub desired_count: Option<i32>,
    /// The members passed through from the spec.
    #[serde(flatten)]
    pub settings: ServiceSettings,
    /// Idempotency token: a retried create with the same token cannot make a second service.
    pub client_token: Option<String>,
}

/// The ECS `UpdateService` request: identity plus only the members to change.
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
    /// New capacity provider strategy (`[]` goes back to the launch type).
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// New deployment configuration.
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// New Availability Zone rebalancing setting.
    pub availability_zone_rebalancing: Option<AvailabilityZoneRebalancing>,
    /// New network configuration.
    pub network_configuration: Option<NetworkConfiguration>,
    /// New placement constraints (`[]` removes them all).
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// New placement strategy (`[]` removes it).
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// New platform version.
    pub platform_version: Option<String>,
    /// Start a new deployment even without a change that would start one.
    pub force_new_deployment: Option<bool>,
    /// New grace period.
    pub health_check_grace_period_seconds: Option<i32>,
    /// New ECS Exec setting.
    pub enable_execute_command: Option<bool>,
    /// New managed tags setting.
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// New load balancers (`[]` removes them all).
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// New tag propagation.
    pub propagate_tags: Option<PropagateTags>,
    /// New service registries (`[]` removes them all).
    pub service_registries: Option<Vec<ServiceRegistry>>,
    /// New deployment controller (only the transitions the reference lists).
    pub deployment_controller: Option<DeploymentController>,
    /// New Service Connect configuration (`{enabled: false}` turns it off).
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    /// New volumes configured at launch.
    pub volume_configurations: Option<Vec<ServiceVolumeConfiguration>>,
    /// New VPC Lattice configurations.
    pub vpc_lattice_configurations: Option<Vec<VpcLatticeConfiguration>>,
}

impl UpdateServiceRequest {
    /// Whether the request changes anything.
    pub fn is_empty(&self) -> bool {
        *self
            == Self {
                cluster: self.cluster.clone(),
                service: self.service.clone(),
                ..Default::default()
            }
    }
}

/// The cluster of a service: `spec.cluster`, or (with `clusterRef`) the cluster its status
/// records once the service exists; `None` before that.
pub fn cluster_of(service: &crate::api::EcsService) -> Option<&str> {
    service.spec.cluster.as_deref().or_else(|| {
        service
            .status
            .as_ref()
            .and_then(|s| s.cluster_arn.as_deref())
    })
}

/// The ECS service name an object manages: `spec.serviceName`, or the object's name.
pub fn service_name<'a>(object_name: &'a str, spec: &'a EcsServiceSpec) -> &'a str {
    spec.service_name.as_deref().unwrap_or(object_name)
}

/// The `CreateService` request for an object, given its task definition (resolved from
/// `taskDefinitionRef` or from the literal; the literal as written when `None`) and the desired
/// count to start with when the spec leaves it open. `extra_tags` are the operator's ownership
/// tags.
pub fn create_request(
    object_name: &str,
    spec: &EcsServiceSpec,
    resolved_task_definition: Option<&str>,
    desired_count_if_unset: i32,
    extra_tags: &[Tag],
) -> Result<CreateServiceRequest, TranslateError> {
    validate(object_name, spec).into_result()?;
    assemble_create_request(
        object_name,
        spec,
        resolved_task_definition,
        desired_count_if_unset,
        extra_tags,
    )
}

/// [`create_request`] of a spec [`validate`] already accepted (the pipeline validates once,
/// first).
pub fn assemble_create_request(
    object_name: &str,
    spec: &EcsServiceSpec,
    resolved_task_definition: Option<&str>,
    desired_count_if_unset: i32,
    extra_tags: &[Tag],
) -> Result<CreateServiceRequest, TranslateError> {
    let external = spec
        .settings
        .deployment_controller
        .as_ref()
        .is_some_and(|c| c.r#type == crate::api::service::DeploymentControllerType::External);
    let task_definition = match (resolved_task_definition, spec.task_definition.as_deref()) {
        _ if external => None,
        (Some(resolved), _) => Some(resolved.to_owned()),
        (None, Some(literal)) => Some(literal.to_owned()),
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
        // With clusterRef, the controller (or render) puts the resolved cluster here.
        cluster: spec.cluster.clone().unwrap_or_default(),
        service_name: service_name(object_name, spec).to_owned(),
        task_definition,
        desired_count: (!daemon).then(|| spec.desired_count.unwrap_or(desired_count_if_unset)),
        settings,
        client_token: None,
    })
}

/// Every rule of the ECS API a CRD schema cannot express, reported with field paths.
pub fn validate(object_name: &str, spec: &EcsServiceSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let settings = &spec.settings;

    match (&spec.cluster, &spec.cluster_ref) {
        (Some(cluster), None) => {
            if cluster.is_empty() || !(is_ecs_name(cluster) || is_arn_of(cluster, "ecs")) {
                errors.push(
                    "spec.cluster",
                    format!("{cluster:?} is neither a cluster name nor a cluster ARN"),
                );
            }
        }
        (None, Some(_)) => {}
        _ => errors.push(
            "spec.cluster",
            "set exactly one of cluster (a cluster name or ARN) or clusterRef (an EcsCluster in this namespace)",
        ),
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

    let external = settings
        .deployment_controller
        .as_ref()
        .is_some_and(|c| c.r#type == crate::api::service::DeploymentControllerType::External);
    match (&spec.task_definition_ref, &spec.task_definition) {
        // CreateService refuses a task definition for an EXTERNAL service ("TaskDefinition must
        // be blank"): its task sets name theirs.
        (Some(_), _) if external => errors.push(
            "spec.taskDefinitionRef",
            "an EXTERNAL service takes its task definitions from its task sets; remove taskDefinitionRef",
        ),
        (None, Some(_)) if external => errors.push(
            "spec.taskDefinition",
            "an EXTERNAL service takes its task definitions from its task sets; remove taskDefinition",
        ),
        (None, None) if external => {}
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
            if is_arn_of(literal, "ecs") {
                format!(
                    "{literal:?}: a task definition ARN must end with :<revision> (e.g. ...:task-definition/web:3); to follow the family's latest ACTIVE revision give the family name alone"
                )
            } else {
                format!("{literal:?} is not a family, family:revision or task definition ARN")
            },
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
    super::validate_strategy(strategy, "spec.capacityProviderStrategy", &mut errors);

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

    validate_deployment_kinds(spec, &mut errors);
    super::pre_deploy::validate(spec, &mut errors);

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

    // "Each service may be associated with one service registry. Multiple service registries for
    // each service isn't supported."
    if settings
        .service_registries
        .as_ref()
        .is_some_and(|r| r.len() > 1)
    {
        errors.push(
            "spec.serviceRegistries",
            "ECS associates a service with one service registry; keep one entry",
        );
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

/// The rules of DAEMON services, CODE_DEPLOY / EXTERNAL controllers, deployment strategies,
/// lifecycle hooks and volumes configured at launch (ECS API reference, CreateService).
fn validate_deployment_kinds(spec: &EcsServiceSpec, errors: &mut FieldErrors) {
    use crate::api::service::{
        DeploymentControllerType, DeploymentLifecycleHookStage, DeploymentLifecycleHookTargetType,
    };
    let settings = &spec.settings;
    let daemon = settings.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    let controller = settings
        .deployment_controller
        .as_ref()
        .map(|c| c.r#type)
        .unwrap_or(DeploymentControllerType::Ecs);
    if daemon {
        // "When you're using this strategy, you don't need to specify a desired number of tasks,
        // a task placement strategy, or use Service Auto Scaling policies."
        if settings
            .placement_strategy
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            errors.push(
                "spec.placementStrategy",
                "DAEMON services place one task per instance; remove placementStrategy",
            );
        }
        // "Tasks using the Fargate launch type or the CODE_DEPLOY or EXTERNAL deployment
        // controller types don't support the DAEMON scheduling strategy."
        if controller != DeploymentControllerType::Ecs {
            errors.push(
                "spec.deploymentController.type",
                format!("{controller} services cannot use the DAEMON scheduling strategy; use REPLICA or the ECS controller"),
            );
        }
        // "volumeConfigurations is only supported for REPLICA service and not DAEMON service."
        if settings
            .volume_configurations
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            errors.push(
                "spec.volumeConfigurations",
                "volumes configured at launch are for REPLICA services only",
            );
        }
    }
    // "If you specify the role parameter, you must also specify a load balancer object with the
    // loadBalancers parameter."
    if settings.role.is_some() && settings.load_balancers.as_ref().is_none_or(Vec::is_empty) {
        errors.push(
            "spec.role",
            "a role is only for calling load balancers: add loadBalancers or remove role",
        );
    }
    // ECS: "The daemon scheduling strategy does not support values above 100 for maximumPercent
    // on a deployment configuration."
    if daemon
        && let Some(max) = settings
            .deployment_configuration
            .as_ref()
            .and_then(|d| d.maximum_percent)
        && max > 100
    {
        errors.push(
            "spec.deploymentConfiguration.maximumPercent",
            format!("{max}: DAEMON services take at most 100"),
        );
    }
    // "You can specify the following parameters when creating a service using an external
    // deployment controller. [...] All other service parameters are specified when creating a
    // task set within the service."
    if controller == DeploymentControllerType::External {
        let task_set_members = [
            ("launchType", settings.launch_type.is_some()),
            (
                "capacityProviderStrategy",
                settings.capacity_provider_strategy.is_some(),
            ),
            ("platformVersion", settings.platform_version.is_some()),
            (
                "networkConfiguration",
                settings.network_configuration.is_some(),
            ),
            ("loadBalancers", settings.load_balancers.is_some()),
            ("serviceRegistries", settings.service_registries.is_some()),
            (
                "serviceConnectConfiguration",
                settings.service_connect_configuration.is_some(),
            ),
            (
                "volumeConfigurations",
                settings.volume_configurations.is_some(),
            ),
            (
                "vpcLatticeConfigurations",
                settings.vpc_lattice_configurations.is_some(),
            ),
            ("role", settings.role.is_some()),
        ];
        for (member, _) in task_set_members.iter().filter(|(_, set)| *set) {
            errors.push(
                format!("spec.{member}"),
                format!("an EXTERNAL service takes {member} from its task sets (CreateTaskSet); remove it here"),
            );
        }
    }
    // CreateService: "If you want to use Amazon ECS Managed Instances, you must use the
    // capacityProviderStrategy request parameter and omit the launchType request parameter."
    if settings.launch_type == Some(LaunchType::ManagedInstances) {
        errors.push(
            "spec.launchType",
            "a service runs on Managed Instances through capacityProviderStrategy (a Managed Instances capacity provider), not launchType: MANAGED_INSTANCES",
        );
    }
    if let Some(deployment) = &settings.deployment_configuration {
        let controlled_elsewhere = controller != DeploymentControllerType::Ecs;
        // DeploymentConfiguration: "You can't specify a custom maximumPercent value for a service
        // that uses either the blue/green (CODE_DEPLOY) or EXTERNAL deployment types and has tasks
        // that use the EC2 launch type." (the same sentence for minimumHealthyPercent).
        if controlled_elsewhere && settings.launch_type == Some(LaunchType::Ec2) {
            for (member, set) in [
                ("maximumPercent", deployment.maximum_percent.is_some()),
                (
                    "minimumHealthyPercent",
                    deployment.minimum_healthy_percent.is_some(),
                ),
            ] {
                if set {
                    errors.push(
                        format!("spec.deploymentConfiguration.{member}"),
                        format!(
                            "a {controller} service on EC2 cannot set a custom {member}; remove it"
                        ),
                    );
                }
            }
        }
        // "The deployment circuit breaker can only be used for services using the rolling update
        // (ECS) deployment type." DeploymentAlarms: "You can only use the DeploymentAlarms method
        // to detect failures when the DeploymentController is set to ECS."
        if controlled_elsewhere {
            if deployment.deployment_circuit_breaker.is_some() {
                errors.push(
                    "spec.deploymentConfiguration.deploymentCircuitBreaker",
                    format!("the circuit breaker is for the ECS deployment controller, not {controller}; remove it"),
                );
            }
            if deployment.alarms.is_some() {
                errors.push(
                    "spec.deploymentConfiguration.alarms",
                    format!("deployment alarms are for the ECS deployment controller, not {controller}; remove them"),
                );
            }
        }
        let strategy = deployment.strategy.unwrap_or(DeploymentStrategy::Rolling);
        if controller != DeploymentControllerType::Ecs && deployment.strategy.is_some() {
            errors.push(
                "spec.deploymentConfiguration.strategy",
                format!(
                    "deployment strategies are for the ECS deployment controller, not {controller}"
                ),
            );
        }
        // "You must provide this parameter when you use the BLUE_GREEN deployment strategy."
        if strategy == DeploymentStrategy::BlueGreen && deployment.bake_time_in_minutes.is_none() {
            errors.push(
                "spec.deploymentConfiguration.bakeTimeInMinutes",
                "a BLUE_GREEN deployment needs a bake time (minutes both revisions run after traffic shifted)",
            );
        }
        // BLUE_GREEN, LINEAR and CANARY shift traffic between two target groups: each load
        // balancer needs the alternate target group, the production listener rule and the role
        // ECS changes them with ("Application Load Balancer resources for blue/green, linear,
        // and canary deployments"). Classic Load Balancers have no target groups to shift.
        if strategy != DeploymentStrategy::Rolling {
            for (i, lb) in settings.load_balancers.iter().flatten().enumerate() {
                let at = format!("spec.loadBalancers[{i}]");
                if lb.target_group_arn.is_none() {
                    errors.push(
                        format!("{at}.targetGroupArn"),
                        format!("{strategy} shifts traffic between target groups; a Classic Load Balancer (loadBalancerName) cannot take part: use an ALB or NLB target group, or ROLLING"),
                    );
                    continue;
                }
                let advanced = lb.advanced_configuration.as_ref();
                for (member, value) in [
                    (
                        "alternateTargetGroupArn",
                        advanced.and_then(|a| a.alternate_target_group_arn.as_ref()),
                    ),
                    (
                        "productionListenerRule",
                        advanced.and_then(|a| a.production_listener_rule.as_ref()),
                    ),
                    ("roleArn", advanced.and_then(|a| a.role_arn.as_ref())),
                ] {
                    if value.is_none() {
                        errors.push(
                            format!("{at}.advancedConfiguration.{member}"),
                            format!("a {strategy} deployment behind a load balancer needs {member} (the alternate target group, the production listener rule or listener, and the role ECS changes them with)"),
                        );
                    }
                }
            }
        }
        if let Some(early) = &deployment.early_success_criteria {
            if strategy != DeploymentStrategy::Rolling {
                errors.push(
                    "spec.deploymentConfiguration.earlySuccessCriteria",
                    "early success criteria work only with the ROLLING strategy",
                );
            }
            if early.enable {
                if early.healthy_percent.is_none() {
                    errors.push(
                        "spec.deploymentConfiguration.earlySuccessCriteria.healthyPercent",
                        "enabled early success criteria need healthyPercent",
                    );
                }
                if early.source_service_revision_cleanup.is_none() {
                    errors.push(
                        "spec.deploymentConfiguration.earlySuccessCriteria.sourceServiceRevisionCleanup",
                        "enabled early success criteria need sourceServiceRevisionCleanup (BLOCKING or DEFERRED)",
                    );
                }
            }
            // "This value must be greater than or equal to the minimumHealthyPercent value",
            // whose default is 100% for a replica service and 0% for a daemon.
            let daemon = spec.settings.scheduling_strategy == Some(SchedulingStrategy::Daemon);
            let minimum =
                deployment
                    .minimum_healthy_percent
                    .unwrap_or(if daemon { 0 } else { 100 });
            if let Some(healthy) = early.healthy_percent
                && healthy < minimum
            {
                errors.push(
                    "spec.deploymentConfiguration.earlySuccessCriteria.healthyPercent",
                    format!("{healthy} is below minimumHealthyPercent ({minimum}); it must be at least that"),
                );
            }
        }
        if deployment.linear_configuration.is_some() && strategy != DeploymentStrategy::Linear {
            errors.push(
                "spec.deploymentConfiguration.linearConfiguration",
                "linearConfiguration is only valid with strategy: LINEAR",
            );
        }
        if deployment.canary_configuration.is_some() && strategy != DeploymentStrategy::Canary {
            errors.push(
                "spec.deploymentConfiguration.canaryConfiguration",
                "canaryConfiguration is only valid with strategy: CANARY",
            );
        }
        if let Some(linear) = &deployment.linear_configuration
            && let Some(step) = linear.step_percent
            && !(3.0..=100.0).contains(&step)
        {
            errors.push(
                "spec.deploymentConfiguration.linearConfiguration.stepPercent",
                format!("{step} is not between 3.0 and 100.0"),
            );
        }
        if let Some(canary) = &deployment.canary_configuration
            && let Some(percent) = canary.canary_percent
            && !(0.1..=100.0).contains(&percent)
        {
            errors.push(
                "spec.deploymentConfiguration.canaryConfiguration.canaryPercent",
                format!("{percent} is not between 0.1 and 100.0"),
            );
        }
        for (i, hook) in deployment.lifecycle_hooks.iter().flatten().enumerate() {
            let at = format!("spec.deploymentConfiguration.lifecycleHooks[{i}]");
            let pause = hook.target_type == Some(DeploymentLifecycleHookTargetType::Pause);
            if !pause && hook.hook_target_arn.is_none() {
                errors.push(
                    format!("{at}.hookTargetArn"),
                    "an AWS_LAMBDA hook needs the Lambda function's ARN",
                );
            }
            match &hook.lifecycle_stages {
                None => errors.push(
                    format!("{at}.lifecycleStages"),
                    "name the stages the hook runs at",
                ),
                Some(stages) if pause => {
                    // "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
                    // PRODUCTION_TRAFFIC_SHIFT stages."
                    if let Some(stage) = stages.iter().find(|s| {
                        matches!(
                            s,
                            DeploymentLifecycleHookStage::TestTrafficShift
                                | DeploymentLifecycleHookStage::ProductionTrafficShift
                        )
                    }) {
                        errors.push(
                            format!("{at}.lifecycleStages"),
                            format!("PAUSE hooks cannot run at {stage}"),
                        );
                    }
                }
                Some(_) => {}
            }
        }
    }
    for (i, volume) in settings.volume_configurations.iter().flatten().enumerate() {
        if let Some(ebs) = &volume.managed_ebs_volume
            && ebs.size_in_gib.is_none()
            && ebs.snapshot_id.is_none()
        {
            errors.push(
                format!("spec.volumeConfigurations[{i}].managedEBSVolume.sizeInGiB"),
                "give a volume size or a snapshotId",
            );
        }
    }
}

/// `family`, `family:revision` or a task definition ARN.
fn is_task_definition_reference(value: &str) -> bool {
    if is_arn_of(value, "ecs") {
        // ECS reports the service's task definition as a full ARN with its revision; an ARN
        // without one would never equal it (an UpdateService every pass), so it must name one.
        return value
            .split_once(":task-definition/")
            .and_then(|(_, rest)| rest.split_once(':'))
            .is_some_and(|(family, revision)| {
                is_ecs_name(family) && revision.parse::<u32>().is_ok_and(|r| r > 0)
            });
    }
    match value.split_once(':') {
        None => is_ecs_name(value),
        Some((family, revision)) => {
            is_ecs_name(family) && revision.parse::<u32>().is_ok_and(|r| r > 0)
        }
    }
}

/// Specs the unit tests of services share (here and in the service controller's diff).
#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::json;

    use crate::api::EcsServiceSpec;

    /// A spec from JSON.
    pub(crate) fn spec(value: serde_json::Value) -> EcsServiceSpec {
        serde_json::from_value(value).expect("spec")
    }

    /// A Fargate service with subnets out of order.
    pub(crate) fn base() -> serde_json::Value {
        json!({"cluster": "prod", "taskDefinition": "web:3", "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["b", "a"], "securityGroups": ["sg"]}}})
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{base, spec};

    #[test]
    fn the_scale_selector_names_the_object_within_a_label_values_limit() {
        assert_eq!(
            super::scale_selector("web"),
            "ecs.operator.dev/ecsservice=web"
        );
        let long = format!("{}-x", "a".repeat(62));
        let selector = super::scale_selector(&long);
        let value = selector.split_once('=').expect("pair").1;
        assert_eq!(value, "a".repeat(62), "cut to 63, no dash left at the end");
    }
    use super::*;
    use serde_json::json;

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
            request.task_definition.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:task-definition/web:7")
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
