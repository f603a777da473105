//! EcsTask -> ECS `RunTask`: validation, the request in the ECS API's JSON shape, and the
//! identity that makes a run happen once (client token and `startedBy` from the object's UID).

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, duplicates, short_hash};
use crate::api::EcsTaskSpec;
use crate::api::common::Tag;
use crate::api::service::{
    CapacityProviderStrategyItem, LaunchType, NetworkConfiguration, PlacementConstraint,
    PlacementStrategy,
};
use crate::api::task::{TaskOverride, TaskPropagateTags};

/// The ECS `RunTask` request.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Task definition family, family:revision or ARN.
    pub task_definition: String,
    /// Tasks to start.
    pub count: Option<i32>,
    /// Launch type.
    pub launch_type: Option<LaunchType>,
    /// Capacity provider strategy.
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Fargate platform version.
    pub platform_version: Option<String>,
    /// awsvpc networking.
    pub network_configuration: Option<NetworkConfiguration>,
    /// Per-run changes.
    pub overrides: Option<TaskOverride>,
    /// Task group.
    pub group: Option<String>,
    /// Placement constraints.
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// Placement strategies.
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// Tags on the tasks.
    pub tags: Option<Vec<Tag>>,
    /// Tag propagation.
    pub propagate_tags: Option<TaskPropagateTags>,
    /// ECS Exec.
    pub enable_execute_command: Option<bool>,
    /// ECS managed tags.
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Who started the tasks: this object (see [`started_by`]).
    pub started_by: Option<String>,
    /// Idempotency token: a retried RunTask with it starts nothing more.
    pub client_token: Option<String>,
}

/// The `startedBy` of the tasks of the object with `uid`: ListTasks finds them by it after a
/// crash, so the run is never started twice. The bare UID (36 characters): StartTask and
/// ListTasks document `startedBy` as "Up to 36 letters ..." and users report ListTasks refusing
/// longer ones, though RunTask's own reference allows 128.
pub fn started_by(uid: &str) -> String {
    uid.chars().take(36).collect()
}

/// RunTask's client token for the object with `uid` ("Up to 64 ASCII characters"; a UID is 36):
/// ECS answers a repeat of the same request with the same tasks.
pub fn client_token(uid: &str) -> String {
    uid.chars().take(64).collect()
}

/// The RunTask request for `spec`, run in `cluster` from `task_definition` (both resolved).
pub fn run_request(
    spec: &EcsTaskSpec,
    cluster: &str,
    task_definition: &str,
    uid: &str,
) -> RunTaskRequest {
    RunTaskRequest {
        cluster: cluster.to_owned(),
        task_definition: task_definition.to_owned(),
        count: spec.count,
        launch_type: spec.launch_type,
        capacity_provider_strategy: spec.capacity_provider_strategy.clone(),
        platform_version: spec.platform_version.clone(),
        network_configuration: spec.network_configuration.clone(),
        overrides: spec.overrides.clone(),
        group: spec.group.clone(),
        placement_constraints: spec.placement_constraints.clone(),
        placement_strategy: spec.placement_strategy.clone(),
        tags: spec.tags.clone().filter(|t| !t.is_empty()),
        propagate_tags: spec.propagate_tags,
        enable_execute_command: spec.enable_execute_command,
        enable_ecs_managed_tags: spec.enable_ecs_managed_tags,
        started_by: Some(started_by(uid)),
        client_token: Some(client_token(uid)),
    }
}

/// A hash of what defines the run (everything but `stopOnDelete` and
/// `ttlSecondsAfterFinished`), so a change after the run started can be reported.
pub fn run_hash(spec: &EcsTaskSpec) -> String {
    let mut run = spec.clone();
    run.stop_on_delete = None;
    run.ttl_seconds_after_finished = None;
    short_hash(&serde_json::to_vec(&run).unwrap_or_default(), 8)
}

