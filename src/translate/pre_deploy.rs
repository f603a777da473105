//! `spec.preDeploy` of an EcsService: which EcsTask runs before a rollout of a revision, and
//! under which name, so that one revision (and one pre-deploy spec) is run exactly once however
//! often the operator restarts. Pure.

use super::{FieldErrors, short_hash};
use crate::api::EcsServiceSpec;
use crate::api::service::DeploymentControllerType;
use crate::api::task::EcsTaskSpec;

/// The label on a pre-deploy EcsTask naming the EcsService it runs for.
pub const PRE_DEPLOY_OF_LABEL: &str = "ecs.operator.dev/pre-deploy-of";

/// The spec's pre-deploy mistakes, by field.
pub fn validate(spec: &EcsServiceSpec, errors: &mut FieldErrors) {
    let Some(pre_deploy) = &spec.pre_deploy else {
        return;
    };
    let controller = spec
        .settings
        .deployment_controller
        .as_ref()
        .map_or(DeploymentControllerType::Ecs, |c| c.r#type);
    if controller != DeploymentControllerType::Ecs {
        errors.push(
            "spec.preDeploy",
            format!(
                "a pre-deploy task runs before UpdateService sends a new task definition; a {controller} service is deployed by its deployer, not UpdateService"
            ),
        );
    }
    if pre_deploy.task_definition_ref.is_some() && pre_deploy.task_definition.is_some() {
        errors.push(
            "spec.preDeploy.taskDefinition",
            "set at most one of taskDefinitionRef or taskDefinition (neither: the revision being rolled out)",
        );
    }
}

/// The EcsTask name of the run before rolling `service_object`'s service out to `target` (the
/// task definition sent): the service's name and a hash of the run's whole spec (target,
/// pre-deploy spec, the cluster, placement and networking it takes from the service), so a
/// fixed migration command or network runs again for the same revision. `None` without
/// preDeploy.
pub fn task_name(service_object: &str, spec: &EcsServiceSpec, target: &str) -> Option<String> {
    let run = task_spec(spec, target)?;
    let content = serde_json::to_string(&run).unwrap_or_default();
    let hash = short_hash(format!("{target}\n{content}").as_bytes(), 5);
    // Object names are DNS subdomains (253); leave room for the suffix.
    let base: String = service_object.chars().take(200).collect();
    Some(format!("{base}-predeploy-{hash}"))
}

/// The EcsTask spec of the run before rolling out `target`: the pre-deploy spec, in the
/// service's cluster, launch type or capacity provider strategy, platform version and (unless
/// it says otherwise) network configuration; the target revision unless it names a task
/// definition. `None` without preDeploy.
pub fn task_spec(spec: &EcsServiceSpec, target: &str) -> Option<EcsTaskSpec> {
    let pre_deploy = spec.pre_deploy.as_ref()?;
    let settings = &spec.settings;
    let (task_definition_ref, task_definition) =
        match (&pre_deploy.task_definition_ref, &pre_deploy.task_definition) {
            (Some(reference), _) => (Some(reference.clone()), None),
            (None, Some(literal)) => (None, Some(literal.clone())),
            (None, None) => (None, Some(target.to_owned())),
        };
    Some(EcsTaskSpec {
        cluster: spec.cluster.clone(),
        cluster_ref: spec.cluster_ref.clone(),
        task_definition_ref,
        task_definition,
        count: Some(1),
        launch_type: settings.launch_type,
        capacity_provider_strategy: settings.capacity_provider_strategy.clone(),
        platform_version: settings.platform_version.clone(),
        network_configuration: pre_deploy
            .network_configuration
            .clone()
            .or_else(|| settings.network_configuration.clone()),
        overrides: pre_deploy.overrides.clone(),
        enable_execute_command: settings.enable_execute_command,
        // Deleting the service object (which takes its runs along) must not kill a migration
        // half-way.
        stop_on_delete: Some(false),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> EcsServiceSpec {
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn one_name_per_target_and_pre_deploy_spec() {
        let migrate = spec(
            json!({"cluster": "prod", "taskDefinition": "web:1", "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            "preDeploy": {"overrides": {"containerOverrides": [{"name": "app", "command": ["migrate"]}]}}}),
        );
        let a = task_name(
            "web",
            &migrate,
            "arn:aws:ecs:us-east-1:1:task-definition/web:2",
        );
        let b = task_name(
            "web",
            &migrate,
            "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        );
        assert_ne!(a, b);
        assert_eq!(
            a,
            task_name(
                "web",
                &migrate,
                "arn:aws:ecs:us-east-1:1:task-definition/web:2"
            )
        );
        assert!(
            a.as_deref()
                .is_some_and(|n| n.starts_with("web-predeploy-"))
        );
        let mut changed = migrate.clone();
        changed.pre_deploy = Some(
            serde_json::from_value(json!({"overrides": {"containerOverrides": [{"name": "app", "command": ["migrate", "--v2"]}]}}))
                .expect("pre-deploy"),
        );
        assert_ne!(
            a,
            task_name(
                "web",
                &changed,
                "arn:aws:ecs:us-east-1:1:task-definition/web:2"
            )
        );
        assert_eq!(
            task_name("web", &spec(json!({"cluster": "prod"})), "x"),
            None
        );
    }

    #[test]
    fn the_run_takes_the_services_placement_and_the_target_revision() {
        let migrate = spec(
            json!({"cluster": "prod", "taskDefinition": "web:1", "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            "preDeploy": {"overrides": {"containerOverrides": [{"name": "app", "command": ["migrate"]}]}}}),
        );
        let run =
            task_spec(&migrate, "arn:aws:ecs:us-east-1:1:task-definition/web:2").expect("run");
        assert_eq!(run.cluster.as_deref(), Some("prod"));
        assert_eq!(
            run.task_definition.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:task-definition/web:2")
        );
        assert_eq!(run.platform_version.as_deref(), Some("1.4.0"));
        assert_eq!(
            run.network_configuration,
            migrate.settings.network_configuration
        );
        assert_eq!(run.count, Some(1));
        assert!(crate::translate::task::validate(&run).0.is_empty());
        // A task definition of its own, and networking of its own.
        let own = spec(
            json!({"clusterRef": {"name": "c"}, "taskDefinitionRef": {"name": "web"},
            "preDeploy": {"taskDefinitionRef": {"name": "migrations"},
                          "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-9"]}}}}),
        );
        let run = task_spec(&own, "web:4").expect("run");
        assert_eq!(run.cluster_ref.map(|r| r.name).as_deref(), Some("c"));
        assert_eq!(
            run.task_definition_ref.map(|r| r.name).as_deref(),
            Some("migrations")
        );
        assert_eq!(run.task_definition, None);
        assert!(run.network_configuration.is_some());
    }

    #[test]
    fn external_services_and_two_task_definitions_are_refused() {
        let mut errors = FieldErrors::default();
        validate(
            &spec(
                json!({"cluster": "prod", "deploymentController": {"type": "EXTERNAL"},
                "preDeploy": {"taskDefinition": "a", "taskDefinitionRef": {"name": "b"}}}),
            ),
            &mut errors,
        );
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.preDeploy", "spec.preDeploy.taskDefinition"]);
    }
}