/// Checks the spec the way ECS will, with field paths.
pub fn validate(spec: &EcsTaskSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if spec.cluster.is_some() == spec.cluster_ref.is_some() {
        errors.push(
            "spec.cluster",
            "set exactly one of clusterRef (an EcsCluster in this namespace) or cluster (a cluster name or ARN)",
        );
    }
    if spec.task_definition.is_some() == spec.task_definition_ref.is_some() {
        errors.push(
            "spec.taskDefinition",
            "set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) or taskDefinition (family[:revision] or ARN)",
        );
    }
    if let Some(count) = spec.count
        && !(1..=10).contains(&count)
    {
        errors.push(
            "spec.count",
            format!("{count}: RunTask starts 1 to 10 tasks per call"),
        );
    }
    let strategy = spec
        .capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    if spec.launch_type.is_some() && spec.capacity_provider_strategy.is_some() {
        errors.push(
            "spec.capacityProviderStrategy",
            "launchType and capacityProviderStrategy are mutually exclusive; remove one",
        );
    }
    super::validate_strategy(strategy, "spec.capacityProviderStrategy", &mut errors);
    let fargate = spec.launch_type == Some(LaunchType::Fargate)
        || strategy
            .iter()
            .any(|s| s.capacity_provider.starts_with("FARGATE"));
    if fargate
        && spec
            .network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
            .is_none()
    {
        errors.push(
            "spec.networkConfiguration.awsvpcConfiguration",
            "Fargate tasks use awsvpc networking: give subnets (and security groups) here",
        );
    }
    if fargate && (spec.placement_constraints.is_some() || spec.placement_strategy.is_some()) {
        errors.push(
            "spec.placementConstraints",
            "Fargate tasks take no placement constraints or strategies; remove them",
        );
    }
    let containers = spec
        .overrides
        .as_ref()
        .and_then(|o| o.container_overrides.as_deref())
        .unwrap_or_default();
    for (i, name) in duplicates(containers.iter().map(|c| c.name.as_str())) {
        errors.push(
            format!("spec.overrides.containerOverrides[{i}].name"),
            format!("container {name:?} is overridden twice; merge the two entries"),
        );
    }
    let tags = spec.tags.as_deref().unwrap_or_default();
    for (i, key) in duplicates(tags.iter().map(|t| t.key.as_str())) {
        errors.push(
            format!("spec.tags[{i}].key"),
            format!("duplicate tag key {key:?}"),
        );
    }
    for (i, tag) in tags.iter().enumerate() {
        if super::tags::is_aws_reserved(&tag.key) {
            errors.push(
                format!("spec.tags[{i}].key"),
                format!(
                    "{:?}: the aws: prefix is reserved by AWS; use another key",
                    tag.key
                ),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::LocalObjectReference;

    fn migration() -> EcsTaskSpec {
        EcsTaskSpec {
            cluster: Some("prod".into()),
            task_definition: Some("migrate:3".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_run_carries_its_identity_and_only_what_the_spec_sets() {
        let request = run_request(&migration(), "prod", "migrate:3", "0b7c-uid");
        assert_eq!(
            serde_json::to_value(&request).expect("json"),
            serde_json::json!({
                "cluster": "prod",
                "taskDefinition": "migrate:3",
                "startedBy": "0b7c-uid",
                "clientToken": "0b7c-uid"
            })
        );
    }

    #[test]
    fn the_run_hash_ignores_what_may_change_after_the_run() {
        let spec = migration();
        let mut after = spec.clone();
        after.stop_on_delete = Some(false);
        after.ttl_seconds_after_finished = Some(60);
        assert_eq!(run_hash(&spec), run_hash(&after));
        after.count = Some(2);
        assert_ne!(run_hash(&spec), run_hash(&after));
    }

    #[test]
    fn references_launch_and_fargate_rules_are_checked_with_paths() {
        let spec = EcsTaskSpec {
            cluster: Some("prod".into()),
            cluster_ref: Some(LocalObjectReference { name: "c".into() }),
            count: Some(11),
            launch_type: Some(LaunchType::Fargate),
            capacity_provider_strategy: Some(vec![CapacityProviderStrategyItem {
                capacity_provider: "FARGATE".into(),
                weight: Some(1),
                base: None,
            }]),
            ..Default::default()
        };
        let paths: Vec<String> = validate(&spec).0.into_iter().map(|e| e.path).collect();
        for expected in [
            "spec.cluster",
            "spec.taskDefinition",
            "spec.count",
            "spec.capacityProviderStrategy",
            "spec.networkConfiguration.awsvpcConfiguration",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
        }
        assert_eq!(validate(&migration()).0, vec![]);
    }
}
